"""Guard rails for uploaded site files, checked before any GIS driver sees the bytes.

- the file type must be one the service reads (415 otherwise);
- zip and KMZ archives: member count, declared and actual uncompressed sizes, the
  compression ratio and every member's path (no absolute paths, ``..``, drive letters
  or symlinks) are checked *before* anything is extracted or handed to GDAL;
- KML (also inside KMZ) is parsed with :mod:`defusedxml` first, refusing DTDs, entity
  declarations (billion laughs) and external references;
- GeoJSON is parsed within limits (:func:`zoning.service.bodies.parse_json`) and its coordinates
  checked strictly and counted (:func:`zoning.service.bodies.check_geojson`);
- GeoPackages are opened with SQLite first: views, triggers (other than the standard R-tree
  ones), virtual tables other than R-trees and generated columns are refused, since reading
  a layer would run their SQL (a 98 KB view over a recursive CTE cost 26 s of CPU); the read
  itself runs under the request's time budget (:mod:`zoning.service.workers`);
- XLSX boundary-point tables are zips too: checked as above before openpyxl reads them
  (openpyxl parses their XML with defusedxml when it is installed, as here); DXF drawings and
  CSV tables are text read by GDAL or the table reader;
- the number of features is counted and limited;
- the vertex limit is applied to the site read (:func:`check_vertices`).

Reading itself goes through :func:`zoning.site.read_site_bytes`, which writes the bytes
into a private temporary directory and removes it whatever happens.
"""

from __future__ import annotations

import io
import re
import sqlite3
import stat
import zipfile
from pathlib import PurePosixPath

import shapely

from zoning.service.bodies import NotJSON, check_geojson, parse_json
from zoning.service.errors import LimitExceeded, UnsafeUpload, UnsupportedUpload

__all__ = ["ACCEPTED_SUFFIXES", "check_upload", "check_vertices", "check_geopackage", "count_vertices_geojson"]

#: Upload suffixes the service accepts (contract §5 plus 界址点 TXT and FlatGeobuf).
ACCEPTED_SUFFIXES = {
    ".zip": "zipped Shapefile",
    ".kml": "KML",
    ".kmz": "KMZ",
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".txt": "界址点 TXT",
    ".fgb": "FlatGeobuf",
    ".dxf": "DXF drawing (give crs=; name.dxf::LAYER picks a CAD layer)",
    ".csv": "boundary-point table (CSV)",
    ".xlsx": "boundary-point table (XLSX)",
}

_MIN_RATIO_CHECK = 1024 * 1024  # members smaller than this may compress as well as they like


def suffix_of(filename):
    name = str(filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = name.split("::", 1)[0]
    dot = base.rfind(".")
    return base[dot:].lower() if dot > 0 else ""


def check_upload(data, filename, limits):
    """Refuse an unsafe or oversized upload; return the number of features found (or None).

    Parameters
    ----------
    data : bytes
    filename : str
    limits : zoning.service.config.Limits

    Raises
    ------
    UnsupportedUpload, UnsafeUpload, LimitExceeded
    """
    suffix = suffix_of(filename)
    if suffix not in ACCEPTED_SUFFIXES:
        kinds = ", ".join(f"{k} ({v})" for k, v in ACCEPTED_SUFFIXES.items())
        raise UnsupportedUpload(f"cannot read an uploaded file named {filename!r}; expected one of {kinds}")
    if not data:
        raise UnsafeUpload(f"the uploaded file {filename!r} is empty", code="empty_upload")
    features = None
    if suffix == ".xlsx":
        inspect_zip(data, filename, limits)  # a workbook is a zip of XML: bombs are refused before openpyxl reads it
    elif suffix in {".zip", ".kmz"}:
        members = inspect_zip(data, filename, limits)
        if suffix == ".kmz":
            features = 0
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in members:
                    if info.filename.lower().endswith(".kml"):
                        features += check_kml(zf.read(info), f"{filename}:{info.filename}")
        else:
            features = _ogr_feature_count(data)
    elif suffix == ".kml":
        features = check_kml(data, filename)
    elif suffix in {".geojson", ".json"}:
        try:
            obj = parse_json(data, limits, what=f"the uploaded file {filename!r}")
        except NotJSON:
            obj = None  # read_site says what is wrong, with the position
        if obj is not None:
            check_geojson(obj, limits)
            features = _geojson_feature_count(obj)
    elif suffix == ".gpkg":
        check_geopackage(data, filename)
        features = _ogr_feature_count(data)
    elif suffix == ".txt":
        features = sum(1 for line in data.splitlines() if line.rstrip().endswith(b"@"))
    elif suffix == ".csv":
        pass  # one boundary point per row: the vertex limit applies once the parcels are built
    else:
        features = _ogr_feature_count(data)
    if features is not None and features > limits.max_features:
        raise LimitExceeded(f"the upload has {features} features; the limit is {limits.max_features}", code="too_many_features")
    return features


def inspect_zip(data, filename, limits):
    """Check a zip archive without extracting it to disk; return its file members.

    Declared sizes are checked first (count, total, ratio, paths), then every member is
    decompressed in memory in bounded chunks to make sure it is no larger than declared.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise UnsafeUpload(f"{filename!r} is not a valid zip archive ({e})", code="bad_archive") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_zip_members:
            raise UnsafeUpload(f"{filename!r} has {len(infos)} members; the limit is {limits.max_zip_members}", code="zip_bomb")
        files = []
        for info in infos:
            _check_member_path(info, filename)
            if not info.is_dir():
                files.append(info)
        total = sum(info.file_size for info in files)
        if total > limits.max_unzipped_bytes:
            raise UnsafeUpload(
                f"{filename!r} would unpack to more than {limits.max_unzipped_bytes} bytes ({total}); "
                "refused as a possible zip bomb",
                code="zip_bomb",
            )
        for info in files:
            if info.file_size > _MIN_RATIO_CHECK and info.file_size > limits.max_zip_ratio * max(info.compress_size, 1):
                ratio = info.file_size / max(info.compress_size, 1)
                raise UnsafeUpload(
                    f"{filename!r}: member {info.filename!r} compresses {ratio:.0f}:1 (limit {limits.max_zip_ratio}:1); "
                    "refused as a possible zip bomb",
                    code="zip_bomb",
                )
        if total > _MIN_RATIO_CHECK and total > limits.max_zip_ratio * max(len(data), 1):
            raise UnsafeUpload(
                f"{filename!r} unpacks to {total} bytes from {len(data)} ({total / len(data):.0f}:1, limit "
                f"{limits.max_zip_ratio}:1); refused as a possible zip bomb",
                code="zip_bomb",
            )
        for info in files:  # the declared sizes may lie: decompress in bounded chunks
            seen = 0
            try:
                with zf.open(info) as fh:
                    while chunk := fh.read(1 << 16):
                        seen += len(chunk)
                        if seen > info.file_size:
                            raise UnsafeUpload(
                                f"{filename!r}: member {info.filename!r} unpacks to more than its declared size; refused",
                                code="zip_bomb",
                            )
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError) as e:
                raise UnsafeUpload(f"{filename!r}: member {info.filename!r} cannot be read ({e})", code="bad_archive") from None
        return files


def _check_member_path(info, filename):
    name = info.filename
    p = PurePosixPath(name.replace("\\", "/"))
    bad = (
        name.startswith(("/", "\\"))
        or (len(name) > 1 and name[1] == ":")
        or ".." in p.parts
        or "\x00" in name
    )
    if bad:
        raise UnsafeUpload(f"{filename!r}: member path {name!r} escapes the archive; refused", code="path_traversal")
    mode = info.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        raise UnsafeUpload(f"{filename!r}: member {name!r} is a symbolic link; refused", code="path_traversal")


def check_kml(data, filename):
    """Parse KML with defusedxml (no DTD, entities or external references); return the placemark count."""
    import defusedxml
    import defusedxml.ElementTree as DET

    try:
        root = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as e:
        raise UnsafeUpload(
            f"{filename!r} declares a DTD, XML entities or external references ({type(e).__name__}); "
            "KML needs none of them — refused",
            code="unsafe_xml",
        ) from None
    except DET.ParseError as e:
        raise UnsafeUpload(f"{filename!r} is not well-formed XML ({e})", code="bad_xml", status=422) from None
    return sum(1 for el in root.iter() if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] == "Placemark")


def _geojson_feature_count(obj):
    if isinstance(obj, dict) and obj.get("type") == "FeatureCollection" and isinstance(obj.get("features"), list):
        return len(obj["features"])
    return 1


# GDAL's GeoPackage driver creates these triggers itself (spatial index upkeep).
_STANDARD_TRIGGER = re.compile(r"^(rtree_.+_(insert|update\d*|delete)|gpkg_.+|trigger_(insert|update|delete)_feature_count_.+)$", re.IGNORECASE)


def check_geopackage(data, filename):
    """Refuse a GeoPackage whose reading would run SQL of the uploader's.

    Opened from memory with SQLite (nothing written to disk): views, non-standard
    triggers, virtual tables other than R-trees and generated columns are refused.

    >>> check_geopackage(b"not sqlite", "x.gpkg") is None   # not a database: the reader says so
    True
    """
    if not data.startswith(b"SQLite format 3\x00"):
        return None
    con = sqlite3.connect(":memory:")
    try:
        try:
            con.deserialize(bytes(data))
            rows = con.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        except sqlite3.DatabaseError:
            return None  # a damaged file: the reader gives the error
        bad = []
        for kind, name, sql in rows:
            sql = (sql or "").upper()
            if kind == "view":
                bad.append(f"view {name!r}")
            elif kind == "trigger" and not _STANDARD_TRIGGER.match(name or ""):
                bad.append(f"trigger {name!r}")
            elif kind == "table" and sql.startswith("CREATE VIRTUAL TABLE") and "USING RTREE" not in sql.replace('"', ""):
                bad.append(f"virtual table {name!r}")
            elif kind == "table" and not sql.startswith("CREATE VIRTUAL"):
                quoted = '"' + str(name).replace('"', '""') + '"'
                try:
                    if any(col[6] in (2, 3) for col in con.execute(f"PRAGMA table_xinfo({quoted})")):
                        bad.append(f"generated columns in {name!r}")
                except sqlite3.DatabaseError:
                    pass
        if bad:
            raise UnsafeUpload(
                f"{filename!r} holds SQL that would run while it is read ({', '.join(bad[:5])}); "
                "upload a plain GeoPackage of feature tables (e.g. ogr2ogr -f GPKG out.gpkg in.gpkg)",
                code="unsafe_geopackage",
            )
    finally:
        con.close()
    return None


def count_vertices_geojson(obj):
    """Count coordinate pairs in any GeoJSON object (without building geometries); lenient.

    The service checks bodies with :func:`zoning.service.bodies.check_geojson`, which is strict.

    >>> count_vertices_geojson({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]})
    4
    """
    n = 0
    stack = [obj]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            if "coordinates" in cur:
                stack.append(("coords", cur["coordinates"]))
            for key in ("geometry", "geometries", "features"):
                if key in cur:
                    stack.append(cur[key])
        elif isinstance(cur, tuple) and cur and cur[0] == "coords":
            c = cur[1]
            if isinstance(c, list):
                if c and all(isinstance(v, (int, float)) for v in c):
                    n += 1
                else:
                    stack.extend(("coords", v) for v in c)
        elif isinstance(cur, list):
            stack.extend(cur)
    return n


def _ogr_feature_count(data):
    import warnings

    try:
        import pyogrio

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = pyogrio.read_info(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - the reader proper reports what is wrong
        return None
    n = info.get("features")
    return int(n) if n is not None and n >= 0 else None


def check_vertices(site, limits):
    """Refuse a site with more vertices than the limit."""
    n = int(shapely.get_num_coordinates(site.geometry))
    if n > limits.max_vertices:
        raise LimitExceeded(f"the site has {n} vertices; the limit is {limits.max_vertices}", code="too_many_vertices")
