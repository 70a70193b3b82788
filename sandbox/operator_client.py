"""A small client for the operator endpoints of one emulator (``/__sandbox/requests`` and ``/__sandbox/faults``)."""

from __future__ import annotations

from typing import Any

import requests as http

__all__ = ["OperatorClient"]

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class OperatorClient:
    def __init__(self, base_url: str, ca_bundle: str | None = None, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = http.Session()
        # Per request, not on the session: requests lets REQUESTS_CA_BUNDLE override ``Session.verify``.
        self._verify: str | bool = ca_bundle if ca_bundle else True
        self._timeout = timeout

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._session.request(method, f"{self.base_url}/__sandbox/{path}", timeout=self._timeout,
                                         verify=self._verify, **kwargs)
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

    def set_faults(self, *, latency_ms: int | None = None, error_rate: float | None = None,
                   error_status: int | None = None, error_next: int | None = None,
                   refuse_seconds: float | None = None, path_prefix: str | None = None) -> dict[str, Any]:
        """Change the given fault settings; the others keep their values."""
        changes = {key: value for key, value in {
            "latency_ms": latency_ms, "error_rate": error_rate, "error_status": error_status,
            "error_next": error_next, "refuse_seconds": refuse_seconds, "path_prefix": path_prefix,
        }.items() if value is not None}
        return dict(self._call("PUT", "faults", json=changes)["faults"])

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def expire_tokens(self) -> None:
        """Invalidate every access token the emulator has issued (refresh tokens stay valid)."""
        self._call("PUT", "faults", json={"expire_tokens": True})

    def close(self) -> None:
        self._session.close()
