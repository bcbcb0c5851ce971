"""The planted campaigns, modelled on the three reported in February 2026, and a hydra tenant.

* **A, reasoning-trace harvest**: a coordinated set of accounts on shared hosting, created in a
  burst, taking turns (round-robin under a per-account rate limit) in shifts that start, pause and
  stop together; chain-of-thought, rubric grading and "censorship-safe alternative" prompts with
  reasoning-demanding system prompts, very high ``max_tokens`` and thinking budgets.
* **B, multi-pathway agentic/multimodal harvest**: hundreds of accounts over three access
  pathways (direct SDK accounts, an API gateway, residential proxies); tool use, agentic coding,
  vision and computer use; moves to each new model within hours of its release.
* **C, agentic-coding harvest at scale**: the biggest; churning accounts that live a few days,
  behind rotating residential proxies; agentic coding and orchestration tool loops; about half of
  its traffic moves to the new model within a day.
* **D, hydra tenant**: one customer of the hydra reseller whose end users run a harvest, mixed
  into the reseller's legitimate traffic: the tenant is the finding, not the reseller.

The evasion knobs of the profile (see ``profiles.toml``) turn each signal up or down.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from distillscan.simulate.context import BuildContext
from distillscan.simulate.population import Account, CampaignTruth

#: Languages of campaign prompts, per campaign.
LANGS_A = {"zh": 0.45, "en": 0.37, "ru": 0.1, "ko": 0.08}
LANGS_B = {"en": 0.5, "zh": 0.33, "ko": 0.09, "es": 0.08}
LANGS_C = {"en": 0.58, "zh": 0.3, "ru": 0.06, "es": 0.06}
LANGS_D = {"zh": 0.5, "en": 0.3, "ru": 0.2}

FAMILIES_A = {
    "reasoning": 3.0,
    "math": 3.0,
    "safety_sensitive": 2.0,
    "grading": 2.0,
    "knowledge": 1.0,
    "coding": 0.7,
    "creative": 0.3,
}
FAMILIES_B = {
    "tool_use": 3.0,
    "computer_use": 2.0,
    "vision": 2.5,
    "agentic_coding": 1.5,
    "coding": 1.5,
    "reasoning": 1.0,
    "orchestration": 0.5,
}
FAMILIES_C = {
    "agentic_coding": 4.0,
    "orchestration": 2.5,
    "tool_use": 1.5,
    "coding": 2.0,
    "reasoning": 0.3,
}
FAMILIES_D = {
    "reasoning": 2.0,
    "math": 2.0,
    "coding": 2.0,
    "safety_sensitive": 1.0,
    "grading": 1.0,
    "knowledge": 1.0,
}


def _weights(
    families: dict[str, float], languages: dict[str, float]
) -> dict[tuple[str, str], float]:
    return {(f, lang): fw * lw for f, fw in families.items() for lang, lw in languages.items()}


def _script_keep(ctx: BuildContext) -> float:
    """Share of a family's templates a campaign's generator uses (paraphrase knob)."""
    return 0.25 + 0.75 * ctx.profile.evasion.paraphrase


def _structured_share(ctx: BuildContext) -> float:
    """Share of pipeline-shaped (structured) prompts; paraphrasing makes them read natural."""
    return 0.8 - 0.5 * ctx.profile.evasion.paraphrase


def _natural_touch(ctx: BuildContext) -> float:
    """Weight of chatty, human-sounding wrappers in a campaign's style mix (paraphrase knob)."""
    return 25.0 * ctx.profile.evasion.paraphrase


def _elicitation(ctx: BuildContext, weight: float) -> dict[str, float]:
    """Style weights for a campaign's requests for reasoning: fixed phrases (``cot``), and as
    many as the profile says in the campaign's own words (``explain``)."""
    paraphrased = ctx.profile.evasion.paraphrased_elicitation
    if paraphrased == 0:
        return {"cot": weight}
    return {"cot": weight * (1 - paraphrased), "explain": weight * paraphrased}


def _system_variants(ctx: BuildContext) -> int:
    """How many system-prompt variants a campaign rotates through (paraphrase knob)."""
    return 2 + round(10 * ctx.profile.evasion.paraphrase)


def _system_pool(ctx: BuildContext, styles: list[str], languages: list[str], script: str) -> int:
    """One pool of system prompts shared by every account of a campaign."""
    prompts: list[str] = []
    variants = _system_variants(ctx)
    for style in styles:
        for language in languages:
            pool = ctx.system_pool(style, language, variants, script=script)
            prompts.extend(ctx.content.bank.pool_strings(pool))
    return ctx.content.bank.pool(sorted(set(prompts)))


def _schedule(ctx: BuildContext, name: str, hours_on: tuple[int, int], pause_days: int) -> int:
    """An operating schedule: daily shifts with pauses, and whole days off, all shared."""
    rnd = ctx.rng.child("schedule", name).py
    off_days = set(rnd.sample(range(1, ctx.days), min(pause_days, ctx.days - 1)))
    days: list[list[float]] = []
    for day in range(ctx.days):
        hours = [0.0] * 24
        if day not in off_days:
            start = rnd.randint(0, 5)
            length = rnd.randint(*hours_on)
            for h in range(start, min(24, start + length)):
                hours[h] = 1.0
            for _ in range(rnd.randint(0, 2)):  # pauses within the shift
                pause = rnd.randint(start, min(23, start + length))
                for h in range(pause, min(24, pause + rnd.randint(1, 3))):
                    hours[h] = 0.0
            if not any(hours):
                hours[start] = 1.0
        days.append(hours)
    return ctx.population.add_schedule(days)


def _perturbed(ctx: BuildContext, schedule: int, name: str) -> int:
    """A variant of a shared schedule for a worker that is not perfectly synchronised."""
    rnd = ctx.rng.child("perturb", name).py
    base = ctx.population.schedules[schedule]
    days = []
    for hours in base:
        shifted = hours[rnd.randint(-2, 2) :] + hours[: rnd.randint(-2, 2)]
        shifted = (shifted + [0.0] * 24)[:24]
        days.append([max(0.0, min(1.0, h + rnd.uniform(-0.3, 0.3))) for h in shifted])
    return ctx.population.add_schedule(days)


def _campaign_accounts(
    ctx: BuildContext,
    *,
    kind: str,
    campaign_id: str,
    count: int,
    hosting_prefixes: int,
    proxy_pool: list[str],
    agents: list[str],
    burst_days_before: tuple[float, float],
    burst_hours: float,
    domains: list[str],
    card_group: int,
) -> list[Account]:
    """Accounts of one campaign group with shared details, as the knobs allow."""
    evasion = ctx.profile.evasion
    shared = evasion.shared_details
    prefixes = [ctx.infra.prefix24("hosting") for _ in range(max(1, hosting_prefixes))]
    burst = ctx.infra.created_before(ctx.start, *burst_days_before)
    # sign-ups in one burst, or (with fewer shared details) spread over the weeks before it;
    # always before the window, since the accounts are used from its first day
    spread_days = (burst_hours + (1 - shared) * 24 * 20) / 24
    cards: list[str] = []
    accounts = []
    for i in range(count):
        if i % max(1, card_group) == 0:
            cards.append(ctx.infra.payment())
        own_ip = ctx.infra.ipv4_in(ctx.rng.py.choice(prefixes))
        proxies = ctx.rng.py.sample(proxy_pool, min(len(proxy_pool), ctx.rng.py.randint(4, 10)))
        country = ctx.infra.proxy_country()
        accounts.append(
            ctx.population.add_account(
                account_id=ctx.account_id(),
                kind=kind,
                created_at=ctx.infra.created_before(burst, 0, spread_days),
                email_domain=(
                    ctx.rng.py.choice(domains)
                    if ctx.chance(shared)
                    else ctx.infra.personal_domain()
                ),
                payment_fingerprint=cards[-1] if ctx.chance(shared) else ctx.infra.payment(),
                country=country.code,
                org_id=ctx.org_id(),
                api_keys=ctx.api_keys(1),
                ips=[own_ip, *proxies],
                ip_sticky=1.0 - evasion.ip_rotation,
                user_agents=(
                    [ctx.rng.py.choice(agents)]
                    if ctx.chance(shared)
                    else [ctx.infra.developer_agent()]
                ),
                ua_sticky=1.0,
                campaign_id=campaign_id,
            )
        )
    return accounts


def _proxy_pool(ctx: BuildContext, size: int) -> list[str]:
    """Residential proxy exits: many /24s and IPv6 /64s, a few addresses in each."""
    ips: list[str] = []
    while len(ips) < size:
        if ctx.chance(0.3):
            ips.append(ctx.infra.ipv6_in(ctx.infra.prefix64("residential")))
            continue
        prefix = ctx.infra.prefix24("residential")
        ips.extend(ctx.infra.ipv4_in(prefix) for _ in range(ctx.rng.py.randint(1, 3)))
    return ips[:size]


def _proxy_pool_size(ctx: BuildContext, accounts: int, per_account: float) -> int:
    """Exits of the residential proxy pool a campaign rents: the more it rotates, the bigger
    the pool, and the less two of its accounts happen to share an exit."""
    rotation = ctx.profile.evasion.ip_rotation
    return max(20, round(accounts * (per_account + 20 * rotation * rotation)))


def _hosting_prefixes(ctx: BuildContext, accounts: int, clustered: int) -> int:
    """/24s a campaign's own servers sit in: a few shared ones, or (with fewer shared
    details) nearly one per account, spread over providers."""
    spread = round(accounts * (1 - ctx.profile.evasion.shared_details) * 0.8)
    return max(clustered, spread)


def _volume(ctx: BuildContext, per_account_day: float) -> float:
    """Per-account daily volume after the scale and the per-account volume knob."""
    return per_account_day * ctx.config.automation_scale * ctx.profile.evasion.per_account_volume


def build_campaign_a(ctx: BuildContext, budget: int) -> None:
    """Reasoning-trace harvest: synchronised shifts, round-robin load balancing."""
    evasion = ctx.profile.evasion
    cid = "campaign-a"
    n = ctx.count(budget, _volume(ctx, 40.0) * ctx.days * 0.8, 6)
    proxies = _proxy_pool(ctx, _proxy_pool_size(ctx, n, 2))
    domains = [ctx.infra.cheap_domain() for _ in range(2)]
    agents = [ctx.infra.user_agent("rare")]
    accounts = _campaign_accounts(
        ctx,
        kind="campaign_a",
        campaign_id=cid,
        count=n,
        hosting_prefixes=_hosting_prefixes(ctx, n, 2 + n // 25),
        proxy_pool=proxies,
        agents=agents,
        burst_days_before=(4, 9),
        burst_hours=6,
        domains=domains,
        card_group=6,
    )
    languages = list(LANGS_A)
    weights = _weights(FAMILIES_A, LANGS_A)
    mix = ctx.content.mix(
        weights, script=cid, keep=_script_keep(ctx), structured_share=_structured_share(ctx)
    )
    styles = ctx.content.style_mix(
        {
            **_elicitation(ctx, 35),
            "long": 15,
            "rationale": 15,
            "safe_alt": 10,
            "plain": 20,
            "format": 5,
            "context": _natural_touch(ctx),
        }
    )
    system = _system_pool(ctx, ["reasoning", "judge", "safe"], languages, cid)
    schedule = _schedule(ctx, cid, (16, 22), pause_days=max(1, ctx.days // 10))
    models = ctx.content.model_mix({"atlas-2": 1.0})
    workers = 3
    pool = [a.index for a in accounts]
    for w in range(workers):
        own = (
            schedule if ctx.chance(evasion.synchronization) else _perturbed(ctx, schedule, f"a{w}")
        )
        ctx.population.add_persona(
            kind="campaign_a",
            group="campaign_a",
            label="campaign",
            campaign_id=cid,
            accounts=pool,
            assign="round_robin" if evasion.timing_jitter < 0.5 else "random",
            planner="stream",
            rate=1.0,
            p_active=1.0,
            schedule=own,
            gap_cv=0.05 + 0.95 * evasion.timing_jitter,
            conversation_turns=1.05,
            mix=mix,
            styles=styles,
            system_pool=system,
            system_share=0.75,
            param_style="harvest_reasoning",
            models=models,
            adopt_delay_h=ctx.uniform(30, 60),
            adopt_ramp_h=12.0,
            adopt_day1=0.3,
            adopt_plateau=0.5,
            error_rate=0.04,
        )
    ctx.population.campaigns.append(
        CampaignTruth(
            campaign_id=cid,
            name="Reasoning-trace harvest (A)",
            kind="reasoning_harvest",
            description=(
                "Coordinated accounts on shared hosting, created in a burst, taking turns under a "
                "per-account rate limit in synchronised shifts; chain-of-thought, rubric grading "
                "and censorship-safe-alternative prompts with reasoning system prompts."
            ),
            capabilities=sorted(FAMILIES_A),
            languages=languages,
            accounts=pool,
            notes={"workers": workers, "schedule": "shared shifts with pauses and days off"},
        )
    )


def build_campaign_b(ctx: BuildContext, budget: int) -> None:
    """Multi-pathway agentic/multimodal harvest that pivots to new models within hours."""
    evasion = ctx.profile.evasion
    cid = "campaign-b"
    n = ctx.count(budget, _volume(ctx, 30.0) * ctx.days * 0.85, 9)
    weights = _weights(FAMILIES_B, LANGS_B)
    mix = ctx.content.mix(
        weights, script=cid, keep=_script_keep(ctx), structured_share=_structured_share(ctx)
    )
    styles = ctx.content.style_mix(
        {
            "plain": 40,
            **_elicitation(ctx, 25),
            "long": 10,
            "format": 15,
            "rationale": 10,
            "context": _natural_touch(ctx),
        }
    )
    system = _system_pool(ctx, ["agent", "reasoning"], list(LANGS_B), cid)
    models = ctx.content.model_mix({"atlas-2": 85, "atlas-1.5": 15})
    proxies = _proxy_pool(ctx, _proxy_pool_size(ctx, n, 1))
    pathways = [
        ("direct", [ctx.infra.user_agent("sdk_python")], 0.45),
        ("gateway", [ctx.infra.user_agent("gateway")], 0.3),
        ("proxy", [ctx.infra.user_agent("http_generic")], 0.25),
    ]
    pool_all: list[int] = []
    delay = ctx.uniform(4, 16)
    for name, agents, share in pathways:
        count = max(3, round(n * share))
        domains = [ctx.infra.company_domain(), ctx.infra.cheap_domain()]
        accounts = _campaign_accounts(
            ctx,
            kind="campaign_b",
            campaign_id=cid,
            count=count,
            hosting_prefixes=_hosting_prefixes(ctx, count, 2 if name != "proxy" else 1),
            proxy_pool=proxies,
            agents=agents,
            burst_days_before=(3, 20),
            burst_hours=10,
            domains=domains,
            card_group=10,
        )
        if name == "proxy":
            for account in accounts:
                account.ip_sticky = min(account.ip_sticky, 0.1)
                account.ip_fresh = evasion.fresh_addresses
        pool = [a.index for a in accounts]
        pool_all += pool
        schedule = _schedule(ctx, f"{cid}-{name}", (18, 24), pause_days=1)
        for w in range(2):
            own = (
                schedule
                if ctx.chance(evasion.synchronization)
                else _perturbed(ctx, schedule, f"b{name}{w}")
            )
            ctx.population.add_persona(
                kind="campaign_b",
                group="campaign_b",
                label="campaign",
                campaign_id=cid,
                accounts=pool,
                assign="random",
                planner="stream",
                rate=share,
                p_active=1.0,
                schedule=own,
                gap_cv=0.1 + 0.9 * evasion.timing_jitter,
                conversation_turns=1.6,
                mix=mix,
                styles=styles,
                system_pool=system,
                system_share=0.8,
                tools="functions",
                tools_share=0.3,
                param_style="harvest_agentic",
                models=models,
                adopt_delay_h=delay + ctx.uniform(0, 3),
                adopt_ramp_h=3.0,
                adopt_day1=0.8,
                adopt_plateau=0.8,
                error_rate=0.03,
            )
    ctx.population.campaigns.append(
        CampaignTruth(
            campaign_id=cid,
            name="Multi-pathway agentic and multimodal harvest (B)",
            kind="agentic_multimodal_harvest",
            description=(
                "Accounts over three access pathways (direct SDK, API gateway, residential "
                "proxies) harvesting tool use, agentic coding, vision and computer use; moves "
                "most traffic to a new model within hours of its release."
            ),
            capabilities=sorted(FAMILIES_B),
            languages=list(LANGS_B),
            accounts=pool_all,
            notes={"pathways": [p[0] for p in pathways], "pivot_delay_hours": round(delay, 1)},
        )
    )


def build_campaign_c(ctx: BuildContext, budget: int) -> None:
    """Agentic-coding harvest on churning accounts behind rotating residential proxies."""
    evasion = ctx.profile.evasion
    cid = "campaign-c"
    daily = _volume(ctx, 70.0)
    mean_life = 2.5
    n = ctx.count(budget, daily * mean_life, 6)
    proxies = _proxy_pool(ctx, _proxy_pool_size(ctx, n, 0.5))
    weights = _weights(FAMILIES_C, LANGS_C)
    mix = ctx.content.mix(
        weights, script=cid, keep=_script_keep(ctx), structured_share=_structured_share(ctx)
    )
    styles = ctx.content.style_mix(
        {
            "plain": 60,
            **_elicitation(ctx, 15),
            "format": 15,
            "long": 10,
            "context": _natural_touch(ctx),
        }
    )
    system = _system_pool(ctx, ["agent"], list(LANGS_C), cid)
    models = ctx.content.model_mix({"atlas-2": 90, "atlas-2-mini": 10})
    agents = [ctx.infra.user_agent("rare"), ctx.infra.user_agent("http_generic")]
    domains = [ctx.infra.cheap_domain() for _ in range(3)]
    shared = evasion.shared_details
    cards: list[str] = []
    accounts: list[int] = []
    delay = ctx.uniform(3, 12)
    for i in range(n):
        first = min(ctx.days - 1, int(i * ctx.days / n))
        life = ctx.rng.py.randint(1, 4)
        if i % 8 == 0:
            cards.append(ctx.infra.payment())
        created = ctx.infra.created_around(
            ctx.start + timedelta(days=first) - timedelta(hours=12), 12
        )
        account = ctx.population.add_account(
            account_id=ctx.account_id(),
            kind="campaign_c",
            created_at=created,
            email_domain=(
                ctx.rng.py.choice(domains)
                if ctx.chance(shared * 0.6)
                else ctx.infra.personal_domain()
            ),
            payment_fingerprint=cards[-1] if ctx.chance(shared) else ctx.infra.payment(),
            country=ctx.infra.proxy_country().code,
            org_id=ctx.org_id(),
            api_keys=ctx.api_keys(1),
            ips=ctx.rng.py.sample(proxies, min(len(proxies), 8)),
            ip_sticky=0.8 * (1 - evasion.ip_rotation),
            user_agents=[ctx.rng.py.choice(agents)]
            if ctx.chance(shared)
            else [ctx.infra.developer_agent()],
            ua_sticky=1.0,
            campaign_id=cid,
            ip_fresh=evasion.fresh_addresses,
        )
        accounts.append(account.index)
        ctx.population.add_persona(
            kind="campaign_c",
            group="campaign_c",
            label="campaign",
            campaign_id=cid,
            accounts=[account.index],
            planner="stream",
            rate=ctx.jitter(1.0, 0.3),
            p_active=1.0,
            first_day=first,
            last_day=min(ctx.days - 1, first + life - 1),
            diurnal="flat" if evasion.timing_jitter < 0.7 else "human",
            tz=ctx.infra.proxy_country().tz,
            gap_cv=0.1 + 0.9 * evasion.timing_jitter,
            conversation_turns=4.5,
            mix=mix,
            styles=styles,
            system_pool=system,
            system_share=0.85,
            tools="coding_agent",
            tools_share=0.9,
            param_style="harvest_coding",
            models=models,
            adopt_delay_h=delay + ctx.uniform(0, 4),
            adopt_ramp_h=4.0,
            adopt_day1=0.5,
            adopt_plateau=0.5,
            error_rate=0.03,
        )
    ctx.population.campaigns.append(
        CampaignTruth(
            campaign_id=cid,
            name="Agentic-coding harvest on churning accounts (C)",
            kind="agentic_coding_harvest",
            description=(
                "The largest campaign: accounts that live one to four days behind rotating "
                "residential proxies, running agentic-coding and orchestration tool loops round "
                "the clock; about half the traffic moves to the new model within a day."
            ),
            capabilities=sorted(FAMILIES_C),
            languages=list(LANGS_C),
            accounts=accounts,
            notes={"account_lifetime_days": "1-4", "pivot_delay_hours": round(delay, 1)},
        )
    )


def build_hydra_tenant(ctx: BuildContext, budget: int) -> None:
    """A campaign tenant inside the hydra reseller: its end users are the finding."""
    evasion = ctx.profile.evasion
    cid = "campaign-d"
    hydra = [a.index for a in ctx.population.accounts if a.kind == "hydra_reseller"]
    if not hydra:
        return
    n = ctx.count(budget, _volume(ctx, 60.0) * ctx.days, 4)
    weights = _weights(FAMILIES_D, LANGS_D)
    mix = ctx.content.mix(
        weights, script=cid, keep=_script_keep(ctx), structured_share=_structured_share(ctx)
    )
    styles = ctx.content.style_mix(
        {
            **_elicitation(ctx, 40),
            "long": 20,
            "rationale": 10,
            "plain": 30,
            "context": _natural_touch(ctx),
        }
    )
    system = _system_pool(ctx, ["reasoning"], list(LANGS_D), cid)
    models = ctx.content.model_mix({"atlas-2": 1.0})
    tenant = f"t{ctx.rng.py.randint(100, 999)}"
    # The first end users of an agentic tenant run agent loops over coding and orchestration
    # tasks instead of single-shot reasoning prompts (no random draw: other profiles' bytes stay).
    agentic = round(n * evasion.agentic_tenant)
    if agentic:
        agent_mix = ctx.content.mix(
            _weights(FAMILIES_C, LANGS_D),
            script=f"{cid}-agent",
            keep=_script_keep(ctx),
            structured_share=_structured_share(ctx),
        )
        agent_styles = ctx.content.style_mix(
            {"plain": 60, **_elicitation(ctx, 20), "format": 20, "context": _natural_touch(ctx)}
        )
        agent_system = _system_pool(ctx, ["agent"], list(LANGS_D), f"{cid}-agent")
    end_users = []
    for i in range(n):
        end_user = f"{tenant}-{ctx.infra.rng.hex(4)}"
        end_users.append(end_user)
        loops = i < agentic
        ctx.population.add_persona(
            kind="hydra_tenant",
            group="hydra_tenant",
            label="campaign",
            campaign_id=cid,
            accounts=hydra,
            assign="random",
            end_user_id=end_user,
            planner="stream",
            rate=ctx.jitter(1.0, 0.3),
            p_active=0.9,
            diurnal="flat",
            gap_cv=0.1 + 0.9 * evasion.timing_jitter,
            conversation_turns=4.0 if loops else 1.1,
            mix=agent_mix if loops else mix,
            styles=agent_styles if loops else styles,
            system_pool=agent_system if loops else system,
            system_share=0.85 if loops else 0.6,
            **({"tools": "coding_agent", "tools_share": 0.9} if loops else {}),
            param_style="harvest_coding" if loops else "harvest_reasoning",
            models=models,
            adopt_delay_h=ctx.uniform(10, 30),
            adopt_ramp_h=6.0,
            adopt_day1=0.6,
            adopt_plateau=0.6,
            error_rate=0.03,
        )
    for index in hydra:
        ctx.population.accounts[index].campaign_id = cid
    ctx.population.campaigns.append(
        CampaignTruth(
            campaign_id=cid,
            name="Hydra reseller tenant (D)",
            kind="hydra_tenant",
            description=(
                f"Tenant {tenant} of a hydra-style reseller: its end users run a reasoning "
                "harvest through the reseller's pooled accounts, mixed with the reseller's "
                "legitimate tenants. The tenant's end users are the finding, not the reseller."
            ),
            capabilities=sorted(FAMILIES_D),
            languages=list(LANGS_D),
            accounts=hydra,
            notes={"tenant": tenant, "end_users": sorted(end_users)},
        )
    )


CAMPAIGN_BUILDERS: dict[str, Callable[[BuildContext, int], None]] = {
    "campaign_a": build_campaign_a,
    "campaign_b": build_campaign_b,
    "campaign_c": build_campaign_c,
    "hydra_tenant": build_hydra_tenant,
}
