"""The report of a verdict as a Word document (DOCX), from the same content as the HTML/PDF report.

:func:`write_docx` lays out :func:`zoning.report.report_content` with python-docx: headings,
key–value and data tables (the compliance table, the 界址点成果表 …), the static map, the
sign-off block, the record number and data version in the header, and the data version with
page numbers (a ``PAGE`` / ``NUMPAGES`` field, updated by Word when the document opens) in the
footer. Chinese text is set in a CJK font (东亚 font ``Noto Sans CJK SC``, falling back to
whatever Word substitutes, e.g. 等线 or 宋体).
"""

import io
from pathlib import Path

from zoning.errors import ZoningError

__all__ = ["write_docx", "docx_document"]

_EAST_ASIAN_FONT = "Noto Sans CJK SC"
_LATIN_FONT = "Calibri"
_STYLE_COLORS = {"effect-prohibit": "B71C1C", "status-fail": "B71C1C", "effect-needs_information": "E65100", "status-info": "E65100",
                 "effect-condition": "8D6E00", "status-conditional": "8D6E00", "status-pass": "2E7D32"}


def _docx():
    try:
        import docx
    except ImportError as exc:  # pragma: no cover - python-docx is a dependency
        raise ZoningError("DOCX reports need python-docx (pip install python-docx)") from exc
    return docx


def _set_fonts(run, east_asian=_EAST_ASIAN_FONT):
    from docx.oxml.ns import qn

    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), east_asian)


def _field(paragraph, instruction):
    """Append a Word field (``PAGE``, ``NUMPAGES``) to a paragraph as a complex field."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def part(tag, **attrs):
        run = paragraph.add_run()
        el = OxmlElement(tag)
        for k, v in attrs.items():
            el.set(qn(k), v)
        if tag == "w:instrText":
            el.set(qn("xml:space"), "preserve")
            el.text = f" {instruction} "
        run._element.append(el)
        return run

    part("w:fldChar", **{"w:fldCharType": "begin"})
    part("w:instrText")
    part("w:fldChar", **{"w:fldCharType": "separate"})
    paragraph.add_run("1")
    part("w:fldChar", **{"w:fldCharType": "end"})


def _text(paragraph, text, *, bold=False, size=None, color=None, mono=False):
    from docx.shared import Pt, RGBColor

    lines = str(text).split("\n")
    for i, line in enumerate(lines):
        run = paragraph.add_run(line)
        if i < len(lines) - 1:
            run.add_break()
        run.bold = bold or None
        if size:
            run.font.size = Pt(size)
        if color:
            run.font.color.rgb = RGBColor.from_string(color)
        if mono:
            run.font.name = "Consolas"
        _set_fonts(run)


def _shade(cell, fill):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _repeat_header(row):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(el)


def _put(cell, value, *, header=False, size=8.5):
    text, style = (value.get("text", ""), value.get("style") or "") if isinstance(value, dict) else (value, "")
    p = cell.paragraphs[0]
    _text(p, text, bold=header or "strong" in style or style.startswith(("effect-", "status-")), size=size,
          color=_STYLE_COLORS.get(style.split()[0]) if style else None, mono="mono" in style)
    if "num" in style:
        from docx.enum.text import WD_ALIGN_PARAGRAPH

        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if header:
        _shade(cell, "ECEFF1")


def _table(doc, columns, rows, widths=None, size=8.5):
    from docx.shared import Cm

    table = doc.add_table(rows=1, cols=len(columns))
    table.style = "Table Grid"
    for cell, col in zip(table.rows[0].cells, columns):
        _put(cell, col, header=True, size=size)
    _repeat_header(table.rows[0])
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            _put(cell, value, size=size)
    if widths:
        total = sum(widths)
        for row in table.rows:
            for cell, w in zip(row.cells, widths):
                cell.width = Cm(18.0 * w / total)
    return table


def _kv(doc, rows):
    from docx.shared import Cm

    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows:
        cells = table.add_row().cells
        _put(cells[0], label, header=True)
        _put(cells[1], value)
        cells[0].width, cells[1].width = Cm(5.0), Cm(13.0)
    return table


def docx_document(content):
    """A python-docx ``Document`` of a report's content (:func:`zoning.report.report_content`).

    Examples
    --------
    >>> import zoning
    >>> from zoning.report import report_content
    >>> v = zoning.load_pack().screen("119.95,30.55", {"industry": "6550", "construction": "new"})
    >>> doc = docx_document(report_content(v, map_image=False))
    >>> doc.paragraphs[0].text.startswith("生态环境分区管控准入研判报告")
    True
    """
    docx = _docx()
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = docx.Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(1.5)
    sec.top_margin = sec.bottom_margin = Cm(1.8)
    normal = doc.styles["Normal"]
    normal.font.name = _LATIN_FONT
    normal.font.size = Pt(10)
    from docx.oxml.ns import qn

    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), _EAST_ASIAN_FONT)
    for name in ("Title", "Heading 1", "Heading 2"):
        doc.styles[name].element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), _EAST_ASIAN_FONT)

    header = sec.header.paragraphs[0]
    _text(header, f"{content['header']}\n数据版本 data version: {content['data_version']}", size=8, color="666666")
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer = sec.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _text(footer, f"{content['footer']} · 第 ", size=8, color="666666")
    _field(footer, "PAGE")
    _text(footer, " 页 / 共 ", size=8, color="666666")
    _field(footer, "NUMPAGES")
    _text(footer, " 页 page", size=8, color="666666")

    title = doc.add_heading(level=0)
    _text(title, f"{content['title'][0]} {content['title'][1]}", size=18)
    banner = doc.add_paragraph()
    _text(banner, f"{content['verdict_zh']} {content['verdict']}", bold=True, size=16, color=content["color"].lstrip("#").upper())
    if content.get("project_name"):
        _text(doc.add_paragraph(), content["project_name"], bold=True)
    if content["demo"]:
        _text(doc.add_paragraph(), content["demo_note"], bold=True, color="B71C1C")

    for s in content["sections"]:
        _text(doc.add_heading(level=1), s["title"])
        for b in s["blocks"]:
            kind = b["kind"]
            if kind == "kv":
                _kv(doc, b["rows"])
            elif kind == "table":
                _table(doc, b["columns"], b["rows"], b.get("widths"), size=7.5 if b.get("compact") else 8.5)
            elif kind == "text":
                style = b.get("style") or ""
                _text(doc.add_paragraph(), b["text"], bold="strong" in style, size=8.5 if "muted" in style else None,
                      color="666666" if "muted" in style else None)
            elif kind == "heading":
                _text(doc.add_heading(level=2), b["text"])
            elif kind == "list":
                for item in b["items"]:
                    _text(doc.add_paragraph(style="List Bullet"), item)
            elif kind == "reason":
                p = doc.add_paragraph()
                _text(p, f"[{b['clause_id']}] ", bold=True)
                _text(p, b["effect_label"], bold=True, color=_STYLE_COLORS.get(f"effect-{b['effect']}"))
                _text(p, f" @ {b['where']}\n" + "\n".join(b["lines"]))
            elif kind == "map":
                if b.get("png"):
                    doc.add_picture(io.BytesIO(b["png"]), width=Cm(17.0))
                    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
                else:
                    _text(doc.add_paragraph(), f"地图不可用 no map: {b.get('error') or '未绘制静态地图 static map not drawn'}", color="666666")
                if b.get("note"):
                    _text(doc.add_paragraph(), b["note"], size=8.5, color="666666")
                if content["demo"]:
                    _text(doc.add_paragraph(), content["demo_note"], bold=True, color="B71C1C")
            elif kind == "signoff":
                table = doc.add_table(rows=0, cols=4)
                table.style = "Table Grid"
                for i, row in enumerate(b["rows"]):
                    r = table.add_row()
                    r.height = Cm(2.4 if i == len(b["rows"]) - 1 else 1.2)
                    for j, (cell, value) in enumerate(zip(r.cells, row)):
                        _put(cell, value, header=j in (0, 2), size=9.5)
                    for cell, w in zip(r.cells, (4.5, 7.0, 2.0, 4.5)):
                        cell.width = Cm(w)
            else:  # pragma: no cover - a new block kind must be laid out here
                raise ValueError(f"unknown report block {kind!r}")
    return doc


def write_docx(verdict, path, **kwargs):
    """Write the report of a verdict as a Word document (``.docx``).

    Parameters
    ----------
    verdict : Verdict
    path : str or Path
    **kwargs
        ``screening_id``, ``screened_at``, ``source``, ``basemap``, ``site``, ``pack``: see
        :func:`zoning.report.report_content`.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, zoning
    >>> v = zoning.load_pack().screen("119.95,30.55", {"industry": "6550", "construction": "new"})
    >>> write_docx(v, Path(tempfile.mkdtemp()) / "report.docx").suffix
    '.docx'
    """
    from zoning.report import report_content

    path = Path(path)
    if path.suffix.lower() != ".docx":
        raise ZoningError(f"DOCX report file {path.name!r}: expected a name ending in .docx")
    docx_document(report_content(verdict, **kwargs)).save(str(path))
    return path
