"""Maps of verdicts and packs: interactive (folium/Leaflet) and static (matplotlib).

:func:`verdict_map` draws a screened site over the zoning around it — the units it touches
and those nearby coloured by category, the ecological red lines, each element-zone medium
as its own layer, the overlap pieces highlighted — with a verdict banner and a bilingual
legend. :func:`pack_map` draws a whole pack with a search-by-unit-code box.
:func:`verdict_figure` is the static map for PDF reports.

Reference layers are clipped to the site's surroundings and simplified, so a county-scale
verdict map is a few hundred kB. The basemap is OpenStreetMap, which is aligned with
WGS84/CGCS2000; never a GCJ-02 tile layer (AMap, Tencent), which would sit 100–700 m off.
With ``offline=True`` (or ``ZONING_OFFLINE=1`` in the environment) Leaflet is inlined from
the local copies (:mod:`zoning.assets`) and the basemap is left out, so the file renders
with no network at all. By default (``offline=None``) Leaflet is inlined too whenever the
local copies are at hand (an installed wheel always has them) and the basemap is kept: the
map's layers then show without a network and the basemap joins in when there is one.
``offline=False`` links Leaflet from its CDN, as folium does.
"""

import functools
import html
import math
import os

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element
from folium.plugins import Search

from zoning import vocab
from zoning.crs import CGCS2000, gk_zone_epsg
from zoning.errors import ZoningError
from zoning.verdict import deciding_findings

__all__ = [
    "CATEGORY_COLORS",
    "MEDIUM_COLORS",
    "REDLINE_COLOR",
    "VERDICT_COLORS",
    "ELIGIBILITY_COLORS",
    "DEMO_NOTE",
    "is_demo",
    "verdict_map",
    "pack_map",
    "screening_map",
    "eligibility_map",
    "diff_map",
    "DIFF_COLORS",
    "verdict_figure",
    "layer_names",
    "cjk_font",
]

#: Unit category → (outline, fill) in the customary colours.
CATEGORY_COLORS = {
    "priority": ("#1b5e20", "#43a047"),  # 优先保护 green
    "key": ("#bf360c", "#ff5722"),  # 重点管控 orange-red
    "general": ("#f57f17", "#ffeb3b"),  # 一般管控 yellow
}
#: Element-zone medium → colour.
MEDIUM_COLORS = {"air": "#1e88e5", "water": "#00838f", "soil": "#795548", "resource": "#8e24aa"}
REDLINE_COLOR = "#b71c1c"
SITE_COLOR = "#000000"
OVERLAP_COLOR = "#d500f9"
VERDICT_COLORS = vocab.VERDICT_COLORS
#: Eligibility maps: 禁止准入 red, 待补充信息 grey, 有条件准入 orange, 允许准入 green.
ELIGIBILITY_COLORS = {"prohibited": "#c62828", "needs_information": "#9e9e9e", "conditional": "#ef6c00", "permitted": "#2e7d32"}
_CATEGORY_EN = {"priority": "priority protection", "key": "key control", "general": "general control"}
_MEDIUM_EN = {"air": "air", "water": "water", "soil": "soil", "resource": "resources"}
#: Shown on every map and report of the demo pack.
DEMO_NOTE = "演示数据 demonstration data — not official zoning"


def layer_names(pack_or_media):
    """The overlay names of the layer control, in order (for a pack or an iterable of media).

    Examples
    --------
    >>> layer_names(["air", "water"])[:3]
    ['环境管控单元 control units', '生态保护红线 ecological red lines', '大气 air zones']
    """
    media = pack_or_media
    if hasattr(pack_or_media, "zones"):
        media = [m for m in vocab.MEDIA if (pack_or_media.zones["medium"] == m).any()]
    return ["环境管控单元 control units", "生态保护红线 ecological red lines", *(f"{vocab.MEDIA[m]} {_MEDIUM_EN[m]} zones" for m in media)]


def is_demo(name):
    """True when a pack name marks demonstration data (it contains 演示数据).

    Examples
    --------
    >>> is_demo("湖州市生态环境分区管控（演示数据）")
    True
    """
    return "演示数据" in str(name or "")


def _offline(offline):
    if offline is None:
        return os.environ.get("ZONING_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    return bool(offline)


def _inline(offline):
    """Whether to inline Leaflet: offline, or by default (``offline=None``) when the local
    copies are at hand, so that a map opens without a network (only the basemap needs one)."""
    from zoning.assets import offline_available

    return _offline(offline) or (offline is None and offline_available())


# ---------------------------------------------------------------- geometry helpers

def _to_gk(geoms, epsg):
    return gpd.GeoSeries(geoms, crs=CGCS2000).to_crs(epsg)


def _window(site, pack, buffer_m):
    """The site's surroundings on its GK zone: (epsg, site_gk, window_gk)."""
    epsg = gk_zone_epsg(site.centroid.x)
    site_gk = _to_gk([site], epsg).iloc[0]
    x0, y0, x1, y1 = site_gk.bounds
    if buffer_m is None:
        from zoning.screen import near_distance

        buffer_m = max(2000.0, 1.2 * near_distance(pack), 0.5 * max(x1 - x0, y1 - y0))
    return epsg, site_gk, shapely.box(x0 - buffer_m, y0 - buffer_m, x1 + buffer_m, y1 + buffer_m)


def _clip(gdf, epsg, window, tolerance):
    """Features of ``gdf`` inside ``window`` (GK), clipped, simplified, back in lon/lat, rounded."""
    if gdf is None or not len(gdf):
        return gdf.iloc[0:0] if gdf is not None else None
    if window is not None:
        lon_window = gpd.GeoSeries([window], crs=epsg).to_crs(CGCS2000).iloc[0]
        gdf = gdf.iloc[gdf.sindex.query(lon_window.buffer(0.01), predicate="intersects")]
    out = gdf.to_crs(epsg)
    if window is not None:
        out = out.set_geometry(out.geometry.intersection(window))
    out = out.set_geometry(out.geometry.simplify(tolerance, preserve_topology=True))
    vals = out.geometry.values
    out = out[~(shapely.is_missing(vals) | shapely.is_empty(vals))]
    out = out.to_crs(CGCS2000)
    out = out.set_geometry(shapely.set_precision(out.geometry.values, 1e-6))
    return out[~out.geometry.is_empty]


def _features(gdf, props):
    """A GeoJSON FeatureCollection dict; ``props(row) -> dict`` gives each feature's properties."""
    feats = []
    for row in gdf.itertuples(index=False):
        geom = getattr(row, gdf.geometry.name)
        if geom is None or geom.is_empty:
            continue
        feats.append({"type": "Feature", "properties": props(row), "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": feats}


def _fmt_overlap(entry):
    if entry is None:
        return "—"
    if "overlap_m2" in entry:
        return f"{entry['overlap_m2']:,.1f} m² ({entry['overlap_share']:.1%})"
    if "overlap_m" in entry:
        return f"{entry['overlap_m']:,.1f} m ({entry['overlap_share']:.1%})"
    return f"point 点位 ({entry['overlap_share']:.0%})"


# ---------------------------------------------------------------- folium helpers

def _base_map(bounds, offline, tiles):
    """The folium map fitted to ``bounds`` with its basemaps (none offline; see zoning.basemaps)."""
    from zoning.basemaps import add_basemaps

    (x0, y0, x1, y1) = bounds
    m = folium.Map(
        location=[(y0 + y1) / 2, (x0 + x1) / 2],
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
    )
    if not offline:
        add_basemaps(m, tiles)
    m.fit_bounds([[y0, x0], [y1, x1]])
    return m


def _make_offline(m, plugins=()):
    """Inline Leaflet (and the plugins' assets) instead of linking CDNs."""
    from zoning.assets import inline_css, inline_js

    m.default_js = []
    m.default_css = []
    header = m.get_root().header
    header.add_child(Element(inline_css("leaflet_css")), name="zoning_leaflet_css")
    header.add_child(Element(inline_js("leaflet_js")), name="zoning_leaflet_js")
    for plugin in plugins:
        plugin.default_js = []
        plugin.default_css = []
        if isinstance(plugin, Search):
            header.add_child(Element(inline_css("search_css")), name="zoning_search_css")
            header.add_child(Element(inline_js("search_js")), name="zoning_search_js")
    header.add_child(Element("<style>.leaflet-container{background:#eef2f3}</style>"), name="zoning_offline_bg")


def _box_css(extra):
    return (
        "position:fixed;z-index:1000;background:rgba(255,255,255,.93);border:1px solid #888;border-radius:4px;"
        "padding:6px 9px;font:12px/1.35 'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif;" + extra
    )


def _legend(media, offline, site=True):
    e = html.escape
    sw = lambda fill, line, label, dash="": (  # noqa: E731
        f"<div><span style='display:inline-block;width:14px;height:10px;background:{fill};"
        f"border:2px {'dashed' if dash else 'solid'} {line};margin-right:5px;vertical-align:middle'></span>{e(label)}</div>"
    )
    rows = ["<b>图例 Legend</b>"]
    if site:
        rows.append(sw("transparent", SITE_COLOR, "项目场地 site"))
        rows.append(sw(OVERLAP_COLOR, OVERLAP_COLOR, "重叠部分 overlap"))
    for cat, (line, fill) in CATEGORY_COLORS.items():
        rows.append(sw(fill, line, f"{vocab.CATEGORIES[cat]} {_CATEGORY_EN[cat]}"))
    rows.append(sw("rgba(183,28,28,.35)", REDLINE_COLOR, "生态保护红线 ecological red line", dash=True))
    for m in media:
        rows.append(sw("transparent", MEDIUM_COLORS[m], f"{vocab.MEDIA[m]}要素管控分区 {_MEDIUM_EN[m]} zones"))
    if offline:
        rows.append("<div style='color:#555'>离线：无底图 offline: no basemap</div>")
    else:
        rows.append("<div style='color:#555'>底图 OpenStreetMap (WGS84)</div>")
    return Element(f"<div id='zoning-legend' style=\"{_box_css('bottom:50px;left:10px;max-width:260px')}\">{''.join(rows)}</div>")


def _demo_note():
    return Element(
        f"<div id='zoning-demo-note' style=\"{_box_css('bottom:8px;left:50%;transform:translateX(-50%);color:#b71c1c;font-weight:bold')}\">"
        f"{html.escape(DEMO_NOTE)}</div>"
    )


def _tooltip(fields, aliases):
    return folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True, localize=False)


def _units_layer(units, touched, clauses_at, name, show=True, emphasise=True):
    def props(row):
        code = row.unit_code
        p = {
            "unit_code": code,
            "unit_name": row.unit_name or "",
            "category": f"{vocab.CATEGORIES.get(row.category, row.category)} {row.category}",
            "_cat": row.category,
            "overlap": _fmt_overlap(touched.get(code)) if touched is not None else "—",
            "clauses": ", ".join(clauses_at.get(code, [])) or "—",
            "_touched": code in (touched or {}),
        }
        if touched is not None:
            p["access_list"] = _access_list_html(touched.get(code))
        p["style"] = style_of(p)  # Leaflet.Search restores styles from properties.style
        return p

    def style_of(p):
        line, fill = CATEGORY_COLORS.get(p["_cat"], ("#555555", "#9e9e9e"))
        hit = p["_touched"] and emphasise
        return {"color": line, "weight": 3 if hit else 1, "fillColor": fill, "fillOpacity": 0.55 if hit else 0.3}

    def style(feature):
        return feature["properties"]["style"]

    data = _features(units, props)
    fields, aliases = ["unit_code", "unit_name", "category"], ["单元编码 code", "单元名称 name", "类别 category"]
    if touched is not None:
        fields += ["overlap", "clauses"]
        aliases += ["重叠 overlap", "触发条款 clauses"]
    popup = None
    if touched is not None and data["features"]:
        popup = folium.GeoJsonPopup(fields=["unit_code", "unit_name", "access_list"], aliases=["单元编码 code", "单元名称 name", "准入清单 access list"],
                                    localize=False, max_width=460, class_name="zoning-access-list")
    return folium.GeoJson(data, name=name, style_function=style, tooltip=_tooltip(fields, aliases) if data["features"] else None,
                          popup=popup, highlight_function=lambda f: {"weight": 4, "fillOpacity": 0.7}, show=show), data


def _access_list_html(entry):
    """The popup text of a touched unit's list (escaped HTML): each dimension, Chinese name first."""
    from zoning.verdict import access_list_lines

    if entry is None:
        return "— (场地未涉及 not touched by the site)"
    lines = access_list_lines(entry)
    if not lines:
        return "— (无清单文本 no list text)"
    e = html.escape
    return "".join(f"<div style='margin-bottom:3px'><b>{e(dim)}</b>: {e(text)}</div>" for dim, text in lines) + (
        "<div style='color:#666;font-size:11px'>文本仅供参考，由 rules.yaml 条款判定 text informs; only the clauses decide</div>"
    )


def _redline_layer(red, touched, clauses_at, name):
    data = _features(red, lambda r: {
        "redline_id": r.redline_id,
        "name": r.name or "",
        "function": str(getattr(r, "function", "") or "—"),
        "overlap": _fmt_overlap((touched or {}).get(r.redline_id)) if touched is not None else "—",
        "clauses": ", ".join(clauses_at.get(r.redline_id, [])) or "—",
    })
    fields, aliases = ["redline_id", "name", "function"], ["红线编号 id", "名称 name", "功能 function"]
    if touched is not None:
        fields += ["overlap", "clauses"]
        aliases += ["重叠 overlap", "触发条款 clauses"]
    style = {"color": REDLINE_COLOR, "weight": 2, "dashArray": "6 4", "fillColor": REDLINE_COLOR, "fillOpacity": 0.35}
    return folium.GeoJson(data, name=name, style_function=lambda f: style, tooltip=_tooltip(fields, aliases) if data["features"] else None,
                          highlight_function=lambda f: {"weight": 4, "fillOpacity": 0.55})


def _zone_layers(zones, touched, clauses_at, media, show):
    out = []
    names = dict(zip(media, layer_names(media)[2:]))
    for medium in media:
        sub = zones[zones["medium"] == medium]
        color = MEDIUM_COLORS[medium]
        data = _features(sub, lambda r: {
            "zone_id": r.zone_id,
            "name": r.name or "",
            "zone_type": f"{vocab.ZONE_TYPES.get(r.zone_type, '')} {r.zone_type}".strip(),
            "overlap": _fmt_overlap((touched or {}).get(r.zone_id)) if touched is not None else "—",
            "clauses": ", ".join(clauses_at.get(r.zone_id, [])) or "—",
            "_touched": r.zone_id in (touched or {}),
        })
        fields, aliases = ["zone_id", "name", "zone_type"], ["分区编号 id", "名称 name", "类型 zone type"]
        if touched is not None:
            fields += ["overlap", "clauses"]
            aliases += ["重叠 overlap", "触发条款 clauses"]
        group = folium.FeatureGroup(name=names[medium], show=show(medium))
        if data["features"]:
            folium.GeoJson(
                data,
                style_function=lambda f, c=color: {"color": c, "weight": 3 if f["properties"]["_touched"] else 1.5,
                                                   "dashArray": None if f["properties"]["_touched"] else "4 3",
                                                   "fillColor": c, "fillOpacity": 0.0},
                tooltip=_tooltip(fields, aliases),
                highlight_function=lambda f: {"weight": 4},
            ).add_to(group)
        out.append(group)
    return out


# ---------------------------------------------------------------- verdict map

def _clauses_at(d):
    out = {}
    for f in d["findings"]:
        out.setdefault(str(f["where"]), [])
        if f["clause_id"] not in out[str(f["where"])]:
            out[str(f["where"])].append(f["clause_id"])
    return out


def _overlaps(site, pack, d, clauses_at):
    """The pieces of the site inside each touched unit, red line and zone (lon/lat)."""
    rows = []
    epsg = gk_zone_epsg(site.centroid.x)
    site_gk = _to_gk([site], epsg).iloc[0]
    for layer, key, entries, label in (
        ("units", "unit_code", d["units"], "环境管控单元 unit"),
        ("red_line", "redline_id", d["red_line"], "生态保护红线 red line"),
        ("zones", "zone_id", d["zones"], "要素管控分区 zone"),
    ):
        gdf = getattr(pack, layer)
        if gdf is None or not len(gdf) or not entries:
            continue
        by_id = {e[key]: e for e in entries}
        hits = gdf[gdf[key].isin(list(by_id))].to_crs(epsg)  # intersect on the GK plane, as screening does
        for ident, geom in zip(hits[key], hits.geometry):
            piece = site_gk.intersection(geom) if site.geom_type not in ("Point", "MultiPoint") else site_gk
            if piece.is_empty:
                continue
            rows.append({"layer": label, "id": ident, "overlap": _fmt_overlap(by_id[ident]),
                         "clauses": ", ".join(clauses_at.get(ident, [])) or "—", "geometry": piece})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=epsg).to_crs(CGCS2000) if rows else None


def _banner(d, project_name, demo):
    e = html.escape
    color = VERDICT_COLORS[d["verdict"]]
    ink = "#212121" if d["verdict"] == "conditional" else "#fff"
    clauses = list(dict.fromkeys(f["clause_id"] for f in deciding_findings(d["verdict"], d["findings"])))
    detail = ""
    if clauses:
        shown = ", ".join(clauses[:6]) + (f" … (+{len(clauses) - 6})" if len(clauses) > 6 else "")
        detail = f"<div style='font-size:12px;font-weight:normal'>决定条款 deciding clauses: {e(shown)}</div>"
    if d["missing"]:
        detail += f"<div style='font-size:12px;font-weight:normal'>待补充 missing: {e(', '.join(d['missing']))}</div>"
    name = f"<div style='font-size:12px;font-weight:normal'>{e(project_name)}</div>" if project_name else ""
    demo_line = f"<div style='font-size:11px;font-weight:normal'>{e(DEMO_NOTE)}</div>" if demo else ""
    return Element(
        f"<div id='zoning-banner' style=\"{_box_css(f'top:10px;left:50%;transform:translateX(-50%);background:{color};color:{ink};border-color:{color};font-size:16px;font-weight:bold;text-align:center;max-width:60%')}\">"
        f"<span class='zoning-verdict'>{e(d['verdict_zh'])} {e(d['verdict'])}</span>{name}{detail}{demo_line}</div>"
    )


def _site_and_pack(verdict, site, pack):
    site = site if site is not None else verdict.site_geometry
    pack = pack if pack is not None else verdict.pack
    if site is not None and not hasattr(site, "geom_type"):
        site = shapely.geometry.shape(site)  # a GeoJSON geometry mapping (lon/lat)
    if site is None or pack is None:
        raise ZoningError(
            "this verdict carries no site geometry or pack (it was rebuilt from JSON); "
            "screen the site again to map it, or pass site= (lon/lat) and pack="
        )
    return site, pack


def verdict_map(verdict, *, offline=None, buffer_m=None, tiles=None, site=None, pack=None):
    """An interactive map of a screened site over the zoning around it.

    Parameters
    ----------
    verdict : Verdict
        A verdict from :meth:`Pack.screen` (it keeps the site geometry and the pack).
    offline : bool, optional
        True: inline Leaflet from the local copies and leave out the basemap, so the file
        renders with no network. False: link Leaflet from its CDN. Default: ``$ZONING_OFFLINE``,
        else Leaflet inlined when the local copies are at hand, with the basemap.
    buffer_m : float, optional
        How far around the site to draw the reference layers (default: 2 km, or more for
        a large site or long ``near`` distances).
    tiles : str, optional
        The basemap shown first when online: ``osm``, ``tianditu-vec`` or ``tianditu-img``
        (天地图, needs ``ZONING_TIANDITU_KEY``), or a WGS84-aligned folium tile name/URL;
        default ``$ZONING_BASEMAP``, else OpenStreetMap. GCJ-02 tiles are refused
        (:mod:`zoning.basemaps`).
    site, pack : optional
        For a verdict rebuilt from JSON (e.g. a stored record): the site as a shapely geometry
        or GeoJSON mapping in CGCS2000/WGS84 lon/lat, and the :class:`Pack` it was screened on.

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import zoning
    >>> pack = zoning.load_pack()
    >>> v = pack.screen("119.95,30.55", {"industry": "6550", "construction": "new"})
    >>> m = verdict_map(v)
    >>> "zoning-banner" in m.get_root().render()
    True
    """
    site, pack = _site_and_pack(verdict, site, pack)
    inline = _inline(offline)
    offline = _offline(offline)
    d = verdict.to_dict()
    epsg, site_gk, window = _window(site, pack, buffer_m)
    tolerance = max(1.0, (window.bounds[2] - window.bounds[0]) / 4000)
    clauses_at = _clauses_at(d)
    media = [m for m in vocab.MEDIA if pack.zones is not None and (pack.zones["medium"] == m).any()]
    # Draw the surroundings, open on the site and its close neighbourhood.
    x0, y0, x1, y1 = site_gk.bounds
    pad = max(800.0, 1.5 * max(x1 - x0, y1 - y0))
    view = gpd.GeoSeries([shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)], crs=epsg).to_crs(CGCS2000).iloc[0]
    m = _base_map(view.bounds, offline, tiles)

    units = _clip(pack.units, epsg, window, tolerance)
    touched_units = {u["unit_code"]: u for u in d["units"]}
    layer, _ = _units_layer(units, touched_units, clauses_at, layer_names(media)[0])
    layer.add_to(m)
    touched_red = {r["redline_id"]: r for r in d["red_line"]}
    if pack.red_line is not None:
        _redline_layer(_clip(pack.red_line, epsg, window, tolerance), touched_red, clauses_at, layer_names(media)[1]).add_to(m)
    if media:
        touched_zones = {z["zone_id"]: z for z in d["zones"]}
        hit_media = {z["medium"] for z in d["zones"]}
        for group in _zone_layers(_clip(pack.zones, epsg, window, tolerance), touched_zones, clauses_at, media, show=lambda md: md in hit_media):
            group.add_to(m)

    overlaps = _overlaps(site, pack, d, clauses_at)
    group = folium.FeatureGroup(name="重叠部分 overlaps")
    if overlaps is not None:
        folium.GeoJson(
            _features(overlaps, lambda r: {"layer": r.layer, "id": r.id, "overlap": r.overlap, "clauses": r.clauses}),
            style_function=lambda f: {"color": OVERLAP_COLOR, "weight": 9 if "Line" in f["geometry"]["type"] else 3,
                                      "opacity": 0.7, "fillColor": OVERLAP_COLOR, "fillOpacity": 0.4},
            marker=folium.CircleMarker(radius=9, color=OVERLAP_COLOR, fill=True, fill_opacity=0.6),
            tooltip=_tooltip(["layer", "id", "overlap", "clauses"], ["图层 layer", "编号 id", "重叠 overlap", "触发条款 clauses"]),
        ).add_to(group)
    group.add_to(m)

    project = d.get("project") or {}
    s = d["site"]
    measure = f"{s['area_m2']:,.1f} m²" if s.get("area_m2") else (f"{s['length_m']:,.1f} m" if s.get("length_m") else "point 点")
    site_group = folium.FeatureGroup(name="项目场地 site")
    folium.GeoJson(
        {"type": "Feature", "geometry": shapely.geometry.mapping(site), "properties": {
            "name": project.get("name") or "—", "verdict": f"{d['verdict_zh']} {d['verdict']}",
            "measure": f"{measure} ({s['area_crs']})", "units": ", ".join(touched_units) or "—"}},
        style_function=lambda f: {"color": SITE_COLOR, "weight": 3, "fillOpacity": 0.0, "dashArray": None},
        marker=folium.CircleMarker(radius=6, color=SITE_COLOR, weight=3, fill=True, fill_color="#ffffff", fill_opacity=1),
        tooltip=_tooltip(["name", "verdict", "measure", "units"], ["项目 project", "结论 verdict", "规模 size", "单元 units"]),
    ).add_to(site_group)
    site_group.add_to(m)

    demo = is_demo(d["pack"].get("name") or pack.name)
    root = m.get_root().html
    root.add_child(_banner(d, project.get("name"), demo), name="zoning_banner")
    root.add_child(_legend(media, offline), name="zoning_legend")
    if demo:
        root.add_child(_demo_note(), name="zoning_demo_note")
    folium.LayerControl(collapsed=False).add_to(m)
    if inline:
        _make_offline(m)
    return m


# ---------------------------------------------------------------- diff map

#: Pack diffs: 新增 added green, 删除 removed red, 变更 changed orange.
DIFF_COLORS = {"added": "#2e7d32", "removed": "#c62828", "changed": "#ef6c00"}
_DIFF_ZH = {"added": "新增", "removed": "删除", "changed": "变更"}
_DIFF_LAYER_ZH = {"units": "环境管控单元 units", "red_line": "生态保护红线 red line", "zones": "要素管控分区 zones"}


def _diff_rows(diff, old, new):
    from zoning.pack import LAYER_IDS

    rows = []
    for layer, key in LAYER_IDS.items():
        part = diff.get(layer) or {}
        og, ng = getattr(old, layer), getattr(new, layer)
        for kind, source, ids in (("added", ng, part.get("added", [])), ("removed", og, part.get("removed", [])),
                                  ("changed", ng, [c["id"] for c in part.get("changed", [])])):
            if not ids or source is None or not len(source):
                continue
            info = {c["id"]: c for c in part.get("changed", [])} if kind == "changed" else {}
            sub = source[source[key].isin(ids)]
            name_col = "unit_name" if layer == "units" else "name"
            for ident, name, geom in zip(sub[key], sub[name_col] if name_col in sub.columns else [""] * len(sub), sub.geometry):
                c = info.get(ident, {})
                if kind == "changed":
                    area = f"{c.get('area_change_m2', 0.0):+,.1f} m²" if c.get("geometry_changed") else "0 m² (边界未变 shape unchanged)"
                    fields = ", ".join(c.get("fields") or []) or "—"
                else:
                    area = "—"
                    fields = "—"
                rows.append({"layer": _DIFF_LAYER_ZH[layer], "id": str(ident), "name": str(name or ""),
                             "change": f"{_DIFF_ZH[kind]} {kind}", "_kind": kind, "area_change": area, "fields": fields,
                             "geometry": geom})
            if kind == "changed":  # the old outline, for comparison
                old_sub = og[og[key].isin(ids)] if og is not None and len(og) else None
                if old_sub is not None:
                    for ident, geom in zip(old_sub[key], old_sub.geometry):
                        if info.get(ident, {}).get("geometry_changed"):
                            rows.append({"layer": _DIFF_LAYER_ZH[layer], "id": str(ident), "name": "", "change": "原边界 old outline",
                                         "_kind": "old", "area_change": "", "fields": "", "geometry": geom})
    return rows


def diff_map(diff, old, new, *, offline=None, tiles=None, simplify_deg=2e-5):
    """An interactive map of what changed between two versions of a pack.

    Added features (their new shape) are green, removed ones (their old shape) red, changed
    ones orange with the old outline dashed grey; the tooltip gives the area change and the
    changed fields.

    Parameters
    ----------
    diff : dict
        From :func:`zoning.diff.diff_packs`.
    old, new : Pack
        The two packs compared.
    offline : bool, optional
        As for :func:`verdict_map`.
    simplify_deg : float
        Display simplification in degrees (2e-5° ≈ 2 m).

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import zoning
    >>> from zoning.diff import diff_packs
    >>> pack = zoning.load_pack()
    >>> m = diff_map(diff_packs(pack, pack), pack, pack)
    >>> "zoning-diff-summary" in m.get_root().render()
    True
    """
    inline = _inline(offline)
    offline = _offline(offline)
    e = html.escape
    rows = _diff_rows(diff, old, new)
    if rows:
        gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=CGCS2000)
        gdf = gdf.set_geometry(gdf.geometry.simplify(simplify_deg, preserve_topology=True))
        bounds = tuple(gdf.total_bounds)
    else:
        gdf = None
        bounds = tuple(new.units.total_bounds) if len(new.units) else (119.0, 30.0, 121.0, 31.0)
    m = _base_map(bounds, offline, tiles)
    if gdf is not None:
        for kind in ("old", "removed", "added", "changed"):
            sub = gdf[gdf["_kind"] == kind]
            if not len(sub):
                continue
            label = "原边界 old outlines" if kind == "old" else f"{_DIFF_ZH[kind]} {kind}"
            color = "#616161" if kind == "old" else DIFF_COLORS[kind]
            style = {"color": color, "weight": 2, "fillColor": color, "fillOpacity": 0.0 if kind == "old" else 0.45,
                     "dashArray": "5 4" if kind == "old" else None}
            data = _features(sub, lambda r: {"layer": r.layer, "id": r.id, "name": r.name, "change": r.change,
                                             "area_change": r.area_change, "fields": r.fields})
            group = folium.FeatureGroup(name=label)
            folium.GeoJson(
                data, style_function=lambda f, st=style: st,
                tooltip=_tooltip(["layer", "id", "name", "change", "area_change", "fields"],
                                 ["图层 layer", "编号 id", "名称 name", "变化 change", "面积变化 area change", "变更字段 changed fields"]),
                highlight_function=lambda f: {"weight": 4},
            ).add_to(group)
            group.add_to(m)
    o, w = diff["old"], diff["new"]
    counts = []
    for layer, label in _DIFF_LAYER_ZH.items():
        part = diff.get(layer) or {}
        counts.append(f"{e(label)}: +{len(part.get('added', []))} −{len(part.get('removed', []))} ~{len(part.get('changed', []))}")
    cl = diff.get("clauses") or {}
    counts.append(f"准入条款 clauses: +{len(cl.get('added', []))} −{len(cl.get('removed', []))} ~{len(cl.get('changed', []))}")
    q = diff.get("quotas") or {}
    counts.append(f"资源利用上线 quotas: +{len(q.get('added', []))} −{len(q.get('removed', []))} ~{len(q.get('changed', []))}")
    sw = lambda color, label, dash=False: (  # noqa: E731
        f"<div><span style='display:inline-block;width:14px;height:10px;background:{'transparent' if dash else color};"
        f"border:2px {'dashed' if dash else 'solid'} {color};margin-right:5px;vertical-align:middle'></span>{e(label)}</div>"
    )
    legend = "".join([sw(DIFF_COLORS["added"], "新增 added"), sw(DIFF_COLORS["removed"], "删除 removed"),
                      sw(DIFF_COLORS["changed"], "变更 changed"), sw("#616161", "原边界 old outline", dash=True)])
    summary = (
        f"<div id='zoning-diff-summary' style=\"{_box_css('top:10px;right:10px;max-width:340px')}\">"
        f"<b>数据包版本对比 Pack diff</b><div>{e(o['id'])} {e(str(o['version']))} → {e(w['id'])} {e(str(w['version']))}</div>"
        + "".join(f"<div>{c}</div>" for c in counts)
        + ("" if rows else "<div><i>无要素变化 no feature changes</i></div>")
        + f"<hr style='margin:4px 0'>{legend}</div>"
    )
    m.get_root().html.add_child(Element(summary), name="zoning_diff_summary")
    if is_demo(new.name):
        m.get_root().html.add_child(_demo_note(), name="zoning_demo_note")
    folium.LayerControl(collapsed=False).add_to(m)
    if inline:
        _make_offline(m)
    return m


# ---------------------------------------------------------------- pack map

def pack_map(pack, *, offline=None, tolerance_m=None, tiles=None):
    """An interactive map of a whole pack: units by category, red lines, zones by medium.

    A search box finds a unit by its code. Geometries are simplified (default tolerance:
    1/5000 of the pack's extent, at least 10 m) so the map of a city opens quickly.

    Parameters
    ----------
    pack : Pack
    offline : bool, optional
        As for :func:`verdict_map`.
    tolerance_m : float, optional
        Simplification tolerance in metres.
    tiles : str, optional
        The basemap shown first when online (see :func:`verdict_map`).

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import zoning
    >>> m = pack_map(zoning.load_pack())
    >>> "leaflet-search" in m.get_root().render()
    True
    """
    inline = _inline(offline)
    offline = _offline(offline)
    bounds = pack.units.total_bounds
    epsg = gk_zone_epsg((bounds[0] + bounds[2]) / 2)
    if tolerance_m is None:
        gx0, gy0, gx1, gy1 = _to_gk([shapely.box(*bounds)], epsg).total_bounds
        tolerance_m = max(10.0, max(gx1 - gx0, gy1 - gy0) / 5000)
    media = [m for m in vocab.MEDIA if pack.zones is not None and (pack.zones["medium"] == m).any()]
    names = layer_names(media)
    m = _base_map(bounds, offline, tiles)
    units_layer, _ = _units_layer(_clip(pack.units, epsg, None, tolerance_m), None, {}, names[0], emphasise=False)
    units_layer.add_to(m)
    if pack.red_line is not None and len(pack.red_line):
        _redline_layer(_clip(pack.red_line, epsg, None, tolerance_m), None, {}, names[1]).add_to(m)
    if media:
        for group in _zone_layers(_clip(pack.zones, epsg, None, tolerance_m), None, {}, media, show=lambda md: False):
            group.add_to(m)
    search = Search(layer=units_layer, geom_type="Polygon", search_label="unit_code", placeholder="单元编码 unit code…",
                    collapsed=False, search_zoom=12, position="topleft")
    search.add_to(m)
    e = html.escape
    demo = is_demo(pack.name)
    title = (
        f"<div id='zoning-banner' style=\"{_box_css('top:10px;left:50%;transform:translateX(-50%);font-size:14px;font-weight:bold;text-align:center')}\">"
        f"{e(pack.name)}<div style='font-weight:normal;font-size:12px'>{e(pack.id)} {e(pack.version)} · "
        f"{len(pack.units)} 单元 units · {len(pack.clauses)} 条款 clauses · {e(pack.digest[:19])}…</div></div>"
    )
    root = m.get_root().html
    root.add_child(Element(title), name="zoning_banner")
    root.add_child(_legend(media, offline, site=False), name="zoning_legend")
    if demo:
        root.add_child(_demo_note(), name="zoning_demo_note")
    folium.LayerControl(collapsed=False).add_to(m)
    if inline:
        _make_offline(m, plugins=[search])
    return m


# ---------------------------------------------------------------- many sites

def screening_map(table, *, pack=None, offline=None, id_column=None, tiles=None):
    """An interactive map of a :meth:`Pack.screen_many` table: each site coloured by its verdict.

    Parameters
    ----------
    table : GeoDataFrame
        The rows ``screen_many`` returned (columns ``verdict``, ``verdict_zh``, ``units``,
        ``blocking``, ``missing``, ``error``).
    pack : Pack, optional
        Draw its units (by category) underneath, simplified.
    offline : bool, optional
        As for :func:`verdict_map`.
    id_column : str, optional
        A column naming each site in the tooltip (default: the first of ``site_id``, ``id``,
        ``name`` present).

    Returns
    -------
    folium.Map
    """
    inline = _inline(offline)
    offline = _offline(offline)
    gdf = table.to_crs(CGCS2000) if table.crs is not None else table.set_crs(CGCS2000)
    id_column = id_column or next((c for c in ("site_id", "id", "name") if c in gdf.columns), None)
    m = _base_map(gdf.total_bounds, offline, tiles)
    media = []
    if pack is not None:
        b = pack.units.total_bounds
        epsg = gk_zone_epsg((b[0] + b[2]) / 2)
        layer, _ = _units_layer(_clip(pack.units, epsg, None, 50.0), None, {}, layer_names(media)[0], emphasise=False)
        layer.add_to(m)

    def text(v):
        return "—" if v is None or (isinstance(v, float) and np.isnan(v)) or v == "" else str(v)

    for verdict, label in [*vocab.VERDICTS.items(), (None, "未研判 not screened")]:
        rows = gdf[gdf["verdict"].isna()] if verdict is None else gdf[gdf["verdict"] == verdict]
        group = folium.FeatureGroup(name=f"{label} {verdict or ''} ({len(rows)})".replace("  ", " "))
        color = VERDICT_COLORS.get(verdict, "#616161")
        if len(rows):
            data = _features(rows, lambda r: {
                "site": text(getattr(r, id_column)) if id_column else "",
                "verdict": f"{text(getattr(r, 'verdict_zh', None))} {text(r.verdict)}",
                "units": text(getattr(r, "units", None)),
                "blocking": text(getattr(r, "blocking", None)),
                "missing": text(getattr(r, "missing", None)),
                "error": text(getattr(r, "error", None)),
            })
            folium.GeoJson(
                data,
                style_function=lambda f, c=color: {"color": c, "weight": 2, "fillColor": c, "fillOpacity": 0.7},
                marker=folium.CircleMarker(radius=6, color=color, fill=True, fill_opacity=0.8),
                tooltip=_tooltip(["site", "verdict", "units", "blocking", "missing", "error"],
                                 ["场地 site", "结论 verdict", "单元 units", "决定条款 blocking", "待补充 missing", "错误 error"]),
            ).add_to(group)
        group.add_to(m)
    e = html.escape
    rows = "".join(
        f"<div><span style='display:inline-block;width:12px;height:12px;background:{VERDICT_COLORS[v]};margin-right:5px'></span>{e(zh)} {e(v)}</div>"
        for v, zh in vocab.VERDICTS.items()
    )
    root = m.get_root().html
    root.add_child(Element(f"<div id='zoning-legend' style=\"{_box_css('bottom:50px;left:10px')}\"><b>结论 Verdicts</b>{rows}</div>"), name="zoning_legend")
    if pack is not None and is_demo(pack.name):
        root.add_child(_demo_note(), name="zoning_demo_note")
    folium.LayerControl(collapsed=False).add_to(m)
    if inline:
        _make_offline(m)
    return m


def _display_tolerance_m(bounds):
    """Simplification for display: about 1/4000 of the map's diagonal (20 m for a city)."""
    x0, y0, x1, y1 = bounds
    diag_m = math.hypot((x1 - x0) * 111_320.0 * math.cos(math.radians((y0 + y1) / 2)), (y1 - y0) * 110_574.0)
    return max(1.0, round(diag_m / 4000.0, 1))


def eligibility_map(elig, *, offline=None, tiles=None, simplify_m=None):
    """An interactive map of an eligibility map (:func:`zoning.eligibility.eligibility`):
    polygons coloured by verdict (禁止准入 red, 待补充信息 grey, 有条件准入 orange, 允许准入 green),
    the blocking clauses in tooltips, a legend with the area by verdict.

    ``simplify_m`` simplifies the polygons together for display (default: about 1/4000 of
    the map's diagonal; 0 keeps every vertex); the legend says by how much.
    """
    from zoning.eligibility import simplify_coverage

    inline = _inline(offline)
    offline = _offline(offline)
    gdf = elig.frame
    bounds = gdf.total_bounds if len(gdf) else (119.0, 30.0, 121.0, 31.0)
    m = _base_map(bounds, offline, tiles)
    tol = _display_tolerance_m(bounds) if simplify_m is None else float(simplify_m)
    if tol > 0 and len(gdf):
        gdf = gdf.copy()
        gdf["geometry"] = simplify_coverage(gdf.geometry.values, tol)
    e = html.escape

    def clause_text(ids):
        if not ids:
            return "—"
        out = []
        for i in ids.split(";"):
            t = elig.clauses.get(i, "")
            out.append(f"{i}: {t[:60]}{'…' if len(t) > 60 else ''}" if t else i)
        return "<br>".join(e(x) for x in out)

    for verdict, zh in vocab.VERDICTS.items():
        rows = gdf[gdf["verdict"] == verdict]
        area = elig.areas_m2.get(verdict, 0.0)
        group = folium.FeatureGroup(name=f"{zh} {verdict} ({area / 1e6:,.1f} km²)")
        color = ELIGIBILITY_COLORS[verdict]
        if len(rows):
            data = _features(rows, lambda r: {
                "verdict": f"{r.verdict_zh} {r.verdict}",
                "blocking": clause_text(r.blocking),
                "missing": e(r.missing.replace(";", ", ")) if r.missing else "—",
                "area": f"{r.area_m2 / 1e6:,.3f} km²",
            })
            folium.GeoJson(
                data,
                style_function=lambda f, c=color: {"color": c, "weight": 0.6, "fillColor": c, "fillOpacity": 0.55},
                highlight_function=lambda f: {"weight": 2.5, "fillOpacity": 0.75},
                tooltip=folium.GeoJsonTooltip(["verdict", "blocking", "missing", "area"],
                                              aliases=["结论 verdict", "决定条款 blocking", "待补充 missing", "面积 area"],
                                              sticky=True, style="max-width:420px;white-space:normal"),
            ).add_to(group)
        group.add_to(m)
    total = sum(elig.areas_m2.values()) or 1.0
    legend = "".join(
        f"<div><span style='display:inline-block;width:12px;height:12px;background:{ELIGIBILITY_COLORS[v]};margin-right:5px'></span>"
        f"{e(zh)} {e(v)} — {elig.areas_m2.get(v, 0.0) / 1e6:,.1f} km² ({elig.areas_m2.get(v, 0.0) / total:.1%})</div>"
        for v, zh in vocab.VERDICTS.items()
    )
    project = elig.project
    what = " ".join(str(x) for x in [project.get("name") or "", "/".join(project.get("industry") or []), project.get("construction") or ""] if x)
    note = f"<div style='color:#555'>点位选址结论 verdict of a point site; 显示简化 simplified {tol:g} m</div>" if tol > 0 else ""
    root = m.get_root().html
    root.add_child(Element(
        f"<div id='zoning-legend' style=\"{_box_css('bottom:50px;left:10px;max-width:340px')}\">"
        f"<b>可选区域 Where could it go?</b><div>{e(what)}</div><div style='color:#555'>{e(elig.pack['id'])} {e(str(elig.pack['version']))}</div>"
        f"{legend}{note}</div>"), name="zoning_legend")
    if is_demo(str(elig.pack.get("name", ""))) or "demo" in str(elig.pack.get("id", "")):
        root.add_child(_demo_note(), name="zoning_demo_note")
    folium.LayerControl(collapsed=False).add_to(m)
    if inline:
        _make_offline(m)
    return m


# ---------------------------------------------------------------- static map

@functools.cache
def cjk_font():
    """The family name of an installed CJK font for matplotlib (Noto Sans CJK SC first), or None.

    Debian's ``fonts-noto-cjk`` provides it (``apt install fonts-noto-cjk``; in a checkout ``make sysdeps``); fonts
    installed after matplotlib built its font cache are registered here from disk.
    """
    from matplotlib import font_manager

    def best():
        names = sorted({f.name for f in font_manager.fontManager.ttflist})
        for prefix in ("Noto Sans CJK SC", "Noto Sans CJK", "Source Han Sans", "WenQuanYi", "Noto Serif CJK", "SimHei", "Microsoft YaHei"):
            for n in names:
                if n.startswith(prefix):
                    return n
        return None

    found = best()
    if found:
        return found
    for path in sorted(font_manager.findSystemFonts()):
        if os.path.basename(path).startswith(("NotoSansCJK", "NotoSerifCJK", "wqy")):
            font_manager.fontManager.addfont(path)
    return best()


def verdict_figure(verdict, *, buffer_m=None, figsize=(8, 6.5), dpi=110, site=None, pack=None, basemap=None):
    """A static matplotlib map of a verdict (for PDF and DOCX reports).

    Units, red lines and the zones touched, the site and its overlaps, with a bilingual
    legend, a north arrow (pointing to true north: on a Gauss–Krüger plane grid north
    differs by the meridian convergence), a scale bar and labels: the names and codes of the
    units touched, the names of the other units in view and of the red lines. The basemap
    comes only from offline tiles given as ``basemap`` (nothing is fetched from a network);
    without them the map has none and says so in its corner. The figure's ``basemap_note``
    attribute holds that sentence for the report's text.

    Parameters
    ----------
    verdict : Verdict
    buffer_m : float, optional
        Margin around the site (default: ¾ of the site's size, at least 1 km).
    figsize, dpi
        Figure size (inches) and resolution.
    site, pack : optional
        When the verdict carries no geometry or pack (rebuilt from JSON).
    basemap : str or Path, optional
        Offline Web-Mercator (EPSG:3857, XYZ scheme) tiles aligned with WGS84/CGCS2000
        (OpenStreetMap, 天地图 ``_w``): a directory of ``{z}/{x}/{y}.png|jpg|jpeg|webp`` or an
        ``.mbtiles`` file. Tiles drawn on GCJ-02/BD-09 (AMap, Tencent, Baidu) would sit
        100–700 m off and must not be used.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ZoningError
        When ``basemap`` is not a tile directory or a readable MBTiles file.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.patheffects as pe
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    site, pack = _site_and_pack(verdict, site, pack)
    tiles = _TileSource.open(basemap) if basemap is not None else None
    d = verdict.to_dict()
    font = cjk_font()
    rc = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"], "axes.unicode_minus": False}
    if buffer_m is None:  # a closer look than the interactive map: the site must not be a dot
        x0, y0, x1, y1 = _to_gk([site], gk_zone_epsg(site.centroid.x)).total_bounds
        buffer_m = max(1000.0, 0.75 * max(x1 - x0, y1 - y0))
    epsg, site_gk, window = _window(site, pack, buffer_m)
    tolerance = max(1.0, (window.bounds[2] - window.bounds[0]) / 3000)
    halo = [pe.withStroke(linewidth=2.5, foreground="white")]
    x0, y0, x1, y1 = window.bounds
    with plt.rc_context(rc):
        fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
        note = "底图：无（未提供离线瓦片）no basemap: no offline tiles were given"
        if tiles is not None:
            drawn = _draw_tiles(ax, tiles, window, epsg, int(figsize[0] * dpi))
            note = (f"底图：离线瓦片 {tiles.name} offline tiles" + (f" — {tiles.attribution}" if tiles.attribution else "")) if drawn else \
                f"底图：离线瓦片 {tiles.name} 未覆盖本区域 the offline tiles do not cover this area (no basemap drawn)"
        fill_alpha = 0.3 if tiles is not None else 0.45
        units = _clip(pack.units, epsg, window, tolerance).to_crs(epsg)
        touched = {u["unit_code"] for u in d["units"]}
        for cat, (line, fill) in CATEGORY_COLORS.items():
            sub = units[units["category"] == cat]
            if len(sub):
                sub.plot(ax=ax, facecolor=fill, edgecolor=line, linewidth=0.6, alpha=fill_alpha, zorder=2)
                hit = sub[sub["unit_code"].isin(touched)]
                if len(hit):
                    hit.boundary.plot(ax=ax, color=line, linewidth=2, zorder=3)
        red = None
        if pack.red_line is not None and len(pack.red_line):
            red = _clip(pack.red_line, epsg, window, tolerance)
            if len(red):
                red = red.to_crs(epsg)
                red.plot(ax=ax, facecolor="none", edgecolor=REDLINE_COLOR, hatch="///", linewidth=1.2, zorder=3)
        zones_hit = {z["zone_id"] for z in d["zones"]}
        if pack.zones is not None and zones_hit:
            z = _clip(pack.zones[pack.zones["zone_id"].isin(zones_hit)], epsg, window, tolerance)
            for medium, sub in z.groupby("medium"):
                sub.to_crs(epsg).boundary.plot(ax=ax, color=MEDIUM_COLORS.get(medium, "#555"), linewidth=1.2, linestyle="--", zorder=3)
        overlaps = _overlaps(site, pack, d, {})
        if overlaps is not None:
            overlaps.to_crs(epsg).plot(ax=ax, color=OVERLAP_COLOR, alpha=0.6, markersize=120, linewidth=7, zorder=4)
        gpd.GeoSeries([site_gk], crs=epsg).plot(ax=ax, facecolor="none", edgecolor=SITE_COLOR, linewidth=2, markersize=30,
                                                color=SITE_COLOR if site.geom_type.endswith("Point") else None, zorder=5)
        _figure_labels(ax, units, touched, red, window, halo)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.ticklabel_format(style="plain", useOffset=False)
        ax.tick_params(labelsize=7)
        ax.set_xlabel(f"EPSG:{epsg} Y 东坐标 easting (m)", fontsize=8)
        ax.set_ylabel("X 北坐标 northing (m)", fontsize=8)
        handles = [Line2D([], [], color=SITE_COLOR, linewidth=2, label="项目场地 site"),
                   Patch(facecolor=OVERLAP_COLOR, alpha=0.6, label="重叠部分 overlap")]
        handles += [Patch(facecolor=fill, edgecolor=line, alpha=0.6, label=f"{vocab.CATEGORIES[c]} {_CATEGORY_EN[c]}") for c, (line, fill) in CATEGORY_COLORS.items()]
        handles.append(Patch(facecolor="none", edgecolor=REDLINE_COLOR, hatch="///", label="生态保护红线 red line"))
        for medium in sorted({z["medium"] for z in d["zones"]}):
            handles.append(Line2D([], [], color=MEDIUM_COLORS.get(medium, "#555"), linestyle="--", label=f"{vocab.MEDIA.get(medium, medium)} {medium} zone"))
        ax.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.9).set_zorder(10)
        _scale_bar(ax, window, halo)
        _north_arrow(ax, window, epsg, halo)
        ax.text(0.005, 0.995, note, transform=ax.transAxes, ha="left", va="top", fontsize=6, color="#444",
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.5}, zorder=10)
        title = f"{d['verdict_zh']} {d['verdict']}"
        if is_demo(d["pack"].get("name") or pack.name):
            title += f"\n{DEMO_NOTE}"
        ax.set_title(title, fontsize=12, color=VERDICT_COLORS[d["verdict"]], fontweight="bold")
        fig.tight_layout()
    fig.basemap_note = note
    return fig


def _figure_labels(ax, units, touched, red, window, halo):
    """Place names on the static map: units touched (name and code, bold), other units and red lines (names)."""
    view = window.buffer(-(window.bounds[2] - window.bounds[0]) * 0.03)
    for row in units.itertuples():
        inside = row.geometry.intersection(view)
        if inside.is_empty or inside.area < 0.004 * view.area:
            continue
        p = inside.representative_point()
        hit = row.unit_code in touched
        text = f"{row.unit_name}\n{row.unit_code}" if hit else str(row.unit_name)
        ax.annotate(text, (p.x, p.y), fontsize=7 if hit else 6, ha="center", va="center", color="#222" if hit else "#555",
                    fontweight="bold" if hit else "normal", path_effects=halo, zorder=6)
    if red is not None:
        for row in red.itertuples():
            inside = row.geometry.intersection(view)
            if inside.is_empty:
                continue
            p = inside.representative_point()
            ax.annotate(str(getattr(row, "name", "") or row.redline_id), (p.x, p.y), fontsize=6.5, ha="center", va="center",
                        color=REDLINE_COLOR, path_effects=halo, zorder=6)


def _scale_bar(ax, window, halo):
    x0, y0, x1, y1 = window.bounds
    length = _nice_length((x1 - x0) / 5)
    bx, by = x1 - (x1 - x0) * 0.05 - length, y0 + (y1 - y0) * 0.06
    h = (y1 - y0) * 0.008
    ax.add_patch(_bar_segment((bx, by), length / 2, h, "black"))
    ax.add_patch(_bar_segment((bx + length / 2, by), length / 2, h, "white"))
    ax.text(bx + length / 2, by + h + (y1 - y0) * 0.01, f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m",
            ha="center", fontsize=8, path_effects=halo, zorder=10)
    ax.text(bx, by - (y1 - y0) * 0.022, "0", ha="center", fontsize=6.5, path_effects=halo, zorder=10)


def _bar_segment(xy, w, h, color):
    from matplotlib.patches import Rectangle

    return Rectangle(xy, w, h, facecolor=color, edgecolor="black", linewidth=0.8, zorder=10)


def _north_arrow(ax, window, epsg, halo):
    """An arrow to true north, turned from grid north by the meridian convergence at the centre."""
    from pyproj import Transformer

    x0, y0, x1, y1 = window.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    to_ll = Transformer.from_crs(f"EPSG:{epsg}", CGCS2000, always_xy=True)
    to_gk = Transformer.from_crs(CGCS2000, f"EPSG:{epsg}", always_xy=True)
    lon, lat = to_ll.transform(cx, cy)
    nx, ny = to_gk.transform(lon, lat + 0.01)
    angle = math.atan2(nx - cx, ny - cy)  # clockwise from grid north
    size = (y1 - y0) * 0.08
    ax_x, ax_y = x1 - (x1 - x0) * 0.07, y1 - (y1 - y0) * 0.16
    dx, dy = size * math.sin(angle), size * math.cos(angle)
    ax.annotate("", xy=(ax_x + dx, ax_y + dy), xytext=(ax_x, ax_y),
                arrowprops={"arrowstyle": "-|>,head_width=0.5,head_length=0.9", "color": "black", "linewidth": 2}, zorder=10)
    ax.text(ax_x + dx * 1.25, ax_y + dy * 1.25, "北 N", ha="center", va="bottom", fontsize=9, fontweight="bold", path_effects=halo, zorder=10)


class _TileSource:
    """Offline XYZ tiles: a ``{z}/{x}/{y}.ext`` directory or an MBTiles file (TMS rows)."""

    _EXTS = (".png", ".jpg", ".jpeg", ".webp")

    def __init__(self, path, kind, zooms, name, attribution):
        self.path, self.kind, self.zooms, self.name, self.attribution = path, kind, zooms, name, attribution
        self._db = None

    @classmethod
    def open(cls, path):
        from pathlib import Path

        p = Path(path)
        if p.is_dir():
            zooms = sorted(int(c.name) for c in p.iterdir() if c.is_dir() and c.name.isdigit())
            if not zooms:
                raise ZoningError(f"basemap tiles {str(p)!r}: the directory has no zoom-level folders; expected {{z}}/{{x}}/{{y}}.png tiles (XYZ, Web Mercator)")
            return cls(p, "dir", zooms, p.name, "")
        if p.is_file() and p.suffix.lower() == ".mbtiles":
            import sqlite3

            try:
                db = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
                meta = dict(db.execute("SELECT name, value FROM metadata").fetchall()) if _has_table(db, "metadata") else {}
                zooms = [r[0] for r in db.execute("SELECT DISTINCT zoom_level FROM tiles ORDER BY zoom_level")]
            except sqlite3.Error as exc:
                raise ZoningError(f"basemap tiles {p.name!r} is not a readable MBTiles file (SQLite with a tiles table): {exc}") from None
            if not zooms:
                raise ZoningError(f"basemap tiles {p.name!r}: the MBTiles file holds no tiles")
            src = cls(p, "mbtiles", zooms, meta.get("name") or p.stem, meta.get("attribution", ""))
            src._db = db
            return src
        raise ZoningError(f"basemap tiles {str(path)!r}: expected a directory of {{z}}/{{x}}/{{y}}.png tiles or an .mbtiles file")

    def get(self, z, x, y):
        """The tile's image as an RGB(A) float array, or None when the source has no such tile."""
        from io import BytesIO

        from PIL import Image

        data = None
        if self.kind == "dir":
            for ext in self._EXTS:
                f = self.path / str(z) / str(x) / f"{y}{ext}"
                if f.is_file():
                    data = f.read_bytes()
                    break
        else:
            row = self._db.execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?", (z, x, (1 << z) - 1 - y)).fetchone()
            data = row[0] if row else None
        if data is None:
            return None
        try:
            return np.asarray(Image.open(BytesIO(data)).convert("RGB"), dtype=np.uint8)
        except Exception:  # noqa: BLE001 - one unreadable tile leaves a gap, not a failed report
            return None


def _has_table(db, name):
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


_MERC = 20037508.342789244


def _draw_tiles(ax, tiles, window, epsg, width_px, max_tiles=64):
    """Mosaic the tiles covering ``window`` (GK) and draw them reprojected onto the GK plane; False when none cover it."""
    from pyproj import Transformer
    from rasterio.transform import from_bounds
    from rasterio.warp import Resampling, reproject

    x0, y0, x1, y1 = window.bounds
    to_merc = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:3857", always_xy=True)
    xs, ys = to_merc.transform([x0, x1, x1, x0, (x0 + x1) / 2, (x0 + x1) / 2], [y0, y0, y1, y1, y0, y1])
    mx0, mx1, my0, my1 = min(xs), max(xs), min(ys), max(ys)
    want = next((z for z in range(0, 23) if (mx1 - mx0) / (2 * _MERC / (256 << z)) >= width_px), 22)
    candidates = [z for z in tiles.zooms if z <= want] or [min(tiles.zooms)]
    for z in sorted(candidates, reverse=True):
        n = 1 << z
        size = 2 * _MERC / n
        tx0, tx1 = int((mx0 + _MERC) // size), int((mx1 + _MERC) // size)
        ty0, ty1 = int((_MERC - my1) // size), int((_MERC - my0) // size)
        if (tx1 - tx0 + 1) * (ty1 - ty0 + 1) > max_tiles:
            continue
        mosaic = np.full(((ty1 - ty0 + 1) * 256, (tx1 - tx0 + 1) * 256, 3), 255, np.uint8)
        found = 0
        for tx in range(tx0, tx1 + 1):
            for ty in range(ty0, ty1 + 1):
                if not (0 <= tx < n and 0 <= ty < n):
                    continue
                img = tiles.get(z, tx, ty)
                if img is None:
                    continue
                if img.shape[:2] != (256, 256):
                    from PIL import Image

                    img = np.asarray(Image.fromarray(img).resize((256, 256)))
                mosaic[(ty - ty0) * 256:(ty - ty0 + 1) * 256, (tx - tx0) * 256:(tx - tx0 + 1) * 256] = img
                found += 1
        if not found:
            continue
        src_transform = from_bounds(tx0 * size - _MERC, _MERC - (ty1 + 1) * size, (tx1 + 1) * size - _MERC, _MERC - ty0 * size,
                                    mosaic.shape[1], mosaic.shape[0])
        w = int(width_px * 1.5)
        h = max(1, int(w * (y1 - y0) / (x1 - x0)))
        dst = np.full((3, h, w), 255, np.uint8)
        reproject(np.moveaxis(mosaic, 2, 0), dst, src_transform=src_transform, src_crs="EPSG:3857",
                  dst_transform=from_bounds(x0, y0, x1, y1, w, h), dst_crs=f"EPSG:{epsg}", resampling=Resampling.bilinear, init_dest_nodata=False)
        ax.imshow(np.moveaxis(dst, 0, 2), extent=(x0, x1, y0, y1), origin="upper", zorder=0, interpolation="bilinear")
        return True
    return False


def _nice_length(x):
    """The largest 1/2/5 × 10^k not above x.

    Examples
    --------
    >>> _nice_length(730), _nice_length(2600)
    (500.0, 2000.0)
    """
    k = 10 ** np.floor(np.log10(x))
    for f in (5, 2, 1):
        if f * k <= x:
            return float(f * k)
    return float(k)

