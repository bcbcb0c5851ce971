"""The benign population: ordinary users and the heavy legitimate uses that look like campaigns.

Each builder receives the events budget of its group and creates enough personas (and their
accounts) to carry it at realistic per-persona volumes. The hard negatives each carry some of
the signals a detector looks for (see ``docs/simulator.md``):

* ``enterprise_app``: one templated task, round the clock, one system prompt, cloud addresses;
* ``eval_team``: benchmark prompts with "think step by step", bursts, n>1 and logprobs, breadth
  across maths, reasoning, code and grading, multilingual benchmarks, the new model on day one;
* ``coding_product``: many end users behind one account, one system prompt and user agent,
  agentic tool loops;
* ``university``: accounts created in a burst behind a shared NAT, a shared payment card, the
  same homework prompts across many accounts;
* ``reseller`` and the legitimate side of ``hydra_reseller``: many end users (in languages the
  campaigns also use) behind a few accounts and gateway addresses.
"""

from __future__ import annotations

from collections.abc import Callable

from distillscan.simulate.context import BuildContext
from distillscan.simulate.infra import Country
from distillscan.simulate.population import Account

FamilyWeights = dict[str, float]

PERSON_FAMILIES: FamilyWeights = {
    "chat": 3.0,
    "writing": 2.0,
    "knowledge": 3.0,
    "creative": 1.5,
    "popular": 1.2,
    "math": 0.7,
    "coding": 0.5,
    "translation": 0.4,
    "reasoning": 0.4,
    "safety_sensitive": 0.15,
    "vision": 0.3,
    "data_analysis": 0.2,
}
POWER_FAMILIES: FamilyWeights = {
    "chat": 1.0,
    "writing": 2.0,
    "knowledge": 2.0,
    "math": 1.5,
    "coding": 2.0,
    "reasoning": 1.0,
    "data_analysis": 1.0,
    "vision": 0.8,
    "creative": 0.8,
    "translation": 0.5,
    "agentic_coding": 0.3,
    "tool_use": 0.3,
    "safety_sensitive": 0.2,
    "grading": 0.15,
    "popular": 0.3,
}
DEVELOPER_FAMILIES: FamilyWeights = {
    "coding": 5.0,
    "tool_use": 1.5,
    "data_analysis": 1.0,
    "extraction": 1.0,
    "summarization": 0.6,
    "agentic_coding": 0.6,
    "chat": 0.5,
    "knowledge": 0.5,
    "vision": 0.3,
    "translation": 0.3,
    "popular": 0.3,
}
STUDENT_FAMILIES: FamilyWeights = {
    "homework": 3.0,
    "math": 2.0,
    "coding": 2.0,
    "writing": 1.5,
    "knowledge": 1.0,
    "reasoning": 0.5,
    "popular": 0.3,
    "chat": 0.3,
}
PRODUCT_FAMILIES: FamilyWeights = {
    "agentic_coding": 3.0,
    "coding": 3.0,
    "orchestration": 0.3,
    "data_analysis": 0.3,
    "chat": 0.2,
}

#: Languages of reseller end users: resellers serve markets the provider does not reach.
RESELLER_LANGUAGES: dict[str, float] = {"en": 35, "zh": 30, "ru": 15, "es": 8, "ko": 6, "pt": 6}
RESELLER_TZ: dict[str, int] = {"en": -5, "zh": 8, "ru": 3, "es": -3, "ko": 9, "pt": -3}


def interests(
    ctx: BuildContext,
    families: FamilyWeights,
    count_range: tuple[int, int],
    language: str,
    english_share: float,
) -> dict[tuple[str, str], float]:
    """A persona's narrow interests: a few families, mostly in their own language."""
    rnd = ctx.rng.py
    pool = dict(families)
    chosen: dict[tuple[str, str], float] = {}
    for _ in range(rnd.randint(*count_range)):
        if not pool:
            break
        family = rnd.choices(list(pool), weights=list(pool.values()))[0]
        del pool[family]
        lang = "en" if language != "en" and rnd.random() < english_share else language
        key = (family, lang)
        chosen[key] = chosen.get(key, 0.0) + ctx.lognormal(1.0, 0.6)
    return chosen


def build_chat_users(ctx: BuildContext, budget: int) -> None:
    """People chatting: time zones, daily rhythm, short conversations, narrow interests."""
    n = ctx.count(budget, ctx.expected(6.0, 0.36, 0.85, ctx.days), 3)
    styles = ctx.content.style_mix(
        {"plain": 45, "context": 22, "polite": 15, "casual": 12, "brief": 4, "cot": 3, "long": 2}
    )
    models = ctx.content.model_mix({"atlas-2": 55, "atlas-2-mini": 40, "atlas-1.5": 5})
    for _ in range(n):
        country = ctx.infra.country()
        language = ctx.language_of(country)
        account = ctx.person_account("chat_user", country=country)
        weights = interests(ctx, PERSON_FAMILIES, (1, 3), language, 0.25)
        plateau = ctx.uniform(0.1, 0.5)
        ctx.population.add_persona(
            kind="chat_user",
            group="chat_user",
            label="benign",
            accounts=[account.index],
            rate=ctx.lognormal(5.0, 0.6),
            p_active=ctx.uniform(0.12, 0.6),
            weekend=0.85,
            tz=country.tz,
            diurnal="human",
            session_events=ctx.jitter(3.0),
            gap_seconds=ctx.jitter(90.0),
            conversation_turns=ctx.jitter(2.5, 0.25),
            mix=ctx.content.mix(weights, structured_share=0.04),
            styles=styles,
            system_pool=ctx.system_pool("assistant", language, 1) if ctx.chance(0.2) else -1,
            system_share=0.85,
            param_style="chat",
            models=models,
            adopt_delay_h=ctx.uniform(12, 120),
            adopt_ramp_h=ctx.uniform(72, 200),
            adopt_day1=plateau,
            adopt_plateau=plateau,
            error_rate=0.008,
        )


def build_power_users(ctx: BuildContext, budget: int) -> None:
    """Heavy personal users: broad interests, long conversations, early adopters."""
    n = ctx.count(budget, ctx.expected(38.0, 0.75, 0.9, ctx.days), 2)
    styles = ctx.content.style_mix(
        {
            "plain": 45,
            "context": 10,
            "polite": 8,
            "cot": 10,
            "format": 10,
            "long": 6,
            "brief": 6,
            "rationale": 4,
            "casual": 4,
        }
    )
    models = ctx.content.model_mix({"atlas-2": 80, "atlas-2-mini": 15, "atlas-1.5": 5})
    for _ in range(n):
        country = ctx.infra.country()
        language = ctx.language_of(country)
        account = ctx.person_account("power_user", country=country)
        weights = interests(ctx, POWER_FAMILIES, (3, 6), language, 0.35)
        plateau = ctx.uniform(0.3, 0.7)
        ctx.population.add_persona(
            kind="power_user",
            group="power_user",
            label="benign",
            accounts=[account.index],
            rate=ctx.lognormal(35.0, 0.5),
            p_active=ctx.uniform(0.55, 0.95),
            weekend=0.9,
            tz=country.tz,
            diurnal="human",
            session_events=ctx.jitter(8.0),
            gap_seconds=ctx.jitter(120.0),
            conversation_turns=ctx.jitter(3.5, 0.25),
            mix=ctx.content.mix(weights, structured_share=0.15),
            styles=styles,
            system_pool=(
                ctx.system_pool(ctx.rng.weighted(["assistant", "reasoning"], [85, 15]), language, 2)
                if ctx.chance(0.4)
                else -1
            ),
            system_share=0.7,
            tools="functions" if ctx.chance(0.1) else None,
            tools_share=0.3,
            param_style="power",
            models=models,
            adopt_delay_h=ctx.uniform(2, 48),
            adopt_ramp_h=ctx.uniform(24, 96),
            adopt_day1=plateau,
            adopt_plateau=plateau,
            error_rate=0.01,
        )


def build_developers(ctx: BuildContext, budget: int) -> None:
    """Developers building on the API: code, function calling, scripts run in bursts."""
    n = ctx.count(budget, ctx.expected(22.0, 0.6, 0.25, ctx.days), 2)
    styles = ctx.content.style_mix({"plain": 58, "format": 25, "brief": 10, "cot": 4, "context": 3})
    models = ctx.content.model_mix({"atlas-2": 50, "atlas-2-mini": 40, "atlas-1.5": 10})
    for _ in range(n):
        country = ctx.infra.country()
        language = ctx.language_of(country)
        account = ctx.person_account(
            "developer", country=country, mobile_share=0.05, agent=ctx.infra.developer_agent()
        )
        if ctx.chance(0.25):  # tests from a cloud dev box as well as from home
            account.ips.append(ctx.infra.ipv4_in(ctx.infra.prefix24("cloud")))
        weights = interests(ctx, DEVELOPER_FAMILIES, (2, 4), language, 0.6)
        plateau = ctx.uniform(0.1, 0.45)
        style = ctx.rng.weighted(["coder", "assistant", "agent", "reasoning"], [50, 30, 14, 6])
        ctx.population.add_persona(
            kind="developer",
            group="developer",
            label="benign",
            accounts=[account.index],
            rate=ctx.lognormal(20.0, 0.8),
            p_active=ctx.uniform(0.4, 0.85),
            weekend=0.25,
            tz=country.tz,
            diurnal="office",
            session_events=ctx.jitter(10.0, 0.5),
            gap_seconds=ctx.jitter(40.0, 0.6),
            gap_cv=0.8,
            conversation_turns=ctx.jitter(1.5, 0.2),
            mix=ctx.content.mix(weights, structured_share=0.45),
            styles=styles,
            system_pool=ctx.system_pool(style, language, 2) if ctx.chance(0.6) else -1,
            system_share=0.8,
            tools="functions" if ctx.chance(0.25) else None,
            tools_share=0.5,
            param_style="developer",
            models=models,
            adopt_delay_h=ctx.uniform(3, 72),
            adopt_ramp_h=ctx.uniform(24, 120),
            adopt_day1=min(0.8, plateau * 1.4),
            adopt_plateau=plateau,
            error_rate=0.02,
        )


def _company(ctx: BuildContext) -> tuple[str, str, str, Country]:
    """A company's e-mail domain, payment card, organisation id and home country."""
    country = ctx.infra.country()
    return ctx.infra.company_domain(), ctx.infra.payment(), ctx.org_id(), country


def _company_account(
    ctx: BuildContext,
    kind: str,
    company: tuple[str, str, str, Country],
    ips: list[str],
    agents: list[str],
    *,
    created_min_days: float = 60,
    created_max_days: float = 1200,
) -> Account:
    domain, card, org, country = company
    return ctx.population.add_account(
        account_id=ctx.account_id(),
        kind=kind,
        created_at=ctx.infra.created_before(ctx.start, created_min_days, created_max_days),
        email_domain=domain,
        payment_fingerprint=card,
        country=country.code,
        org_id=org,
        api_keys=ctx.api_keys(ctx.rng.py.randint(1, 4)),
        ips=ips,
        ip_sticky=0.5,
        user_agents=agents,
        ua_sticky=1.0,
    )


def build_enterprise_apps(ctx: BuildContext, budget: int) -> None:
    """Enterprise integrations: one templated task at high volume, 24/7, pinned models."""
    per_day = 1200.0 * ctx.config.automation_scale
    n = ctx.count(budget, per_day * ctx.days, 3)
    tasks = [
        ("summarization", "enterprise_summarization"),
        ("extraction", "enterprise_extraction"),
        ("translation", "enterprise_translation"),
    ]
    styles = ctx.content.style_mix({"plain": 1})
    company = _company(ctx)
    for i in range(n):
        if i % 2 == 0 and i:
            company = _company(ctx)
        family, system_style = tasks[ctx.rng.py.randrange(len(tasks))]
        prefix = ctx.infra.prefix24("cloud")
        ips = [ctx.infra.ipv4_in(prefix) for _ in range(ctx.rng.py.randint(2, 4))]
        account = _company_account(
            ctx, "enterprise_app", company, ips, [ctx.infra.user_agent("sdk_python")]
        )
        group = ctx.content.template_group(family, "en", "structured", script=f"app-{i}", keep=0.0)
        mix = ctx.content.mixes.add([group], [1.0])
        pinned = ctx.rng.py.choice(["atlas-1.5", "atlas-2", "atlas-2-mini"])
        ctx.population.add_persona(
            kind="enterprise_app",
            group="enterprise_app",
            label="benign",
            accounts=[account.index],
            planner="stream",
            rate=ctx.lognormal(1.0, 0.4),
            p_active=1.0,
            weekend=ctx.uniform(0.5, 0.9),
            tz=company[3].tz,
            diurnal="business24",
            gap_cv=1.0,
            mix=mix,
            styles=styles,
            system_pool=ctx.system_pool(system_style, "en", 1, script=f"app-{i}"),
            system_share=1.0,
            param_style="enterprise",
            models=ctx.content.model_mix({pinned: 1.0}),
            adopt_plateau=0.0,
            adopt_day1=0.0,
            error_rate=0.004,
        )


def build_eval_teams(ctx: BuildContext, budget: int) -> None:
    """Evaluation teams: benchmark bursts with CoT prompts, new models tried on day one."""
    per_account = ctx.expected(500.0 * ctx.config.automation_scale, 0.3, 0.1, ctx.days) + 1500
    accounts_needed = ctx.count(budget, per_account, 2)
    styles = ctx.content.style_mix({"cot": 45, "plain": 30, "format": 15, "rationale": 10})
    models = ctx.content.model_mix({"atlas-2": 45, "atlas-2-mini": 30, "atlas-1.5": 25})
    made = 0
    team = 0
    while made < accounts_needed:
        company = _company(ctx)
        prefix = ctx.infra.prefix24(ctx.rng.py.choice(["cloud", "hosting"]))
        team_ips = [ctx.infra.ipv4_in(prefix) for _ in range(3)]
        agent = ctx.infra.user_agent(ctx.rng.py.choice(["sdk_python", "framework"]))
        batch = ctx.chance(0.35)
        weights: dict[tuple[str, str], float] = {
            ("benchmark", "en"): 4.0,
            ("math", "en"): 2.0,
            ("reasoning", "en"): 2.0,
            ("coding", "en"): 2.0,
            ("grading", "en"): 1.5,
            ("knowledge", "en"): 0.5,
        }
        for language in ("zh", "es", "ru", "ko"):
            if ctx.chance(0.5):  # multilingual benchmarks
                weights[("benchmark", language)] = 0.4
                weights[("math", language)] = 0.2
        mix = ctx.content.mix(weights, flavour="structured", script=f"bench-{team}", keep=0.8)
        for _ in range(ctx.rng.py.randint(1, 3)):
            account = _company_account(ctx, "eval_team", company, team_ips, [agent])
            ctx.population.add_persona(
                kind="eval_team",
                group="eval_team",
                label="benign",
                accounts=[account.index],
                planner="burst",
                rate=ctx.lognormal(1.0, 0.5),
                p_active=ctx.uniform(0.2, 0.4),
                weekend=0.1,
                tz=company[3].tz,
                diurnal="office",
                session_events=ctx.lognormal(250.0 * ctx.config.automation_scale, 0.4),
                gap_seconds=ctx.uniform(0.8, 3.0),
                gap_cv=0.35,
                release_burst=True,
                mix=mix,
                styles=styles,
                system_pool=ctx.system_pool(
                    ctx.rng.weighted(["assistant", "reasoning", "judge"], [40, 35, 25]), "en", 2
                ),
                system_share=ctx.uniform(0.2, 0.8),
                param_style="eval",
                models=models,
                adopt_delay_h=ctx.uniform(0.5, 4.0),
                adopt_ramp_h=1.0,
                adopt_day1=ctx.uniform(0.5, 0.75),
                adopt_plateau=ctx.uniform(0.03, 0.1),
                error_rate=0.015,
                operation="batch" if batch else None,
            )
            made += 1
        team += 1


def build_coding_products(ctx: BuildContext, budget: int) -> None:
    """Coding-assistant products: many end users, one system prompt, agentic tool loops."""
    end_users = ctx.count(budget, ctx.expected(20.0, 0.5, 0.5, ctx.days), 6)
    products = max(1, min(round(end_users / 400) or 1, 50))
    styles = ctx.content.style_mix({"plain": 85, "brief": 10, "format": 5})
    models = ctx.content.model_mix({"atlas-2": 1.0})
    for p in range(products):
        company = _company(ctx)
        prefix = ctx.infra.prefix24("cloud")
        ips = [ctx.infra.ipv4_in(prefix) for _ in range(ctx.rng.py.randint(3, 6))]
        agent = ctx.infra.user_agent(ctx.rng.py.choice(["sdk_node", "sdk_python", "framework"]))
        pool = [
            _company_account(ctx, "coding_product", company, ips, [agent]).index
            for _ in range(ctx.rng.py.randint(1, 2))
        ]
        system = ctx.system_pool("product_coding", "en", 1, script=f"product-{p}")
        migrate = ctx.uniform(90, 160)
        for _ in range(end_users // products):
            country = ctx.infra.country()
            language = ctx.language_of(country) if ctx.chance(0.3) else "en"
            weights = interests(ctx, PRODUCT_FAMILIES, (2, 4), language, 0.3)
            ctx.population.add_persona(
                kind="coding_product",
                group="coding_product",
                label="benign",
                accounts=pool,
                assign="random",
                end_user_id="usr_" + ctx.infra.rng.hex(5),
                rate=ctx.lognormal(18.0, 0.7),
                p_active=ctx.uniform(0.3, 0.75),
                weekend=0.45,
                tz=country.tz,
                diurnal="office",
                session_events=ctx.jitter(12.0, 0.4),
                gap_seconds=ctx.jitter(25.0, 0.4),
                conversation_turns=ctx.jitter(5.0, 0.3),
                mix=ctx.content.mix(weights, structured_share=0.1),
                styles=styles,
                system_pool=system,
                system_share=1.0,
                tools="coding_agent",
                tools_share=0.9,
                param_style="product",
                models=models,
                adopt_delay_h=migrate,
                adopt_ramp_h=24.0,
                adopt_day1=0.7,
                adopt_plateau=0.7,
                error_rate=0.01,
            )


def build_universities(ctx: BuildContext, budget: int) -> None:
    """Students behind a campus NAT, accounts created in a burst, shared homework prompts."""
    students = ctx.count(budget, ctx.expected(6.5, 0.45, 0.75, ctx.days), 8)
    universities = max(1, round(students / 350))
    styles = ctx.content.style_mix(
        {
            "plain": 38,
            "context": 15,
            "polite": 15,
            "casual": 12,
            "cot": 12,
            "long": 4,
            "rationale": 4,
        }
    )
    models = ctx.content.model_mix({"atlas-2-mini": 60, "atlas-2": 40})
    for u in range(universities):
        country = ctx.infra.country()
        domain = ctx.infra.university_domain()
        nat_prefix = ctx.infra.prefix24("residential")
        nat = [ctx.infra.ipv4_in(nat_prefix) for _ in range(ctx.rng.py.randint(2, 3))]
        card = ctx.infra.payment()
        org = ctx.org_id()
        term_start = ctx.infra.created_before(ctx.start, 8, 30)
        homework = ctx.content.template_group("homework", "en", script=f"course-{u}", keep=0.5)
        for _ in range(students // universities):
            language = ctx.language_of(country)
            if ctx.chance(0.15):
                language = ctx.rng.py.choice(["zh", "ko", "es"])
            weights = interests(ctx, STUDENT_FAMILIES, (2, 4), language, 0.7)
            weights = {k: v for k, v in weights.items() if k[0] != "homework"}
            mix_groups = [ctx.content.template_group(f, lang) for (f, lang) in sorted(weights)]
            mix_weights = [weights[k] for k in sorted(weights)]
            mix = ctx.content.mixes.add([homework, *mix_groups], [2.5, *mix_weights])
            account = ctx.population.add_account(
                account_id=ctx.account_id(),
                kind="university",
                created_at=ctx.infra.created_around(term_start, 36),
                email_domain=domain,
                payment_fingerprint=card if ctx.chance(0.7) else ctx.infra.payment(),
                country=country.code,
                org_id=org,
                api_keys=ctx.api_keys(1),
                ips=[*nat, *ctx.infra.home_ips(0.5)],
                ip_sticky=0.45,
                user_agents=[
                    ctx.infra.user_agent("browser")
                    if ctx.chance(0.4)
                    else ctx.infra.user_agent("sdk_python")
                ],
                ua_sticky=1.0,
            )
            ctx.population.add_persona(
                kind="university",
                group="university",
                label="benign",
                accounts=[account.index],
                rate=ctx.lognormal(6.0, 0.6),
                p_active=ctx.uniform(0.25, 0.65),
                weekend=0.7,
                tz=country.tz,
                diurnal="student",
                session_events=ctx.jitter(4.0),
                gap_seconds=ctx.jitter(150.0),
                conversation_turns=ctx.jitter(3.0, 0.25),
                mix=mix,
                styles=styles,
                param_style="student",
                models=models,
                adopt_delay_h=ctx.uniform(24, 150),
                adopt_ramp_h=ctx.uniform(72, 240),
                adopt_day1=0.15,
                adopt_plateau=ctx.uniform(0.1, 0.35),
                error_rate=0.01,
            )


def reseller_accounts(ctx: BuildContext, kind: str, count: int, ip_spread: int) -> list[int]:
    """A reseller's pooled accounts behind its gateway addresses (shared by all of them)."""
    company = _company(ctx)
    prefixes = [ctx.infra.prefix24("hosting") for _ in range(ip_spread)]
    ips = [ctx.infra.ipv4_in(p) for p in prefixes for _ in range(2)]
    agent = ctx.infra.user_agent("gateway")
    cards = [company[1], ctx.infra.payment()]
    accounts = []
    for i in range(count):
        account = _company_account(
            ctx, kind, company, ips, [agent], created_min_days=30, created_max_days=400
        )
        account.payment_fingerprint = cards[i % 2]
        account.ip_sticky = 0.0
        accounts.append(account.index)
    return accounts


def add_reseller_end_users(
    ctx: BuildContext, kind: str, group: str, accounts: list[int], count: int, tenants: int
) -> None:
    """Legitimate end users of a reseller: ordinary people and developers in many languages."""
    styles = ctx.content.style_mix(
        {
            "plain": 45,
            "context": 15,
            "polite": 12,
            "casual": 10,
            "cot": 8,
            "format": 5,
            "long": 5,
            "safe_alt": 0.4,
        }
    )
    models = ctx.content.model_mix({"atlas-2": 60, "atlas-2-mini": 40})
    codes = [f"t{ctx.rng.py.randint(100, 999)}" for _ in range(tenants)]
    for _ in range(count):
        language = ctx.rng.weighted(list(RESELLER_LANGUAGES), list(RESELLER_LANGUAGES.values()))
        families = POWER_FAMILIES if ctx.chance(0.3) else PERSON_FAMILIES
        weights = interests(ctx, families, (1, 4), language, 0.15)
        plateau = ctx.uniform(0.1, 0.5)
        ctx.population.add_persona(
            kind=kind,
            group=group,
            label="benign",
            accounts=accounts,
            assign="random",
            end_user_id=f"{ctx.rng.py.choice(codes)}-{ctx.infra.rng.hex(4)}",
            rate=ctx.lognormal(8.0, 0.7),
            p_active=ctx.uniform(0.25, 0.75),
            weekend=0.9,
            tz=RESELLER_TZ[language] + ctx.rng.py.randint(-1, 1),
            diurnal="human",
            session_events=ctx.jitter(4.0),
            gap_seconds=ctx.jitter(80.0),
            conversation_turns=ctx.jitter(2.5, 0.25),
            mix=ctx.content.mix(weights, structured_share=0.1),
            styles=styles,
            system_pool=(
                ctx.system_pool(ctx.rng.weighted(["assistant", "safe"], [97, 3]), language, 1)
                if ctx.chance(0.3)
                else -1
            ),
            system_share=0.9,
            param_style="chat" if families is PERSON_FAMILIES else "power",
            models=models,
            adopt_delay_h=ctx.uniform(6, 96),
            adopt_ramp_h=ctx.uniform(48, 200),
            adopt_day1=plateau,
            adopt_plateau=plateau,
            error_rate=0.015,
        )


def build_resellers(ctx: BuildContext, budget: int) -> None:
    """Legitimate resellers: many end users behind a few accounts and gateway addresses."""
    end_users = ctx.count(budget, ctx.expected(9.0, 0.5, 0.9, ctx.days), 6)
    resellers = max(1, round(end_users / 250))
    for _ in range(resellers):
        accounts = reseller_accounts(ctx, "reseller", ctx.rng.py.randint(2, 4), 2)
        add_reseller_end_users(
            ctx, "reseller", "reseller", accounts, end_users // resellers, tenants=12
        )


def build_hydra_resellers(ctx: BuildContext, budget: int) -> None:
    """The hydra-style reseller and its legitimate tenants (its campaign tenant is planted
    later, in :mod:`distillscan.simulate.campaigns`)."""
    end_users = ctx.count(budget, ctx.expected(9.0, 0.5, 0.9, ctx.days), 6)
    # one hydra cluster: its pool of accounts grows with the scale, so the campaign tenant
    # keeps roughly the same share of each account's traffic at any --events
    account_count = max(4, round(5 * ctx.config.automation_scale))
    accounts = reseller_accounts(ctx, "hydra_reseller", account_count, max(5, account_count // 4))
    add_reseller_end_users(
        ctx, "hydra_reseller", "hydra_reseller", accounts, end_users, tenants=20 + end_users // 50
    )


BENIGN_BUILDERS: dict[str, Callable[[BuildContext, int], None]] = {
    "chat_user": build_chat_users,
    "power_user": build_power_users,
    "developer": build_developers,
    "enterprise_app": build_enterprise_apps,
    "eval_team": build_eval_teams,
    "coding_product": build_coding_products,
    "university": build_universities,
    "reseller": build_resellers,
    "hydra_reseller": build_hydra_resellers,
}
