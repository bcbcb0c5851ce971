"""``distillscan show CASE campaign|account|end-user ID``: the documents behind a drill-down.

A campaign's drill-down is its report entry without the report's cuts: every member, more
templates and shared entities, and every evidence row with its example event (source
``file:line``, time, model, the start of the prompt). An account's drill-down gathers what the case
knows about it: its signals with their contributions and the figures behind them, its campaign,
its evidence rows (example events, and links to other accounts in either direction), its first
events, the infrastructure and prompt skeletons it shares, and, for a reseller, its busiest end
users. An end user's drill-down (an id a reseller or an app passes on) names the accounts its
requests came through, whether each account's harvesting tenant implicates it, and its first
events.

All are plain JSON values, like the report model; :mod:`distillscan.render.drilldown` prints
them with Rich, and ``--format json`` prints them as they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

import duckdb
import polars as pl

from distillscan.detect import SIGNALS, infrastructure
from distillscan.errors import CaseError
from distillscan.investigate import Investigation
from distillscan.report import facts
from distillscan.report.loader import load_record
from distillscan.report.model import (
    Account,
    Campaign,
    Entity,
    Evidence,
    Example,
    MixedAccount,
    SignalRow,
    Template,
    Timeline,
    TriageEntry,
    account_of,
    baselines,
    build_report,
    entity_of,
    evidence_rows,
    example_of,
    instant,
    rounded,
    signal_rows,
    template_of,
    timeline_of,
    triage_entries,
)

#: Account figures shown in an account's drill-down (when the passes produced them): the
#: volume, the figures behind each signal as its pass declares them, the mixed-account figures
#: and the two family scores.
FIGURES = tuple(
    dict.fromkeys(
        [
            "n_events",
            *(c for s in SIGNALS for c in (*s.figures, *s.shares, *s.maxima)),
            "template_peers",  # the partner count's name in cases of earlier versions
            "n_end_users",
            "implicated_events",
            "contamination_share",
            "content",
            "operations",
        ]
    )
)


#: Account metadata columns shown when the case has them.
METADATA = ("created_at", "email_domain", "payment_fingerprint", "country")


FIRST_EVENTS = 5


END_USERS = 20


#: The drill-down's listing limits (the report's are smaller).
TEMPLATES = 20


ENTITIES = 50


class CampaignBrief(TypedDict):
    """The campaign an account belongs to."""

    campaign_id: str
    name: str
    severity: str
    score: float
    n_accounts: int


class EndUser(TypedDict):
    """One of a reseller's end users."""

    end_user_id: str
    events: int
    first_seen: str | None
    last_seen: str | None
    implicated: bool


class CampaignDetail(TypedDict):
    """Everything ``show CASE campaign ID`` prints."""

    campaign: Campaign
    mixed_accounts: list[MixedAccount]


class AccountDetail(TypedDict):
    """Everything ``show CASE account ID`` prints."""

    account: Account
    campaign: CampaignBrief | None
    triage: TriageEntry | None
    signals: list[SignalRow]
    figures: dict[str, Any]
    metadata: dict[str, str | None]
    timeline: Timeline
    templates: list[Template]
    infrastructure: list[Entity]
    end_users: list[EndUser]
    first_events: list[Example]
    evidence: list[Evidence]


class EndUserAccount(TypedDict):
    """One account an end user's requests came through."""

    account_id: str
    events: int
    first_seen: str | None
    last_seen: str | None
    implicated: bool
    account_is_mixed: bool
    contamination_share: float


class EndUserDetail(TypedDict):
    """Everything ``show CASE end-user ID`` prints."""

    end_user_id: str
    accounts: list[EndUserAccount]
    first_events: list[Example]


def end_user_detail(investigation: Investigation, end_user_id: str) -> EndUserDetail:
    """An end user (the id a reseller or an app passes on): the accounts its requests came
    through, whether each account's tenant implicates it, and its first events.

    Raises:
        CaseError: the id has no events in the investigation.
    """
    accounts, first = facts.on_events(
        investigation.case,
        investigation.window,
        lambda con: facts.end_user(con, end_user_id, FIRST_EVENTS),
    )
    if not accounts:
        raise CaseError(
            f"{end_user_id!r} is not an end user of this case",
            hint="end-user ids are matched exactly; `show CASE account ID` lists an account's",
        )
    rows = {r["account_id"]: r for r in investigation.accounts.iter_rows(named=True)}
    listed: list[EndUserAccount] = []
    for a in accounts:
        row = rows.get(a["account_id"], {})
        listed.append(
            {
                "account_id": str(a["account_id"]),
                "events": int(a["events"]),
                "first_seen": instant(a["first_seen"]),
                "last_seen": instant(a["last_seen"]),
                "implicated": end_user_id in (row.get("implicated_end_users") or []),
                "account_is_mixed": bool(row.get("is_mixed")),
                "contamination_share": rounded(row.get("contamination_share")),
            }
        )
    return {
        "end_user_id": end_user_id,
        "accounts": listed,
        "first_events": [example_of(e) for e in first],
    }


def campaign_detail(investigation: Investigation, wanted: str) -> CampaignDetail:
    """One campaign, by its id or a unique prefix of it.

    Raises:
        CaseError: no campaign, or several, match.
    """
    ids = sorted(investigation.campaigns["campaign_id"].to_list())
    matches = [c for c in ids if c == wanted] or [c for c in ids if c.startswith(wanted)]
    if len(matches) != 1:
        problem = "matches several campaigns" if matches else "is not a campaign of this case"
        listed = ", ".join(ids[:10]) + (f" (+{len(ids) - 10})" if len(ids) > 10 else "")
        raise CaseError(f"{wanted!r} {problem}", hint=f"campaigns: {listed or 'none'}")
    report = build_report(investigation, templates=TEMPLATES, entities=ENTITIES)
    campaign = next(c for c in report["campaigns"] if c["campaign_id"] == matches[0])
    mixed = [m for m in report["mixed_accounts"] if m["account_id"] in campaign["mixed_accounts"]]
    return {"campaign": campaign, "mixed_accounts": mixed}


def account_detail(investigation: Investigation, account_id: str) -> AccountDetail:
    """Everything the case holds about one account, by its id or a unique prefix of it.

    Raises:
        CaseError: no account, or several, match.
    """
    accounts = investigation.accounts
    own_row = accounts.filter(pl.col("account_id") == account_id)
    if own_row.is_empty():
        own_row = accounts.filter(pl.col("account_id").str.starts_with(account_id)).sort(
            "account_id"
        )
    if own_row.height != 1:
        problem = "matches several accounts" if own_row.height else "is not an account of this case"
        listed = ", ".join(own_row["account_id"].head(10).to_list())
        raise CaseError(
            f"{account_id!r} {problem}",
            hint=f"{own_row.height} accounts start with it: {listed}"
            if own_row.height
            else "give the id or a unique start of it; the JSON report lists every account",
        )
    row = own_row.row(0, named=True)
    account_id = row["account_id"]
    config = load_record(investigation.case).get("config") or {}
    base = baselines(investigation, config)
    pivot_model: str | None = row.get("pivot_model") if (row.get("pivot_signal") or 0) else None
    scope = facts.Scope(
        members=pl.DataFrame({"label": [account_id], "account_id": [account_id]}),
        hours={account_id: facts.bucket_hours(row.get("first_seen"), row.get("last_seen"))},
        release_model={account_id: pivot_model} if pivot_model else {},
    )

    def gather(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
        return (
            facts.release_times(con, [pivot_model] if pivot_model else []),
            facts.timelines(con, scope).get(account_id, []),
            facts.templates(con, scope, limit=5, min_accounts=1).get(account_id, []),
            facts.infrastructure(
                con,
                scope,
                accounts,
                min_share=base.params_of(infrastructure.Params).min_share,
                min_accounts=1,
            ).get(account_id, []),
            evidence_rows(con, _evidence_of(investigation.evidence, account_id)),
            facts.first_events(con, account_id, FIRST_EVENTS),
            facts.end_users(con, account_id, END_USERS),
        )

    releases, buckets, templates, entities, evidence, first, end_users = facts.on_events(
        investigation.case, investigation.window, gather
    )
    implicated = set(row.get("implicated_end_users") or [])
    return {
        "account": account_of(row),
        "campaign": _brief(investigation.campaigns, row["campaign_id"]),
        "triage": next(
            (
                t
                for t in triage_entries(investigation)
                if t["kind"] == "account" and t["target"] == account_id
            ),
            None,
        ),
        "signals": signal_rows(own_row, base),
        "figures": {k: _plain(row[k]) for k in FIGURES if row.get(k) is not None},
        "metadata": {k: _text(row.get(k)) for k in METADATA if k in row},
        "timeline": timeline_of(
            scope.hours[account_id],
            pivot_model,
            releases.get(pivot_model) if pivot_model else None,
            buckets,
        ),
        "templates": [template_of(t) for t in templates],
        "infrastructure": [entity_of(e) for e in entities],
        "end_users": [
            {
                "end_user_id": str(u["end_user_id"]),
                "events": int(u["events"]),
                "first_seen": instant(u["first_seen"]),
                "last_seen": instant(u["last_seen"]),
                "implicated": u["end_user_id"] in implicated,
            }
            for u in end_users
        ],
        "first_events": [example_of(e) for e in first],
        "evidence": evidence,
    }


def _evidence_of(evidence: pl.DataFrame, account_id: str) -> pl.DataFrame:
    """The account's evidence rows, and link rows stored under the account at the other end."""
    inbound = evidence.filter(
        (pl.col("partner_id") == account_id) & (pl.col("account_id") != account_id)
    )
    own = evidence.filter(pl.col("account_id") == account_id)
    return pl.concat([own, inbound], how="vertical_relaxed")


def _brief(campaigns: pl.DataFrame, campaign_id: str | None) -> CampaignBrief | None:
    if campaign_id is None:
        return None
    match = campaigns.filter(pl.col("campaign_id") == campaign_id)
    if match.is_empty():
        return None
    c = match.row(0, named=True)
    return {
        "campaign_id": c["campaign_id"],
        "name": c["name"],
        "severity": c["severity"],
        "score": rounded(c["score"]),
        "n_accounts": int(c["n_accounts"]),
    }


def _plain(value: Any) -> Any:
    """A figure as a JSON value: floats rounded, instants as ISO strings."""
    if isinstance(value, float):
        return rounded(value)
    if isinstance(value, datetime):
        return instant(value)
    return value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return instant(value) if isinstance(value, datetime) else str(value)
