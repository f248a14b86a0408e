"""Zoning packs: load, validate and describe.

A pack is a directory with ``pack.yaml``, vector layers, rasters, ``quotas.csv``
and ``rules.yaml`` (contract §1). :func:`validate_pack` reports every problem
with its file and line; :func:`load_pack` returns an in-memory :class:`Pack`
or refuses an invalid one with :class:`~zoning.errors.PackError`.
"""

import csv
import hashlib
import re
import warnings as _warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pydantic import ValidationError
from pyproj import CRS
from pyproj.exceptions import CRSError as _PyprojCRSError

from zoning import vocab
from zoning.crs import CGCS2000, gk_zone_epsg
from zoning.errors import PackError
from zoning.industry import industries, normalize_code
from zoning.resources import demo_pack_dir
from zoning.schema import NUMERIC_ATTRS, Manifest, RuleSet, nearest, schema_problems
from zoning.yamlio import line_of, load_yaml

__all__ = ["Problem", "ValidationReport", "Pack", "load_pack", "validate_pack", "pack_digest", "LAYER_FIELDS", "LAYER_IDS"]

_UNIT_RE = re.compile(vocab.UNIT_CODE_PATTERN)
#: The fields each layer must have (contract §1); others are kept and shown.
LAYER_FIELDS = {
    "units": ("unit_code", "unit_name", "category"),
    "red_line": ("redline_id", "name"),
    "zones": ("zone_id", "medium", "zone_type", "name"),
}
#: The id field of each layer.
LAYER_IDS = {"units": "unit_code", "red_line": "redline_id", "zones": "zone_id"}


@dataclass(frozen=True)
class Problem:
    """One validation finding: an ``error`` refuses the pack, a ``warning`` does not."""

    severity: str
    file: str
    line: int | None
    kind: str
    message: str
    where: str | None = None
    area_m2: float | None = None
    location: tuple | None = None

    def __str__(self):
        at = f"{self.file}:{self.line}" if self.line else self.file
        return f"{at}: {self.severity}: {self.message}"


@dataclass
class ValidationReport:
    """The result of :func:`validate_pack`: problems, a summary and (if loadable) the pack."""

    path: Path
    problems: list = field(default_factory=list)
    topology: object = None  # GeoDataFrame of topology problem spots (lon/lat)
    pack: object = None

    @property
    def errors(self):
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self):
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self):
        return not self.errors

    def error(self, file, line, kind, message, **kw):
        self.problems.append(Problem("error", file, line, kind, message, **kw))

    def warn(self, file, line, kind, message, **kw):
        self.problems.append(Problem("warning", file, line, kind, message, **kw))


def pack_digest(directory, files):
    """sha256 over the pack's files: their paths relative to the pack and their bytes.

    Stable across machines: the paths are sorted and written with ``/``.
    """
    directory = Path(directory)
    outer = hashlib.sha256()
    for rel in sorted({Path(f).as_posix() for f in files}):
        inner = hashlib.sha256()
        with open(directory / rel, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                inner.update(chunk)
        outer.update(f"{rel}\0{inner.hexdigest()}\n".encode())
    return "sha256:" + outer.hexdigest()


def _sidecars(path):
    """A shapefile is several files; everything else is one."""
    path = Path(path)
    if path.suffix.lower() != ".shp":
        return [path]
    return [p for p in path.parent.glob(path.stem + ".*") if p.suffix.lower() in {".shp", ".shx", ".dbf", ".prj", ".cpg"}]


class Pack:
    """A loaded zoning pack: layers as GeoDataFrames on CGCS2000 lon/lat, rules, quotas and metadata.

    Use :func:`load_pack` to get one.

    Examples
    --------
    >>> pack = load_pack()
    >>> pack.id, pack.region
    ('huzhou-demo', '330500')
    >>> set(pack.units["category"]) == {"priority", "key", "general"}
    True
    """

    def __init__(self, path, manifest, units, red_line, zones, rasters, quotas, clauses, digest, files, warnings=(), cache_dir=None):
        self.path = Path(path)
        self.manifest = manifest
        self.units = units
        self.red_line = red_line
        self.zones = zones
        self.rasters = rasters
        self.quotas = quotas
        self.clauses = clauses
        self.digest = digest
        self.files = tuple(files)
        self.warnings = tuple(warnings)
        #: The pack's entry in the pack cache (see :mod:`zoning.cache`), None when not cached.
        self.cache_dir = None if cache_dir is None else Path(cache_dir)

    id = property(lambda self: self.manifest.id)
    name = property(lambda self: self.manifest.name)
    version = property(lambda self: self.manifest.version)
    effective = property(lambda self: self.manifest.effective)
    region = property(lambda self: self.manifest.region)
    tolerance_m2 = property(lambda self: self.manifest.tolerance_m2)

    @cached_property
    def index(self):
        """The spatial index of the layers (built once, on first use)."""
        from zoning.overlay import PackIndex

        return PackIndex(self)

    @cached_property
    def _screening(self):
        """What screening looks up for every site, derived once (see :class:`zoning.screen.ScreeningTables`)."""
        from zoning.screen import ScreeningTables

        return ScreeningTables(self)

    def screen(self, site, project=None, **kwargs):
        """Screen one site; see :func:`zoning.screen.screen`."""
        from zoning.screen import screen

        return screen(self, site, project, **kwargs)

    def screen_many(self, sites, project=None, **kwargs):
        """Screen every row of a GeoDataFrame; see :func:`zoning.screen.screen_many`."""
        from zoning.screen import screen_many

        return screen_many(self, sites, project, **kwargs)

    def eligibility(self, project=None, **kwargs):
        """Where may ``project`` go: its eligibility map over the whole pack; see
        :func:`zoning.eligibility.eligibility`."""
        from zoning.eligibility import eligibility

        return eligibility(self, project, **kwargs)

    def clause(self, clause_id):
        """Return the clause with this id (KeyError if none)."""
        for c in self.clauses:
            if c.id == clause_id:
                return c
        raise KeyError(clause_id)

    def summary(self):
        """Counts and areas for a quick look: units by category, red lines, zones, clauses."""
        epsg = gk_zone_epsg(self.units.geometry.union_all().centroid.x) if len(self.units) else 4549
        units = self.units.to_crs(epsg)
        by_cat = (
            units.assign(area_km2=units.area / 1e6).groupby("category")["area_km2"].agg(["count", "sum"]).round(2)
        )
        out = {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "effective": self.effective.isoformat(),
            "region": self.region,
            "digest": self.digest,
            "units": {
                cat: {"count": int(by_cat.loc[cat, "count"]), "area_km2": float(by_cat.loc[cat, "sum"])}
                for cat in vocab.CATEGORIES
                if cat in by_cat.index
            },
            "red_line": {
                "count": len(self.red_line),
                "area_km2": round(float(self.red_line.to_crs(epsg).area.sum()) / 1e6, 2),
            },
            "zones": {m: int((self.zones["medium"] == m).sum()) for m in vocab.MEDIA if (self.zones["medium"] == m).any()},
            "rasters": sorted(self.rasters),
            "quotas": len(self.quotas),
            "clauses": len(self.clauses),
            "clauses_by_dimension": {d: sum(c.dimension == d for c in self.clauses) for d in vocab.DIMENSIONS},
            "clauses_by_tier": {t: sum(c.tier == t for c in self.clauses) for t in vocab.TIERS},
        }
        return out

    def __repr__(self):
        return f"<Pack {self.id} {self.version} ({len(self.units)} units, {len(self.clauses)} clauses) {self.digest[:19]}>"

    def explore(self, *, offline=None, **kwargs):
        """An interactive folium map of the whole pack; see :func:`zoning.maps.pack_map`."""
        from zoning.maps import pack_map

        return pack_map(self, offline=offline, **kwargs)

    def _repr_html_(self):
        from zoning.report import pack_summary_html

        return pack_summary_html(self)


def _empty_layer(name):
    cols = {"units": ["unit_code", "unit_name", "category", "subtype"], "red_line": ["redline_id", "name", "function"], "zones": ["zone_id", "medium", "zone_type", "name"]}[name]
    return gpd.GeoDataFrame({c: pd.Series(dtype="object") for c in cols}, geometry=gpd.GeoSeries([], crs=CGCS2000), crs=CGCS2000)


def _read_layer(report, directory, name, ref, manifest_crs, line):
    import pyogrio  # only validation reads the layer files; a cache hit does not

    file = ref.path
    full = directory / file
    if not full.is_file():
        report.error("pack.yaml", line, "missing_file", f"layer {name}: file {file!r} does not exist in the pack")
        return None
    try:
        if ref.layer is not None:
            available = [row[0] for row in pyogrio.list_layers(full)]
            if ref.layer not in available:
                hint = nearest(ref.layer, available)
                report.error(
                    "pack.yaml", line, "missing_layer",
                    f"layer {name}: {file} has no layer {ref.layer!r}; it has {', '.join(available)}"
                    + (f" — did you mean {hint!r}?" if hint else ""),
                )
                return None
        info = pyogrio.read_info(full, layer=ref.layer)
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            gdf = gpd.read_file(full, layer=ref.layer, engine="pyogrio")
    except Exception as exc:  # GDAL says why; keep it to one line
        report.error(file, None, "unreadable", f"layer {name}: cannot read {file}: {str(exc).splitlines()[0]}")
        return None
    # The layer's CRS: the file's own; GeoJSON without a crs member is WGS84 by RFC 7946,
    # so there the manifest's CRS is what the writer meant.
    if gdf.crs is None or (info.get("driver") == "GeoJSON" and manifest_crs is not None and gdf.crs.to_epsg() == 4326):
        if manifest_crs is None:
            report.error(file, None, "no_crs", f"layer {name} in {file} has no CRS and pack.yaml gives no 'crs'; say which CRS it is in")
            return None
        gdf = gdf.set_crs(manifest_crs, allow_override=True)
    elif manifest_crs is not None and not _same_crs(gdf.crs, manifest_crs):
        report.error(
            file, None, "crs_mismatch",
            f"layer {name} in {file} is in {_crs_name(gdf.crs)} but pack.yaml says crs {_crs_name(manifest_crs)}",
        )
        return None
    missing = [f for f in LAYER_FIELDS[name] if f not in gdf.columns]
    if missing:
        report.error(file, None, "missing_field", f"layer {name} in {file} lacks field(s) {', '.join(missing)}; it has {', '.join(c for c in gdf.columns if c != 'geometry')}")
        return None
    for col in LAYER_FIELDS[name]:
        gdf[col] = gdf[col].astype("string").str.strip().astype(object)
    return gdf


def _to_cgcs2000(gdf):
    if not gdf.crs.equals(CRS.from_user_input(CGCS2000)):
        gdf = gdf.to_crs(CGCS2000)
    return gdf.reset_index(drop=True)


def _same_crs(a, b):
    a, b = CRS.from_user_input(a), CRS.from_user_input(b)
    if a.equals(b):
        return True
    geographic = {4326, 4490, 4610, 4214}
    return a.to_epsg() in {4326, 4490} and b.to_epsg() in {4326, 4490} and a.to_epsg() in geographic


def _crs_name(crs):
    crs = CRS.from_user_input(crs)
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def _check_units(report, file, units, region):
    for i, row in enumerate(units.itertuples(index=False)):
        code, cat = row.unit_code, row.category
        if code is None or not _UNIT_RE.match(str(code)):
            report.error(file, None, "unit_code", f"feature {i}: unit_code {code!r} does not match ZH + 6-digit county code + category digit (1/2/3) + 4-digit serial, e.g. ZH33052320003", where=str(code))
            continue
        if cat not in vocab.CATEGORIES:
            hint = nearest(cat, vocab.CATEGORIES)
            report.error(file, None, "category", f"unit {code}: category {cat!r} is not one of priority, key, general" + (f" — did you mean {hint!r}?" if hint else ""), where=code)
            continue
        if code[8] != vocab.CATEGORY_DIGIT[cat]:
            want = [k for k, d in vocab.CATEGORY_DIGIT.items() if d == code[8]][0]
            report.error(file, None, "category_digit", f"unit {code}: category is {cat!r} but the code's category digit {code[8]} means {want!r} (1 priority, 2 key, 3 general)", where=code)
        county = code[2:8]
        prefix = region[:2] if region.endswith("0000") else (region[:4] if region.endswith("00") else region)
        if not county.startswith(prefix):
            report.error(file, None, "unit_region", f"unit {code}: its county code {county} is not within the pack's region {region}", where=code)


def _check_duplicate_ids(report, file, gdf, id_col):
    rows = {}
    for i, ident in enumerate(gdf[id_col]):
        rows.setdefault(ident, []).append(i)
    for ident, where in rows.items():
        if len(where) > 1 and not pd.isna(ident):
            listed = ", ".join(map(str, where[:-1])) + f" and {where[-1]}"
            report.error(file, None, "duplicate_id", f"{id_col} {ident} is used by features {listed}", where=str(ident))


def _check_missing_ids(report, file, gdf, id_col, what):
    for i, ident in enumerate(gdf[id_col]):
        if ident is None or (isinstance(ident, float) and pd.isna(ident)) or str(ident) == "":
            report.error(file, None, "missing_id", f"{what} feature {i} has no {id_col}")


def _check_zones(report, file, zones):
    for row in zones.itertuples(index=False):
        if row.medium not in vocab.MEDIA:
            hint = nearest(row.medium, vocab.MEDIA)
            report.error(file, None, "medium", f"zone {row.zone_id}: medium {row.medium!r} is not one of {', '.join(vocab.MEDIA)}" + (f" — did you mean {hint!r}?" if hint else ""), where=row.zone_id)
            continue
        zt = str(row.zone_type)
        if not zt.startswith(row.medium + "."):
            report.error(file, None, "zone_type", f"zone {row.zone_id}: zone_type {zt!r} must start with its medium, e.g. {row.medium}.{zt.split('.')[-1]}", where=row.zone_id)
        elif zt not in vocab.ZONE_TYPES:
            hint = nearest(zt, [z for z in vocab.ZONE_TYPES if z.startswith(row.medium + ".")])
            report.warn(file, None, "zone_type", f"zone {row.zone_id}: zone_type {zt!r} is not a standard type" + (f" — did you mean {hint!r}?" if hint else ""), where=row.zone_id)


def _topology(report, layers, tolerance):
    from zoning.topology import check_contained, check_layer

    frames = []
    for name, gdf in layers.items():
        if gdf is None or not len(gdf):
            continue
        problems = check_layer(gdf, layer=name, id_column=LAYER_IDS[name], tolerance_m2=tolerance, coverage=(name == "units"))
        problems = problems[problems["kind"] != "duplicate_id"]  # reported by the field checks, with ids
        frames.append(problems)
    units, red = layers.get("units"), layers.get("red_line")
    if units is not None and red is not None and len(red):
        priority = units[units["category"] == "priority"]
        frames.append(check_contained(red, priority, inner_layer="red_line", inner_id="redline_id", outer_filter_desc="priority units", tolerance_m2=tolerance))
    if not frames:
        return None
    problems = pd.concat(frames, ignore_index=True)
    problems = gpd.GeoDataFrame(problems, geometry="geometry", crs=CGCS2000)
    for row in problems.itertuples(index=False):
        loc = None if row.geometry is None or row.geometry.is_empty else (round(row.geometry.x, 6), round(row.geometry.y, 6))
        area = None if pd.isna(row.area_m2) else float(row.area_m2)
        # Red lines outside priority units are worth a look but are not a broken pack.
        severity = "warning" if row.kind in {"outside", "sliver"} else "error"
        ids = str(row.ids)
        msg = f"{row.layer} {row.kind}: " + (row.message if any(part in row.message for part in ids.split("|")) else f"{ids}: {row.message}")
        if loc is not None and "at " not in row.message:
            msg += f" (at {loc[0]:.6f}, {loc[1]:.6f})"
        report.problems.append(Problem(severity, report._layer_files.get(row.layer, row.layer), None, f"topology.{row.kind}", msg, where=str(row.ids), area_m2=area, location=loc))
    return problems


def _read_quotas(report, directory, file, known_scopes):
    full = directory / file
    if not full.is_file():
        report.error("pack.yaml", None, "missing_file", f"quotas: file {file!r} does not exist in the pack")
        return None
    rows = []
    with open(full, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        need = ["scope", "resource", "cap", "used"]
        if reader.fieldnames is None or any(c not in reader.fieldnames for c in need):
            report.error(file, 1, "quota_columns", f"quotas need columns {', '.join(need)}; got {', '.join(reader.fieldnames or [])}")
            return None
        seen = set()
        for row in reader:
            line = reader.line_num
            scope, res = (row["scope"] or "").strip(), (row["resource"] or "").strip()
            if res not in vocab.RESOURCES:
                hint = nearest(res, vocab.RESOURCES)
                report.error(file, line, "quota_resource", f"resource {res!r} is not one of {', '.join(vocab.RESOURCES)}" + (f" — did you mean {hint!r}?" if hint else ""))
                continue
            if scope not in known_scopes:
                hint = nearest(scope, known_scopes)
                report.error(file, line, "quota_scope", f"scope {scope!r} is neither a unit_code nor a zone_id of the pack" + (f" — did you mean {hint!r}?" if hint else ""))
                continue
            try:
                cap, used = float(row["cap"]), float(row["used"])
            except (TypeError, ValueError):
                report.error(file, line, "quota_number", f"cap and used must be numbers; got cap={row['cap']!r}, used={row['used']!r}")
                continue
            if cap < 0 or used < 0:
                report.error(file, line, "quota_number", f"cap and used must not be negative; got cap={cap:g}, used={used:g}")
                continue
            if (scope, res) in seen:
                report.error(file, line, "quota_duplicate", f"quota {scope} {res} is given twice")
                continue
            seen.add((scope, res))
            if used > cap:
                report.warn(file, line, "quota_used", f"quota {scope} {res}: used {used:g} exceeds cap {cap:g}; nothing remains")
            rows.append({"scope": scope, "resource": res, "cap": cap, "used": used, "remaining": max(cap - used, 0.0)})
    return pd.DataFrame(rows, columns=["scope", "resource", "cap", "used", "remaining"])


def _check_rules(report, file, ruleset, lines, layers, rasters):
    table = industries()
    ids = {}
    units = layers.get("units")
    unit_codes = set(units["unit_code"]) if units is not None else set()
    zones = layers.get("zones")
    zone_types = set(zones["zone_type"]) if zones is not None else set()
    for i, clause in enumerate(ruleset.clauses):
        base = ("clauses", i)
        at = lambda *p: line_of(lines, base + p)  # noqa: E731
        if clause.id in ids:
            report.error(file, at("id"), "duplicate_clause", f"clause id {clause.id!r} is used twice (first on line {ids[clause.id]})", where=clause.id)
        ids.setdefault(clause.id, at("id"))
        w = clause.when
        for key in ("industry", "industry_not"):
            for j, code in enumerate(getattr(w, key) or []):
                if normalize_code(code) not in table:
                    hint = table.suggest(code)
                    report.error(
                        file, at("when", key, j), "unknown_industry",
                        f"clause {clause.id}: industry code {code!r} is not in GB/T 4754-2017"
                        + (f"; did you mean {table.describe(hint[0])}?" if hint else ""),
                        where=clause.id,
                    )
        for name in (w.attrs or {}):
            if name in NUMERIC_ATTRS:
                continue
            if name.startswith("emissions.") and name.split(".", 1)[1] in vocab.POLLUTANTS:
                continue
            valid = list(NUMERIC_ATTRS) + [f"emissions.{p}" for p in vocab.POLLUTANTS]
            hint = nearest(name, valid)
            report.error(file, at("when", "attrs", name), "unknown_attr", f"clause {clause.id}: attrs key {name!r} is not a numeric project attribute ({', '.join(NUMERIC_ATTRS)}, emissions.<pollutant>)" + (f" — did you mean {hint!r}?" if hint else ""), where=clause.id)
        a = clause.applies_in
        if a.unit_codes:
            for j, code in enumerate(a.unit_codes):
                if unit_codes and code not in unit_codes:
                    hint = nearest(code, unit_codes)
                    report.error(file, at("applies_in", "unit_codes", j), "unknown_unit", f"clause {clause.id}: unit {code} is not in the units layer" + (f" — did you mean {hint}?" if hint else ""), where=clause.id)
        zt_list = a.zone_types or (a.near.zone_types if a.near and a.near.zone_types else None)
        for j, zt in enumerate(zt_list or []):
            medium = zt.split(".")[0]
            sub = ("applies_in", "zone_types", j) if a.zone_types else ("applies_in", "near", "zone_types", j)
            if medium not in vocab.MEDIA:
                report.error(file, at(*sub), "zone_type", f"clause {clause.id}: zone type {zt!r} must be a medium ({', '.join(vocab.MEDIA)}) or medium.kind, e.g. air.high_emission", where=clause.id)
            elif zones is None:
                report.error(file, at(*sub), "no_layer", f"clause {clause.id}: names zone type {zt!r} but the pack has no zones layer", where=clause.id)
            elif zt not in zone_types and not any(z.startswith(zt + ".") for z in zone_types):
                hint = nearest(zt, zone_types)
                report.warn(file, at(*sub), "zone_type_unused", f"clause {clause.id}: no zone of type {zt!r} in the zones layer, so it never fires" + (f" — did you mean {hint!r}?" if hint else ""), where=clause.id)
        if a.raster_exceeds is not None and a.raster_exceeds not in rasters:
            hint = nearest(a.raster_exceeds, rasters)
            report.error(file, at("applies_in", "raster_exceeds"), "unknown_raster", f"clause {clause.id}: raster {a.raster_exceeds!r} is not in pack.yaml's rasters" + (f" — did you mean {hint!r}?" if hint else ""), where=clause.id)
        if (a.red_line or (a.near and a.near.layer == "red_line")) and layers.get("red_line") is None:
            report.error(file, at("applies_in"), "no_layer", f"clause {clause.id}: refers to the red line but the pack has no red_line layer", where=clause.id)
        if a.near and a.near.layer == "zones" and zones is None:
            report.error(file, at("applies_in"), "no_layer", f"clause {clause.id}: refers to zones but the pack has no zones layer", where=clause.id)
        if clause.effect == "prohibit" and clause.obligations:
            report.warn(file, at("obligations"), "obligations_on_prohibit", f"clause {clause.id}: a prohibit clause's obligations are never shown", where=clause.id)


def _paths_inside(report, directory, manifest, lines):
    """Every file pack.yaml names must lie inside the pack (its digest covers only the pack)."""
    named = [(("layers", n), getattr(manifest.layers, n).path) for n in ("units", "red_line", "zones") if getattr(manifest.layers, n) is not None]
    named += [(("rasters", n), ref.path) for n, ref in manifest.rasters.items()]
    named += [(("quotas",), manifest.quotas)] if manifest.quotas else []
    named += [(("rules",), manifest.rules)]
    root = directory.resolve()
    ok = True
    for key, rel in named:
        target = (directory / rel).resolve()
        if Path(rel).is_absolute() or not target.is_relative_to(root):
            report.error("pack.yaml", line_of(lines, key), "path_outside", f"{'.'.join(key)}: {rel!r} lies outside the pack directory; a pack's files must be inside it (e.g. layers.gpkg)")
            ok = False
    return ok


def validate_pack(path=None, *, topology=True):
    """Check a pack; return a :class:`ValidationReport` (never raises for problems in the pack).

    Parameters
    ----------
    path : str or Path, optional
        The pack directory; the embedded demo pack when omitted.
    topology : bool
        Also check the units for gaps, overlaps and invalid geometries.

    Examples
    --------
    >>> report = validate_pack()
    >>> report.ok, len(report.errors)
    (True, 0)
    """
    directory = Path(path) if path is not None else demo_pack_dir()
    report = ValidationReport(directory)
    report._layer_files = {}
    manifest_file = directory / "pack.yaml"
    if not directory.is_dir():
        report.error(str(directory), None, "missing_pack", f"{directory} is not a directory; a pack is a directory with pack.yaml")
        return report
    if not manifest_file.is_file():
        report.error("pack.yaml", None, "missing_file", f"{directory} has no pack.yaml")
        return report
    try:
        raw, mlines = load_yaml(manifest_file)
    except PackError as exc:
        report.problems.append(Problem("error", "pack.yaml", _line_from(str(exc)), "yaml", _after_location(str(exc))))
        return report
    try:
        manifest = Manifest.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        for line, _loc, msg in schema_problems(exc, Manifest, mlines, "pack.yaml"):
            report.error("pack.yaml", line, "schema", msg)
        return report
    manifest_crs = None
    if manifest.crs is not None:
        try:
            manifest_crs = CRS.from_user_input(manifest.crs)
        except _PyprojCRSError:
            report.error("pack.yaml", line_of(mlines, ("crs",)), "crs", f"crs {manifest.crs!r} is not a CRS pyproj knows; expected e.g. EPSG:4490")
            return report
    if not _paths_inside(report, directory, manifest, mlines):
        return report
    files = ["pack.yaml"]
    layers = {}
    for name in ("units", "red_line", "zones"):
        ref = getattr(manifest.layers, name)
        if ref is None:
            continue
        report._layer_files[name] = ref.path
        gdf = _read_layer(report, directory, name, ref, manifest_crs, line_of(mlines, ("layers", name)))
        layers[name] = gdf
        if gdf is not None:
            files.extend(str(p.relative_to(directory)) for p in _sidecars(directory / ref.path))
            _check_duplicate_ids(report, ref.path, gdf, LAYER_IDS[name])
            if name != "units":  # a missing unit_code fails the unit-code check
                _check_missing_ids(report, ref.path, gdf, LAYER_IDS[name], name)
    if layers.get("units") is not None:
        _check_units(report, manifest.layers.units.path, layers["units"], manifest.region)
    if layers.get("zones") is not None:
        _check_zones(report, manifest.layers.zones.path, layers["zones"])
    rasters = {}
    for name, ref in manifest.rasters.items():
        line = line_of(mlines, ("rasters", name))
        full = directory / ref.path
        if not full.is_file():
            report.error("pack.yaml", line, "missing_file", f"raster {name}: file {ref.path!r} does not exist in the pack")
            continue
        import rasterio  # only validation opens the rasters here

        try:
            with rasterio.open(full) as src:
                if src.crs is None:
                    report.error(ref.path, None, "no_crs", f"raster {name} ({ref.path}) has no CRS; write it as a GeoTIFF with its CRS")
                    continue
                if ref.band > src.count:
                    report.error("pack.yaml", line, "raster_band", f"raster {name}: band {ref.band} asked for but {ref.path} has {src.count}")
                    continue
        except rasterio.errors.RasterioIOError as exc:
            report.error(ref.path, None, "unreadable", f"raster {name}: cannot read {ref.path}: {exc}")
            continue
        rasters[name] = ref.model_copy(update={"path": str(full)})
        files.append(ref.path)
    quotas = pd.DataFrame(columns=["scope", "resource", "cap", "used", "remaining"])
    layers_loaded = all(layers.get(n) is not None for n in layers)
    if manifest.quotas and layers_loaded:
        scopes = set()
        if layers.get("units") is not None:
            scopes |= set(layers["units"]["unit_code"])
        if layers.get("zones") is not None:
            scopes |= set(layers["zones"]["zone_id"])
        q = _read_quotas(report, directory, manifest.quotas, scopes)
        if q is not None:
            quotas = q
            files.append(manifest.quotas)
    ruleset = None
    rules_file = directory / manifest.rules
    if not rules_file.is_file():
        report.error("pack.yaml", line_of(mlines, ("rules",)), "missing_file", f"rules: file {manifest.rules!r} does not exist in the pack")
    else:
        try:
            rraw, rlines = load_yaml(rules_file)
        except PackError as exc:
            report.problems.append(Problem("error", manifest.rules, _line_from(str(exc)), "yaml", _after_location(str(exc))))
        else:
            try:
                ruleset = RuleSet.model_validate(rraw if rraw is not None else {})
            except ValidationError as exc:
                for line, _loc, msg in schema_problems(exc, RuleSet, rlines, manifest.rules):
                    report.error(manifest.rules, line, "schema", msg)
            else:
                _check_rules(report, manifest.rules, ruleset, rlines, layers, manifest.rasters)
            files.append(manifest.rules)
    if topology and report.ok:
        report.topology = _topology(report, layers, manifest.tolerance_m2)
    if report.ok:
        # Topology was judged in each layer's own CRS; the Pack holds CGCS2000 lon/lat.
        geo = {name: _to_cgcs2000(gdf) for name, gdf in layers.items()}
        report.pack = Pack(
            directory,
            manifest,
            geo["units"],
            geo["red_line"] if geo.get("red_line") is not None else _empty_layer("red_line"),
            geo["zones"] if geo.get("zones") is not None else _empty_layer("zones"),
            rasters,
            quotas,
            list(ruleset.clauses),
            pack_digest(directory, files),
            files,
            warnings=[str(p) for p in report.warnings],
        )
    return report


def _line_from(message):
    m = re.search(r":(\d+): ", message)
    return int(m.group(1)) if m else None


def _after_location(message):
    """'dir/rules.yaml:12: YAML syntax error: …' → 'YAML syntax error: …'."""
    m = re.search(r"^.*?(?::\d+)?: ", message)
    return message[m.end():] if m else message


def _manifest_files(directory):
    """The files pack.yaml names, listed as :func:`validate_pack` lists them; None when it does not parse.

    Only good for finding a cache entry: an entry exists only for a digest whose
    files passed :func:`validate_pack`, so a pack.yaml with problems never matches one.
    """
    import yaml

    try:
        from zoning.yamlio import NoAliasLoader

        raw = yaml.load((directory / "pack.yaml").read_bytes(), Loader=NoAliasLoader)  # noqa: S506 - refuses aliases
        manifest = Manifest.model_validate(raw)
        files = ["pack.yaml"]
        for name in ("units", "red_line", "zones"):
            ref = getattr(manifest.layers, name)
            if ref is not None:
                files.extend(str(p.relative_to(directory)) for p in _sidecars(directory / ref.path))
        files.extend(ref.path for ref in manifest.rasters.values())
        if manifest.quotas:
            files.append(manifest.quotas)
        files.append(manifest.rules)
    except Exception:  # noqa: BLE001 — any problem: no cache hit; validation reports it properly
        return None
    return files


def _from_cache(directory, root, topology):
    """The cached Pack at ``directory`` when the cache has an intact entry for its current digest, else None."""
    from zoning.cache import CacheMiss, read_pack

    if not (directory / "pack.yaml").is_file():
        return None
    files = _manifest_files(directory)
    if files is None:
        return None
    try:
        digest = pack_digest(directory, files)  # from the files' bytes, every time
        return read_pack(root, digest, directory, files, topology=topology)
    except (CacheMiss, OSError):
        return None


def _to_cache(root, pack, report, topology):
    """Write the pack's cache entry; when that fails the pack is returned uncached, with a warning."""
    from zoning.cache import write_pack

    try:
        pack.cache_dir = write_pack(root, pack, report.warnings, topology=topology)
        return pack
    except OSError as exc:  # unwritable, full disk…: the cache must never break loading
        reason = f"{exc.strerror or exc}: {exc.filename or root}"
    except Exception as exc:  # noqa: BLE001 — e.g. a field Parquet cannot hold
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    pack.warnings += (f"pack cache: not written ({reason}); loaded without it (ZONING_CACHE names the cache directory, or off)",)
    return pack


def load_pack(path=None, *, topology=True, cache=True):
    """Load a zoning pack; refuse it with :class:`PackError` when it has errors.

    The first load validates the pack fully and keeps a compiled copy in the pack
    cache (:mod:`zoning.cache`, ``$ZONING_CACHE``); later loads of the same files
    (same digest, recomputed from their bytes every time) read that copy and skip
    validation. :func:`validate_pack` never reads the cache.

    Parameters
    ----------
    path : str or Path, optional
        The pack directory; the embedded demo pack (湖州市, demonstration data) when omitted.
    topology : bool
        Check the units' topology while loading (on by default).
    cache : bool
        Use the pack cache (on by default; ``ZONING_CACHE=off`` turns it off everywhere).

    Returns
    -------
    Pack

    Examples
    --------
    >>> pack = load_pack()
    >>> pack.version
    '2024.1'
    >>> load_pack("no/such/pack")
    Traceback (most recent call last):
    ...
    zoning.errors.PackError: no/such/pack is not a directory; a pack is a directory with pack.yaml
    """
    directory = Path(path) if path is not None else demo_pack_dir()
    root = None
    if cache:
        from zoning.cache import cache_root

        root = cache_root()
    if root is not None:
        pack = _from_cache(directory, root, topology)
        if pack is not None:
            return pack
    report = validate_pack(directory, topology=topology)
    if not report.ok:
        first = report.errors[0]
        more = len(report.errors) - 1
        text = str(first) if first.file != str(report.path) else first.message
        if first.kind == "missing_pack":
            text = first.message
        else:
            text = f"{report.path}/{text}"
        if more:
            text += f" (and {more} more error{'s' if more > 1 else ''}; run `zoning validate {report.path}`)"
        raise PackError(text, report.problems)
    if root is None:
        return report.pack
    return _to_cache(root, report.pack, report, topology)
