"""File-based Metadata API deploys (the Salesforce-side bridge: platform event, Lightning components, Apex): a
zip POSTed with simple-salesforce's ``deploy`` through the session, then ``checkDeployStatus`` polled with
backoff until done, its DeployResult read into a ``DeployOutcome`` (or the first failure as InvalidRequest)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar, cast
from xml.etree.ElementTree import Element, ParseError

import zeep.exceptions
from defusedxml.ElementTree import fromstring as parse_xml
from simple_salesforce.exceptions import SalesforceError

from presence_sync.clients.errors import InvalidRequest, ServiceUnavailable
from presence_sync.clients.salesforce_models import DeployOutcome
from presence_sync.clients.salesforce_session import Connection, SalesforceSession

__all__ = ["deploy_zip"]

T = TypeVar("T")
_MD_NS = {"mt": "http://soap.sforce.com/2006/04/metadata"}


def deploy_zip(
    session: SalesforceSession,
    zip_bytes: bytes,
    operation: str,
    *,
    timeout: float,
    poll_interval: float,
    hint: str,
    **options: Any,
) -> DeployOutcome:
    """The file-based deploy both use: simple-salesforce's ``deploy`` (DeployOptions from ``options``, its
    kwarg names: testLevel, tests, ignoreWarnings...; rollbackOnError forced) POSTed through our session, then
    ``checkDeployStatus`` (includeDetails) polled with backoff until done; not done within ``timeout`` s,
    ServiceUnavailable."""
    about = "Metadata API deploy"

    def start(conn: Connection) -> str:
        mdapi = session.mdapi(conn)
        async_id, _state = _soap_call(lambda: mdapi.deploy(io.BytesIO(zip_bytes), sandbox=False, **options))
        if not async_id:
            raise ServiceUnavailable(
                "deploy answered no AsyncResult id", vendor="salesforce", operation=operation, object=about
            )
        return str(async_id)

    def check(async_id: str, conn: Connection) -> Element:
        mdapi = session.mdapi(conn)
        return cast(Element, _soap_call(lambda: mdapi._retrieve_deploy_result(async_id)))

    async_id = session.write(operation, about, start)
    about = f"Metadata API deploy {async_id}"
    deadline = time.monotonic() + timeout
    delay = poll_interval
    while True:
        result = session.run(operation, about, partial(check, async_id))
        if _text(result, "done") == "true":
            break
        if time.monotonic() + delay > deadline:
            raise ServiceUnavailable(
                f"not done after {timeout:g} s (status {_text(result, 'status') or 'unknown'})",
                vendor="salesforce",
                operation=operation,
                object=about,
                hint="The org may be busy; run the command again, or see Setup > Deployment Status.",
            )
        session.retry_policy.sleep(delay)
        delay = min(delay * 2, 5.0)
    session.invalidate_cache()
    return _deploy_outcome(result, about, operation, hint)


def _soap_call(call: Callable[[], T]) -> T:
    """simple-salesforce's hand-written SOAP calls raise SalesforceError with the fault as text: turn a SOAP
    fault back into zeep's Fault, so it is mapped (and an expired session re-logs in) like the CRUD calls."""
    try:
        return call()
    except ParseError as exc:  # a 200 that is not XML
        raise zeep.exceptions.XMLSyntaxError(f"unreadable Metadata API response: {exc}") from None
    except SalesforceError as exc:
        content = exc.content if isinstance(exc.content, str) else ""
        if "faultcode" not in content:
            raise
        try:
            fault = parse_xml(content.encode())
        except Exception:  # not XML after all: keep simple-salesforce's error
            raise exc from None
        texts = {node.tag.rpartition("}")[2]: node.text or "" for node in fault.iter()}  # qualified or not
        code, message = texts.get("faultcode", ""), texts.get("faultstring", "")
        raise zeep.exceptions.Fault(message, code=code) from None


def _text(node: Element, name: str) -> str:
    return node.findtext(f"mt:{name}", "", _MD_NS) or ""


def _count(node: Element, name: str) -> int:
    try:
        return int(_text(node, name) or 0)
    except ValueError:
        return 0


def _deploy_outcome(result: Element, about: str, operation: str, hint: str) -> DeployOutcome:
    status = _text(result, "status")
    if _text(result, "success") != "true" or status != "Succeeded":
        failures = result.findall("mt:details/mt:componentFailures", _MD_NS)
        problems = [
            f"{_text(f, 'componentType') or 'component'} {_text(f, 'fullName')} ({_text(f, 'fileName')}): "
            f"{_text(f, 'problem')}".replace(" ()", "")
            for f in failures
        ] + [
            f"Apex test {_text(f, 'name')}{'.' + _text(f, 'methodName') if _text(f, 'methodName') else ''}: "
            f"{_text(f, 'message')}"
            for f in result.findall("mt:details/mt:runTestResult/mt:failures", _MD_NS)
        ]
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            message = problems[0] + more
        else:
            message = _text(result, "errorMessage") or f"deploy {status or 'failed'}"
        code = _text(result, "errorStatusCode") or None
        raise InvalidRequest(
            message, vendor="salesforce", operation=operation, object=about, error_code=code, hint=hint
        )
    successes = [c for c in result.findall("mt:details/mt:componentSuccesses", _MD_NS) if _text(c, "componentType")]
    return DeployOutcome(
        id=_text(result, "id"),
        status=status,
        components_deployed=_count(result, "numberComponentsDeployed"),
        components_total=_count(result, "numberComponentsTotal"),
        components=[
            f"{_text(c, 'componentType')} {_text(c, 'fullName')}"
            for c in successes
            if _text(c, "deleted") != "true" and not _text(c, "problem")
        ],
        deleted=[
            f"{_text(c, 'componentType')} {_text(c, 'fullName')}" for c in successes if _text(c, "deleted") == "true"
        ],
        warnings=[_text(c, "problem") for c in successes if _text(c, "problem")],
    )
