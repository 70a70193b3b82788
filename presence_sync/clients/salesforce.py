"""``SalesforceClient``: the org as the runtime and the tools use it -- the presence feed, presence commands, the
bridge deploy, users -- on the shared ``SalesforceSession`` (login, retries, error mapping, redaction, request
counting, the read cache).

Each resource kind's own calls live in its proxy, ``presence_sync/clients/<kind>.py`` (presence statuses,
profile presence access, OAuth client apps, service channels), which the providers and the export use; the
client exposes them as attributes (``client.statuses``...) for everyone else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from requests.adapters import BaseAdapter
from simple_salesforce import format_soql

from presence_sync.clients import salesforce_models as m
from presence_sync.clients.errors import (
    ServiceUnavailable,
    VendorError,
    salesforce_error_class,
)
from presence_sync.clients.oauth_client_app import OAuthAppProxy
from presence_sync.clients.presence_status import PresenceStatusProxy
from presence_sync.clients.profile_presence_access import ProfileAccessProxy
from presence_sync.clients.retry import RetryPolicy
from presence_sync.clients.salesforce_deploy import deploy_zip
from presence_sync.clients.salesforce_models import (
    CreatedOAuthApp,
    CurrentPresence,
    DeployOutcome,
    Grant,
    OAuthAppSpec,
    PresenceCommand,
    PresenceStatusRecord,
    Profile,
    User,
)
from presence_sync.clients.salesforce_session import Connection, MetadataFailure, SalesforceSession
from presence_sync.clients.service_channel import ServiceChannelProxy
from presence_sync.clients.settings import SalesforceSettings

__all__ = ["SalesforceClient"]

T = TypeVar("T")
log = logging.getLogger(__name__)

PLATFORM_EVENT = "Omni_Presence_Command__e"
COMPOSITE_LIMIT = 25  # subrequests per composite call (REST API limit); the whole call counts as one API call
_MD_NS = {"mt": "http://soap.sforce.com/2006/04/metadata"}


class SalesforceClient(SalesforceSession):
    """Intention-named operations on one Salesforce org. See the module docstring."""

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        retry: RetryPolicy | None = None,
        transport: BaseAdapter | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(settings, retry=retry, transport=transport, timeout=timeout)
        self.statuses = PresenceStatusProxy(self)
        self.channels = ServiceChannelProxy(self)
        self.access = ProfileAccessProxy(self)
        self.oauth_apps = OAuthAppProxy(self)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> SalesforceClient:
        return cls(SalesforceSettings.from_env(environ), **kwargs)

    def __repr__(self) -> str:
        return f"SalesforceClient(login_url={self.settings.login_url!r}, api_version={self.settings.api_version!r})"

    # -- kept for callers outside the kinds (the runtime's config, tests and benchmarks of other areas) --

    def cached_list_presence_statuses(self) -> list[PresenceStatusRecord]:
        return self.statuses.cached_all()

    def create_presence_status(
        self, developer_name: str, label: str, channels: Iterable[str] = ()
    ) -> PresenceStatusRecord:
        return self.statuses.create(developer_name, label, channels)

    def list_profiles(self) -> list[Profile]:
        return self.access.list_profiles()

    def grant_status(self, permission_set_id: str, status_id: str) -> Grant:
        return self.access.grant_status(permission_set_id, status_id)

    def list_status_grants(self) -> list[Grant]:
        return self.access.list_status_grants()

    def create_oauth_app(self, spec: OAuthAppSpec) -> CreatedOAuthApp:
        return self.oauth_apps.create_oauth_app(spec)

    # -- users (the runtime matches agents by them) --

    def cached_list_users(self) -> list[User]:
        return self.cached("users", self.list_users)

    def list_users(self) -> list[User]:
        def run(conn: Connection) -> list[User]:
            rows = self.query_all(conn, "SELECT Id, Username, Email, ProfileId, IsActive FROM User ORDER BY Username")
            return [m.user_from_record(row) for row in rows]

        return self.run("list_users", "User", run)

    # ------------------------------------------------------------------------------------------
    # Runtime: presence changes in (the change stream itself is presence_sync.clients.pubsub), presence commands out

    def poll_current_presence(self, since: datetime | None = None) -> tuple[list[CurrentPresence], datetime | None]:
        """Current presence rows changed after ``since`` (the resync's snapshot, and the opt-in polling fallback).

        Returns the rows and the newest LastModifiedDate seen (pass it as ``since`` next time; rows
        at exactly that instant may repeat, which the level-triggered runtime tolerates).
        """
        soql = (
            "SELECT Id, UserId, ServicePresenceStatusId, ServicePresenceStatus.DeveloperName, IsAway, "
            "IsCurrentState, StatusStartDate, LastModifiedDate FROM UserServicePresence WHERE IsCurrentState = true"
        )
        if since is not None:
            soql += format_soql(" AND LastModifiedDate >= {}", since)
        soql += " ORDER BY LastModifiedDate"

        def run(conn: Connection) -> tuple[list[CurrentPresence], datetime | None]:
            rows = [m.presence_from_record(row) for row in self.query_all(conn, soql)]
            newest = max((r.last_modified for r in rows if r.last_modified), default=since)
            return rows, newest

        return self.run("poll_current_presence", "UserServicePresence", run)

    def current_presence(self, user_id: str) -> CurrentPresence | None:
        """One user's current Omni-Channel presence (None: not logged in to Omni): one query, e.g. to learn
        whether a command whose outcome was unknown was applied before publishing it again."""
        soql = format_soql(
            "SELECT Id, UserId, ServicePresenceStatusId, ServicePresenceStatus.DeveloperName, IsAway, IsCurrentState, "
            "StatusStartDate, LastModifiedDate FROM UserServicePresence WHERE IsCurrentState = true AND UserId = {} "
            "ORDER BY LastModifiedDate DESC LIMIT 1",
            user_id,
        )

        def run(conn: Connection) -> CurrentPresence | None:
            rows = [m.presence_from_record(row) for row in self.query_all(conn, soql)]
            return rows[0] if rows else None

        return self.run("current_presence", "UserServicePresence", run)

    def publish_presence_command(self, user_id: str, status_id: str, command_id: str) -> str:
        """Publish an ``Omni_Presence_Command__e`` platform event; returns the event's id.

        The Lightning bridge in the agent's console sets the status. A retried publish can deliver
        twice; ``CommandId__c`` lets the bridge and the runtime's echo ledger drop the duplicate.
        """
        about = f"{PLATFORM_EVENT} (user {user_id}, status {status_id})"

        def run(conn: Connection) -> str:
            result = self.sobject(conn, PLATFORM_EVENT).create(
                {"UserId__c": user_id, "StatusId__c": status_id, "CommandId__c": command_id}
            )
            if isinstance(result, dict) and result.get("success") is False:
                errors = result.get("errors") or [{}]
                raise MetadataFailure(
                    str(errors[0].get("statusCode") or "UNKNOWN_EXCEPTION"), str(errors[0].get("message") or ""), None
                )
            return str(result.get("id") if isinstance(result, dict) else "")

        return self.run("publish_presence_command", about, run)

    def publish_presence_commands(self, commands: Iterable[PresenceCommand]) -> list[str | VendorError]:
        """Publish several commands; per command, in order, the event id or the error that refused it.

        One composite call (``POST composite``, allOrNone false: each event stands alone) per 25 commands,
        because every API call counts against the org's daily allowance and the runtime publishes one command
        per synced change; a lone command is a plain publish. An error of the call as a whole (transport,
        5xx, expired token after the one re-login) is raised, as by every other method: then no command of
        that call is known to be published.
        """
        batch = list(commands)
        if len(batch) == 1:
            only = batch[0]
            return [self.publish_presence_command(only.user_id, only.status_id, only.command_id)]
        outcomes: list[str | VendorError] = []
        for start in range(0, len(batch), COMPOSITE_LIMIT):
            chunk = batch[start : start + COMPOSITE_LIMIT]
            about = f"{PLATFORM_EVENT} x{len(chunk)} (composite)"
            answer = self.run("publish_presence_commands", about, partial(self._publish_composite, chunk))
            outcomes.extend(self._composite_outcomes(chunk, answer))
        return outcomes

    def _publish_composite(self, chunk: list[PresenceCommand], conn: Connection) -> Any:
        path = f"/services/data/v{self.settings.api_version}/sobjects/{PLATFORM_EVENT}"
        subrequests = [
            {
                "method": "POST",
                "url": path,
                "referenceId": f"command{number}",
                "body": {"UserId__c": c.user_id, "StatusId__c": c.status_id, "CommandId__c": c.command_id},
            }
            for number, c in enumerate(chunk)
        ]
        return conn.sf.restful("composite", method="POST", json={"allOrNone": False, "compositeRequest": subrequests})

    def _composite_outcomes(self, chunk: list[PresenceCommand], answer: Any) -> list[str | VendorError]:
        responses = answer.get("compositeResponse") if isinstance(answer, dict) else None
        if not isinstance(responses, list) or len(responses) != len(chunk):
            raise ServiceUnavailable(
                "the composite answer does not list one response per command",
                vendor="salesforce",
                operation="publish_presence_commands",
                object=PLATFORM_EVENT,
            )
        by_reference = {str(r.get("referenceId")): r for r in responses if isinstance(r, dict)}
        outcomes: list[str | VendorError] = []
        for number, command in enumerate(chunk):
            response = by_reference.get(f"command{number}", {})
            status = int(response.get("httpStatusCode") or 0)
            body = response.get("body")
            if 200 <= status < 300 and isinstance(body, dict) and body.get("success") is not False:
                outcomes.append(str(body.get("id") or ""))
                continue
            first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
            if isinstance(body, dict) and body.get("errors"):
                first = body["errors"][0]
            code = first.get("errorCode") or first.get("statusCode")
            message = str(first.get("message") or f"HTTP {status}")
            cls = salesforce_error_class(status or None, code, message)
            outcomes.append(
                cls(
                    self.redacted(message),
                    vendor="salesforce",
                    operation="publish_presence_commands",
                    object=f"{PLATFORM_EVENT} (user {command.user_id}, status {command.status_id})",
                    error_code=code,
                    status=status or None,
                )
            )
        return outcomes

    # The platform event the runtime publishes and the Lightning bridge subscribes to.
    _COMMAND_EVENT_FIELDS = (
        ("UserId__c", "User Id", 18),
        ("StatusId__c", "Status Id", 18),
        ("CommandId__c", "Command Id", 64),
    )

    def ensure_presence_command_event(self) -> bool:
        """Deploy the ``Omni_Presence_Command__e`` platform event (CustomObject, publishAfterCommit) if it is
        missing; returns True when it was created. Idempotent: an existing event is left as it is."""
        about = f"CustomObject {PLATFORM_EVENT!r}"

        def run(conn: Connection) -> bool:
            if self.metadata_read(conn, "CustomObject", PLATFORM_EVENT) is not None:
                return False
            fields = [
                self.metadata_type(conn, "CustomField", fullName=name, label=label, type="Text", length=length)
                for name, label, length in self._COMMAND_EVENT_FIELDS
            ]
            component = self.metadata_type(
                conn,
                "CustomObject",
                fullName=PLATFORM_EVENT,
                label="Omni Presence Command",
                pluralLabel="Omni Presence Commands",
                deploymentStatus="Deployed",
                eventType="HighVolume",
                publishBehavior="PublishAfterCommit",
                fields=fields,
            )
            self.check_results(self.metadata_call(conn, "createMetadata", [component]))
            return True

        created = self.run("ensure_presence_command_event", about, run)
        if created:
            self.invalidate_cache()
        return created

    # ------------------------------------------------------------------------------------------
    # File-based Metadata API deploy (the Salesforce-side bridge)

    def deploy_bridge(
        self,
        zip_bytes: bytes,
        *,
        run_tests: Sequence[str],
        timeout: float = 120,
        poll_interval: float = 0.5,
    ) -> DeployOutcome:
        """Deploy a Metadata API zip (``package.xml`` at its root) with rollbackOnError, and wait for it.

        ``run_tests`` are the Apex test classes to run (testLevel RunSpecifiedTests): a production org runs tests
        on every deploy that holds Apex and refuses NoTestRun, and without a level would run every local test of
        the org; the bridge's own test covers its class. Empty: no test level, the org's default.
        A failed deploy raises InvalidRequest naming the first failed component (or test) and its problem.
        """
        options: dict[str, Any] = {"testLevel": "RunSpecifiedTests", "tests": list(run_tests)} if run_tests else {}
        return deploy_zip(
            self,
            zip_bytes,
            "deploy_bridge",
            timeout=timeout,
            poll_interval=poll_interval,
            hint="Nothing was deployed (rollbackOnError). Fix the component in salesforce/bridge/ and run `pulumi up`.",
            **options,
        )

    def remove_bridge(self, zip_bytes: bytes, *, timeout: float = 120, poll_interval: float = 0.5) -> DeployOutcome:
        """Deploy a removal zip (an empty ``package.xml`` and ``destructiveChanges.xml``), and wait for it.

        ignoreWarnings: a component that is already gone is a warning ("No ApexClass named: X found") that would
        otherwise fail the deploy, so removing a removed bridge succeeds. No test level: the tests that would run
        are being deleted by this very deploy; the org applies its default (a production org runs its local
        tests when Apex is deleted, other orgs none). Its outcome lists what was deleted.
        """
        return deploy_zip(
            self,
            zip_bytes,
            "remove_bridge",
            timeout=timeout,
            poll_interval=poll_interval,
            ignoreWarnings=True,
            hint="Nothing was removed (rollbackOnError). Remove the components by hand (Setup, or `sf project deploy "
            "start` with the destructive manifest), then run `pulumi destroy` again.",
        )
