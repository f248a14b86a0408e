"""Vector sources read in chunks: any file GDAL reads (through pyogrio's Arrow stream)
and GeoParquet (through pyarrow), each chunk an Arrow table of the attributes plus
an array of shapely geometries.
"""

import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pyogrio
import shapely
from pyproj import CRS

from zoning.errors import SiteError

__all__ = ["RawChunk", "OgrSource", "GeoParquetSource", "plain_table"]


class RawChunk:
    """Attributes (Arrow, no geometry), geometries (shapely, source CRS) and row problems."""

    __slots__ = ("table", "geoms", "notes")

    def __init__(self, table, geoms, notes=None):
        self.table = table
        self.geoms = geoms
        self.notes = notes or {}

    def __len__(self):
        return len(self.geoms)


def plain_table(table):
    """``table`` with extension types (geoarrow, JSON) replaced by their storage."""
    cols, fields = [], []
    for field, col in zip(table.schema, table.columns):
        if isinstance(field.type, pa.ExtensionType):
            col = pa.chunked_array([c.storage for c in col.chunks], type=field.type.storage_type)
            field = pa.field(field.name, field.type.storage_type, field.nullable)
        cols.append(col)
        fields.append(pa.field(field.name, field.type, field.nullable))
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


def _wkb_geoms(col):
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if isinstance(col.type, pa.ExtensionType):
        col = col.storage
    values = col.to_numpy(zero_copy_only=False)
    return shapely.from_wkb(values, on_invalid="ignore")


def _gdal_message(exc, path, display):
    text = str(exc).strip().replace(str(path), display).split("; It might help")[0].rstrip(".")
    return SiteError(f"cannot read {display}: {text}")


class OgrSource:
    """A layer of any file GDAL reads, streamed with ``pyogrio.open_arrow``.

    KML/KMZ: every layer (folder) is read, one after the other.
    """

    def __init__(self, path, display, layer=None, *, count=False):
        self.display = display
        self.warnings = []
        gdal_path = str(path)
        suffix = Path(path).suffix.lower()
        if suffix == ".zip":
            gdal_path = self._zip_member(Path(path), layer)
            layer = None
        try:
            listed = pyogrio.list_layers(gdal_path)
        except Exception as exc:  # GDAL errors: one line, never a traceback
            raise _gdal_message(exc, gdal_path, display) from None
        names = [str(n) for n, gtype in listed if gtype is not None]
        if not names:
            raise SiteError(f"{display} has no layer with geometries; expected a vector file with one site per feature, or a table with lon/lat columns")
        if layer is not None:
            if layer not in names:
                raise SiteError(f"{display} has no layer {layer!r}; its layers are {', '.join(map(repr, names))}")
            self.layers = [layer]
        elif suffix in {".kml", ".kmz"}:
            self.layers = names
        else:
            self.layers = names[:1]
            if len(names) > 1:
                self.warnings.append(f"{display} has {len(names)} layers ({', '.join(names)}); reading the first, {names[0]!r} (pick another with {display}::LAYER)")
        self.path = gdal_path
        try:
            info = pyogrio.read_info(gdal_path, layer=self.layers[0])
        except Exception as exc:
            raise _gdal_message(exc, gdal_path, display) from None
        self.crs = CRS.from_user_input(info["crs"]) if info.get("crs") else None
        self.total = None
        if count:
            try:
                self.total = sum(int(pyogrio.read_info(gdal_path, layer=n)["features"]) for n in self.layers)
            except Exception:
                self.total = None
            if self.total is not None and self.total < 0:
                self.total = None
        if len(self.layers) > 1:
            self.warnings.append(f"{display}: the features of its {len(self.layers)} layers are read one after the other")

    @staticmethod
    def _zip_member(path, member):
        try:
            with zipfile.ZipFile(path) as zf:
                names = [m for m in zf.namelist() if not m.startswith("__MACOSX/") and not Path(m).name.startswith("._")]
        except (zipfile.BadZipFile, OSError) as exc:
            raise SiteError(f"cannot read {path.name}: not a valid zip archive ({exc})") from None
        shps = sorted(m for m in names if m.lower().endswith(".shp"))
        if member is not None:
            shps = [m for m in shps if member in (m, Path(m).stem, Path(m).name)]
        if not shps:
            raise SiteError(f"{path.name} contains no shapefile{'' if member is None else ' ' + repr(member)} (.shp); expected a zipped Shapefile (.shp with .shx, .dbf and .prj)")
        return f"/vsizip/{path.resolve()}/{shps[0]}"

    def chunks(self, chunk_size):
        if len(self.layers) > 1:
            yield from self._joined(chunk_size)
            return
        yield from self._stream(self.layers[0], chunk_size)

    def _stream(self, layer, chunk_size):
        try:
            with pyogrio.open_arrow(self.path, layer=layer, batch_size=chunk_size, use_pyarrow=True) as (meta, reader):
                geom_name = meta.get("geometry_name") or "wkb_geometry"
                for batch in reader:
                    table = pa.Table.from_batches([batch])
                    yield self._split(table, geom_name)
        except SiteError:
            raise
        except Exception as exc:
            raise _gdal_message(exc, self.path, self.display) from None

    def _joined(self, chunk_size):
        """Layers with different fields (KML folders): read all, join the schemas, then slice."""
        tables = []
        for layer in self.layers:
            try:
                meta, table = pyogrio.read_arrow(self.path, layer=layer)
            except Exception as exc:
                raise _gdal_message(exc, self.path, self.display) from None
            geom_name = meta.get("geometry_name") or "wkb_geometry"
            tables.append(plain_table(table).rename_columns(["__geometry__" if n == geom_name else n for n in table.column_names]))
        table = pa.concat_tables(tables, promote_options="permissive")
        for start in range(0, max(table.num_rows, 1), chunk_size):
            part = table.slice(start, chunk_size)
            if part.num_rows:
                yield self._split(part, "__geometry__")

    @staticmethod
    def _split(table, geom_name):
        geoms = _wkb_geoms(table.column(geom_name))
        return RawChunk(plain_table(table.drop_columns([geom_name])), geoms)


class GeoParquetSource:
    """A GeoParquet file, read row group by row group (``ParquetFile.iter_batches``).

    The CRS comes from the ``geo`` metadata of the primary geometry column: absent
    means OGC:CRS84 (WGS84 lon/lat, as the GeoParquet spec says), null means unknown.
    """

    def __init__(self, path, display):
        import pyarrow.parquet as pq

        self.display = display
        self.warnings = []
        try:
            self.file = pq.ParquetFile(path)
        except Exception as exc:
            raise SiteError(f"cannot read {display}: {str(exc).splitlines()[0]}; expected a GeoParquet file") from None
        meta = self.file.schema_arrow.metadata or {}
        geo = meta.get(b"geo")
        if geo is None:
            raise _NotGeo()
        try:
            geo = json.loads(geo)
            self.geometry = geo["primary_column"]
            column = geo["columns"][self.geometry]
        except (ValueError, KeyError, TypeError):
            raise SiteError(f"{display} has unreadable GeoParquet 'geo' metadata; expected a primary_column and its columns entry") from None
        encoding = str(column.get("encoding", "WKB"))
        if encoding.upper() != "WKB":
            raise SiteError(f"{display}: GeoParquet geometry encoding {encoding!r} is not supported; expected WKB (what geopandas.to_parquet writes)")
        if "crs" not in column:
            self.crs = CRS.from_user_input("OGC:CRS84")
        elif column["crs"] is None:
            self.crs = None
        else:
            try:
                crs = column["crs"]
                self.crs = CRS.from_json_dict(crs) if isinstance(crs, dict) else CRS.from_user_input(crs)
            except Exception:
                raise SiteError(f"{display}: the CRS in its GeoParquet metadata is not one pyproj knows") from None
        self.total = self.file.metadata.num_rows

    def chunks(self, chunk_size):
        try:
            for batch in self.file.iter_batches(batch_size=chunk_size):
                table = pa.Table.from_batches([batch])
                geoms = _wkb_geoms(table.column(self.geometry))
                yield RawChunk(plain_table(table.drop_columns([self.geometry])), geoms)
        except Exception as exc:
            raise SiteError(f"cannot read {self.display}: {str(exc).splitlines()[0]}") from None


class _NotGeo(Exception):
    """A Parquet file without ``geo`` metadata: read it as a table."""
