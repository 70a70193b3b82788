"""In-memory stand-ins for the kinds' proxies: each holds the vendor's objects in a dict and keeps the proxy's
contract (what a read returns, what "already gone" means), so a provider's paths run without an engine or a
vendor. A test reaches into ``live`` to make drift, or sets ``fail_next`` to make the vendor refuse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from presence_sync.clients.errors import NotFound, ServiceUnavailable, VendorError

SF_ID = "0N5000000000{:03d}AAA"


@dataclass
class FakeVendor:
    """What every fake shares: numbered ids, the calls made, and a failure to raise on the next write."""

    calls: list[str] = field(default_factory=list)
    fail_next: VendorError | None = None
    _next: int = 1

    def new_id(self, pattern: str = SF_ID) -> str:
        self._next += 1
        return pattern.format(self._next)

    def write(self, call: str) -> None:
        self.calls.append(call)
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error


def unavailable(operation: str, vendor: Literal["salesforce", "cxone"] = "salesforce") -> ServiceUnavailable:
    return ServiceUnavailable("the vendor is down", vendor=vendor, operation=operation, status=503)


def gone(operation: str, about: str, vendor: Literal["salesforce", "cxone"] = "salesforce") -> NotFound:
    return NotFound("no such object", vendor=vendor, operation=operation, object=about, status=404)


def outs(result: Any) -> dict[str, Any]:
    """The outputs of a CreateResult/UpdateResult/ReadResult (never None once written)."""
    assert result.outs is not None
    return dict(result.outs)
