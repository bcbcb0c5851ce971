"""The ``distillscan`` command: parse options, call the library, render, exit.

Exit codes: 0 success (no finding at or above ``--fail-on``), 1 a finding at or above
``--fail-on``, 2 a usage or input error (a damaged case included), 3 an internal error (a bug).
Errors print one line (``error: ...``) and an optional ``hint: ...`` on stderr, never a
traceback. Reports go to stdout; progress to stderr. A reader that closes the pipe early
(``| head``) cuts the output, not the exit code.
"""

from __future__ import annotations

import functools
import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TextIO

import duckdb
import typer
from rich.text import Text

from distillscan import __version__, triage
from distillscan.case import Case, Resources, write_atomic
from distillscan.errors import DistillscanError, InputError, out_of_room
from distillscan.ingest import ingest
from distillscan.ingest.load import Supplied
from distillscan.ingest.streams import (
    DEFAULT_MAX_EXPANSION,
    DEFAULT_MAX_RECORD,
    ReadLimits,
    parse_size,
)
from distillscan.investigate import default_case_dir, investigate
from distillscan.query import run as run_query
from distillscan.render import console, drilldown, json_report, tabular
from distillscan.render import terminal as terminal_report
from distillscan.render.formats import RENDERERS, choices_help
from distillscan.render.progress import StatusLine
from distillscan.report import drilldown as report_drilldown
from distillscan.report.loader import load_investigation, reading
from distillscan.report.model import Report, build_report, failing_findings
from distillscan.report.redact import (
    redact,
    redact_account_detail,
    redact_campaign_detail,
    redact_end_user_detail,
    sign_up_details,
)
from distillscan.severity import Severity
from distillscan.textsafe import inert
from distillscan.verify import verify

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERNAL = 3
FAIL_ON_HELP = (
    "Exit 1 when a campaign, or a mixed account (a reseller hiding a harvesting tenant), at or "
    "above this severity (low, medium, high, critical) is found."
)

FailOn = Annotated[
    Severity | None,
    typer.Option(
        "--fail-on",
        metavar="SEVERITY",
        help=FAIL_ON_HELP,
        case_sensitive=False,  # reports print CRITICAL; either spelling is accepted
    ),
]
FailOnNew = Annotated[
    Severity | None,
    typer.Option(
        "--fail-on-new",
        metavar="SEVERITY",
        help="Exit 1 only when a campaign at or above this severity is new in this run, or its "
        "severity rose since the previous run, or a mixed account at or above it is new (a "
        "daily job's check).",
        case_sensitive=False,
    ),
]


class _Argument(typer.core.TyperArgument):
    """A positional argument whose help names its value as click does (``PATH``, ``TEXT``,
    ``PATH...``), not as a Python type (``<str>``, ``<list[Path]>``); a choice keeps its list.

    typer (0.29) prints an argument's Python type whatever its metavar (which names the
    argument in the first column and the usage line). It builds every argument through the name
    ``typer.main.TyperArgument``, so pointing that name here is the whole change; should typer
    stop using it, help falls back to typer's own text.
    """

    def display_type_rich(self, ctx: Any) -> str | None:
        described = self.type_descriptor
        if described.is_choice:
            return super().display_type_rich(ctx)
        element = self.bare_type().removeprefix("list[").removesuffix("]")
        word = {"Path": "PATH", "str": "TEXT", "int": "INTEGER"}.get(element, element.upper())
        return f"{word}..." if described.is_list else word


typer.main.TyperArgument = _Argument  # type: ignore[attr-defined]

app = typer.Typer(
    help="Find model-distillation campaigns in exported LLM API logs, offline.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish
    pretty_exceptions_show_locals=False,  # locals hold prompts: never print them
    rich_markup_mode="markdown",  # docstring paragraphs reflow; help text holds no markup
    context_settings={"help_option_names": ["-h", "--help"]},
)

P = ParamSpec("P")


def command(name: str) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Register a command whose failures all end at the one boundary, :func:`_failure`.

    Commands raise; they never print an error themselves. Typer reads the wrapped function's
    signature and docstring, so options and help are the command's own.
    """

    def register(body: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(body)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                body(*args, **kwargs)
            except (typer.Exit, typer.Abort, typer.TyperException, BrokenPipeError):
                raise  # an exit code already chosen, a usage error, a reader gone: run() has them
            except Exception as exc:
                raise typer.Exit(_failure(exc)) from None

        app.command(name)(guarded)
        return body

    return register


#: Options shared by the commands that run DuckDB over a case.
MemoryLimit = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        metavar="SIZE",
        help="DuckDB memory limit, e.g. 8GB (default: 80% of RAM).",
    ),
]
TempDir = Annotated[
    Path | None,
    typer.Option(
        "--temp-dir", metavar="DIR", help="Where DuckDB spills to disk (default: CASE/.tmp)."
    ),
]
#: Options shared by ingest and investigate: how much one input file may make the reader hold.
MaxRecordSize = Annotated[
    str,
    typer.Option(
        "--max-record-size",
        metavar="SIZE",
        help="Longest record read (a JSON line, a JSON record, a CSV field); longer ones are "
        "quarantined.",
    ),
]
MaxExpansion = Annotated[
    float,
    typer.Option(
        "--max-expansion",
        metavar="RATIO",
        min=1.0,
        help="Most bytes a compressed file may decompress to, per byte on disk (of at least "
        "1 MiB); reading stops there and the rest is quarantined.",
    ),
]
#: Options shared by ingest and investigate.
MappingFile = Annotated[
    Path | None,
    typer.Option(
        "--mapping", metavar="FILE", help="TOML file mapping other columns onto canonical fields."
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="No progress on stderr.")]
#: Options shared by ingest and investigate: what rows without an account or a time get.
SuppliedAccount = Annotated[
    str | None,
    typer.Option(
        "--account",
        metavar="ID",
        help="Account of every row that names none (a batch file of one customer's requests).",
    ),
]
SuppliedTime = Annotated[
    datetime | None,
    typer.Option(
        "--time",
        metavar="TIME",
        help="Time of every row that has none (UTC, 2026-01-12T08:00; a batch's created_at).",
    ),
]
TimeFromFile = Annotated[
    bool,
    typer.Option(
        "--time-from-file",
        metavar="",
        help="Rows without a time take their file's modification time.",
    ),
]
stderr = console.plain_console(stderr=True, soft_wrap=True)


def _duration(text: str) -> timedelta:
    """A ``--window`` such as ``14d``, ``36h`` or ``2w`` (a usage error otherwise)."""
    found = re.fullmatch(r"\s*(\d{1,5})\s*([hdw])\s*", text.lower())
    if found is None or int(found.group(1)) == 0:
        raise DistillscanError(
            f"--window {text!r} is not a duration",
            hint="give hours, days or weeks: 36h, 14d, 2w",
        )
    return timedelta(hours=int(found.group(1)) * {"h": 1, "d": 24, "w": 168}[found.group(2)])


def _supplied(account: str | None, time: datetime | None, from_file: bool) -> Supplied | None:
    """What rows without an account or a time get, from the command line (or None)."""
    if time is not None and from_file:
        raise DistillscanError("--time and --time-from-file both give rows a time: give one")
    if account is not None and (not account.strip() or not account.isprintable()):
        raise DistillscanError("--account must be a printable, non-blank id")
    if account is None and time is None and not from_file:
        return None
    return Supplied(account=account, time=time, time_from_file=from_file)


def _read_limits(max_record_size: str, max_expansion: float) -> ReadLimits:
    """The read limits from the command line (a usage error when a size cannot be read)."""
    size = parse_size(max_record_size)
    if size is None or size < 1024:
        raise DistillscanError(
            f"--max-record-size {max_record_size!r} is not a size of at least 1KiB",
            hint="give a size such as 64MiB, 512KB or 1GB",
        )
    return ReadLimits(max_record_bytes=size, max_expansion=max_expansion)


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
            "--version",
            callback=version_callback,
            is_eager=True,
            metavar="",
            help="Show the version.",
        ),
    ] = False,
) -> None:
    """Find model-distillation campaigns in exported LLM API logs, offline."""


@command("ingest")
def ingest_command(
    # readable=False: an unreadable file is reported per file by ingest (the others still load),
    # not refused by the argument parser for the whole command.
    paths: Annotated[
        list[Path],
        typer.Argument(help="Log files and folders (walked recursively).", readable=False),
    ],
    case: Annotated[
        Path, typer.Option("--case", metavar="DIR", help="Case folder to create or add to.")
    ],
    format_name: Annotated[
        str | None,
        typer.Option(
            "--format", metavar="FORMAT", help="Force this input format instead of detecting it."
        ),
    ] = None,
    mapping: MappingFile = None,
    account: SuppliedAccount = None,
    time: SuppliedTime = None,
    time_from_file: TimeFromFile = False,
    accounts: Annotated[
        list[Path] | None,
        typer.Option(
            "--accounts",
            metavar="FILE",
            help="Account metadata file (CSV, JSONL or Parquet).",
            readable=False,
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", metavar="", help="Fail if any row would be quarantined.")
    ] = False,
    memory_limit: MemoryLimit = None,
    temp_dir: TempDir = None,
    max_record_size: MaxRecordSize = DEFAULT_MAX_RECORD,
    max_expansion: MaxExpansion = DEFAULT_MAX_EXPANSION,
    quiet: Quiet = False,
) -> None:
    """Load log exports into a case folder: events, quarantine, manifest and DuckDB views.

    Exit codes: 0 every file loaded (bad rows are quarantined, not errors); 2 a file could not
    be loaded (the others are committed) or a usage error; 3 internal error.
    """
    report = ingest(
        paths,
        case,
        format_name=format_name,
        mapping=mapping,
        accounts=accounts,
        strict=strict,
        progress=None if quiet else _progress,
        resources=Resources(memory_limit, temp_dir),
        limits=_read_limits(max_record_size, max_expansion),
        supplied=_supplied(account, time, time_from_file),
    )
    stderr.print(*console.ingest_lines(report), sep="\n")
    if report.errors:
        raise typer.Exit(EXIT_ERROR)


def _progress(message: str) -> None:
    if stderr.is_terminal:
        stderr.print(Text(inert(message, 300), style="dim"))


@command("verify")
def verify_command(
    case: Annotated[Path, typer.Argument(help="Case folder to check.")],
    require_inputs: Annotated[
        bool,
        typer.Option(
            "--require-inputs",
            metavar="",
            help="Fail when an input is no longer at the location recorded at ingest.",
        ),
    ] = False,
) -> None:
    """Re-hash a case's inputs and check that its parts and counts match the manifest.

    Exit codes: 0 every check passed; 1 a check failed (listed on stdout); 2 the folder is not a
    readable case, or an ingest is writing to it.
    """
    result = verify(case, require_inputs=require_inputs)
    console.plain_console(soft_wrap=True).print(*console.verify_lines(result), sep="\n")
    if not result.ok:
        raise typer.Exit(EXIT_FINDINGS)


@command("investigate")
def investigate_command(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Log files and folders (omit to reuse --case).")
    ] = None,
    case: Annotated[
        Path | None,
        typer.Option(
            "--case", metavar="DIR", help="Case folder (default: under ./distillscan-cases/)."
        ),
    ] = None,
    accounts: Annotated[
        list[Path] | None, typer.Option("--accounts", metavar="FILE", help="Account metadata file.")
    ] = None,
    format_name: Annotated[
        str | None, typer.Option("--format", metavar="FORMAT", help="Force this input format.")
    ] = None,
    mapping: MappingFile = None,
    account: SuppliedAccount = None,
    time: SuppliedTime = None,
    time_from_file: TimeFromFile = False,
    time_from: Annotated[
        datetime | None,
        typer.Option(
            "--from",
            metavar="TIME",
            help="Only events at or after this UTC time (2026-01-12 or 2026-01-12T08:00).",
        ),
    ] = None,
    time_to: Annotated[
        datetime | None,
        typer.Option(
            "--to",
            metavar="TIME",
            help="Only events before this UTC time (2026-01-19 or 2026-01-19T08:00).",
        ),
    ] = None,
    window: Annotated[
        str | None,
        typer.Option(
            "--window",
            metavar="DURATION",
            help="Analyse only the last DURATION of the case's data (14d, 36h, 2w), counted back "
            "from its last event; default: the whole case.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", metavar="FILE", help="TOML file overriding detection settings."),
    ] = None,
    fail_on: FailOn = None,
    fail_on_new: FailOnNew = None,
    brief: Annotated[
        bool,
        typer.Option(
            "--brief",
            metavar="",
            help="Terminal report: only the overview, no evidence panel per campaign.",
        ),
    ] = False,
    skip_unrecognised: Annotated[
        bool,
        typer.Option(
            "--skip-unrecognised",
            metavar="",
            help="Investigate without files that could not be loaded (listed as left out) "
            "instead of exiting 2.",
        ),
    ] = False,
    allowlist: Annotated[
        Path | None,
        typer.Option(
            "--allowlist",
            metavar="FILE",
            help="TOML file of known customers (accounts, orgs, networks, each with a reason): "
            "marked benign in every report, never failing --fail-on.",
        ),
    ] = None,
    memory_limit: MemoryLimit = None,
    temp_dir: TempDir = None,
    max_record_size: MaxRecordSize = DEFAULT_MAX_RECORD,
    max_expansion: MaxExpansion = DEFAULT_MAX_EXPANSION,
    quiet: Quiet = False,
) -> None:
    """Ingest logs (or reuse a case), run every pass, and report suspected campaigns.

    The report goes to stdout, progress to stderr (only on a terminal, never with --quiet).
    Other formats of the same findings: distillscan report CASE --format markdown|json|html.

    Exit codes: 0 done (nothing met --fail-on or --fail-on-new); 1 a campaign or mixed account at
    or above --fail-on, or a new or escalated one at or above --fail-on-new; 2 usage or input
    error (a file that could not be loaded included, unless --skip-unrecognised); 3 internal
    error.
    """
    paths = paths or []
    if not paths and case is None:
        raise DistillscanError("give log paths, or --case with an existing case")
    case_dir = case or default_case_dir(paths)
    with StatusLine(stderr, quiet=quiet) as status:
        result = investigate(
            paths,
            case_dir,
            accounts=accounts,
            format_name=format_name,
            mapping=mapping,
            time_from=time_from,
            time_to=time_to,
            config_path=config,
            progress=status,
            resources=Resources(memory_limit, temp_dir),
            skip_unloadable=skip_unrecognised,
            allowlist=allowlist,
            window=_duration(window) if window is not None else None,
            limits=_read_limits(max_record_size, max_expansion),
            supplied=_supplied(account, time, time_from_file),
        )
        status("preparing the report")
        with reading(case_dir):
            report = build_report(result)
    if result.ingest is not None and not quiet:
        stderr.print(*console.ingest_lines(result.ingest), sep="\n")
    if result.replaced_window is not None:
        before = result.replaced_window
        stderr.print(
            "[!] this investigation replaced the one the case held for another window "
            f"({before['from'] or 'start'} → {before['to'] or 'end'}); a case keeps one at a "
            "time: use another --case to keep both",
        )
    print_terminal(report, case=str(case_dir), brief=brief)
    _exit_on_findings(report, fail_on, fail_on_new)


def _exit_on_findings(
    report: Report, fail_on: Severity | None, fail_on_new: Severity | None
) -> None:
    """Exit 1 when a campaign meets ``--fail-on`` or ``--fail-on-new``."""
    if failing_findings(
        report,
        fail_on.value if fail_on is not None else None,
        fail_on_new.value if fail_on_new is not None else None,
    ):
        raise typer.Exit(EXIT_FINDINGS)


@command("simulate")
def simulate_command(
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Folder to write (new or empty).")
    ],
    events: Annotated[
        int, typer.Option("--events", metavar="N", help="Events to write, exactly.")
    ] = 200_000,
    days: Annotated[int, typer.Option("--days", metavar="N", help="Days in the window.")] = 14,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Same settings and seed: same bytes.")
    ] = 0,
    format_name: Annotated[
        str,
        typer.Option(
            "--format", metavar="FORMAT", help="canonical, openai, anthropic, bedrock or litellm."
        ),
    ] = "canonical",
    profile: Annotated[
        str, typer.Option("--profile", metavar="NAME", help="default, blatant, evasive or benign.")
    ] = "default",
    tail_format: Annotated[
        str | None,
        typer.Option(
            "--tail-format",
            metavar="FORMAT",
            help="Format of the last --tail-days days (a new gateway).",
        ),
    ] = None,
    tail_days: Annotated[
        int,
        typer.Option("--tail-days", metavar="N", help="Days at the end written in --tail-format."),
    ] = 0,
    compression: Annotated[
        str,
        typer.Option(
            "--compression", metavar="NAME", help="gzip (as most exports) or zstd (faster)."
        ),
    ] = "gzip",
    jobs: Annotated[
        int,
        typer.Option("--jobs", metavar="N", help="Worker processes (0: automatic); same output."),
    ] = 0,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", metavar="", help="Nothing on stderr: no progress, no summary."
        ),
    ] = False,
) -> None:
    """Write simulated API logs with planted campaigns, account metadata and ground truth.

    Exit codes: 0 written; 2 usage error (a bad setting, a folder that is not empty); 3 internal
    error.
    """
    # imported here: only this command needs the simulator and its data files
    from distillscan.simulate import SimulationConfig, simulate

    config = SimulationConfig(
        events=events,
        days=days,
        seed=seed,
        output_format=format_name,
        profile=profile,
        tail_format=tail_format,
        tail_days=tail_days,
        compression=compression,
        jobs=jobs,
    )
    summary = simulate(out, config, progress=None if quiet else _progress)
    if quiet:
        return
    labels = ", ".join(f"{n:,} {label}" for label, n in sorted(summary.labels.items()))
    formats = config.output_format
    if config.tail_format and config.tail_days:
        formats += f", last {config.tail_days} days {config.tail_format}"
    stderr.print(
        f"[+] {summary.events:,} events in {config.days} day files ({formats}), "
        f"{summary.accounts:,} accounts ({labels})",
    )
    for campaign in summary.campaigns:
        stderr.print(
            f"    planted {campaign['id']}: {campaign['name']}, "
            f"{len(campaign['members']):,} accounts, {campaign['events']:,} events",
        )
    stderr.print(f"[+] output: {out} (ground truth in {out / 'truth'})")


class ShowFormat(StrEnum):
    """Output formats of ``distillscan show``."""

    terminal = "terminal"
    json = "json"


@command("triage")
def triage_command(
    case: Annotated[Path, typer.Argument(help="Case folder that an investigation ran in.")],
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="CAMPAIGN_OR_ACCOUNT",
            help="Campaign or account id (or a unique start of it); omit to list decisions.",
        ),
    ] = None,
    status: Annotated[
        triage.Status | None,
        typer.Option("--status", help="confirmed, benign or suppressed.", case_sensitive=False),
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", metavar="TEXT", help="Why (kept with the decision).")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", metavar="NAME", help="Who decided (default: the login name)."),
    ] = None,
) -> None:
    """Record an investigator's decision about a campaign or an account, or list them.

    Decisions are kept in the case (triage.json, with who and when), shown in every report, and
    follow a campaign to later runs by its id. A campaign marked benign or suppressed, or whose
    accounts all are, no longer fails --fail-on or --fail-on-new; it is still reported.

    Exit codes: 0 done; 2 usage or input error (not a case, unknown or ambiguous id).
    """
    out = console.plain_console()
    if target is None:
        with reading(case):
            current = triage.latest(triage.decisions(case))
        for decision in current.values():
            out.print(console.triage_line(decision))
        if not current:
            out.print("no triage decision in this case")
        return
    if status is None or not note:
        raise InputError(
            "give --status (confirmed, benign or suppressed) and --note with the reason"
        )
    who = by or _login_name()
    decision = triage.decide(case, target, status.value, note, who, datetime.now(UTC))
    out.print(console.triage_line(decision))


def _login_name() -> str:
    """Who runs the command, for a decision's record (``unknown`` when the system cannot say)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


class ShowKind(StrEnum):
    """What ``distillscan show`` drills into."""

    campaign = "campaign"
    account = "account"
    end_user = "end-user"


def print_terminal(report: Report, *, case: str, brief: bool = False) -> None:
    """The Rich report on stdout (Rich decides colour and width from the terminal)."""
    out = console.plain_console()
    try:
        for renderable in terminal_report.render(report, case=case, brief=brief):
            out.print(renderable)
    except BrokenPipeError:  # the reader has what it wanted (``| head``): not an error
        _silence_stdout()


def write_output(text: str, output: Path | None, case: Path | None = None) -> None:
    """``text`` to ``output`` (replaced atomically) or, byte for byte, to stdout.

    With ``case``, an ``output`` that would overwrite the case's own files or its inputs is
    refused (:meth:`Case.refuses_output`).
    """
    if output is None:
        try:
            sys.stdout.flush()
            sys.stdout.buffer.write(text.encode("utf-8"))
            sys.stdout.flush()
        except BrokenPipeError:  # the reader has what it wanted (``| head``): not an error
            _silence_stdout()
        return
    refusal = Case(case).refuses_output(output) if case is not None else None
    if refusal is not None:
        raise InputError(
            f"{output}: will not write the report there: it {refusal}",
            hint="write reports outside the case folder and its inputs",
        )
    try:
        write_atomic(output, text)
    except OSError as exc:
        raise InputError(f"{output}: cannot write ({exc.strerror or exc})") from None


@command("report")
def report_command(
    case: Annotated[Path, typer.Argument(help="Case folder that an investigation ran in.")],
    output_format: Annotated[
        str,
        typer.Option("--format", "-f", metavar="FORMAT", help=f"Output format: {choices_help()}."),
    ] = "terminal",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write to this file, not stdout."),
    ] = None,
    brief: Annotated[
        bool,
        typer.Option(
            "--brief",
            metavar="",
            help="Terminal report: only the overview, no evidence panel per campaign.",
        ),
    ] = False,
    redacted: Annotated[
        bool,
        typer.Option(
            "--redact",
            metavar="",
            help="Pseudonymise account ids, end users, IPs and emails; fingerprint prompts.",
        ),
    ] = False,
    fail_on: FailOn = None,
    fail_on_new: FailOnNew = None,
) -> None:
    """Render a finished investigation: terminal, Markdown writeup, JSON or self-contained HTML.

    The same case and options give byte-identical Markdown and JSON (no clock, no paths).

    Exit codes: 0 done (nothing met --fail-on or --fail-on-new); 1 a campaign or mixed account at
    or above --fail-on, or a new or escalated one at or above --fail-on-new; 2 usage or input
    error (not a case, not investigated, cannot write).
    """
    renderer = RENDERERS.get(output_format.lower())
    if renderer is None:
        raise InputError(
            f"--format {output_format!r}: not an output format",
            hint=f"one of: {', '.join(RENDERERS)}",
        )
    with reading(case):
        investigation = load_investigation(case)
        report = build_report(investigation)
    if redacted:
        report = redact(report, sign_up_details(investigation.accounts))
    if renderer.name == "terminal" and output is None:
        print_terminal(report, case=str(case), brief=brief)  # colour, width from the terminal
    else:
        write_output(renderer.render(report, str(case)), output, case)
    _exit_on_findings(report, fail_on, fail_on_new)


class SqlFormat(StrEnum):
    """Output formats of ``distillscan sql``."""

    table = "table"
    csv = "csv"
    json = "json"


@command("sql")
def sql_command(
    case: Annotated[Path, typer.Argument(help="Case folder.")],
    query: Annotated[str, typer.Argument(help="SQL (DuckDB dialect) over the case's views.")],
    output_format: Annotated[
        SqlFormat,
        typer.Option("--format", "-f", help="table (terminal), csv, or json (JSON lines)."),
    ] = SqlFormat.table,
    limit: Annotated[
        int | None, typer.Option("--limit", metavar="N", min=1, help="At most this many rows.")
    ] = None,
) -> None:
    """Plain SQL over a case, with nothing to install: views events, quarantine,
    account_inputs, cloudtrail, accounts, campaigns and evidence read this folder's own files.

    Nothing is written to the case. Example: distillscan sql CASE "SELECT severity, count(*)
    FROM accounts GROUP BY ALL ORDER BY 2 DESC"

    Exit codes: 0 done; 2 usage or input error (not a case, a failing query); 3 internal error.
    """
    with reading(case):
        frame = run_query(case, query, limit)
    if output_format is SqlFormat.table:
        out = console.plain_console()
        out.print(tabular.table(frame))
        out.print(Text(f"{frame.height:,} row(s)", style="dim"))
    elif output_format is SqlFormat.csv:
        write_output(tabular.to_csv(frame), None)
    else:
        write_output(tabular.to_json_lines(frame), None)


@command("show")
def show_command(
    case: Annotated[Path, typer.Argument(help="Case folder that an investigation ran in.")],
    kind: Annotated[ShowKind, typer.Argument(help="campaign, account or end-user.")],
    item_id: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="Campaign or account id (or a unique start of it), or an end-user id.",
        ),
    ],
    output_format: Annotated[
        ShowFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ShowFormat.terminal,
    redacted: Annotated[
        bool,
        typer.Option(
            "--redact",
            metavar="",
            help="Pseudonymise account ids, end users, IPs, emails and sign-up details; "
            "fingerprint prompts (the same pseudonyms as report --redact).",
        ),
    ] = False,
) -> None:
    """Drill into one campaign, account or end user: signals with their contributions, and
    every evidence row with its example event (source file:line).

    The id is looked up as the logs hold it, also with --redact (which changes what is printed).

    Exit codes: 0 done; 2 usage or input error (not a case, unknown id).
    """
    with reading(case):
        investigation = load_investigation(case)
        document: Mapping[str, Any]
        if kind is ShowKind.campaign:
            campaign = report_drilldown.campaign_detail(investigation, item_id)
            if redacted:
                campaign = redact_campaign_detail(campaign, investigation)
            document = campaign
            renderables = drilldown.render_campaign(campaign, str(case))
        elif kind is ShowKind.account:
            account = report_drilldown.account_detail(investigation, item_id)
            if redacted:
                account = redact_account_detail(account, investigation)
            document = account
            renderables = drilldown.render_account(account)
        else:
            end_user = report_drilldown.end_user_detail(investigation, item_id)
            if redacted:
                end_user = redact_end_user_detail(end_user, investigation)
            document = end_user
            renderables = drilldown.render_end_user(end_user)
    if output_format is ShowFormat.json:
        write_output(json_report.render(document), None)
        return
    out = console.plain_console()
    for renderable in renderables:
        out.print(renderable)


@command("eval")
def eval_command(
    case: Annotated[Path, typer.Argument(help="An investigated case folder.")],
    truth: Annotated[
        Path, typer.Option("--truth", metavar="DIR", help="The simulator's truth/ folder.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", metavar="", help="Stable JSON on stdout.")
    ] = False,
    by_day: Annotated[
        bool,
        typer.Option(
            "--by-day",
            metavar="",
            help="Replay the case one day at a time, as a daily job would have run, and report "
            "how soon each planted campaign was named (time to detect) and each day's false "
            "alarms.",
        ),
    ] = False,
    memory_limit: MemoryLimit = None,
    temp_dir: TempDir = None,
    quiet: Quiet = False,
) -> None:
    """Score an investigation against ground truth: accounts, campaigns, mixed accounts.

    Exit codes: 0 scored; 2 usage or input error (not a case, not a truth folder, a truth that
    shares no account with the case); 3 internal error.
    """
    from distillscan.evaluate import evaluate, load_findings, load_truth, time_to_detect
    from distillscan.replay import first_events, replay_by_day

    accounts, _campaigns = load_findings(case)
    known = load_truth(truth)
    result = evaluate(accounts, known)
    if by_day:
        with StatusLine(stderr, quiet=quiet) as status:
            days = [
                day.findings()
                for day in replay_by_day(
                    case, resources=Resources(memory_limit, temp_dir), progress=status
                )
            ]
        timing = time_to_detect(days, known, first_events(case))
    if by_day:
        if as_json:
            sys.stdout.write(json.dumps(timing, indent=2, sort_keys=True) + "\n")
        else:
            console.plain_console().print(*console.time_to_detect(timing), sep="\n")
        return
    if as_json:
        sys.stdout.write(result.to_json())
        return
    console.plain_console().print(*console.evaluation(result.to_dict()), sep="\n")


def _silence_stdout() -> None:
    """Point stdout at /dev/null: the reader has gone, and Python's final flush must not fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


class _PipeSafeStdout:
    """``sys.stdout`` that treats a reader closing the pipe (``| head``) as the end of the
    output, not as an error: later writes are dropped and the command's exit code stands."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._gone = False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._close()
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._close()

    def _close(self) -> None:
        self._gone = True
        _silence_stdout()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _say(message: str, hint: str | None = None) -> None:
    stderr.print(console.message("error: ", message))
    if hint:
        stderr.print(console.message("hint: ", hint))


def run(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code (see the module docstring)."""
    if not isinstance(sys.stdout, _PipeSafeStdout):
        sys.stdout = _PipeSafeStdout(sys.stdout)
    try:
        app(args=argv)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or EXIT_OK
        stderr.print(console.message("", str(exc.code)))
        return EXIT_ERROR
    except BrokenPipeError:  # a write that bypassed the wrapper (the binary buffer)
        _silence_stdout()
    except Exception as exc:  # outside a command's body (an option's callback)
        return _failure(exc)
    return EXIT_OK


def _failure(exc: Exception) -> int:
    """The boundary between the library and the shell: say what went wrong in one ``error:``
    line (and a hint) and return the exit code, which means one thing.

    Library errors (bad input, a damaged case) are 2; a file DuckDB cannot read inside the
    case is a damaged case, 2; a write that finds no room (a full disk, a read-only folder)
    is 2; anything else is a bug, 3, never 1 (the "campaign found" code a CI job acts on).
    Set ``DISTILLSCAN_DEBUG=1`` to see the traceback of a bug.
    """
    if isinstance(exc, DistillscanError):
        _say(exc.message, exc.hint)
        return EXIT_ERROR
    if out_of_room(exc):
        _say(
            f"cannot write: no room left ({_first_line(exc)})",
            "free space (or raise the quota, or make the folder writable) and run the same "
            "command again; what was written before this run is unchanged",
        )
        return EXIT_ERROR
    if isinstance(exc, (duckdb.IOException, duckdb.InvalidInputException)):
        _say(
            f"case damaged or unreadable: {_first_line(exc)}",
            "run `distillscan verify CASE` to see which file changed",
        )
        return EXIT_ERROR
    if os.environ.get("DISTILLSCAN_DEBUG"):
        raise exc
    _say(
        f"internal error: {type(exc).__name__}: {_first_line(exc)}",
        "this is a bug in distillscan; rerun with DISTILLSCAN_DEBUG=1 for the traceback "
        "and report it",
    )
    return EXIT_INTERNAL


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
