"""The decision rules, as a specification: no I/O, no clock -- states in, one write (or none) out."""

from __future__ import annotations

from presence_sync.runtime_config import RuleConfig, StatusRef
from runtime.rules import AgentView, LedgerEntry, Write, decide, is_echo, previous_after_write, rule_for

AVAILABLE = StatusRef(status_id="0N5AVAIL", developer_name="Available_for_Chats")
BUSY = StatusRef(status_id="0N5BUSY", developer_name="Busy")
LUNCH = StatusRef(status_id="0N5LUNCH", developer_name="Lunch")

CHAT = RuleConfig(
    name="Chat agents",
    priority=0,
    publisher={"Available": AVAILABLE, "Unavailable:Break": BUSY, "LoggedOut": "previous"},
    subscriber={AVAILABLE.status_id: "Available", BUSY.status_id: "Unavailable:Break", LUNCH.status_id: "previous"},
    team_ids=(1,),
)


def view(**kwargs: object) -> AgentView:
    values: dict[str, object] = {"agent_id": 7, "team_id": 1}
    values.update(kwargs)
    return AgentView(**values)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ precedence


def test_a_rule_naming_the_agent_beats_any_team_rule() -> None:
    team = RuleConfig(name="team", priority=0, team_ids=(1,), publisher={"Available": AVAILABLE})
    user = RuleConfig(name="user", priority=9, agent_ids=(7,), publisher={"Available": BUSY})
    assert rule_for([team, user], 7, 1) is user


def test_among_team_rules_the_lower_priority_number_wins_then_the_first_listed() -> None:
    low = RuleConfig(name="low", priority=1, team_ids=(1,), publisher={"Available": AVAILABLE})
    high = RuleConfig(name="high", priority=5, team_ids=(1,), publisher={"Available": BUSY})
    also_low = RuleConfig(name="also-low", priority=1, team_ids=(1,), publisher={"Available": BUSY})
    assert rule_for([high, low, also_low], 7, 1) is low


def test_an_agent_no_rule_covers_is_left_alone() -> None:
    assert rule_for([CHAT], 7, 2) is None
    assert decide([CHAT], view(team_id=2, acd="Available", sf=BUSY.status_id, source="acd")) is None


# ------------------------------------------------------------------------------------------ directions


def test_a_cxone_change_sets_the_mapped_omni_status() -> None:
    decision = decide([CHAT], view(acd="Available", sf=BUSY.status_id, source="acd"))
    assert decision == Write("sf", AVAILABLE.status_id, "Chat agents")


def test_an_omni_change_sets_the_mapped_cxone_state_with_the_code_name() -> None:
    decision = decide([CHAT], view(acd="Available", sf=BUSY.status_id, source="sf"))
    assert decision == Write("acd", "Unavailable:Break", "Chat agents")


def test_nothing_is_written_when_the_other_side_is_already_there() -> None:
    assert decide([CHAT], view(acd="Available", sf=AVAILABLE.status_id, source="acd")) is None
    assert decide([CHAT], view(acd="Unavailable:Break", sf=BUSY.status_id, source="sf")) is None


def test_a_pending_write_counts_as_arrived_so_a_burst_makes_one_write() -> None:
    pending = view(acd="Available", sf=BUSY.status_id, source="acd", expected={"sf": AVAILABLE.status_id})
    assert decide([CHAT], pending) is None


def test_unmapped_states_change_nothing() -> None:
    assert decide([CHAT], view(acd="Unavailable:Lunch", sf=AVAILABLE.status_id, source="acd")) is None
    assert decide([CHAT], view(acd="Available", sf="0N5OTHER", source="sf")) is None


def test_plain_unavailable_in_a_map_matches_any_code_it_does_not_list() -> None:
    rule = RuleConfig(name="r", priority=0, team_ids=(1,), publisher={"Unavailable": BUSY})
    assert decide([rule], view(acd="Unavailable:Lunch", sf=AVAILABLE.status_id, source="acd")) == Write(
        "sf", BUSY.status_id, "r"
    )


def test_a_plain_unavailable_target_keeps_the_agents_reason_code() -> None:
    rule = RuleConfig(name="r", priority=0, team_ids=(1,), subscriber={BUSY.status_id: "Unavailable"})
    assert decide([rule], view(acd="Unavailable:Meeting", sf=BUSY.status_id, source="sf")) is None


def test_no_omni_command_for_an_agent_logged_out_of_omni() -> None:
    assert decide([CHAT], view(acd="Available", sf=None, source="acd")) is None


def test_no_cxone_write_for_an_agent_without_a_session() -> None:
    assert decide([CHAT], view(acd="LoggedOut", sf=BUSY.status_id, source="sf")) is None


def test_platform_states_cannot_be_set_through_an_agent_session() -> None:
    rule = RuleConfig(name="r", priority=0, team_ids=(1,), subscriber={BUSY.status_id: "LoggedOut"})
    assert decide([rule], view(acd="Available", sf=BUSY.status_id, source="sf")) is None


# ------------------------------------------------------------------------------------------ previous


def test_previous_restores_the_omni_status_from_before_the_rules_first_change() -> None:
    agent = view(acd="Available", sf=LUNCH.status_id, source="acd")
    assert previous_after_write(agent, "sf", caused_by_us=False) == LUNCH.status_id
    # later rule writes keep that memory: the agent's own choice, not our last write, is restored
    assert previous_after_write(view(sf=AVAILABLE.status_id, previous={"sf": LUNCH.status_id}), "sf", True) == (
        LUNCH.status_id
    )
    logged_out = view(acd="LoggedOut", sf=AVAILABLE.status_id, source="acd", previous={"sf": LUNCH.status_id})
    assert decide([CHAT], logged_out) == Write("sf", LUNCH.status_id, "Chat agents", restores_previous=True)


def test_previous_with_nothing_remembered_writes_nothing() -> None:
    assert decide([CHAT], view(acd="LoggedOut", sf=AVAILABLE.status_id, source="acd")) is None


def test_previous_restores_the_cxone_state() -> None:
    agent = view(acd="Unavailable:Break", sf=LUNCH.status_id, source="sf", previous={"acd": "Unavailable:Meeting"})
    assert decide([CHAT], agent) == Write("acd", "Unavailable:Meeting", "Chat agents", restores_previous=True)


# ------------------------------------------------------------------------------------------ echoes


def entry(state: str, at: float, side: str = "sf") -> LedgerEntry:
    return LedgerEntry(side, state, at, at + 30)  # type: ignore[arg-type]


def test_our_own_write_coming_back_is_an_echo() -> None:
    ledger = [entry(AVAILABLE.status_id, 100.0)]
    assert is_echo(ledger, "sf", AVAILABLE.status_id, now=101.0, changed_at=100.2) == ledger[0]


def test_a_different_state_or_side_is_not_an_echo() -> None:
    ledger = [entry(AVAILABLE.status_id, 100.0)]
    assert is_echo(ledger, "sf", BUSY.status_id, now=101.0) is None
    assert is_echo(ledger, "acd", AVAILABLE.status_id, now=101.0) is None


def test_echoes_are_recognised_only_within_the_window() -> None:
    assert is_echo([entry(AVAILABLE.status_id, 100.0)], "sf", AVAILABLE.status_id, now=131.0) is None


def test_a_change_made_before_our_write_is_not_its_echo() -> None:
    ledger = [entry(AVAILABLE.status_id, 100.0)]
    assert is_echo(ledger, "sf", AVAILABLE.status_id, now=101.0, changed_at=99.0) is None


def test_two_quick_opposite_writes_both_come_back_as_echoes() -> None:
    first, second, third = entry("A", 100.0), entry("B", 100.1), entry("A", 100.2)
    ledger = [first, second, third]
    # observed one by one: A1, then B, then A2
    assert is_echo(ledger, "sf", "A", now=100.3, changed_at=100.01) == first
    assert is_echo([second, third], "sf", "B", now=100.3, changed_at=100.11) == second
    assert is_echo([third], "sf", "A", now=100.3, changed_at=100.21) == third
    # observed collapsed (a poll saw only the last one): the newest A
    assert is_echo(ledger, "sf", "A", now=100.3, changed_at=100.21) == third
