"""Metadata API ``checkDeployStatus``: the DeployResult of a deploy that ``metadata_deploy.deploy`` ran and kept
(componentSuccesses / componentFailures, the RunTestsResult, details only when ``includeDetails``)."""

from __future__ import annotations

from typing import Any

from .metadata_base import one
from .metadata_deploy import DEPLOY_TYPE, is_failure, option_flag
from .metadata_xml import Fault, Raw, element
from .org import Org

__all__ = ["check_deploy_status"]


def check_deploy_status(org: Org, body: Raw, user_id: str) -> str:
    deploy_id = str(one(body, "asyncProcessId", "") or "")
    result = org.store.metadata(DEPLOY_TYPE, deploy_id)
    if result is None:
        raise Fault("sf:INVALID_ID_FIELD", f"INVALID_ID_FIELD: invalid deploy id {deploy_id}")
    include_details = option_flag(body, "includeDetails")
    components = result["components"]
    failures = [c for c in components if is_failure(c, result["ignoreWarnings"])]
    test_failures: list[dict[str, str]] = result.get("testFailures") or []
    run_tests_enabled = result.get("testLevel") in ("RunSpecifiedTests", "RunLocalTests", "RunAllTestsInOrg")
    applied = not result["checkOnly"] and not (failures and result["rollbackOnError"]) and not test_failures
    deployed = len(components) - len(failures) if applied or result["checkOnly"] else 0
    error = result["error"]
    if error or test_failures or (failures and (result["rollbackOnError"] or deployed == 0)):
        status, success = "Failed", False
    elif failures:
        status, success = "SucceededPartial", True
    else:
        status, success = "Succeeded", True
    users = {r["Id"]: r.get("Name", "") for r in org.live("User")}
    details = _details(result, applied, test_failures if run_tests_enabled else None) if include_details else ""
    details = details or "<details/>"
    return (
        "<result>"
        + element("checkOnly", result["checkOnly"])
        + element("completedDate", _dt(result["completedDate"]))
        + element("createdBy", result["createdBy"])
        + element("createdByName", users.get(result["createdBy"], ""))
        + element("createdDate", _dt(result["createdDate"]))
        + details
        + element("done", True)
        + (element("errorMessage", error) + element("errorStatusCode", "UNKNOWN_EXCEPTION") if error else "")
        + element("id", result["id"])
        + element("ignoreWarnings", result["ignoreWarnings"])
        + element("lastModifiedDate", _dt(result["completedDate"]))
        + element("numberComponentErrors", len(failures))
        + element("numberComponentsDeployed", deployed)
        + element("numberComponentsTotal", len(components))
        + element("numberTestErrors", len(test_failures))
        + element("numberTestsCompleted", 0)
        + element("numberTestsTotal", len(test_failures))
        + element("rollbackOnError", result["rollbackOnError"])
        + element("runTestsEnabled", run_tests_enabled)
        + element("startDate", _dt(result["createdDate"]))
        + element("status", status)
        + element("success", success)
        + "</result>"
    )


def _details(result: dict[str, Any], applied: bool, test_failures: list[dict[str, str]] | None) -> str:
    """DeployDetails: failures first, then successes, then the RunTestsResult when tests were enabled."""
    messages = []
    for c in result["components"]:
        fails = is_failure(c, result["ignoreWarnings"])
        tag = "componentFailures" if fails else "componentSuccesses"
        ok = not c["problem"] and (applied or result["checkOnly"])
        deletion = bool(c.get("delete"))
        body_xml = (
            element("changed", ok and not c["created"] and not deletion)
            + element("componentType", c["type_name"])
            + element("created", ok and c["created"])
            + element("createdDate", _dt(result["createdDate"]))
            + element("deleted", ok and deletion)
            + element("fileName", c["file_name"])
            + element("fullName", c["full_name"])
        )
        if c["problem"]:
            body_xml += element("problem", c["problem"]) + element("problemType", c.get("problem_type", "Error"))
        body_xml += element("success", not fails)
        messages.append((tag, f"<{tag}>{body_xml}</{tag}>"))
    return (
        "<details>"
        + "".join(x for t, x in messages if t == "componentFailures")
        + "".join(x for t, x in messages if t == "componentSuccesses")
        + (_run_test_result(test_failures) if test_failures is not None else "")
        + "</details>"
    )


def _run_test_result(failures: list[dict[str, str]]) -> str:
    """RunTestsResult: the classes that could not run as failures; nothing else ran (no Apex here)."""
    rows = "".join(
        "<failures>"
        + element("message", f["message"])
        + "<methodName/>"
        + element("name", f["name"])
        + "<namespace/><stackTrace/>"
        + element("time", 0)
        + "</failures>"
        for f in failures
    )
    return (
        "<runTestResult>"
        + rows
        + element("numFailures", len(failures))
        + element("numTestsRun", len(failures))
        + element("totalTime", 0)
        + "</runTestResult>"
    )


def _dt(value: str) -> str:
    return value[:-5] + "Z" if value.endswith("+0000") else value
