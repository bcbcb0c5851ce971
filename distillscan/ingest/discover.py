"""Finding the input files under the paths an investigator names.

Folders are walked recursively (following symbolic links, with loops detected). Files whose names
say they are not logs are listed as skipped with the reason, never silently ignored. A folder
holding a ``.distillscan-truth`` marker is a simulator's ground truth and is left out.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from distillscan.errors import InputError
from distillscan.ingest.readers import container_of
from distillscan.ingest.streams import compression_of

#: A folder with this file holds ground truth (written by ``distillscan simulate``).
TRUTH_MARKER = ".distillscan-truth"


@dataclass(frozen=True, slots=True)
class InputFile:
    """A file found under the input paths."""

    path: Path
    display: str  # the name recorded in events and reports: relative to the argument's parent
    container: str | None
    compression: str | None


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file or folder left out, and why."""

    display: str
    reason: str


def discover(paths: list[Path]) -> tuple[list[InputFile], list[Skipped]]:
    """Expand ``paths`` into input files (sorted by display name) and skipped entries.

    Raises:
        InputError: a path does not exist.
    """
    files: dict[str, InputFile] = {}
    skipped: list[Skipped] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        base = path.parent
        if path.is_dir():
            _walk(path, base, files, skipped)
        else:
            _add(path, base, files, skipped)
    return sorted(files.values(), key=lambda f: f.display), sorted(skipped, key=lambda s: s.display)


def _display(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def _walk(root: Path, base: Path, files: dict[str, InputFile], skipped: list[Skipped]) -> None:
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        stat = here.stat()
        if (stat.st_dev, stat.st_ino) in seen:
            skipped.append(Skipped(_display(here, base) + "/", "symbolic link loop"))
            dirnames[:] = []
            continue
        seen.add((stat.st_dev, stat.st_ino))
        if TRUTH_MARKER in filenames:
            skipped.append(Skipped(_display(here, base) + "/", "ground truth folder (not events)"))
            dirnames[:] = []
            continue
        dirnames.sort()
        for name in sorted(filenames):
            _add(here / name, base, files, skipped)


def _add(path: Path, base: Path, files: dict[str, InputFile], skipped: list[Skipped]) -> None:
    display = _display(path, base)
    if not path.is_file():
        skipped.append(Skipped(display, "not a regular file"))
        return
    container = container_of(path)
    if container is None:
        skipped.append(Skipped(display, "not a log file (unrecognised extension)"))
        return
    files[display] = InputFile(path, display, container, compression_of(path))


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes as stored (compressed files are hashed compressed)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(8 * 1024 * 1024):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return digest.hexdigest()
