"""Raster statistics over sites (contract §3b): coverage-weighted for polygons
(exactextract), length-weighted for lines, the cell's value for points.

A :class:`RasterLayer` opens only the raster's metadata. A call over a few sites
reads just the windows those sites need; a call whose windows would cost a good
share of reading the whole band reads the band once and keeps it (one copy, in
the raster's own float type — float32 for float32 and ≤16-bit integer bands —
nodata and ±inf as NaN), and every later call uses it.

Results are those of the former implementation (the band read whole as float64,
exactextract on a GeoDataFrame, a shapely box per cell intersected with each line):
identical for polygons and points, within 1e-9 for line means; ``tests/test_rasters.py``
keeps that implementation as its reference and ``bench/rasters.py`` times both.

Examples
--------
>>> from types import SimpleNamespace
>>> import numpy as np, rasterio, shapely, tempfile, os
>>> from affine import Affine
>>> path = os.path.join(tempfile.mkdtemp(), "pm.tif")
>>> with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
...                    crs="EPSG:4490", transform=Affine(0.01, 0, 120, 0, -0.01, 30), nodata=-9999) as dst:
...     dst.write(np.arange(16, dtype="float32").reshape(4, 4), 1)
>>> layer = RasterLayer("pm25", SimpleNamespace(path=path, band=1, statistic="mean", standard=35))
>>> layer.point_stats(np.array([shapely.Point(120.015, 29.985)]))
(array([5.]), array([5.]))
>>> mean, mx = layer.polygon_stats(np.array([shapely.box(120.0, 29.98, 120.02, 30.0)]))
>>> float(mean[0]), float(mx[0])
(2.5, 5.0)
"""

import threading

import numpy as np
import rasterio
import shapely
from exactextract import exact_extract
from exactextract.feature import Feature, FeatureSource
from exactextract.raster import RasterSource
from exactextract.writer import Writer
from pyproj import CRS, Transformer
from rasterio.windows import Window

from zoning.crs import CGCS2000
from zoning.errors import PackError

__all__ = ["RasterLayer", "WINDOW_COST_CELLS", "BAND_SHARE", "BAND_RUN_CELLS", "LINE_CHUNK"]

#: What one windowed read costs beyond decoding its blocks, in cells decoded: about
#: 0.2 ms of rasterio/GDAL call overhead, the time an LZW strip decoder takes for
#: ~10,000 float32 cells on the development machine.
WINDOW_COST_CELLS = 10_000
#: A call reads (and keeps) the whole band once its windowed reads would cost this
#: share of reading the band; see :meth:`RasterLayer.reads_band`.
BAND_SHARE = 0.5
#: The whole band is read in runs of rows of about this many cells.
BAND_RUN_CELLS = 1 << 20
#: :meth:`RasterLayer.line_stats` works on about this many cut points at a time,
#: which bounds its memory (~200 bytes a point, ~50 MB).
LINE_CHUNK = 250_000
#: Line pieces shorter than this (in cells) are where a line passes through a cell
#: corner (rounding leaves a sliver of ~1e-16 cells between the two crossings there):
#: the line only touches the diagonal cell, which does not count.
_CORNER_CELLS = 1e-9


class RasterLayer:
    """One band of a pack raster, with statistics over sites.

    Sites are given in CGCS2000 lon/lat and projected to the raster's CRS here.
    Thread-safe: windowed reads open their own dataset, the band is read once under a lock.

    Parameters
    ----------
    name : str
        The raster's name in the pack.
    ref : object
        The pack's raster entry: ``.path``, ``.band`` (1-based), ``.statistic``, ``.standard``.
    band_share : float, optional
        Read the whole band once a call's windowed reads would cost this share of
        reading it (default :data:`BAND_SHARE`); 0 always reads the band, ``inf`` never does.
    """

    def __init__(self, name, ref, *, band_share=BAND_SHARE):
        self.name = name
        self.ref = ref
        self.band_share = band_share
        with rasterio.open(ref.path) as src:
            self.transform = src.transform
            self.crs = CRS.from_user_input(src.crs.to_wkt())
            self.nodata = src.nodata
            self.height, self.width = src.height, src.width
            self.dtype = np.dtype(_float_type(src.dtypes[ref.band - 1]))
            self.block_shape = src.block_shapes[ref.band - 1]
        if self.transform.b != 0 or self.transform.d != 0 or self.transform.e >= 0:
            raise PackError(f"raster {name} ({ref.path}): rotated or south-up rasters are not supported; "
                            f"expected a north-up transform, got {tuple(self.transform)[:6]}")
        left, top = self.transform.c, self.transform.f
        right = left + self.transform.a * self.width
        bottom = top + self.transform.e * self.height
        self.bounds = (left, bottom, right, top)
        self._srs_wkt = self.crs.to_wkt()
        self._band = None
        self._lock = threading.Lock()
        geographic = CRS.from_user_input(CGCS2000)
        self._to_raster = None
        if not (self.crs.equals(geographic) or self.crs.to_epsg() in (4326, 4490)):
            self._to_raster = Transformer.from_crs(geographic, self.crs, always_xy=True)

    # -- reading -----------------------------------------------------------------------

    def band(self):
        """The whole band (read on first use, then kept): raster's float type, NaN for nodata."""
        if self._band is None:
            with self._lock:
                if self._band is None:
                    self._band = self._read_band()
        return self._band

    def _read_band(self):
        """Read the band in runs of rows into one array, reopening the file for each run
        so that GDAL's block cache holds one run at most: peak memory is the band plus
        a run, not the band twice (a float32 5,000 × 4,500 band is 90 MB)."""
        out = np.empty((self.height, self.width), self.dtype)
        bh = self.block_shape[0]
        step = max(bh, BAND_RUN_CELLS // max(self.width, 1) // bh * bh)
        for r in range(0, self.height, step):
            h = min(step, self.height - r)
            with rasterio.open(self.ref.path) as src:
                out[r : r + h] = self._read(src, r, 0, h, self.width)
        return out

    @property
    def array(self):
        """The whole band; see :meth:`band`."""
        return self.band()

    @property
    def band_loaded(self):
        """Whether the whole band has been read."""
        return self._band is not None

    def _clean(self, masked):
        """A masked read as a float array with NaN for nodata (and for ±inf)."""
        data = np.ma.getdata(masked)
        if data.dtype != self.dtype:
            data = data.astype(self.dtype)
        mask = np.ma.getmask(masked)
        if mask is not np.ma.nomask:
            data[mask] = np.nan
        bad = np.isinf(data)
        if bad.any():
            data[bad] = np.nan
        return data

    def _read(self, src, r0, c0, nr, nc):
        return self._clean(src.read(self.ref.band, window=Window(c0, r0, nc, nr), masked=True))

    def reads_band(self, windows):
        """Whether a call needing ``windows`` should read the whole band rather than each window.

        ``windows`` is an ``(n, 4)`` integer array of cell ranges ``row0, row1, col0, col1``
        (half-open, inside the raster). Reading window by window costs the cells of the
        distinct blocks (strips or tiles) they touch plus :data:`WINDOW_COST_CELLS` per
        window; reading the band costs all its cells. The band is read once the windows
        would cost ``band_share`` (half) of it, before break-even: it is then kept, so
        this call's windows and every later call's come free, for the memory of one band.
        On the bench's 5,000 × 4,500 LZW band (~0.5 s to read) a one-site call reads a few
        strips in 2–15 ms; the band is read from ~1,100 points, ~400 polygons of 1–50 ha
        or ~100 lines of 1–20 km in one call (windowed, these would take ~0.2–0.3 s).
        """
        if self._band is not None:
            return True
        n = len(windows)
        if n == 0:
            return False
        budget = self.band_share * self.height * self.width
        if n * WINDOW_COST_CELLS >= budget:
            return True
        bh, bw = self.block_shape
        touched = np.zeros((-(-self.height // bh), -(-self.width // bw)), dtype=bool)
        r0, r1, c0, c1 = windows.T
        for a, b, c, d in zip(r0 // bh, (r1 - 1) // bh + 1, c0 // bw, (c1 - 1) // bw + 1):
            touched[a:b, c:d] = True
        return int(touched.sum()) * bh * bw + n * WINDOW_COST_CELLS >= budget

    def _windows(self, bounds):
        """Cell ranges (half-open, clipped) of bounding boxes, and which are not empty."""
        r0, c0 = self._cell(bounds[:, 0], bounds[:, 3])
        r1, c1 = self._cell(bounds[:, 2], bounds[:, 1])
        w = np.column_stack([np.clip(r0, 0, self.height), np.clip(r1 + 1, 0, self.height),
                             np.clip(c0, 0, self.width), np.clip(c1 + 1, 0, self.width)])
        ok = (w[:, 0] < w[:, 1]) & (w[:, 2] < w[:, 3])
        return w, ok

    def _sampler(self, windows):
        """A function ``(rows, cols, group) -> values`` (float64, NaN for nodata).

        From the band when :meth:`reads_band` says so for ``windows`` (those the call
        needs); otherwise each group's cells are read as one window around them.
        """
        if self.reads_band(windows):
            band = self.band()
            return lambda rows, cols, group: band[rows, cols].astype(np.float64)

        def sample(rows, cols, group):
            out = np.empty(len(rows))
            if not len(rows):
                return out
            order = np.argsort(group, kind="stable")
            g = group[order]
            starts = np.flatnonzero(g[1:] != g[:-1]) + 1
            with rasterio.open(self.ref.path) as src:
                for sel in np.split(order, starts):
                    r, c = rows[sel], cols[sel]
                    r0, c0 = r.min(), c.min()
                    window = self._read(src, r0, c0, r.max() - r0 + 1, c.max() - c0 + 1)
                    out[sel] = window[r - r0, c - c0]
            return out

        return sample

    # -- geometry helpers ----------------------------------------------------------------

    def to_raster_crs(self, geoms):
        """Project lon/lat geometries (array) to the raster's CRS."""
        if self._to_raster is None:
            return geoms
        t = self._to_raster
        return shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    def _cell(self, x, y):
        with np.errstate(invalid="ignore"):
            col = np.floor((np.asarray(x) - self.bounds[0]) / self.transform.a)
            row = np.floor((self.bounds[3] - np.asarray(y)) / -self.transform.e)
        big = np.iinfo(np.int64).max // 4
        return (np.nan_to_num(row, nan=-1, posinf=big, neginf=-big).clip(-big, big).astype(np.int64),
                np.nan_to_num(col, nan=-1, posinf=big, neginf=-big).clip(-big, big).astype(np.int64))

    # -- statistics -----------------------------------------------------------------------

    def polygon_stats(self, geoms):
        """Coverage-weighted mean and the max over cells touched, for polygons (lon/lat).

        exactextract's exact cell coverage fractions; the polygons go to it as WKB, all
        in one call, and it reads the cells from the kept band or window by window.
        """
        geoms = self.to_raster_crs(np.asarray(geoms, dtype=object))
        n = len(geoms)
        mean, mx = np.full(n, np.nan), np.full(n, np.nan)
        todo = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
        if not len(todo):
            return mean, mx
        windows, ok = self._windows(shapely.bounds(geoms[todo]))
        features = _WKBSource(geoms[todo])
        writer = _ArrayWriter(len(todo))
        if self.reads_band(windows[ok]):
            band = self.band()
            source = _Source(self, lambda x0, y0, nx, ny: band[y0 : y0 + ny, x0 : x0 + nx])
            exact_extract(source, features, ["mean", "max"], output=writer)
        else:
            with rasterio.open(self.ref.path) as src:
                source = _Source(self, lambda x0, y0, nx, ny: self._read(src, y0, x0, ny, nx))
                exact_extract(source, features, ["mean", "max"], output=writer)
        mean[todo], mx[todo] = writer.mean, writer.max
        return mean, mx

    def point_stats(self, geoms):
        """Value of the cell holding each point (mean and max of the cells for a multi-point)."""
        geoms = self.to_raster_crs(np.asarray(geoms, dtype=object))
        n = len(geoms)
        mean, mx = np.full(n, np.nan), np.full(n, np.nan)
        xy, site = shapely.get_coordinates(geoms, return_index=True)
        rows, cols = self._cell(xy[:, 0], xy[:, 1])
        inside = (rows >= 0) & (rows < self.height) & (cols >= 0) & (cols < self.width)
        rows, cols, site = rows[inside], cols[inside], site[inside]
        if not len(site):
            return mean, mx
        one = np.arange(len(rows))  # each coordinate its own 1 × 1 window
        windows = np.column_stack([rows, rows + 1, cols, cols + 1])
        vals = self._sampler(windows)(rows, cols, one)
        good = ~np.isnan(vals)
        return _reduce(n, site[good], vals[good], None)

    def line_stats(self, geoms, to_metric):
        """Mean of the cells a line crosses weighted by its length in each, and their max.

        ``to_metric`` projects an array of raster-CRS geometries to a metric CRS for the
        lengths. Each segment is cut where it crosses the grid's lines (one vectorised
        pass), each piece goes to the cell holding it, and its length is measured
        between its projected ends. A piece along a cell edge lies in both closed
        cells beside it and counts in each that lies in the line's bounding box of
        cells; parts that overlap count once (as GEOS's intersection dissolves them).
        """
        geoms = self.to_raster_crs(np.asarray(geoms, dtype=object))
        n = len(geoms)
        out = np.full(n, np.nan), np.full(n, np.nan)
        if not n:
            return out
        geoms = _dissolved(geoms)
        # Cells count only within a line's bounding box of cells, as the box-per-cell
        # method had it (this decides which cells a line lying along an edge counts in).
        windows, ok = self._windows(shapely.bounds(geoms))
        parts, part_site = shapely.get_parts(geoms, return_index=True)
        xy, part = shapely.get_coordinates(parts, return_index=True)
        s = np.flatnonzero(part[1:] == part[:-1])
        seg = _Segments(xy[s], xy[s + 1], part_site[part[s]], part[s])
        seg = seg.take(ok[seg.site] & seg.useful())
        if not len(seg.site):
            return out
        # Reads: a window around each part (a multi-line's parts may lie far apart).
        part_windows, part_ok = self._windows(shapely.bounds(parts))
        sample = self._sampler(part_windows[part_ok & ok[part_site]])
        wsum, lsum = np.zeros(n), np.zeros(n)
        vmax = np.full(n, -np.inf)
        for chunk in self._chunks(seg):
            site, vals, weights = self._line_cells(chunk, windows, to_metric, sample)
            wsum += np.bincount(site, vals * weights, minlength=n)
            lsum += np.bincount(site, weights, minlength=n)
            np.maximum.at(vmax, site, vals)
        hit = lsum > 0
        out[0][hit] = wsum[hit] / lsum[hit]
        out[1][hit] = vmax[hit]
        return out

    def _chunks(self, seg):
        """Runs of segments of about :data:`LINE_CHUNK` cut points each."""
        a, e = self.transform.a, self.transform.e
        du = np.abs(np.clip(seg.x1, *self.bounds[::2]) - np.clip(seg.x0, *self.bounds[::2])) / a
        dv = np.abs(np.clip(seg.y1, *self.bounds[1::2]) - np.clip(seg.y0, *self.bounds[1::2])) / -e
        cum = np.cumsum(du + dv + 4)
        cuts = np.searchsorted(cum, np.arange(LINE_CHUNK, cum[-1], LINE_CHUNK))
        for idx in np.split(np.arange(len(seg.site)), np.unique(cuts)):
            if len(idx):
                yield seg.take(idx)

    def _line_cells(self, seg, windows, to_metric, sample):
        """(site, value, length) of every (piece, cell) with data, for these segments."""
        a, e = self.transform.a, self.transform.e
        left, top = self.bounds[0], self.bounds[3]
        m = len(seg.site)
        # Crossings with the vertical grid lines x = left + k·a and the horizontal ones
        # y = top + r·e, each family in order along its segment.
        sv, xv = _crossings(seg.x0, seg.x1, left, a, self.width)
        tv = (xv - seg.x0[sv]) / (seg.x1[sv] - seg.x0[sv])
        yv = seg.y0[sv] + tv * (seg.y1[sv] - seg.y0[sv])
        sh, yh = _crossings(seg.y0, seg.y1, top, e, self.height)
        th = (yh - seg.y0[sh]) / (seg.y1[sh] - seg.y0[sh])
        xh = seg.x0[sh] + th * (seg.x1[sh] - seg.x0[sh])
        # Cut points in order along each segment: start, crossings, end. The four runs
        # are each sorted, so a stable sort on 2·segment + t is a cheap merge. Its key
        # rounds t to ~1e-11, so two crossings closer than that (near a cell corner)
        # may come out swapped: those are put right by their exact t.
        ids = np.arange(m)
        key = np.concatenate([2.0 * ids, 2.0 * sv + tv, 2.0 * sh + th, 2.0 * ids + 1.0])
        order = np.argsort(key, kind="stable")
        del key
        t = np.concatenate([np.zeros(m), tv, th, np.ones(m)])[order]
        seg_of = np.concatenate([ids, sv, sh, ids])[order]
        while True:
            swapped = np.flatnonzero((t[1:] < t[:-1]) & (seg_of[1:] == seg_of[:-1]))
            if not len(swapped):
                break
            swapped = swapped[np.r_[True, np.diff(swapped) > 1]]  # disjoint pairs per pass
            for arr in (order, t):
                arr[swapped], arr[swapped + 1] = arr[swapped + 1], arr[swapped].copy()
        del t, seg_of
        kind = np.concatenate([np.zeros(m, np.int8), np.ones(len(sv), np.int8),
                               np.full(len(sh), 2, np.int8), np.zeros(m, np.int8)])[order]
        sid = np.concatenate([ids, sv, sh, ids])[order]
        bx = np.concatenate([seg.x0, xv, xh, seg.x1])[order]
        by = np.concatenate([seg.y0, yv, yh, seg.y1])[order]
        start = np.empty(len(order), np.int64)
        start[order] = np.arange(len(order))
        start = start[:m]  # where each segment's first point went
        del order, sv, xv, tv, yv, sh, yh, th, xh
        metric = shapely.get_coordinates(to_metric(np.array([shapely.linestrings(bx, by)], dtype=object)))
        piece = np.flatnonzero(sid[1:] == sid[:-1])
        ps = sid[piece]
        length = np.hypot(metric[piece + 1, 0] - metric[piece, 0], metric[piece + 1, 1] - metric[piece, 1])
        cells = np.hypot((bx[piece + 1] - bx[piece]) / a, (by[piece + 1] - by[piece]) / e)
        keep = (cells >= _CORNER_CELLS) & (length > 0)
        del metric, cells
        # A piece's cell: the segment's first cell, moved one column per vertical grid
        # line crossed before it, one row per horizontal one.
        xs = left + np.arange(self.width + 1) * a
        ys = top + np.arange(self.height + 1) * e
        east, north = seg.x1 > seg.x0, seg.y1 > seg.y0
        col0 = np.where(seg.x1 < seg.x0, np.searchsorted(xs, seg.x0, "left"), np.searchsorted(xs, seg.x0, "right")) - 1
        row0 = np.where(north, np.searchsorted(-ys, -seg.y0, "left"), np.searchsorted(-ys, -seg.y0, "right")) - 1
        dcol = np.where(east, 1, np.where(seg.x1 < seg.x0, -1, 0))
        drow = np.where(north, -1, np.where(seg.y1 < seg.y0, 1, 0))
        nv, nh = np.cumsum(kind == 1), np.cumsum(kind == 2)
        piece, ps, length = piece[keep], ps[keep], length[keep]
        col = col0[ps] + dcol[ps] * (nv[piece] - nv[start[ps]])
        row = row0[ps] + drow[ps] * (nh[piece] - nh[start[ps]])
        # Pieces of axis-parallel segments: every closed cell [left + c·a, left + c·a + a]
        # holding them (the two beside a cell edge), as box-per-cell intersections have it.
        primary = np.ones(len(piece), dtype=bool)
        rows, cols, pieces = [], [], []
        for parallel, across, coord, lines, step in ((dcol[ps] == 0, col, bx[piece], xs, a),
                                                     (drow[ps] == 0, row, by[piece], ys, e)):
            i = np.flatnonzero(parallel)
            if not len(i):
                continue
            ok, j, other = _edge_cells(i, across, coord, lines, step)
            primary[i] &= ok
            rows.append(row[j] if across is col else other)
            cols.append(other if across is col else col[j])
            pieces.append(j)
        k = np.concatenate([np.flatnonzero(primary), *pieces])
        row = np.concatenate([row[primary], *rows])
        col = np.concatenate([col[primary], *cols])
        site = seg.site[ps[k]]
        w = windows[site]
        inside = (row >= w[:, 0]) & (row < w[:, 1]) & (col >= w[:, 2]) & (col < w[:, 3])
        row, col, k, site = row[inside], col[inside], k[inside], site[inside]
        vals = sample(row, col, seg.part[ps[k]])
        good = ~np.isnan(vals)
        return site[good], vals[good], length[k[good]]


def _edge_cells(idx, across, coord, lines, step):
    """The closed cells holding axis-parallel pieces ``idx``.

    ``across`` is each piece's cell index across its direction (the column for a vertical
    piece), found with ``lines[c] <= coord < lines[c + 1]`` on the grid ``lines``;
    ``coord`` is its constant coordinate. Returns whether that cell holds it (it may not
    by an ulp: a cell's far edge is ``lines[c] + step``) and the (piece, cell) pairs of
    the cell before, which holds it when it lies on their shared edge.
    """
    n = len(lines) - 1
    c = across[idx]
    inside = (c >= 0) & (c < n)
    keep = ~inside | _within(coord[idx], lines[np.clip(c, 0, n)], step)
    prev = c - 1
    ok = (prev >= 0) & (prev < n)
    ok[ok] = _within(coord[idx[ok]], lines[prev[ok]], step)
    return keep, idx[ok], prev[ok]


def _within(v, lo, step):
    """``v`` lies in the closed cell from ``lo`` to ``lo + step`` (step of either sign)."""
    hi = lo + step
    return (v >= np.minimum(lo, hi)) & (v <= np.maximum(lo, hi))


def _crossings(v0, v1, origin, step, n):
    """Where segments (coordinates ``v0``→``v1`` on one axis) cross the grid lines
    ``origin + k·step`` (k = 0…n) strictly between their ends, in order along each
    segment: (segment, coordinate)."""
    f0, f1 = (v0 - origin) / step, (v1 - origin) / step
    lo = np.clip(np.floor(np.minimum(f0, f1)), 0, n).astype(np.int64)
    hi = np.clip(np.ceil(np.maximum(f0, f1)), 0, n).astype(np.int64)
    count = hi - lo + 1
    s = np.repeat(np.arange(len(v0)), count)
    offset = np.arange(len(s)) - np.repeat(np.cumsum(count) - count, count)
    k = np.where((f1 >= f0)[s], lo[s] + offset, hi[s] - offset)
    v = origin + k * step
    a, b = np.minimum(v0, v1)[s], np.maximum(v0, v1)[s]
    strict = (v > a) & (v < b)
    return s[strict], v[strict]


class _Segments:
    """Straight segments of lines, as coordinate arrays, with the site each belongs to."""

    def __init__(self, p0, p1, site, part):
        self.x0, self.y0 = np.ascontiguousarray(p0[:, 0]), np.ascontiguousarray(p0[:, 1])
        self.x1, self.y1 = np.ascontiguousarray(p1[:, 0]), np.ascontiguousarray(p1[:, 1])
        self.site, self.part = site, part

    def take(self, idx):
        out = _Segments.__new__(_Segments)
        for name in ("x0", "y0", "x1", "y1", "site", "part"):
            setattr(out, name, getattr(self, name)[idx])
        return out

    def useful(self):
        """Segments of nonzero length with finite coordinates."""
        finite = np.isfinite(self.x0) & np.isfinite(self.y0) & np.isfinite(self.x1) & np.isfinite(self.y1)
        return finite & ((self.x0 != self.x1) | (self.y0 != self.y1))


def _dissolved(geoms):
    """Lines with overlapping parts dissolved (a union), as the box intersections did."""
    bad = np.flatnonzero(~shapely.is_simple(geoms) & ~shapely.is_missing(geoms))
    if not len(bad):
        return geoms
    geoms = geoms.copy()
    for i in bad:
        geoms[i] = shapely.unary_union(geoms[i])
    return geoms


def _reduce(n, site, vals, weights):
    """Per-site mean (weighted when ``weights`` given) and max; NaN where a site has none."""
    mean, mx = np.full(n, np.nan), np.full(n, np.nan)
    if not len(site):
        return mean, mx
    w = np.ones(len(site)) if weights is None else weights
    total = np.bincount(site, w, minlength=n)
    s = np.bincount(site, vals * w, minlength=n)
    top = np.full(n, -np.inf)
    np.maximum.at(top, site, vals)
    hit = total > 0
    mean[hit] = s[hit] / total[hit]
    mx[hit] = top[hit]
    return mean, mx


def _float_type(dtype):
    """The float type holding a band's values exactly (float32 up to 16-bit integers)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return dtype
    if dtype.kind in "iub" and dtype.itemsize <= 2:
        return np.dtype("float32")
    return np.dtype("float64")


# -- exactextract glue: polygons in as WKB, statistics out into arrays -------------------


class _Source(RasterSource):
    """The layer's grid for exactextract, its cells read by ``read(x0, y0, nx, ny)``."""

    def __init__(self, layer, read):
        super().__init__()
        self._ext = layer.bounds
        self._shape = (layer.height, layer.width)
        self._wkt = layer._srs_wkt
        self._read = read

    def res(self):
        # As NumPyRasterSource computes it, so the grid is the one exactextract always used.
        (xmin, ymin, xmax, ymax), (ny, nx) = self._ext, self._shape
        return ((xmax - xmin) / nx, (ymax - ymin) / ny)

    def extent(self):
        return self._ext

    def srs_wkt(self):
        return self._wkt

    def nodata_value(self):
        return None  # nodata is NaN, which exactextract skips

    def read_window(self, x0, y0, nx, ny):
        return self._read(x0, y0, nx, ny)


class _WKBFeature(Feature):
    def __init__(self, wkb):
        Feature.__init__(self)
        self.wkb = wkb

    def geometry(self):
        return self.wkb

    def set_geometry_format(self):
        return "wkb"


class _WKBSource(FeatureSource):
    """Polygons handed to exactextract as WKB (no GeoJSON text round trip)."""

    def __init__(self, geoms):
        super().__init__()
        self._wkb = shapely.to_wkb(geoms)

    def count(self):
        return len(self._wkb)

    def __iter__(self):
        return map(_WKBFeature, self._wkb)

    def srs_wkt(self):
        return None  # already in the raster's CRS


class _Values(Feature):
    """Receives one feature's statistics from exactextract."""

    def __init__(self):
        Feature.__init__(self)
        self.values = {}

    def set(self, name, value):
        self.values[name] = value

    def set_geometry(self, wkb):
        pass

    def set_geometry_format(self):
        return "wkb"


class _ArrayWriter(Writer):
    """Writes each feature's mean and max into arrays, in feature order."""

    def __init__(self, n):
        super().__init__()
        self.mean, self.max = np.full(n, np.nan), np.full(n, np.nan)
        self._i = 0
        self._got = _Values()

    def write(self, feature):
        got = self._got
        got.values.clear()
        feature.copy_to(got)
        self.mean[self._i] = _nan(got.values.get("mean"))
        self.max[self._i] = _nan(got.values.get("max"))
        self._i += 1

    def finish(self):
        if self._i != len(self.mean):
            raise RuntimeError(f"exactextract wrote {self._i} features, expected {len(self.mean)}")

    def features(self):
        return None


def _nan(v):
    return np.nan if v is None else float(v)
