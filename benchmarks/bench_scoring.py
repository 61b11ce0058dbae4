"""Scoring speed: 1,000,000 synthetic respondents, WEMWBS, RG-UK and EQ-5D.

Run: python benchmarks/bench_scoring.py [n]
Pins itself to one core where the OS allows. The peer is plain pandas doing the
same arithmetic without validation (row sums; a dict look-up for EQ-5D), timed
in the same process on the same data. Targets (issue 3): EQ-5D index at >= 2
million profiles/s; the three instruments together in under 3 s.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cpeval.scales import eq5d_index, load_instrument, score

HERE = Path(__file__).parent


def timed(function, repeat=3):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(n: int) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = np.random.default_rng(20261122)
    wemwbs = pd.DataFrame(
        rng.integers(1, 6, size=(n, 14)).astype(float),
        columns=[f"wemwbs_{i}" for i in range(1, 15)],
    )
    rguk = pd.DataFrame(
        rng.integers(1, 4, size=(n, 27)).astype(float),
        columns=[f"rg_{i}" for i in range(1, 28)],
    )
    digits = rng.integers(1, 6, size=(n, 5))
    profiles = pd.Series(digits @ (10 ** np.arange(4, -1, -1))).astype(str)
    rguk_def = load_instrument(HERE / "rguk_declared_example.toml")
    eq5d_index(profiles[:10], version="5L", type="VT", country="England")  # warm cache

    states = ["".join(p) for p in itertools.product("12345", repeat=5)]
    values = eq5d_index(states, version="5L", type="VT", country="England")
    lookup = dict(zip(states, values, strict=True))  # the peer's table

    rows = []
    t_w, _ = timed(lambda: score(wemwbs, "wemwbs"))
    p_w, _ = timed(lambda: wemwbs.sum(axis=1, skipna=False))
    rows.append(("WEMWBS (14 items)", t_w, p_w))
    t_r, _ = timed(lambda: score(rguk, rguk_def))
    p_r, _ = timed(lambda: (rguk <= 2).sum(axis=1))
    rows.append(("RG-UK (27 items, 5 scales)", t_r, p_r))
    t_e, _ = timed(
        lambda: eq5d_index(profiles, version="5L", type="VT", country="England")
    )
    p_e, _ = timed(lambda: profiles.map(lookup))
    rows.append(("EQ-5D-5L index (strings)", t_e, p_e))
    ints = profiles.astype(np.int64)
    t_i, _ = timed(lambda: eq5d_index(ints, version="5L", type="VT", country="England"))
    rows.append(("EQ-5D-5L index (integers)", t_i, np.nan))

    print(f"n = {n:,} respondents, one core, best of 3")
    print(f"{'task':30} {'cpeval s':>9} {'per s':>12} {'pandas s':>9} {'ratio':>6}")
    for name, ours, peer in rows:
        ratio = f"{peer / ours:6.2f}" if peer == peer else "     -"
        peer_text = f"{peer:9.3f}" if peer == peer else "        -"
        print(f"{name:30} {ours:9.3f} {n / ours:12,.0f} {peer_text} {ratio}")
    total = t_w + t_r + t_e
    print(f"WEMWBS + RG-UK + EQ-5D (strings) together: {total:.3f} s (target < 3 s)")
    print(f"EQ-5D index: {n / t_e / 1e6:.2f} million profiles/s (target >= 2)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
