"""``SalesforceClient``: the org as the runtime and the tools use it -- the presence feed, presence commands, the
bridge deploy, users -- on the shared ``SalesforceSession`` (login, retries, error mapping, redaction, request
counting, the read cache).

Each resource kind's own calls live in its proxy, ``presence_sync/clients/<kind>.py`` (presence statuses,
profile presence access, OAuth client apps, service channels), which the providers and the export use; the
client exposes them as attributes (``client.statuses``...) for everyone else.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, TypeVar, cast
from xml.etree.ElementTree import Element, ParseError

import zeep.exceptions
from defusedxml.ElementTree import fromstring as parse_xml
from pydantic import SecretStr
from requests.adapters import BaseAdapter
from simple_salesforce import format_soql
from simple_salesforce.exceptions import SalesforceError

from presence_sync.clients import salesforce_models as m
from presence_sync.clients.errors import (
    AlreadyExists,
    InvalidRequest,
    PermissionDenied,
    ServiceUnavailable,
    VendorError,
    salesforce_error_class,
)
from presence_sync.clients.presence_status import PresenceStatusProxy
from presence_sync.clients.retry import RetryPolicy
from presence_sync.clients.salesforce_models import (
    CreatedOAuthApp,
    CurrentPresence,
    DeployOutcome,
    Grant,
    OAuthAppRecord,
    OAuthAppSpec,
    OAuthAppType,
    PresenceCommand,
    PresenceStatusRecord,
    Profile,
    ServiceChannelRecord,
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
_GRANT_ENTITY_TYPE = "ServicePresenceStatus"  # SetupEntityAccess.SetupEntityType for presence statuses
_MD_NS = {"mt": "http://soap.sforce.com/2006/04/metadata"}
_ID_CHUNK = 200  # ids per IN (...) list: keeps each SOQL statement far below the 100k-character limit


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

    def list_service_channels(self) -> list[ServiceChannelRecord]:
        return self.channels.list_all()

    def cached_list_profiles(self) -> list[Profile]:
        return self.cached("profiles", self.list_profiles)

    def cached_list_status_grants(self) -> list[Grant]:
        return self.cached("grants", self.list_status_grants)

    def cached_list_users(self) -> list[User]:
        return self.cached("users", self.list_users)

    # ------------------------------------------------------------------------------------------
    # Profiles and grants

    def list_profiles(self) -> list[Profile]:
        """Profiles with the PermissionSet each owns (one SOQL query on PermissionSet)."""

        def run(conn: Connection) -> list[Profile]:
            rows = self.query_all(
                conn,
                "SELECT Id, ProfileId, Profile.Name FROM PermissionSet WHERE IsOwnedByProfile = true "
                "ORDER BY Profile.Name",
            )
            return [m.profile_from_record(row) for row in rows if row.get("ProfileId")]

        return self.run("list_profiles", "Profile", run)

    def list_status_grants(self, permission_set_ids: Iterable[str] | None = None) -> list[Grant]:
        """Presence-status grants (SetupEntityAccess rows), optionally only for some permission sets."""
        base = (
            "SELECT Id, ParentId, SetupEntityId FROM SetupEntityAccess "
            f"WHERE SetupEntityType = {m.soql_quote(_GRANT_ENTITY_TYPE)}"
        )
        if permission_set_ids is None:
            statements = [base]
        else:
            ids = sorted(set(permission_set_ids))
            if not ids:
                return []
            chunks = [ids[i : i + _ID_CHUNK] for i in range(0, len(ids), _ID_CHUNK)]
            statements = [f"{base} AND ParentId IN {m.soql_id_list(chunk)}" for chunk in chunks]

        def run(conn: Connection) -> list[Grant]:
            return [m.grant_from_record(row) for soql in statements for row in self.query_all(conn, soql)]

        return self.run("list_status_grants", "SetupEntityAccess", run)

    def grant_status(self, permission_set_id: str, status_id: str) -> Grant:
        """Grant a status to a (profile-owned) permission set. Already granted returns the existing grant."""
        about = f"SetupEntityAccess (PermissionSet {permission_set_id}, ServicePresenceStatus {status_id})"

        def run(conn: Connection) -> Grant:
            result = self.sobject(conn, "SetupEntityAccess").create(
                {"ParentId": permission_set_id, "SetupEntityId": status_id}
            )
            return Grant(id=result["id"], permission_set_id=permission_set_id, status_id=status_id)

        try:
            return self.write("grant_status", about, run)
        except AlreadyExists:
            # Also covers a create whose response was lost and that the retry repeated.
            existing = [g for g in self.list_status_grants([permission_set_id]) if g.status_id == status_id]
            if existing:
                return existing[0]
            raise

    def revoke_grant(self, grant_id: str) -> None:
        """Delete a SetupEntityAccess row. Already gone is success."""

        def run(conn: Connection) -> None:
            try:
                self.sobject(conn, "SetupEntityAccess").delete(grant_id)
            except SalesforceError as exc:
                if exc.status == 404:
                    return
                raise

        self.write("revoke_grant", f"SetupEntityAccess {grant_id}", run)

    # ------------------------------------------------------------------------------------------
    # Users

    def list_users(self) -> list[User]:
        def run(conn: Connection) -> list[User]:
            rows = self.query_all(conn, "SELECT Id, Username, Email, ProfileId, IsActive FROM User ORDER BY Username")
            return [m.user_from_record(row) for row in rows]

        return self.run("list_users", "User", run)

    # ------------------------------------------------------------------------------------------
    # OAuth apps (External Client App by default, Connected App as the legacy option)

    def create_oauth_app(self, spec: OAuthAppSpec) -> CreatedOAuthApp:
        """Create the app with a consumer key and secret generated here (``secrets``), read it back.

        The secret goes back to the caller only inside ``CreatedOAuthApp.consumer_secret`` (a
        ``SecretStr``); it is never logged and ``read_oauth_app`` never returns it. An ECA is three
        Metadata components; if a later one fails, the earlier ones are deleted again so that a failed
        create leaves nothing behind.
        """
        about = f"{_app_type_name(spec.type)} {spec.name!r}"
        scopes = self._scopes(spec.scopes, "create_oauth_app", about)
        consumer_key = m.generate_consumer_key()
        consumer_secret = m.generate_consumer_secret()
        self.redact_secret(consumer_secret.get_secret_value())

        if spec.type == "connected_app":

            def run_connected(conn: Connection) -> None:
                app = self._connected_app_metadata(conn, spec, scopes, consumer_key, consumer_secret)
                self.check_results(self.metadata_call(conn, "createMetadata", [app]))

            try:
                self.write("create_oauth_app", about, run_connected)
            except PermissionDenied as exc:
                raise PermissionDenied(
                    exc.detail,
                    vendor="salesforce",
                    operation=exc.operation,
                    object=exc.object,
                    field=exc.field,
                    error_code=exc.error_code,
                    status=exc.status,
                    hint="Salesforce restricts new Connected Apps (Spring '26): use an External Client App "
                    "(the default), or have an admin allow Connected App creation in the org.",
                ) from None
        else:
            created: list[tuple[str, str]] = []
            try:
                for type_name, component in self._eca_components(spec, scopes, consumer_key, consumer_secret):
                    self.write(
                        "create_oauth_app", about, partial(self.metadata_save, "createMetadata", type_name, component)
                    )
                    created.append((type_name, component["fullName"]))
            except VendorError:
                for type_name, full_name in reversed(created):
                    try:
                        self.write("delete_oauth_app", about, partial(self.metadata_delete, type_name, full_name))
                    except VendorError as cleanup_error:
                        log.warning("salesforce: could not roll back %s %s: %s", type_name, full_name, cleanup_error)
                raise
        record = self.read_back("create_oauth_app", about, lambda: self.read_oauth_app(spec.type, spec.name))
        return CreatedOAuthApp(record=record, consumer_secret=consumer_secret)

    def read_oauth_app(self, app_type: OAuthAppType, name: str) -> OAuthAppRecord | None:
        """The app as Salesforce reports it, or None. Never includes the consumer secret."""
        about = f"{_app_type_name(app_type)} {name!r}"

        def run(conn: Connection) -> OAuthAppRecord | None:
            if app_type == "connected_app":
                app = self.metadata_read(conn, "ConnectedApp", name)
                return None if app is None else _connected_app_record(app)
            app = self.metadata_read(conn, "ExternalClientApplication", name)
            if app is None:
                return None
            global_name, oauth_name = m.eca_component_names(name)
            return _eca_record(
                app,
                self.metadata_read(conn, "ExtlClntAppGlobalOauthSettings", global_name),
                self.metadata_read(conn, "ExtlClntAppOauthSettings", oauth_name),
            )

        return self.run("read_oauth_app", about, run)

    def update_oauth_app(self, spec: OAuthAppSpec) -> OAuthAppRecord:
        """Change label, contact, callback URL, scopes and flags. Key and secret are kept as they are."""
        about = f"{_app_type_name(spec.type)} {spec.name!r}"
        scopes = self._scopes(spec.scopes, "update_oauth_app", about)

        if spec.type == "connected_app":

            def run(conn: Connection) -> None:
                app = self._connected_app_metadata(conn, spec, scopes, None, None)
                self.check_results(self.metadata_call(conn, "updateMetadata", [app]))

            self.write("update_oauth_app", about, run)
        else:
            for type_name, component in self._eca_components(spec, scopes, None, None):
                self.write(
                    "update_oauth_app", about, partial(self.metadata_save, "updateMetadata", type_name, component)
                )
        return self.read_back("update_oauth_app", about, lambda: self.read_oauth_app(spec.type, spec.name))

    def delete_oauth_app(self, app_type: OAuthAppType, name: str) -> None:
        """Delete the app (for an ECA: its OAuth settings first, then the app). Already gone is success."""
        about = f"{_app_type_name(app_type)} {name!r}"
        if app_type == "connected_app":
            components = [("ConnectedApp", name)]
        else:
            global_name, oauth_name = m.eca_component_names(name)
            components = [
                ("ExtlClntAppOauthSettings", oauth_name),
                ("ExtlClntAppGlobalOauthSettings", global_name),
                ("ExternalClientApplication", name),
            ]
        for type_name, full_name in components:
            self.write("delete_oauth_app", about, partial(self.metadata_delete, type_name, full_name))

    def _scopes(self, scopes: Iterable[str], operation: str, about: str) -> list[str]:
        try:
            return m.normalize_scopes(scopes)
        except ValueError as exc:
            raise InvalidRequest(
                str(exc), vendor="salesforce", operation=operation, object=about, field="scopes"
            ) from None

    def _connected_app_metadata(
        self,
        conn: Connection,
        spec: OAuthAppSpec,
        scopes: list[str],
        consumer_key: str | None,
        consumer_secret: SecretStr | None,
    ) -> Any:
        oauth: dict[str, Any] = {
            "callbackUrl": spec.callback_url,
            "isConsumerSecretOptional": not spec.require_secret_for_web_server_flow,
            "isSecretRequiredForRefreshToken": spec.require_secret_for_refresh_token,
            "scopes": scopes,
        }
        if consumer_key is not None:
            oauth["consumerKey"] = consumer_key
        if consumer_secret is not None:
            oauth["consumerSecret"] = consumer_secret.get_secret_value()
        fields: dict[str, Any] = {
            "fullName": spec.name,
            "label": spec.label,
            "contactEmail": spec.contact_email,
            "oauthConfig": self.metadata_type(conn, "ConnectedAppOauthConfig", **oauth),
        }
        if spec.description:
            fields["description"] = spec.description
        return self.metadata_type(conn, "ConnectedApp", **fields)

    @staticmethod
    def _eca_components(
        spec: OAuthAppSpec, scopes: list[str], consumer_key: str | None, consumer_secret: SecretStr | None
    ) -> list[tuple[str, dict[str, Any]]]:
        global_name, oauth_name = m.eca_component_names(spec.name)
        app: dict[str, Any] = {
            "fullName": spec.name,
            "label": spec.label,
            "contactEmail": spec.contact_email,
            "distributionState": "Local",
        }
        if spec.description:
            app["description"] = spec.description
        global_settings: dict[str, Any] = {
            "fullName": global_name,
            "externalClientApplication": spec.name,
            "label": global_name,
            "callbackUrl": spec.callback_url,
            "isConsumerSecretOptional": not spec.require_secret_for_web_server_flow,
            "isSecretRequiredForRefreshToken": spec.require_secret_for_refresh_token,
        }
        if consumer_key is not None:
            global_settings["consumerKey"] = consumer_key
        if consumer_secret is not None:
            global_settings["consumerSecret"] = consumer_secret.get_secret_value()
        oauth_settings = {
            "fullName": oauth_name,
            "externalClientApplication": spec.name,
            "label": oauth_name,
            "commaSeparatedOauthScopes": ", ".join(scopes),
        }
        return [
            ("ExternalClientApplication", app),
            ("ExtlClntAppGlobalOauthSettings", global_settings),
            ("ExtlClntAppOauthSettings", oauth_settings),
        ]

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
            soql += f" AND LastModifiedDate >= {m.soql_datetime(since)}"
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
        return self._deploy_zip(
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
        return self._deploy_zip(
            zip_bytes,
            "remove_bridge",
            timeout=timeout,
            poll_interval=poll_interval,
            ignoreWarnings=True,
            hint="Nothing was removed (rollbackOnError). Remove the components by hand (Setup, or `sf project deploy "
            "start` with the destructive manifest), then run `pulumi destroy` again.",
        )

    def _deploy_zip(
        self, zip_bytes: bytes, operation: str, *, timeout: float, poll_interval: float, hint: str, **options: Any
    ) -> DeployOutcome:
        """The file-based deploy both use: simple-salesforce's ``deploy`` (DeployOptions from ``options``, its
        kwarg names: testLevel, tests, ignoreWarnings...; rollbackOnError forced) POSTed through our session, then
        ``checkDeployStatus`` (includeDetails) polled with backoff until done; not done within ``timeout`` s,
        ServiceUnavailable."""
        about = "Metadata API deploy"

        def start(conn: Connection) -> str:
            mdapi = conn.mdapi(self._session)
            async_id, _state = _soap_call(lambda: mdapi.deploy(io.BytesIO(zip_bytes), sandbox=False, **options))
            if not async_id:
                raise ServiceUnavailable(
                    "deploy answered no AsyncResult id", vendor="salesforce", operation=operation, object=about
                )
            return str(async_id)

        def check(async_id: str, conn: Connection) -> Element:
            mdapi = conn.mdapi(self._session)
            return cast(Element, _soap_call(lambda: mdapi._retrieve_deploy_result(async_id)))

        async_id = self.write(operation, about, start)
        about = f"Metadata API deploy {async_id}"
        deadline = time.monotonic() + timeout
        delay = poll_interval
        while True:
            result = self.run(operation, about, partial(check, async_id))
            if _text(result, "done") == "true":
                break
            if time.monotonic() + delay > deadline:
                raise ServiceUnavailable(
                    f"not done after {timeout:g} s (status {_text(result, 'status') or 'unknown'})",
                    vendor="salesforce",
                    operation=operation,
                    object=about,
                    hint="The org may be busy; run the command again, or see Setup > Deployment Status.",
                )
            self._retry.sleep(delay)
            delay = min(delay * 2, 5.0)
        self.invalidate_cache()
        return _deploy_outcome(result, about, operation, hint)


def _soap_call(call: Callable[[], T]) -> T:
    """simple-salesforce's hand-written SOAP calls raise SalesforceError with the fault as text: turn a SOAP
    fault back into zeep's Fault, so it is mapped (and an expired session re-logs in) like the CRUD calls."""
    try:
        return call()
    except ParseError as exc:  # a 200 that is not XML
        raise zeep.exceptions.XMLSyntaxError(f"unreadable Metadata API response: {exc}") from None
    except SalesforceError as exc:
        content = exc.content if isinstance(exc.content, str) else ""
        if "faultcode" not in content:
            raise
        try:
            fault = parse_xml(content.encode())
        except Exception:  # not XML after all: keep simple-salesforce's error
            raise exc from None
        texts = {node.tag.rpartition("}")[2]: node.text or "" for node in fault.iter()}  # qualified or not
        code, message = texts.get("faultcode", ""), texts.get("faultstring", "")
        raise zeep.exceptions.Fault(message, code=code) from None


def _text(node: Element, name: str) -> str:
    return node.findtext(f"mt:{name}", "", _MD_NS) or ""


def _count(node: Element, name: str) -> int:
    try:
        return int(_text(node, name) or 0)
    except ValueError:
        return 0


def _deploy_outcome(result: Element, about: str, operation: str, hint: str) -> DeployOutcome:
    status = _text(result, "status")
    if _text(result, "success") != "true" or status != "Succeeded":
        failures = result.findall("mt:details/mt:componentFailures", _MD_NS)
        problems = [
            f"{_text(f, 'componentType') or 'component'} {_text(f, 'fullName')} ({_text(f, 'fileName')}): "
            f"{_text(f, 'problem')}".replace(" ()", "")
            for f in failures
        ] + [
            f"Apex test {_text(f, 'name')}{'.' + _text(f, 'methodName') if _text(f, 'methodName') else ''}: "
            f"{_text(f, 'message')}"
            for f in result.findall("mt:details/mt:runTestResult/mt:failures", _MD_NS)
        ]
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            message = problems[0] + more
        else:
            message = _text(result, "errorMessage") or f"deploy {status or 'failed'}"
        code = _text(result, "errorStatusCode") or None
        raise InvalidRequest(
            message, vendor="salesforce", operation=operation, object=about, error_code=code, hint=hint
        )
    successes = [c for c in result.findall("mt:details/mt:componentSuccesses", _MD_NS) if _text(c, "componentType")]
    return DeployOutcome(
        id=_text(result, "id"),
        status=status,
        components_deployed=_count(result, "numberComponentsDeployed"),
        components_total=_count(result, "numberComponentsTotal"),
        components=[
            f"{_text(c, 'componentType')} {_text(c, 'fullName')}"
            for c in successes
            if _text(c, "deleted") != "true" and not _text(c, "problem")
        ],
        deleted=[
            f"{_text(c, 'componentType')} {_text(c, 'fullName')}" for c in successes if _text(c, "deleted") == "true"
        ],
        warnings=[_text(c, "problem") for c in successes if _text(c, "problem")],
    )


def _app_type_name(app_type: OAuthAppType) -> str:
    return "ConnectedApp" if app_type == "connected_app" else "ExternalClientApplication"


def _connected_app_record(app: Any) -> OAuthAppRecord:
    oauth = getattr(app, "oauthConfig", None)
    return OAuthAppRecord(
        type="connected_app",
        name=str(app.fullName),
        label=str(app.label or app.fullName),
        contact_email=getattr(app, "contactEmail", None),
        callback_url=getattr(oauth, "callbackUrl", None),
        scopes=[str(s) for s in (getattr(oauth, "scopes", None) or [])],
        require_secret_for_web_server_flow=not bool(getattr(oauth, "isConsumerSecretOptional", False)),
        require_secret_for_refresh_token=_flag(getattr(oauth, "isSecretRequiredForRefreshToken", None), True),
        consumer_key=getattr(oauth, "consumerKey", None),
    )


def _eca_record(app: Any, global_settings: Any | None, oauth_settings: Any | None) -> OAuthAppRecord:
    scopes_text = getattr(oauth_settings, "commaSeparatedOauthScopes", None) or ""
    return OAuthAppRecord(
        type="external_client_app",
        name=str(app.fullName),
        label=str(getattr(app, "label", None) or app.fullName),
        contact_email=getattr(app, "contactEmail", None),
        callback_url=getattr(global_settings, "callbackUrl", None),
        scopes=[s.strip() for s in scopes_text.split(",") if s.strip()],
        require_secret_for_web_server_flow=not bool(getattr(global_settings, "isConsumerSecretOptional", False)),
        require_secret_for_refresh_token=_flag(getattr(global_settings, "isSecretRequiredForRefreshToken", None), True),
        consumer_key=getattr(global_settings, "consumerKey", None),
    )


def _flag(value: Any, default: bool) -> bool:
    return default if value is None else bool(value)
