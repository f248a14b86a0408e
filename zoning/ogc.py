"""OGC API – Processes: the engine as two pygeoapi processes, ``zoning-screen`` and ``zoning-eligibility``.

Register them in a pygeoapi configuration (``docs/pygeoapi-config.yml`` is a complete one)::

    resources:
      zoning-screen:
        type: process
        processor:
          name: zoning.ogc.ScreenProcessor
          packs: {huzhou-demo: /srv/packs/huzhou-demo}   # optional: pack ids → directories
          default_pack: huzhou-demo                       # optional
          allow_pack_paths: false                         # optional: may a request name a directory?
      zoning-eligibility:
        type: process
        processor:
          name: zoning.ogc.EligibilityProcessor

The embedded demo pack is always available by its id (``huzhou-demo``). A request names a
pack by id; it may name a directory only when ``allow_pack_paths`` is true (a public server
should keep it false).

The work is done by :func:`screen_sites` and :func:`eligibility_features`, which take and
return plain JSON data and know nothing of pygeoapi; the processor classes are thin adapters.
Needs ``pip install "zoning[ogc]"`` (pygeoapi) only for the processor classes.

Examples
--------
>>> out = screen_sites({"sites": {"type": "Feature", "geometry": {"type": "Point", "coordinates": [119.95, 30.55]},
...                               "properties": {}},
...                     "project": {"industry": "6550", "construction": "new"}})
>>> out["verdict"] in {"prohibited", "needs_information", "conditional", "permitted"}
True
"""

import json
import math
from pathlib import Path
from threading import Lock

from zoning.errors import ZoningError

try:  # pygeoapi is optional: pip install "zoning[ogc]"
    from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError
except ImportError:  # pragma: no cover - exercised only without the ogc extra
    BaseProcessor = None

    class ProcessorExecuteError(Exception):
        """Stands in for pygeoapi's error when pygeoapi is not installed."""


__all__ = [
    "BATCH_COLUMNS",
    "SCREEN_METADATA",
    "ELIGIBILITY_METADATA",
    "OgcInputError",
    "screen_sites",
    "eligibility_features",
    "ScreenProcessor",
    "EligibilityProcessor",
]

#: The columns contract §6 adds to every site.
BATCH_COLUMNS = ("verdict", "verdict_zh", "units", "red_line", "blocking", "missing", "n_findings", "error")

_PROJECT_SCHEMA = {
    "type": "object",
    "description": "项目信息（契约 §2 的键）Project description, contract §2 keys",
    "properties": {
        "name": {"type": "string"},
        "industry": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                     "description": "GB/T 4754-2017 代码 industry code(s), e.g. 2614"},
        "construction": {"type": "string", "enum": ["new", "expansion", "reconstruction", "relocation"]},
        "activity": {"type": ["string", "null"]},
        "emissions": {"type": "object", "additionalProperties": {"type": "number"}, "description": "t/a, e.g. {VOCs: 12.5}"},
        "fuel": {"type": "array", "items": {"type": "string"}},
        "water_m3": {"type": "number"},
        "coal_t": {"type": "number"},
        "land_ha": {"type": "number"},
        "energy_tce": {"type": "number"},
        "groundwater": {"type": "boolean"},
    },
}

_PACK_INPUT = {
    "title": {"zh": "数据包", "en": "Zoning pack"},
    "description": {"zh": "数据包编号（服务器配置的 packs，或演示包 huzhou-demo）；缺省为默认数据包",
                    "en": "Pack id (configured on the server, or the demo pack huzhou-demo); the default pack when omitted"},
    "schema": {"type": "string"},
    "minOccurs": 0,
    "maxOccurs": 1,
}

_LINKS = [{"type": "text/html", "rel": "about", "title": "zoning README", "href": "https://github.com/zoning/zoning#readme"}]

SCREEN_METADATA = {
    "version": "0.1.0",
    "id": "zoning-screen",
    "title": {"zh": "场地研判", "en": "Screen sites"},
    "description": {
        "zh": "对场地进行三线一单生态环境分区管控研判：单个要素返回完整研判结果（契约 §3），要素集合逐个要素研判并添加批量列（契约 §6）。",
        "en": "Screen sites against a 三线一单 zoning pack: one Feature gives the full verdict (contract §3); "
              "a FeatureCollection screens each feature and adds the batch columns (contract §6).",
    },
    "jobControlOptions": ["sync-execute", "async-execute"],
    "keywords": ["三线一单", "生态环境分区管控", "screening", "zoning"],
    "links": _LINKS,
    "inputs": {
        "sites": {
            "title": {"zh": "场地", "en": "Sites"},
            "description": {"zh": "GeoJSON 要素或要素集合；要素属性可为项目键（优先于 project）",
                            "en": "A GeoJSON Feature or FeatureCollection; feature properties may be project keys (they win over project)"},
            "schema": {"type": "object", "contentMediaType": "application/geo+json"},
            "minOccurs": 1,
            "maxOccurs": 1,
        },
        "project": {
            "title": {"zh": "项目", "en": "Project"},
            "description": {"zh": "项目信息；要素属性缺省的键取此值", "en": "Project keys used where a feature's properties leave them out"},
            "schema": _PROJECT_SCHEMA,
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "pack": _PACK_INPUT,
        "crs": {
            "title": {"zh": "坐标系", "en": "CRS"},
            "description": {"zh": "场地坐标系，缺省为 WGS84（RFC 7946）", "en": "CRS of the sites; WGS84 (RFC 7946) when omitted"},
            "schema": {"type": "string", "example": "EPSG:4490"},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
    },
    "outputs": {
        "verdicts": {
            "title": {"zh": "研判结果", "en": "Verdicts"},
            "description": {
                "zh": "单个要素：契约 §3 的研判 JSON；要素集合：添加 verdict, verdict_zh, units, red_line, blocking, missing, n_findings, error 属性的要素集合",
                "en": "One Feature: the §3 verdict JSON; a FeatureCollection: the features with the §6 columns added to their properties",
            },
            "schema": {"type": "object", "contentMediaType": "application/json"},
        }
    },
    "example": {
        "inputs": {
            "sites": {"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [119.95, 30.55]}, "properties": {"industry": "2614"}},
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [119.6, 30.5]}, "properties": {"industry": "6550"}},
            ]},
            "project": {"construction": "new", "emissions": {"VOCs": 12.5}},
            "pack": "huzhou-demo",
        }
    },
}

ELIGIBILITY_METADATA = {
    "version": "0.1.0",
    "id": "zoning-eligibility",
    "title": {"zh": "可选区域", "en": "Eligibility map"},
    "description": {
        "zh": "项目在数据包范围内何处可建：覆盖全区、无缝无叠的多边形（契约 §7），每个多边形内的点位研判结果相同。",
        "en": "Where may a project go: polygons covering the pack's region with no gaps or overlaps (contract §7); "
              "a point site anywhere inside a polygon gets that polygon's verdict.",
    },
    "jobControlOptions": ["sync-execute", "async-execute"],
    "keywords": ["三线一单", "选址引导", "eligibility", "zoning"],
    "links": _LINKS,
    "inputs": {
        "project": {
            "title": {"zh": "项目", "en": "Project"},
            "description": {"zh": "项目信息（契约 §2）", "en": "Project description (contract §2)"},
            "schema": _PROJECT_SCHEMA,
            "minOccurs": 1,
            "maxOccurs": 1,
        },
        "pack": _PACK_INPUT,
        "simplify_m": {
            "title": {"zh": "简化容差（米）", "en": "Simplify (m)"},
            "description": {"zh": "显示用的整体简化容差，0 为不简化", "en": "Coverage-preserving simplification for display, metres; 0 = none"},
            "schema": {"type": "number", "minimum": 0, "default": 0},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
    },
    "outputs": {
        "eligibility": {
            "title": {"zh": "可选区域", "en": "Eligibility polygons"},
            "description": {"zh": "EPSG:4490 多边形要素集合，属性 verdict, verdict_zh, blocking, missing, area_m2；另有 areas_m2 分类面积",
                            "en": "FeatureCollection of EPSG:4490 polygons with verdict, verdict_zh, blocking, missing, area_m2; "
                                  "plus areas_m2 by verdict"},
            "schema": {"type": "object", "contentMediaType": "application/geo+json"},
        }
    },
    "example": {"inputs": {"project": {"industry": "2614", "construction": "new"}, "pack": "huzhou-demo"}},
}


class OgcInputError(ZoningError, ValueError):
    """A process request that cannot be run (bad sites, unknown pack, …); the message says why."""


_PACKS = {}
_PACKS_LOCK = Lock()


def _stamp(directory):
    """What changes when a pack's files do (names, sizes, modification times), cheap to get."""
    out = []
    for p in sorted(directory.rglob("*")):
        if p.is_file():
            st = p.stat()
            out.append((str(p.relative_to(directory)), st.st_size, st.st_mtime_ns))
    return tuple(out)


def _load(directory):
    """A loaded pack, kept in memory per directory until its files change."""
    from zoning.pack import load_pack

    directory = Path(directory).resolve()
    stamp = _stamp(directory)
    with _PACKS_LOCK:
        hit = _PACKS.get(directory)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    pack = load_pack(directory)
    with _PACKS_LOCK:
        _PACKS[directory] = (stamp, pack)
    return pack


def _available(options):
    """Pack id → directory: the demo pack and those the processor's configuration lists."""
    from zoning.pack import demo_pack_dir

    packs = {"huzhou-demo": str(demo_pack_dir())}
    packs.update({str(k): str(v) for k, v in (options.get("packs") or {}).items()})
    return packs


def _resolve_pack(name, options):
    packs = _available(options)
    if name is None or (isinstance(name, str) and not name.strip()):
        name = options.get("default_pack") or next(iter(packs))
    if not isinstance(name, str):
        raise OgcInputError(f"input 'pack' must be a pack id (text), got {type(name).__name__}")
    base, _, version = name.partition("@")
    if base in packs:
        pack = _load(packs[base])
        if version and str(pack.version) != version:
            raise OgcInputError(f"pack {base!r} is at version {pack.version}, not {version!r}")
        return pack
    if options.get("allow_pack_paths") and Path(name).is_dir():
        return _load(name)
    hint = "" if options.get("allow_pack_paths") else " (naming a directory is not allowed on this server)"
    raise OgcInputError(f"unknown pack {name!r}; expected one of {', '.join(sorted(packs))}{hint}")


def _project(value):
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise OgcInputError(f"input 'project' must be a JSON object of project keys, got text {value[:60]!r}") from None
    if not isinstance(value, dict):
        raise OgcInputError(f"input 'project' must be an object of project keys (industry, construction, …), got {type(value).__name__}")
    from zoning.project import parse_project

    parse_project(value)  # one clear error for a bad project, before any site is screened
    return dict(value)


def _sites(value):
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise OgcInputError("input 'sites' must be a GeoJSON Feature or FeatureCollection, got text that is not JSON") from None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in ("Feature", "FeatureCollection"):
        got = f"type {kind!r}" if isinstance(value, dict) else type(value).__name__
        raise OgcInputError(f"input 'sites' must be a GeoJSON Feature or FeatureCollection, got {got}")
    if kind == "FeatureCollection":
        feats = value.get("features")
        if not isinstance(feats, list) or not feats:
            raise OgcInputError("input 'sites' is a FeatureCollection with no features; give at least one site")
        for i, f in enumerate(feats):
            if not isinstance(f, dict) or f.get("type") != "Feature" or not isinstance(f.get("geometry"), dict):
                raise OgcInputError(f"input 'sites': feature {i} is not a GeoJSON Feature with a geometry")
    elif not isinstance(value.get("geometry"), dict):
        raise OgcInputError("input 'sites' is a Feature without a geometry")
    return value


def _clean(value):
    """JSON-ready scalars: NaN, NA and NaT → null, numpy numbers → Python numbers."""
    import pandas as pd

    if isinstance(value, (list, tuple, dict)):
        return value
    if pd.isna(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    return value


def screen_sites(inputs, options=None):
    """Run ``zoning-screen`` on plain inputs (``sites``, ``project``, ``pack``, ``crs``).

    Returns the contract §3 verdict (a dict) for a single Feature, and for a
    FeatureCollection the same features with the §6 columns added to their properties
    (``pack`` gives the id, version and digest used). Feature properties that are project
    keys win over ``project``, which gives the defaults.

    Raises :class:`OgcInputError` (or another :class:`~zoning.errors.ZoningError`) with a
    message for bad input.
    """
    import geopandas as gpd

    options = options or {}
    if not isinstance(inputs, dict):
        raise OgcInputError(f"the inputs must be an object, got {type(inputs).__name__}")
    unknown = sorted(set(inputs) - set(SCREEN_METADATA["inputs"]))
    if unknown:
        raise OgcInputError(f"unknown input(s) {', '.join(map(repr, unknown))}; expected {', '.join(SCREEN_METADATA['inputs'])}")
    if inputs.get("sites") is None:
        raise OgcInputError("input 'sites' is required: a GeoJSON Feature or FeatureCollection")
    sites = _sites(inputs["sites"])
    project = _project(inputs.get("project"))
    pack = _resolve_pack(inputs.get("pack"), options)
    crs = inputs.get("crs") or "EPSG:4326"
    if sites["type"] == "Feature":
        props = {k: v for k, v in (sites.get("properties") or {}).items() if v is not None}
        feature = {"type": "Feature", "geometry": sites["geometry"], "properties": {}}
        return pack.screen(feature, {**project, **props}, crs=inputs.get("crs")).to_dict()
    try:
        frame = gpd.GeoDataFrame.from_features(sites["features"], crs=crs)
    except Exception as exc:  # shapely/pyproj errors on malformed geometry or CRS
        raise OgcInputError(f"input 'sites' could not be read as GeoJSON features ({crs}): {exc}") from None
    if frame.crs is None:  # pragma: no cover - from_features keeps the crs given
        frame = frame.set_crs(crs)
    result = pack.screen_many(frame, project)
    out = {"type": "FeatureCollection", "features": [],
           "pack": {"id": pack.id, "version": str(pack.version), "digest": pack.digest}}
    columns = [c for c in result.columns if c != result.geometry.name]
    for feat, (_, row) in zip(sites["features"], result.iterrows()):
        props = {c: _clean(row[c]) for c in columns}
        out["features"].append({"type": "Feature", "geometry": feat["geometry"], "properties": props,
                                **({"id": feat["id"]} if "id" in feat else {})})
    return out


def eligibility_features(inputs, options=None):
    """Run ``zoning-eligibility`` on plain inputs (``project``, ``pack``, ``simplify_m``).

    Returns a GeoJSON FeatureCollection (dict) of the §7 polygons in EPSG:4490, with
    ``areas_m2`` by verdict and the ``pack`` used.
    """
    options = options or {}
    if not isinstance(inputs, dict):
        raise OgcInputError(f"the inputs must be an object, got {type(inputs).__name__}")
    unknown = sorted(set(inputs) - set(ELIGIBILITY_METADATA["inputs"]))
    if unknown:
        raise OgcInputError(f"unknown input(s) {', '.join(map(repr, unknown))}; expected {', '.join(ELIGIBILITY_METADATA['inputs'])}")
    project = _project(inputs.get("project"))
    pack = _resolve_pack(inputs.get("pack"), options)
    simplify = inputs.get("simplify_m", 0) or 0
    if isinstance(simplify, bool) or not isinstance(simplify, (int, float)) or simplify < 0 or math.isnan(simplify):
        raise OgcInputError(f"input 'simplify_m' must be a number of metres ≥ 0, got {simplify!r}")
    out = pack.eligibility(project).to_geojson(simplify_m=float(simplify))
    out["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}
    return out


def _require_pygeoapi():
    if BaseProcessor is None:
        raise ImportError('zoning.ogc processors need pygeoapi: pip install "zoning[ogc]"')


def _run(func, data, options):
    try:
        return "application/json", func(data, options)
    except ZoningError as exc:
        raise ProcessorExecuteError(user_msg=str(exc)) from None


if BaseProcessor is not None:

    class ScreenProcessor(BaseProcessor):
        """pygeoapi processor ``zoning-screen`` (场地研判): see :func:`screen_sites`."""

        def __init__(self, processor_def):
            super().__init__(processor_def, SCREEN_METADATA)
            self.options = dict(processor_def)

        def execute(self, data, outputs=None):
            return _run(screen_sites, data, self.options)

        def __repr__(self):
            return "<ScreenProcessor> zoning-screen"

    class EligibilityProcessor(BaseProcessor):
        """pygeoapi processor ``zoning-eligibility`` (可选区域): see :func:`eligibility_features`."""

        def __init__(self, processor_def):
            super().__init__(processor_def, ELIGIBILITY_METADATA)
            self.options = dict(processor_def)

        def execute(self, data, outputs=None):
            return _run(eligibility_features, data, self.options)

        def __repr__(self):
            return "<EligibilityProcessor> zoning-eligibility"

else:  # pragma: no cover - exercised only without the ogc extra

    class ScreenProcessor:
        """Needs pygeoapi (``pip install "zoning[ogc]"``)."""

        def __init__(self, processor_def):
            _require_pygeoapi()

    class EligibilityProcessor(ScreenProcessor):
        """Needs pygeoapi (``pip install "zoning[ogc]"``)."""

