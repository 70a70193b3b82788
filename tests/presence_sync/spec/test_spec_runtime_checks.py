"""Runtime section: target, polling budget, user overrides."""

from __future__ import annotations

from typing import Any

from .conftest import Validate


def test_sandbox_spec_cannot_deploy_the_runtime_to_kubernetes(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["sandbox"] = True
    spec_data["runtime"] = {"target": "kubernetes"}
    assert problem_at(spec_data, "runtime.target").hint == "use target: local"


def test_kubernetes_settings_without_the_kubernetes_target_are_rejected(
    spec_data: dict[str, Any], problem_at: Any
) -> None:
    spec_data["runtime"] = {"kubernetes": {"namespace": "sync"}}
    assert problem_at(spec_data, "runtime.kubernetes").message == "kubernetes settings are given, but target is local"


def test_kubernetes_namespace_must_be_a_dns_label(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["runtime"] = {"target": "kubernetes", "kubernetes": {"namespace": "Presence_Sync"}}
    assert "is not a DNS label" in problem_at(spec_data, "runtime.kubernetes.namespace").message


def test_polling_faster_than_the_cxone_budget_allows_is_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["runtime"] = {"pollIntervalSeconds": 1, "apiBudgetPerMinute": {"cxone": 30}}
    problem = problem_at(spec_data, "runtime.pollIntervalSeconds")
    assert problem.message == (
        "polling every 1 s takes 60 CXone calls a minute, more than apiBudgetPerMinute.cxone (30)"
    )


def test_user_overrides_must_match_each_user_once(spec_data: dict[str, Any], validate: Validate) -> None:
    spec_data["runtime"] = {
        "userOverrides": [
            {"cxone": "ada@cx.example.com", "salesforce": "ada@example.com.prod"},
            {"cxone": "ADA@cx.example.com", "salesforce": "ada2@example.com.prod"},
            {"cxone": "grace", "salesforce": "ada@example.com.prod"},
        ]
    }
    problems = {p.path: p.message for p in validate(spec_data)}
    assert problems == {
        "runtime.userOverrides[1].cxone": "'ADA@cx.example.com' has two overrides (also userOverrides[0])",
        "runtime.userOverrides[2].cxone": "CXone user is not an e-mail address (it has no '@')",
        "runtime.userOverrides[2].salesforce": "'ada@example.com.prod' has two overrides (also userOverrides[0])",
    }


def test_user_matching_is_by_email_only_for_now(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["runtime"] = {"userMatching": "name"}
    assert problem_at(spec_data, "runtime.userMatching").message == "'name' is not one of 'email'"
