"""The CXone emulator as one Starlette app: auth, the Admin / Real-time / Agent APIs under
``/incontactapi/services/v{N}.0/``, our model of the Presence Sync configuration under ``/adapter-apis/v1/``,
and the emulator-only agent side under ``/__sandbox/``. One origin serves it all: the discovery document's
``api_endpoint`` is ``base_url``.

``create_app`` is the contract with the shared sandbox server, which serves the app over HTTPS and wraps
it in the operator middleware (request log, fault injection). ``app.state.expire_all_tokens()`` is the
forced-expiry fault. See sandbox/CXONE.md for the API contract and the guesses behind it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import re
import time
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.cxone import access_keys, admin, auth, codes, mappings, realtime, rules, sessions, softphone, tokens
from sandbox.cxone.seed import SEEDED_CREDENTIALS, seed
from sandbox.cxone.store import Store
from sandbox.cxone.web import Ctx

__all__ = ["API_VERSIONS", "SEEDED_CREDENTIALS", "create_app"]

log = logging.getLogger("sandbox.cxone")

API_VERSIONS = range(2, 35)  # v2.0 .. v34.0, the versions seen in NICE's published OpenAPI set
_API_PATH = re.compile(r"/incontactapi/services/v(\d{1,3})\.0(/.*)?", re.IGNORECASE)
_INTERNAL = "/_cxone_api"  # where the versioned API lives inside the router; not reachable from outside


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


class _VersionedApiPaths:
    """Maps ``/inContactAPI/services/vNN.0/<rest>`` (prefix case-insensitive) onto one set of routes,
    keeping the public path for ``_links``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(_INTERNAL):
                await _error(404, "NotFound", f"{path} is not an endpoint of the CXone sandbox")(scope, receive, send)
                return
            match = _API_PATH.fullmatch(path)
            if match:
                if int(match.group(1)) not in API_VERSIONS:
                    await _error(
                        404,
                        "NotFound",
                        f"API version v{match.group(1)}.0 does not exist; use v2.0 to v{API_VERSIONS[-1]}.0",
                    )(scope, receive, send)
                    return
                scope = {**scope, "path": _INTERNAL + (match.group(2) or "/"), "cxone.public_path": path}
        await self.app(scope, receive, send)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = request.scope.get("cxone.public_path", request.url.path)
    if exc.status_code == 404:
        return _error(404, "NotFound", f"{request.method} {path} is not an endpoint of the CXone sandbox")
    if exc.status_code == 405:
        return _error(405, "MethodNotAllowed", f"{request.method} is not allowed on {path}")
    return _error(exc.status_code, "Error", str(exc.detail))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return _error(500, "InternalServerError", "the CXone sandbox failed to handle this request; see its log")


def create_app(
    db_path: pathlib.Path,
    *,
    base_url: str,
    reset: bool = False,
    clock: Callable[[], float] | None = None,
    token_ttl: int | None = None,
    refresh_ttl: int | None = None,
) -> Starlette:
    """The CXone emulator backed by SQLite at ``db_path`` (created and seeded when new, or with ``reset``).

    ``token_ttl`` (seconds; default ``$SANDBOX_CXONE_TOKEN_TTL`` or 3600) is the access tokens' lifetime;
    ``refresh_ttl`` (default ``$SANDBOX_CXONE_REFRESH_TTL`` or 86400, a GUESS) the refresh tokens'.
    ``clock`` replaces ``time.time`` (tests move time forward with it).
    """
    store, is_new = Store.open(pathlib.Path(db_path), clock=clock or time.time, reset=reset)
    if is_new:
        seed(store)
    ctx = Ctx(
        store=store,
        base_url=base_url.rstrip("/"),
        token_ttl=token_ttl or int(os.environ.get("SANDBOX_CXONE_TOKEN_TTL", "3600")),
        refresh_ttl=refresh_ttl or int(os.environ.get("SANDBOX_CXONE_REFRESH_TTL", "86400")),
        business_unit_id=int(store.meta("business_unit_id") or 0),
        tenant_id=store.meta("tenant_id") or "",
        signing_key=(store.meta("signing_key") or "").encode(),
    )
    # Order matters: /agents/states before /agents/{agentId}.
    api_routes = [*realtime.ROUTES, *admin.ROUTES, *codes.ROUTES, *sessions.ROUTES, *access_keys.ROUTES]
    routes: list[BaseRoute] = [
        *tokens.ROUTES,
        *[Route(_INTERNAL + r.path, r.endpoint, methods=r.methods) for r in api_routes],
        *mappings.ROUTES,
        *rules.ROUTES,
        *softphone.ROUTES,
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        store.close()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(_VersionedApiPaths)],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # a redirect would reveal the internal path
    app.state.cxone = ctx
    app.state.store = store
    app.state.close = store.close  # the shared server runs without lifespan and calls this on the way out

    def expire_all_tokens(include_refresh: bool = False) -> int:
        return auth.expire_all_tokens(ctx, include_refresh=include_refresh)

    app.state.expire_all_tokens = expire_all_tokens
    return app
