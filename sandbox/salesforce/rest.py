"""The REST data API under ``/services/data/``: versions, query/queryAll with pagination, sObject CRUD,
describe, limits, composite (``composite.py``) and the Connect endpoint that reads an External Client App's
credentials.

Every authenticated call counts against the daily API limit and carries ``Sforce-Limit-Info``.
"""

from __future__ import annotations

import collections
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import dml
from .composite import run_composite
from .errors import ApiError, json_response, not_found
from .ids import make_id
from .metadata_types import one
from .oauth import authenticate
from .org import Org
from .schema import ObjectDef
from .soql_exec import run_query

__all__ = ["MAX_VERSION", "MIN_VERSION", "RestApi"]

MIN_VERSION, MAX_VERSION = 20.0, 66.0
DEFAULT_BATCH = 2000
_VERSION_RE = re.compile(r"^v(\d{2})\.0$")
_BATCH_RE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


def _method_not_allowed(method: str, allowed: str) -> ApiError:
    return ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}")


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "oauth") else None


class RestApi:
    def __init__(self, org: Org) -> None:
        self.org = org
        self._cursors: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self._cursor_seq = 0

    async def __call__(self, request: Request) -> Response:
        parts = [p for p in request.url.path.split("/")[3:]]  # after /services/data/
        if parts and parts[-1] == "":
            parts.pop()
        if not parts:
            return self._versions()
        match = _VERSION_RE.match(parts[0])
        if not match or not MIN_VERSION <= float(parts[0][1:]) <= MAX_VERSION:
            return not_found().response()
        version = parts[0][1:]
        headers: dict[str, str] = {}
        try:
            user_id = authenticate(self.org, bearer_token(request))
            used, limit = self.org.count_api_call()
            headers["Sforce-Limit-Info"] = f"api-usage={used}/{limit}"
            if used > limit:
                raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            return await self._route(request, version, parts[1:], user_id, headers)
        except ApiError as error:
            return error.response(headers)

    def _versions(self) -> Response:
        versions = [
            {"label": f"v{v}.0", "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
            for v in range(int(MIN_VERSION), int(MAX_VERSION) + 1)
        ]
        return json_response(versions)

    async def _route(
        self, request: Request, version: str, rest: list[str], user_id: str, headers: dict[str, str]
    ) -> Response:
        method = request.method
        log: dict[str, Any] = request.scope.setdefault("sandbox.log", {})
        if not rest:
            self._only(method, "GET")
            return json_response(
                {
                    name: f"/services/data/v{version}/{name}"
                    for name in ("sobjects", "query", "queryAll", "limits", "composite")
                },
                headers=headers,
            )
        head = rest[0]
        if head in ("query", "queryAll"):
            self._only(method, "GET")
            log["operation"] = head
            if len(rest) == 1:
                return self._query(request, version, include_deleted=head == "queryAll", headers=headers)
            if len(rest) == 2:
                return self._next_page(rest[1], headers)
        elif head == "sobjects":
            return await self._sobjects(request, version, rest[1:], user_id, headers, log)
        elif head == "composite" and len(rest) == 1:
            self._only(method, "POST")

            async def route(sub: Request, parts: list[str]) -> Response:
                if parts and parts[0] == "composite":
                    raise ApiError(400, "INVALID_INPUT", "A composite subrequest cannot be a composite request")
                return await self._route(sub, version, parts, user_id, {})

            return await run_composite(request, version, route, headers)
        elif head == "limits" and len(rest) == 1:
            self._only(method, "GET")
            used, limit = self.org.api_usage(), int(self.org.setting("dailyApiRequestLimit"))
            return json_response(
                {"DailyApiRequests": {"Max": limit, "Remaining": max(limit - used, 0)}}, headers=headers
            )
        elif head == "apps" and len(rest) == 5 and rest[1:3] == ["oauth", "credentials"]:
            self._only(method, "GET")
            return self._credentials(request, rest[3], rest[4], headers)
        raise not_found()

    @staticmethod
    def _only(method: str, *allowed: str) -> None:
        if method not in allowed and not (method == "HEAD" and "GET" in allowed):
            raise _method_not_allowed(method, ",".join(("HEAD", *allowed)))

    # -- query ----------------------------------------------------------------------------------------------
    def _query(self, request: Request, version: str, *, include_deleted: bool, headers: dict[str, str]) -> Response:
        text = request.query_params.get("q")
        if not text:
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        result = run_query(self.org, text, include_deleted=include_deleted, version=version)
        batch = DEFAULT_BATCH
        options = _BATCH_RE.search(request.headers.get("sforce-query-options", ""))
        if options:
            batch = min(max(int(options.group(1)), 1), DEFAULT_BATCH)
        return self._page(result.total_size, result.records, 0, batch, version, None, headers)

    def _page(
        self,
        total: int,
        records: list[dict[str, Any]],
        start: int,
        batch: int,
        version: str,
        locator: str | None,
        headers: dict[str, str],
    ) -> Response:
        end = start + batch
        body: dict[str, Any] = {"totalSize": total, "done": end >= len(records), "records": records[start:end]}
        if end < len(records):
            if locator is None:
                self._cursor_seq += 1
                locator = make_id("01g", self._cursor_seq)
                self._cursors[locator] = {"records": records, "batch": batch, "version": version, "total": total}
                while len(self._cursors) > 200:
                    self._cursors.popitem(last=False)
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
        elif locator is not None:
            self._cursors.pop(locator, None)
        return json_response(body, headers=headers)

    def _next_page(self, token: str, headers: dict[str, str]) -> Response:
        locator, _, position = token.partition("-")
        cursor = self._cursors.get(locator)
        if cursor is None or not position.isdigit():
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(
            cursor["total"], cursor["records"], int(position), cursor["batch"], cursor["version"], locator, headers
        )

    # -- sObjects -------------------------------------------------------------------------------------------
    async def _sobjects(
        self,
        request: Request,
        version: str,
        rest: list[str],
        user_id: str,
        headers: dict[str, str],
        log: dict[str, Any],
    ) -> Response:
        method = request.method
        if not rest:
            self._only(method, "GET")
            return json_response(
                {
                    "encoding": "UTF-8",
                    "maxBatchSize": 200,
                    "sobjects": [o.describe_global(version) for o in self.org.objects()],
                },
                headers=headers,
            )
        obj = self.org.require_object(rest[0])
        if len(rest) == 1:
            self._only(method, "GET", "POST")
            if method == "POST":
                log.update(operation=f"create {obj.name}", write=True)
                body = dml.parse_body(await request.body())
                with self.org.store.batch():  # one commit per write call
                    created = dml.create(self.org, obj, body, user_id)
                return json_response(created, 201, headers)
            recent: list[Any] = []
            return json_response(
                {"objectDescribe": obj.describe_global(version), "recentItems": recent}, headers=headers
            )
        if len(rest) == 2 and rest[1] == "describe":
            self._only(method, "GET")
            return json_response(obj.describe(version), headers=headers)
        if len(rest) != 2:
            raise not_found()
        record_id = rest[1]
        self._only(method, "GET", "PATCH", "DELETE")
        if method == "PATCH":
            log.update(operation=f"update {obj.name}", write=True)
            body = dml.parse_body(await request.body())
            with self.org.store.batch():
                dml.update(self.org, obj, record_id, body, user_id)
            return Response(status_code=204, headers=headers)
        if method == "DELETE":
            log.update(operation=f"delete {obj.name}", write=True)
            with self.org.store.batch():
                dml.delete(self.org, obj, record_id, user_id)
            return Response(status_code=204, headers=headers)
        return self._retrieve(request, version, obj, record_id, headers)

    def _retrieve(
        self, request: Request, version: str, obj: ObjectDef, record_id: str, headers: dict[str, str]
    ) -> Response:
        """GET /sobjects/{name}/{id}[?fields=...]: the record, every field or the listed ones."""
        if "retrieve" not in obj.calls:
            raise not_found()
        record = dml.live_record(self.org, obj, record_id)
        wanted = request.query_params.get("fields")
        names = [f.name for f in obj.fields]
        if wanted:
            names = []
            for name in wanted.split(","):
                field = obj.field(name.strip())
                if field is None:
                    raise ApiError(
                        400, "INVALID_FIELD", f"No such column '{name.strip()}' on sobject of type {obj.name}"
                    )
                names.append(field.name)
        out = {
            "attributes": {"type": obj.name, "url": f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}"},
            **{n: record.get(n) for n in names},
        }
        return json_response(out, headers=headers)

    # -- Connect: OAuth credentials of an External Client App -------------------------------------------
    def _credentials(self, request: Request, app_id: str, consumer_id: str, headers: dict[str, str]) -> Response:
        if not self.org.setting("enableClientSecretInRestApiAccess"):
            raise ApiError(
                403,
                "INSUFFICIENT_ACCESS",
                "Retrieving the consumer secret through the REST API isn't enabled for this org.",
            )
        part = request.query_params.get("part", "key")
        if part not in ("key", "secret", "keyandsecret"):
            raise ApiError(400, "INVALID_INPUT", f"Invalid value for part: {part}")
        for settings in self.org.store.metadata_all("ExtlClntAppGlobalOauthSettings"):
            eca_name = one(settings, "externalClientApplication", "")
            eca = self.org.store.metadata("ExternalClientApplication", eca_name)
            if eca is None or app_id not in (eca.get("_id"), eca_name):
                continue
            if consumer_id not in (settings.get("_consumerId"), one(settings, "consumerKey")):
                continue
            body: dict[str, Any] = {}
            if part in ("key", "keyandsecret"):
                body["key"] = one(settings, "consumerKey")
            if part in ("secret", "keyandsecret"):
                body["secret"] = settings.get("_consumerSecret")
            return json_response(body, headers=headers)
        raise not_found()
