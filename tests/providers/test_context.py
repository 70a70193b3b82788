"""The provider process's vendor clients: built once from the settings, kept while the settings stay the same."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from providers import context

SETTINGS = {
    "SF_LOGIN_URL": "https://login.example.test",
    "SF_CLIENT_ID": "id",
    "SF_CLIENT_SECRET": "secret",
    "SF_USERNAME": "integration@example.com",
    "SF_PASSWORD": "password",
}


@pytest.fixture(autouse=True)
def _fresh_context() -> Iterator[None]:
    context.use_settings({"unset": "1"})
    yield
    context.use_settings({})


def test_configuring_again_with_the_same_settings_keeps_the_client_and_its_caches() -> None:
    context.use_settings(dict(SETTINGS))
    first = context.salesforce()

    context.use_settings(dict(SETTINGS))  # the engine configured the process again

    assert context.salesforce() is first


def test_changed_settings_build_a_new_client() -> None:
    context.use_settings(dict(SETTINGS))
    first = context.salesforce()

    context.use_settings({**SETTINGS, "SF_USERNAME": "someone.else@example.com"})

    assert context.salesforce() is not first
    assert context.salesforce().settings.username == "someone.else@example.com"
