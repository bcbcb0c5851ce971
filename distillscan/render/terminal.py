"""The terminal report (Rich): header, campaigns table, one panel per campaign, mixed accounts.

Every string that comes from the logs (ids, prompts, user agents, model names, evidence details)
passes through :func:`distillscan.textsafe.inert` (escape sequences and control characters made
visible, length bounded with a visible marker) and is placed in Rich ``Text`` objects, never in
markup strings, so nothing in a log can style, link, move or rewrite the investigator's
terminal. Styles come only from this module.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from distillscan.report.model import (
    Bucket,
    Campaign,
    Changes,
    Entity,
    MixedAccount,
    Report,
    SignalRow,
    Template,
    Timeline,
    change_sentence,
    changes_headline,
    flagged_outside_campaigns,
    ingest_summary,
    tracking_sentence,
    triage_sentence,
    unmeasured_sentence,
)
from distillscan.textsafe import inert

SEVERITY_STYLES = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "none": "dim",
}
SPARKS = "▁▂▃▄▅▆▇█"
#: How many members, templates, entities and examples a panel lists before counting the rest.
MEMBERS_SHOWN = 8
TEMPLATES_SHOWN = 3
ENTITIES_SHOWN = 5
#: Widest a prompt example may print before it is cut (with a visible marker).
PROMPT_CHARS = 160
#: Bound on an id or a file name (a hostile log may hold megabytes in one); no real one is cut.
ID_CHARS = 256

ENTITY_WORDS = {
    "ip": "IP",
    "prefix": "network",
    "user_agent": "user agent",
    "payment": "payment",
    "email_domain": "email domain",
    "created": "sign-up burst",
}


def untrusted(value: object, limit: int = ID_CHARS, style: str = "") -> Text:
    """Log text as an inert, bounded Rich ``Text`` (never parsed as markup).

    A value wider than its column folds onto the next line instead of ending in an ellipsis:
    ids and ``file:line`` are evidence an investigator copies, never cut.
    """
    return Text(inert(str(value) if value is not None else "", limit), style=style, overflow="fold")


def severity_text(severity: str, score: float | None = None) -> Text:
    """A severity label in its colour, optionally with the score."""
    label = severity.upper() if severity in ("critical", "high") else severity
    text = Text(label, style=SEVERITY_STYLES.get(severity, ""))
    if score is not None:
        text.append(f" {score:.2f}")
    return text


def when(instant: str | None) -> str:
    """An ISO instant as ``YYYY-MM-DD HH:MM`` (UTC), or ``-``."""
    return instant[:16].replace("T", " ") if instant else "-"


def count(n: int, word: str) -> str:
    """``n word`` with the plural when needed (``1 account``, ``2 accounts``)."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def render(
    report: Report, *, case: str | None = None, brief: bool = False
) -> Iterator[RenderableType]:
    """Yield the report's renderables in order (the CLI prints them to stdout).

    The overview comes first (scope, the campaigns table, flagged accounts outside campaigns,
    mixed accounts: what to look at), then one panel of evidence per campaign.

    Args:
        report: The report model.
        case: How to name the case folder in drill-down hints (omitted when None).
        brief: Only the overview, no campaign panels.
    """
    yield header(report)
    if report["changes"] is not None:
        yield from changes_view(report["changes"])
    campaigns = report["campaigns"]
    if not campaigns:
        caveat = unmeasured_sentence(report["summary"])
        yield Text(
            "No campaign found." if caveat is None else f"No campaign found; {caveat}.",
            style="green" if caveat is None else "yellow",
        )
    else:
        yield campaigns_table(campaigns)
    yield from _overview_tables(report)
    if not brief:
        for campaign in campaigns:
            yield campaign_panel(campaign, report["mixed_accounts"], case)
    if case is not None:
        hint = Text("drill down: ", style="dim")
        hint.append(untrusted(f"distillscan show {case} campaign CAMPAIGN_ID", 300))
        hint.append("  or  ", style="dim")
        hint.append(untrusted(f"distillscan show {case} account ACCOUNT_ID", 300))
        yield hint


def _overview_tables(report: Report) -> Iterator[RenderableType]:
    """Flagged accounts outside campaigns, and mixed accounts."""
    flagged = flagged_outside_campaigns(report)
    if flagged:
        table = Table(
            title=f"Flagged accounts outside campaigns ({len(flagged)})", title_justify="left"
        )
        for column in ("severity", "account", "events", "strongest signals"):
            table.add_column(column)
        for account in flagged[:25]:
            top = sorted(account["contributions"].items(), key=lambda p: (-p[1], p[0]))[:3]
            table.add_row(
                severity_text(account["severity"], account["score"]),
                untrusted(account["account_id"]),
                f"{account['n_events']:,}",
                ", ".join(f"{name} {value:.2f}" for name, value in top if value >= 0.05) or "-",
            )
        yield table
        if len(flagged) > 25:
            yield Text(f"... and {len(flagged) - 25} more (distillscan report --format json)")
    if report["mixed_accounts"]:
        yield mixed_table(report["mixed_accounts"])


def plain_text(report: Report, *, case: str | None, width: int = 100) -> str:
    """The report as plain text at a fixed width without colour (``--output FILE``, goldens)."""
    buffer = io.StringIO()
    out = Console(
        file=buffer, width=width, color_system=None, highlight=False, markup=False, emoji=False
    )
    for renderable in render(report, case=case):
        out.print(renderable)
    return buffer.getvalue()


def header(report: Report) -> Panel:
    """Inputs, counts, time span, accounts, and which passes ran or were skipped."""
    manifest, scope, summary = report["manifest"], report["scope"], report["summary"]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    inputs = manifest["inputs"]
    files = sum(entry["files"] for entry in inputs)
    bundled = f" in {count(len(inputs), 'input')}" if files != len(inputs) else ""
    listing = Text(f"{count(files, 'file')}{bundled}")
    for entry in inputs[:5]:
        listing.append("\n")
        listing.append(untrusted(entry["path"], 80))
        listing.append(
            f"  {entry['format']}, {entry['rows_read']:,} rows, sha256 {entry['sha256'][:12]}",
            style="dim",
        )
    if len(inputs) > 5:
        listing.append(f"\n... and {len(inputs) - 5} more")
    grid.add_row("inputs", listing)
    if manifest["skipped"]:
        left_out = Text()
        for i, s in enumerate(manifest["skipped"][:5]):
            if i:
                left_out.append("\n")
            left_out.append(untrusted(s["path"], 300))
            left_out.append(": ")
            left_out.append(untrusted(s["reason"], 200))
        if len(manifest["skipped"]) > 5:
            left_out.append(f"\n... and {len(manifest['skipped']) - 5} more")
        grid.add_row("left out", left_out)
    grid.add_row("loaded", f"{ingest_summary(manifest)}; {scope['events']:,} events in the window")
    span = f"{when(scope['first_event'])} → {when(scope['last_event'])} UTC"
    if scope["window_from"] or scope["window_to"]:
        span += f" (window {when(scope['window_from'])} → {when(scope['window_to'])})"
    grid.add_row("time span", span)
    grid.add_row(
        "accounts",
        f"{scope['accounts']:,} analysed; {summary['flagged_accounts']:,} flagged; "
        f"{summary['campaign_accounts']:,} in campaigns; {summary['mixed_accounts']:,} mixed",
    )
    ran = [p["id"] for p in report["passes"] if p["ran"]]
    grid.add_row("passes run", Text(", ".join(ran) or "none"))
    skipped = [p for p in report["passes"] if not p["ran"]]
    if skipped:
        lines = Text()
        for i, p in enumerate(skipped):
            if i:
                lines.append("\n")
            lines.append(f"{p['id']}: ", style="yellow")
            lines.append(untrusted(p["skipped_reason"], 200))
        grid.add_row("skipped", lines)
    notes = [(p["id"], n) for p in report["passes"] for n in p["notes"]]
    if notes:
        lines = Text()
        for i, (pass_id, note) in enumerate(notes):
            if i:
                lines.append("\n")
            lines.append(f"{pass_id}: ", style="dim")
            lines.append(untrusted(note, 200))
        grid.add_row("notes", lines)
    n = summary["campaigns"]
    verdict = (
        Text(f"{count(n, 'suspected campaign')}, highest severity ")
        + severity_text(summary["highest_severity"] or "none")
        if n
        else Text("no suspected campaign", style="green")
    )
    if (caveat := unmeasured_sentence(summary)) is not None:
        verdict.append("\n" + caveat, style="yellow")
    grid.add_row("finding", verdict)
    title = "distillscan report" + (" (redacted)" if report["run"]["redacted"] else "")
    return Panel(grid, title=Text(title, style="bold"), title_align="left")


def changes_view(changes: Changes, shown: int = MEMBERS_SHOWN) -> Iterator[RenderableType]:
    """What changed since the previous run: a headline, then one row per campaign that changed
    (a first run has nothing to compare with: the campaigns table follows)."""
    yield Text(changes_headline(changes), style="bold")
    if changes["previous_run"] is None:
        return
    if changes["new_mixed_accounts"]:
        line = Text("new mixed accounts (a reseller hiding a harvesting tenant): ", style="dim")
        for i, account_id in enumerate(changes["new_mixed_accounts"]):
            line.append(", " if i else "")
            line.append(untrusted(account_id))
        yield line
    if not changes["campaigns"]:
        return
    table = Table(show_header=True, box=None, padding=(0, 1))
    table.add_column("severity", no_wrap=True)
    table.add_column("campaign", no_wrap=True)
    table.add_column("change", ratio=1)
    for change in changes["campaigns"]:
        what = Text(change_sentence(change))
        added = change["added_members"]
        if added and change["status"] != "new":
            what.append("\nnew members: ", style="dim")
            for i, account_id in enumerate(added[:shown]):
                what.append(", " if i else "")
                what.append(untrusted(account_id))
            if len(added) > shown:
                what.append(f" ... and {len(added) - shown} more", style="dim")
        table.add_row(severity_text(change["severity"]), change["campaign_id"], what)
    yield table


def campaigns_table(campaigns: Sequence[Campaign]) -> Table:
    """One row per campaign, most severe first: what it is, how big, its pivot and signals."""
    table = Table(title="Suspected campaigns", title_justify="left", show_lines=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("campaign", ratio=3)
    table.add_column("size", no_wrap=True)
    table.add_column("strongest signals", ratio=1)
    for c in campaigns:
        # What it targets is in its name, its release pivot among its signals; the panel below
        # has both in full. The id folds rather than being cut: it is what `show` takes.
        name = Text(c["name"], style="bold", overflow="fold")
        name.append("\n")
        name.append(untrusted(c["campaign_id"], style="dim"))
        if c["triage"] is not None:
            name.append("\ntriage: ", style="bold")
            name.append(untrusted(triage_sentence(c["triage"]), 300))
        table.add_row(
            severity_text(c["severity"], c["score"]),
            name,
            f"{count(c['n_accounts'], 'account')}\n{count(c['n_events'], 'exchange')}",
            "\n".join(c["strongest_signals"]) or "-",
        )
    return table


def campaign_panel(
    campaign: Campaign,
    mixed: Sequence[MixedAccount],
    case: str | None,
    *,
    members: int = MEMBERS_SHOWN,
    templates: int = TEMPLATES_SHOWN,
    entities: int = ENTITIES_SHOWN,
) -> Panel:
    """Why the campaign was named, when it ran, what it shared, and who is in it.

    ``members``, ``templates`` and ``entities`` bound how many of each are listed before the
    rest is counted (the drill-down lists them all).
    """
    parts: list[RenderableType] = []
    facts = Text(
        f"{count(campaign['n_accounts'], 'account')} · {count(campaign['n_events'], 'exchange')}"
        f" · {when(campaign['first_seen'])} → {when(campaign['last_seen'])} UTC\n"
    )
    facts.append("targets: ", style="bold")
    facts.append(", ".join(x.replace("_", " ") for x in campaign["capabilities"]) or "-")
    if campaign["tracking"] is not None:
        facts.append("\nhistory: ", style="bold")
        facts.append(tracking_sentence(campaign["tracking"]))
    if campaign["triage"] is not None:
        facts.append("\ntriage: ", style="bold")
        facts.append(untrusted(triage_sentence(campaign["triage"]), 1000))
    parts.append(facts)

    parts.append(
        Text(
            f"\nWhy it was named (content {campaign['content']:.2f} × operations "
            f"{campaign['operations']:.2f} → score {campaign['score']:.2f})",
            style="bold",
        )
    )
    parts.append(signals_table(campaign["signals"]))

    parts.append(
        Text(f"\nActivity ({campaign['timeline']['bucket_hours']} h buckets, UTC)", "bold")
    )
    parts.append(sparkline(campaign["timeline"]))

    if campaign["templates"]:
        parts.append(Text("\nShared templates", style="bold"))
        parts.append(Text("(case folded, digits shown as 0)", style="dim"))
        parts.append(templates_text(campaign["templates"], templates))
    if campaign["infrastructure"]:
        parts.append(Text("\nShared infrastructure", style="bold"))
        parts.append(entities_table(campaign["infrastructure"], entities))

    parts.append(Text(f"\nMembers ({campaign['n_accounts']:,})", style="bold"))
    parts.append(members_table(campaign, members))

    linked = [m for m in mixed if m["account_id"] in set(campaign["mixed_accounts"])]
    if linked:
        parts.append(Text("\nMixed accounts whose tenants use its templates", style="bold"))
        for m in linked:
            parts.append(mixed_line(m))
    if case is not None:
        hint = Text("\nfull evidence: ", style="dim")
        hint.append(untrusted(f"distillscan show {case} campaign {campaign['campaign_id']}", 300))
        parts.append(hint)
    title = severity_text(campaign["severity"], campaign["score"])
    title.append(" · ")
    title.append(untrusted(campaign["campaign_id"]))
    title.append(" · ")
    title.append(campaign["name"])
    return Panel(Group(*parts), title=title, title_align="left")


def signals_table(rows: Sequence[SignalRow]) -> Table:
    """Signal, strength, contribution and the plain-words figure behind it."""
    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column("signal", no_wrap=True)
    table.add_column("strength", justify="right")
    table.add_column("weight", justify="right")
    table.add_column("what was measured", ratio=1)
    for row in rows:
        dim = "dim" if row["contribution"] < 0.05 else ""
        figure = Text(row["figure"], style=dim)
        if row["subject"] is not None:
            figure.append(": ")
            figure.append(untrusted(row["subject"], 60))
        table.add_row(
            Text(row["label"], style=dim),
            Text(f"{row['value']:.2f}", style=dim),
            Text(f"{row['contribution']:.2f}", style=dim),
            figure,
        )
    return table


def sparkline(timeline: Timeline) -> Text:
    """Events per bucket as a sparkline, with the release of the pivot model marked below."""
    buckets: list[Bucket] = timeline["buckets"]
    if not buckets:
        return Text("no events in the window", style="dim")
    peak = max(b["events"] for b in buckets) or 1
    line = Text("  ")
    for b in buckets:
        level = round(b["events"] / peak * (len(SPARKS) - 1))
        char = SPARKS[level] if b["events"] else " "
        line.append(char, style="magenta" if b["on_release_model"] else "cyan")
    line.append(f"  peak {peak:,}/bucket")
    released = timeline["released_at"]
    if released is not None and timeline["release_model"] is not None:
        index = next((i for i, b in enumerate(buckets) if b["start"] > released), len(buckets)) - 1
        marker = Text("\n  " + " " * max(index, 0) + "▲ ", style="bold magenta")
        marker.append(untrusted(timeline["release_model"], 40, style="bold magenta"))
        moved = sum(b["on_release_model"] for b in buckets[max(index, 0) :])
        after = sum(b["events"] for b in buckets[max(index, 0) :]) or 1
        marker.append(f" first seen {when(released)}; {moved / after:.0%} of the traffic after it")
        line.append(marker)
    line.append(f"\n  {when(buckets[0]['start'])}", style="dim")
    line.append(f" … {when(buckets[-1]['start'])}", style="dim")
    return line


def templates_text(templates: Sequence[Template], shown: int = TEMPLATES_SHOWN) -> Table:
    """The most used shared skeletons, each with up to two example prompts."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    for i, t in enumerate(templates[:shown]):
        line = Text(f"{t['side']} with ", style="bold")
        line.append(untrusted(t["skeleton"], 80))
        outside = (
            f"also used by {count(t['other_accounts'], 'account')} outside"
            if t["other_accounts"]
            else "used by no other account"
        )
        line.append(
            f"\n{count(t['accounts'], 'account')}, {count(t['events'], 'event')}; {outside}",
            style="dim",
        )
        for x in t["examples"][:2]:
            line.append("\ne.g. ", style="dim")
            line.append(untrusted(f"{x['source_file']}:{x['source_line']}", 80, style="dim"))
            line.append(" ")
            line.append(untrusted(x["account_id"], 32, style="dim"))
            line.append(": ")
            line.append(untrusted(x["prompt"], PROMPT_CHARS))
        grid.add_row(f"{i + 1}.", line)
    if len(templates) > shown:
        grid.add_row("", Text(f"... and {len(templates) - shown} more"))
    return grid


def entities_table(entities: Sequence[Entity], shown: int = ENTITIES_SHOWN) -> Table:
    """Shared IPs, networks, user agents and sign-up details."""
    table = Table(box=None, padding=(0, 1), show_edge=False)
    for column in ("kind", "value", "accounts", "events", "outside"):
        table.add_column(column, justify="right" if column in ("accounts", "events") else "left")
    for e in entities[:shown]:
        table.add_row(
            ENTITY_WORDS.get(e["kind"], e["kind"]),
            untrusted(e["value"], 60),
            f"{e['accounts']:,}",
            f"{e['events']:,}",
            f"{e['other_accounts']:,} other",
        )
    if len(entities) > shown:
        table.add_row("", Text(f"... and {len(entities) - shown} more"), "", "", "")
    return table


def members_table(campaign: Campaign, shown: int = MEMBERS_SHOWN) -> Table:
    """The first members (most severe first), then a count of the rest."""
    table = Table(box=None, padding=(0, 1), show_edge=False)
    for column in ("account", "severity", "events", "active", "strongest signals"):
        table.add_column(column, justify="right" if column == "events" else "left")
    members = campaign["members"]
    for m in members[:shown]:
        severity = severity_text(m["severity"], m["score"])
        if m["triage"] is not None:
            severity.append(f" ({m['triage']})", style="dim")
        table.add_row(
            untrusted(m["account_id"]),
            severity,
            f"{m['n_events']:,}",
            f"{when(m['first_seen'])[:10]} → {when(m['last_seen'])[:10]}",
            ", ".join(m["strongest_signals"]) or "-",
        )
    if len(members) > shown:
        table.add_row(Text(f"... and {len(members) - shown:,} more"), "", "", "", "")
    return table


def mixed_line(m: MixedAccount) -> Table:
    """A mixed account: contamination, end users, and the implicated ones."""
    text = untrusted(m["account_id"])
    text.append(
        f": {m['contamination_share']:.0%} of {count(m['n_events'], 'event')} from "
        f"{len(m['implicated_end_users'])} of {count(m['n_end_users'], 'end user')}; "
        "implicated: "
    )
    text.append(untrusted(", ".join(m["implicated_end_users"][:5]), 120))
    if len(m["implicated_end_users"]) > 5:
        text.append(f" (+{len(m['implicated_end_users']) - 5})")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row("-", text)
    return grid


def mixed_table(mixed: Sequence[MixedAccount]) -> Table:
    """Every mixed account (a reseller or app whose traffic hides a harvesting tenant)."""
    table = Table(title="Mixed accounts (reseller traffic hiding a harvest)", title_justify="left")
    for column in ("account", "end users", "contamination", "implicated end users", "campaigns"):
        table.add_column(column)
    for m in mixed:
        implicated = m["implicated_end_users"]
        shown = ", ".join(implicated[:5]) + (
            f" (+{len(implicated) - 5})" if len(implicated) > 5 else ""
        )
        listed = untrusted(shown, 120)
        if m["allowlisted_end_users"]:
            listed.append("\nallowlisted: ", style="dim")
            listed.append(untrusted(", ".join(m["allowlisted_end_users"][:5]), 120))
        table.add_row(
            untrusted(m["account_id"]),
            f"{m['n_end_users']:,}",
            f"{m['contamination_share']:.0%}",
            listed,
            untrusted(", ".join(m["campaigns"]) or "-", 80),
        )
    return table
