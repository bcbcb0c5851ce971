"""Account churn and agentic harvest: behaviour that needs no phrase and no shared template."""

from __future__ import annotations

import polars as pl

from distillscan.detect import (
    account_churn,
    agentic_harvest,
    mixed_accounts,
    output_shape,
    shared_templates,
)
from tests.detect.conftest import EventsFactory, context, event

#: One repository's work: code and plans.
TASKS = [
    "refactor the payment module to use dependency injection",
    "add pagination to the /users endpoint",
    "fix the flaky test in test_scheduler.py",
    "migrate the config loader from YAML to TOML",
    "write a CLI command that exports invoices as CSV",
    "plan the subtasks to split the monolith into two services",
]
#: One module of one repository.
REPOSITORY = [
    "fix the failing test in the payment module",
    "refactor the payment module code",
    "add a function to the payment module",
    "plan the subtasks for the payment module release",
]
#: Tasks from every field, as a harvest feeds its loops.
FIELDS = [
    "solve this equation and prove the bound: 3x + 7 = 22",
    "translate this contract clause into French",
    "write a short story about a lighthouse keeper",
    "analyze this sales dataset and compute the regression",
    "refactor the payment module to use dependency injection",
    "plan the subtasks to migrate the warehouse database",
]


def _signal(frame: pl.DataFrame, column: str) -> dict[str, float]:
    return dict(zip(frame["account_id"].to_list(), frame[column].to_list(), strict=True))


def test_rotating_addresses_and_agents_churn_and_a_phone_does_not(
    events_con: EventsFactory,
) -> None:
    proxied = [
        event(
            "proxied",
            i * 11,
            source_ip=f"{10 + i}.{(i * 37) % 250}.7.{i}",
            user_agent=f"Mozilla/5.0 build/{i % 9}",
        )
        for i in range(30)
    ]
    # A phone: two home addresses and a carrier block whose addresses change inside one /16.
    phone = [
        event(
            "phone",
            i * 11,
            source_ip=("81.2.69.10" if i % 3 else f"100.64.{i}.{i}"),
            user_agent="Mozilla/5.0 (iPhone)",
        )
        for i in range(30)
    ]
    light = [event("light", i, source_ip=f"{20 + i}.1.1.1") for i in range(3)]
    out = account_churn.run(context(events_con(proxied + phone + light), "account_churn"))
    churn = _signal(out.signals, "churn_signal")
    assert churn["proxied"] > 0.9
    assert churn["phone"] == 0.0
    # Three requests from three networks: too few to call it rotation.
    assert churn["light"] == 0.0
    network = _signal(out.signals, "network_churn")
    assert network["proxied"] == 1.0
    assert network["phone"] < 0.1


def test_churn_needs_no_addresses_when_sign_up_and_refusals_tell(
    events_con: EventsFactory,
) -> None:
    con = events_con(
        [event("used-up", i * 5, status="403" if i % 4 == 0 else "200") for i in range(20)]
        + [event("steady", i * 5) for i in range(20)]
    )
    con.execute(
        """CREATE TEMP VIEW account_meta AS
        SELECT * FROM (VALUES ('used-up', TIMESTAMP '2026-02-01 23:00:00'),
                              ('steady', TIMESTAMP '2026-02-01 23:00:00'))
            AS t(account_id, created_at)"""
    )
    out = account_churn.run(context(con, "account_churn"))
    churn = _signal(out.signals, "churn_signal")
    assert churn["used-up"] > 0.4
    assert churn["steady"] == 0.0
    assert _signal(out.signals, "setup_hours")["used-up"] == 1.0


def _loop(
    account: str,
    start: float,
    step_seconds: float,
    tasks: int,
    turns: int,
    fed: list[str] = FIELDS,
) -> list:
    rows = []
    for t in range(tasks):
        for turn in range(turns):
            minutes = start + t * 60 + turn * step_seconds / 60
            prompt = f"{fed[t % len(fed)]} (task {t})" + (
                f"\nTool result #{turn}: 3 tests failed in module m{t}" if turn else ""
            )
            rows.append(
                event(
                    account,
                    minutes,
                    prompt,
                    has_history=turn > 0,
                    n_turns=turn + 1,
                    n_tools=2,
                )
            )
    return rows


def _people(n: int, turns: int = 8) -> list:
    return [
        event(
            f"person-{p}",
            p * 500 + turn * 1.5,
            f"question {turn} about my essay on topic {p}",
            has_history=turn > 0,
            n_turns=turn + 1,
        )
        for p in range(n)
        for turn in range(turns)
    ]


def test_agent_loops_at_machine_pace_over_many_tasks_are_a_harvest(
    events_con: EventsFactory,
) -> None:
    harvest = _loop("harvest", 0, step_seconds=8, tasks=12, turns=4)
    # A developer trying an agent: the same loops, but a person reads each step.
    developer = _loop("developer", 5, step_seconds=80, tasks=12, turns=4)
    # A coding agent at machine pace on one repository's code and plans.
    one_repo = _loop("one-repo", 9, step_seconds=8, tasks=12, turns=4, fed=REPOSITORY)
    out = agentic_harvest.run(
        context(events_con(harvest + developer + one_repo + _people(12)), "agentic_harvest")
    )
    agentic = _signal(out.signals, "agentic_signal")
    assert agentic["harvest"] > 0.8
    assert agentic["developer"] == 0.0
    assert agentic["one-repo"] == 0.0
    assert max(v for k, v in agentic.items() if k.startswith("person")) == 0.0
    assert _signal(out.signals, "agent_share")["harvest"] == 1.0
    assert out.notes and "follow-up pace" in out.notes[0]


def test_one_products_repeated_agent_context_is_not_a_harvest(events_con: EventsFactory) -> None:
    # Machine pace, but the same two tasks over and over: a product's loop, not a harvest.
    product = [
        event(
            "product",
            i * 0.1,
            TASKS[i % 2],
            has_history=i % 4 > 0,
            n_tools=2,
        )
        for i in range(60)
    ]
    out = agentic_harvest.run(context(events_con(product + _people(12)), "agentic_harvest"))
    assert _signal(out.signals, "agentic_signal")["product"] == 0.0


def _customers(n: int, turns: int) -> list:
    """``n`` people's conversations, passed on by one reseller under their own end-user ids."""
    return [
        {**row, "account_id": "reseller", "end_user_id": row["account_id"]}
        for row in _people(n, turns=turns)
    ]


def _tenant() -> list:
    """A tenant's three end users running agent loops at machine pace, inside the reseller."""
    return [
        {**row, "account_id": "reseller", "end_user_id": f"tenant-{n}"}
        for n in range(3)
        for row in _loop(f"t{n}", 3000 + n * 7, step_seconds=8, tasks=6, turns=4)
    ]


def test_an_agentic_tenant_inside_a_reseller_is_named(events_con: EventsFactory) -> None:
    # The reseller's usual customers: conversations, enough of them to say what is usual.
    people = _customers(12, turns=20)
    tenant = _tenant()
    # One developer's agent at machine pace on one repository: a customer, not a tenant.
    developer = [
        {**row, "account_id": "reseller", "end_user_id": "developer"}
        for row in _loop("d", 6000, step_seconds=8, tasks=6, turns=4, fed=REPOSITORY)
    ]
    con = events_con(people + tenant + developer + _people(12))
    agentic_harvest.run(context(con, "agentic_harvest"))
    shared_templates.run(context(con, "shared_templates"))
    out = mixed_accounts.run(context(con, "mixed_accounts"))
    row = out.signals.row(0, named=True)
    assert row["implicated_end_users"] == ["tenant-0", "tenant-1", "tenant-2"]
    assert row["is_mixed"] is True
    assert row["contamination_share"] == 72 / (240 + 72 + 24)


def test_a_tenant_among_light_customers_does_not_set_the_usual_traffic(
    events_con: EventsFactory,
) -> None:
    # Thirty customers with three requests each: none has enough traffic to be measured in
    # full, but together they are what the reseller usually carries; the tenant's heavy
    # agents must be measured against them, not against themselves.
    people = _customers(30, turns=3)
    tenant = _tenant()
    con = events_con(people + tenant + _people(12))
    agentic_harvest.run(context(con, "agentic_harvest"))
    shared_templates.run(context(con, "shared_templates"))
    row = mixed_accounts.run(context(con, "mixed_accounts")).signals.row(0, named=True)
    assert row["implicated_end_users"] == ["tenant-0", "tenant-1", "tenant-2"]
    assert row["is_mixed"] is True


def test_long_answers_to_short_questions_against_the_logs_usual(
    events_con: EventsFactory,
) -> None:
    # Metadata only: token counts, no text.
    harvest = [
        event("harvest", i, None, prompt_tokens=60, completion_tokens=1500) for i in range(30)
    ]
    agent = [event("agent", i, None, prompt_tokens=4000, completion_tokens=200) for i in range(30)]
    people = [
        event(f"person-{p}", p * 50 + i, None, prompt_tokens=80 + p, completion_tokens=300 + i)
        for p in range(10)
        for i in range(12)
    ]
    out = output_shape.run(context(events_con(harvest + agent + people), "output_shape"))
    shape = _signal(out.signals, "output_shape_signal")
    assert shape["harvest"] == 1.0
    assert shape["agent"] == 0.0
    assert max(v for k, v in shape.items() if k.startswith("person")) == 0.0
    assert "usual answer length" in out.notes[0]


def test_a_coding_products_users_are_not_a_tenant(events_con: EventsFactory) -> None:
    """Every user of a coding product runs its agent loops, some on broad tasks at machine pace:
    agent loops are what the account's usual end user sends, so none of them is a tenant."""
    users = [
        {**row, "account_id": "coding-product", "end_user_id": f"dev-{n}"}
        for n in range(12)
        for row in _loop(
            f"d{n}", n * 300, step_seconds=8, tasks=6, turns=4, fed=FIELDS if n < 4 else REPOSITORY
        )
    ]
    con = events_con(users + _people(12))
    agentic_harvest.run(context(con, "agentic_harvest"))
    shared_templates.run(context(con, "shared_templates"))
    row = mixed_accounts.run(context(con, "mixed_accounts")).signals.row(0, named=True)
    assert row["implicated_end_users"] == []
    assert row["is_mixed"] is False


def test_rotating_accounts_that_draw_on_one_pool_are_linked(events_con: EventsFactory) -> None:
    """Each address carries one request of forty, too little for the infrastructure pass; the
    pool shows in what two rotating accounts were both handed."""

    accounts: list[str] = []

    def rotating(account: str, shared: list[str]) -> list:
        accounts.append(account)  # its own addresses: a /16 of their own, never met again
        own = [f"{40 + i}.{len(accounts)}.3.{i}" for i in range(40 - len(shared))]
        return [event(account, i * 3, source_ip=ip) for i, ip in enumerate(shared + own)]

    pool = ["203.0.113.1", "203.0.113.77", "198.51.100.9"]
    rows = (
        rotating("pool-a", pool)
        + rotating("pool-b", pool)
        + rotating("pool-c", pool[:1])  # one address in common: chance
        # A carrier NAT: one address behind thirty people, each rotating too.
        + [row for p in range(30) for row in rotating(f"mobile-{p:02d}", ["100.64.0.1"])]
        # A person who never rotates, at a pool address.
        + [event("home", i * 9, source_ip="203.0.113.1") for i in range(20)]
    )
    edges = account_churn.run(context(events_con(rows), "account_churn")).edges
    pairs = {(r["account_a"], r["account_b"]): r for r in edges.iter_rows(named=True)}
    assert set(pairs) == {("pool-a", "pool-b")}
    link = pairs[("pool-a", "pool-b")]
    assert (link["kind"], link["weight"]) == ("pool", 1.0)
    assert link["detail"].startswith("drew 3 addresses from one rotating pool")
