"""Bulk screening benchmark on a province-scale pack: figures side by side, no pass/fail.

Usage
-----
::

    .venv/bin/python bench/make_province.py                       # the pack, once (minutes)
    .venv/bin/python bench/make_province.py sites -n 100000       # the sites, once
    .venv/bin/python bench/batch.py --pack .cache/bench/province [--sites 20000] [--big 100000]

or simply ``make bench-batch``. One run prints:

1. ``load_pack`` time and the process's RSS after it; the first ``screen_many`` (warm-up:
   builds the Gauss–Krüger views, loads the raster) on a few hundred sites;
2. the full-verdict bulk path, ``pack.screen_many(frame, PROJECT)``, on ``--sites`` mixed sites
   (60 % points, 30 % polygons, 10 % lines), beside a TUNED raw overlay of the same sites in
   plain shapely: per GK zone, layers projected once, an STRtree per layer, prepared layer
   geometries, vectorised predicates, intersection areas (polygons) and lengths (lines) on
   the GK plane, red lines within 1 km. The raw path computes no rules, rasters, quotas or
   verdicts: it is the floor the bulk path is compared with (ratio bulk / raw; target ≤ 1.0);
3. bulk sites/s by kind (points, polygons, lines, each screened alone);
4. the cold command line, twice: ``zoning screen 120.1,29.5 --pack DIR --industry 2614
   --construction new`` in a subprocess (the first run may build a cache, the second reuse it);
5. ``zoning batch SITES --pack DIR --project PROJECT.json -o OUT.parquet`` on the ``--sites`` sites
   in a subprocess, if the command exists, and whether its verdicts equal the bulk path's;
6. peak RSS of ``screen_many`` over ``--big`` sites, measured in a child process (after its own
   load and warm-up, which it reports too).

Sites come from ``--sites-file`` (default ``.cache/bench/sites_100k.parquet``); when it is
missing or too short, :func:`make_province.make_sites` writes it first. Timings on a shared
machine are noisy; read them as orders of magnitude.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_province  # noqa: E402

from zoning import load_pack  # noqa: E402

__all__ = ["PROJECT", "RawIndex", "raw_overlay", "main"]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CACHE = ROOT / ".cache" / "bench"
#: The project every site is screened for (the sites' ``industry`` column overrides it).
PROJECT = {"industry": "2614", "construction": "new", "emissions": {"VOCs": 5.0, "NOx": 2.0},
           "fuel": ["natural_gas"], "water_m3": 50000, "coal_t": 0, "energy_tce": 1000, "land_ha": 3.0,
           "groundwater": False}
NEAR_M = 1000.0
LAYERS = ("units", "red_line", "zones")
CLI_SITE = "120.1,29.5"


# --------------------------------------------------------------------------- measuring

def rss_mb():
    """Resident set size of this process now, in MB."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb(who=resource.RUSAGE_SELF):
    """Peak RSS in MB: this process's own high-water mark (VmHWM) where /proc has it, else
    ru_maxrss (KB on Linux, bytes on macOS). On Linux ru_maxrss survives fork + exec, so a
    child started by a big parent would report the parent's size, not its own."""
    if who == resource.RUSAGE_SELF and os.path.exists("/proc/self/status"):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    peak = resource.getrusage(who).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


class Table:
    """A two-column (bulk path | raw or baseline) table printed as it fills."""

    def __init__(self, title):
        print(f"\n{title}")
        print(f"  {'':<38} {'value':>14}  note")

    def row(self, label, value, note=""):
        print(f"  {label:<38} {value:>14}  {note}", flush=True)


def _secs(s):
    return f"{s:,.2f} s" if s >= 0.1 else f"{s * 1000:,.1f} ms"


def _rate(n, s):
    return f"{n / s:,.0f} /s" if s > 0 else "—"


# --------------------------------------------------------------------------- the raw overlay

def _gk_epsg(lon):
    """CGCS2000 3° GK zone EPSG per longitude (vectorised zoning.crs.gk_zone_epsg)."""
    zone = np.clip(np.floor((np.asarray(lon) + 1.5) / 3.0).astype(int), 25, 45)
    return 4534 + zone - 25


def _projector(epsg):
    t = Transformer.from_crs("EPSG:4490", f"EPSG:{epsg}", always_xy=True)
    return lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1]))


class RawIndex:
    """The pack's layers projected once per GK zone, prepared, with an STRtree per layer."""

    def __init__(self, pack, epsgs):
        self.views = {}
        for epsg in sorted({int(e) for e in epsgs}):
            fwd = _projector(epsg)
            layers = {}
            for name in LAYERS:
                geoms = shapely.transform(np.asarray(getattr(pack, name).geometry.values, dtype=object), fwd)
                shapely.prepare(geoms)
                layers[name] = (geoms, shapely.STRtree(geoms))
            self.views[epsg] = (fwd, layers)


def raw_overlay(index, geoms):
    """Overlay lon/lat sites on the layers; return per-layer ``(site, feature, amount)`` arrays
    and the red lines within :data:`NEAR_M` as ``(site, feature, distance)``.

    ``amount`` is the overlap area in m² (polygons), length in m (lines) or 1 (points).
    """
    geoms = np.asarray(geoms, dtype=object)
    epsgs = _gk_epsg(shapely.get_x(shapely.centroid(geoms)))
    types = shapely.get_type_id(geoms)
    out = {name: [] for name in (*LAYERS, "near_red_line")}
    for epsg in np.unique(epsgs):
        sel = np.flatnonzero(epsgs == epsg)
        fwd, layers = index.views[int(epsg)]
        gk = shapely.transform(geoms[sel], fwd)
        kind = types[sel]
        polygon = np.isin(kind, (3, 6))
        line = np.isin(kind, (1, 5))
        measure = np.where(polygon, shapely.area(gk), np.where(line, shapely.length(gk), 1.0))
        for name in LAYERS:
            lg, tree = layers[name]
            si, fi = tree.query(gk)  # bounding boxes only
            hit = shapely.intersects(lg[fi], gk[si])  # prepared layer geometry first
            si, fi = si[hit], fi[hit]
            amount = measure[si].copy()
            ext = polygon[si] | line[si]
            whole = np.zeros(len(si), bool)
            whole[ext] = shapely.contains_properly(lg[fi[ext]], gk[si[ext]])
            cut = ext & ~whole
            pieces = shapely.intersection(gk[si[cut]], lg[fi[cut]])
            amount[cut] = np.where(polygon[si[cut]], shapely.area(pieces), shapely.length(pieces))
            out[name].append((sel[si], fi, amount))
        lg, tree = layers["red_line"]
        si, fi = tree.query(gk, predicate="dwithin", distance=NEAR_M)
        out["near_red_line"].append((sel[si], fi, shapely.distance(gk[si], lg[fi])))
    return {k: tuple(np.concatenate(parts) for parts in zip(*v)) if v else (np.array([], int),) * 3
            for k, v in out.items()}


# --------------------------------------------------------------------------- sites

def load_sites(path, n, pack_dir):
    """The first ``n`` sites of ``path``, (re)writing the file when it is missing or short."""
    path = Path(path)
    if path.exists():
        sites = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path, engine="pyogrio")
        if len(sites) >= n:
            return sites.iloc[:n].reset_index(drop=True)
    print(f"(writing {n:,} sites to {path} with make_province.make_sites)", flush=True)
    sites, t = timed(make_province.make_sites, pack_dir, n, 1)
    make_province.write_sites(sites, path)
    print(f"(done in {t:.1f} s)")
    return sites


# --------------------------------------------------------------------------- sections

def section_load(pack_dir, sites):
    table = Table("pack")
    rss0 = rss_mb()
    pack, t = timed(load_pack, pack_dir)
    n_vert = int(shapely.get_num_coordinates(pack.units.geometry.values).sum())
    print(f"  {pack.id} {pack.version}: {len(pack.units):,} units ({n_vert:,} vertices), {len(pack.red_line):,} red lines, "
          f"{len(pack.zones):,} zones, {len(pack.quotas):,} quotas, {len(pack.clauses)} clauses, rasters {sorted(pack.rasters)}")
    table.row("load_pack (read + validate + topology)", _secs(t))
    table.row("RSS after load_pack", f"{rss_mb():,.0f} MB", f"(+{rss_mb() - rss0:,.0f} MB)")
    warm = sites.iloc[-min(300, len(sites)):]
    _, t = timed(pack.screen_many, warm, PROJECT)
    zones = sorted({int(e) for e in _gk_epsg(shapely.get_x(shapely.centroid(warm.geometry.values)))})
    table.row(f"first screen_many ({len(warm)} sites)", _secs(t), f"warm-up: GK views {zones}, raster")
    table.row("RSS after warm-up", f"{rss_mb():,.0f} MB")
    return pack


def section_bulk(pack, sites):
    n = len(sites)
    table = Table(f"bulk vs raw, {n:,} mixed sites {sites['kind'].value_counts().to_dict()}")
    # The first run also prepares (GEOS) every feature the sites meet, once per process; the
    # raw index below prepares all of them while it is built, which is not counted.
    out, t_first = timed(pack.screen_many, sites, PROJECT)
    out, t_bulk = timed(pack.screen_many, sites, PROJECT)
    index, t_index = timed(RawIndex, pack, _gk_epsg(shapely.get_x(shapely.centroid(sites.geometry.values))))
    raw, t_raw = timed(raw_overlay, index, sites.geometry.values)
    table.row("bulk  pack.screen_many, first run", _secs(t_first), f"{_rate(n, t_first)}  (prepares the features it meets)")
    table.row("bulk  pack.screen_many (full verdicts)", _secs(t_bulk), f"{_rate(n, t_bulk)}  (second run: features prepared)")
    table.row("raw   tuned shapely overlay", _secs(t_raw), f"{_rate(n, t_raw)}  (index build {_secs(t_index)} not counted)")
    table.row("ratio bulk / raw", f"×{t_bulk / t_raw:.2f}", f"target ≤ 1.0; first run ×{t_first / t_raw:.2f}")
    errors = out["error"].notna().sum()
    table.row("bulk verdicts", "", f"{out['verdict'].value_counts().to_dict()}; {errors} row error(s)")
    if errors:
        table.row("first row error", "", str(out["error"].dropna().iloc[0])[:100])
    _agreement(table, out, raw, np.asarray(pack.units["unit_code"].values), sites["kind"].values, pack.tolerance_m2)
    return out


def _agreement(table, out, raw, unit_codes, kinds, tolerance_m2):
    """How many sites get the same set of units from both paths (a sanity check, not a test).

    Overlaps below the pack's tolerance (polygons) or 0.1 m (lines) are touching (contract §3b).
    """
    n = len(kinds)
    si, fi, amount = raw["units"]
    tol = np.select([kinds[si] == "polygon", kinds[si] == "line"], [tolerance_m2, 0.1], 0.0)
    keep = amount >= tol
    raw_units = [set() for _ in range(n)]
    for s, f in zip(si[keep], fi[keep]):
        raw_units[s].add(unit_codes[f])
    bulk = [set(u.split(";")) if isinstance(u, str) and u else set() for u in out["units"]]
    same = sum(a == b for a, b in zip(bulk, raw_units))
    table.row("sites with the same units (bulk = raw)", f"{same:,} / {n:,}", f"touching: < {tolerance_m2:g} m² / 0.1 m")
    rl = len(raw["near_red_line"][0])
    table.row("raw pairs: units / red lines / zones", f"{len(si):,}", f"{len(raw['red_line'][0]):,} red-line, "
              f"{len(raw['zones'][0]):,} zone, {rl:,} red lines ≤ 1 km")


def section_kinds(pack, sites):
    table = Table("bulk by kind (each kind screened alone)")
    for kind in ("point", "polygon", "line"):
        part = sites[sites["kind"] == kind]
        if not len(part):
            continue
        _, t = timed(pack.screen_many, part, PROJECT)
        table.row(f"{kind}s ({len(part):,})", _rate(len(part), t), _secs(t))


def section_cli(pack_dir, sites_file, n, bulk):
    table = Table("command line (subprocesses)")
    cmd = [str(BIN / "zoning"), "screen", CLI_SITE, "--pack", str(pack_dir), "--industry", "2614", "--construction", "new"]
    for attempt in ("first", "second"):
        proc, t = timed(subprocess.run, cmd, capture_output=True, text=True)
        table.row(f"zoning screen {CLI_SITE}, {attempt}", _secs(t), f"exit {proc.returncode}; {_verdict_of(proc)}")
    helped = subprocess.run([str(BIN / "zoning"), "batch", "--help"], capture_output=True, text=True)
    if helped.returncode != 0:
        table.row("zoning batch", "—", "not there yet (`zoning batch --help` exits non-zero)")
        return
    subset = CACHE / f"batch_sites_{n}.parquet"
    if not subset.exists():
        gpd.read_parquet(sites_file).iloc[:n].to_parquet(subset, index=False)
    project = CACHE / "project.json"
    project.write_text(json.dumps(PROJECT), encoding="utf-8")
    out = CACHE / f"batch_out_{n}.parquet"
    cmd = [str(BIN / "zoning"), "batch", str(subset), "--pack", str(pack_dir), "--project", str(project), "-o", str(out)]
    proc, t = timed(subprocess.run, cmd, capture_output=True, text=True)
    tail = (proc.stderr.strip().splitlines() or [""])[-1][:90]
    table.row(f"zoning batch ({n:,} sites → parquet)", _secs(t), f"exit {proc.returncode}; {_rate(n, t)}")
    table.row("zoning batch stderr (last line)", "", tail)
    if proc.returncode == 0 and out.exists():
        got = gpd.read_parquet(out)
        same = int((got["verdict"].astype(str).values == bulk["verdict"].astype(str).values).sum()) if len(got) == len(bulk) else 0
        table.row("batch verdicts = screen_many verdicts", f"{same:,} / {len(bulk):,}")


def _verdict_of(proc):
    try:
        return json.loads(proc.stdout)["verdict"]
    except (ValueError, KeyError, TypeError):
        return (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1][:80]


def section_big(pack_dir, sites_file, n):
    table = Table(f"memory: screen_many over {n:,} sites in a child process")
    cmd = [sys.executable, __file__, "--child-big", "--pack", str(pack_dir), "--sites-file", str(sites_file),
           "--big", str(n)]
    proc, t = timed(subprocess.run, cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        table.row("child", "failed", (proc.stderr.strip().splitlines() or ["?"])[-1][:100])
        return
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    table.row("child peak RSS (VmHWM)", f"{child['peak_mb']:,.0f} MB",
              f"RSS after load {child['load_mb']:,.0f} MB, after warm-up {child['warm_mb']:,.0f} MB")
    table.row("child screen_many time", _secs(child["screen_s"]), f"{_rate(n, child['screen_s'])}; {child['errors']} row error(s)")
    table.row("child load_pack, warm-up", _secs(child["load_s"]), f"warm-up {_secs(child['warm_s'])}; whole child {_secs(t)}")
    table.row("RUSAGE_CHILDREN max RSS", f"{peak_rss_mb(resource.RUSAGE_CHILDREN):,.0f} MB", "largest of all children so far (ru_maxrss: includes what a child inherited from this process)")


def child_big(pack_dir, sites_file, n):
    """Runs in the child: load, screen ``n`` sites, print one JSON line of figures."""
    sites = load_sites(sites_file, n, pack_dir)
    pack, t_load = timed(load_pack, pack_dir)
    load_mb = rss_mb()
    _, t_warm = timed(pack.screen_many, sites.iloc[-min(300, n):], PROJECT)
    warm_mb = rss_mb()
    out, t = timed(pack.screen_many, sites, PROJECT)
    print(json.dumps({"load_s": t_load, "warm_s": t_warm, "screen_s": t, "load_mb": load_mb, "warm_mb": warm_mb,
                      "peak_mb": peak_rss_mb(), "errors": int(out["error"].notna().sum())}))


# --------------------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", default=str(CACHE / "province"))
    ap.add_argument("--sites", type=int, default=20_000, help="sites for the bulk vs raw comparison")
    ap.add_argument("--big", type=int, default=100_000, help="sites for the peak-RSS child (0: skip)")
    ap.add_argument("--sites-file", default=str(CACHE / "sites_100k.parquet"))
    ap.add_argument("--child-big", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_big:
        return child_big(args.pack, args.sites_file, args.big)
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"bulk benchmark: pack {args.pack}, {args.sites:,} sites, big run {args.big:,}; "
          f"{os.cpu_count()} CPUs (shared machine: timings are noisy)")
    sites_all = load_sites(args.sites_file, max(args.sites, args.big, 1), args.pack)
    sites = sites_all.iloc[: args.sites].reset_index(drop=True)
    pack = section_load(args.pack, sites_all)
    bulk = section_bulk(pack, sites)
    section_kinds(pack, sites)
    section_cli(args.pack, args.sites_file, args.sites, bulk)
    if args.big:
        section_big(args.pack, args.sites_file, args.big)


if __name__ == "__main__":
    main()
