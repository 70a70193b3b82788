"""SOQL through simple-salesforce: the subset the product uses, parsed by a real grammar, with the real
API's pagination and error codes."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce, SalesforceMalformedRequest

from sandbox.salesforce.ids import make_id
from tests.sandbox.support import rest


def names(result: dict[str, Any], field: str = "Name") -> list[str]:
    return [r[field] for r in result["records"]]


def test_query_returns_records_with_attributes(sf: Salesforce) -> None:
    result = sf.query("SELECT Id, Name, Email FROM User WHERE Email = 'ada.lovelace@example.com'")

    assert result["totalSize"] == 1
    assert result["done"] is True
    record = result["records"][0]
    assert list(record) == ["attributes", "Id", "Name", "Email"]
    assert record["attributes"] == {"type": "User", "url": f"/services/data/v59.0/sobjects/User/{record['Id']}"}
    assert record["Id"].startswith("005") and len(record["Id"]) == 18


def test_relationship_fields_nest_like_the_real_api(sf: Salesforce) -> None:
    result = sf.query(
        "SELECT Id, ProfileId, Profile.Name FROM PermissionSet WHERE IsOwnedByProfile = true ORDER BY Profile.Name"
    )

    assert [r["Profile"]["Name"] for r in result["records"]] == [
        "Custom: Support Agent",
        "Custom: Support Supervisor",
        "Standard User",
        "System Administrator",
    ]
    assert result["records"][0]["Profile"]["attributes"]["type"] == "Profile"


def test_null_relationship_is_null(sf: Salesforce) -> None:
    result = sf.query("SELECT Name, Profile.Name FROM PermissionSet WHERE IsOwnedByProfile = false")

    assert result["records"][0]["Profile"] is None


def test_where_supports_and_or_not_in_like_and_parentheses(sf: Salesforce) -> None:
    q = (
        "SELECT Name FROM User WHERE IsActive = true"
        " AND (Name LIKE 'A%' OR Name IN ('Grace Hopper', 'Linus Torvalds'))"
        " AND NOT Email = 'alan.turing@example.com' ORDER BY Name"
    )

    assert names(sf.query(q)) == ["Ada Lovelace", "Grace Hopper", "Linus Torvalds"]


def test_string_equality_is_case_insensitive_and_ids_match_in_15_chars(sf: Salesforce) -> None:
    ada = sf.query("SELECT Id FROM User WHERE Email = 'ADA.LOVELACE@example.COM'")["records"][0]["Id"]

    assert names(sf.query(f"SELECT Name FROM User WHERE Id = '{ada[:15]}'")) == ["Ada Lovelace"]


def test_order_by_desc_nulls_and_limit_offset(sf: Salesforce) -> None:
    ordered = names(sf.query("SELECT Name FROM User ORDER BY LastName DESC LIMIT 3"))
    assert ordered == ["Alan Turing", "Linus Torvalds", "Radia Perlman"]
    assert names(sf.query("SELECT Name FROM User ORDER BY LastName DESC LIMIT 2 OFFSET 1")) == ordered[1:]
    nulls = sf.query("SELECT Name, ProfileId FROM PermissionSet ORDER BY ProfileId NULLS LAST")
    assert nulls["records"][-1]["ProfileId"] is None
    nulls_first = sf.query("SELECT Name, ProfileId FROM PermissionSet ORDER BY ProfileId DESC NULLS FIRST")
    assert nulls_first["records"][0]["ProfileId"] is None


def test_date_literals_and_datetimes(sf: Salesforce) -> None:
    assert sf.query("SELECT COUNT() FROM User WHERE CreatedDate = TODAY")["totalSize"] == 11
    assert sf.query("SELECT COUNT() FROM User WHERE CreatedDate > 2020-01-01T00:00:00Z")["totalSize"] == 11
    assert sf.query("SELECT COUNT() FROM User WHERE CreatedDate < LAST_N_DAYS:30")["totalSize"] == 0
    assert sf.query("SELECT COUNT() FROM User WHERE CreatedDate >= 2020-01-01T00:00:00.000+0100")["totalSize"] == 11


def test_count_returns_total_size_and_no_records(sf: Salesforce) -> None:
    result = sf.query("SELECT COUNT() FROM User WHERE IsActive = true")

    assert result == {"totalSize": 11, "done": True, "records": []}


def test_pagination_follows_next_records_url(sf: Salesforce, sandbox_env: dict[str, str]) -> None:
    first = rest(
        sandbox_env,
        "GET",
        "/services/data/v59.0/query",
        params={"q": "SELECT Id FROM User ORDER BY Id"},
        headers={"Sforce-Query-Options": "batchSize=4"},
    ).json()
    assert first["totalSize"] == 11 and first["done"] is False and len(first["records"]) == 4
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")

    sf.session.headers["Sforce-Query-Options"] = "batchSize=4"
    everything = sf.query_all("SELECT Id FROM User ORDER BY Id")
    assert everything["totalSize"] == 11
    assert len({r["Id"] for r in everything["records"]}) == 11
    assert [r["Id"] for r in everything["records"]][:4] == [r["Id"] for r in first["records"]]


def test_an_unknown_query_locator_is_invalid_query_locator(sandbox_env: dict[str, str]) -> None:
    response = rest(sandbox_env, "GET", f"/services/data/v59.0/query/{make_id('01g', 999)}-2000")

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


@pytest.mark.parametrize(
    ("soql", "code", "detail"),
    [
        (
            "SELECT Id FROM User WHERE IsActive = true AND Name = 'x' OR Name = 'y'",
            "MALFORMED_QUERY",
            "unexpected token: 'OR'",
        ),
        ("SELECT Id FROM", "MALFORMED_QUERY", "unexpected token: <EOF>"),
        ("SELECT Id, FROM User", "MALFORMED_QUERY", "unexpected token"),
        ("SELECT Id FROM User GROUP BY Name", "MALFORMED_QUERY", "unexpected token: 'GROUP'"),
        ("SELECT Nmae FROM User", "INVALID_FIELD", "No such column 'Nmae' on entity 'User'"),
        ("SELECT Profle.Name FROM User", "INVALID_FIELD", "Didn't understand relationship 'Profle'"),
        ("SELECT Id FROM Usr", "INVALID_TYPE", "sObject type 'Usr' is not supported"),
        (
            "SELECT Id FROM User WHERE IsActive = 'true'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type boolean and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM User WHERE Name = 5",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type string and should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM User WHERE CreatedDate > 2024-01-01",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type dateTime",
        ),
        ("SELECT Id FROM User WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc"),
        ("SELECT Id, Id FROM User", "MALFORMED_QUERY", "duplicate field selected: Id"),
    ],
)
def test_bad_soql_is_a_400_with_the_real_error_code(sf: Salesforce, soql: str, code: str, detail: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query(soql)

    error = raised.value.content[0]
    assert error["errorCode"] == code
    assert detail in error["message"]
    assert "ERROR at Row:1:Column:" in error["message"]


def test_query_all_includes_deleted_rows(sf: Salesforce, unique: str) -> None:
    status = sf.ServicePresenceStatus.create({"DeveloperName": f"Qa_{unique}", "MasterLabel": "Qa"})
    channel = sf.query("SELECT Id FROM ServiceChannel WHERE DeveloperName = 'Case'")["records"][0]["Id"]
    link = sf.ServiceChannelStatus.create({"ServicePresenceStatusId": status["id"], "ServiceChannelId": channel})
    sf.ServiceChannelStatus.delete(link["id"])
    soql = f"SELECT Id, IsDeleted FROM ServiceChannelStatus WHERE Id = '{link['id']}'"

    assert sf.query(soql)["totalSize"] == 0
    assert sf.query_all(soql, include_deleted=True)["records"][0]["IsDeleted"] is True
