"""Tables of sites read in chunks: CSV (pandas, UTF-8 with or without BOM, GBK
fallback), XLSX (openpyxl, read-only) and Parquet without geometry metadata.

One row is one site, located by ``lon``/``lat`` columns (also ``lng``,
``longitude``/``latitude``, ``经度``/``纬度``; WGS84 unless ``--crs`` says
otherwise), ``x``/``y`` columns (with ``--crs``) or a WKT column named
``geometry`` or ``wkt``. Column names are matched case-insensitively. CSV and
XLSX cells are read as text, so that an industry code ``2614`` stays ``"2614"``;
the coordinate columns become numbers.
"""

import codecs
import datetime as dt
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pyproj import CRS

from zoning.errors import SiteError
from zoning.io.vector import RawChunk

__all__ = ["TableSource", "csv_frames", "xlsx_frames", "parquet_frames", "NA_VALUES"]

#: Cells that mean "not given" in CSV files.
NA_VALUES = ["", "NA", "N/A", "n/a", "NULL", "null", "NaN", "nan", "None"]

_PAIRS = [("lon", "lat"), ("lng", "lat"), ("longitude", "latitude"), ("经度", "纬度"), ("x", "y")]
_WKT = ("geometry", "wkt", "geom")
_WGS84 = CRS.from_user_input("EPSG:4326")


def _encoding(path):
    """'utf-8-sig' when the whole file decodes as UTF-8, else 'gb18030' (a superset of GBK)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _delimiter(path, encoding):
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        header = fh.readline()
    counts = {sep: header.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def csv_frames(path, display, chunk_size):
    """DataFrames of text cells (NaN = empty), ``chunk_size`` rows each, and the header."""
    encoding = _encoding(path)
    sep = _delimiter(path, encoding)
    try:
        reader = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=NA_VALUES, encoding=encoding, sep=sep, chunksize=chunk_size, skipinitialspace=True)
        for frame in reader:
            yield frame
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise SiteError(f"cannot read {display} as CSV: {str(exc).splitlines()[0]}") from None


def _cell_text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def xlsx_frames(path, display, chunk_size, sheet=None):
    """DataFrames of text cells from the first sheet (or ``sheet``); blank rows are skipped."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise SiteError(f"cannot read {display} as XLSX: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    try:
        if sheet is not None:
            if sheet not in book.sheetnames:
                raise SiteError(f"{display} has no sheet {sheet!r}; its sheets are {', '.join(map(repr, book.sheetnames))}")
            ws = book[sheet]
        else:
            ws = book.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = None
        for values in rows:
            if any(_cell_text(v) is not None for v in values):
                header = [_cell_text(v) for v in values]
                break
        others = [n for n in book.sheetnames if n != ws.title]
        hint = f"; pick another sheet with {display}::SHEET (its sheets are {', '.join(map(repr, book.sheetnames))})" if others and sheet is None else ""
        if header is None:
            raise SiteError(f"{display}: sheet {ws.title!r} is empty; expected a header row (e.g. name, industry, lon, lat) and one row per site{hint}")
        while header and header[-1] is None:
            header.pop()
        names = [h.strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
        width = len(names)
        block, seen = [], 0
        for values in rows:
            cells = [_cell_text(v) for v in values[:width]]
            if not any(c is not None for c in cells):
                continue
            cells += [None] * (width - len(cells))
            block.append(cells)
            seen += 1
            if len(block) >= chunk_size:
                yield pd.DataFrame(block, columns=names, dtype=object)
                block = []
        if block:
            yield pd.DataFrame(block, columns=names, dtype=object)
        elif not seen:
            raise SiteError(f"{display}: sheet {ws.title!r} has no rows below its header; expected one row per site{hint}")
    finally:
        book.close()


def parquet_frames(file, chunk_size):
    """DataFrames from a Parquet file without GeoParquet metadata (typed columns)."""
    for batch in file.iter_batches(batch_size=chunk_size):
        yield batch.to_pandas()


def find_coordinates(columns, display, user_crs):
    """Return ``(kind, names)``: ``("xy", (xcol, ycol))`` or ``("wkt", (col,))``; refuse otherwise."""
    lower = {}
    for c in columns:
        lower.setdefault(str(c).strip().lower(), c)
    for xname, yname in _PAIRS:
        if xname in lower and yname in lower:
            if xname == "x" and user_crs is None:
                raise SiteError(f"{display} locates sites by x/y columns; give their CRS with --crs (e.g. --crs EPSG:4549)")
            return "xy", (lower[xname], lower[yname])
    for name in _WKT:
        if name in lower:
            return "wkt", (lower[name],)
    half = [n for pair in _PAIRS for n in pair if n in lower]
    found = f" (it has {', '.join(map(repr, half))} but not its partner)" if half else ""
    shown = ", ".join(map(str, list(columns)[:12])) + (", …" if len(columns) > 12 else "")
    raise SiteError(
        f"{display} has no geometry and no lon/lat columns{found}; expected columns lon and lat "
        f"(or 经度 and 纬度, or x and y with --crs, or a WKT column named geometry); its columns are: {shown or '(none)'}"
    )


class TableSource:
    """Sites from a table: each chunk's rows become points (or WKT geometries) in ``crs``."""

    def __init__(self, frames, display, user_crs, total=None):
        self.display = display
        self.warnings = []
        self.total = total
        self._frames = frames
        try:
            self._first = next(frames)
        except StopIteration:
            raise SiteError(f"{display} has no rows; expected a header row (e.g. name, industry, lon, lat) and one row per site") from None
        self.kind, self.names = find_coordinates(list(self._first.columns), display, user_crs)
        self.crs = None if self.kind == "xy" and str(self.names[0]).strip().lower() == "x" else _WGS84
        if user_crs is not None:
            self.crs = user_crs

    def chunks(self, chunk_size):
        frame = self._first
        self._first = None
        while frame is not None:
            if len(frame):
                yield self._chunk(frame)
            frame = next(self._frames, None)

    def _chunk(self, frame):
        frame = frame.reset_index(drop=True)
        notes = {}
        if self.kind == "xy":
            xcol, ycol = self.names
            x = pd.to_numeric(frame[xcol], errors="coerce").to_numpy(dtype=float)
            y = pd.to_numeric(frame[ycol], errors="coerce").to_numpy(dtype=float)
            ok = np.isfinite(x) & np.isfinite(y)
            if self.crs is not None and self.crs.is_geographic:
                inside = ok & (np.abs(x) <= 180) & (np.abs(y) <= 90)
                for i in np.flatnonzero(ok & ~inside):
                    swapped = abs(y[i]) <= 180 and abs(x[i]) <= 90
                    notes[int(i)] = f"{xcol}={_fmt(x[i])}, {ycol}={_fmt(y[i])} is not a longitude/latitude" + ("; are the columns swapped?" if swapped else "")
                ok = inside
            for i in np.flatnonzero(~np.isfinite(x) | ~np.isfinite(y)):
                notes[int(i)] = f"no coordinates: {xcol}={_raw(frame[xcol].iloc[i])}, {ycol}={_raw(frame[ycol].iloc[i])}; expected two numbers"
            geoms = np.full(len(frame), None, dtype=object)
            geoms[ok] = shapely.points(x[ok], y[ok])
            frame = frame.assign(**{xcol: x, ycol: y})
        else:
            (col,) = self.names
            texts = frame[col].tolist()
            geoms = np.full(len(frame), None, dtype=object)
            for i, text in enumerate(texts):
                if not isinstance(text, str) or not text.strip():
                    notes[i] = f"no geometry: the {col} cell is empty"
                    continue
                try:
                    geoms[i] = shapely.from_wkt(text)
                except shapely.errors.ShapelyError as exc:
                    notes[i] = f"the {col} cell is not WKT: {str(exc).splitlines()[0]}"
            frame = frame.drop(columns=[col])
        table = pa.Table.from_pandas(frame, preserve_index=False)
        return RawChunk(table, geoms, notes)


def _fmt(v):
    return f"{v:g}"


def _raw(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "(empty)"
    return repr(value)
