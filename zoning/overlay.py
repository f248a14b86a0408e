"""The overlay core: a spatial index per pack, intersections, distances and raster statistics.

Everything is measured on the CGCS2000 3° Gauss–Krüger zone of each site's
centroid (contract §3b). Layers are projected to a zone once, the first time a
site falls in it, and kept with an STRtree and prepared geometries.

The result is columnar: an :class:`OverlayTable` holds, per layer, arrays of
(site, feature, measure) pairs, so screening many sites costs a few vectorised
shapely calls and numpy operations, not a Python loop over sites or pairs.
"""

import threading
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer

from zoning import vocab
from zoning.crs import CGCS2000, gk_zone_epsg
from zoning.errors import OutsideRegionError
from zoning.rasters import RasterLayer

__all__ = ["PackIndex", "OverlayTable", "Pairs", "LAYERS", "LINE_TOLERANCE_M", "geometry_kind", "outside_error"]

#: Line overlaps shorter than this count as touching (contract §3b).
LINE_TOLERANCE_M = 0.1
#: Features this close count as touching: coordinates that were on a shared boundary before
#: reprojection are a few nanometres off it afterwards. A point this close to a boundary
#: belongs to the polygon (conservative, contract §3b).
SNAP_M = 1e-3
#: The vector layers of a pack, in the order screening reads them.
LAYERS = ("units", "red_line", "zones")

_KINDS = vocab.GEOMETRY_KINDS
POINT, LINE, POLYGON = 0, 1, 2
_KIND_NAMES = np.array(["point", "line", "polygon"], dtype=object)
_KIND_CODE = {"point": POINT, "line": LINE, "polygon": POLYGON}


def geometry_kind(geom):
    """``'point'``, ``'line'`` or ``'polygon'`` for a shapely geometry.

    Examples
    --------
    >>> geometry_kind(shapely.Point(0, 0)), geometry_kind(shapely.box(0, 0, 1, 1))
    ('point', 'polygon')
    """
    return _KINDS[geom.geom_type]


def _projector(transformer):
    return lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))


@dataclass
class _Layer:
    """One layer on one GK zone: the features a view holds (``rows`` of the pack's layer,
    ascending) and an STRtree of them."""

    geoms: np.ndarray
    rows: np.ndarray
    tree: object

    @classmethod
    def build(cls, geoms, rows):
        return cls(geoms, rows, shapely.STRtree(geoms))

    def __len__(self):
        return len(self.geoms)

    @property
    def bounds(self):
        """The features' boxes, (n, 4)."""
        if not hasattr(self, "_bounds"):
            self._bounds = shapely.bounds(self.geoms)
        return self._bounds

    def candidates(self, boxes):
        """(site, feature) pairs whose envelopes meet; the features involved are prepared
        (once, on first need: a one-point screening prepares a handful)."""
        site_i, feat_i = self.tree.query(boxes)
        if len(feat_i):
            shapely.prepare(self.geoms[np.unique(feat_i)])
        return site_i, feat_i


#: Version of the projected layers kept in the pack cache (bump when their making changes).
_VIEW_FORMAT = 2


#: A zone's view holds the features within this many degrees of longitude of the zone's
#: 3° strip; sites that reach further (with their near distance) use the zone's full view.
STRIP_MARGIN_DEG = 0.25


def _zone_strip(epsg):
    """The longitudes (west, east) a zone's view covers: its 3° strip and the margin."""
    cm = 75 + 3 * (epsg - 4534)
    margin = STRIP_MARGIN_DEG
    return cm - 1.5 - margin, cm + 1.5 + margin


def _to_gk_valid(geoms, forward):
    """Layer geometries on a GK zone, repaired where projecting made a ring invalid."""
    geoms = shapely.transform(np.asarray(geoms, dtype=object), forward)
    return np.where(shapely.is_valid(geoms), geoms, shapely.make_valid(geoms))


class _ZoneView:
    """The pack's layers projected to one GK zone, indexed.

    A strip view (``full=False``) holds only the features whose longitudes meet the zone's
    strip (:func:`_zone_strip`), so a province across three zones keeps about one and a
    half copies of its layers, not three; :meth:`PackIndex.overlay` sends the rare site
    that reaches beyond the strip to the zone's full view.
    """

    def __init__(self, pack, epsg, full=False):
        self.epsg = epsg
        self.full = full
        self.west, self.east = (-np.inf, np.inf) if full else _zone_strip(epsg)
        fwd = Transformer.from_crs(CGCS2000, f"EPSG:{epsg}", always_xy=True)
        inv = Transformer.from_crs(f"EPSG:{epsg}", CGCS2000, always_xy=True)
        self.forward = _projector(fwd)
        self.inverse = _projector(inv)
        self.layers = {name: _Layer.build(geoms, rows) for name, (geoms, rows) in self._projected(pack).items()}

    def _rows(self, gdf):
        if self.full:
            return np.arange(len(gdf))
        b = gdf.geometry.bounds.to_numpy()
        return np.flatnonzero((b[:, 2] >= self.west) & (b[:, 0] <= self.east)) if len(b) else np.zeros(0, np.int64)

    def _projected(self, pack):
        """The layers on this zone: from the pack's cache when it has them, else projected
        and stored there."""
        from zoning.cache import load_artifact, store_artifact

        name = f"gk-{self.epsg}-" + ("full" if self.full else f"strip{STRIP_MARGIN_DEG:g}")
        kept = load_artifact(pack, name, version=_VIEW_FORMAT)
        if kept is not None and all(k in kept and f"{k}.rows" in kept for k in LAYERS):
            return {k: (np.asarray(kept[k], dtype=object), np.asarray(kept[f"{k}.rows"], dtype=np.int64)) for k in LAYERS}
        out = {}
        for layer in LAYERS:
            gdf = getattr(pack, layer)
            rows = self._rows(gdf)
            out[layer] = (_to_gk_valid(gdf.geometry.values[rows], self.forward), rows)
        store_artifact(pack, name, {k: a for layer, (g, r) in out.items() for k, a in ((layer, g), (f"{layer}.rows", r))}, version=_VIEW_FORMAT)
        return out

    def holds(self, west, east):
        """Whether sites spanning these longitudes (their near distance included) fit."""
        return (west >= self.west) & (east <= self.east)

    def to_gk(self, geoms):
        return shapely.transform(geoms, self.forward)

    def to_lonlat(self, geoms):
        return shapely.transform(geoms, self.inverse)


@dataclass
class Pairs:
    """(site, feature, measure) pairs of one layer, sorted by site.

    ``amount`` is m² for polygon sites, m for lines and 0 for points; ``share`` is
    amount / the site's area or length (1 for points). Within a site, pairs are in
    the order verdicts list them: largest overlap first (to the cm²), then by row.
    """

    site: np.ndarray
    feat: np.ndarray
    amount: np.ndarray
    share: np.ndarray

    @classmethod
    def empty(cls):
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))

    def __len__(self):
        return len(self.site)

    def take(self, mask):
        return Pairs(self.site[mask], self.feat[mask], self.amount[mask], self.share[mask])

    @classmethod
    def concat(cls, parts):
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("site", "feat", "amount", "share")))

    def sorted(self, by_amount=True):
        if by_amount:
            order = np.lexsort((self.feat, -np.round(self.amount, 2), self.site))
        else:
            order = np.lexsort((self.feat, self.site))
        return self.take(order)

    def counts(self, n):
        return np.bincount(self.site, minlength=n)


class OverlayTable:
    """What every site of one overlay call touches, as arrays.

    Attributes
    ----------
    n : int
        Number of sites.
    kind : ndarray of int8
        :data:`POINT`, :data:`LINE` or :data:`POLYGON` per site.
    epsg : ndarray of int
        The GK zone each site was measured on.
    measure, lon, lat, outside_share : ndarray of float
        Area (m²) or length (m) of each site, its centroid, the share outside the region.
    ok : ndarray of bool
        False for sites wholly outside the pack's region.
    geometry_gk : ndarray of shapely geometries
        Each site on its GK zone (clipped to the region when partly outside).
    pairs, touching : dict of layer name → :class:`Pairs`
        Overlapping pairs, and those that only touch (below the tolerance) or lie within
        :data:`SNAP_M`.
    near : dict of layer name → :class:`Pairs`
        Features within the near distances, sorted by site; ``amount`` is the smallest
        of the distances asked for that the feature lies within.
    rasters : dict of raster name → (mean, max) arrays (NaN for no data)
    """

    def __init__(self, n):
        self.n = n
        self.kind = np.zeros(n, np.int8)
        self.epsg = np.zeros(n, np.int64)
        self.measure = np.zeros(n)
        self.lon = np.zeros(n)
        self.lat = np.zeros(n)
        self.outside_share = np.zeros(n)
        self.ok = np.zeros(n, bool)
        self.geometry_gk = np.empty(n, dtype=object)
        self.pairs = {}
        self.touching = {}
        self.near = {}
        self.rasters = {}

    def kind_name(self, i):
        return _KIND_NAMES[self.kind[i]]


class PackIndex:
    """Spatial index of a pack; thread-safe; zone views are built lazily and kept.

    Examples
    --------
    >>> from zoning import load_pack
    >>> index = load_pack().index
    >>> table = index.overlay([shapely.Point(119.95, 30.55)])
    >>> int(table.epsg[0]), bool(table.ok[0]), len(table.pairs["units"]) >= 1
    (4549, True, True)
    """

    def __init__(self, pack):
        self.pack = pack
        self._views = {}
        self._lock = threading.Lock()
        self.rasters = {name: RasterLayer(name, ref) for name, ref in pack.rasters.items()}
        self.tolerance_m2 = float(pack.tolerance_m2)

    def view(self, epsg, full=False):
        """The layers projected to EPSG ``epsg`` (built on first use): the zone's strip, or
        with ``full`` every feature."""
        key = (epsg, full)
        view = self._views.get(key)
        if view is None:
            with self._lock:
                view = self._views.get(key)
                if view is None:
                    view = _ZoneView(self.pack, epsg, full)
                    self._views[key] = view
        return view

    def feature_geometries(self, epsg, layer, rows):
        """Rows of a layer on GK zone ``epsg``, exactly as the overlay measured them."""
        rows = np.asarray(rows, dtype=np.int64)
        held = self.view(epsg).layers[layer]
        if np.isin(rows, held.rows).all():
            return held.geoms[np.searchsorted(held.rows, rows)]
        return self.view(epsg, full=True).layers[layer].geoms[rows]

    def overlay(self, geoms, near=None):
        """Overlay sites (an array of valid 2-D lon/lat geometries) on the pack.

        ``near`` maps layer names to the distances (m) to test features against, e.g.
        ``{"red_line": (500.0, 1000.0)}``: each near pair records the smallest of them
        the feature lies within (GEOS prepared distance-within, no distance computed).

        Returns an :class:`OverlayTable`; a site wholly outside the pack's region has
        ``ok`` False (``screen`` raises :func:`outside_error`, ``screen_many`` reports it).
        """
        near = {name: tuple(sorted(set(map(float, ds)))) for name, ds in (near or {}).items() if ds}
        geoms = np.asarray(geoms, dtype=object)
        n = len(geoms)
        table = OverlayTable(n)
        if n == 0:
            for name in LAYERS:
                table.pairs[name] = table.touching[name] = table.near[name] = Pairs.empty()
            return table
        table.kind = np.array([_KIND_CODE[_KINDS[t]] for t in _type_names(geoms)], dtype=np.int8)
        centroids = shapely.centroid(geoms)
        table.lon, table.lat = shapely.get_x(centroids), shapely.get_y(centroids)
        table.epsg = _gk_epsgs(table.lon)
        parts = {k: {name: [] for name in LAYERS} for k in ("pairs", "touching", "near")}
        lonlat = geoms.copy()
        # A site reaches as far as its box and the largest near distance (in degrees of
        # longitude at its most poleward latitude, generously).
        b = shapely.bounds(geoms)
        reach_m = max([SNAP_M, *(d[-1] for d in near.values())])
        reach_deg = reach_m / (111_320.0 * np.cos(np.radians(np.minimum(np.maximum(np.abs(b[:, 1]), np.abs(b[:, 3])), 89.0)))) + 1e-6
        west, east = b[:, 0] - reach_deg, b[:, 2] + reach_deg
        for epsg in np.unique(table.epsg):
            in_zone = table.epsg == epsg
            strip = self.view(int(epsg))
            fits = strip.holds(west, east)
            for view, sel in ((strip, np.flatnonzero(in_zone & fits)), (None, np.flatnonzero(in_zone & ~fits))):
                if len(sel):
                    self._overlay_zone(view or self.view(int(epsg), full=True), sel, lonlat, table, near, parts)
        for name in LAYERS:
            table.pairs[name] = Pairs.concat(parts["pairs"][name]).sorted()
            table.touching[name] = Pairs.concat(parts["touching"][name]).sorted(by_amount=False)
            table.near[name] = Pairs.concat(parts["near"][name]).sorted(by_amount=False)
        if self.rasters and table.ok.any():
            self._raster_stats(table, lonlat)
        return table

    def _overlay_zone(self, view, sel, lonlat, table, near, parts):
        kinds = table.kind[sel]
        gk = view.to_gk(lonlat[sel])
        m = len(sel)
        measure = np.where(kinds == POLYGON, shapely.area(gk), np.where(kinds == LINE, shapely.length(gk), 0.0))
        table.measure[sel] = measure
        # Lines are met run by run: cut into runs of a few segments, each with a tight
        # box, so a 20 km line tests only the features along it; lengths add up per feature.
        query, owner = _segments(gk, kinds)
        q_measure = np.where(kinds[owner] == LINE, shapely.length(query), measure[owner])
        snap_boxes = _boxes(shapely.bounds(query), SNAP_M)
        pairs = {}
        for name in LAYERS:
            layer = view.layers[name]
            if not len(layer):
                pairs[name] = (Pairs.empty(), Pairs.empty())
                continue
            q_i, feat_i = _touching_pairs(layer, query, snap_boxes)
            pair_kind = kinds[owner[q_i]]
            amount = np.zeros(len(q_i))
            extended = pair_kind != POINT
            if extended.any():
                qi, fi = q_i[extended], feat_i[extended]
                whole = shapely.contains_properly(layer.geoms[fi], query[qi])
                part = np.where(whole, q_measure[qi], 0.0)
                cut = ~whole
                if cut.any():
                    cuts = _intersection(query[qi[cut]], layer.geoms[fi[cut]])
                    part[cut] = np.where(pair_kind[extended][cut] == POLYGON, shapely.area(cuts), shapely.length(cuts))
                amount[extended] = part
                if name == "units":  # each site's parts in the units, should it be partly outside
                    unit_parts = np.where(whole, query[qi], None)
                    if cut.any():
                        unit_parts[cut] = cuts
                    inside_parts = (owner[qi], unit_parts)
            # One pair per (site, feature): the overlaps of a line's segments add up.
            site_i, feat_i, (amount,) = _per_feature(owner[q_i], feat_i, len(layer), (amount,), np.add)
            pair_kind = kinds[site_i]
            extended = pair_kind != POINT
            tol = np.where(pair_kind == POLYGON, self.tolerance_m2, LINE_TOLERANCE_M)
            overlapping = ~extended | (amount >= tol)
            site_measure = measure[site_i]
            share = np.where(extended, np.divide(amount, site_measure, out=np.zeros(len(amount)), where=site_measure > 0), 1.0)
            hit = Pairs(site_i, feat_i, amount, share)
            pairs[name] = (hit.take(overlapping), hit.take(~overlapping))
        units = pairs["units"][0]
        ok = np.bincount(units.site, minlength=m) > 0
        inside = np.bincount(units.site, weights=units.amount, minlength=m)
        outside = np.where((kinds != POINT) & (measure > 0), 1.0 - np.divide(inside, measure, out=np.ones(m), where=measure > 0), 0.0)
        outside = np.where(outside > 1e-6, outside, 0.0)
        outside[~ok] = 0.0
        table.ok[sel] = ok
        table.outside_share[sel] = outside
        # The part inside the region, for sites partly outside (rare): distances and
        # rasters are then measured on it: the union of its parts in the units.
        partial = np.flatnonzero(ok & (outside > 0))
        if len(partial):
            gk = gk.copy()
            site_of, unit_parts = inside_parts
            for i in partial:
                gk[i] = shapely.union_all(unit_parts[site_of == i])
            lonlat[sel[partial]] = view.to_lonlat(gk[partial])
        table.geometry_gk[sel] = gk
        if near and ok.any():
            if len(partial):
                query, owner = _segments(gk, kinds)
            live = ok[owner]
            query, owner = query[live], owner[live]
            qb = shapely.bounds(query)
            reach_boxes = {}
            for name, within in near.items():
                layer = view.layers[name]
                if not len(layer):
                    continue
                reach = within[-1]
                if reach not in reach_boxes:
                    reach_boxes[reach] = _boxes(qb, reach)
                q_i, f_i = layer.candidates(reach_boxes[reach])
                if not len(q_i):
                    continue
                hit, touch = pairs[name]
                nf = len(layer)
                # Candidates found run by run, tested site by site: one test per
                # (site, feature) and distance, with the boxes' least gap over the segments.
                site_k, feat_k, (gap,) = _per_feature(owner[q_i], f_i, nf, (_box_gap(qb[q_i], layer.bounds[f_i]),), np.minimum)
                # Features the site overlaps or touches are at 0 m: within every distance.
                known = np.isin(site_k * nf + feat_k, np.concatenate([hit.site * nf + hit.feat, touch.site * nf + touch.feat]))
                level = np.where(known, within[0], np.inf)
                alive = np.flatnonzero(~known & (gap <= reach))
                for d in within[::-1]:  # largest first: each test runs on the survivors of the last
                    alive = alive[gap[alive] <= d]  # boxes farther apart than d cannot be within d
                    if not len(alive):
                        break
                    alive = alive[shapely.dwithin(layer.geoms[feat_k[alive]], gk[site_k[alive]], d)]
                    level[alive] = d
                keep = np.isfinite(level)
                site_k, feat_k, level_k = site_k[keep], layer.rows[feat_k[keep]], level[keep]
                parts["near"][name].append(Pairs(sel[site_k], feat_k, level_k, np.zeros(len(site_k))))
        for name in LAYERS:
            hit, touch = pairs[name]
            for key, p in (("pairs", hit), ("touching", touch)):
                if len(p):
                    parts[key][name].append(Pairs(sel[p.site], view.layers[name].rows[p.feat], p.amount, p.share))

    def _raster_stats(self, table, lonlat):
        for name, layer in self.rasters.items():
            mean, mx = np.full(table.n, np.nan), np.full(table.n, np.nan)
            for kind, fn in ((POLYGON, layer.polygon_stats), (POINT, layer.point_stats)):
                idx = np.flatnonzero(table.ok & (table.kind == kind))
                if len(idx):
                    mean[idx], mx[idx] = fn(lonlat[idx])
            for epsg in np.unique(table.epsg):
                idx = np.flatnonzero(table.ok & (table.kind == LINE) & (table.epsg == epsg))
                if len(idx):
                    mean[idx], mx[idx] = layer.line_stats(lonlat[idx], _raster_to_metric(layer, self.view(int(epsg))))
            table.rasters[name] = (mean, mx)


def _type_names(geoms):
    ids = shapely.get_type_id(geoms)
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection"], dtype=object)
    return names[ids]


def _gk_epsgs(lons):
    """The GK zone EPSG code of each longitude: :func:`zoning.crs.gk_zone_epsg`, vectorised."""
    zone = np.clip(np.floor((np.asarray(lons, dtype=float) + 1.5) / 3.0), 25, 45).astype(np.int64)
    return 4534 + zone - 25


#: Line sites are cut into runs of about this length (m) for the overlay: short enough for
#: tight boxes, long enough that a run crossing no boundary costs one containment test.
SEGMENT_M = 2000.0


def _segments(geoms, kinds):
    """Query geometries and the site each belongs to: line sites as runs of consecutive
    segments about :data:`SEGMENT_M` long, other sites as they are."""
    lines = np.flatnonzero(kinds == LINE)
    if not len(lines):
        return geoms, np.arange(len(geoms))
    parts, part_of = shapely.get_parts(shapely.segmentize(geoms[lines], SEGMENT_M), return_index=True)
    xy, vertex_of = shapely.get_coordinates(parts, return_index=True)
    start = np.flatnonzero(vertex_of[1:] == vertex_of[:-1])  # each segment's first vertex
    part = vertex_of[start]
    length = np.hypot(*(xy[start + 1] - xy[start]).T)
    ends = np.cumsum(length)
    first_of_part = np.r_[True, part[1:] != part[:-1]]
    offset = np.maximum.accumulate(np.where(first_of_part, ends - length, 0.0))
    along = ends - length - offset  # where each segment starts along its part
    bucket = np.floor(along / SEGMENT_M)
    new_run = first_of_part | np.r_[True, bucket[1:] != bucket[:-1]]
    run = np.cumsum(new_run) - 1
    last = np.r_[new_run[1:], True]  # the last segment of each run adds its end vertex
    vertex = np.concatenate([start, start[last] + 1])
    vertex_run = np.concatenate([run, run[last]])
    order = np.lexsort((vertex, vertex_run))
    runs = shapely.linestrings(xy[vertex[order]], indices=vertex_run[order])
    run_site = lines[part_of[part[new_run]]]
    others = np.flatnonzero(kinds != LINE)
    return np.concatenate([geoms[others], runs]), np.concatenate([others, run_site])


#: Features are clipped to a site's box grown by this much (m) before they are intersected.
CLIP_PAD_M = 1.0


def _intersection(sites, features):
    """``shapely.intersection(sites, features)``, pair by pair, at the cost of the features'
    part near each site: each feature is first cut to the site's box (GEOS's rectangle
    clipping, a fast linear pass) so the overlay sees a few vertices, not a county's
    thousands. The site lies inside the box, so the result is the same; a clipped feature
    that comes out invalid (the fast clipping does not promise validity) is used whole.
    """
    b = shapely.bounds(sites)
    lo, hi = b[:, :2] - CLIP_PAD_M, b[:, 2:] + CLIP_PAD_M
    clipped = np.fromiter(
        (shapely.clip_by_rect(f, x0, y0, x1, y1) for f, (x0, y0), (x1, y1) in zip(features, lo.tolist(), hi.tolist())),
        dtype=object, count=len(features),
    )
    bad = ~shapely.is_valid(clipped)
    if bad.any():
        clipped[bad] = features[bad]
    return shapely.intersection(sites, clipped)


def _box_gap(a, b):
    """Least distance between boxes (minx, miny, maxx, maxy) row by row; 0 when they meet."""
    dx = np.maximum(0.0, np.maximum(b[:, 0] - a[:, 2], a[:, 0] - b[:, 2]))
    dy = np.maximum(0.0, np.maximum(b[:, 1] - a[:, 3], a[:, 1] - b[:, 3]))
    return np.hypot(dx, dy)


def _per_feature(site, feat, n_feat, values, ufunc):
    """Reduce (query geometry, feature) values to one per (site, feature) with ``ufunc`` (add, minimum)."""
    key = site * n_feat + feat
    uniq, inverse = np.unique(key, return_inverse=True)
    out = []
    for v in values:
        acc = np.zeros(len(uniq)) if ufunc is np.add else np.full(len(uniq), np.inf)
        ufunc.at(acc, inverse.ravel(), v)
        out.append(acc)
    return uniq // n_feat, uniq % n_feat, tuple(out)


def _boxes(bounds, pad):
    return shapely.box(bounds[:, 0] - pad, bounds[:, 1] - pad, bounds[:, 2] + pad, bounds[:, 3] + pad)


def _touching_pairs(layer, geoms, boxes):
    """Pairs (site, feature) that intersect or lie within :data:`SNAP_M` of each other.

    Envelope candidates first (``boxes``: the sites' boxes grown by SNAP_M); the exact
    test uses the prepared features, and the (slower) distance test runs only on the few
    candidates that do not intersect.
    """
    site_i, feat_i = layer.candidates(boxes)
    if not len(site_i):
        return site_i, feat_i
    feats = layer.geoms[feat_i]
    keep = shapely.intersects(feats, geoms[site_i])
    rest = ~keep
    if rest.any():
        keep[rest] = shapely.dwithin(feats[rest], geoms[site_i[rest]], SNAP_M)
    return site_i[keep], feat_i[keep]


def _raster_to_metric(layer, view):
    if layer._to_raster is None:
        return view.to_gk
    back = _projector(Transformer.from_crs(layer.crs, f"EPSG:{view.epsg}", always_xy=True))
    return lambda geoms: shapely.transform(geoms, back)


def outside_error(pack):
    """The error for a site wholly outside ``pack``'s region."""
    return OutsideRegionError(
        f"the site lies wholly outside the pack's region ({pack.name}, {pack.region}); "
        "check the coordinates (lon, lat order; GCJ-02 coordinates need --gcj02) or choose another pack"
    )
