"""Authentication: tokens (issued by ``tokens.py``'s endpoints), bearer-token checks and the decorators every
other handler is wrapped in.

Vendor facts (docs/vendor-apis.md §7a): ``POST /auth/token`` takes a form; the client authenticates with
HTTP Basic (or ``client_id``/``client_secret`` in the body); an access key is the password grant's
username/password; the answer is ``{access_token, token_type, refresh_token, expires_in, id_token}``.

Emulator choices (GUESSES, see sandbox/CXONE.md): ``client_credentials`` is accepted although NICE's
OpenAPI set lists only authorization_code/password/refresh_token/token-exchange; refresh tokens are
single use (each refresh returns a new one and revokes the old); errors carry both ``error_description``
(RFC 6749) and ``errorDescription`` (NICE's OpenAPI error schema); an invalid or expired bearer token on
the API answers 401 ``{"error": "invalid_token", ...}``.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.cxone.web import ApiError, Ctx

__all__ = [
    "Principal",
    "api",
    "expire_all_tokens",
    "new_access_key",
    "revoke_tokens",
    "sandbox_endpoint",
    "secret_hash",
]

AREA = "na1"
CLUSTER = "B32"
LEGACY_CLIENT_ID = "legacy-access-key"  # tokens from /authentication/v1/token/access-key have no app


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who a bearer token speaks for: an agent (via an access key) and/or a registered application."""

    agent_id: int | None
    client_id: str
    access_key_id: str | None

    @property
    def actor(self) -> str:
        return f"agent:{self.agent_id}" if self.agent_id is not None else f"client:{self.client_id}"


def secret_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_access_key() -> tuple[str, str]:
    """A fresh access key id and secret, both base64 text ending in ``=`` (NICE: "'=' in keys must be
    URL-encoded"), so that a client which forgets to URL-encode the form body fails here rather than in
    production. The id uses the URL-safe alphabet because it also appears in URL paths."""
    key_id = base64.urlsafe_b64encode(secrets.token_bytes(31)).decode()
    secret = base64.b64encode(secrets.token_bytes(46)).decode()
    return key_id, secret


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(ctx: Ctx, claims: dict[str, Any]) -> str:
    """A JWT signed HS256 with the sandbox's own key (CXone signs RS256; nobody should verify these)."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "cxone-sandbox"}).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(ctx.signing_key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def _claims(ctx: Ctx, conn: sqlite3.Connection, agent_id: int | None, client_id: str, now: int) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ctx.base_url,
        "aud": client_id,
        "iat": now,
        "exp": now + ctx.token_ttl,
        "icBUId": ctx.business_unit_id,
        "tenantId": ctx.tenant_id,
        "tenant": "presence-sync-sandbox",
        "area": AREA,
        "icClusterId": CLUSTER,
        "icDomain": "niceincontact.com",
    }
    if agent_id is not None:
        agent = conn.execute("SELECT * FROM agents WHERE agent_id = ?", (agent_id,)).fetchone()
        if agent is not None:
            claims.update(
                {
                    "sub": f"user:{agent['user_id']}",
                    "userId": agent["user_id"],
                    "icAgentId": agent_id,
                    "icSPId": agent_id,
                    "name": agent["user_name"],
                    "given_name": agent["first_name"],
                    "family_name": agent["last_name"],
                }
            )
    return claims


def issue_tokens(
    ctx: Ctx,
    conn: sqlite3.Connection,
    *,
    agent_id: int | None,
    access_key_id: str | None,
    client_id: str,
    refresh: bool,
    id_token: bool,
) -> dict[str, Any]:
    now = int(ctx.store.clock())
    claims = _claims(ctx, conn, agent_id, client_id, now)
    access = _jwt(ctx, {**claims, "jti": secrets.token_urlsafe(16)})
    rows = [(secret_hash(access), "access", now + ctx.token_ttl)]
    body: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": ctx.token_ttl}
    if refresh:
        refresh_token = secrets.token_urlsafe(48)
        rows.append((secret_hash(refresh_token), "refresh", now + ctx.refresh_ttl))
        body["refresh_token"] = refresh_token
    if id_token:
        body["id_token"] = _jwt(ctx, claims)
    conn.executemany(
        "INSERT INTO tokens (token_hash, kind, agent_id, access_key_id, client_id, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(h, kind, agent_id, access_key_id, client_id, expires) for h, kind, expires in rows],
    )
    conn.execute("DELETE FROM tokens WHERE expires_at < ?", (now - 86_400,))
    return body


def revoke_tokens(conn: sqlite3.Connection, *, access_key_id: str | None = None, agent_id: int | None = None) -> None:
    """Revoke every token issued through one access key, or to one agent."""
    if access_key_id is not None:
        conn.execute("UPDATE tokens SET revoked = 1 WHERE access_key_id = ?", (access_key_id,))
    if agent_id is not None:
        conn.execute("UPDATE tokens SET revoked = 1 WHERE agent_id = ?", (agent_id,))


def expire_all_tokens(ctx: Ctx, *, include_refresh: bool = False) -> int:
    """Fault injection: every live access token (and refresh token, if asked) expires now."""
    kinds = ("access", "refresh") if include_refresh else ("access",)
    now = ctx.store.clock()
    with ctx.store.write() as conn:
        cursor = conn.execute(
            f"UPDATE tokens SET expires_at = ? WHERE expires_at > ? AND kind IN ({','.join('?' * len(kinds))})",
            (now - 1, now, *kinds),
        )
        return cursor.rowcount


# ---------------------------------------------------------------------------------------------- decorators

Endpoint = Callable[[Request], Awaitable[Response]]
ApiHandler = Callable[[Request, Ctx, Principal], Awaitable[Response]]
SandboxHandler = Callable[[Request, Ctx], Awaitable[Response]]


def note_operation(request: Request, operation: str, write: bool) -> None:
    extra = request.scope.get("sandbox.log")  # the shared operator middleware's request-log entry
    if isinstance(extra, dict):
        extra.update(operation=operation, write=write)


def api(operation: str, *, write: bool = False) -> Callable[[ApiHandler], Endpoint]:
    """Wrap a vendor API handler: bearer authentication, the request-log label, ApiError → response."""

    def decorate(handler: ApiHandler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            note_operation(request, operation, write)
            ctx: Ctx = request.app.state.cxone
            try:
                principal = authenticate(ctx, request)
                return await handler(request, ctx, principal)
            except ApiError as exc:
                return exc.response()

        endpoint.__name__ = handler.__name__
        return endpoint

    return decorate


def sandbox_endpoint(operation: str, *, write: bool = False) -> Callable[[SandboxHandler], Endpoint]:
    """Wrap an emulator-only (``/__sandbox/...``) handler: no authentication, like the operator endpoints."""

    def decorate(handler: SandboxHandler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            note_operation(request, operation, write)
            try:
                return await handler(request, request.app.state.cxone)
            except ApiError as exc:
                return exc.response()

        endpoint.__name__ = handler.__name__
        return endpoint

    return decorate


def authenticate(ctx: Ctx, request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _invalid_token("an Authorization: Bearer <access_token> header is required")
    with ctx.store.read() as conn:
        row = conn.execute(
            "SELECT * FROM tokens WHERE token_hash = ? AND kind = 'access'", (secret_hash(token.strip()),)
        ).fetchone()
    if row is None or row["revoked"]:
        raise _invalid_token("the access token is not valid")
    if row["expires_at"] <= ctx.store.clock():
        raise _invalid_token("the access token has expired")
    return Principal(agent_id=row["agent_id"], client_id=row["client_id"], access_key_id=row["access_key_id"])


def _invalid_token(description: str) -> ApiError:
    return ApiError(
        401,
        "invalid_token",
        description,
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'},
    )
