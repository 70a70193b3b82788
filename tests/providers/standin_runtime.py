"""A stand-in for `python -m runtime --config X` in provider tests: serves /healthz, /readyz and /metrics on the
config's metrics_host:metrics_port and does nothing else. STANDIN_IGNORE_SIGTERM=1 makes it ignore SIGTERM
(to exercise the SIGKILL path); STANDIN_EXIT_AT_ONCE=1 makes it fail at start."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    if os.environ.get("STANDIN_EXIT_AT_ONCE") == "1":
        print("stand-in: failing at start as asked", file=sys.stderr)
        return 3
    config = json.loads(Path(args.config).read_text())
    body = json.dumps({"status": "ok", "pid": os.getpid(), "config": config}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path in ("/healthz", "/readyz", "/metrics"):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    if os.environ.get("STANDIN_IGNORE_SIGTERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer((config.get("metrics_host", "127.0.0.1"), int(config["metrics_port"])), Handler)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
