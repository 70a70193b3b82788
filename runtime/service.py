"""The sync service: store, reconciler, both feeds, the periodic resync and the health/metrics endpoint.

    service = SyncService(config, salesforce=SalesforceClient.from_env(), cxone=CxoneClient.from_env())
    service.start()          # catch up from the durable cursors, replay the outbox, start the threads
    ...
    service.stop()           # graceful: feeds stop, in-flight reconciles finish, the store closes

``/healthz`` answers 200 while the process serves; ``/readyz`` 200 once the store is open and both feeds have
read successfully within the last few intervals (503 with the reason otherwise); ``/metrics`` is Prometheus.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from presence_sync.clients.errors import VendorError
from presence_sync.runtime_config import RuntimeConfig

from .engines import engine_for
from .feeds import CxoneFeed, SalesforceFeed
from .liveview import LiveView
from .metrics import Metrics
from .reconciler import Reconciler
from .sharding import Replica, ShardedReconciler
from .store import SqliteStore, Store
from .writers import CxoneStateWriter, OmniCommandWriter

__all__ = ["JsonLogFormatter", "SyncService"]

log = logging.getLogger("runtime.service")

_LOG_FIELDS = (
    "agent_id",
    "side",
    "state",
    "rule",
    "command_id",
    "sent_at",
    "feed",
    "error",
    "attempts",
    "vendor",
    "lease",
    "epoch",
)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the known context fields (agent ids...).

    Vendor error texts are already redacted by the clients; nothing else that could hold a secret is logged."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _LOG_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class SyncService:
    def __init__(
        self,
        config: RuntimeConfig,
        *,
        salesforce: Any,
        cxone: Any,
        store: Store | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.metrics = metrics or Metrics()
        # PostgreSQL: this process is one replica of several (runtime/sharding.py); SQLite: the only one.
        self.replica = Replica(config.postgres) if store is None and config.postgres is not None else None
        self.store = (
            self.replica.store
            if self.replica
            else store or SqliteStore(config.store_path, durability=config.durability)
        )
        self.clock = clock
        writers = {
            "acd": CxoneStateWriter(cxone, unavailable_codes=config.unavailable_codes),
            "sf": OmniCommandWriter(salesforce, max_in_flight=config.omni_publish_calls_in_flight),
        }
        reconciler_class = ShardedReconciler if self.replica else Reconciler
        self.reconciler = reconciler_class(config, self.store, writers, metrics=self.metrics, clock=clock)  # type: ignore[arg-type]
        # The feeds record what they read through the reconciler, or (sharded) queue it for the shards' owners.
        sink: Any = self.reconciler if self.replica is None else self.replica.router(self.reconciler)
        if isinstance(self.reconciler, ShardedReconciler) and self.replica is not None:
            self.reconciler.fence = self.replica.fence
        self.cxone_feed = CxoneFeed(cxone, sink, config, metrics=self.metrics, clock=clock)
        self.salesforce_feed = SalesforceFeed(salesforce, sink, config, metrics=self.metrics, clock=clock)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._http: ThreadingHTTPServer | None = None
        self.started = False
        self.metrics.unmatched_agents.set(len(config.unmatched))
        self.live_view = LiveView(self)  # the page and /api/v1 (runtime/liveview.py): any other GET path
        self.engine = engine_for(config, self.store, self.reconciler, self.metrics)  # writes, or observes (nice)

    # ------------------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        for agent in self.config.unmatched:
            log.warning(
                "agent matches no Salesforce user; not synced",
                extra={"agent_id": agent.agent_id, "error": agent.reason},
            )
        self._serve_http()
        # Each feed catches up on its own thread: one vendor's outage never holds up the other. Writes left in
        # the outbox re-read their side before they are made (recover), so none is repeated over its echo.
        self.engine.start()  # runtime/engines.py: recover + workers, or (engine: nice) observe-only
        if isinstance(self.reconciler, ShardedReconciler) and self.replica is not None:
            self.replica.start(self.reconciler, self._follow_feeds)  # the feeds run while it holds their lease
        else:
            self._follow_feeds(self._stop)
        self._spawn("resync", self._resync_loop)
        self._spawn("housekeeping", self._housekeeping_loop)
        self.started = True
        log.info("runtime started", extra={"feed": self.salesforce_feed.mode})

    def _follow_feeds(self, stop: threading.Event) -> None:
        for feed in (self.cxone_feed, self.salesforce_feed):
            feed.caught_up = False  # (again) the feed lease's holder: each feed catches up first
        self._spawn("feed-cxone", lambda: self._follow(self.cxone_feed, stop))
        self._spawn("feed-salesforce", lambda: self._follow(self.salesforce_feed, stop))

    def _follow(self, feed: CxoneFeed | SalesforceFeed, stop: threading.Event) -> None:
        """Catch ``feed`` up (retrying until it can), then follow it until ``stop``."""
        attempt = 0
        while not stop.is_set():
            try:
                feed.catch_up()
                break
            except VendorError as exc:
                attempt += 1
                feed.failed(exc)
                log.warning("catch-up failed; retrying", extra={"feed": feed.name, "attempts": attempt})
                stop.wait(min(5.0, 0.5 * attempt))
            except Exception:
                if stop.is_set():
                    return
                log.exception("catch-up failed unexpectedly", extra={"feed": feed.name})
                stop.wait(1.0)
        else:
            return
        feed.caught_up = True
        log.info("feed caught up", extra={"feed": feed.name})
        feed.run(stop)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _resync_loop(self) -> None:
        """Level-triggered safety net: re-read both sides in full and reconcile every agent."""
        while not self._stop.wait(self.config.resync_interval_seconds):
            reads = self.replica is None or self.replica.holds_feed()  # sharded: the feed lease's holder reads
            for feed in (
                (self.cxone_feed, self.salesforce_feed) if reads else ()
            ):  # each on its own: one outage skips one read
                try:
                    feed.poll_once(full=True)
                except VendorError as exc:
                    log.warning("resync read failed", extra={"feed": feed.name, "error": str(exc)})
                except Exception:
                    if self._stop.is_set():
                        return
                    log.exception("resync failed", extra={"feed": feed.name})
            self.reconciler.mark_all_dirty()

    def _housekeeping_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.store.prune_ledger(self.clock() - self.config.echo_window_seconds)
                self.metrics.outbox.set(len(self.store.pending_writes()))
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("housekeeping failed")
            for side, breaker in self.reconciler.breakers.items():
                self.metrics.circuit_open.labels("cxone" if side == "acd" else "salesforce").set(int(breaker.is_open))

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading, let in-flight reconciles finish, close the store. A feed still inside a read is not
        waited for (its thread is a daemon, and whatever it reads next is read again after a restart)."""
        started = time.monotonic()
        self._stop.set()
        if self.replica is not None:
            self.replica.stop()  # the other replicas take its shards on their next round
        self.engine.stop()
        self.reconciler.stop(timeout)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        self.salesforce_feed.close()  # ends the Pub/Sub subscription: a feed waiting on it returns at once
        for thread in self._threads:
            thread.join(timeout=max(0.0, min(1.0, timeout - (time.monotonic() - started))))
        with self.store.transaction():  # waits for a feed that is writing its batch, then closes
            pass
        self.store.close()
        log.info("runtime stopped")

    def wait(self) -> None:
        while not self._stop.wait(0.5):
            pass

    # ------------------------------------------------------------------------------------- health

    def ready(self) -> tuple[bool, str]:
        """(ready, reason). The reason names the feed that is not connected and since when, never the vendor's
        error text: /readyz answers whoever reaches the port (no auth), the error is in the log and the metrics."""
        if not self.started:
            return False, "starting"
        if self.replica is not None:  # ready = it holds the shard leases it is assigned (and the feeds, if it reads)
            owns, reason = self.replica.ready()
            if not owns or not self.replica.holds_feed():
                return owns, reason
        sf_interval = (
            self.config.stream_wait_seconds
            if self.salesforce_feed.mode == "stream"
            else (self.salesforce_feed.poll_interval)
        )
        for feed, interval in ((self.cxone_feed, self.cxone_feed.interval), (self.salesforce_feed, sf_interval)):
            if not feed.connected(max(3 * interval, 10.0)):
                if feed.last_success is None:
                    since = "no successful read since the service started"
                else:
                    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(feed.last_success))
                    since = f"last successful read at {when} ({max(0.0, self.clock() - feed.last_success):.0f} s ago)"
                failing = "; the last read failed (the error is in the log)" if feed.last_error else ""
                return False, f"{feed.name} feed not connected: {since}{failing}"
        for feed in (self.cxone_feed, self.salesforce_feed):
            if not feed.caught_up:  # a baseline read half done is no state to act on yet
                return False, f"{feed.name} feed catching up (reading what changed while it was not running)"
        return True, "ready"

    @property
    def port(self) -> int:
        return 0 if self._http is None else int(self._http.server_address[1])

    def _serve_http(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/healthz":
                    self._send(200, b"ok\n", "text/plain")
                elif self.path == "/readyz":
                    ok, reason = service.ready()
                    self._send(200 if ok else 503, (reason + "\n").encode(), "text/plain")
                elif self.path == "/metrics":
                    self._send(200, generate_latest(service.metrics.registry), CONTENT_TYPE_LATEST)
                elif not service.live_view.handle(self):
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        # The bind is the config's metrics_host, nothing implicit: 127.0.0.1 by default (a local runtime); the
        # Kubernetes target sets 0.0.0.0 so the kubelet's probes and Prometheus reach the pod, and the rendered
        # NetworkPolicy is what limits who may connect. The endpoints have no auth and carry no secret.
        self._http = ThreadingHTTPServer((self.config.metrics_host, self.config.metrics_port), Handler)
        self._http.daemon_threads = True
        http = self._http
        self._spawn("http", lambda: http.serve_forever(poll_interval=0.1))
        log.info(
            "serving /healthz /readyz /metrics (no auth)", extra={"feed": f"{self.config.metrics_host}:{self.port}"}
        )
