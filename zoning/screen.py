"""Screening: sites and a project in, verdicts out — one engine for one site and for many.

:func:`screen_many` runs the columnar engine (:mod:`zoning.overlay` for the geometry,
:mod:`zoning.bulk` for the clauses) over a GeoDataFrame and returns verdict columns;
:func:`screen` is the same engine on one row, with the full
:class:`~zoning.verdict.Verdict` built from that row. Full verdicts are built only when
asked (``full=True``) and are checked against the columns, so the two never disagree.
"""

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from zoning import __version__, vocab
from zoning.bulk import VERDICT_OF_CODE, ClausePlan, verdict_columns
from zoning.errors import SiteError, ZoningError
from zoning.overlay import LAYERS, LINE, POINT, POLYGON, outside_error
from zoning.pack import LAYER_FIELDS, LAYER_IDS
from zoning.project import PROJECT_KEYS, Project, _blank, parse_project
from zoning.rules import evaluate, quota_findings, quota_table
from zoning.verdict import Verdict, decide, deciding_findings, stated_area_fields

__all__ = ["screen", "screen_many", "near_distance", "near_layers", "ScreeningTables", "CHUNK_SITES", "ACCESS_LIST_FIELDS"]

#: The optional unit fields holding the access-list (准入清单) text of the four dimensions
#: (contract §9), in the order of :data:`zoning.vocab.DIMENSIONS`.
ACCESS_LIST_FIELDS = tuple(vocab.DIMENSIONS)

#: screen_many works through this many sites at a time (bounds the (site × clause) arrays).
CHUNK_SITES = 10_000
_CGCS2000 = CRS.from_user_input("EPSG:4490")
_VERDICTS = np.array(VERDICT_OF_CODE, dtype=object)
_VERDICTS_ZH = np.array([vocab.VERDICTS[v] for v in VERDICT_OF_CODE], dtype=object)
#: shapely type ids of the geometry types a site may have.
_SITE_TYPES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon"}


@dataclass
class _Context:
    """What one site touches, as :func:`zoning.rules.clause_places` reads it."""

    units: list
    red_line: list
    zones: list
    near: list
    near_level: list  # per near entry: the smallest near distance of the pack it lies within
    rasters: dict
    region: str
    zone_match: dict  # clause id -> ids of the zones its zone types name (rules.zone_matches)


def near_distance(pack):
    """The largest ``within_m`` any near clause of the pack uses (0 if none)."""
    return max((c.applies_in.near.within_m for c in pack.clauses if c.applies_in.near is not None), default=0.0)


def near_layers(pack):
    """The distances near clauses test, by layer: ``{"red_line": (500.0, 1000.0), …}``.

    Every layer near clauses look at also gets :func:`near_distance`, the reach of the
    verdict's ``near`` list.
    """
    out = {}
    for c in pack.clauses:
        near = c.applies_in.near
        if near is not None:
            out.setdefault(near.layer or "zones", set()).add(float(near.within_m))
    reach = near_distance(pack)
    return {layer: tuple(sorted(ds | {reach})) for layer, ds in sorted(out.items())}


class ScreeningTables:
    """What screening looks up for every site, derived once per pack (``Pack._screening``).

    ``records``: per layer, the verdict entry of each row (required fields, ``subtype``,
    other fields as ``attributes``); ``ids``: each layer's id column as an array;
    ``near``: the distances near clauses test, by layer (:func:`near_layers`);
    ``quotas``: quotas by scope; ``plan``: the clauses as arrays (:class:`zoning.bulk.ClausePlan`).
    """

    def __init__(self, pack):
        self.records = {name: _LayerRecords(getattr(pack, name), fields) for name, fields in LAYER_FIELDS.items()}
        self.ids = {name: getattr(pack, name)[LAYER_IDS[name]].to_numpy(dtype=object) for name in LAYERS}
        self.near = near_layers(pack)
        self.quotas = quota_table(pack.quotas)
        self.plan = ClausePlan(pack, self.quotas)
        self.zone_match = self.plan.zone_match
        self._clauses = pack.clauses

    @cached_property
    def coded_units(self):
        """The unit codes some unit-tier clause names in ``applies_in.unit_codes`` (made on first need)."""
        return frozenset(code for c in self._clauses if c.tier == "unit" for code in (c.applies_in.unit_codes or ()))


class _LayerRecords:
    """The verdict entry of each row of a layer, made on first need (a screening reads a few)."""

    def __init__(self, gdf, fields):
        self._fields = fields
        self._columns = {c: gdf[c].to_numpy(dtype=object) for c in gdf.columns if c != gdf.geometry.name}
        units = "unit_code" in fields
        # The list text of units is shown as ``access_list``, never again among the attributes.
        own = set(ACCESS_LIST_FIELDS) if units else set()
        self._extra = [c for c in self._columns if c not in fields and c != "subtype" and c not in own]
        self._unit_subtype = "subtype" in self._columns and units
        self._access_list = units
        self._made = {}

    def __getitem__(self, row):
        row = int(row)
        entry = self._made.get(row)
        if entry is None:
            cols = self._columns
            entry = {f: _plain(cols[f][row]) if f in cols else None for f in self._fields}
            if self._unit_subtype and _plain(cols["subtype"][row]) is not None:
                entry["subtype"] = _plain(cols["subtype"][row])
            if self._access_list:
                entry["access_list"] = {k: _list_text(cols[k][row]) if k in cols else None for k in ACCESS_LIST_FIELDS}
            attrs = {c: _plain(cols[c][row]) for c in self._extra if _plain(cols[c][row]) is not None}
            if attrs:
                entry["attributes"] = attrs
            self._made[row] = entry
        return entry


def _list_text(value):
    """A unit's list text of one dimension: the stripped text, or None when absent or blank."""
    value = _plain(value)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


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


# ----------------------------------------------------------------------------
# the engine: one call over many sites


@dataclass
class _Run:
    """One engine call: the overlay table, the projects' outcomes and the verdict columns."""

    table: object
    columns: object
    outcomes: list


def _run(pack, geoms, group, projects):
    tables = pack._screening
    table = pack.index.overlay(geoms, near=tables.near)
    exceed = {}
    for name, ref in pack.rasters.items():
        mean, mx = table.rasters.get(name, (np.full(table.n, np.nan), np.full(table.n, np.nan)))
        value = mean if ref.statistic == "mean" else mx
        exceed[name] = np.fromiter((_exceeds(v, ref.standard) for v in value.tolist()), bool, table.n)
    outcomes = [tables.plan.outcomes(p) for p in projects]
    columns = verdict_columns(tables.plan, table, np.asarray(group, dtype=np.int64), outcomes, exceed)
    return _Run(table, columns, outcomes)


def _exceeds(value, standard):
    """Whether a raster statistic exceeds its standard, compared as the verdict shows it (4 decimals)."""
    return value is not None and value == value and round(value, 4) > standard


def _slice(pairs, i):
    a, b = np.searchsorted(pairs.site, [i, i + 1])
    return range(int(a), int(b))


def _overlap_entries(records, pairs, i, kind):
    out = []
    for k in _slice(pairs, i):
        rec = records[pairs.feat[k]]
        entry = {key: v for key, v in rec.items() if key not in ("attributes", "access_list")}
        if kind == "polygon":
            entry["overlap_m2"] = round(float(pairs.amount[k]), 2)
        elif kind == "line":
            entry["overlap_m"] = round(float(pairs.amount[k]), 2)
        entry["overlap_share"] = round(float(pairs.share[k]), 6)
        if "access_list" in rec:
            entry["access_list"] = dict(rec["access_list"])
        if "attributes" in rec:
            entry["attributes"] = dict(rec["attributes"])
        out.append(entry)
    return out


def _context(pack, run, i):
    tables = pack._screening
    recs = tables.records
    table = run.table
    kind = table.kind_name(i)
    units, red, zones = (_overlap_entries(recs[name], table.pairs[name], i, kind) for name in LAYERS)
    near = []
    for layer in LAYERS:
        p = table.near[layer]
        rows = _slice(p, i)
        if not len(rows):
            continue
        # Distances only for the verdict's text: which features count is the overlay's test.
        feats = pack.index.feature_geometries(int(table.epsg[i]), layer, p.feat[rows.start : rows.stop])
        dist = shapely.distance(table.geometry_gk[i], feats)
        overlapping = set()  # overlapped or touched: at 0 m
        for pairs in (table.pairs[layer], table.touching[layer]):
            r = _slice(pairs, i)
            overlapping.update(pairs.feat[r.start : r.stop].tolist())
        for k, d in zip(rows, dist):
            feat = int(p.feat[k])
            rec = recs[layer][feat]
            entry = {"layer": layer, "id": rec[LAYER_IDS[layer]], "distance_m": 0.0 if feat in overlapping else round(float(d), 2)}
            name = rec.get("unit_name") or rec.get("name")
            if name:
                entry["name"] = name
            if layer == "zones":
                entry["zone_type"] = rec["zone_type"]
            if layer == "units":
                entry["category"] = rec["category"]
            near.append((entry, float(p.amount[k])))
    near.sort(key=lambda e: (e[0]["distance_m"], e[0]["layer"], e[0]["id"]))
    rasters = {}
    for name, ref in pack.rasters.items():
        mean, mx = (float(a[i]) for a in table.rasters[name]) if name in table.rasters else (np.nan, np.nan)
        mean = None if np.isnan(mean) else mean
        mx = None if np.isnan(mx) else mx
        value = mean if ref.statistic == "mean" else mx
        rasters[name] = {
            "name": name,
            "statistic": ref.statistic,
            "value": None if value is None else round(value, 4),
            "standard": ref.standard,
            "exceeds": _exceeds(value, ref.standard),
            "unit": ref.unit,
            "pollutant": ref.pollutant,
            "mean": None if mean is None else round(mean, 4),
            "max": None if mx is None else round(mx, 4),
        }
    return _Context(units, red, zones, [e for e, _ in near], [lv for _, lv in near], rasters, pack.region, tables.zone_match)


def _warnings(pack, run, i, ctx):
    table = run.table
    out = []
    if table.outside_share[i] > 0:
        out.append(f"{table.outside_share[i]:.1%} of the site lies outside the pack's region {pack.region}; only the part inside was screened")
    ids = pack._screening.ids
    unit = "m²" if table.kind[i] == POLYGON else "m"
    for layer in sorted(LAYERS):
        p = table.touching[layer]
        for k in _slice(p, i):
            ident = ids[layer][p.feat[k]]
            amount = float(p.amount[k])
            if amount > 0:
                out.append(f"the site touches {layer} {ident} with an overlap of {amount:.3f} {unit}, below the tolerance; counted as touching, not overlapping")
            else:
                out.append(f"the site touches {layer} {ident} along its boundary; touching is not overlapping")
    for r in ctx.rasters.values():
        if r["value"] is None:
            out.append(f"raster {r['name']} has no data over the site; clauses on it were not checked")
    coded = None
    for u in ctx.units:
        if not any((u.get("access_list") or {}).values()):
            continue
        coded = pack._screening.coded_units if coded is None else coded
        if u["unit_code"] not in coded:
            out.append(
                f"单元 {u['unit_code']}（{u.get('unit_name') or ''}）的准入清单文本未编码为规则，须由审查人员逐条阅读 — "
                f"unit {u['unit_code']} has access-list text but no unit-tier clause in rules.yaml names it in "
                f"applies_in.unit_codes: its text is not coded as rules, the reviewer must read it"
            )
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


def _verdict(pack, run, i, group, geom, project, site_meta, site_warnings=()):
    """The full :class:`Verdict` of site ``i`` of a run, checked against its columns."""
    ctx = _context(pack, run, i)
    outcome = run.outcomes[group]
    findings = evaluate(pack.clauses, ctx, project, outcome.by_id)
    quota_entries, quota_f = quota_findings(ctx, pack._screening.quotas, project)
    findings = findings + quota_f
    verdict = decide(findings)
    cols, table = run.columns, run.table
    blocking = ";".join(dict.fromkeys(f.clause_id for f in deciding_findings(verdict, findings)))
    missing = list(dict.fromkeys(m for f in findings for m in f.missing))
    if (verdict, blocking, ";".join(missing), len(findings)) != (VERDICT_OF_CODE[cols.rank[i]], cols.blocking[i], cols.missing[i], int(cols.n_findings[i])):
        raise AssertionError(  # a bug in the engine, never the user's input
            f"internal inconsistency: findings give {verdict} [{blocking}] missing [{';'.join(missing)}] ({len(findings)}), "
            f"the columns {VERDICT_OF_CODE[cols.rank[i]]} [{cols.blocking[i]}] missing [{cols.missing[i]}] ({cols.n_findings[i]})"
        )
    kind = table.kind[i]
    measure = float(table.measure[i])
    site = {
        "geometry_type": geom.geom_type,
        "area_m2": round(measure, 2) if kind == POLYGON else 0.0,
        "length_m": round(measure, 2) if kind == LINE else 0.0,
        "area_crs": f"EPSG:{int(table.epsg[i])}",
        "centroid": [round(float(table.lon[i]), 7), round(float(table.lat[i]), 7)],
        "outside_share": round(float(table.outside_share[i]), 6),
    }
    site.update(site_meta)
    warnings = list(site_warnings) + list(project.warnings) + _warnings(pack, run, i, ctx)
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
        "missing": missing,
        "warnings": warnings,
    }
    return Verdict(data, geom, pack)


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

    The same engine as :func:`screen_many`, on one row.

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
        site = read_site(site, crs=crs, webmap=webmap, repair=repair, region=tuple(pack.units.total_bounds))
    proj = _as_project(site.project, project, overrides)
    run = _run(pack, np.array([site.geometry], dtype=object), np.zeros(1, np.int64), [proj])
    if not run.table.ok[0]:
        raise outside_error(pack)
    return _verdict(pack, run, 0, 0, site.geometry, proj, {"source_crs": site.source_crs, **stated_area_fields(site.stated_areas)}, site.warnings)


# ----------------------------------------------------------------------------
# many sites


def _read_sites_frame(path, crs):
    import geopandas as gpd

    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:
        raise SiteError(f"cannot read the sites file {path}: {str(exc).splitlines()[0]}") from None
    if crs is not None:
        frame = frame.set_crs(crs, allow_override=True)
    return frame


def _is_blank(v):
    """An empty cell (None, NaN, pandas' NA/NaT); text is a value here, even blank
    (``fuel: ""`` means "burns nothing"), and :func:`parse_project` judges it."""
    return not isinstance(v, str) and _blank(v)


def _project_groups(frame, default):
    """Rows with the same project values share one parse: ``(group per row, raw dict per group)``.

    A project's ``name`` decides nothing, so rows differing only by name share a group
    (:func:`_named` puts each row's name back into its full verdict).
    """
    cols = [c for c in frame.columns if (c in PROJECT_KEYS and c != "name") or str(c).startswith("emissions.")]
    n = len(frame)
    if not cols or not n:
        return np.zeros(n, np.int64), [dict(default or {})]
    keys = pd.DataFrame({str(k): frame[c].map(repr) if frame[c].dtype == object else frame[c].astype(str) for k, c in enumerate(cols)})
    group = keys.groupby(list(keys.columns), sort=False, dropna=False).ngroup().to_numpy()
    _, first = np.unique(group, return_index=True)
    records = frame[cols].iloc[first].to_dict("records")
    raws = []
    for rec in records:
        base = dict(default or {})
        base.update({k: v for k, v in rec.items() if not _is_blank(v)})
        raws.append(base)
    return group.astype(np.int64), raws


def _named(project, names, i):
    """``project`` with row ``i``'s own name, when the rows have a ``name`` column."""
    if names is None or _is_blank(names[i]) or (isinstance(names[i], str) and not names[i].strip()):
        return project
    return dataclasses.replace(project, name=str(names[i]))


def _geometry_errors(geoms):
    """Why each geometry cannot be screened (None where it can)."""
    n = len(geoms)
    errors = [None] * n
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    types = shapely.get_type_id(geoms)
    supported = np.isin(types, list(_SITE_TYPES))
    valid = np.zeros(n, bool)
    check = ~missing & supported
    valid[check] = shapely.is_valid(geoms[check])
    for i in np.flatnonzero(~valid):
        if missing[i]:
            errors[i] = "empty geometry"
        elif not supported[i]:
            errors[i] = f"unsupported geometry type {geoms[i].geom_type}"
        else:
            errors[i] = f"invalid geometry: {shapely.is_valid_reason(geoms[i])}"
    return errors, valid


def _join_ids(ids, pairs, n):
    """Per site, the ids of its pairs joined with ``;`` (in pair order)."""
    out = np.full(n, "", dtype=object)
    if not len(pairs):
        return out
    count = pairs.counts(n)
    start = np.searchsorted(pairs.site, np.arange(n))
    values = ids[pairs.feat]
    one = count == 1
    out[one] = values[start[one]]
    for i in np.flatnonzero(count > 1):
        out[i] = ";".join(values[start[i] : start[i] + count[i]])
    return out


def screen_many(pack, sites, project=None, *, crs=None, full=False, client=None):
    """Screen every row of a GeoDataFrame (or a file of sites) separately.

    Each row is one site; project keys of contract §2 may be columns (``emissions``
    as a dict per row or flattened ``emissions.VOCs`` … columns); ``project`` gives
    defaults for keys a row leaves empty. A row's verdict, blocking clauses and missing
    attributes are exactly what :func:`screen` gives for that row alone.

    Parameters
    ----------
    pack : Pack
    sites : GeoDataFrame or path
    project : dict, optional
        Defaults for project keys the rows leave empty.
    crs : optional
        CRS of ``sites`` when it has none (or of the file).
    full : bool
        Also return the whole :class:`Verdict` of each row in ``result`` (slower).
    client : dask.distributed.Client, optional
        Run the rows in chunks on a Dask cluster (see :mod:`zoning.distributed`).

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

    if client is not None:
        from zoning.distributed import screen_many_distributed

        return screen_many_distributed(pack, sites, project, client=client, full=full)
    if not isinstance(sites, gpd.GeoDataFrame):
        sites = _read_sites_frame(sites, crs)
    if sites.crs is None:
        if crs is None:
            raise SiteError("the sites have no CRS; set one (sites.set_crs('EPSG:4326')) or pass crs=")
        sites = sites.set_crs(crs)
    lonlat = sites.geometry if sites.crs.equals(_CGCS2000) else sites.geometry.to_crs(_CGCS2000)
    geoms = np.asarray(lonlat.values, dtype=object)
    n = len(geoms)
    errors, usable = _geometry_errors(geoms)
    has_z = shapely.has_z(geoms)
    if has_z.any():
        geoms = geoms.copy()
        geoms[has_z] = shapely.force_2d(geoms[has_z])
    group, raws = _project_groups(sites, project)
    projects = []
    for k, raw in enumerate(raws):
        try:
            projects.append(parse_project(raw))
        except ZoningError as exc:
            projects.append(None)
            for i in np.flatnonzero(usable & (group == k)):
                errors[i] = str(exc)
    bad_project = np.array([p is None for p in projects], dtype=bool)
    usable &= ~bad_project[group] if n else usable
    cols = {k: np.full(n, None, dtype=object) for k in ("verdict", "verdict_zh", "units", "red_line", "blocking", "n_findings", "missing")}
    results = np.full(n, None, dtype=object)
    source_crs = sites.crs.to_string()
    names = sites["name"].to_numpy(dtype=object) if full and "name" in sites.columns else None
    idx = np.flatnonzero(usable)
    for start in range(0, len(idx), CHUNK_SITES):
        chunk = idx[start : start + CHUNK_SITES]
        groups_used, local_group = np.unique(group[chunk], return_inverse=True)
        run = _run(pack, geoms[chunk], local_group.ravel(), [projects[g] for g in groups_used])
        ok = run.table.ok
        for i in chunk[~ok]:
            errors[i] = "outside the pack's region"
        rows = chunk[ok]
        c = run.columns
        cols["verdict"][rows] = _VERDICTS[c.rank[ok]]
        cols["verdict_zh"][rows] = _VERDICTS_ZH[c.rank[ok]]
        ids = pack._screening.ids
        cols["units"][rows] = _join_ids(ids["units"], run.table.pairs["units"], run.table.n)[ok]
        cols["red_line"][rows] = _join_ids(ids["red_line"], run.table.pairs["red_line"], run.table.n)[ok]
        cols["blocking"][rows] = np.array(c.blocking, dtype=object)[ok]
        cols["missing"][rows] = np.array(c.missing, dtype=object)[ok]
        cols["n_findings"][rows] = c.n_findings[ok]
        if full:
            lg = local_group.ravel()
            for j in np.flatnonzero(ok):
                i = chunk[j]
                proj = _named(projects[groups_used[lg[j]]], names, i)
                results[i] = _verdict(pack, run, j, lg[j], geoms[i], proj, {"source_crs": source_crs})
    out = sites.copy()
    for k, v in cols.items():
        out[k] = v
    out["n_findings"] = pd.array([None if v is None else int(v) for v in cols["n_findings"]], dtype="Int64") if n else pd.array([], dtype="Int64")
    out["error"] = errors
    if full:
        out["result"] = results
    return out
