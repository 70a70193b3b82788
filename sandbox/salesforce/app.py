"""The Salesforce emulator as a Starlette app: ``create_app(db_path, base_url=..., reset=...)``.

Routes: ``/services/oauth2/{token,authorize,revoke}``, ``/services/data/...`` (REST), ``/services/Soap/m/{v}``
(Metadata API), and emulator-only ``/__sandbox/console/...``, ``/__sandbox/eventbus/...``,
``/__sandbox/salesforce/settings``. The Pub/Sub API (gRPC) is served beside it on its own port (``pubsub/``).
"""

from __future__ import annotations

import json
import logging
import pathlib
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import oauth
from .errors import ApiError, json_response, not_found
from .metadata_api import MetadataApi
from .org import DEFAULT_SETTINGS, Org
from .presence import AgentConsole
from .rest import RestApi
from .seed import SEEDED_CREDENTIALS, seed
from .store import Store

__all__ = ["SEEDED_CREDENTIALS", "create_app"]

logger = logging.getLogger("sandbox.salesforce")


def create_app(db_path: pathlib.Path, *, base_url: str, reset: bool = False) -> Starlette:
    store = Store(db_path, reset=reset)
    org = Org(store, base_url)
    if not store.table("User"):
        seed(org)
    rest = RestApi(org)
    metadata = MetadataApi(org)
    console = AgentConsole(org)

    async def token(request: Request) -> Response:
        return await oauth.token(request, org)

    async def authorize(request: Request) -> Response:
        return await oauth.authorize(request, org)

    async def revoke(request: Request) -> Response:
        return await oauth.revoke(request, org)

    async def settings(request: Request) -> Response:
        if request.method == "PUT":
            try:
                changes = json.loads(await request.body() or b"{}")
                _check_settings(changes)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            for key, value in changes.items():
                store.set_setting(key, value)
        return JSONResponse({key: org.setting(key) for key in DEFAULT_SETTINGS})

    async def not_found_endpoint(request: Request) -> Response:
        return not_found().response()

    routes = [
        Route("/services/oauth2/token", token, methods=["POST", "GET"]),
        Route("/services/oauth2/authorize", authorize, methods=["GET"]),
        Route("/services/oauth2/revoke", revoke, methods=["POST"]),
        Route("/services/data", rest.__call__, methods=["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD"]),
        Route("/services/data/{rest:path}", rest.__call__, methods=["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD"]),
        Route("/services/Soap/m/{version}", metadata.__call__, methods=["POST", "GET"]),
        Route("/services/Soap/m/{version}/", metadata.__call__, methods=["POST", "GET"]),
        Route("/services/Soap/m/{version}/deployRequest", metadata.__call__, methods=["POST"]),
        Route("/services/Soap/m/{version}/deployRequest/{deploy_id}", metadata.__call__, methods=["POST"]),
        Route("/__sandbox/console/{action}", console.handle, methods=["GET", "POST"]),
        Route("/__sandbox/eventbus/{action}", console.bus.operate, methods=["GET", "POST"]),
        Route("/__sandbox/salesforce/settings", settings, methods=["GET", "PUT"]),
        Route("/{path:path}", not_found_endpoint, methods=["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD"]),
    ]
    app = Starlette(routes=routes, exception_handlers={Exception: _unexpected, ApiError: _api_error})
    app.state.org = org
    app.state.console = console
    app.state.event_bus = console.bus
    app.state.expire_all_tokens = lambda: oauth.expire_all_tokens(org)
    app.state.close = store.close
    return app


def _check_settings(changes: Any) -> None:
    if not isinstance(changes, dict):
        raise ValueError("the body must be a JSON object")
    for key, value in changes.items():
        if key not in DEFAULT_SETTINGS:
            raise ValueError(f"unknown setting {key!r}; known: {sorted(DEFAULT_SETTINGS)}")
        if type(value) is not type(DEFAULT_SETTINGS[key]):
            raise ValueError(f"{key} must be a {type(DEFAULT_SETTINGS[key]).__name__}")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected error in the Salesforce emulator", exc_info=exc)
    return json_response(
        [{"message": f"An unexpected error occurred: {type(exc).__name__}", "errorCode": "UNKNOWN_EXCEPTION"}], 500
    )
