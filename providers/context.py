"""Vendor clients for the provider process: built once from its environment, shared by every resource.

The dynamic provider process serves up to four engine calls at a time and lives for one `pulumi` run, so one
client per vendor (thread-safe, with its own list caches) keeps API calls from growing per resource.
Nothing here is pickled with a provider: the clients live in this module, not on provider instances.

Credentials come from the environment the engine passes to the provider process (``SF_*``, ``CXONE_*``,
``REQUESTS_CA_BUNDLE``: see presence_sync/clients/settings.py). A stack may instead name a connection file
(``presence-sync:connectionFile``, a JSON object of those same variables; the sandbox writes one), read in
``configure``; the environment wins where both set a variable.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from presence_sync.clients.cxone import CxoneClient
from presence_sync.clients.salesforce import SalesforceClient

_lock = threading.Lock()
_settings: dict[str, str] = {}
_salesforce: SalesforceClient | None = None
_cxone: CxoneClient | None = None

CONNECTION_FILE_KEY = "presence-sync:connectionFile"


def configure(config: Any) -> None:
    """Called by the engine once per provider process with the stack's configuration."""
    path = config.get(CONNECTION_FILE_KEY) if config is not None else None
    settings: dict[str, str] = {}
    if path:
        settings.update(read_connection_file(Path(path)))
    settings.update({key: value for key, value in os.environ.items() if key.startswith(("SF_", "CXONE_"))})
    if "REQUESTS_CA_BUNDLE" in settings:
        # requests (and zeep inside simple-salesforce) read it from the environment.
        os.environ.setdefault("REQUESTS_CA_BUNDLE", settings["REQUESTS_CA_BUNDLE"])
    use_settings(settings)


def read_connection_file(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{CONNECTION_FILE_KEY} names {path}, which does not exist: start the sandbox "
            "(`make sandbox`) or remove the setting and provide SF_*/CXONE_* variables"
        ) from None
    return {str(key): str(value) for key, value in data.items()}


def use_settings(settings: dict[str, str]) -> None:
    """Replace the settings (and drop built clients when they changed). Tests call this directly.

    The engine may configure a provider process more than once in a run (``preview --refresh`` did, now and
    then): the same settings keep the clients, their login and their list caches, so such a run makes the same
    calls every time."""
    global _salesforce, _cxone
    with _lock:
        if settings == _settings:
            return
        _settings.clear()
        _settings.update(settings)
        _salesforce = None
        _cxone = None


def _environment() -> dict[str, str]:
    return {**os.environ, **_settings}


def salesforce() -> SalesforceClient:
    global _salesforce
    with _lock:
        if _salesforce is None:
            _salesforce = SalesforceClient.from_env(_environment())
        return _salesforce


def cxone() -> CxoneClient:
    global _cxone
    with _lock:
        if _cxone is None:
            _cxone = CxoneClient.from_env(_environment())
        return _cxone
