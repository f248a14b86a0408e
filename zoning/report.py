"""Reports of a verdict — printable HTML and PDF — and the HTML summary of a pack.

The HTML report is one self-contained file: the verdict and its reasons first, then the
project, the site, the units, red lines and zones it touches, rasters, quotas, every finding
grouped by the four dimensions of the access list, obligations with amounts, missing
information, the data version and digest, the engine version and the map (interactive on
screen; a static matplotlib image when printed). The PDF report has the same content with
the static map; it is laid out by WeasyPrint (Debian: ``libpango-1.0-0``) and needs a CJK
font (Debian: ``fonts-noto-cjk``); ``make system-deps`` installs both.
"""

import base64
import html
import io
from functools import cache
from pathlib import Path

from markupsafe import Markup

from zoning import vocab
from zoning.errors import ZoningError
from zoning.maps import DEMO_NOTE, VERDICT_COLORS, cjk_font, is_demo
from zoning.verdict import access_list_lines, deciding_findings

__all__ = ["report_html", "write_report", "write_pdf", "pack_summary_html", "write_map", "clause_coverage"]

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
def _template():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2")


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


def _static_png(verdict, dpi=110):
    import matplotlib.pyplot as plt

    from zoning.maps import verdict_figure

    fig = verdict_figure(verdict, dpi=dpi)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _iframe(map_html):
    srcdoc = html.escape(map_html, quote=True)
    return Markup(f'<iframe class="map-interactive" title="map" srcdoc="{srcdoc}"></iframe>')


def report_html(verdict, *, offline=None, interactive=True, static=True):
    """The report of a verdict as one self-contained HTML document.

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

    Returns
    -------
    str

    Examples
    --------
    >>> import zoning
    >>> v = zoning.load_pack().screen("119.95,30.55", {"industry": "6550", "construction": "new"})
    >>> text = report_html(v, interactive=False, static=False)
    >>> v.verdict_zh in text and "sha256:" in text
    True
    """
    d = verdict.to_dict()
    map_iframe = map_png = None
    map_error = ""
    has_geometry = verdict.site_geometry is not None and verdict.pack is not None
    if not has_geometry:
        map_error = "the verdict was rebuilt from JSON and carries no site geometry 无场地几何"
    else:
        if interactive:
            from zoning.maps import verdict_map

            map_iframe = _iframe(verdict_map(verdict, offline=offline).get_root().render())
        if static:
            map_png = _static_png(verdict)
    project = d.get("project") or {}
    clauses_at = {}
    for f in d["findings"]:
        clauses_at.setdefault(str(f["where"]), [])
        if f["clause_id"] not in clauses_at[str(f["where"])]:
            clauses_at[str(f["where"])].append(f["clause_id"])
    demo = is_demo(d["pack"].get("name") or (verdict.pack.name if verdict.pack is not None else ""))
    footer = f"{d['pack']['id']} {d['pack']['version']} - zoning {d['engine']['version']}"
    return _template().render(
        d=d,
        project=project,
        project_rows=[(k, label, _project_value(k, project.get(k))) for k, label in _PROJECT_LABELS if k in project or k == "name"],
        color=VERDICT_COLORS[d["verdict"]],
        ink="#212121" if d["verdict"] == "conditional" else "#fff",
        deciding=deciding_findings(d["verdict"], d["findings"]),
        findings_by_dim=[(dim, zh, [f for f in d["findings"] if f["dimension"] == dim]) for dim, zh in vocab.DIMENSIONS.items()],
        clauses_at=clauses_at,
        categories=vocab.CATEGORIES,
        media=vocab.MEDIA,
        zone_types=vocab.ZONE_TYPES,
        resources=vocab.RESOURCES,
        effects=vocab.EFFECTS,
        tiers=vocab.TIERS,
        fmt_num=_fmt_num,
        pct=_pct,
        overlap=_overlap,
        access_list=access_list_lines,
        demo=demo,
        demo_note=DEMO_NOTE,
        footer=footer.replace('"', "'"),
        map_iframe=map_iframe,
        map_png=map_png,
        map_error=map_error,
    )


def write_pdf(verdict, path):
    """Write the report of a verdict as PDF (static map; A4; Chinese in Noto Sans CJK).

    Raises
    ------
    ZoningError
        When WeasyPrint's system libraries (pango) or a CJK font are missing.
    """
    if cjk_font() is None:
        raise ZoningError("a PDF report needs a CJK font for its Chinese text; install fonts-noto-cjk (`make system-deps`)")
    try:
        import weasyprint
    except OSError as exc:  # pango missing
        raise ZoningError(f"PDF reports need the pango library (Debian: libpango-1.0-0 libpangoft2-1.0-0; `make system-deps`): {exc}") from exc
    text = report_html(verdict, interactive=False, static=True)
    weasyprint.HTML(string=text).write_pdf(str(path))
    return Path(path)


def write_report(verdict, path, *, offline=None):
    """Write the report of a verdict: ``.html`` (self-contained) or ``.pdf`` by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return write_pdf(verdict, path)
    if suffix not in (".html", ".htm"):
        raise ZoningError(f"report file {path.name!r}: expected a name ending in .html or .pdf")
    path.write_text(report_html(verdict, offline=offline), encoding="utf-8")
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
