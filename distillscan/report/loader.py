"""Rebuild an :class:`~distillscan.investigate.Investigation` from a finished case folder.

``distillscan report`` and ``distillscan show`` read what ``investigate`` wrote
(``accounts.parquet``, ``campaigns.parquet``, ``evidence.parquet``, ``history.parquet``,
``investigation.json``) rather
than re-running the passes: a report must describe the investigation that was done, and reading
Parquet takes milliseconds where the passes take minutes on a large export.
"""

from __future__ import annotations

import contextlib
import errno
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from distillscan.case import HISTORY_FILE, RESULT_FILES, RESULTS_JOURNAL, Case
from distillscan.errors import CaseError
from distillscan.investigate import Investigation
from distillscan.tracking import HISTORY_SCHEMA


@contextlib.contextmanager
def reading(case_dir: Path) -> Iterator[None]:
    """Hold the case's shared lock while a report reads it.

    An ``ingest`` or ``investigate`` holds the exclusive lock while it writes, so a report never
    mixes the results of two runs. A case on read-only storage (evidence kept write-protected)
    cannot be written by anyone either: it is read without the lock file it cannot create.

    Raises:
        CaseError: another command is writing to the case.
    """
    case = Case(case_dir)
    with contextlib.ExitStack() as stack:
        if case.exists():  # never create a folder (Case.lock would) for a mistyped path
            try:
                stack.enter_context(case.lock(shared=True))
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                    raise CaseError(f"{case_dir}: cannot lock the case ({exc.strerror})") from None
        if (case_dir / RESULTS_JOURNAL).exists():
            raise CaseError(
                f"{case_dir}: an investigation stopped while replacing its results",
                hint=f"run `distillscan investigate --case {case_dir}`: it finishes the "
                "replacement, or runs the investigation again",
            )
        yield


def load_record(case_dir: Path) -> dict[str, Any]:
    """The case's ``investigation.json`` (passes, window and configuration used).

    Raises:
        CaseError: it is missing or unreadable.
    """
    path = case_dir / "investigation.json"
    try:
        record: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise CaseError(
            f"{case_dir}: no investigation results in this case",
            hint=f"run: distillscan investigate --case {case_dir}",
        ) from None
    except (OSError, ValueError) as exc:
        raise CaseError(f"{path}: cannot read the investigation record ({exc})") from None
    return record


def load_investigation(case_dir: Path) -> Investigation:
    """Read a finished investigation back from ``case_dir``.

    Raises:
        CaseError: the folder is not a case, or ``investigate`` has not completed in it.
    """
    case = Case(case_dir)
    if not case.exists():
        raise CaseError(
            f"{case_dir}: not a case folder (no manifest.json)",
            hint="give the folder passed to --case when investigating",
        )
    manifest = case.load_manifest()
    record = load_record(case_dir)
    missing = [name for name in RESULT_FILES if not (case_dir / name).is_file()]
    if missing:
        raise CaseError(
            f"{case_dir}: investigation results incomplete (missing {', '.join(missing)})",
            hint=f"run: distillscan investigate --case {case_dir}",
        )
    try:
        accounts = pl.read_parquet(case_dir / "accounts.parquet")
        campaigns = pl.read_parquet(case_dir / "campaigns.parquet")
        evidence = pl.read_parquet(case_dir / "evidence.parquet")
        history = pl.read_parquet(case_dir / HISTORY_FILE).cast(HISTORY_SCHEMA)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise CaseError(f"{case_dir}: cannot read the investigation results ({exc})") from None
    if "partner_id" not in evidence.columns:
        raise CaseError(
            f"{case_dir}: the investigation results were written by an older distillscan "
            "(evidence without structured links)",
            hint=f"run: distillscan investigate --case {case_dir}",
        )
    if "score" not in accounts.columns:
        raise CaseError(
            f"{case_dir}: accounts.parquet holds no scores (ingested but not investigated)",
            hint=f"run: distillscan investigate --case {case_dir}",
        )
    window = record.get("window") or {}
    runs = record.get("runs")
    return Investigation(
        case=case_dir,
        manifest=manifest,
        ingest=None,
        passes=list(record.get("passes") or []),
        accounts=accounts,
        campaigns=campaigns,
        evidence=evidence,
        window=(_instant(window.get("from")), _instant(window.get("to"))),
        history=history,
        runs=[r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else [],
    )


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
