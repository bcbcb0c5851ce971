"""The ``distillscan`` command: parse options, call the library, render, exit.

Exit codes: 0 success (no finding at or above ``--fail-on``), 1 a finding at or above
``--fail-on``, 2 a usage or input error. Errors print one line (``error: ...``) and an optional
``hint: ...`` on stderr, never a traceback. Reports go to stdout; progress to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from distillscan import __version__
from distillscan.errors import DistillscanError
from distillscan.ingest import IngestReport, ingest

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

app = typer.Typer(
    help="Find model-distillation campaigns in exported LLM API logs, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals hold prompts: never print them
    context_settings={"help_option_names": ["-h", "--help"]},
)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(error: DistillscanError) -> NoReturn:
    """Print a library error as one line (plus hint) and exit with code 2."""
    stderr.print(f"error: {escape(error.message)}", markup=True)
    if error.hint:
        stderr.print(f"hint: {escape(error.hint)}")
    raise typer.Exit(EXIT_ERROR)


def version_callback(value: bool) -> None:
    """Print the version and exit."""
    if value:
        print(f"distillscan {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Find model-distillation campaigns in exported LLM API logs, offline."""


@app.command("ingest")
def ingest_command(
    paths: Annotated[
        list[Path], typer.Argument(help="Log files and folders (walked recursively).")
    ],
    case: Annotated[Path, typer.Option("--case", help="Case folder to create or add to.")],
    format_name: Annotated[
        str | None,
        typer.Option("--format", help="Force this input format instead of detecting it."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="TOML file mapping other columns onto canonical fields."),
    ] = None,
    accounts: Annotated[
        list[Path] | None,
        typer.Option("--accounts", help="Account metadata file (CSV, JSONL or Parquet)."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail if any row would be quarantined.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
) -> None:
    """Load log exports into a case folder: events, quarantine, manifest and DuckDB views."""
    try:
        report = ingest(
            paths,
            case,
            format_name=format_name,
            mapping=mapping,
            accounts=accounts,
            strict=strict,
            progress=None if quiet else _progress,
        )
    except DistillscanError as exc:
        fail(exc)
    print_ingest_summary(report)
    if report.errors:
        raise typer.Exit(EXIT_ERROR)


def _progress(message: str) -> None:
    if stderr.is_terminal:
        stderr.print(f"[dim]{escape(message)}[/dim]")


def print_ingest_summary(report: IngestReport) -> None:
    """Chainsaw-style counts on stderr: what was loaded, quarantined, skipped and why."""
    out = stderr
    out.print(
        f"[+] {len(report.loaded)} file(s) read: {report.rows_read:,} rows, "
        f"{report.rows_loaded:,} loaded, {report.rows_quarantined:,} quarantined",
        markup=False,
    )
    for entry in report.loaded:
        note = f" ({'; '.join(entry['warnings'])})" if entry["warnings"] else ""
        out.print(
            f"    {entry['path']}: {entry['format']}, {entry['rows_loaded']:,} loaded, "
            f"{entry['rows_quarantined']:,} quarantined{note}",
            markup=False,
        )
    for example in report.examples[:10]:
        out.print(f"[!] quarantined {example}", markup=False)
    for name in report.already:
        out.print(f"[=] {name}: already in the case (same sha256), not read again", markup=False)
    for skip in report.skipped:
        out.print(f"[-] skipped {skip['path']}: {skip['reason']}", markup=False)
    for error in report.errors:
        out.print(f"error: {error}", markup=False)
    out.print(f"[+] case: {report.case}", markup=False)


@app.command("simulate")
def simulate_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write (new or empty).")],
    events: Annotated[int, typer.Option("--events", help="Events to write, exactly.")] = 200_000,
    days: Annotated[int, typer.Option("--days", help="Days in the window.")] = 14,
    seed: Annotated[int, typer.Option("--seed", help="Same settings and seed: same bytes.")] = 0,
    format_name: Annotated[
        str,
        typer.Option("--format", help="canonical, openai, anthropic, bedrock or litellm."),
    ] = "canonical",
    profile: Annotated[
        str, typer.Option("--profile", help="default, blatant, evasive or benign.")
    ] = "default",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
) -> None:
    """Write simulated API logs with planted campaigns, account metadata and ground truth."""
    # imported here: only this command needs the simulator and its data files
    from distillscan.simulate import SimulationConfig, simulate

    config = SimulationConfig(
        events=events, days=days, seed=seed, output_format=format_name, profile=profile
    )
    try:
        summary = simulate(out, config, progress=None if quiet else _progress)
    except DistillscanError as exc:
        fail(exc)
    labels = ", ".join(f"{n:,} {label}" for label, n in sorted(summary.labels.items()))
    stderr.print(
        f"[+] {summary.events:,} events in {config.days} day files ({config.output_format}), "
        f"{summary.accounts:,} accounts ({labels})",
        markup=False,
    )
    for campaign in summary.campaigns:
        stderr.print(
            f"    planted {campaign['id']}: {campaign['name']}, "
            f"{len(campaign['members']):,} accounts, {campaign['events']:,} events",
            markup=False,
        )
    stderr.print(f"[+] output: {out} (ground truth in {out / 'truth'})", markup=False)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except DistillscanError as exc:  # pragma: no cover - commands catch their own
        stderr.print(f"error: {escape(exc.message)}")
        sys.exit(EXIT_ERROR)
