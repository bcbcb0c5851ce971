"""What the commands say besides the report: the ingest summary, verify's checks, eval's tables.

Each function returns Rich renderables and prints nothing; the CLI prints them. File names,
reasons and quarantine examples come from the logs (and from whoever named the files), so every
one of them is an inert, bounded :class:`~rich.text.Text`, never parsed as markup.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from distillscan.ingest import IngestReport
from distillscan.textsafe import inert
from distillscan.triage import Decision
from distillscan.verify import VerifyResult


def plain_console(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    """The only kind of console the command line prints through.

    Markup, emoji codes (``:warning:``) and highlighting are off, so a string that reaches it
    from a log or a file name prints as the characters it holds; control characters are
    neutralised before that by :func:`~distillscan.textsafe.inert`.
    """
    return Console(stderr=stderr, soft_wrap=soft_wrap, markup=False, emoji=False, highlight=False)


def message(prefix: str, text: str, limit: int = 2000) -> Text:
    """One line of the command line's own speech (``error:``, ``hint:``) around log text."""
    return Text(f"{prefix}{inert(text, limit)}")


def _line(text: str, limit: int = 1000) -> Text:
    return Text(inert(text, limit))


#: Files already in the case listed by name (a daily run over a logger's bucket has thousands).
ALREADY_LISTED = 20


def ingest_lines(report: IngestReport) -> list[Text]:
    """Chainsaw-style counts (for stderr): what was loaded, quarantined, skipped and why."""
    files = sum(len(entry.get("members") or [entry]) for entry in report.loaded)
    bundled = f" (as {len(report.loaded):,} inputs)" if files != len(report.loaded) else ""
    lines = [
        Text(
            f"[+] {files:,} file(s) read{bundled}: {report.rows_read:,} rows, "
            f"{report.rows_loaded:,} loaded, {report.rows_quarantined:,} quarantined"
        )
    ]
    for entry in report.loaded:
        note = f" ({'; '.join(entry['warnings'])})" if entry["warnings"] else ""
        lines.append(
            _line(
                f"    {entry['path']}: {entry['format']}, {entry['rows_loaded']:,} loaded, "
                f"{entry['rows_quarantined']:,} quarantined{note}"
            )
        )
    lines += [
        _line(
            f"[~] {s['path']} (read earlier): {s['rows']:,} row(s) now quarantined as duplicates "
            "of rows read in this run"
        )
        for s in report.superseded
    ]
    lines += [_line(f"[!] quarantined {example}", 300) for example in report.examples[:10]]
    lines += [
        _line(f"[=] {name}: already in the case (same sha256), not read again")
        for name in report.already[:ALREADY_LISTED]
    ]
    if len(report.already) > ALREADY_LISTED:
        more = len(report.already) - ALREADY_LISTED
        lines.append(_line(f"[=] and {more:,} more file(s) already in the case"))
    lines += [_line(f"[-] skipped {s['path']}: {s['reason']}") for s in report.skipped]
    lines += [_line(f"[*] {note}") for note in report.notes]
    lines += [_line(f"error: {error}", 2000) for error in report.errors]
    lines.append(_line(f"[+] case: {report.case}"))
    return lines


def verify_lines(result: VerifyResult) -> list[Text]:
    """One line per failed check, then a summary (for stdout)."""
    lines = [_line(f"[x] {p.subject}: {p.message}", 2000) for p in result.problems]
    lines += [
        _line(f"[?] {name}: not found where it was ingested from; not re-hashed")
        for name in result.missing
    ]
    verdict = "ok" if result.ok else f"FAILED ({len(result.problems)} problem(s))"
    lines.append(
        _line(
            f"[{'+' if result.ok else 'x'}] {result.case}: {verdict}; {result.inputs} input(s), "
            f"{result.parts} part(s) checked, {result.rehashed} input file(s) re-hashed, "
            f"{len(result.missing)} not found"
        )
    )
    return lines


def _pct(value: object) -> str:
    return f"{value:.1%}" if isinstance(value, float) else "n/a"


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> Table:
    grid = Table(title=title)
    for i, column in enumerate(columns):
        # Ids and names fold onto more lines rather than being cut.
        grid.add_column(column, justify="left" if i == 0 else "right", overflow="fold")
    for row in rows:
        grid.add_row(*(_line(cell, 300) for cell in row))
    return grid


def evaluation(result: dict[str, Any]) -> list[RenderableType]:
    """Tables of an evaluation (see :class:`distillscan.evaluate.Evaluation`), for stdout."""
    a = result["accounts"]
    counts = ("true_positives", "false_positives", "false_negatives", "true_negatives")
    parts: list[RenderableType] = [
        _table(
            "Accounts (flagged = severity medium or above, or in a campaign)",
            ("precision", "recall", "F1", "TP", "FP", "FN", "TN"),
            [
                (
                    _pct(a["precision"]),
                    _pct(a["recall"]),
                    _pct(a["f1"]),
                    *(f"{a[k]:,}" for k in counts),
                )
            ],
        ),
        _table(
            "False positives by benign kind",
            ("kind", "accounts", "false positives", "rate"),
            [
                (
                    r["kind"],
                    f"{r['accounts']:,}",
                    f"{r['false_positives']:,}",
                    _pct(r["false_positive_rate"]),
                )
                for r in result["benign_kinds"]
            ],
        ),
        _table(
            "Planted campaigns",
            ("campaign", "members", "flagged", "recall", "split into", "purity"),
            [
                (
                    f"{r['id']}: {r['name']}",
                    f"{r['members']:,}",
                    f"{r['flagged']:,}",
                    _pct(r["recall"]),
                    str(r["split_into"]),
                    _pct(r["purity"]),
                )
                for r in result["campaigns"]
            ],
        ),
    ]
    for false in result["false_campaigns"]:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(false["kinds"].items()))
        parts.append(
            _line(
                f"reported campaign {false['reported_campaign']} holds no planted account "
                f"({false['size']} accounts: {kinds})"
            )
        )
    mixed = result["mixed"]
    if mixed.get("accounts"):
        parts.append(
            Text(
                f"Mixed accounts: {mixed['reported_mixed']} of {mixed['accounts']} reported as "
                f"mixed; contamination estimate off by {_pct(mixed['share_mean_absolute_error'])} "
                f"on average; implicated end users: precision {_pct(mixed['end_user_precision'])}, "
                f"recall {_pct(mixed['end_user_recall'])}"
            )
        )
    return parts


def time_to_detect(result: dict[str, Any]) -> list[RenderableType]:
    """Tables of ``eval --by-day`` (see :func:`distillscan.evaluate.time_to_detect`)."""

    def delay(hours: float | None) -> str:
        return "not named" if hours is None else f"{hours:,.1f} h"

    return [
        _table(
            "Time to detect (a daily run at the end of each day)",
            ("campaign", "members", "first request", "named on", "delay", "ids"),
            [
                (
                    f"{r['id']}: {r['name']}",
                    f"{r['members']:,}",
                    (r["first_event"] or "-")[:16].replace("T", " "),
                    r["named_on"] or "-",
                    delay(r["delay_hours"]),
                    ", ".join(r["campaign_ids"]) or "-",
                )
                for r in result["campaigns"]
            ],
        ),
        _table(
            "Each day's run",
            ("day", "campaigns", "holding no planted account", "benign accounts flagged"),
            [
                (
                    d["day"],
                    f"{d['campaigns']:,}",
                    f"{d['false_campaigns']:,}",
                    f"{d['benign_flagged']:,}",
                )
                for d in result["days"]
            ],
        ),
    ]


def triage_line(decision: Decision) -> Text:
    """One triage decision: what it is about, the status, who and when, and the note (the
    target and the note printed literally: they may come from logs and from people)."""
    line = Text(f"{decision.kind} ")
    line.append(inert(decision.target, 300))
    line.append(f": {decision.status}", style="bold")
    line.append(f" ({inert(decision.by, 100)}, {decision.at}): ")
    line.append(inert(decision.note, 1000))
    return line
