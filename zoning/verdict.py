"""The result of a screening: an immutable :class:`Verdict` with its JSON (contract §3),
a bilingual text rendering for the terminal and an HTML one for Jupyter.
"""

import copy
import html
import json
import re
from collections.abc import Mapping

from zoning import vocab

__all__ = ["Verdict", "decide", "deciding_findings", "stated_area_fields", "access_list_lines", "because_zh", "attribute_zh"]

_EFFECT_RANK = {"prohibit": 0, "needs_information": 1, "condition": 2}
_VERDICT_OF = {"prohibit": "prohibited", "needs_information": "needs_information", "condition": "conditional"}


def _effect(finding):
    return finding["effect"] if isinstance(finding, Mapping) else finding.effect


def deciding_findings(verdict, findings):
    """The findings whose effect gave ``verdict`` (none for ``permitted``).

    Examples
    --------
    >>> fs = [{"clause_id": "A", "effect": "condition"}, {"clause_id": "B", "effect": "prohibit"}]
    >>> [f["clause_id"] for f in deciding_findings("prohibited", fs)]
    ['B']
    """
    return [f for f in findings if _VERDICT_OF.get(_effect(f)) == verdict]


def decide(findings):
    """The most restrictive finding decides: prohibited > needs_information > conditional > permitted.

    Examples
    --------
    >>> decide([{"effect": "condition"}, {"effect": "needs_information"}])
    'needs_information'
    >>> decide([])
    'permitted'
    """
    effects = [_effect(f) for f in findings]
    if not effects:
        return "permitted"
    return _VERDICT_OF[min(effects, key=_EFFECT_RANK.__getitem__)]


def stated_area_fields(stated_areas):
    """The ``site`` block's keys for the areas a boundary file states (none when it states none).

    ``stated_area_m2`` is the sum of the parcels' stated 面积 in m² (each read as m² or 公顷,
    whichever agrees with its rings); ``parcels`` lists each parcel's check (see
    :func:`zoning.jzd.read_boundary_points`).

    Examples
    --------
    >>> stated_area_fields([{"parcel": "1", "stated_area": 2.1043, "stated_unit": "ha",
    ...                      "stated_area_m2": 21043.0, "area_m2": 21043.0, "agrees": True}])["stated_area_m2"]
    21043.0
    >>> stated_area_fields(())
    {}
    """
    if not stated_areas:
        return {}
    return {
        "stated_area_m2": round(sum(a["stated_area_m2"] for a in stated_areas), 2),
        "parcels": [dict(a) for a in stated_areas],
    }


class Verdict(Mapping):
    """A screening result. Read it like a mapping (``v["verdict"]``) or through ``to_dict()``.

    It is immutable: every access returns a copy. ``to_json()`` is deterministic —
    the same site, project and pack give byte-identical JSON.
    """

    __slots__ = ("_data", "_site", "_pack")

    def __init__(self, data, site=None, pack=None):
        self._data = data
        self._site = site
        self._pack = pack

    def __getitem__(self, key):
        return copy.deepcopy(self._data[key])

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def __setattr__(self, name, value):
        if name in self.__slots__ and not hasattr(self, name):
            object.__setattr__(self, name, value)
        else:
            raise AttributeError("a Verdict is immutable")

    @property
    def verdict(self):
        """``prohibited`` | ``needs_information`` | ``conditional`` | ``permitted``."""
        return self._data["verdict"]

    @property
    def verdict_zh(self):
        return self._data["verdict_zh"]

    @property
    def findings(self):
        return self["findings"]

    @property
    def missing(self):
        return self["missing"]

    @property
    def site_geometry(self):
        """The screened site as a shapely geometry in CGCS2000 lon/lat."""
        return self._site

    @property
    def pack(self):
        """The :class:`~zoning.pack.Pack` that produced this verdict (None once deserialised)."""
        return self._pack

    def to_dict(self):
        """A deep copy of the verdict as plain JSON-ready data (contract §3)."""
        return copy.deepcopy(self._data)

    def to_json(self, indent=2):
        """The verdict as JSON text (UTF-8, Chinese unescaped)."""
        return json.dumps(self._data, ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, data):
        """Rebuild a Verdict from its JSON form (e.g. a stored record)."""
        return cls(copy.deepcopy(dict(data)))

    def __repr__(self):
        d = self._data
        return f"<Verdict {d['verdict']} {d['verdict_zh']}: {len(d['findings'])} findings, pack {d['pack']['id']} {d['pack']['version']}>"

    def to_text(self):
        """A bilingual, readable rendering for the terminal: the verdict first, then why."""
        return render_text(self._data)

    def __str__(self):
        return self.to_text()

    def explore(self, *, offline=None, **kwargs):
        """An interactive folium map of the site over the zoning; see :func:`zoning.maps.verdict_map`."""
        from zoning.maps import verdict_map

        return verdict_map(self, offline=offline, **kwargs)

    def _repr_html_(self):
        map_html = None
        if self._site is not None and self._pack is not None:
            try:
                map_html = self.explore()._repr_html_()
            except Exception as exc:  # the table must show even if the map cannot be drawn
                map_html = f"<p><i>map unavailable 地图不可用: {html.escape(str(exc))}</i></p>"
        return render_html(self._data, map_html=map_html)


def _fmt_area(entry):
    if "overlap_m2" in entry:
        return f"{entry['overlap_m2']:>14,.1f} m²  {entry['overlap_share']:7.2%}"
    if "overlap_m" in entry:
        return f"{entry['overlap_m']:>14,.1f} m   {entry['overlap_share']:7.2%}"
    return f"{'point 点位':>17}  {entry['overlap_share']:7.2%}"


def access_list_lines(unit):
    """The list text of a verdict's unit entry, one ``(中文维度 dimension, text)`` per dimension that has text.

    Examples
    --------
    >>> access_list_lines({"access_list": {"spatial_layout": "禁止新建印染项目。", "emission_control": None}})
    [('空间布局约束 spatial_layout', '禁止新建印染项目。')]
    >>> access_list_lines({"unit_code": "ZH330502…"})
    []
    """
    texts = unit.get("access_list") or {}
    return [(f"{zh} {dim}", texts[dim]) for dim, zh in vocab.DIMENSIONS.items() if texts.get(dim)]


# ----------------------------------------------------------------------------
# Chinese forms of the reasons (``because``) the rules engine writes in English

_STATISTICS_ZH = {"mean": "均值", "max": "最大值", "min": "最小值", "median": "中位数", "sum": "总和"}
_LAYERS_ZH = {"red_line": "生态保护红线", "zones": "要素管控分区", "units": "环境管控单元"}
_OPS_ZH = {" and ": " 且 "}
_AMOUNT = re.compile(r" \((?:(?P<a>[\d,.]+) m², (?P<ap>[\d.]+%) of the site|(?P<l>[\d,.]+) m, (?P<lp>[\d.]+%) of the line|(?P<pt>the point lies in it))\)$")


def attribute_zh(key):
    """The Chinese name of a project attribute a finding may be missing, the key beside it.

    Examples
    --------
    >>> attribute_zh("emissions.VOCs")
    '挥发性有机物排放量 emissions.VOCs'
    >>> attribute_zh("water_m3")
    '用水量 water_m3'
    >>> attribute_zh("colour")
    'colour'
    """
    entry = vocab.attribute_labels().get(key)
    return f"{entry['zh']} {key}" if entry else key


def _amount_zh(m):
    if m is None:
        return ""
    if m["a"]:
        return f"（重叠 {m['a']} m²，占场地 {m['ap']}）"
    if m["l"]:
        return f"（重叠 {m['l']} m，占线路 {m['lp']}）"
    return "（点位位于其内）"


def _place_zh(text):
    m = _AMOUNT.search(text)
    head, amount = (text[: m.start()], _amount_zh(m)) if m else (text, "")
    if head.startswith("site overlaps ecological protection red line 生态保护红线 "):
        return "场地占用生态保护红线 " + head.removeprefix("site overlaps ecological protection red line 生态保护红线 ") + amount
    if head.startswith("site overlaps unit "):
        return "场地位于环境管控单元 " + head.removeprefix("site overlaps unit ") + amount
    if head.startswith("site overlaps "):
        rest = head.removeprefix("site overlaps ")
        kind, _, tail = rest.partition(" ")
        kind = vocab.ZONE_TYPES.get(kind, kind)  # a zone type without a Chinese name is shown dotted
        return f"场地位于{kind} {tail}{amount}"
    r = re.fullmatch(r"site is ([\d,.]+) m from (\w+) (\S+)(?: (.*?))? \(within ([\d.]+) m\)", text)
    if r:
        name = f" {r[4]}" if r[4] else ""
        return f"场地距{_LAYERS_ZH.get(r[2], r[2])} {r[3]}{name} {r[1]} m（在 {r[5]} m 范围内）"
    r = re.fullmatch(r"applies everywhere in the pack's region (\S+)", text)
    if r:
        return f"适用于数据包所辖全域（行政区 {r[1]}）"
    r = re.fullmatch(r"(\S+) (\w+) ([\d.]+) exceeds the standard ([\d.]+)(?: (.+))?", text)
    if r:
        unit = f" {r[5]}" if r[5] else ""
        return f"场地 {r[1]} {_STATISTICS_ZH.get(r[2], r[2])} {r[3]}{unit} 超过标准 {r[4]}{unit}"
    return None


def _reason_zh(text):
    r = re.fullmatch(r"industry (\S+) falls under (.+?)(?: and not (.+))?", text)
    if r:
        under = "任何行业" if r[2] == "any" else f"条款所列行业 {r[2]}"
        return f"行业 {r[1]} 属于{under}" + (f"，且不属于除外行业 {r[3]}" if r[3] else "")
    r = re.fullmatch(r"industry (\S+) is coarser than the clause's (.+): give the 4-digit class", text)
    if r:
        return f"行业代码 {r[1]} 比条款所列 {r[2]} 粗，无法判断，请提供4位行业小类代码"
    if text == "industry not given":
        return "未提供行业代码"
    r = re.fullmatch(r"construction is (\w+)", text)
    if r:
        return f"建设性质为{vocab.CONSTRUCTION.get(r[1], r[1])}（{r[1]}）"
    r = re.fullmatch(r"emits (.+)", text)
    if r:
        items = []
        for item in r[1].split(", "):
            p, _, amount = item.partition(" ")
            items.append(f"{vocab.POLLUTANTS.get(p, p)}（{p}）{amount}")
        return "排放" + "、".join(items)
    r = re.fullmatch(r"burns (.+)", text)
    if r:
        return "使用燃料" + "、".join(f"{vocab.FUELS.get(f, f)}（{f}）" for f in r[1].split(", "))
    r = re.fullmatch(r"activity (\S+) is not exempt", text)
    if r:
        return f"活动类型{vocab.ACTIVITIES.get(r[1], r[1])}（{r[1]}）不属于豁免的有限人为活动"
    r = re.fullmatch(r"activity is (\S+)", text)
    if r:
        return f"活动类型为{vocab.ACTIVITIES.get(r[1], r[1])}（{r[1]}）"
    r = re.fullmatch(r"(\w+) (-?[\d.e+]+) ((?:[<>≤≥=] -?[\d.e+]+(?: and )?)+)", text)
    if r:
        return f"{attribute_zh(r[1])} 为 {r[2]}，{r[3].replace(' and ', ' 且 ')}"
    return None


def because_zh(because):
    """The Chinese form of a finding's ``because`` (the engine writes it in English).

    Each part of the reason (the place, then each condition that held) is translated;
    a part this function does not know is kept in English, never dropped.

    Examples
    --------
    >>> because_zh("site overlaps 优先保护单元 ZH33050310001 和孚漾水源 (5,000 m², 100.0% of the site); "
    ...            "industry 1713 falls under B, C, D and not 4413; construction is new")
    '场地位于优先保护单元 ZH33050310001 和孚漾水源（重叠 5,000 m²，占场地 100.0%）；行业 1713 属于条款所列行业 B, C, D，且不属于除外行业 4413；建设性质为新建（new）'
    >>> because_zh("site is 200 m from red_line RL-01 莫干山 (within 1000 m)")
    '场地距生态保护红线 RL-01 莫干山 200 m（在 1000 m 范围内）'
    >>> because_zh("site overlaps unit ZH33052220001 开发区 (the point lies in it); the clause may apply but needs: emissions.VOCs, fuel")
    '场地位于环境管控单元 ZH33052220001 开发区（点位位于其内）；该条款可能适用，但须补充：挥发性有机物排放量 emissions.VOCs、燃料 fuel'
    >>> because_zh("demand 120,000 m³/a exceeds the remaining 50,000 m³/a of ZH33052120001")
    '需求 120,000 m³/a 超过 ZH33052120001 的剩余额度 50,000 m³/a'
    >>> because_zh("pm25 mean 41.2 exceeds the standard 35 ug/m3; emits VOCs 12.5 t/a, NOx 8 t/a")
    '场地 pm25 均值 41.2 ug/m3 超过标准 35 ug/m3；排放挥发性有机物（VOCs）12.5 t/a、氮氧化物（NOx）8 t/a'
    >>> because_zh("something new")
    'something new'
    """
    text = str(because)
    r = re.fullmatch(r"the site lies in quota scope (\S+); the project's (\w+) is needed to check the remaining ([\d,.]+) (.+)", text)
    if r:
        return f"场地位于资源利用上线管控范围 {r[1]}，须提供项目的{attribute_zh(r[2])}以核对剩余额度 {r[3]} {r[4]}"
    r = re.fullmatch(r"demand ([\d,.]+) (\S+) exceeds the remaining ([\d,.]+) (\S+) of (\S+)", text)
    if r:
        return f"需求 {r[1]} {r[2]} 超过 {r[5]} 的剩余额度 {r[3]} {r[4]}"
    r = re.fullmatch(r"demand ([\d,.]+) (\S+) is over (\d+%) of the remaining ([\d,.]+) (\S+) of (\S+)", text)
    if r:
        return f"需求 {r[1]} {r[2]} 超过 {r[6]} 剩余额度 {r[4]} {r[5]} 的 {r[3]}"
    head, sep, needs = text.partition("; the clause may apply but needs: ")
    parts = head.split("; ")
    out = [_place_zh(parts[0]) or parts[0]] + [_reason_zh(p) or p for p in parts[1:]]
    if sep:
        out.append("该条款可能适用，但须补充：" + "、".join(attribute_zh(k) for k in needs.split(", ")))
    return "；".join(out)


def render_text(d):
    """Terminal text of a verdict dict."""
    lines = []
    bar = "=" * 72
    lines += [bar, f"结论 Verdict: {d['verdict_zh']} {d['verdict'].upper()}", bar]
    decisive = deciding_findings(d["verdict"], d["findings"])
    for f in decisive[:5]:
        lines.append(f"  • [{f['clause_id']}] {f['text']}")
        lines.append(f"    because: {f['because']}")
    if len(decisive) > 5:
        lines.append(f"  … and {len(decisive) - 5} more")
    p, s = d["pack"], d["site"]
    lines.append("")
    lines.append(f"数据 Pack: {p['id']} {p['version']}  {p['digest'][:23]}…   引擎 Engine: {d['engine']['version']}")
    measure = f"{s['area_m2']:,.1f} m²" if s.get("area_m2") else (f"{s['length_m']:,.1f} m" if s.get("length_m") else "point 点")
    lines.append(f"场地 Site: {s['geometry_type']}, {measure} on {s['area_crs']}, centroid {s['centroid'][0]:.6f}, {s['centroid'][1]:.6f}")
    if s.get("stated_area_m2") is not None:
        agree = "agrees 相符" if all(p.get("agrees") for p in s.get("parcels", [])) else "does not agree 不符 (see warnings)"
        lines.append(f"  申报面积 Stated area: {s['stated_area_m2']:,.1f} m² — {agree}")
    sections = [
        ("环境管控单元 Control units", d["units"], lambda u: f"{u['unit_code']}  {vocab.CATEGORIES.get(u['category'], u['category'])} {u['category']:<8} {u['unit_name']}"),
        ("生态保护红线 Ecological red lines", d["red_line"], lambda r: f"{r['redline_id']}  {r['name']}"),
        ("要素管控分区 Element zones", d["zones"], lambda z: f"{z['zone_id']}  {vocab.MEDIA.get(z['medium'], z['medium'])} {z['zone_type']}  {z['name']}"),
    ]
    for title, rows, label in sections:
        lines.append("")
        lines.append(f"{title}: {len(rows) or '—'}")
        for r in rows:
            lines.append(f"  {_fmt_area(r)}  {label(r)}")
    listed = [u for u in d["units"] if access_list_lines(u)]
    if listed:
        lines.append("")
        lines.append("单元准入清单 Unit access lists (文本仅供审查参考，由 rules.yaml 条款判定 text informs; only rules.yaml clauses decide):")
        for u in listed:
            lines.append(f"  {u['unit_code']}  {u['unit_name']}")
            for dim, text in access_list_lines(u):
                lines.append(f"    {dim}:")
                lines.append(f"      {text}")
    if d["near"]:
        lines.append("")
        lines.append("邻近 Nearby:")
        for n in d["near"]:
            lines.append(f"  {n['distance_m']:>10,.1f} m  {n['layer']} {n['id']} {n.get('name', '')}")
    if d["rasters"]:
        lines.append("")
        lines.append("环境质量 Quality rasters:")
        for r in d["rasters"]:
            value = "no data 无数据" if r["value"] is None else f"{r['value']:.2f}"
            flag = "超标 exceeds" if r["exceeds"] else "达标 within"
            lines.append(f"  {r['name']}: {r['statistic']} {value} {r.get('unit') or ''} (standard 标准 {r['standard']:g}) {flag}")
    if d["quotas"]:
        lines.append("")
        lines.append("资源利用上线 Resource quotas:")
        for q in d["quotas"]:
            demand = "?" if q["demand"] is None else f"{q['demand']:,.0f}"
            lines.append(f"  {q['scope']} {q['resource']}: demand 需求 {demand} / remaining 剩余 {q['remaining']:,.0f} → {q['status']}")
    lines.append("")
    lines.append(f"条款 Findings: {len(d['findings'])}")
    for dim, dim_zh in vocab.DIMENSIONS.items():
        group = [f for f in d["findings"] if f["dimension"] == dim]
        if not group:
            continue
        lines.append(f"  {dim_zh} {dim}")
        for f in group:
            lines.append(f"    [{vocab.EFFECTS[f['effect']]} {f['effect']}] {f['clause_id']} @ {f['where']} ({vocab.TIERS.get(f['tier'], f['tier'])})")
            lines.append(f"      {f['text']}")
            lines.append(f"      because: {f['because']}")
            if f.get("source"):
                lines.append(f"      source 依据: {f['source']}")
    if d["obligations"]:
        lines.append("")
        lines.append("义务 Obligations:")
        for o in d["obligations"]:
            amount = f" — {o['pollutant']} {o['amount_t']:g} t/a" if o.get("amount_t") is not None else ""
            lines.append(f"  • {o['text']}{amount}")
    if d["missing"]:
        lines.append("")
        lines.append("待补充 Missing information: " + ", ".join(d["missing"]))
    if d["warnings"]:
        lines.append("")
        lines.append("提示 Warnings:")
        for w in d["warnings"]:
            lines.append(f"  ! {w}")
    return "\n".join(lines) + "\n"




def render_html(d, map_html=None):
    """A compact HTML table of a verdict for Jupyter, followed by ``map_html`` when given."""
    e = html.escape
    color = vocab.VERDICT_COLORS[d["verdict"]]
    rows = "".join(
        f"<tr><td>{e(f['clause_id'])}</td><td>{e(vocab.EFFECTS[f['effect']])} {e(f['effect'])}</td>"
        f"<td>{e(vocab.DIMENSIONS.get(f['dimension'], f['dimension']))}</td><td>{e(f['where'])}</td><td>{e(f['text'])}</td></tr>"
        for f in d["findings"]
    )
    units = ", ".join(f"{e(u['unit_code'])} ({e(vocab.CATEGORIES.get(u['category'], u['category']))})" for u in d["units"])
    missing = f"<p><b>待补充 Missing:</b> {e(', '.join(d['missing']))}</p>" if d["missing"] else ""
    return (
        f"<div class='zoning-verdict'><div style='background:{color};color:white;padding:6px 10px;font-size:1.2em'>"
        f"{e(d['verdict_zh'])} {e(d['verdict'])}</div>"
        f"<p><b>单元 Units:</b> {units or '—'} · <b>红线 Red lines:</b> {len(d['red_line'])} · "
        f"<b>数据 Pack:</b> {e(d['pack']['id'])} {e(d['pack']['version'])}</p>{missing}"
        f"<table><thead><tr><th>clause</th><th>effect</th><th>dimension</th><th>where</th><th>text</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{map_html or ''}</div>"
    )
