"""The OAuth client app CXone signs in with: an External Client App (the default: three Metadata API components,
ExternalClientApplication + ExtlClntAppGlobalOauthSettings + ExtlClntAppOauthSettings) or a legacy Connected
App (one ConnectedApp component). The only code that reads or writes them in the org.

The consumer key and secret are generated here (``secrets``) and written with the app; the secret is returned
once, inside ``CreatedOAuthApp`` (a ``SecretStr``), redacted from every error, and never read back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

from pydantic import SecretStr

from presence_sync.clients import salesforce_models as m
from presence_sync.clients.errors import InvalidRequest, PermissionDenied, VendorError
from presence_sync.clients.salesforce_models import CreatedOAuthApp, OAuthAppRecord, OAuthAppSpec, OAuthAppType
from presence_sync.clients.salesforce_session import Connection, SalesforceSession

__all__ = ["OAuthAppProxy"]

log = logging.getLogger(__name__)


class OAuthAppProxy:
    def __init__(self, session: SalesforceSession) -> None:
        self.session = session

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
        self.session.redact_secret(consumer_secret.get_secret_value())
        if spec.type == "connected_app":
            self._create_connected_app(spec, scopes, consumer_key, consumer_secret, about)
        else:
            self._create_eca(spec, scopes, consumer_key, consumer_secret, about)
        record = self.session.read_back("create_oauth_app", about, lambda: self.read_oauth_app(spec.type, spec.name))
        return CreatedOAuthApp(record=record, consumer_secret=consumer_secret)

    def _create_connected_app(
        self, spec: OAuthAppSpec, scopes: list[str], consumer_key: str, consumer_secret: SecretStr, about: str
    ) -> None:
        def run(conn: Connection) -> None:
            app = self._connected_app_metadata(conn, spec, scopes, consumer_key, consumer_secret)
            self.session.check_results(self.session.metadata_call(conn, "createMetadata", [app]))

        try:
            self.session.write("create_oauth_app", about, run)
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

    def _create_eca(
        self, spec: OAuthAppSpec, scopes: list[str], consumer_key: str, consumer_secret: SecretStr, about: str
    ) -> None:
        created: list[tuple[str, str]] = []
        try:
            for type_name, component in _eca_components(spec, scopes, consumer_key, consumer_secret):
                save = partial(self.session.metadata_save, "createMetadata", type_name, component)
                self.session.write("create_oauth_app", about, save)
                created.append((type_name, component["fullName"]))
        except VendorError:
            for type_name, full_name in reversed(created):
                try:
                    delete = partial(self.session.metadata_delete, type_name, full_name)
                    self.session.write("delete_oauth_app", about, delete)
                except VendorError as cleanup_error:
                    log.warning("salesforce: could not roll back %s %s: %s", type_name, full_name, cleanup_error)
            raise

    def read_oauth_app(self, app_type: OAuthAppType, name: str) -> OAuthAppRecord | None:
        """The app as Salesforce reports it, or None. Never includes the consumer secret."""
        about = f"{_app_type_name(app_type)} {name!r}"

        def run(conn: Connection) -> OAuthAppRecord | None:
            if app_type == "connected_app":
                app = self.session.metadata_read(conn, "ConnectedApp", name)
                return None if app is None else _connected_app_record(app)
            app = self.session.metadata_read(conn, "ExternalClientApplication", name)
            if app is None:
                return None
            global_name, oauth_name = m.eca_component_names(name)
            return _eca_record(
                app,
                self.session.metadata_read(conn, "ExtlClntAppGlobalOauthSettings", global_name),
                self.session.metadata_read(conn, "ExtlClntAppOauthSettings", oauth_name),
            )

        return self.session.run("read_oauth_app", about, run)

    def update_oauth_app(self, spec: OAuthAppSpec) -> OAuthAppRecord:
        """Change label, contact, callback URL, scopes and flags. Key and secret are kept as they are."""
        about = f"{_app_type_name(spec.type)} {spec.name!r}"
        scopes = self._scopes(spec.scopes, "update_oauth_app", about)

        if spec.type == "connected_app":

            def run(conn: Connection) -> None:
                app = self._connected_app_metadata(conn, spec, scopes, None, None)
                self.session.check_results(self.session.metadata_call(conn, "updateMetadata", [app]))

            self.session.write("update_oauth_app", about, run)
        else:
            for type_name, component in _eca_components(spec, scopes, None, None):
                self.session.write(
                    "update_oauth_app",
                    about,
                    partial(self.session.metadata_save, "updateMetadata", type_name, component),
                )
        return self.session.read_back("update_oauth_app", about, lambda: self.read_oauth_app(spec.type, spec.name))

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
            self.session.write("delete_oauth_app", about, partial(self.session.metadata_delete, type_name, full_name))

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
            "oauthConfig": self.session.metadata_type(conn, "ConnectedAppOauthConfig", **oauth),
        }
        if spec.description:
            fields["description"] = spec.description
        return self.session.metadata_type(conn, "ConnectedApp", **fields)


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
