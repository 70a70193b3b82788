"""Credential URLs: https, or plain http only to a loopback host; the error names the variable and the fix."""

from __future__ import annotations

from typing import Any

import pytest

from presence_sync.clients.settings import CxoneSettings, SalesforceSettings, SettingsError

SF = {
    "SF_LOGIN_URL": "https://login.example.com",
    "SF_CLIENT_ID": "id",
    "SF_CLIENT_SECRET": "s",
    "SF_USERNAME": "u@example.com",
    "SF_PASSWORD": "p",
}
CX = {
    "CXONE_AUTH_URL": "https://cxone.example.com",
    "CXONE_CLIENT_ID": "id",
    "CXONE_CLIENT_SECRET": "s",
    "CXONE_ACCESS_KEY_ID": "k",
    "CXONE_ACCESS_KEY_SECRET": "ks",
}

CASES: list[tuple[Any, dict[str, str], str]] = [
    (SalesforceSettings, SF, "SF_LOGIN_URL"),
    (CxoneSettings, CX, "CXONE_AUTH_URL"),
    (CxoneSettings, CX, "CXONE_API_URL"),
]


@pytest.mark.parametrize(("settings", "base", "variable"), CASES)
def test_plain_http_to_a_remote_host_is_refused_naming_the_variable_and_the_fix(
    settings: Any, base: dict[str, str], variable: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        settings.from_env({**base, variable: "http://user:pw@api.example.com:8080/base/"})
    message = str(raised.value)
    assert message.startswith(f"{variable} must be an https:// URL")
    assert f"Set {variable}=https://api.example.com:8080/base" in message
    assert "user:pw" not in message, "userinfo in the URL is not echoed"


@pytest.mark.parametrize(("settings", "base", "variable"), CASES)
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8443",
        "http://localhost:9000/",
        "http://[::1]:81",
        "http://127.10.0.2",
        "https://api.example.com",
    ],
)
def test_https_anywhere_and_http_to_loopback_are_accepted(
    settings: Any, base: dict[str, str], variable: str, url: str
) -> None:
    built = settings.from_env({**base, variable: url})
    assert getattr(built, {"SF_LOGIN_URL": "login_url", "CXONE_AUTH_URL": "auth_url"}.get(variable, "api_url")) == (
        url.rstrip("/")
    )


@pytest.mark.parametrize("host", ["10.0.0.5", "localhost.example.com", "0.0.0.0", "127.0.0.1.nip.io"])
def test_look_alikes_of_loopback_are_not_loopback(host: str) -> None:
    with pytest.raises(SettingsError, match="SF_LOGIN_URL must be an https:// URL"):
        SalesforceSettings.from_env({**SF, "SF_LOGIN_URL": f"http://{host}"})
