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


class _ZoneView:
    """The pack's layers projected to one GK zone, indexed."""

    def __init__(self, pack, epsg):
        self.epsg = epsg
        fwd = Transformer.from_crs(CGCS2000, f"EPSG:{epsg}", always_xy=True)
        inv = Transformer.from_crs(f"EPSG:{epsg}", CGCS2000, always_xy=True)
        self.forward = _projector(fwd)
        self.inverse = _projector(inv)
        self.layers = {}
        for name in LAYERS:
            gdf = getattr(pack, name)
            geoms = shapely.transform(np.asarray(gdf.geometry.values, dtype=object), self.forward)
            geoms = np.where(shapely.is_valid(geoms), geoms, shapely.make_valid(geoms))
            shapely.prepare(geoms)
            self.layers[name] = (geoms, shapely.STRtree(geoms))
        self._region = None
        self._lock = threading.Lock()

    @property
    def region(self):
        """The union of the units (the pack's jurisdiction), built on first need."""
        if self._region is None:
            with self._lock:
                if self._region is None:
                    region = shapely.union_all(self.layers["units"][0])
                    shapely.prepare(region)
                    self._region = region
        return self._region

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

    def bounds(self, n):
        """``start, stop`` arrays: site ``i``'s pairs are ``start[i]:stop[i]``."""
        return np.searchsorted(self.site, np.arange(n)), np.searchsorted(self.site, np.arange(n), side="right")

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
        Features within the near distance (``amount`` = distance in m), sorted by site.
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
    >>> table = index.overlay([shapely.Point(119.95, 30.55)], near_m=0)
    >>> int(table.epsg[0]), bool(table.ok[0]), len(table.pairs["units"]) >= 1
    (4549, True, True)
    """

    def __init__(self, pack):
        self.pack = pack
        self._views = {}
        self._lock = threading.Lock()
        self.rasters = {name: RasterLayer(name, ref) for name, ref in pack.rasters.items()}
        self.tolerance_m2 = float(pack.tolerance_m2)

    def view(self, epsg):
        """The layers projected to EPSG ``epsg`` (built on first use)."""
        view = self._views.get(epsg)
        if view is None:
            with self._lock:
                view = self._views.get(epsg)
                if view is None:
                    view = _ZoneView(self.pack, epsg)
                    self._views[epsg] = view
        return view

    def overlay(self, geoms, near_m=0.0, near_layers=LAYERS):
        """Overlay sites (an array of valid 2-D lon/lat geometries) on the pack.

        Returns an :class:`OverlayTable`; a site wholly outside the pack's region has
        ``ok`` False (``screen`` raises :func:`outside_error`, ``screen_many`` reports it).
        """
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
        for epsg in np.unique(table.epsg):
            sel = np.flatnonzero(table.epsg == epsg)
            view = self.view(int(epsg))
            self._overlay_zone(view, sel, lonlat, table, near_m, near_layers, parts)
        for name in LAYERS:
            table.pairs[name] = Pairs.concat(parts["pairs"][name]).sorted()
            table.touching[name] = Pairs.concat(parts["touching"][name]).sorted(by_amount=False)
            table.near[name] = Pairs.concat(parts["near"][name]).sorted(by_amount=False)
        if self.rasters and table.ok.any():
            self._raster_stats(table, lonlat)
        return table

    def _overlay_zone(self, view, sel, lonlat, table, near_m, near_layers, parts):
        kinds = table.kind[sel]
        gk = view.to_gk(lonlat[sel])
        m = len(sel)
        measure = np.where(kinds == POLYGON, shapely.area(gk), np.where(kinds == LINE, shapely.length(gk), 0.0))
        table.measure[sel] = measure
        pairs = {}
        for name in LAYERS:
            layer_geoms, tree = view.layers[name]
            if not len(layer_geoms):
                pairs[name] = (Pairs.empty(), Pairs.empty())
                continue
            site_i, feat_i = _touching_pairs(tree, layer_geoms, gk)
            pair_kind = kinds[site_i]
            amount = np.zeros(len(site_i))
            extended = pair_kind != POINT
            if extended.any():
                si, fi = site_i[extended], feat_i[extended]
                whole = shapely.contains_properly(layer_geoms[fi], gk[si])
                part = np.where(whole, measure[si], 0.0)
                cut = ~whole
                if cut.any():
                    pieces = shapely.intersection(gk[si[cut]], layer_geoms[fi[cut]])
                    part[cut] = np.where(pair_kind[extended][cut] == POLYGON, shapely.area(pieces), shapely.length(pieces))
                amount[extended] = part
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
        # rasters are then measured on it.
        partial = np.flatnonzero(ok & (outside > 0))
        if len(partial):
            clipped = shapely.intersection(gk[partial], view.region)
            gk = gk.copy()
            gk[partial] = clipped
            lonlat[sel[partial]] = view.to_lonlat(clipped)
        table.geometry_gk[sel] = gk
        if near_m and near_m > 0 and ok.any():
            idx = np.flatnonzero(ok)
            geoms_in = gk[idx]
            b = shapely.bounds(geoms_in)
            boxes = shapely.box(b[:, 0] - near_m, b[:, 1] - near_m, b[:, 2] + near_m, b[:, 3] + near_m)
            for name in near_layers:
                layer_geoms, tree = view.layers[name]
                if not len(layer_geoms):
                    continue
                # Candidates by envelope, then one exact distance each; features the
                # site overlaps or touches are at 0 m and need no distance computed.
                s_i, f_i = tree.query(boxes)
                if not len(s_i):
                    continue
                s_site = idx[s_i]
                nf = len(layer_geoms)
                hit, touch = pairs[name]
                known = np.isin(s_site * nf + f_i, np.concatenate([hit.site * nf + hit.feat, touch.site * nf + touch.feat]))
                dist = np.zeros(len(s_i))
                rest = ~known
                if rest.any():
                    dist[rest] = shapely.distance(geoms_in[s_i[rest]], layer_geoms[f_i[rest]])
                keep = dist <= near_m
                parts["near"][name].append(Pairs(sel[s_site[keep]], f_i[keep], dist[keep], np.zeros(int(keep.sum()))))
        for name in LAYERS:
            hit, touch = pairs[name]
            for key, p in (("pairs", hit), ("touching", touch)):
                if len(p):
                    parts[key][name].append(Pairs(sel[p.site], p.feat, p.amount, p.share))

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


def _touching_pairs(tree, layer_geoms, geoms):
    """Pairs (site, feature) that intersect or lie within :data:`SNAP_M` of each other.

    Envelope candidates first; the exact test uses the layer's prepared geometries,
    and the (slower) distance test runs only on the few candidates that do not intersect.
    """
    b = shapely.bounds(geoms)
    boxes = shapely.box(b[:, 0] - SNAP_M, b[:, 1] - SNAP_M, b[:, 2] + SNAP_M, b[:, 3] + SNAP_M)
    site_i, feat_i = tree.query(boxes)
    if not len(site_i):
        return site_i, feat_i
    keep = shapely.intersects(layer_geoms[feat_i], geoms[site_i])
    rest = ~keep
    if rest.any():
        keep[rest] = shapely.dwithin(layer_geoms[feat_i[rest]], geoms[site_i[rest]], SNAP_M)
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
