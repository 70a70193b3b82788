"""Operator controls: the request log and fault injection (latency, error answers in each vendor's shape,
refused connections, forced token expiry), observed through ordinary clients."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import zeep.exceptions
from simple_salesforce import Salesforce, SalesforceExpiredSession, SalesforceGeneralError

from sandbox.operator_client import OperatorClient
from sandbox.testing import SandboxHandle
from tests.runtime.support import wait_until
from tests.sandbox.support import login


@pytest.fixture
def sf(sandbox_env: dict[str, str]) -> Salesforce:
    return login(sandbox_env)


@pytest.fixture
def operator(shared_sandbox: SandboxHandle, sandbox_env: dict[str, str]) -> Iterator[OperatorClient]:
    shared_sandbox.salesforce_operator.clear_requests()
    yield shared_sandbox.salesforce_operator


def test_the_request_log_records_each_vendor_call(sf: Salesforce, operator: OperatorClient) -> None:
    sf.query("SELECT Id FROM Profile")
    operator.faults()  # operator endpoints are not logged

    [entry] = [e for e in operator.requests() if e["path"].endswith("/query/")]
    assert entry["method"] == "GET" and entry["status"] == 200 and entry["vendor"] == "salesforce"
    assert entry["query"].startswith("q=SELECT")
    assert entry["duration_ms"] > 0
    assert not any(e["path"].startswith("/__sandbox/") for e in operator.requests())


def test_count_tells_reads_from_writes_including_soap(sf: Salesforce, operator: OperatorClient) -> None:
    sf.query("SELECT Id FROM Profile")
    sf.mdapi.ServicePresenceStatus.read(["Nothing_here"])

    assert operator.count(path_prefix="/services/data/") == 1
    assert operator.count(method="POST", path_prefix="/services/Soap/") == 1
    assert operator.count(writes_only=True, path_prefix="/services/Soap/") == 0  # readMetadata is a read
    assert operator.requests()[-1]["operation"] == "readMetadata"
    operator.clear_requests()
    assert operator.requests() == []


def test_added_latency_is_observable(sf: Salesforce, operator: OperatorClient) -> None:
    operator.set_faults(latency_ms=150)

    started = time.monotonic()
    sf.query("SELECT Id FROM Profile")

    assert time.monotonic() - started >= 0.15
    assert operator.requests()[-1]["fault"] == "latency"


def test_injected_503_has_the_salesforce_error_shape_and_then_recovers(
    sf: Salesforce, operator: OperatorClient
) -> None:
    operator.set_faults(error_next=1, error_status=503)

    with pytest.raises(SalesforceGeneralError) as raised:
        sf.query("SELECT Id FROM Profile")
    assert raised.value.status == 503
    content: Any = raised.value.content
    assert content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf.query("SELECT Id FROM Profile")["totalSize"] == 4
    assert operator.faults()["injected_errors"] >= 1


def test_an_error_rate_fails_about_that_share_of_requests(sf: Salesforce, operator: OperatorClient) -> None:
    operator.set_faults(error_rate=0.5, error_status=503)

    outcomes = []
    for _ in range(60):
        try:
            sf.query("SELECT Id FROM Profile")
            outcomes.append("ok")
        except SalesforceGeneralError:
            outcomes.append("503")

    assert 10 <= outcomes.count("503") <= 50  # p(outside) < 1e-5
    assert operator.count(path_prefix="/services/data/") == 60


def test_injected_429_is_request_limit_exceeded(sf: Salesforce, operator: OperatorClient) -> None:
    operator.set_faults(error_rate=1.0, error_status=429)

    with pytest.raises(SalesforceGeneralError) as raised:
        sf.query("SELECT Id FROM Profile")
    assert raised.value.status == 429
    assert raised.value.content == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


def test_faults_can_target_a_path_prefix(sf: Salesforce, operator: OperatorClient) -> None:
    operator.set_faults(error_rate=1.0, path_prefix="/services/Soap/")

    assert sf.query("SELECT Id FROM Profile")["totalSize"] == 4
    with pytest.raises(zeep.exceptions.Fault) as raised:
        sf.mdapi.ServicePresenceStatus.read(["Anything"])
    assert raised.value.code == "sf:SERVER_UNAVAILABLE"


def test_cxone_errors_use_the_cxone_shape(shared_sandbox: SandboxHandle, sandbox_env: dict[str, str]) -> None:
    shared_sandbox.cxone_operator.set_faults(error_next=1, error_status=503)

    response = requests.post(
        f"{shared_sandbox.cxone_url}/auth/token",
        data={"grant_type": "password"},
        verify=shared_sandbox.ca_bundle,
        timeout=10,
    )

    assert response.status_code == 503
    assert set(response.json()) == {"error", "error_description"}


def test_refused_connections_raise_connection_error_until_lifted(sf: Salesforce, operator: OperatorClient) -> None:
    sf.query("SELECT Id FROM Profile")  # a kept-alive connection exists
    operator.set_faults(refuse_seconds=60)

    with pytest.raises(requests.ConnectionError):
        sf.query("SELECT Id FROM Profile")  # on the kept-alive connection
    with pytest.raises(requests.ConnectionError):
        login(operator_env(operator))  # on a new connection
    assert operator.faults()["refused_connections"] >= 2  # the operator still gets through
    operator.clear_faults()
    assert sf.query("SELECT Id FROM Profile")["totalSize"] == 4


def test_a_refusal_window_ends_by_itself(sf: Salesforce, operator: OperatorClient) -> None:
    operator.set_faults(refuse_seconds=0.3)
    wait_until(lambda: operator.faults()["refuse_seconds_left"] == 0, what="the refusal window to run out")

    assert sf.query("SELECT Id FROM Profile")["totalSize"] == 4


def operator_env(operator: OperatorClient) -> dict[str, str]:
    from sandbox.salesforce.app import SEEDED_CREDENTIALS

    return {
        "SF_LOGIN_URL": operator.base_url,
        "REQUESTS_CA_BUNDLE": str(operator._verify),
        "SF_API_VERSION": "59.0",
        **SEEDED_CREDENTIALS,
    }


def test_forced_token_expiry_invalidates_sessions(sf: Salesforce, operator: OperatorClient) -> None:
    operator.expire_tokens()

    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Profile")


@pytest.mark.parametrize(
    "changes",
    [
        {"error_rate": 2},
        {"latency_ms": -1},
        {"error_status": 500},
        {"nope": 1},
        {"path_prefix": "services"},
        {"latency_ms": "fast"},
    ],
)
def test_bad_fault_settings_are_refused(
    shared_sandbox: SandboxHandle, sandbox_env: dict[str, str], changes: dict[str, object]
) -> None:
    response = requests.put(
        f"{shared_sandbox.salesforce_url}/__sandbox/faults", json=changes, verify=shared_sandbox.ca_bundle, timeout=10
    )

    assert response.status_code == 400
    assert "error" in response.json()
