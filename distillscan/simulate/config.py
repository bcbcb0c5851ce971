"""Simulation settings: the command-line options and the named profiles they select."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from distillscan.errors import ConfigError
from distillscan.simulate.data import read_text

#: Output wrappings ``--format`` accepts.
OUTPUT_FORMATS: tuple[str, ...] = ("canonical", "openai", "anthropic", "bedrock", "litellm")

#: Population groups that carry campaign traffic.
CAMPAIGN_GROUPS: tuple[str, ...] = ("campaign_a", "campaign_b", "campaign_c", "hydra_tenant")
#: Every population group, in generation order.
GROUPS: tuple[str, ...] = (
    "chat_user",
    "power_user",
    "developer",
    "enterprise_app",
    "eval_team",
    "coding_product",
    "university",
    "reseller",
    "hydra_reseller",
    *CAMPAIGN_GROUPS,
)

#: Default first day of the simulated window (a Monday); nothing reads the wall clock.
DEFAULT_START = datetime(2026, 2, 2, tzinfo=UTC)
#: Events of the reference scale the population sizes are tuned for.
REFERENCE_EVENTS = 200_000

#: Models offered before the release, and the one released mid-window.
MODELS_BEFORE: tuple[str, ...] = ("atlas-2", "atlas-2-mini", "atlas-1.5")
NEW_MODEL = "atlas-3"


@dataclass(frozen=True, slots=True)
class Evasion:
    """How hard the campaigns try to look like ordinary traffic (see ``profiles.toml``)."""

    timing_jitter: float
    ip_rotation: float
    paraphrase: float
    per_account_volume: float
    shared_details: float
    synchronization: float
    #: Share of a rotating campaign account's requests sent from an exit address never used
    #: before (a pool that hands out a fresh address per request), instead of its own few.
    fresh_addresses: float = 0.0
    #: Share of a campaign's chain-of-thought requests that ask for the reasoning in their own
    #: words (the ``explain`` wrappers) rather than with a fixed phrase.
    paraphrased_elicitation: float = 0.0
    #: Share of the hydra tenant's end users that run agent loops (tools, tool results,
    #: orchestration) rather than single-shot reasoning prompts.
    agentic_tenant: float = 0.0


@dataclass(frozen=True, slots=True)
class Profile:
    """A named population mix and evasion setting."""

    name: str
    description: str
    shares: dict[str, float]
    evasion: Evasion

    @property
    def has_campaigns(self) -> bool:
        """True when any campaign group carries traffic."""
        return any(self.shares.get(g, 0) > 0 for g in CAMPAIGN_GROUPS)


def load_profiles() -> dict[str, Profile]:
    """Every profile in ``data/profiles.toml``."""
    data = tomllib.loads(read_text("profiles.toml"))
    profiles = {}
    for name, spec in data.items():
        unknown = set(spec["shares"]) - set(GROUPS)
        if unknown:  # pragma: no cover - a mistake in the shipped data
            raise ConfigError(f"profile {name!r}: unknown groups {sorted(unknown)}")
        profiles[name] = Profile(
            name=name,
            description=spec["description"],
            shares={g: float(spec["shares"].get(g, 0.0)) for g in GROUPS},
            evasion=Evasion(**{k: float(v) for k, v in spec["evasion"].items()}),
        )
    return profiles


def profile_names() -> list[str]:
    """Names ``--profile`` accepts."""
    return list(load_profiles())


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """What to simulate.

    Attributes:
        events: Total events to write (exactly).
        days: Length of the window in days.
        seed: Seed of every random choice; the same settings and seed give the same bytes.
        output_format: How the events are wrapped (see :data:`OUTPUT_FORMATS`).
        profile: Name of a profile in ``profiles.toml``.
        start: First midnight (UTC) of the window.
        tail_format: Format of the last ``tail_days`` day files (a gateway introduced during
            the window); ``None`` writes every day in ``output_format``.
        tail_days: How many days at the end are written in ``tail_format``.
        compression: ``gzip`` (what most exports use) or ``zstd`` (much faster to write).
        jobs: Worker processes (0: automatic); the output does not depend on it.
    """

    events: int = REFERENCE_EVENTS
    days: int = 14
    seed: int = 0
    output_format: str = "canonical"
    profile: str = "default"
    start: datetime = DEFAULT_START
    tail_format: str | None = None
    tail_days: int = 0
    compression: str = "gzip"
    jobs: int = 0

    def validate(self) -> Profile:
        """Check the settings; return the selected profile.

        Raises:
            ConfigError: a value is out of range or a name is unknown.
        """
        if self.events < 1:
            raise ConfigError(f"--events must be at least 1, got {self.events}")
        if not 2 <= self.days <= 366:
            raise ConfigError(f"--days must be between 2 and 366, got {self.days}")
        if self.tail_format is not None or self.tail_days:
            self._validate_tail()
        if self.compression not in ("gzip", "zstd"):
            raise ConfigError(
                f"unknown compression {self.compression!r}", hint="choose gzip or zstd"
            )
        if self.jobs < 0:
            raise ConfigError(f"--jobs must not be negative, got {self.jobs}")
        if self.output_format not in OUTPUT_FORMATS:
            raise ConfigError(
                f"unknown output format {self.output_format!r}",
                hint=f"choose one of: {', '.join(OUTPUT_FORMATS)}",
            )
        if self.start.tzinfo is None or self.start.utcoffset() != timedelta(0):
            raise ConfigError("the start of the window must be a UTC time")
        profiles = load_profiles()
        if self.profile not in profiles:
            raise ConfigError(
                f"unknown profile {self.profile!r}", hint=f"choose one of: {', '.join(profiles)}"
            )
        return profiles[self.profile]

    def _validate_tail(self) -> None:
        if self.tail_format not in OUTPUT_FORMATS:
            raise ConfigError(
                f"unknown tail format {self.tail_format!r}",
                hint=f"choose one of: {', '.join(OUTPUT_FORMATS)}",
            )
        if not 1 <= self.tail_days < self.days:
            raise ConfigError(
                f"--tail-days must be between 1 and {self.days - 1}, got {self.tail_days}"
            )
        if "bedrock" in (self.output_format, self.tail_format) and (
            self.output_format != self.tail_format
        ):
            raise ConfigError(
                "bedrock cannot be mixed with another format",
                hint="Bedrock names accounts by IAM ARN; the other formats by account id",
            )

    @property
    def scale(self) -> float:
        """Events relative to the reference scale (population sizes follow it)."""
        return self.events / REFERENCE_EVENTS * 14 / self.days

    @property
    def automation_scale(self) -> float:
        """How much busier each automated account is than at the reference scale.

        Bigger exports have both more automated accounts and busier ones: the square root
        splits the growth between the two.
        """
        return math.sqrt(max(self.scale, 1.0))

    @property
    def release(self) -> datetime:
        """When the new model first appears: mid-window, in the afternoon (UTC)."""
        return self.start + timedelta(days=self.days // 2, hours=17)

    @property
    def end(self) -> datetime:
        """The end of the window."""
        return self.start + timedelta(days=self.days)
