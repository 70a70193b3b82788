"""Wall times and API calls of `presence-sync export` and `plan` on a large hand-made setup.

    .venv/bin/python -m bench.gitops [--statuses 100] [--profiles 10] [--rules 20]

Starts a sandbox, adds profiles to its org (the API cannot create profiles, so they are written into the
emulator's store while it is stopped), configures statuses, grants (every status on every profile), an OAuth
app, an account mapping and presence rules through our clients -- by hand, not through our providers -- and
then times:

* export      (our clients, reading everything once),
* up          of the exported spec (adopting every object; real engine, inline program),
* plan        (a preview: no changes expected), and plan --refresh (refresh preview + preview).

API calls come from the sandbox's request log (both emulators; token requests included). The sync runtime
is left out of the stack: it is not part of what export adopts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pulumi import automation as auto

import resources.stack
from presence_sync.clients.cxone import CxoneClient
from presence_sync.clients.cxone_adapters import (
    AccountMappingSpec,
    PresenceRuleSpec,
    PresenceSyncConfig,
    SalesforceEnvironmentSpec,
    StateMapping,
)
from presence_sync.clients.salesforce import SalesforceClient
from presence_sync.clients.salesforce_models import OAuthAppSpec
from presence_sync.gitops import engine
from presence_sync.gitops.export import ExportOptions, export_text
from presence_sync.spec import load_spec
from sandbox.testing import SandboxHandle, running_sandbox

T = TypeVar("T")
CHANNELS = ("Case", "sfdc_livemessage", "sfdc_phone")


def add_profiles(data_dir: Path, count: int) -> None:
    """Profiles (with their profile-owned permission sets) written into the stopped emulator's store."""
    from sandbox.salesforce.org import Org
    from sandbox.salesforce.seed import _insert
    from sandbox.salesforce.store import Store

    store = Store(data_dir / "salesforce.db")
    org = Org(store, "https://127.0.0.1")
    existing = len(store.table("Profile"))
    admin = next(iter(store.table("User")))
    with store.batch():
        for index in range(existing, count):
            profile = _insert(org, "Profile", {"Name": f"Bench Profile {index:02d}", "UserType": "Standard"}, admin)
            _insert(
                org,
                "PermissionSet",
                {
                    "Name": f"X{profile['Id']}",
                    "Label": f"Bench Profile {index:02d}",
                    "IsOwnedByProfile": True,
                    "IsCustom": False,
                    "ProfileId": profile["Id"],
                },
                admin,
            )
    store.close()


def configure(env: dict[str, str], salesforce_url: str, statuses: int, rules: int) -> None:
    sf = SalesforceClient.from_env(env)
    cx = CxoneClient.from_env(env)
    adapters = PresenceSyncConfig(cx)
    records = []
    for index in range(statuses):
        channels = [] if index % 4 == 3 else [CHANNELS[index % 3]]
        records.append(sf.create_presence_status(f"Bench_Status_{index:03d}", f"Bench status {index:03d}", channels))
    for profile in sf.list_profiles():
        for record in records:
            sf.grant_status(profile.permission_set_id, record.id)
    app = sf.create_oauth_app(
        OAuthAppSpec(
            name="Bench_CXone",
            label="Bench CXone",
            contact_email="admin@example.com",
            callback_url="https://localhost:8444/oauth/salesforce/callback",
            scopes=["Api", "RefreshToken"],
        )
    )
    admin = next(a for a in cx.list_agents() if a.email == "cxone.admin@example.com")
    adapters.create_account_mapping(
        AccountMappingSpec(
            name="Bench mapping",
            access_key_agent_id=admin.agent_id,
            salesforce_environment=SalesforceEnvironmentSpec(
                name="Bench org",
                instance_url=salesforce_url,
                consumer_key=str(app.record.consumer_key),
                consumer_secret=app.consumer_secret,
            ),
        )
    )
    teams = [team.team_id for team in cx.list_teams()]

    def line(acd: str, index: int | None) -> StateMapping:
        """A map line as NICE's SDK reads it: a state or code name, and a status id (None: PreviousState)."""
        status = "PreviousState" if index is None else records[index % len(records)].id
        return StateMapping(incontact_agent_state=acd, partner_agent_state=status)

    for index in range(rules):
        base = index * 5
        adapters.create_presence_rule(
            PresenceRuleSpec(
                name=f"Bench rule {index:02d}",
                priority=index,
                team_ids=[teams[index % len(teams)]],
                publisher_state_map=[line("Available", base), line("Break", base + 3), line("LoggedOut", None)],
                subscriber_state_map=[line("Break" if k == 3 else "Available", base + k) for k in range(5)],
            )
        )
    sf.close()
    cx.close()


def api_calls(sandbox: SandboxHandle) -> int:
    return sandbox.salesforce_operator.count() + sandbox.cxone_operator.count()


def clear(sandbox: SandboxHandle) -> None:
    sandbox.salesforce_operator.clear_requests()
    sandbox.cxone_operator.clear_requests()


def timed(sandbox: SandboxHandle, what: str, fn: Callable[[], T]) -> T:
    clear(sandbox)
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    print(f"{what:<28} {elapsed:7.2f} s  {api_calls(sandbox):6d} API calls", flush=True)
    return result


def stack_for(spec_path: Path, work_dir: Path, env: dict[str, str]) -> auto.Stack:
    def program() -> None:
        spec = load_spec(spec_path)
        resources.stack.export_outputs(spec, resources.stack.declare(spec))

    settings = auto.ProjectSettings(
        name="presence-sync-bench", runtime=auto.ProjectRuntimeInfo(name="python", options={"virtualenv": sys.prefix})
    )
    options = auto.LocalWorkspaceOptions(work_dir=str(work_dir), project_settings=settings, env_vars=env)
    return auto.create_or_select_stack(
        stack_name="bench", project_name="presence-sync-bench", program=program, opts=options
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--statuses", type=int, default=100)
    parser.add_argument("--profiles", type=int, default=10)
    parser.add_argument("--rules", type=int, default=20)
    args = parser.parse_args(argv)
    os.environ["CI"] = "true"  # plain progress lines
    setattr(resources.stack, "runtime_available", lambda: False)  # noqa: B010 -- see the docstring

    work = Path(tempfile.mkdtemp(prefix="presence-sync-bench-"))
    with running_sandbox(work / "sandbox") as sandbox:
        sandbox.stop()
        add_profiles(work / "sandbox", args.profiles)
        sandbox.start(reset=False)
        env = dict(sandbox.env)
        os.environ.update(env)
        started = time.perf_counter()
        configure(env, sandbox.salesforce_url, args.statuses, args.rules)
        print(
            f"setup by hand: {args.statuses} statuses, {args.profiles} profiles "
            f"({args.statuses * args.profiles} grants), {args.rules} rules in {time.perf_counter() - started:.1f} s"
        )

        options = ExportOptions(oauth_app="Bench_CXone", all_statuses=True)
        text = timed(sandbox, "export", lambda: export_text(env, options, progress=False))
        spec_path = work / "bench.yaml"
        spec_path.write_text(text)
        print(f"  spec: {len(text.splitlines())} lines, {len(text)} bytes")

        (work / "state").mkdir()
        engine_env = engine.engine_env(
            work,
            "bench",
            {
                **os.environ,
                **env,
                "PULUMI_BACKEND_URL": f"file://{work / 'state'}",
                "PULUMI_HOME": str(work / "home"),
                "PULUMI_CONFIG_PASSPHRASE": "bench-only",
            },
        )
        stack = stack_for(spec_path, work, engine_env)

        def quiet(_line: str) -> None:
            pass

        up: Any = timed(sandbox, "up (adopt everything)", lambda: stack.up(on_output=quiet))
        print(f"  {up.summary.resource_changes}")
        plan = timed(sandbox, "plan", lambda: engine.plan_stack("bench", stack, refresh=False))
        plan_refresh = timed(sandbox, "plan --refresh", lambda: engine.plan_stack("bench", stack, refresh=True))
        drift = timed(sandbox, "drift", lambda: engine.drift(stack))
        for name, result in (("plan", plan), ("plan --refresh", plan_refresh)):
            if result.error or result.changes or result.drift:
                print(f"  unexpected {name} result: {result.as_dict()}")
                return 1
        if drift:
            print(f"  unexpected drift: {[c.as_dict() for c in drift]}")
            return 1
        print("plan and drift after the adoption: no changes (as expected)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
