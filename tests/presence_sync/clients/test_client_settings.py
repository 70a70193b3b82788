"""Settings: every variable named when missing, secrets hidden, values normalised."""

from __future__ import annotations

import pytest

from presence_sync.clients.settings import CxoneSettings, SalesforceSettings, SettingsError

SF = {
    "SF_LOGIN_URL": "https://login.example.com/",
    "SF_CLIENT_ID": "id",
    "SF_CLIENT_SECRET": "sf-secret-value",
    "SF_USERNAME": "u@example.com",
    "SF_PASSWORD": "sf-password-value",
}
CX = {
    "CXONE_AUTH_URL": "https://cxone.example.com",
    "CXONE_CLIENT_ID": "id",
    "CXONE_CLIENT_SECRET": "cx-secret-value",
    "CXONE_ACCESS_KEY_ID": "key",
    "CXONE_ACCESS_KEY_SECRET": "cx-key-secret-value",
}


@pytest.mark.parametrize("variable", sorted(SF))
def test_each_missing_salesforce_variable_is_named_with_its_purpose(variable: str) -> None:
    env = {k: v for k, v in SF.items() if k != variable}
    with pytest.raises(SettingsError, match=rf"^{variable} is not set: it is the .+"):
        SalesforceSettings.from_env(env)


@pytest.mark.parametrize("variable", sorted(CX))
def test_each_missing_cxone_variable_is_named_with_its_purpose(variable: str) -> None:
    env = {k: v for k, v in CX.items() if k != variable}
    with pytest.raises(SettingsError, match=rf"^{variable} is not set: it is the .+"):
        CxoneSettings.from_env(env)


def test_blank_counts_as_missing() -> None:
    with pytest.raises(SettingsError, match="SF_CLIENT_ID"):
        SalesforceSettings.from_env({**SF, "SF_CLIENT_ID": "  "})


def test_defaults_and_normalisation() -> None:
    sf = SalesforceSettings.from_env({**SF, "SF_API_VERSION": "v60.0"})
    assert (sf.login_url, sf.api_version, sf.grant) == ("https://login.example.com", "60.0", "password")
    assert SalesforceSettings.from_env(SF).api_version == "59.0"
    cx = CxoneSettings.from_env({**CX, "CXONE_API_VERSION": "33.0", "CXONE_API_URL": "https://api.example.com/"})
    assert (cx.api_version, cx.api_url) == ("v33.0", "https://api.example.com")
    assert CxoneSettings.from_env(CX).api_version == "v34.0" and CxoneSettings.from_env(CX).api_url is None


def test_client_credentials_needs_no_user() -> None:
    env = {k: v for k, v in SF.items() if k not in ("SF_USERNAME", "SF_PASSWORD")}
    assert SalesforceSettings.from_env({**env, "SF_GRANT": "client_credentials"}).username is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SF_LOGIN_URL": "login.example.com"}, "SF_LOGIN_URL must be an http"),
        ({"SF_API_VERSION": "latest"}, "SF_API_VERSION must look like 59.0"),
        ({"SF_GRANT": "jwt"}, "SF_GRANT is invalid"),
    ],
)
def test_malformed_values_are_named(override: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        SalesforceSettings.from_env({**SF, **override})


def test_secrets_never_print() -> None:
    sf, cx = SalesforceSettings.from_env(SF), CxoneSettings.from_env(CX)
    text = " ".join([str(sf), repr(sf), str(cx), repr(cx), sf.model_dump_json(), cx.model_dump_json()])
    for secret in ("sf-secret-value", "sf-password-value", "cx-secret-value", "cx-key-secret-value"):
        assert secret not in text
    assert sf.client_secret.get_secret_value() == "sf-secret-value"


def test_from_mapping_accepts_field_names_and_ca_bundle() -> None:
    settings = CxoneSettings.from_mapping(
        {
            "auth_url": "https://a.example.com",
            "client_id": "c",
            "client_secret": "s",
            "access_key_id": "k",
            "access_key_secret": "ks",
            "REQUESTS_CA_BUNDLE": "/tmp/ca.pem",
        }
    )
    assert settings.ca_bundle == "/tmp/ca.pem" and settings.auth_url == "https://a.example.com"


def test_configured_ca_bundle_wins_over_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    from presence_sync.clients._http import CallCounter, build_session
    from tests.presence_sync.clients.client_fakes import FakeTransport, Reply

    seen: list[object] = []

    class Capture(FakeTransport):
        def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
            seen.append((verify, timeout))
            return super().send(request, stream, timeout, verify, cert, proxies)

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/machine-wide.crt")
    counter = CallCounter()
    session = build_session(
        Capture().on("GET", "/x", Reply(200, {})), counter=counter, timeout=7.0, ca_bundle="/tmp/sandbox-ca.pem"
    )
    session.get("https://h.test/x")
    session.get("https://h.test/x", verify=False)
    assert seen == [("/tmp/sandbox-ca.pem", 7.0), (False, 7.0)] and counter.value == 2
    assert isinstance(session, requests.Session)


def test_proxies_and_ca_bundle_come_from_the_environment_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from presence_sync.clients._http import CallCounter, build_session
    from tests.presence_sync.clients.client_fakes import FakeTransport, Reply

    seen: list[tuple[str, object, dict[str, str]]] = []

    class Capture(FakeTransport):
        def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
            seen.append((request.url.split("/")[2], verify, dict(proxies or {})))
            return super().send(request, stream, timeout, verify, cert, proxies)

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("NO_PROXY", "direct.test")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/machine-wide.crt")
    transport = Capture().on("GET", "/x", Reply(200, {}))
    session = build_session(transport, counter=CallCounter(), timeout=7.0, ca_bundle=None)
    session.get("https://via.test/x")
    session.get("https://direct.test/x")
    session.get("https://via.test/x", proxies={"https": "http://other.test:8080"})
    assert seen[0][:2] == ("via.test", "/etc/ssl/certs/machine-wide.crt")
    assert seen[0][2]["https"] == "http://proxy.test:3128"
    assert seen[1][0] == "direct.test" and "https" not in seen[1][2]  # NO_PROXY
    assert seen[2][2]["https"] == "http://other.test:8080"  # an explicit proxy wins
