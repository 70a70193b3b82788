"""The OAuth client app in the spec (``salesforce.oauthApp``): its model, its checks, and how a live app becomes a
spec entry. The same name in every layer: the org's calls are in ``presence_sync/clients/oauth_client_app.py``,
the provider in ``providers/``, the resource in ``resources/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from .base import Issue, Path, SpecModel, StrictBool, blank, duplicates, email_issue, name_issues, suggest, url_issue
from .names import CONNECTED_APP_NAME_MAX, DEVELOPER_NAME_PATTERN, EXTERNAL_CLIENT_APP_NAME_MAX
from .scopes import SCOPES, metadata_scopes
from .text import shown as _q

if TYPE_CHECKING:
    from presence_sync.clients.salesforce_models import OAuthAppRecord

__all__ = ["OAuthApp", "check_oauth_app", "exported_app", "scope_names"]


class OAuthApp(SpecModel):
    """The OAuth client app CXone uses to reach Salesforce."""

    app_type: Literal["external_client_app", "connected_app"] = Field(
        default="external_client_app",
        alias="type",
        description="external_client_app (default) or connected_app (legacy: new orgs can't create these "
        "since Spring '26).",
    )
    name: str = Field(
        description=f"Developer name (External Client App: at most {EXTERNAL_CLIENT_APP_NAME_MAX} characters).",
        json_schema_extra={"pattern": DEVELOPER_NAME_PATTERN, "maxLength": CONNECTED_APP_NAME_MAX},
    )
    label: str = Field(description="Name shown in Setup.")
    contact_email: str = Field(description="Contact e-mail required by Salesforce.")
    description: str | None = Field(default=None, description="Optional description shown in Setup.")
    callback_url: str = Field(
        description="OAuth callback URL. https; http://localhost or 127.0.0.1 only in a sandbox spec."
    )
    scopes: tuple[str, ...] = Field(
        description="OAuth scope names as Setup shows them.",
        json_schema_extra={"items": {"enum": list(SCOPES)}},
    )
    require_secret_for_web_server_flow: StrictBool = Field(default=True, description="Setup checkbox of that name.")
    require_secret_for_refresh_token_flow: StrictBool = Field(default=True, description="Setup checkbox of that name.")
    adopt: StrictBool = Field(default=False, description="Take over an app that already exists instead of failing.")

    def metadata_scopes(self) -> tuple[str, ...]:
        """`ConnectedAppOauthAccessScope` values for the metadata ("Full", "Api", "Web", "RefreshToken", ...).
        An External Client App joins them with ", " into `commaSeparatedOauthScopes`."""
        return metadata_scopes(self.scopes)

    @property
    def is_consumer_secret_optional(self) -> bool:
        """Metadata flag `isConsumerSecretOptional`: the inverse of "Require Secret for Web Server Flow"."""
        return not self.require_secret_for_web_server_flow

    @property
    def name_max_length(self) -> int:
        return EXTERNAL_CLIENT_APP_NAME_MAX if self.app_type == "external_client_app" else CONNECTED_APP_NAME_MAX


def check_oauth_app(app: OAuthApp, *, sandbox: bool) -> list[Issue]:
    at: Path = ("salesforce", "oauthApp")
    kind = "External Client App" if app.app_type == "external_client_app" else "Connected App"
    issues = name_issues((*at, "name"), app.name, app.name_max_length, f"{kind} name")
    if blank(app.label):
        issues.append(Issue((*at, "label"), "label is empty", "e.g. label: CXone Presence Sync"))
    issues += email_issue((*at, "contactEmail"), app.contact_email, "contactEmail")
    issues += url_issue((*at, "callbackUrl"), app.callback_url, "callbackUrl", local_http=True, sandbox=sandbox)
    if not app.scopes:
        issues.append(Issue((*at, "scopes"), "lists no OAuth scope", "e.g. scopes: [api, refresh_token]"))
    valid = ", ".join(SCOPES)
    for k, scope in enumerate(app.scopes):
        if scope not in SCOPES:
            issues.append(
                Issue(
                    (*at, "scopes", k),
                    f"unknown OAuth scope {_q(scope)}",
                    suggest(scope, SCOPES, f"Valid scopes: {valid}"),
                )
            )
    for k, first in duplicates(app.scopes, fold=False):
        issues.append(Issue((*at, "scopes", k), f"scope {_q(app.scopes[k])} is listed twice (also scopes[{first}])"))
    return issues


def scope_names(metadata_values: Sequence[str]) -> list[str]:
    """Metadata scope values (``Full``, ``RefreshToken``...) -> the spec's Setup names, sorted, no duplicates."""
    back: dict[str, str] = {}
    for name, values in SCOPES.items():
        for value in values:
            back.setdefault(value, name)  # the first name Setup lists wins: Web -> web, not visualforce
    return sorted({back.get(value, value) for value in metadata_values})


def exported_app(app: OAuthAppRecord) -> dict[str, Any]:
    """The live app as a spec entry that adopts it (never its consumer key or secret)."""
    entry: dict[str, Any] = {
        "adopt": True,
        "type": app.type,
        "name": app.name,
        "label": app.label,
        "contactEmail": app.contact_email,
        "callbackUrl": app.callback_url,
        "scopes": scope_names(app.scopes),
        "requireSecretForWebServerFlow": app.require_secret_for_web_server_flow,
        "requireSecretForRefreshTokenFlow": app.require_secret_for_refresh_token,
    }
    return {key: value for key, value in entry.items() if value is not None}
