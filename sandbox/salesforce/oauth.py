"""OAuth 2.0: the token endpoint (password, client_credentials, authorization_code, refresh_token grants),
an auto-approving authorize endpoint (emulator shortcut: no login page), revoke, and session checks.

Apps that can sign in are the Connected Apps and External Client Apps deployed through the Metadata API
(plus the seeded admin app). Access tokens expire after the ``sessionTtlSeconds`` org setting, counted
from issue (the real org counts inactivity); refresh tokens do not expire.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .errors import ApiError, json_response
from .org import Org

__all__ = ["OAuthApp", "authenticate", "authorize", "expire_all_tokens", "find_app", "revoke", "token"]

PASSWORD_TYPE = "_UserPassword"  # hidden metadata type holding the sandbox users' passwords
CODE_TTL_SECONDS = 900


@dataclasses.dataclass(frozen=True)
class OAuthApp:
    name: str
    consumer_key: str
    consumer_secret: str
    callback_urls: tuple[str, ...]
    secret_optional: bool
    secret_required_for_refresh: bool
    client_credentials_user: str | None
    scopes: tuple[str, ...]


def _one(raw: dict[str, Any], name: str, default: Any = None) -> Any:
    values = raw.get(name) or []
    return values[0] if values and values[0] is not None else default


def find_app(org: Org, consumer_key: str) -> OAuthApp | None:
    """The Connected App or External Client App whose consumer key this is."""
    for app in org.store.metadata_all("ConnectedApp"):
        config = _one(app, "oauthConfig", {})
        if not isinstance(config, dict) or _one(config, "consumerKey") != consumer_key:
            continue
        user = _one(config, "oauthClientCredentialUser") if _true(_one(config, "isClientCredentialEnabled")) else None
        return OAuthApp(
            _one(app, "fullName"),
            consumer_key,
            app.get("_consumerSecret", ""),
            tuple(str(_one(config, "callbackUrl", "")).split()),
            _true(_one(config, "isConsumerSecretOptional")),
            _one(config, "isSecretRequiredForRefreshToken") is None
            or _true(_one(config, "isSecretRequiredForRefreshToken")),
            user,
            tuple(config.get("scopes") or ()),
        )
    for settings in org.store.metadata_all("ExtlClntAppGlobalOauthSettings"):
        if _one(settings, "consumerKey") != consumer_key:
            continue
        eca = _one(settings, "externalClientApplication", "")
        scopes = next(
            (
                _one(s, "commaSeparatedOauthScopes", "")
                for s in org.store.metadata_all("ExtlClntAppOauthSettings")
                if _one(s, "externalClientApplication") == eca
            ),
            "",
        )
        return OAuthApp(
            eca,
            consumer_key,
            settings.get("_consumerSecret", ""),
            tuple(str(_one(settings, "callbackUrl", "")).split()),
            _true(_one(settings, "isConsumerSecretOptional")),
            _one(settings, "isSecretRequiredForRefreshToken") is None
            or _true(_one(settings, "isSecretRequiredForRefreshToken")),
            None,
            tuple(s.strip() for s in scopes.split(",") if s.strip()),
        )
    return None


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


async def _form(request: Request) -> dict[str, str]:
    """The ``application/x-www-form-urlencoded`` body (the only encoding the token endpoint takes)."""
    body = (await request.body()).decode("utf-8", "replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status)


class _OAuthFailure(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


async def token(request: Request, org: Org) -> Response:
    """POST /services/oauth2/token"""
    if request.method != "POST":
        return _oauth_error("invalid_request", "must use HTTP POST")
    params = await _form(request)
    try:
        grant = params.get("grant_type")
        if not grant:
            raise _OAuthFailure("invalid_request", "grant type is missing")
        client_id, client_secret = _client_credentials(request, params)
        if grant == "password":
            body = _password_grant(org, params, client_id, client_secret)
        elif grant == "client_credentials":
            body = _client_credentials_grant(org, client_id, client_secret)
        elif grant == "authorization_code":
            body = _code_grant(org, params, client_id, client_secret)
        elif grant == "refresh_token":
            body = _refresh_grant(org, params, client_id, client_secret)
        else:
            raise _OAuthFailure("unsupported_grant_type", "grant type not supported")
    except _OAuthFailure as failure:
        return _oauth_error(failure.error, failure.description)
    return json_response(body)


def _client_credentials(request: Request, params: dict[str, str]) -> tuple[str, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _OAuthFailure("invalid_client", "invalid client credentials") from None
        return key, secret
    return params.get("client_id", ""), params.get("client_secret")


def _app(org: Org, client_id: str) -> OAuthApp:
    app = find_app(org, client_id) if client_id else None
    if app is None:
        raise _OAuthFailure("invalid_client_id", "client identifier invalid")
    return app


def _check_secret(app: OAuthApp, secret: str | None, *, required: bool) -> None:
    if secret is None or secret == "":
        if required:
            raise _OAuthFailure("invalid_client", "invalid client credentials")
        return
    if not hmac.compare_digest(secret, app.consumer_secret):
        raise _OAuthFailure("invalid_client", "invalid client credentials")


def _password_grant(org: Org, params: dict[str, str], client_id: str, secret: str | None) -> dict[str, Any]:
    app = _app(org, client_id)
    _check_secret(app, secret, required=not app.secret_optional)
    user = org.find_live("User", Username=params.get("username", ""))
    stored = org.store.metadata(PASSWORD_TYPE, user["Username"]) if user else None
    if (
        user is None
        or stored is None
        or not user.get("IsActive")
        or not hmac.compare_digest(stored["password"], params.get("password", ""))
    ):
        raise _OAuthFailure("invalid_grant", "authentication failure")
    return _issue(org, app, user["Id"], refresh=False)


def _client_credentials_grant(org: Org, client_id: str, secret: str | None) -> dict[str, Any]:
    app = _app(org, client_id)
    _check_secret(app, secret, required=True)
    user = org.find_live("User", Username=app.client_credentials_user) if app.client_credentials_user else None
    if user is None:
        raise _OAuthFailure("invalid_grant", "no client credentials user enabled")
    body = _issue(org, app, user["Id"], refresh=False)
    body["api_instance_url"] = org.base_url
    return body


def _code_grant(org: Org, params: dict[str, str], client_id: str, secret: str | None) -> dict[str, Any]:
    app = _app(org, client_id)
    _check_secret(app, secret, required=not app.secret_optional)
    code = params.get("code", "")
    grant = org.store.tokens.get(code)
    if (
        grant is None
        or grant.get("kind") != "code"
        or grant["client_id"] != client_id
        or grant["expires_at"] < time.time()
    ):
        raise _OAuthFailure("invalid_grant", "invalid authorization code")
    org.store.drop_tokens([code])
    if params.get("redirect_uri") != grant["redirect_uri"]:
        raise _OAuthFailure("redirect_uri_mismatch", "redirect_uri must match configuration")
    challenge = grant.get("code_challenge")
    if challenge:
        verifier = params.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if digest != challenge:
            raise _OAuthFailure("invalid_grant", "invalid code verifier")
    return _issue(org, app, grant["user_id"], refresh=True)


def _refresh_grant(org: Org, params: dict[str, str], client_id: str, secret: str | None) -> dict[str, Any]:
    app = _app(org, client_id)
    _check_secret(app, secret, required=app.secret_required_for_refresh)
    grant = org.store.tokens.get(params.get("refresh_token", ""))
    if grant is None or grant.get("kind") != "refresh" or grant["client_id"] != client_id:
        raise _OAuthFailure("invalid_grant", "expired access/refresh token")
    return _issue(org, app, grant["user_id"], refresh=False)


def _issue(org: Org, app: OAuthApp, user_id: str, *, refresh: bool) -> dict[str, Any]:
    now = time.time()
    access = f"{org.org_id[:15]}!{secrets.token_urlsafe(72)}"
    org.store.put_token(
        access,
        {
            "kind": "access",
            "user_id": user_id,
            "client_id": app.consumer_key,
            "issued_at": now,
            "expires_at": now + float(org.setting("sessionTtlSeconds")),
        },
    )
    issued_at = str(int(now * 1000))
    identity = f"{org.base_url}/id/{org.org_id}/{user_id}"
    signature = base64.b64encode(
        hmac.new(app.consumer_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
    ).decode()
    body: dict[str, Any] = {
        "access_token": access,
        "instance_url": org.base_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature,
    }
    scopes = {
        "Api": "api",
        "Full": "full",
        "Web": "web",
        "RefreshToken": "refresh_token",
        "OfflineAccess": "offline_access",
        "OpenID": "openid",
        "Basic": "id",
        "Chatter": "chatter_api",
    }
    scope = " ".join(dict.fromkeys(scopes.get(s, s.lower()) for s in app.scopes))
    if scope:
        body["scope"] = scope
    if refresh:
        refresh_token = f"5Aep{secrets.token_urlsafe(64)}"
        org.store.put_token(
            refresh_token, {"kind": "refresh", "user_id": user_id, "client_id": app.consumer_key, "issued_at": now}
        )
        body["refresh_token"] = refresh_token
    return body


async def authorize(request: Request, org: Org) -> Response:
    """GET /services/oauth2/authorize -- emulator shortcut: approves at once as ``login_hint`` (or the admin)."""
    params = request.query_params
    app = find_app(org, params.get("client_id", ""))
    if app is None:
        return _oauth_error("invalid_client_id", "client identifier invalid")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in app.callback_urls:
        return _oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
    if params.get("response_type") != "code":
        return _oauth_error("unsupported_response_type", "response type not supported")
    username = params.get("login_hint") or org.store.settings.get("adminUsername", "")
    user = org.find_live("User", Username=username)
    if user is None:
        return _oauth_error("invalid_request", "unknown login_hint user")
    code = f"aPr{secrets.token_urlsafe(48)}"
    org.store.put_token(
        code,
        {
            "kind": "code",
            "client_id": app.consumer_key,
            "user_id": user["Id"],
            "redirect_uri": redirect_uri,
            "code_challenge": params.get("code_challenge"),
            "expires_at": time.time() + CODE_TTL_SECONDS,
        },
    )
    query = {"code": code, **({"state": params["state"]} if "state" in params else {})}
    return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", status_code=302)


async def revoke(request: Request, org: Org) -> Response:
    """POST /services/oauth2/revoke"""
    form = await _form(request)
    token_value = form.get("token") or request.query_params.get("token") or ""
    if token_value not in org.store.tokens:
        return _oauth_error("unsupported_token_type", "this token type is not supported")
    org.store.drop_tokens([token_value])
    return Response(status_code=200)


def authenticate(org: Org, token_value: str | None) -> str:
    """The user id behind a session id / access token; raises 401 INVALID_SESSION_ID otherwise."""
    grant = org.store.tokens.get(token_value or "")
    if grant is None or grant.get("kind") != "access":
        raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
    if grant["expires_at"] < time.time():
        org.store.drop_tokens([token_value or ""])
        raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
    return str(grant["user_id"])


def expire_all_tokens(org: Org) -> None:
    org.store.drop_tokens([t for t, g in org.store.tokens.items() if g.get("kind") == "access"])
