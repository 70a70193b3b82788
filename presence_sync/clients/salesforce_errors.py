"""How Salesforce's failures become ``presence_sync.clients.errors``: the one mapping for REST (simple-salesforce),
SOAP (zeep), a Metadata API result with ``success=false``, and a Metadata API answer that is not SOAP at all."""

from __future__ import annotations

from typing import Any

import requests
import zeep.exceptions
from simple_salesforce.exceptions import SalesforceError

from presence_sync.clients._http import json_body, transport_error
from presence_sync.clients.errors import Redactor, ServiceUnavailable, VendorError, salesforce_error_class

__all__ = ["MetadataFailure", "SoapHttpError", "reject_non_soap", "salesforce_vendor_error"]


class MetadataFailure(Exception):
    """A Metadata API SaveResult/DeleteResult with success=false (the SOAP call itself succeeded)."""

    def __init__(self, status_code: str, message: str, field: str | None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.field = field


class SoapHttpError(requests.RequestException):
    """A Metadata API answer that is not a SOAP envelope (a proxy's or gateway's 503, a JSON error).

    zeep, in its lenient parsing mode, would turn such a body into an AttributeError; a response hook
    raises this instead, with the HTTP status, so the error can be classified like any other.
    """

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code} from the Metadata API", response=response)
        self.status = response.status_code
        self.body = json_body(response)


def reject_non_soap(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    if "/services/Soap/" in (response.url or "") and response.status_code != 200:
        content_type = response.headers.get("Content-Type", "")
        if "xml" not in content_type.lower():
            raise SoapHttpError(response)
    return response


def salesforce_vendor_error(exc: Exception, operation: str, about: str | None, redact: Redactor) -> VendorError:
    """Map whatever simple-salesforce, zeep or requests raised to our tree. The one place."""
    status: int | None = None
    code: str | None = None
    field: str | None = None
    message = ""
    if isinstance(exc, SoapHttpError):
        status = exc.status
        body = exc.body
        entry: dict[str, Any] = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
        code = entry.get("errorCode")
        message = str(entry.get("message") or f"the Metadata API answered HTTP {status}")
    elif isinstance(exc, requests.RequestException):
        return transport_error(exc, vendor="salesforce", operation=operation, object=about)
    elif isinstance(exc, SalesforceError):
        status = exc.status
        content = exc.content
        first = content[0] if isinstance(content, list) and content and isinstance(content[0], dict) else None
        if first is not None:
            code = first.get("errorCode")
            message = str(first.get("message") or "")
            fields = first.get("fields") or []
            field = fields[0] if fields else None
        elif isinstance(content, dict):
            code = content.get("errorCode") or content.get("error")
            message = str(content.get("message") or content.get("error_description") or "")
        else:
            message = str(content or "")[:300]
    elif isinstance(exc, zeep.exceptions.Fault):
        code = exc.code
        message = str(exc.message or "")
    elif isinstance(exc, zeep.exceptions.TransportError):
        status = exc.status_code or None
        message = f"the Metadata API answered HTTP {exc.status_code}"
    elif isinstance(exc, MetadataFailure):
        code, message, field = exc.status_code, exc.message, exc.field
    else:  # other zeep errors: an answer we could not read
        return ServiceUnavailable(
            f"unreadable Metadata API response ({type(exc).__name__})",
            vendor="salesforce",
            operation=operation,
            object=about,
        )
    cls = salesforce_error_class(status, code, message)
    return cls(
        redact(message or (f"HTTP {status}" if status else "request failed")),
        vendor="salesforce",
        operation=operation,
        object=about,
        field=field,
        error_code=(code or "").split(":")[-1] or None,
        status=status,
    )


# ------------------------------------------------------------------------------------------
# Low-level helpers (all called inside _run)
