"""Import official zoning results (三线一单成果数据) into a zoning pack.

Provinces publish their environmental control units as a vector layer with the
official field names of the data-sharing specification (``HJZHGKDYBM`` unit code,
``HJZHGKDYMC`` name, ``ZHGKDYFL`` category, the four access-list texts ``KJBJYS``,
``PWWPFGK``, ``HJFXFK``, ``ZYKFXLYQ``), usually as a Shapefile with GBK text, on
CGCS2000 lon/lat or a 3° Gauss–Krüger zone, beside an access-list table (XLSX or
CSV, often with a two-row header of merged cells). :func:`import_official` reads
those files, maps their fields to the pack's (contract §1), refuses what a pack may
not hold with one error naming the file and feature or row, and writes a pack that
passes :func:`zoning.pack.validate_pack`: ``layers.gpkg`` on EPSG:4490,
``pack.yaml`` with a ``provenance`` block and ``rules.yaml`` holding only the national
ecological-red-line clause (when a red-line layer is given).

Field names that differ from the defaults (:data:`UNIT_FIELDS`, :data:`RED_LINE_FIELDS`,
:data:`ZONE_FIELDS`, :data:`LIST_COLUMNS`) are given in a mapping file
(:func:`read_mapping`; format in README, "Importing official results").
"""

import csv
import datetime as _dt
import hashlib
import io
import os
import re
import shutil
import tempfile
import warnings as _warnings
import zipfile
from pathlib import Path
from typing import Literal, Optional, Union

import geopandas as gpd
import pandas as pd
from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError, field_validator
from pyproj import CRS

from zoning import vocab
from zoning.crs import CGCS2000, CHINA_BOUNDS, PREFIXED_EASTING_MIN, crs_label, gauss_kruger_epsg, parse_crs
from zoning.errors import PackError
from zoning.schema import nearest, schema_problems
from zoning.yamlio import line_of, load_yaml

__all__ = [
    "import_official",
    "read_mapping",
    "OfficialDataError",
    "OfficialDataWarning",
    "UNIT_FIELDS",
    "RED_LINE_FIELDS",
    "ZONE_FIELDS",
    "LIST_COLUMNS",
    "CATEGORY_VALUES",
    "MEDIUM_VALUES",
    "RED_LINE_CLAUSES",
]


class OfficialDataError(PackError):
    """Official input files (units, red lines, zones, list table, mapping) cannot make a valid pack."""


class OfficialDataWarning(UserWarning):
    """Something the import did on its own judgement (detected GBK, a repaired zone prefix…)."""


# --------------------------------------------------------------------- defaults

#: Units: pack field → source field names tried in order (exact, then ignoring case).
UNIT_FIELDS = {
    "unit_code": ("HJZHGKDYBM", "环境管控单元编码", "管控单元编码", "unit_code"),
    "unit_name": ("HJZHGKDYMC", "环境管控单元名称", "管控单元名称", "unit_name"),
    "category": ("ZHGKDYFL", "管控单元分类", "管控单元类别", "单元分类", "category"),
    "subtype": ("subtype", "单元子类", "单元类型"),
    "spatial_layout": ("KJBJYS", "空间布局约束", "spatial_layout"),
    "emission_control": ("PWWPFGK", "污染物排放管控", "emission_control"),
    "risk_prevention": ("HJFXFK", "环境风险防控", "risk_prevention"),
    "resource_efficiency": ("ZYKFXLYQ", "资源开发效率要求", "资源利用效率要求", "resource_efficiency"),
}
#: Red lines (生态保护红线): pack field → source field names tried in order.
RED_LINE_FIELDS = {
    "redline_id": ("HXBM", "HXBH", "红线编码", "红线编号", "redline_id"),
    "name": ("HXMC", "红线名称", "name"),
    "function": ("ZYSTGN", "主导生态功能", "生态功能", "function"),
}
#: Element zones (要素管控分区): pack field → source field names tried in order.
ZONE_FIELDS = {
    "zone_id": ("FQBM", "GKFQBM", "分区编码", "管控分区编码", "zone_id"),
    "medium": ("HJYS", "环境要素", "要素类型", "medium"),
    "zone_type": ("FQLX", "GKFQLX", "分区类型", "管控分区类型", "zone_type"),
    "name": ("FQMC", "GKFQMC", "分区名称", "管控分区名称", "name"),
}
#: The list table: pack field → column headers tried in order (spaces and line breaks ignored).
LIST_COLUMNS = {
    "unit_code": ("环境管控单元编码", "管控单元编码", "单元编码", "HJZHGKDYBM", "unit_code"),
    "spatial_layout": ("空间布局约束", "KJBJYS", "spatial_layout"),
    "emission_control": ("污染物排放管控", "PWWPFGK", "emission_control"),
    "risk_prevention": ("环境风险防控", "HJFXFK", "risk_prevention"),
    "resource_efficiency": ("资源开发效率要求", "资源利用效率要求", "ZYKFXLYQ", "resource_efficiency"),
}
_TEXT_FIELDS = tuple(vocab.DIMENSIONS)

#: Category values understood without a mapping (also with the suffix 单元 or 区, and the
#: Zhejiang style 重点管控单元（产业集聚类）, whose bracket becomes the subtype).
CATEGORY_VALUES = {
    "优先保护": "priority", "重点管控": "key", "一般管控": "general",
    "1": "priority", "2": "key", "3": "general",
    "priority": "priority", "key": "key", "general": "general",
}
_CATEGORY_RE = re.compile(r"^(优先保护|重点管控|一般管控)(?:单元|区)?\s*(?:[（(]\s*(.*?)\s*[)）])?$")

#: Medium values understood without a mapping.
MEDIUM_VALUES = {
    "大气": "air", "大气环境": "air", "水": "water", "水环境": "water",
    "土壤": "soil", "土壤环境": "soil", "资源": "resource", "资源利用": "resource",
    **{m: m for m in vocab.MEDIA},
}
#: Zone-type values understood without a mapping: the dotted types and their Chinese names.
_ZONE_TYPE_VALUES = {**{zt: zt for zt in vocab.ZONE_TYPES}, **{zh: zt for zt, zh in vocab.ZONE_TYPES.items()}}

_RED_LINE_ACTIVITIES = [
    "linear_infrastructure", "national_defence", "geological_survey", "ecological_restoration",
    "scientific_research", "disaster_prevention", "cultural_heritage", "indigenous_living",
]
_RED_LINE_SOURCE = "《关于加强生态保护红线管理的通知（试行）》（自然资发〔2022〕142号）"
#: The national ecological-red-line rule, the only clauses an import writes (and only with a
#: red-line layer): development inside the line is prohibited; the permitted limited activities
#: are conditional (the same clauses as the demo pack's ZJ-KJ-01/02, with the national source).
RED_LINE_CLAUSES = [
    {
        "id": "HX-KJ-01",
        "tier": "province",
        "dimension": "spatial_layout",
        "text": "生态保护红线内禁止开发性、生产性建设活动，原则上禁止城镇建设、工业生产和矿产资源开发；在符合现行法律法规前提下，除国家重大战略项目外，仅允许对生态功能不造成破坏的有限人为活动。",
        "source": _RED_LINE_SOURCE,
        "applies_in": {"red_line": True},
        "effect": "prohibit",
        "when": {"activity_not": list(_RED_LINE_ACTIVITIES)},
    },
    {
        "id": "HX-KJ-02",
        "tier": "province",
        "dimension": "spatial_layout",
        "text": "生态保护红线内允许的有限人为活动（无法避让的线性基础设施、国防、地质调查、生态修复、科研观测、防灾减灾、文物保护、原住民生产生活等）须严格论证、依法依规办理，并落实生态保护措施。",
        "source": _RED_LINE_SOURCE,
        "applies_in": {"red_line": True},
        "effect": "condition",
        "when": {"activity": list(_RED_LINE_ACTIVITIES)},
        "obligations": [{"text": "须论证无法避让生态保护红线的必要性（不可避让论证），并落实生态补偿与修复措施"}],
    },
]

_UNIT_RE = re.compile(vocab.UNIT_CODE_PATTERN)
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")

# ---------------------------------------------------------------------- mapping

_STRICT = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
_Names = Union[StrictStr, list[StrictStr]]


def _str_keys(value):
    """YAML reads ``1: priority`` with an integer key; the values in a file are text."""
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value


class _UnitFields(BaseModel):
    model_config = _STRICT
    unit_code: Optional[_Names] = None
    unit_name: Optional[_Names] = None
    category: Optional[_Names] = None
    subtype: Optional[_Names] = None
    spatial_layout: Optional[_Names] = None
    emission_control: Optional[_Names] = None
    risk_prevention: Optional[_Names] = None
    resource_efficiency: Optional[_Names] = None


class _RedLineFields(BaseModel):
    model_config = _STRICT
    redline_id: Optional[_Names] = None
    name: Optional[_Names] = None
    function: Optional[_Names] = None


class _ZoneFields(BaseModel):
    model_config = _STRICT
    zone_id: Optional[_Names] = None
    medium: Optional[_Names] = None
    zone_type: Optional[_Names] = None
    name: Optional[_Names] = None


class _ListColumns(BaseModel):
    model_config = _STRICT
    unit_code: Optional[_Names] = None
    spatial_layout: Optional[_Names] = None
    emission_control: Optional[_Names] = None
    risk_prevention: Optional[_Names] = None
    resource_efficiency: Optional[_Names] = None


class _Layer(BaseModel):
    model_config = _STRICT
    layer: Optional[StrictStr] = None
    encoding: Optional[StrictStr] = None


class _UnitsSection(_Layer):
    fields: _UnitFields = _UnitFields()
    categories: dict[StrictStr, Literal["priority", "key", "general"]] = {}

    _keys = field_validator("categories", mode="before")(_str_keys)


class _RedLineSection(_Layer):
    fields: _RedLineFields = _RedLineFields()


class _ZonesSection(_Layer):
    fields: _ZoneFields = _ZoneFields()
    media: dict[StrictStr, Literal[tuple(vocab.MEDIA)]] = {}
    zone_types: dict[StrictStr, StrictStr] = {}

    _keys = field_validator("media", "zone_types", mode="before")(_str_keys)

    @field_validator("zone_types")
    @classmethod
    def _dotted(cls, value):
        for src, zt in value.items():
            if zt.split(".")[0] not in vocab.MEDIA or "." not in zt:
                raise ValueError(f"{src!r} maps to {zt!r}; a zone type is medium.kind with a medium of {', '.join(vocab.MEDIA)}, e.g. air.high_emission")
        return value


class _ListSection(BaseModel):
    model_config = _STRICT
    sheet: Optional[StrictStr] = None
    columns: _ListColumns = _ListColumns()


class Mapping(BaseModel):
    """``MAPPING.yaml``: field names and values of official files that differ from the defaults."""

    model_config = _STRICT
    units: _UnitsSection = _UnitsSection()
    red_line: _RedLineSection = _RedLineSection()
    zones: _ZonesSection = _ZonesSection()
    list: _ListSection = _ListSection()


def read_mapping(path):
    """Read a mapping file; return ``(Mapping, lines)``; unknown keys and bad values are
    refused with :class:`OfficialDataError` naming the file and line.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "mapping.yaml")
    >>> _ = open(p, "w", encoding="utf-8").write("units:\\n  fields:\\n    unit_code: DYBM\\n  categories: {1: priority}\\n")
    >>> m, lines = read_mapping(p)
    >>> m.units.fields.unit_code, m.units.categories, lines[("units", "fields", "unit_code")]
    ('DYBM', {'1': 'priority'}, 3)
    >>> _ = open(p, "w", encoding="utf-8").write("units:\\n  field:\\n    unit_code: DYBM\\n")
    >>> read_mapping(p)
    Traceback (most recent call last):
    ...
    zoning.importer.OfficialDataError: ...mapping.yaml:2: unknown key 'field' at units.field; did you mean 'fields'?
    """
    try:
        raw, lines = load_yaml(path)
    except PackError as exc:
        raise OfficialDataError(str(exc)) from None
    try:
        return Mapping.model_validate(raw if raw is not None else {}), lines
    except ValidationError as exc:
        problems = schema_problems(exc, Mapping, lines, str(path))
        line, _loc, msg = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise OfficialDataError(f"{path}:{line}: {msg}{more}") from None


# ------------------------------------------------------------------ small helpers


def _warn(message, notes):
    notes.append(message)
    _warnings.warn(message, OfficialDataWarning, stacklevel=3)


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _parts(path):
    """A shapefile is several files; everything else is one."""
    if path.suffix.lower() != ".shp":
        return [path]
    return sorted((p for p in path.parent.iterdir() if p.stem == path.stem and p.suffix.lower() in _SHAPEFILE_PARTS), key=lambda p: p.suffix.lower())


def _text(value):
    """A cell or attribute as stripped text; None when empty. 1.0 → '1'."""
    if value is None:
        return None
    if isinstance(value, float):
        if pd.isna(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if value is pd.NA or value is pd.NaT:
        return None
    text = str(value).strip()
    return text or None


def _norm_header(value):
    return re.sub(r"\s+", "", str(value)).casefold() if value is not None else ""


def _as_names(value):
    return None if value is None else ([value] if isinstance(value, str) else list(value))


def _problem(file, message):
    from zoning.pack import Problem

    return Problem("error", str(file), None, "import", message)


def _refuse(problems):
    """Raise the first problem, counting the others."""
    first = problems[0]
    more = len(problems) - 1
    text = str(first).replace(": error: ", ": ", 1)
    if more:
        text += f" (and {more} more problem{'s' if more > 1 else ''} like it)"
    raise OfficialDataError(text, problems)


def _join(names, limit=20):
    names = [str(n) for n in names]
    return ", ".join(names[:limit]) + (", …" if len(names) > limit else "") if names else "(none)"


# ----------------------------------------------------------------- reading layers


def _shapefile_sidecars(path, member):
    """``(.cpg text or None, .dbf name, .dbf bytes or None)`` of a shapefile, or of ``member`` in a zip."""
    if member is None:
        parts = {p.suffix.lower(): p for p in _parts(path)}
        cpg, dbf = parts.get(".cpg"), parts.get(".dbf")
        return (
            cpg.read_bytes().decode("ascii", "replace").strip() if cpg else None,
            dbf.name if dbf else f"{path.stem}.dbf",
            dbf.read_bytes() if dbf else None,
        )
    stem = member[:-4].lower()
    with zipfile.ZipFile(path) as zf:
        names = {n.lower(): n for n in zf.namelist()}
        cpg, dbf = names.get(stem + ".cpg"), names.get(stem + ".dbf")
        return (
            zf.read(cpg).decode("ascii", "replace").strip() if cpg else None,
            Path(dbf or member[:-4] + ".dbf").name,
            zf.read(dbf) if dbf else None,
        )


def _encoding_for(path, member, what, override, notes):
    """The encoding to read a layer's attributes with, and how it was decided."""
    if override:
        return override, f"{override} (mapping file)"
    shapefile = member is not None or path.suffix.lower() == ".shp"
    if not shapefile:
        return None, "UTF-8" if path.suffix.lower() in {".gpkg", ".geojson", ".json", ".fgb"} else "as GDAL reads it"
    declared, dbf_name, data = _shapefile_sidecars(path, member)
    if declared is not None:
        return None, f"{declared} (.cpg)"
    if data is None:
        raise OfficialDataError(f"{path.name}: the shapefile has no {dbf_name}, so its attributes (unit codes, names, categories) are missing; put {dbf_name} beside the .shp")
    from zoning.site import dbf_text_encoding

    found = dbf_text_encoding(data)
    if found is None:
        return None, "ASCII (no .cpg; all text is ASCII)"
    if found == "UTF-8":
        return "UTF-8", "UTF-8 (no .cpg; detected)"
    if found == "GB18030":
        _warn(f"{what} {path.name}: {dbf_name} has no .cpg; its text is not UTF-8 but decodes as GBK (GB18030) and was read so (give 'encoding:' in the mapping file if that is wrong)", notes)
        return "GB18030", "GBK/GB18030 (no .cpg; detected)"
    raise OfficialDataError(f"{what} {path.name}: {dbf_name} has no .cpg and its text is neither UTF-8 nor GBK; say which encoding it is with 'encoding:' in the mapping file, or add a .cpg")


def _zip_member(path, what, layer):
    """The .shp inside a zip archive (``layer`` picks one by its name when there are several)."""
    try:
        with zipfile.ZipFile(path) as zf:
            shps = [n for n in zf.namelist() if n.lower().endswith(".shp") and not n.startswith("__MACOSX/")]
    except (zipfile.BadZipFile, OSError) as exc:
        raise OfficialDataError(f"cannot read {what} file {path.name} as a zip archive: {exc}") from None
    if layer is not None:
        chosen = [n for n in shps if Path(n).stem == layer]
        if not chosen:
            raise OfficialDataError(f"{what} file {path.name} holds no shapefile {layer!r}; it holds {_join(Path(n).stem for n in shps)}")
        return chosen[0]
    if len(shps) != 1:
        raise OfficialDataError(
            f"{what} file {path.name} holds {len(shps)} shapefiles ({_join(shps)}); expected one"
            + (" — pick one with 'layer:' in the mapping file" if shps else "")
        )
    return shps[0]


def _false_easting(crs):
    op = crs.coordinate_operation
    for p in getattr(op, "params", None) or ():
        if p.name.lower() == "false easting":
            return float(p.value)
    return None


def _central_meridian(crs):
    op = crs.coordinate_operation
    for p in getattr(op, "params", None) or ():
        if p.name.lower() in {"longitude of natural origin", "longitude of origin", "central meridian"}:
            return float(p.value)
    return None


def _is_cgcs2000_gk(crs):
    if not crs.is_projected:
        return False
    geo = crs.geodetic_crs
    return (geo.to_epsg() == 4490 or "2000" in (geo.datum.name or "")) and _central_meridian(crs) is not None


def _fix_zone_prefix(gdf, crs, what, display, notes):
    """Eastings with a zone prefix on a CRS without one (or the reverse) → the CRS that fits, with a warning."""
    fe = _false_easting(crs)
    if fe is None or not _is_cgcs2000_gk(crs):
        return crs
    minx, _, maxx, _ = gdf.total_bounds
    cm = _central_meridian(crs)
    zone = round(cm / 3)
    if abs(cm - 3 * zone) > 1e-9 or not 25 <= zone <= 45:
        return crs
    prefix = int(minx // 1e6) if minx >= PREFIXED_EASTING_MIN else None
    if fe < PREFIXED_EASTING_MIN and prefix is not None and 25 <= prefix <= 45 and prefix == int(maxx // 1e6):
        fixed = CRS.from_epsg(gauss_kruger_epsg(prefix, prefixed=True))
        _warn(f"{what} {display}: its CRS {crs_label(crs)} has no zone prefix but the eastings carry one (zone {prefix}); read it as {crs_label(fixed)}", notes)
        return fixed
    if fe >= PREFIXED_EASTING_MIN and maxx < PREFIXED_EASTING_MIN and 0 < minx:
        fixed = CRS.from_epsg(gauss_kruger_epsg(zone, prefixed=False))
        _warn(f"{what} {display}: its CRS {crs_label(crs)} puts the zone number {zone} before the eastings but they have none; read it as {crs_label(fixed)}", notes)
        return fixed
    return crs


def _read_layer(path, what, section, user_crs, notes):
    """Read one official layer; return ``(GeoDataFrame on its own CRS, source record)``."""
    import pyogrio

    path = Path(path)
    display = path.name
    if not path.exists():
        raise OfficialDataError(f"{what} file {path} does not exist")
    member = _zip_member(path, what, section.layer) if path.suffix.lower() == ".zip" else None
    source = f"/vsizip/{path}/{member}" if member else path
    encoding, encoding_note = _encoding_for(path, member, what, section.encoding, notes)
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(source)]
    except Exception as exc:  # GDAL says why; one line
        raise OfficialDataError(f"cannot read {what} file {display}: {str(exc).splitlines()[0]}") from None
    layer = section.layer if member is None else None
    if layer is not None and layer not in layers:
        hint = nearest(layer, layers)
        raise OfficialDataError(f"{what} file {display} has no layer {layer!r}; its layers are {_join(layers)}" + (f" — did you mean {hint!r}?" if hint else ""))
    if layer is None and len(layers) > 1:
        _warn(f"{what} file {display} has {len(layers)} layers ({_join(layers)}); read the first, {layers[0]!r} (pick another with 'layer:' in the mapping file)", notes)
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            gdf = pyogrio.read_dataframe(source, layer=layer, encoding=encoding)
    except Exception as exc:  # noqa: BLE001 — GDAL/pyogrio errors: one line, never a traceback
        raise OfficialDataError(f"cannot read {what} file {display}: {str(exc).splitlines()[0]}") from None
    if not len(gdf):
        raise OfficialDataError(f"{what} file {display} has no features")
    if gdf.crs is None:
        if user_crs is None:
            raise OfficialDataError(
                f"{what} file {display} has no CRS (no .prj); give it with --crs, e.g. --crs EPSG:4490 "
                "(CGCS2000 lon/lat) or --crs EPSG:4528 (CGCS2000 3° GK zone 40, eastings with the zone prefix)"
            )
        crs, crs_note = user_crs, f"{crs_label(user_crs)} (--crs)"
    else:
        crs = gdf.crs
        crs_note = crs_label(crs)
        if user_crs is not None and not user_crs.equals(crs):
            _warn(f"{what} file {display} says its CRS is {crs_label(crs)}; --crs {crs_label(user_crs)} overrides it", notes)
            crs, crs_note = user_crs, f"{crs_label(user_crs)} (--crs, over the file's {crs_label(gdf.crs)})"
    fixed = _fix_zone_prefix(gdf, crs, what, display, notes)
    if fixed is not crs:
        crs, crs_note = fixed, f"{crs_label(fixed)} (file: {crs_note}; zone prefix corrected)"
    gdf = gdf.set_crs(crs, allow_override=True)
    geo = gdf.to_crs(CGCS2000)
    west, south, east, north = geo.total_bounds
    cw, cs, ce, cn = CHINA_BOUNDS
    if not (west >= cw - 1 and east <= ce + 1 and south >= cs - 1 and north <= cn + 1):
        raise OfficialDataError(
            f"{what} file {display}: read on {crs_label(crs)} its features lie at {west:.3f}–{east:.3f}°E, "
            f"{south:.3f}–{north:.3f}°N, outside China; its CRS is wrong or missing — official data is on "
            "CGCS2000 (EPSG:4490) or a CGCS2000 3° Gauss–Krüger zone (EPSG:4513–4554); give the right one with --crs"
        )
    record = {
        "file": display,
        "sha256": {p.name: _sha256(p) for p in _parts(path)},
        "layer": member if member else (layer or layers[0]),
        "features": len(gdf),
        "encoding": encoding_note,
        "crs": crs_note,
    }
    return gdf, record


def _pick_fields(gdf, what, display, defaults, overrides, required, section_name, mapping_file, mapping_lines):
    """``{pack field: source column}`` for the fields present; refuse a missing required one."""
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    by_fold = {}
    for c in columns:
        by_fold.setdefault(str(c).casefold(), c)
    picked = {}
    for target, default in defaults.items():
        given = _as_names(getattr(overrides, target))
        names = given or list(default)
        found = next((c for c in names if c in columns), None) or next((by_fold[n.casefold()] for n in names if n.casefold() in by_fold), None)
        if found is not None:
            picked[target] = found
            continue
        if given:
            line = line_of(mapping_lines, (section_name, "fields", target))
            raise OfficialDataError(
                f"{mapping_file}:{line}: {section_name}.fields.{target} names {_join(given)}, but {what} file {display} has no such field; it has {_join(columns)}"
            )
        if target in required:
            raise OfficialDataError(
                f"{what} file {display} has no {target} field: looked for {_join(names)}; it has {_join(columns)} — "
                f"name the field under {section_name}.fields.{target} in a mapping file (--mapping)"
            )
    return picked


def _rename(gdf, picked):
    """The pack's fields first (renamed), then every other source field, none lost."""
    used = set(picked.values())
    out = {target: gdf[src].map(_text) for target, src in picked.items()}
    for col in gdf.columns:
        if col == gdf.geometry.name or col in used:
            continue
        name = str(col)
        while name in out or name.casefold() == "fid":
            name += "_source"
        out[name] = gdf[col]
    frame = pd.DataFrame(out, index=gdf.index)
    return gpd.GeoDataFrame(frame, geometry=gdf.geometry.values, crs=gdf.crs).reset_index(drop=True)


def _label(frame, i, id_col):
    ident = frame[id_col].iloc[i] if id_col in frame.columns else None
    return f"feature {i}" + (f" ({ident})" if ident else "")


def _duplicates(frame, id_col, display, field):
    problems = []
    rows = {}
    for i, ident in enumerate(frame[id_col]):
        if ident is not None:
            rows.setdefault(ident, []).append(i)
    for ident, where in rows.items():
        if len(where) > 1:
            listed = ", ".join(map(str, where[:-1])) + f" and {where[-1]}"
            problems.append(_problem(display, f"{id_col} {ident} (field {field}) is used by features {listed}; each must be unique"))
    return problems


# ------------------------------------------------------------------------ units


def _category(value, extra):
    """``(category, subtype from the value or None)``; category None when not understood."""
    text = _text(value)
    if text is None:
        return None, None
    if text in extra:
        return extra[text], None
    if text.casefold() in CATEGORY_VALUES:
        return CATEGORY_VALUES[text.casefold()], None
    m = _CATEGORY_RE.match(text)
    if m:
        return CATEGORY_VALUES[m.group(1)], (m.group(2) or None)
    return None, None


def _units(gdf, display, mapping, mapping_file, lines, region):
    picked = _pick_fields(gdf, "units", display, UNIT_FIELDS, mapping.units.fields, ("unit_code", "unit_name", "category"), "units", mapping_file, lines)
    units = _rename(gdf, picked)
    problems = []
    prefix = region[:2] if region.endswith("0000") else (region[:4] if region.endswith("00") else region)
    cats, subs = [], []
    for i in range(len(units)):
        code = units["unit_code"].iloc[i]
        label = _label(units, i, "unit_name") if code is None else f"feature {i} ({code})"
        raw_cat = units["category"].iloc[i]
        cat, sub = _category(raw_cat, mapping.units.categories)
        cats.append(cat)
        subs.append(sub)
        if code is None:
            problems.append(_problem(display, f"{label}: no unit code in field {picked['unit_code']}"))
            continue
        if not _UNIT_RE.match(code):
            problems.append(_problem(display, f"{label}: unit code {code!r} (field {picked['unit_code']}) does not match {vocab.UNIT_CODE_PATTERN} — ZH + 6-digit county code + category digit (1/2/3) + 4-digit serial, e.g. ZH33052320003"))
            continue
        if cat is None:
            problems.append(_problem(display, f"{label}: category {_text(raw_cat)!r} (field {picked['category']}) is not one of 优先保护(单元), 重点管控(单元), 一般管控(单元) or 1, 2, 3; map other values under units.categories in a mapping file"))
            continue
        if code[8] != vocab.CATEGORY_DIGIT[cat]:
            want = next(k for k, d in vocab.CATEGORY_DIGIT.items() if d == code[8])
            problems.append(_problem(display, f"{label}: category {_text(raw_cat)!r} means {cat} ({vocab.CATEGORIES[cat]}) but the code's category digit {code[8]} means {want} ({vocab.CATEGORIES[want]}); 1 priority, 2 key, 3 general"))
            continue
        if not code[2:8].startswith(prefix):
            problems.append(_problem(display, f"{label}: its county code {code[2:8]} is not within the region {region} given by --region"))
    problems += _duplicates(units, "unit_code", display, picked["unit_code"])
    if problems:
        _refuse(problems)
    units["category"] = cats
    if "subtype" not in units.columns and any(subs):
        units.insert(3, "subtype", subs)
    elif "subtype" in units.columns:
        units["subtype"] = [s if s is not None else b for s, b in zip(units["subtype"], subs)]
    return units, picked


# ---------------------------------------------------------------- red line, zones


def _red_line(gdf, display, mapping, mapping_file, lines):
    picked = _pick_fields(gdf, "red line", display, RED_LINE_FIELDS, mapping.red_line.fields, ("redline_id", "name"), "red_line", mapping_file, lines)
    red = _rename(gdf, picked)
    problems = [_problem(display, f"feature {i}: no red-line id in field {picked['redline_id']}") for i, v in enumerate(red["redline_id"]) if v is None]
    problems += _duplicates(red, "redline_id", display, picked["redline_id"])
    if problems:
        _refuse(problems)
    return red, picked


def _zones(gdf, display, mapping, mapping_file, lines):
    section = mapping.zones
    picked = _pick_fields(gdf, "zones", display, ZONE_FIELDS, section.fields, ("zone_id", "zone_type", "name"), "zones", mapping_file, lines)
    zones = _rename(gdf, picked)
    media_values = {**MEDIUM_VALUES, **section.media}
    type_values = {**_ZONE_TYPE_VALUES, **section.zone_types}
    problems, media, types = [], [], []
    for i in range(len(zones)):
        zid = zones["zone_id"].iloc[i]
        label = f"feature {i}" + (f" ({zid})" if zid else "")
        if zid is None:
            problems.append(_problem(display, f"{label}: no zone id in field {picked['zone_id']}"))
        raw_type = zones["zone_type"].iloc[i]
        zt = type_values.get(raw_type) if raw_type is not None else None
        if zt is None and raw_type is not None and "." in raw_type and raw_type.split(".")[0] in vocab.MEDIA:
            zt = raw_type  # a dotted type of a known medium; the validator warns when it is not standard
        if zt is None:
            hint = nearest(raw_type, [zh for zh in vocab.ZONE_TYPES.values()])
            problems.append(_problem(display, f"{label}: zone type {raw_type!r} (field {picked['zone_type']}) is neither a dotted type (e.g. air.high_emission) nor a standard zone name (e.g. 大气环境高排放重点管控区)"
                                     + (f" — did you mean {hint!r}?" if hint else "") + "; map it under zones.zone_types in a mapping file"))
            media.append(None)
            types.append(None)
            continue
        medium = zt.split(".")[0]
        if "medium" in zones.columns and zones["medium"].iloc[i] is not None:
            raw_medium = zones["medium"].iloc[i]
            given = media_values.get(raw_medium, media_values.get(raw_medium.casefold()))
            if given is None:
                problems.append(_problem(display, f"{label}: medium {raw_medium!r} (field {picked['medium']}) is not one of 大气, 水, 土壤, 资源 (or {', '.join(vocab.MEDIA)}); map it under zones.media in a mapping file"))
            elif given != medium:
                problems.append(_problem(display, f"{label}: medium {raw_medium!r} means {given} but zone type {raw_type!r} is a {medium} zone ({zt})"))
        media.append(medium)
        types.append(zt)
    problems += _duplicates(zones, "zone_id", display, picked["zone_id"])
    if problems:
        _refuse(problems)
    zones["zone_type"] = types
    if "medium" in zones.columns:
        zones["medium"] = media
    else:
        zones.insert(1, "medium", media)
    return zones, picked


# -------------------------------------------------------------------- list table


def _xlsx_grid(path, display, sheet):
    """``(sheet name, [(row number, [cell text])])`` with merged cells filled from their top-left cell."""
    import openpyxl

    from zoning.io.tables import _cell_text

    try:
        book = openpyxl.load_workbook(path, data_only=True)  # not read-only: merged ranges are needed
    except Exception as exc:  # noqa: BLE001 — openpyxl raises many kinds; one line
        raise OfficialDataError(f"cannot read list table {display} as XLSX: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            hint = nearest(sheet, book.sheetnames)
            raise OfficialDataError(f"list table {display} has no sheet {sheet!r}; its sheets are {_join(book.sheetnames)}" + (f" — did you mean {hint!r}?" if hint else ""))
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        width = ws.max_column
        grid = [[_cell_text(v) for v in row] + [None] * (width - len(row)) for row in ws.iter_rows(min_row=1, min_col=1, max_col=width, values_only=True)]
        for rng in ws.merged_cells.ranges:
            value = grid[rng.min_row - 1][rng.min_col - 1] if rng.min_row <= len(grid) else None
            for r in range(rng.min_row, min(rng.max_row, len(grid)) + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    grid[r - 1][c - 1] = value
        return ws.title, [(i + 1, [c.strip() if isinstance(c, str) else c for c in row]) for i, row in enumerate(grid)]
    finally:
        book.close()


def _csv_grid(path, display):
    from zoning.io.tables import _delimiter, _encoding

    encoding = _encoding(path)
    sep = _delimiter(path, encoding)
    try:
        text = Path(path).read_text(encoding=encoding)
    except (OSError, UnicodeDecodeError) as exc:
        raise OfficialDataError(f"cannot read list table {display}: {exc}") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    rows, start = [], 1
    try:
        for record in reader:
            rows.append((start, [(c.strip() or None) for c in record]))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise OfficialDataError(f"cannot read list table {display} as CSV: line {reader.line_num}: {exc}") from None
    width = max((len(r) for _, r in rows), default=0)
    return ("GBK/GB18030" if encoding == "gb18030" else "UTF-8"), [(n, r + [None] * (width - len(r))) for n, r in rows]


def _list_table(path, mapping, mapping_file, lines, unit_codes):
    """``({unit_code: {field: text}}, source record)``; refuse unknown codes naming the row."""
    path = Path(path)
    display = path.name
    if not path.is_file():
        raise OfficialDataError(f"list table {path} does not exist")
    suffix = path.suffix.lower()
    record = {"file": display, "sha256": {display: _sha256(path)}}
    if suffix in {".xlsx", ".xlsm"}:
        sheet, grid = _xlsx_grid(path, display, mapping.list.sheet)
        record["sheet"] = sheet
    elif suffix in {".csv", ".txt", ".tsv"}:
        encoding, grid = _csv_grid(path, display)
        record["encoding"] = encoding
    elif suffix == ".xls":
        raise OfficialDataError(f"list table {display} is an old Excel .xls file; save it as .xlsx (or .csv) and import that")
    else:
        raise OfficialDataError(f"list table {display}: expected an .xlsx or .csv file, got {suffix or 'no extension'}")
    given = {t: _as_names(getattr(mapping.list.columns, t)) for t in LIST_COLUMNS}
    wanted = {t: [_norm_header(n) for n in (given[t] or LIST_COLUMNS[t])] for t in LIST_COLUMNS}
    header_at = next((k for k, (_n, row) in enumerate(grid[:30]) if any(_norm_header(c) in wanted["unit_code"] for c in row if c)), None)
    if header_at is None:
        seen = [c for _n, row in grid[:5] for c in row if c]
        line = line_of(lines, ("list", "columns", "unit_code")) if given["unit_code"] else None
        where = f"{mapping_file}:{line}: list.columns.unit_code names {_join(given['unit_code'])}, but " if line else ""
        raise OfficialDataError(
            f"{where}list table {display} has no unit-code column: looked for a header {_join(given['unit_code'] or LIST_COLUMNS['unit_code'])} "
            f"in its first 30 rows; its first rows hold {_join(seen)}" + ("" if line else " — name it under list.columns.unit_code in a mapping file")
        )
    first = grid[header_at][1]
    names = [_norm_header(c) for c in first]
    header_rows = 1
    if header_at + 1 < len(grid):
        second = [_norm_header(c) for c in grid[header_at + 1][1]]
        dims = {n for t in _TEXT_FIELDS for n in wanted[t]}
        if any(s in dims and s != f for s, f in zip(second, names)):
            header_rows = 2  # a group header (管控要求) over the four dimension headers
            names = [s if s else f for s, f in zip(second, names)]
    columns = {}
    for target, candidates in wanted.items():
        at = next((names.index(c) for c in candidates if c in names), None)
        if at is not None:
            columns[target] = at
        elif given[target]:
            line = line_of(lines, ("list", "columns", target))
            raise OfficialDataError(f"{mapping_file}:{line}: list.columns.{target} names {_join(given[target])}, but list table {display} has no such column; its header has {_join(c for c in first if c)}")
    if not any(t in columns for t in _TEXT_FIELDS):
        looked = "; ".join(f"{t}: {_join(LIST_COLUMNS[t])}" for t in _TEXT_FIELDS)
        raise OfficialDataError(f"list table {display} has none of the four dimension columns (looked for {looked}); its header has {_join(c for r in grid[header_at:header_at + header_rows] for c in r[1] if c)}")
    header_line = grid[header_at][0]
    texts, rows_of, problems = {}, {}, []
    codes = sorted(unit_codes)
    for number, row in grid[header_at + header_rows:]:
        if not any(row):
            continue
        code = row[columns["unit_code"]]
        values = {t: row[i] for t, i in columns.items() if t != "unit_code" and row[i]}
        if code is None:
            if values:
                problems.append(_problem(f"{display}:{number}", f"row {number} has list text but no unit code in column {first[columns['unit_code']]}"))
            continue
        if code not in unit_codes:
            hint = nearest(code, codes)
            problems.append(_problem(f"{display}:{number}", f"row {number}: unit code {code!r} is not in the units layer" + (f" — did you mean {hint}?" if hint else "")))
            continue
        if code in rows_of:
            problems.append(_problem(f"{display}:{number}", f"row {number}: unit code {code} was already given in row {rows_of[code]}; give each unit one row"))
            continue
        rows_of[code] = number
        texts[code] = values
    if problems:
        _refuse(problems)
    record.update({
        "header_row": header_line,
        "header_rows": header_rows,
        "columns": {t: first[i] if header_rows == 1 else (grid[header_at + 1][1][i] or first[i]) for t, i in columns.items()},
        "rows": len(texts),
    })
    return texts, record


def _apply_list(units, texts):
    """Non-empty list cells fill or override the units' text fields; empty cells leave them."""
    for field in _TEXT_FIELDS:
        if field not in units.columns:
            units[field] = None
    for i, code in enumerate(units["unit_code"]):
        for field, text in texts.get(code, {}).items():
            units.at[i, field] = text
    return units


def _order(units):
    """unit_code, unit_name, category, subtype, the four texts (all four when any is given), then the rest."""
    if any(f in units.columns for f in _TEXT_FIELDS):
        for f in _TEXT_FIELDS:
            if f not in units.columns:
                units[f] = None
    head = [c for c in ("unit_code", "unit_name", "category", "subtype", *_TEXT_FIELDS) if c in units.columns]
    rest = [c for c in units.columns if c not in head and c != units.geometry.name]
    return units[head + rest + [units.geometry.name]]


# ------------------------------------------------------------------ writing


def _check_target(out, force):
    if out.exists() and not out.is_dir():
        raise OfficialDataError(f"{out} exists and is not a directory; give -o a new or empty directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OfficialDataError(f"{out} is not empty; give a new or empty directory, or --force to replace it")


def _write_yaml(path, data, header):
    import yaml

    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=4096, default_flow_style=False)
    path.write_text(header + text, encoding="utf-8")


def _source_of(problem, displays):
    """The input file a validator problem on ``layers.gpkg`` comes from."""
    layer = next((n for n in ("units", "red_line", "zones") if problem.message.startswith(n + " ")), None)
    if layer is None and problem.kind in {"unit_code", "category", "category_digit", "unit_region", "zone_type", "medium"}:
        layer = "zones" if problem.kind in {"zone_type", "medium"} else "units"
    return displays.get(layer, "the imported pack")


def _validation_warnings(problems, displays, out, shown=5):
    """The validator's warnings on the new pack (red lines outside priority units, slivers…), a few in full."""
    for p in problems[:shown]:
        _warnings.warn(f"{_source_of(p, displays)}: {p.message}", OfficialDataWarning, stacklevel=3)
    if len(problems) > shown:
        _warnings.warn(f"… and {len(problems) - shown} more validation warnings like these; `zoning validate {out}` lists them all", OfficialDataWarning, stacklevel=3)


def _validate(tmp, displays):
    from zoning.pack import validate_pack

    report = validate_pack(tmp, topology=True)
    if report.ok:
        return report
    _refuse([_problem(_source_of(p, displays), p.message) for p in report.errors])


def import_official(units, out, *, id, version, region, name=None, effective=None, list_table=None, red_line=None, zones=None, mapping=None, crs=None, tolerance_m2=1.0, force=False):
    """Build a zoning pack from the files a province publishes.

    Parameters
    ----------
    units : str or Path
        The environmental control units (Shapefile, GeoPackage, GeoJSON…) with the official
        field names (:data:`UNIT_FIELDS`) or those ``mapping`` names.
    out : str or Path
        The pack directory to write; must be new or empty unless ``force``.
    id, version, region : str
        The pack's id, data version and GB/T 2260 code of its jurisdiction.
    name : str, optional
        The pack's name; by default one made from the region, version and units file.
    effective : datetime.date or str, optional
        The date the data took effect; the import date when omitted (with a warning).
    list_table : str or Path, optional
        The access list (XLSX or CSV): a unit-code column and the four dimension columns
        (:data:`LIST_COLUMNS`), one- or two-row header; its text fills and overrides the units'.
    red_line, zones : str or Path, optional
        The ecological-protection red lines and the element zones.
    mapping : str or Path, optional
        A mapping file (:func:`read_mapping`) for other field names and values.
    crs : str, optional
        The CRS of input files that have none (and overriding theirs, with a warning).
    tolerance_m2 : float
        The pack's topology tolerance.
    force : bool
        Replace a non-empty ``out``.

    Returns
    -------
    Path
        ``out``, holding a pack that passes :func:`zoning.pack.validate_pack`.

    Warnings are issued as :class:`OfficialDataWarning` and recorded in the manifest's
    ``provenance``; problems raise :class:`OfficialDataError` naming the file and feature or row.

    Examples
    --------
    >>> import zoning.importer as imp, geopandas as gpd, shapely, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> gdf = gpd.GeoDataFrame({"HJZHGKDYBM": ["ZH33052310001", "ZH33052330001"],
    ...     "HJZHGKDYMC": ["甲单元", "乙单元"], "ZHGKDYFL": ["优先保护单元", "一般管控单元"]},
    ...     geometry=[shapely.box(119.6, 30.6, 119.61, 30.61), shapely.box(119.61, 30.6, 119.62, 30.61)], crs=4490)
    >>> gdf.to_file(os.path.join(d, "units.gpkg"))
    >>> pack = imp.import_official(os.path.join(d, "units.gpkg"), os.path.join(d, "pack"), id="demo", version="1",
    ...     region="330523", effective="2024-01-01")
    >>> from zoning import load_pack
    >>> sorted(load_pack(pack).units["category"])
    ['general', 'priority']
    """
    from zoning import __version__

    out = Path(out)
    notes = []
    if not _ID_RE.match(str(id)):
        raise OfficialDataError(f"pack id {id!r} must start with a letter or digit and use only letters, digits, '.', '_' and '-', e.g. zhejiang-2024")
    if not re.fullmatch(r"\d{6}", str(region)):
        raise OfficialDataError(f"region {region!r} is not a 6-digit GB/T 2260 code, e.g. 330000 (a province), 330500 (a city) or 330523 (a county)")
    if not str(version).strip():
        raise OfficialDataError("version is empty; give the data version, e.g. 2024.1")
    if effective is None:
        effective = _dt.date.today()
        _warn(f"no effective date given; effective set to the import date {effective.isoformat()} (give --effective YYYY-MM-DD: verdicts cite it)", notes)
    elif not isinstance(effective, _dt.date):
        try:
            effective = _dt.date.fromisoformat(str(effective))
        except ValueError:
            raise OfficialDataError(f"effective date {effective!r} is not YYYY-MM-DD, e.g. 2024-06-01") from None
    if not tolerance_m2 > 0:
        raise OfficialDataError(f"tolerance_m2 must be positive; got {tolerance_m2!r}")
    _check_target(out, force)
    user_crs = parse_crs(crs, "--crs") if crs is not None else None
    mapping_file, lines = (str(mapping), {}) if mapping is not None else ("mapping", {})
    if mapping is not None:
        parsed, lines = read_mapping(mapping)
    else:
        parsed = Mapping()

    displays = {}
    gdf, units_record = _read_layer(units, "units", parsed.units, user_crs, notes)
    displays["units"] = units_record["file"]
    unit_frame, unit_fields = _units(gdf, units_record["file"], parsed, mapping_file, lines, str(region))
    units_record["fields"] = dict(unit_fields)
    sources = {"units": units_record}
    if list_table is not None:
        texts, list_record = _list_table(list_table, parsed, mapping_file, lines, set(unit_frame["unit_code"]))
        unit_frame = _apply_list(unit_frame, texts)
        sources["list"] = list_record
    unit_frame = _order(unit_frame)
    layers = {"units": unit_frame}
    for key, path, reader in (("red_line", red_line, _red_line), ("zones", zones, _zones)):
        if path is None:
            continue
        what = "red line" if key == "red_line" else "zones"
        frame, record = _read_layer(path, what, getattr(parsed, key), user_crs, notes)
        displays[key] = record["file"]
        layers[key], fields = reader(frame, record["file"], parsed, mapping_file, lines)
        record["fields"] = dict(fields)
        sources[key] = record
    if mapping is not None:
        sources["mapping"] = {"file": Path(mapping).name, "sha256": {Path(mapping).name: _sha256(mapping)}}

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.importing-", dir=out.parent))
    try:
        import pyogrio

        for key, frame in layers.items():
            frame = frame.to_crs(CGCS2000) if not frame.crs.equals(CRS.from_user_input(CGCS2000)) else frame
            pyogrio.write_dataframe(frame, tmp / "layers.gpkg", layer=key, driver="GPKG", promote_to_multi=False)
        manifest = {
            "id": str(id),
            "name": name or f"{region} 生态环境分区管控（{version}，导入自 {units_record['file']}）",
            "version": str(version),
            "effective": effective,
            "region": str(region),
            "crs": CGCS2000,
            "tolerance_m2": float(tolerance_m2),
            "layers": {key: {"path": "layers.gpkg", "layer": key} for key in layers},
            "rules": "rules.yaml",
            "provenance": {
                "imported_by": "zoning import",
                "engine_version": __version__,
                "imported_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
                "sources": sources,
                "warnings": list(notes),
            },
        }
        header = "# Imported from official zoning results by `zoning import`; see provenance below.\n"
        _write_yaml(tmp / "pack.yaml", manifest, header)
        rules_header = (
            "# Written by `zoning import`: only the national ecological-red-line rule (when a red-line layer\n"
            "# was given). The units' list text (spatial_layout, emission_control, risk_prevention,\n"
            "# resource_efficiency) is shown to reviewers but decides nothing until it is coded here as clauses.\n"
        )
        _write_yaml(tmp / "rules.yaml", {"clauses": RED_LINE_CLAUSES if "red_line" in layers else []}, rules_header)
        report = _validate(tmp, displays)
        _validation_warnings(report.warnings, displays, out)
        _check_target(out, force)
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _replace(tmp, out):
    """Move the finished pack into place; an old one is removed only once the new one is there."""
    if not out.exists():
        os.replace(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.replace(out, old / "pack")
    try:
        os.replace(tmp, out)
    except OSError:
        os.replace(old / "pack", out)
        raise
    shutil.rmtree(old, ignore_errors=True)
