"""Topology QA benchmark: 100 units of ~10,000 vertices each, with an overlap and a hole.

    .venv/bin/python bench/topology.py

Prints the best of five runs of ``check_layer`` beside a baseline run side by side: the
naive all-pairs overlap search (``geopandas.overlay(units, units)``) on the same frame.
Target: well under 2 s for the check on the 2-core development machine.
"""

import sys
import time
from pathlib import Path

import geopandas as gpd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.test_topology import broken_wiggly_grid  # noqa: E402

from zoning.topology import check_layer  # noqa: E402


def best(fn, runs=5):
    out = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


def main():
    frame = broken_wiggly_grid()
    n_vertices = int(frame.geometry.count_coordinates().sum())
    t = best(lambda: check_layer(frame, layer="units", id_column="unit_code", coverage=True))
    gk = frame.to_crs(4549)
    t_base = best(lambda: gpd.overlay(gk, gk, how="intersection", keep_geom_type=True), runs=1)
    problems = check_layer(frame, layer="units", id_column="unit_code", coverage=True)
    print(f"{len(frame)} units, {n_vertices:,} vertices; found {problems.kind.value_counts().to_dict()}")
    print(f"  zoning  check_layer              {t:6.2f} s (best of 5; target < 2 s)")
    print(f"  baseline geopandas.overlay(self) {t_base:6.2f} s (all pairs, 1 run)")
    print(f"  ratio                            ×{t_base / t:.1f}")


if __name__ == "__main__":
    main()
