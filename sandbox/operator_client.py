"""A small client for the operator endpoints of one emulator (``/__sandbox/requests`` and ``/__sandbox/faults``).

The emulators close a keep-alive connection left idle (30 s by default, like a vendor would), and a test often
leaves the operator idle that long, e.g. through an outage it injected. A request sent on the pooled connection as
the emulator closes it fails with ``RemoteDisconnected`` before any byte of the response; the session repeats such
a request once on a new connection (``StaleConnectionRetry``, urllib3's ``Retry``). Every operator call is
idempotent (GET, PUT of settings, DELETE), so the repeat is safe.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import requests as http
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError
from urllib3.util.retry import Retry

__all__ = ["IDEMPOTENT_METHODS", "OperatorClient", "StaleConnectionRetry", "retry_once_on_stale_connection"]

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Methods whose repetition leaves the server as one request would (RFC 9110, 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


# The sandbox imports nothing of presence-sync (it stands in for the vendors), hence this twin of the retry in
# presence_sync/clients/_http.py.
class StaleConnectionRetry(Retry):
    """A urllib3 ``Retry`` that repeats only a request whose connection dropped before any byte of the response
    (``RemoteDisconnected``, a reset, a broken pipe). Other errors are raised as with requests' default (no
    retry): a read timeout stays a ``requests.ReadTimeout``, since the server may still be at work on it."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: TracebackType | None = None,
    ) -> StaleConnectionRetry:
        if error is not None and self._is_read_error(error) and not _dropped_before_response(error):
            raise error.with_traceback(_stacktrace)
        return super().increment(method, url, response, error, _pool, _stacktrace)


def _dropped_before_response(error: Exception) -> bool:
    # urllib3 reports it as ProtocolError("Connection aborted.", <socket error>); RemoteDisconnected (no status
    # line at all) is a ConnectionResetError.
    return isinstance(error, ProtocolError) and any(
        isinstance(arg, (ConnectionResetError, BrokenPipeError)) for arg in error.args
    )


def retry_once_on_stale_connection(methods: frozenset[str] = IDEMPOTENT_METHODS) -> StaleConnectionRetry:
    """One immediate repeat of a ``methods`` request whose pooled connection turned out closed; nothing else
    (refused connections, statuses, Retry-After) is retried."""
    return StaleConnectionRetry(
        total=1,
        connect=0,
        read=1,
        status=0,
        other=0,
        redirect=0,
        backoff_factor=0,
        allowed_methods=methods,
        respect_retry_after_header=False,
        raise_on_status=False,
    )


class OperatorClient:
    def __init__(self, base_url: str, ca_bundle: str | None = None, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = http.Session()
        adapter = HTTPAdapter(max_retries=retry_once_on_stale_connection())
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        # Per request, not on the session: requests lets REQUESTS_CA_BUNDLE override ``Session.verify``.
        self._verify: str | bool = ca_bundle if ca_bundle else True
        self._timeout = timeout

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._session.request(
            method, f"{self.base_url}/__sandbox/{path}", timeout=self._timeout, verify=self._verify, **kwargs
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def ready(self) -> bool:
        try:
            return bool(self._call("GET", "ready"))
        except http.RequestException:
            return False

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The logged vendor API requests, oldest first."""
        return list(self._call("GET", "requests", params={"since": since})["requests"])

    def operations(self, since: int = 0) -> list[dict[str, Any]]:
        """The logged requests with each composite call expanded into its subrequests: one entry per operation
        (method, path, status, operation, write), carrying the call's time, seq and fault."""
        expanded: list[dict[str, Any]] = []
        for entry in self.requests(since):
            subrequests = entry.get("subrequests")
            if not subrequests:
                expanded.append(entry)
                continue
            for sub in subrequests:
                expanded.append({**entry, **sub, "composite": True, "subrequests": None})
        return expanded

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def count(self, method: str | None = None, path_prefix: str | None = None, writes_only: bool = False) -> int:
        """How many logged requests match. A write is a POST/PUT/PATCH/DELETE, except where the emulator
        says otherwise (a SOAP ``readMetadata`` is a POST but not a write)."""
        total = 0
        for entry in self.requests():
            if method is not None and entry["method"] != method.upper():
                continue
            if path_prefix is not None and not entry["path"].startswith(path_prefix):
                continue
            if writes_only and not entry.get("write", entry["method"] in WRITE_METHODS):
                continue
            total += 1
        return total

    def faults(self) -> dict[str, Any]:
        return dict(self._call("GET", "faults")["faults"])

    def set_faults(
        self,
        *,
        latency_ms: int | None = None,
        error_rate: float | None = None,
        error_status: int | None = None,
        error_next: int | None = None,
        refuse_seconds: float | None = None,
        path_prefix: str | None = None,
    ) -> dict[str, Any]:
        """Change the given fault settings; the others keep their values."""
        changes = {
            key: value
            for key, value in {
                "latency_ms": latency_ms,
                "error_rate": error_rate,
                "error_status": error_status,
                "error_next": error_next,
                "refuse_seconds": refuse_seconds,
                "path_prefix": path_prefix,
            }.items()
            if value is not None
        }
        return dict(self._call("PUT", "faults", json=changes)["faults"])

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def expire_tokens(self) -> None:
        """Invalidate every access token the emulator has issued (refresh tokens stay valid)."""
        self._call("PUT", "faults", json={"expire_tokens": True})

    def close(self) -> None:
        self._session.close()
