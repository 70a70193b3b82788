from __future__ import annotations

from presence_sync.spec.scopes import SCOPES, metadata_scopes, unknown_scopes


def test_the_seed_scopes_map_to_metadata_enum_values() -> None:
    names = ["visualforce", "full", "api", "web", "refresh_token"]
    assert metadata_scopes(names) == ("Web", "Full", "Api", "RefreshToken", "OfflineAccess")


def test_visualforce_is_stored_as_web_because_web_contains_it() -> None:
    assert metadata_scopes(["visualforce"]) == ("Web",)
    assert metadata_scopes(["web", "visualforce"]) == ("Web",)


def test_refresh_token_and_offline_access_are_one_setup_item() -> None:
    assert metadata_scopes(["refresh_token"]) == metadata_scopes(["offline_access"])
    assert metadata_scopes(["refresh_token", "offline_access"]) == ("RefreshToken", "OfflineAccess")


def test_unknown_scope_names_are_found_and_skipped_by_the_mapping() -> None:
    assert unknown_scopes(["api", "Api", "refresh"]) == ["Api", "refresh"]
    assert metadata_scopes(["api", "refresh"]) == ("Api",)


def test_every_mapped_value_is_in_the_metadata_enum() -> None:
    enum = {
        "Basic",
        "Api",
        "Web",
        "Full",
        "Chatter",
        "CustomApplications",
        "RefreshToken",
        "OpenID",
        "Profile",
        "Email",
        "Address",
        "Phone",
        "OfflineAccess",
        "CustomPermissions",
        "Wave",
        "Eclair",
        "Pardot",
        "Lightning",
        "Content",
    }
    assert {value for values in SCOPES.values() for value in values} <= enum
