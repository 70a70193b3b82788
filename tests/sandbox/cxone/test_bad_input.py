"""Bad input never gets a 500 or a stack trace: always a 4xx in the vendor's error shape."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.cxone import realtime
from tests.sandbox.cxone.harness import ADAPTERS, API, Sandbox

WRITES = [
    ("POST", f"{API}/teams"),
    ("POST", f"{API}/teams/2001/agents"),
    ("POST", f"{API}/unavailable-codes"),
    ("PUT", f"{API}/unavailable-codes/3001"),
    ("POST", f"{API}/teams/2001/unavailable-codes"),
    ("PUT", f"{API}/teams/2001/unavailable-codes"),
    ("DELETE", f"{API}/teams/2001/unavailable-codes"),
    ("PATCH", f"{API}/access-keys/SOMEKEY"),
    ("POST", f"{ADAPTERS}/account-mappings"),
    ("POST", f"{ADAPTERS}/presence-rules"),
    ("POST", "/authentication/v1/token/access-key"),
    ("POST", "/__sandbox/agent/100001/state"),
    ("POST", "/__sandbox/cxone/agents"),
    ("PATCH", "/__sandbox/cxone/agents/100001"),
]

BODIES: list[bytes] = [
    b"{not json",
    b"[1, 2, 3]",
    b'"a string"',
    b"null",
    b"\xff\xfe\x00garbage",
    b'{"name": NaN}',
    b'{"name": "\\ud800", "teams": [{"teamName": "\\ud800"}]}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"teams": [1, "x", null, {"teamName": 5}], "agents": [{"agentId": 99999999999999999999999}], '
    b'"codes": [{"outstateId": 1e308}], "name": 123456789012345678901234567890}',
]


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_garbage_bodies_get_a_4xx_in_the_vendor_shape(cxone: Sandbox, body: bytes) -> None:
    for method, path in WRITES:
        response = cxone.call(method, path, data=body, headers={"Content-Type": "application/json"})
        if response.status_code == 200:  # a batch endpoint answers per item
            result = response.json().get("resultSet", response.json())
            assert result["errorCount"] > 0 and not any(r["success"] for r in result.get("results", [])), path
            continue
        assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text[:200])
        error = response.json()
        assert set(error) >= {"error", "error_description"}, (method, path, error)


def test_wrong_types_in_the_state_change_are_400(cxone: Sandbox) -> None:
    cxone.agent(100001, "login")
    session = cxone.join(100001)
    bodies: list[Any] = [{"state": ["Available"]}, {"state": "Unavailable", "reason": 3001}, [], "Available"]
    for body in bodies:
        response = cxone.api("POST", f"/agent-sessions/{session}/state", json=body)
        assert response.status_code == 400, body


@pytest.mark.parametrize(
    "query",
    [
        "top=99999999999999999999999",
        "skip=1e3",
        "updatedSince=2024-13-45T99:00:00Z",
        "updatedSince=%00",
        "isActive=%F0%9F%92%A5",
        "searchString=%25%27%22%5C",
    ],
)
def test_odd_query_strings_never_fail(cxone: Sandbox, query: str) -> None:
    for path in ("/agents", "/agents/states", "/teams", "/unavailable-codes", "/teams/2001/agents"):
        response = cxone.api("GET", f"{path}?{query}")
        assert response.status_code in (200, 204, 400), (path, query, response.text[:200])


def test_odd_path_ids_are_404_not_500(cxone: Sandbox) -> None:
    for path in (
        "/agents/99999999999999999999999",
        "/teams/-1",
        "/teams/1e3/agents",
        "/unavailable-codes/%00",
        "/agents/%E2%98%83/states",
        "/access-keys/%2F..%2F",
    ):
        assert cxone.api("GET", path).status_code == 404, path
    assert cxone.api("POST", "/agent-sessions/%00/state?state=Available").status_code == 404


def test_the_token_endpoint_survives_garbage(cxone: Sandbox) -> None:
    for headers, body in (
        ({"Authorization": "Basic %%%"}, b"grant_type=password"),
        ({"Authorization": "Basic " + "w6k=" * 3}, b"grant_type=password"),
        ({"Authorization": "Negotiate abc"}, b"grant_type=password"),
        ({}, b"\xff\xfe=\x00"),
        ({}, b"grant_type"),
    ):
        response = cxone.request(
            "POST", "/auth/token", data=body, headers={"Content-Type": "application/x-www-form-urlencoded", **headers}
        )
        assert 400 <= response.status_code < 500, (headers, body, response.text)
        assert "error" in response.json()


def test_an_unexpected_failure_is_a_json_500_and_is_logged(
    cxone: Sandbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(realtime, "_state_json", broken)
    response = cxone.api("GET", "/agents/states")
    assert response.status_code == 500
    assert response.json()["error"] == "InternalServerError" and "boom" not in response.text
    assert any("unhandled error" in record.getMessage() for record in caplog.records)
