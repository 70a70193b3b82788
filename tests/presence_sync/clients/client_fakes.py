"""A fake ``requests`` transport for the client unit tests: routes by method + path, records every request.

``FakeTransport`` is a ``requests.adapters.BaseAdapter``; the clients accept it as ``transport=`` and
mount it under their metering adapter, so everything above the socket (simple-salesforce, zeep,
our error mapping and retries) runs for real.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

SF_URL = "https://sf.test"
SF_LOGIN = "https://login.sf.test"
CX_AUTH = "https://cxone.test"
CX_API = "https://api-na1.cxone.test"


@dataclasses.dataclass
class Recorded:
    method: str
    url: str
    path: str
    query: dict[str, list[str]]
    headers: CaseInsensitiveDict[str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode() if self.body else ""

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.text, keep_blank_values=True).items()}

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclasses.dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes -> as is
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


Handler = Callable[[Recorded], "Reply | Exception"]


class FakeTransport(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Recorded] = []
        self._routes: list[tuple[str, re.Pattern[str], list[Any]]] = []
        self._lock = threading.Lock()

    def on(self, method: str, path: str, *replies: Reply | Exception | Handler) -> FakeTransport:
        """Route ``method`` + ``path`` (a regex matched against the full path) to replies used in order;
        the last one repeats. A reply may be a callable taking the ``Recorded`` request."""
        self._routes.insert(0, (method.upper(), re.compile(path + "$"), list(replies)))
        return self

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        split = urlsplit(request.url or "")
        body = request.body or b""
        recorded = Recorded(
            method=request.method or "GET",
            url=request.url or "",
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=CaseInsensitiveDict(request.headers),
            body=body.encode() if isinstance(body, str) else body,
        )
        with self._lock:
            self.requests.append(recorded)
            for method, pattern, replies in self._routes:
                if method == recorded.method and pattern.match(recorded.path):
                    reply = replies.pop(0) if len(replies) > 1 else replies[0]
                    break
            else:
                raise AssertionError(f"unrouted request {recorded.method} {recorded.url}")
        if callable(reply) and not isinstance(reply, Exception):
            reply = reply(recorded)
        if isinstance(reply, Exception):
            raise reply
        return self._response(request, reply)

    @staticmethod
    def _response(request: requests.PreparedRequest, reply: Reply) -> requests.Response:
        response = requests.Response()
        response.status_code = reply.status
        response.reason = {200: "OK", 201: "Created", 204: "No Content"}.get(reply.status, "Error")
        headers = CaseInsensitiveDict(reply.headers)
        if isinstance(reply.body, dict | list):
            content = json.dumps(reply.body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(reply.body, str):
            content = reply.body.encode()
            headers.setdefault("Content-Type", "text/xml; charset=utf-8")
        else:
            content = reply.body or b""
        response._content = content
        response.headers = headers
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass

    def matching(self, method: str, path: str) -> list[Recorded]:
        pattern = re.compile(path + "$")
        return [r for r in self.requests if r.method == method.upper() and pattern.match(r.path)]


# --------------------------------------------------------------------------------------------------
# Salesforce helpers

MD_NS = "http://soap.sforce.com/2006/04/metadata"


def soap(body_xml: str, status: int = 200) -> Reply:
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns="{MD_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body>{body_xml}</soapenv:Body></soapenv:Envelope>"
    )
    return Reply(status, envelope, {"Content-Type": "text/xml; charset=utf-8"})


def save_ok(op: str, *full_names: str) -> Reply:
    results = "".join(f"<result><fullName>{n}</fullName><success>true</success></result>" for n in full_names)
    return soap(f"<{op}Response>{results}</{op}Response>")


def save_failed(op: str, full_name: str, status_code: str, message: str, field: str | None = None) -> Reply:
    fields = f"<fields>{field}</fields>" if field else ""
    return soap(
        f"<{op}Response><result><errors>{fields}<message>{message}</message><statusCode>{status_code}</statusCode>"
        f"</errors><fullName>{full_name}</fullName><success>false</success></result></{op}Response>"
    )


def soap_fault(code: str, message: str) -> Reply:
    return soap(
        f"<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{message}</faultstring></soapenv:Fault>", 500
    )


def read_result(type_name: str, inner_xml: str | None) -> Reply:
    if inner_xml is None:
        return soap('<readMetadataResponse><result><records xsi:nil="true"/></result></readMetadataResponse>')
    return soap(
        f'<readMetadataResponse><result><records xsi:type="{type_name}">{inner_xml}</records></result>'
        "</readMetadataResponse>"
    )


def soql(records: list[dict[str, Any]], next_url: str | None = None) -> Reply:
    body: dict[str, Any] = {"totalSize": len(records), "done": next_url is None, "records": records}
    if next_url:
        body["nextRecordsUrl"] = next_url
    return Reply(200, body)


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> Reply:
    entry: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        entry["fields"] = fields
    return Reply(status, [entry])


def token_reply(token: str = "00Dtoken!first", instance_url: str = SF_URL) -> Reply:
    return Reply(200, {"access_token": token, "instance_url": instance_url, "token_type": "Bearer", "id": "x"})


def soap_op(recorded: Recorded) -> str:
    match = re.search(r"<(?:\w+:)?(\w+Metadata)\b", recorded.text)
    return match.group(1) if match else ""
