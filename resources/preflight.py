"""The spec against the live org and tenant, checked by the program before any resource is declared.

Why here and not (only) in the providers' ``check``: the program runs at ``pulumi preview`` and at ``pulumi
up`` (also ``up --skip-preview``, which the automation API uses) before it registers anything, so a problem
found here stops the run with no resource registered and so no write; it knows the spec file, so each problem
is one line with ``file:line:column: path`` like ``presence-sync validate``'s; it sees the whole spec, so
every problem is listed at once rather than the first resource's; and each list is read once per run. What it
cannot see is the stack's state: whether a status that exists in the org is already this stack's is known to
the provider's ``check`` only (``providers/presence_status.py``), which reports that case at preview.

Checked, read-only (list calls through the vendor clients):

* every ``salesforce.profileAccess[].profile`` is a profile of the org (names match exactly);
* every ``salesforce.statuses[].channels[]`` is a ServiceChannel developer name of the org (or one the spec
  creates: ``SalesforceSpec.planned_channel_names``);
* every ``salesforce.existingStatuses[]`` is a presence status of the org;
* ``cxone.accountMapping.accessKeyUser`` is an active CXone user.

Credentials come from where the providers take them (``providers.context``): the stack's connection file
(``presence-sync:connectionFile``) and the ``SF_*``/``CXONE_*`` environment, the environment winning.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from presence_sync.clients.cxone import Agent
from presence_sync.clients.errors import VendorError
from presence_sync.clients.presence_status import PresenceStatusProxy
from presence_sync.clients.salesforce import SalesforceClient
from presence_sync.clients.salesforce_models import PresenceStatusRecord, Profile, ServiceChannelRecord
from presence_sync.clients.service_channel import ServiceChannelProxy
from presence_sync.clients.settings import SettingsError
from presence_sync.spec import Problem, format_path
from presence_sync.spec.loader import one_line, positions_in
from presence_sync.spec.models import PresenceSpec
from presence_sync.spec.text import shown

PathT = tuple[str | int, ...]
LISTED_NAMES = 12  # a hint lists at most this many of the names that do exist


class SalesforceReads(Protocol):
    def list_profiles(self) -> list[Profile]: ...
    def list_service_channels(self) -> list[ServiceChannelRecord]: ...
    def list_presence_statuses(self) -> list[PresenceStatusRecord]: ...


class OrgReads:
    """`SalesforceReads` from the kinds' proxies on one Salesforce client."""

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client

    def list_profiles(self) -> list[Profile]:
        return self.client.list_profiles()

    def list_service_channels(self) -> list[ServiceChannelRecord]:
        return ServiceChannelProxy(self.client).list_all()

    def list_presence_statuses(self) -> list[PresenceStatusRecord]:
        return PresenceStatusProxy(self.client).list_all()


class CxoneReads(Protocol):
    def list_agents(self, *, active_only: bool = False) -> list[Agent]: ...


@dataclass(frozen=True)
class Finding:
    """One spec value the vendor does not have: where in the spec, what, and what to do."""

    path: PathT
    message: str
    hint: str | None = None


class PreflightError(Exception):
    """The spec names things the org or tenant does not have; the message is one line per problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the spec, checked against the org and tenant"
        return "\n".join([head + " (nothing was written):", *(str(problem) for problem in self.problems)])


# -- the checks -------------------------------------------------------------------------------------------


def salesforce_findings(spec: PresenceSpec, salesforce: SalesforceReads) -> list[Finding]:
    sf = spec.salesforce
    findings: list[Finding] = []
    if sf.profile_access:
        profiles = [profile.name for profile in salesforce.list_profiles()]
        for index, access in enumerate(sf.profile_access):
            if access.profile not in profiles:
                findings.append(
                    Finding(
                        ("salesforce", "profileAccess", index, "profile"),
                        f"Salesforce profile {shown(access.profile)} does not exist in the org",
                        _name_hint(access.profile, profiles, "profiles in the org"),
                    )
                )
    if any(status.channels for status in sf.statuses):
        channels = [channel.developer_name for channel in salesforce.list_service_channels()]
        planned = sf.planned_channel_names()
        for index, status in enumerate(sf.statuses):
            for position, channel in enumerate(status.channels):
                if channel not in channels and channel not in planned:
                    findings.append(
                        Finding(
                            ("salesforce", "statuses", index, "channels", position),
                            f"service channel {shown(channel)} does not exist in the org",
                            _name_hint(channel, channels, "channels (developer names) in the org"),
                        )
                    )
    if sf.existing_statuses:
        statuses = [status.developer_name for status in salesforce.list_presence_statuses()]
        for index, name in enumerate(sf.existing_statuses):
            if name not in statuses:
                hint = _name_hint(name, statuses, "statuses in the org")
                message = (
                    f"presence status {shown(name)} does not exist in the org (existingStatuses only refer to "
                    "statuses the org already has)"
                )
                hint += "; to have the stack create it, list it under salesforce.statuses instead"
                findings.append(Finding(("salesforce", "existingStatuses", index), message, hint))
    return findings


def cxone_findings(spec: PresenceSpec, cxone: CxoneReads) -> list[Finding]:
    email = spec.cxone.account_mapping.access_key_user
    path: PathT = ("cxone", "accountMapping", "accessKeyUser")
    agents = cxone.list_agents()
    found = [agent for agent in agents if (agent.email or "").casefold() == email.casefold()]
    if not found:
        emails = [agent.email for agent in agents if agent.email and agent.is_active]
        return [
            Finding(
                path,
                f"CXone user {shown(email)} does not exist in the tenant",
                _name_hint(email, emails, "active users"),
            )
        ]
    if not any(agent.is_active for agent in found):
        return [
            Finding(
                path,
                f"CXone user {shown(email)} is deactivated; an account mapping's access-key user must stay active",
                "reactivate the user in CXone, or name an active user",
            )
        ]
    return []


def _name_hint(name: str, known: Iterable[str], what: str) -> str:
    names = sorted(set(known))
    same_but_case = [candidate for candidate in names if candidate.casefold() == name.casefold()]
    close = same_but_case or difflib.get_close_matches(name, names, n=1)
    listing = ", ".join(shown(candidate) for candidate in names[:LISTED_NAMES]) or "none"
    if len(names) > LISTED_NAMES:
        listing += f", ... ({len(names)} in all)"
    lead = f"did you mean {shown(close[0])}? " if close else ""
    return f"{lead}{what}: {listing}"


# -- running them ------------------------------------------------------------------------------------------


def check_against_vendors(
    spec: PresenceSpec,
    salesforce: Callable[[], SalesforceReads],
    cxone: Callable[[], CxoneReads],
) -> None:
    """Raise `PreflightError` listing every finding, located in the spec's file; return when there is none.
    A vendor that cannot be reached (or credentials that are missing) is one problem too: preview must not
    pass unchecked."""
    checks: dict[str, Callable[[], list[Finding]]] = {
        "Salesforce": lambda: salesforce_findings(spec, salesforce()),
        "CXone": lambda: cxone_findings(spec, cxone()),
    }
    findings: list[Finding] = []
    for side, check in checks.items():
        try:
            findings += check()
        except (VendorError, SettingsError, OSError) as error:
            hint = "check the SF_*/CXONE_* settings (README 'Environment variables') and that the vendor is up"
            findings.append(Finding((), f"could not check the spec against {side}: {one_line(str(error))}", hint))
    if findings:
        raise PreflightError(locate(spec.source, findings))


def locate(file: str | None, findings: Sequence[Finding]) -> list[Problem]:
    """Findings as the loader's one-line problems, with the line and column of each path in the file (the
    file was validated by `load_spec` just before, so it is within the loader's limits)."""
    position = positions_in(file)
    problems = []
    for finding in findings:
        line, column = (position(finding.path) if finding.path else None) or (None, None)
        hint = one_line(finding.hint) if finding.hint else None
        problems.append(
            Problem(file or "<spec>", format_path(finding.path), one_line(finding.message), hint, line, column)
        )
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))


def spec_locator(file: str | None) -> Callable[[PathT], str | None]:
    """path -> ``file:line:column: path``, the prefix of the providers' messages about that entry (the
    ``specLocation`` input). None for a spec that was not read from a file."""
    position = positions_in(file)

    def where(path: PathT) -> str | None:
        if not file:
            return None
        at = position(path)
        return f"{file}:{at[0]}:{at[1]}: {format_path(path)}" if at is not None else f"{file}: {format_path(path)}"

    return where


def vendor_settings(connection_file: str | None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The providers' settings (``providers.context.configure``): the connection file, then the environment."""
    from providers.context import read_connection_file

    environ = os.environ if environ is None else environ
    settings: dict[str, str] = {}
    if connection_file:
        settings.update(read_connection_file(Path(connection_file)))
    settings.update({key: value for key, value in environ.items() if key.startswith(("SF_", "CXONE_"))})
    ca_bundle = environ.get("REQUESTS_CA_BUNDLE") or settings.get("REQUESTS_CA_BUNDLE")
    if ca_bundle:
        settings["REQUESTS_CA_BUNDLE"] = ca_bundle
    return settings
