"""The live view's API in-process: who may read it (loopback, Host, token), what a row says, that the event
stream pushes a change, and that a credential is scrubbed even when an error text carries one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from presence_sync.clients.errors import ServiceUnavailable
from presence_sync.runtime_config import AgentLink, RuleConfig, RuntimeConfig, StatusRef
from runtime.reconciler import Observation
from runtime.service import SyncService
from runtime.store import PendingWrite, SqliteStore

AVAILABLE = StatusRef(status_id="0N5000000000001AAA", developer_name="Available_for_Chats")
RULE = RuleConfig(
    name="Chat agents",
    priority=1,
    publisher={"Available": AVAILABLE},
    subscriber={AVAILABLE.status_id: "Available"},
    team_ids=(7,),
)
SECRET = "sandbox-client-secret-0123456789"


def config(**overrides: Any) -> RuntimeConfig:
    agents = [
        AgentLink(agent_id=1, salesforce_user_id="005A", team_id=7, email="ada@example.com"),
        AgentLink(agent_id=2, salesforce_user_id="005B", team_id=7, email="grace@example.com"),
        AgentLink(agent_id=3, salesforce_user_id="005C", team_id=8, email="edsger@example.com"),
    ]
    return RuntimeConfig(rules=(RULE,), agents=tuple(agents), store_path=":memory:", metrics_port=0, **overrides)


class Served:
    def __init__(self, service: SyncService) -> None:
        self.service = service
        self.url = f"http://127.0.0.1:{service.port}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(f"{self.url}{path}", timeout=5, **kwargs)


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start a service's HTTP endpoint only (no feeds, no workers): ``serve(config)``."""
    started: list[SyncService] = []
    monkeypatch.setenv("SF_CLIENT_SECRET", SECRET)

    def start(cfg: RuntimeConfig) -> Served:
        service = SyncService(cfg, salesforce=object(), cxone=object(), store=SqliteStore(":memory:"))
        service._serve_http()
        started.append(service)
        return Served(service)

    yield start
    for service in started:
        service.live_view.stop()
        assert service._http is not None
        service._http.shutdown()
        service._http.server_close()
        service.store.close()


def test_loopback_without_token_serves_the_page_and_api_to_loopback_hosts_only(serve: Any) -> None:
    view = serve(config())
    page = view.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert view.get("/static/app.js").headers["Content-Type"].startswith("text/javascript")
    assert view.get("/static/../service.py").status_code == 404
    assert view.get("/api/v1/summary").status_code == 200
    rebound = view.get("/api/v1/summary", headers={"Host": "attacker.example:80"})  # DNS rebinding
    assert rebound.status_code == 403
    assert view.get("/api/v2/summary").status_code == 404
    assert view.get("/metrics").status_code == 200


def test_a_non_loopback_bind_without_token_serves_no_live_view(serve: Any) -> None:
    view = serve(config(metrics_host="0.0.0.0"))
    for path in ("/", "/api/v1/agents", "/api/v1/events"):
        answer = view.get(path)
        assert answer.status_code == 403 and "live view disabled" in answer.text
    assert view.get("/metrics").status_code == 200  # the rest of the endpoint is as before


def test_a_token_is_needed_as_bearer_or_cookie(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVE_VIEW_TOKEN", "t0ken/with+chars")
    view = serve(config(metrics_host="0.0.0.0", live_view_token_env="LIVE_VIEW_TOKEN"))
    assert view.get("/").status_code == 200  # the page holds no data; it asks for the token
    assert view.get("/api/v1/summary").status_code == 401
    assert view.get("/api/v1/summary", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert view.get("/api/v1/summary", headers={"Authorization": "Bearer t0ken/with+chars"}).status_code == 200
    cookie = {"Cookie": "presence_sync_live_view=t0ken%2Fwith%2Bchars"}  # as the page sets it
    assert view.get("/api/v1/agents", headers=cookie).status_code == 200
    assert "t0ken" not in view.get("/api/v1/summary", headers={"Authorization": "Bearer t0ken/with+chars"}).text


def test_a_configured_but_empty_token_variable_disables_the_view(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIVE_VIEW_TOKEN", raising=False)
    view = serve(config(live_view_token_env="LIVE_VIEW_TOKEN"))
    answer = view.get("/api/v1/summary")
    assert answer.status_code == 403 and "LIVE_VIEW_TOKEN" in answer.text


def test_rows_say_rule_states_and_whether_in_step_pending_or_failing(serve: Any) -> None:
    view = serve(config())
    service = view.service
    service.reconciler.observe("acd", [Observation(1, "Available", 1000.0)], baseline=True)
    service.reconciler.observe("sf", [Observation(1, AVAILABLE.status_id, 1000.0)], baseline=True)
    service.reconciler.observe("acd", [Observation(2, "Unavailable", 1000.0)], baseline=True)
    service.reconciler.observe("sf", [Observation(2, AVAILABLE.status_id, 1000.0)], baseline=True)
    service.reconciler.observe("sf", [Observation(2, AVAILABLE.status_id, 2000.0)])  # Grace's change
    service.store.put_write(
        PendingWrite(agent_id=2, side="acd", target="Available", command_id="c1", created_at=2000.0)
    )
    ada = view.get("/api/v1/agents/1").json()
    assert ada["rule"] == "Chat agents" and ada["cxone_state"] == "Available"
    assert ada["omni_status"] == "Available_for_Chats" and ada["status"] == "in_step"
    service.live_view.refresh([2])
    grace = view.get("/api/v1/agents/2").json()
    assert grace["status"] == "pending" and grace["pending"] == {"cxone": "Available"}
    assert grace["source"] == "salesforce"
    edsger = view.get("/api/v1/agents/3").json()
    assert edsger["rule"] is None and edsger["status"] == "in_step"

    service.reconciler._deferred(
        PendingWrite(agent_id=2, side="acd", target="Available", command_id="c1", created_at=2000.0),
        ServiceUnavailable(
            f"the service is down (client_secret={SECRET})", vendor="cxone", operation="set_agent_state"
        ),
        None,
    )
    service.live_view.refresh([2])
    assert view.get("/api/v1/agents/2").json()["status"] == "failing"
    page = view.get("/api/v1/agents", params={"status": "not_in_step"}).json()
    assert [row["agent_id"] for row in page["agents"]] == [2] and page["total"] == 1
    assert [r["agent_id"] for r in view.get("/api/v1/agents", params={"rule": "(none)"}).json()["agents"]] == [3]
    assert [r["agent_id"] for r in view.get("/api/v1/agents", params={"team": "8"}).json()["agents"]] == [3]
    assert view.get("/api/v1/agents", params={"status": "bogus"}).status_code == 400

    summary = view.get("/api/v1/summary")
    assert SECRET not in summary.text and "[redacted]" in summary.text  # even if a client failed to redact it
    error = summary.json()["errors"][0]
    assert error["agent_id"] == 2 and error["vendor"] == "cxone" and error["hint"] and error["retrying"]
    assert summary.json()["agents"]["failing"] == 1
    assert summary.json()["circuits"]["cxone"]["state"] == "closed"


def test_the_event_stream_pushes_a_changed_row(serve: Any) -> None:
    view = serve(config())
    with requests.get(f"{view.url}/api/v1/events", stream=True, timeout=10) as stream:
        lines = stream.iter_lines(decode_unicode=True)
        assert next(line for line in lines if line.startswith("event:")) == "event: summary"
        view.service.reconciler.observe("acd", [Observation(3, "Available", 1000.0)])
        for line in lines:
            if line == "event: agent":
                row = json.loads(next(lines).removeprefix("data: "))
                if row["agent_id"] == 3 and row["cxone_state"] == "Available":
                    break
