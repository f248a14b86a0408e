"""Screening benchmark: pack load, warm single-site latency, screen_many throughput.

    .venv/bin/python bench/screen.py [--pack DIR] [--sites 1000] [--many 10000]

Each figure is printed beside a baseline run in the same process on the same sites:
- single site: the naive geopandas way (reproject the layers and ``geopandas.overlay``
  per call, no index kept) on a sample of the sites;
- screen_many: a Python loop of ``Pack.screen`` over the same sites.
Targets on the 2-core development machine: single site p50 < 20 ms; screen_many ≥ 2,000 sites/s.
"""

import argparse
import statistics
import time

import geopandas as gpd
import numpy as np
import shapely

from zoning import load_pack
from zoning.crs import gk_zone_epsg


def random_sites(pack, n, seed=20241125):
    """Small squares (50–400 m) and points at random places inside the pack's region."""
    rng = np.random.default_rng(seed)
    region = shapely.union_all(pack.units.geometry.values)
    shapely.prepare(region)
    minx, miny, maxx, maxy = region.bounds
    out = []
    while len(out) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not region.contains(shapely.Point(x, y)):
            continue
        if rng.random() < 0.2:
            out.append(shapely.Point(x, y))
        else:
            half = rng.uniform(25, 200) / 111000
            out.append(shapely.box(x - half, y - half * 0.87, x + half, y + half * 0.87))
    return out


PROJECT = {"industry": "2614", "construction": "new", "emissions": {"VOCs": 5.0, "NOx": 2.0}, "fuel": ["natural_gas"], "water_m3": 50000, "coal_t": 0}


def naive(pack, site):
    """The baseline: what a script without an index does for one site."""
    epsg = gk_zone_epsg(site.centroid.x)
    frame = gpd.GeoDataFrame(geometry=[site], crs="EPSG:4490").to_crs(epsg)
    out = {}
    for name in ("units", "red_line", "zones"):
        layer = getattr(pack, name).to_crs(epsg)
        if site.geom_type == "Point":
            out[name] = gpd.sjoin(frame, layer, predicate="intersects")
        else:
            pieces = gpd.overlay(frame, layer, how="intersection", keep_geom_type=True)
            out[name] = pieces.area
    return out


def pct(values, q):
    return float(np.percentile(values, q))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", default=None)
    ap.add_argument("--sites", type=int, default=1000)
    ap.add_argument("--many", type=int, default=10000)
    ap.add_argument("--baseline-sites", type=int, default=100)
    args = ap.parse_args()

    t0 = time.perf_counter()
    pack = load_pack(args.pack)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    pack.screen(pack.units.geometry.iloc[0].representative_point(), PROJECT)
    t_index = time.perf_counter() - t0
    print(f"pack {pack.id} {pack.version}: {len(pack.units)} units, {len(pack.red_line)} red lines, {len(pack.zones)} zones, {len(pack.clauses)} clauses")
    print(f"load_pack (read + validate + topology): {t_load * 1000:8.1f} ms")
    print(f"first screen (builds the GK index):     {t_index * 1000:8.1f} ms")

    sites = random_sites(pack, args.sites)
    lat = []
    verdicts = {}
    for s in sites:
        t0 = time.perf_counter()
        v = pack.screen(s, PROJECT)
        lat.append((time.perf_counter() - t0) * 1000)
        verdicts[v.verdict] = verdicts.get(v.verdict, 0) + 1
    base = []
    for s in sites[: args.baseline_sites]:
        t0 = time.perf_counter()
        naive(pack, s)
        base.append((time.perf_counter() - t0) * 1000)
    p50, p95 = pct(lat, 50), pct(lat, 95)
    b50, b95 = pct(base, 50), pct(base, 95)
    print(f"\nsingle site, warm, {len(lat)} sites (verdicts {verdicts})")
    print(f"  zoning  Pack.screen       p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   (target p50 < 20 ms)")
    print(f"  baseline geopandas.overlay p50 {b50:7.2f} ms   p95 {b95:7.2f} ms   ({len(base)} sites; overlay only, no rules)")
    print(f"  ratio baseline / zoning   p50 ×{b50 / p50:.1f}")

    many = random_sites(pack, args.many, seed=7)
    frame = gpd.GeoDataFrame({"industry": ["2614"] * len(many)}, geometry=many, crs="EPSG:4490")
    t0 = time.perf_counter()
    out = pack.screen_many(frame, PROJECT)
    t_many = time.perf_counter() - t0
    n_loop = min(1000, len(many))
    t0 = time.perf_counter()
    for s in many[:n_loop]:
        pack.screen(s, PROJECT)
    t_loop = (time.perf_counter() - t0) / n_loop * len(many)
    assert out["error"].isna().all(), out["error"].dropna().head()
    print(f"\nscreen_many, {len(many)} sites")
    print(f"  zoning  screen_many       {t_many:7.2f} s   {len(many) / t_many:8.0f} sites/s   (target ≥ 2,000 sites/s)")
    print(f"  baseline loop of screen   {t_loop:7.2f} s   {len(many) / t_loop:8.0f} sites/s   (extrapolated from {n_loop})")
    print(f"  ratio                     ×{t_loop / t_many:.1f}")
    counts = out["verdict"].value_counts().to_dict()
    print(f"  verdicts {counts}")
    print(f"  single-site latency standard deviation: {statistics.pstdev(lat):.2f} ms")


if __name__ == "__main__":
    main()
