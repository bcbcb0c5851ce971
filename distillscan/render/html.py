"""The HTML report: one self-contained file (inline CSS and SVG; no script, no network).

It carries the Markdown report's content plus two pictures per campaign, drawn server-side as
inline SVG: activity over time (events per bucket, the part on the newly released model
highlighted, the release marked) and the linkage between member accounts (links coloured by
kind). A Content-Security-Policy forbids scripts and any fetch, so even a mistake in escaping
could not run code or call out; and every log value is escaped with
:func:`distillscan.render.escape.html_text` anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from distillscan.render.escape import html_text as h
from distillscan.render.markdown import ENTITY_WORDS, daily, when
from distillscan.report.model import (
    Campaign,
    Changes,
    Evidence,
    Report,
    change_sentence,
    changes_headline,
    flagged_outside_campaigns,
    ingest_summary,
    tracking_sentence,
    triage_sentence,
    unmeasured_sentence,
)

MEMBERS_SHOWN = 50
EVIDENCE_SHOWN = 40
SEVERITY_COLOURS = {
    "critical": "#b30000",
    "high": "#e34a33",
    "medium": "#fc8d59",
    "low": "#7fa7c9",
    "none": "#999999",
}

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0;width:100%}
th,td{border:1px solid #ddd;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;
background:#f6f8fa;overflow-wrap:anywhere}
pre{padding:.5rem;white-space:pre-wrap;border:1px solid #e3e3e3}
.sev{display:inline-block;padding:0 .4rem;border-radius:.2rem;color:#fff;font-weight:600}
.campaign{border:1px solid #ccc;border-radius:.4rem;padding:0 1rem 1rem;margin:1.2rem 0}
.note{color:#555}.charts{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:.5rem 0}figcaption{color:#555;font-size:.9em}
"""


def render(report: Report, *, case: str = "CASE") -> str:
    """The whole report as one HTML document (ends with a newline)."""
    body = [
        _title(report),
        _contents(report),
        _changes(report["changes"]),
        _summary(report),
        _scope(report),
    ]
    for index, campaign in enumerate(report["campaigns"]):
        body.append(_campaign(index + 1, campaign, report, case))
    body.append(_outside(report))
    body.append(_mixed(report))
    body.append(_methodology(report))
    redacted = " (redacted)" if report["run"]["redacted"] else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'\">\n"
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>distillscan report{redacted}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(b for b in body if b)
        + "\n</body>\n</html>\n"
    )


def _contents(report: Report) -> str:
    """Links to every section: the campaigns by name, then the rest."""
    entries = [("summary", "Summary"), ("scope", "Scope")]
    if report["changes"] is not None:
        entries.insert(0, ("changes", "Since the previous run"))
    entries += [
        (c["campaign_id"], f"{i + 1}. {c['severity'].upper()} {c['name']}")
        for i, c in enumerate(report["campaigns"])
    ]
    if flagged_outside_campaigns(report):
        entries.append(("outside", "Flagged accounts outside campaigns"))
    if report["mixed_accounts"]:
        entries.append(("mixed-accounts", "Mixed accounts"))
    entries.append(("methodology", "Methodology and limitations"))
    items = "".join(
        f'<li><a href="#{h(anchor)}">{h(text, 200)}</a></li>' for anchor, text in entries
    )
    return f'<nav aria-label="contents"><h2>Contents</h2><ul>{items}</ul></nav>'


def _outside(report: Report) -> str:
    """Accounts at medium or above that no campaign holds (mixed accounts excepted)."""
    flagged = flagged_outside_campaigns(report)
    if not flagged:
        return ""
    rows = [
        [
            _code(a["account_id"], 200),
            _sev(a["severity"], a["score"]),
            f"{a['n_events']:,}",
            h(
                ", ".join(
                    f"{k} {v:.2f}"
                    for k, v in sorted(a["contributions"].items(), key=lambda p: (-p[1], p[0]))[:3]
                    if v >= 0.05
                )
                or "-"
            ),
        ]
        for a in flagged
    ]
    return '<h2 id="outside">Flagged accounts outside campaigns</h2>' + _table(
        ["Account", "Severity", "Exchanges", "Strongest contributions"], rows, {2}
    )


def _sev(severity: str, score: float | None = None) -> str:
    colour = SEVERITY_COLOURS.get(severity, "#999")
    label = h(severity) + (f" {score:.2f}" if score is not None else "")
    return f'<span class="sev" style="background:{colour}">{label}</span>'


def _code(text: str | None, limit: int = 120) -> str:
    return f"<code>{h(text, limit)}</code>" if text else "-"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _title(report: Report) -> str:
    s = report["summary"]
    headline = (
        f"{s['campaigns']:,} suspected distillation campaign{'s' if s['campaigns'] != 1 else ''}"
        if s["campaigns"]
        else "no suspected distillation campaign"
    )
    parts = [
        f"<h1>distillscan report: {headline}</h1>",
        *(
            [f'<p class="note"><strong>Limited evidence:</strong> {h(caveat)}.</p>']
            if (caveat := unmeasured_sentence(s)) is not None
            else []
        ),
        f'<p class="note">Written by distillscan {h(report["run"]["version"])} (report schema '
        f"{h(report['schema_version'])}). Scores rank accounts for review: they are evidence for "
        "an investigator, not a verdict.</p>",
    ]
    if report["run"]["redacted"]:
        parts.append(
            "<p><strong>Redacted.</strong> Account ids, end-user ids, IP addresses and email "
            "addresses are pseudonyms (stable within this case); prompt text is replaced by its "
            "fingerprint.</p>"
        )
    return "\n".join(parts)


def _changes(changes: Changes | None) -> str:
    """What changed since the previous run (nothing for results that kept no runs)."""
    if changes is None:
        return ""
    out = [
        '<h2 id="changes">Since the previous run</h2>',
        f"<p>{h(changes_headline(changes))}.</p>",
    ]
    if changes["previous_run"] is not None and changes["new_mixed_accounts"]:
        out.append(
            "<p>New mixed accounts (a reseller hiding a harvesting tenant): "
            + ", ".join(_code(a) for a in changes["new_mixed_accounts"])
            + ".</p>"
        )
    if changes["previous_run"] is not None and changes["campaigns"]:
        out.append(
            _table(
                ["Severity", "Campaign", "Change", "New members"],
                [
                    [
                        _sev(c["severity"]),
                        f"{h(c['name'], 200)}<br>{_code(c['campaign_id'])}",
                        h(change_sentence(c)),
                        ", ".join(_code(a) for a in c["added_members"][:MEMBERS_SHOWN])
                        + (
                            f" and {len(c['added_members']) - MEMBERS_SHOWN:,} more"
                            if len(c["added_members"]) > MEMBERS_SHOWN
                            else ""
                        )
                        if c["status"] != "new" and c["added_members"]
                        else "-",
                    ]
                    for c in changes["campaigns"]
                ],
                set(),
            )
        )
    return "\n".join(out)


def _summary(report: Report) -> str:
    s = report["summary"]
    out = ['<h2 id="summary">Summary</h2>']
    if report["campaigns"]:
        out.append(
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
                [
                    [
                        _sev(c["severity"], c["score"]),
                        f'<a href="#{h(c["campaign_id"])}">{h(c["name"], 200)}</a><br>'
                        + _code(c["campaign_id"]),
                        f"{c['n_accounts']:,}",
                        f"{c['n_events']:,}",
                        h(", ".join(x.replace("_", " ") for x in c["capabilities"][:4])) or "-",
                        _pivot(c),
                        h(", ".join(c["strongest_signals"])) or "-",
                    ]
                    for c in report["campaigns"]
                ],
                {2, 3},
            )
        )
    else:
        out.append("<p>No group of accounts met the campaign criteria.</p>")
    out.append(
        f"<ul><li>{s['flagged_accounts']:,} account(s) scored medium or above; "
        f"{s['campaign_accounts']:,} belong to campaigns.</li>"
        f"<li>{s['mixed_accounts']:,} mixed account(s): resellers or apps whose traffic hides a "
        'harvesting tenant (<a href="#mixed-accounts">below</a>).</li></ul>'
    )
    return "\n".join(out)


def _pivot(c: Campaign) -> str:
    p = c["release_pivot"]
    if p is None:
        return "-"
    return (
        f"{_code(p['model'], 60)}: {p['share']:.0%} of traffic within 24 h "
        f"({p['accounts']:,} account(s))"
    )


def _scope(report: Report) -> str:
    manifest, scope = report["manifest"], report["scope"]
    out = ['<h2 id="scope">Scope</h2>']
    out.append(
        _table(
            ["Input", "Format", "Table", "Rows read", "Loaded", "Quarantined", "SHA-256"],
            [
                [
                    _code(i["path"], 200),
                    h(i["format"], 40),
                    h(i["target"], 40),
                    f"{i['rows_read']:,}",
                    f"{i['rows_loaded']:,}",
                    f"{i['rows_quarantined']:,}",
                    _code(i["sha256"], 80),
                ]
                for i in manifest["inputs"]
            ],
            {3, 4, 5},
        )
    )
    window = (
        "the whole export"
        if not (scope["window_from"] or scope["window_to"])
        else f"{when(scope['window_from'])} to {when(scope['window_to'])} UTC"
    )
    items = [
        f"Loaded: {h(ingest_summary(manifest), 400)}.",
        f"Analysed: {scope['events']:,} events from {when(scope['first_event'])} to "
        f"{when(scope['last_event'])} UTC (window: {window}); {scope['accounts']:,} accounts.",
    ]
    items += [
        f"Left out: {_code(s['path'], 200)}: {h(s['reason'], 200)}" for s in manifest["skipped"]
    ]
    out.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
    return "\n".join(out)


def _campaign(index: int, c: Campaign, report: Report, case: str) -> str:
    cid = h(c["campaign_id"])
    out = [f'<section class="campaign" id="{cid}">']
    out.append(f"<h2>{index}. {_sev(c['severity'], c['score'])} {h(c['name'], 200)}</h2>")
    facts = [
        f"Campaign id: {_code(c['campaign_id'])}",
        f"Score {c['score']:.2f} (content {c['content']:.2f} × operations "
        f"{c['operations']:.2f}); {c['n_accounts']:,} accounts; {c['n_events']:,} exchanges; "
        f"{when(c['first_seen'])} to {when(c['last_seen'])} UTC.",
        "Targets: " + (h(", ".join(x.replace("_", " ") for x in c["capabilities"])) or "-"),
        "Linked by: " + (h(", ".join(c["link_kinds"])) or "no") + " links.",
    ]
    pivot = c["release_pivot"]
    if pivot is not None:
        facts.append(
            f"Release pivot: {pivot['accounts']:,} account(s) moved {pivot['share']:.0%} of their "
            f"traffic to {_code(pivot['model'], 60)} within 24 h of its first appearance "
            f"({when(pivot['released_at'])} UTC); all traffic in that window: "
            f"{(pivot['population_share'] or 0.0):.0%}."
        )
    if c["tracking"] is not None:
        facts.append(f"History: {h(tracking_sentence(c['tracking']))}.")
    if c["triage"] is not None:
        facts.append(f"Triage: {h(triage_sentence(c['triage']), 1000)}")
    out.append("<ul>" + "".join(f"<li>{f}</li>" for f in facts) + "</ul>")
    out.append("<h3>Why it was named</h3>")
    out.append(
        _table(
            ["Signal", "Strength", "Weight", "What was measured"],
            [
                [
                    h(r["label"]),
                    f"{r['value']:.2f}",
                    f"{r['contribution']:.2f}",
                    h(r["figure"], 400)
                    + (f": {_code(r['subject'], 60)}" if r["subject"] is not None else ""),
                ]
                for r in c["signals"]
            ],
            {1, 2},
        )
    )
    out.append("<h3>Activity and linkage</h3>")
    out.append(
        '<div class="charts">'
        f"<figure>{timeline_svg(c)}<figcaption>Exchanges per "
        f"{c['timeline']['bucket_hours']} h (UTC); darker: on the newly released model; the line "
        "marks its first appearance.</figcaption></figure>"
        "</div>"
    )
    out.append(
        "<p>How the members hold together (each member's strongest links of each kind are "
        "recorded; the evidence below lists them):</p>" + linkage_table(c)
    )
    days = daily(c["timeline"]["buckets"]) if c["timeline"]["bucket_hours"] < 24 else []
    if days:
        model = c["timeline"]["release_model"]
        out.append(
            "<details><summary>Timeline table</summary>"
            + _table(
                ["Day (UTC)", "Exchanges", "Accounts active (peak)"]
                + ([f"On {_code(model, 40)}"] if model else []),
                [
                    [h(d["start"]), f"{d['events']:,}", f"{d['accounts']:,}"]
                    + ([f"{d['on_release_model']:,}"] if model else [])
                    for d in days
                ],
                {1, 2, 3},
            )
            + "</details>"
        )
    if c["templates"]:
        out.append("<h3>Shared templates</h3>")
        for i, t in enumerate(c["templates"]):
            outside = (
                f"also used by {t['other_accounts']:,} account(s) outside the campaign"
                if t["other_accounts"]
                else "used by no account outside the campaign"
            )
            out.append(
                f"<p><strong>Template {i + 1}</strong>: prompts that {h(t['side'][:-1])} with "
                f"{_code(t['skeleton'], 80)} (normalised): {t['accounts']:,} account(s), "
                f"{t['events']:,} exchange(s); {outside}.</p>"
            )
            for x in t["examples"][:2]:
                source = f"{x['source_file']}:{x['source_line']}"
                out.append(
                    f'<p class="note">Example from {_code(source, 200)}, account '
                    f"{_code(x['account_id'], 80)}:</p>"
                    f"<pre>{h(x['prompt'], 600, one_line=False)}</pre>"
                )
    if c["infrastructure"]:
        out.append("<h3>Shared infrastructure</h3>")
        out.append(
            _table(
                ["Kind", "Value", "Accounts", "Exchanges", "Other accounts"],
                [
                    [
                        h(ENTITY_WORDS.get(e["kind"], e["kind"])),
                        _code(e["value"], 120),
                        f"{e['accounts']:,}",
                        f"{e['events']:,}",
                        f"{e['other_accounts']:,}",
                    ]
                    for e in c["infrastructure"]
                ],
                {2, 3, 4},
            )
        )
    out.append(f"<h3>Members ({c['n_accounts']:,})</h3>")
    out.append(
        _table(
            ["Account", "Severity", "Exchanges", "First seen", "Last seen", "Strongest"],
            [
                [
                    _code(m["account_id"], 80),
                    _sev(m["severity"], m["score"]),
                    f"{m['n_events']:,}",
                    h(when(m["first_seen"])),
                    h(when(m["last_seen"])),
                    h(", ".join(m["strongest_signals"])) or "-",
                ]
                for m in c["members"][:MEMBERS_SHOWN]
            ],
            {2},
        )
    )
    if len(c["members"]) > MEMBERS_SHOWN:
        out.append(f"<p>... and {len(c['members']) - MEMBERS_SHOWN:,} more (JSON report).</p>")
    linked = [m for m in report["mixed_accounts"] if m["account_id"] in set(c["mixed_accounts"])]
    if linked:
        out.append("<h3>Mixed accounts whose tenants use its templates</h3><ul>")
        for m in linked:
            out.append(
                f"<li>{_code(m['account_id'], 80)}: {m['contamination_share']:.0%} of "
                f"{m['n_events']:,} exchanges from {len(m['implicated_end_users'])} of "
                f"{m['n_end_users']:,} end users (implicated: "
                + ", ".join(_code(u, 60) for u in m["implicated_end_users"][:10])
                + ")</li>"
            )
        out.append("</ul>")
    out.append("<h3>Evidence</h3>")
    out.append(_evidence(c["evidence"]))
    command = f"distillscan show {case} campaign {c['campaign_id']}"
    out.append(f'<p class="note">All {len(c["evidence"]):,} rows: {_code(command, 300)}</p>')
    out.append("</section>")
    return "\n".join(out)


def _evidence(evidence: Sequence[Evidence]) -> str:
    events = [e for e in evidence if e["event_id"] is not None][:EVIDENCE_SHOWN]
    links = [e for e in evidence if e["event_id"] is None][:EVIDENCE_SHOWN]
    rows = [
        [
            _code(e["account_id"], 60),
            h(e["pass_id"], 40),
            _code(f"{e['source_file']}:{e['source_line']}", 120) if e["source_file"] else "-",
            _code(e["detail"], 160),
            _code(e["prompt"], 160),
        ]
        for e in [*events, *links]
    ]
    if not rows:
        return "<p>No evidence rows.</p>"
    return _table(["Account", "Pass", "Source", "Detail", "Prompt (start)"], rows, set())


def _parse(instant: str) -> datetime:
    return datetime.fromisoformat(instant.removesuffix("Z"))


def timeline_svg(c: Campaign, width: int = 560, height: int = 180) -> str:
    """Events per bucket as bars (the part on the released model darker), release marked."""
    timeline = c["timeline"]
    buckets = timeline["buckets"]
    if not buckets:
        return "<p>No events in the window.</p>"
    left, right, top, bottom = 40, 10, 18, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(b["events"] for b in buckets) or 1
    bar_w = plot_w / len(buckets)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="activity over time">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{peak:,}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    for i, b in enumerate(buckets):
        x = left + i * bar_w
        total_h = b["events"] / peak * plot_h
        new_h = b["on_release_model"] / peak * plot_h
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - total_h:.1f}" width="{max(bar_w - 1, 1):.1f}" '
            f'height="{total_h:.1f}" fill="#9ecae1"><title>{h(when(b["start"]))}: '
            f"{b['events']:,} exchanges, {b['on_release_model']:,} on the new model</title></rect>"
        )
        if new_h:
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - new_h:.1f}" '
                f'width="{max(bar_w - 1, 1):.1f}" height="{new_h:.1f}" fill="#6a3d9a"/>'
            )
    parts.append(
        f'<text x="{left}" y="{height - 8}" font-size="10">{h(when(buckets[0]["start"]))}</text>'
    )
    parts.append(
        f'<text x="{left + plot_w}" y="{height - 8}" font-size="10" text-anchor="end">'
        f"{h(when(buckets[-1]['start']))}</text>"
    )
    released, model = timeline["released_at"], timeline["release_model"]
    if released is not None and model is not None:
        start = _parse(buckets[0]["start"])
        span = (len(buckets) * timeline["bucket_hours"]) * 3600
        offset = (_parse(released) - start).total_seconds() / span
        x = left + min(max(offset, 0.0), 1.0) * plot_w
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{top + plot_h}" '
            'stroke="#6a3d9a" stroke-dasharray="4 3"/>'
        )
        anchor = "end" if x > left + plot_w * 0.7 else "start"
        parts.append(
            f'<text x="{x + (-3 if anchor == "end" else 3):.1f}" y="{top - 6}" font-size="10" '
            f'text-anchor="{anchor}" fill="#6a3d9a">{h(model, 40)} released '
            f"{h(when(released))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def linkage_table(c: Campaign) -> str:
    """How the members hold together, by link kind: links, accounts joined, and the largest
    group those links alone connect. A table reads the same for 5 members and for 500."""
    members = {m["account_id"] for m in c["members"]}
    rows = []
    for kind in sorted({link["kind"] for link in c["links"]}):
        pairs = [
            (link["account_a"], link["account_b"]) for link in c["links"] if link["kind"] == kind
        ]
        joined = {a for pair in pairs for a in pair} & members
        rows.append(
            [
                h(kind),
                f"{len(pairs):,}",
                f"{len(joined):,} of {len(members):,}",
                f"{_largest_group(pairs):,}",
            ]
        )
    if not rows:
        return "<p>No links between members are recorded.</p>"
    return _table(
        ["Link kind", "Links (sampled)", "Accounts joined", "Largest group by these links alone"],
        rows,
        {1, 3},
    )


def _largest_group(pairs: Sequence[tuple[str, str]]) -> int:
    """Size of the largest connected group of ``pairs`` (union-find)."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    sizes: dict[str, int] = {}
    for x in parent:
        sizes[root(x)] = sizes.get(root(x), 0) + 1
    return max(sizes.values(), default=0)


def _mixed(report: Report) -> str:
    out = ['<h2 id="mixed-accounts">Mixed accounts</h2>']
    mixed = report["mixed_accounts"]
    if not mixed:
        out.append("<p>No account mixes ordinary end users with harvesting ones.</p>")
        return "\n".join(out)
    out.append(
        "<p>Accounts that pass their own end users' ids (resellers, apps) and whose traffic "
        "mixes ordinary end users with harvesting ones. The implicated end users are the "
        "finding, not the whole account.</p>"
    )
    out.append(
        _table(
            [
                "Account",
                "Exchanges",
                "End users",
                "Contamination",
                "Implicated end users",
                "Campaigns",
            ],
            [
                [
                    _code(m["account_id"], 80),
                    f"{m['n_events']:,}",
                    f"{m['n_end_users']:,}",
                    f"{m['contamination_share']:.0%}",
                    (", ".join(_code(u, 60) for u in m["implicated_end_users"][:10]) or "-")
                    + (
                        " (allowlisted: "
                        + ", ".join(_code(u, 60) for u in m["allowlisted_end_users"][:10])
                        + ")"
                        if m["allowlisted_end_users"]
                        else ""
                    ),
                    ", ".join(_code(x, 40) for x in m["campaigns"]) or "-",
                ]
                for m in mixed
            ],
            {1, 2, 3},
        )
    )
    return "\n".join(out)


def _methodology(report: Report) -> str:
    method = report["methodology"]
    out = ['<h2 id="methodology">Methodology and limitations</h2>']
    out.append(f"<p>{h(report['methodology']['method'], 4000)}</p>")
    items = [
        "Severities: "
        + ", ".join(
            f"{h(name)} &ge; {value:.2f}" for name, value in method["severity_thresholds"].items()
        )
        + "."
    ]
    for p in report["passes"]:
        status = "ran" if p["ran"] else f"skipped: {h(p['skipped_reason'], 300)}"
        notes = "".join(f"; {h(n, 300)}" for n in p["notes"])
        items.append(f"{h(p['id'])}: {status}{notes}")
    out.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
    out.append("<h3>Known false-positive classes</h3>")
    out.append(
        _table(
            ["Legitimate use", "What it shares with a campaign", "What keeps it out"],
            [
                [h(f["legitimate_use"], 300), h(f["resembles"], 300), h(f["kept_out_by"], 300)]
                for f in method["false_positive_classes"]
            ],
            set(),
        )
    )
    out.append("<h3>Limitations</h3>")
    out.append("<ul>" + "".join(f"<li>{h(x, 500)}</li>" for x in method["limitations"]) + "</ul>")
    return "\n".join(out)
