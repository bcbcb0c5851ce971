"""Elicitation pools: accounts that wrap their questions in one pool of reasoning requests."""

from __future__ import annotations

import polars as pl

from distillscan.detect import elicitation_pools
from distillscan.detect.base import PassOutput
from tests.detect.conftest import EventsFactory, context, event

#: One operator's pool of paraphrased requests for the reasoning.
POOL = [
    "Walk me through your reasoning before you give the answer.",
    "Show your reasoning one step at a time before the final answer.",
    "Explain your logic at each stage, then give the final answer.",
    "Please include your full derivation and show your work.",
    "Lay out the intermediate steps explicitly, step by step.",
    "Describe each step of your thinking before you conclude.",
    "Think it through step by step and justify every step.",
    "Give a thorough, step-by-step explanation and then your conclusion.",
]
#: Everybody's phrasing: common in the logs, never counted.
COMMON = "Let's think step by step."


def _question(n: int) -> str:
    return f"A train leaves city {n} at {n % 12} o'clock with {n * 3} passengers. How many remain?"


def _run(rows: list[dict[str, object]], events_con: EventsFactory, **params: object) -> PassOutput:
    return elicitation_pools.run(context(events_con(rows), "elicitation_pools", **params))


#: A public library of reasoning requests that many draw a few phrasings from.
COLOURS = (
    "amber",
    "azure",
    "beige",
    "black",
    "blue",
    "bronze",
    "coral",
    "cream",
    "cyan",
    "gold",
    "green",
    "grey",
    "indigo",
    "ivory",
    "jade",
    "khaki",
    "lilac",
    "lime",
    "navy",
    "olive",
    "orange",
    "pink",
    "plum",
    "red",
)
LIBRARY = [f"Show your reasoning step by step in the {word} manner." for word in COLOURS]


def _pool_account(
    name: str, org: str, n: int, wrapped_every: int = 1, pool: list[str] = POOL
) -> list[dict[str, object]]:
    """``n`` questions, one in ``wrapped_every`` wrapped in a phrasing of ``pool``."""
    rows = []
    for i in range(n):
        question = _question(sum(map(ord, name)) * 1000 + i)
        if i % wrapped_every == 0:
            phrasing = pool[(i * 5 + len(name)) % len(pool)]
            prompt = f"{phrasing} {question}" if i % 2 else f"{question} {phrasing}"
        else:
            prompt = question
        rows.append(event(name, i * 37.0, prompt, org_id=org, event_id=f"{name}-{i}"))
    return rows


def _people(n: int) -> list[dict[str, object]]:
    """People asking in their own words, some with everybody's phrasing."""
    return [
        event(f"person-{p:02d}", p * 11.0 + i, f"{COMMON} {_question(p * 100 + i)}", org_id=None)
        for p in range(n)
        for i in range(3)
    ]


def test_accounts_fed_by_one_pool_are_linked(events_con: EventsFactory) -> None:
    rows = [row for k in range(4) for row in _pool_account(f"pool-{k}", f"org-{k}", 40)] + _people(
        30
    )
    out = _run(rows, events_con)
    pairs = set(zip(out.edges["account_a"], out.edges["account_b"], strict=True))
    pool = [f"pool-{k}" for k in range(4)]
    assert pairs == {(a, b) for a in pool for b in pool if a < b}
    assert out.edges["kind"].unique().to_list() == ["phrasing"]
    assert out.edges["weight"].min() == 1.0
    shares = dict(zip(out.signals["account_id"], out.signals["phrasing_share"], strict=True))
    assert all(shares[a] == 1.0 for a in pool)
    assert all(shares[f"person-{p:02d}"] == 0.0 for p in range(30))  # the common phrasing
    kinds = out.evidence["kind"].unique().to_list()
    assert kinds == ["shared_phrasing"] and set(out.evidence["account_id"]) == set(pool)


def test_a_few_shared_phrasings_in_a_large_product_weigh_nothing(
    events_con: EventsFactory,
) -> None:
    """Two integrations drawing on one prompt collection: the same wrappers, in 1 request of 50."""
    rows = _pool_account("app-1", "org-1", 500, wrapped_every=50)
    rows += _pool_account("app-2", "org-2", 500, wrapped_every=50)
    out = _run(rows + _people(30), events_con)
    assert out.edges.is_empty()
    assert out.signals.filter(pl.col("account_id") == "app-1")["phrasing_share"][0] < 0.05


def test_a_few_phrasings_borrowed_from_one_library_do_not_link(
    events_con: EventsFactory,
) -> None:
    """Both wrap every request, but in their own picks from a public library: they share 4 of
    their 20 phrasings, not one pool."""
    rows = _pool_account("reader-1", "org-1", 60, pool=LIBRARY[0:12])
    rows += _pool_account("reader-2", "org-2", 60, pool=LIBRARY[8:20])
    out = _run(rows + _people(30), events_con)
    assert out.edges.is_empty()
    shares = out.signals.filter(pl.col("account_id").str.starts_with("reader"))["phrasing_share"]
    assert shares.min() > 0.3  # counted wrappers all the same: only the overlap keeps them apart


def test_one_organisation_and_a_bare_question_are_not_pools(events_con: EventsFactory) -> None:
    """Accounts of one customer share their own wrappers; a prompt that is only a request for
    reasoning (one sentence) is the question itself, not a wrapper."""
    same_org = [row for k in range(3) for row in _pool_account(f"team-{k}", "org-team", 30)]
    bare = [
        event(f"bare-{k}", i * 5.0, POOL[i % len(POOL)], org_id=f"org-b{k}")
        for k in range(3)
        for i in range(30)
    ]
    out = _run(same_org + bare + _people(30), events_con)
    assert out.edges.is_empty()
    shares = out.signals.filter(pl.col("account_id").str.starts_with("bare"))["phrasing_share"]
    assert shares.to_list() == [0.0, 0.0, 0.0]


def test_fewer_shared_phrasings_than_the_minimum_do_not_link(events_con: EventsFactory) -> None:
    rows = [row for k in range(2) for row in _pool_account(f"pool-{k}", f"org-{k}", 40)]
    out = _run(rows + _people(30), events_con, min_shared_phrasings=len(POOL) + 1)
    assert out.edges.is_empty()
