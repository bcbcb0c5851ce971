"""``distillscan verify CASE``: check that a case folder still says what its manifest claims.

An investigator hands a case folder on, or comes back to it months later; before relying on it,
``verify`` re-checks, without changing anything:

* each input still at its recorded location hashes to the recorded SHA-256 (an input that is no
  longer there is reported, and is a failure only with ``require_inputs``);
* each input's counts add up (``rows_read == rows_loaded + rows_quarantined``) and the case
  totals are the sums over inputs;
* each listed Parquet part exists, is readable, holds exactly the rows the manifest counts, and
  only rows of its own input (by ``source_sha256``);
* no part file sits in the case without being listed (debris of an interrupted ingest, or a file
  put there by hand), and no ``event_id`` is loaded twice;
* ``accounts.parquet`` was rebuilt from the account inputs the manifest lists;
* every part still has the SHA-256 the manifest recorded when it was written, and the manifest
  its own seal (``manifest_sha256``): a value edited inside a part, or in the manifest, is named;
* the investigation's outputs have the SHA-256 that ``investigation.json`` recorded (and that
  record its own seal), and no run stopped halfway through replacing them;
* the cached text features (``features.parquet/``) have the SHA-256 their index recorded.

Cases written before parts were hashed have no recorded hashes; those checks are then skipped.

The result is a :class:`VerifyResult`; the CLI renders it and exits 1 when any check fails.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb
import pyarrow.parquet as pq

from distillscan.case import (
    INVESTIGATION_FILE,
    RESULTS_JOURNAL,
    Case,
    connect,
    file_sha256,
    json_digest,
    manifest_digest,
)
from distillscan.detect import text_cache
from distillscan.errors import CaseError

_COUNTS = ("rows_read", "rows_loaded", "rows_quarantined")


@dataclass(frozen=True, slots=True)
class Problem:
    """One failed check: what it is about (an input's name, a part, the manifest) and why."""

    subject: str
    message: str


@dataclass(slots=True)
class VerifyResult:
    """What ``verify`` found.

    Attributes:
        case: The case folder.
        inputs: Inputs listed in the manifest.
        parts: Parquet parts checked.
        rehashed: Input files found where they were ingested from and hashed again (matching
            or not; each file of a bundle counts).
        missing: Inputs no longer at their recorded location (display names).
        problems: Failed checks; empty when the case is sound.
    """

    case: Path
    inputs: int = 0
    parts: int = 0
    rehashed: int = 0
    missing: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.problems

    def fail(self, subject: str, message: str) -> None:
        """Record a failed check."""
        self.problems.append(Problem(subject, message))


def verify(case_dir: Path, *, require_inputs: bool = False) -> VerifyResult:
    """Check the case folder ``case_dir`` against its manifest (read-only).

    Args:
        case_dir: The case folder.
        require_inputs: Count an input missing from its recorded location as a failure.

    Raises:
        CaseError: ``case_dir`` is not a case folder, its manifest cannot be read, or an ingest
            is writing to it right now.
    """
    case = Case(case_dir)
    if not case.exists():
        raise CaseError(
            f"{case_dir}: not a case folder (no manifest.json)",
            hint="pass the folder given to `distillscan ingest --case`",
        )
    with case.lock(shared=True):
        manifest = case.load_manifest()
        _check_structure(case, manifest)
        result = VerifyResult(case_dir, inputs=len(manifest["inputs"]))
        _check_seal(manifest, result)
        _check_totals(manifest, result)
        con = connect()
        try:
            for entry in manifest["inputs"]:
                _check_input(case, entry, result, require_inputs)
                _check_parts(con, case, entry, result)
            _check_unlisted(case, manifest, result)
            _check_unique_ids(con, case, manifest, result)
        finally:
            con.close()
        _check_accounts(case, manifest, result)
        _check_results(case, result)
        for subject, problem in text_cache.check(case):
            result.fail(subject, problem)
    return result


#: Keys every manifest entry must have for the checks to mean anything.
_ENTRY_KEYS = ("path", "sha256", "target", "part", "quarantine_part", *_COUNTS)


def _check_structure(case: Case, manifest: dict[str, Any]) -> None:
    """Refuse a manifest whose shape is wrong: nothing could be checked against it."""
    inputs = manifest.get("inputs")
    problem = None
    if not isinstance(inputs, list) or not isinstance(manifest.get("totals"), dict):
        problem = "no list of inputs, or no totals"
    else:
        for index, entry in enumerate(inputs):
            missing = [k for k in _ENTRY_KEYS if not isinstance(entry, dict) or k not in entry]
            if missing:
                problem = f"input {index + 1} lacks {', '.join(missing)}"
                break
    if problem:
        raise CaseError(f"{case.manifest_path}: the manifest is damaged ({problem})")


def _check_seal(manifest: dict[str, Any], result: VerifyResult) -> None:
    """The manifest is as distillscan wrote it."""
    seal = manifest.get("manifest_sha256")
    if seal is not None and seal != manifest_digest(manifest):
        result.fail("manifest", "edited since distillscan wrote it (its seal does not match)")


def _check_results(case: Case, result: VerifyResult) -> None:
    """The investigation's outputs are those its record hashed, and fully replaced."""
    if (case.root / RESULTS_JOURNAL).exists():
        result.fail(
            RESULTS_JOURNAL,
            "an investigation stopped while replacing its results (run investigate again)",
        )
    path = case.root / INVESTIGATION_FILE
    if not path.is_file():
        return
    try:
        record = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        result.fail(INVESTIGATION_FILE, f"unreadable ({exc})")
        return
    if not isinstance(record, dict):
        result.fail(INVESTIGATION_FILE, "not a JSON object")
        return
    seal = record.get("investigation_sha256")
    if seal is not None and seal != json_digest(record, "investigation_sha256"):
        result.fail(INVESTIGATION_FILE, "edited since the investigation wrote it")
    outputs = record.get("outputs")
    for name, recorded in sorted(outputs.items() if isinstance(outputs, dict) else []):
        output = case.root / str(name)
        if "/" in str(name) or not output.is_file():
            result.fail(str(name), "written by the investigation but missing")
            continue
        result.parts += 1
        if file_sha256(output) != recorded:
            result.fail(
                str(name),
                "changed since the investigation wrote it (edited, or an ingest of account "
                "metadata since: run investigate again)",
            )


def _check_totals(manifest: dict[str, Any], result: VerifyResult) -> None:
    """Per-input counts add up, and the totals are their sums."""
    for entry in manifest["inputs"]:
        counts = {key: entry.get(key) for key in _COUNTS}
        if not all(isinstance(value, int) and value >= 0 for value in counts.values()):
            result.fail(entry.get("path", "?"), f"row counts are not whole numbers: {counts}")
            continue
        if counts["rows_read"] != counts["rows_loaded"] + counts["rows_quarantined"]:
            result.fail(
                entry["path"],
                f"rows_read {counts['rows_read']} != rows_loaded {counts['rows_loaded']} "
                f"+ rows_quarantined {counts['rows_quarantined']}",
            )
    totals = manifest.get("totals", {})
    for key in _COUNTS:
        expected = sum(e.get(key, 0) for e in manifest["inputs"] if isinstance(e.get(key, 0), int))
        if totals.get(key) != expected:
            result.fail(
                "manifest", f"totals.{key} is {totals.get(key)}, the inputs add up to {expected}"
            )


def _check_input(
    case: Case, entry: dict[str, Any], result: VerifyResult, require_inputs: bool
) -> None:
    """Re-hash the input at its recorded location, if it is still there."""
    location = (entry.get("run_metadata") or {}).get("absolute_path")
    if not location:
        result.missing.append(entry["path"])
        if require_inputs:
            result.fail(entry["path"], "the manifest does not record where this input was")
        return
    members = entry.get("members")
    if isinstance(members, list):  # a bundle: each file in the folder recorded
        for member in members:
            if not isinstance(member, dict) or not isinstance(member.get("sha256"), str):
                result.fail(entry["path"], "a file of this bundle is listed without its hash")
                continue
            name = PurePosixPath(str(member.get("path"))).name
            _check_file(Path(location) / name, member, result, require_inputs)
        return
    _check_file(Path(location), entry, result, require_inputs)


def _check_file(
    path: Path, entry: dict[str, Any], result: VerifyResult, require_inputs: bool
) -> None:
    """Re-hash one input file (``entry`` names it and holds its recorded hash)."""
    location = str(path)
    try:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(8 * 1024 * 1024):
                digest.update(chunk)
    except FileNotFoundError:
        result.missing.append(entry["path"])
        if require_inputs:
            result.fail(entry["path"], f"not found at its recorded location {location}")
        return
    except OSError as exc:
        result.fail(entry["path"], f"cannot read {location} ({exc.strerror or exc})")
        return
    result.rehashed += 1
    if digest.hexdigest() != entry["sha256"]:
        result.fail(
            entry["path"],
            f"{location} has changed since it was ingested (sha256 {digest.hexdigest()[:16]}…, "
            f"recorded {entry['sha256'][:16]}…)",
        )


def _check_parts(
    con: duckdb.DuckDBPyConnection, case: Case, entry: dict[str, Any], result: VerifyResult
) -> None:
    """Each listed part exists and holds exactly the counted rows, all from this input."""
    for key, count_key in (("part", "rows_loaded"), ("quarantine_part", "rows_quarantined")):
        relative = entry.get(key)
        expected = entry.get(count_key)
        if not relative:
            if expected:
                result.fail(entry["path"], f"{count_key} is {expected} but no part is listed")
            continue
        result.parts += 1
        path = case.root / relative
        if path.is_symlink():
            result.fail(relative, "a symbolic link, not the part distillscan wrote")
            continue
        if not path.is_file():
            result.fail(relative, f"listed for {entry['path']} but missing")
            continue
        recorded = entry.get(f"{key}_sha256")
        if isinstance(recorded, str) and file_sha256(path) != recorded:
            # Then the checks below say what changed, where they can.
            result.fail(relative, "changed since it was written (not the SHA-256 recorded)")
        try:
            parquet = pq.ParquetFile(path)
            rows = parquet.metadata.num_rows
            # Account and CloudTrail parts carry the file name (a bundle's: its files' names),
            # events and quarantine the input's hash.
            members = [
                str(m.get("path")) for m in entry.get("members") or [] if isinstance(m, dict)
            ]
            column, values = (
                ("source_sha256", [entry["sha256"]])
                if "source_sha256" in parquet.schema_arrow.names
                else ("source_file", members or [entry["path"]])
            )
            foreign = con.execute(
                f"""SELECT count(*) FROM read_parquet($file)
                    WHERE {column} IS NULL OR NOT list_contains($values, {column})""",
                {"file": str(path), "values": values},
            ).fetchall()[0][0]
        except (OSError, ValueError, duckdb.Error) as exc:
            result.fail(relative, f"unreadable ({str(exc).splitlines()[0] if str(exc) else exc})")
            continue
        if rows != expected:
            result.fail(
                relative, f"holds {rows} rows; the manifest counts {expected} ({count_key})"
            )
        if foreign:
            result.fail(relative, f"{foreign} row(s) come from another input than {entry['path']}")


def _check_unlisted(case: Case, manifest: dict[str, Any], result: VerifyResult) -> None:
    """Files in the part folders that the manifest does not list."""
    for path in case.unlisted(manifest):
        result.fail(
            path.relative_to(case.root).as_posix(),
            "not listed in the manifest (left by an interrupted ingest? the next ingest "
            "removes it)",
        )


def _check_unique_ids(
    con: duckdb.DuckDBPyConnection, case: Case, manifest: dict[str, Any], result: VerifyResult
) -> None:
    """No ``event_id`` is loaded twice."""
    parts = [p for p in case.parts("events", manifest) if p.is_file()]
    if not parts:
        return
    try:
        rows = con.execute(
            """SELECT event_id, count(*) FROM read_parquet($files)
               GROUP BY event_id HAVING count(*) > 1 ORDER BY event_id LIMIT 5""",
            {"files": [str(p) for p in parts]},
        ).fetchall()
    except duckdb.Error as exc:
        result.fail("events", f"cannot read the event parts ({str(exc).splitlines()[0]})")
        return
    for event_id, count in rows:
        result.fail("events", f"event_id {event_id} is loaded {count} times")


def _check_accounts(case: Case, manifest: dict[str, Any], result: VerifyResult) -> None:
    """``accounts.parquet`` is up to date with the account inputs."""
    inputs = sorted(e["sha256"] for e in manifest["inputs"] if e.get("target") == "accounts")
    if inputs and manifest.get("accounts_published") != inputs:
        result.fail(
            "accounts.parquet",
            "not rebuilt from the account inputs listed (an ingest was interrupted: run ingest "
            "again to finish it)",
        )
