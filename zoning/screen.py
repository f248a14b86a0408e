"""Screening: a site and a project in, a :class:`~zoning.verdict.Verdict` out.

:func:`screen` handles one site; :func:`screen_many` a GeoDataFrame of candidate
sites, with the geometry work done in bulk.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from zoning import __version__, vocab
from zoning.errors import SiteError, ZoningError
from zoning.overlay import outside_error
from zoning.pack import LAYER_FIELDS, LAYER_IDS
from zoning.project import PROJECT_KEYS, Project, parse_project
from zoning.rules import evaluate, quota_findings, quota_table, zone_matches
from zoning.verdict import Verdict, decide, deciding_findings

__all__ = ["screen", "screen_many", "near_distance", "near_layers", "ScreeningTables"]

@dataclass
class _Context:
    """What one site touches, as :func:`zoning.rules.clause_places` reads it."""

    units: list
    red_line: list
    zones: list
    near: list
    rasters: dict
    region: str
    zone_match: dict  # clause id -> ids of the zones its zone types name (rules.zone_matches)


def near_distance(pack):
    """The largest ``within_m`` any near clause of the pack uses (0 if none)."""
    return max((c.applies_in.near.within_m for c in pack.clauses if c.applies_in.near is not None), default=0.0)


def near_layers(pack):
    """The layers near clauses look at: ``red_line``, ``zones``, ``units``."""
    out = set()
    for c in pack.clauses:
        near = c.applies_in.near
        if near is not None:
            out.add(near.layer or "zones")
    return tuple(sorted(out))


class ScreeningTables:
    """What screening looks up for every site, derived once per pack (``Pack._screening``).

    ``records``: per layer, the verdict entry of each row (required fields, ``subtype``,
    other fields as ``attributes``); ``near_m`` and ``near_layers``: how far and in which
    layers near clauses look; ``quotas``: quotas by scope; ``zone_match``: the zones each
    zone-type clause names.
    """

    def __init__(self, pack):
        self.records = {name: _layer_records(getattr(pack, name), fields) for name, fields in LAYER_FIELDS.items()}
        self.near_m = near_distance(pack)
        self.near_layers = near_layers(pack)
        self.quotas = quota_table(pack.quotas)
        self.zone_match = zone_matches(pack.clauses, dict(zip(pack.zones["zone_id"], pack.zones["zone_type"])))


def _layer_records(gdf, fields):
    extra = [c for c in gdf.columns if c not in fields and c != gdf.geometry.name]
    rows = []
    for rec in gdf.drop(columns=gdf.geometry.name).to_dict("records"):
        entry = {f: _plain(rec.get(f)) for f in fields}
        if "subtype" in rec and "unit_code" in fields and _plain(rec["subtype"]) is not None:
            entry["subtype"] = _plain(rec["subtype"])
        attrs = {c: _plain(rec[c]) for c in extra if c != "subtype" and _plain(rec[c]) is not None}
        if attrs:
            entry["attributes"] = attrs
        rows.append(entry)
    return rows


def _plain(value):
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _overlap_entries(records, hits, kind):
    out = []
    for row, amount, share in hits:
        entry = {k: v for k, v in records[row].items() if k != "attributes"}
        if kind == "polygon":
            entry["overlap_m2"] = round(amount, 2)
        elif kind == "line":
            entry["overlap_m"] = round(amount, 2)
        entry["overlap_share"] = round(share, 6)
        if "attributes" in records[row]:
            entry["attributes"] = dict(records[row]["attributes"])
        out.append(entry)
    return out


def _context(pack, ov):
    tables = pack._screening
    recs = tables.records
    units = _overlap_entries(recs["units"], ov.units, ov.kind)
    red = _overlap_entries(recs["red_line"], ov.red_line, ov.kind)
    zones = _overlap_entries(recs["zones"], ov.zones, ov.kind)
    near = []
    for layer, row, dist in ov.near:
        rec = recs[layer][row]
        entry = {"layer": layer, "id": rec[LAYER_IDS[layer]], "distance_m": round(dist, 2)}
        name = rec.get("unit_name") or rec.get("name")
        if name:
            entry["name"] = name
        if layer == "zones":
            entry["zone_type"] = rec["zone_type"]
        if layer == "units":
            entry["category"] = rec["category"]
        near.append(entry)
    near.sort(key=lambda n: (n["distance_m"], n["layer"], n["id"]))
    rasters = {}
    for name, ref in pack.rasters.items():
        mean, mx = ov.rasters.get(name, (None, None))
        value = mean if ref.statistic == "mean" else mx
        rasters[name] = {
            "name": name,
            "statistic": ref.statistic,
            "value": None if value is None else round(value, 4),
            "standard": ref.standard,
            "exceeds": bool(value is not None and round(value, 4) > ref.standard),
            "unit": ref.unit,
            "pollutant": ref.pollutant,
            "mean": None if mean is None else round(mean, 4),
            "max": None if mx is None else round(mx, 4),
        }
    return _Context(units, red, zones, near, rasters, pack.region, tables.zone_match)


def _warnings(pack, ov, ctx):
    out = []
    if ov.outside_share > 0:
        out.append(f"{ov.outside_share:.1%} of the site lies outside the pack's region {pack.region}; only the part inside was screened")
    recs = pack._screening.records
    for layer, row, amount in sorted(ov.touching, key=lambda t: (t[0], t[1])):
        ident = recs[layer][row][LAYER_IDS[layer]]
        if amount > 0:
            unit = "m²" if ov.kind == "polygon" else "m"
            out.append(f"the site touches {layer} {ident} with an overlap of {amount:.3f} {unit}, below the tolerance; counted as touching, not overlapping")
        else:
            out.append(f"the site touches {layer} {ident} along its boundary; touching is not overlapping")
    for r in ctx.rasters.values():
        if r["value"] is None:
            out.append(f"raster {r['name']} has no data over the site; clauses on it were not checked")
    return out


def _obligations(findings):
    """One entry per pollutant with the largest offset; text obligations once each."""
    offsets, texts = {}, {}
    for f in findings:
        if f.effect != "condition":
            continue
        for ob in f.obligations:
            if ob.get("pollutant") and ob.get("amount_t") is not None:
                if ob["amount_t"] <= 0:
                    continue
                best = offsets.get(ob["pollutant"])
                if best is None or ob["amount_t"] > best["amount_t"]:
                    offsets[ob["pollutant"]] = {"text": ob["text"], "pollutant": ob["pollutant"], "amount_t": ob["amount_t"], "ratio": ob.get("ratio"), "clause_id": f.clause_id}
            elif not ob.get("pollutant"):
                texts.setdefault(ob["text"], {"text": ob["text"], "pollutant": None, "amount_t": None, "clause_id": f.clause_id})
    order = list(vocab.POLLUTANTS)
    out = [offsets[p] for p in sorted(offsets, key=lambda p: order.index(p) if p in order else len(order))]
    return out + list(texts.values())


def _missing(findings):
    seen = dict.fromkeys(m for f in findings for m in f.missing)
    return list(seen)


def _build(pack, site_geom, site_meta, ov, project, when_cache=None, site_warnings=()):
    ctx = _context(pack, ov)
    findings = evaluate(pack.clauses, ctx, project, when_cache)
    quota_entries, quota_f = quota_findings(ctx, pack._screening.quotas, project)
    findings = findings + quota_f
    verdict = decide(findings)
    centroid = [round(ov.centroid[0], 7), round(ov.centroid[1], 7)]
    site = {
        "geometry_type": site_geom.geom_type,
        "area_m2": round(ov.measure, 2) if ov.kind == "polygon" else 0.0,
        "length_m": round(ov.measure, 2) if ov.kind == "line" else 0.0,
        "area_crs": f"EPSG:{ov.epsg}",
        "centroid": centroid,
        "outside_share": round(ov.outside_share, 6),
    }
    site.update(site_meta)
    warnings = list(site_warnings) + list(project.warnings) + _warnings(pack, ov, ctx)
    data = {
        "verdict": verdict,
        "verdict_zh": vocab.VERDICTS[verdict],
        "pack": {"id": pack.id, "version": pack.version, "digest": pack.digest, "name": pack.name, "effective": pack.effective.isoformat()},
        "engine": {"version": __version__},
        "site": site,
        "project": project.to_dict(),
        "units": ctx.units,
        "red_line": ctx.red_line,
        "zones": ctx.zones,
        "near": ctx.near,
        "rasters": list(ctx.rasters.values()),
        "quotas": quota_entries,
        "findings": [f.to_dict() for f in findings],
        "obligations": _obligations(findings),
        "missing": _missing(findings),
        "warnings": warnings,
    }
    return Verdict(data, site_geom, pack), findings


def _as_project(site_project, project, overrides):
    if isinstance(project, Project):
        if overrides:
            base = project.to_dict() | project.extra
            return parse_project(base, **overrides)
        return project
    base = dict(site_project or {})
    if project is not None:
        if not isinstance(project, dict):
            raise ZoningError(f"project must be a mapping of contract §2 keys, got {type(project).__name__}")
        base.update(project)
    return parse_project(base, **overrides)


def screen(pack, site, project=None, *, crs=None, webmap=None, repair=False, **overrides):
    """Screen one site against a pack and return its :class:`~zoning.verdict.Verdict`.

    Parameters
    ----------
    pack : Pack
    site : shapely geometry (CGCS2000/WGS84 lon/lat), GeoJSON mapping, GeoSeries/GeoDataFrame,
        path, ``"lon,lat"`` or a :class:`~zoning.site.Site`
    project : dict or Project, optional
        Contract §2 keys. A GeoJSON Feature's properties are used when omitted; keys given
        here replace them.
    crs, webmap, repair
        How to read the site (see :func:`zoning.site.read_site`).
    **overrides
        Project keys that replace those of ``project`` (e.g. ``industry="2614"``).

    Examples
    --------
    >>> from zoning import load_pack
    >>> v = load_pack().screen("119.95,30.55", {"industry": "6550", "construction": "new"})
    >>> v["verdict"] in {"prohibited", "needs_information", "conditional", "permitted"}
    True
    """
    from zoning.site import Site, read_site

    if not isinstance(site, Site):
        site = read_site(site, crs=crs, webmap=webmap, repair=repair)
    proj = _as_project(site.project, project, overrides)
    tables = pack._screening
    ov = pack.index.overlay([site.geometry], near_m=tables.near_m, near_layers=tables.near_layers)[0]
    if ov.error:
        raise outside_error(pack)
    verdict, _ = _build(pack, site.geometry, {"source_crs": site.source_crs}, ov, proj, site_warnings=site.warnings)
    return verdict


def _read_sites_frame(path, crs):
    import geopandas as gpd

    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:
        raise SiteError(f"cannot read the sites file {path}: {str(exc).splitlines()[0]}") from None
    if crs is not None:
        frame = frame.set_crs(crs, allow_override=True)
    return frame


def _rows_projects(frame, default):
    cols = [c for c in frame.columns if c in PROJECT_KEYS or str(c).startswith("emissions.")]
    if not cols:
        return [dict(default or {})] * len(frame)
    records = frame[cols].to_dict("records")
    out = []
    for rec in records:
        base = dict(default or {})
        base.update({k: v for k, v in rec.items() if not _is_blank(v)})
        out.append(base)
    return out


def _is_blank(v):
    if v is None:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    return v is pd.NA


def screen_many(pack, sites, project=None, *, crs=None, full=False):
    """Screen every row of a GeoDataFrame (or a file of sites) separately.

    Each row is one site; project keys of contract §2 may be columns (``emissions``
    as a dict per row or flattened ``emissions.VOCs`` … columns); ``project`` gives
    defaults for keys a row leaves empty.

    Returns
    -------
    GeoDataFrame
        The input rows with ``verdict``, ``verdict_zh``, ``units``, ``red_line``,
        ``blocking`` (clause ids of the findings that decided the verdict), ``n_findings``,
        ``missing`` and ``error`` (a row that could not be screened says why) — and,
        with ``full=True``, the whole :class:`Verdict` in ``result``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from zoning import load_pack
    >>> sites = gpd.GeoDataFrame({"industry": ["6550", "1713"]},
    ...     geometry=[shapely.Point(119.95, 30.55), shapely.Point(119.6, 30.5)], crs="EPSG:4326")
    >>> out = load_pack().screen_many(sites, {"construction": "new"})
    >>> list(out.columns[:2]), len(out)
    (['industry', 'geometry'], 2)
    """
    import geopandas as gpd

    if not isinstance(sites, gpd.GeoDataFrame):
        sites = _read_sites_frame(sites, crs)
    if sites.crs is None:
        if crs is None:
            raise SiteError("the sites have no CRS; set one (sites.set_crs('EPSG:4326')) or pass crs=")
        sites = sites.set_crs(crs)
    lonlat = sites.geometry.to_crs("EPSG:4490").values
    geoms = np.asarray(lonlat, dtype=object)
    n = len(geoms)
    errors = [None] * n
    usable = np.zeros(n, dtype=bool)
    missing_geom = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    valid = ~missing_geom & shapely.is_valid(geoms)
    for i in range(n):
        if missing_geom[i]:
            errors[i] = "empty geometry"
        elif not valid[i]:
            errors[i] = f"invalid geometry: {shapely.is_valid_reason(geoms[i])}"
        elif geoms[i].geom_type not in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"):
            errors[i] = f"unsupported geometry type {geoms[i].geom_type}"
        else:
            usable[i] = True
    geoms = shapely.force_2d(geoms)
    projects = [None] * n
    raw = _rows_projects(sites, project)
    parsed = {}
    for i in np.flatnonzero(usable):
        key = repr(sorted(raw[i].items(), key=lambda kv: kv[0]))
        try:
            if key not in parsed:
                parsed[key] = (parse_project(raw[i]), {})
            projects[i] = parsed[key]
        except ZoningError as exc:
            errors[i] = str(exc)
            usable[i] = False
    tables = pack._screening
    idx = np.flatnonzero(usable)
    overlays = pack.index.overlay(geoms[idx], near_m=tables.near_m, near_layers=tables.near_layers) if len(idx) else []
    cols = {k: [None] * n for k in ("verdict", "verdict_zh", "units", "red_line", "blocking", "n_findings", "missing")}
    results = [None] * n
    source_crs = sites.crs.to_string()
    for j, i in enumerate(idx):
        ov = overlays[j]
        if ov.error:
            errors[i] = "outside the pack's region"
            continue
        proj, cache = projects[i]
        verdict, findings = _build(pack, geoms[i], {"source_crs": source_crs}, ov, proj, cache)
        d = verdict._data
        cols["verdict"][i] = d["verdict"]
        cols["verdict_zh"][i] = d["verdict_zh"]
        cols["units"][i] = ";".join(u["unit_code"] for u in d["units"])
        cols["red_line"][i] = ";".join(r["redline_id"] for r in d["red_line"])
        cols["blocking"][i] = ";".join(dict.fromkeys(f.clause_id for f in deciding_findings(d["verdict"], findings)))
        cols["n_findings"][i] = len(findings)
        cols["missing"][i] = ";".join(d["missing"])
        results[i] = verdict
    out = sites.copy()
    for k, v in cols.items():
        out[k] = v
    out["error"] = errors
    if full:
        out["result"] = results
    return out
