"""Raster statistics benchmark: RasterLayer against the algorithms it replaced.

    .venv/bin/python bench/rasters.py [--polygons 10000] [--lines 10000] [--points 60000] [--old-lines N] [--tiled]

Writes a province-sized PM2.5 raster once to ``.cache/bench/`` (5,000 × 4,500 float32
cells of 0.001°, EPSG:4490, a nodata disc; LZW strips like the demo pack's, or with
``--tiled`` deflate 256 × 256 tiles like bench/make_province.py's) and times,
beside the reference algorithms of ``tests/test_rasters.py`` (the former
``zoning/rasters.py``) on the same sites:

- construction of the layer, one point, 10,000 polygons of 1–50 ha, 10,000 lines of
  1–20 km and 60,000 points;
- each call *cold* — on a fresh layer: the old one reads the band when constructed, the
  new one what the call needs (windows, or the band) — and *warm*, the band in memory.

The old line method takes ~5 ms a line; ``--old-lines N`` times it on the first N lines
only and scales up (printed as such). Results are checked equal as the tests check them.
Peak RSS of the new calls is printed before the reference runs.
"""

import argparse
import multiprocessing
import resource
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import rasterio
import shapely
from pyproj import Transformer
from affine import Affine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.test_rasters import ReferenceRasterLayer  # noqa: E402

from zoning.rasters import RasterLayer  # noqa: E402

WIDTH, HEIGHT, STEP, WEST, NORTH = 5000, 4500, 0.001, 118.0, 31.5
CACHE = ROOT / ".cache" / "bench"


def raster_path(tiled):
    return CACHE / f"pm25_{WIDTH}x{HEIGHT}{'_tiled' if tiled else ''}.tif"


def write_raster(path, tiled=False):
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype("float32")
    pm = 30 + 5 * np.sin(x / 700) * np.cos(y / 500) + rng.normal(0, 0.5, (HEIGHT, WIDTH)).astype("float32")
    pm[(x - 4000) ** 2 + (y - 500) ** 2 < 600**2] = -9999.0
    del x, y
    path.parent.mkdir(parents=True, exist_ok=True)
    prof = dict(driver="GTiff", height=HEIGHT, width=WIDTH, count=1, dtype="float32", crs="EPSG:4490",
                transform=Affine(STEP, 0, WEST, 0, -STEP, NORTH), nodata=-9999.0, predictor=3)
    if tiled:  # as bench/make_province.py writes the province pack's
        prof.update(compress="deflate", zlevel=6, tiled=True, blockxsize=256, blockysize=256)
    else:  # as scripts/build_demo_pack.py writes the demo pack's
        prof.update(compress="lzw", tiled=False)
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(pm.astype("float32"), 1)


def polygons(n, rng):
    """Irregular polygons of 1–50 ha anywhere on the raster."""
    cx = rng.uniform(WEST + 0.01, WEST + WIDTH * STEP - 0.01, n)
    cy = rng.uniform(NORTH - HEIGHT * STEP + 0.01, NORTH - 0.01, n)
    area = rng.uniform(1e4, 50e4, n)
    out = []
    for i in range(n):
        k = int(rng.integers(5, 16))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(0.6, 1.0, k) * np.sqrt(area[i] / (np.pi * 0.65))
        out.append(shapely.Polygon(np.column_stack([cx[i] + r * np.cos(ang) / (111320 * np.cos(np.radians(cy[i]))),
                                                    cy[i] + r * np.sin(ang) / 110574])))
    return np.array(out, dtype=object)


def lines(n, rng):
    """Wandering lines of 1–20 km with 2–30 vertices."""
    out = []
    for _ in range(n):
        length, k = rng.uniform(1000, 20000), int(rng.integers(2, 31))
        heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.4, k - 1))
        seg = length / (k - 1)
        dx = np.concatenate([[0], np.cumsum(seg * np.cos(heading))]) / 96000
        dy = np.concatenate([[0], np.cumsum(seg * np.sin(heading))]) / 110900
        x0 = rng.uniform(WEST + 0.01, WEST + WIDTH * STEP - 0.01)
        y0 = rng.uniform(NORTH - HEIGHT * STEP + 0.01, NORTH - 0.01)
        out.append(shapely.LineString(np.column_stack([x0 + dx, y0 + dy])))
    return np.array(out, dtype=object)


def points(n, rng):
    return shapely.points(rng.uniform(WEST, WEST + WIDTH * STEP, n), rng.uniform(NORTH - HEIGHT * STEP, NORTH, n))


def to_gk():
    t = Transformer.from_crs("EPSG:4490", "EPSG:4549", always_xy=True)
    return lambda geoms: shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def fmt(t):
    return f"{t * 1e3:7.1f}ms" if t < 0.1 else f"{t:8.3f}s"


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--polygons", type=int, default=10_000)
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--points", type=int, default=60_000)
    ap.add_argument("--old-lines", type=int, default=None, help="time the old line method on this many lines and scale up")
    ap.add_argument("--tiled", action="store_true", help="256 × 256 deflate tiles (the province pack's layout) instead of LZW strips")
    args = ap.parse_args()
    path = raster_path(args.tiled)
    if not path.exists():
        print(f"writing {path.relative_to(ROOT)} …", flush=True)
        # In a child process, so that the peak RSS printed below is the calls' own.
        child = multiprocessing.get_context("spawn").Process(target=write_raster, args=(path, args.tiled))
        child.start()
        child.join()
    ref = SimpleNamespace(path=str(path), band=1, statistic="mean", standard=35)
    rng = np.random.default_rng(20241207)
    sites = {"polygons": polygons(args.polygons, rng), "lines": lines(args.lines, rng), "points": points(args.points, rng)}
    metric = to_gk()
    calls = {"polygons": lambda layer, g: layer.polygon_stats(g),
             "lines": lambda layer, g: layer.line_stats(g, metric),
             "points": lambda layer, g: layer.point_stats(g)}
    one = points(1, np.random.default_rng(1))

    layout = "deflate 256 × 256 tiles" if args.tiled else "LZW strips"
    print(f"raster {WIDTH} × {HEIGHT} float32, 0.001°, EPSG:4490, {layout}; {path.stat().st_size / 1e6:.0f} MB on disk")
    base_rss = peak_rss_mb()
    counts = {"1 point": 1, "polygons": args.polygons, "lines": args.lines, "points": args.points}
    sites = {"1 point": one, **sites}
    calls = {"1 point": calls["points"], **calls}
    # cold: a fresh layer (construction and whatever the call reads); warm: the band in memory.
    cold = {"new": {"construct": timed(lambda: RasterLayer("pm25", ref))[0]}, "old": {}}
    warm = {"new": {}, "old": {}}
    results = {}
    for name, fn in calls.items():
        layer = RasterLayer("pm25", ref)
        cold["new"][name], results[name] = timed(lambda: fn(layer, sites[name]))
        layer.band()
        warm["new"][name] = timed(lambda: fn(layer, sites[name]))[0]
        del layer
    rss = peak_rss_mb()

    cold["old"]["construct"], reference = timed(lambda: ReferenceRasterLayer("pm25", ref))
    scaled = set()
    for name, fn in calls.items():
        g, got = sites[name], results[name]
        if name == "lines" and args.old_lines and args.old_lines < len(g):
            t, want = timed(lambda: fn(reference, g[: args.old_lines]))
            warm["old"][name] = t * len(g) / args.old_lines
            scaled.add(name)
            got = tuple(a[: args.old_lines] for a in got)
        else:
            warm["old"][name], want = timed(lambda: fn(reference, g))
        cold["old"][name] = cold["old"]["construct"] + warm["old"][name]
        tol = 1e-9 if name == "lines" else 0.0
        for a, b in zip(got, want):
            assert np.array_equal(np.isnan(a), np.isnan(b)) and np.allclose(a, b, rtol=tol, atol=0, equal_nan=True), name

    print(f"{'':18} {'cold: fresh layer':^30}   {'warm: band in memory':^30}")
    print(f"{'':18} {'old':>9} {'new':>9} {'ratio':>9}   {'old':>9} {'new':>9} {'ratio':>9}")
    for name in cold["new"]:
        label = f"{counts[name]:,} {name}" if name in ("polygons", "lines", "points") else name
        row = f"{label:18} {fmt(cold['old'][name])} {fmt(cold['new'][name])} {cold['old'][name] / cold['new'][name]:8.1f}×"
        if name in warm["new"]:
            row += f"   {fmt(warm['old'][name])} {fmt(warm['new'][name])} {warm['old'][name] / warm['new'][name]:8.1f}×"
        if name in scaled:
            row += f"   (old: {args.old_lines:,} lines, scaled)"
        print(row)
    print(f"peak RSS after the new calls: {rss:.0f} MB ({base_rss:.0f} MB before them: imports and sites); "
          "results equal to the reference's")


if __name__ == "__main__":
    main()
