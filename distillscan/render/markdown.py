"""The Markdown report: an incident writeup that renders on GitHub and in common wikis.

Sections: summary, scope (inputs with SHA-256, time span), each campaign (why, timeline table,
shared templates with example prompts, shared infrastructure, members, mixed accounts,
evidence), mixed accounts, methodology and limitations, and an appendix of member accounts.

Every value from the logs goes through :mod:`distillscan.render.escape`: inline in code spans
(pipes escaped in tables), longer text in fenced blocks, so nothing in a prompt or an id can
become a heading, a table break, a link, an image or HTML. The output depends only on the report
model: the same case and options give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

from distillscan.render.escape import md_block, md_code
from distillscan.report.model import (
    Bucket,
    Campaign,
    Changes,
    Report,
    change_sentence,
    changes_headline,
    flagged_outside_campaigns,
    ingest_summary,
    tracking_sentence,
    triage_sentence,
    unmeasured_sentence,
)

#: Rows listed inline before pointing to the appendix or to ``distillscan show``.
MEMBERS_SHOWN = 20
EVIDENCE_SHOWN = 30
EXAMPLES_PER_TEMPLATE = 2
ENTITY_WORDS = {
    "ip": "IP address",
    "prefix": "network prefix",
    "user_agent": "user agent",
    "payment": "payment fingerprint",
    "email_domain": "email domain",
    "created": "sign-up burst",
}


def when(instant: str | None) -> str:
    """An ISO instant as ``YYYY-MM-DD HH:MM`` (UTC), or ``-``."""
    return instant[:16].replace("T", " ") if instant else "-"


def _n(value: int) -> str:
    return f"{value:,}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _table(header: Sequence[str], align: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    marks = {"l": "---", "r": "--:", "c": ":-:"}
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(marks[a] for a in align) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(lines)


def _capabilities(names: Sequence[str]) -> str:
    return ", ".join(n.replace("_", " ") for n in names) or "-"


def render(report: Report, *, case: str = "CASE") -> str:
    """The whole report as Markdown text (ends with a newline).

    Args:
        report: The report model.
        case: How drill-down commands name the case folder (the word ``CASE`` by default, so the
            text does not depend on where the case lives).
    """
    parts = [
        _title(report),
        _changes(report["changes"]),
        _summary(report),
        _scope(report),
    ]
    if report["campaigns"]:
        parts.append("## Campaigns")
        parts += [_campaign(i + 1, c, report, case) for i, c in enumerate(report["campaigns"])]
    parts.append(_mixed(report))
    outside = _outside(report)
    if outside:
        parts.append(outside)
    parts.append(_methodology(report))
    if report["campaigns"]:
        parts.append(_appendix(report))
    return "\n\n".join(p for p in parts if p) + "\n"


def _title(report: Report) -> str:
    summary = report["summary"]
    n = summary["campaigns"]
    headline = (
        f"{_plural(n, 'suspected distillation campaign')} "
        f"(highest severity: {summary['highest_severity']})"
        if n
        else "no suspected distillation campaign"
    )
    lines = [f"# distillscan report: {headline}", ""]
    if (caveat := unmeasured_sentence(summary)) is not None:
        lines += [f"> **Limited evidence:** {caveat}.", ""]
    lines.append(
        f"> Written by distillscan {report['run']['version']} (report schema "
        f"{report['schema_version']}). Scores rank accounts for review: they are evidence for an "
        "investigator, not a verdict."
    )
    if report["run"]["redacted"]:
        lines.append(">")
        lines.append(
            "> **Redacted.** Account ids, end-user ids, IP addresses and email addresses are "
            "pseudonyms (stable within this case); prompt text is replaced by its fingerprint."
        )
    return "\n".join(lines)


def _summary(report: Report) -> str:
    summary = report["summary"]
    lines = ["## Summary", ""]
    campaigns = report["campaigns"]
    if campaigns:
        rows = [
            [
                f"**{c['severity']}** ({c['score']:.2f})",
                f"{c['name']}<br>{md_code(c['campaign_id'])}",
                _n(c["n_accounts"]),
                _n(c["n_events"]),
                _capabilities(c["capabilities"][:4]),
                _pivot(c),
                ", ".join(c["strongest_signals"]) or "-",
            ]
            for c in campaigns
        ]
        lines.append(
            _table(
                [
                    "Severity",
                    "Campaign",
                    "Accounts",
                    "Exchanges",
                    "Targets",
                    "Release pivot",
                    "Strongest signals",
                ],
                ["l", "l", "r", "r", "l", "l", "l"],
                rows,
            )
        )
        lines.append("")
    else:
        lines.append("No group of accounts met the campaign criteria.")
        lines.append("")
    lines.append(
        f"- {_plural(summary['flagged_accounts'], 'account')} scored medium or above; "
        f"{_n(summary['campaign_accounts'])} belong to campaigns."
    )
    mixed = summary["mixed_accounts"]
    lines.append(
        f"- {_plural(mixed, 'mixed account')} (resellers or apps whose traffic hides a harvesting "
        "tenant): see [Mixed accounts](#mixed-accounts)."
    )
    return "\n".join(lines)


def _changes(changes: Changes | None) -> str:
    """What changed since the previous run (nothing for results that kept no runs)."""
    if changes is None:
        return ""
    lines = ["## Since the previous run", "", changes_headline(changes) + "."]
    if changes["previous_run"] is not None and changes["new_mixed_accounts"]:
        lines += [
            "",
            "New mixed accounts (a reseller hiding a harvesting tenant): "
            + _ids(changes["new_mixed_accounts"], in_table=False)
            + ".",
        ]
    if changes["previous_run"] is not None and changes["campaigns"]:
        rows = [
            [
                f"**{c['severity']}**",
                f"{c['name']}<br>{md_code(c['campaign_id'])}",
                change_sentence(c),
                _ids(c["added_members"], in_table=True) if c["status"] != "new" else "-",
            ]
            for c in changes["campaigns"]
        ]
        lines += [
            "",
            _table(["Severity", "Campaign", "Change", "New members"], ["l"] * 4, rows),
        ]
    return "\n".join(lines)


def _pivot(campaign: Campaign) -> str:
    pivot = campaign["release_pivot"]
    if pivot is None:
        return "-"
    return (
        f"{md_code(pivot['model'], 60)}: {pivot['share']:.0%} of traffic within 24 h "
        f"({_plural(pivot['accounts'], 'account')})"
    )


def _scope(report: Report) -> str:
    manifest, scope = report["manifest"], report["scope"]
    lines = ["## Scope", ""]
    rows = [
        [
            md_code(i["path"], 200),
            md_code(i["format"], 40),
            i["target"],
            _n(i["rows_read"]),
            _n(i["rows_loaded"]),
            _n(i["rows_quarantined"]),
            md_code(i["sha256"], 80),
        ]
        for i in manifest["inputs"]
    ]
    lines.append(
        _table(
            ["Input", "Format", "Table", "Rows read", "Loaded", "Quarantined", "SHA-256"],
            ["l", "l", "l", "r", "r", "r", "l"],
            rows,
        )
        if rows
        else "No inputs."
    )
    lines.append("")
    window = (
        "the whole export"
        if not (scope["window_from"] or scope["window_to"])
        else f"{when(scope['window_from'])} to {when(scope['window_to'])} UTC"
    )
    lines.append(
        f"- Loaded: {ingest_summary(manifest)} (each quarantined row is kept with its reason in "
        "the case's `quarantine.parquet`)."
    )
    lines.append(
        f"- Analysed: {_n(scope['events'])} events from {when(scope['first_event'])} to "
        f"{when(scope['last_event'])} UTC (window: {window}); {_n(scope['accounts'])} accounts."
    )
    if manifest["skipped"]:
        lines.append("- Files left out:")
        lines += [
            f"  - {md_code(s['path'], 200, in_table=False)}: "
            f"{md_code(s['reason'], 200, in_table=False)}"
            for s in manifest["skipped"]
        ]
    return "\n".join(lines)


def _campaign(index: int, c: Campaign, report: Report, case: str) -> str:
    out = [f"### {index}. {c['severity']}: {c['name']}", ""]
    out.append(f"- Campaign id: {md_code(c['campaign_id'], in_table=False)}")
    out.append(
        f"- Score {c['score']:.2f} (content {c['content']:.2f} × operations "
        f"{c['operations']:.2f}); {_plural(c['n_accounts'], 'account')}; "
        f"{_plural(c['n_events'], 'exchange')}; {when(c['first_seen'])} to "
        f"{when(c['last_seen'])} UTC."
    )
    out.append(f"- Targets: {_capabilities(c['capabilities'])}.")
    pivot = c["release_pivot"]
    if pivot is not None:
        out.append(
            f"- Release pivot: {_plural(pivot['accounts'], 'account')} moved "
            f"{pivot['share']:.0%} of their traffic to "
            f"{md_code(pivot['model'], 60, in_table=False)} within 24 h of its first appearance "
            f"({when(pivot['released_at'])} UTC); all traffic in that window: "
            f"{(pivot['population_share'] or 0.0):.0%}."
        )
    out.append(f"- Linked by: {', '.join(c['link_kinds']) or 'no'} links.")
    if c["tracking"] is not None:
        out.append(f"- History: {tracking_sentence(c['tracking'])}.")
    if c["triage"] is not None:
        out.append(f"- Triage: {md_code(triage_sentence(c['triage']), 1000, in_table=False)}")
    out.append("")
    out.append("#### Why it was named")
    out.append("")
    out.append(
        _table(
            ["Signal", "Strength", "Weight", "What was measured"],
            ["l", "r", "r", "l"],
            [
                [
                    r["label"],
                    f"{r['value']:.2f}",
                    f"{r['contribution']:.2f}",
                    r["figure"]
                    + (f": {md_code(r['subject'], 60)}" if r["subject"] is not None else ""),
                ]
                for r in c["signals"]
            ],
        )
    )
    out.append("")
    out.append(
        "Strength is the signal in [0, 1]; weight is its contribution to the score "
        "(see Methodology)."
    )
    out += ["", "#### Timeline", "", _timeline(c)]
    if c["templates"]:
        out += ["", "#### Shared templates", ""]
        for i, t in enumerate(c["templates"]):
            outside = (
                f"also used by {_plural(t['other_accounts'], 'account')} outside the campaign"
                if t["other_accounts"]
                else "used by no account outside the campaign"
            )
            out.append(
                f"**Template {i + 1}**: prompts that {t['side'][:-1]} with "
                f"{md_code(t['skeleton'], 80, in_table=False)} "
                f"(normalised: case folded, digits as 0): "
                f"{_plural(t['accounts'], 'account')}, {_plural(t['events'], 'exchange')}; "
                f"{outside}."
            )
            for x in t["examples"][:EXAMPLES_PER_TEMPLATE]:
                source = f"{x['source_file']}:{x['source_line']}"
                out.append("")
                out.append(
                    f"Example from {md_code(source, 200, in_table=False)}"
                    f", account {md_code(x['account_id'], 80, in_table=False)}"
                    + (
                        f" ({_n(x['prompt_chars'])} characters)"
                        if x["prompt_chars"] is not None
                        else ""
                    )
                    + ":"
                )
                out.append("")
                out.append(md_block(x["prompt"], 600))
            out.append("")
    if c["infrastructure"]:
        out += ["", "#### Shared infrastructure", ""]
        out.append(
            _table(
                ["Kind", "Value", "Accounts", "Exchanges", "Other accounts"],
                ["l", "l", "r", "r", "r"],
                [
                    [
                        ENTITY_WORDS.get(e["kind"], e["kind"]),
                        md_code(e["value"], 120),
                        _n(e["accounts"]),
                        _n(e["events"]),
                        _n(e["other_accounts"]),
                    ]
                    for e in c["infrastructure"]
                ],
            )
        )
    out += ["", "#### Members", ""]
    out.append(_members_table(c, MEMBERS_SHOWN))
    if len(c["members"]) > MEMBERS_SHOWN:
        out.append("")
        out.append(
            f"... and {_n(len(c['members']) - MEMBERS_SHOWN)} more "
            "(see [the appendix](#appendix-member-accounts))."
        )
    linked = [m for m in report["mixed_accounts"] if m["account_id"] in set(c["mixed_accounts"])]
    if linked:
        out += ["", "#### Mixed accounts whose tenants use its templates", ""]
        for m in linked:
            out.append(
                f"- {md_code(m['account_id'], 80, in_table=False)}: "
                f"{m['contamination_share']:.0%} of {_plural(m['n_events'], 'exchange')} from "
                f"{len(m['implicated_end_users'])} of {_plural(m['n_end_users'], 'end user')} "
                f"(implicated: {_ids(m['implicated_end_users'], in_table=False)})"
            )
    out += ["", "#### Evidence", ""]
    out.append(_evidence(c, case))
    return "\n".join(out)


def _evidence(c: Campaign, case: str) -> str:
    """Example events (with their source line) first, then the links between members by kind."""
    events = [e for e in c["evidence"] if e["event_id"] is not None]
    links = [e for e in c["evidence"] if e["event_id"] is None]
    out: list[str] = []
    if events:
        out.append(
            _table(
                ["Account", "Pass", "Source", "Detail", "Prompt (start)"],
                ["l", "l", "l", "l", "l"],
                [
                    [
                        md_code(e["account_id"], 60),
                        e["pass_id"],
                        md_code(f"{e['source_file']}:{e['source_line']}", 120),
                        md_code(e["detail"], 120),
                        md_code(e["prompt"], 100),
                    ]
                    for e in events[:EVIDENCE_SHOWN]
                ],
            )
        )
        if len(events) > EVIDENCE_SHOWN:
            out.append("")
            out.append(f"... and {_n(len(events) - EVIDENCE_SHOWN)} more example events.")
    if links:
        kinds = sorted({e["kind"] for e in links})
        out.append("")
        out.append(
            _table(
                ["Link", "Rows", "Examples"],
                ["l", "r", "l"],
                [
                    [
                        kind.removeprefix("link:"),
                        _n(sum(1 for e in links if e["kind"] == kind)),
                        "<br>".join(
                            f"{md_code(e['account_id'], 60)} {md_code(e['detail'], 140)}"
                            for e in [e for e in links if e["kind"] == kind][:3]
                        ),
                    ]
                    for kind in kinds
                ],
            )
        )
    if not out:
        return "No evidence rows."
    command = f"distillscan show {case} campaign {c['campaign_id']}"
    out.append("")
    out.append(
        f"All {_n(len(c['evidence']))} evidence rows: {md_code(command, 300, in_table=False)}"
    )
    return "\n".join(o for o in out).lstrip("\n")


def _ids(values: Sequence[str], *, in_table: bool, shown: int = 10) -> str:
    listed = ", ".join(md_code(v, 60, in_table=in_table) for v in values[:shown])
    if len(values) > shown:
        listed += f" and {_n(len(values) - shown)} more"
    return listed or "-"


def daily(buckets: Sequence[Bucket]) -> list[Bucket]:
    """Timeline buckets merged into days (buckets wider than a day are kept as they are)."""
    days: dict[str, Bucket] = {}
    for b in buckets:
        day = b["start"][:10]
        merged = days.setdefault(
            day, {"start": day, "events": 0, "on_release_model": 0, "accounts": 0}
        )
        merged["events"] += b["events"]
        merged["on_release_model"] += b["on_release_model"]
        merged["accounts"] = max(merged["accounts"], b["accounts"])
    return list(days.values())


def _timeline(c: Campaign) -> str:
    timeline = c["timeline"]
    buckets = timeline["buckets"]
    if not buckets:
        return "No events in the window."
    model = timeline["release_model"]
    released = timeline["released_at"]
    rows = daily(buckets) if timeline["bucket_hours"] < 24 else buckets
    header = ["Day (UTC)" if timeline["bucket_hours"] <= 24 else "Period from (UTC)"]
    header += ["Exchanges", "Accounts active (peak)"]
    align = ["l", "r", "r"]
    if model is not None:
        header += [f"On {md_code(model, 40)}", "Note"]
        align += ["r", "l"]
    table_rows = []
    for b in rows:
        row = [b["start"][:10], _n(b["events"]), _n(b["accounts"])]
        if model is not None:
            note = ""
            if released is not None and released[:10] == b["start"][:10]:
                note = f"release: first seen {released[11:16]} UTC"
            row += [
                f"{_n(b['on_release_model'])} ({b['on_release_model'] / max(b['events'], 1):.0%})",
                note,
            ]
        table_rows.append(row)
    return (
        _table(header, align, table_rows)
        + f"\n\nFiner activity ({timeline['bucket_hours']} h buckets) is in the JSON and HTML "
        "reports."
    )


def _members_table(c: Campaign, limit: int | None) -> str:
    members = c["members"] if limit is None else c["members"][:limit]
    return _table(
        ["Account", "Severity", "Score", "Exchanges", "First seen", "Last seen", "Strongest"],
        ["l", "l", "r", "r", "l", "l", "l"],
        [
            [
                md_code(m["account_id"], 80),
                m["severity"] + (f" ({m['triage']})" if m["triage"] else ""),
                f"{m['score']:.2f}",
                _n(m["n_events"]),
                when(m["first_seen"]),
                when(m["last_seen"]),
                ", ".join(m["strongest_signals"]) or "-",
            ]
            for m in members
        ],
    )


def _mixed(report: Report) -> str:
    mixed = report["mixed_accounts"]
    lines = ["## Mixed accounts", ""]
    if not mixed:
        lines.append("No account mixes ordinary end users with harvesting ones.")
        return "\n".join(lines)
    lines.append(
        "Accounts that pass their own end users' ids (resellers, apps) and whose traffic mixes "
        "ordinary end users with harvesting ones. The implicated end users are the finding, not "
        "the whole account."
    )
    lines.append("")
    lines.append(
        _table(
            [
                "Account",
                "Exchanges",
                "End users",
                "Contamination",
                "Implicated end users",
                "Campaigns",
            ],
            ["l", "r", "r", "r", "l", "l"],
            [
                [
                    md_code(m["account_id"], 80),
                    _n(m["n_events"]),
                    _n(m["n_end_users"]),
                    f"{m['contamination_share']:.0%}",
                    _ids(m["implicated_end_users"], in_table=True)
                    + (
                        f" (allowlisted: {_ids(m['allowlisted_end_users'], in_table=True)})"
                        if m["allowlisted_end_users"]
                        else ""
                    ),
                    _ids(m["campaigns"], in_table=True),
                ]
                for m in mixed
            ],
        )
    )
    return "\n".join(lines)


def _outside(report: Report) -> str:
    flagged = flagged_outside_campaigns(report)
    if not flagged:
        return ""
    lines = ["## Flagged accounts outside campaigns", ""]
    lines.append(
        _table(
            ["Account", "Severity", "Score", "Exchanges", "Strongest contributions"],
            ["l", "l", "r", "r", "l"],
            [
                [
                    md_code(a["account_id"], 80),
                    a["severity"],
                    f"{a['score']:.2f}",
                    _n(a["n_events"]),
                    ", ".join(
                        f"{k} {v:.2f}"
                        for k, v in sorted(a["contributions"].items(), key=lambda p: (-p[1], p[0]))[
                            :3
                        ]
                        if v >= 0.05
                    )
                    or "-",
                ]
                for a in flagged
            ],
        )
    )
    return "\n".join(lines)


def _methodology(report: Report) -> str:
    method = report["methodology"]
    lines = ["## Methodology and limitations", ""]
    ran = [p for p in report["passes"] if p["ran"]]
    skipped = [p for p in report["passes"] if not p["ran"]]
    lines.append(method["method"])
    lines.append("")
    thresholds = method["severity_thresholds"]
    lines.append(
        "- Severities: "
        + ", ".join(f"{name} ≥ {value:.2f}" for name, value in thresholds.items())
        + "."
    )
    lines.append(
        f"- Passes run ({len(ran)}): " + (", ".join(f"{p['id']}" for p in ran) or "none") + "."
    )
    if skipped:
        lines.append("- Passes skipped:")
        lines += [
            f"  - {p['id']}: {md_code(p['skipped_reason'], 300, in_table=False)}" for p in skipped
        ]
    else:
        lines.append("- Passes skipped: none.")
    notes = [(p["id"], n) for p in report["passes"] for n in p["notes"]]
    if notes:
        lines.append("- Pass notes:")
        lines += [f"  - {pid}: {md_code(n, 300, in_table=False)}" for pid, n in notes]
    quarantined = report["manifest"]["totals"].get("rows_quarantined", 0)
    if quarantined:
        lines.append(f"- {_n(quarantined)} input rows were quarantined at ingest and not analysed.")
    lines += ["", "### Known false-positive classes", ""]
    lines.append(
        _table(
            ["Legitimate use", "What it shares with a campaign", "What keeps it out"],
            ["l", "l", "l"],
            [
                [f["legitimate_use"], f["resembles"], f["kept_out_by"]]
                for f in method["false_positive_classes"]
            ],
        )
    )
    lines += ["", "### Limitations", ""]
    lines += [f"- {text}" for text in method["limitations"]]
    return "\n".join(lines)


def _appendix(report: Report) -> str:
    lines = ["## Appendix: member accounts"]
    for c in report["campaigns"]:
        lines += ["", f"### {md_code(c['campaign_id'], in_table=False)}: {c['name']}", ""]
        lines.append(_members_table(c, None))
    return "\n".join(lines)
