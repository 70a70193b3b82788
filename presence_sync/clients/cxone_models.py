"""The CXone tenant's objects as ``CxoneClient`` returns them (pydantic models of the API's JSON, which names
fields inconsistently: both spellings are accepted) and its timestamps (``updatedSince``/``lastUpdateTime``)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

__all__ = [
    "Agent",
    "AgentState",
    "Team",
    "TeamUnavailableCode",
    "UnavailableCode",
    "format_since",
    "parse_cxone_time",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Agent(_Model):
    agent_id: int = Field(alias="agentId")
    user_name: str | None = Field(default=None, alias="userName")
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    email: str | None = Field(default=None, alias="emailAddress")
    is_active: bool = Field(default=True, alias="isActive")
    team_id: int | None = Field(default=None, alias="teamId")
    team_name: str | None = Field(default=None, alias="teamName")
    user_id: str | None = Field(default=None, validation_alias=AliasChoices("userID", "userId"))


class Team(_Model):
    team_id: int = Field(alias="teamId")
    team_name: str = Field(alias="teamName")
    is_active: bool = Field(default=True, alias="isActive")


class UnavailableCode(_Model):
    """An unavailable code (an ACD "Unavailable" reason); presence rules refer to it by ``id``."""

    id: int = Field(validation_alias=AliasChoices("id", "outStateId", "outstateId"))
    name: str = Field(validation_alias=AliasChoices("name", "outStateName", "outstateName"))
    is_active: bool = Field(default=True, alias="isActive")
    is_acw: bool = Field(default=False, validation_alias=AliasChoices("isACW", "isAcw"))


class TeamUnavailableCode(_Model):
    """An unavailable code assigned to a team (``/teams/{id}/unavailable-codes``; note ``outstateId``)."""

    outstate_id: int = Field(validation_alias=AliasChoices("outstateId", "outStateId", "id"))
    outstate_name: str | None = Field(default=None, validation_alias=AliasChoices("outstateName", "outStateName"))
    is_active: bool = Field(default=True, alias="isActive")
    is_acw: bool = Field(default=False, validation_alias=AliasChoices("isAcw", "isACW"))


class AgentState(_Model):
    """An agent's real-time state (``/agents/states``)."""

    agent_id: int = Field(alias="agentId")
    agent_state_id: int | None = Field(default=None, alias="agentStateId")
    agent_state_name: str = Field(alias="agentStateName")
    out_state_id: int | None = Field(default=None, validation_alias=AliasChoices("outStateId", "outstateId"))
    out_state_description: str | None = Field(default=None, alias="outStateDescription")
    team_id: int | None = Field(default=None, alias="teamId")
    last_update_time: str | None = Field(default=None, alias="lastUpdateTime")
    start_date: str | None = Field(default=None, alias="startDate")
    is_acw: bool | None = Field(default=None, alias="isACW")
    contact_id: int | str | None = Field(default=None, alias="contactId")
    last_poll_time: str | None = Field(default=None, alias="lastPollTime")  # only in agents/{id}/states


def format_since(value: str | datetime | None) -> str:
    """``updatedSince`` text: a previous ``lastPollTime`` passes through; datetimes become ISO 8601 UTC."""
    if value is None:
        return "0"
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_cxone_time(value: str | None) -> datetime | None:
    """A CXone timestamp (``2024-05-01T12:34:56.789Z``, an offset, or naive = UTC) as an aware datetime."""
    if not value or value == "0":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
