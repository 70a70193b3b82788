"""The one exception tree for everything the vendor clients raise.

Callers decide what to do from the class alone: retry a transient error, report a permanent one.
Vendor-specific shapes (Salesforce error arrays, SOAP faults, Metadata API SaveResults, CXone
``{"error", "error_description"}`` bodies, OAuth token errors) are mapped to these classes in one
function per vendor (``salesforce_error_class`` / ``cxone_error_class`` below), never at call sites.

* VendorError                     -- base: vendor, operation, object, field, error_code, status
  + TransientVendorError          -- worth retrying as-is: 5xx, connection refused/reset, timeouts
    - RateLimited                 -- 429, Salesforce REQUEST_LIMIT_EXCEEDED for concurrency limits
    - ServiceUnavailable          -- 502/503/504, SERVER_UNAVAILABLE, UNABLE_TO_LOCK_ROW
    - ConnectionFailed            -- nothing answered (refused, reset, DNS, TLS handshake, timeout)
    - OutcomeUnknown              -- a write that is unsafe to repeat may or may not have been applied (a read
                                     timeout, a reset after sending, a 500/502/504): read before repeating it
  + PermanentVendorError          -- retrying the same request cannot help; the message says what to fix
    - NotFound                    -- 404, NOT_FOUND, ENTITY_IS_DELETED, Metadata read with no fullName
    - AlreadyExists               -- 409, DUPLICATE_VALUE, DUPLICATE_DEVELOPER_NAME
    - InvalidRequest              -- 400 and the Salesforce validation codes (INVALID_FIELD, ...)
    - PermissionDenied            -- 403, INSUFFICIENT_ACCESS*, feature not enabled
    - QuotaExhausted              -- the org's rolling 24h API limit (TotalRequests): waiting minutes won't help
    - AuthenticationFailed        -- the token endpoint rejected the configured credentials
    - SessionExpired              -- the access token expired or was revoked; the clients catch this,
                                     re-authenticate once and repeat the call, so callers rarely see it

Every error names the vendor, the operation (``create_presence_status``), the object it was about
(``ServicePresenceStatus 'Available_for_Chats'``), the field if the vendor said, the vendor's own
error code, and a hint saying what to fix. Messages are passed through a ``Redactor`` holding the
current tokens and configured secrets, so neither ``str()``, ``repr()`` nor logs can carry them.
``not_processed`` is True when the answer (or the lack of a connection) proves the vendor did not act on
the request, so even a non-idempotent write may be repeated (``retry.certainly_not_processed``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Literal

__all__ = [
    "AlreadyExists",
    "AuthenticationFailed",
    "ConnectionFailed",
    "InvalidRequest",
    "NotFound",
    "OutcomeUnknown",
    "PermanentVendorError",
    "PermissionDenied",
    "QuotaExhausted",
    "RateLimited",
    "Redactor",
    "ServiceUnavailable",
    "SessionExpired",
    "TransientVendorError",
    "Vendor",
    "VendorError",
    "cxone_error_class",
    "salesforce_error_class",
]

Vendor = Literal["salesforce", "cxone"]

_VENDOR_NAMES = {"salesforce": "Salesforce", "cxone": "CXone"}


class VendorError(Exception):
    """Base of every error a vendor client raises."""

    hint: str = ""

    def __init__(
        self,
        message: str,
        *,
        vendor: Vendor,
        operation: str,
        object: str | None = None,  # what the error is about (a builtin's name, on purpose)
        field: str | None = None,
        error_code: str | None = None,
        status: int | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
        not_processed: bool = False,
    ) -> None:
        self.vendor: Vendor = vendor
        self.operation = operation
        self.object = object
        self.field = field
        self.error_code = error_code
        self.status = status
        self.detail = message
        self.retry_after = retry_after
        self.not_processed = not_processed  # True only when the vendor certainly did not act on the request
        if hint is not None:
            self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        about = f" {self.object}" if self.object else ""
        code = f" [{self.error_code}]" if self.error_code else ""
        status = f" (HTTP {self.status})" if self.status else ""
        field = f" field {self.field!r}:" if self.field else ""
        hint = f" {self.hint}" if self.hint else ""
        vendor = _VENDOR_NAMES[self.vendor]
        detail = self.detail.rstrip(". ")
        return f"{vendor} {self.operation}{about} failed{status}{code}:{field} {detail}.{hint}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vendor={self.vendor!r}, operation={self.operation!r}, "
            f"object={self.object!r}, field={self.field!r}, error_code={self.error_code!r}, "
            f"status={self.status!r}, detail={self.detail!r})"
        )

    def __reduce__(self):  # type: ignore[no-untyped-def,unused-ignore]
        # Keyword-only constructor: teach pickle (Pulumi serializes provider errors) how to rebuild it.
        return (_rebuild, (type(self), self.detail, self._kwargs()))

    def _kwargs(self) -> dict[str, object]:
        return {
            "vendor": self.vendor,
            "operation": self.operation,
            "object": self.object,
            "field": self.field,
            "error_code": self.error_code,
            "status": self.status,
            "hint": self.hint,
            "retry_after": self.retry_after,
            "not_processed": self.not_processed,
        }


def _rebuild(cls: type[VendorError], message: str, kwargs: dict[str, object]) -> VendorError:
    return cls(message, **kwargs)  # type: ignore[arg-type]


class TransientVendorError(VendorError):
    """The request may succeed if repeated later; the retry helper does so with backoff."""

    hint = "This is usually temporary; it was retried with backoff and may succeed on the next run."


class RateLimited(TransientVendorError):
    """The vendor asked us to slow down (HTTP 429 or a concurrency limit)."""

    hint = "The vendor is rate-limiting this client; retry later or reduce concurrent callers."


class ServiceUnavailable(TransientVendorError):
    """The vendor answered but could not serve the request right now (5xx, locks, maintenance)."""


class ConnectionFailed(TransientVendorError):
    """Nothing usable answered: connection refused or reset, DNS, TLS handshake or timeout."""

    hint = (
        "Check the URL, that the service is running and reachable, and (for TLS errors) that "
        "REQUESTS_CA_BUNDLE points at a CA bundle that trusts the server."
    )


class OutcomeUnknown(TransientVendorError):
    """A call that is not safe to repeat blindly (a state write, a create, a publish) may or may not have been
    applied: the request may have reached the vendor, and no answer said whether it was processed (a read
    timeout, a connection reset after sending, a 500/502/504). It is never retried as-is: read the object's
    current state, then decide whether the write is still wanted. ``__cause__`` is the error that was seen."""

    hint = "The write may or may not have been applied; read the current state before repeating it."

    @classmethod
    def after(cls, error: VendorError) -> OutcomeUnknown:
        """The ``OutcomeUnknown`` for a non-idempotent call that failed with ``error``."""
        return cls(
            f"{error.detail.rstrip('. ')}; the request may have been applied",
            vendor=error.vendor,
            operation=error.operation,
            object=error.object,
            field=error.field,
            error_code=error.error_code,
            status=error.status,
            retry_after=error.retry_after,
        )


class PermanentVendorError(VendorError):
    """Repeating the same request cannot succeed; something in the request or the setup must change."""


class NotFound(PermanentVendorError):
    """The object does not exist (or no longer exists)."""

    hint = "It may have been deleted outside presence-sync; `pulumi refresh` drops it from state."


class AlreadyExists(PermanentVendorError):
    """An object with the same unique name already exists."""

    hint = (
        "Pick another name, or adopt the existing object explicitly (`adopt: true` in the spec) instead of creating it."
    )


class InvalidRequest(PermanentVendorError):
    """The vendor rejected the request's content (HTTP 400 and validation codes)."""

    hint = "Fix the value named above in the spec."


class PermissionDenied(PermanentVendorError):
    """The authenticated user lacks a permission, or the feature is not enabled in the org/tenant."""

    hint = (
        "Grant the integration user the permission named above (for Salesforce: Customize Application, "
        "Manage Users, API Enabled; Omni-Channel must be enabled)."
    )


class QuotaExhausted(PermanentVendorError):
    """The rolling 24-hour API request allowance is used up."""

    hint = "The org's daily API limit is exhausted; wait for it to roll over or raise the limit."


class AuthenticationFailed(PermanentVendorError):
    """The token endpoint rejected the configured credentials."""


class SessionExpired(PermanentVendorError):
    """The access token expired or was revoked. Clients re-authenticate once and repeat the call."""

    hint = "The client re-authenticated once and the new session was rejected too; check the credentials."


# --------------------------------------------------------------------------------------------------
# Mapping: one table per vendor. Vendor error codes win over HTTP status.

_SALESFORCE_CODES: dict[str, type[VendorError]] = {
    "INVALID_SESSION_ID": SessionExpired,
    "NOT_FOUND": NotFound,
    "ENTITY_IS_DELETED": NotFound,
    "DUPLICATE_VALUE": AlreadyExists,
    "DUPLICATE_DEVELOPER_NAME": AlreadyExists,
    "DUPLICATE_NAME": AlreadyExists,
    "DUPLICATE_USERNAME": AlreadyExists,
    "DUPLICATE_EXTERNAL_ID": AlreadyExists,
    "SERVER_UNAVAILABLE": ServiceUnavailable,
    "UNABLE_TO_LOCK_ROW": ServiceUnavailable,
    "INSUFFICIENT_ACCESS": PermissionDenied,
    "INSUFFICIENT_ACCESS_OR_READONLY": PermissionDenied,
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": PermissionDenied,
    "API_DISABLED_FOR_ORG": PermissionDenied,
    "API_CURRENTLY_DISABLED": PermissionDenied,
    "FUNCTIONALITY_NOT_ENABLED": PermissionDenied,
    "NO_ACCESS": PermissionDenied,
    # OAuth token endpoint (`error` member of the JSON body).
    "invalid_grant": AuthenticationFailed,
    "invalid_client": AuthenticationFailed,
    "invalid_client_id": AuthenticationFailed,
    "unauthorized_client": AuthenticationFailed,
    "inactive_user": AuthenticationFailed,
    "inactive_org": AuthenticationFailed,
    "invalid_request": AuthenticationFailed,
    "unsupported_grant_type": AuthenticationFailed,
}

_CXONE_CODES: dict[str, type[VendorError]] = {
    "invalid_grant": AuthenticationFailed,
    "invalid_client": AuthenticationFailed,
    "unauthorized_client": AuthenticationFailed,
    "unsupported_grant_type": AuthenticationFailed,
    "invalid_token": SessionExpired,
    "notfound": NotFound,
    "not_found": NotFound,
    "conflict": AlreadyExists,
    "duplicate": AlreadyExists,
    "invalidrequest": InvalidRequest,
    "forbidden": PermissionDenied,
}


def _class_for_status(status: int | None) -> type[VendorError]:
    if status is None:
        return ServiceUnavailable
    if status == 429:
        return RateLimited
    if status >= 500:
        return ServiceUnavailable
    return {
        400: InvalidRequest,
        401: SessionExpired,
        403: PermissionDenied,
        404: NotFound,
        405: InvalidRequest,
        409: AlreadyExists,
        410: NotFound,
        415: InvalidRequest,
        422: InvalidRequest,
    }.get(status, PermanentVendorError)


def salesforce_error_class(status: int | None, error_code: str | None, message: str = "") -> type[VendorError]:
    """The class for a Salesforce answer: errorCode / statusCode / SOAP faultcode first, then HTTP status."""
    code = (error_code or "").split(":")[-1]  # SOAP faultcodes come as 'sf:INVALID_SESSION_ID'
    if status == 429:
        return RateLimited
    if code == "REQUEST_LIMIT_EXCEEDED":
        # 'TotalRequests Limit exceeded.' is the rolling 24h allowance; the concurrency limits
        # (ConcurrentPerOrgLongTxn, ...) clear within seconds.
        return QuotaExhausted if "TotalRequests" in message else RateLimited
    if code in _SALESFORCE_CODES:
        return _SALESFORCE_CODES[code]
    if code.startswith("DUPLICATE_"):
        return AlreadyExists
    if code.startswith("INSUFFICIENT_ACCESS"):
        return PermissionDenied
    if status is None and code:
        # A Metadata API SaveResult/DeleteResult carries a statusCode but no HTTP status: the call
        # itself succeeded, the component was rejected.
        return InvalidRequest
    return _class_for_status(status)


def cxone_error_class(status: int | None, error_code: str | None) -> type[VendorError]:
    """The class for a CXone answer: the body's ``error`` first (OAuth / ours), then HTTP status."""
    if status == 429:
        return RateLimited
    if status is not None and status >= 500:
        return ServiceUnavailable
    if error_code and error_code.lower() in _CXONE_CODES:
        cls = _CXONE_CODES[error_code.lower()]
        # The token endpoint answers 400/401 for bad credentials; an API 401 is an expired token.
        if cls is not AuthenticationFailed or status in (None, 400, 401):
            return cls
    return _class_for_status(status)


# --------------------------------------------------------------------------------------------------


class Redactor:
    """Replaces known secret values in text. Thread-safe; clients add each token they obtain."""

    _MIN_LEN = 4  # never 'redact' trivially short values: they would mangle ordinary text

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= self._MIN_LEN:
            with self._lock:
                self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} values)"
