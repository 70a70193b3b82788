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
token refreshed once). POSTs are not idempotent unless said otherwise (``request(idempotent=)``): a state
write or a create is repeated only after an error proving CXone did not process it, and otherwise raises
``OutcomeUnknown`` (``agent_state`` then tells what the agent's state is). The client is thread-safe.

The real-time feed (``agent_states``) pages with a moving ``updatedSince`` rather than a growing ``skip``, so
an agent that changes while the pages are read cannot push an unread row into an already-read page; see
the method for the cursor and the overlap.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
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
from presence_sync.clients.retry import RetryPolicy, call_with_retry, never_sent
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
FEED_OVERLAP = 1.0  # seconds of changes every agent_states poll reads again (de-duplicated), see agent_states
_FEED_MAX_PAGES = 10_000  # a vendor that never ends a list (ignores skip) must not hang a poll
_FEED_MEMORY = 4  # cursors whose already-returned rows are remembered for de-duplication
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


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
    last_poll_time: str | None = Field(default=None, alias="lastPollTime")  # only in agents/{id}/states


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


def format_since(value: str | datetime | None) -> str:
    """``updatedSince`` text: a previous ``lastPollTime`` passes through; datetimes become ISO 8601 UTC."""
    if value is None:
        return "0"
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_cxone_time(value: str | None) -> datetime | None:
    """A CXone timestamp (``2024-05-01T12:34:56.789Z``, an offset, or naive = UTC) as an aware datetime."""
    if not value or value == "0":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
        feed_overlap: float = FEED_OVERLAP,
    ) -> None:
        self.settings = settings
        self.partner = partner
        self.feed_overlap = timedelta(seconds=feed_overlap)
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
        # agent_states de-duplication: cursor handed out -> (agentId, lastUpdateTime) already returned at or
        # after it (the overlap the next poll from that cursor reads again).
        self._feed_lock = threading.Lock()
        self._feed_returned: dict[str, frozenset[tuple[int, str]]] = {}

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
            "GET",
            self.api_url(f"teams/{int(team_id)}/unavailable-codes"),
            "list_team_unavailable_codes",
            f"team {team_id}",
        )
        return [TeamUnavailableCode.model_validate(c) for c in (body or {}).get("unavailableCodes") or []]

    # ------------------------------------------------------------------------------------------
    # Real-time data and Agent API

    def agent_states(self, updated_since: str | datetime | None = None) -> tuple[list[AgentState], str | None]:
        """Agent states changed since ``updated_since`` (None: all), and the cursor to pass next.

        Every change made after the cursor was issued comes back from the next poll, exactly once, however
        the agents change while the pages are read:

        * Pages are read oldest change first (``orderBy=lastUpdateTime``) with a moving ``updatedSince``:
          the next page starts just before the newest ``lastUpdateTime`` read so far (a millisecond before,
          for rows sharing that time), always at ``skip=0``. With a growing ``skip`` an agent that changes
          between two reads moves to the end of the list and the row behind it slides into the page already
          read -- never returned, and older than the cursor, so not by the next poll either.
        * The cursor is the last page's ``lastPollTime`` minus ``feed_overlap`` (default 1 s: changes stamped
          a little before the vendor's poll time, or made visible late, are read again).
        * Rows are de-duplicated by (agentId, lastUpdateTime): within a poll, and against what the poll that
          issued ``updated_since`` returned. A full read (None, "0") or a cursor this client did not issue
          returns everything it reads (after a restart the overlap can repeat a row once: same agent, same
          ``lastUpdateTime``).
        * If the vendor does not order by ``lastUpdateTime`` (a page out of order), the rest is read by
          ``skip`` and the cursor is the first page's ``lastPollTime`` minus the overlap (logged).

        204 (nothing changed) returns no states and keeps ``updated_since`` as the cursor.
        """
        since = format_since(updated_since)
        with self._feed_lock:
            already = set() if since == "0" else set(self._feed_returned.get(since, ()))
        states: list[AgentState] = []
        returned: set[tuple[int, str]] = set()
        poll_times: list[str] = []
        query_since, skip, ordered = since, 0, True
        for _ in range(_FEED_MAX_PAGES):
            page = self.request(
                "GET",
                self.api_url("agents/states"),
                "agent_states",
                "agents/states",
                params={"updatedSince": query_since, "orderBy": "lastUpdateTime", "skip": skip, "top": PAGE_SIZE},
            )
            if page is None:
                break
            if page.get("lastPollTime"):
                poll_times.append(str(page["lastPollTime"]))
            rows = [AgentState.model_validate(s) for s in page.get("agentStates") or []]
            fresh = 0
            for row in rows:
                key = (row.agent_id, row.last_update_time or "")
                if row.last_update_time is not None and (key in already or key in returned):
                    continue
                returned.add(key)
                states.append(row)
                fresh += 1
            total = page.get("totalRecords")
            if not rows or len(rows) < PAGE_SIZE or (isinstance(total, int) and skip + len(rows) >= total):
                break
            times = [parse_cxone_time(row.last_update_time) for row in rows]
            if ordered and not (None not in times and times == sorted(times)):  # type: ignore[type-var]
                ordered = False
                log.warning(
                    "cxone: agents/states is not ordered by lastUpdateTime; paging by skip (a row may "
                    "be missed while agents change)"
                )
            newest = times[-1]
            if ordered and fresh and newest is not None:
                query_since, skip = format_since(newest - timedelta(milliseconds=1)), 0
            else:  # out of order, or a whole page of rows sharing one time: step over them
                skip += len(rows)
        else:
            log.warning("cxone: agents/states did not end after %d pages; keeping the cursor", _FEED_MAX_PAGES)
            return states, since
        anchor = parse_cxone_time(poll_times[-1 if ordered else 0]) if poll_times else None
        if anchor is None:
            cursor = updated_since if isinstance(updated_since, str) else since
            with self._feed_lock:
                self._remember(cursor, already | returned, None)
            return states, cursor
        cursor_time = anchor - self.feed_overlap
        previous = parse_cxone_time(since)
        if previous is not None and cursor_time < previous:
            cursor_time = previous  # a cursor never moves back
        cursor = format_since(cursor_time)
        with self._feed_lock:
            self._remember(cursor, already | returned, cursor_time)
        return states, cursor

    def _remember(self, cursor: str, keys: set[tuple[int, str]], since: datetime | None) -> None:
        """Keep the rows a poll from ``cursor`` will read again (lastUpdateTime after it). Under ``_feed_lock``."""
        if since is not None:
            keys = {k for k in keys if (t := parse_cxone_time(k[1])) is not None and t > since}
        self._feed_returned.pop(cursor, None)
        self._feed_returned[cursor] = frozenset(keys)
        while len(self._feed_returned) > _FEED_MEMORY:
            self._feed_returned.pop(next(iter(self._feed_returned)))

    def agent_state(self, agent_id: int, *, updated_since: str | datetime | None = None) -> AgentState | None:
        """One agent's current state (``GET agents/{agentId}/states``): one cheap call, e.g. to learn whether a
        state write whose outcome was unknown (``OutcomeUnknown``) landed before writing again.

        With ``updated_since``: None when the state has not changed since then (204). Raises ``NotFound`` for
        an unknown agent. The answer's ``lastPollTime`` is in ``AgentState.last_poll_time``.
        """
        params = {"updatedSince": format_since(updated_since)} if updated_since is not None else None
        body = self.request(
            "GET", self.api_url(f"agents/{int(agent_id)}/states"), "agent_state", f"agent {agent_id}", params=params
        )
        rows = (body or {}).get("agentStates") or []
        return AgentState.model_validate(rows[0]) if rows else None

    def join_agent_session(self, agent_id: int) -> str:
        """Join the agent's running session (``POST /agent-sessions/join?asAgentId=``); returns its id."""
        body = self.request(
            "POST",
            self.api_url("agent-sessions/join"),
            "join_agent_session",
            f"agent {agent_id}",
            params={"asAgentId": int(agent_id)},
            idempotent=True,  # joining twice joins the same running session; nothing about the agent changes
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
        """Set Available, or Unavailable with an unavailable code's *name* as ``reason``.

        Not idempotent: repeated after a lost answer it could overwrite a change the agent made meanwhile. It is
        retried only after errors proving CXone did not process it; otherwise ``OutcomeUnknown`` is raised, and
        the caller reads ``agent_state(agent_id)`` before deciding to write again.
        """
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
