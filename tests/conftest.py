"""Shared test configuration: a deterministic Hypothesis profile for every property test.

Hypothesis runs derandomized (the same examples on every run and machine) with a bounded number
of examples, so property tests are reproducible in CI and keep the suite fast. Set
``DISTILLSCAN_HYPOTHESIS=thorough`` for a deeper run (many more examples per property, for a
change to ingest or validation). Builders for ingest inputs live in ``tests/ingest_support.py``.

The suite's temporary folders (``tmp_path`` and friends) go to memory (``/dev/shm``) when the
machine has one with room: almost every test writes and fsyncs a case folder, and on a virtual
disk those writes, syncs and deletions are a quarter of an ingest-heavy test's time. Nothing a
test asserts depends on the file system (renames, locks, links, FIFOs and file size limits
behave the same). ``DISTILLSCAN_TEST_TMP=disk`` keeps them on the disk, as does giving
``--basetemp`` or ``PYTEST_DEBUG_TEMPROOT``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hypothesis import HealthCheck, settings

from tests.cases import benign, hostile, scenario  # noqa: F401  (session fixtures for every folder)

#: Free space the in-memory folder must have for the suite to use it (a full run writes ~0.6 GB).
MEMORY_TMP_FREE = 4 * 1024**3


def _temporary_root_in_memory() -> None:
    """Point pytest's temporary root at ``/dev/shm`` when it is a usable, roomy tmpfs."""
    if os.environ.get("DISTILLSCAN_TEST_TMP") == "disk" or "PYTEST_DEBUG_TEMPROOT" in os.environ:
        return
    shm = Path("/dev/shm")
    try:
        roomy = shutil.disk_usage(shm).free >= MEMORY_TMP_FREE
    except OSError:
        return
    if roomy and os.access(shm, os.W_OK | os.X_OK):
        # Read by pytest when it first makes its base temporary folder (after this import);
        # xdist's workers are handed folders under it.
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(shm)


_temporary_root_in_memory()

settings.register_profile(
    "distillscan",
    derandomize=True,
    max_examples=15,
    deadline=None,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("thorough", settings.get_profile("distillscan"), max_examples=200)
settings.load_profile(
    "thorough" if os.environ.get("DISTILLSCAN_HYPOTHESIS") == "thorough" else "distillscan"
)
