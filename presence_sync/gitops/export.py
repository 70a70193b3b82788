"""`presence-sync export --stack S --output stacks/<env>.yaml`: bring a hand-made setup under code.

Reads the live org and tenant through our clients and writes a spec whose objects carry ``adopt: true``, so
the next ``pulumi up`` takes them over without recreating anything (it writes each object with the values it
already has) and a ``pulumi preview`` after it shows no changes.

What is exported (and why):

* **presence rules**: every rule of the Salesforce partner, maps in the vendor's order (the order is data:
  our providers compare it), teams by name, users by e-mail, codes as ``Unavailable:<name>``;
* **statuses**: those the rules refer to, plus any named with ``--status`` (or all with ``--all-statuses``).
  Not every status: adopting means the stack owns it, and ``pulumi destroy`` would delete it. Statuses a
  status-less org uses for other work stay out of the stack unless asked for;
* **profile access**: for each profile, the grants of exported statuses (grants of other statuses are
  neither exported nor touched: the provider leaves unlisted grants alone);
* **the OAuth app**: named by ``--oauth-app`` or taken from the existing spec (the output file, else the
  stack's spec); checked against the account mapping's consumer key. Never its secret;
* **the account mapping**: ``--account-mapping NAME``, else the selected one (or the only one); its access-key
  user by e-mail. Never a key secret or consumer secret;
* ``existingUnavailableCodes``: the codes the rules use (the tenant's; the stack never writes codes).

Deterministic: keys sorted, lists sorted where order carries no meaning, no timestamps; two exports of the
same live state are byte-identical. The ``runtime`` section (not live state) is kept from the output file if
it exists.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from presence_sync.clients.cxone import Agent, CxoneClient
from presence_sync.clients.cxone_account_mapping import AccountMapping, AccountMappingProxy
from presence_sync.clients.errors import VendorError
from presence_sync.clients.oauth_client_app import OAuthAppProxy
from presence_sync.clients.presence_rule import PresenceRule, PresenceRuleProxy
from presence_sync.clients.presence_status import PresenceStatusProxy
from presence_sync.clients.profile_presence_access import ProfileAccessProxy
from presence_sync.clients.salesforce import SalesforceClient
from presence_sync.clients.salesforce_models import Grant, OAuthAppRecord, OAuthAppType, PresenceStatusRecord, Profile
from presence_sync.gitops.progress import Progress
from presence_sync.gitops.project import project_dir, stack_settings
from presence_sync.spec import SpecError, load_spec
from presence_sync.spec.acd import PREVIOUS
from presence_sync.spec.cxone_account_mapping import MappingChoiceError, chosen_mapping, exported_mapping
from presence_sync.spec.oauth_client_app import exported_app, scope_names
from presence_sync.spec.presence_rule import exported_rule
from presence_sync.spec.presence_status import exported_status
from presence_sync.spec.profile_presence_access import exported_profile_access

HEADER = """\
# Exported by `presence-sync export` from the live Salesforce org and CXone tenant.
# `adopt: true` makes the next `pulumi up` take these objects over as they are; after that, `pulumi preview`
# shows no changes. No secrets are exported: the consumer secret and access key stay where they are.
"""

_LOCAL_HOSTS = ("localhost", "127.0.0.1")


class ExportError(Exception):
    """Something the user must decide or fix; the message says what."""


@dataclass
class ExportOptions:
    oauth_app: str | None = None
    oauth_app_type: OAuthAppType | None = None
    account_mapping: str | None = None
    statuses: Sequence[str] = ()
    all_statuses: bool = False
    keep: Mapping[str, Any] = field(default_factory=dict)
    """Sections kept from an existing spec (``runtime``)."""


def _is_local(url: str | None) -> bool:
    if not url:
        return False
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return host in _LOCAL_HOSTS


@dataclass
class LiveState:
    """What one export read from the org and the tenant."""

    rules: list[PresenceRule]
    mappings: list[AccountMapping]
    agents: list[Agent] = field(default_factory=list)
    teams: dict[int, str] = field(default_factory=dict)
    codes: dict[int, str] = field(default_factory=dict)
    statuses: list[PresenceStatusRecord] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)


class Exporter:
    """One export: the clients, the progress line, and the live lists read once each."""

    def __init__(self, salesforce: SalesforceClient, cxone: CxoneClient, progress: Progress | None = None) -> None:
        self.sf = salesforce
        self.cx = cxone
        self.progress = progress

    def _step(self, what: str) -> None:
        if self.progress is not None:
            self.progress.step(what)

    def read(self) -> LiveState:
        """Every list export needs, read once each through the kinds' proxies."""
        live = LiveState(
            rules=PresenceRuleProxy(self.cx).list_presence_rules(),
            mappings=AccountMappingProxy(self.cx).list_account_mappings(),
        )
        self._step(f"{len(live.rules)} presence rule(s)")
        self._step(f"{len(live.mappings)} account mapping(s)")
        live.agents = self.cx.list_agents()
        live.teams = {team.team_id: team.team_name for team in self.cx.list_teams()}
        live.codes = {code.id: code.name for code in self.cx.list_unavailable_codes()}
        self._step(f"{len(live.agents)} agent(s), {len(live.teams)} team(s), {len(live.codes)} unavailable code(s)")
        live.statuses = PresenceStatusProxy(self.sf).list_all()
        self._step(f"{len(live.statuses)} presence status(es)")
        access = ProfileAccessProxy(self.sf)
        live.profiles, live.grants = access.list_profiles(), access.list_status_grants()
        self._step(f"{len(live.grants)} status grant(s) on {len(live.profiles)} profile(s)")
        return live

    def export(self, options: ExportOptions) -> dict[str, Any]:
        live = self.read()
        teams = live.teams
        emails = {agent.agent_id: agent.email for agent in live.agents}
        status_names = {status.id: status.developer_name for status in live.statuses}
        rules = live.rules
        rule_specs = [exported_rule(rule, teams, emails, status_names) for rule in rules]
        rule_specs.sort(key=lambda rule: rule["name"])
        exported = _exported_statuses(live.statuses, rule_specs, options)
        try:
            mapping = chosen_mapping(live.mappings, options.account_mapping)
            mapping_entry = exported_mapping(mapping, emails)
        except MappingChoiceError as error:
            raise ExportError(str(error)) from None
        app = self._oauth_app(options, mapping.salesforce_environment.consumer_key)
        self._step(f"OAuth app {app.name}")
        salesforce: dict[str, Any] = {
            "statuses": [exported_status(s) for s in exported],
            "profileAccess": exported_profile_access(
                live.profiles, live.grants, {s.id: s.developer_name for s in exported}
            ),
            "oauthApp": exported_app(app),
        }
        cxone: dict[str, Any] = {"accountMapping": mapping_entry, "presenceRules": rule_specs}
        used_codes = _used_codes(rule_specs)
        if used_codes:
            cxone["existingUnavailableCodes"] = used_codes
        spec: dict[str, Any] = {"version": 1, "salesforce": salesforce, "cxone": cxone}
        if _is_local(app.callback_url) or _is_local(mapping.salesforce_environment.instance_url):
            spec["sandbox"] = True  # the only kind of spec that may name localhost over http
        return {**spec, **options.keep}

    def _oauth_app(self, options: ExportOptions, consumer_key: str | None) -> OAuthAppRecord:
        if not options.oauth_app:
            raise ExportError(
                "name the OAuth app CXone uses with --oauth-app NAME (Salesforce offers no list of External "
                "Client Apps through the APIs we use; an existing spec at --output or the stack's spec also names it)"
            )
        types: list[OAuthAppType] = (
            [options.oauth_app_type] if options.oauth_app_type else ["external_client_app", "connected_app"]
        )
        for app_type in types:
            record = OAuthAppProxy(self.sf).read_oauth_app(app_type, options.oauth_app)
            if record is not None:
                if consumer_key and record.consumer_key and record.consumer_key != consumer_key:
                    print(
                        f"export: warning: the account mapping's consumer key is not the key of OAuth app "
                        f"{options.oauth_app!r}: CXone may be using another app",
                        file=sys.stderr,
                    )
                return record
        raise ExportError(f"no External Client App or Connected App named {options.oauth_app!r} in the org")


def _exported_statuses(
    statuses: Sequence[PresenceStatusRecord], rule_specs: Sequence[Mapping[str, Any]], options: ExportOptions
) -> list[PresenceStatusRecord]:
    """The statuses the rules refer to, plus those named with --status (or all with --all-statuses)."""
    names = {s.developer_name for s in statuses}
    referenced = _referenced(rule_specs, "salesforce") - {PREVIOUS}
    wanted = names if options.all_statuses else referenced | set(options.statuses)
    unknown = sorted(wanted - names)
    if unknown:
        raise ExportError(f"presence status(es) {', '.join(unknown)} do not exist in the org")
    return sorted((s for s in statuses if s.developer_name in wanted), key=lambda s: s.developer_name)


def _referenced(rule_specs: Sequence[Mapping[str, Any]], side_key: str) -> set[str]:
    sides = ("publisher", "subscriber")
    return {line[side_key] for rule in rule_specs for side in sides for line in rule.get(side, [])}


def _used_codes(rule_specs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The unavailable codes the rules use (``Unavailable:<name>``): the tenant's, listed as existing."""
    return sorted(acd.split(":", 1)[1] for acd in _referenced(rule_specs, "acd") if acd.startswith("Unavailable:"))


def dump(spec: Mapping[str, Any]) -> str:
    """The spec as YAML: keys sorted, block style, a fixed header. Same data, same bytes."""
    body = yaml.safe_dump(dict(spec), sort_keys=True, default_flow_style=False, allow_unicode=True, width=120)
    return HEADER + body


# -- the command -----------------------------------------------------------------------------------------


def connection_env(
    work_dir: Path, stack: str, connection_file: str | None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """SF_*/CXONE_* settings: the connection file (--connection-file, else the stack's
    presence-sync:connectionFile), then the environment, which wins -- as in the provider process.

    The CA bundle goes the other way, also as in the provider process (``providers.context``): a bundle the
    connection file names is the one this stack's vendors are trusted with (the sandbox's own CA, say), and a
    machine-wide ``REQUESTS_CA_BUNDLE`` counts only when the file names none."""
    environ = os.environ if environ is None else environ
    settings: dict[str, str] = {}
    path = connection_file or (stack_settings(work_dir, stack).get("config") or {}).get("presence-sync:connectionFile")
    if path:
        file = Path(path) if Path(path).is_absolute() else work_dir / path
        settings.update({str(k): str(v) for k, v in json.loads(file.read_text()).items()})
    settings.update({k: v for k, v in environ.items() if k.startswith(("SF_", "CXONE_"))})
    if not settings.get("REQUESTS_CA_BUNDLE") and environ.get("REQUESTS_CA_BUNDLE"):
        settings["REQUESTS_CA_BUNDLE"] = environ["REQUESTS_CA_BUNDLE"]
    return settings


def _existing_spec(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _app_from(spec: Mapping[str, Any]) -> tuple[str | None, OAuthAppType | None]:
    app = (spec.get("salesforce") or {}).get("oauthApp") or {}
    return app.get("name"), app.get("type")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog=f"presence-sync {argv[0]}", description=(__doc__ or "").splitlines()[0])
    p.add_argument("--stack", required=True, help="the stack whose connection settings and spec to use")
    p.add_argument("--output", required=True, help="where to write the spec, e.g. stacks/prod.yaml")
    p.add_argument("--cwd", help="the Pulumi project directory (default: nearest Pulumi.yaml upwards)")
    p.add_argument("--connection-file", help="a JSON file of SF_*/CXONE_* settings (default: the stack's)")
    p.add_argument("--oauth-app", help="the OAuth app's API name (default: from the existing spec)")
    p.add_argument("--oauth-app-type", choices=("external_client_app", "connected_app"))
    p.add_argument("--account-mapping", help="the CXone account mapping's name (default: the selected one)")
    p.add_argument("--status", action="append", default=[], help="also export this status (developer name)")
    p.add_argument("--all-statuses", action="store_true", help="export every presence status in the org")
    args = p.parse_args(argv[1:])

    work_dir = project_dir(args.cwd)
    output = Path(args.output) if Path(args.output).is_absolute() else Path.cwd() / args.output
    existing = previous = _existing_spec(output)
    if not existing:
        spec_setting = (stack_settings(work_dir, args.stack).get("config") or {}).get("presence-sync:spec")
        existing = _existing_spec(work_dir / (spec_setting or f"stacks/{args.stack}.yaml"))
    app_name, app_type = _app_from(existing)
    options = ExportOptions(
        oauth_app=args.oauth_app or app_name,
        oauth_app_type=args.oauth_app_type or (app_type if not args.oauth_app else None),
        account_mapping=args.account_mapping,
        statuses=args.status,
        all_statuses=args.all_statuses,
        keep={"runtime": previous["runtime"]} if "runtime" in previous else {},
    )
    try:
        text = export_text(connection_env(work_dir, args.stack, args.connection_file), options)
    except (ExportError, VendorError, OSError, ValueError) as error:  # MappingChoiceError is a ValueError
        print(f"export: {error}", file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    try:
        load_spec(output)
    except SpecError as error:
        print(f"export: wrote {output}, but it does not pass validation:\n{error}", file=sys.stderr)
        return 1
    print(f"export: wrote {output}", file=sys.stderr)
    return 0


def export_text(settings: Mapping[str, str], options: ExportOptions, *, progress: bool = True) -> str:
    """Build the clients from ``settings``, read everything, and return the spec's text."""
    # The clients take the bundle from the settings (their sessions, zeep's included, verify with it whatever the
    # process environment says): nothing here changes os.environ.
    salesforce = SalesforceClient.from_env(dict(settings))
    cxone = CxoneClient.from_env(dict(settings))
    try:
        with Progress("export", total=6, enabled=progress) as bar:
            spec = Exporter(salesforce, cxone, bar).export(options)
    finally:
        salesforce.close()
        cxone.close()
    return dump(spec)


__all__ = ["ExportError", "ExportOptions", "Exporter", "dump", "export_text", "main", "scope_names"]
