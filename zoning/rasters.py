"""Raster statistics over a site: coverage-weighted for polygons (exactextract),
length-weighted for lines, the cell's value for points.
"""

import numpy as np
import rasterio
import shapely
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from pyproj import CRS, Transformer

from zoning.crs import CGCS2000

__all__ = ["RasterLayer"]


class RasterLayer:
    """One band of a pack raster, held in memory, with statistics over sites.

    Sites are given in CGCS2000 lon/lat and projected to the raster's CRS here.
    """

    def __init__(self, name, ref):
        self.name = name
        self.ref = ref
        with rasterio.open(ref.path) as src:
            data = src.read(ref.band, masked=True).astype("float64")
            self.transform = src.transform
            self.crs = CRS.from_user_input(src.crs.to_wkt())
            self.nodata = src.nodata
        self.array = data.filled(np.nan)
        self.height, self.width = self.array.shape
        if self.transform.b != 0 or self.transform.d != 0 or self.transform.e >= 0:
            raise ValueError(f"raster {name}: rotated or south-up rasters are not supported")
        left, top = self.transform.c, self.transform.f
        right = left + self.transform.a * self.width
        bottom = top + self.transform.e * self.height
        self.bounds = (left, bottom, right, top)
        self._source = NumPyRasterSource(
            np.ma.masked_invalid(self.array), left, bottom, right, top, srs_wkt=self.crs.to_wkt()
        )
        geographic = CRS.from_user_input(CGCS2000)
        self._to_raster = None
        if not (self.crs.equals(geographic) or self.crs.to_epsg() in (4326, 4490)):
            self._to_raster = Transformer.from_crs(geographic, self.crs, always_xy=True)

    def to_raster_crs(self, geoms):
        """Project lon/lat geometries (array) to the raster's CRS."""
        if self._to_raster is None:
            return geoms
        t = self._to_raster
        return shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    def _cell(self, x, y):
        col = np.floor((np.asarray(x) - self.bounds[0]) / self.transform.a).astype(int)
        row = np.floor((self.bounds[3] - np.asarray(y)) / -self.transform.e).astype(int)
        return row, col

    def _value(self, row, col):
        ok = (row >= 0) & (row < self.height) & (col >= 0) & (col < self.width)
        out = np.full(np.shape(row), np.nan)
        out[ok] = self.array[row[ok], col[ok]]
        return out

    def polygon_stats(self, geoms):
        """Coverage-weighted mean and the max over cells touched, for polygons (lon/lat)."""
        import geopandas as gpd

        geoms = self.to_raster_crs(np.asarray(geoms, dtype=object))
        frame = gpd.GeoDataFrame(geometry=list(geoms), crs=self.crs)
        rows = exact_extract(self._source, frame, ["mean", "max"], output="geojson")
        mean = np.array([_nan(r["properties"].get("mean")) for r in rows])
        mx = np.array([_nan(r["properties"].get("max")) for r in rows])
        return mean, mx

    def point_stats(self, geoms):
        """Value of the cell holding each point (mean of the cells for a multi-point)."""
        geoms = self.to_raster_crs(np.asarray(geoms, dtype=object))
        mean, mx = np.full(len(geoms), np.nan), np.full(len(geoms), np.nan)
        for i, g in enumerate(geoms):
            xy = shapely.get_coordinates(g)
            vals = self._value(*self._cell(xy[:, 0], xy[:, 1]))
            vals = vals[~np.isnan(vals)]
            if vals.size:
                mean[i], mx[i] = vals.mean(), vals.max()
        return mean, mx

    def line_stats(self, geoms, to_metric):
        """Mean of the cells a line crosses weighted by the length in each, and their max.

        ``to_metric`` projects raster-CRS geometries to a metric CRS for the lengths.
        """
        geoms = self.to_raster_crs(np.asarray(geoms, dtype=object))
        mean, mx = np.full(len(geoms), np.nan), np.full(len(geoms), np.nan)
        a, e = self.transform.a, self.transform.e
        for i, g in enumerate(geoms):
            x0, y0, x1, y1 = g.bounds
            r0, c0 = self._cell(x0, y1)
            r1, c1 = self._cell(x1, y0)
            r0, c0 = max(int(r0), 0), max(int(c0), 0)
            r1, c1 = min(int(r1), self.height - 1), min(int(c1), self.width - 1)
            if r1 < r0 or c1 < c0:
                continue
            rows, cols = np.mgrid[r0 : r1 + 1, c0 : c1 + 1]
            rows, cols = rows.ravel(), cols.ravel()
            lefts = self.bounds[0] + cols * a
            tops = self.bounds[3] + rows * e
            boxes = shapely.box(lefts, tops + e, lefts + a, tops)
            hit = shapely.intersects(boxes, g)
            pieces = shapely.intersection(boxes[hit], g)
            lengths = shapely.length(to_metric(pieces))
            vals = self.array[rows[hit], cols[hit]]
            ok = ~np.isnan(vals) & (lengths > 0)
            if ok.any():
                mean[i] = float(np.average(vals[ok], weights=lengths[ok]))
                mx[i] = float(vals[ok].max())
        return mean, mx


def _nan(v):
    return np.nan if v is None else float(v)
