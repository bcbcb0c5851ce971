"""Finding the input files under the paths an investigator names.

Folders are walked recursively (following symbolic links, with loops detected). Files whose names
say they are not logs are listed as skipped with the reason, never silently ignored; a folder that
cannot be listed is an error, because the files in it would otherwise be lost without a word. A
folder holding a ``.distillscan-truth`` marker is a simulator's ground truth and is left out.

Each file gets a display name: its path relative to the parent of the argument it was found
under (``logs/2026-02/part-1.jsonl`` for ``distillscan ingest /data/logs``), so results never
hold the machine's absolute paths. Two different files that would share a display name get as
many leading folders as it takes to tell them apart.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from distillscan.errors import InputError
from distillscan.ingest.readers import container_of
from distillscan.ingest.streams import compression_of

#: A folder with this file holds ground truth (written by ``distillscan simulate``).
TRUTH_MARKER = ".distillscan-truth"


@dataclass(frozen=True, slots=True)
class InputFile:
    """A file found under the input paths.

    Attributes:
        path: Where to open it (as reached from the argument, symbolic links not resolved).
        display: The name recorded in events and reports (see the module docstring).
        container: ``jsonl``, ``json``, ``csv`` or ``parquet``.
        compression: ``gz``, ``zst`` or None.
        explicit: Named on the command line itself, not found by walking a folder.
    """

    path: Path
    display: str
    container: str | None
    compression: str | None
    explicit: bool = False


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file or folder left out, and why; ``error`` when its contents could not be looked at."""

    display: str
    reason: str
    error: bool = False


def discover(paths: list[Path]) -> tuple[list[InputFile], list[Skipped]]:
    """Expand ``paths`` into input files (sorted by display name) and skipped entries.

    Raises:
        InputError: a path does not exist or cannot be looked at.
    """
    found: list[tuple[InputFile, list[str]]] = []  # each file with the folders above its display
    skipped: list[Skipped] = []
    for path in paths:
        try:
            exists = path.exists()
            is_dir = path.is_dir()
        except OSError as exc:
            raise InputError(f"{safe_name(str(path))}: cannot access ({exc.strerror})") from None
        if not exists:
            if path.is_symlink():
                raise InputError(f"{safe_name(str(path))}: broken symbolic link")
            raise InputError(f"{safe_name(str(path))}: no such file or directory")
        base = path.parent
        above = _folders_above(base)
        if is_dir:
            _walk(path, base, above, found, skipped)
        else:
            _add(path, base, above, found, skipped, explicit=True)
    files = _unique_displays(found)
    return sorted(files, key=lambda f: f.display), sorted(skipped, key=lambda s: s.display)


def safe_name(name: str) -> str:
    """A file name as valid Unicode text: undecodable bytes become ``\\xNN``."""
    if name.isascii():
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _folders_above(base: Path) -> list[str]:
    """Names of the folders containing ``base``, nearest first, to disambiguate displays."""
    parts = [p for p in base.absolute().parts if p not in ("/", "\\")]
    return [safe_name(p) for p in reversed(parts)]


def _display(path: Path, base: Path) -> str:
    try:
        name = path.relative_to(base).as_posix()
    except ValueError:
        name = path.as_posix()
    return safe_name(name)


def _walk(
    root: Path,
    base: Path,
    above: list[str],
    found: list[tuple[InputFile, list[str]]],
    skipped: list[Skipped],
) -> None:
    seen: set[tuple[int, int]] = set()

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        skipped.append(
            Skipped(_display(where, base) + "/", f"cannot list folder ({exc.strerror})", True)
        )

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=unreadable):
        here = Path(dirpath)
        try:
            stat = here.stat()
        except OSError as exc:
            skipped.append(
                Skipped(_display(here, base) + "/", f"cannot access ({exc.strerror})", True)
            )
            dirnames[:] = []
            continue
        if (stat.st_dev, stat.st_ino) in seen:
            skipped.append(
                Skipped(
                    _display(here, base) + "/",
                    "symbolic link to a folder already walked (a loop or a second path to it)",
                )
            )
            dirnames[:] = []
            continue
        seen.add((stat.st_dev, stat.st_ino))
        if TRUTH_MARKER in filenames:
            skipped.append(Skipped(_display(here, base) + "/", "ground truth folder (not events)"))
            dirnames[:] = []
            continue
        dirnames.sort()
        for name in sorted(filenames):
            _add(here / name, base, above, found, skipped, explicit=False)


def _add(
    path: Path,
    base: Path,
    above: list[str],
    found: list[tuple[InputFile, list[str]]],
    skipped: list[Skipped],
    explicit: bool,
) -> None:
    display = safe_name(str(path)) if explicit else _display(path, base)
    try:
        is_file = path.is_file()
    except OSError as exc:  # a symbolic link loop, a permission problem
        skipped.append(Skipped(display, f"cannot access ({exc.strerror})", True))
        return
    # A file named on the command line that cannot be read is an error, not a quiet skip: the
    # investigator asked for it. Found in a folder, it is listed as skipped.
    if not is_file:
        if path.is_symlink() and not path.exists():
            skipped.append(Skipped(display, "broken symbolic link (or a link loop)", explicit))
        elif path.is_dir():
            skipped.append(Skipped(display, "a folder reached through a file name", explicit))
        else:
            reason = "not a regular file (device, pipe or socket)"
            skipped.append(Skipped(display, reason, explicit))
        return
    container = container_of(path)
    if container is None:
        reason = "not a log file (unrecognised extension)"
        if explicit:
            reason += "; log files end in .jsonl, .ndjson, .json, .csv or .parquet (+ .gz/.zst)"
        skipped.append(Skipped(display, reason, explicit))
        return
    display = _display(path, base)
    found.append((InputFile(path, display, container, compression_of(path), explicit), above))


def _unique_displays(found: list[tuple[InputFile, list[str]]]) -> list[InputFile]:
    """One entry per file; different files sharing a display get leading folders until unique."""
    by_identity: dict[tuple[int, int] | str, tuple[InputFile, list[str]]] = {}
    for entry, above in found:
        try:
            stat = entry.path.stat()
            identity: tuple[int, int] | str = (stat.st_dev, stat.st_ino)
        except OSError:
            identity = str(entry.path.absolute())
        kept = by_identity.get(identity)
        if kept is None or (entry.explicit and not kept[0].explicit):
            by_identity[identity] = (entry, above)
    entries = list(by_identity.values())
    depth = 0
    while True:
        groups: dict[str, list[int]] = defaultdict(list)
        for index, (entry, _) in enumerate(entries):
            groups[entry.display].append(index)
        clashes = [indexes for indexes in groups.values() if len(indexes) > 1]
        if not clashes or depth > 64:
            return [entry for entry, _ in entries]
        for indexes in clashes:
            for index in indexes:
                entry, above = entries[index]
                if depth < len(above):
                    entry = replace(entry, display=f"{above[depth]}/{entry.display}")
                    entries[index] = (entry, above)
        depth += 1


def sha256_of(path: Path, display: str | None = None) -> str:
    """SHA-256 of a file's bytes as stored (compressed files are hashed compressed).

    Raises:
        InputError: the file cannot be read (named by ``display``, else by its path).
    """
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(8 * 1024 * 1024):
                digest.update(chunk)
    except OSError as exc:
        name = display if display is not None else safe_name(str(path))
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    return digest.hexdigest()
