"""NICE's own agent SDK (npm ``@nice-devone/agent-sdk``, pinned in package-lock.json, installed by ``make setup``)
reads the presence-sync rule that `pulumi up` wrote, exactly as CXone Agent Embedded would: its own discovery
and base-URL derivation, its own path, headers and parser (``read_rule.mjs`` says what stands in for the browser).

Under Node, not in a browser: the SDK's presence-sync service and its parser need only ``fetch``, Web Storage and
the bundler's module resolution, which Node 20 has or the reader supplies -- no DOM is touched on this path.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from presence_sync.spec import load_spec_text
from presence_sync.spec.presence_rule import PREVIOUS_STATE, acd_item
from tests.support import vendors
from tests.support.spec_stack import spec_stack

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
NICE_SPEC = (REPO_ROOT / "stacks" / "sandbox.yaml").read_text().replace("runtime:\n", "runtime:\n  engine: nice\n", 1)
ADA = 100001  # Support Tier 1: the "Chat agents" rule covers her team

pytestmark = pytest.mark.pulumi


def sdk_read(sandbox: Any, token: dict[str, Any], partner_id: str) -> dict[str, Any]:
    """Run the SDK's reader as the agent whose token this is; its JSON answer."""
    if not (HERE / "node_modules" / "@nice-devone" / "agent-sdk").is_dir():
        pytest.fail("NICE's agent SDK is not installed: run `make setup` (or `make nice-sdk`)")
    claims = json.loads(base64.urlsafe_b64decode(token["id_token"].split(".")[1] + "=="))
    request = {
        "hostname": sandbox.env["CXONE_AUTH_URL"].rstrip("/"),
        "tenantId": claims["tenantId"],
        "accessToken": token["access_token"],
        "partnerId": partner_id,
        "partnerName": "salesforce",
    }
    done = subprocess.run(
        ["node", "--import", "./register_hooks.mjs", "read_rule.mjs"],
        cwd=HERE,
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_EXTRA_CA_CERTS": sandbox.ca_bundle},
        check=False,
    )
    assert done.stdout, done.stderr
    return dict(json.loads(done.stdout))


def agent_token(sandbox: Any, agent_id: int) -> dict[str, Any]:
    """The agent's own token, from an access key made for them (as the agent application logs them in)."""
    admin = vendors.Cxone(sandbox.env)
    made = requests.post(
        f"{admin.base}/incontactapi/services/v34.0/access-keys?agentId={agent_id}",
        headers=admin.headers,
        verify=admin.verify,
        timeout=10,
    )
    made.raise_for_status()
    key = made.json()["accesskeys"][0]
    token = requests.post(
        f"{sandbox.env['CXONE_AUTH_URL'].rstrip('/')}/auth/token",
        data={"grant_type": "password", "username": key["accessKeyId"], "password": key["accessKeySecret"]},
        auth=(sandbox.env["CXONE_CLIENT_ID"], sandbox.env["CXONE_CLIENT_SECRET"]),
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    token.raise_for_status()
    return dict(token.json())


def org_id(sandbox: Any) -> str:
    """The Salesforce organization id (the SDK's partner account id), from the org's own token answer."""
    answer = requests.post(
        f"{sandbox.env['SF_LOGIN_URL'].rstrip('/')}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": sandbox.env["SF_CLIENT_ID"],
            "client_secret": sandbox.env["SF_CLIENT_SECRET"],
            "username": sandbox.env["SF_USERNAME"],
            "password": sandbox.env["SF_PASSWORD"],
        },
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["id"].split("/")[-2])


@pytest.fixture
def stack(tmp_path: Path, engine_env: dict[str, str]) -> Iterator[Any]:
    nice = spec_stack(name="nice", work_dir=tmp_path, spec_text=NICE_SPEC, env=engine_env)
    yield nice
    nice.close()


def test_the_real_nice_sdk_parses_what_pulumi_up_wrote(stack: Any, sandbox: Any) -> None:
    assert stack.up().summary.result == "succeeded"
    statuses = {name: row["id"] for name, row in vendors.statuses(vendors.salesforce(sandbox.env)).items()}
    [rule] = load_spec_text(NICE_SPEC, "nice.yaml").cxone.presence_rules

    def expected(lines: Any) -> list[dict[str, str]]:
        return [
            {"cxoneAgentState": acd_item(line.acd), "partnerAgentState": statuses.get(line.salesforce, PREVIOUS_STATE)}
            for line in lines
        ]

    partner = org_id(sandbox)
    read = sdk_read(sandbox, agent_token(sandbox, ADA), partner)

    assert read.get("error") is None, read
    assert read["rule"] == {
        "publisherStateMapping": expected(rule.publisher),
        "subscriberStateMapping": expected(rule.subscriber),
    }
    # The SDK found the API from the tenant's discovery answer and asked for the rule of this org with the agent's
    # bearer token, as CXone Agent Embedded does.
    assert read["presenceSyncApiUrl"] == "https://api-na1.niceincontact.com"
    asked = read["requests"][-1]
    assert asked["url"] == f"https://api-na1.niceincontact.com/adapter-apis/v1/salesforce/rule/{partner}"
    assert asked["headers"]["authorization"] == "Bearer <token>"


def test_switched_to_our_engine_the_rule_is_stored_inactive_and_nices_sdk_gets_none(stack: Any, sandbox: Any) -> None:
    assert stack.up().summary.result == "succeeded"
    assert sdk_read(sandbox, agent_token(sandbox, ADA), org_id(sandbox)).get("error") is None

    stack.edit_spec("  engine: nice\n", "  engine: presence-sync\n")
    assert stack.up().summary.result == "succeeded"
    assert vendors.Cxone(sandbox.env).rules()["Chat agents"]["isActive"] is False

    read = sdk_read(sandbox, agent_token(sandbox, ADA), org_id(sandbox))

    assert read["error"]["type"] == "CXONE_API_ERROR" and "rule" not in read
    assert read["requests"][-1]["url"].startswith("https://api-na1.niceincontact.com/adapter-apis/v1/salesforce/rule/")
