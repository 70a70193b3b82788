"""Runs both emulators in one process: two uvicorn servers (HTTPS, h11) on one event loop, each app wrapped
in the operator middleware, state in ``<data-dir>/{salesforce,cxone}.db``.

With the Salesforce emulator, its Pub/Sub API (gRPC, TLS with the same certificate) listens on its own port
(``pubsub_port``, 7443 as Salesforce's ``api.pubsub.salesforce.com:7443``; 0 picks a free one) on the same event
loop; ``SANDBOX_PUBSUB_KEEPALIVE_SECONDS`` shortens its keepalive (default 270 s, as Salesforce) for tests.

When all listen, ``<data-dir>/sandbox.env`` (shell ``export`` lines) and ``<data-dir>/connection.json`` are
written (``SF_PUBSUB_ENDPOINT=127.0.0.1:<port>`` among them) and one line is printed:
``sandbox ready: salesforce=https://... cxone=https://... pubsub=127.0.0.1:<port>``.

Like the real vendors, the emulators close a keep-alive connection that sits idle: after
``SandboxConfig.keep_alive_timeout_seconds`` (30 s; ``SANDBOX_KEEP_ALIVE_SECONDS`` in the environment sets another
default, so that a test can shorten it for the sandbox process it starts and idle past it in moments).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import importlib
import json
import os
import pathlib
import shlex
import signal
import socket
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import uvicorn

from .operator import FaultState, OperatorMiddleware, RequestLog, refusing_protocol
from .tls import CertPaths, ensure_certificates

__all__ = ["VENDORS", "SandboxConfig", "SandboxError", "connection_info", "serve"]

VENDORS = ("salesforce", "cxone")
HOST = "127.0.0.1"
SF_API_VERSION = "59.0"
KEEP_ALIVE_ENV = "SANDBOX_KEEP_ALIVE_SECONDS"
PUBSUB_KEEPALIVE_ENV = "SANDBOX_PUBSUB_KEEPALIVE_SECONDS"
DEFAULT_KEEP_ALIVE_SECONDS = 30


class SandboxError(Exception):
    """The sandbox cannot start (missing emulator, port in use, ...)."""


@dataclasses.dataclass(frozen=True)
class SandboxConfig:
    data_dir: pathlib.Path
    salesforce_port: int = 8443
    cxone_port: int = 8444
    reset: bool = False
    vendors: tuple[str, ...] = VENDORS
    # How long a kept-alive connection may sit idle before the emulator closes it (uvicorn's timeout_keep_alive,
    # whole seconds); None: SANDBOX_KEEP_ALIVE_SECONDS from the environment, else 30.
    keep_alive_timeout_seconds: int | None = None
    pubsub_port: int = 7443


def keep_alive_seconds(config: SandboxConfig, environ: Mapping[str, str] = os.environ) -> int:
    if config.keep_alive_timeout_seconds is not None:
        seconds = config.keep_alive_timeout_seconds
    else:
        text = environ.get(KEEP_ALIVE_ENV, "").strip()
        if not text:
            return DEFAULT_KEEP_ALIVE_SECONDS
        try:
            seconds = int(text)
        except ValueError:
            raise SandboxError(f"{KEEP_ALIVE_ENV} must be whole seconds, not {text!r}") from None
    if not 1 <= seconds <= 3600:
        raise SandboxError(f"the keep-alive timeout must be 1 to 3600 seconds, not {seconds}")
    return seconds


class _Server(uvicorn.Server):
    """uvicorn.Server without its own signal handling: ``serve`` stops both servers together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _emulator_module(vendor: str) -> Any:
    name = f"sandbox.{vendor}.app"
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if vendor == "cxone" and exc.name in (name, "sandbox.cxone"):
            raise SandboxError(
                "the CXone emulator (sandbox/cxone/app.py) is not available yet; "
                "run with --vendors salesforce to start only the Salesforce emulator"
            ) from exc
        raise


def _bind(port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio only disables Nagle (TCP_NODELAY) on sockets that say they are TCP,
    # and without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise SandboxError(f"cannot listen on {HOST}:{port}: {exc.strerror}") from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


def connection_info(urls: dict[str, str], certs: CertPaths, credentials: dict[str, dict[str, str]]) -> dict[str, str]:
    """The environment contract clients use (see sandbox/README.md)."""
    info: dict[str, str] = {}
    if "salesforce" in urls:
        sf = credentials["salesforce"]
        info.update(
            SF_LOGIN_URL=urls["salesforce"],
            SF_CLIENT_ID=sf["SF_CLIENT_ID"],
            SF_CLIENT_SECRET=sf["SF_CLIENT_SECRET"],
            SF_USERNAME=sf["SF_USERNAME"],
            SF_PASSWORD=sf["SF_PASSWORD"],
            SF_API_VERSION=SF_API_VERSION,
        )
    if "cxone" in urls:
        cx = credentials["cxone"]
        info.update(
            CXONE_AUTH_URL=urls["cxone"],
            CXONE_API_URL=urls["cxone"],
            CXONE_CLIENT_ID=cx["CXONE_CLIENT_ID"],
            CXONE_CLIENT_SECRET=cx["CXONE_CLIENT_SECRET"],
            CXONE_ACCESS_KEY_ID=cx["CXONE_ACCESS_KEY_ID"],
            CXONE_ACCESS_KEY_SECRET=cx["CXONE_ACCESS_KEY_SECRET"],
        )
    if "pubsub" in urls:
        info["SF_PUBSUB_ENDPOINT"] = urls["pubsub"]
    info["REQUESTS_CA_BUNDLE"] = str(certs.ca.resolve())
    return info


def _write_connection_files(data_dir: pathlib.Path, info: dict[str, str]) -> None:
    (data_dir / "connection.json").write_text(json.dumps(info, indent=2) + "\n")
    lines = [f"export {key}={shlex.quote(value)}" for key, value in info.items()]
    (data_dir / "sandbox.env").write_text("\n".join(lines) + "\n")
    for name in ("connection.json", "sandbox.env"):
        (data_dir / name).chmod(0o600)


async def serve(config: SandboxConfig) -> None:
    data_dir = config.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    modules = {vendor: _emulator_module(vendor) for vendor in config.vendors}
    keep_alive = keep_alive_seconds(config)
    certs = ensure_certificates(data_dir, reset=config.reset)
    ports = {"salesforce": config.salesforce_port, "cxone": config.cxone_port}
    sockets = {vendor: _bind(ports[vendor]) for vendor in config.vendors}
    urls = {vendor: f"https://{HOST}:{sock.getsockname()[1]}" for vendor, sock in sockets.items()}
    servers: list[tuple[_Server, socket.socket]] = []
    apps, logs = {}, {}
    for vendor in config.vendors:
        app = modules[vendor].create_app(data_dir / f"{vendor}.db", base_url=urls[vendor], reset=config.reset)
        apps[vendor] = app
        logs[vendor] = RequestLog()
        server = _emulator_server(app, vendor, logs[vendor], sockets[vendor].getsockname()[1], certs, keep_alive)
        servers.append((server, sockets[vendor]))

    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server, _ in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in servers]
    while not all(server.started for server, _ in servers):
        if any(task.done() for task in tasks):
            stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise SandboxError("an emulator failed to start")
        await asyncio.sleep(0.01)
    pubsub = await _start_pubsub(config, apps, logs, certs) if "salesforce" in apps else None
    if pubsub is not None:
        urls["pubsub"] = f"{HOST}:{pubsub[1]}"
    # The seeded working set lives for the whole run: keep it out of the cyclic GC's full collections,
    # which otherwise show up as latency spikes.
    gc.collect()
    gc.freeze()
    credentials = {vendor: dict(modules[vendor].SEEDED_CREDENTIALS) for vendor in config.vendors}
    _write_connection_files(data_dir, connection_info(urls, certs, credentials))
    print("sandbox ready: " + " ".join(f"{vendor}={url}" for vendor, url in urls.items()), flush=True)
    print(f"sandbox env: {data_dir / 'sandbox.env'}", flush=True)
    try:
        await asyncio.gather(*tasks)
    finally:
        if pubsub is not None:
            await pubsub[0].stop(grace=0)
        for app in apps.values():
            close = getattr(app.state, "close", None)
            if callable(close):
                close()


def _emulator_server(app: Any, vendor: str, log: RequestLog, port: int, certs: CertPaths, keep_alive: int) -> _Server:
    """One emulator behind the operator middleware (fault injection, request log), served over TLS by uvicorn."""
    faults = FaultState()
    wrapped = OperatorMiddleware(app, vendor=vendor, faults=faults, log=log)
    server_config = uvicorn.Config(
        wrapped,
        host=HOST,
        port=port,
        ssl_certfile=str(certs.cert),
        ssl_keyfile=str(certs.key),
        http=refusing_protocol(faults),
        lifespan="off",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        timeout_keep_alive=keep_alive,
        timeout_graceful_shutdown=1,
        server_header=False,
    )
    return _Server(server_config)


async def _start_pubsub(
    config: SandboxConfig, apps: dict[str, Any], logs: dict[str, RequestLog], certs: CertPaths
) -> tuple[Any, int]:
    from .salesforce.pubsub.service import KEEPALIVE_SECONDS, start_server

    text = os.environ.get(PUBSUB_KEEPALIVE_ENV, "").strip()
    try:
        keepalive = float(text) if text else KEEPALIVE_SECONDS
    except ValueError:
        raise SandboxError(f"{PUBSUB_KEEPALIVE_ENV} must be seconds, not {text!r}") from None
    state = apps["salesforce"].state
    try:
        return await start_server(
            state.org,
            state.event_bus,
            host=HOST,
            port=config.pubsub_port,
            cert=certs.cert.read_bytes(),
            key=certs.key.read_bytes(),
            log=logs["salesforce"].append,
            keepalive_seconds=keepalive,
        )
    except OSError as exc:
        raise SandboxError(f"the Pub/Sub API cannot listen on {HOST}:{config.pubsub_port}: {exc}") from exc


def run(config: SandboxConfig) -> int:
    try:
        asyncio.run(serve(config))
    except SandboxError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 1
    return 0
