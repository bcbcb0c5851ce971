"""``distillscan show``'s documents (see :mod:`distillscan.report.drilldown`) printed with Rich.

Every log value goes through :func:`~distillscan.render.terminal.untrusted`: inert, bounded, and
folded rather than cut when it is an id or a ``file:line``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

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
from distillscan.report.drilldown import (
    AccountDetail,
    CampaignDetail,
    EndUser,
    EndUserDetail,
)
from distillscan.report.model import Evidence, Example, triage_sentence


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
    if detail["triage"] is not None:
        head.append("\ntriage: ", style="bold")
        head.append(untrusted(triage_sentence(detail["triage"]), 1000))
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
