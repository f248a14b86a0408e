"""Write screened sites chunk by chunk: GeoPackage, GeoParquet, CSV or XLSX.

Every writer writes to a temporary file next to OUT and renames it into place
in :meth:`Writer.commit`; :meth:`Writer.abort` (or an exception inside a
``with`` block) removes it, so a failed run never leaves a half-written OUT
and never destroys an existing one.

- ``.gpkg``: one layer named after OUT, through ``pyogrio.write_arrow`` (appended
  chunk by chunk); list and struct cells become JSON text.
- ``.parquet``: GeoParquet 1.1 (WKB, ``geo`` metadata with the CRS, geometry types
  and bbox), one row group per chunk; ``geopandas.read_parquet`` reads it.
- ``.csv``: UTF-8 with BOM (Excel shows Chinese), the geometry as WKT in CGCS2000
  lon/lat (EPSG:4490) in a ``geometry`` column.
- ``.xlsx``: a ``rows`` sheet like the CSV (``rows 2``… past Excel's 1,048,575 rows)
  and a ``counts`` sheet with the number of rows by verdict.
"""

import contextlib
import csv
import datetime as dt
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import shapely

from zoning.errors import SiteError
from zoning.vocab import VERDICTS

__all__ = ["open_writer", "Writer", "JsonlWriter", "OUTPUT_SUFFIXES", "temporary_path", "write_polygons", "POLYGON_SUFFIXES", "output_kind"]

_WKT_DECIMALS = 9  # lon/lat to 0.1 mm


def temporary_path(path):
    """A hidden file next to ``path`` with the same suffix (drivers go by the suffix)."""
    path = Path(path)
    return path.with_name(f".{path.stem}.part-{os.getpid()}{path.suffix}")


class Writer:
    """Base: a temporary file, renamed to ``path`` by :meth:`commit`.

    ``lonlat`` says whether :meth:`write` wants the geometries in EPSG:4490
    (tables) or in the CRS given to the writer (GIS formats).
    """

    lonlat = False

    def __init__(self, path, crs):
        self.path = Path(path)
        self.tmp = temporary_path(self.path)
        self.crs = crs
        self.rows = 0
        self.counts = Counter()
        self._remove(self.tmp)

    def write(self, table, geoms):
        """Append ``table`` (input columns + results) with ``geoms`` as its geometry."""
        self.counts.update(v if v is not None else "error" for v in table.column("verdict").to_pylist())
        self._write(table, geoms)
        self.rows += table.num_rows

    def _write(self, table, geoms):
        raise NotImplementedError

    def _close(self):
        pass

    def commit(self):
        self._close()
        if not self.tmp.exists():  # no rows at all: still an (empty) OUT
            self._empty()
        os.replace(self.tmp, self.path)

    def _empty(self):
        raise SiteError("no rows to write")

    def abort(self):
        try:
            self._close()
        except Exception:  # noqa: BLE001 - already failing; just clean up
            pass
        self._remove(self.tmp)

    @staticmethod
    def _remove(path):
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
            try:
                p.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False


class _Schema:
    """The first chunk fixes the Arrow schema (null columns become text); later chunks are cast to it."""

    def __init__(self):
        self.schema = None

    def conform(self, table):
        if self.schema is None:
            fields = [pa.field(f.name, pa.string() if pa.types.is_null(f.type) else f.type) for f in table.schema]
            self.schema = pa.schema(fields)
        if table.schema.equals(self.schema):
            return table
        cols = []
        for f in self.schema:
            if f.name not in table.column_names:
                cols.append(pa.nulls(table.num_rows, f.type))
                continue
            col = table.column(f.name)
            try:
                cols.append(col.cast(f.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise SiteError(f"column {f.name!r} changes type from {f.type} to {col.type} part-way through the file; write it as one type") from None
        return pa.Table.from_arrays(cols, schema=self.schema)


def _json_default(value):
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _jsonish(col):
    """List, struct and map columns as JSON text; dictionaries decoded."""
    t = col.type
    if pa.types.is_dictionary(t):
        return col.cast(t.value_type)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_struct(t) or pa.types.is_map(t) or pa.types.is_fixed_size_list(t):
        values = [None if v is None else json.dumps(v, ensure_ascii=False, default=_json_default) for v in col.to_pylist()]
        return pa.array(values, type=pa.string())
    return col


class GpkgWriter(Writer):
    """GeoPackage, one layer named after OUT, chunks appended with ``pyogrio.write_arrow``."""

    def __init__(self, path, crs):
        super().__init__(path, crs)
        self.schema = _Schema()
        self.layer = self.path.stem

    def _write(self, table, geoms):
        import pyogrio

        table = self.schema.conform(pa.Table.from_arrays([_jsonish(c) for c in table.columns], names=table.column_names))
        wkb = pa.array(shapely.to_wkb(geoms, flavor="iso"), type=pa.binary())
        table = table.append_column("geometry", wkb)
        pyogrio.write_arrow(
            table, str(self.tmp), layer=self.layer, driver="GPKG", geometry_name="geometry",
            geometry_type="Unknown", crs=self.crs.to_wkt() if self.crs is not None else None, append=self.tmp.exists(),
        )

    def _empty(self):
        self._write(pa.table({c: pa.array([], type=pa.string()) for c in ("verdict",)}), np.array([], dtype=object))


class ParquetWriter(Writer):
    """GeoParquet 1.1: WKB geometry, one row group per chunk, ``geo`` metadata written at the end."""

    def __init__(self, path, crs):
        super().__init__(path, crs)
        self.schema = _Schema()
        self.writer = None
        self.types = set()
        self.bbox = [np.inf, np.inf, -np.inf, -np.inf]

    def _write(self, table, geoms):
        import pyarrow.parquet as pq

        table = self.schema.conform(table)
        table = table.append_column("geometry", pa.array(shapely.to_wkb(geoms, flavor="iso"), type=pa.binary()))
        present = geoms[~shapely.is_missing(geoms)]
        if len(present):
            self.types.update(shapely.get_type_id(present).tolist())
            b = shapely.total_bounds(present)
            if np.isfinite(b).all():
                self.bbox = [min(self.bbox[0], b[0]), min(self.bbox[1], b[1]), max(self.bbox[2], b[2]), max(self.bbox[3], b[3])]
        if self.writer is None:
            self.writer = pq.ParquetWriter(str(self.tmp), table.schema, compression="zstd")
        self.writer.write_table(table)

    def _geo(self):
        names = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}
        column = {
            "encoding": "WKB",
            "geometry_types": sorted(names[t] for t in self.types if t in names),
            "crs": self.crs.to_json_dict() if self.crs is not None else None,
        }
        if np.isfinite(self.bbox).all():
            column["bbox"] = [float(v) for v in self.bbox]
        return {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column}}

    def _close(self):
        if self.writer is not None:
            self.writer.add_key_value_metadata({"geo": json.dumps(self._geo())})
            self.writer.close()
            self.writer = None

    def _empty(self):
        self._write(pa.table({"verdict": pa.array([], type=pa.string())}), np.array([], dtype=object))
        self._close()


def _cell(value):
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


class _TableWriter(Writer):
    lonlat = True

    def _rows(self, table, geoms):
        wkt = shapely.to_wkt(geoms, rounding_precision=_WKT_DECIMALS, trim=True)
        cols = [c.to_pylist() for c in table.columns]
        return zip(*cols, wkt.tolist()) if cols else ((w,) for w in wkt.tolist())


class CsvWriter(_TableWriter):
    """CSV, UTF-8 with BOM; the geometry as WKT (EPSG:4490) in the last column."""

    def __init__(self, path, crs):
        super().__init__(path, crs)
        self.fh = None

    def _write(self, table, geoms):
        if self.fh is None:
            self.fh = open(self.tmp, "w", encoding="utf-8-sig", newline="")
            self.csv = csv.writer(self.fh)
            self.csv.writerow([*table.column_names, "geometry"])
        for row in self._rows(table, geoms):
            self.csv.writerow(["" if v is None else _text(v) for v in row])

    def _close(self):
        if self.fh is not None:
            self.fh.close()
            self.fh = None

    def _empty(self):
        with open(self.tmp, "w", encoding="utf-8-sig", newline="") as fh:
            fh.write("verdict,geometry\r\n")


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return _cell(value)


class XlsxWriter(_TableWriter):
    """XLSX (openpyxl write-only): ``rows`` sheet(s) and a ``counts`` sheet."""

    MAX_ROWS = 1_048_575  # Excel's limit, less the header
    MAX_CELL = 32_767

    def __init__(self, path, crs):
        super().__init__(path, crs)
        import openpyxl

        self.book = openpyxl.Workbook(write_only=True)
        self.sheet = None
        self.in_sheet = 0
        self.header = None
        self.too_long = 0

    def _new_sheet(self):
        n = len(self.book.worksheets) + 1
        self.sheet = self.book.create_sheet("rows" if n == 1 else f"rows {n}")
        self.sheet.append(self.header)
        self.in_sheet = 0

    def _write(self, table, geoms):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        if self.header is None:
            self.header = [*table.column_names, "geometry"]
            self._new_sheet()
        for row in self._rows(table, geoms):
            if self.in_sheet >= self.MAX_ROWS:
                self._new_sheet()
            cells = []
            for j, v in enumerate(row):
                v = _cell(v)
                if isinstance(v, str):
                    v = ILLEGAL_CHARACTERS_RE.sub("", v)
                    if len(v) > self.MAX_CELL:
                        if j == len(row) - 1:
                            self.too_long += 1
                            v = None
                        else:
                            v = v[: self.MAX_CELL]
                elif isinstance(v, dt.datetime) and v.tzinfo is not None:
                    v = v.isoformat()
                cells.append(v)
            self.sheet.append(cells)
            self.in_sheet += 1

    def _close(self):
        if self.book is None:
            return
        if self.header is None:
            self.header = ["verdict", "geometry"]
            self._new_sheet()
        counts = self.book.create_sheet("counts")
        counts.append(["verdict", "verdict_zh", "count"])
        for verdict, zh in VERDICTS.items():
            counts.append([verdict, zh, self.counts.get(verdict, 0)])
        counts.append(["error", "无法筛查", self.counts.get("error", 0)])
        counts.append(["total", "合计", self.rows])
        self.book.save(str(self.tmp))
        self.book = None


#: OUT suffix → writer class.
OUTPUT_SUFFIXES = {".gpkg": GpkgWriter, ".parquet": ParquetWriter, ".geoparquet": ParquetWriter, ".csv": CsvWriter, ".xlsx": XlsxWriter}


def open_writer(path, crs):
    """The writer for OUT's suffix; refuse an unknown one.

    Examples
    --------
    >>> open_writer("out.shp", None)
    Traceback (most recent call last):
    ...
    zoning.errors.SiteError: cannot write 'out.shp': unknown output type '.shp'; expected OUT.gpkg, OUT.parquet, OUT.csv or OUT.xlsx
    """
    path = Path(path)
    return output_kind(path, OUTPUT_SUFFIXES, "OUT.gpkg, OUT.parquet, OUT.csv or OUT.xlsx")(path, crs)


def output_kind(path, kinds, expected):
    """``kinds[suffix]`` of an output path; refuse an unknown suffix or a missing directory."""
    kind = kinds.get(path.suffix.lower())
    if kind is None:
        shown = repr(path.suffix) if path.suffix else "(no suffix)"
        raise SiteError(f"cannot write {path.name!r}: unknown output type {shown}; expected {expected}")
    if path.parent and not path.parent.exists():
        raise SiteError(f"cannot write {str(path)!r}: the directory {str(path.parent)!r} does not exist")
    return kind


class JsonlWriter(Writer):
    """``--full``: one contract-§3 verdict per line with its ``row``; a row that could not be
    screened gets ``{"row": …, "verdict": null, "error": …}``."""

    def __init__(self, path):
        super().__init__(path, None)
        self.fh = open(self.tmp, "w", encoding="utf-8")

    def write_rows(self, rows, verdicts, errors):
        for row, verdict, error in zip(rows, verdicts, errors):
            line = {"row": int(row), **verdict} if verdict is not None else {"row": int(row), "verdict": None, "error": error}
            self.fh.write(json.dumps(line, ensure_ascii=False))
            self.fh.write("\n")
        self.rows += len(rows)

    def _close(self):
        if self.fh is not None:
            self.fh.close()
            self.fh = None


#: Outputs :func:`write_polygons` knows, by suffix.
POLYGON_SUFFIXES = {".gpkg": "GPKG", ".parquet": "Parquet", ".geoparquet": "Parquet", ".geojson": "GeoJSON", ".json": "GeoJSON"}


def write_polygons(frame, path, *, layer=None):
    """Write a GeoDataFrame of polygons (eligibility maps): GeoPackage, GeoParquet or GeoJSON.

    Written to a temporary file next to ``path`` and renamed into place, so a failure
    never leaves a half-written file and never destroys an existing one.

    Examples
    --------
    >>> write_polygons(None, "out.shp")
    Traceback (most recent call last):
    ...
    zoning.errors.SiteError: cannot write 'out.shp': unknown output type '.shp'; expected OUT.gpkg, OUT.parquet or OUT.geojson
    """
    path = Path(path)
    driver = output_kind(path, POLYGON_SUFFIXES, "OUT.gpkg, OUT.parquet or OUT.geojson")
    tmp = temporary_path(path)
    try:
        if driver == "Parquet":
            frame.to_parquet(tmp, index=False)
        elif driver == "GPKG":
            frame.to_file(tmp, driver="GPKG", layer=layer or path.stem, engine="pyogrio")
        else:
            frame.to_file(tmp, driver="GeoJSON", engine="pyogrio")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
