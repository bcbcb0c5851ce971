"""The simulator's seeded random-number hierarchy.

Every random decision draws from a named stream derived from the run's seed and a path of names
(``Rng(seed).child("day", 3)``). Streams are independent of one another and of the order in which
they are created, so adding a new kind of traffic does not change what the others generate, and
the same seed always gives the same bytes. Only the standard library's Mersenne Twister is used
(its ``getrandbits``/``randbytes`` output is stable across Python versions); bulk draws turn its
bytes into Polars columns without a per-value Python loop.
"""

from __future__ import annotations

import hashlib
import math
import random

import polars as pl
import pyarrow as pa

_U32_SCALE = 1.0 / 4294967296.0


class Rng:
    """One named stream of random numbers.

    Args:
        seed: The run's seed.
        path: Names that identify this stream below the seed.
    """

    def __init__(self, seed: int, *path: str | int) -> None:
        self.seed = seed
        self.path: tuple[str | int, ...] = path
        digest = hashlib.sha256(repr((seed, path)).encode("utf-8")).digest()
        self.py = random.Random(int.from_bytes(digest[:16], "little"))

    def child(self, *path: str | int) -> Rng:
        """An independent stream named ``path`` below this one."""
        return Rng(self.seed, *self.path, *path)

    def u32(self, n: int) -> pl.Series:
        """``n`` uniformly distributed unsigned 32-bit integers (as Int64)."""
        if n == 0:
            return pl.Series([], dtype=pl.Int64)
        raw = self.py.randbytes(4 * n)
        array = pa.Array.from_buffers(pa.uint32(), n, [None, pa.py_buffer(raw)])
        series = pl.Series(array).cast(pl.Int64)
        assert isinstance(series, pl.Series)
        return series

    def uniform(self, n: int) -> pl.Series:
        """``n`` floats uniformly distributed in [0, 1)."""
        return (self.u32(n).cast(pl.Float64) * _U32_SCALE).alias("u")

    def hex_ids(self, n: int, nbytes: int) -> pl.Series:
        """``n`` random identifiers of ``2 * nbytes`` lowercase hex digits."""
        if n == 0:
            return pl.Series([], dtype=pl.String)
        raw = self.py.randbytes(nbytes * n)
        array = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(nbytes), n, [None, pa.py_buffer(raw)]
        )
        return pl.Series(array).bin.encode("hex")

    # --- scalar helpers for population building (a few calls per account, not per event) ---

    def hex(self, nbytes: int) -> str:
        """One random lowercase hex identifier."""
        return self.py.randbytes(nbytes).hex()

    def lognormal(self, median: float, sigma: float) -> float:
        """A log-normally distributed value with the given median."""
        return median * math.exp(self.py.gauss(0.0, sigma))

    def weighted(self, items: list[str], weights: list[float]) -> str:
        """One of ``items``, chosen with ``weights``."""
        return self.py.choices(items, weights=weights, k=1)[0]


def exponential(u: pl.Expr) -> pl.Expr:
    """Turn uniform [0, 1) values into standard exponential ones."""
    return -((1.0 - u).log())


def normal(u1: pl.Expr, u2: pl.Expr) -> pl.Expr:
    """Turn two uniform [0, 1) columns into standard normal values (Box-Muller)."""
    return (-2.0 * (1.0 - u1).log()).sqrt() * (2.0 * math.pi * u2).cos()
