"""Reports of a verdict — HTML, PDF and DOCX, fit to file as an approval attachment (审批附件) —
the 一图一表 page, and the HTML summary of a pack.

One function, :func:`report_content`, turns a verdict into the report's content as plain
data (sections of headings, key–value rows, tables, paragraphs, the map image and the sign-off
block); the renderers only lay it out: :func:`report_html` (one self-contained HTML file),
:func:`write_pdf` (the same HTML laid out by WeasyPrint) and
:func:`zoning.docx_report.write_docx` (Word). :func:`write_report` chooses by the file's
suffix. :func:`onemap_html` is the 一图一表 page: the interactive map and one table of every
unit the site touches with its list text and the clauses that fired there.

What a report holds, in order: the record (record number, screening time in UTC and
Asia/Shanghai, the input file's name and sha256, data version, engine version); the verdict
and its reasons in Chinese and English; the project; the site and its 界址点成果表 (every
vertex on the CGCS2000 3° Gauss–Krüger zone of the site, and in lon/lat); the units, red
lines, zones, rasters and quotas it touches; the compliance table (符合性分析) of every clause
of each unit touched, fired or not; every finding by dimension; obligations; missing
information and warnings; the data and engine versions; the static map (north arrow, scale
bar, labels; a basemap from offline tiles when given); the sign-off block.

The record number is the service's ``screening_id`` when the report is made from a stored
record; otherwise ``VD-`` and the first 16 hex digits of the sha256 of the verdict's canonical
JSON (:func:`verdict_record_number`), so the same inputs and data version give the same number.

The PDF is laid out by WeasyPrint (pango) and needs a CJK font; on Debian
``apt install fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0`` (in a checkout ``make sysdeps``).
"""

import base64
import datetime as _dt
import hashlib
import html
import io
import json
import re
from functools import cache
from pathlib import Path

from markupsafe import Markup

from zoning import vocab
from zoning.errors import ZoningError
from zoning.maps import DEMO_NOTE, VERDICT_COLORS, cjk_font, is_demo
from zoning.verdict import access_list_lines, because_zh, attribute_zh, deciding_findings

__all__ = [
    "report_content", "report_html", "write_report", "write_pdf", "onemap_html", "write_onemap",
    "describe_input", "verdict_record_number", "boundary_point_table", "compliance_table",
    "pack_summary_html", "write_map", "clause_coverage", "REPORT_SUFFIXES", "COMPLIANCE",
]

#: Report file suffixes and what writes them.
REPORT_SUFFIXES = {".html": "HTML", ".htm": "HTML", ".pdf": "PDF", ".docx": "DOCX"}

#: Compliance results of a clause: key → (Chinese, English). A prohibiting finding does not
#: comply, a condition finding complies with its obligations, a needs-information finding
#: waits for the attributes it names, a clause that does not fire complies.
COMPLIANCE = {
    "fail": ("不符合", "does not comply"),
    "info": ("待补充", "information needed"),
    "conditional": ("有条件符合", "complies with conditions"),
    "pass": ("符合", "complies"),
}
_STATUS_OF_EFFECT = {"prohibit": "fail", "needs_information": "info", "condition": "conditional"}
_STATUS_RANK = {"fail": 0, "info": 1, "conditional": 2, "pass": 3}
_SHANGHAI_OFFSET = _dt.timedelta(hours=8)  # Asia/Shanghai has kept UTC+8 without DST since 1991
#: Boundary-point tables longer than this are cut (with a note) to keep a report printable.
MAX_BOUNDARY_POINTS = 5000

_PROJECT_LABELS = [
    ("name", "项目名称"),
    ("industry", "行业代码 GB/T 4754"),
    ("construction", "建设性质"),
    ("activity", "活动类型"),
    ("emissions", "排放量 t/a"),
    ("fuel", "燃料"),
    ("water_m3", "用水量 m³/a"),
    ("coal_t", "煤炭 t/a"),
    ("land_ha", "用地 ha"),
    ("energy_tce", "能耗 tce/a"),
    ("groundwater", "取用地下水"),
]


@cache
def _template(name="report.html.j2"):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(name)


def _fmt_num(x, digits=1):
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def _pct(x):
    return "—" if x is None else f"{x:.2%}"


def _overlap(entry):
    if "overlap_m2" in entry:
        return f"{entry['overlap_m2']:,.1f} m²"
    if "overlap_m" in entry:
        return f"{entry['overlap_m']:,.1f} m"
    return "point 点位"


def _project_value(key, value):
    if value is None:
        return "— (not given 未提供)"
    if key == "industry":
        from zoning.industry import industries

        table = industries()
        codes = value if isinstance(value, list) else [value]
        return "; ".join(table.describe(c) if c in table else str(c) for c in codes)
    if key == "construction":
        return f"{vocab.CONSTRUCTION.get(value, value)} {value}"
    if key == "activity":
        return f"{vocab.ACTIVITIES.get(value, value)} {value}"
    if key == "emissions":
        return ", ".join(f"{p} {v:g}" for p, v in value.items()) or "— (none 无)"
    if key == "fuel":
        return ", ".join(f"{vocab.FUELS.get(f, f)} {f}" for f in value) or "— (none 无)"
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, float | int):
        return f"{value:,g}"
    return str(value)


# ----------------------------------------------------------------------------
# the record: number, time, input file


def verdict_record_number(verdict):
    """A reproducible record number for a verdict: ``VD-`` + 16 hex digits of the sha256 of its canonical JSON.

    Canonical JSON: keys sorted, no whitespace, UTF-8 (Chinese unescaped). The same site,
    project and pack give the same verdict JSON (:meth:`Verdict.to_json` is deterministic),
    hence the same number; any change to the verdict changes it.

    Examples
    --------
    >>> import zoning
    >>> pack = zoning.load_pack()
    >>> a = verdict_record_number(pack.screen("119.95,30.55", {"industry": "6550"}))
    >>> a == verdict_record_number(pack.screen("119.95,30.55", {"industry": "6550"})), a[:3], len(a)
    (True, 'VD-', 19)
    >>> a == verdict_record_number(pack.screen("119.95,30.55", {"industry": "2614"}))
    False
    """
    d = verdict.to_dict() if hasattr(verdict, "to_dict") else dict(verdict)
    d.pop("screening_id", None)
    canonical = json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return "VD-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_LONLAT = re.compile(r"^\s*-?\d+(\.\d+)?\s*[, ]\s*-?\d+(\.\d+)?\s*$")


def describe_input(site, data=None):
    """What a report says about the site's input: its name, size and sha256.

    Parameters
    ----------
    site : str or pathlib.Path
        What was screened, as the CLI took it: a file path (``FILE::LAYER`` allowed),
        ``-`` (stdin), or inline ``lon,lat`` coordinates.
    data : bytes, optional
        The bytes that were read (stdin, or an uploaded file named ``site``); digested
        instead of reading ``site`` from disk.

    Returns
    -------
    dict
        ``kind`` (``file`` | ``stdin`` | ``upload`` | ``inline``), ``name``, ``layer``,
        ``bytes``, ``sha256`` (hex, None for inline coordinates) and ``parts`` (the other
        files of a shapefile, each ``{name, bytes, sha256}``).

    Raises
    ------
    ZoningError
        When ``site`` names no readable file and is not inline coordinates.

    Examples
    --------
    >>> describe_input("119.95,30.55")["kind"]
    'inline'
    >>> describe_input("-", data=b"{}")["sha256"][:12]
    '44136fa355b3'
    """
    if data is not None:
        data = bytes(data)
        kind = "stdin" if str(site) == "-" else "upload"
        name = "标准输入 stdin" if kind == "stdin" else Path(str(site)).name
        return {"kind": kind, "name": name, "layer": None, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "parts": []}
    text = str(site)
    path, layer = Path(text), None
    if not path.exists() and "::" in text:
        head, _, layer = text.rpartition("::")
        path = Path(head)
    if path.is_file():
        parts = []
        if path.suffix.lower() == ".shp":
            for suffix in _SHAPEFILE_PARTS[1:]:
                for other in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
                    if other.is_file():
                        parts.append({"name": other.name, "bytes": other.stat().st_size, "sha256": _sha256_file(other)})
                        break
        return {"kind": "file", "name": path.name, "layer": layer, "bytes": path.stat().st_size, "sha256": _sha256_file(path), "parts": parts}
    if _LONLAT.match(text):
        return {"kind": "inline", "name": text.strip(), "layer": None, "bytes": None, "sha256": None, "parts": []}
    if path.is_dir():
        raise ZoningError(f"the site {text!r} is a directory; a report digests one input file (e.g. site.gpkg::layer)")
    raise ZoningError(f"the site {text!r} is neither a readable file nor lon,lat coordinates; cannot record its digest")


def _input_rows(source):
    if source is None:
        return [["输入文件 input", "未记录（由 Python 调用生成，未给出输入文件）not recorded: the report was made without naming an input file"]]
    if source["kind"] == "inline":
        return [["输入 input", f"坐标直接输入，无输入文件 coordinates given inline, no input file: {source['name']}"]]
    label = {"file": "输入文件 input file", "stdin": "输入 input (stdin)", "upload": "上传文件 uploaded file"}[source["kind"]]
    name = source["name"] + (f" (图层 layer {source['layer']})" if source.get("layer") else "")
    rows = [[label, f"{name} — {source['bytes']:,} bytes"], ["文件摘要 file SHA-256", {"text": source["sha256"], "style": "mono"}]]
    for part in source.get("parts") or ():
        rows.append([f"附属文件 {part['name']}", {"text": f"{part['sha256']} ({part['bytes']:,} bytes)", "style": "mono"}])
    return rows


def _times(screened_at):
    if screened_at is None:
        when = _dt.datetime.now(_dt.timezone.utc)
    elif isinstance(screened_at, str):
        try:
            when = _dt.datetime.fromisoformat(screened_at.replace("Z", "+00:00"))
        except ValueError:
            raise ZoningError(f"screened_at {screened_at!r} is not an ISO 8601 time; expected e.g. 2024-06-01T08:00:00Z") from None
    elif isinstance(screened_at, _dt.datetime):
        when = screened_at
    else:
        raise ZoningError(f"screened_at must be a datetime or ISO 8601 text, got {type(screened_at).__name__}")
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)  # naive times are UTC, as the record store keeps them
    utc = when.astimezone(_dt.timezone.utc).replace(microsecond=0)
    try:
        from zoneinfo import ZoneInfo

        local = utc.astimezone(ZoneInfo("Asia/Shanghai"))
    except Exception:  # noqa: BLE001 - no tz database: the fixed offset is exact for Shanghai since 1991
        local = utc.astimezone(_dt.timezone(_SHANGHAI_OFFSET, "CST"))
    return {"utc": utc.strftime("%Y-%m-%d %H:%M:%S UTC"), "shanghai": local.strftime("%Y-%m-%d %H:%M:%S") + " 北京时间 (Asia/Shanghai, UTC+8)",
            "iso": utc.isoformat().replace("+00:00", "Z"), "date": local.strftime("%Y-%m-%d")}


# ----------------------------------------------------------------------------
# 界址点成果表


def _gk_cm(epsg):
    """Central meridian of a CGCS2000 3° GK zone without prefix (EPSG:4534–4554)."""
    return 75 + 3 * (epsg - 4534)


def boundary_point_table(geometry, epsg):
    """The 界址点成果表 of a site: every vertex, per parcel and ring, on a CGCS2000 3° GK zone.

    Parameters
    ----------
    geometry : shapely geometry
        The site in CGCS2000 lon/lat (:attr:`Verdict.site_geometry`).
    epsg : int or str
        The GK zone, e.g. ``4549`` or ``"EPSG:4549"`` (the verdict's ``site.area_crs``).

    Returns
    -------
    list of dict
        One entry per ring (or line, or point group): ``parcel`` (1, 2 … for each part of a
        multi-part site), ``ring`` (圈号: 1 the outer boundary, 2 … holes, in the order the
        file gives), ``role`` (``外圈 outer`` | ``内圈 hole`` | ``线 line`` | ``点 point``) and
        ``points``, each ``{"no": "J1", "x": northing, "y": easting, "lon", "lat", "edge_m"}``;
        X is the northing and Y the easting without the zone prefix, as surveyors write them,
        and ``edge_m`` the distance from the previous point on the plane. A closed ring ends
        with its first point again (the same 点号), as in a 界址点成果表. Points are numbered in
        the order of the input, continuously within a parcel.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> rings = boundary_point_table(box(120.0, 30.0, 120.01, 30.01), 4549)
    >>> [p["no"] for p in rings[0]["points"]], rings[0]["role"]
    (['J1', 'J2', 'J3', 'J4', 'J1'], '外圈 outer')
    >>> p = rings[0]["points"][2]  # (120°E, 30.01°N): on the central meridian, Y is the false easting
    >>> round(p["y"], 3), round(p["x"], 3), p["lon"], p["lat"]
    (500000.0, 3321221.923, 120.0, 30.01)
    """
    from pyproj import Transformer
    from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon

    epsg = int(str(epsg).upper().removeprefix("EPSG:"))
    to_gk = Transformer.from_crs("EPSG:4490", f"EPSG:{epsg}", always_xy=True)
    if isinstance(geometry, (MultiPolygon, MultiLineString)):
        parts = list(geometry.geoms)
    elif isinstance(geometry, (Polygon, LineString, Point, MultiPoint)):
        parts = [geometry]
    else:  # a collection: each member its own parcel
        parts = list(getattr(geometry, "geoms", [geometry]))
    out = []
    for parcel, part in enumerate(parts, 1):
        if isinstance(part, Polygon):
            rings = [("外圈 outer", list(part.exterior.coords))] + [("内圈 hole", list(r.coords)) for r in part.interiors]
        elif isinstance(part, LineString):
            rings = [("线 line", list(part.coords))]
        else:
            rings = [("点 point", [c for g in getattr(part, "geoms", [part]) for c in g.coords])]
        n = 0
        for ring_no, (role, coords) in enumerate(rings, 1):
            closed = len(coords) > 2 and coords[0] == coords[-1]
            body = coords[:-1] if closed else coords
            xs, ys = to_gk.transform([c[0] for c in body], [c[1] for c in body])
            points, first = [], None
            prev = None
            for (lon, lat, *_), e, nth in zip(body, xs, ys):
                n += 1
                pt = {"no": f"J{n}", "x": float(nth), "y": float(e), "lon": float(lon), "lat": float(lat),
                      "edge_m": None if prev is None or role == "点 point" else float(((e - prev[0]) ** 2 + (nth - prev[1]) ** 2) ** 0.5)}
                points.append(pt)
                prev = (e, nth)
                first = first or pt
            if closed and first is not None:
                points.append({**first, "edge_m": float(((first["y"] - prev[0]) ** 2 + (first["x"] - prev[1]) ** 2) ** 0.5)})
            out.append({"parcel": parcel, "ring": ring_no, "role": role, "points": points})
    return out


def _boundary_blocks(verdict, site, d):
    geom = site if site is not None else verdict.site_geometry
    if geom is None:
        return [{"kind": "text", "text": "无场地几何，无法列出界址点 — the verdict was rebuilt from JSON and carries no site geometry, so its boundary points cannot be listed", "style": "muted"}]
    from pyproj import CRS

    epsg = int(d["site"]["area_crs"].split(":")[1])
    cm = _gk_cm(epsg)
    rings = boundary_point_table(geom, epsg)
    total = sum(len(r["points"]) for r in rings)
    blocks = [{"kind": "text", "text": (
        f"坐标系：{CRS.from_epsg(epsg).name}（EPSG:{epsg}，2000国家大地坐标系 3°带高斯–克吕格投影，带号 {cm // 3}，中央经线 {cm}°E）；"
        f"X 为纵坐标（北），Y 为横坐标（东），Y 不含带号（加带号为 {cm // 3}×10⁶ + Y）；经纬度为 CGCS2000（EPSG:4490）。"
        f" — CRS {CRS.from_epsg(epsg).name} (EPSG:{epsg}, zone {cm // 3}, central meridian {cm}°E); X = northing, Y = easting without "
        f"the zone prefix; lon/lat on CGCS2000 (EPSG:4490). Points in the order of the input file; a closed ring repeats its first point.")}]
    shown = 0
    columns = ["点号 point", "X 北坐标 (m)", "Y 东坐标 (m)", "边长 edge (m)", "经度 lon (°)", "纬度 lat (°)"]
    for ring in rings:
        if shown >= MAX_BOUNDARY_POINTS:
            break
        points = ring["points"][: MAX_BOUNDARY_POINTS - shown]
        shown += len(points)
        title = f"地块 parcel {ring['parcel']} · 圈号 ring {ring['ring']} · {ring['role']} · {len(ring['points'])} 点 points"
        rows = [[p["no"], {"text": f"{p['x']:.3f}", "style": "num"}, {"text": f"{p['y']:.3f}", "style": "num"},
                 {"text": "" if p["edge_m"] is None else f"{p['edge_m']:.3f}", "style": "num"},
                 {"text": f"{p['lon']:.8f}", "style": "num"}, {"text": f"{p['lat']:.8f}", "style": "num"}] for p in points]
        blocks.append({"kind": "heading", "text": title})
        blocks.append({"kind": "table", "columns": columns, "rows": rows, "id": "boundary-points", "compact": True})
    if shown < total:
        blocks.append({"kind": "text", "text": f"仅列出前 {shown} 个点（共 {total} 个）— only the first {shown} of {total} points are listed; the full geometry is in the input file", "style": "muted"})
    return blocks


# ----------------------------------------------------------------------------
# 符合性分析: every clause of each unit touched


def _unit_clause(clause, unit):
    a = clause.applies_in
    kind = a.kind
    if kind == "unit_category":
        return unit["category"] in a.unit_category
    if kind == "unit_codes":
        return unit["unit_code"] in a.unit_codes
    return kind == "everywhere"


def _status_of(findings):
    if not findings:
        return "pass"
    return min((_STATUS_OF_EFFECT[f["effect"]] for f in findings), key=_STATUS_RANK.__getitem__)


def _fired_note(findings):
    lines = []
    for f in findings:
        lines.append(f"{EFFECT_LABEL(f['effect'])} @ {f['where']}：{because_zh(f['because'])}")
        lines.append(f"because: {f['because']}")
        if f.get("missing"):
            lines.append("待补充 missing: " + "、".join(attribute_zh(m) for m in f["missing"]))
        for ob in f.get("obligations") or ():
            amount = f"（{ob['pollutant']} {ob['amount_t']:g} t/a）" if ob.get("amount_t") is not None else ""
            lines.append(f"义务 obligation: {ob['text']}{amount}")
    return "\n".join(dict.fromkeys(lines))


def EFFECT_LABEL(effect):  # noqa: N802 - used like a table
    return f"{vocab.EFFECTS.get(effect, effect)} {effect}"


_NOT_FIRED = "本项目不满足该条款的适用条件，条款未触发 — the clause's conditions do not hold for this project: it does not fire"


def _row(dimension, clause_id, tier, text, status, note, source=None):
    zh, en = COMPLIANCE[status]
    return {"dimension": dimension, "clause_id": clause_id, "tier": tier, "text": text, "source": source,
            "status": status, "status_zh": zh, "status_en": en, "note": note}


def _quota_rows(entries, findings):
    rows = []
    for q in entries:
        cid = f"quota:{q['scope']}:{q['resource']}"
        fs = [f for f in findings if f["clause_id"] == cid]
        name, unit = vocab.RESOURCES.get(q["resource"], (q["resource"], ""))
        text = fs[0]["text"] if fs else f"资源利用上线：{q['scope']} {name}剩余 {q['remaining']:,.0f} {unit}"
        demand = "—" if q["demand"] is None else f"{q['demand']:,.0f} {unit}"
        note = _fired_note(fs) if fs else f"需求 {demand} 未超过剩余额度的 80% — demand {demand} is within 80 % of the remaining {q['remaining']:,.0f} {unit}"
        rows.append(_row("resource_efficiency", cid, "unit", text, _status_of(fs), note))
    return rows


def _dim_order(row):
    return (list(vocab.DIMENSIONS).index(row["dimension"]) if row["dimension"] in vocab.DIMENSIONS else 9, list(vocab.TIERS).index(row["tier"]) if row["tier"] in vocab.TIERS else 9)


def compliance_table(verdict, pack=None):
    """The compliance of every clause of each unit the site touches, from the engine's own findings.

    For each unit touched, every clause that lives in it — the province- and city-wide
    clauses (``everywhere``), those on its category and those naming it — and the quotas
    on its code, each with its result (:data:`COMPLIANCE`): a prohibiting finding → 不符合,
    a condition finding → 有条件符合 (with its obligations), a needs-information finding →
    待补充 (naming what to supply), no finding → 符合. Clauses on element zones, red lines,
    rasters and distances are listed once, after the units, when the site is in their place
    or they fired; the ids of those whose place the site does not touch are listed as not
    applicable (不涉及). Nothing is evaluated here: a clause's result is read off the
    verdict's findings.

    Parameters
    ----------
    verdict : Verdict
    pack : Pack, optional
        The pack the verdict was made on (default: ``verdict.pack``). Without a pack (a
        verdict rebuilt from JSON) only the clauses that fired are known and listed.

    Returns
    -------
    dict
        ``units``: one entry per unit touched, ``{unit_code, unit_name, category,
        access_list: [(dimension, 中文, text or None)], rows: [...]}``; ``other``: the rows of
        the zone, red-line, raster and distance clauses; ``not_applicable``: clause ids;
        ``complete``: whether the pack's clauses were at hand. Each row is ``{dimension,
        clause_id, tier, text, source, status, status_zh, status_en, note}``.

    Examples
    --------
    >>> import zoning
    >>> pack = zoning.load_pack()
    >>> v = pack.screen("119.95,30.55", {"industry": "6550", "construction": "new"})
    >>> table = compliance_table(v)
    >>> [u["unit_code"] for u in table["units"]] == [u["unit_code"] for u in v["units"]]
    True
    >>> {r["status_zh"] for u in table["units"] for r in u["rows"]} <= {zh for zh, _ in COMPLIANCE.values()}
    True
    """
    d = verdict.to_dict()
    pack = pack if pack is not None else verdict.pack
    findings = d["findings"]
    by_clause = {}
    for f in findings:
        by_clause.setdefault(f["clause_id"], []).append(f)
    units = []
    listed = set()
    for u in d["units"]:
        rows = []
        if pack is not None:
            for c in pack.clauses:
                if not _unit_clause(c, u):
                    continue
                fs = [f for f in by_clause.get(c.id, []) if c.applies_in.kind == "everywhere" or f["where"] == u["unit_code"]]
                rows.append(_row(c.dimension, c.id, c.tier, c.text, _status_of(fs), _fired_note(fs) if fs else _NOT_FIRED, c.source))
                listed.add(c.id)
        else:
            for f in findings:
                if f["where"] == u["unit_code"] and not f["clause_id"].startswith("quota:"):
                    rows.append(_row(f["dimension"], f["clause_id"], f["tier"], f["text"], _status_of([f]), _fired_note([f]), f.get("source")))
                    listed.add(f["clause_id"])
        rows.sort(key=_dim_order)
        rows += _quota_rows([q for q in d["quotas"] if q["scope"] == u["unit_code"]], findings)
        texts = u.get("access_list") or {}
        units.append({"unit_code": u["unit_code"], "unit_name": u["unit_name"], "category": u["category"],
                      "access_list": [(dim, zh, texts.get(dim)) for dim, zh in vocab.DIMENSIONS.items()], "rows": rows})
    other, not_applicable = [], []
    if pack is not None:
        touched = _touched_places(pack, d)
        for c in pack.clauses:
            if c.id in listed or c.applies_in.kind in ("unit_category", "unit_codes", "everywhere"):
                continue
            fs = by_clause.get(c.id, [])
            if fs or touched(c):
                other.append(_row(c.dimension, c.id, c.tier, c.text, _status_of(fs), _fired_note(fs) if fs else _NOT_FIRED, c.source))
            else:
                not_applicable.append(c.id)
    else:
        for cid, fs in by_clause.items():
            if cid not in listed and not cid.startswith("quota:"):
                f = fs[0]
                other.append(_row(f["dimension"], cid, f["tier"], f["text"], _status_of(fs), _fired_note(fs), f.get("source")))
    other.sort(key=_dim_order)
    unit_codes = {u["unit_code"] for u in d["units"]}
    other += _quota_rows([q for q in d["quotas"] if q["scope"] not in unit_codes], findings)
    return {"units": units, "other": other, "not_applicable": not_applicable, "complete": pack is not None}


def _touched_places(pack, d):
    """Whether the site is in the place of a zone, red-line, raster or distance clause (for the note only)."""
    from zoning.rules import zone_matches

    zone_types = {z["zone_id"]: z["zone_type"] for z in d["zones"]}
    zone_types.update({n["id"]: n["zone_type"] for n in d["near"] if n["layer"] == "zones" and "zone_type" in n})
    matches = zone_matches(pack.clauses, zone_types)
    overlapped = {z["zone_id"] for z in d["zones"]}
    rasters = {r["name"]: r for r in d["rasters"]}

    def touched(clause):
        a = clause.applies_in
        if a.kind == "zone_types":
            return bool(matches.get(clause.id, set()) & overlapped)
        if a.kind == "red_line":
            return bool(d["red_line"])
        if a.kind == "raster_exceeds":
            return bool(rasters.get(a.raster_exceeds, {}).get("exceeds"))
        if a.kind == "near":
            near = a.near
            for n in d["near"]:
                if n["distance_m"] > near.within_m:
                    continue
                if near.layer is not None and n["layer"] == near.layer:
                    return True
                if near.zone_types is not None and n["layer"] == "zones" and n["id"] in matches.get(clause.id, set()):
                    return True
            return False
        return False

    return touched


# ----------------------------------------------------------------------------
# the content model


def _cell(text, style=None):
    return {"text": text, "style": style} if style else text


def _effect_cell(effect):
    return _cell(f"{vocab.EFFECTS[effect]}\n{effect}", f"effect-{effect}")


def _status_cell(row):
    return _cell(f"{row['status_zh']}\n{row['status_en']}", f"status-{row['status']}")


def _map_png(verdict, site, pack, basemap, dpi=110):
    import matplotlib.pyplot as plt

    from zoning.maps import verdict_figure

    fig = verdict_figure(verdict, dpi=dpi, site=site, pack=pack, basemap=basemap)
    note = getattr(fig, "basemap_note", "")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue(), note


def report_content(verdict, *, site=None, pack=None, screening_id=None, screened_at=None, source=None, basemap=None, map_image=True):
    """The content of a verdict's report as plain data, for every renderer (HTML, PDF, DOCX).

    Parameters
    ----------
    verdict : Verdict
    site, pack : optional
        The site geometry (CGCS2000 lon/lat) and the pack, when ``verdict`` does not carry
        them (a verdict rebuilt from a stored record); they give the 界址点成果表, the full
        compliance table and the map.
    screening_id : str, optional
        The stored record's key (the service's ``screening_id``); it is the record number.
        Without it the record number is :func:`verdict_record_number`.
    screened_at : datetime or str, optional
        When the screening was made (ISO 8601 text or a datetime; naive = UTC). Default: now.
    source : dict, optional
        The input file, as :func:`describe_input` gives it.
    basemap : str or Path, optional
        Offline tiles for the static map's basemap: a ``{z}/{x}/{y}.png`` directory or an
        ``.mbtiles`` file (see :func:`zoning.maps.verdict_figure`). None: no basemap.
    map_image : bool
        Draw the static map (PNG bytes in the ``map`` section).

    Returns
    -------
    dict
        ``title``, ``verdict``, ``verdict_zh``, ``color``, ``ink``, ``project_name``,
        ``demo``, ``demo_note``, ``record`` (``number``, ``kind``, ``label``, ``times``,
        ``source``), ``data_version`` (one line), ``header``, ``footer`` and ``sections``: each
        ``{"id", "title", "blocks"}``, a block being one of ``{"kind": "kv", "rows"}``,
        ``{"kind": "table", "columns", "rows"}``, ``{"kind": "text", "text", "style"}``,
        ``{"kind": "heading", "text"}``, ``{"kind": "reason", ...}``, ``{"kind": "list", "items"}``,
        ``{"kind": "map", "png", "note"}`` or ``{"kind": "signoff", "rows"}``. A cell is text or
        ``{"text", "style"}``; line breaks are ``\\n``.

    Examples
    --------
    >>> import zoning
    >>> v = zoning.load_pack().screen("119.95,30.55", {"industry": "6550", "construction": "new"})
    >>> c = report_content(v, map_image=False, screened_at="2024-06-01T08:00:00Z")
    >>> c["record"]["times"]["shanghai"][:19], c["record"]["kind"]
    ('2024-06-01 16:00:00', 'verdict_digest')
    >>> [s["id"] for s in c["sections"]][:4]
    ['record', 'verdict', 'project', 'site']
    """
    d = verdict.to_dict()
    geom = site if site is not None else verdict.site_geometry
    pack = pack if pack is not None else verdict.pack
    times = _times(screened_at)
    if screening_id:
        record = {"number": str(screening_id), "kind": "screening_id",
                  "label": "服务记录编号（screening_id，存储的研判记录）— the service's screening_id of the stored record"}
    else:
        record = {"number": verdict_record_number(verdict), "kind": "verdict_digest",
                  "label": "研判结果编号：研判结果规范化 JSON 的 SHA-256 前16位，相同输入与数据版本得到相同编号 — "
                           "derived from the verdict: the first 16 hex digits of the sha256 of its canonical JSON (reproducible)"}
    record["times"], record["source"] = times, source
    p = d["pack"]
    data_version = f"{p['id']} {p['version']} · {p['digest']}"
    project = d.get("project") or {}
    demo = is_demo(p.get("name") or (pack.name if pack is not None else ""))
    sections = []

    def section(sid, title, blocks):
        sections.append({"id": sid, "title": title, "blocks": blocks})

    # record
    section("record", "记录信息 Record", [{"kind": "kv", "id": "record", "rows": [
        ["记录编号 record number", {"text": record["number"], "style": "mono strong"}],
        ["编号说明 what it is", record["label"]],
        ["研判时间 screened (UTC)", times["utc"]],
        ["研判时间 screened (北京时间)", times["shanghai"]],
        *_input_rows(source),
        ["数据版本 data version", f"{p['id']} — {p.get('name') or ''}\n版本 version {p['version']}" + (f"（生效 effective {p['effective']}）" if p.get("effective") else "")],
        ["数据摘要 data digest", {"text": p["digest"], "style": "mono"}],
        ["引擎版本 engine", f"zoning {d['engine']['version']}"],
    ]}])

    # verdict and reasons
    blocks = []
    deciding = deciding_findings(d["verdict"], d["findings"])
    for f in deciding:
        lines = [f["text"], f"理由：{because_zh(f['because'])}", f"because: {f['because']}"]
        if f.get("missing"):
            lines.append("待补充 missing: " + "、".join(attribute_zh(m) for m in f["missing"]))
        if f.get("source"):
            lines.append(f"来源 source: {f['source']}")
        blocks.append({"kind": "reason", "clause_id": f["clause_id"], "effect": f["effect"], "effect_label": EFFECT_LABEL(f["effect"]),
                       "where": f["where"], "lines": lines})
    if not deciding:
        blocks.append({"kind": "text", "text": "没有触发禁止、有条件或待补充信息的条款，本数据包下允许准入 — no prohibiting, conditional or information-requesting clause fired: the project is permitted under this pack."})
    if d["missing"]:
        blocks.append({"kind": "text", "style": "strong", "text": "待补充信息 Missing information: " + "、".join(attribute_zh(m) for m in d["missing"])})
    if d["obligations"]:
        blocks.append({"kind": "text", "style": "strong", "text": f"须履行义务 Obligations: {len(d['obligations'])}（见下文 see below）"})
    section("verdict", "结论与理由 Verdict and reasons", blocks)

    section("project", "项目 Project", [{"kind": "kv", "rows": [[f"{label} {k}", _project_value(k, project.get(k))]
                                                                  for k, label in _PROJECT_LABELS if k in project or k == "name"]}])

    s = d["site"]
    rows = [["几何类型 geometry", s["geometry_type"]],
            ["面积 area", f"{_fmt_num(s['area_m2'], 1)} m²" + (f" ({_fmt_num(s['area_m2'] / 10000, 4)} ha)" if s.get("area_m2") else "")],
            ["长度 length", f"{_fmt_num(s['length_m'], 1)} m"],
            ["量算坐标系 area CRS", f"{s['area_crs']} (CGCS2000 3° Gauss–Krüger)"],
            ["中心点 centroid (lon, lat)", f"{s['centroid'][0]:.6f}, {s['centroid'][1]:.6f}"]]
    if s.get("source_crs"):
        rows.append(["输入坐标系 source CRS", s["source_crs"]])
    if s.get("stated_area_m2") is not None:
        rows.append(["申报面积 stated area", f"{s['stated_area_m2']:,.1f} m²"])
    if s.get("outside_share"):
        rows.append(["区外比例 outside the pack's region", _pct(s["outside_share"])])
    section("site", "场地 Site", [{"kind": "kv", "rows": rows}])
    section("boundary", "界址点成果表 Boundary points", _boundary_blocks(verdict, geom, d))

    clauses_at = {}
    for f in d["findings"]:
        clauses_at.setdefault(str(f["where"]), [])
        if f["clause_id"] not in clauses_at[str(f["where"])]:
            clauses_at[str(f["where"])].append(f["clause_id"])
    blocks = []
    if d["units"]:
        blocks.append({"kind": "table", "columns": ["单元编码 code", "名称 name", "类别 category", "重叠 overlap", "占比 share", "触发条款 clauses"],
                       "rows": [[_cell(u["unit_code"], "mono"), u["unit_name"] + (f" ({u['subtype']})" if u.get("subtype") else ""),
                                 f"{vocab.CATEGORIES.get(u['category'], u['category'])} {u['category']}", _cell(_overlap(u), "num"),
                                 _cell(_pct(u.get("overlap_share")), "num"), ", ".join(clauses_at.get(u["unit_code"], [])) or "—"] for u in d["units"]]})
    else:
        blocks.append({"kind": "text", "text": "—"})
    section("units", "环境管控单元 Control units", blocks)

    blocks = []
    if d["red_line"]:
        blocks.append({"kind": "table", "columns": ["编号 id", "名称 name", "重叠 overlap", "占比 share", "触发条款 clauses"],
                       "rows": [[_cell(r["redline_id"], "mono"), r["name"], _cell(_overlap(r), "num"), _cell(_pct(r.get("overlap_share")), "num"),
                                 ", ".join(clauses_at.get(r["redline_id"], [])) or "—"] for r in d["red_line"]]})
    else:
        blocks.append({"kind": "text", "text": "不涉及 none overlapped"})
    section("red_line", "生态保护红线 Ecological protection red lines", blocks)

    blocks = []
    if d["zones"]:
        blocks.append({"kind": "table", "columns": ["编号 id", "要素 medium", "类型 zone type", "名称 name", "重叠 overlap", "占比 share", "触发条款 clauses"],
                       "rows": [[_cell(z["zone_id"], "mono"), f"{vocab.MEDIA.get(z['medium'], z['medium'])} {z['medium']}",
                                 f"{vocab.ZONE_TYPES.get(z['zone_type'], '')} {z['zone_type']}".strip(), z["name"], _cell(_overlap(z), "num"),
                                 _cell(_pct(z.get("overlap_share")), "num"), ", ".join(clauses_at.get(z["zone_id"], [])) or "—"] for z in d["zones"]]})
    else:
        blocks.append({"kind": "text", "text": "—"})
    if d["near"]:
        blocks.append({"kind": "heading", "text": "邻近 Nearby"})
        blocks.append({"kind": "table", "columns": ["图层 layer", "编号 id", "名称 name", "距离 distance"],
                       "rows": [[n["layer"], _cell(n["id"], "mono"), n.get("name") or "", _cell(f"{_fmt_num(n['distance_m'], 1)} m", "num")] for n in d["near"]]})
    section("zones", "要素管控分区 Element zones", blocks)

    if d["rasters"]:
        blocks = [{"kind": "table", "columns": ["栅格 raster", "污染物 pollutant", "统计 statistic", "数值 value", "标准 standard", "判定 status"],
                   "rows": [[r["name"], r.get("pollutant") or "", r["statistic"],
                             _cell(("no data 无数据" if r["value"] is None else _fmt_num(r["value"], 2)) + (f" {r['unit']}" if r.get("unit") else ""), "num"),
                             _cell(_fmt_num(r["standard"], 1), "num"), "超标 exceeds" if r["exceeds"] else "达标 within"] for r in d["rasters"]]}]
    else:
        blocks = [{"kind": "text", "text": "—"}]
    section("rasters", "环境质量 Quality rasters", blocks)

    if d["quotas"]:
        blocks = [{"kind": "table", "columns": ["范围 scope", "资源 resource", "需求 demand", "剩余 remaining", "上限 cap", "状态 status"],
                   "rows": [[_cell(q["scope"], "mono"), f"{vocab.RESOURCES.get(q['resource'], [q['resource']])[0]} {q['resource']}",
                             _cell("?" if q["demand"] is None else _fmt_num(q["demand"], 0), "num"), _cell(_fmt_num(q["remaining"], 0), "num"),
                             _cell(_fmt_num(q.get("cap"), 0), "num"), q["status"]] for q in d["quotas"]]}]
    else:
        blocks = [{"kind": "text", "text": "—"}]
    section("quotas", "资源利用上线 Resource quotas", blocks)

    section("compliance", "符合性分析 Compliance with the access list", _compliance_blocks(compliance_table(verdict, pack)))

    blocks = []
    for dim, dim_zh in vocab.DIMENSIONS.items():
        group = [f for f in d["findings"] if f["dimension"] == dim]
        blocks.append({"kind": "heading", "text": f"{dim_zh} {dim} ({len(group)})"})
        if not group:
            blocks.append({"kind": "text", "text": "—", "style": "muted"})
            continue
        rows = []
        for f in group:
            text = [f["text"], f"理由：{because_zh(f['because'])}", f"because: {f['because']}"]
            if f.get("missing"):
                text.append("待补充 missing: " + "、".join(attribute_zh(m) for m in f["missing"]))
            if f.get("source"):
                text.append(f"来源 source: {f['source']}")
            rows.append([_cell(f"{f['clause_id']}\n{vocab.TIERS.get(f['tier'], f['tier'])} {f['tier']}", "mono"), _effect_cell(f["effect"]),
                         _cell(f["where"], "mono"), "\n".join(text)])
        blocks.append({"kind": "table", "columns": ["条款 clause", "效力 effect", "位置 where", "内容与理由 text and reason"], "rows": rows, "widths": [14, 10, 13, 63]})
    section("findings", f"条款 Findings ({len(d['findings'])})", blocks)

    if d["obligations"]:
        blocks = [{"kind": "table", "columns": ["义务 obligation", "污染物 pollutant", "倍数 ratio", "削减替代量 amount", "条款 clause"],
                   "rows": [[o["text"], o.get("pollutant") or "—", _cell(f"{o['ratio']:g}×" if o.get("ratio") else "—", "num"),
                             _cell(f"{o['amount_t']:g} t/a" if o.get("amount_t") is not None else "—", "num"), _cell(o.get("clause_id") or "", "mono")]
                            for o in d["obligations"]]}]
    else:
        blocks = [{"kind": "text", "text": "—"}]
    section("obligations", "义务 Obligations", blocks)

    blocks = [{"kind": "list", "items": [attribute_zh(m) for m in d["missing"]]} if d["missing"] else {"kind": "text", "text": "— 无 none"}]
    if d["warnings"]:
        blocks += [{"kind": "heading", "text": "提示 Warnings"}, {"kind": "list", "items": list(d["warnings"])}]
    section("missing", "待补充信息 Missing information", blocks)

    section("data", "数据与引擎 Data and engine", [{"kind": "kv", "rows": [
        ["数据包 pack", f"{p['id']} — {p.get('name') or ''}"],
        ["版本 version", f"{p['version']}" + (f" (生效 effective {p['effective']})" if p.get("effective") else "")],
        ["摘要 digest", _cell(p["digest"], "mono")],
        ["引擎 engine", f"zoning {d['engine']['version']}"],
    ]}])

    png, note, error = None, "", ""
    if geom is None or pack is None:
        error = "the verdict was rebuilt from JSON and carries no site geometry 无场地几何"
    elif map_image:
        png, note = _map_png(verdict, geom, pack, basemap)
    section("map", "地图 Map", [{"kind": "map", "png": png, "note": note, "error": error}])

    section("signoff", "审核签署 Sign-off", [{"kind": "signoff", "rows": [
        ["经办人 prepared by", "", "日期 date", ""],
        ["审核人 reviewed by", "", "日期 date", ""],
        ["单位（盖章）issuing unit (seal)", "", "日期 date", ""],
    ]}, {"kind": "text", "style": "muted", "text": (
        f"本表由 zoning {d['engine']['version']} 依据数据包 {p['id']} {p['version']} 生成，记录编号 {record['number']}；"
        "结论以签署盖章的纸质或电子文件为准。 — Generated by zoning from the data version above; record number "
        f"{record['number']}. The signed and sealed document is authoritative.")}])

    return {
        "title": ("生态环境分区管控准入研判报告", "Zoning screening report"),
        "verdict": d["verdict"], "verdict_zh": d["verdict_zh"],
        "color": VERDICT_COLORS[d["verdict"]], "ink": "#212121" if d["verdict"] == "conditional" else "#fff",
        "project_name": project.get("name"), "demo": demo, "demo_note": DEMO_NOTE,
        "record": record, "data_version": data_version,
        "header": f"{record['number']} · {d['verdict_zh']} {d['verdict']}",
        "footer": f"{p['id']} {p['version']} {p['digest'][:19]}… · zoning {d['engine']['version']}",
        "sections": sections,
    }


def _compliance_blocks(table):
    blocks = [{"kind": "text", "style": "muted", "text": (
        "逐条列出场地涉及的每个环境管控单元适用的全部条款（含省级、市级通用条款），不论是否触发；判定取自引擎的研判结果：禁止类条款触发为“不符合”，"
        "附义务的条款触发为“有条件符合”，缺少项目信息为“待补充”，未触发为“符合”。清单文本仅供审查参考，准入判定只依据 rules.yaml 条款。 — "
        "Every clause of each unit touched (with the province- and city-wide ones), fired or not, with the engine's result: a prohibiting finding "
        "does not comply, a condition finding complies with its obligations, missing project attributes are information needed, a clause "
        "that does not fire complies. The list text informs the reviewer; only the rules.yaml clauses decide.")}]
    if not table["complete"]:
        blocks.append({"kind": "text", "style": "strong", "text": "数据包不可用，仅列出已触发的条款 — the pack is not at hand: only the clauses that fired are listed"})
    columns = ["维度 dimension", "条款 clause", "要求 requirement", "判定 result", "说明 reason"]
    widths = [12, 12, 36, 10, 30]

    def rows_of(rows):
        return [[f"{vocab.DIMENSIONS.get(r['dimension'], r['dimension'])}\n{r['dimension']}",
                 _cell(f"{r['clause_id']}\n{vocab.TIERS.get(r['tier'], r['tier'])} {r['tier']}", "mono"),
                 r["text"] + (f"\n来源 source: {r['source']}" if r.get("source") else ""), _status_cell(r), r["note"]] for r in rows]

    for u in table["units"]:
        counts = {k: sum(1 for r in u["rows"] if r["status"] == k) for k in COMPLIANCE}
        blocks.append({"kind": "heading", "text": f"{u['unit_code']} {u['unit_name']}（{vocab.CATEGORIES.get(u['category'], u['category'])}）"})
        blocks.append({"kind": "text", "style": "strong", "text": "单元准入清单 Unit access lists"})
        blocks.append({"kind": "kv", "id": "access-list", "rows": [[f"{zh} {dim}", text or "—（数据包未提供清单文本 the pack carries no list text for this dimension）"]
                                                                   for dim, zh, text in u["access_list"]]})
        blocks.append({"kind": "text", "text": " · ".join(f"{COMPLIANCE[k][0]} {COMPLIANCE[k][1]}: {n}" for k, n in counts.items())})
        blocks.append({"kind": "table", "id": "compliance", "columns": columns, "widths": widths, "rows": rows_of(u["rows"]) or [["—", "", "", "", ""]]})
    if table["other"]:
        blocks.append({"kind": "heading", "text": "要素管控分区、生态保护红线及其他要求 Element zones, red lines, rasters and distances"})
        blocks.append({"kind": "table", "id": "compliance", "columns": columns, "widths": widths, "rows": rows_of(table["other"])})
    if table["not_applicable"]:
        blocks.append({"kind": "text", "style": "muted", "text": "不涉及（场地不在其适用范围内）not applicable, the site is not in their place: " + ", ".join(table["not_applicable"])})
    return blocks


# ----------------------------------------------------------------------------
# HTML and PDF


def _iframe(map_html):
    srcdoc = html.escape(map_html, quote=True)
    return Markup(f'<iframe class="map-interactive" title="map" srcdoc="{srcdoc}"></iframe>')


def _html_cell(cell):
    """A cell of the content model as HTML: escaped text, line breaks as <br>, its style as a class."""
    text, style = (cell.get("text", ""), cell.get("style")) if isinstance(cell, dict) else (cell, None)
    body = Markup("<br>").join(str(text).split("\n"))
    return Markup('<td class="{}">{}</td>').format(style, body) if style else Markup("<td>{}</td>").format(body)


def report_html(verdict, *, offline=None, interactive=True, static=True, content=None, **kwargs):
    """The report of a verdict as one self-contained HTML document (also the PDF's source).

    Parameters
    ----------
    verdict : Verdict
    offline : bool, optional
        Inline Leaflet into the interactive map (see :func:`zoning.maps.verdict_map`).
    interactive : bool
        Include the interactive map (shown on screen).
    static : bool
        Include the static map image (shown when printed, or on screen without the
        interactive map).
    content : dict, optional
        A :func:`report_content` already made for this verdict.
    **kwargs
        ``site``, ``pack``, ``screening_id``, ``screened_at``, ``source``, ``basemap``: see
        :func:`report_content`.

    Returns
    -------
    str

    Examples
    --------
    >>> import zoning
    >>> v = zoning.load_pack().screen("119.95,30.55", {"industry": "6550", "construction": "new"})
    >>> text = report_html(v, interactive=False, static=False)
    >>> v.verdict_zh in text and "sha256:" in text and "界址点成果表" in text
    True
    """
    c = content if content is not None else report_content(verdict, map_image=static, **kwargs)
    map_iframe = None
    site = kwargs["site"] if kwargs.get("site") is not None else verdict.site_geometry
    pack = kwargs["pack"] if kwargs.get("pack") is not None else verdict.pack
    if interactive and site is not None and pack is not None:
        from zoning.maps import verdict_map

        map_iframe = _iframe(verdict_map(verdict, offline=offline, site=site, pack=pack).get_root().render())
    return _template().render(c=c, cell=_html_cell, map_iframe=map_iframe, b64=lambda b: base64.b64encode(b).decode("ascii"),
                              footer=c["footer"].replace('"', "'"), header=c["header"].replace('"', "'"))


def write_pdf(verdict, path, **kwargs):
    """Write the report of a verdict as PDF (static map; A4; Chinese in Noto Sans CJK).

    Parameters
    ----------
    verdict : Verdict
    path : str or Path
    **kwargs
        As for :func:`report_content` (``screening_id``, ``screened_at``, ``source``, ``basemap``, ``site``, ``pack``).

    Raises
    ------
    ZoningError
        When WeasyPrint's system libraries (pango) or a CJK font are missing.
    """
    if cjk_font() is None:
        raise ZoningError("a PDF report needs a CJK font for its Chinese text; install one (Debian/Ubuntu: `apt install fonts-noto-cjk`; other systems: any Noto Sans CJK or Source Han Sans font; in a checkout `make sysdeps`)")
    try:
        import weasyprint
    except OSError as exc:  # pango missing
        raise ZoningError(f"PDF reports need the pango library (Debian: `apt install libpango-1.0-0 libpangoft2-1.0-0`; in a checkout `make sysdeps`): {exc}") from exc
    text = report_html(verdict, interactive=False, static=True, **kwargs)
    weasyprint.HTML(string=text).write_pdf(str(path))
    return Path(path)


def _check_suffix(path, allowed, what):
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        names = list(dict.fromkeys(allowed))
        raise ZoningError(f"{what} file {Path(path).name!r}: expected a name ending in {', '.join(names[:-1])} or {names[-1]}" if len(names) > 1
                          else f"{what} file {Path(path).name!r}: expected a name ending in {names[0]}")
    return suffix


def write_report(verdict, path, *, offline=None, screening_id=None, screened_at=None, source=None, basemap=None, site=None, pack=None):
    """Write the report of a verdict, chosen by the file's suffix: ``.html``, ``.pdf`` or ``.docx``.

    All three have the same content (:func:`report_content`): the record number and time,
    the input file's sha256, the reasons in Chinese and English, the 界址点成果表, the
    compliance table of every clause of each unit touched, the map and the sign-off block.

    Parameters
    ----------
    verdict : Verdict
    path : str or Path
        ``OUT.html`` (self-contained, with the interactive map), ``OUT.pdf`` or ``OUT.docx``.
    offline : bool, optional
        HTML only: inline Leaflet into the interactive map (:func:`zoning.maps.verdict_map`).
    screening_id : str, optional
        The stored record's id: the report's record number (default: :func:`verdict_record_number`).
    screened_at : datetime or str, optional
        When the screening was made (default: now).
    source : dict, optional
        The input file (:func:`describe_input`).
    basemap : str or Path, optional
        Offline tiles (``{z}/{x}/{y}.png`` directory or ``.mbtiles``) for the static map's basemap;
        None: no basemap (nothing is fetched from a network).
    site, pack : optional
        When the verdict carries no geometry or pack (rebuilt from a stored record).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ZoningError
        For another suffix, unreadable tiles, or missing PDF dependencies.

    Examples
    --------
    >>> import tempfile, zoning
    >>> v = zoning.load_pack().screen("119.95,30.55", {"industry": "6550", "construction": "new"})
    >>> out = write_report(v, Path(tempfile.mkdtemp()) / "r.docx", screened_at="2024-06-01T08:00:00Z")
    >>> out.suffix, out.stat().st_size > 10000
    ('.docx', True)
    """
    path = Path(path)
    suffix = _check_suffix(path, REPORT_SUFFIXES, "report")
    kwargs = {"screening_id": screening_id, "screened_at": screened_at, "source": source, "basemap": basemap, "site": site, "pack": pack}
    if suffix == ".pdf":
        return write_pdf(verdict, path, **kwargs)
    if suffix == ".docx":
        from zoning.docx_report import write_docx

        return write_docx(verdict, path, **kwargs)
    path.write_text(report_html(verdict, offline=offline, **kwargs), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------
# 一图一表


def onemap_html(verdict, *, offline=None, tiles=None, site=None, pack=None, screening_id=None, screened_at=None, source=None):
    """The 一图一表 page of a verdict: the interactive map and one table of every unit touched.

    One self-contained HTML page: the verdict map (:func:`zoning.maps.verdict_map`) above one
    table with, for each unit the site touches, its code, name, category and overlap, its four
    list texts (空间布局约束, 污染物排放管控, 环境风险防控, 资源开发效率要求) and the clauses that
    fired there with their effect; then the clauses that fired on element zones, red lines,
    rasters or distances. The record number, time and data version head the page.

    Parameters
    ----------
    verdict : Verdict
    offline : bool, optional
        Inline Leaflet (see :func:`zoning.maps.verdict_map`).
    tiles : str, optional
        The folium map's basemap (a name :mod:`zoning.basemaps` knows), passed to ``verdict_map``.
    site, pack, screening_id, screened_at, source
        As for :func:`report_content`.

    Returns
    -------
    str

    Examples
    --------
    >>> import zoning
    >>> v = zoning.load_pack().screen("119.95,30.55", {"industry": "6550", "construction": "new"})
    >>> page = onemap_html(v)
    >>> "一图一表" in page and v["units"][0]["unit_code"] in page and "leaflet" in page.lower()
    True
    """
    c = report_content(verdict, site=site, pack=pack, screening_id=screening_id, screened_at=screened_at, source=source, map_image=False)
    table = compliance_table(verdict, pack)
    site, pack = site if site is not None else verdict.site_geometry, pack if pack is not None else verdict.pack
    d = verdict.to_dict()
    overlaps = {u["unit_code"]: u for u in d["units"]}
    rows = []
    for u in table["units"]:
        fired = [r for r in u["rows"] if r["status"] != "pass"]
        rows.append({"unit": u, "overlap": _overlap(overlaps[u["unit_code"]]), "share": _pct(overlaps[u["unit_code"]].get("overlap_share")),
                     "category": f"{vocab.CATEGORIES.get(u['category'], u['category'])} {u['category']}", "fired": fired,
                     "n_clauses": len(u["rows"])})
    other = [r for r in table["other"] if r["status"] != "pass"]
    map_html = None
    if site is not None and pack is not None:
        from zoning.maps import verdict_map

        map_html = _iframe(verdict_map(verdict, offline=offline, tiles=tiles, site=site, pack=pack).get_root().render())
    return _template("onemap.html.j2").render(c=c, rows=rows, other=other, map_iframe=map_html, dims=list(vocab.DIMENSIONS.items()), compliance=COMPLIANCE)


def write_onemap(verdict, path, **kwargs):
    """Write the 一图一表 page (:func:`onemap_html`) to ``path`` (``.html``)."""
    path = Path(path)
    _check_suffix(path, (".html", ".htm"), "一图一表 page")
    path.write_text(onemap_html(verdict, **kwargs), encoding="utf-8")
    return path


def write_map(folium_map, path):
    """Save a folium map as one HTML file (UTF-8)."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ZoningError(f"map file {path.name!r}: expected a name ending in .html")
    path.write_text(folium_map.get_root().render(), encoding="utf-8")
    return path


def pack_summary_html(pack):
    """An HTML summary of a pack for Jupyter: identity, digest, units, red lines, zones, clauses.

    Examples
    --------
    >>> import zoning
    >>> "单元" in pack_summary_html(zoning.load_pack())
    True
    """
    e = html.escape
    s = pack.summary()
    rows = [
        ("数据包 pack", f"{e(s['id'])} — {e(s['name'])}"),
        ("版本 version", f"{e(str(s['version']))} (生效 effective {e(s['effective'])})"),
        ("行政区 region", e(s["region"])),
        ("摘要 digest", f"<code>{e(s['digest'])}</code>"),
        ("单元 units", "; ".join(f"{vocab.CATEGORIES[c]} {c}: {v['count']} ({v['area_km2']:,.2f} km²)" for c, v in s["units"].items())),
        ("生态保护红线 red lines", f"{s['red_line']['count']} ({s['red_line']['area_km2']:,.2f} km²)"),
        ("要素管控分区 zones", "; ".join(f"{vocab.MEDIA.get(m, m)} {m}: {n}" for m, n in s["zones"].items()) or "—"),
        ("栅格 rasters", e(", ".join(s["rasters"])) or "—"),
        ("资源上线 quotas", str(s["quotas"])),
        ("条款 clauses", f"{s['clauses']} — " + "; ".join(f"{vocab.DIMENSIONS[k]} {v}" for k, v in s["clauses_by_dimension"].items())
         + " · " + "; ".join(f"{vocab.TIERS[k]} {v}" for k, v in s["clauses_by_tier"].items())),
    ]
    demo = f"<div style='color:#b71c1c;font-weight:bold'>{e(DEMO_NOTE)}</div>" if is_demo(pack.name) else ""
    body = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{v}</td></tr>" for k, v in rows)
    return f"<div class='zoning-pack'><b>{e(pack.name)}</b>{demo}<table>{body}</table><p><i>pack.explore()</i> shows the map 显示地图.</p></div>"


def clause_coverage(pack):
    """How many of the pack's clauses name each GB/T 4754-2017 industry division.

    A clause with an ``industry`` condition covers a division when one of its prefixes is the
    division or its section (``full``), or a group or class under it (``partial``); its
    ``industry_not`` codes are ignored here. Clauses without an industry condition apply to
    every industry and are counted in ``any_industry``.

    Returns
    -------
    pandas.DataFrame
        One row per division: ``division``, ``name``, ``section``, ``full``, ``partial``,
        ``any_industry``, ``clauses`` (the ids naming it), sorted by code.

    Examples
    --------
    >>> import zoning
    >>> cov = clause_coverage(zoning.load_pack())
    >>> int(cov.loc[cov["division"] == "26", "full"].iloc[0]) > 0
    True
    """
    import pandas as pd

    from zoning.industry import industries

    table = industries()
    divisions = [row for row in table if row.level == "division"]
    general = sum(1 for c in pack.clauses if not c.when.industry)
    out = []
    for div in divisions:
        full, partial = [], []
        for c in pack.clauses:
            prefixes = c.when.industry or []
            if any(table.covers(p, div.code) for p in prefixes):
                full.append(c.id)
            elif any(p in table and table.covers(div.code, p) for p in prefixes):
                partial.append(c.id)
        out.append({"division": div.code, "name": div.name, "section": div.parent, "full": len(full), "partial": len(partial),
                    "any_industry": general, "clauses": ";".join(full + partial)})
    return pd.DataFrame(out)
