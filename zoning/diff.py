"""What changed between two versions of a zoning pack (``zoning diff``, contract §8).

:func:`diff_packs` compares two loaded packs and returns plain data: features of the
units, red-line and zones layers matched by id (added, removed, changed in geometry or
fields), clauses by id, quotas by ``(scope, resource)`` and rasters by content.
:func:`render_diff_text` is its bilingual text for a reviewer. Framework-free; the
command is :mod:`zoning.cli.diff`, the map :func:`zoning.maps.diff_map`.

Geometry: a feature has *moved* when the area of the symmetric difference of its old and
new shapes, on the CGCS2000 3° Gauss–Krüger zone of its (old) centroid, is larger than the
new pack's ``tolerance_m2``. Shapes are compared with exact equality first; only the
features that are not equal are projected and differenced, so a province pack with few
edits is compared in seconds.
"""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from zoning import vocab
from zoning.crs import CGCS2000, gk_zone_epsg
from zoning.pack import LAYER_IDS

__all__ = ["diff_packs", "render_diff_text", "diff_is_empty", "LAYER_NAMES_ZH"]

#: The layers compared, with their Chinese names.
LAYER_NAMES_ZH = {"units": "环境管控单元", "red_line": "生态保护红线", "zones": "要素管控分区"}
_MANIFEST_KEYS = ("id", "name", "version", "effective", "region", "crs", "tolerance_m2")
_RASTER_KEYS = ("band", "pollutant", "unit", "standard", "statistic")


def _pack(p):
    if isinstance(p, str | Path):
        from zoning.pack import load_pack

        return load_pack(p)
    return p


def _same_values(a, b):
    """Elementwise equality of two aligned object arrays; missing equals missing."""
    a_na, b_na = pd.isna(a), pd.isna(b)
    with np.errstate(all="ignore"):
        eq = np.fromiter((x == y if not (na_x or na_y) else False for x, y, na_x, na_y in zip(a, b, a_na, b_na)), bool, len(a))
    return eq | (a_na & b_na)


def _column(frame, name, index):
    if name in frame.columns:
        return frame[name].astype(object).to_numpy()
    return np.full(len(index), None, dtype=object)


def _gk_areas(old_geoms, new_geoms):
    """Per pair: (area of the symmetric difference, old area, new area) on the GK zone of the old centroid."""
    n = len(old_geoms)
    sym = np.zeros(n)
    a_old = np.zeros(n)
    a_new = np.zeros(n)
    if not n:
        return sym, a_old, a_new
    lon = shapely.get_x(shapely.centroid(old_geoms))
    epsg = np.fromiter((gk_zone_epsg(x) for x in lon), np.int64, n)
    import geopandas as gpd

    for code in np.unique(epsg):
        k = np.flatnonzero(epsg == code)
        o = gpd.GeoSeries(old_geoms[k], crs=CGCS2000).to_crs(int(code)).values
        w = gpd.GeoSeries(new_geoms[k], crs=CGCS2000).to_crs(int(code)).values
        sym[k] = shapely.area(shapely.symmetric_difference(o, w))
        a_old[k] = shapely.area(o)
        a_new[k] = shapely.area(w)
    return sym, a_old, a_new


def _layer_diff(old, new, id_field, tolerance):
    empty = {"added": [], "removed": [], "changed": []}
    if (old is None or not len(old)) and (new is None or not len(new)):
        return empty
    old_ids = old[id_field].astype(object).to_numpy() if old is not None else np.array([], dtype=object)
    new_ids = new[id_field].astype(object).to_numpy() if new is not None else np.array([], dtype=object)
    old_set, new_set = set(old_ids.tolist()), set(new_ids.tolist())
    added = [i for i in dict.fromkeys(new_ids.tolist()) if i not in old_set]
    removed = [i for i in dict.fromkeys(old_ids.tolist()) if i not in new_set]
    common = [i for i in dict.fromkeys(old_ids.tolist()) if i in new_set]
    if not common:
        return {"added": added, "removed": removed, "changed": []}
    o = old.drop_duplicates(id_field).set_index(id_field).loc[common]
    w = new.drop_duplicates(id_field).set_index(id_field).loc[common]
    geom_o, geom_w = o.geometry.name, w.geometry.name
    og = np.asarray(o.geometry.values, dtype=object)
    ng = np.asarray(w.geometry.values, dtype=object)
    # equal coordinates: unchanged, and no projection needed
    differ = ~shapely.equals_exact(og, ng, 0.0)
    moved = np.zeros(len(common), bool)
    change = np.zeros(len(common))
    sym_all = np.zeros(len(common))
    if differ.any():
        k = np.flatnonzero(differ)
        sym, a_old, a_new = _gk_areas(og[k], ng[k])
        sym_all[k] = sym
        moved[k] = sym > tolerance
        change[k] = a_new - a_old
    fields = [c for c in dict.fromkeys([*o.columns, *w.columns]) if c not in (geom_o, geom_w)]
    changed_fields = np.zeros((len(common), len(fields)), bool)
    for j, c in enumerate(fields):
        changed_fields[:, j] = ~_same_values(_column(o, c, common), _column(w, c, common))
    out = []
    for i in np.flatnonzero(moved | changed_fields.any(axis=1)):
        out.append({
            "id": common[i],
            "area_change_m2": round(float(change[i]), 2),
            "fields": [fields[j] for j in np.flatnonzero(changed_fields[i])],
            "geometry_changed": bool(moved[i]),
            "symmetric_difference_m2": round(float(sym_all[i]), 2),
        })
    return {"added": added, "removed": removed, "changed": out}


def _clause_diff(old, new):
    o = {c.id: c.model_dump(mode="json") for c in old.clauses}
    w = {c.id: c.model_dump(mode="json") for c in new.clauses}
    return {
        "added": [i for i in w if i not in o],
        "removed": [i for i in o if i not in w],
        "changed": [i for i in w if i in o and o[i] != w[i]],
    }


def _plain(x):
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


def _quota_diff(old, new):
    def table(q):
        if q is None or not len(q):
            return {}
        return {(str(r.scope), str(r.resource)): (_plain(r.cap), _plain(r.used), _plain(r.remaining)) for r in q.itertuples(index=False)}

    o, w = table(old.quotas), table(new.quotas)
    added = [{"scope": s, "resource": r, "new_remaining": w[(s, r)][2]} for (s, r) in w if (s, r) not in o]
    removed = [{"scope": s, "resource": r, "old_remaining": o[(s, r)][2]} for (s, r) in o if (s, r) not in w]
    changed = []
    for key in w:
        if key in o and o[key] != w[key]:
            (oc, ou, orem), (nc, nu, nrem) = o[key], w[key]
            changed.append({"scope": key[0], "resource": key[1], "old_remaining": orem, "new_remaining": nrem,
                            "old_cap": oc, "new_cap": nc, "old_used": ou, "new_used": nu})
    return {"added": added, "removed": removed, "changed": changed}


def _file_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _raster_diff(old, new):
    o, w = old.rasters, new.rasters
    changed = []
    for name in w:
        if name not in o:
            continue
        a, b = o[name], w[name]
        meta = any(getattr(a, k, None) != getattr(b, k, None) for k in _RASTER_KEYS)
        if meta or _file_hash(a.path) != _file_hash(b.path):
            changed.append(name)
    return {"added": [n for n in w if n not in o], "removed": [n for n in o if n not in w], "changed": changed}


def _manifest_diff(old, new):
    def value(p, k):
        v = getattr(p.manifest, k, None)
        return v.isoformat() if hasattr(v, "isoformat") else v

    return {"changed": [k for k in _MANIFEST_KEYS if value(old, k) != value(new, k)]}


def diff_packs(old, new):
    """Compare two versions of a pack; return the §8 diff as plain data.

    Parameters
    ----------
    old, new : Pack or path
        The two packs (a path is loaded with :func:`zoning.load_pack`).

    Returns
    -------
    dict
        ``old``/``new`` (id, version, digest); ``units``, ``red_line``, ``zones`` with
        ``added``/``removed`` (ids) and ``changed`` (``id``, ``area_change_m2`` = new − old
        area, ``fields`` whose values differ, and ``geometry_changed``,
        ``symmetric_difference_m2``); ``clauses`` (ids added, removed, changed in any
        field); ``quotas`` by ``(scope, resource)`` (``changed`` with ``old_remaining`` and
        ``new_remaining``, and the caps and used amounts); ``rasters`` (``changed``: file
        content or pack.yaml entry differ; also ``added``, ``removed``); ``manifest``
        (``changed``: pack.yaml keys such as ``version``).

    Examples
    --------
    >>> from zoning import load_pack
    >>> pack = load_pack()
    >>> d = diff_packs(pack, pack)
    >>> d["units"], d["clauses"]["changed"], diff_is_empty(d)
    ({'added': [], 'removed': [], 'changed': []}, [], True)
    """
    old, new = _pack(old), _pack(new)
    tolerance = float(new.tolerance_m2)
    out = {
        "old": {"id": old.id, "version": old.version, "digest": old.digest},
        "new": {"id": new.id, "version": new.version, "digest": new.digest},
    }
    for layer, id_field in LAYER_IDS.items():
        out[layer] = _layer_diff(getattr(old, layer), getattr(new, layer), id_field, tolerance)
    out["clauses"] = _clause_diff(old, new)
    out["quotas"] = _quota_diff(old, new)
    out["rasters"] = _raster_diff(old, new)
    out["manifest"] = _manifest_diff(old, new)
    out["tolerance_m2"] = tolerance
    return out


def diff_is_empty(diff):
    """Whether a diff found no change in features, clauses, quotas, rasters or pack.yaml."""
    return not any(v for key, part in diff.items() if isinstance(part, dict) and key not in ("old", "new") for v in part.values())


def _num(x):
    return "—" if x is None else f"{x:,.0f}" if isinstance(x, int | float) else str(x)


def render_diff_text(diff):
    """The diff as bilingual text for a reviewer (Chinese first)."""
    bar = "=" * 72
    o, w = diff["old"], diff["new"]
    lines = [bar, f"数据包版本对比 Pack diff: {o['id']} {o['version']} → {w['id']} {w['version']}", bar,
             f"  旧 old: {o['digest']}", f"  新 new: {w['digest']}"]
    if diff_is_empty(diff):
        lines += ["", "无变化 No changes: 两个版本的要素、条款、资源上线和栅格完全相同 the two versions have the same features, clauses, quotas and rasters."]
        return "\n".join(lines) + "\n"
    if diff.get("manifest", {}).get("changed"):
        lines += ["", "清单文件 pack.yaml: 变更 changed " + ", ".join(diff["manifest"]["changed"])]
    for layer, zh in LAYER_NAMES_ZH.items():
        part = diff[layer]
        lines += ["", f"{zh} {layer}: 新增 added {len(part['added'])}, 删除 removed {len(part['removed'])}, 变更 changed {len(part['changed'])}"]
        for i in part["added"]:
            lines.append(f"  + 新增 added    {i}")
        for i in part["removed"]:
            lines.append(f"  - 删除 removed  {i}")
        for c in part["changed"]:
            what = []
            if c.get("geometry_changed"):
                what.append(f"边界变化 geometry moved (面积变化 area change {c['area_change_m2']:+,.1f} m², 差异面积 symmetric difference {c.get('symmetric_difference_m2', 0):,.1f} m²)")
            if c["fields"]:
                what.append("属性变化 fields " + ", ".join(c["fields"]))
            lines.append(f"  ~ 变更 changed  {c['id']}: " + "; ".join(what))
    part = diff["clauses"]
    lines += ["", f"准入条款 clauses: 新增 added {len(part['added'])}, 删除 removed {len(part['removed'])}, 变更 changed {len(part['changed'])}"]
    for key, sign, zh in (("added", "+", "新增 added   "), ("removed", "-", "删除 removed "), ("changed", "~", "变更 changed ")):
        for i in part[key]:
            lines.append(f"  {sign} {zh} {i}")
    part = diff["quotas"]
    lines += ["", f"资源利用上线 quotas: 新增 added {len(part['added'])}, 删除 removed {len(part['removed'])}, 变更 changed {len(part['changed'])}"]
    for q in part["added"]:
        lines.append(f"  + 新增 added    {q['scope']} {q['resource']}: 剩余 remaining {_num(q['new_remaining'])}")
    for q in part["removed"]:
        lines.append(f"  - 删除 removed  {q['scope']} {q['resource']}: 剩余 remaining {_num(q['old_remaining'])}")
    for q in part["changed"]:
        label = vocab.RESOURCES.get(q["resource"], (q["resource"],))[0]
        lines.append(f"  ~ 变更 changed  {q['scope']} {label} {q['resource']}: 剩余 remaining {_num(q['old_remaining'])} → {_num(q['new_remaining'])}"
                     f" (上限 cap {_num(q.get('old_cap'))} → {_num(q.get('new_cap'))}, 已用 used {_num(q.get('old_used'))} → {_num(q.get('new_used'))})")
    part = diff["rasters"]
    if any(part.values()):
        lines += ["", "环境质量栅格 rasters: " + "; ".join(f"{zh} {k} " + ", ".join(part[k]) for k, zh in (("added", "新增"), ("removed", "删除"), ("changed", "变更")) if part.get(k))]
    lines += ["", f"几何容差 geometry tolerance: {diff.get('tolerance_m2', 1.0):g} m² (差异面积不超过容差视为未变 moves within it count as unchanged)"]
    return "\n".join(lines) + "\n"
