"""``CxoneClient.agent_states`` against the CXone emulator while agents change between two page reads, and
``orderBy``. Pages are made small (``PAGE_SIZE``) so a few dozen agents span several pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

import presence_sync.clients.cxone as cxone_client
from presence_sync.clients.cxone import AgentState, CxoneClient
from presence_sync.clients.retry import RetryPolicy
from presence_sync.clients.settings import CxoneSettings
from sandbox.cxone import SEEDED_CREDENTIALS
from tests.sandbox.cxone.harness import Sandbox


class BetweenPages(HTTPAdapter):
    """The real transport, running ``hooks[n]`` right after the n-th ``agents/states`` page was answered."""

    def __init__(self) -> None:
        super().__init__()
        self.pages = 0
        self.hooks: dict[int, Callable[[], None]] = {}

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().send(request, *args, **kwargs)
        if "/agents/states" in (request.url or ""):
            self.pages += 1
            hook = self.hooks.pop(self.pages, None)
            if hook is not None:
                hook()
        return response


def _client(cxone: Sandbox, transport: HTTPAdapter) -> CxoneClient:
    settings = CxoneSettings.from_mapping(
        {
            **SEEDED_CREDENTIALS,
            "CXONE_AUTH_URL": cxone.base_url,
            "CXONE_API_URL": cxone.base_url,
            "REQUESTS_CA_BUNDLE": cxone.ca,
        }
    )
    return CxoneClient(settings, transport=transport, retry=RetryPolicy(attempts=1, budget=0))


def _add_agents(cxone: Sandbox, count: int) -> list[int]:
    ids = []
    for n in range(count):
        response = cxone.request(
            "POST",
            "/__sandbox/cxone/agents",
            json={
                "firstName": "Feed",
                "lastName": f"Agent{n}",
                "emailAddress": f"feed.agent{n}@example.com",
                "teamId": 2001,
            },
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["agentId"])
    return ids


def _keys(states: list[AgentState]) -> list[tuple[int, str | None]]:
    return [(s.agent_id, s.last_update_time) for s in states]


def test_agents_changing_between_page_reads_are_all_returned_once(
    cxone: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cxone_client, "PAGE_SIZE", 10)
    agents = _add_agents(cxone, 30)
    transport = BetweenPages()
    client = _client(cxone, transport)
    baseline, cursor = client.agent_states()
    returned = _keys(baseline)

    for agent in agents:  # 30 changes: three pages of ten (and a short fourth)
        assert cxone.agent(agent, "login").status_code < 300
    first_page = agents[:10]

    def first_page_agents_change_again() -> None:
        for agent in first_page[:4]:
            cxone.agent(agent, "state", {"state": "Available"})
        cxone.agent(100003, "login")  # one that had not changed since the cursor

    def a_later_agent_changes() -> None:
        cxone.agent(agents[15], "state", {"state": "Available"})

    transport.hooks[transport.pages + 1] = first_page_agents_change_again
    transport.hooks[transport.pages + 2] = a_later_agent_changes
    for _ in range(3):
        states, cursor = client.agent_states(cursor)
        returned.extend(_keys(states))

    now = cxone.api("GET", "/agents/states").json()["agentStates"]
    latest = {(s["agentId"], s["lastUpdateTime"]) for s in now}
    missing = latest - set(returned)
    assert (sorted(missing), len(returned) - len(set(returned))) == ([], 0)
    assert not transport.hooks, "the hooks did not run: the poll read fewer pages than planned"


def test_order_by_last_update_time_or_agent_id(cxone: Sandbox) -> None:
    for agent_id in (100010, 100003, 100007):
        cxone.agent(agent_id, "login")

    def order(**params: Any) -> list[int]:
        body = cxone.api("GET", "/agents/states", params={"top": 3, **params}).json()
        return [s["agentId"] for s in body["agentStates"]]

    assert order() == order(orderBy="lastUpdateTime")
    assert order(orderBy="lastUpdateTime desc") == [100007, 100003, 100010]
    assert order(orderBy="agentId") == [100000, 100001, 100002]
    assert order(orderBy="agentId desc")[0] > order(orderBy="agentId desc")[-1]
    assert order(orderBy="teamName") == order()  # GUESS: other fields are ignored, like fields=
