"""The exception tree: vendor answers -> classes, what messages say, pickling, redaction."""

from __future__ import annotations

import pickle

import pytest

from presence_sync.clients import errors as e


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (400, "DUPLICATE_VALUE", "", e.AlreadyExists),
        (None, "DUPLICATE_DEVELOPER_NAME", "", e.AlreadyExists),
        (401, "INVALID_SESSION_ID", "Session expired or invalid", e.SessionExpired),
        (None, "sf:INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader", e.SessionExpired),
        (403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", e.QuotaExhausted),
        (403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.", e.RateLimited),
        (429, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", e.RateLimited),
        (503, "SERVER_UNAVAILABLE", "", e.ServiceUnavailable),
        (500, None, "", e.ServiceUnavailable),
        (None, "UNABLE_TO_LOCK_ROW", "", e.ServiceUnavailable),
        (404, "NOT_FOUND", "", e.NotFound),
        (404, "ENTITY_IS_DELETED", "", e.NotFound),
        (400, "INVALID_FIELD", "", e.InvalidRequest),
        (400, "MALFORMED_QUERY", "", e.InvalidRequest),
        (None, "FIELD_INTEGRITY_EXCEPTION", "", e.InvalidRequest),
        (403, "INSUFFICIENT_ACCESS_OR_READONLY", "", e.PermissionDenied),
        (400, "FUNCTIONALITY_NOT_ENABLED", "", e.PermissionDenied),
        (400, "invalid_grant", "authentication failure", e.AuthenticationFailed),
        (403, None, "", e.PermissionDenied),
        (409, None, "", e.AlreadyExists),
    ],
)
def test_salesforce_mapping(status, code, message, expected) -> None:
    assert e.salesforce_error_class(status, code, message) is expected


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "InvalidRequest", e.InvalidRequest),
        (404, "NotFound", e.NotFound),
        (409, "Conflict", e.AlreadyExists),
        (401, "invalid_token", e.SessionExpired),
        (400, "invalid_grant", e.AuthenticationFailed),
        (429, "TooManyRequests", e.RateLimited),
        (503, "ServiceUnavailable", e.ServiceUnavailable),
        (502, None, e.ServiceUnavailable),
        (403, "Forbidden", e.PermissionDenied),
        (418, None, e.PermanentVendorError),
    ],
)
def test_cxone_mapping(status, code, expected) -> None:
    assert e.cxone_error_class(status, code) is expected


def test_transient_and_permanent_split() -> None:
    for transient in (e.RateLimited, e.ServiceUnavailable, e.ConnectionFailed):
        assert issubclass(transient, e.TransientVendorError)
    for cls in (
        e.NotFound,
        e.AlreadyExists,
        e.InvalidRequest,
        e.PermissionDenied,
        e.QuotaExhausted,
        e.AuthenticationFailed,
        e.SessionExpired,
    ):
        assert issubclass(cls, e.PermanentVendorError)
        assert not issubclass(cls, e.TransientVendorError)


def test_message_names_everything_and_says_what_to_fix() -> None:
    error = e.AlreadyExists(
        "duplicate developer name",
        vendor="salesforce",
        operation="create_presence_status",
        object="ServicePresenceStatus 'Available_for_Chats'",
        field="fullName",
        error_code="DUPLICATE_DEVELOPER_NAME",
    )
    text = str(error)
    assert text.startswith("Salesforce create_presence_status ServicePresenceStatus 'Available_for_Chats' failed")
    assert "[DUPLICATE_DEVELOPER_NAME]" in text and "field 'fullName'" in text
    assert "adopt" in text  # the hint
    assert (error.vendor, error.operation, error.field) == ("salesforce", "create_presence_status", "fullName")
    assert "DUPLICATE_DEVELOPER_NAME" in repr(error)


def test_errors_survive_pickling() -> None:
    error = e.NotFound("gone", vendor="cxone", operation="get_presence_rule", object="presence rule 7", status=404)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is e.NotFound and str(copy) == str(error) and copy.status == 404


def test_redactor_replaces_longest_first_and_ignores_trivial_values() -> None:
    redact = e.Redactor(["abcd1234", "abcd1234-extended", "", None, "ab"])
    assert redact("x abcd1234-extended y abcd1234 ab") == "x *** y *** ab"
    assert "abcd" not in repr(redact)
