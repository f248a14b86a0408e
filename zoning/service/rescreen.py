"""Re-screen stored screening records on a new pack version (``zoning rescreen``, contract §8).

Each record's stored request holds the site as screened (CGCS2000 lon/lat, after any
``crs``/GCJ-02/BD-09 conversion and repair: see :meth:`zoning.service.handlers.Service._compute`)
and the project as screened (form fields and file attributes merged), so a record is
screened again exactly as it was, only on the new pack. Records are screened in batches
with the bulk engine (:meth:`zoning.Pack.screen_many`, ``full=True``); nothing is written
to the store.

:func:`explain` says what made two verdicts differ, in a few ``;``-joined phrases:

>>> old = {"verdict": "permitted", "units": [{"unit_code": "ZH33052130001", "category": "general"}], "findings": []}
>>> new = {"verdict": "prohibited", "units": [{"unit_code": "ZH33052130001", "category": "priority"}],
...        "findings": [{"clause_id": "T-PRI-01", "effect": "prohibit", "where": "ZH33052130001"}]}
>>> explain(old, new)
'T-PRI-01 fires only in new (prohibit at ZH33052130001); unit ZH33052130001 category general→priority'
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import shapely.geometry

from zoning.project import PROJECT_KEYS

__all__ = ["COLUMNS", "RescreenStats", "rescreen", "explain"]

#: The columns of CHANGES.csv, in order (contract §8).
COLUMNS = ("screening_id", "old_verdict", "new_verdict", "changed", "old_pack_version", "new_pack_version", "reason")

BATCH = 500


@dataclasses.dataclass
class RescreenStats:
    """What a run saw: records read, re-screened, changed, skipped (other pack id) and unscreenable."""

    records: int = 0
    screened: int = 0
    changed: int = 0
    other_pack: dict = dataclasses.field(default_factory=dict)  # {pack_id: count}
    failed: int = 0

    @property
    def skipped(self):
        return sum(self.other_pack.values())


def rescreen(pack, records, stats=None, *, batch=BATCH):
    """Screen stored records again on ``pack``; yield one CHANGES row (a dict of :data:`COLUMNS`) per record.

    Parameters
    ----------
    pack : zoning.Pack
        The new pack (version).
    records : iterable of dict
        Stored records as :meth:`zoning.service.store.RecordReader.records` gives them.
        Records of another pack id are skipped (counted in ``stats.other_pack``).
    stats : RescreenStats, optional
        Filled in as the rows are made.
    """
    stats = stats if stats is not None else RescreenStats()
    pending = []
    for rec in records:
        stats.records += 1
        if rec.get("pack_id") != pack.id:
            stats.other_pack[rec.get("pack_id")] = stats.other_pack.get(rec.get("pack_id"), 0) + 1
            continue
        pending.append(rec)
        if len(pending) >= batch:
            yield from _screen_batch(pack, pending, stats)
            pending = []
    if pending:
        yield from _screen_batch(pack, pending, stats)


def _site_and_project(rec):
    """``(geometry, project)`` of a stored request, or ``(None, why)``."""
    req = rec.get("request")
    if not isinstance(req, dict) or not isinstance(req.get("site"), dict):
        return None, "the stored request has no site"
    try:
        geom = shapely.geometry.shape(req["site"])
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        return None, f"the stored site cannot be read ({type(e).__name__})"
    project = req.get("project")
    return geom, project if isinstance(project, dict) else {}


def _screen_batch(pack, recs, stats):
    geoms, projects, where = [], [], {}
    errors = {}
    for i, rec in enumerate(recs):
        geom, project = _site_and_project(rec)
        if geom is None:
            errors[i] = project
            continue
        where[i] = len(geoms)
        geoms.append(geom)
        projects.append(project)
    results = {}
    if geoms:
        columns = {k: [p.get(k) for p in projects] for k in PROJECT_KEYS if any(p.get(k) is not None for p in projects)}
        frame = gpd.GeoDataFrame(columns, geometry=geoms, crs="EPSG:4490")
        out = pack.screen_many(frame, full=True)
        results = dict(enumerate(zip(out["result"], out["error"])))
    for i, rec in enumerate(recs):
        old = rec.get("result") if isinstance(rec.get("result"), dict) else {}
        row = {
            "screening_id": rec["id"],
            "old_verdict": rec.get("verdict") or old.get("verdict", ""),
            "old_pack_version": rec.get("pack_version", ""),
            "new_pack_version": pack.version,
        }
        verdict, error = results.get(where.get(i), (None, errors.get(i)))
        if verdict is None:
            stats.failed += 1
            stats.changed += 1
            row.update(new_verdict="", changed="true", reason=f"cannot be screened again: {error or 'no verdict'}")
        else:
            new = verdict.to_dict()
            changed = new["verdict"] != row["old_verdict"]
            stats.screened += 1
            stats.changed += changed
            reason = explain(old, new)
            if changed and not reason:
                engines = ((old.get("engine") or {}).get("version"), (new.get("engine") or {}).get("version"))
                reason = "no finding differs" + (f"; engine {engines[0]}→{engines[1]}" if engines[0] != engines[1] else "")
            row.update(new_verdict=new["verdict"], changed="true" if changed else "false", reason=reason)
        yield {k: row[k] for k in COLUMNS}


# ----------------------------------------------------------------------------- reasons

def _findings(v):
    """``{(clause_id, where): effect}`` of the clause findings (quota findings are told by the quota lines)."""
    out = {}
    for f in v.get("findings") or ():
        cid = str(f.get("clause_id", ""))
        if cid.startswith("quota:"):
            continue
        out[(cid, str(f.get("where") or ""))] = str(f.get("effect", ""))
    return out


def _by(v, section, key):
    return {str(e.get(key)): e for e in v.get(section) or () if isinstance(e, dict) and e.get(key) is not None}


def _at(where):
    return f" at {where}" if where else ""


def explain(old, new):
    """The differences between two verdict dicts (contract §3) that bear on the verdict, ``;``-joined.

    Clause findings present in one only (or with another effect), units, red lines and zones
    touched in one only (or with another category / zone type), features that came within a
    clause's ``near`` distance or left it, rasters that started or stopped exceeding their
    standard, quota status changes and attributes newly or no longer missing. Empty when
    none differ.
    """
    parts = []
    fo, fn = _findings(old), _findings(new)
    for key in sorted(fo.keys() | fn.keys()):
        cid, where = key
        if key not in fo:
            parts.append(f"{cid} fires only in new ({fn[key]}{_at(where)})")
        elif key not in fn:
            parts.append(f"{cid} fires only in old ({fo[key]}{_at(where)})")
        elif fo[key] != fn[key]:
            parts.append(f"{cid} {fo[key]}→{fn[key]}{_at(where)}")
    for section, key, label, field in (("units", "unit_code", "unit", "category"), ("red_line", "redline_id", "red line", None),
                                       ("zones", "zone_id", "zone", "zone_type")):
        o, n = _by(old, section, key), _by(new, section, key)
        for fid in sorted(o.keys() | n.keys()):
            if fid not in o:
                parts.append(f"{label} {fid} touched only in new")
            elif fid not in n:
                parts.append(f"{label} {fid} touched only in old")
            elif field and o[fid].get(field) != n[fid].get(field):
                parts.append(f"{label} {fid} {field} {o[fid].get(field)}→{n[fid].get(field)}")
    o = {(str(e.get("layer")), str(e.get("id"))): e for e in old.get("near") or ()}
    n = {(str(e.get("layer")), str(e.get("id"))): e for e in new.get("near") or ()}
    for layer, fid in sorted(o.keys() ^ n.keys()):
        parts.append(f"near {layer} {fid} only in {'new' if (layer, fid) in n else 'old'}")
    o, n = _by(old, "rasters", "name"), _by(new, "rasters", "name")
    for name in sorted(o.keys() & n.keys()):
        if bool(o[name].get("exceeds")) != bool(n[name].get("exceeds")):
            parts.append(f"raster {name} {'now exceeds' if n[name].get('exceeds') else 'no longer exceeds'} its standard")
    o = {(str(q.get("scope")), str(q.get("resource"))): q for q in old.get("quotas") or ()}
    n = {(str(q.get("scope")), str(q.get("resource"))): q for q in new.get("quotas") or ()}
    for scope, resource in sorted(o.keys() | n.keys()):
        qo, qn = o.get((scope, resource)), n.get((scope, resource))
        so, sn = (qo or {}).get("status", "none"), (qn or {}).get("status", "none")
        if so != sn:
            parts.append(f"quota {scope}:{resource} {so}→{sn}" + (f" (remaining {qo.get('remaining')}→{qn.get('remaining')})" if qo and qn else ""))
    mo, mn = set(old.get("missing") or ()), set(new.get("missing") or ())
    if mn - mo:
        parts.append("needs " + ", ".join(sorted(mn - mo)) + " only in new")
    if mo - mn:
        parts.append("needed " + ", ".join(sorted(mo - mn)) + " only in old")
    return "; ".join(parts)
