"""`pulumi preview` on the real engine and the sandbox fails, before any write, on names the org or tenant does
not have: an unknown profile, channel, existing status or access-key user (checked by the program, each problem
one line naming the spec file, line and path), and a managed status that already exists unmanaged (checked by
the status provider, which alone knows the stack's state). The sandbox's request logs show no write.

One stack serves every case: the first preview carries all four bad names at once (one line each), the second
only the status collision. Engine runs are slow; these two cover the cases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

import resources.stack
from tests.support import vendors
from tests.support.spec_stack import spec_stack
from tests.support.specs import SEED_SPEC

pytestmark = pytest.mark.pulumi

BAD_NAMES = (
    ('- profile: "Custom: Support Agent"', '- profile: "Custom: Support Agnet"'),
    ("channels: [sfdc_livemessage]", "channels: [sfdc_livemessage, sfdc_phonee]"),
    ("  profileAccess:\n", "  existingStatuses: [Lunch_Break]\n\n  profileAccess:\n"),
    ("accessKeyUser: cxone.admin@example.com", "accessKeyUser: nobody@example.com"),
)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def engine_error(failure: pytest.ExceptionInfo[auto.CommandError]) -> str:
    """The run's first error, as the engine printed it on stderr. (An inline program's host repeats it after
    "an unhandled error occurred"; `pulumi preview` of the project prints it once.)"""
    stderr = str(failure.value).split("\n stderr: ", 1)[-1]
    return stderr.split("\nerror: an unhandled error occurred", 1)[0]


def assert_no_noise(message: str) -> None:
    assert "Traceback" not in message
    assert "<nil>" not in message and "value {" not in message
    assert "RunError" not in message and "ProviderError" not in message


# Signing in is a POST the request log counts as a write; it changes nothing in the org or tenant.
SIGN_IN = {"salesforce": "/services/oauth2/token", "cxone": "/auth/token"}


def assert_nothing_written(sandbox: Any) -> None:
    for vendor, operator in (("salesforce", sandbox.salesforce_operator), ("cxone", sandbox.cxone_operator)):
        writes = operator.count(writes_only=True) - operator.count(writes_only=True, path_prefix=SIGN_IN[vendor])
        assert writes == 0, [entry for entry in operator.requests() if entry["method"] != "GET"]


@pytest.fixture
def stack(tmp_path: Path, engine_env: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # No runtime: nothing in these previews gets as far as it, and it would poll the vendors on its own.
    monkeypatch.setattr(resources.stack, "runtime_available", lambda: False)
    text = SEED_SPEC
    for old, new in BAD_NAMES:
        assert old in text
        text = text.replace(old, new, 1)
    checked = spec_stack(name="preview-checks", work_dir=tmp_path, spec_text=text, env=engine_env)
    yield checked
    checked.close()


def test_preview_fails_on_names_the_vendors_do_not_have_and_nothing_is_written(stack: Any, sandbox: Any) -> None:
    sandbox.salesforce_operator.clear_requests()
    sandbox.cxone_operator.clear_requests()
    spec_file = str(stack.spec_path)
    text = stack.spec_path.read_text()

    with pytest.raises(auto.CommandError) as failure:
        stack.preview()
    message = engine_error(failure)
    expected = {
        "salesforce.statuses[0].channels[1]": ("sfdc_phonee", "service channel 'sfdc_phonee' does not exist"),
        "salesforce.existingStatuses[0]": ("Lunch_Break", "presence status 'Lunch_Break' does not exist"),
        "salesforce.profileAccess[0].profile": ('profile: "Custom: Support Agnet', "Salesforce profile "),
        "cxone.accountMapping.accessKeyUser": ("accessKeyUser:", "CXone user 'nobody@example.com' does not exist"),
    }
    for path, (needle, what) in expected.items():
        lines = [line for line in message.splitlines() if f": {path}: " in line]
        assert len(lines) == 1, (path, message)
        assert re.search(rf"{re.escape(spec_file)}:{line_of(text, needle)}:\d+: {re.escape(path)}: ", lines[0]), lines
        assert what in lines[0] and "hint: " in lines[0], lines[0]
    assert "did you mean 'Custom: Support Agent'?" in message
    assert "did you mean 'sfdc_phone'?" in message
    assert_no_noise(message)
    assert_nothing_written(sandbox)

    # The names put right, a status the stack would create already exists in the org, made by hand.
    for old, new in BAD_NAMES:
        stack.edit_spec(new, old)
    sf: Any = vendors.salesforce(sandbox.env).mdapi
    sf.ServicePresenceStatus.create([sf.ServicePresenceStatus(fullName="Busy", label="Busy (by hand)")])
    sandbox.salesforce_operator.clear_requests()
    sandbox.cxone_operator.clear_requests()

    with pytest.raises(auto.CommandError) as failure:
        stack.preview()
    message = engine_error(failure)
    problem = [line for line in message.splitlines() if "salesforce.statuses[1]" in line]
    assert len(problem) == 1, message
    assert f"{spec_file}:{line_of(text, '- label: Busy')}:" in problem[0]
    assert "Salesforce presence status Busy already exists in the org" in problem[0]
    assert "adopt: true" in problem[0] and "another" in problem[0]
    assert_no_noise(message)
    assert_nothing_written(sandbox)
