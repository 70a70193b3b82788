"""``CxoneSession``: how presence-sync reaches a NICE CXone tenant, written once for every kind.

* Token: ``POST {CXONE_AUTH_URL}/auth/token`` (form), HTTP Basic client authentication, password grant
  with the access key id/secret as username/password. Refreshed (refresh_token grant, falling back
  to the password grant) a minute before ``expires_in`` runs out, and once more on an API 401.
* API base: ``CXONE_API_URL``, or ``api_endpoint`` from ``/.well-known/cxone-configuration?tenantId=``
  (the tenant id is a claim of the token's ``id_token``). Public APIs live under
  ``{api_base}/incontactapi/services/{version}/`` (``api_url``); the Presence Sync configuration model lives
  under ``{api_base}/adapter-apis/v1/{partner}/`` (``adapters_url``).
* Errors: bodies are ``{"error", "error_description"}``; mapped by ``cxone_error_class``; secrets redacted.

Every call runs under ``call_with_retry`` (transient errors retried with backoff, an expired token refreshed
once). POSTs are not idempotent unless said otherwise (``request(idempotent=)``): a state write or a create is
repeated only after an error proving CXone did not process it, and otherwise raises ``OutcomeUnknown``.
The session is thread-safe. Each kind's calls live in its proxy (``presence_sync/clients/<kind>.py``); the
runtime's (agents, the real-time feed, agent sessions) in ``CxoneClient``.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ConfigDict
from requests.adapters import BaseAdapter

from presence_sync.clients._cache import ReadCache
from presence_sync.clients._http import CallCounter, build_session, json_body, transport_error
from presence_sync.clients.errors import (
    AuthenticationFailed,
    NotFound,
    PermanentVendorError,
    Redactor,
    VendorError,
    cxone_error_class,
)
from presence_sync.clients.retry import RetryPolicy, call_with_retry, never_sent
from presence_sync.clients.settings import CxoneSettings

__all__ = ["PAGE_SIZE", "AdapterModel", "CxoneSession"]

T = TypeVar("T")
log = logging.getLogger(__name__)

PAGE_SIZE = 100
_REFRESH_MARGIN = 60.0  # seconds before expiry at which a token is renewed
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class _Token:
    __slots__ = ("access_token", "expires_at", "generation", "id_claims", "refresh_token")

    def __init__(
        self,
        access_token: str,
        refresh_token: str | None,
        expires_at: float,
        generation: int,
        id_claims: dict[str, Any],
    ) -> None:
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expires_at = expires_at
        self.generation = generation
        self.id_claims = id_claims

    def __repr__(self) -> str:
        return f"_Token(generation={self.generation}, expires_at={self.expires_at:.0f})"


def _jwt_claims(token: str | None) -> dict[str, Any]:
    """The (unverified) claims of a JWT: only to read ``tenantId``; the token came to us over TLS."""
    if not token or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, json.JSONDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


class AdapterModel(BaseModel):
    """Base of the Adapters API's payloads (the kinds' proxies): camelCase on the wire, unknown keys ignored."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    def payload(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class CxoneSession:
    """One tenant: tokens, discovery, the retried and error-mapped ``request``, paging, the read cache."""

    vendor = "cxone"

    def __init__(
        self,
        settings: CxoneSettings,
        *,
        retry: RetryPolicy | None = None,
        transport: BaseAdapter | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        partner: str = "salesforce",
    ) -> None:
        self.settings = settings
        self.partner = partner
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._redact = Redactor(
            [settings.client_secret.get_secret_value(), settings.access_key_secret.get_secret_value()]
        )
        self._calls = CallCounter()
        self._auth_calls = CallCounter()
        self._session = build_session(transport, counter=self._calls, timeout=timeout, ca_bundle=settings.ca_bundle)
        self._auth_session = build_session(
            transport, counter=self._auth_calls, timeout=timeout, ca_bundle=settings.ca_bundle
        )
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self._generation = 0
        self._api_base: str | None = settings.api_url
        self.cache = ReadCache()

    @property
    def api_calls(self) -> int:
        """HTTP requests sent to the tenant's APIs (discovery included); token requests excluded."""
        return self._calls.value

    @property
    def auth_calls(self) -> int:
        return self._auth_calls.value

    # ------------------------------------------------------------------------------------------
    # Authentication and discovery

    def authenticate(self) -> None:
        """Get a token now (otherwise the first call does). Raises AuthenticationFailed on bad keys."""
        call_with_retry(lambda: self._current_token(), policy=self._retry, describe="cxone authenticate")

    def _current_token(self) -> _Token:
        with self._lock:
            token = self._token
            if token is None or token.expires_at - _REFRESH_MARGIN <= self._clock():
                token = self._token = self._obtain_token(token)
            return token

    def _reauthenticate(self, stale_generation: int) -> None:
        with self._lock:
            if self._token is not None and self._token.generation != stale_generation:
                return  # another thread already replaced it
            self._token = self._obtain_token(self._token)

    def _obtain_token(self, previous: _Token | None) -> _Token:
        if previous is not None and previous.refresh_token:
            try:
                return self._token_request({"grant_type": "refresh_token", "refresh_token": previous.refresh_token})
            except AuthenticationFailed:
                log.info("cxone: refresh token rejected; logging in with the access key again")
        return self._token_request(
            {
                "grant_type": "password",
                "username": self.settings.access_key_id,
                "password": self.settings.access_key_secret.get_secret_value(),
            }
        )

    def _token_request(self, form: dict[str, str]) -> _Token:
        operation, about = "authenticate", f"access key {self.settings.access_key_id[:6]}..."
        basic = (self.settings.client_id, self.settings.client_secret.get_secret_value())
        try:
            response = self._auth_session.post(
                f"{self.settings.auth_url}/auth/token", data=form, auth=basic, headers={"Accept": "application/json"}
            )
        except requests.RequestException as exc:
            raise transport_error(exc, vendor="cxone", operation=operation, object=about) from None
        body = json_body(response)
        if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            error = body.get("error") if isinstance(body, dict) else None
            description = body.get("error_description") if isinstance(body, dict) else None
            if response.status_code in (400, 401, 403):
                cls: type[VendorError] = AuthenticationFailed
            else:
                cls = cxone_error_class(response.status_code, error)
            raise cls(
                self._redact(str(description or response.reason or "no token returned")),
                vendor="cxone",
                operation=operation,
                object=about,
                error_code=error,
                status=response.status_code,
                hint=(
                    "Check CXONE_CLIENT_ID/CXONE_CLIENT_SECRET and CXONE_ACCESS_KEY_ID/CXONE_ACCESS_KEY_SECRET, "
                    "and that the access key's user is active."
                    if cls is AuthenticationFailed
                    else None
                ),
            )
        access = str(body["access_token"])
        refresh = body.get("refresh_token")
        self._redact.add(access)
        self._redact.add(refresh)
        self._redact.add(body.get("id_token"))
        self._generation += 1
        expires_in = float(body.get("expires_in") or 3600)
        log.info("cxone: token %d obtained (expires in %.0fs)", self._generation, expires_in)
        return _Token(access, refresh, self._clock() + expires_in, self._generation, _jwt_claims(body.get("id_token")))

    @property
    def api_base(self) -> str:
        """The API base URL (``CXONE_API_URL`` or discovered once from the tenant's configuration)."""
        if self._api_base is None:
            self._api_base = call_with_retry(self._discover, policy=self._retry, describe="cxone discover")
        return self._api_base

    def _discover(self) -> str:
        token = self._current_token()
        params = {}
        tenant_id = token.id_claims.get("tenantId")
        if tenant_id:
            params["tenantId"] = str(tenant_id)
        url = f"{self.settings.auth_url}/.well-known/cxone-configuration"
        body = self._send("GET", url, "discover_api_endpoint", "cxone-configuration", params=params, token=None)
        endpoint = body.get("api_endpoint") if isinstance(body, dict) else None
        if not endpoint:
            raise PermanentVendorError(
                "the discovery document has no api_endpoint",
                vendor="cxone",
                operation="discover_api_endpoint",
                object="cxone-configuration",
                hint="Set CXONE_API_URL explicitly.",
            )
        return str(endpoint).rstrip("/")

    # ------------------------------------------------------------------------------------------
    # Requests

    def api_url(self, path: str) -> str:
        """``{api_base}/incontactapi/services/{version}/{path}``."""
        return f"{self.api_base}/incontactapi/services/{self.settings.api_version}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        url: str,
        operation: str,
        about: str | None,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """One authenticated API call under the retry policy; returns the parsed JSON (None for 204).

        ``idempotent`` (default: by method -- GET, HEAD, OPTIONS, PUT, DELETE are; POST and PATCH are not) says
        whether repeating the call after a lost answer is harmless; see ``call_with_retry``.
        """
        if idempotent is None:
            idempotent = method.upper() in _IDEMPOTENT_METHODS
        seen = [0]

        def attempt() -> Any:
            token = self._current_token()
            seen[0] = token.generation
            return self._send(method, url, operation, about, params=params, body=body, token=token)

        return call_with_retry(
            attempt,
            policy=self._retry,
            reauthenticate=lambda: self._reauthenticate(seen[0]),
            describe=f"cxone {operation}" + (f" {about}" if about else ""),
            idempotent=idempotent,
        )

    def _send(
        self,
        method: str,
        url: str,
        operation: str,
        about: str | None,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        token: _Token | None,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.access_token}"
        try:
            response = self._session.request(method, url, params=params, json=body, headers=headers)
        except requests.RequestException as exc:
            error = transport_error(exc, vendor="cxone", operation=operation, object=about)
            error.not_processed = never_sent(exc)
            raise error from None
        if response.status_code >= 300:
            raise self._to_vendor_error(response, operation, about)
        if response.status_code == 204:
            return None
        return json_body(response)

    def _to_vendor_error(self, response: requests.Response, operation: str, about: str | None) -> VendorError:
        """Map a CXone error answer to our tree. The one place."""
        body = json_body(response)
        error = description = None
        if isinstance(body, dict):
            error = body.get("error") or body.get("errorCode")
            description = body.get("error_description") or body.get("errorDescription") or body.get("message")
        cls = cxone_error_class(response.status_code, str(error) if error else None)
        retry_after = None
        if response.headers.get("Retry-After", "").strip().isdigit():
            retry_after = float(response.headers["Retry-After"])
        return cls(
            self._redact(str(description or response.reason or f"HTTP {response.status_code}")),
            vendor="cxone",
            operation=operation,
            object=about,
            field=_field_named_in(str(description or "")),
            error_code=str(error) if error else None,
            status=response.status_code,
            retry_after=retry_after,
        )

    def paginate(self, path: str, key: str, operation: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """All items of a skip/top list. Stops at ``totalRecords``, a short page or an empty page."""
        items: list[Any] = []
        skip = 0
        while True:
            page = self.request(
                "GET", self.api_url(path), operation, path, params={**(params or {}), "skip": skip, "top": PAGE_SIZE}
            )
            batch = (page or {}).get(key) or []
            items.extend(batch)
            total = (page or {}).get("totalRecords")
            skip += len(batch)
            if not batch or len(batch) < PAGE_SIZE or (isinstance(total, int) and skip >= total):
                return items

    def adapters_url(self, path: str) -> str:
        """``{api_base}/adapter-apis/v1/{partner}/{path}``: the Presence Sync configuration model."""
        return f"{self.api_base}/adapter-apis/v1/{self.partner}/{path.lstrip('/')}"

    def adapters_call(
        self, method: str, path: str, operation: str, about: str, body: Any = None, *, listed: str
    ) -> Any:
        """One call to the Presence Sync configuration model (``adapters_url``) for a kind whose list is cached
        under ``listed``: any write drops that list, even a failed one (it may have landed). None for 204."""
        try:
            return self.request(method, self.adapters_url(path), operation, about, body=body)
        finally:
            if method != "GET":
                self.cache.forget(listed)

    def adapters_get_or_gone(self, path: str, operation: str, about: str, *, listed: str) -> Any:
        """A GET of the model; None when the object is not there (404)."""
        try:
            return self.adapters_call("GET", path, operation, about, listed=listed)
        except NotFound:
            return None

    def adapters_delete(self, path: str, operation: str, about: str, *, listed: str) -> None:
        """Delete; already gone is success."""
        try:
            self.adapters_call("DELETE", path, operation, about, listed=listed)
        except NotFound:
            return

    def redact_secret(self, secret: str | None) -> None:
        """Never show ``secret`` in an error message of this session (a consumer secret, an access key's)."""
        self._redact.add(secret)

    def cached(self, key: str, load: Callable[[], T]) -> T:
        """A list read once per process; a proxy's write drops its own key (``cache.forget(key)``)."""
        return self.cache.get(key, load)

    def close(self) -> None:
        self._session.close()
        self._auth_session.close()


def _field_named_in(description: str) -> str | None:
    """CXone descriptions often start with the offending field ('accessKeyAgentId is immutable',
    'salesforceEnvironment.consumerSecret is required'); return that path if so."""
    first = description.split(" ", 1)[0].strip(":,'\"")
    parts = first.split(".")
    if not all(p.isidentifier() and p[0].islower() for p in parts):
        return None
    return first if len(parts) > 1 or any(c.isupper() for c in first) else None
