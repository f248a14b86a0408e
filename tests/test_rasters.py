"""RasterLayer against the algorithms it replaced, kept here as the reference.

The reference (:class:`ReferenceRasterLayer`) is the former ``zoning/rasters.py``: the band
read whole as float64, exactextract on a GeoDataFrame for polygons, a shapely box per cell
intersected with each line, a cell lookup per point. Every method of :class:`RasterLayer`
is compared with it on real GeoTIFFs (EPSG:4490 and EPSG:4549, with nodata) over random
sites and the standard edge cases, through both the windowed and the whole-band path.
"""

from types import SimpleNamespace

import numpy as np
import pytest
import rasterio
import shapely
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from pyproj import CRS, Transformer
from affine import Affine

from zoning.crs import CGCS2000
from zoning.rasters import RasterLayer

NODATA = -9999.0


# -- the reference: the former zoning/rasters.py -------------------------------------------


class ReferenceRasterLayer:
    """The former implementation, unchanged but for its name and ``line_stats``' ``sliver``."""

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
        import geopandas as gpd

        geoms = self.to_raster_crs(np.asarray(geoms, dtype=object))
        frame = gpd.GeoDataFrame(geometry=list(geoms), crs=self.crs)
        rows = exact_extract(self._source, frame, ["mean", "max"], output="geojson")
        mean = np.array([_nan(r["properties"].get("mean")) for r in rows])
        mx = np.array([_nan(r["properties"].get("max")) for r in rows])
        return mean, mx

    def point_stats(self, geoms):
        geoms = self.to_raster_crs(np.asarray(geoms, dtype=object))
        mean, mx = np.full(len(geoms), np.nan), np.full(len(geoms), np.nan)
        for i, g in enumerate(geoms):
            xy = shapely.get_coordinates(g)
            vals = self._value(*self._cell(xy[:, 0], xy[:, 1]))
            vals = vals[~np.isnan(vals)]
            if vals.size:
                mean[i], mx[i] = vals.mean(), vals.max()
        return mean, mx

    def line_stats(self, geoms, to_metric, sliver=0.0):
        """``sliver`` (raster-CRS units, default 0 = as it was): ignore pieces no longer."""
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
            ok = ~np.isnan(vals) & (lengths > 0) & (shapely.length(pieces) > sliver)
            if ok.any():
                mean[i] = float(np.average(vals[ok], weights=lengths[ok]))
                mx[i] = float(vals[ok].max())
        return mean, mx


def _nan(v):
    return np.nan if v is None else float(v)


def metric_projector(crs, epsg=4549):
    """``to_metric`` as zoning.overlay builds it: raster CRS → a GK zone."""
    t = Transformer.from_crs(crs, f"EPSG:{epsg}", always_xy=True)
    return lambda geoms: shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


# -- rasters ----------------------------------------------------------------------------------


def write_tif(path, data, transform, crs, nodata=NODATA, **profile):
    prof = dict(driver="GTiff", height=data.shape[0], width=data.shape[1], count=1, dtype=data.dtype,
                crs=crs, transform=transform, nodata=nodata, **profile)
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(data, 1)
    return path


def field(shape, rng, dtype="float32"):
    """Smooth values with noise, a block of nodata and a few stray nodata cells."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w]
    data = 30 + 6 * np.sin(x / 7.0) * np.cos(y / 5.0) + rng.normal(0, 1, shape)
    if np.dtype(dtype).kind in "iu":
        data = np.round(data * 10)
    data = data.astype(dtype)
    data[h // 5 : h // 5 + 8, w // 2 : w // 2 + 10] = NODATA
    data[rng.integers(0, h, 20), rng.integers(0, w, 20)] = NODATA
    return data


class Grid:
    """A raster written to disk and the facts the tests need about it."""

    def __init__(self, path, crs, left, top, a, shape):
        self.path, self.crs, self.left, self.top, self.a, self.shape = str(path), crs, left, top, a, shape
        self.ref = SimpleNamespace(path=self.path, band=1, statistic="mean", standard=35)
        self.to_lonlat = None
        if crs != "EPSG:4490":
            self.to_lonlat = Transformer.from_crs(crs, CGCS2000, always_xy=True)

    @property
    def right(self):
        return self.left + self.a * self.shape[1]

    @property
    def bottom(self):
        return self.top - self.a * self.shape[0]

    def lonlat(self, geoms):
        """Raster-CRS geometries as the lon/lat sites the layer is given."""
        if self.to_lonlat is None:
            return geoms
        t = self.to_lonlat
        return shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    def layer(self, **kw):
        return RasterLayer("pm25", self.ref, **kw)

    def reference(self):
        return ReferenceRasterLayer("pm25", self.ref)


@pytest.fixture(scope="module")
def geographic(tmp_path_factory):
    """EPSG:4490, 0.001° cells, float32, stripped LZW like the packs' rasters."""
    rng = np.random.default_rng(1)
    shape = (50, 60)
    path = write_tif(tmp_path_factory.mktemp("r") / "geo.tif", field(shape, rng),
                     Affine(0.001, 0, 120.0, 0, -0.001, 30.05), "EPSG:4490", compress="lzw", predictor=3)
    return Grid(path, "EPSG:4490", 120.0, 30.05, 0.001, shape)


@pytest.fixture(scope="module")
def projected(tmp_path_factory):
    """EPSG:4549, 100 m cells, int16 with nodata, tiled 16 × 16."""
    rng = np.random.default_rng(2)
    shape = (48, 64)
    path = write_tif(tmp_path_factory.mktemp("r") / "gk.tif", field(shape, rng, "int16"),
                     Affine(100.0, 0, 500_000.0, 0, -100.0, 3_320_000.0), "EPSG:4549",
                     tiled=True, blockxsize=16, blockysize=16, compress="deflate")
    return Grid(path, "EPSG:4549", 500_000.0, 3_320_000.0, 100.0, shape)


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    """EPSG:4490 with cells of 1/64°: every cell edge is exact in binary."""
    rng = np.random.default_rng(3)
    shape = (20, 24)
    path = write_tif(tmp_path_factory.mktemp("r") / "bin.tif", field(shape, rng),
                     Affine(1 / 64, 0, 119.5, 0, -1 / 64, 30.25), "EPSG:4490")
    return Grid(path, "EPSG:4490", 119.5, 30.25, 1 / 64, shape)


GRIDS = ["geographic", "projected", "binary"]


@pytest.fixture(params=GRIDS)
def grid(request):
    return request.getfixturevalue(request.param)


# -- sites (in the raster's CRS; the tests hand them over in lon/lat) --------------------------


def random_polygons(g, rng, n=120):
    h, w = g.shape
    out = []
    for _ in range(n):
        cx = rng.uniform(g.left - 3 * g.a, g.right + 3 * g.a)
        cy = rng.uniform(g.bottom - 3 * g.a, g.top + 3 * g.a)
        k = int(rng.integers(3, 14))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(0.2, 1.0, k) * rng.uniform(0.3, 6) * g.a
        shell = np.column_stack([cx + r * np.cos(ang), cy + r * np.sin(ang)])
        poly = shapely.Polygon(shell)
        if not poly.is_valid or poly.area == 0:
            continue
        if rng.random() < 0.2:
            hole = shapely.Point(cx, cy).buffer(r.min() * 0.5, 6)
            if poly.contains(hole):
                poly = shapely.Polygon(shell, [hole.exterior.coords])
        if rng.random() < 0.15:
            other = shapely.box(cx + 8 * g.a, cy, cx + 9.5 * g.a, cy + 1.3 * g.a)
            poly = shapely.MultiPolygon([poly, other]) if not poly.intersects(other) else poly
        out.append(poly)
    return out


def edge_polygons(g):
    a, L, T = g.a, g.left, g.top
    return [
        shapely.box(L + 3 * a, T - 7 * a, L + 6 * a, T - 4 * a),         # exactly on cell edges
        shapely.box(L - 2 * a, T - 3 * a, L + 1.5 * a, T + 2 * a),       # over the top-left corner
        shapely.box(g.right - a / 2, g.bottom - a, g.right + a, g.bottom + 2.2 * a),  # partly off
        shapely.box(g.right + a, g.top + a, g.right + 3 * a, g.top + 4 * a),        # wholly off
        shapely.box(L + 30.2 * a, T - 17.5 * a, L + 33.7 * a, T - 11.2 * a),        # in the nodata block
        shapely.box(L + 10.1 * a, T - 10.9 * a, L + 10.4 * a, T - 10.2 * a),        # inside one cell
        shapely.box(L, g.bottom, g.right, T),                                       # the whole raster
        shapely.Polygon(shapely.box(L + 2 * a, T - 12 * a, L + 12 * a, T - 2 * a).exterior.coords,
                        [shapely.box(L + 4 * a, T - 10 * a, L + 10 * a, T - 4 * a).exterior.coords]),  # hole
        shapely.MultiPolygon([shapely.box(L + a, T - 2 * a, L + 2.5 * a, T - a),
                              shapely.box(L + 40 * a, T - 30 * a, L + 41 * a, T - 28.4 * a)]),
    ]


def random_lines(g, rng, n=120):
    out = []
    for _ in range(n):
        k = int(rng.integers(2, 9))
        x = rng.uniform(g.left - 4 * g.a, g.right + 4 * g.a)
        y = rng.uniform(g.bottom - 4 * g.a, g.top + 4 * g.a)
        step = rng.uniform(0.3, 8) * g.a
        heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.7, k - 1))
        xs = np.concatenate([[x], x + np.cumsum(step * np.cos(heading))])
        ys = np.concatenate([[y], y + np.cumsum(step * np.sin(heading))])
        line = shapely.LineString(np.column_stack([xs, ys]))
        if rng.random() < 0.15:
            line = shapely.MultiLineString([line, shapely.LineString([(x, y - 5 * g.a), (x + 7 * g.a, y - 2 * g.a)])])
        out.append(line)
    return out


def edge_lines(g):
    a, L, T = g.a, g.left, g.top
    X = lambda k: L + k * a  # noqa: E731  (a grid line, computed as the layer computes it)
    Y = lambda r: T - r * a  # noqa: E731
    return [
        shapely.LineString([(X(5), Y(3) - 0.3 * a), (X(5), Y(12) + 0.2 * a)]),          # wholly along a vertical edge
        shapely.LineString([(X(3) + 0.2 * a, Y(8)), (X(14) + 0.6 * a, Y(8))]),          # wholly along a horizontal edge
        shapely.LineString([(X(2) + 0.5 * a, Y(4) + 0.5 * a), (X(7), Y(4) + 0.5 * a), (X(7), Y(11) + 0.1 * a),
                            (X(9) + 0.3 * a, Y(12) + 0.7 * a)]),                         # a leg along an edge
        shapely.LineString([(X(1) + 0.4 * a, Y(20)), (X(6), Y(20)), (X(6), Y(25)), (X(11), Y(25))]),  # steps on edges
        shapely.LineString([(X(2), Y(2)), (X(9), Y(9))]),                               # through cell corners
        shapely.LineString([(X(12) + 0.5 * a, Y(1)), (X(12) + 0.5 * a, Y(9))]),         # vertical inside a column
        shapely.LineString([(X(0), Y(3)), (X(0), Y(10))]),                              # along the raster's left side
        shapely.LineString([(L - 3 * a, Y(5) + 0.4 * a), (L + 4.5 * a, Y(6) + 0.1 * a)]),  # partly off
        shapely.LineString([(g.right + a, T + a), (g.right + 9 * a, T + 3 * a)]),        # wholly off
        shapely.LineString([(X(31) + 0.2 * a, Y(11) - 0.3 * a), (X(38) + 0.4 * a, Y(16) - 0.5 * a)]),  # in nodata
        shapely.MultiLineString([[(X(3) + 0.1 * a, Y(30) - 0.5 * a), (X(8) + 0.3 * a, Y(30) - 0.5 * a)],
                                 [(X(6) + 0.2 * a, Y(30) - 0.5 * a), (X(10) + 0.6 * a, Y(30) - 0.5 * a)]]),  # parts overlap
        shapely.LineString([(X(4) + 0.3 * a, Y(35) - 0.5 * a), (X(9) + 0.7 * a, Y(35) - 0.5 * a),
                            (X(6) + 0.1 * a, Y(35) - 0.5 * a)]),                           # doubles back on itself
        shapely.LineString([(X(2) + 0.3 * a, Y(40) - 0.2 * a), (X(2) + 0.3 * a, Y(40) - 0.2 * a), (X(5) + 0.5 * a, Y(41) - 0.8 * a)]),  # repeated vertex
        shapely.LineString([(X(20) + 0.25 * a, Y(2) - 0.5 * a), (X(20) + 0.25 * a + 1e-9 * a, Y(9) - 0.5 * a)]),  # almost vertical
    ]


def snapped_lines(g, rng, n=80):
    """Lines whose vertices sit on grid lines, cell corners and cell centres: segments
    along edges, through corners, starting and ending on edges, in every direction.
    Monotone in each axis, so that they do not double back on themselves (where GEOS's
    answer for near-overlapping parts depends on rounding)."""
    h, w = g.shape
    out = []
    for _ in range(n):
        k = int(rng.integers(2, 7))
        steps = rng.choice([0.0, 0.5, 1.0, 2.0, 3.0, 6.0], (k - 1, 2), p=[0.3, 0.1, 0.2, 0.2, 0.1, 0.1])
        steps *= rng.choice([-1.0, 1.0], 2)
        start = [rng.integers(-2, w + 3) + rng.choice([0.0, 0.5]), rng.integers(-2, h + 3) + rng.choice([0.0, 0.5])]
        cr = np.vstack([start, start + np.cumsum(steps, axis=0)])
        line = shapely.LineString(np.column_stack([g.left + cr[:, 0] * g.a, g.top - cr[:, 1] * g.a]))
        if line.length > 0:
            out.append(line)
    return out


def random_points(g, rng, n=300):
    x = rng.uniform(g.left - 2 * g.a, g.right + 2 * g.a, n)
    y = rng.uniform(g.bottom - 2 * g.a, g.top + 2 * g.a, n)
    out = list(shapely.points(x, y))
    a, L, T = g.a, g.left, g.top
    out += [
        shapely.Point(L + 5 * a, T - 7 * a),                       # a cell corner
        shapely.Point(L + 5 * a, T - 7.5 * a),                     # on a vertical edge
        shapely.Point(L, T),                                       # the raster's corner
        shapely.Point(g.right, g.bottom),                          # just off, at the far corner
        shapely.Point(L + 33.5 * a, T - 12.5 * a),                 # nodata
        shapely.MultiPoint([(L + 1.5 * a, T - 1.5 * a), (L + 7.5 * a, T - 3.5 * a), (L - a, T)]),  # one part off
        shapely.MultiPoint([(L + 33.5 * a, T - 12.5 * a), (L + 2.5 * a, T - 2.5 * a)]),            # one in nodata
    ]
    return out


def sites(g, kind, seed=7):
    rng = np.random.default_rng(seed)
    made = {"polygon": lambda: random_polygons(g, rng) + edge_polygons(g),
            "line": lambda: random_lines(g, rng) + edge_lines(g) + snapped_lines(g, rng),
            "point": lambda: random_points(g, rng)}[kind]()
    return g.lonlat(np.array(made, dtype=object))


def run(layer, kind, geoms, g):
    if kind == "polygon":
        return layer.polygon_stats(geoms)
    if kind == "point":
        return layer.point_stats(geoms)
    return layer.line_stats(geoms, metric_projector(layer.crs))


# -- tests -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def references(geographic, projected, binary):
    return {g.path: g.reference() for g in (geographic, projected, binary)}


def assert_same(got, want, rtol=0.0):
    for a, b, what in zip(got, want, ("mean", "max")):
        assert a.shape == b.shape
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{what}: NaN at {np.flatnonzero(np.isnan(a) != np.isnan(b))}"
        if rtol == 0:
            bad = np.flatnonzero(~np.isnan(a) & (a != b))
        else:
            bad = np.flatnonzero(~np.isnan(a) & ~np.isclose(a, b, rtol=rtol, atol=0))
        assert not len(bad), f"{what} differs at {bad[:10]}: {a[bad[:5]]} vs {b[bad[:5]]}"


def reference_run(reference, kind, geoms, g, got):
    """The reference's results; for lines, where they differ from ``got`` because of
    slivers — pieces of ~1e-11 cells that GEOS leaves where a line passes exactly through
    a cell corner or runs along the raster's edge, an ulp inside — those without slivers."""
    want = run(reference, kind, geoms, g)
    if kind == "line":
        m, x = got[0], got[1]
        close = np.isclose(m, want[0], rtol=1e-9, atol=0) | (np.isnan(m) & np.isnan(want[0]))
        differs = ~close | ~((x == want[1]) | (np.isnan(x) & np.isnan(want[1])))
        if differs.any():
            clean = reference.line_stats(geoms[differs], metric_projector(reference.crs), sliver=1e-9 * g.a)
            same = [np.array_equal(c, w[differs], equal_nan=True) for c, w in zip(clean, want)]
            assert not all(same), f"lines {np.flatnonzero(differs)} differ, and not by slivers"
            want[0][differs], want[1][differs] = clean
            assert differs.sum() <= len(geoms) // 10  # a few of the snapped lines
    return want


@pytest.mark.parametrize("kind", ["polygon", "point", "line"])
@pytest.mark.parametrize("path", ["windowed", "band"])
def test_matches_reference(grid, references, kind, path):
    geoms = sites(grid, kind)
    layer = grid.layer(band_share=np.inf if path == "windowed" else 0.0)
    got = run(layer, kind, geoms, grid)
    assert layer.band_loaded is (path == "band")
    want = reference_run(references[grid.path], kind, geoms, grid, got)
    # Polygons and points must be identical; line lengths are summed piece by piece here
    # and cell by cell there, so the means may differ in the last bits.
    assert_same(got, want, rtol=1e-9 if kind == "line" else 0.0)
    assert np.isfinite(got[0]).sum() > len(geoms) // 3  # the sites do hit data


@pytest.mark.parametrize("kind", ["polygon", "point", "line"])
def test_windowed_and_band_agree(grid, kind):
    geoms = sites(grid, kind, seed=11)
    windowed = run(grid.layer(band_share=np.inf), kind, geoms, grid)
    band = run(grid.layer(band_share=0.0), kind, geoms, grid)
    assert_same(windowed, band)


def test_edge_lines_exact(binary, references):
    """On a grid whose edges are exact, lines along edges count in both cells beside them."""
    geoms = binary.lonlat(np.array(edge_lines(binary), dtype=object))
    got = run(binary.layer(), "line", geoms, binary)
    want = run(references[binary.path], "line", geoms, binary)
    assert_same(got, want, rtol=1e-12)
    a, L, T = binary.a, binary.left, binary.top
    band = binary.layer().band().astype(float)
    # The L-shaped line's leg x = X(7) runs along the edge of columns 6 and 7 (rows 4–11).
    line = shapely.LineString([(L + 3 * a, T - 4.5 * a), (L + 7 * a, T - 4.5 * a), (L + 7 * a, T - 11.5 * a)])
    mean, mx = binary.layer().line_stats(np.array([line]), lambda g: g)
    vals = np.concatenate([band[4, 3:7], band[5:11, 6], band[5:11, 7], band[[4, 11], 6], band[[4, 11], 7]])
    weights = np.concatenate([np.ones(4), np.ones(12), np.full(4, 0.5)])
    ok = ~np.isnan(vals)
    assert mean[0] == pytest.approx(np.average(vals[ok], weights=weights[ok]), rel=1e-12)
    assert mx[0] == np.nanmax(vals)


def test_empty_and_missing(geographic):
    layer = geographic.layer()
    empty = np.array([shapely.Polygon(), None, shapely.box(120.01, 30.0, 120.012, 30.002)], dtype=object)
    mean, mx = layer.polygon_stats(empty)
    assert np.isnan(mean[:2]).all() and np.isnan(mx[:2]).all() and np.isfinite(mean[2])
    lines = np.array([shapely.LineString(), None, shapely.LineString([(120.01, 30.0), (120.02, 30.01)])], dtype=object)
    mean, mx = layer.line_stats(lines, metric_projector(layer.crs))
    assert np.isnan(mean[:2]).all() and np.isfinite(mean[2])
    points = np.array([shapely.Point(), None, shapely.Point(120.0105, 30.0015)], dtype=object)
    mean, mx = layer.point_stats(points)
    assert np.isnan(mean[:2]).all() and np.isfinite(mean[2])
    for fn in (layer.polygon_stats, layer.point_stats):
        assert [len(a) for a in fn(np.array([], dtype=object))] == [0, 0]
    assert [len(a) for a in layer.line_stats(np.array([], dtype=object), lambda g: g)] == [0, 0]


def test_construction_reads_no_cells(geographic):
    layer = geographic.layer()
    assert not layer.band_loaded
    assert (layer.height, layer.width) == geographic.shape
    assert layer.dtype == np.float32


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """A raster big enough (1,200 × 1,000 cells, strips of one row) for windows to pay."""
    data = np.tile(np.arange(1200, dtype="float32"), (1000, 1))
    data[:10, :10] = NODATA
    path = write_tif(tmp_path_factory.mktemp("r") / "wide.tif", data,
                     Affine(0.001, 0, 120.0, 0, -0.001, 31.0), "EPSG:4490", compress="lzw")
    return Grid(path, "EPSG:4490", 120.0, 31.0, 0.001, data.shape)


def test_few_sites_read_windows_many_read_the_band(wide):
    layer = wide.layer()
    assert not layer.band_loaded
    point = np.array([shapely.Point(120.1005, 30.9005)])
    assert layer.point_stats(point)[0][0] == 100.0
    poly = np.array([shapely.box(120.1, 30.9, 120.102, 30.902)])
    assert layer.polygon_stats(poly)[0][0] == pytest.approx(100.5)
    line = np.array([shapely.LineString([(120.1, 30.9005), (120.11, 30.9005)])])
    assert layer.line_stats(line, lambda g: g)[0][0] == pytest.approx(104.5)
    assert not layer.band_loaded
    rng = np.random.default_rng(0)
    many = shapely.points(rng.uniform(120.0, 121.2, 2000), rng.uniform(30.0, 31.0, 2000))
    mean, _ = layer.point_stats(many)
    assert layer.band_loaded
    assert np.array_equal(mean, np.floor((shapely.get_x(many) - 120.0) / 0.001))


def test_reads_band_counts_blocks(wide, projected):
    layer = wide.layer()
    assert not layer.reads_band(np.array([[0, 4, 0, 4], [1, 3, 2, 6], [500, 520, 40, 44]]))
    # Few windows, but over most of the strips.
    assert layer.reads_band(np.array([[r, r + 100, 0, 4] for r in range(0, 900, 125)]))
    # Many small windows: the cost of each read adds up.
    assert layer.reads_band(np.array([[r, r + 1, 0, 1] for r in range(0, 1000, 10)]))
    assert not layer.reads_band(np.zeros((0, 4), dtype=np.int64))
    # On a 48 × 64 raster one read costs more than the whole band.
    assert projected.layer().reads_band(np.array([[0, 4, 0, 4]]))
    assert not projected.layer(band_share=np.inf).reads_band(np.array([[0, 4, 0, 4]]))


def test_integer_raster_values_exact(projected):
    layer = projected.layer(band_share=0.0)
    band = layer.band()
    assert band.dtype == np.float32
    with rasterio.open(projected.path) as src:
        raw = src.read(1, masked=True)
    assert np.array_equal(np.isnan(band), np.ma.getmaskarray(raw))
    assert np.array_equal(band[~np.isnan(band)], raw.compressed().astype(np.float32))


def test_threads_share_one_band(geographic):
    from concurrent.futures import ThreadPoolExecutor

    layer = geographic.layer(band_share=0.0)
    geoms = sites(geographic, "point")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: layer.point_stats(geoms), range(8)))
    for r in results[1:]:
        assert_same(r, results[0])
    layer2 = geographic.layer(band_share=np.inf)
    with ThreadPoolExecutor(4) as pool:
        windowed = list(pool.map(lambda _: layer2.polygon_stats(sites(geographic, "polygon")), range(4)))
    for r in windowed:
        assert_same(r, geographic.layer(band_share=0.0).polygon_stats(sites(geographic, "polygon")))


def test_crossings_a_hair_apart_stay_in_order(tmp_path):
    """A long line passing 2e-9 cells above a cell corner: its two crossings there are
    closer (in t) than the merge's sort key resolves, deep into a call; the sliver between
    them lies in the north-west cell, never the south-east one (set to 100 here)."""
    n = 500
    data = np.full((n, n), 30.0, dtype="float32")
    c = 300  # the corner between columns c-1, c and rows c-1, c (counting rows from the top)
    data[c, c] = 100.0  # south-east of the corner
    path = write_tif(tmp_path / "flat.tif", data, Affine(1.0, 0, 0.0, 0, -1.0, float(n)), "EPSG:4549")
    layer = RasterLayer("flat", SimpleNamespace(path=str(path), band=1, statistic="mean", standard=35))
    X, Y = float(c), float(n - c)  # the corner
    eps = 2e-9
    # South-west to north-east with slope 1, through (X - eps, Y) and (X, Y + eps).
    line = shapely.LineString([(X - eps - 250, Y - 250), (X - eps + 150, Y + 150)])
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0.1, 0.4, 50_000) + rng.integers(0, 200, 50_000), rng.uniform(0.1, 0.4, 50_000) + 5
    dots = shapely.linestrings(np.stack([np.column_stack([x, y]), np.column_stack([x + 0.5, y])], axis=1))
    geoms = np.concatenate([dots, [line]])
    identity = lambda g: g  # noqa: E731
    to_raster = layer._to_raster
    layer._to_raster = None  # sites given in the raster's CRS
    try:
        mean, mx = layer.line_stats(geoms, identity)
    finally:
        layer._to_raster = to_raster
    assert mx[-1] == 30.0 and mean[-1] == pytest.approx(30.0)
