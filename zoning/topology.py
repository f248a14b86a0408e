"""Topology quality assurance for zoning layers.

Environmental control units must cover a jurisdiction without gaps or
overlaps, and red lines must lie inside priority-protection units. The checks
here find where a layer breaks those rules and return one row per problem,
with a point a planner can zoom to:

============ ===============================================================
kind         meaning
============ ===============================================================
empty        a feature without geometry, or with an empty one
invalid      ``shapely.is_valid_reason`` is not "Valid Geometry"
wrong_type   not a Polygon or MultiPolygon
duplicate_id an id used by more than one feature (one row per id)
missing_id   a feature whose id is null or blank (named ``#<row>``)
overlap      two features of a coverage share more than ``tolerance_m2``
gap          a piece inside a coverage's region that no feature covers
sliver       a valid polygon smaller than ``tolerance_m2``
outside      the part of a feature outside another layer (:func:`check_contained`)
============ ===============================================================

Topology is judged in the layer's own CRS, where its vertices were made;
areas are measured in m² on a projected CRS, by default the CGCS2000 3°
Gauss–Krüger zone of the layer's centre (:func:`zoning.crs.gk_zone_epsg`).
Problem points are returned in CGCS2000 lon/lat (EPSG:4490). The module does
no file I/O: it takes and returns in-memory frames.
"""

import math
import re

import geopandas
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from zoning.crs import CGCS2000, gk_zone_epsg
from zoning.errors import CRSError, PackError

__all__ = [
    "PROBLEM_COLUMNS",
    "KINDS",
    "check_layer",
    "check_contained",
    "summarize",
    "problems_to_geojson",
]

#: Columns of every problems frame, in this order.
PROBLEM_COLUMNS = ["layer", "kind", "ids", "area_m2", "message", "geometry"]

#: Problem kinds, in the order problems are sorted.
KINDS = (
    "empty",
    "invalid",
    "wrong_type",
    "duplicate_id",
    "missing_id",
    "overlap",
    "gap",
    "sliver",
    "outside",
)

_KIND_RANK = {kind: rank for rank, kind in enumerate(KINDS)}
_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)
_POLYGONAL_IDS = np.array([int(t) for t in _POLYGONAL])
_REASON = re.compile(r"^(?P<what>.*?)\s*\[(?P<x>[^\s\]]+)\s+(?P<y>[^\s\]]+)[^\]]*\]\s*$")


def check_layer(gdf, *, layer, id_column, tolerance_m2=1.0, coverage=False, area_crs=None):
    """Find broken features in a polygon layer, and overlaps and gaps in a coverage.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The layer, in any CRS (it must have one).
    layer : str
        Layer name written in the ``layer`` column, e.g. ``"units"``.
    id_column : str
        Column naming each feature, e.g. ``"unit_code"``. Features whose id is
        null or blank are named ``#<row>`` (0-based position in ``gdf``).
    tolerance_m2 : float, default 1.0
        Overlaps, gaps and polygons not larger than this count as noise
        (overlaps: touching); smaller polygons are reported as ``sliver``.
    coverage : bool, default False
        The layer must cover its region without gaps or overlaps (control
        units): also report ``overlap`` and ``gap``.
    area_crs : CRS-like, optional
        Projected CRS for measuring, in metres. Default: the CGCS2000 3° GK
        zone of the centre of the layer's bounds.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`PROBLEM_COLUMNS`, CRS EPSG:4490, one row per problem,
        sorted by kind (:data:`KINDS` order), then ``ids``. ``area_m2`` is
        rounded to 0.01 and NaN where no area applies; ``geometry`` is a
        point in lon/lat (None for empty features). ``attrs["area_crs"]``
        names the CRS areas were measured on.

    Notes
    -----
    ``invalid`` is judged on the geometries as given; overlaps, gaps and
    slivers are computed on repaired copies (``make_valid``). A gap that
    borders an invalid feature is not reported: where that feature really
    reaches is unknown until it is fixed, so the broken unit is reported once.
    Empty and non-polygon features are left out of the coverage checks (the
    area they were meant to cover shows as a gap if it is enclosed).

    Overlaps and gaps are computed in the layer's own CRS and only the pieces
    found are projected (densified to 10 m first) to be measured: projecting
    vertices first would bend nothing, and a boundary that two units share
    exactly in lon/lat would open or overlap by centimetres along each
    kilometre of edge.

    Overlaps are searched only among units the GEOS coverage validator flags
    (``shapely.coverage_invalid_edges``), with an STRtree for candidate
    pairs, so a clean coverage costs about one pass over its vertices. Gaps
    are the holes of the union of the units (less any islands inside them)
    and the areas enclosed by units that touch only at points; the region's
    outline is never a gap. A gap's ``ids`` are the features that share an
    edge with it.

    Examples
    --------
    Three units on the GK zone of 120°E, A and B overlapping by 10 m × 100 m:

    >>> from shapely import box
    >>> x, y = 500_000, 3_408_000
    >>> units = geopandas.GeoDataFrame(
    ...     {"unit_code": ["A", "B", "C"]},
    ...     geometry=[box(x, y, x + 100, y + 100), box(x + 90, y, x + 200, y + 100),
    ...               box(x, y + 100, x + 200, y + 200)],
    ...     crs="EPSG:4549",
    ... )
    >>> problems = check_layer(units, layer="units", id_column="unit_code", coverage=True)
    >>> problems[["kind", "ids", "area_m2"]]
          kind  ids  area_m2
    0  overlap  A|B   1000.0
    >>> problems.message[0]
    'A and B overlap by 1000.00 m²'
    """
    _require_frame(gdf, "gdf", layer, id_column)
    tol = _require_tolerance(tolerance_m2)
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    labels, blank = _labels(gdf[id_column])
    n = len(geoms)
    to_lonlat = _to_lonlat(gdf.crs)
    rows = []

    missing = shapely.is_missing(geoms)
    empty = missing | shapely.is_empty(geoms)
    for k in np.flatnonzero(empty):
        what = "no geometry" if missing[k] else "an empty geometry"
        rows.append(_row(layer, "empty", labels[k], message=f"feature has {what}"))

    present = ~empty
    reasons = np.full(n, "Valid Geometry", dtype=object)
    if present.any():
        reasons[present] = shapely.is_valid_reason(geoms[present])
    invalid = present & (reasons != "Valid Geometry")
    for k in np.flatnonzero(invalid):
        message, point = _describe_reason(reasons[k], to_lonlat)
        rows.append(_row(layer, "invalid", labels[k], message=message, point=point, space="lonlat"))

    types = shapely.get_type_id(geoms)
    polygonal = present & np.isin(types, _POLYGONAL)
    for k in np.flatnonzero(present & ~polygonal):
        rows.append(_row(layer, "wrong_type", labels[k],
                         message=f"{geoms[k].geom_type} where Polygon or MultiPolygon was expected",
                         point=_point_on(geoms[k]), space="src"))

    rows.extend(_id_problems(labels, blank, geoms, layer, id_column))

    crs = _area_crs(area_crs, gdf.crs, _bounds(geoms[present]))
    measure = _Measure(gdf.crs, crs)
    idx = np.flatnonzero(polygonal)
    work = _repair(geoms[idx])
    usable = ~shapely.is_empty(work)
    idx, work = idx[usable], work[usable]

    small = measure.small(work, tol) & ~invalid[idx]
    for k, g, a in zip(idx[small], work[small], measure.area(work[small])):
        if a < tol:
            rows.append(_row(layer, "sliver", labels[k], area=a,
                             message=f"polygon of {a:.2f} m² is below the tolerance of {tol:g} m²",
                             point=_point_on(g), space="src"))

    if coverage and len(work):
        names = [labels[k] for k in idx]
        flagged = ~shapely.is_empty(shapely.coverage_invalid_edges(work))
        tree = shapely.STRtree(work)
        rows.extend(_overlaps(work, names, flagged, tree, tol, layer, measure))
        rows.extend(_gaps(work, names, flagged, tree, tol, layer, measure, invalid[idx]))

    return _frame(rows, gdf.crs, crs)


def check_contained(inner, outer, *, inner_layer, inner_id, outer_filter_desc,
                    tolerance_m2=1.0, area_crs=None):
    """Find features of ``inner`` that stick out of the union of ``outer``.

    Used to check that red lines lie inside priority-protection units.

    Parameters
    ----------
    inner : geopandas.GeoDataFrame
        Features that must lie inside ``outer`` (e.g. red lines); any CRS.
    outer : geopandas.GeoDataFrame
        The features they must lie in, already filtered (e.g. the priority
        units); any CRS.
    inner_layer : str
        Name written in the ``layer`` column, e.g. ``"red_line"``.
    inner_id : str
        Id column of ``inner``, e.g. ``"redline_id"``.
    outer_filter_desc : str
        How ``outer`` reads in a message, e.g. ``"priority units"``.
    tolerance_m2 : float, default 1.0
        Parts outside of at most this area are ignored.
    area_crs : CRS-like, optional
        Projected CRS for measuring. Default: the CGCS2000 3° GK zone of the
        centre of ``inner``'s bounds.

    Returns
    -------
    geopandas.GeoDataFrame
        Problems of kind ``outside`` (columns :data:`PROBLEM_COLUMNS`, EPSG:4490):
        ``area_m2`` is the area outside, rounded to 0.01, and ``geometry`` a
        point on the largest outside piece. Empty, invalid and non-polygon
        features are left to :func:`check_layer`; invalid ones are measured
        after ``make_valid``.

    Examples
    --------
    >>> from shapely import box
    >>> x, y = 500_000, 3_408_000
    >>> priority = geopandas.GeoDataFrame(
    ...     {"unit_code": ["ZH33052310001"]}, geometry=[box(x, y, x + 100, y + 100)],
    ...     crs="EPSG:4549")
    >>> red = geopandas.GeoDataFrame(
    ...     {"redline_id": ["R1", "R2"]},
    ...     geometry=[box(x + 10, y + 10, x + 20, y + 20), box(x + 80, y, x + 120, y + 10)],
    ...     crs="EPSG:4549")
    >>> out = check_contained(red, priority, inner_layer="red_line", inner_id="redline_id",
    ...                       outer_filter_desc="priority units")
    >>> out[["kind", "ids", "area_m2"]]
          kind ids  area_m2
    0  outside  R2    200.0
    >>> out.message[0]
    '200.00 m² (50.0 %) lies outside priority units'
    """
    _require_frame(inner, "inner", inner_layer, inner_id)
    _require_frame(outer, "outer", "outer", None)
    tol = _require_tolerance(tolerance_m2)
    geoms = np.asarray(inner.geometry.array, dtype=object)
    labels, _ = _labels(inner[inner_id])
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    keep &= np.isin(shapely.get_type_id(geoms), _POLYGONAL)
    bounds = _bounds(geoms[keep])
    if not np.isfinite(bounds).all():
        bounds = _bounds(np.asarray(outer.to_crs(inner.crs).geometry.array, dtype=object))
    crs = _area_crs(area_crs, inner.crs, bounds)

    measure = _Measure(inner.crs, crs)
    idx = np.flatnonzero(keep)
    work = _repair(geoms[idx])
    usable = ~shapely.is_empty(work)
    idx, work = idx[usable], work[usable]

    if not CRS.from_user_input(outer.crs).equals(inner.crs):
        outer = outer.to_crs(inner.crs)
    ogeoms = np.asarray(outer.geometry.array, dtype=object)
    okeep = ~(shapely.is_missing(ogeoms) | shapely.is_empty(ogeoms))
    okeep &= np.isin(shapely.get_type_id(ogeoms), _POLYGONAL)
    owork = _repair(ogeoms[okeep])
    owork = owork[~shapely.is_empty(owork)]
    tree = shapely.STRtree(owork)

    found = []  # (row index, part outside) in inner's CRS
    for k, g in zip(idx, work):
        if len(tree.query(g, predicate="within")):
            continue  # wholly inside one outer feature
        cand = tree.query(g, predicate="intersects")
        outside = g if not len(cand) else _polygonal(
            shapely.difference(g, shapely.union_all(owork[cand])))
        if not outside.is_empty:
            found.append((k, g, outside))
    rows = []
    if found:
        whole = measure.area(np.array([f[1] for f in found], dtype=object))
        parts = measure.area(np.array([f[2] for f in found], dtype=object))
        for (k, _, outside), total, a in zip(found, whole, parts):
            if a > tol:
                share = 100.0 * a / total
                rows.append(_row(inner_layer, "outside", labels[k], area=a,
                                 message=f"{a:.2f} m² ({share:.1f} %) lies outside {outer_filter_desc}",
                                 point=_point_on_largest(outside), space="src"))
    return _frame(rows, inner.crs, crs)


def summarize(problems):
    """Count problems by layer and kind.

    Parameters
    ----------
    problems : pandas.DataFrame
        Problems as returned by :func:`check_layer` / :func:`check_contained`,
        or several of them concatenated.

    Returns
    -------
    pandas.DataFrame
        Columns ``layer``, ``kind``, ``count`` and ``area_m2`` (sum of the
        areas, NaN for kinds without area), sorted by layer then kind order.

    Examples
    --------
    >>> from shapely import box
    >>> x, y = 500_000, 3_408_000
    >>> units = geopandas.GeoDataFrame(
    ...     {"unit_code": ["A", "A", None]},
    ...     geometry=[box(x, y, x + 9, y + 9), box(x + 9, y, x + 18, y + 9), None],
    ...     crs="EPSG:4549")
    >>> summarize(check_layer(units, layer="units", id_column="unit_code"))
       layer          kind  count  area_m2
    0  units         empty      1      NaN
    1  units  duplicate_id      1      NaN
    2  units    missing_id      1      NaN
    """
    columns = ["layer", "kind", "count", "area_m2"]
    if len(problems) == 0:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "count" else
                                          "float64" if c == "area_m2" else object)
                             for c in columns})
    frame = pd.DataFrame({"layer": problems["layer"].astype(str).to_numpy(),
                          "kind": problems["kind"].astype(str).to_numpy(),
                          "area_m2": pd.to_numeric(problems["area_m2"]).to_numpy()})
    out = (frame.groupby(["layer", "kind"], sort=False)
           .agg(count=("kind", "size"), area_m2=("area_m2", lambda s: s.sum(min_count=1)))
           .reset_index())
    out["_rank"] = out["kind"].map(_KIND_RANK).fillna(len(KINDS))
    out = out.sort_values(["layer", "_rank", "kind"], kind="stable").drop(columns="_rank")
    out["area_m2"] = out["area_m2"].round(2)
    return out.reset_index(drop=True)[columns]


def problems_to_geojson(problems):
    """Build a GeoJSON FeatureCollection (RFC 7946, lon/lat) of problems.

    Parameters
    ----------
    problems : geopandas.GeoDataFrame
        Problems as returned by :func:`check_layer` / :func:`check_contained`.
        Reprojected to EPSG:4490 if in another CRS; no CRS means lon/lat.

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", "features": [...]}`` with properties
        ``layer``, ``kind``, ``ids``, ``area_m2`` (None when not applicable)
        and ``message``; coordinates rounded to 1e-7 degrees. Plain Python
        types only, ready for ``json.dump``; same input, same output.

    Examples
    --------
    >>> from shapely import Point
    >>> problems = geopandas.GeoDataFrame(
    ...     {"layer": ["units"], "kind": ["gap"], "ids": ["A|B"], "area_m2": [900.0],
    ...      "message": ["gap"]}, geometry=[Point(120.123456789, 30.8)], crs="EPSG:4490")
    >>> fc = problems_to_geojson(problems)
    >>> fc["features"][0]["geometry"]
    {'type': 'Point', 'coordinates': [120.1234568, 30.8]}
    >>> fc["features"][0]["properties"]["area_m2"]
    900.0
    """
    if problems.crs is not None and not CRS.from_user_input(problems.crs).equals(CRS(CGCS2000)):
        problems = problems.to_crs(CGCS2000)
    features = []
    for rec, geom in zip(problems[PROBLEM_COLUMNS[:-1]].itertuples(index=False),
                         problems.geometry.array):
        area = None if pd.isna(rec.area_m2) else round(float(rec.area_m2), 2)
        if geom is None or geom.is_empty:
            geometry = None
        else:
            mapped = shapely.geometry.mapping(geom)
            geometry = {"type": mapped["type"], "coordinates": _round_coords(mapped["coordinates"])}
        features.append({
            "type": "Feature",
            "geometry": geometry,
            "properties": {"layer": str(rec.layer), "kind": str(rec.kind), "ids": str(rec.ids),
                           "area_m2": area, "message": str(rec.message)},
        })
    return {"type": "FeatureCollection", "features": features}


# ----------------------------------------------------------------------------- checks

def _id_problems(labels, blank, geoms, layer, id_column):
    """duplicate_id (one per id value) and missing_id (one per feature) problems."""
    rows = []
    for k in np.flatnonzero(blank):
        rows.append(_row(layer, "missing_id", labels[k], message=f"feature at row {k} has no {id_column}",
                         point=_point_on(geoms[k]), space="src"))
    seen = {}
    for k, lab in enumerate(labels):
        if not blank[k]:
            seen.setdefault(lab, []).append(k)
    for lab, where in seen.items():
        if len(where) > 1:
            first = next((geoms[k] for k in where if geoms[k] is not None and not geoms[k].is_empty),
                         None)
            rows.append(_row(layer, "duplicate_id", lab,
                             message=f"{id_column} '{lab}' is used by {len(where)} features "
                                     f"(rows {', '.join(map(str, where))})",
                             point=_point_on(first), space="src"))
    return rows


def _overlaps(work, names, flagged, tree, tol, layer, measure):
    """One problem per pair of features whose intersection area exceeds ``tol``."""
    if not flagged.any():
        return []  # a valid coverage has no overlaps
    sel = np.flatnonzero(flagged)
    q, t = tree.query(work[sel], predicate="intersects")
    i, j = np.minimum(sel[q], t), np.maximum(sel[q], t)
    pairs = np.unique(np.c_[i, j][i != j], axis=0)
    if not len(pairs):
        return []
    i, j = pairs[:, 0], pairs[:, 1]
    inside = shapely.relate_pattern(work[i], work[j], "2********")
    i, j = i[inside], j[inside]
    pieces = shapely.intersection(work[i], work[j])
    areas = measure.area(pieces)  # lines and points where they also touch add nothing
    rows = []
    for a_idx, b_idx, piece, area in zip(i, j, pieces, areas):
        if area > tol:
            a, b = sorted((names[a_idx], names[b_idx]))
            rows.append(_row(layer, "overlap", f"{a}|{b}", area=area,
                             message=f"{a} and {b} overlap by {area:.2f} m²",
                             point=_point_on_largest(_polygonal(piece)), space="src"))
    return rows


def _gaps(work, names, flagged, tree, tol, layer, measure, broken):
    """One problem per piece of the region's inside that no feature covers, larger than ``tol``.

    Pieces bordering a ``broken`` (invalid) feature are left out: where that feature
    really reaches is unknown until it is fixed (a bow-tie's repair covers two triangles
    of what was meant as a rectangle).
    """
    if flagged.all():
        region = shapely.union_all(work)
    elif not flagged.any():
        region = shapely.coverage_union_all(work)
    else:  # the unflagged features form a valid coverage: union them the fast way
        region = shapely.union_all([shapely.coverage_union_all(work[~flagged]),
                                    shapely.union_all(work[flagged])])
    parts = shapely.get_parts(region)
    parts = shapely.get_parts(parts[np.isin(shapely.get_type_id(parts), _POLYGONAL_IDS)])
    pieces = []
    # 1. holes of the union, less the islands inside them
    rings = [ring for p in parts for ring in p.interiors]
    holes = shapely.polygons(np.array(rings, dtype=object)) if rings else np.array([], dtype=object)
    holes = holes[measure.area(holes) > tol]  # a gap is never larger than its hole
    part_tree = shapely.STRtree(parts)
    for hole in holes:
        islands = part_tree.query(hole, predicate="contains")
        gap = hole if not len(islands) else _polygonal(
            shapely.difference(hole, shapely.union_all(parts[islands])))
        pieces.extend(shapely.get_parts(gap))
    # 2. areas enclosed by parts that touch only at points (two units whose shared
    #    boundary opens into a lens): no ring of the union bounds them
    if len(parts) > 1:
        exteriors = shapely.get_exterior_ring(parts)
        try:
            linework = shapely.get_parts(shapely.node(shapely.multilinestrings(exteriors)))
            faces = shapely.get_parts(shapely.polygonize(linework))
        except shapely.errors.GEOSException:  # noding failed: holes above still stand
            faces = []
        if len(faces):
            shells = shapely.STRtree(shapely.polygons(exteriors))
            covered = shells.query(shapely.point_on_surface(faces), predicate="within")[0]
            pieces.extend(np.delete(faces, covered))
    gaps = np.array(pieces, dtype=object)
    rows = []
    for gap, area in zip(gaps, measure.area(gaps)):
        if area > tol:
            near = tree.query(gap, predicate="intersects")  # then keep those sharing an edge
            near = near[shapely.relate_pattern(gap, tree.geometries[near], "****1****")]
            if broken[near].any():
                continue
            around = sorted({names[k] for k in near})
            rows.append(_row(layer, "gap", "|".join(around), area=area,
                             message=f"gap of {area:.2f} m² not covered by any feature"
                                     + (f", bordered by {', '.join(around)}" if around else ""),
                             point=_point_on_largest(gap), space="src"))
    return rows


# ---------------------------------------------------------------------------- helpers

def _require_frame(gdf, what, layer, id_column):
    if not isinstance(gdf, geopandas.GeoDataFrame):
        raise TypeError(f"{what} must be a geopandas.GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise CRSError(f"layer '{layer}' has no CRS; set one (e.g. gdf.set_crs('EPSG:4490'))")
    if id_column is not None and id_column not in gdf.columns:
        cols = ", ".join(map(str, gdf.columns))
        raise PackError(f"layer '{layer}' has no id column '{id_column}'; its columns are: {cols}")


def _require_tolerance(tolerance_m2):
    try:
        tol = float(tolerance_m2)
    except (TypeError, ValueError):
        tol = float("nan")
    if not math.isfinite(tol) or tol < 0:
        raise ValueError(f"tolerance_m2 must be a number >= 0, got {tolerance_m2!r}")
    return tol


def _labels(ids):
    """Id of each feature as text (``#<row>`` where null or blank), and the blank mask."""
    out, blank = [], np.zeros(len(ids), dtype=bool)
    for k, v in enumerate(ids.to_numpy(dtype=object)):
        if v is None or (pd.api.types.is_scalar(v) and pd.isna(v)):
            text = ""
        else:
            if isinstance(v, (float, np.floating)) and float(v).is_integer():
                v = int(v)
            text = str(v).strip()
        blank[k] = not text
        out.append(text or f"#{k}")
    return out, blank


def _bounds(geoms):
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))] if len(geoms) else geoms
    if not len(geoms):
        return np.full(4, np.nan)
    return shapely.total_bounds(geoms)


def _area_crs(area_crs, src_crs, bounds):
    """The CRS to measure in: the one given, or the GK zone of the bounds' centre."""
    if area_crs is not None:
        try:
            crs = CRS.from_user_input(area_crs)
        except Exception as exc:  # pyproj raises its own CRSError
            raise CRSError(f"area_crs {area_crs!r} is not a CRS pyproj knows: {exc}") from None
        if not crs.is_projected:
            raise CRSError(f"area_crs {area_crs!r} is not projected; areas need metres "
                           "(e.g. EPSG:4549, CGCS2000 3° GK CM 120°E)")
        return crs
    if not np.isfinite(bounds).all():
        return CRS.from_user_input(gk_zone_epsg(120.0))  # nothing to measure anyway
    lon0, lat0, lon1, lat1 = _to_lonlat(src_crs).transform_bounds(*bounds)
    lon = (lon0 + lon1) / 2.0
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0 and -90.0 <= lat0 <= lat1 <= 90.0):
        raise CRSError(f"the layer's bounds {tuple(round(float(v), 6) for v in bounds)} are not "
                       f"coordinates of its CRS {CRS.from_user_input(src_crs).to_string()}; "
                       "is the CRS right? (or pass area_crs=)")
    return CRS.from_user_input(gk_zone_epsg(lon))


def _to_lonlat(crs):
    return Transformer.from_crs(crs, CGCS2000, always_xy=True)


def _repair(geoms):
    """Polygonal copies of ``geoms``, repaired with ``make_valid`` where invalid."""
    work = np.array(geoms, dtype=object)
    if not len(work):
        return work
    bad = ~shapely.is_valid(work)
    if bad.any():
        fixed = shapely.make_valid(work[bad], method="structure", keep_collapsed=False)
        work[bad] = [_polygonal(g) for g in fixed]
    return work


class _Measure:
    """Areas in m² of geometries given in ``src``, measured on the projected ``dst``.

    Topology is judged in the layer's own CRS, where its vertices were made:
    reprojecting vertices bends nothing, so a sliver that is flat in lon/lat
    can open by centimetres along a kilometre-long edge (and a valid polygon
    can come out self-intersecting). Only the pieces to report are measured:
    densified to 10 m steps in ``src``, so their edges follow their true
    course on ``dst``, then projected.
    """

    STEP_M = 10.0

    def __init__(self, src, dst):
        src = CRS.from_user_input(src)
        self.identity = src.equals(dst)
        self.transformer = None if self.identity else Transformer.from_crs(src, dst, always_xy=True)
        if src.is_geographic:
            self.step = self.STEP_M / 111_000.0
        else:
            factor = src.axis_info[0].unit_conversion_factor if src.axis_info else 1.0
            self.step = self.STEP_M / (factor or 1.0)

    def project(self, geoms):
        if self.identity or not len(geoms):
            return geoms
        tr = self.transformer

        def move(xy):
            x, y = tr.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(shapely.segmentize(geoms, self.step), move)

    def area(self, geoms):
        geoms = np.asarray(geoms, dtype=object)
        return shapely.area(self.project(geoms)) if len(geoms) else np.zeros(0)

    def small(self, geoms, tol):
        """Mask of the geometries that may be smaller than ``tol``: their projected
        bounding box is (cheap: four points each, not every vertex)."""
        if not len(geoms):
            return np.zeros(0, dtype=bool)
        b = shapely.bounds(geoms)
        out = np.zeros(len(geoms), dtype=bool)
        ok = np.isfinite(b).all(axis=1)  # NaN coordinates are reported as invalid
        b = b[ok]
        boxes = shapely.polygons(np.stack([b[:, [0, 0, 2, 2]], b[:, [1, 3, 3, 1]]], axis=-1))
        out[ok] = self.area(boxes) <= 2.0 * tol
        return out


def _polygonal(geom):
    """The polygonal part of ``geom`` (an empty Polygon if none)."""
    if geom is None:
        return shapely.Polygon()
    if shapely.get_type_id(geom) in _POLYGONAL_IDS:
        return geom
    parts = shapely.get_parts(geom)
    polys = shapely.get_parts(parts[np.isin(shapely.get_type_id(parts), _POLYGONAL_IDS)])
    if not len(polys):
        return shapely.Polygon()
    return polys[0] if len(polys) == 1 else shapely.multipolygons(polys)


def _point_on(geom):
    if geom is None or geom.is_empty:
        return None
    try:
        return shapely.point_on_surface(geom)
    except shapely.errors.GEOSException:  # e.g. a badly broken polygon
        return shapely.centroid(geom)


def _point_on_largest(geom):
    parts = shapely.get_parts(geom)
    if not len(parts):
        return None
    return _point_on(parts[int(np.argmax(shapely.area(parts)))])


def _describe_reason(reason, to_lonlat):
    """Message and lon/lat point for a GEOS validity reason such as ``Self-intersection[x y]``."""
    match = _REASON.match(str(reason))
    if not match:
        return str(reason), None
    what = match["what"] or "Invalid geometry"
    try:
        x, y = float(match["x"]), float(match["y"])
    except ValueError:
        return what, None
    if not (math.isfinite(x) and math.isfinite(y)):
        return f"{what} (coordinates are not finite)", None
    lon, lat = to_lonlat.transform(x, y)
    return f"{what} at {lon:.6f}, {lat:.6f}", shapely.Point(lon, lat)


def _round_coords(coords):
    """Coordinates of a GeoJSON mapping rounded to 1e-7 degrees, as nested lists."""
    if isinstance(coords, (int, float, np.floating)):
        return round(float(coords), 7) + 0.0  # + 0.0 turns -0.0 into 0.0
    return [_round_coords(c) for c in coords]


def _row(layer, kind, ids, *, area=float("nan"), message="", point=None, space=None):
    area = round(float(area), 2) if math.isfinite(area) else float("nan")
    return {"layer": str(layer), "kind": kind, "ids": str(ids), "area_m2": area,
            "message": message, "geometry": point, "space": space}


def _frame(rows, src_crs, area_crs):
    """The sorted problems frame, points moved from their working CRS to lon/lat."""
    geoms = np.empty(len(rows), dtype=object)
    for k, r in enumerate(rows):
        if r["space"] == "lonlat":
            geoms[k] = r["geometry"]
    at = [k for k, r in enumerate(rows) if r["space"] == "src" and r["geometry"] is not None]
    if at:
        moved = geopandas.GeoSeries([rows[k]["geometry"] for k in at], crs=src_crs).to_crs(CGCS2000)
        geoms[at] = np.asarray(moved.array, dtype=object)

    def key(k):
        r, g = rows[k], geoms[k]
        xy = (g.x, g.y) if g is not None else (math.inf, math.inf)
        area = r["area_m2"] if math.isfinite(r["area_m2"]) else -1.0
        return (_KIND_RANK[r["kind"]], r["ids"], -area, xy, r["message"])

    order = sorted(range(len(rows)), key=key)
    data = {c: [rows[k][c] for k in order] for c in PROBLEM_COLUMNS[:-1]}
    frame = geopandas.GeoDataFrame(
        {c: pd.Series(v, dtype="float64" if c == "area_m2" else object) for c, v in data.items()},
        geometry=geopandas.GeoSeries(list(geoms[order]), crs=CGCS2000),
        crs=CGCS2000,
    )
    frame.attrs["area_crs"] = CRS.from_user_input(area_crs).to_string()
    return frame
