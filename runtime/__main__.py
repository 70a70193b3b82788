"""``python -m runtime --config config.json``: run the sync service until SIGTERM/SIGINT.

Vendor connections come from the environment (SF_*, CXONE_*, REQUESTS_CA_BUNDLE). Logs are JSON lines on stderr.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from requests.adapters import HTTPAdapter

from presence_sync.clients import CxoneClient, RetryPolicy, SalesforceClient
from presence_sync.runtime_config import load_config

from .service import JsonLogFormatter, SyncService


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime", description="presence-sync runtime")
    parser.add_argument("--config", required=True, help="config.json rendered for this deployment")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    logging.basicConfig(level=args.log_level.upper(), handlers=[handler], force=True)
    logging.getLogger("urllib3").setLevel(logging.WARNING)

    try:
        config = load_config(args.config)
        pool = config.workers + 4
        # A short client-side retry: the runtime's outbox and circuit do the long waiting.
        retry = RetryPolicy(attempts=2, base_delay=0.1, max_delay=0.5, budget=2.0)
        salesforce = SalesforceClient.from_env(
            retry=retry, transport=HTTPAdapter(pool_connections=4, pool_maxsize=pool), timeout=15.0
        )
        cxone = CxoneClient.from_env(
            retry=retry, transport=HTTPAdapter(pool_connections=4, pool_maxsize=pool), timeout=15.0
        )
    except (OSError, ValueError) as exc:  # unreadable/invalid config (ValidationError), SettingsError
        print(f"presence-sync runtime: {exc}", file=sys.stderr)
        return 2
    try:
        service = SyncService(config, salesforce=salesforce, cxone=cxone)
    except ValueError as exc:  # the PostgreSQL store: no connection string in the environment, a shard count change
        print(f"presence-sync runtime: {exc}", file=sys.stderr)
        return 2
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    service.start()
    stopping.wait()
    service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
