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
    with pytest.raises(ZoningError, match=r"\.html or \.pdf"):
        write_report(verdict, tmp_path / "r.docx")


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
