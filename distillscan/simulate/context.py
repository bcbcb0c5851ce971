"""Shared state and helpers for building the population (benign kinds and campaigns)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from distillscan.simulate.config import Profile, SimulationConfig
from distillscan.simulate.content import LANGUAGES, ContentModel
from distillscan.simulate.infra import Country, Infra
from distillscan.simulate.population import Account, Population
from distillscan.simulate.rng import Rng


@dataclass(slots=True)
class BuildContext:
    """Everything a population builder needs."""

    config: SimulationConfig
    profile: Profile
    population: Population
    content: ContentModel
    infra: Infra
    rng: Rng
    system_draws: int = 0

    @property
    def days(self) -> int:
        """Days in the window."""
        return self.config.days

    @property
    def start(self) -> datetime:
        """First midnight of the window."""
        return self.config.start

    @property
    def release_day(self) -> int:
        """Day index on which the new model appears."""
        return (self.config.release - self.config.start).days

    def count(self, budget: float, per_persona: float, minimum: int, maximum: int = 10**7) -> int:
        """How many personas carry ``budget`` events when each carries ``per_persona``."""
        if budget <= 0:
            return 0
        return max(minimum, min(maximum, round(budget / max(per_persona, 1e-9))))

    def expected(self, rate: float, p_active: float, weekend: float, days: float) -> float:
        """Expected events of a persona over ``days`` days."""
        return rate * p_active * (5 + 2 * weekend) / 7 * days

    # --- identities ---------------------------------------------------------------------

    def account_id(self) -> str:
        """A fresh account id."""
        return "acct_" + self.infra.rng.hex(6)

    def org_id(self) -> str:
        """A fresh organisation id."""
        return "org-" + self.infra.rng.hex(6)

    def api_keys(self, count: int) -> list[str]:
        """``count`` fresh API key ids."""
        return ["key_" + self.infra.rng.hex(5) for _ in range(count)]

    def key_count(self) -> int:
        """How many API keys an ordinary account has: mostly one."""
        return self.rng.py.choices([1, 2, 3], weights=[70, 22, 8])[0]

    def language_of(self, country: Country) -> str:
        """A user's main language, given where they live."""
        langs = {k: v for k, v in country.langs.items() if k in LANGUAGES}
        return self.rng.weighted(list(langs), list(langs.values()))

    def person_account(
        self,
        kind: str,
        *,
        country: Country,
        created_min_days: float = 20,
        created_max_days: float = 900,
        mobile_share: float = 0.3,
        agent: str | None = None,
        domain: str | None = None,
    ) -> Account:
        """An individual's account: home addresses, webmail, own card, own organisation."""
        infra = self.infra
        agents = [agent or infra.developer_agent()]
        if self.rng.py.random() < 0.15:
            agents.append(infra.user_agent("browser"))
        return self.population.add_account(
            account_id=self.account_id(),
            kind=kind,
            created_at=infra.created_before(self.start, created_min_days, created_max_days),
            email_domain=domain or infra.personal_domain(),
            payment_fingerprint=infra.payment(),
            country=country.code,
            org_id=self.org_id(),
            api_keys=self.api_keys(self.key_count()),
            ips=infra.home_ips(mobile_share),
            ip_sticky=0.75,
            user_agents=agents,
            ua_sticky=0.9,
        )

    def system_pool(self, style: str, language: str, count: int, script: str = "") -> int:
        """A pool of ``count`` system prompts rendered from the ``style`` templates.

        Rendering happens once, here: the same prompt text then recurs verbatim across the
        persona's (or the campaign's, with a ``script`` name) requests, as a fixed system prompt
        does. Without a script every call draws afresh, so unrelated personas only share a prompt
        when the templates leave little room (as "You are a helpful assistant." does).
        """
        pack = self.content.grammar.languages[language]
        texts = pack.system.get(style) or self.content.grammar.languages["en"].system[style]
        source = language if pack.system.get(style) else "en"
        self.system_draws += 1
        name = script or f"draw-{self.system_draws}"
        rnd = self.rng.child("system", style, language, name, count).py
        prompts = sorted(
            {self.content.grammar.render(rnd.choice(texts), source, rnd) for _ in range(count)}
        )
        return self.content.bank.pool(prompts)

    def lognormal(self, median: float, sigma: float) -> float:
        """A log-normal draw from the context's stream."""
        return self.rng.lognormal(median, sigma)

    def uniform(self, low: float, high: float) -> float:
        """A uniform draw from the context's stream."""
        return self.rng.py.uniform(low, high)

    def chance(self, probability: float) -> bool:
        """True with ``probability``."""
        return self.rng.py.random() < probability

    def jitter(self, value: float, spread: float = 0.3) -> float:
        """``value`` times a random factor around 1."""
        return value * math.exp(self.rng.py.gauss(0.0, spread))
