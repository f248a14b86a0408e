"""Open a file of sites and read it chunk by chunk (bounded memory).

:func:`open_sites` picks the reader by the file's suffix — CSV/XLSX tables,
GeoParquet, anything else GDAL reads — and settles the CRS once: the file's own
(GeoJSON without a ``crs`` member is WGS84), ``crs=`` overriding it. With
``webmap="gcj02"``/``"bd09"`` the lon/lat are converted to WGS84 with
:mod:`zoning.webmap` before screening.
"""

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa

from zoning import webmap as _webmap
from zoning.crs import CGCS2000, crs_label, parse_crs
from zoning.errors import CRSError, SiteError
from zoning.io.columns import RESULT_COLUMNS, project_columns, project_frame
from zoning.io.tables import TableSource, csv_frames, parquet_frames, xlsx_frames
from zoning.io.vector import GeoParquetSource, OgrSource, _NotGeo

__all__ = ["open_sites", "SiteReader", "SiteChunk", "TABLE_SUFFIXES", "PARQUET_SUFFIXES"]

TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".geoparquet", ".pq"}
_EXPECTED = (
    "a vector file (GeoPackage, GeoParquet, Shapefile or zipped Shapefile, GeoJSON, FlatGeobuf, KML) "
    "or a CSV/XLSX table with lon/lat columns"
)


@dataclass
class SiteChunk:
    """One chunk of sites: ``start`` is the 0-based number of its first row in the file.

    ``table``: the input attributes (Arrow, no geometry); ``geoms``: the geometries in
    ``crs``; ``notes``: row (in the chunk) → why it cannot be screened, found while reading.
    """

    start: int
    table: pa.Table
    geoms: np.ndarray
    crs: object
    notes: dict = field(default_factory=dict)
    source_label: str | None = None

    def __len__(self):
        return len(self.geoms)

    @property
    def rows(self):
        return np.arange(self.start, self.start + len(self), dtype=np.int64)

    def screening_frame(self):
        """The project columns and the geometry, as :func:`zoning.screen.screen_many` takes them."""
        frame = project_frame(self.table.select(project_columns(self.table.column_names)).to_pandas())
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(self.geoms, crs=self.crs).values, crs=self.crs)

    def lonlat(self):
        """The geometries as CGCS2000 lon/lat (EPSG:4490)."""
        if self.crs is not None and self.crs.equals(gpd.GeoSeries([], crs=CGCS2000).crs):
            return self.geoms
        return np.asarray(gpd.GeoSeries(self.geoms, crs=self.crs).to_crs(CGCS2000).values, dtype=object)


class SiteReader:
    """An opened file of sites; iterate :meth:`chunks` to read it."""

    def __init__(self, source, display, crs, webmap):
        self.source = source
        self.display = display
        self.crs = crs
        self.webmap = webmap
        self.total = getattr(source, "total", None)
        self.warnings = list(source.warnings)
        self.crs_label = {"gcj02": "GCJ-02", "bd09": "BD-09"}.get(webmap) or crs_label(crs)

    @property
    def out_crs(self):
        """The CRS of the geometries :meth:`chunks` yields (EPSG:4490 after a web-map conversion)."""
        return parse_crs(CGCS2000, "crs") if self.webmap else self.crs

    def chunks(self, chunk_size):
        start = 0
        for raw in self.source.chunks(chunk_size):
            table = raw.table
            replaced = [c for c in table.column_names if c in RESULT_COLUMNS]
            if replaced and start == 0:
                self.warnings.append(f"{self.display} already has columns {', '.join(replaced)}; OUT has this run's results in their place")
            drop = replaced + [c for c in table.column_names if c == "geometry"]
            if drop:
                table = table.drop_columns(drop)
            geoms = raw.geoms
            crs = self.crs
            if self.webmap:
                lonlat = np.asarray(gpd.GeoSeries(geoms, crs=crs).to_crs(CGCS2000).values, dtype=object)
                convert = _webmap.gcj02_to_wgs84 if self.webmap == "gcj02" else _webmap.bd09_to_wgs84
                present = np.array([g is not None for g in lonlat], dtype=bool)
                lonlat[present] = convert(lonlat[present])
                geoms, crs = lonlat, self.out_crs
            yield SiteChunk(start, table, geoms, crs, dict(raw.notes), self.crs_label)
            start += len(raw)


def _split_layer(text):
    path = Path(text)
    if "::" in text and not path.exists():
        base, _, layer = text.rpartition("::")
        return Path(base), layer or None
    return path, None


def open_sites(path, *, crs=None, webmap=None, count=False):
    """Open a file of sites for chunked reading.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoParquet, Shapefile (``.shp`` or zipped ``.zip``), GeoJSON,
        FlatGeobuf, KML/KMZ or any file GDAL reads; a CSV/XLSX table with lon/lat
        columns. ``FILE::LAYER`` picks a layer (GeoPackage) or sheet (XLSX).
    crs : str, optional
        CRS of the coordinates, overriding the file's (needed for x/y tables).
    webmap : {None, "gcj02", "bd09"}
        The lon/lat come from a Chinese web map; convert them to WGS84 first.
    count : bool
        Count the rows up front when that is cheap (for a progress bar).

    Examples
    --------
    >>> from zoning.resources import samples_dir
    >>> reader = open_sites(samples_dir() / "demo_sites.geojson")
    >>> reader.crs.to_string(), sum(len(c) for c in reader.chunks(4))
    ('EPSG:4326', 10)
    """
    path, layer = _split_layer(str(path))
    display = path.name or str(path)
    if webmap not in (None, "gcj02", "bd09"):
        raise SiteError(f"webmap={webmap!r} is not supported; expected None, 'gcj02' or 'bd09'")
    if webmap and crs:
        raise SiteError("--gcj02/--bd09 describe lon/lat from web maps; they cannot be combined with --crs")
    if not path.exists():
        raise SiteError(f"sites file {str(path)!r} does not exist; expected {_EXPECTED}")
    if path.is_dir():
        raise SiteError(f"sites file {str(path)!r} is a directory; expected {_EXPECTED}")
    if path.stat().st_size == 0:
        raise SiteError(f"sites file {display} is empty (0 bytes); expected {_EXPECTED}")
    user_crs = parse_crs(crs, "crs") if crs else None
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise SiteError(f"{display} is an old Excel .xls workbook; save it as .xlsx (or CSV) and try again")
    if suffix in TABLE_SUFFIXES:
        source = _LazyTable(path, display, suffix, layer, user_crs)
    elif suffix in PARQUET_SUFFIXES:
        try:
            source = GeoParquetSource(path, display)
        except _NotGeo:
            source = _LazyTable(path, display, suffix, layer, user_crs)
    else:
        source = OgrSource(path, display, layer, count=count)
    src_crs = user_crs if user_crs is not None else source.crs
    if src_crs is None:
        raise CRSError(f"{display} has no CRS; pass --crs (e.g. --crs EPSG:4490 for lon/lat, EPSG:4549 for GK zone 40)")
    if webmap and not src_crs.is_geographic:
        raise CRSError(f"--{webmap} expects longitude/latitude, but {display} is in the projected CRS {crs_label(src_crs)}; GCJ-02/BD-09 coordinates come from web maps as lon, lat")
    return SiteReader(source, display, src_crs, webmap)


class _LazyTable:
    """A table source whose chunk size is known only when reading starts."""

    def __init__(self, path, display, suffix, sheet, user_crs):
        self.path, self.display, self.suffix, self.sheet, self.user_crs = path, display, suffix, sheet, user_crs
        self.warnings = []
        self.total = None
        if suffix in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            self.total = pq.ParquetFile(path).metadata.num_rows
        self.crs = self._open(1000).crs  # reads the header: refuses a table without coordinates now

    def _frames(self, chunk_size):
        if self.suffix in {".xlsx", ".xlsm"}:
            return xlsx_frames(self.path, self.display, chunk_size, self.sheet)
        if self.suffix in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            return parquet_frames(pq.ParquetFile(self.path), chunk_size)
        return csv_frames(self.path, self.display, chunk_size)

    def _open(self, chunk_size):
        return TableSource(self._frames(chunk_size), self.display, self.user_crs, self.total)

    def chunks(self, chunk_size):
        yield from self._open(chunk_size).chunks(chunk_size)
