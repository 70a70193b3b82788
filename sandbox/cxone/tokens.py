"""The OAuth token endpoints (``POST /auth/token``, the legacy access-key token) and the discovery documents.

Vendor facts and emulator choices: see ``sandbox.cxone.auth`` (tokens, claims, bearer checks) and
sandbox/CXONE.md."""

from __future__ import annotations

import base64
import binascii
import hmac
import sqlite3
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.cxone.auth import AREA, CLUSTER, LEGACY_CLIENT_ID, issue_tokens, note_operation, secret_hash
from sandbox.cxone.web import ApiError, Ctx, Fields, json_body, json_response

__all__ = ["ROUTES"]


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
    note_operation(request, "auth.token", True)
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
                body = issue_tokens(
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
                body = issue_tokens(
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
    return issue_tokens(
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
    note_operation(request, "auth.access-key-token", True)
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
            body = issue_tokens(
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
    note_operation(request, "auth.openid-configuration", False)
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
    note_operation(request, "auth.cxone-configuration", False)
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
