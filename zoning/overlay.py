"""The overlay core: a spatial index per pack, intersections, distances and raster statistics.

Everything is measured on the CGCS2000 3° Gauss–Krüger zone of each site's
centroid (contract §3b). Layers are projected to a zone once, the first time a
site falls in it, and kept with an STRtree and prepared geometries.
Sites are processed as arrays, so screening many sites costs a few vectorised
shapely calls, not a Python loop over geometry work.
"""

import threading
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import Transformer

from zoning import vocab
from zoning.crs import CGCS2000, gk_zone_epsg
from zoning.errors import OutsideRegionError
from zoning.rasters import RasterLayer

__all__ = ["PackIndex", "SiteOverlay", "LINE_TOLERANCE_M", "geometry_kind"]

#: Line overlaps shorter than this count as touching (contract §3b).
LINE_TOLERANCE_M = 0.1
#: Features this close count as touching: coordinates that were on a shared boundary before
#: reprojection are a few nanometres off it afterwards. A point this close to a boundary
#: belongs to the polygon (conservative, contract §3b).
SNAP_M = 1e-3

_KINDS = vocab.GEOMETRY_KINDS


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
        for name in ("units", "red_line", "zones"):
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
class SiteOverlay:
    """What one site touches. Indices refer to rows of the pack's layers."""

    kind: str
    epsg: int
    geometry_gk: object
    measure: float                   # m² (polygon), m (line), 0 (point)
    centroid: tuple                  # lon, lat
    outside_share: float = 0.0
    units: list = field(default_factory=list)      # [(row, measure, share)]
    red_line: list = field(default_factory=list)
    zones: list = field(default_factory=list)
    near: list = field(default_factory=list)       # [(layer, row, distance_m)]
    rasters: dict = field(default_factory=dict)    # name -> (mean, max)
    touching: list = field(default_factory=list)   # [(layer, row, measure)]
    error: str | None = None

    @property
    def unit_rows(self):
        return [u[0] for u in self.units]


class PackIndex:
    """Spatial index of a pack; thread-safe; zone views are built lazily and kept.

    Examples
    --------
    >>> from zoning import load_pack
    >>> index = load_pack().index
    >>> ov = index.overlay([shapely.Point(119.95, 30.55)], near_m=0)[0]
    >>> ov.kind, ov.epsg, len(ov.units) >= 1
    ('point', 4549, True)
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

    def overlay(self, geoms, near_m=0.0, near_layers=("red_line", "zones", "units")):
        """Overlay sites (an array of lon/lat geometries of one kind each) on the pack.

        Returns one :class:`SiteOverlay` per site; a site wholly outside the pack's
        region has ``error`` set (``screen`` raises it, ``screen_many`` reports it).
        """
        geoms = np.asarray(geoms, dtype=object)
        n = len(geoms)
        kinds = np.array([geometry_kind(g) for g in geoms], dtype=object)
        centroids = shapely.centroid(geoms)
        lons, lats = shapely.get_x(centroids), shapely.get_y(centroids)
        epsgs = np.array([gk_zone_epsg(x) for x in lons])
        results = [None] * n
        for epsg in np.unique(epsgs):
            sel = np.flatnonzero(epsgs == epsg)
            view = self.view(int(epsg))
            gk = view.to_gk(geoms[sel])
            self._overlay_zone(view, sel, geoms[sel], gk, kinds[sel], lons[sel], lats[sel], near_m, near_layers, results)
        return results

    def _overlay_zone(self, view, sel, lonlat, gk, kinds, lons, lats, near_m, near_layers, results):
        measure = np.where(kinds == "polygon", shapely.area(gk), np.where(kinds == "line", shapely.length(gk), 0.0))
        out = [
            SiteOverlay(str(kinds[i]), view.epsg, gk[i], float(measure[i]), (float(lons[i]), float(lats[i])))
            for i in range(len(sel))
        ]
        # Units first: they tell how much of each site lies inside the region.
        for name in ("units", "red_line", "zones"):
            layer_geoms, tree = view.layers[name]
            if not len(layer_geoms):
                continue
            site_i, feat_i = _touching_pairs(tree, layer_geoms, gk)
            if not len(site_i):
                continue
            pair_kind = kinds[site_i]
            amount = np.zeros(len(site_i))
            poly_or_line = pair_kind != "point"
            if poly_or_line.any():
                si, fi = site_i[poly_or_line], feat_i[poly_or_line]
                whole = shapely.contains_properly(layer_geoms[fi], gk[si])
                part = np.zeros(len(si))
                part[whole] = measure[si[whole]]
                cut = ~whole
                if cut.any():
                    pieces = shapely.intersection(gk[si[cut]], layer_geoms[fi[cut]])
                    is_poly = pair_kind[poly_or_line][cut] == "polygon"
                    part[cut] = np.where(is_poly, shapely.area(pieces), shapely.length(pieces))
                amount[poly_or_line] = part
            for s, f, k, a in zip(site_i, feat_i, pair_kind, amount):
                ov = out[s]
                if k == "point":
                    getattr(ov, name).append((int(f), 0.0, 1.0))
                    continue
                tol = self.tolerance_m2 if k == "polygon" else LINE_TOLERANCE_M
                if a < tol:
                    ov.touching.append((name, int(f), float(a)))
                else:
                    share = float(a / ov.measure) if ov.measure > 0 else 0.0
                    getattr(ov, name).append((int(f), float(a), share))
        for i, ov in enumerate(out):
            if not ov.units:
                ov.error = "outside"
                continue
            if ov.kind != "point":
                inside = sum(a for _, a, _ in ov.units)
                share = 1.0 - inside / ov.measure if ov.measure > 0 else 0.0
                ov.outside_share = share if share > 1e-6 else 0.0
            for name in ("units", "red_line", "zones"):
                getattr(ov, name).sort(key=lambda t: (-round(t[1], 2), t[0]))
        # The part inside the region, for sites partly outside (rare): distances and
        # rasters are then measured on it.
        partial = [i for i, ov in enumerate(out) if ov.error is None and ov.outside_share > 0]
        if partial:
            clipped = shapely.intersection(gk[partial], view.region)
            for j, i in enumerate(partial):
                out[i].geometry_gk = clipped[j]
            lonlat = lonlat.copy()
            lonlat[partial] = view.to_lonlat(clipped)
        ok = np.array([ov.error is None for ov in out])
        if near_m and near_m > 0 and ok.any():
            idx = np.flatnonzero(ok)
            geoms_in = np.array([out[i].geometry_gk for i in idx], dtype=object)
            for name in near_layers:
                layer_geoms, tree = view.layers[name]
                if not len(layer_geoms):
                    continue
                # Candidates by envelope, then one exact distance each; features the
                # site overlaps are at 0 m and need no distance computed.
                b = shapely.bounds(geoms_in)
                boxes = shapely.box(b[:, 0] - near_m, b[:, 1] - near_m, b[:, 2] + near_m, b[:, 3] + near_m)
                site_i, feat_i = tree.query(boxes)
                if not len(site_i):
                    continue
                hit = {(int(s), r) for s, i in enumerate(idx) for r, *_ in getattr(out[i], name)}
                touching = {(int(s), r) for s, i in enumerate(idx) for lay, r, _ in out[i].touching if lay == name}
                known = np.array([(int(s), int(f)) in hit or (int(s), int(f)) in touching for s, f in zip(site_i, feat_i)], dtype=bool)
                dist = np.zeros(len(site_i))
                if (~known).any():
                    dist[~known] = shapely.distance(geoms_in[site_i[~known]], layer_geoms[feat_i[~known]])
                keep = dist <= near_m
                for s, f, d in zip(site_i[keep], feat_i[keep], dist[keep]):
                    out[idx[s]].near.append((name, int(f), float(d)))
        if self.rasters and ok.any():
            self._raster_stats(view, out, lonlat, ok)
        for i, ov in enumerate(out):
            results[sel[i]] = ov

    def _raster_stats(self, view, out, lonlat, ok):
        kinds = np.array([ov.kind for ov in out], dtype=object)
        for name, layer in self.rasters.items():
            for kind, fn in (("polygon", layer.polygon_stats), ("point", layer.point_stats), ("line", None)):
                idx = np.flatnonzero(ok & (kinds == kind))
                if not len(idx):
                    continue
                if kind == "line":
                    to_metric = _raster_to_metric(layer, view)
                    mean, mx = layer.line_stats(lonlat[idx], to_metric)
                else:
                    mean, mx = fn(lonlat[idx])
                for j, i in enumerate(idx):
                    out[i].rasters[name] = (
                        None if np.isnan(mean[j]) else float(mean[j]),
                        None if np.isnan(mx[j]) else float(mx[j]),
                    )


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
