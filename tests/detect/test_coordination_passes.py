"""Shared templates, synchronization, infrastructure, release pivots and mixed accounts."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from distillscan.detect import (
    infrastructure,
    mixed_accounts,
    release_pivot,
    shared_templates,
    synchronization,
)
from distillscan.linking import components
from tests.detect.conftest import EventsFactory, context, event

TEMPLATES = [
    "You are a grader. Using the rubric below, score the answer and explain why. Answer: {}",
    "Solve the following problem. Show every step of your reasoning before the final answer. {}",
    "{} -- rewrite the response above as a safe alternative that does not refuse.",
    "Break the task into subtasks, choose a tool for each, then execute the plan: {}",
    "Translate into Chinese and explain every grammatical choice in detail: {}",
    "{} Answer as long and as detailed as possible, with a rationale for each claim.",
]
TASKS = [
    "write a Python function that parses dates",
    "solve the equation 3x + 7 = 22",
    "which of the following is a logical fallacy",
    "plan the subtasks an agent needs to migrate a database",
    "click the login button in the browser",
    "write a poem about the sea",
    "summarize this email for my manager",
    "what is the history of the printing press",
]
TOPICS = ["tides", "inflation", "sorting", "enzymes", "orbits", "voting", "graphs", "rust", "tax"]


def _campaign(accounts: int, per_account: int) -> list[dict[str, object]]:
    return [
        event(
            f"camp-{a}",
            i * 7 + a,
            TEMPLATES[(i + a) % 6].format(f"{TOPICS[(i * 5 + a) % 9]} case {i}"),
            source_ip=f"203.0.113.{a}",
            user_agent="custom-harvester/0.3",
        )
        for a in range(accounts)
        for i in range(per_account)
    ]


def _people(n: int) -> list[dict[str, object]]:
    return [
        event(
            f"person-{p}",
            p * 13 + i * 31,
            "write a poem about love"
            if i == 0
            else f"question {i} about my {TOPICS[p % 9]} homework",
            source_ip=f"198.51.100.{p}",
            user_agent="Mozilla/5.0",
        )
        for p in range(n)
        for i in range(20)
    ]


def test_template_driven_accounts_link_and_popular_prompts_do_not(
    events_con: EventsFactory,
) -> None:
    con = events_con(_campaign(5, 30) + _people(8))
    out = shared_templates.run(context(con, "shared_templates"))
    rows = {r["account_id"]: r for r in out.signals.iter_rows(named=True)}
    for a in range(5):
        assert rows[f"camp-{a}"]["template_share"] == 1.0
        assert rows[f"camp-{a}"]["template_partners"] >= 3
        assert rows[f"camp-{a}"]["template_signal"] == 1.0
    # Everyone typed the popular prompt once: one shared key makes nobody a partner.
    assert rows["person-0"]["template_share"] == 0.05
    assert rows["person-0"]["template_partners"] == 0
    assert rows["person-0"]["template_signal"] == 0.0
    linked = set(out.edges["account_a"]) | set(out.edges["account_b"])
    assert linked == {f"camp-{a}" for a in range(5)}


def test_one_customers_accounts_never_link_but_the_logs_owner_is_no_customer(
    events_con: EventsFactory,
) -> None:
    """Same org means one customer's apps, unless that org is everyone (one AWS account's
    Bedrock logs): then it says nothing, and the harvesting principals must still link."""
    team = [dict(row, org_id="org-team") for row in _campaign(5, 30)]
    con = events_con(team + _people(8))
    out = shared_templates.run(context(con, "shared_templates"))
    assert out.edges.is_empty()

    everyone = [dict(row, org_id="123456789012") for row in _campaign(5, 30) + _people(20)]
    con = events_con(everyone)
    out = shared_templates.run(context(con, "shared_templates"))
    linked = set(out.edges["account_a"]) | set(out.edges["account_b"])
    assert linked == {f"camp-{a}" for a in range(5)}


ROLES = [
    "You are the planner of an autonomous coding system. Output a JSON plan of subtasks.",
    "You are a sub-agent. Complete only your subtask and report a unified diff.",
    "You review and merge the diffs of several coding sub-agents.",
    "You are a senior engineer agent working in a sandboxed repository with tools.",
]
LIBRARY = [f"Community prompt {n}: act as an expert in field number {n}." for n in range(12)]


def test_one_harness_links_its_accounts_and_a_shared_prompt_library_does_not(
    events_con: EventsFactory,
) -> None:
    # Four accounts of one operator, each sending the harness's whole set of role prompts.
    harness = [
        event(f"h-{a}", a + i, f"task {i}", system_prompt=ROLES[i % 4])
        for a in range(4)
        for i in range(12)
    ]
    # Two unrelated customers who both picked prompts from one public library: two in common,
    # out of the many each uses.
    library = [
        event(f"lib-{c}", c + i, f"question {i}", system_prompt=LIBRARY[(c * 5 + i) % 12])
        for c in range(2)
        for i in range(7)
    ]
    out = shared_templates.run(context(events_con(harness + library), "shared_templates"))
    harness_links = out.edges.filter(out.edges["kind"] == "harness")
    weights = {
        (r["account_a"], r["account_b"]): r["weight"] for r in harness_links.iter_rows(named=True)
    }
    assert weights and all(k[0].startswith("h-") and k[1].startswith("h-") for k in weights)
    assert min(weights.values()) == 1.0
    assert ("lib-0", "lib-1") not in weights
    # Every account's shared system prompts are its artefacts, for attaching thin accounts:
    # the four role prompts each harness account sends, the library prompts two customers share.
    prompts = out.artefacts.filter(pl.col("kind") == "system_prompt")
    counts = dict(prompts.group_by("account_id").agg(pl.col("artefact").n_unique()).iter_rows())
    assert {counts[f"h-{a}"] for a in range(4)} == {4}
    assert counts.get("lib-0") == counts.get("lib-1") == 2
    assert set(prompts["weight"]) == {0.5}


def test_prompt_skeletons_are_artefacts_as_strong_as_the_prompts_they_carry(
    events_con: EventsFactory,
) -> None:
    """A churned account's few prompts on a campaign's templates say it runs on its generator;
    one of a busy account's two hundred prompts meeting a template says nothing."""
    thin = [
        event("thin-0", 500 + i, TEMPLATES[i].format(f"{TOPICS[i]} case {i}")) for i in range(2)
    ]
    busy = [
        event("busy-0", 600 + i, f"my own question number {i} about {TOPICS[i % 9]}")
        for i in range(199)
    ]
    busy.append(event("busy-0", 900, TEMPLATES[0].format("tides case 3")))
    out = shared_templates.run(
        context(events_con(_campaign(5, 30) + thin + busy + _people(8)), "shared_templates")
    )
    skeletons = out.artefacts.filter(pl.col("kind") == "prompt_skeleton")
    best = dict(skeletons.group_by("account_id").agg(pl.col("weight").max()).iter_rows())
    assert best["thin-0"] == 0.5  # each template opens (or closes) one of its two prompts
    assert 0 < best["busy-0"] < 0.02
    assert all(artefact.startswith("prompt skeleton #") for artefact in skeletons["artefact"])
    # Bounded by accounts, not prompts: each account's most used skeletons only.
    capped = shared_templates.run(
        context(
            events_con(_campaign(5, 30) + thin + busy + _people(8)),
            "shared_templates",
            skeletons_per_account=2,
        )
    ).artefacts.filter(pl.col("kind") == "prompt_skeleton")
    per_account = dict(capped.group_by("account_id").len().iter_rows())
    assert max(per_account.values()) == 2 and per_account["thin-0"] == 2


def test_synchronized_accounts_pair_and_always_on_accounts_do_not(
    events_con: EventsFactory,
) -> None:
    rows = []
    # Two accounts that work the same scattered half-hours, and two that never stop.
    for slot in range(0, 3 * 24 * 4):
        if (slot * 7) % 5 < 2:
            for account in ("sync-a", "sync-b"):
                rows.append(event(account, slot * 15 + 1, "x", source_ip="192.0.2.1"))
        for account in ("always-a", "always-b"):
            rows.append(event(account, slot * 15 + 2, "y", source_ip="192.0.2.2"))
    con = events_con(rows)
    shared_templates.run(context(con, "shared_templates"))
    out = synchronization.run(context(con, "synchronization"))
    pairs = {(r["account_a"], r["account_b"]): r["weight"] for r in out.edges.iter_rows(named=True)}
    assert pairs[("sync-a", "sync-b")] == 1.0
    assert ("always-a", "always-b") not in pairs
    assert "candidate pairs" in out.notes[0]


def test_rare_infrastructure_links_and_common_infrastructure_does_not(
    events_con: EventsFactory,
) -> None:
    rows = [
        event(f"op-{a}", i, source_ip="45.9.12.7", user_agent="harvest/1")
        for a in range(3)
        for i in range(10)
    ]
    # Thirty unrelated accounts behind one carrier NAT with a popular SDK.
    rows += [
        event(f"user-{u}", i, source_ip="100.64.0.1", user_agent="openai-python/1.40")
        for u in range(30)
        for i in range(10)
    ]
    con = events_con(rows)
    out = infrastructure.run(context(con, "infrastructure"))
    signals = {r["account_id"]: r for r in out.signals.iter_rows(named=True)}
    assert set(signals) == {"op-0", "op-1", "op-2"}
    assert signals["op-0"]["shared_infrastructure"] == "ip,prefix,user_agent"
    linked = set(out.edges["account_a"]) | set(out.edges["account_b"])
    assert linked == {"op-0", "op-1", "op-2"}


def test_accounts_spread_over_the_same_server_ranges_link_as_one_operation(
    events_con: EventsFactory,
) -> None:
    # Twelve accounts, each on its own addresses in the same three hosting /24s: each range
    # alone is too common to link anyone, the three together are one operator's. A person who
    # happens to use one of the ranges, and 87 others on their own networks, stay unlinked.
    ranges = ("203.0.113", "198.51.100", "192.0.2")
    rows = [
        event(f"op-{a:02}", 3 * i + r, source_ip=f"{ranges[r]}.{a + 10}", user_agent=f"c/{a}")
        for a in range(12)
        for r in range(3)
        for i in range(4)
    ]
    rows += [
        event("person", i, source_ip=f"{ranges[0]}.200", user_agent="browser") for i in range(12)
    ]
    rows += [
        event(f"other-{b}", i, source_ip=f"100.{b}.1.1", user_agent=f"o/{b}")
        for b in range(87)
        for i in range(3)
    ]
    out = infrastructure.run(context(events_con(rows), "infrastructure"))
    strong = out.edges.filter(pl.col("weight") >= 0.45)
    linked = set(strong["account_a"]) | set(strong["account_b"])
    assert linked == {f"op-{a:02}" for a in range(12)}
    assert strong["detail"].str.contains("networks").all()
    roots = components(strong.select("account_a", "account_b").iter_rows())
    assert len(set(roots.values())) == 1
    # Each range alone (the person's one shared range) stays below the joining weight.
    person = out.edges.filter((pl.col("account_a") == "person") | (pl.col("account_b") == "person"))
    assert person["weight"].max() < 0.45


def test_release_pivot_against_the_population(events_con: EventsFactory) -> None:
    day = 24 * 60
    rows = []
    for account, moved in (("pivoter", 0.8), ("organic-1", 0.0), ("organic-2", 0.05)):
        for i in range(2 * 48):  # two days on the old model
            rows.append(event(account, i * 30, model="frontier-1"))
        for i in range(48):  # the release day
            on_new = (i % 20) < moved * 20
            rows.append(
                event(account, 2 * day + i * 30, model="frontier-2" if on_new else "frontier-1")
            )
    rows.append(event("organic-1", 2 * day - 1, model="frontier-1"))
    rows[2 * 48]["model"] = "frontier-2"  # the first frontier-2 request opens the window
    out = release_pivot.run(context(events_con(rows), "release_pivot"))
    signals = {r["account_id"]: r for r in out.signals.iter_rows(named=True)}
    assert signals["pivoter"]["pivot_model"] == "frontier-2"
    assert signals["pivoter"]["pivot_signal"] > 0.9
    assert signals["organic-1"]["pivot_signal"] == 0.0
    assert "new model frontier-2" in out.notes[0]


def test_mixed_account_names_the_tenant(events_con: EventsFactory) -> None:
    rows = []
    for user in range(12):
        for i in range(20):
            rows.append(
                event(
                    "reseller",
                    user * 100 + i,
                    f"my question {i} about cooking",
                    end_user_id=f"eu-{user}",
                    has_history=i % 2 == 0,
                )
            )
    for i in range(40):
        rows.append(
            event(
                "reseller",
                5000 + i,
                TEMPLATES[i % 6].format(TASKS[i % 8]),
                end_user_id=f"tenant-{'xy'[i // 20]}",
            )
        )
        rows.append(event("camp-0", 5000 + i, TEMPLATES[(i + 1) % 6].format(TOPICS[i % 9])))
    # The reseller's own requests, with no end user named: part of its traffic too.
    rows += [event("reseller", 9000 + i, f"status check {i}") for i in range(20)]
    rows += _people(6)  # the ordinary traffic that elicitation is measured against
    con = events_con(rows)
    shared_templates.run(context(con, "shared_templates"))
    out = mixed_accounts.run(context(con, "mixed_accounts"))
    row = out.signals.row(0, named=True)
    assert row["account_id"] == "reseller"
    assert row["implicated_end_users"] == ["tenant-x", "tenant-y"]
    assert row["is_mixed"] is True
    assert abs(row["contamination_share"] - 40 / 300) < 1e-9


def test_addresses_a_rotating_pool_hands_out_do_not_link(events_con: EventsFactory) -> None:
    # Two proxied accounts whose per-request addresses happen to meet once in one /24.
    rows = [
        event(f"proxied-{a}", i, source_ip=f"{30 + i}.{a}.{i}.{a + 1}")
        for a in range(2)
        for i in range(40)
    ]
    rows += [event(f"proxied-{a}", 50, source_ip="77.7.7.7") for a in range(2)]
    rows += [event(f"proxied-{a}", 51, source_ip="77.7.7.8") for a in range(2)]
    out = infrastructure.run(context(events_con(rows), "infrastructure"))
    assert out.edges.filter(out.edges["weight"] >= 0.45).is_empty()


def test_account_metadata_that_names_other_ids_is_noted(events_con: EventsFactory) -> None:
    """Metadata keyed by another id space (billing ids beside IAM principals) matches nothing:
    its payment and e-mail evidence is absent, and the investigator is told so."""
    rows = [event(f"arn:aws:iam::111122223333:user/u{a}", i) for a in range(4) for i in range(3)]
    con = events_con(rows)
    for ids, noted in ((["u0", "u1", "u2", "u3"], True), ([r["account_id"] for r in rows], False)):
        con.register("meta_ids", pa.table({"account_id": sorted(set(ids))}))
        con.execute(
            "CREATE OR REPLACE TEMP VIEW account_meta AS SELECT account_id, "
            "'card-1' AS payment_fingerprint, NULL::VARCHAR AS email_domain, "
            "NULL::TIMESTAMP AS created_at FROM meta_ids"
        )
        out = infrastructure.run(context(con, "infrastructure"))
        if noted:
            assert out.notes == (
                "account metadata describes 0 of the 4 accounts in the logs (4 metadata rows): "
                "its account_id values must be the logs' own for payment, e-mail and sign-up "
                "evidence to count",
            )
            assert out.signals.is_empty()
        else:
            assert out.notes == ()
            assert out.signals["shared_infrastructure"].to_list() == ["payment"] * 4
