"""Verdict reports (HTML and PDF), the pack summary and clause coverage (zoning.report)."""

import shutil
import subprocess

import pytest
from matplotlib.image import imread

from conftest import box
from zoning import Verdict, vocab
from zoning.errors import ZoningError
from zoning.maps import DEMO_NOTE, cjk_font
from zoning.report import clause_coverage, pack_summary_html, report_html, write_report

PROJECT = {"industry": "2614", "construction": "new", "emissions": {"VOCs": 12.5, "NOx": 8.0}, "fuel": ["natural_gas"], "water_m3": 5000}


@pytest.fixture(scope="module")
def verdict(grid_pack):
    return grid_pack.screen(box(900, 900, 1300, 1300), PROJECT)


@pytest.fixture(scope="module")
def conditional(grid_pack):
    # in the general unit only, inside the PM2.5 exceedance area: 2× VOCs/NOx offsets
    return grid_pack.screen(box(1500, 1500, 1700, 1700), {**PROJECT, "industry": "6550"})


def test_html_report_puts_the_verdict_first_and_has_every_section(verdict):
    text = report_html(verdict, interactive=False, static=False)
    d = verdict.to_dict()
    headings = ["结论与理由 Verdict and reasons", "项目 Project", "场地 Site", "环境管控单元 Control units",
                "生态保护红线 Ecological protection red lines", "要素管控分区 Element zones", "环境质量 Quality rasters",
                "资源利用上线 Resource quotas", "条款 Findings", "义务 Obligations", "待补充信息 Missing information",
                "数据与引擎 Data and engine", "地图 Map"]
    positions = [text.index(d["verdict_zh"])] + [text.index(f"<h2>{h}") for h in headings]
    assert positions == sorted(positions)
    for dim, zh in vocab.DIMENSIONS.items():
        assert zh in text and dim in text
    assert d["pack"]["digest"] in text and d["engine"]["version"] in text
    assert "T-PRI-01" in text and "ZH33052110001" in text


def test_html_report_lists_obligations_with_amounts(conditional):
    d = conditional.to_dict()
    assert d["verdict"] == "conditional", d["verdict"]
    text = report_html(conditional, interactive=False, static=False)
    amounts = [o["amount_t"] for o in d["obligations"] if o.get("amount_t") is not None]
    assert amounts and all(f"{a:g} t/a" in text for a in amounts)


def test_html_report_is_self_contained_with_both_maps(verdict):
    text = report_html(verdict, offline=False)
    assert "<iframe" in text and "data:image/png;base64," in text
    assert "@media print" in text


def test_report_of_a_rebuilt_verdict_says_there_is_no_map(verdict):
    text = report_html(Verdict.from_dict(verdict.to_dict()))
    assert "no site geometry" in text and verdict.verdict_zh in text


def test_demo_report_carries_the_demo_note(demo_pack):
    v = demo_pack.screen("119.95,30.55", {"industry": "6550", "construction": "new"})
    assert DEMO_NOTE in report_html(v, interactive=False, static=False)


def test_report_suffix_is_checked(verdict, tmp_path):
    with pytest.raises(ZoningError, match=r"'r\.odt': expected a name ending in \.html, \.htm, \.pdf or \.docx"):
        write_report(verdict, tmp_path / "r.odt")


@pytest.mark.skipif(shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None, reason="poppler-utils not installed (make sysdeps)")
@pytest.mark.skipif(cjk_font() is None, reason="no CJK font installed (make sysdeps installs fonts-noto-cjk)")
def test_pdf_report_renders_chinese_and_the_map(verdict, tmp_path):
    pdf = write_report(verdict, tmp_path / "report.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "禁止准入" in text and "prohibited" in text
    assert "空间布局约束" in text and verdict["pack"]["digest"][:30] in text.replace("\n", "")
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    page = imread(next(tmp_path.glob("page*.png")))
    ink = (page[..., :3].mean(axis=2) < 0.9).mean()
    assert 0.01 < ink < 0.6, ink  # neither blank nor solid
    # the verdict banner is red on page 1
    red = (page[..., 0] > 0.6) & (page[..., 1] < 0.25) & (page[..., 2] < 0.25)
    assert red.mean() > 0.005
    # Chinese is drawn with an embedded CJK font (not tofu)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts
    # the static map is in the document as an image
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert any(int(line.split()[3]) >= 600 for line in images), images


def test_pack_summary_html(grid_pack, demo_pack):
    text = pack_summary_html(grid_pack)
    assert grid_pack.id in text and grid_pack.digest in text and "一般管控单元" in text
    assert DEMO_NOTE not in text
    assert DEMO_NOTE in pack_summary_html(demo_pack)


def test_clause_coverage_counts_prefixes(grid_pack):
    cov = clause_coverage(grid_pack).set_index("division")
    n_industry_clauses = sum(1 for c in grid_pack.clauses if c.when.industry)
    assert cov["full"].max() <= n_industry_clauses
    # the grid pack's priority clause names section C: every manufacturing division is covered by it
    assert "T-PRI-01" in cov.loc["26", "clauses"] and "T-PRI-01" not in cov.loc["01", "clauses"]
    assert (cov["any_industry"] == len(grid_pack.clauses) - n_industry_clauses).all()


# ---------------------------------------------------------------------------------------------
# the report as an approval attachment (审批附件): record, input digest, 界址点, compliance, sign-off

import hashlib
import html as _html
import json
import re
from pathlib import Path

import docx
import numpy as np
import shapely
from click.testing import CliRunner
from PIL import Image
from pyproj import Transformer

from conftest import GRID, write_geojson
from zoning.cli import main as cli_main
from zoning.maps import verdict_figure
from zoning.report import (COMPLIANCE, boundary_point_table, compliance_table, describe_input, onemap_html, report_content,
                           verdict_record_number, write_onemap)
from zoning.verdict import because_zh

HAS_PDF_TOOLS = shutil.which("pdftotext") is not None and shutil.which("pdfinfo") is not None and cjk_font() is not None
SAMPLES = Path(__file__).parent.parent / "data" / "samples" / "demo_sites.geojson"


def _pdftext(pdf, first=None, last=None):
    args = ["pdftotext", "-layout"] + (["-f", str(first), "-l", str(last)] if first else []) + [str(pdf), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def _squash(text):
    return re.sub(r"\s+", "", text)


def _rows(html_text, table_class):
    """The text of each body row of the tables with ``table_class``: one list of cell texts per row."""
    out = []
    for table in re.findall(rf'<table class="[^"]*\b{table_class}\b[^"]*">(.*?)</table>', html_text, re.S):
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[-1], re.S):
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            out.append([re.sub(r"<br>", "\n", c).strip() for c in cells])
    return out



@pytest.fixture(scope="module")
def cli_outputs(tmp_path_factory):
    """``zoning screen`` on a real site file (grid pack) writing HTML, PDF and DOCX reports and the JSON."""
    tmp = tmp_path_factory.mktemp("attachment")
    site = write_geojson(tmp / "厂区 site.geojson", box(900, 900, 1300, 1300))
    project = tmp / "project.json"
    project.write_text(json.dumps({"industry": "2614", "construction": "new"}), encoding="utf-8")
    out = {"site": site, "json": tmp / "v.json", "html": tmp / "r.html", "docx": tmp / "r.docx", "pdf": tmp / "r.pdf", "onemap": tmp / "one.html"}
    runner = CliRunner()
    for report in ("html", "docx") + (("pdf",) if HAS_PDF_TOOLS else ()):
        args = ["screen", str(site), "--pack", str(GRID), "--project", str(project), "-o", str(out["json"]), "--report", str(out[report]), "--format", "json"]
        if report == "html":
            args += ["--onemap", str(out["onemap"]), "--offline"]
        result = runner.invoke(cli_main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return out


def _expected_points(site_file):
    """The site's vertices on EPSG:4549 computed here with pyproj alone: [(X northing, Y easting, lon, lat)]."""
    geom = json.loads(Path(site_file).read_text(encoding="utf-8"))["geometry"]
    ring = geom["coordinates"][0][:-1]
    east, north = Transformer.from_crs("EPSG:4490", "EPSG:4549", always_xy=True).transform([c[0] for c in ring], [c[1] for c in ring])
    return [(n, e, lon, lat) for (lon, lat), e, n in zip(ring, east, north)]


def test_record_number_is_the_digest_of_the_verdict_json(cli_outputs):
    d = json.loads(cli_outputs["json"].read_text(encoding="utf-8"))
    canonical = json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    number = "VD-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    text = cli_outputs["html"].read_text(encoding="utf-8")
    assert number in text and "SHA-256 前16位" in text
    assert "UTC" in text and "Asia/Shanghai" in text


def test_report_records_the_input_file_and_its_sha256(cli_outputs):
    digest = hashlib.sha256(cli_outputs["site"].read_bytes()).hexdigest()
    kv = dict((k, v) for k, v in re.findall(r"<tr><th>(.*?)</th><td[^>]*>(.*?)</td></tr>", cli_outputs["html"].read_text(encoding="utf-8")))
    assert kv["文件摘要 file SHA-256"] == digest
    assert kv["输入文件 input file"].startswith("厂区 site.geojson — ")


def test_boundary_point_table_matches_pyproj(cli_outputs):
    rows = _rows(cli_outputs["html"].read_text(encoding="utf-8"), "boundary-points")
    expected = _expected_points(cli_outputs["site"])
    assert [r[0] for r in rows] == [f"J{i}" for i in range(1, len(expected) + 1)] + ["J1"]  # the ring closes on J1
    for row, (x, y, lon, lat) in zip(rows, expected):
        assert row[1] == f"{x:.3f}" and row[2] == f"{y:.3f}" and row[4] == f"{lon:.8f}" and row[5] == f"{lat:.8f}", row
    # the grid box is 400 m a side on the GK plane
    assert all(abs(float(r[3]) - 400.0) < 0.01 for r in rows[1:]), [r[3] for r in rows]
    text = cli_outputs["html"].read_text(encoding="utf-8")
    assert "EPSG:4549" in text and "中央经线 120°E" in text


def test_boundary_point_table_of_holes_and_parts():
    outer = shapely.box(120.0, 30.0, 120.02, 30.02)
    hole = shapely.box(120.005, 30.005, 120.01, 30.01)
    site = shapely.MultiPolygon([shapely.Polygon(outer.exterior.coords, [hole.exterior.coords]), shapely.box(120.03, 30.0, 120.04, 30.01)])
    rings = boundary_point_table(site, "EPSG:4549")
    assert [(r["parcel"], r["ring"], r["role"]) for r in rings] == [(1, 1, "外圈 outer"), (1, 2, "内圈 hole"), (2, 1, "外圈 outer")]
    assert [p["no"] for p in rings[1]["points"]] == ["J5", "J6", "J7", "J8", "J5"]  # numbered on within the parcel
    assert rings[2]["points"][0]["no"] == "J1"


def _compliance_status(text):
    return {row[1].split("\n")[0]: row[3].split("\n")[0] for row in _rows(text, "compliance")}


def test_compliance_table_lists_every_clause_of_each_unit(cli_outputs, grid_pack):
    text = cli_outputs["html"].read_text(encoding="utf-8")
    d = json.loads(cli_outputs["json"].read_text(encoding="utf-8"))
    per_unit = re.split(r"<h3>(ZH\d{11}) ", text.split('id="compliance"', 1)[1].split('id="findings"')[0])
    tables = dict(zip(per_unit[1::2], per_unit[2::2]))
    assert sorted(tables) == sorted(u["unit_code"] for u in d["units"])
    key = _compliance_status(tables["ZH33052120001"])
    # T-UNIT-01 names this unit but does not fire for 2614: listed, 符合
    assert key["T-UNIT-01"] == "符合"
    # the region-wide water clause asks for water_m3: 待补充; its quota too
    assert key["T-ALL-01"] == "待补充" and key["quota:ZH33052120001:water_m3"] == "待补充"
    # the priority unit's clause fired and prohibits: 不符合
    assert _compliance_status(tables["ZH33052110001"])["T-PRI-01"] == "不符合"
    assert "T-PRI-01" not in key  # a clause of another category is not this unit's
    # the red-line clause whose place the site does not touch is listed as not applicable
    assert re.search(r"不涉及.*T-RL-01", text)


def test_compliance_table_reads_the_findings():
    import zoning

    pack = zoning.load_pack()
    v = pack.screen(json.loads(SAMPLES.read_text(encoding="utf-8"))["features"][2]["geometry"], {"industry": "2614", "construction": "new"})
    table = compliance_table(v)
    fired = {f["clause_id"]: f["effect"] for f in v["findings"]}
    rows = [r for u in table["units"] for r in u["rows"]] + table["other"]
    for r in rows:
        want = {"prohibit": "不符合", "condition": "有条件符合", "needs_information": "待补充"}.get(fired.get(r["clause_id"]), "符合")
        assert r["status_zh"] == want, r
    assert set(fired) <= {r["clause_id"] for r in rows}
    assert {"符合", "待补充"} <= {r["status_zh"] for r in rows}
    assert set(COMPLIANCE) == {"fail", "info", "conditional", "pass"}


def test_reasons_are_given_in_chinese_and_english(cli_outputs):
    text = _html.unescape(cli_outputs["html"].read_text(encoding="utf-8"))
    d = json.loads(cli_outputs["json"].read_text(encoding="utf-8"))
    for f in d["findings"]:
        assert f"理由：{because_zh(f['because'])}" in text and f"because: {f['because']}" in text
    assert "场地位于优先保护单元 ZH33052110001" in text


def test_sign_off_block_and_data_version(cli_outputs):
    text = cli_outputs["html"].read_text(encoding="utf-8")
    d = json.loads(cli_outputs["json"].read_text(encoding="utf-8"))
    signoff = text.split('id="signoff"', 1)[1].split("</table>")[0]
    for label in ("经办人 prepared by", "审核人 reviewed by", "单位（盖章）issuing unit (seal)", "日期 date"):
        assert label in signoff
    assert d["pack"]["digest"] in text and f"zoning {d['engine']['version']}" in text


@pytest.mark.skipif(not HAS_PDF_TOOLS, reason="poppler-utils or a CJK font not installed (make sysdeps)")
def test_pdf_attachment_has_every_new_part_and_no_blank_last_page(cli_outputs):
    pdf = cli_outputs["pdf"]
    text = _pdftext(pdf)
    flat = _squash(text)
    d = json.loads(cli_outputs["json"].read_text(encoding="utf-8"))
    assert verdict_record_number(d) in flat
    assert hashlib.sha256(cli_outputs["site"].read_bytes()).hexdigest() in flat
    x, y, lon, lat = _expected_points(cli_outputs["site"])[2]
    assert re.search(rf"J3\s+{x:.3f}\s+{y:.3f}\s+400\.000\s+{lon:.8f}\s+{lat:.8f}", text), "界址点 row J3"
    assert "界址点成果表" in text and "符合性分析" in text
    assert re.search(r"T-UNIT-01.*\n?.*符合", text) and "待补充" in text
    assert "场地位于优先保护单元" in flat and "经办人" in text and "单位（盖章）" in flat
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout)[1])
    for page in range(1, pages + 1):
        body = _pdftext(pdf, page, page)
        # each page has more than the running header and footer
        assert len(_squash(body)) > 200, (page, body)
    assert "审核人" in _pdftext(pdf, pages, pages)


def test_docx_report_has_the_tables_page_field_and_data_version(cli_outputs):
    doc = docx.Document(str(cli_outputs["docx"]))
    d = json.loads(cli_outputs["json"].read_text(encoding="utf-8"))
    headers = [[c.text for c in t.rows[0].cells] for t in doc.tables]
    compliance = [t for t, h in zip(doc.tables, headers) if h[:4] == ["维度 dimension", "条款 clause", "要求 requirement", "判定 result"]]
    assert len(compliance) == len(d["units"]) + 1  # one per unit, then the zones/rasters/distances
    status = {r.cells[1].text.split("\n")[0]: r.cells[3].text.split("\n")[0] for t in compliance for r in t.rows[1:]}
    assert status["T-UNIT-01"] == "符合" and status["T-ALL-01"] == "待补充" and status["T-PRI-01"] == "不符合"
    points = [t for t, h in zip(doc.tables, headers) if h[0] == "点号 point"]
    x, y, lon, lat = _expected_points(cli_outputs["site"])[0]
    assert [points[0].rows[1].cells[i].text for i in (0, 1, 2, 4, 5)] == ["J1", f"{x:.3f}", f"{y:.3f}", f"{lon:.8f}", f"{lat:.8f}"]
    footer = doc.sections[0].footer._element.xml
    assert re.search(r"<w:instrText[^>]*> PAGE </w:instrText>", footer) and "NUMPAGES" in footer
    header = doc.sections[0].header.paragraphs[0].text
    assert d["pack"]["digest"] in header and verdict_record_number(d) in header
    assert len(doc.inline_shapes) == 1  # the static map
    body = "\n".join(p.text for p in doc.paragraphs)
    assert "界址点成果表 Boundary points" in body and "审核签署 Sign-off" in body
    signoff = doc.tables[-1]
    assert [r.cells[0].text for r in signoff.rows] == ["经办人 prepared by", "审核人 reviewed by", "单位（盖章）issuing unit (seal)"]


def test_onemap_lists_each_unit_with_its_list_text_and_fired_clauses(demo_pack, tmp_path):
    feature = json.loads(SAMPLES.read_text(encoding="utf-8"))["features"][7]  # the two-parcel coating plant
    v = demo_pack.screen(feature["geometry"], feature["properties"])
    page = write_onemap(v, tmp_path / "one.html", offline=True).read_text(encoding="utf-8")
    assert "<iframe" in page and "leaflet" in page.lower()
    table = page.split('id="onemap-table"', 1)[1].split("</table>")[0]
    rows = {m[0]: m[1] for m in re.findall(r'<tr data-unit="(ZH\d{11})">(.*?)</tr>', table, re.S)}
    assert sorted(rows) == sorted(u["unit_code"] for u in v["units"])
    for u in v["units"]:
        for text in (u.get("access_list") or {}).values():
            if text:
                assert _html.escape(text, quote=True) in rows[u["unit_code"]]
        for f in v["findings"]:
            if f["where"] == u["unit_code"]:
                assert f"<span class=\"mono\">{f['clause_id']}</span>" in rows[u["unit_code"]]
    elsewhere = {f["clause_id"] for f in v["findings"] if f["where"] not in rows and not f["clause_id"].startswith("quota:")}
    assert elsewhere and all(cid in table for cid in elsewhere)


def test_cli_onemap_and_bad_suffixes(cli_outputs, tmp_path):
    page = cli_outputs["onemap"].read_text(encoding="utf-8")
    assert "一图一表" in page and hashlib.sha256(cli_outputs["site"].read_bytes()).hexdigest() in page
    runner = CliRunner()
    result = runner.invoke(cli_main, ["screen", str(cli_outputs["site"]), "--pack", str(GRID), "--onemap", str(tmp_path / "one.pdf")])
    assert result.exit_code == 2 and "--onemap file 'one.pdf': expected a name ending in .html or .htm" in result.output
    assert "Traceback" not in result.output


def test_inline_coordinates_and_stdin_are_recorded(tmp_path, grid_pack):
    runner = CliRunner()
    lon, lat = box(1000, 1000, 1001, 1001).centroid.coords[0]
    out = tmp_path / "inline.html"
    result = runner.invoke(cli_main, ["screen", f"{lon:.6f},{lat:.6f}", "--pack", str(GRID), "--industry", "2614", "--report", str(out)])
    assert result.exit_code == 0, result.output
    assert "坐标直接输入，无输入文件" in out.read_text(encoding="utf-8")
    data = write_geojson(tmp_path / "s.geojson", box(900, 900, 1300, 1300)).read_bytes()
    out = tmp_path / "stdin.html"
    result = runner.invoke(cli_main, ["screen", "-", "--pack", str(GRID), "--industry", "2614", "--report", str(out)], input=data)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "标准输入 stdin" in text and hashlib.sha256(data).hexdigest() in text


def test_report_of_a_stored_record_uses_its_screening_id(verdict):
    rebuilt = Verdict.from_dict(verdict.to_dict())
    c = report_content(rebuilt, site=verdict.site_geometry, pack=verdict.pack, screening_id="scr-0042", screened_at="2024-06-01T08:00:00Z", map_image=False)
    assert c["record"]["number"] == "scr-0042" and c["record"]["kind"] == "screening_id"
    assert c["record"]["times"]["utc"] == "2024-06-01 08:00:00 UTC" and c["record"]["times"]["shanghai"].startswith("2024-06-01 16:00:00")
    text = report_html(rebuilt, site=verdict.site_geometry, pack=verdict.pack, screening_id="scr-0042", interactive=False, static=False)
    assert "scr-0042" in text and "J1" in text
    # without the pack, only the fired clauses are known
    bare = compliance_table(rebuilt)
    listed = {r["clause_id"] for u in bare["units"] for r in u["rows"]} | {r["clause_id"] for r in bare["other"]}
    assert not bare["complete"] and {c for c in listed if not c.startswith("quota:")} == {f["clause_id"] for f in verdict["findings"]}
    assert "T-UNIT-01" not in listed  # it did not fire, and without the pack it is not known
    with pytest.raises(ZoningError, match="not an ISO 8601 time"):
        report_content(verdict, screened_at="yesterday", map_image=False)


def test_describe_input_digests_shapefile_parts(tmp_path):
    import geopandas as gpd

    gpd.GeoDataFrame(geometry=[box(900, 900, 1300, 1300)], crs=4490).to_file(tmp_path / "s.shp")
    info = describe_input(str(tmp_path / "s.shp"))
    assert info["sha256"] == hashlib.sha256((tmp_path / "s.shp").read_bytes()).hexdigest()
    assert {p["name"] for p in info["parts"]} >= {"s.dbf", "s.shx", "s.prj"}
    with pytest.raises(ZoningError, match="neither a readable file nor lon,lat"):
        describe_input(str(tmp_path / "missing.geojson"))


# -- the static map: basemap from offline tiles, north arrow, scale bar, labels


_TEAL = (10, 200, 190)


def _tiles_dir(root, site, zoom=14):
    """XYZ tiles of one colour covering the site's surroundings (a few km)."""
    lon, lat = site.centroid.coords[0]
    n = 1 << zoom
    tx = int((lon + 180) / 360 * n)
    ty = int((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * n)
    for x in range(tx - 3, tx + 4):
        for y in range(ty - 3, ty + 4):
            (root / str(zoom) / str(x)).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (256, 256), _TEAL).save(root / str(zoom) / str(x) / f"{y}.png")
    return root


def _teal_share(fig):
    import matplotlib.pyplot as plt

    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)
    plt.close(fig)
    return (np.abs(img - np.array(_TEAL)).sum(axis=2) < 30).mean()


def test_static_map_draws_offline_tiles_from_a_directory_and_mbtiles(verdict, tmp_path):
    import sqlite3

    tiles = _tiles_dir(tmp_path / "tiles", verdict.site_geometry)
    without = verdict_figure(verdict)
    assert "no offline tiles were given" in without.basemap_note
    assert _teal_share(without) == 0
    with_dir = verdict_figure(verdict, basemap=tiles)
    assert "离线瓦片 tiles" in with_dir.basemap_note
    assert _teal_share(with_dir) > 0.02  # the basemap shows where no unit is drawn over it (the margins of units: alpha)
    db = sqlite3.connect(tmp_path / "t.mbtiles")
    db.execute("CREATE TABLE metadata (name text, value text)")
    db.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)")
    db.execute("INSERT INTO metadata VALUES ('name', '测试底图'), ('attribution', '© test')")
    for png in (tiles / "14").glob("*/*.png"):
        x, y = int(png.parent.name), int(png.stem)
        db.execute("INSERT INTO tiles VALUES (14, ?, ?, ?)", (x, (1 << 14) - 1 - y, png.read_bytes()))
    db.commit()
    db.close()
    fig = verdict_figure(verdict, basemap=tmp_path / "t.mbtiles")
    assert "测试底图" in fig.basemap_note and "© test" in fig.basemap_note
    assert _teal_share(fig) > 0.02
    with pytest.raises(ZoningError, match=r"expected a directory of \{z\}/\{x\}/\{y\}\.png tiles or an \.mbtiles file"):
        verdict_figure(verdict, basemap=tmp_path / "t.json")
    far = _tiles_dir(tmp_path / "far", shapely.Point(100.0, 40.0))
    assert "未覆盖本区域" in verdict_figure(verdict, basemap=far).basemap_note


def test_static_map_has_north_arrow_scale_bar_and_place_names(verdict):
    fig = verdict_figure(verdict)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "北 N" in texts
    assert any(re.fullmatch(r"\d+ (m|km)", t) for t in texts)
    names = {u["unit_name"] for u in verdict["units"]}
    assert all(any(n in t for t in texts) for n in names), (names, texts)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_boundary_points_of_a_survey_file_round_trip_to_its_own_coordinates():
    """A 界址点 TXT (zone 40, Y prefixed) read and listed again gives the surveyor's X/Y to the millimetre."""
    from zoning.site import read_site

    path = Path(__file__).parent / "data" / "sites" / "jzd_prefixed.txt"
    rows = [line.split(",") for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("J")]
    rings = boundary_point_table(read_site(str(path)).geometry, 4549)
    got = [(p["no"], f"{p['x']:.3f}", f"{p['y']:.3f}") for p in rings[0]["points"]]
    assert got == [(no, x, f"{float(y) - 40_000_000:.3f}") for no, _, x, y in rows]
