"""Keyed fingerprints of secrets, so drift in a credential can be reported without revealing it.

A provider's ``read`` sees the value the stack applied (the state, decrypted for it by the engine) and the live
one (the vendor's answer). It never puts a live secret into the state: it keeps the applied value there and adds
``secretFingerprints`` = ``{name: {"applied": "fp:…", "live": "fp:…"}}``, HMAC-SHA256 of each value under a key
drawn at random when the provider process starts and never written anywhere. Two fingerprints therefore compare
only within one run (equal values, equal fingerprints), which is all a report needs; outside the run they are
random-looking text from which nothing can be guessed, not even by trying likely values.

Reports (``diffing.secret_changes``) show the two fingerprints and say "consumer key changed outside the stack";
the provider's ``diff`` treats differing fingerprints as a change, so ``up`` writes the spec's value back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

FINGERPRINTS = "secretFingerprints"
"""The output holding the fingerprints of a resource's secret inputs."""
APPLIED_INPUTS = "appliedInputs"
"""The output holding the managed inputs the last write applied, secrets left out. A refresh rewrites the inputs
with live values and keeps this, so drift (applied -> live) survives a `pulumi refresh`."""

_SECRET_NAME = re.compile(r"secret|password|passphrase|token|consumerkey|privatekey|apikey", re.IGNORECASE)

_KEY = secrets.token_bytes(32)  # this process's only; never stored, never logged


def is_secret(key: str, value: Any) -> bool:
    """A property named like a credential (consumerSecret, consumerKey, password, token ...) holding a value;
    a boolean under such a name (``requireSecretForWebServerFlow``) is a flag, not a secret."""
    return bool(_SECRET_NAME.search(key.replace("_", ""))) and value is not None and not isinstance(value, bool)


def fingerprint(value: Any) -> str:
    """``fp:`` and 16 hex digits of HMAC-SHA256 over the value's canonical JSON, under this process's key."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return "fp:" + hmac.new(_KEY, text.encode(), hashlib.sha256).hexdigest()[:16]


def compare(applied: Mapping[str, Any], live: Mapping[str, Any], names: Iterable[str]) -> dict[str, dict[str, str]]:
    """Fingerprints of the applied and the live value of each named secret the vendor returned (a secret it
    never returns, like the consumer secret, cannot drift in a way anyone can see, and is left out)."""
    return {
        name: {"applied": fingerprint(applied.get(name)), "live": fingerprint(live[name])}
        for name in names
        if name in live and live[name] is not None
    }


def changed(fingerprints: Any) -> list[str]:
    """The secrets whose live value differs from the applied one, by name."""
    if not isinstance(fingerprints, Mapping):
        return []
    return sorted(
        str(name)
        for name, pair in fingerprints.items()
        if isinstance(pair, Mapping) and pair.get("applied") != pair.get("live")
    )
