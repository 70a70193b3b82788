"""HTTP plumbing shared by the CXone emulator's handlers: the error type, JSON bodies, query parameters,
pagination links and the per-app context.

Errors use the shape ``{"error": "<Code>", "error_description": "<text naming the field>"}`` everywhere
except the token endpoint, which speaks OAuth (see ``auth.py``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.cxone.store import Store

__all__ = [
    "DEFAULT_TOP",
    "MAX_INT",
    "ApiError",
    "Ctx",
    "Fields",
    "Query",
    "json_body",
    "json_response",
    "list_links",
    "no_content",
    "parse_since",
]

DEFAULT_TOP = 100  # GUESS: CXone's default page size is not documented in what we could read
MAX_INT = 2**53 - 1  # beyond this a JSON number is not an id (and would not fit SQLite's integer)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class Ctx:
    """Everything a handler needs besides the request; lives on ``app.state.cxone``."""

    store: Store
    base_url: str
    token_ttl: int
    refresh_ttl: int
    business_unit_id: int
    tenant_id: str
    signing_key: bytes


class ApiError(Exception):
    """A 4xx answer in the vendor's shape; raised anywhere in a handler."""

    def __init__(self, status: int, error: str, description: str, headers: Mapping[str, str] | None = None):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return json_response(
            {"error": self.error, "error_description": self.description}, self.status, headers=self.headers
        )

    @classmethod
    def bad(cls, description: str) -> ApiError:
        return cls(400, "InvalidRequest", description)

    @classmethod
    def not_found(cls, description: str) -> ApiError:
        return cls(404, "NotFound", description)

    @classmethod
    def conflict(cls, description: str) -> ApiError:
        return cls(409, "Conflict", description)


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def no_content() -> Response:
    return Response(status_code=204)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def json_body(request: Request, *, required: bool = True) -> Any:
    """The request body parsed as JSON (``None`` when empty and not required); 400 when malformed."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ApiError.bad("the request body must be a JSON document")
        return None
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError.bad(f"the request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ApiError.bad("the request body is nested too deeply") from exc
    try:  # "\ud800" parses into a lone surrogate, which neither SQLite nor the response could encode
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError.bad("the request body contains an invalid Unicode escape (a lone surrogate)") from exc
    return body


class Query:
    """Query parameters, looked up case-insensitively as ASP.NET model binding does."""

    def __init__(self, request: Request) -> None:
        self._values: dict[str, str] = {}
        for key, value in request.query_params.multi_items():
            self._values.setdefault(key.lower(), value)

    def get(self, *names: str) -> str | None:
        for name in names:
            value = self._values.get(name.lower())
            if value is not None:
                return value
        return None

    def integer(self, name: str, *, default: int | None = None, minimum: int | None = None) -> int | None:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        if not re.fullmatch(r"[+-]?\d{1,18}", raw.strip()):
            raise ApiError.bad(f"query parameter {name} must be an integer, got {raw!r}")
        value = int(raw)
        if minimum is not None and value < minimum:
            raise ApiError.bad(f"query parameter {name} must be at least {minimum}, got {value}")
        return value

    def boolean(self, name: str) -> bool | None:
        raw = self.get(name)
        if raw is None or raw == "":
            return None
        lowered = raw.strip().lower()
        if lowered not in ("true", "false"):
            raise ApiError.bad(f"query parameter {name} must be true or false, got {raw!r}")
        return lowered == "true"

    def since(self, *names: str) -> int | None:
        raw = self.get(*names)
        if raw is None or raw == "":
            return None
        return parse_since(raw, names[0])

    def list_filters(
        self, search_columns: Sequence[str], *, since_column: str | None = None, prefix: str = ""
    ) -> tuple[list[str], list[Any]]:
        """The filters CXone's admin lists share, as SQL (``where`` clauses, ``args``): ``isActive``,
        ``searchString`` (a substring of any of ``search_columns``) and, where the list has it, ``updatedSince``."""
        where: list[str] = []
        args: list[Any] = []
        is_active = self.boolean("isActive")
        if is_active is not None:
            where.append(f"{prefix}is_active = ?")
            args.append(int(is_active))
        search = self.get("searchString")
        if search:
            where.append("(" + " OR ".join(f"{prefix}{column} LIKE ?" for column in search_columns) + ")")
            args.extend([f"%{search}%"] * len(search_columns))
        since = self.since("updatedSince", "updateSince") if since_column else None
        if since is not None:
            where.append(f"{prefix}{since_column} > ?")
            args.append(since)
        return where, args

    def page(self) -> tuple[int, int]:
        skip = self.integer("skip", default=0, minimum=0)
        top = self.integer("top", default=DEFAULT_TOP, minimum=1)
        assert skip is not None and top is not None
        return skip, top


def parse_since(raw: str, name: str = "updatedSince") -> int:
    """An ``updatedSince`` value as epoch milliseconds: ISO 8601 (``Z``/offset/naive = UTC) or ``0``."""
    text = raw.strip()
    if text == "0":
        return 0
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ApiError.bad(
            f"query parameter {name} must be an ISO 8601 date-time such as 2024-05-01T12:00:00.000Z, got {raw!r}"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # GUESS: naive times are read as UTC
    return (moment - _EPOCH) // dt.timedelta(milliseconds=1)


def list_links(ctx: Ctx, request: Request, skip: int, top: int, total: int) -> dict[str, str | None]:
    """``_links`` for a skip/top page: ``self``, ``next`` and ``previous`` as absolute URLs (or null)."""
    path = request.scope.get("cxone.public_path", request.url.path)
    params = {k: v for k, v in request.query_params.multi_items() if k.lower() not in ("skip", "top")}

    def url(page_skip: int) -> str:
        return f"{ctx.base_url}{path}?{urlencode({**params, 'skip': page_skip, 'top': top})}"

    return {
        "self": url(skip),
        "next": url(skip + top) if skip + top < total else None,
        "previous": url(max(0, skip - top)) if skip > 0 else None,
    }


class Fields:
    """Reads one JSON object field by field, raising 400s that name the field (``where.key``)."""

    def __init__(self, data: Any, where: str, *, allowed: set[str] | None = None) -> None:
        if not isinstance(data, dict):
            raise ApiError.bad(f"{where} must be a JSON object")
        if allowed is not None:
            unknown = sorted(set(data) - allowed)
            if unknown:
                raise ApiError.bad(
                    f"{where} has unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
                )
        self.data: dict[str, Any] = data
        self.where = where

    def path(self, key: str) -> str:
        return key if self.where == "body" else f"{self.where}.{key}"

    def has(self, key: str) -> bool:
        return key in self.data

    def string(
        self, key: str, *, required: bool = True, default: str | None = None, allow_empty: bool = False
    ) -> str | None:
        if key not in self.data or self.data[key] is None:
            if required:
                raise ApiError.bad(f"{self.path(key)} is required")
            return default
        value = self.data[key]
        if not isinstance(value, str):
            raise ApiError.bad(f"{self.path(key)} must be a string")
        if not allow_empty and not value.strip():
            raise ApiError.bad(f"{self.path(key)} must not be empty")
        return value

    def integer(
        self, key: str, *, required: bool = True, default: int | None = None, minimum: int | None = None
    ) -> int | None:
        if key not in self.data or self.data[key] is None:
            if required:
                raise ApiError.bad(f"{self.path(key)} is required")
            return default
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError.bad(f"{self.path(key)} must be an integer")
        if abs(value) > MAX_INT:
            raise ApiError.bad(f"{self.path(key)} is out of range")
        if minimum is not None and value < minimum:
            raise ApiError.bad(f"{self.path(key)} must be at least {minimum}")
        return value

    def boolean(self, key: str, *, required: bool = True, default: bool | None = None) -> bool | None:
        if key not in self.data or self.data[key] is None:
            if required:
                raise ApiError.bad(f"{self.path(key)} is required")
            return default
        value = self.data[key]
        if not isinstance(value, bool):
            raise ApiError.bad(f"{self.path(key)} must be true or false")
        return value

    def array(self, key: str, *, required: bool = True) -> list[Any]:
        if key not in self.data or self.data[key] is None:
            if required:
                raise ApiError.bad(f"{self.path(key)} is required")
            return []
        value = self.data[key]
        if not isinstance(value, list):
            raise ApiError.bad(f"{self.path(key)} must be an array")
        return value

    def obj(self, key: str, *, allowed: set[str] | None = None) -> Fields:
        if key not in self.data or self.data[key] is None:
            raise ApiError.bad(f"{self.path(key)} is required")
        return Fields(self.data[key], self.path(key), allowed=allowed)
