"""Write screened sites chunk by chunk: GeoPackage, GeoParquet, CSV, XLSX or Shapefile.

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
- ``.shp``: ESRI Shapefile, UTF-8 with a ``.cpg``; field names fitted to 10 bytes
  (:func:`shapefile_names`, listed in ``OUT.fields.csv``), texts to 254 bytes (:class:`ShpWriter`).
- ``.xlsx``: a ``rows`` sheet like the CSV (``rows 2``… past Excel's 1,048,575 rows), then
  ``counts`` (rows by verdict, with shares), ``clauses`` (rows decided by each clause) and
  ``errors`` (the rows that could not be screened); see :class:`XlsxWriter`.
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

__all__ = ["open_writer", "clause_descriptions", "Writer", "JsonlWriter", "OUTPUT_SUFFIXES", "temporary_path", "write_polygons", "POLYGON_SUFFIXES", "output_kind", "ShpWriter", "shapefile_names", "OUTPUT_EXPECTED", "POLYGON_EXPECTED"]

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


def _width(value):
    """Display width of a cell's text in Excel's units: CJK characters count two."""
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def clause_descriptions(pack):
    """``{clause id: {tier, dimension, effect, applies_in, text, source}}`` of a pack, for the
    ``clauses`` sheet of XLSX output (``applies_in`` as text, units with their names).

    Examples
    --------
    >>> from zoning import load_pack
    >>> d = clause_descriptions(load_pack("tests/data/packs/grid"))["T-PRI-01"]
    >>> d["tier"], d["applies_in"], d["text"]
    ('province', '单元类别 unit_category: priority（优先保护单元）', '优先保护单元内禁止新建、扩建工业项目')
    """
    from zoning import vocab

    names = {}
    if pack.units is not None and "unit_name" in pack.units.columns:
        names = dict(zip(pack.units["unit_code"], pack.units["unit_name"]))
    out = {}
    for c in pack.clauses:
        a = c.applies_in
        kind = a.kind
        if kind == "unit_category":
            where = "单元类别 unit_category: " + ", ".join(f"{v}（{vocab.CATEGORIES.get(v, v)}）" for v in a.unit_category)
        elif kind == "unit_codes":
            where = "单元 unit_codes: " + ", ".join(f"{u}（{names[u]}）" if names.get(u) else u for u in a.unit_codes)
        elif kind == "zone_types":
            where = "要素分区 zone_types: " + ", ".join(f"{z}（{vocab.ZONE_TYPES[z]}）" if z in vocab.ZONE_TYPES else z for z in a.zone_types)
        elif kind == "red_line":
            where = "生态保护红线 red_line"
        elif kind == "near":
            target = a.near.layer or ", ".join(a.near.zone_types or ())
            where = f"周边 near: {target} ≤ {a.near.within_m:g} m"
        elif kind == "raster_exceeds":
            where = f"超标 raster_exceeds: {a.raster_exceeds}"
        else:
            where = "全域 everywhere"
        out[c.id] = {"tier": c.tier, "dimension": c.dimension, "effect": c.effect, "applies_in": where, "text": c.text, "source": c.source}
    return out


def _quota_description(clause_id):
    """A quota row's id (``quota:SCOPE:RESOURCE``) described like a clause."""
    from zoning import vocab

    _, scope, resource = (clause_id.split(":", 2) + ["", ""])[:3]
    zh = vocab.RESOURCES.get(resource, (resource,))[0]
    return {"tier": "unit", "dimension": "resource_efficiency", "effect": "quota", "applies_in": f"配额范围 scope: {scope}",
            "text": f"资源利用上线：{scope} 的{zh}（{resource}）剩余额度 — resource ceiling: remaining {resource} quota of {scope}", "source": None}


class XlsxWriter(_TableWriter):
    """XLSX (openpyxl write-only): ``rows`` sheet(s), then ``counts``, ``clauses`` and ``errors``.

    - ``rows`` (``rows 2``… past Excel's 1,048,575 rows): every input column and the §6
      columns, as the CSV; header row frozen, columns sized to the header and first rows.
    - ``counts``: rows by verdict (``verdict``, ``verdict_zh``, count, share), rows that could
      not be screened, the total.
    - ``clauses``: for every clause (or quota row) that decided some row — listed in
      ``blocking`` — how many rows it decided, by verdict, with its tier, dimension, effect,
      where it applies and its text (when the writer was given ``clauses``, see
      :func:`clause_descriptions`); most rows first.
    - ``errors``: every row that could not be screened: its number (0-based, as ``--full``'s
      ``row``), where it is in the ``rows`` sheet, its name when the input has a ``name``
      column, and the error.

    Headers of the summary sheets are bilingual (Chinese, then the English column name).
    """

    MAX_ROWS = 1_048_575  # Excel's limit, less the header
    MAX_CELL = 32_767
    SAMPLE_ROWS = 200  # rows whose text sizes the columns
    MAX_WIDTH = 60

    def __init__(self, path, crs, *, clauses=None):
        super().__init__(path, crs)
        import openpyxl

        self.book = openpyxl.Workbook(write_only=True)
        self.sheet = None
        self.sheet_name = None
        self.in_sheet = 0
        self.header = None
        self.widths = None
        self.too_long = 0
        self.clauses = clauses or {}
        self.decided = Counter()  # (clause id, verdict) -> rows
        self.errors = []  # (row, sheet, sheet row, name, error)

    def _new_sheet(self):
        from openpyxl.utils import get_column_letter

        n = sum(1 for ws in self.book.worksheets if ws.title.startswith("rows")) + 1
        self.sheet_name = "rows" if n == 1 else f"rows {n}"
        self.sheet = self.book.create_sheet(self.sheet_name)
        self.sheet.freeze_panes = "A2"
        for j, w in enumerate(self.widths or [], 1):
            self.sheet.column_dimensions[get_column_letter(j)].width = w
        self.sheet.append(self._header_cells(self.sheet, self.header))
        self.in_sheet = 0

    @staticmethod
    def _header_cells(sheet, names):
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        cells = []
        for name in names:
            c = WriteOnlyCell(sheet, value=name)
            c.font = Font(bold=True)
            cells.append(c)
        return cells

    def _size(self, rows):
        widths = [_width(h) for h in self.header]
        for row in rows[: self.SAMPLE_ROWS]:
            for j, v in enumerate(row):
                widths[j] = max(widths[j], _width(v) if not isinstance(v, float) else min(_width(v), 12))
        self.widths = [min(max(w + 2, 8), self.MAX_WIDTH) for w in widths]

    def _tally(self, table):
        """Rows decided by each clause (by verdict), and the rows with an error."""
        verdicts = table.column("verdict").to_pylist()
        blocking = table.column("blocking").to_pylist()
        for (ids, verdict), n in Counter(zip(blocking, verdicts)).items():
            if ids and verdict:
                for cid in ids.split(";"):
                    self.decided[(cid, verdict)] += n
        errors = table.column("error").to_pylist()
        names = table.column("name").to_pylist() if "name" in table.column_names else None
        for i, e in enumerate(errors):
            if e is not None:
                row = self.rows + i
                sheet_no, at = divmod(row, self.MAX_ROWS)
                self.errors.append((row, "rows" if sheet_no == 0 else f"rows {sheet_no + 1}", at + 2, None if names is None else names[i], e))

    def _write(self, table, geoms):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        rows = []
        for row in self._rows(table, geoms):
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
            rows.append(cells)
        if self.header is None:
            self.header = [*table.column_names, "geometry"]
            self._size(rows)
            self._new_sheet()
        self._tally(table)
        for cells in rows:
            if self.in_sheet >= self.MAX_ROWS:
                self._new_sheet()
            self.sheet.append(cells)
            self.in_sheet += 1

    def _summary_sheet(self, name, header, widths, rows, formats=None):
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.utils import get_column_letter

        ws = self.book.create_sheet(name)
        ws.freeze_panes = "A2"
        for j, w in enumerate(widths, 1):
            ws.column_dimensions[get_column_letter(j)].width = w
        ws.append(self._header_cells(ws, header))
        for row in rows:
            if formats:
                cells = []
                for j, v in enumerate(row):
                    if j in formats and v is not None:
                        c = WriteOnlyCell(ws, value=v)
                        c.number_format = formats[j]
                        cells.append(c)
                    else:
                        cells.append(v)
                row = cells
            ws.append(row)

    def _close(self):
        if self.book is None:
            return
        from zoning import vocab

        if self.header is None:
            self.header = ["verdict", "geometry"]
            self._size([])
            self._new_sheet()
        total = self.rows
        share = (lambda n: n / total) if total else (lambda n: None)
        by_verdict = [[v, zh, self.counts.get(v, 0), share(self.counts.get(v, 0))] for v, zh in VERDICTS.items()]
        by_verdict.append(["error", "无法筛查", self.counts.get("error", 0), share(self.counts.get("error", 0))])
        by_verdict.append(["total", "合计", total, share(total)])
        self._summary_sheet("counts", ["结论 verdict", "中文 verdict_zh", "行数 count", "占比 share"], [20, 14, 12, 10], by_verdict, {3: "0.0%"})

        deciding = [v for v in VERDICTS if v != "permitted"]
        per = {}
        for (cid, verdict), n in self.decided.items():
            per.setdefault(cid, Counter())[verdict] += n
        clause_rows = []
        for cid, c in sorted(per.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
            d = self.clauses.get(cid) or (_quota_description(cid) if cid.startswith("quota:") else {})
            n = sum(c.values())
            clause_rows.append([
                cid, _zh(vocab.TIERS, d.get("tier")), _zh(vocab.DIMENSIONS, d.get("dimension")),
                _zh({**vocab.EFFECTS, "quota": "配额 quota"}, d.get("effect")), d.get("applies_in"), d.get("text"), d.get("source"),
                n, *[c.get(v, 0) for v in deciding], share(n),
            ])
        self._summary_sheet(
            "clauses",
            ["条款 clause_id", "层级 tier", "维度 dimension", "效力 effect", "适用范围 applies_in", "条款内容 text", "来源 source",
             "决定行数 rows", *[f"{VERDICTS[v]} {v}" for v in deciding], "占比 share"],
            [22, 14, 26, 16, 36, 60, 30, 12, 14, 22, 16, 10], clause_rows, {11: "0.0%"},
        )
        self._summary_sheet(
            "errors", ["行号 row", "工作表 sheet", "表格行 sheet_row", "名称 name", "无法筛查的原因 error"], [10, 12, 14, 24, 80],
            ([r, sh, at, name, e] for r, sh, at, name, e in self.errors),
        )
        self.book.save(str(self.tmp))
        self.book = None


def _zh(table, key):
    """``中文 key`` for a vocabulary key (the key alone when it has no Chinese name)."""
    if key is None:
        return None
    zh = table.get(key)
    return f"{zh} {key}" if zh and zh != key and not zh.endswith(key) else (zh or key)


# ----------------------------------------------------------------------------- Shapefile

#: A dBASE field name holds at most 10 bytes; a text field at most 254.
DBF_NAME_BYTES = 10
DBF_TEXT_BYTES = 254
#: The parts a shapefile OUT may have beside its .shp (stale ones of an earlier OUT are removed).
SHAPEFILE_PARTS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".fix", ".qmd")
_SHP_FAMILY = {"Point": "point", "MultiPoint": "multipoint", "LineString": "line", "MultiLineString": "line",
               "LinearRing": "line", "Polygon": "polygon", "MultiPolygon": "polygon"}
_SHP_TYPE = {"point": "Point", "multipoint": "MultiPoint", "line": "MultiLineString", "polygon": "MultiPolygon"}


def _cut_bytes(text, limit):
    """``text`` cut to at most ``limit`` UTF-8 bytes at a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def shapefile_names(names):
    """Field names for a Shapefile (at most 10 UTF-8 bytes, unique regardless of case), by column.

    The rule, in column order, so the same columns always get the same names:

    - a name that fits is kept, and is never taken by a cut one (dBASE names ignore case: of
      ``name`` and ``Name`` the first is kept);
    - ``emissions.X`` becomes ``emis.X`` (``zoning batch`` reads ``emis.X`` back as ``emissions.X``);
    - any other name is cut to 10 bytes at a character boundary (a Chinese character is 3 bytes);
    - a cut name that is taken gets ``_1``, ``_2``… in place of its last bytes.

    Examples
    --------
    >>> shapefile_names(["name", "emissions.VOCs", "construction", "constructions", "项目名称", "verdict_zh"])
    {'name': 'name', 'emissions.VOCs': 'emis.VOCs', 'construction': 'constructi', 'constructions': 'construc_1', '项目名称': '项目名', 'verdict_zh': 'verdict_zh'}
    """
    names = [str(n) for n in names]
    out, taken = {}, set()
    for n in names:  # names that fit keep them (the first of those equal but for case)
        if len(n.encode("utf-8")) <= DBF_NAME_BYTES and n.lower() not in taken:
            out[n] = n
            taken.add(n.lower())
    for n in names:
        if n in out:
            continue
        base = "emis." + n[len("emissions."):] if n.startswith("emissions.") and len(n) > len("emissions.") else n
        short = _cut_bytes(base, DBF_NAME_BYTES)
        k = 0
        while short.lower() in taken or not short:
            k += 1
            suffix = f"_{k}"
            short = _cut_bytes(base, DBF_NAME_BYTES - len(suffix)) + suffix
        taken.add(short.lower())
        out[n] = short
    return {n: out[n] for n in names}


def _cut_text_column(col, counter, name):
    """A text column with every cell over 254 UTF-8 bytes cut (ending in …); counts the cut cells."""
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return col
    values = col.to_pylist()
    cut = 0
    for i, v in enumerate(values):
        if v is not None and len(v) * 3 > DBF_TEXT_BYTES and len(v.encode("utf-8")) > DBF_TEXT_BYTES:
            values[i] = _cut_bytes(v, DBF_TEXT_BYTES - 3) + "…"
            cut += 1
    if not cut:
        return col
    counter[name] += cut
    return pa.array(values, type=pa.string())


_TYPE_FAMILY = {0: "point", 4: "multipoint", 1: "line", 2: "line", 5: "line", 3: "polygon", 6: "polygon", 7: "geometry collection"}


def _shapefile_family(geoms, path):
    """The shapefile geometry family of ``geoms`` (None when all are empty); refuse mixed kinds."""
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))] if len(geoms) else geoms
    fams = {_TYPE_FAMILY.get(t, "other") for t in np.unique(shapely.get_type_id(present)).tolist()}
    if not fams:
        return None
    if fams == {"point", "multipoint"}:
        return "multipoint"
    if len(fams) > 1 or not fams <= set(_SHP_TYPE):
        raise SiteError(f"cannot write {Path(path).name!r}: a Shapefile holds one kind of geometry, and these rows have "
                        f"{' and '.join(sorted(f + 's' for f in fams))}; write OUT.gpkg (or split the sites by kind)")
    return fams.pop()


def _shapefile_parts(path):
    path = Path(path)
    return [path.with_suffix(s) for s in SHAPEFILE_PARTS]


def _replace_shapefile(tmp, path):
    """Move a written shapefile (every part) over ``path``: stale parts of an old OUT go, the .shp moves last."""
    tmp, path = Path(tmp), Path(path)
    made = {p.suffix for p in _shapefile_parts(tmp) if p.exists()}
    for part in _shapefile_parts(path):
        if part.suffix not in made:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
    for suffix in sorted(made):
        os.replace(tmp.with_suffix(suffix), path.with_suffix(suffix))
    os.replace(tmp, path)


def _remove_shapefile(tmp):
    for part in [Path(tmp), *_shapefile_parts(tmp)]:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()


def _write_fields_sidecar(path, mapping):
    """``OUT.fields.csv``: the full column name of every field the Shapefile had to rename."""
    side = Path(path).with_suffix(".fields.csv")
    tmp = temporary_path(side)
    with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["字段 field", "原列名 column"])
        for full, short in mapping.items():
            if full != short:
                w.writerow([short, full])
    os.replace(tmp, side)
    return side


def _shapefile_notes(path, mapping, cut):
    notes = []
    renamed = {f: s for f, s in mapping.items() if f != s}
    if renamed:
        shown = ", ".join(f"{f} → {s}" for f, s in renamed.items())
        notes.append(f"{Path(path).name}: 字段名超过 Shapefile 的 10 字节上限，已改名 — field names longer than a Shapefile's 10 bytes "
                     f"were renamed: {shown}; the mapping is in {Path(path).with_suffix('.fields.csv').name}")
    for name, n in cut.items():
        notes.append(f"{Path(path).name}: {n} 个 {name} 单元格超过 254 字节，已截断（以 … 结尾） — {n} cell{'s' if n > 1 else ''} of {name} "
                     f"longer than a Shapefile's 254 bytes were cut (ending in …); write OUT.gpkg for the whole text")
    return notes


class ShpWriter(Writer):
    """ESRI Shapefile, UTF-8 with a ``.cpg`` saying so, in the input's CRS, chunks appended.

    Field names are made to fit the format deliberately (:func:`shapefile_names`), and the
    renames are listed in :attr:`warnings` and in ``OUT.fields.csv``; text cells over 254 bytes
    are cut at a character boundary, ending in "…" (counted in :attr:`warnings`). A Shapefile
    holds one kind of geometry (points, lines or polygons): mixed rows are refused. Every part
    (.shp, .shx, .dbf, .prj, .cpg) is written under a temporary name and renamed at the end.
    """

    def __init__(self, path, crs):
        super().__init__(path, crs)
        self.schema = _Schema()
        self.names = None
        self.family = None
        self.cut = Counter()
        self.warnings = []
        _remove_shapefile(self.tmp)

    def _write(self, table, geoms):
        import pyogrio

        table = pa.Table.from_arrays([_jsonish(c) for c in table.columns], names=table.column_names)
        if self.names is None:
            self.names = shapefile_names(table.column_names)
        table = self.schema.conform(table)
        table = pa.Table.from_arrays([_cut_text_column(c, self.cut, n) for c, n in zip(table.columns, table.column_names)],
                                     names=[self.names[n] for n in table.column_names])
        family = _shapefile_family(np.asarray(geoms, dtype=object), self.path)
        if self.family is None:  # the first chunk fixes the file's type (points when it has no geometry at all)
            self.family = family or "point"
        elif family is not None and family != self.family:
            raise SiteError(f"cannot write {self.path.name!r}: a Shapefile holds one kind of geometry; the first rows are "
                            f"{self.family}s, later ones {family}s; write OUT.gpkg (or split the sites by kind)")
        wkb = pa.array(shapely.to_wkb(geoms, flavor="iso"), type=pa.binary())
        table = table.append_column("geometry", wkb)
        try:
            pyogrio.write_arrow(
                table, str(self.tmp), driver="ESRI Shapefile", geometry_name="geometry", encoding="UTF-8",
                geometry_type=_SHP_TYPE[self.family], crs=self.crs.to_wkt() if self.crs is not None else None,
                append=self.tmp.exists(), layer_options={"2GB_LIMIT": "YES"},
            )
        except pyogrio.errors.DataLayerError as e:
            raise SiteError(f"cannot write {self.path.name!r} as a Shapefile: {str(e).splitlines()[0]}; write OUT.gpkg or OUT.parquet") from None

    def _empty(self):
        self._write(pa.table({"verdict": pa.array([], type=pa.string())}), np.array([], dtype=object))

    def commit(self):
        self._close()
        if not self.tmp.exists():
            self._empty()
        self.warnings = _shapefile_notes(self.path, self.names or {}, self.cut)
        if any(f != s for f, s in (self.names or {}).items()):
            _write_fields_sidecar(self.path, self.names)
        else:
            with contextlib.suppress(FileNotFoundError):
                self.path.with_suffix(".fields.csv").unlink()  # an older OUT's: no longer true
        _replace_shapefile(self.tmp, self.path)

    def abort(self):
        _remove_shapefile(self.tmp)


#: What OUT may be, as error messages say it.
OUTPUT_EXPECTED = "OUT.gpkg, OUT.parquet, OUT.csv, OUT.xlsx or OUT.shp"
#: OUT suffix → writer class.
OUTPUT_SUFFIXES = {".gpkg": GpkgWriter, ".parquet": ParquetWriter, ".geoparquet": ParquetWriter, ".csv": CsvWriter, ".xlsx": XlsxWriter, ".shp": ShpWriter}


def open_writer(path, crs, *, clauses=None):
    """The writer for OUT's suffix; refuse an unknown one.

    ``clauses`` (:func:`clause_descriptions` of the pack) lets the XLSX writer describe the
    clauses of its ``clauses`` sheet; the other formats ignore it.

    Examples
    --------
    >>> open_writer("out.kml", None)
    Traceback (most recent call last):
    ...
    zoning.errors.SiteError: cannot write 'out.kml': unknown output type '.kml'; expected OUT.gpkg, OUT.parquet, OUT.csv, OUT.xlsx or OUT.shp
    """
    path = Path(path)
    kind = output_kind(path, OUTPUT_SUFFIXES, OUTPUT_EXPECTED)
    return kind(path, crs, clauses=clauses) if kind is XlsxWriter else kind(path, crs)


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
POLYGON_SUFFIXES = {".gpkg": "GPKG", ".parquet": "Parquet", ".geoparquet": "Parquet", ".geojson": "GeoJSON", ".json": "GeoJSON",
                    ".shp": "ESRI Shapefile"}
#: What :func:`write_polygons` may write, as error messages say it.
POLYGON_EXPECTED = "OUT.gpkg, OUT.parquet, OUT.geojson or OUT.shp"


def write_polygons(frame, path, *, layer=None):
    """Write a GeoDataFrame of polygons (eligibility maps): GeoPackage, GeoParquet, GeoJSON or Shapefile.

    Written to a temporary file next to ``path`` and renamed into place, so a failure
    never leaves a half-written file and never destroys an existing one. A Shapefile is
    UTF-8 with a ``.cpg``, its field names and long texts made to fit as :class:`ShpWriter`
    does.

    Returns
    -------
    list of str
        Warnings for the user (Shapefile: renamed fields, cut texts); empty otherwise.

    Examples
    --------
    >>> write_polygons(None, "out.kml")
    Traceback (most recent call last):
    ...
    zoning.errors.SiteError: cannot write 'out.kml': unknown output type '.kml'; expected OUT.gpkg, OUT.parquet, OUT.geojson or OUT.shp
    """
    import pandas as pd

    path = Path(path)
    driver = output_kind(path, POLYGON_SUFFIXES, POLYGON_EXPECTED)
    tmp = temporary_path(path)
    notes = []
    try:
        if driver == "Parquet":
            frame.to_parquet(tmp, index=False)
        elif driver == "GPKG":
            frame.to_file(tmp, driver="GPKG", layer=layer or path.stem, engine="pyogrio")
        elif driver == "ESRI Shapefile":
            _remove_shapefile(tmp)
            names = shapefile_names([c for c in frame.columns if c != frame.geometry.name])
            cut = Counter()
            out = frame.rename(columns=names)
            for full, short in names.items():
                series = frame[full]
                if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
                    values = [None if v is None or v != v else v for v in series.tolist()]  # NaN/NA: null
                    if all(v is None or isinstance(v, str) for v in values):
                        out[short] = _cut_text_column(pa.array(values, type=pa.string()), cut, full).to_pylist()
            _shapefile_family(np.asarray(frame.geometry.values, dtype=object), path)
            out.to_file(tmp, driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8")
            notes = _shapefile_notes(path, names, cut)
            if any(f != s for f, s in names.items()):
                _write_fields_sidecar(path, names)
            _replace_shapefile(tmp, path)
            return notes
        else:
            frame.to_file(tmp, driver="GeoJSON", engine="pyogrio")
        os.replace(tmp, path)
    except BaseException:
        if driver == "ESRI Shapefile":
            _remove_shapefile(tmp)
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    return notes
