"""The REST ``composite`` resource: up to 25 subrequests in one call, which counts as one API call.

    POST /services/data/vXX.X/composite
    {"allOrNone": false, "compositeRequest": [{"method": "POST", "url": "/services/data/vXX.X/sobjects/X__e",
                                               "referenceId": "ref1", "body": {...}}, ...]}
    -> 200 {"compositeResponse": [{"body": ..., "httpHeaders": {}, "httpStatusCode": 201, "referenceId": "ref1"}]}

Each subrequest runs through the same REST routing as a call of its own (same user, same validation, same
errors, which land in its ``body`` with its status), in order. What the sandbox leaves out, with an error that
says so: ``allOrNone: true`` (a rollback across subrequests) and ``@{ref.field}`` references between them.

The request log gets one entry for the call, with ``subrequests``: method, path, status and operation of each,
so a test can count the operations a composite call made (``OperatorClient.operations``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from .errors import ApiError, json_response

__all__ = ["MAX_SUBREQUESTS", "run_composite"]

MAX_SUBREQUESTS = 25
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_]{1,80}$")
_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")

# (subrequest, path parts after /services/data/vXX.X/) -> response
Route = Callable[[Request, list[str]], Awaitable[Response]]


def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_INPUT", message)


def _subrequests(raw: bytes) -> list[dict[str, Any]]:
    try:
        body = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise _invalid("The request body must be an object with a compositeRequest array")
    if body.get("allOrNone", False) is not False:
        raise _invalid(
            "The sandbox runs composite requests with allOrNone false only (no rollback across "
            "subrequests); send allOrNone: false"
        )
    items = body["compositeRequest"]
    if not 1 <= len(items) <= MAX_SUBREQUESTS:
        raise _invalid(f"A composite request takes 1 to {MAX_SUBREQUESTS} subrequests, got {len(items)}")
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            raise _invalid("Each subrequest must be an object with method, url and referenceId")
        reference = item.get("referenceId")
        if not isinstance(reference, str) or not _REFERENCE_ID.match(reference):
            raise _invalid(f"Invalid referenceId {reference!r}: letters, digits and underscores, up to 80")
        if reference in seen:
            raise _invalid(f"Duplicate referenceId {reference!r}")
        seen.add(reference)
        if item.get("method") not in _METHODS:
            raise _invalid(f"Subrequest {reference}: method must be one of {', '.join(_METHODS)}")
        if not isinstance(item.get("url"), str):
            raise _invalid(f"Subrequest {reference}: url is required")
        if "@{" in json.dumps(item):
            raise _invalid(
                f"Subrequest {reference}: references between subrequests (@{{...}}) are not supported by the sandbox"
            )
    return items


def _sub_request(parent: Request, method: str, path: str, query: str, body: bytes) -> Request:
    headers = [(k, v) for k, v in parent.scope["headers"] if k in (b"authorization", b"host")]
    headers.append((b"content-type", b"application/json"))
    scope = {
        **parent.scope,
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "headers": headers,
        "query_string": query.encode(),
        "sandbox.log": {},
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


async def run_composite(request: Request, version: str, route: Route, headers: dict[str, str]) -> Response:
    items = _subrequests(await request.body())
    log: dict[str, Any] = request.scope.setdefault("sandbox.log", {})
    prefix = f"/services/data/v{version}/"
    responses: list[dict[str, Any]] = []
    logged: list[dict[str, Any]] = []
    for item in items:
        url = urlsplit(item["url"])
        method = item["method"]
        if not url.path.startswith(prefix):
            response: Response = ApiError(
                400,
                "INVALID_INPUT",
                f"The subrequest url must start with {prefix} (the composite call's version), got {item['url']}",
            ).response()
            sub_log: dict[str, Any] = {}
        else:
            body = json.dumps(item["body"]).encode() if "body" in item else b""
            sub = _sub_request(request, method, url.path, url.query, body)
            sub_log = sub.scope["sandbox.log"]
            parts = [p for p in url.path[len(prefix) :].split("/") if p]
            try:
                response = await route(sub, parts)
            except ApiError as error:
                response = error.response()
        content = bytes(response.body)
        responses.append(
            {
                "body": json.loads(content) if content else None,
                "httpHeaders": {},
                "httpStatusCode": response.status_code,
                "referenceId": item["referenceId"],
            }
        )
        logged.append(
            {
                "method": method,
                "path": url.path,
                "status": response.status_code,
                "operation": sub_log.get("operation"),
                "write": bool(sub_log.get("write")),
            }
        )
    log.update(operation="composite", write=any(entry["write"] for entry in logged), subrequests=logged)
    return json_response({"compositeResponse": responses}, headers=headers)
