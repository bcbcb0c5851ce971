"""Scores need content and operations to agree; campaigns are linked groups scored as a whole."""

from __future__ import annotations

import polars as pl

from distillscan.config import defaults
from distillscan.linking import campaign_id, components, link
from distillscan.scoring import score_accounts

SIGNALS = (
    "elicitation_signal",
    "breadth_signal",
    "automation_signal",
    "template_signal",
    "sync_signal",
    "infra_signal",
    "pivot_signal",
)


def _accounts(rows: dict[str, dict[str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"account_id": a, "n_events": 100, **{s: v.get(s, 0.0) for s in SIGNALS}}
            for a, v in rows.items()
        ]
    )


def test_one_family_alone_stays_below_medium() -> None:
    scored = score_accounts(
        _accounts(
            {
                "eval-notebook": {"elicitation_signal": 1.0, "breadth_signal": 1.0},
                "batch-integration": {"automation_signal": 1.0, "template_signal": 1.0},
                "harvester": {
                    "elicitation_signal": 0.9,
                    "automation_signal": 0.9,
                    "sync_signal": 0.8,
                },
            }
        ),
        defaults(),
    )
    rows = {r["account_id"]: r for r in scored.iter_rows(named=True)}
    assert rows["eval-notebook"]["score"] == 0.0
    assert rows["batch-integration"]["score"] == 0.0
    assert rows["harvester"]["severity"] in ("high", "critical")
    assert rows["harvester"]["contribution_elicitation"] == 0.85 * 0.9


def test_components_are_deterministic_and_ids_stable() -> None:
    assert components([("b", "c"), ("a", "b"), ("x", "y")]) == {
        "a": "a",
        "b": "a",
        "c": "a",
        "x": "x",
        "y": "x",
    }
    assert campaign_id(["b", "a"]) == campaign_id(["a", "b"])
    assert campaign_id(["a", "b"]).startswith("camp-")


def test_template_links_alone_do_not_join_accounts() -> None:
    config = defaults()
    accounts = score_accounts(
        _accounts(
            {f"eval-{i}": {"elicitation_signal": 1.0, "template_signal": 1.0} for i in range(3)}
        ),
        config,
    )
    edges = pl.DataFrame(
        {
            "account_a": ["eval-0", "eval-0"],
            "account_b": ["eval-1", "eval-2"],
            "kind": ["template", "template"],
            "weight": [1.0, 1.0],
            "detail": ["", ""],
        }
    )
    _, groups = link(accounts, edges, config)
    assert groups.is_empty()


def test_link_keeps_bystanders_out_of_campaigns() -> None:
    config = defaults()
    accounts = score_accounts(
        _accounts(
            {
                **{
                    f"camp-{i}": {"elicitation_signal": 0.9, "automation_signal": 0.8}
                    for i in range(4)
                },
                "student": {"infra_signal": 0.6},  # shares the operator's NAT, asks ordinary things
            }
        ),
        config,
    )
    edges = pl.DataFrame(
        {
            "account_a": ["camp-0", "camp-0", "camp-0", "camp-0"],
            "account_b": ["camp-1", "camp-2", "camp-3", "student"],
            "kind": ["infrastructure", "infrastructure", "sync", "infrastructure"],
            "weight": [1.0, 1.0, 0.8, 0.9],
            "detail": ["", "", "", ""],
        }
    )
    linked, groups = link(accounts, edges, config)
    assert groups.height == 1
    assert groups.row(0, named=True)["members"] == ["camp-0", "camp-1", "camp-2", "camp-3"]
    student = linked.filter(pl.col("account_id") == "student").row(0, named=True)
    assert student["campaign_id"] is None
    assert student["severity"] in ("none", "low")


def _linked_group(extra: dict[str, dict[str, float]], extra_events: dict[str, int]) -> tuple:
    config = defaults()
    rows = {
        **{f"camp-{i}": {"elicitation_signal": 0.9, "sync_signal": 0.9} for i in range(4)},
        **extra,
    }
    accounts = _accounts(rows).with_columns(
        pl.col("account_id").replace_strict(extra_events, default=100).alias("n_events")
    )
    others = sorted(extra)
    edges = pl.DataFrame(
        {
            "account_a": ["camp-0"] * 3 + ["camp-1"] * len(others),
            "account_b": ["camp-1", "camp-2", "camp-3", *others],
            "kind": ["harness"] * (3 + len(others)),
            "weight": [1.0] * (3 + len(others)),
            "detail": [""] * (3 + len(others)),
        }
    )
    return link(score_accounts(accounts, config), edges, config)


def test_thin_accounts_join_the_campaign_their_harness_links_them_to() -> None:
    # Two churned accounts used a handful of times: too little traffic to judge alone.
    linked, groups = _linked_group({"burner-a": {}, "burner-b": {}}, {"burner-a": 3, "burner-b": 5})
    assert groups.height == 1
    group = groups.row(0, named=True)
    assert group["members"] == ["burner-a", "burner-b", "camp-0", "camp-1", "camp-2", "camp-3"]
    assert group["n_accounts"] == 6
    assert group["n_events"] == 408
    burner = linked.filter(pl.col("account_id") == "burner-a").row(0, named=True)
    assert burner["campaign_id"] == group["campaign_id"]
    assert burner["severity"] == group["severity"]


def test_an_account_with_traffic_of_its_own_must_look_like_the_campaign_to_join() -> None:
    # A heavy account linked to the campaign, asking ordinary things: its own traffic answers.
    linked, groups = _linked_group({"bystander": {"automation_signal": 0.9}}, {"bystander": 500})
    assert "bystander" not in groups.row(0, named=True)["members"]
    assert linked.filter(pl.col("account_id") == "bystander")["campaign_id"][0] is None


def _campaign_with_artefacts(
    artefacts: list[tuple[str, str, str, float]], thin: dict[str, int]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A linked campaign camp-0..3, thin accounts with no links, and who uses what."""
    config = defaults()
    rows = {
        **{f"camp-{i}": {"elicitation_signal": 0.9, "sync_signal": 0.9} for i in range(4)},
        **{name: {} for name in thin},
    }
    accounts = _accounts(rows).with_columns(
        pl.col("account_id").replace_strict(thin, default=100).alias("n_events")
    )
    edges = pl.DataFrame(
        {
            "account_a": ["camp-0"] * 3,
            "account_b": ["camp-1", "camp-2", "camp-3"],
            "kind": ["harness"] * 3,
            "weight": [1.0] * 3,
            "detail": [""] * 3,
        }
    )
    used = pl.DataFrame(
        artefacts, schema=["account_id", "kind", "artefact", "weight"], orient="row"
    )
    return link(score_accounts(accounts, config), edges, config, used)


def test_a_thin_account_joins_the_campaign_whose_card_and_machines_it_uses() -> None:
    # No link reaches the burner (a pass links a few partners per artefact); what it uses does:
    # the card two members pay with, an address three of them run on.
    artefacts = [
        ("camp-1", "payment", "card-1", 0.9),
        ("camp-2", "payment", "card-1", 0.9),
        ("burner", "payment", "card-1", 0.9),
        ("camp-0", "network", "ip 10.0.0.1", 0.8),
        ("camp-1", "network", "ip 10.0.0.1", 0.8),
        ("camp-3", "network", "ip 10.0.0.1", 0.8),
        ("burner", "network", "ip 10.0.0.1", 0.8),
    ]
    linked, groups = _campaign_with_artefacts(artefacts, {"burner": 4})
    assert "burner" in groups.row(0, named=True)["members"]
    assert linked.filter(pl.col("account_id") == "burner")["campaign_id"][0] is not None


def test_thin_accounts_sharing_with_attached_ones_join_in_a_second_hop() -> None:
    # Two burners pay with the members' card (first hop); a third shares nothing with the
    # members, but another card and an address with the two burners only (second hop).
    artefacts = [
        *[(f"camp-{i}", "payment", "card-1", 0.9) for i in range(4)],
        *[(f"camp-{i}", "network", "ip 10.0.0.1", 0.8) for i in (0, 1, 3)],
        *[(a, "payment", "card-1", 0.9) for a in ("burner-a", "burner-b")],
        *[(a, "network", "ip 10.0.0.1", 0.8) for a in ("burner-a", "burner-b")],
        *[(a, "payment", "card-3", 0.9) for a in ("burner-a", "burner-b", "burner-c")],
        *[(a, "network", "ip 10.0.0.7", 0.8) for a in ("burner-a", "burner-b", "burner-c")],
    ]
    _, groups = _campaign_with_artefacts(artefacts, {"burner-a": 3, "burner-b": 4, "burner-c": 2})
    assert {"burner-a", "burner-b", "burner-c"} <= set(groups.row(0, named=True)["members"])


def test_an_artefact_the_campaign_shares_with_many_others_is_nobodys() -> None:
    # One member behind a carrier's prefix with many people, and a student sharing one
    # address with one member: neither is evidence the thin account belongs to the campaign.
    crowd = [(f"person-{i}", "network", "prefix 172.16.0.0/24", 0.6) for i in range(40)]
    artefacts = [
        *crowd,
        ("camp-0", "network", "prefix 172.16.0.0/24", 0.6),
        ("student", "network", "prefix 172.16.0.0/24", 0.6),
        ("camp-2", "network", "ip 10.9.9.9", 0.8),
        ("flatmate", "network", "ip 10.9.9.9", 0.8),
    ]
    _, groups = _campaign_with_artefacts(artefacts, {"student": 4, "flatmate": 3})
    members = groups.row(0, named=True)["members"]
    assert "student" not in members
    assert "flatmate" not in members


def test_an_account_with_traffic_of_its_own_is_not_attached_by_artefacts() -> None:
    artefacts = [
        ("camp-1", "payment", "card-1", 0.9),
        ("camp-2", "payment", "card-1", 0.9),
        ("heavy", "payment", "card-1", 0.9),
    ]
    _, groups = _campaign_with_artefacts(artefacts, {"heavy": 500})
    assert "heavy" not in groups.row(0, named=True)["members"]


def test_a_mixed_account_is_never_a_member() -> None:
    config = defaults()
    accounts = score_accounts(
        _accounts(
            {
                **{f"camp-{i}": {"elicitation_signal": 0.9, "sync_signal": 0.9} for i in range(3)},
                "reseller": {"elicitation_signal": 0.4},
            }
        ).with_columns(
            pl.when(pl.col("account_id") == "reseller").then(300).alias("n_end_users"),
            (pl.col("account_id") == "reseller").alias("is_mixed"),
        ),
        config,
    )
    edges = pl.DataFrame(
        {
            "account_a": ["camp-0", "camp-0", "camp-0"],
            "account_b": ["camp-1", "camp-2", "reseller"],
            "kind": ["harness"] * 3,
            "weight": [1.0] * 3,
            "detail": [""] * 3,
        }
    )
    _, groups = link(accounts, edges, config)
    assert "reseller" not in groups.row(0, named=True)["members"]


def test_an_account_passing_on_end_users_joins_only_on_its_own_content() -> None:
    # A shared role whose sessions are its end users, thin and ordinary on its own: not attached.
    config = defaults()
    rows = {
        **{f"camp-{i}": {"elicitation_signal": 0.9, "sync_signal": 0.9} for i in range(4)},
        "shared-role": {},
    }
    accounts = _accounts(rows).with_columns(
        pl.when(pl.col("account_id") == "shared-role").then(5).otherwise(100).alias("n_events"),
        pl.when(pl.col("account_id") == "shared-role").then(40).alias("n_end_users"),
    )
    edges = pl.DataFrame(
        {
            "account_a": ["camp-0"] * 4,
            "account_b": ["camp-1", "camp-2", "camp-3", "shared-role"],
            "kind": ["harness"] * 4,
            "weight": [1.0] * 4,
            "detail": [""] * 4,
        }
    )
    _, groups = link(score_accounts(accounts, config), edges, config)
    assert "shared-role" not in groups.row(0, named=True)["members"]


def test_without_text_rotation_and_answer_shape_stand_for_content() -> None:
    config = defaults()
    accounts = _accounts(
        {
            "rotating": {},
            "derivations": {"infra_signal": 0.2},
            "busy-integration": {"automation_signal": 0.9, "infra_signal": 0.9},
        }
    ).with_columns(
        pl.col("account_id").replace_strict({"rotating": 0.95}, default=0.0).alias("churn_signal"),
        pl.col("account_id")
        .replace_strict({"derivations": 0.9}, default=0.0)
        .alias("output_shape_signal"),
    )
    with_text = {r["account_id"]: r for r in score_accounts(accounts, config).iter_rows(named=True)}
    without = {
        r["account_id"]: r
        for r in score_accounts(accounts, config, with_text=False).iter_rows(named=True)
    }
    # With text, rotation alone is operations without content.
    assert with_text["rotating"]["score"] == 0.0
    # Without text, hard rotation is named on its own; automation alone still is not.
    assert without["rotating"]["severity"] in ("medium", "high")
    assert without["busy-integration"]["score"] == 0.0
    assert without["derivations"]["content"] > 0.5


def _star(hub: str, spokes: list[str], kind: str = "harness") -> pl.DataFrame:
    """Full-weight ``kind`` links from ``hub`` to each of ``spokes``."""
    return pl.DataFrame(
        {
            "account_a": [hub] * len(spokes),
            "account_b": spokes,
            "kind": [kind] * len(spokes),
            "weight": [1.0] * len(spokes),
            "detail": [""] * len(spokes),
        }
    )


def test_users_of_one_popular_tool_are_not_a_campaign() -> None:
    """Harness links join the users of a popular agent framework (its whole set of role prompts);
    they ask broadly, but each runs like a person and asks its own things: the links alone make
    no campaign."""
    config = defaults()
    users = {
        f"dev-{i}": {"breadth_signal": 0.3 + 0.05 * i, "elicitation_signal": 0.5 * (i % 3 == 0)}
        for i in range(12)
    }
    accounts = score_accounts(_accounts(users), config)
    linked, groups = link(accounts, _star("dev-0", [f"dev-{i}" for i in range(1, 12)]), config)
    assert groups.is_empty()
    assert linked["campaign_id"].is_null().all()


def test_accounts_that_ask_alike_are_a_campaign_where_operations_cannot_be_measured() -> None:
    """Logs without addresses, clients or keys show no rotation or shared infrastructure; a
    human-paced operator then shows no operations at all. One recipe run from many accounts still
    makes their content alike, which independent users of one tool are not (above); two accounts
    are too few to call alike."""
    config = defaults()
    recipe = {"elicitation_signal": 0.9, "breadth_signal": 0.8, "template_signal": 1.0}
    accounts = score_accounts(_accounts({f"op-{i}": recipe for i in range(5)}), config)
    assert accounts["operations"].max() < config["linking"]["min_member_operations"]
    linked, groups = link(accounts, _star("op-0", [f"op-{i}" for i in range(1, 5)]), config)
    assert groups["n_accounts"].to_list() == [5]
    assert linked["campaign_id"].n_unique() == 1

    _, pair_groups = link(accounts, _star("op-0", ["op-1"]), config)
    assert pair_groups.is_empty()
