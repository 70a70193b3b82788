"""Fixtures for the client unit tests: settings with recognisable secrets, fake transports, no real sleeps."""

from __future__ import annotations

import pytest

from presence_sync.clients.cxone import CxoneClient
from presence_sync.clients.retry import RetryPolicy
from presence_sync.clients.salesforce import SalesforceClient
from presence_sync.clients.settings import CxoneSettings, SalesforceSettings
from tests.presence_sync.clients.client_fakes import CX_API, CX_AUTH, SF_LOGIN, FakeTransport, token_reply

# Distinctive values so that a leak is easy to grep for.
SF_SECRETS = {"SF_CLIENT_SECRET": "sfclientsecret-XYZZY", "SF_PASSWORD": "sfpassword-PLUGH"}
CX_SECRETS = {"CXONE_CLIENT_SECRET": "cxclientsecret-FROTZ", "CXONE_ACCESS_KEY_SECRET": "cxkeysecret-GNUSTO=="}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def policy(sleeps: list[float]) -> RetryPolicy:
    return RetryPolicy(attempts=4, base_delay=0.5, max_delay=4.0, budget=30.0, sleep=sleeps.append, random=lambda: 0.5)


@pytest.fixture
def sf_env() -> dict[str, str]:
    return {
        "SF_LOGIN_URL": SF_LOGIN,
        "SF_CLIENT_ID": "sf-client-id",
        "SF_USERNAME": "integration@example.com",
        **SF_SECRETS,
    }


@pytest.fixture
def sf_transport() -> FakeTransport:
    return FakeTransport().on("POST", "/services/oauth2/token", token_reply())


@pytest.fixture
def sf(sf_env: dict[str, str], sf_transport: FakeTransport, policy: RetryPolicy) -> SalesforceClient:
    return SalesforceClient(SalesforceSettings.from_mapping(sf_env), retry=policy, transport=sf_transport)


@pytest.fixture
def cx_env() -> dict[str, str]:
    return {
        "CXONE_AUTH_URL": CX_AUTH,
        "CXONE_API_URL": CX_API,
        "CXONE_CLIENT_ID": "cx-client-id",
        "CXONE_ACCESS_KEY_ID": "AKID/with+odd=chars=",
        **CX_SECRETS,
    }


@pytest.fixture
def cx_transport() -> FakeTransport:
    from tests.presence_sync.clients.client_fakes import Reply

    return FakeTransport().on(
        "POST",
        "/auth/token",
        Reply(
            200,
            {
                "access_token": "cx-access-1",
                "refresh_token": "cx-refresh-1",
                "expires_in": 3600,
                "token_type": "Bearer",
            },
        ),
    )


@pytest.fixture
def cx(cx_env: dict[str, str], cx_transport: FakeTransport, policy: RetryPolicy) -> CxoneClient:
    return CxoneClient(CxoneSettings.from_mapping(cx_env), retry=policy, transport=cx_transport)
