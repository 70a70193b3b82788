"""``CxoneClient``: the only code in presence-sync that speaks to NICE CXone.

* Token: ``POST {CXONE_AUTH_URL}/auth/token`` (form), HTTP Basic client authentication, password grant
  with the access key id/secret as username/password. Refreshed (refresh_token grant, falling back
  to the password grant) a minute before ``expires_in`` runs out, and once more on an API 401.
* API base: ``CXONE_API_URL``, or ``api_endpoint`` from ``/.well-known/cxone-configuration?tenantId=``
  (the tenant id is a claim of the token's ``id_token``). Public APIs live under
  ``{api_base}/incontactapi/services/{version}/``; the Presence Sync configuration model lives under
  ``{api_base}/adapter-apis/v1/{partner}/`` (see ``cxone_adapters``).
* Errors: bodies are ``{"error", "error_description"}``; mapped by ``cxone_error_class``.

Every public method runs under ``call_with_retry`` (transient errors retried with backoff, an expired
token refreshed once). The client is thread-safe.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from requests.adapters import BaseAdapter

from presence_sync.clients._http import CallCounter, build_session, json_body, transport_error
from presence_sync.clients.errors import (
    AuthenticationFailed,
    InvalidRequest,
    PermanentVendorError,
    Redactor,
    VendorError,
    cxone_error_class,
)
from presence_sync.clients.retry import RetryPolicy, call_with_retry
from presence_sync.clients.settings import CxoneSettings

__all__ = [
    "Agent",
    "AgentState",
    "CxoneClient",
    "Team",
    "TeamUnavailableCode",
    "UnavailableCode",
]

T = TypeVar("T")
log = logging.getLogger(__name__)

PAGE_SIZE = 100
_REFRESH_MARGIN = 60.0  # seconds before expiry at which a token is renewed


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Agent(_Model):
    agent_id: int = Field(alias="agentId")
    user_name: str | None = Field(default=None, alias="userName")
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    email: str | None = Field(default=None, alias="emailAddress")
    is_active: bool = Field(default=True, alias="isActive")
    team_id: int | None = Field(default=None, alias="teamId")
    team_name: str | None = Field(default=None, alias="teamName")
    user_id: str | None = Field(default=None, validation_alias=AliasChoices("userID", "userId"))


class Team(_Model):
    team_id: int = Field(alias="teamId")
    team_name: str = Field(alias="teamName")
    is_active: bool = Field(default=True, alias="isActive")


class UnavailableCode(_Model):
    """An unavailable code (an ACD "Unavailable" reason); presence rules refer to it by ``id``."""

    id: int = Field(validation_alias=AliasChoices("id", "outStateId", "outstateId"))
    name: str = Field(validation_alias=AliasChoices("name", "outStateName", "outstateName"))
    is_active: bool = Field(default=True, alias="isActive")
    is_acw: bool = Field(default=False, validation_alias=AliasChoices("isACW", "isAcw"))


class TeamUnavailableCode(_Model):
    """An unavailable code assigned to a team (``/teams/{id}/unavailable-codes``; note ``outstateId``)."""

    outstate_id: int = Field(validation_alias=AliasChoices("outstateId", "outStateId", "id"))
    outstate_name: str | None = Field(default=None, validation_alias=AliasChoices("outstateName", "outStateName"))
    is_active: bool = Field(default=True, alias="isActive")
    is_acw: bool = Field(default=False, validation_alias=AliasChoices("isAcw", "isACW"))


class AgentState(_Model):
    """An agent's real-time state (``/agents/states``)."""

    agent_id: int = Field(alias="agentId")
    agent_state_id: int | None = Field(default=None, alias="agentStateId")
    agent_state_name: str = Field(alias="agentStateName")
    out_state_id: int | None = Field(default=None, validation_alias=AliasChoices("outStateId", "outstateId"))
    out_state_description: str | None = Field(default=None, alias="outStateDescription")
    team_id: int | None = Field(default=None, alias="teamId")
    last_update_time: str | None = Field(default=None, alias="lastUpdateTime")
    start_date: str | None = Field(default=None, alias="startDate")
    is_acw: bool | None = Field(default=None, alias="isACW")
    contact_id: int | str | None = Field(default=None, alias="contactId")


class _Token:
    __slots__ = ("access_token", "expires_at", "generation", "id_claims", "refresh_token")

    def __init__(self, access_token: str, refresh_token: str | None, expires_at: float, generation: int,
                 id_claims: dict[str, Any]) -> None:  # fmt: skip
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


def format_since(value: str | datetime | None) -> str:
    """``updatedSince`` text: a previous ``lastPollTime`` passes through; datetimes become ISO 8601 UTC."""
    if value is None:
        return "0"
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class CxoneClient:
    """Intention-named operations on one CXone tenant. See the module docstring."""

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
        self._adapters: Any = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> CxoneClient:
        return cls(CxoneSettings.from_env(environ), **kwargs)

    def __repr__(self) -> str:
        return f"CxoneClient(auth_url={self.settings.auth_url!r}, api_version={self.settings.api_version!r})"

    @property
    def api_calls(self) -> int:
        """HTTP requests sent to the tenant's APIs (discovery included); token requests excluded."""
        return self._calls.value

    @property
    def auth_calls(self) -> int:
        return self._auth_calls.value

    @property
    def adapters(self) -> Any:
        """The Presence Sync configuration model (``cxone_adapters.PresenceSyncConfig``)."""
        with self._lock:
            if self._adapters is None:
                from presence_sync.clients.cxone_adapters import PresenceSyncConfig

                self._adapters = PresenceSyncConfig(self, self.partner)
            return self._adapters

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
    ) -> Any:
        """One authenticated API call under the retry policy; returns the parsed JSON (None for 204)."""
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
            raise transport_error(exc, vendor="cxone", operation=operation, object=about) from None
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

    def _paginate(self, path: str, key: str, operation: str, params: Mapping[str, Any] | None = None) -> list[Any]:
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

    # ------------------------------------------------------------------------------------------
    # Admin API

    def list_agents(self, *, active_only: bool = False) -> list[Agent]:
        params = {"isActive": "true"} if active_only else None
        return [Agent.model_validate(a) for a in self._paginate("agents", "agents", "list_agents", params)]

    def list_teams(self) -> list[Team]:
        return [Team.model_validate(t) for t in self._paginate("teams", "teams", "list_teams")]

    def list_unavailable_codes(self) -> list[UnavailableCode]:
        rows = self._paginate("unavailable-codes", "unavailableCodes", "list_unavailable_codes")
        return [UnavailableCode.model_validate(c) for c in rows]

    def list_team_unavailable_codes(self, team_id: int) -> list[TeamUnavailableCode]:
        body = self.request(
            "GET", self.api_url(f"teams/{int(team_id)}/unavailable-codes"), "list_team_unavailable_codes",
            f"team {team_id}",
        )  # fmt: skip
        return [TeamUnavailableCode.model_validate(c) for c in (body or {}).get("unavailableCodes") or []]

    # ------------------------------------------------------------------------------------------
    # Real-time data and Agent API

    def agent_states(self, updated_since: str | datetime | None = None) -> tuple[list[AgentState], str | None]:
        """Agent states changed since ``updated_since`` (None: all), and the ``lastPollTime`` to pass next.

        204 (nothing changed) returns no states and keeps ``updated_since`` as the cursor.
        """
        since = format_since(updated_since)
        states: list[AgentState] = []
        last_poll: str | None = None
        skip = 0
        while True:
            page = self.request(
                "GET",
                self.api_url("agents/states"),
                "agent_states",
                "agents/states",
                params={"updatedSince": since, "skip": skip, "top": PAGE_SIZE},
            )
            if page is None:
                break
            if last_poll is None:
                last_poll = page.get("lastPollTime")
            batch = page.get("agentStates") or []
            states.extend(AgentState.model_validate(s) for s in batch)
            skip += len(batch)
            total = page.get("totalRecords")
            if not batch or len(batch) < PAGE_SIZE or (isinstance(total, int) and skip >= total):
                break
        cursor = last_poll or (updated_since if isinstance(updated_since, str) else None) or since
        return states, cursor

    def join_agent_session(self, agent_id: int) -> str:
        """Join the agent's running session (``POST /agent-sessions/join?asAgentId=``); returns its id."""
        body = self.request(
            "POST",
            self.api_url("agent-sessions/join"),
            "join_agent_session",
            f"agent {agent_id}",
            params={"asAgentId": int(agent_id)},
        )
        session_id = (body or {}).get("sessionId")
        if not session_id:
            raise PermanentVendorError(
                "the answer carried no sessionId",
                vendor="cxone",
                operation="join_agent_session",
                object=f"agent {agent_id}",
            )
        return str(session_id)

    def set_agent_state(self, session_id: str, state: str, reason: str | None = None) -> None:
        """Set Available, or Unavailable with an unavailable code's *name* as ``reason``."""
        if state not in ("Available", "Unavailable"):
            raise InvalidRequest(
                f"state must be Available or Unavailable, got {state!r}",
                vendor="cxone",
                operation="set_agent_state",
                object=f"agent session {session_id}",
                field="state",
                hint="Other agent states are controlled by the platform.",
            )
        body: dict[str, Any] = {"state": state}
        if reason:
            body["reason"] = reason
        self.request(
            "POST",
            self.api_url(f"agent-sessions/{session_id}/state"),
            "set_agent_state",
            f"agent session {session_id}",
            body=body,
        )

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
