"""Synthetic province-scale zoning pack (Zhejiang-sized) and mixed benchmark sites.

Usage
-----
::

    .venv/bin/python bench/make_province.py [OUT_DIR] [--seed N] [--scale F]
    .venv/bin/python bench/make_province.py sites --pack DIR -n 100000 -o .cache/bench/sites_100k.parquet

``OUT_DIR`` defaults to ``.cache/bench/province`` (gitignored: generated data is never
committed). The pack is SYNTHETIC — random shapes over Zhejiang's extent, not official
zoning. At ``--scale 1`` it holds:

- ``units`` — ~2,490 environmental control units tiling the region exactly (shared edges
  are bit-identical), ~3.7 M vertices (≈1,500 per unit), wiggly borders;
- ``red_line`` — 3,000 polygons of ≈500 vertices, many with holes, mostly inside priority units;
- ``zones`` — 1,500 element zones over the four media, standard zone types only;
- ``pm25.tif`` — 5,000 × 4,500 cells (EPSG:4490), a smooth field of 20–50 µg/m³ with
  nodata outside the region and in a few patches; tiled, deflate;
- ``quotas.csv`` — ~991 ceilings; ``rules.yaml`` — ~200 clauses using every ``applies_in``
  and ``when`` kind of the contract.

``--scale F`` multiplies the feature counts, quota rows and raster cells by ``F``
(vertices per feature stay the same); ``--scale 0.1`` makes a pack for quick tests.
The same seed gives the same files.

How the units are built: a Voronoi tessellation (scipy) of jittered-grid seeds, computed on
a plane where a degree of longitude and of latitude are about equally long; the cells of
the seeds inside a province-like outline are the units. Each Voronoi edge is replaced by a
noisy polyline with the same end points that stays strictly inside the edge's "diamond"
(the two triangles edge–seed on either side; these diamonds never overlap), so the noisy
edges cannot cross and ``shapely.polygonize`` turns them back into a gap-free, overlap-free
coverage.

Sites: :func:`make_sites` returns a GeoDataFrame (EPSG:4490) of mixed sites inside the
region: 60 % points, 30 % polygons of 1–50 ha, 10 % lines of 1–20 km, with an ``industry``
column of real GB/T 4754-2017 codes.

Examples
--------
>>> import shapely
>>> sites = make_sites(shapely.box(119.0, 29.0, 120.0, 30.0), 50, seed=1)
>>> len(sites), sites.crs.to_epsg(), sorted(sites["kind"].unique())
(50, 4490, ['line', 'point', 'polygon'])
"""

import argparse
import math
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

__all__ = [
    "EXTENT",
    "COUNTS",
    "make_region",
    "make_units",
    "make_red_lines",
    "make_zones",
    "write_raster",
    "make_quotas",
    "make_rules",
    "make_pack",
    "make_sites",
    "write_sites",
    "main",
]

#: lon_min, lat_min, lon_max, lat_max of the generated region.
EXTENT = (118.0, 27.0, 122.9, 31.2)
#: Counts at --scale 1.
COUNTS = {"units": 2490, "unit_vertices": 3_700_000, "red_line": 3000, "red_line_vertices": 500,
          "zones": 1500, "raster": (5000, 4500), "quotas": 991, "clauses": 200}
#: cos(latitude) at the region's centre: x = lon * KX makes degrees roughly square.
KX = math.cos(math.radians(29.1))
DEG_M = 111_320.0  # metres per degree of latitude (near enough for sizes)

CITIES = {  # GB/T 2260 city prefix: (name, lon, lat)
    "3301": ("杭州市", 119.9, 30.0), "3302": ("宁波市", 121.5, 29.7), "3303": ("温州市", 120.4, 27.9),
    "3304": ("嘉兴市", 120.8, 30.7), "3305": ("湖州市", 119.8, 30.8), "3306": ("绍兴市", 120.6, 29.8),
    "3307": ("金华市", 119.8, 29.1), "3308": ("衢州市", 118.7, 28.9), "3309": ("舟山市", 122.2, 30.1),
    "3310": ("台州市", 121.1, 28.7), "3311": ("丽水市", 119.5, 28.2),
}
_NUMERALS = "一二三四五六七八九十"
CATEGORY_SHARE = {"priority": 0.30, "key": 0.30, "general": 0.40}
CATEGORY_ZH = {"priority": "优先保护单元", "key": "重点管控单元", "general": "一般管控单元"}
CATEGORY_DIGIT = {"priority": "1", "key": "2", "general": "3"}
KEY_SUBTYPES = ("产业集聚类", "城镇生活类")
RED_FUNCTIONS = ("水源涵养", "生物多样性维护", "水土保持", "自然保护区核心区", "海岸生态稳定")
#: Zone types with (share of zones, radius range in km).
ZONE_MIX = {
    "air.priority": (0.05, (2, 6)), "air.high_emission": (0.08, (1, 5)), "air.layout_sensitive": (0.04, (1, 4)),
    "air.weak_diffusion": (0.04, (3, 8)), "air.receptor_sensitive": (0.05, (1, 4)), "air.general": (0.04, (4, 10)),
    "water.priority": (0.05, (1, 5)), "water.industrial": (0.06, (1, 4)), "water.urban": (0.05, (1, 4)),
    "water.agricultural": (0.04, (2, 6)), "water.general": (0.03, (4, 10)), "water.drinking_source": (0.07, (0.5, 2)),
    "soil.farmland_priority": (0.06, (1, 5)), "soil.farmland_risk": (0.04, (1, 3)),
    "soil.construction_risk": (0.04, (0.5, 2)), "soil.general": (0.03, (4, 10)),
    "resource.fuel_ban": (0.06, (3, 12)), "resource.groundwater_ban": (0.04, (1, 5)),
    "resource.groundwater_limited": (0.03, (2, 6)), "resource.land_key": (0.03, (1, 4)),
    "resource.eco_water": (0.02, (1, 4)), "resource.shoreline_protected": (0.02, (0.5, 2)),
    "resource.shoreline_key": (0.03, (0.5, 2)),
}
ZONE_TYPE_ZH = {
    "air.priority": "大气环境优先保护区", "air.high_emission": "大气环境高排放重点管控区",
    "air.layout_sensitive": "大气环境布局敏感重点管控区", "air.weak_diffusion": "大气环境弱扩散重点管控区",
    "air.receptor_sensitive": "大气环境受体敏感重点管控区", "air.general": "大气环境一般管控区",
    "water.priority": "水环境优先保护区", "water.industrial": "水环境工业污染重点管控区",
    "water.urban": "水环境城镇生活污染重点管控区", "water.agricultural": "水环境农业污染重点管控区",
    "water.general": "水环境一般管控区", "water.drinking_source": "饮用水水源保护区",
    "soil.farmland_priority": "农用地优先保护区", "soil.farmland_risk": "农用地污染风险重点管控区",
    "soil.construction_risk": "建设用地污染风险重点管控区", "soil.general": "土壤环境一般管控区",
    "resource.fuel_ban": "高污染燃料禁燃区", "resource.groundwater_ban": "地下水禁采区",
    "resource.groundwater_limited": "地下水限采区", "resource.land_key": "土地资源重点管控区",
    "resource.eco_water": "生态用水补给区", "resource.shoreline_protected": "岸线优先保护区",
    "resource.shoreline_key": "岸线重点管控区",
}
#: Industry codes (GB/T 4754-2017) the sites carry, with weights.
SITE_INDUSTRIES = {"2614": 0.15, "1713": 0.1, "3360": 0.1, "2511": 0.05, "3982": 0.15, "6550": 0.15,
                   "1391": 0.1, "4411": 0.05, "3841": 0.1, "2641": 0.05}


# --------------------------------------------------------------------------- geometry helpers

def _to_lonlat(xy):
    """Plane (x = lon·KX, y = lat) → lon/lat, for arrays of shape (n, 2)."""
    return np.column_stack([xy[:, 0] / KX, xy[:, 1]])


def _periodic_noise(rng, n, harmonics=(2, 12), wiggle=(20, 60)):
    """A smooth periodic function sampled at n angles, values in [-1, 1]."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    out = np.zeros(n)
    total = 0.0
    for k in range(harmonics[0], harmonics[1] + 1):
        a = rng.uniform(0.2, 1.0) / k
        out += a * np.sin(k * t + rng.uniform(0, 2 * np.pi))
        total += a
    k = int(rng.integers(*wiggle))
    out += 0.08 * np.sin(k * t + rng.uniform(0, 2 * np.pi))
    return out / (total + 0.08)


def _blob(rng, cx, cy, r0, n, amp=0.25):
    """A star-shaped ring of n vertices around (cx, cy) on the plane, radius r0·(1 ± amp)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = r0 * (1 + amp * _periodic_noise(rng, n))
    ring = np.column_stack([cx + r * np.cos(t), cy + r * np.sin(t)])
    return np.vstack([ring, ring[:1]])


def make_region(seed=0, n=2000, margin=0.0):
    """The province-like outline on the plane (x = lon·KX, y = lat): a noisy superellipse.

    Its lon/lat bounds are :data:`EXTENT` less ``margin`` (plane degrees) on every side,
    so that Voronoi cells along the outline, which reach out by about half a cell, stay
    within :data:`EXTENT`.
    """
    rng = np.random.default_rng(seed + 17)
    lon0, lat0, lon1, lat1 = EXTENT
    cx, cy = (lon0 + lon1) / 2 * KX, (lat0 + lat1) / 2
    ax, ay = (lon1 - lon0) / 2 * KX - margin, (lat1 - lat0) / 2 - margin
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    p = 3.0
    c, s = np.cos(t), np.sin(t)
    sx = np.sign(c) * np.abs(c) ** (2 / p)
    sy = np.sign(s) * np.abs(s) ** (2 / p)
    r = 0.93 + 0.07 * _periodic_noise(rng, n, harmonics=(3, 9), wiggle=(15, 30))  # ≤ 1: stays in EXTENT
    ring = np.column_stack([cx + ax * r * sx, cy + ay * r * sy])
    return shapely.Polygon(ring)


# --------------------------------------------------------------------------- units

def _seeds(rng, region, n_units):
    """Jittered-grid seeds: those inside ``region`` and a padding ring around it."""
    minx, miny, maxx, maxy = region.bounds
    step = math.sqrt(region.area / n_units)
    pad = 4 * step
    xs = np.arange(minx - pad, maxx + pad, step)
    ys = np.arange(miny - pad, maxy + pad, step)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    pts += rng.uniform(-0.42, 0.42, pts.shape) * step
    inside = shapely.contains_xy(region, pts[:, 0], pts[:, 1])
    return pts, inside, step


def _edge_noise(rng, n_seg, t):
    """Smooth noise in [-1, 1] along an edge (t in [0, 1]), several frequencies."""
    out = np.zeros_like(t)
    total = 0.0
    for k in (1, 2, 3, 5):
        a = rng.uniform(0.3, 1.0) / k
        out += a * np.sin(k * np.pi * t + rng.uniform(0, 2 * np.pi))
        total += a
    hi = max(4, n_seg // 6)
    out += 0.25 * np.sin(hi * np.pi * t + rng.uniform(0, 2 * np.pi))
    return out / (total + 0.25)


def _half_width(s, length, v1, v2, seed_pt):
    """Width at distance s along v1→v2 of the triangle (v1, v2, seed), measured perpendicular."""
    u = (v2 - v1) / length
    cap = math.tan(math.radians(80))
    a1 = seed_pt - v1
    a2 = seed_pt - v2
    cos1 = np.dot(a1, u) / np.linalg.norm(a1)
    cos2 = np.dot(a2, -u) / np.linalg.norm(a2)
    tan1 = cap if cos1 <= 0 else min(cap, math.sqrt(max(1 - cos1**2, 0)) / cos1)
    tan2 = cap if cos2 <= 0 else min(cap, math.sqrt(max(1 - cos2**2, 0)) / cos2)
    return np.minimum(s * tan1, (length - s) * tan2)


def _noisy_edge(rng, v1, v2, seed_a, seed_b, n_seg):
    """A polyline from v1 to v2 that stays inside the diamond (v1, seed_a, v2, seed_b)."""
    length = float(np.linalg.norm(v2 - v1))
    if n_seg < 2 or length == 0:
        return np.vstack([v1, v2])
    u = (v2 - v1) / length
    nrm = np.array([-u[1], u[0]])
    if np.dot(seed_a - v1, nrm) < 0:
        nrm = -nrm
    t = np.linspace(0.0, 1.0, n_seg + 1)
    s = t * length
    g = _edge_noise(rng, n_seg, t)
    wa = _half_width(s, length, v1, v2, seed_a)
    wb = _half_width(s, length, v1, v2, seed_b)
    cap = 0.15 * length
    d = np.where(g >= 0, g * np.minimum(0.45 * wa, cap), g * np.minimum(0.45 * wb, cap))
    d[0] = d[-1] = 0.0
    pts = v1 + np.outer(s, u) + np.outer(d, nrm)
    pts[0], pts[-1] = v1, v2
    return pts


def _counties(rng, n_units):
    """Synthetic county codes per city (GB/T 2260 style): ~one county per 28 units."""
    n = max(len(CITIES), round(n_units / 28))
    out = []
    lon0, lat0, lon1, lat1 = EXTENT
    centres = np.column_stack([rng.uniform(lon0 + 0.3, lon1 - 0.3, n), rng.uniform(lat0 + 0.3, lat1 - 0.3, n)])
    city_codes = list(CITIES)
    city_xy = np.array([(c[1], c[2]) for c in CITIES.values()])
    serial = {c: 0 for c in city_codes}
    for x, y in centres:
        city = city_codes[int(np.argmin(np.hypot(city_xy[:, 0] - x, city_xy[:, 1] - y)))]
        serial[city] += 1
        k = serial[city]
        name = CITIES[city][0] + ("示例" + _NUMERALS[(k - 1) % 10] + ("区" if k % 2 else "县")) + (str(k // 10) if k > 10 else "")
        out.append((f"{city}{k + 1:02d}", name, x * KX, y))
    return out


def make_units(seed=0, scale=1.0, region=None):
    """Units tiling ``region`` exactly: a GeoDataFrame in EPSG:4490.

    Returns ``(units, region_lonlat)``; the second is the union of the units.
    """
    from scipy.spatial import Voronoi

    rng = np.random.default_rng(seed)
    n_units = max(20, round(COUNTS["units"] * scale))
    lon0, lat0, lon1, lat1 = EXTENT
    step = math.sqrt(0.8 * (lon1 - lon0) * KX * (lat1 - lat0) / n_units)
    region = make_region(seed, margin=0.6 * step) if region is None else region
    pts, inside, step = _seeds(rng, region, n_units)
    vor = Voronoi(pts)
    rp = vor.ridge_points
    rv = np.array([v if -1 not in v else [-1, -1] for v in vor.ridge_vertices])
    keep = inside[rp[:, 0]] | inside[rp[:, 1]]
    if (rv[keep] < 0).any():
        raise RuntimeError("an inside seed has an unbounded cell; increase the padding")
    rp, rv = rp[keep], rv[keep]
    v1, v2 = vor.vertices[rv[:, 0]], vor.vertices[rv[:, 1]]
    lengths = np.hypot(*(v2 - v1).T)
    boundary = inside[rp[:, 0]] != inside[rp[:, 1]]
    weighted = float((lengths * np.where(boundary, 1.0, 2.0)).sum())
    density = COUNTS["unit_vertices"] * scale / weighted  # vertices per plane unit, per ring
    n_seg = np.maximum(1, np.round(lengths * density)).astype(int)
    lines = [
        shapely.LineString(_to_lonlat(_noisy_edge(rng, v1[i], v2[i], pts[rp[i, 0]], pts[rp[i, 1]], int(n_seg[i]))))
        for i in range(len(rp))
    ]
    faces = np.asarray(shapely.get_parts(shapely.polygonize(lines)), dtype=object)
    seed_ids = np.flatnonzero(inside)
    seed_pts = shapely.points(_to_lonlat(pts[seed_ids]))
    face_i, seed_j = shapely.STRtree(seed_pts).query(faces, predicate="contains_properly")
    owner = np.full(len(faces), -1)
    owner[face_i] = seed_j
    if (owner < 0).any() or len(np.unique(seed_j)) != len(seed_ids) or len(face_i) != len(faces):
        raise RuntimeError(f"polygonize gave {len(faces)} faces for {len(seed_ids)} seeds")
    faces = faces[np.argsort(owner)]  # face k belongs to seed k
    return _unit_frame(rng, faces, _to_lonlat(pts[seed_ids]), n_units)


def _unit_frame(rng, faces, seed_xy, n_units):
    """Codes, names and categories for the faces: counties by nearest centre, categories 30/30/40."""
    counties = _counties(rng, n_units)
    cxy = np.array([(c[2] / KX, c[3]) for c in counties])
    nearest = np.argmin(np.hypot(seed_xy[:, None, 0] - cxy[None, :, 0], seed_xy[:, None, 1] - cxy[None, :, 1]), axis=1)
    cats = rng.choice(list(CATEGORY_SHARE), size=len(faces), p=list(CATEGORY_SHARE.values()))
    serial = {}
    rows = []
    order = np.lexsort((seed_xy[:, 0], -seed_xy[:, 1]))  # north to south, west to east: stable serials
    for k in order:
        code, name, _, _ = counties[nearest[k]]
        cat = str(cats[k])
        serial[(code, cat)] = serial.get((code, cat), 0) + 1
        n = serial[(code, cat)]
        subtype = str(rng.choice(KEY_SUBTYPES)) if cat == "key" else None
        rows.append({
            "unit_code": f"ZH{code}{CATEGORY_DIGIT[cat]}{n:04d}",
            "unit_name": f"{name}{subtype[:-1] if subtype else ''}{CATEGORY_ZH[cat][:-2]}单元{n}",
            "category": cat,
            "subtype": subtype,
            "county": name,
            "geometry": faces[k],
        })
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4490")


# --------------------------------------------------------------------------- red lines and zones

def _plane(geom):
    """lon/lat → plane (x = lon·KX) for a geometry."""
    return shapely.transform(geom, lambda xy: np.column_stack([xy[:, 0] * KX, xy[:, 1]]))


def _lonlat(geom):
    return shapely.transform(geom, _to_lonlat)


def _random_point_in(rng, geom, tries=200):
    minx, miny, maxx, maxy = geom.bounds
    for _ in range(tries):
        x, y = rng.uniform(minx, maxx, 32), rng.uniform(miny, maxy, 32)
        ok = shapely.contains_xy(geom, x, y)
        if ok.any():
            k = int(np.argmax(ok))
            return x[k], y[k]
    return None


def _holed_blob(rng, cx, cy, r0, n_vertices, holes):
    """A star-shaped polygon (radius r0 ± 25 %) with up to ``holes`` small round-ish holes."""
    hole_rings = []
    centres = []
    n_hole = 24
    for _ in range(holes):
        for _try in range(10):
            ang, off = rng.uniform(0, 2 * np.pi), rng.uniform(0.1, 0.4) * r0
            hr = rng.uniform(0.05, 0.13) * r0
            hx, hy = cx + off * np.cos(ang), cy + off * np.sin(ang)
            if all(math.hypot(hx - x, hy - y) > hr + r + 0.02 * r0 for x, y, r in centres):
                centres.append((hx, hy, hr))
                hole_rings.append(_blob(rng, hx, hy, hr, n_hole, amp=0.15)[::-1])
                break
    outer = _blob(rng, cx, cy, r0, max(8, n_vertices - (n_hole + 1) * len(hole_rings) - 1))
    return shapely.Polygon(outer, hole_rings)


def make_red_lines(units, seed=0, scale=1.0, region=None):
    """Red-line polygons: ~92 % inside priority units, the rest anywhere in the region."""
    rng = np.random.default_rng(seed + 1)
    n = max(10, round(COUNTS["red_line"] * scale))
    pri = units[units["category"] == "priority"]
    pri_geoms = [_plane(g) for g in pri.geometry.values]
    pri_area = np.array([g.area for g in pri_geoms])
    region_plane = _plane(region) if region is not None else shapely.union_all(pri_geoms)
    placed = {}
    rows = []
    while len(rows) < n:
        free = rng.random() < 0.08
        if free:
            host, hk = region_plane, -1
        else:
            hk = int(rng.choice(len(pri_geoms), p=pri_area / pri_area.sum()))
            host = pri_geoms[hk]
        p = _random_point_in(rng, host)
        if p is None:
            continue
        pt = shapely.Point(p)
        d = shapely.distance(pt, host.boundary)
        for other in placed.get(hk, []):
            d = min(d, shapely.distance(pt, other))
        if d <= 0:
            continue
        want = rng.lognormal(math.log(0.016), 0.5)  # ≈1.8 km
        r0 = min(want, 0.72 * d) if not free else min(want, 0.72 * d, 0.015)
        if r0 * DEG_M < 60:
            continue
        holes = int(rng.choice([0, 0, 1, 2, 3]))
        poly = _holed_blob(rng, p[0], p[1], r0, COUNTS["red_line_vertices"], holes)
        if not poly.is_valid:
            continue
        placed.setdefault(hk, []).append(poly)
        k = len(rows) + 1
        func = str(rng.choice(RED_FUNCTIONS))
        rows.append({"redline_id": f"RL33-{k:05d}", "name": f"浙江省{func}生态保护红线{k}", "function": func,
                     "geometry": _lonlat(poly)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4490")


def make_zones(region, seed=0, scale=1.0):
    """Element zones of every standard type, clipped to the region where they cross its edge."""
    rng = np.random.default_rng(seed + 2)
    n = max(len(ZONE_MIX), round(COUNTS["zones"] * scale))
    types = list(ZONE_MIX)
    share = np.array([ZONE_MIX[t][0] for t in types])
    chosen = types + list(rng.choice(types, size=n - len(types), p=share / share.sum()))
    region_plane = _plane(region)
    shapely.prepare(region_plane)
    rows = []
    for k, zt in enumerate(chosen, start=1):
        lo, hi = ZONE_MIX[zt][1]
        r0 = rng.uniform(lo, hi) * 1000 / DEG_M
        p = _random_point_in(rng, region_plane)
        poly = shapely.Polygon(_blob(rng, p[0], p[1], r0, int(rng.integers(120, 320)), amp=0.3))
        if not region_plane.contains(poly):
            poly = shapely.intersection(poly, region_plane)
            poly = shapely.MultiPolygon([g for g in shapely.get_parts(poly) if g.geom_type == "Polygon"])
            if len(poly.geoms) == 1:
                poly = poly.geoms[0]
        medium = zt.split(".")[0]
        rows.append({"zone_id": f"Z33-{medium[:3].upper()}-{k:05d}", "medium": medium, "zone_type": zt,
                     "name": f"浙江省{ZONE_TYPE_ZH[zt]}{k}", "geometry": _lonlat(poly)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4490")


# --------------------------------------------------------------------------- raster

def write_raster(path, region, seed=0, scale=1.0):
    """PM2.5 GeoTIFF over EXTENT: smooth 20–50 µg/m³, nodata outside the region and in patches."""
    import rasterio
    from rasterio.features import geometry_mask
    from rasterio.transform import from_bounds
    from scipy.ndimage import zoom

    rng = np.random.default_rng(seed + 3)
    w0, h0 = COUNTS["raster"]
    width, height = max(50, round(w0 * math.sqrt(scale))), max(45, round(h0 * math.sqrt(scale)))
    lon0, lat0, lon1, lat1 = EXTENT
    transform = from_bounds(lon0, lat0, lon1, lat1, width, height)
    coarse_w, coarse_h = max(10, width // 20), max(9, height // 20)
    gx, gy = np.meshgrid(np.linspace(lon0, lon1, coarse_w), np.linspace(lat1, lat0, coarse_h))
    field = 24 + 10 * (gy - lat0) / (lat1 - lat0)  # the north (Hang-Jia-Hu plain) is dirtier
    for name, x, y in CITIES.values():
        a, s = rng.uniform(4, 14), rng.uniform(0.2, 0.5)
        field = field + a * np.exp(-((gx - x) ** 2 + (gy - y) ** 2) / (2 * s**2))
    field = zoom(field, (height / coarse_h, width / coarse_w), order=3)[:height, :width]
    field = np.clip(field, 20, 50).astype("float32")
    outside = geometry_mask([region], out_shape=(height, width), transform=transform, all_touched=True)
    field[outside] = -9999.0
    patches = [shapely.Point(_random_point_in(rng, region)).buffer(rng.uniform(0.02, 0.06)) for _ in range(12)]
    field[~geometry_mask(patches, out_shape=(height, width), transform=transform)] = -9999.0
    profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="float32", crs="EPSG:4490",
                   transform=transform, nodata=-9999.0, tiled=True, blockxsize=256, blockysize=256,
                   compress="deflate", predictor=3, zlevel=6)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(field, 1)
    return width * height


# --------------------------------------------------------------------------- quotas and rules

def make_quotas(units, zones, seed=0, scale=1.0):
    """Resource ceilings over unit codes and zone ids: a DataFrame scope, resource, cap, used."""
    rng = np.random.default_rng(seed + 4)
    n = max(10, round(COUNTS["quotas"] * scale))
    cands = []
    for code, cat in zip(units["unit_code"], units["category"]):
        cands.append((code, "water_m3"))
        if cat != "priority":
            cands.append((code, "energy_tce"))
            cands.append((code, "land_ha"))
    for zid, zt in zip(zones["zone_id"], zones["zone_type"]):
        if zt in ("resource.fuel_ban", "air.high_emission", "air.weak_diffusion"):
            cands.append((zid, "coal_t"))
        if zt.startswith("resource.groundwater") or zt == "resource.eco_water":
            cands.append((zid, "water_m3"))
        if zt == "resource.land_key":
            cands.append((zid, "land_ha"))
    picked = rng.choice(len(cands), size=min(n, len(cands)), replace=False)
    base = {"water_m3": 3e6, "coal_t": 5e4, "land_ha": 400.0, "energy_tce": 8e4}
    rows = []
    for k in sorted(picked):
        scope, res = cands[k]
        cap = round(float(base[res] * rng.lognormal(0, 0.6)), -1 if res != "land_ha" else 0)
        used = round(cap * float(rng.choice([rng.uniform(0.1, 0.7), rng.uniform(0.7, 0.98), rng.uniform(0.98, 1.0)],
                                            p=[0.6, 0.3, 0.1])), 0)
        rows.append({"scope": scope, "resource": res, "cap": cap, "used": min(used, cap)})
    return pd.DataFrame(rows)


RED_ACTIVITIES = ["linear_infrastructure", "national_defence", "geological_survey", "ecological_restoration",
                  "scientific_research", "disaster_prevention", "cultural_heritage", "indigenous_living"]
#: Industry codes clauses name, by level (all in GB/T 4754-2017).
RULE_CODES = {
    "section": ["B", "C", "D"],
    "division": ["17", "19", "22", "25", "26", "27", "30", "31", "32", "33", "44"],
    "group": ["171", "176", "191", "221", "251", "252", "261", "264", "271", "301", "313", "321", "336", "384", "441"],
    "class": ["1713", "1762", "1910", "2211", "2511", "2524", "2614", "2641", "2710", "3011", "3041", "3130",
              "3216", "3360", "3841", "3982", "4411", "0610", "1391", "1511"],
}
OFFSET_POLLUTANTS = [["VOCs"], ["NOx"], ["VOCs", "NOx"], ["SO2", "NOx"], ["PM"], ["COD", "NH3N"], ["TP", "TN"],
                     ["heavy_metals"]]
DIMENSION_ABBR = {"spatial_layout": "KJ", "emission_control": "PF", "risk_prevention": "FX",
                  "resource_efficiency": "ZY"}
SOURCE = "浙江省生态环境分区管控动态更新方案（合成基准数据，非官方）"


def _core_clauses():
    """Hand-written province and city clauses: every applies_in and when kind at least once."""
    c = []

    def add(cid, tier, dim, text, applies_in, effect, when=None, obligations=None):
        d = {"id": cid, "tier": tier, "dimension": dim, "text": text, "source": SOURCE, "applies_in": applies_in,
             "effect": effect}
        if when:
            d["when"] = when
        if obligations:
            d["obligations"] = obligations
        c.append(d)

    add("ZJ-KJ-01", "province", "spatial_layout",
        "生态保护红线内禁止开发性、生产性建设活动；在符合现行法律法规前提下，除国家重大战略项目外，仅允许对生态功能不造成破坏的有限人为活动。",
        {"red_line": True}, "prohibit", {"activity_not": RED_ACTIVITIES})
    add("ZJ-KJ-02", "province", "spatial_layout", "生态保护红线内允许的有限人为活动须严格论证、依法依规办理，并落实生态保护措施。",
        {"red_line": True}, "condition", {"activity": RED_ACTIVITIES},
        [{"text": "须论证无法避让生态保护红线的必要性（不可避让论证），并落实生态补偿与修复措施"}])
    add("ZJ-KJ-03", "province", "spatial_layout", "优先保护单元内禁止新建、扩建工业项目和矿产资源开发项目；清洁能源项目除外。",
        {"unit_category": ["priority"]}, "prohibit",
        {"industry": ["B", "C", "D"], "industry_not": ["4413", "4415", "4416"], "construction": ["new", "expansion"]})
    add("ZJ-KJ-04", "province", "spatial_layout", "一般管控单元内禁止新建、扩建三类工业项目。",
        {"unit_category": ["general"]}, "prohibit",
        {"industry": ["1713", "1762", "1910", "2211", "2511", "26", "2710", "3011", "3041", "321", "3360"],
         "construction": ["new", "expansion"]})
    add("ZJ-KJ-05", "province", "spatial_layout", "一般管控单元内新建工业项目原则上须进入工业功能区（小微企业园）。",
        {"unit_category": ["general"]}, "condition", {"industry": ["C"], "industry_not": ["13", "14"], "construction": ["new"]},
        [{"text": "须进入经认定的工业功能区或小微企业园"}])
    add("ZJ-PF-01", "province", "emission_control", "重点管控单元新建排放VOCs的工业项目实行区域削减替代。",
        {"unit_category": ["key"]}, "condition", {"industry": ["C"], "emits": ["VOCs"]},
        [{"text": "新增VOCs排放实行等量削减替代", "offset": {"pollutants": ["VOCs"], "ratio": 1}}])
    add("ZJ-PF-02", "province", "emission_control", "PM2.5年均浓度超标区域新增NOx、VOCs、颗粒物排放实行2倍削减替代。",
        {"raster_exceeds": "pm25"}, "condition", {"emits": ["NOx", "VOCs", "PM"]},
        [{"text": "新增NOx、VOCs、颗粒物排放实行2倍削减替代", "offset": {"pollutants": ["NOx", "VOCs", "PM"], "ratio": 2}}])
    add("ZJ-PF-03", "province", "emission_control", "大气环境高排放重点管控区新增SO2、NOx排放实行1.5倍削减替代。",
        {"zone_types": ["air.high_emission"]}, "condition", {"emits": ["SO2", "NOx"]},
        [{"text": "新增SO2、NOx排放实行1.5倍削减替代", "offset": {"pollutants": ["SO2", "NOx"], "ratio": 1.5}}])
    add("ZJ-KJ-06", "province", "spatial_layout", "饮用水水源保护区内禁止新建、改建、扩建排放水污染物的建设项目。",
        {"zone_types": ["water.drinking_source"]}, "prohibit",
        {"construction": ["new", "reconstruction", "expansion"], "emits": ["COD", "NH3N", "TP", "TN", "heavy_metals"]})
    add("ZJ-ZY-01", "province", "resource_efficiency", "高污染燃料禁燃区内禁止新建、扩建燃用高污染燃料的设施。",
        {"zone_types": ["resource.fuel_ban"]}, "prohibit",
        {"fuel": ["coal", "heavy_oil", "residual_oil", "petroleum_coke"]})
    add("ZJ-ZY-02", "province", "resource_efficiency", "地下水禁采区内禁止新增地下水取水。",
        {"zone_types": ["resource.groundwater_ban"]}, "prohibit", {"attrs": {"groundwater": {"ge": 1}}})
    add("ZJ-ZY-03", "province", "resource_efficiency", "年用水量超过50万立方米的项目须开展水资源论证。",
        {"everywhere": True}, "condition", {"attrs": {"water_m3": {"gt": 500000}}}, [{"text": "开展水资源论证"}])
    add("ZJ-ZY-04", "province", "resource_efficiency", "年综合能耗5000吨标准煤及以上的项目须开展节能审查并落实能耗替代。",
        {"everywhere": True}, "condition", {"attrs": {"energy_tce": {"ge": 5000}}}, [{"text": "开展节能审查，落实能耗等量替代"}])
    add("ZJ-ZY-05", "province", "resource_efficiency", "新建燃煤项目年耗煤量不足1万吨的，原则上不予新建（鼓励集中供热）。",
        {"everywhere": True}, "prohibit", {"fuel": ["coal"], "construction": ["new"], "attrs": {"coal_t": {"gt": 0, "lt": 10000}}})
    add("ZJ-ZY-06", "province", "resource_efficiency", "工业项目用地面积不超过0.5公顷的，须进入小微企业园集中布局。",
        {"unit_category": ["key", "general"]}, "condition", {"industry": ["C"], "attrs": {"land_ha": {"le": 0.5}}},
        [{"text": "须进入小微企业园集中布局"}])
    add("ZJ-FX-01", "province", "risk_prevention", "生态保护红线周边1000米范围内禁止新建化工、原料药、石化项目。",
        {"near": {"layer": "red_line", "within_m": 1000}}, "prohibit",
        {"industry": ["26", "2710", "251"], "construction": ["new"]})
    add("ZJ-FX-02", "province", "risk_prevention", "饮用水水源保护区周边300米范围内新建排放COD、氨氮的项目须落实事故应急措施。",
        {"near": {"zone_types": ["water.drinking_source"], "within_m": 300}}, "condition", {"emits": ["COD", "NH3N"]},
        [{"text": "废水须纳管并落实事故应急池", "offset": {"pollutants": ["COD", "NH3N"], "ratio": 1}}])
    add("ZJ-FX-03", "province", "risk_prevention", "各类要素管控区周边500米范围内新建涉重金属项目须开展环境风险评估。",
        {"near": {"layer": "zones", "within_m": 500}}, "condition", {"emits": ["heavy_metals"]},
        [{"text": "开展环境风险评估，新增重金属排放实行减量置换", "offset": {"pollutants": ["heavy_metals"], "ratio": 1.2}}])
    add("ZJ-FX-04", "province", "risk_prevention", "管控单元边界200米范围内新建危险化学品项目须开展跨单元环境风险评估。",
        {"near": {"layer": "units", "within_m": 200}}, "condition", {"industry": ["261", "2641"], "construction": ["new", "relocation"]},
        [{"text": "开展跨单元环境风险评估"}])
    add("ZJ-FX-05", "province", "risk_prevention", "建设用地污染风险重点管控区内禁止新建居住、学校等敏感用地项目以外的涉重金属项目扩建。",
        {"zone_types": ["soil.construction_risk"]}, "prohibit", {"emits": ["heavy_metals"], "construction": ["expansion"]})
    add("ZJ-KJ-07", "province", "spatial_layout", "农用地优先保护区内禁止新建可能造成土壤污染的有色金属冶炼、制革、电镀、化工项目。",
        {"zone_types": ["soil.farmland_priority"]}, "prohibit", {"industry": ["321", "1910", "3360", "26"], "construction": ["new", "expansion"]})
    add("ZJ-KJ-08", "province", "spatial_layout", "岸线优先保护区内禁止建设与保护无关的项目，无法避让的线性基础设施除外。",
        {"zone_types": ["resource.shoreline_protected"]}, "prohibit", {"activity_not": ["linear_infrastructure"]})
    add("ZJ-KJ-09", "province", "spatial_layout", "大气环境受体敏感区内禁止新建、扩建排放VOCs的化工、涂料项目。",
        {"zone_types": ["air.receptor_sensitive"]}, "prohibit", {"industry": ["26"], "emits": ["VOCs"], "construction": ["new", "expansion"]})
    add("ZJ-PF-04", "province", "emission_control", "水环境工业污染重点管控区新增COD、氨氮排放实行1.5倍削减替代。",
        {"zone_types": ["water.industrial", "water.urban"]}, "condition", {"emits": ["COD", "NH3N"]},
        [{"text": "新增COD、氨氮排放实行1.5倍削减替代", "offset": {"pollutants": ["COD", "NH3N"], "ratio": 1.5}}])
    add("ZJ-PF-05", "province", "emission_control", "重点管控单元燃煤锅炉改建须使用清洁能源，SO2排放量超过10吨的实行倍量替代。",
        {"unit_category": ["key"]}, "condition", {"construction": ["reconstruction"], "attrs": {"emissions.SO2": {"gt": 10}}},
        [{"text": "新增SO2排放实行2倍削减替代", "offset": {"pollutants": ["SO2"], "ratio": 2}}])
    add("ZJ-PF-06", "province", "emission_control", "大气环境各类管控区内新增颗粒物排放实行等量替代。",
        {"zone_types": ["air"]}, "condition", {"emits": ["PM"]},
        [{"text": "新增颗粒物排放实行等量替代", "offset": {"pollutants": ["PM"], "ratio": 1}}])
    return c


def _codes(rng, k):
    """k industry codes drawn across the four GB/T 4754 levels."""
    levels = rng.choice(list(RULE_CODES), size=k, p=[0.1, 0.3, 0.3, 0.3])
    return sorted({str(rng.choice(RULE_CODES[lv])) for lv in levels})


def _generated_clause(rng, cid, tier, applies_in, dim):
    """One clause from a random template; every when kind appears across templates."""
    template = int(rng.integers(0, 8))
    when, effect, obligations, text = {}, "prohibit", None, ""
    if template == 0:
        when = {"industry": _codes(rng, 3), "construction": ["new", "expansion"]}
        text = "禁止新建、扩建所列行业项目"
    elif template == 1:
        codes = _codes(rng, 2)
        when = {"industry": ["C"], "industry_not": codes, "construction": ["new"]}
        effect, text = "condition", "新建工业项目须进入工业功能区（所列行业除外）"
        obligations = [{"text": "须进入工业功能区"}]
    elif template == 2:
        pols = OFFSET_POLLUTANTS[int(rng.integers(len(OFFSET_POLLUTANTS)))]
        ratio = float(rng.choice([1, 1.5, 2]))
        when = {"emits": pols}
        effect, text = "condition", f"新增{'、'.join(pols)}排放实行{ratio:g}倍削减替代"
        obligations = [{"text": text, "offset": {"pollutants": pols, "ratio": ratio}}]
    elif template == 3:
        when = {"fuel": ["coal", "heavy_oil", "petroleum_coke"][: int(rng.integers(1, 4))]}
        text = "禁止新建燃用高污染燃料的设施"
    elif template == 4:
        when = {"activity_not": RED_ACTIVITIES[: int(rng.integers(2, 6))], "industry": _codes(rng, 2)}
        text = "除允许的有限人为活动外，禁止所列行业建设"
    elif template == 5:
        when = {"activity": ["ecological_restoration", "scientific_research"]}
        effect, text = "condition", "生态修复与科研观测活动须报批并落实保护措施"
        obligations = [{"text": "落实生态保护措施"}]
    elif template == 6:
        attr = str(rng.choice(["water_m3", "energy_tce", "land_ha", "coal_t", "emissions.VOCs", "emissions.COD"]))
        op = str(rng.choice(["gt", "ge", "lt", "le"]))
        lim = {"water_m3": 200000, "energy_tce": 3000, "land_ha": 2, "coal_t": 5000, "emissions.VOCs": 10,
               "emissions.COD": 20}[attr]
        when = {"industry": _codes(rng, 2), "attrs": {attr: {op: lim}}}
        effect, text = "condition", f"{attr}满足{op} {lim:g}的所列行业项目须开展专项论证"
        obligations = [{"text": "开展专项论证"}]
    else:
        when = {"construction": ["expansion", "reconstruction"], "emits": ["VOCs", "NOx"]}
        pol = ["VOCs", "NOx"]
        effect, text = "condition", "改建、扩建项目新增VOCs、NOx实行2倍削减替代"
        obligations = [{"text": text, "offset": {"pollutants": pol, "ratio": 2}}]
    d = {"id": cid, "tier": tier, "dimension": dim, "text": text, "source": SOURCE, "applies_in": applies_in,
         "effect": effect, "when": when}
    if obligations:
        d["obligations"] = obligations
    return d


def make_rules(units, zones, seed=0, n_clauses=None):
    """~200 clauses: the core set, city-tier clauses per city and unit-tier clauses."""
    rng = np.random.default_rng(seed + 5)
    n_clauses = COUNTS["clauses"] if n_clauses is None else n_clauses
    clauses = _core_clauses()
    zone_types = sorted(set(zones["zone_type"]))
    dims = list(DIMENSION_ABBR)
    for city in CITIES:
        for j in range(2):
            kind = ["zone_types", "unit_category", "near"][int(rng.integers(3))]
            if kind == "zone_types":
                ai = {"zone_types": sorted(set(rng.choice(zone_types, size=2).tolist()))}
            elif kind == "unit_category":
                ai = {"unit_category": [str(rng.choice(["key", "general"]))]}
            else:
                within = float(rng.choice([100, 200, 300, 500]))
                ai = {"near": {"zone_types": [str(rng.choice(zone_types))], "within_m": within}}
            dim = dims[int(rng.integers(4))]
            clauses.append(_generated_clause(rng, f"C{city}-{DIMENSION_ABBR[dim]}-{j + 1:02d}", "city", ai, dim))
    codes = units["unit_code"].tolist()
    per_unit = {}
    while len(clauses) < n_clauses:
        code = str(rng.choice(codes))
        per_unit[code] = per_unit.get(code, 0) + 1
        dim = dims[int(rng.integers(4))]
        clauses.append(_generated_clause(rng, f"{code}-{DIMENSION_ABBR[dim]}{per_unit[code]:02d}", "unit",
                                         {"unit_codes": [code]}, dim))
    _check_coverage(clauses)
    return clauses


def _check_coverage(clauses):
    from zoning.schema import APPLIES_IN_KINDS, WHEN_KINDS

    applies = {k for c in clauses for k in c["applies_in"]}
    near = {next(iter(k for k in c["applies_in"]["near"] if k != "within_m")) + ":" + str(c["applies_in"]["near"].get("layer", ""))
            for c in clauses if "near" in c["applies_in"]}
    when = {k for c in clauses for k in c.get("when", {})}
    ops = {op for c in clauses for cmp in c.get("when", {}).get("attrs", {}).values() for op in cmp}
    missing = (set(APPLIES_IN_KINDS) - applies) | (set(WHEN_KINDS) - when) | ({"gt", "ge", "lt", "le"} - ops)
    missing |= {"layer:red_line", "layer:zones", "layer:units", "zone_types:"} - near
    if missing:
        raise RuntimeError(f"generated rules do not use: {sorted(missing)}")
    if max(c["applies_in"]["near"]["within_m"] for c in clauses if "near" in c["applies_in"]) != 1000:
        raise RuntimeError("the largest near.within_m must be 1000 m")


# --------------------------------------------------------------------------- the pack

PACK_YAML = """\
# 浙江省生态环境分区管控 — SYNTHETIC BENCHMARK DATA, not official zoning.
# Generated by bench/make_province.py --seed {seed} --scale {scale:g}; regenerate, do not edit.
id: zhejiang-bench{suffix}
name: 浙江省生态环境分区管控（合成基准数据 synthetic benchmark data — not official zoning）
version: "bench-{seed}"
effective: 2024-06-01
region: "330000"
crs: EPSG:4490
tolerance_m2: 1.0
layers:
  units:    {{path: layers.gpkg, layer: units}}
  red_line: {{path: layers.gpkg, layer: red_line}}
  zones:    {{path: layers.gpkg, layer: zones}}
rasters:
  pm25: {{path: pm25.tif, pollutant: PM2.5, unit: ug/m3, standard: 35, statistic: mean}}
quotas: quotas.csv
rules: rules.yaml
"""


def _step(label, t0):
    print(f"  {label:<34} {time.perf_counter() - t0:7.1f} s", flush=True)
    return time.perf_counter()


def make_pack(out_dir, seed=0, scale=1.0):
    """Write the whole pack to ``out_dir``; return a dict of counts."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gpkg = out / "layers.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    t = t_start = time.perf_counter()
    units = make_units(seed, scale)
    t = _step(f"units ({len(units)})", t)
    region = shapely.coverage_union_all(units.geometry.values)
    t = _step("region (coverage union)", t)
    red = make_red_lines(units, seed, scale, region)
    t = _step(f"red lines ({len(red)})", t)
    zones = make_zones(region, seed, scale)
    t = _step(f"zones ({len(zones)})", t)
    for name, frame in (("units", units), ("red_line", red), ("zones", zones)):
        frame.to_file(gpkg, layer=name, driver="GPKG", engine="pyogrio")
    t = _step("layers.gpkg", t)
    cells = write_raster(out / "pm25.tif", region, seed, scale)
    t = _step(f"pm25.tif ({cells:,} cells)", t)
    quotas = make_quotas(units, zones, seed, scale)
    quotas.to_csv(out / "quotas.csv", index=False, float_format="%.0f")
    clauses = make_rules(units, zones, seed)
    header = ("# 浙江省生态环境准入清单 — SYNTHETIC BENCHMARK DATA, not official zoning.\n"
              "# Generated by bench/make_province.py; ZJ-* province, C33xx-* city, <unit_code>-* unit tier.\n")
    (out / "rules.yaml").write_text(header + yaml.safe_dump({"clauses": clauses}, allow_unicode=True, sort_keys=False,
                                                            width=200), encoding="utf-8")
    suffix = "" if scale == 1 else f"-s{scale:g}".replace(".", "p")
    (out / "pack.yaml").write_text(PACK_YAML.format(seed=seed, scale=scale, suffix=suffix), encoding="utf-8")
    _step(f"quotas ({len(quotas)}), rules ({len(clauses)})", t)
    counts = {
        "units": len(units), "unit_vertices": int(shapely.get_num_coordinates(units.geometry.values).sum()),
        "red_line": len(red), "red_line_vertices": int(shapely.get_num_coordinates(red.geometry.values).sum()),
        "red_line_with_holes": int((shapely.get_num_interior_rings(red.geometry.values) > 0).sum()),
        "zones": len(zones), "zone_vertices": int(shapely.get_num_coordinates(zones.geometry.values).sum()),
        "raster_cells": cells, "quotas": len(quotas), "clauses": len(clauses),
        "categories": units["category"].value_counts().to_dict(), "seconds": round(time.perf_counter() - t_start, 1),
    }
    return counts


# --------------------------------------------------------------------------- sites

def _region_of(pack_dir_or_region_geom):
    if isinstance(pack_dir_or_region_geom, shapely.Geometry):
        return pack_dir_or_region_geom
    from zoning.yamlio import load_yaml

    directory = Path(pack_dir_or_region_geom)
    manifest, _ = load_yaml(directory / "pack.yaml")
    ref = manifest["layers"]["units"]
    units = gpd.read_file(directory / ref["path"], layer=ref.get("layer"), engine="pyogrio")
    if units.crs is None:
        units = units.set_crs(manifest.get("crs", "EPSG:4490"))
    units = units.to_crs("EPSG:4490")
    return shapely.coverage_union_all(units.geometry.values)


def _points_in(rng, region, n):
    minx, miny, maxx, maxy = region.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        m = max(1024, 2 * (n - len(out)))
        xy = np.column_stack([rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)])
        out = np.vstack([out, xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])]])
    return out[:n]


def _site_polygons(rng, centres):
    """Star-shaped polygons of 1–50 ha (log-uniform) around centres, 6–16 vertices."""
    out = []
    for cx, cy in centres:
        area_m2 = math.exp(rng.uniform(math.log(1e4), math.log(5e5)))
        k = int(rng.integers(6, 17))
        t = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(0.7, 1.0, k)
        xy = np.column_stack([r * np.cos(t), r * np.sin(t)])
        poly = shapely.Polygon(xy)
        if not poly.is_valid or poly.area == 0:
            poly = shapely.box(-1, -1, 1, 1)
            xy = np.asarray(poly.exterior.coords)[:-1]
        f = math.sqrt(area_m2 / poly.area)
        ang = rng.uniform(0, np.pi)
        rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
        m = (xy @ rot.T) * f
        lon = cx + m[:, 0] / (DEG_M * math.cos(math.radians(cy)))
        lat = cy + m[:, 1] / DEG_M
        out.append(shapely.Polygon(np.column_stack([lon, lat])))
    return out


def _site_lines(rng, centres):
    """Random-walk polylines of 1–20 km, 5–30 segments, starting at the centres."""
    out = []
    for cx, cy in centres:
        length = rng.uniform(1000, 20000)
        k = int(rng.integers(5, 31))
        heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.25, k))
        seg = length / k
        dx, dy = np.cumsum(seg * np.cos(heading)), np.cumsum(seg * np.sin(heading))
        lon = cx + np.concatenate([[0], dx]) / (DEG_M * math.cos(math.radians(cy)))
        lat = cy + np.concatenate([[0], dy]) / DEG_M
        out.append(shapely.LineString(np.column_stack([lon, lat])))
    return out


def _inside(rng, region, n, make, max_rounds=20):
    """n geometries made by ``make(rng, centres)`` that lie within the region (retrying)."""
    got = []
    for _ in range(max_rounds):
        need = n - len(got)
        if need <= 0:
            break
        cand = np.asarray(make(rng, _points_in(rng, region, need)), dtype=object)
        ok = shapely.is_valid(cand) & shapely.contains(region, cand)  # prepared region first
        got.extend(cand[ok])
    return got[:n]


def make_sites(pack_dir_or_region_geom, n, seed=0):
    """Mixed sites inside a region: 60 % points, 30 % polygons (1–50 ha), 10 % lines (1–20 km).

    Parameters
    ----------
    pack_dir_or_region_geom : str, Path or shapely geometry
        A pack directory (the region is the union of its units) or the region in EPSG:4490.
    n : int
        Number of sites.
    seed : int
        Random seed; the same seed gives the same sites.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``site_id``, ``kind`` (point | polygon | line), ``industry`` and the
        geometry, in EPSG:4490, rows in random kind order.
    """
    region = _region_of(pack_dir_or_region_geom)
    shapely.prepare(region)
    rng = np.random.default_rng(seed)
    n_poly, n_line = round(0.3 * n), round(0.1 * n)
    n_point = n - n_poly - n_line
    points = list(shapely.points(_points_in(rng, region, n_point)))
    polys = _inside(rng, region, n_poly, _site_polygons)
    lines = _inside(rng, region, n_line, _site_lines)
    geoms = points + polys + lines
    kinds = ["point"] * len(points) + ["polygon"] * len(polys) + ["line"] * len(lines)
    order = rng.permutation(len(geoms))
    inds = list(SITE_INDUSTRIES)
    w = np.array(list(SITE_INDUSTRIES.values()))
    industry = rng.choice(inds, size=len(geoms), p=w / w.sum())
    return gpd.GeoDataFrame(
        {"site_id": [f"S{i:07d}" for i in range(len(geoms))], "kind": np.asarray(kinds)[order], "industry": industry},
        geometry=np.asarray(geoms, dtype=object)[order], crs="EPSG:4490",
    )


def write_sites(sites, path):
    """Write sites as GeoParquet (``.parquet``) or any vector format pyogrio knows (``.gpkg`` …)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        sites.to_parquet(path, index=False)
    else:
        if path.exists():
            path.unlink()
        sites.to_file(path, engine="pyogrio")


# --------------------------------------------------------------------------- command line

def _pack_cli(argv):
    ap = argparse.ArgumentParser(prog="make_province.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir", nargs="?", default=".cache/bench/province")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply feature counts and raster cells (e.g. 0.1)")
    args = ap.parse_args(argv)
    print(f"generating a synthetic province pack in {args.out_dir} (seed {args.seed}, scale {args.scale:g})")
    counts = make_pack(args.out_dir, args.seed, args.scale)
    print("counts:")
    for k, v in counts.items():
        print(f"  {k:<20} {v:,}" if isinstance(v, int) else f"  {k:<20} {v}")
    print(f"check it with: .venv/bin/zoning validate {args.out_dir}")


def _sites_cli(argv):
    ap = argparse.ArgumentParser(prog="make_province.py sites", description="Write mixed benchmark sites.")
    ap.add_argument("--pack", default=".cache/bench/province")
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--out", default=None, help="a .parquet (GeoParquet) or .gpkg file")
    args = ap.parse_args(argv)
    out = args.out or f".cache/bench/sites_{args.n // 1000}k.parquet"
    t0 = time.perf_counter()
    sites = make_sites(args.pack, args.n, args.seed)
    write_sites(sites, out)
    print(f"wrote {len(sites):,} sites {sites['kind'].value_counts().to_dict()} to {out} "
          f"in {time.perf_counter() - t0:.1f} s")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "sites":
        _sites_cli(argv[1:])
    else:
        _pack_cli(argv)


if __name__ == "__main__":
    main()
