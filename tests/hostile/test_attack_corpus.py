"""The attack corpus: hostile inputs and faults, run through the real command line.

Logs are written by the people under investigation, and a case folder is evidence. Each entry of
``CORPUS`` builds its inputs (and, for faults, a damaged case) in a fresh folder, runs
``python -m distillscan`` as a separate process with a memory limit, and the runner asserts for
every one of them:

* the exit code, and a message that says what happened (on stderr, or verify's stdout);
* no traceback, and no escape sequence, Rich markup or emoji code interpreted on either stream;
* no hang (each command has 60 s);
* nothing outside the case folder changed (the inputs and a bystander folder are hashed before
  and after);
* the case still verifies afterwards, where the attack left one behind;
* the processes' peak memory stayed under ``MEMORY_CEILING`` (``--memory-limit`` is DuckDB's;
  the ceiling is for the whole process).

The ingest-level table of broken files (counts and reasons line by line) is in
``tests/ingest/test_hostile.py``; the report formats' escaping in
``tests/render/test_hostile_output.py``. This file is about what an attacker or an accident does
to the process and the folder.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillscan.cli import app

#: Peak resident memory any one command may reach (bytes); the bombs below decompress to far more.
MEMORY_CEILING = 1536 * 1024 * 1024
#: Seconds before a command counts as hung.
TIMEOUT = 60
#: What must never reach a terminal from a log or a file name: escape/control bytes, and the
#: emoji Rich would substitute for ``:warning:``.
FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]|\u26a0")
#: A value that would be markup, an emoji code and a hyperlink if a console interpreted it.
MARKUP = "[bold red]x[/bold red] :warning: [link=https://e.vil]y[/link]"
#: The same in a file name (no ``/``).
NAME_MARKUP = "[bold red]x[red] :warning: [link=https:e.vil]y[link]"


@dataclass
class Run:
    """One command's outcome, with the peak resident memory of its process (bytes)."""

    code: int
    stdout: str
    stderr: str
    peak: int


@dataclass
class Attack:
    """One corpus entry.

    ``prepare(root)`` builds the inputs under ``root/inputs`` (and may build a case at
    ``root/case`` with :func:`small_case`); ``argv(root)`` is the attacking command; ``code`` its
    expected exit code and ``message`` a pattern its output must match; ``check(root, run)``
    asserts anything else. ``verifies``: the case must pass ``verify`` afterwards.
    """

    name: str
    prepare: Callable[[Path], None]
    argv: Callable[[Path], list[str | Path]]
    code: int
    message: str
    check: Callable[[Path, Run], None] | None = None
    verifies: bool = True


def cli(*args: str | Path, timeout: int = TIMEOUT, cwd: Path | None = None) -> Run:
    """Run ``python -m distillscan ARGS`` as its own process (killed after ``timeout``), in
    ``cwd`` (where a default case folder is made)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "distillscan", *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"},
    )
    streams: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda n=n, s=s: streams.__setitem__(n, s.read()))
        for n, s in (("out", process.stdout), ("err", process.stderr))
    ]
    for reader in readers:
        reader.start()
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        # wait4, not wait: the child's own resource usage, not the maximum over every child.
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
        for reader in readers:
            reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode != -9, f"killed after {timeout} s: {args}"

    def text(name: str) -> str:
        return streams[name].decode("utf-8", "backslashreplace")

    return Run(process.returncode, text("out"), text("err"), usage.ru_maxrss * 1024)


def record(index: int, **fields: object) -> dict[str, object]:
    """A valid canonical event."""
    base: dict[str, object] = {
        "event_id": f"req_{index:07d}",
        "timestamp": f"2026-02-03T14:{index // 60 % 60:02d}:{index % 60:02d}Z",
        "account_id": f"acct_{index % 5}",
        "model": "frontier-2",
        "prompt": f"Explain topic {index} step by step.",
    }
    base.update(fields)
    return base


def write_jsonl(path: Path, records: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")


def small_case(root: Path) -> None:
    """A case of one small canonical file at ``root/case``, investigated.

    Investigated in this process: the case is where an attack starts, not the attack, which
    runs as its own process (a separate interpreter here cost a second per entry).
    """
    write_jsonl(root / "inputs" / "day.jsonl", [record(i) for i in range(40)])
    argv = ["investigate", str(root / "inputs"), "--case", str(root / "case"), "-q", "--brief"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output


# --- the inputs --------------------------------------------------------------------------------


def zero_bomb(root: Path) -> None:
    """300 MB of zeros in about 300 KB of gzip (the reader's budget here is 20 MiB)."""
    (root / "inputs").mkdir(parents=True)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    with (root / "inputs" / "bomb.jsonl.gz").open("wb") as handle:
        for _ in range(300):
            handle.write(compressor.compress(block))
        handle.write(compressor.flush())


def record_bomb(root: Path) -> None:
    """Valid records repeated far past any real compression ratio."""
    (root / "inputs").mkdir(parents=True)
    line = (json.dumps(record(1)) + "\n").encode("utf-8")
    with gzip.open(root / "inputs" / "repeat.jsonl.gz", "wb", compresslevel=9) as handle:
        for _ in range(40):
            handle.write(line * 10_000)


def long_line(root: Path) -> None:
    """A 3 MB line between two ordinary records (the limit here is 1 MiB)."""
    write_jsonl(
        root / "inputs" / "long.jsonl",
        [record(1), record(2, prompt="x" * 3_000_000), record(3)],
    )


def markup_name(root: Path) -> None:
    """A file that cannot be loaded, named with markup, an emoji code and a hyperlink."""
    folder = root / "inputs"
    folder.mkdir(parents=True)
    (folder / f"{NAME_MARKUP}.jsonl").write_text("not a log\n", "utf-8")


def markup_values(root: Path) -> None:
    """Markup, emoji codes and terminal escapes in ids, prompts and a broken timestamp."""
    records = [
        record(i, account_id=f"{MARKUP}\x1b]8;;https://e.vil\x07{i % 3}", prompt=f"\x1b[2J{MARKUP}")
        for i in range(30)
    ]
    records.append(record(99, timestamp=f"not a time {MARKUP} \x1b[31m"))
    write_jsonl(root / "inputs" / "marked.jsonl", records)


def symlinked_parts(root: Path) -> None:
    """A case whose events folder was replaced by a link to a folder elsewhere."""
    small_case(root)
    shutil.rmtree(root / "case" / "events.parquet")
    (root / "bystander" / "precious.parquet").write_bytes(b"not yours")
    (root / "case" / "events.parquet").symlink_to(root / "bystander")


def fifo_lock(root: Path) -> None:
    """A FIFO where the case's lock file belongs: opening it would wait for ever."""
    small_case(root)
    (root / "case" / ".lock").unlink()
    os.mkfifo(root / "case" / ".lock")


def tampered_part(root: Path) -> None:
    """One value changed inside an events part after the ingest."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    small_case(root)
    part = sorted((root / "case" / "events.parquet").iterdir())[0]
    table = pq.read_table(part)
    column = table.schema.get_field_index("account_id")
    forged = pc.if_else(pc.equal(table["account_id"], "acct_1"), "acct_9", table["account_id"])
    pq.write_table(table.set_column(column, "account_id", forged), part)


def tampered_manifest(root: Path) -> None:
    """The manifest rewritten by hand (a format name changed)."""
    small_case(root)
    path = root / "case" / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    manifest["inputs"][0]["format"] = "openai"
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", "utf-8")


def tampered_results(root: Path) -> None:
    """A campaign's finding deleted from the evidence after the investigation."""
    small_case(root)
    (root / "case" / "evidence.parquet").write_bytes(
        (root / "case" / "campaigns.parquet").read_bytes()
    )


def escape_named_input(root: Path) -> None:
    """An input whose name holds an escape sequence and glob characters, investigated without
    --case: the default case folder is named from it."""
    write_jsonl(root / "inputs" / "x\x1b[31m[1]?.jsonl", [record(i) for i in range(40)])


def default_case_is_plain(root: Path, run: Run) -> None:
    (case,) = (root / "distillscan-cases").iterdir()
    assert re.fullmatch(r"[A-Za-z0-9._-]+", case.name), case.name
    shutil.move(case, root / "case")  # for the runner's verify


def killed_while_publishing(root: Path) -> None:
    """A run killed after its commit point, between renaming two of its outputs."""
    small_case(root)
    case = root / "case"
    for name in ("accounts.parquet", "campaigns.parquet"):
        shutil.copy(case / name, case / f"{name}.new")
    (case / "results.journal").write_text(
        json.dumps(["accounts.parquet", "campaigns.parquet", "investigation.json"]) + "\n"
    )


def killed_before_commit(root: Path) -> None:
    """A run killed while writing its new outputs, before its commit point."""
    small_case(root)
    (root / "case" / "evidence.parquet.new").write_bytes(b"half a file")


# --- the checks --------------------------------------------------------------------------------


def quarantined_with(reason: str, loaded: int | None = None) -> Callable[[Path, Run], None]:
    """The manifest counts the file, and its quarantine holds ``reason``."""

    def check(root: Path, run: Run) -> None:
        manifest = json.loads((root / "case" / "manifest.json").read_text("utf-8"))
        (entry,) = manifest["inputs"]
        assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_quarantined"]
        assert entry["rows_quarantined"] >= 1
        if loaded is not None:
            assert entry["rows_loaded"] == loaded
        assert reason in run.stderr

    return check


def bystander_untouched(root: Path, run: Run) -> None:
    assert (root / "bystander" / "precious.parquet").read_bytes() == b"not yours"


def output_refused(root: Path, run: Run) -> None:
    again = cli(
        "report", root / "case", "--format", "json", "--output", root / "inputs" / "day.jsonl"
    )
    assert again.code == 2 and "is an input of the case" in again.stderr


def finished_on_next_run(root: Path, run: Run) -> None:
    again = cli("investigate", "--case", root / "case", "-q", "--brief")
    assert again.code == 0, again.stderr
    assert not (root / "case" / "results.journal").exists()
    assert cli("verify", root / "case").code == 0


def debris_removed(root: Path, run: Run) -> None:
    again = cli("investigate", "--case", root / "case", "-q", "--brief")
    assert again.code == 0, again.stderr
    assert not (root / "case" / "evidence.parquet.new").exists()


CORPUS = [
    Attack(
        "gzip bomb of zeros",
        zero_bomb,
        lambda r: ["ingest", r / "inputs", "--case", r / "case", "--max-expansion", "20"],
        0,
        "decompression bomb",
        quarantined_with("decompression bomb", loaded=0),
    ),
    Attack(
        "gzip bomb of valid records",
        record_bomb,
        lambda r: ["ingest", r / "inputs", "--case", r / "case", "--max-expansion", "2"],
        0,
        "decompression bomb",
        quarantined_with("decompression bomb"),
    ),
    Attack(
        "a line past the record limit",
        long_line,
        lambda r: ["ingest", r / "inputs", "--case", r / "case", "--max-record-size", "1MiB"],
        0,
        "long.jsonl:2: a line longer than 1,048,576 bytes",
        quarantined_with("a line longer than", loaded=2),
    ),
    Attack(
        "markup in a file name",
        markup_name,
        lambda r: ["investigate", r / "inputs", "--case", r / "case"],
        2,
        re.escape(NAME_MARKUP),
        verifies=False,  # nothing loaded: no case is left behind
    ),
    Attack(
        "markup and escapes in values",
        markup_values,
        lambda r: ["investigate", r / "inputs", "--case", r / "case"],
        0,
        re.escape(MARKUP[:40]),
    ),
    Attack(
        "a part folder linked elsewhere",
        symlinked_parts,
        lambda r: ["ingest", r / "inputs", "--case", r / "case"],
        2,
        "a link or special file inside the case folder",
        bystander_untouched,
        verifies=False,
    ),
    Attack(
        "a FIFO as the lock file",
        fifo_lock,
        lambda r: ["report", r / "case", "--brief"],
        2,
        "a link or special file inside the case folder",
        verifies=False,
    ),
    Attack(
        "a report written over the manifest",
        small_case,
        lambda r: ["report", r / "case", "-f", "json", "--output", r / "case" / "manifest.json"],
        2,
        "is inside the case folder",
        output_refused,
    ),
    Attack(
        "a value edited inside a part",
        tampered_part,
        lambda r: ["verify", r / "case"],
        1,
        r"events\.parquet/\w+\.parquet: changed since it was written",
        verifies=False,
    ),
    Attack(
        "the manifest edited by hand",
        tampered_manifest,
        lambda r: ["verify", r / "case"],
        1,
        "manifest: edited since distillscan wrote it",
        verifies=False,
    ),
    Attack(
        "a result file replaced",
        tampered_results,
        lambda r: ["verify", r / "case"],
        1,
        "evidence.parquet: changed since the investigation wrote it",
        verifies=False,
    ),
    Attack(
        "a case path with glob characters",
        long_line,
        lambda r: ["investigate", r / "inputs", "--case", r / "case[1]?"],
        2,
        r"a case folder's path may not hold \? \[ \]",
        lambda r, run: None if not (r / "case[1]?").exists() else pytest.fail("folder made"),
        verifies=False,
    ),
    Attack(
        "an escape sequence in an input's name",
        escape_named_input,
        lambda r: ["investigate", next((r / "inputs").iterdir()), "-q", "--brief"],
        0,
        "",
        default_case_is_plain,
    ),
    Attack(
        "killed between renaming its outputs",
        killed_while_publishing,
        lambda r: ["report", r / "case", "--brief"],
        2,
        "stopped while replacing its results",
        finished_on_next_run,
        verifies=False,  # checked by finished_on_next_run, after the case is finished
    ),
    Attack(
        "killed before its commit point",
        killed_before_commit,
        lambda r: ["report", r / "case", "--brief"],
        0,
        "",
        debris_removed,
    ),
]


def _digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every regular file under ``folder`` (links not followed)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.mark.parametrize("attack", CORPUS, ids=[a.name for a in CORPUS])
def test_attack(attack: Attack, tmp_path: Path) -> None:
    (tmp_path / "bystander").mkdir()
    (tmp_path / "bystander" / "note.txt").write_text("outside the case\n")
    attack.prepare(tmp_path)
    outside = {
        name: _digests(tmp_path / name)
        for name in ("inputs", "bystander")
        if (tmp_path / name).is_dir()
    }
    argv = attack.argv(tmp_path)
    if argv[0] in ("ingest", "investigate"):
        argv += ["--memory-limit", "512MB"]
    run = cli(*argv, cwd=tmp_path)

    assert run.code == attack.code, (run.stdout[-2000:], run.stderr[-2000:])
    assert re.search(attack.message, run.stdout + run.stderr), run.stderr[-2000:]
    for stream in (run.stdout, run.stderr):
        assert "Traceback" not in stream
        assert not FORBIDDEN.search(stream), FORBIDDEN.search(stream)
    if attack.check is not None:
        attack.check(tmp_path, run)
    assert outside == {name: _digests(tmp_path / name) for name in outside}, (
        "a file outside the case changed"
    )
    if attack.verifies:
        verified = cli("verify", tmp_path / "case")
        assert verified.code == 0, verified.stdout
    assert run.peak < MEMORY_CEILING, f"the command reached {run.peak / 2**20:.0f} MiB"
