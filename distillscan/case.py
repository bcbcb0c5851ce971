"""The case folder: where an investigation's tables, manifest and DuckDB views live.

Layout (see ``docs/case-folder.md``)::

    DIR/manifest.json            inputs with sha256, format and row counts; totals
    DIR/events.parquet/          canonical events, one Parquet part per input file
    DIR/quarantine.parquet/      rows that could not be loaded, with the reason
    DIR/account_inputs.parquet/  account metadata as read, one part per input
    DIR/accounts.parquet         one row per account: metadata, then scores after ``investigate``
    DIR/cloudtrail.parquet/      CloudTrail records used to enrich Bedrock logs
    DIR/case.duckdb              views over all of the above, for ad-hoc SQL
    DIR/.tmp/                    DuckDB's spill files while a command runs (``--temp-dir``)

Writes are crash-safe: an ingest writes everything under ``DIR/.staging``, moves the files into
place under names no committed manifest uses (a rewritten part gets a new revision name), makes
them durable, and then replaces the manifest: that rename is the commit point. A part that the
manifest does not list is debris from an interrupted run; it is never read and is removed by the
next ingest, so a killed ingest leaves the case as it was, and re-running it finishes the job.
Commands that write take an exclusive lock on ``DIR/.lock``; ``verify`` takes a shared one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb

from distillscan import __version__
from distillscan.db import sql_list, sql_string
from distillscan.errors import CaseError, ConfigError
from distillscan.schema import TABLES

MANIFEST = "manifest.json"
DATABASE = "case.duckdb"
QUARANTINE_DIR = "quarantine.parquet"
ACCOUNTS_FILE = "accounts.parquet"
STAGING_DIR = ".staging"
SPILL_DIR = ".tmp"
LOCK_FILE = ".lock"
CASE_SCHEMA_VERSION = 1
INVESTIGATION_FILE = "investigation.json"
#: Written when an investigation's new outputs are all in place beside the old: its commit point.
RESULTS_JOURNAL = "results.journal"
NEW_SUFFIX = ".new"
#: Every run's campaigns, one row per campaign per run (:mod:`distillscan.tracking`).
HISTORY_FILE = "history.parquet"
#: Investigators' decisions (:mod:`distillscan.triage`).
TRIAGE_FILE = "triage.json"
#: The text features kept per events part (:mod:`distillscan.detect.text_cache`).
FEATURES_DIR = "features.parquet"
#: What ``investigate`` writes, all replaced as one (:meth:`Case.publish_results`).
RESULT_FILES = (
    "accounts.parquet",
    "campaigns.parquet",
    "evidence.parquet",
    HISTORY_FILE,
    INVESTIGATION_FILE,
)


@dataclass(frozen=True, slots=True)
class Case:
    """A case folder on disk."""

    root: Path

    @property
    def manifest_path(self) -> Path:
        """Path of ``manifest.json``."""
        return self.root / MANIFEST

    def exists(self) -> bool:
        """True once an ingest has committed a manifest here."""
        return self.manifest_path.is_file()

    def load_manifest(self) -> dict[str, Any]:
        """The manifest, or an empty one for a new case."""
        if not self.exists():
            return empty_manifest()
        try:
            manifest: dict[str, Any] = json.loads(self.manifest_path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise CaseError(
                f"{self.manifest_path}: cannot read the case manifest ({exc})"
            ) from None
        if manifest.get("case_schema") != CASE_SCHEMA_VERSION:
            raise CaseError(
                f"{self.manifest_path}: case schema {manifest.get('case_schema')!r} is not "
                f"supported by distillscan {__version__}",
                hint="ingest the logs again into a new case folder",
            )
        return manifest

    def save_manifest(self, manifest: dict[str, Any]) -> None:
        """Atomically replace the manifest (the commit point of an ingest), sealed with its own
        SHA-256 (:func:`manifest_digest`)."""
        manifest["manifest_sha256"] = manifest_digest(manifest)
        write_atomic(self.manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    def parts(self, table: str, manifest: dict[str, Any] | None = None) -> list[Path]:
        """Committed Parquet parts of ``table`` (``events``, ``quarantine``, ...), sorted."""
        manifest = manifest if manifest is not None else self.load_manifest()
        key = "quarantine_part" if table == "quarantine" else "part"
        found = []
        for entry in manifest["inputs"]:
            if table != "quarantine" and entry.get("target") != table:
                continue
            if entry.get(key):
                found.append(self.root / entry[key])
        return sorted(found)

    def part_dirs(self) -> list[Path]:
        """The folders that hold Parquet parts (whether or not they exist yet)."""
        names = [*(spec.part_dir for spec in TABLES.values()), QUARANTINE_DIR]
        return [self.root / name for name in names]

    def unlisted(self, manifest: dict[str, Any]) -> list[Path]:
        """Entries in the part folders that the manifest does not list (sorted)."""
        committed = {p.resolve() for t in (*TABLES, "quarantine") for p in self.parts(t, manifest)}
        found = []
        for folder in self.part_dirs():
            if folder.is_dir():
                found += [p for p in folder.iterdir() if p.resolve() not in committed]
        return sorted(found)

    def remove_debris(self, manifest: dict[str, Any]) -> None:
        """Delete what an interrupted ingest left: unlisted parts, temporary files, staging."""
        for path in self.unlisted(manifest):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        for leftover in (self.root / (MANIFEST + ".tmp"), self.root / (ACCOUNTS_FILE + ".tmp")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(self.root / STAGING_DIR, ignore_errors=True)

    def check_path(self) -> None:
        """Refuse a case folder whose path DuckDB would read as a pattern or options.

        DuckDB treats ``* ? [ ] { }`` in a file path as a glob and ``?`` in a database path as
        the start of options, so the case's parts and ``case.duckdb`` could not be named
        reliably.

        Raises:
            CaseError: naming the characters.
        """
        special = sorted(set(str(self.root.absolute())) & set("*?[]{}"))
        if special:
            raise CaseError(
                f"{self.root}: a case folder's path may not hold {' '.join(special)} "
                "(DuckDB reads them as patterns)",
                hint="choose another --case folder",
            )

    def check_entries(self) -> None:
        """Refuse a case whose own entries are links or special files.

        Every command works on paths inside the case folder: a symbolic link there (to the
        parts, the manifest, the lock) would make it read, overwrite or delete files elsewhere,
        and a FIFO would make it wait for ever. Such a case was not written by distillscan.

        Raises:
            CaseError: naming the first such entry.
        """
        names = [
            MANIFEST,
            DATABASE,
            LOCK_FILE,
            STAGING_DIR,
            SPILL_DIR,
            INVESTIGATION_FILE,
            RESULTS_JOURNAL,
            ACCOUNTS_FILE,
            "campaigns.parquet",
            "evidence.parquet",
            HISTORY_FILE,
            TRIAGE_FILE,
            FEATURES_DIR,
            *(path.name for path in self.part_dirs()),
        ]
        folders = [*self.part_dirs(), self.root / FEATURES_DIR]
        for folder in [self.root, *(p for p in folders if p.is_dir())]:
            entries = [folder / name for name in names] if folder == self.root else folder.iterdir()
            for path in sorted(entries):
                if not path.is_symlink() and not path.exists():
                    continue
                kind = path.lstat().st_mode
                if stat.S_ISLNK(kind) or not (stat.S_ISREG(kind) or stat.S_ISDIR(kind)):
                    raise CaseError(
                        f"{path}: a link or special file inside the case folder; distillscan "
                        "never writes one, and will not follow it",
                        hint="remove it, or work on a copy of the case made without links",
                    )

    def refuses_output(self, path: Path) -> str | None:
        """Why a report may not be written to ``path``, or None.

        A report is written beside the evidence, never over it: not into the case folder
        (its parts, manifest and results), not over an input the manifest lists, and not
        through a symbolic link (which could point at either).
        """
        if path.is_symlink():
            return "is a symbolic link"
        target = path.resolve()
        root = self.root.resolve()
        if target == root or root in target.parents:
            return f"is inside the case folder {self.root}"
        manifest = self.load_manifest() if self.exists() else empty_manifest()
        for entry in manifest["inputs"]:
            location = (entry.get("run_metadata") or {}).get("absolute_path")
            if not location:
                continue
            if Path(location).resolve() == target:
                return f"is an input of the case ({entry['path']})"
            for member in entry.get("members") or []:  # a bundle's files, in its folder
                name = PurePosixPath(str(member.get("path"))).name
                if (Path(location) / name).resolve() == target:
                    return f"is an input of the case ({member.get('path')})"
        return None

    def publish_results(self, files: dict[str, Any], record: dict[str, Any]) -> None:
        """Replace an investigation's outputs as one step: all new, or all as before.

        ``files`` maps each output's name to a function that writes it to the path it is
        given. Each is written beside its final name (``NAME.new``) and made durable, with the
        record (``investigation.json``, holding every output's SHA-256) last; then the journal
        ``RESULTS_JOURNAL`` is written: that is the commit point. The renames that follow can be
        cut short by a crash: :meth:`finish_publishing` completes them (the next command that
        takes the write lock calls it), and until then readers refuse the case. A run killed
        before the journal leaves the previous results whole and ``.new`` files that the next
        run removes.
        """
        record = dict(record)
        record["outputs"] = {}
        for name, write in sorted(files.items()):
            staged = self.root / (name + NEW_SUFFIX)
            write(staged)
            fsync_file(staged)
            record["outputs"][name] = file_sha256(staged)
        record["investigation_sha256"] = json_digest(record, "investigation_sha256")
        staged_record = self.root / (INVESTIGATION_FILE + NEW_SUFFIX)
        with staged_record.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps(record, indent=2, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        names = [*sorted(files), INVESTIGATION_FILE]
        if not set(names) <= set(RESULT_FILES):  # pragma: no cover - a programming mistake
            raise ValueError(f"not a result file: {sorted(set(names) - set(RESULT_FILES))}")
        write_atomic(self.root / RESULTS_JOURNAL, json.dumps(names) + "\n")
        self.finish_publishing()

    def finish_publishing(self) -> None:
        """Complete an interrupted publish of results (see :meth:`publish_results`), or drop
        the staged files of one that never reached its commit point.

        Only the result files' own ``.new`` names are touched, whatever the journal says: it
        marks the commit point, and its text is never trusted as a list of paths.
        """
        journal = self.root / RESULTS_JOURNAL
        committed = journal.is_file()
        for name in RESULT_FILES:
            staged = self.root / (name + NEW_SUFFIX)
            if not staged.is_file() or staged.is_symlink():
                continue
            if committed:
                staged.replace(self.root / name)
            else:
                staged.unlink()
        if committed:
            fsync_dir(self.root)
            journal.unlink()
            fsync_dir(self.root)

    @contextlib.contextmanager
    def lock(self, shared: bool = False) -> Iterator[None]:
        """Hold the case lock: exclusive to write, shared to read a consistent state.

        Raises:
            CaseError: another distillscan command holds it in a conflicting mode, or the
                case holds a link or special file where its own files belong.
        """
        self.check_path()
        self.root.mkdir(parents=True, exist_ok=True)
        self.check_entries()
        descriptor = self._open_lock(shared)
        if descriptor is None:
            # A reader of a case folder it may not write, with no lock file in it: nothing
            # this user runs can write there either, and evidence on read-only media must
            # still verify and report.
            yield
            return
        with os.fdopen(descriptor, "a" if not shared else "r") as handle:
            try:
                fcntl.flock(
                    handle.fileno(), (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
                )
            except BlockingIOError:
                raise CaseError(
                    f"{self.root}: another distillscan command is using this case",
                    hint="wait for it to finish, then try again",
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _open_lock(self, shared: bool) -> int | None:
        """A descriptor of the lock file, created if need be; None for a reader that may not
        create it in a folder it may not write.

        O_NOFOLLOW and O_NONBLOCK: a link or a FIFO put in place of the lock file since the
        entries were checked is refused by the kernel, not followed or waited on.

        Raises:
            CaseError: a writer may not write the case folder (permissions).
        """
        path = self.root / LOCK_FILE
        guard = os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | guard, 0o644)
        except PermissionError as exc:
            if not shared:
                raise CaseError(
                    f"{self.root}: cannot write this case folder ({exc.strerror})",
                    hint="run as a user who may write it, or copy the folder (cp -r) to one "
                    "you may write and use the copy; reading commands (report, show, verify, "
                    "sql) work on it as it is",
                ) from None
        except OSError as exc:
            if not shared or exc.errno != errno.EROFS:
                raise
        try:
            return os.open(path, os.O_RDONLY | guard)  # a shared flock needs no write access
        except FileNotFoundError:
            return None

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection to ``case.duckdb`` with views refreshed to the committed parts."""
        con = connect(str(self.root / DATABASE), read_only=read_only)
        if not read_only:
            self.refresh_views(con)
        return con

    def refresh_views(self, con: duckdb.DuckDBPyConnection) -> None:
        """(Re)create the views ``events``, ``quarantine``, ``accounts`` and ``cloudtrail``.

        With CloudTrail records in the case, ``events`` fills missing client IPs and user agents
        from them by request id (see :func:`_events_with_cloudtrail`).

        Views name absolute paths because DuckDB resolves relative ones against the working
        directory; every distillscan command refreshes them, so a moved case heals itself.
        """
        manifest = self.load_manifest()
        for table in ("events", "quarantine", "cloudtrail", "account_inputs"):
            spec_name = "accounts" if table == "account_inputs" else table
            parts = self.parts(spec_name, manifest)
            missing = [p for p in parts if not p.is_file()]
            if missing:
                raise CaseError(
                    f"{self.root}: case damaged: {len(missing)} {table} part(s) listed in the "
                    f"manifest are missing, first {missing[0].relative_to(self.root)}",
                    hint=f"run `distillscan verify {self.root}` to see what changed",
                )
            if parts:
                files = sql_list([str(p.resolve()) for p in parts])
                con.execute(
                    f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet({files})"
                )
            else:
                con.execute(f"DROP VIEW IF EXISTS {table}")
        events, trail = self.parts("events", manifest), self.parts("cloudtrail", manifest)
        if events and trail:
            con.execute(
                f"CREATE OR REPLACE VIEW events AS {_events_with_cloudtrail(events, trail)}"
            )
        con.execute(f"DROP VIEW IF EXISTS {EVENTS_AS_LOGGED}")
        con.execute(f"DROP TABLE IF EXISTS {ROLE_SESSIONS}")
        if events and any(entry.get("format") == "bedrock" for entry in manifest["inputs"]):
            # Whether a role's sessions are people or processes is a property of the whole case.
            con.execute(f"ALTER VIEW events RENAME TO {EVENTS_AS_LOGGED}")
            con.execute(f"CREATE TABLE {ROLE_SESSIONS} AS {role_sessions_sql(EVENTS_AS_LOGGED)}")
            con.execute(f"CREATE VIEW events AS {_events_with_roles(EVENTS_AS_LOGGED)}")
        accounts = self.root / ACCOUNTS_FILE
        if accounts.is_file():
            path = sql_string(str(accounts.resolve()))
            con.execute(f"CREATE OR REPLACE VIEW accounts AS SELECT * FROM read_parquet({path})")
        else:
            con.execute("DROP VIEW IF EXISTS accounts")


@dataclass(frozen=True, slots=True)
class Resources:
    """How much memory DuckDB may use, and where it spills what does not fit.

    Attributes:
        memory_limit: A DuckDB size such as ``"8GB"``; None keeps DuckDB's default (80% of RAM).
        temp_dir: Where to spill; None spills into the case folder's ``.tmp``.
    """

    memory_limit: str | None = None
    temp_dir: Path | None = None


def connect(
    database: str = ":memory:",
    read_only: bool = False,
    resources: Resources | None = None,
    spill_dir: Path | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the session settings every distillscan query assumes.

    Args:
        database: The database file, or an in-memory database.
        read_only: Open the file read-only.
        resources: Memory limit and spill directory chosen by the user.
        spill_dir: Where to spill when ``resources`` names none (usually the case's ``.tmp``).

    Raises:
        ConfigError: the memory limit or spill directory is not usable.
    """
    con = duckdb.connect(database, read_only=read_only)
    # Naive timestamps and date functions must mean UTC on every machine.
    con.execute("SET TimeZone = 'UTC'")
    resources = resources or Resources()
    temp_dir = resources.temp_dir or spill_dir
    try:
        if resources.memory_limit is not None:
            con.execute(f"SET memory_limit = {sql_string(resources.memory_limit)}")
        if temp_dir is not None:
            temp_dir.mkdir(parents=True, exist_ok=True)
            con.execute(f"SET temp_directory = {sql_string(str(temp_dir.resolve()))}")
    except (duckdb.Error, OSError) as exc:
        con.close()
        raise ConfigError(
            f"cannot use memory limit {resources.memory_limit!r} / spill directory "
            f"{str(temp_dir)!r}: {str(exc).splitlines()[0]}",
            hint="give --memory-limit as a size such as 8GB and --temp-dir as a writable folder",
        ) from None
    return con


def json_digest(document: dict[str, Any], seal_key: str) -> str:
    """SHA-256 of a JSON document without its ``seal_key``, written as the case writes JSON.

    A seal against accident and casual edits, not a signature: whoever can rewrite the file
    can also recompute it. Keep the manifest's digest outside the case (in the incident ticket)
    to make the whole case tamper-evident: the manifest holds every part's hash.
    """
    body = {key: value for key, value in document.items() if key != seal_key}
    text = json.dumps(body, indent=2, sort_keys=True) + "\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest_digest(manifest: dict[str, Any]) -> str:
    """The manifest's seal (``manifest_sha256``)."""
    return json_digest(manifest, "manifest_sha256")


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def empty_manifest() -> dict[str, Any]:
    """The manifest of a case with nothing ingested yet."""
    return {
        "tool": "distillscan",
        "version": __version__,
        "case_schema": CASE_SCHEMA_VERSION,
        "inputs": [],
        "skipped": [],
        "totals": {"rows_read": 0, "rows_loaded": 0, "rows_quarantined": 0},
    }


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new, never half."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    fsync_dir(path.parent)


def fsync_file(path: Path) -> None:
    """Flush a file's data to disk (before a rename publishes it)."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk, so that renames into it survive a power cut."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


#: A CloudTrail ``sourceIPAddress`` that is an address (not "AWS Internal" or a service name).
_IP_ADDRESS = r"[0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+"
#: An assumed role's ARN: the role (group 1) and the session name (group 2).
ASSUMED_ROLE = r"^(arn:aws[a-z-]*:sts::[0-9]*:assumed-role/[^/]+)/(.+)$"
#: The principals of roles whose sessions are per-process credentials (see ``role_sessions_sql``).
ROLE_SESSIONS = "role_sessions"
#: The events as their parts hold them, before ``events`` folds per-process role sessions.
EVENTS_AS_LOGGED = "events_as_logged"
#: No STS credential outlives this (a role's maximum session duration is 12 hours).
_LONGEST_CREDENTIAL = "INTERVAL 12 HOUR"


def role_sessions_sql(events: str) -> str:
    """Each assumed-role principal in ``events`` whose role's sessions are per-process credentials.

    Columns: principal (the whole ARN, as logged), role (the ARN without the session name), session.

    Bedrock names the caller ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``. The session name
    is whatever the caller chose when it assumed the role: the user's name under IAM Identity
    Center, the function under Lambda, an instance id, or a fresh ``botocore-session-<epoch>`` per
    process. In the first cases the session is a person or a workload and must stay its own
    account; in the last, one workload would be split into hundreds of accounts, each too small to
    judge, and the role is the account. The two are told apart by time, relative to the role's own
    traffic: no STS credential lasts longer than 12 hours, so a session name seen over a longer span
    is a name re-used across credentials (a person, a function), not one process. A role most of
    whose requests come from such names keeps its sessions as accounts; any other role is one
    account.

    Falsely folds: a role whose people each work in bursts shorter than 12 hours within the
    exported window (a one-day export folds every role; re-run when more days are in). Falsely
    keeps: per-process sessions whose names repeat (a fixed session name in a cron job's code),
    which is one workload under one name anyway.
    """
    return f"""
WITH sessions AS (
    SELECT account_id AS principal,
        regexp_extract(account_id, {sql_string(ASSUMED_ROLE)}, 1) AS role,
        regexp_extract(account_id, {sql_string(ASSUMED_ROLE)}, 2) AS session,
        count(*) AS requests,
        max(ts) - min(ts) > {_LONGEST_CREDENTIAL} AS outlives_a_credential
    FROM {events}
    WHERE regexp_full_match(account_id, {sql_string(ASSUMED_ROLE)})
    GROUP BY account_id
),
per_process_roles AS (
    SELECT role FROM sessions
    GROUP BY role
    HAVING coalesce(sum(requests) FILTER (WHERE outlives_a_credential), 0) * 2 < sum(requests)
)
SELECT principal, role, session FROM sessions
WHERE role IN (SELECT role FROM per_process_roles)
ORDER BY principal"""


def _events_with_roles(events: str) -> str:
    """The ``events`` query with the principals of ``role_sessions`` folded into their role.

    The session name becomes the end user unless the request names one (``requestMetadata``).
    """
    return f"""SELECT e.* REPLACE (
            coalesce(r.role, e.account_id) AS account_id,
            CASE WHEN r.role IS NULL THEN e.end_user_id
                 ELSE coalesce(e.end_user_id, r.session) END AS end_user_id)
        FROM {events} AS e
        LEFT JOIN {ROLE_SESSIONS} AS r ON r.principal = e.account_id"""


def _events_with_cloudtrail(events: list[Path], trail: list[Path]) -> str:
    """The ``events`` query with ``source_ip``/``user_agent`` filled from CloudTrail where missing.

    Bedrock invocation logs carry neither; CloudTrail has both under the same request id. The join
    happens in the view, not in the Parquet parts, so the result does not depend on whether the
    CloudTrail or the Bedrock files were ingested first. Records of calls an AWS service made on
    the caller's behalf (no client address) are not used, and when a request id appears in
    several CloudTrail records the first by file and line wins, so events are never duplicated.
    """
    event_files = sql_list([str(p.resolve()) for p in events])
    trail_files = sql_list([str(p.resolve()) for p in trail])
    return f"""SELECT e.* REPLACE (
            coalesce(e.source_ip, ct.source_ip) AS source_ip,
            coalesce(e.user_agent, ct.user_agent) AS user_agent)
        FROM read_parquet({event_files}) AS e
        LEFT JOIN (
            SELECT request_id,
                arg_min(source_ip, (source_file, source_line)) AS source_ip,
                arg_min(user_agent, (source_file, source_line))
                    FILTER (WHERE user_agent IS NOT NULL) AS user_agent
            FROM read_parquet({trail_files})
            WHERE regexp_full_match(source_ip, {sql_string(_IP_ADDRESS)})
            GROUP BY request_id
        ) AS ct ON ct.request_id = e.event_id"""
