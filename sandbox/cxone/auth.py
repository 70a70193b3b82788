"""Authentication: the OAuth token endpoint, discovery documents, bearer-token checks and the decorators
every other handler is wrapped in.

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
import binascii
import dataclasses
import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.cxone.web import ApiError, Ctx, Fields, json_body, json_response

__all__ = [
    "ROUTES",
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


def _issue(
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


def _note_operation(request: Request, operation: str, write: bool) -> None:
    extra = request.scope.get("sandbox.log")  # the shared operator middleware's request-log entry
    if isinstance(extra, dict):
        extra.update(operation=operation, write=write)


def api(operation: str, *, write: bool = False) -> Callable[[ApiHandler], Endpoint]:
    """Wrap a vendor API handler: bearer authentication, the request-log label, ApiError → response."""

    def decorate(handler: ApiHandler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            _note_operation(request, operation, write)
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
            _note_operation(request, operation, write)
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


# ------------------------------------------------------------------------------------------ token endpoint


class _OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.status, self.error, self.description, self.headers = status, error, description, headers or {}

    def response(self) -> Response:
        body = {"error": self.error, "error_description": self.description, "errorDescription": self.description}
        return JSONResponse(
            body, status_code=self.status, headers={"Cache-Control": "no-store", "Pragma": "no-cache", **self.headers}
        )


def _form(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise _OAuthError(400, "invalid_request", "the form body is not UTF-8") from exc
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise _OAuthError(400, "invalid_request", f"parameter {key} is repeated")
        params[key] = value
    return params


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise _OAuthError(
            401,
            "invalid_client",
            "client authentication must use HTTP Basic",
            {"WWW-Authenticate": 'Basic realm="cxone"'},
        )
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _OAuthError(
            401,
            "invalid_client",
            "the Basic credentials are not valid base64",
            {"WWW-Authenticate": 'Basic realm="cxone"'},
        ) from exc
    client_id, sep, client_secret = decoded.partition(":")
    if not sep:
        raise _OAuthError(
            401,
            "invalid_client",
            "the Basic credentials must be client_id:client_secret",
            {"WWW-Authenticate": 'Basic realm="cxone"'},
        )
    return client_id, client_secret


def _client(conn: sqlite3.Connection, request: Request, params: dict[str, str], *, secret_required: bool) -> str:
    """Authenticate the registered application; returns its client_id or raises invalid_client."""
    basic = _basic_credentials(request)
    if basic is not None and ("client_secret" in params or params.get("client_id", basic[0]) != basic[0]):
        raise _OAuthError(400, "invalid_request", "use one client authentication method: Basic or the body")
    client_id, client_secret = basic if basic is not None else (params.get("client_id"), params.get("client_secret"))
    challenge = {"WWW-Authenticate": 'Basic realm="cxone"'} if basic is not None else {}
    if not client_id:
        raise _OAuthError(
            401, "invalid_client", "client authentication is required (HTTP Basic or client_id)", challenge
        )
    row = conn.execute("SELECT * FROM clients WHERE client_id = ?", (client_id,)).fetchone()
    if row is None:
        raise _OAuthError(401, "invalid_client", "unknown client", challenge)
    if client_secret is None and not secret_required:
        return client_id
    if client_secret is None:
        raise _OAuthError(401, "invalid_client", "the client secret is required", challenge)
    # RFC 6749 §2.3.1 form-encodes Basic credentials; clients rarely do, so both spellings are accepted.
    candidates = {client_secret, unquote_plus(client_secret)}
    if not any(hmac.compare_digest(secret_hash(c), row["secret_hash"]) for c in candidates):
        raise _OAuthError(401, "invalid_client", "client authentication failed", challenge)
    return client_id


def _access_key(conn: sqlite3.Connection, key_id: str, key_secret: str) -> sqlite3.Row:
    row = conn.execute(
        "SELECT k.*, a.is_active AS agent_active FROM access_keys k "
        "JOIN agents a ON a.agent_id = k.agent_id WHERE k.access_key_id = ?",
        (key_id,),
    ).fetchone()
    if row is None or not hmac.compare_digest(secret_hash(key_secret), row["secret_hash"]):
        raise _OAuthError(400, "invalid_grant", "the access key id or secret is not valid")
    if not row["is_active"]:
        raise _OAuthError(400, "invalid_grant", "the access key is deactivated")
    if not row["agent_active"]:
        raise _OAuthError(400, "invalid_grant", "the access key's user is deactivated")
    return row


async def token(request: Request) -> Response:
    _note_operation(request, "auth.token", True)
    ctx: Ctx = request.app.state.cxone
    try:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise _OAuthError(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
        params = _form(await request.body())
        grant = params.get("grant_type")
        if not grant:
            raise _OAuthError(400, "invalid_request", "grant_type is required")
        with ctx.store.write() as conn:
            if grant == "password":
                client_id = _client(conn, request, params, secret_required=True)
                username, password = params.get("username"), params.get("password")
                if not username or not password:
                    raise _OAuthError(
                        400, "invalid_request", "username (access key id) and password (access key secret) are required"
                    )
                key = _access_key(conn, username, password)
                conn.execute(
                    "UPDATE access_keys SET last_used = ? WHERE access_key_id = ?",
                    (ctx.store.now_ms(), key["access_key_id"]),
                )
                body = _issue(
                    ctx,
                    conn,
                    agent_id=key["agent_id"],
                    access_key_id=key["access_key_id"],
                    client_id=client_id,
                    refresh=True,
                    id_token=True,
                )
            elif grant == "client_credentials":
                client_id = _client(conn, request, params, secret_required=True)
                owner = conn.execute("SELECT agent_id FROM clients WHERE client_id = ?", (client_id,)).fetchone()
                body = _issue(
                    ctx,
                    conn,
                    agent_id=owner["agent_id"],
                    access_key_id=None,
                    client_id=client_id,
                    refresh=False,
                    id_token=False,
                )
            elif grant == "refresh_token":
                client_id = _client(conn, request, params, secret_required=False)
                body = _refresh(ctx, conn, client_id, params.get("refresh_token"))
            else:
                raise _OAuthError(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
    except _OAuthError as exc:
        return exc.response()
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _refresh(ctx: Ctx, conn: sqlite3.Connection, client_id: str, refresh_token: str | None) -> dict[str, Any]:
    if not refresh_token:
        raise _OAuthError(400, "invalid_request", "refresh_token is required")
    row = conn.execute(
        "SELECT * FROM tokens WHERE token_hash = ? AND kind = 'refresh'", (secret_hash(refresh_token),)
    ).fetchone()
    if row is None or row["revoked"] or row["expires_at"] <= ctx.store.clock():
        raise _OAuthError(400, "invalid_grant", "the refresh token is not valid or has expired")
    if row["client_id"] != client_id:
        raise _OAuthError(400, "invalid_grant", "the refresh token was issued to another client")
    if row["access_key_id"] is not None:
        key = conn.execute(
            "SELECT k.is_active, a.is_active AS agent_active FROM access_keys k "
            "JOIN agents a ON a.agent_id = k.agent_id WHERE k.access_key_id = ?",
            (row["access_key_id"],),
        ).fetchone()
        if key is None or not key["is_active"] or not key["agent_active"]:
            raise _OAuthError(400, "invalid_grant", "the access key behind this refresh token is deactivated")
    conn.execute("UPDATE tokens SET revoked = 1 WHERE token_hash = ?", (row["token_hash"],))
    return _issue(
        ctx,
        conn,
        agent_id=row["agent_id"],
        access_key_id=row["access_key_id"],
        client_id=client_id,
        refresh=True,
        id_token=True,
    )


async def legacy_access_key_token(request: Request) -> Response:
    """``POST /authentication/v1/token/access-key`` (UserHub): JSON access key in, token out, no app."""
    _note_operation(request, "auth.access-key-token", True)
    ctx: Ctx = request.app.state.cxone
    try:
        fields = Fields(await json_body(request), "body")
        key_id, key_secret = fields.string("accessKeyId"), fields.string("accessKeySecret")
        assert key_id is not None and key_secret is not None
        with ctx.store.write() as conn:
            try:
                key = _access_key(conn, key_id, key_secret)
            except _OAuthError as exc:
                raise ApiError(401, "invalid_grant", exc.description) from exc
            body = _issue(
                ctx,
                conn,
                agent_id=key["agent_id"],
                access_key_id=key["access_key_id"],
                client_id=LEGACY_CLIENT_ID,
                refresh=True,
                id_token=True,
            )
    except ApiError as exc:
        return exc.response()
    body["resource_server_base_uri"] = f"{ctx.base_url}/inContactAPI/"
    return json_response(body)


# ------------------------------------------------------------------------------------------------ discovery


async def openid_configuration(request: Request) -> Response:
    _note_operation(request, "auth.openid-configuration", False)
    base = request.app.state.cxone.base_url
    return json_response(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/auth/authorize",
            "token_endpoint": f"{base}/auth/token",
            "userinfo_endpoint": f"{base}/auth/userinfo",
            "jwks_uri": f"{base}/auth/jwks",
            "end_session_endpoint": f"{base}/auth/authorize/logout",
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "scopes_supported": ["openid"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256"],  # the sandbox's; CXone uses RS256
            "grant_types_supported": ["password", "client_credentials", "refresh_token"],
        }
    )


async def cxone_configuration(request: Request) -> Response:
    _note_operation(request, "auth.cxone-configuration", False)
    ctx: Ctx = request.app.state.cxone
    tenant_id = request.query_params.get("tenantId")
    if not tenant_id:
        return ApiError.bad("query parameter tenantId is required").response()
    if tenant_id.lower() != ctx.tenant_id:
        return ApiError.not_found(f"tenant {tenant_id} is not known").response()
    return json_response(
        {
            "private": False,
            "ui_endpoint": ctx.base_url,
            "auth_endpoint": ctx.base_url,
            "api_endpoint": ctx.base_url,
            "area": AREA,
            "cluster": CLUSTER,
            "domain": "niceincontact.com",
            "acdDomain": "nice-incontact.com",
            "uhDomain": "nice-incontact.com",
            "tenantId": ctx.tenant_id,
            "globaldomain": "niceincontact.com",
        }
    )


ROUTES = [
    Route("/auth/token", token, methods=["POST"]),
    Route("/authentication/v1/token/access-key", legacy_access_key_token, methods=["POST"]),
    Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
    Route("/.well-known/cxone-configuration", cxone_configuration, methods=["GET"]),
]
