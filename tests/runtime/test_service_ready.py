"""/readyz says which feed is not connected and since when, never the vendor's error text (it has no auth), and
is not ready while a feed is still catching up (a baseline read half done)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from presence_sync.clients.errors import ServiceUnavailable
from runtime.service import SyncService

from .fakes import Clock, config

VENDOR_TEXT = "upstream said: invalid_client for client_id 3MVG9-secret-looking-id at https://org.example.com"


class Idle:
    """A vendor client the test never lets the service call (the feeds are not started)."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the service called the client's {name}")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[SyncService]:
    clock = Clock(1_700_000_000.0)
    built = SyncService(
        config(store_path=str(tmp_path / "state.sqlite3"), metrics_port=0), salesforce=Idle(), cxone=Idle(), clock=clock
    )
    yield built
    if built._http is not None:
        built._http.shutdown()
        built._http.server_close()
    built.store.close()


def test_readyz_names_the_feed_and_since_when_but_not_the_vendor_error(service: SyncService) -> None:
    clock = service.clock
    assert isinstance(clock, Clock)
    service.started = True
    assert service.ready() == (False, "cxone feed not connected: no successful read since the service started")

    service.cxone_feed.failed(ServiceUnavailable(VENDOR_TEXT, vendor="cxone", operation="agent_states"))
    ok, reason = service.ready()
    assert not ok
    assert reason == (
        "cxone feed not connected: no successful read since the service started; "
        "the last read failed (the error is in the log)"
    )

    service.cxone_feed._ok([])
    service.salesforce_feed._ok([])
    assert service.ready() == (False, "cxone feed catching up (reading what changed while it was not running)")
    service.cxone_feed.caught_up = service.salesforce_feed.caught_up = True
    assert service.ready() == (True, "ready")

    clock.advance(3_600)
    service.salesforce_feed.failed(ServiceUnavailable(VENDOR_TEXT, vendor="salesforce", operation="poll"))
    service.cxone_feed._ok([])
    ok, reason = service.ready()
    assert not ok
    assert reason == (
        "salesforce feed not connected: last successful read at 2023-11-14T22:13:20Z (3600 s ago); "
        "the last read failed (the error is in the log)"
    )
    assert "invalid_client" not in reason and "example.com" not in reason


def test_the_http_endpoint_serves_the_same_reason_without_the_error(service: SyncService) -> None:
    service.started = True
    service.salesforce_feed.failed(ServiceUnavailable(VENDOR_TEXT, vendor="salesforce", operation="poll"))
    service.cxone_feed.failed(ServiceUnavailable(VENDOR_TEXT, vendor="cxone", operation="agent_states"))
    service._serve_http()
    assert service.config.metrics_host == "127.0.0.1", "the default bind is loopback"
    response = requests.get(f"http://127.0.0.1:{service.port}/readyz", timeout=5)
    assert response.status_code == 503
    assert response.text.startswith("cxone feed not connected: no successful read since the service started")
    assert "invalid_client" not in response.text and "3MVG9" not in response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert requests.get(f"http://127.0.0.1:{service.port}/healthz", timeout=5).text == "ok\n"
