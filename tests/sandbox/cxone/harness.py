"""The CXone emulator for tests: uvicorn over HTTPS (a trustme CA) in a background thread, driven with plain
``requests``, and a clock the test can move forward."""

from __future__ import annotations

import dataclasses
import pathlib
import socket
import threading
import time
from typing import Any

import requests
import uvicorn

from sandbox.cxone import SEEDED_CREDENTIALS, create_app

__all__ = ["ADAPTERS", "API", "FakeClock", "Sandbox", "Tls"]

API = "/incontactapi/services/v34.0"
ADAPTERS = "/adapter-apis/v1/salesforce"


@dataclasses.dataclass
class FakeClock:
    now: float = dataclasses.field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclasses.dataclass(frozen=True)
class Tls:
    ca: pathlib.Path
    cert: pathlib.Path
    key: pathlib.Path


class Sandbox:
    """One running emulator and a ``requests`` session that trusts it."""

    def __init__(self, db_path: pathlib.Path, tls: Tls, clock: FakeClock, *, reset: bool, **options: Any) -> None:
        self.db_path, self.clock = db_path, clock
        # proto IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
        # and without it every response waits ~40 ms for a delayed ACK (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.base_url = f"https://127.0.0.1:{sock.getsockname()[1]}"
        self.app = create_app(db_path, base_url=self.base_url, reset=reset, clock=clock, **options)
        config = uvicorn.Config(
            self.app, ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key), log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the CXone sandbox did not start")
            time.sleep(0.01)
        self.ca = str(tls.ca)
        self.http = requests.Session()
        self._token: str | None = None

    def stop(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(10)

    # -- raw calls ----------------------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        # verify per request: a REQUESTS_CA_BUNDLE in the environment would beat a Session-level setting
        return self.http.request(method, self.base_url + path, timeout=10, verify=self.ca, **kwargs)

    def token_request(self, data: dict[str, str] | str, *, basic: bool = True, **kwargs: Any) -> requests.Response:
        auth = (SEEDED_CREDENTIALS["CXONE_CLIENT_ID"], SEEDED_CREDENTIALS["CXONE_CLIENT_SECRET"]) if basic else None
        return self.request("POST", "/auth/token", data=data, auth=auth, **kwargs)

    def password_grant(self, key_id: str | None = None, key_secret: str | None = None) -> requests.Response:
        return self.token_request(
            {
                "grant_type": "password",
                "username": key_id or SEEDED_CREDENTIALS["CXONE_ACCESS_KEY_ID"],
                "password": key_secret or SEEDED_CREDENTIALS["CXONE_ACCESS_KEY_SECRET"],
            }
        )

    # -- authenticated calls ------------------------------------------------------------------------------
    @property
    def token(self) -> str:
        if self._token is None:
            response = self.password_grant()
            assert response.status_code == 200, response.text
            self._token = response.json()["access_token"]
        return self._token

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        return self.request(method, path, headers=headers, **kwargs)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.call(method, API + path, **kwargs)

    def adapters(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.call(method, ADAPTERS + path, **kwargs)

    def agent(self, agent_id: int, action: str, body: dict[str, Any] | None = None) -> requests.Response:
        """The agent's own softphone: login, state, end-contact, logout."""
        return self.request("POST", f"/__sandbox/agent/{agent_id}/{action}", json=body)

    def history(self, agent_id: int) -> list[dict[str, Any]]:
        response = self.request("GET", f"/__sandbox/agent/{agent_id}/history")
        assert response.status_code == 200, response.text
        return list(response.json()["changes"])

    def join(self, agent_id: int) -> str:
        response = self.api("POST", f"/agent-sessions/join?asAgentId={agent_id}")
        assert response.status_code == 202, response.text
        return str(response.json()["sessionId"])
