"""Who sends the traffic: accounts (with their infrastructure) and personas (with behaviour).

An *account* is what the provider bills: it has an id, sign-up details, API keys, the addresses
and user agents its requests come from. A *persona* is whatever decides what is sent and when: a
person, an app's end user, an enterprise integration, an evaluation harness, or a campaign's
harvesting worker. Most personas use one account; a reseller's end users and a campaign's
load-balancing scheduler spread their requests over a pool of accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Label = Literal["benign", "campaign"]
Assign = Literal["single", "round_robin", "random"]
Planner = Literal["sessions", "stream", "burst"]


@dataclass(slots=True)
class Account:
    """A billed customer account and the infrastructure its requests come from."""

    index: int
    account_id: str
    kind: str
    created_at: datetime
    email_domain: str
    payment_fingerprint: str | None
    country: str
    org_id: str
    api_keys: list[str]
    ips: list[str]
    ip_sticky: float  # chance a request uses ips[0]; otherwise any of ips
    user_agents: list[str]
    ua_sticky: float
    campaign_id: str | None = None
    ip_fresh: float = 0.0  # chance a request comes from a never-used exit address instead


@dataclass(slots=True)
class Persona:
    """Something that generates requests, with its timing and content habits."""

    index: int
    kind: str
    group: str  # the traffic budget group (profiles.toml shares)
    label: Label
    accounts: list[int]
    assign: Assign = "single"
    campaign_id: str | None = None
    end_user_id: str | None = None
    # --- timing ---
    planner: Planner = "sessions"
    rate: float = 1.0  # relative events per active day
    p_active: float = 1.0
    first_day: int = 0
    last_day: int = 10_000
    weekend: float = 1.0
    tz: int = 0
    diurnal: str = "human"
    session_events: float = 3.0
    gap_seconds: float = 90.0
    gap_cv: float = 1.0
    conversation_turns: float = 1.0
    schedule: int = -1  # campaign on/off schedule id (-1: none)
    release_burst: bool = False  # runs a burst on the new model's first day
    # --- content ---
    mix: int = 0
    styles: int = 0
    system_pool: int = -1
    system_share: float = 0.0
    tools: str | None = None
    tools_share: float = 0.0
    param_style: str = "chat"
    models: int = 0
    adopt_delay_h: float = 48.0
    adopt_ramp_h: float = 96.0
    adopt_day1: float = 0.2
    adopt_plateau: float = 0.2
    error_rate: float = 0.01
    operation: str | None = None


@dataclass(slots=True)
class CampaignTruth:
    """What the truth file says about one planted campaign."""

    campaign_id: str
    name: str
    kind: str
    description: str
    capabilities: list[str]
    languages: list[str]
    accounts: list[int] = field(default_factory=list)
    end_users: list[tuple[int, str]] = field(default_factory=list)  # (account, end user)
    notes: dict[str, object] = field(default_factory=dict)


@dataclass(slots=True)
class Population:
    """Everyone in the simulation."""

    accounts: list[Account] = field(default_factory=list)
    personas: list[Persona] = field(default_factory=list)
    campaigns: list[CampaignTruth] = field(default_factory=list)
    schedules: list[list[list[float]]] = field(default_factory=list)  # [schedule][day][hour]

    def add_account(self, **fields: object) -> Account:
        """Create an account with the next index."""
        account = Account(index=len(self.accounts), **fields)  # type: ignore[arg-type]
        self.accounts.append(account)
        return account

    def add_persona(self, **fields: object) -> Persona:
        """Create a persona with the next index."""
        persona = Persona(index=len(self.personas), **fields)  # type: ignore[arg-type]
        self.personas.append(persona)
        return persona

    def add_schedule(self, hours: list[list[float]]) -> int:
        """Register a campaign's hour-by-hour activity (one list of 24 weights per day)."""
        self.schedules.append(hours)
        return len(self.schedules) - 1
