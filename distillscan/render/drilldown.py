"""``distillscan show CASE campaign|account|end-user ID``: the full evidence for one.

A campaign's drill-down is its report entry without the report's cuts: every member, more
templates and shared entities, and every evidence row with its example event (source
``file:line``, time, model, the start of the prompt). An account's drill-down gathers what the case
knows about it: its signals with their contributions and the figures behind them, its campaign,
its evidence rows (example events, and links to other accounts in either direction), its first
events, the infrastructure and prompt skeletons it shares, and, for a reseller, its busiest end
users. An end user's drill-down (an id a reseller or an app passes on) names the accounts its
requests came through, whether each account's harvesting tenant implicates it, and its first
events.

All are built as plain JSON values (like the report model) and printed either with Rich (every
log value inert, see :mod:`distillscan.render.terminal`) or as JSON.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypedDict

import duckdb
import polars as pl
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from distillscan.detect import SIGNALS
from distillscan.errors import CaseError
from distillscan.investigate import Investigation
from distillscan.render import facts
from distillscan.render.loader import load_record
from distillscan.render.model import (
    Account,
    Campaign,
    Entity,
    Evidence,
    Example,
    MixedAccount,
    SignalRow,
    Template,
    Timeline,
    account_of,
    baselines,
    build_report,
    entity_of,
    evidence_rows,
    example_of,
    instant,
    pass_parameters,
    rounded,
    signal_rows,
    template_of,
    timeline_of,
)
from distillscan.render.terminal import (
    ID_CHARS,
    campaign_panel,
    count,
    entities_table,
    severity_text,
    signals_table,
    sparkline,
    templates_text,
    untrusted,
    when,
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


def render_end_user(detail: EndUserDetail) -> Iterator[RenderableType]:
    """The end user's accounts, then its first events."""
    table = Table(box=None, padding=(0, 1), show_edge=False)
    for column in ("account", "events", "first seen", "last seen", ""):
        table.add_column(column, justify="right" if column == "events" else "left")
    for a in detail["accounts"]:
        verdict = Text()
        if a["implicated"]:
            verdict.append("implicated", style="bold red")
            verdict.append(
                f" (the account's tenant: {a['contamination_share']:.0%} of its traffic)"
            )
        elif a["account_is_mixed"]:
            verdict.append("not implicated (the account hosts a harvesting tenant)")
        table.add_row(
            untrusted(a["account_id"]),
            f"{a['events']:,}",
            when(a["first_seen"]),
            when(a["last_seen"]),
            verdict,
        )
    title = Text("end user ")
    title.append(untrusted(detail["end_user_id"], ID_CHARS))
    yield Panel(table, title=title, title_align="left")
    yield events_table(detail["first_events"], "First events")


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
    params = pass_parameters(config)
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
                min_share=float(params["infrastructure"]["min_share"]),
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


def render_campaign(detail: CampaignDetail, case: str) -> Iterator[RenderableType]:
    """The campaign's panel with nothing cut, then every evidence row."""
    campaign = detail["campaign"]
    yield campaign_panel(
        campaign,
        detail["mixed_accounts"],
        None,
        members=len(campaign["members"]),
        templates=len(campaign["templates"]),
        entities=len(campaign["infrastructure"]),
    )
    yield evidence_table(campaign["evidence"], f"Evidence ({len(campaign['evidence']):,} rows)")
    hint = Text("an account: ", style="dim")
    hint.append(untrusted(f"distillscan show {case} account ACCOUNT_ID", 300))
    yield hint


def render_account(detail: AccountDetail) -> Iterator[RenderableType]:
    """The account's header, signals, activity, shared things, end users and evidence."""
    account = detail["account"]
    head = Text()
    head.append_text(severity_text(account["severity"], account["score"]))
    head.append(
        f" · {count(account['n_events'], 'event')} · {when(account['first_seen'])} → "
        f"{when(account['last_seen'])} UTC · content {account['content']:.2f} × operations "
        f"{account['operations']:.2f}"
    )
    campaign = detail["campaign"]
    head.append("\ncampaign: ", style="bold")
    if campaign is None:
        head.append("none")
    else:
        head.append(untrusted(campaign["campaign_id"]))
        head.append(
            f" ({campaign['name']}; {campaign['severity']} {campaign['score']:.2f}, "
            f"{count(campaign['n_accounts'], 'account')})"
        )
    if account["is_mixed"]:
        head.append("\nmixed account: ", style="bold")
        head.append(f"{(account['contamination_share'] or 0.0):.0%} of its traffic is harvest-like")
    for key, value in detail["metadata"].items():
        if value is not None:
            head.append(f"\n{key.replace('_', ' ')}: ", style="bold")
            head.append(untrusted(value, 80))
    parts: list[RenderableType] = [head]
    parts.append(Text("\nSignals", style="bold"))
    parts.append(signals_table(detail["signals"]))
    parts.append(Text("\nFigures", style="bold"))
    parts.append(_figures(detail["figures"]))
    hours = detail["timeline"]["bucket_hours"]
    parts.append(Text(f"\nActivity ({hours} h buckets, UTC)", style="bold"))
    parts.append(sparkline(detail["timeline"]))
    if detail["templates"]:
        parts.append(Text("\nMost used prompt skeletons", style="bold"))
        parts.append(templates_text(detail["templates"], len(detail["templates"])))
    if detail["infrastructure"]:
        parts.append(Text("\nInfrastructure (and how many other accounts use it)", style="bold"))
        parts.append(entities_table(detail["infrastructure"], len(detail["infrastructure"])))
    if detail["end_users"]:
        parts.append(Text("\nBusiest end users", style="bold"))
        parts.append(_end_users(detail["end_users"]))
    title = Text("account ")
    title.append(untrusted(account["account_id"], ID_CHARS))
    yield Panel(Group(*parts), title=title, title_align="left")
    yield events_table(detail["first_events"], "First events")
    yield evidence_table(detail["evidence"], f"Evidence ({len(detail['evidence']):,} rows)")


def _figures(figures: dict[str, Any]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    for key, value in figures.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        table.add_row(key, untrusted(shown, 80))
    return table


def _end_users(users: Sequence[EndUser]) -> Table:
    table = Table(box=None, padding=(0, 1), show_edge=False)
    for column in ("end user", "events", "first seen", "last seen", ""):
        table.add_column(column, justify="right" if column == "events" else "left")
    for u in users:
        table.add_row(
            untrusted(u["end_user_id"], 40),
            f"{u['events']:,}",
            when(u["first_seen"]),
            when(u["last_seen"]),
            Text("implicated", style="bold red") if u["implicated"] else "",
        )
    return table


def events_table(events: Sequence[Example], title: str) -> Table:
    """Example events: where they are (file:line), when, which model, and the prompt's start."""
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("source", ratio=2)
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("model", ratio=1)
    table.add_column("prompt (start)", ratio=5)
    for e in events:
        table.add_row(
            untrusted(f"{e['source_file']}:{e['source_line']}", ID_CHARS),
            when(e["ts"]),
            untrusted(e["model"], 30),
            untrusted(e["prompt"], 200),
        )
    return table


def evidence_table(evidence: Sequence[Evidence], title: str) -> Table:
    """Evidence rows: account, pass, source file:line (or the linked account), detail, prompt."""
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("account", ratio=2)
    table.add_column("pass", ratio=2)
    table.add_column("source", ratio=2)
    table.add_column("detail", ratio=4)
    table.add_column("prompt (start)", ratio=4)
    for e in evidence:
        source = (
            untrusted(f"{e['source_file']}:{e['source_line']}", ID_CHARS)
            if e["source_file"]
            else Text("-")
        )
        detail = untrusted(e["detail"], 200)
        if e["ts"]:
            detail.append(f"\n{when(e['ts'])} ", style="dim")
            detail.append(untrusted(e["model"], 30, style="dim"))
        table.add_row(
            untrusted(e["account_id"]),
            Text(e["pass_id"], overflow="fold"),
            source,
            detail,
            untrusted(e["prompt"], 160),
        )
    return table
