"""Infrastructure the simulated accounts live on: IP addresses, user agents, sign-up details.

All of it is invented: addresses are drawn from realistic-looking public ranges (residential ISP,
cloud and hosting first octets, IPv6 /32 prefixes of the same kinds), never from private or
reserved space, and none of it refers to a real host. What matters for detection is the
*structure*: which accounts share a /24 or an IPv6 /64, a user agent, a payment fingerprint or an
e-mail domain, and how account creation times cluster.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from distillscan.simulate.data import read_json
from distillscan.simulate.rng import Rng


@dataclass(frozen=True, slots=True)
class Country:
    """A sign-up country with its usual UTC offset and the languages its users write in."""

    code: str
    tz: int
    weight: float
    langs: dict[str, float]


class Infra:
    """Generators for addresses, agents and sign-up details, drawing from one stream."""

    def __init__(self, rng: Rng) -> None:
        self.data = read_json("infra.json")
        self.rng = rng
        self.countries = [Country(**c) for c in self.data["countries"]]
        self._used_prefixes: set[str] = set()

    # --- places and languages -------------------------------------------------------------

    def country(self) -> Country:
        """A country drawn by weight (where ordinary customers sign up from)."""
        return self.rng.py.choices(self.countries, weights=[c.weight for c in self.countries])[0]

    def country_by_code(self, code: str) -> Country:
        """The first entry for ``code``."""
        return next(c for c in self.countries if c.code == code)

    def proxy_country(self) -> Country:
        """A permitted region a proxy service routes through (geography says nothing)."""
        return self.country_by_code(self.rng.py.choice(self.data["proxy_countries"]))

    # --- IP addresses -------------------------------------------------------------------------

    def prefix24(self, kind: str) -> str:
        """A fresh public /24 (``"a.b.c"``) of ``kind``: residential, cloud or hosting."""
        octets: list[int] = self.data[f"{kind}_octets"]
        while True:
            a = self.rng.py.choice(octets)
            prefix = f"{a}.{self.rng.py.randrange(256)}.{self.rng.py.randrange(256)}"
            if prefix in self._used_prefixes:
                continue
            if not ipaddress.ip_address(prefix + ".1").is_global:
                continue
            self._used_prefixes.add(prefix)
            return prefix

    def ipv4_in(self, prefix: str, low: int = 2, high: int = 254) -> str:
        """An address inside the /24 ``prefix``."""
        return f"{prefix}.{self.rng.py.randint(low, high)}"

    def prefix64(self, kind: str) -> str:
        """A fresh IPv6 /64 prefix (four groups) of ``kind``: residential, mobile or hosting."""
        head = self.rng.py.choice(self.data[f"ipv6_{kind}"])
        groups = head.split(":")
        while len(groups) < 4:
            groups.append(f"{self.rng.py.randrange(65536):x}")
        return ":".join(groups)

    def ipv6_in(self, prefix64: str) -> str:
        """An address (random interface id) inside an IPv6 /64."""
        tail = ":".join(f"{self.rng.py.randrange(65536):x}" for _ in range(4))
        return str(ipaddress.ip_address(f"{prefix64}:{tail}"))

    def home_ips(self, mobile_share: float) -> list[str]:
        """A person's addresses: a home IPv4 (sometimes IPv6) and, maybe, a phone's IPv6."""
        ips = [self.ipv4_in(self.prefix24("residential"))]
        if self.rng.py.random() < 0.25:
            ips.append(self.ipv6_in(self.prefix64("residential")))
        if self.rng.py.random() < mobile_share:
            ips.append(self.ipv6_in(self.prefix64("mobile")))
        return ips

    # --- agents and sign-up details ---------------------------------------------------------

    def user_agent(self, family: str) -> str:
        """A user agent from one family (sdk_python, http_generic, rare, gateway, ...)."""
        agents: list[str] = self.data["user_agents"][family]
        return self.rng.py.choice(agents)

    def developer_agent(self) -> str:
        """What a developer's code sends: mostly SDKs, sometimes a plain HTTP client."""
        family = self.rng.weighted(
            ["sdk_python", "sdk_node", "http_generic", "framework", "rare"],
            [50, 18, 18, 10, 4],
        )
        return self.user_agent(family)

    def payment(self) -> str:
        """A fresh payment-instrument fingerprint."""
        return "pf_" + self.rng.hex(6)

    def personal_domain(self) -> str:
        """A webmail domain, by popularity."""
        domains: dict[str, float] = self.data["personal_domains"]
        return self.rng.weighted(list(domains), list(domains.values()))

    def company_domain(self) -> str:
        """An invented company domain (``acmelabs.io``, ``nimbus.ai``)."""
        word: str = self.rng.py.choice(self.data["company_words"])
        suffix: str = self.rng.py.choice(self.data["company_suffixes"])
        return f"{word}.ai" if suffix == "ai" else f"{word}{suffix}"

    def university_domain(self) -> str:
        """An invented university domain."""
        domain: str = self.rng.py.choice(self.data["university_domains"])
        return domain

    def cheap_domain(self) -> str:
        """A throwaway custom domain of the kind bulk sign-ups use."""
        word = self.rng.py.choice(self.data["cheap_words"])
        return f"{word}{self.rng.py.randint(1, 99)}.{self.rng.py.choice(self.data['cheap_tlds'])}"

    def created_before(self, start: datetime, min_days: float, max_days: float) -> datetime:
        """An account creation time between ``max_days`` and ``min_days`` before ``start``."""
        days = self.rng.py.uniform(min_days, max_days)
        return _trim(start - timedelta(days=days))

    def created_around(self, moment: datetime, spread_hours: float) -> datetime:
        """A creation time within ``spread_hours`` after ``moment`` (a sign-up burst)."""
        return _trim(moment + timedelta(hours=self.rng.py.uniform(0, spread_hours)))


def _trim(moment: datetime) -> datetime:
    """Whole seconds, as account databases store them."""
    return moment.replace(microsecond=0)
