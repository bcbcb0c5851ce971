"""The terminal report (Rich): header, campaigns, flagged and mixed accounts.

Every string that comes from the logs (ids, model names, end users) passes through
:func:`distillscan.textsafe.inert` and is placed in Rich ``Text`` objects or table cells with
markup disabled, so nothing in a log can style, move or rewrite the investigator's terminal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from distillscan.investigate import Investigation
from distillscan.textsafe import inert

SEVERITY_STYLES = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "none": "dim",
}
SIGNALS = ("elicitation", "breadth", "automation", "template", "sync", "infra", "pivot")


def _cell(value: object, limit: int = 60) -> Text:
    return Text(inert(str(value) if value is not None else "", limit))


def _severity(value: str) -> Text:
    return Text(value, style=SEVERITY_STYLES.get(value, ""))


def _strongest(row: dict[str, Any], n: int = 3) -> str:
    pairs = [(name, float(row.get(f"contribution_{name}") or 0.0)) for name in SIGNALS]
    top = sorted((p for p in pairs if p[1] > 0.05), key=lambda p: (-p[1], p[0]))[:n]
    return ", ".join(f"{name} {value:.2f}" for name, value in top) or "-"


def render(investigation: Investigation) -> Iterator[RenderableType]:
    """Yield the report's renderables in order."""
    manifest = investigation.manifest
    totals = manifest["totals"]
    accounts = investigation.accounts
    header = Text()
    header.append("distillscan investigation\n", style="bold")
    header.append(f"inputs: {len(manifest['inputs'])} file(s); ")
    header.append(
        f"events: {totals['rows_loaded']:,} loaded, {totals['rows_quarantined']:,} quarantined; "
    )
    header.append(f"accounts: {accounts.height:,}\n")
    ran = [p["id"] for p in investigation.passes if p["ran"]]
    header.append(f"passes run: {', '.join(ran) or 'none'}\n")
    for skipped in (p for p in investigation.passes if not p["ran"]):
        header.append(f"pass skipped: {skipped['id']}: {skipped['skipped']}\n", style="yellow")
    yield header

    campaigns = investigation.campaigns
    if campaigns.is_empty():
        yield Text("No campaign found.", style="green")
    else:
        table = Table(title="Suspected campaigns", title_justify="left")
        for column in (
            "severity",
            "campaign",
            "name",
            "accounts",
            "exchanges",
            "capabilities",
            "release pivot",
        ):
            table.add_column(column)
        for row in campaigns.iter_rows(named=True):
            table.add_row(
                _severity(row["severity"]),
                _cell(row["campaign_id"]),
                _cell(row["name"], 80),
                str(row["n_accounts"]),
                f"{row['n_events']:,}",
                _cell(", ".join(row["capabilities"] or []), 60),
                _cell(row["release_pivot"] or "-", 60),
            )
        yield table

    flagged = accounts.filter(pl.col("severity").is_in(["medium", "high", "critical"])).sort(
        "score", "account_id", descending=[True, False]
    )
    if not flagged.is_empty():
        table = Table(title=f"Flagged accounts ({flagged.height})", title_justify="left")
        for column in ("severity", "score", "account", "campaign", "events", "strongest signals"):
            table.add_column(column)
        for row in flagged.head(25).iter_rows(named=True):
            table.add_row(
                _severity(row["severity"]),
                f"{row['score']:.2f}",
                _cell(row["account_id"], 40),
                _cell(row["campaign_id"] or "-"),
                f"{row['n_events']:,}",
                _strongest(row),
            )
        yield table
        if flagged.height > 25:
            yield Text(f"... and {flagged.height - 25} more (see accounts.parquet)")

    if "is_mixed" in accounts.columns:
        mixed = accounts.filter(pl.col("is_mixed").fill_null(False)).sort("account_id")
        if not mixed.is_empty():
            table = Table(
                title="Mixed accounts (reseller traffic hiding a harvest)", title_justify="left"
            )
            for column in ("account", "end users", "contamination", "implicated end users"):
                table.add_column(column)
            for row in mixed.iter_rows(named=True):
                implicated = row["implicated_end_users"] or []
                shown = ", ".join(implicated[:5]) + (
                    f" (+{len(implicated) - 5})" if len(implicated) > 5 else ""
                )
                table.add_row(
                    _cell(row["account_id"], 40),
                    str(row["n_end_users"]),
                    f"{row['contamination_share']:.0%}",
                    _cell(shown, 80),
                )
            yield table
    yield Text(f"case: {investigation.case}", style="dim")
