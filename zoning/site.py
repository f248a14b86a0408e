"""Read a project site, repair or refuse it, and reproject it to CGCS2000 lon/lat.

:func:`read_site` takes whatever a reviewer, a planner or an enterprise has —
a GeoJSON, Shapefile (plain or zipped), GeoPackage, KML/KMZ, DXF or 界址点
(survey boundary-point) TXT file, GeoJSON on stdin, a ``"lon,lat"`` string, a
shapely geometry, a GeoJSON mapping or a GeoDataFrame — and returns one
:class:`Site`: a single valid, non-empty, 2-D geometry of one kind (points,
lines or polygons) in longitude/latitude on CGCS2000 (EPSG:4490).

Rules (see the contract, §3b):

- GeoJSON without a ``crs`` member is WGS84 (RFC 7946); an old-style ``crs``
  member is honoured; other files carry their CRS; ``crs=`` overrides. A
  file without a CRS (shapefile without ``.prj``, DXF) needs ``crs=``.
- ``webmap="gcj02"`` / ``"bd09"``: the lon/lat are web-map coordinates
  (AMap/Tencent, Baidu) and are converted to WGS84 (:mod:`zoning.webmap`).
- Several features are one multi-part site (polygons are unioned so that
  overlapping parcels count once); mixing kinds is refused.
- Bad input is refused with a :class:`~zoning.errors.SiteError` (or
  :class:`~zoning.errors.CRSError`) whose one-line message says what was
  received and what was expected; soft problems become ``Site.warnings``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import shapely.affinity
import shapely.geometry
from pyproj import CRS, Transformer

from zoning import vocab
from zoning import webmap as _webmap
from zoning.crs import PREFIXED_EASTING_MIN as _PREFIXED
from zoning.crs import CGCS2000, gauss_kruger_epsg, gk_prefixed_epsg
from zoning.crs import crs_label as _crs_label
from zoning.crs import parse_crs as _parse_crs
from zoning.errors import CRSError, SiteError

__all__ = ["Site", "read_site", "read_site_bytes", "gauss_kruger_epsg", "SITE_SUFFIXES"]

#: File name suffixes :func:`read_site` reads, with the format each stands for.
SITE_SUFFIXES = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".shp": "Shapefile",
    ".zip": "zipped Shapefile",
    ".gpkg": "GeoPackage",
    ".kml": "KML",
    ".kmz": "KMZ",
    ".fgb": "FlatGeobuf",
    ".dxf": "DXF",
    ".txt": "界址点 TXT",
    ".csv": "boundary-point table (CSV)",
    ".xlsx": "boundary-point table (XLSX)",
}

_EXPECTED_SOURCES = (
    "a GeoJSON, Shapefile (.shp or zipped .zip), GeoPackage, KML/KMZ, FlatGeobuf, DXF, "
    "界址点 .txt file or boundary-point table (.csv/.xlsx), '-' for GeoJSON on stdin, or 'lon,lat'"
)

_KINDS = vocab.GEOMETRY_KINDS

_GEOJSON_GEOMETRY_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}

_CRS_4490 = CRS.from_user_input(CGCS2000)

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_LONLAT_RE = re.compile(rf"^\s*({_NUMBER})\s*(?:[,，]\s*|\s+)({_NUMBER})\s*$")

# Attribute names that are GIS bookkeeping, not project description.
_BOOKKEEPING_FIELDS = {"fid", "id", "objectid", "shape_leng", "shape_length", "shape_area"}
# Fields the LIBKML/KML drivers add to every placemark.
_KML_FIELDS = {
    "name",
    "description",
    "timestamp",
    "begin",
    "end",
    "altitudemode",
    "tessellate",
    "extrude",
    "visibility",
    "draworder",
    "icon",
    "snippet",
}


@dataclass(frozen=True, repr=False)
class Site:
    """A project site: one valid, non-empty 2-D geometry in CGCS2000 lon/lat.

    Attributes
    ----------
    geometry : shapely.Geometry
        Longitude/latitude on CGCS2000 (EPSG:4490, equal to WGS84 at this
        scale); 2-D, valid, non-empty, and of one kind: Point/MultiPoint,
        LineString/MultiLineString or Polygon/MultiPolygon.
    project : dict or None
        The properties of a single GeoJSON Feature (or the attributes of the
        single feature of a file), else None.
    source : str
        A short description of where the site came from, e.g.
        ``"site.geojson (GeoJSON, 3 features)"``.
    source_crs : str
        The CRS the coordinates were given in, e.g. ``"EPSG:4326"``,
        ``"EPSG:4528"``; ``"GCJ-02"`` or ``"BD-09"`` when converted from web-map
        coordinates.
    warnings : tuple of str
        Soft problems met on the way (features merged, Z dropped, repaired).
    stated_areas : tuple of dict
        For boundary-point sources (界址点 TXT, point lists, tables): one entry per
        polygon parcel that states its 面积, comparing it with the area its rings
        enclose (see :func:`zoning.jzd.read_boundary_points`); empty otherwise.

    Examples
    --------
    >>> site = read_site("120.1,30.8")
    >>> site
    Site(kind='point', geometry='POINT (120.1 30.8)', source='lon,lat', source_crs='EPSG:4490')
    >>> site.kind
    'point'
    """

    geometry: shapely.Geometry
    project: dict | None
    source: str
    source_crs: str
    warnings: tuple[str, ...] = ()
    stated_areas: tuple = ()

    @property
    def kind(self):
        """``"point"``, ``"line"`` or ``"polygon"``."""
        return _KINDS[self.geometry.geom_type]

    def __repr__(self):
        wkt = shapely.to_wkt(self.geometry, rounding_precision=7, trim=True)
        if len(wkt) > 60:
            wkt = wkt[:57] + "..."
        text = (
            f"Site(kind={self.kind!r}, geometry={wkt!r}, source={self.source!r}, "
            f"source_crs={self.source_crs!r}"
        )
        if self.warnings:
            text += f", warnings={self.warnings!r}"
        return text + ")"


@dataclass
class _Raw:
    """What a reader found, before checks, reprojection and merging."""

    geoms: list  # one shapely geometry (or None) per feature
    crs: CRS | None  # the CRS the source declares (None: none)
    what: str  # the name used in messages, e.g. "site.geojson"
    source: str  # for Site.source
    crs_note: str = ""  # why the CRS is what it is, for messages
    crs_declared: bool = False  # the source states its CRS (not a default)
    project: dict | None = None
    warnings: list | None = None
    stated_areas: list | None = None


# --------------------------------------------------------------------------- API


def read_site(source, *, crs=None, webmap=None, repair=False, region=None, encoding=None):
    """Read a project site and return it as CGCS2000 longitude/latitude.

    Parameters
    ----------
    source : str, pathlib.Path, bytes, mapping, shapely.Geometry, GeoDataFrame or GeoSeries
        - a path to a GeoJSON (``.geojson``/``.json``), Shapefile (``.shp``),
          zipped Shapefile (``.zip``), GeoPackage (``.gpkg``), KML, KMZ,
          FlatGeobuf (``.fgb``), DXF or 界址点 boundary-point ``.txt`` file;
          ``"file.gpkg::layer"`` picks a layer (or a ``.shp`` in a zip);
        - ``"-"``: GeoJSON text on standard input;
        - ``"lon,lat"`` (``"120.1,30.8"``, ``"120.1 30.8"``) or a ``(lon, lat)`` pair;
        - GeoJSON text (str or bytes) or a GeoJSON mapping: a geometry, a
          Feature or a FeatureCollection, optionally with an old-style
          ``crs`` member;
        - a shapely geometry (lon/lat on EPSG:4490 unless ``crs`` says otherwise);
        - a GeoDataFrame or GeoSeries (its CRS is used; ``crs`` overrides).
    crs : str, int or pyproj.CRS, optional
        The CRS of the coordinates, overriding what the source says; any
        input pyproj understands, e.g. ``"EPSG:4549"``.
    webmap : {None, "gcj02", "bd09"}, optional
        The lon/lat are web-map coordinates (AMap/Tencent GCJ-02 or Baidu
        BD-09) and are converted to WGS84.
    repair : bool, default False
        Repair an invalid geometry with ``shapely.make_valid`` (keeping only
        parts of the site's kind, with a warning) instead of refusing it.
    region : tuple of float, optional
        ``(west, south, east, north)`` in degrees where the site is expected
        (e.g. a pack's extent). Only used to suggest the CRS of projected
        coordinates that have none (a bare point list): the 3° zones that put
        them inside it.
    encoding : str, optional
        The encoding of a Shapefile's attributes (e.g. ``"GBK"``), overriding
        its ``.cpg`` and the detection done without one.

    Returns
    -------
    Site

    Raises
    ------
    SiteError
        The source cannot be read, or its geometry is empty, invalid, of
        mixed kinds or has impossible coordinates.
    CRSError
        The CRS is missing, unknown, or does not fit the coordinates.

    Notes
    -----
    ``Site.project`` is the ``properties`` of a single GeoJSON Feature (nested
    values kept); for other single-feature files, the feature's attributes
    with empty values and GIS bookkeeping fields (FID, OBJECTID, Shape_Area…)
    left out — for KML only the placemark's name, as ``{"name": ...}``; for a
    界址点 file ``{"name": <地块名称 of the first named parcel>}``; for DXF,
    several features, or no attributes, None. Callers validate it.

    界址点 TXT files (the land-survey boundary-point exchange format) are
    decoded as UTF-8 (with or without BOM), else GB18030; any line ends. Each
    parcel header (``点数,面积,地块编号,地块名称,图形属性,图幅号,地块用途,地类编码,@``)
    starts a parcel; only its coordinates decide (placeholder or non-numeric
    fields are warnings). Its rows ``点号,圈号,X,Y`` give X = northing, Y =
    easting (columns found swapped are read swapped, with a warning). The rings
    (each 圈号, and each further closed sequence of rows) are classified by
    containment: inside an even number of others an outer ring, an odd number a
    hole; several outer rings are separate parts; crossing rings are refused
    (repaired by the even-odd rule with ``repair=True``). A stated 面积 (m² or
    公顷) is compared with the area the rings enclose on the file's projection,
    with a warning beyond 0.1 %, and kept in ``Site.stated_areas``. The CRS
    follows from ``坐标系`` (2000/CGCS2000, 西安80, 北京54), ``几度分带`` (3 or
    6, default from the zone number) and the zone: the two-digit prefix of
    the eastings and ``带号=``, which must agree; eastings with the prefix
    give the "zone N" EPSG code (e.g. EPSG:4528), without it the "CM" code
    (e.g. EPSG:4549). See :func:`gauss_kruger_epsg`. With ``crs=`` given,
    the file's CRS lines are ignored, and a zone prefix is removed when that
    CRS has no prefix in its false easting.

    A ``.txt`` of bare rows ``点号,X,Y`` (no header) is a point list: it needs
    ``crs=`` unless its eastings carry the zone prefix; the error without one
    names the 3° zones that put the points in ``region``. ``.csv``/``.xlsx``
    files are boundary-point tables (a point sequence per parcel; see
    :func:`zoning.jzd.read_point_table`), not one site per row as for
    ``zoning batch``. A Shapefile without ``.cpg`` has its DBF text decoded
    strictly as UTF-8, else GB18030 (GBK), with a warning saying which.

    Examples
    --------
    >>> site = read_site({"type": "Feature", "properties": {"name": "demo"},
    ...                   "geometry": {"type": "Point", "coordinates": [120.1, 30.8]}})
    >>> site.geometry.wkt, site.project, site.source_crs
    ('POINT (120.1 30.8)', {'name': 'demo'}, 'EPSG:4326')
    >>> p = read_site("438683.652, 3396543.21", crs="EPSG:4549").geometry
    >>> round(p.x, 6), round(p.y, 6)
    (119.360054, 30.687861)
    >>> read_site("120.1,30.8", webmap="gcj02").source_crs
    'GCJ-02'
    >>> read_site("30.8,120.1")
    Traceback (most recent call last):
    ...
    zoning.errors.SiteError: coordinates look swapped: got (30.8, 120.1) but expected lon, lat — e.g. 120.1,30.8
    """
    webmap = _check_webmap(webmap)
    opts = _Options(region=_check_region(region), repair=bool(repair), encoding=encoding)
    raw = _read_any(source, crs, opts)
    return _finish(raw, crs=crs, webmap=webmap, repair=bool(repair))


def read_site_bytes(data, filename, **kw):
    """Read a site from the bytes of an uploaded file.

    The bytes are written under ``filename``'s base name to a private
    temporary directory, read with :func:`read_site`, and the directory is
    removed whatever happens.

    Parameters
    ----------
    data : bytes
        The file's content (a zipped Shapefile, KML/KMZ, GeoPackage, GeoJSON,
        FlatGeobuf, DXF or 界址点 TXT file).
    filename : str
        The uploaded file's name; its suffix chooses the format. Only the
        base name is used.
    **kw
        ``crs``, ``webmap``, ``repair``, ``region``, ``encoding``, as for :func:`read_site`.

    Returns
    -------
    Site

    Examples
    --------
    >>> gj = b'{"type": "Point", "coordinates": [120.1, 30.8]}'
    >>> read_site_bytes(gj, "upload.geojson").source
    'upload.geojson (GeoJSON, 1 feature)'
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SiteError(f"expected the bytes of an uploaded file, got {type(data).__name__}")
    name, layer = _split_layer(Path(str(filename).replace("\\", "/")).name)
    if not name or name in {".", ".."}:
        raise SiteError(f"uploaded file name {filename!r} is not usable; expected e.g. site.zip")
    _suffix_format(Path(name), name)  # refuse unsupported types before writing anything
    webmap = _check_webmap(kw.pop("webmap", None))
    crs = kw.pop("crs", None)
    repair = bool(kw.pop("repair", False))
    opts = _Options(region=_check_region(kw.pop("region", None)), repair=repair, encoding=kw.pop("encoding", None))
    if kw:
        raise TypeError(f"read_site_bytes() got unexpected keyword arguments: {sorted(kw)}")
    with tempfile.TemporaryDirectory(prefix="zoning-site-", ignore_cleanup_errors=True) as tmp:
        path = Path(tmp) / name
        path.write_bytes(bytes(data))
        raw = _read_file(path, layer, display=name, user_crs=crs, opts=opts)
        return _finish(raw, crs=crs, webmap=webmap, repair=repair)


# ----------------------------------------------------------------- dispatching


def _check_webmap(webmap):
    if webmap is None or webmap is False:
        return None
    key = str(webmap).lower().replace("-", "").replace("_", "")
    if key in {"gcj02", "gcj"}:
        return "gcj02"
    if key in {"bd09", "bd", "baidu"}:
        return "bd09"
    raise SiteError(f"webmap={webmap!r} is not supported; expected None, 'gcj02' or 'bd09'")


@dataclass(frozen=True)
class _Options:
    """How files are read, beyond their CRS."""

    region: tuple | None = None
    repair: bool = False
    encoding: str | None = None


def _check_region(region):
    if region is None:
        return None
    if isinstance(region, shapely.Geometry):
        region = region.bounds
    try:
        west, south, east, north = (float(v) for v in region)
    except (TypeError, ValueError):
        raise SiteError(
            f"region={region!r} is not usable; expected (west, south, east, north) in degrees"
        ) from None
    if not all(map(np.isfinite, (west, south, east, north))):
        return None  # an empty extent (a pack without units) says nothing
    if not (west <= east and south <= north):
        raise SiteError(f"region={region!r} is empty; expected (west, south, east, north) in degrees")
    return (west, south, east, north)


def _read_any(source, user_crs, opts=_Options()):
    if isinstance(source, shapely.Geometry):
        return _Raw(
            [source],
            _CRS_4490,
            what="the site geometry",
            source=f"shapely {source.geom_type}",
            crs_note="a shapely geometry without crs (assumed EPSG:4490)",
        )
    if isinstance(source, (gpd.GeoDataFrame, gpd.GeoSeries)):
        return _from_frame(source, user_crs)
    if isinstance(source, Mapping):
        return _from_geojson_obj(source, what="the GeoJSON mapping", label="GeoJSON mapping")
    if isinstance(source, (bytes, bytearray, memoryview)):
        text = _decode(bytes(source), "the GeoJSON bytes")
        return _from_geojson_text(text, what="the GeoJSON text", label="GeoJSON text")
    if isinstance(source, (tuple, list)) and len(source) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in source
    ):
        return _lonlat_point(float(source[0]), float(source[1]))
    if isinstance(source, Path):
        path, layer = _split_existing(str(source))
        return _read_file(Path(path), layer, display=Path(path).name, user_crs=user_crs, opts=opts)
    if isinstance(source, str):
        if not source.strip():
            raise SiteError(f"no site given (an empty string); expected {_EXPECTED_SOURCES}")
        if source.strip() == "-":
            return _from_stdin()
        m = _LONLAT_RE.match(source)
        if m:
            return _lonlat_point(float(m.group(1)), float(m.group(2)))
        if source.lstrip().startswith("{"):
            return _from_geojson_text(source, what="the GeoJSON text", label="GeoJSON text")
        path, layer = _split_existing(source)
        return _read_file(Path(path), layer, display=Path(path).name, user_crs=user_crs, opts=opts)
    raise SiteError(
        f"cannot read a site from a {type(source).__name__}; expected {_EXPECTED_SOURCES}, "
        "GeoJSON text or mapping, a shapely geometry or a GeoDataFrame"
    )


def _lonlat_point(x, y):
    return _Raw(
        [shapely.Point(x, y)],
        _CRS_4490,
        what="the lon,lat point",
        source="lon,lat",
        crs_note="a lon,lat point (EPSG:4490)",
    )


def _split_layer(text):
    if "::" in text:
        path, _, layer = text.rpartition("::")
        if path and layer:
            return path, layer
    return text, None


def _split_existing(text):
    """Split ``"path::layer"`` unless the whole text names an existing file."""
    if Path(text).exists():
        return text, None
    return _split_layer(text)


def _from_stdin():
    stdin = sys.stdin
    if stdin is None:
        raise SiteError("'-' reads GeoJSON from stdin, but there is no stdin")
    try:
        interactive = stdin.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if interactive:
        raise SiteError(
            "'-' reads GeoJSON from stdin, but stdin is a terminal; "
            "pipe a file in, e.g. zoning screen - < site.geojson"
        )
    buffer = getattr(stdin, "buffer", None)
    data = buffer.read() if buffer is not None else stdin.read()
    if isinstance(data, bytes):
        data = _decode(data, "stdin")
    if not data.strip():
        raise SiteError(
            "stdin is empty; expected GeoJSON text (a geometry, Feature or FeatureCollection)"
        )
    return _from_geojson_text(data, what="stdin", label="stdin")


def _decode(data, what):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SiteError(f"{what} is neither UTF-8 nor GB18030 text")


# --------------------------------------------------------------------- GeoJSON


def _from_geojson_text(text, *, what, label):
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise SiteError(
            f"{what} is not valid GeoJSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    if not isinstance(obj, Mapping):
        raise SiteError(
            f"{what} is not GeoJSON: expected an object (geometry, Feature or FeatureCollection), "
            f"got a JSON {type(obj).__name__}"
        )
    return _from_geojson_obj(obj, what=what, label=label)


def _from_geojson_obj(obj, *, what, label):
    kind = obj.get("type")
    if kind == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list):
            raise SiteError(f"{what}: a FeatureCollection needs a 'features' list")
    elif kind == "Feature":
        features = [obj]
    elif kind in _GEOJSON_GEOMETRY_TYPES:
        features = [{"type": "Feature", "geometry": obj, "properties": None}]
    else:
        raise SiteError(
            f"{what} is not GeoJSON: expected a geometry, Feature or FeatureCollection, "
            f"got type {kind!r}"
        )
    geoms, props = [], []
    for i, feature in enumerate(features, 1):
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            raise SiteError(f"{what}: item {i} of 'features' is not a GeoJSON Feature")
        geoms.append(_shape(feature.get("geometry"), what, i, len(features)))
        props.append(feature.get("properties"))
    crs, note = _geojson_crs(obj.get("crs"), what)
    n = sum(g is not None for g in geoms)
    project = None
    if len(features) == 1 and isinstance(props[0], Mapping) and props[0]:
        project = dict(props[0])
    fmt = "" if label in {"GeoJSON mapping", "GeoJSON text"} else "GeoJSON, "
    return _Raw(
        geoms,
        crs,
        what=what,
        source=f"{label} ({fmt}{_count(n, 'feature')})",
        crs_note=note,
        crs_declared=obj.get("crs") is not None,
        project=project,
    )


def _shape(geometry, what, i, n):
    if geometry is None:
        return None
    if not isinstance(geometry, Mapping):
        raise SiteError(f"{what}: feature {i} has a geometry that is not a GeoJSON object")
    try:
        return shapely.geometry.shape(geometry)
    except Exception as e:  # shapely raises several types for malformed coordinates
        where = f" (feature {i} of {n})" if n > 1 else ""
        raise SiteError(
            f"{what}{where} has a malformed {geometry.get('type', 'geometry')}: {e}; "
            "expected GeoJSON coordinates [lon, lat]"
        ) from None


def _geojson_crs(member, what):
    if member is None:
        return CRS.from_epsg(4326), "GeoJSON without a crs member (RFC 7946)"
    name = None
    if isinstance(member, Mapping):
        props = member.get("properties") or {}
        if member.get("type") == "name" and isinstance(props, Mapping):
            name = props.get("name")
        elif member.get("type") == "EPSG" and isinstance(props, Mapping) and "code" in props:
            name = f"EPSG:{props['code']}"
    if not name:
        raise CRSError(
            f"{what}: unsupported GeoJSON crs member {json.dumps(member, ensure_ascii=False)}; "
            'expected {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}'
        )
    crs = _parse_crs(name, f"{what}: the GeoJSON crs member")
    return crs, f"the GeoJSON crs member {name!r}"


# ---------------------------------------------------------- GeoDataFrame etc.


def _from_frame(frame, user_crs):
    kind = type(frame).__name__
    if frame.crs is None and user_crs is None:
        raise CRSError(f"the {kind} has no CRS; pass --crs (e.g. --crs EPSG:4549)")
    geoms = list(frame.geometry) if isinstance(frame, gpd.GeoDataFrame) else list(frame)
    geoms = [g if isinstance(g, shapely.Geometry) else None for g in geoms]
    project = None
    if isinstance(frame, gpd.GeoDataFrame) and len(frame) == 1:
        attrs = frame.drop(columns=frame.geometry.name).iloc[0].to_dict()
        project = _project_from_attributes(attrs)
    n = sum(g is not None for g in geoms)
    noun = "feature" if isinstance(frame, gpd.GeoDataFrame) else "geometry"
    return _Raw(
        geoms,
        frame.crs,
        what=f"the {kind}",
        source=f"{kind} ({_count(n, noun)})",
        crs_note=f"the {kind}'s CRS",
        crs_declared=frame.crs is not None,
        project=project,
    )


def _plain(value):
    """A JSON-friendly Python value, or None for missing values."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp) or hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return None
    return value


from zoning.project import DBF_NAME_LENGTH, untruncated_key  # noqa: E402


def _project_from_attributes(attrs, *, kml=False, warnings=None):
    project = {}
    cut = []
    for key, value in attrs.items():
        low = str(key).lower()
        if low in _BOOKKEEPING_FIELDS:
            continue
        if kml and low in _KML_FIELDS:
            if low == "name" and _plain(value) not in (None, ""):
                project["name"] = _plain(value)
            continue
        value = _plain(value)
        if value is None or value == "":
            continue
        full = untruncated_key(key)
        if full is not None:
            cut.append(f"{key} → {full}")
            key = full
        elif len(str(key)) == DBF_NAME_LENGTH and low.startswith("emission"):
            if warnings is not None:
                warnings.append(
                    f"字段 {key!r} 被截断，无法判断污染物，未采用 field {key!r} is an emissions column cut to "
                    f"{DBF_NAME_LENGTH} characters by the shapefile format and which pollutant it held is lost: "
                    "not used; give emissions with --emission P=T or --project FILE (GeoPackage/GeoJSON keep long names)"
                )
            continue
        project[str(key)] = value
    if cut and warnings is not None:
        warnings.append(f"Shapefile 字段名截断为 {DBF_NAME_LENGTH} 个字符，已按项目参数读取 shapefile field names cut to {DBF_NAME_LENGTH} characters read as project keys: {', '.join(cut)}")
    return project or None


# ------------------------------------------------------------------------ files


def _suffix_format(path, display):
    suffix = path.suffix.lower()
    if suffix not in SITE_SUFFIXES:
        raise SiteError(
            f"unsupported site file type {repr(suffix) if suffix else '(no suffix)'} ({display}); "
            f"expected {_EXPECTED_SOURCES}"
        )
    return suffix


#: Largest site file ``read_site`` opens (bytes); ``ZONING_MAX_SITE_BYTES`` overrides. A site
#: is one project's boundary: a file this large is a mistake (or many sites: ``zoning batch``),
#: and reading it whole would take several times its size in memory.
MAX_SITE_BYTES = 100 * 2**20


def max_site_bytes():
    """The site-file size limit in bytes (``ZONING_MAX_SITE_BYTES`` or :data:`MAX_SITE_BYTES`)."""
    raw = os.environ.get("ZONING_MAX_SITE_BYTES")
    try:
        return int(raw) if raw else MAX_SITE_BYTES
    except ValueError:
        raise SiteError(f"ZONING_MAX_SITE_BYTES must be a number of bytes, got {raw!r}") from None


def _read_file(path, layer, *, display, user_crs, opts=_Options()):
    if not path.exists():
        raise SiteError(f"site file {str(path)!r} does not exist; expected {_EXPECTED_SOURCES}")
    if path.is_dir():
        raise SiteError(f"site file {str(path)!r} is a directory; expected {_EXPECTED_SOURCES}")
    suffix = _suffix_format(path, display)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise SiteError(f"cannot read site file {display}: {e.strerror}") from None
    fmt = SITE_SUFFIXES[suffix]
    if size == 0:
        raise SiteError(f"{display} is empty (0 bytes); expected a {fmt} file")
    limit = max_site_bytes()
    if size > limit:
        raise SiteError(
            f"{display} is {size / 2**20:,.1f} MiB; one site's file may be at most {limit / 2**20:,.1f} MiB "
            "(set ZONING_MAX_SITE_BYTES to allow more; for many sites in one file use `zoning batch`, which reads it in chunks)"
        )
    if suffix in {".geojson", ".json"}:
        text = _decode(_read_bytes(path, display), display)
        return _from_geojson_text(text, what=display, label=display)
    if suffix == ".txt":
        return _read_jzd(_read_bytes(path, display), display, user_crs, opts)
    if suffix in {".csv", ".xlsx"}:
        return _read_point_table(path, layer, display, user_crs, opts)
    if suffix == ".zip":
        return _read_zip(path, layer, display, opts.encoding)
    if suffix in {".kml", ".kmz"}:
        return _read_kml(path, display, fmt)
    if suffix == ".dxf":
        return _read_dxf(path, layer, display)
    if suffix == ".shp":
        return _read_shapefile(path, layer, display, opts.encoding)
    return _read_ogr(path, layer, display, fmt)


def _read_bytes(path, display):
    try:
        return path.read_bytes()
    except OSError as e:
        raise SiteError(f"cannot read site file {display}: {e.strerror}") from None


def _gdal_error(e, path, display):
    text = str(e).strip().replace(str(path), display)
    text = text.replace(str(Path(path).parent) + "/", "")
    text = text.split("; It might help")[0].rstrip(".")
    return SiteError(f"cannot read {display}: {text}")


def _layers(gdal_path, display):
    try:
        layers = pyogrio.list_layers(gdal_path)
    except Exception as e:  # pyogrio/GDAL errors: wrap, never a traceback
        raise _gdal_error(e, gdal_path, display) from None
    return [str(name) for name, geom_type in layers if geom_type is not None]


def _read_ogr(path, layer, display, fmt, *, all_layers=False, kml=False, gdal_path=None, encoding=None):
    gdal_path = str(gdal_path or path)
    names = _layers(gdal_path, display)
    warnings = []
    if not names:
        raise SiteError(f"{display} has no layer with geometries; expected a {fmt} with a site")
    if all_layers:
        chosen = names
    elif layer is not None:
        if layer not in names:
            raise SiteError(
                f"{display} has no layer {layer!r}; its layers are {', '.join(map(repr, names))}"
            )
        chosen = [layer]
    else:
        chosen = names[:1]
        if len(names) > 1:
            warnings.append(
                f"{display} has {len(names)} layers ({', '.join(names)}); read the first, "
                f"{names[0]!r} (pick another with {display}::LAYER)"
            )
    frames = []
    for name in chosen:
        try:
            frames.append(pyogrio.read_dataframe(gdal_path, layer=name, encoding=encoding))
        except Exception as e:  # pyogrio/GDAL errors: wrap, never a traceback
            raise _gdal_error(e, gdal_path, display) from None
    crs = next((f.crs for f in frames if f.crs is not None), None)
    geoms = [
        g if isinstance(g, shapely.Geometry) else None for frame in frames for g in frame.geometry
    ]
    n = sum(g is not None for g in geoms)
    project = None
    if len(geoms) == 1:
        frame = next(f for f in frames if len(f))
        attrs = frame.drop(columns=frame.geometry.name).iloc[0].to_dict()
        project = _project_from_attributes(attrs, kml=kml, warnings=warnings)
    where = f"{fmt} layer {chosen[0]!r}" if fmt == "GeoPackage" else fmt
    return _Raw(
        geoms,
        crs,
        what=display,
        source=f"{display} ({where}, {_count(n, 'feature')})",
        crs_note=f"{display}'s CRS",
        crs_declared=crs is not None,
        project=project,
        warnings=warnings,
    )


def _read_zip(path, layer, display, encoding=None):
    try:
        with zipfile.ZipFile(path) as zf:
            members = [
                m
                for m in zf.namelist()
                if not m.startswith("__MACOSX/") and not Path(m).name.startswith("._")
            ]
    except (zipfile.BadZipFile, OSError) as e:
        raise SiteError(f"cannot read {display}: not a valid zip archive ({e})") from None
    shps = sorted(m for m in members if m.lower().endswith(".shp"))
    if not shps:
        raise SiteError(
            f"{display} contains no shapefile (.shp); expected a zipped Shapefile "
            "(.shp with .shx, .dbf and .prj)"
        )
    warnings = []
    if layer is not None:
        matches = [m for m in shps if m == layer or Path(m).stem == layer or Path(m).name == layer]
        if not matches:
            raise SiteError(
                f"{display} has no shapefile {layer!r}; it has {', '.join(map(repr, shps))}"
            )
        shp = matches[0]
    else:
        shp = shps[0]
        if len(shps) > 1:
            warnings.append(
                f"{display} has {len(shps)} shapefiles ({', '.join(shps)}); read the first, "
                f"{shp!r} (pick another with {display}::NAME)"
            )
    if encoding is None:
        encoding, more = _zip_dbf_encoding(path, shp, members, display)
        warnings.extend(more)
    raw = _read_ogr(
        path, None, display, "zipped Shapefile", gdal_path=f"/vsizip/{path.resolve()}/{shp}",
        encoding=encoding,
    )
    raw.source = raw.source.replace("(zipped Shapefile,", f"(zipped Shapefile {shp},", 1)
    raw.warnings = warnings + (raw.warnings or [])
    return raw


# ------------------------------------------------- Shapefile attribute encoding


def _read_shapefile(path, layer, display, encoding=None):
    warnings = []
    if encoding is None:
        siblings = {p.name.lower(): p for p in path.parent.iterdir() if p.stem.lower() == path.stem.lower()}
        cpg = siblings.get(path.stem.lower() + ".cpg")
        dbf = siblings.get(path.stem.lower() + ".dbf")
        if cpg is None and dbf is not None:
            try:
                data = dbf.read_bytes()
            except OSError as e:
                raise SiteError(f"cannot read {dbf.name}: {e.strerror}") from None
            encoding, warnings = _dbf_encoding_note(data, dbf.name, display)
    raw = _read_ogr(path, layer, display, "Shapefile", encoding=encoding)
    raw.warnings = warnings + (raw.warnings or [])
    return raw


def _zip_dbf_encoding(path, shp, members, display):
    stem = shp[:-4].lower()
    names = {m.lower(): m for m in members}
    if stem + ".cpg" in names or stem + ".dbf" not in names:
        return None, []
    try:
        with zipfile.ZipFile(path) as zf:
            data = zf.read(names[stem + ".dbf"])
    except (zipfile.BadZipFile, OSError, KeyError) as e:
        raise SiteError(f"cannot read {display}: {e}") from None
    return _dbf_encoding_note(data, Path(names[stem + ".dbf"]).name, display)


def _dbf_encoding_note(data, dbf_name, display):
    """The encoding to read a DBF without .cpg with, and a warning saying which was used."""
    encoding = dbf_text_encoding(data)
    if encoding is None:
        return None, []
    if encoding == "UTF-8":
        return encoding, [f"{display}: {dbf_name} has no .cpg; its text decodes as UTF-8 and was read so"]
    if encoding == "GB18030":
        return encoding, [
            f"{display}: {dbf_name} has no .cpg; its text is not UTF-8 but decodes as GB18030 (GBK) "
            "and was read so (pass encoding= if that is wrong)"
        ]
    return None, [
        f"{display}: {dbf_name} has no .cpg and its text is neither UTF-8 nor GB18030; read with "
        "GDAL's default (ISO-8859-1) — pass encoding= to say which it is"
    ]


def _dbf_text_fields(data):
    """The raw bytes of every character (C) field value of a dBASE file, spaces stripped."""
    if len(data) < 33:
        return []
    nrec = int.from_bytes(data[4:8], "little")
    hlen = int.from_bytes(data[8:10], "little")
    rlen = int.from_bytes(data[10:12], "little")
    fields, offset, pos = [], 32, 1  # each record starts with its deletion flag
    while offset + 32 <= min(hlen, len(data)) and data[offset] != 0x0D:
        ftype, flen = chr(data[offset + 11]), data[offset + 16]
        if ftype == "C":
            flen += data[offset + 17] * 256  # long character fields keep the high byte there
            fields.append((pos, flen))
        pos += flen
        offset += 32
    values = []
    for r in range(nrec):
        rec = data[hlen + r * rlen: hlen + (r + 1) * rlen]
        if len(rec) < rlen:
            break
        values.extend(rec[p: p + n].rstrip(b" \x00") for p, n in fields)
    return values


def _decodes(value, encoding):
    try:
        value.decode(encoding)
    except UnicodeDecodeError as e:
        # A writer may cut the last character of a full field in two: only that is forgiven.
        return e.reason == "unexpected end of data" and e.end == len(value)
    return True


def dbf_text_encoding(data):
    """``"UTF-8"`` or ``"GB18030"``: how the text of a DBF (its bytes) decodes, strictly.

    None when all its text is ASCII (any encoding reads it), False when neither fits.

    Examples
    --------
    >>> header = bytes([3, 124, 1, 1]) + (1).to_bytes(4, "little") + (65).to_bytes(2, "little")
    >>> header += (13).to_bytes(2, "little") + bytes(20)
    >>> field = b"NAME" + bytes(7) + b"C" + bytes(4) + bytes([12, 0]) + bytes(14)
    >>> dbf = header + field + bytes([13, 32]) + "湖州项目".encode("gbk") + b"    "
    >>> dbf_text_encoding(dbf), dbf_text_encoding(dbf.replace("湖州项目".encode("gbk"), b"Huzhou--"))
    ('GB18030', None)
    """
    values = _dbf_text_fields(data)
    if all(v.isascii() for v in values):
        return None
    for encoding, name in (("utf-8", "UTF-8"), ("gb18030", "GB18030")):
        if all(_decodes(v, encoding) for v in values):
            return name
    return False


# ------------------------------------------------------------------------ KML


def _read_kml(path, display, fmt):
    """All placemarks of every (nested) folder; pins and labels beside a boundary are left out."""
    raw = _read_ogr(path, None, display, fmt, all_layers=True, kml=True)
    parts = [part for g in raw.geoms for part in _flatten(g)]
    kinds = {}
    for part in parts:
        kinds.setdefault(_KINDS[part.geom_type], []).append(part)
    if len(kinds) > 1:
        kind = next(k for k in ("polygon", "line", "point") if k in kinds)
        others = ", ".join(_count(len(v), k) for k, v in kinds.items() if k != kind)
        raw.warnings.append(
            f"{display}: {others} (pins, labels or paths beside the boundary) left out; the site "
            f"is its {_count(len(kinds[kind]), kind)}"
        )
        raw.geoms = kinds[kind]
        raw.project = None
    return raw


def _dxf_closed(geom):
    """A DXF entity's parts, closed polylines as polygons (how CAD draws a parcel)."""
    out = []
    for part in _flatten(geom):
        if part.geom_type == "LineString" and part.is_closed and len(part.coords) >= 4:
            part = shapely.Polygon(part.coords)
        out.append(part)
    return out


def _read_dxf(path, layer, display):
    """A DXF's site: the polygons (closed polylines) of one CAD layer.

    ``layer`` (``FILE.dxf::LAYER`` or ``--layer``) names the CAD layer. Without it the one
    layer holding polygons is taken; when several do (a title-block frame, a road outline…)
    the file is refused with the layers named: the site must not silently grow.
    """
    try:
        frame = pyogrio.read_dataframe(str(path), columns=["Layer"])
    except Exception as e:  # pyogrio/GDAL errors: wrap, never a traceback
        raise _gdal_error(e, path, display) from None
    warnings = []
    names = frame["Layer"].astype(str).to_numpy() if "Layer" in frame.columns else np.full(len(frame), "0")
    parts = {}
    for name, g in zip(names, frame.geometry):
        if isinstance(g, shapely.Geometry):
            parts.setdefault(name, []).extend(_dxf_closed(g))
    found = sorted(parts)
    if layer is not None:
        if layer not in parts:
            raise SiteError(f"{display} has no CAD layer {layer!r}; its layers are {', '.join(map(repr, found)) or '(none)'}")
        chosen = layer
    else:
        with_polygons = [n for n in found if any(_KINDS[p.geom_type] == "polygon" for p in parts[n])]
        if len(with_polygons) > 1:
            def describe(n):
                polys = [p for p in parts[n] if _KINDS[p.geom_type] == "polygon"]
                return f"{n!r} ({_count(len(polys), 'closed shape')})"
            raise SiteError(
                f"{display} has closed shapes on {len(with_polygons)} CAD layers: {', '.join(describe(n) for n in with_polygons)}; "
                f"say which one is the site with {display}::LAYER (or --layer LAYER) — a title-block frame or another "
                "outline on another layer would otherwise be screened as part of the site"
            )
        chosen = with_polygons[0] if with_polygons else (found[0] if len(found) == 1 else None)
        if chosen is None:
            if not found:
                raise SiteError(f"{display} has no drawn entities; expected closed polylines of the site's boundary")
            raise SiteError(f"{display} has no closed shapes and lines on {len(found)} CAD layers ({', '.join(map(repr, found))}); say which with {display}::LAYER")
        if len(found) > 1:
            warnings.append(f"{display}: CAD layer {chosen!r} read (its closed shapes); layers {', '.join(repr(n) for n in found if n != chosen)} left out")
    mine = parts[chosen]
    by_kind = {}
    for part in mine:
        by_kind.setdefault(_KINDS[part.geom_type], []).append(part)
    geoms = []
    for kind in ("polygon", "line", "point"):
        if kind in by_kind:
            dropped = len(mine) - len(by_kind[kind])
            if dropped:
                warnings.append(
                    f"{display}: {_count(dropped, 'DXF entity', 'DXF entities')} other than "
                    f"{kind}s (text, blocks, open lines) on layer {chosen!r} ignored"
                )
            geoms = by_kind[kind]
            break
    return _Raw(
        geoms,
        None,
        what=display,
        source=f"{display} (DXF layer {chosen!r}, {_count(len(geoms), 'feature')})",
        crs_note=f"{display}'s CRS",
        crs_declared=False,
        project=None,
        warnings=warnings,
    )


# ------------------------------------------------------------------ 界址点 TXT


def _read_jzd(data, display, user_crs, opts=_Options()):
    from zoning.jzd import read_boundary_points

    text = _decode(data, display)
    found = read_boundary_points(text, display, user_crs, region=opts.region, repair=opts.repair)
    return _boundary_raw(found, display)


def _read_point_table(path, layer, display, user_crs, opts=_Options()):
    from zoning.io.tables import csv_frames, xlsx_frames
    from zoning.jzd import read_point_table

    if path.suffix.lower() == ".csv":
        frames = list(csv_frames(path, display, 100_000))
    else:
        frames = list(xlsx_frames(path, display, 100_000, sheet=layer))
    if not frames or not sum(len(f) for f in frames):
        raise SiteError(f"{display} has no rows; expected a header row (e.g. 点号, X, Y) and one row per boundary point")
    frame = pd.concat(frames, ignore_index=True)
    found = read_point_table(frame, display, user_crs, region=opts.region, repair=opts.repair)
    return _boundary_raw(found, display)


def _boundary_raw(found, display):
    return _Raw(
        found.geoms,
        found.crs if found.crs is not None else None,
        what=display,
        source=f"{display} ({found.kind}, {_count(found.parcels, 'parcel')})",
        crs_note=f"{display}'s {found.label}" if found.label else f"{display}'s lon/lat (WGS84)",
        crs_declared=found.crs is not None and found.label is not None,
        project={"name": found.name} if found.name else None,
        warnings=found.warnings,
        stated_areas=found.areas,
    )


# ------------------------------------------------------------------- pipeline


def _count(n, noun, plural=None):
    if plural is None:
        plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


def _flatten(geom):
    """Yield the non-empty Point/LineString/Polygon/Multi* parts of ``geom``."""
    if geom is None or geom.is_empty:
        return
    if geom.geom_type == "GeometryCollection":
        for part in geom.geoms:
            yield from _flatten(part)
    elif geom.geom_type == "LinearRing":
        yield shapely.LineString(geom.coords)
    else:
        yield geom


def _fmt(v):
    return f"{v:.6f}".rstrip("0").rstrip(".")


def _suggest_crs(x, y):
    """An EPSG code for --crs suggested by a sample projected coordinate."""
    for easting in (x, y):
        if _PREFIXED <= abs(easting) < 1e8:
            zone = int(abs(easting) // 1e6)
            if 25 <= zone <= 45:
                return f"EPSG:{gk_prefixed_epsg(zone)}"
            if 13 <= zone <= 23:
                return f"EPSG:{gauss_kruger_epsg(zone, band=6)}"
    return "EPSG:4549"


def _check_geographic(xy, what, note):
    x, y = xy[:, 0], xy[:, 1]
    if (x.min() >= 3 and x.max() <= 54 and y.min() >= 73 and y.max() <= 136):
        raise SiteError(
            f"coordinates look swapped: got ({_fmt(x[0])}, {_fmt(y[0])}) but expected lon, lat — "
            f"e.g. {_fmt(y[0])},{_fmt(x[0])}"
        )
    big = np.flatnonzero((np.abs(x) > 1000) | (np.abs(y) > 1000))
    if big.size:
        i = big[0]
        raise CRSError(
            f"{what}: coordinates look projected (e.g. {_fmt(x[i])}, {_fmt(y[i])}) but "
            f"{note} is longitude/latitude; pass --crs (e.g. --crs {_suggest_crs(x[i], y[i])})"
        )
    bad = np.flatnonzero(np.abs(y) > 90)
    if bad.size:
        raise SiteError(
            f"{what}: latitude {_fmt(y[bad[0]])} is outside -90..90; expected lon, lat"
        )
    bad = np.flatnonzero(np.abs(x) > 180)
    if bad.size:
        raise SiteError(
            f"{what}: longitude {_fmt(x[bad[0]])} is outside -180..180; expected lon, lat"
        )


def _check_projected(xy, what, label):
    x, y = xy[:, 0], xy[:, 1]
    if np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90):
        raise CRSError(
            f"{what}: coordinates look like longitude/latitude (e.g. {_fmt(x[0])}, "
            f"{_fmt(y[0])}) but the CRS is {label}, projected in metres; pass --crs EPSG:4490 "
            "or fix the file's CRS"
        )


@functools.lru_cache(maxsize=64)
def _transformer_to_4490(crs):
    # Building a Transformer costs ~60 ms (PROJ searches its database); a server
    # screening many sites in the same few CRSs builds each once.
    return Transformer.from_crs(crs, _CRS_4490, always_xy=True)


def _to_cgcs2000(geoms, crs, what, label):
    if crs.equals(_CRS_4490):
        return geoms
    try:
        transformer = _transformer_to_4490(crs)
    except Exception as e:  # noqa: BLE001 - pyproj raises several types
        raise CRSError(f"{what}: cannot convert {label} to EPSG:4490 ({e})") from None

    def transform(xy):
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    out = shapely.transform(geoms, transform)
    lonlat = shapely.get_coordinates(out)
    if not np.isfinite(lonlat).all() or (np.abs(lonlat[:, 0]) > 180).any() or (
        np.abs(lonlat[:, 1]) > 90
    ).any():
        raise CRSError(
            f"{what}: coordinates could not be converted from {label} to longitude/latitude "
            "(outside the CRS's area of use?); check --crs"
        )
    return out


def _invalid_message(geom, kind, where):
    reason = shapely.is_valid_reason(geom)
    m = re.fullmatch(r"(.*?)\s*\[(\S+) (\S+)\]", reason or "")
    if m:
        text = m.group(1)
        loc = f" at {_fmt(float(m.group(2)))}, {_fmt(float(m.group(3)))} (lon, lat)"
    else:
        text, loc = reason or "invalid", ""
    text = text[:1].lower() + text[1:]
    return f"site {kind}{where} is invalid: {text}{loc}"


def _keep_kind(geom, kind):
    parts = [p for p in _flatten(geom) if _KINDS[p.geom_type] == kind]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def _finish(raw, *, crs, webmap, repair):
    warnings = list(raw.warnings or [])

    # 1. parts and kinds
    items = []  # (feature number, part) for every non-empty feature, collections flattened
    for i, geom in enumerate(raw.geoms, 1):
        if geom is not None:
            items.extend((i, part) for part in _flatten(geom))
    if not items:
        raise SiteError(f"{raw.what} has no geometry (empty); expected a point, line or polygon")
    present = sorted({i for i, _ in items})
    skipped = len(raw.geoms) - len(present)
    if skipped:
        warnings.append(f"{_count(skipped, 'feature')} without geometry skipped")
    kinds = {}
    for _, geom in items:
        kinds.setdefault(_KINDS[geom.geom_type], []).append(geom)
    if len(kinds) > 1:
        found = ", ".join(_count(len(v), k) for k, v in kinds.items())
        raise SiteError(
            f"{raw.what} mixes kinds of geometry ({found}); a site is points, lines or polygons "
            "— screen them separately"
        )
    kind = next(iter(kinds))
    geoms = np.array([g for _, g in items], dtype=object)

    # 2. Z and M
    if shapely.has_z(geoms).any():
        z = shapely.get_coordinates(geoms, include_z=True)[:, 2]
        if np.any(np.isfinite(z) & (z != 0)):
            warnings.append("Z coordinates dropped (the site is screened in 2-D)")
    has_m = getattr(shapely, "has_m", None)
    if has_m is not None and has_m(geoms).any():
        warnings.append("M values dropped")
    geoms = shapely.force_2d(geoms)

    # 3. CRS
    xy = shapely.get_coordinates(geoms)
    if not np.isfinite(xy).all():
        raise SiteError(f"{raw.what} has coordinates that are not numbers (NaN or infinity)")
    if crs is not None:
        src = _parse_crs(crs, "crs")
        if raw.crs_declared and raw.crs is not None and not raw.crs.equals(src):
            warnings.append(
                f"{raw.what}'s CRS {_crs_label(raw.crs)} overridden by crs={_crs_label(src)}"
            )
        note = ""
    elif raw.crs is not None:
        src, note = raw.crs, raw.crs_note
    else:
        lonlat_like = np.all(np.abs(xy[:, 0]) <= 180) and np.all(np.abs(xy[:, 1]) <= 90)
        hint = "EPSG:4490" if lonlat_like else _suggest_crs(xy[0, 0], xy[0, 1])
        raise CRSError(f"{raw.what} has no CRS; pass --crs (e.g. --crs {hint})")
    label = _crs_label(src)

    # 4. coordinates fit the CRS
    if src.is_geographic:
        _check_geographic(xy, raw.what, note or f"the CRS {label}")
    else:
        if webmap:
            raise CRSError(
                f"webmap={webmap!r} expects longitude/latitude, but {raw.what} is in the projected "
                f"CRS {label}; GCJ-02/BD-09 coordinates come from web maps as lon, lat"
            )
        _check_projected(xy, raw.what, label)

    # 5. reproject, then undo the web-map offset
    geoms = _to_cgcs2000(geoms, src, raw.what, label)
    if webmap == "gcj02":
        geoms = _webmap.gcj02_to_wgs84(geoms)
        label = "GCJ-02"
    elif webmap == "bd09":
        geoms = _webmap.bd09_to_wgs84(geoms)
        label = "BD-09"

    # 6. validity, feature by feature
    numbered = len(present) > 1
    fixed = []
    for (i, _), geom in zip(items, geoms):
        if shapely.is_valid(geom):
            fixed.append(geom)
            continue
        where = f" (feature {present.index(i) + 1} of {len(present)})" if numbered else ""
        message = _invalid_message(geom, kind, where)
        if not repair:
            raise SiteError(f"{message}; fix the boundary, or read it repaired with --repair (repair=True in Python)")
        repaired = _keep_kind(shapely.make_valid(geom), kind)
        if repaired is None or repaired.is_empty:
            raise SiteError(f"{message}; repairing it left no {kind}")
        warnings.append(f"{message}; repaired with make_valid — check the result")
        fixed.append(repaired)

    # 7. one site
    if len(fixed) == 1:
        geometry = fixed[0]
    else:
        geometry = _keep_kind(shapely.union_all(fixed), kind)
        if len(present) > 1:
            warnings.append(f"{len(present)} features merged into one multi-part site")
        else:
            warnings.append(
                f"{raw.geoms[present[0] - 1].geom_type} of {len(fixed)} parts merged into one "
                "multi-part site"
            )
    if geometry is None or geometry.is_empty:
        raise SiteError(f"{raw.what} has no geometry (empty); expected a point, line or polygon")
    if not geometry.is_valid:  # a union of valid parts is valid; this is a last guard
        raise SiteError(_invalid_message(geometry, kind, "") + "; fix the boundary")
    return Site(
        geometry=geometry,
        project=raw.project,
        source=raw.source,
        source_crs=label,
        warnings=tuple(warnings),
        stated_areas=tuple(raw.stated_areas or ()),
    )
