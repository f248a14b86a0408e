"""Where may a project go? Its eligibility map over a whole pack (选址引导, contract §7).

The map is a coverage of the pack's region by polygons, each with the verdict, blocking
clauses and missing attributes that a **point** site of the project gets anywhere
strictly inside it. It is built from the pack's own pieces, in four steps:

1. **Which places matter.** Each clause's outcome for the project is evaluated once
   (:meth:`zoning.bulk.ClausePlan.outcomes`, the screening engine's own logic). A clause
   that cannot fire for this project (a condition known to be false) and a quota row the
   demand keeps clear of change nothing anywhere, so their places are left out. Features
   with the same live clauses and quota rows are one place (units are first dissolved by
   it, so the borders between alike units go).
2. **The pieces' boundaries**: the region's outline; the places' outlines among units, red
   lines and zones; for every live ``near`` clause, the band within ``within_m`` of its
   features, buffered on each Gauss–Krüger zone the region spans exactly as the overlay
   measures distance there (a point's distance is taken on its own zone), with chords
   within :data:`BAND_TOLERANCE_M` of the true arc; for every live ``raster_exceeds``
   clause, the outline of the cells above the standard (polygonised).
3. **Faces.** The boundaries are noded together and polygonised (GEOS): the faces are the
   arrangement of all the pieces, so one face lies wholly inside or outside each place.
4. **Outcomes.** One interior point per face is screened by the bulk engine (the same call
   ``zoning screen`` makes), so a face's verdict is the engine's by construction; faces
   with equal outcomes are dissolved (GEOS coverage union) and split into connected parts.

Examples
--------
>>> from zoning import load_pack
>>> elig = load_pack().eligibility({"industry": "2614", "construction": "new"})
>>> sorted(elig.areas_m2)
['conditional', 'needs_information', 'permitted', 'prohibited']
>>> list(elig.frame.columns)
['verdict', 'verdict_zh', 'blocking', 'missing', 'area_m2', 'geometry']
"""

import hashlib
import json
import logging
import math
import threading
import time
from collections import OrderedDict

import numpy as np
import shapely
from pyproj import Transformer

from zoning import vocab
from zoning.bulk import VERDICT_OF_CODE
from zoning.crs import gk_zone_epsg, gk_zone_number
from zoning.errors import ZoningError
from zoning.overlay import CGCS2000, LAYERS
from zoning.rules import NO_EFFECT

__all__ = ["Eligibility", "eligibility", "BAND_TOLERANCE_M", "ELIGIBILITY_FORMAT"]

#: Largest gap (m) between a near band's polygon and the true circle arcs it follows.
BAND_TOLERANCE_M = 0.2
#: Band outlines are densified to this spacing (m) on the GK plane before they go back
#: to lon/lat, so their straight edges in lon/lat stay on the GK curve to a few mm.
BAND_SEGMENT_M = 100.0
#: Format of eligibility maps kept in the pack cache.
ELIGIBILITY_FORMAT = 2
#: How far (degrees) a zone's band outline reaches past the zone's edge, so that the
#: outlines of two zones cross the seam between them.
_SEAM_OVERLAP_DEG = 1e-6
_log = logging.getLogger(__name__)
_COLUMNS = ["verdict", "verdict_zh", "blocking", "missing", "area_m2"]


class Eligibility:
    """The eligibility map of one project over one pack.

    Attributes
    ----------
    frame : geopandas.GeoDataFrame
        One row per connected polygon (EPSG:4490): ``verdict``, ``verdict_zh``, ``blocking``
        (``;``-joined clause and quota ids that decide), ``missing`` (``;``-joined), ``area_m2``
        (on the GK zone of the polygon's centroid).
    areas_m2 : dict
        Total area by verdict, every verdict present (0.0 when none).
    pack : dict
        ``id``, ``version``, ``digest`` of the pack.
    project : dict
        The project as parsed (contract §2 keys).
    clauses : dict
        Text of every clause named in ``blocking`` (for tooltips and reports).
    """

    def __init__(self, frame, pack, project, clauses):
        self.frame = frame
        self.pack = pack
        self.project = project
        self.clauses = clauses
        self.areas_m2 = {v: float(frame.loc[frame["verdict"] == v, "area_m2"].sum()) for v in VERDICT_OF_CODE}

    def __len__(self):
        return len(self.frame)

    def __repr__(self):
        km2 = ", ".join(f"{v} {a / 1e6:,.2f} km²" for v, a in self.areas_m2.items())
        return f"<Eligibility {self.pack['id']} {self.pack['version']}: {len(self.frame)} polygons; {km2}>"

    def summary(self):
        """The area by verdict as contract §7 prints it: ``{"areas_m2": {...}}``."""
        return {"areas_m2": dict(self.areas_m2)}

    def area_table(self):
        """Area by verdict as a DataFrame (km² and share of the region), most restrictive first."""
        import pandas as pd

        total = sum(self.areas_m2.values()) or 1.0
        return pd.DataFrame(
            {
                "verdict_zh": [vocab.VERDICTS[v] for v in VERDICT_OF_CODE],
                "area_km2": [round(self.areas_m2[v] / 1e6, 3) for v in VERDICT_OF_CODE],
                "share": [round(self.areas_m2[v] / total, 4) for v in VERDICT_OF_CODE],
            },
            index=pd.Index(list(VERDICT_OF_CODE), name="verdict"),
        )

    def to_file(self, path, **kwargs):
        """Write the polygons: GeoPackage, GeoParquet or GeoJSON by the suffix (see :mod:`zoning.io.write`)."""
        from zoning.io.write import write_polygons

        write_polygons(self.frame, path, **kwargs)

    def to_geojson(self, simplify_m=0.0):
        """A GeoJSON FeatureCollection (dict) of the polygons, optionally simplified for display.

        ``simplify_m`` > 0 simplifies the whole coverage together (shared edges stay shared,
        no gaps open) with that tolerance in metres, on the GK zone of the region's centre.
        """
        frame = self.frame
        if simplify_m > 0 and len(frame):
            frame = frame.copy()
            frame["geometry"] = simplify_coverage(frame.geometry.values, simplify_m)
        out = json.loads(frame.to_json(drop_id=True))
        out["areas_m2"] = dict(self.areas_m2)
        out["pack"] = dict(self.pack)
        out["simplified_m"] = float(simplify_m)
        return out

    def explore(self, *, offline=None, tiles=None, **kwargs):
        """A folium map coloured by verdict, with the blocking clauses in tooltips and the
        area by verdict in the legend (see :func:`zoning.maps.eligibility_map`)."""
        from zoning.maps import eligibility_map

        return eligibility_map(self, offline=offline, tiles=tiles, **kwargs)

    def _repr_html_(self):
        table = self.area_table().to_html()
        return (f"<div><b>可选区域 Eligibility</b> — {self.pack['id']} {self.pack['version']}, "
                f"{len(self.frame)} polygons{table}</div>" + self.explore()._repr_html_())


# ----------------------------------------------------------------------------
# the computation


def eligibility(pack, project=None, *, cache=True, **overrides):
    """The eligibility map of ``project`` over the whole of ``pack``.

    Parameters
    ----------
    pack : Pack
    project : dict or Project, optional
        Contract §2 keys.
    cache : bool
        Keep the result in the pack cache (and memory) keyed by the project, so a second
        ask for the same project is instant.
    **overrides
        Project keys that replace those of ``project``.

    Returns
    -------
    Eligibility
    """
    from zoning.screen import _as_project

    proj = _as_project(None, project, overrides)
    key = _project_key(proj)
    memo_key = (pack.digest, key)
    meta = {"id": pack.id, "version": pack.version, "digest": pack.digest}
    if cache:
        with _MEMO_LOCK:
            hit = _MEMO.get(memo_key)
            if hit is not None:
                _MEMO.move_to_end(memo_key)
                # The same polygons; this call's project (its name may differ).
                return Eligibility(hit[0], meta, proj.to_dict(), hit[1])
    frame = _load(pack, key) if cache else None
    if frame is None:
        frame = _compute(pack, proj)
        if cache:
            _store(pack, key, frame)
    ids = {i for b in frame["blocking"] for i in b.split(";") if i and not i.startswith("quota:")}
    clauses = {c.id: c.text for c in pack.clauses if c.id in ids}
    if cache:
        with _MEMO_LOCK:
            _MEMO[memo_key] = (frame, clauses)
            while len(_MEMO) > _MEMO_SIZE:
                _MEMO.popitem(last=False)
    return Eligibility(frame, meta, proj.to_dict(), clauses)


_MEMO = OrderedDict()
_MEMO_SIZE = 32
_MEMO_LOCK = threading.Lock()


def _project_key(project):
    canonical = json.dumps(project.to_dict() | {"name": None, "extra": project.extra}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _load(pack, key):
    from zoning.cache import load_artifact

    kept = load_artifact(pack, f"eligibility-{key}", version=ELIGIBILITY_FORMAT)
    if kept is None or not all(c in kept.columns for c in _COLUMNS):
        return None
    return kept[[*_COLUMNS, "geometry"]]


def _store(pack, key, frame):
    from zoning.cache import store_artifact

    store_artifact(pack, f"eligibility-{key}", frame, version=ELIGIBILITY_FORMAT)


def _compute(pack, project):
    import geopandas as gpd

    from zoning.screen import _run

    stage = _Stages()
    tables = pack._screening
    plan = tables.plan
    outcomes = plan.outcomes(project)
    region = _dissolve(np.asarray(pack.units.geometry.values, dtype=object)) if len(pack.units) else None
    if region is None or region.is_empty:
        raise ZoningError("the pack has no units: its region is empty")
    stage("region")
    lines = [shapely.boundary(region)]
    lines += _place_outlines(pack, plan, outcomes)
    lines = [_follow_gk(lines)]
    stage("places")
    west, south, east, north = region.bounds
    bands = [_band(pack, layer, rows, within_m, (west, south, east, north)) for layer, rows, within_m in _live_near(pack, plan, outcomes)]
    if bands:
        lines += bands
        lines += _seams(west, south, east, north)
    stage("near bands")
    lines += [_raster_outline(pack, name) for name in _live_rasters(plan, outcomes)]
    stage("rasters")
    faces = _faces(lines, region.bounds)
    del lines
    stage("faces")
    # Faces outside the region (where a band or a tile reaches out, in gaps between units)
    # are dropped; the engine would also take a point within 1 mm of a unit as inside.
    reps = _inner_points(faces)
    inside = shapely.contains_xy(region, shapely.get_x(reps), shapely.get_y(reps))
    faces, reps = faces[inside], reps[inside]
    run = _run(pack, reps, np.zeros(len(reps), np.int64), [project])
    ok = run.table.ok
    cols = run.columns
    rank = cols.rank[ok]
    blocking = np.array(cols.blocking, dtype=object)[ok]
    missing = np.array(cols.missing, dtype=object)[ok]
    faces = faces[ok]
    labels = {}
    for i, key in enumerate(zip(rank.tolist(), blocking.tolist(), missing.tolist())):
        labels.setdefault(key, []).append(i)
    stage("outcomes")
    rows, geoms = [], []
    for (r, b, m), idx in labels.items():
        merged = faces[idx[0]] if len(idx) == 1 else _dissolve_faces(faces[idx])
        for part in shapely.get_parts(merged):
            rows.append((int(r), b, m))
            geoms.append(part)
    geoms = np.array(geoms, dtype=object)
    verdicts = [VERDICT_OF_CODE[r] for r, _, _ in rows]
    frame = gpd.GeoDataFrame(
        {
            "verdict": verdicts,
            "verdict_zh": [vocab.VERDICTS[v] for v in verdicts],
            "blocking": [b for _, b, _ in rows],
            "missing": [m for _, _, m in rows],
            "area_m2": gk_areas(geoms),
        },
        geometry=geoms,
        crs=CGCS2000,
    )
    stage("dissolve")
    order = np.lexsort((-frame["area_m2"].to_numpy(), [r for r, _, _ in rows])) if len(frame) else []
    return frame.iloc[order].reset_index(drop=True)


class _Stages:
    """Logs (DEBUG, logger ``zoning.eligibility``) the time and memory of each stage."""

    def __init__(self):
        self.t = time.perf_counter()

    def __call__(self, name):
        if _log.isEnabledFor(logging.DEBUG):
            now = time.perf_counter()
            _log.debug("%s: %.2f s, RSS %s", name, now - self.t, _rss())
            self.t = now


def _rss():
    try:
        with open("/proc/self/status") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("VmRSS"))
    except (OSError, StopIteration):
        return "?"


def _place_outlines(pack, plan, outcomes):
    """Outlines of the places of live clauses and quota rows among units, red lines and zones."""
    live = outcomes.codes < NO_EFFECT
    live_quota = outcomes.quota < NO_EFFECT
    out = []
    for layer in LAYERS:
        gdf = getattr(pack, layer)
        n = len(gdf)
        if not n:
            continue
        m = plan.member[layer]
        signature = [()] * n
        feat = np.repeat(np.arange(n), np.diff(m.ptr))
        keep = live[m.clause]
        for f, j in zip(feat[keep].tolist(), m.clause[keep].tolist()):
            signature[f] = signature[f] + (j,)
        if layer in plan.quota_ptr and len(plan.quota_idx[layer]):
            ptr, idx = plan.quota_ptr[layer], plan.quota_idx[layer]
            qfeat = np.repeat(np.arange(n), np.diff(ptr))
            qkeep = live_quota[idx]
            for f, q in zip(qfeat[qkeep].tolist(), idx[qkeep].tolist()):
                signature[f] = signature[f] + (("q", q),)
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        groups = {}
        for f, s in enumerate(signature):
            if s:
                groups.setdefault(s, []).append(f)
        for rows in groups.values():
            if layer == "units":
                # Units tile the region: dissolving alike neighbours drops their shared borders.
                out.append(shapely.boundary(_dissolve(geoms[rows])))
            else:
                out.extend(shapely.boundary(geoms[rows]).tolist())
    return out


def _dissolve(geoms, noded=False):
    """Union of polygons that should tile (units, faces): GEOS coverage union when they
    form a valid coverage (shared edges noded alike; ``noded`` says they are, as faces of
    a polygonised arrangement are), else a full union (real data often does not share
    its edges exactly, and coverage union would then drop some)."""
    try:
        if noded or shapely.coverage_is_valid(geoms):
            return shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:
        pass
    return shapely.union_all(geoms)


def _dissolve_faces(faces):
    """Union of faces of the arrangement: coverage union (fast), checked by area; a full
    union where tiles noded a shared edge differently."""
    try:
        merged = shapely.coverage_union_all(faces)
        if shapely.is_valid(merged) and math.isclose(merged.area, float(shapely.area(faces).sum()), rel_tol=1e-9):
            return merged
    except shapely.errors.GEOSException:
        pass
    return shapely.union_all(faces)


def _live_near(pack, plan, outcomes):
    """``(layer, rows, within_m)`` of each live near clause, one per distinct band."""
    seen = {}
    for j, layer, within_m, mask in plan.near:
        if outcomes.codes[j] >= NO_EFFECT:
            continue
        n = len(getattr(pack, layer))
        rows = np.flatnonzero(mask) if mask is not None else np.arange(n)
        key = (layer, float(within_m), rows.tobytes())
        seen.setdefault(key, (layer, rows, float(within_m)))
    return [v for v in seen.values() if len(v[1])]


def _live_rasters(plan, outcomes):
    return sorted({name for j, name in plan.raster if outcomes.codes[j] < NO_EFFECT})


def _quad_segs(within_m):
    """Segments per quarter circle so that chords stay within BAND_TOLERANCE_M of the arc."""
    if within_m <= BAND_TOLERANCE_M:
        return 8
    half = math.acos(1.0 - BAND_TOLERANCE_M / within_m)
    return max(8, math.ceil((math.pi / 2) / (2 * half)))


def _zones(west, east):
    return range(gk_zone_number(west), gk_zone_number(east) + 1)


def _band(pack, layer, rows, within_m, bounds):
    """Outline (lon/lat lines) of the points within ``within_m`` of the features ``rows``
    of ``layer``, each GK zone's part measured on that zone, as the overlay measures."""
    west, south, east, north = bounds
    gdf = getattr(pack, layer)
    fb = np.asarray(gdf.geometry.values, dtype=object)[rows]
    fbounds = shapely.bounds(fb)
    lat = max(abs(south), abs(north))
    reach = within_m / (111_320.0 * math.cos(math.radians(min(lat, 89.0)))) + 1e-6
    out = []
    for zone in _zones(west, east):
        epsg = 4534 + zone - 25
        zw, ze = max(west, 3 * zone - 1.5), min(east, 3 * zone + 1.5)
        sel = (fbounds[:, 2] >= zw - reach) & (fbounds[:, 0] <= ze + reach)
        if not sel.any():
            continue
        feats = pack.index.feature_geometries(epsg, layer, rows[sel])
        if layer == "units":
            # Units tile the region: only the outline of those chosen matters.
            feats = np.array([_dissolve(feats)], dtype=object)
        # Each feature buffered, then their union: the same band as buffering the union,
        # at a third of the time and memory.
        band = shapely.union_all(shapely.buffer(feats, within_m, quad_segs=_quad_segs(within_m)))
        outline = shapely.segmentize(shapely.boundary(band), BAND_SEGMENT_M)
        inverse = Transformer.from_crs(f"EPSG:{epsg}", CGCS2000, always_xy=True)
        outline = shapely.transform(outline, lambda xy: np.column_stack(inverse.transform(xy[:, 0], xy[:, 1])))
        eps = _SEAM_OVERLAP_DEG
        out.append(shapely.clip_by_rect(outline, zw - eps, south - 1.0, ze + eps, north + 1.0))
    return shapely.union_all(out) if out else shapely.LineString()


def _seams(west, south, east, north):
    """The meridians between GK zones inside the region's box (bands change zone there)."""
    return [shapely.LineString([(3 * z - 1.5, south - 0.01), (3 * z - 1.5, north + 0.01)])
            for z in _zones(west, east) if west < 3 * z - 1.5 < east]


def _raster_outline(pack, name):
    """Outline (lon/lat) of the cells whose value exceeds the raster's standard, exactly as
    a point site's cell is judged (:func:`zoning.screen._exceeds`)."""
    from rasterio.features import shapes

    from zoning.screen import _exceeds

    layer = pack.index.rasters[name]
    standard = float(layer.ref.standard)
    band = np.asarray(layer.band(), dtype=np.float64)
    with np.errstate(invalid="ignore"):
        exceed = band > standard
        # Values within rounding reach of the standard are judged as the verdict shows them.
        close = np.flatnonzero((np.abs(band - standard) < 1e-3).ravel())
    flat = exceed.ravel()
    for k in close.tolist():
        flat[k] = _exceeds(float(band.flat[k]), standard)
    if not exceed.any():
        return shapely.LineString()
    polys = [shapely.geometry.shape(g) for g, _ in shapes(exceed.astype(np.uint8), mask=exceed, transform=layer.transform, connectivity=4)]
    outline = shapely.boundary(shapely.coverage_union_all(np.array(polys, dtype=object)))
    if layer._to_raster is not None:
        step = min(abs(layer.transform.a), abs(layer.transform.e)) / 4
        outline = shapely.segmentize(outline, step)
        inverse = Transformer.from_crs(layer.crs, CGCS2000, always_xy=True)
        outline = shapely.transform(outline, lambda xy: np.column_stack(inverse.transform(xy[:, 0], xy[:, 1])))
    return outline


#: Vertices per tile: the arrangement is noded and polygonised tile by tile, so that
#: memory stays bounded on province-sized packs (noding costs ~0.5 kB per vertex).
TILE_VERTICES = 250_000
#: Lines are cut into runs of at most this many vertices before they are sorted into tiles.
_RUN_VERTICES = 256


def _runs(lines):
    """The lines cut into short runs (shared end points), for the tiles' spatial index."""
    flat = [g for item in lines for g in (item if isinstance(item, np.ndarray) else [item])]
    parts = shapely.get_parts(shapely.get_parts(np.array([g for g in flat if g is not None and not shapely.is_empty(g)], dtype=object)))
    parts = parts[shapely.get_type_id(parts) == 1]  # LineStrings (rings' boundaries are lines)
    xy, which = shapely.get_coordinates(parts, return_index=True)
    if not len(xy):
        return np.zeros(0, dtype=object)
    count = np.bincount(which, minlength=len(parts))
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    # Each line of n vertices becomes ceil((n - 1) / R) runs of R segments; run k spans
    # vertices [k R, (k + 1) R] of its line, so consecutive runs share an end point.
    segs = count - 1
    nruns = np.maximum(1, -(-segs // _RUN_VERTICES))
    line_of_run = np.repeat(np.arange(len(parts)), nruns)
    k = np.arange(int(nruns.sum())) - np.repeat(np.cumsum(nruns) - nruns, nruns)
    lo = start[line_of_run] + k * _RUN_VERTICES
    hi = np.minimum(lo + _RUN_VERTICES, start[line_of_run] + count[line_of_run] - 1)
    lengths = hi - lo + 1
    take = np.repeat(lo, lengths) + (np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths))
    return shapely.linestrings(xy[take], indices=np.repeat(np.arange(len(lo)), lengths))


#: Segments longer than this (degrees, ≈ 1 km) are redrawn as the overlay sees them.
_LONG_SEGMENT_DEG = 0.01
_LONG_SEGMENT_M = 500.0


def _follow_gk(lines):
    """The pack's outlines as the overlay sees them: it projects vertices to a GK zone and
    joins them straight there, so a long edge, straight in lon/lat, is a curve to it (over
    10 km, 1 m off the chord). Runs with segments over 1 km are densified on the GK zone
    of their centre (every 500 m) and brought back; shorter edges differ by under 1.5 cm."""
    runs = _runs(lines)
    if not len(runs):
        return runs
    xy, which = shapely.get_coordinates(runs, return_index=True)
    step = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
    same = which[1:] == which[:-1]
    longest = np.zeros(len(runs))
    np.maximum.at(longest, which[1:][same], step[same])
    todo = np.flatnonzero(longest > _LONG_SEGMENT_DEG)
    if not len(todo):
        return runs
    lon = shapely.get_x(shapely.centroid(runs[todo]))
    epsg = np.array([gk_zone_epsg(float(x)) for x in lon])
    for e in np.unique(epsg):
        sel = todo[epsg == e]
        fwd = Transformer.from_crs(CGCS2000, f"EPSG:{int(e)}", always_xy=True)
        inv = Transformer.from_crs(f"EPSG:{int(e)}", CGCS2000, always_xy=True)
        gk = shapely.transform(runs[sel], lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))
        dense = shapely.segmentize(gk, _LONG_SEGMENT_M)
        runs[sel] = shapely.transform(dense, lambda c: np.column_stack(inv.transform(c[:, 0], c[:, 1])))
    return runs


def _faces(lines, bounds):
    """The faces of the arrangement of ``lines`` over ``bounds`` (GEOS noding, then
    polygonize), tile by tile; faces along a tile's edge are cut there (the dissolve joins them)."""
    runs = _runs(lines)
    total = int(shapely.get_num_coordinates(runs).sum()) if len(runs) else 0
    pad = 1e-4  # tiles reach past the region (and past the bands' cut ends)
    w, s, e, n = bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad
    if total <= TILE_VERTICES:
        nx = ny = 1
    else:
        side = math.sqrt((e - w) * (n - s) * TILE_VERTICES / total)
        nx, ny = max(1, math.ceil((e - w) / side)), max(1, math.ceil((n - s) / side))
    xs, ys = np.linspace(w, e, nx + 1), np.linspace(s, n, ny + 1)
    tree = shapely.STRtree(runs)
    out = []
    for i in range(nx):
        for j in range(ny):
            box = (xs[i], ys[j], xs[i + 1], ys[j + 1])
            rect = shapely.box(*box)
            idx = tree.query(rect)
            if not len(idx):
                out.append(np.array([rect], dtype=object))
                continue
            clipped = shapely.clip_by_rect(runs[idx], *box)
            noded = shapely.union_all(np.concatenate([clipped, [rect.boundary]]))
            out.append(shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))))
    faces = np.concatenate(out) if out else np.zeros(0, dtype=object)
    return faces[shapely.area(faces) > 0]


#: An interior point this close (degrees, ≈ 1 cm) to its face's edge is moved to the face's
#: pole of inaccessibility: the overlay counts a point within 1 mm of a feature as touching it.
_EDGE_CLEARANCE_DEG = 1e-7


def _inner_points(faces):
    """A point inside each face, clear of its edges: GEOS's interior point, or for a face
    where that lands near an edge (thin parts), the centre of its largest inscribed circle."""
    reps = shapely.point_on_surface(faces)
    close = shapely.distance(reps, shapely.boundary(faces)) < _EDGE_CLEARANCE_DEG
    if close.any():
        circles = shapely.maximum_inscribed_circle(faces[close])
        reps[close] = shapely.get_point(circles, 0)
    return reps


#: Polygons are densified to this spacing (degrees, ≈ 100 m) before their area is measured
#: on a GK zone: a straight lon/lat edge is a curve there (4 cm off the chord over 2 km).
_AREA_SEGMENT_DEG = 1e-3


def gk_areas(geoms):
    """Area (m²) of each lon/lat polygon (edges straight in lon/lat) on the GK zone of its centroid."""
    geoms = shapely.segmentize(np.asarray(geoms, dtype=object), _AREA_SEGMENT_DEG)
    out = np.zeros(len(geoms))
    if not len(geoms):
        return out
    lon = shapely.get_x(shapely.centroid(geoms))
    epsg = np.array([gk_zone_epsg(float(x)) for x in lon])
    for e in np.unique(epsg):
        sel = epsg == e
        fwd = Transformer.from_crs(CGCS2000, f"EPSG:{int(e)}", always_xy=True)
        out[sel] = shapely.area(shapely.transform(geoms[sel], lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1]))))
    return out


def simplify_coverage(geoms, tolerance_m):
    """Simplify polygons that tile an area together, keeping shared edges shared (GEOS
    coverage simplification), with ``tolerance_m`` metres on the GK zone of their centre."""
    geoms = np.asarray(geoms, dtype=object)
    lon = float(np.mean(shapely.bounds(geoms)[:, [0, 2]]))
    epsg = gk_zone_epsg(lon)
    fwd = Transformer.from_crs(CGCS2000, f"EPSG:{epsg}", always_xy=True)
    inv = Transformer.from_crs(f"EPSG:{epsg}", CGCS2000, always_xy=True)
    gk = shapely.transform(geoms, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
    try:
        simple = shapely.coverage_simplify(gk, tolerance_m)
    except shapely.errors.GEOSException:
        # GEOS refuses a few coverages (a ring it would reduce to one point): simplify each
        # polygon alone; for display, hairline gaps between neighbours may then show.
        simple = shapely.simplify(gk, tolerance_m, preserve_topology=True)
    return shapely.transform(simple, lambda xy: np.column_stack(inv.transform(xy[:, 0], xy[:, 1])))
