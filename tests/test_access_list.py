"""Access-list text of the units in verdicts (contract §9): JSON, text, report, map popup, warnings."""

import json
import shutil

import geopandas as gpd
import pytest

from zoning import load_pack
from zoning.report import report_html
from zoning.screen import ACCESS_LIST_FIELDS
from zoning.verdict import Verdict

DIMS_ZH = ["空间布局约束", "污染物排放管控", "环境风险防控", "资源开发效率要求"]
PROJECT = {"industry": "6550", "construction": "new"}


def _unit_point(pack, code):
    return pack.units.loc[pack.units["unit_code"] == code].geometry.iloc[0].representative_point()


def _coded(pack):
    return {code for c in pack.clauses if c.tier == "unit" for code in (c.applies_in.unit_codes or [])}


@pytest.fixture(scope="module")
def codes(demo_pack):
    """A demo unit that unit-tier clauses name, and one that none names."""
    coded = _coded(demo_pack)
    named = next(c for c in demo_pack.units["unit_code"] if c in coded)
    unnamed = next(c for c in demo_pack.units["unit_code"] if c not in coded)
    return named, unnamed


def _warned(verdict, code):
    return [w for w in verdict["warnings"] if code in w and "access-list" in w]


def test_every_demo_unit_has_text_in_all_four_dimensions(demo_pack):
    for field in ACCESS_LIST_FIELDS:
        assert demo_pack.units[field].notna().all() and (demo_pack.units[field].str.len() > 10).all(), field


def test_verdict_units_carry_the_access_list_and_not_as_attributes(demo_pack, codes):
    named, _ = codes
    v = demo_pack.screen(_unit_point(demo_pack, named), PROJECT)
    (u,) = v["units"]
    assert u["unit_code"] == named
    row = demo_pack.units.loc[demo_pack.units["unit_code"] == named].iloc[0]
    assert set(u["access_list"]) == set(ACCESS_LIST_FIELDS)
    assert u["access_list"] == {f: row[f] for f in ACCESS_LIST_FIELDS}
    assert not set(ACCESS_LIST_FIELDS) & set(u.get("attributes", {}))  # shown once, not twice
    assert "county_code" in u["attributes"]  # the other extra fields are still kept
    assert '"access_list"' in v.to_json()


def test_warning_for_a_unit_with_text_that_no_unit_clause_names(demo_pack, codes):
    named, unnamed = codes
    v = demo_pack.screen(_unit_point(demo_pack, unnamed), PROJECT)
    (w,) = _warned(v, unnamed)
    assert w.startswith("单元 ") and "the reviewer must read it" in w  # bilingual, Chinese first
    assert w.index("准入清单") < w.index("access-list")
    assert not _warned(demo_pack.screen(_unit_point(demo_pack, named), PROJECT), named)


def test_text_output_prints_the_list_with_chinese_dimension_names(demo_pack, codes):
    named, _ = codes
    v = demo_pack.screen(_unit_point(demo_pack, named), PROJECT)
    text = v.to_text()
    assert "单元准入清单 Unit access lists" in text
    positions = [text.index(f"{zh} {en}") for zh, en in zip(DIMS_ZH, ACCESS_LIST_FIELDS)]
    assert positions == sorted(positions)
    assert v["units"][0]["access_list"]["risk_prevention"] in text
    assert Verdict.from_dict(v.to_dict()).to_text() == text  # rendered from the JSON alone


def test_report_html_prints_the_units_list(demo_pack, codes):
    named, _ = codes
    v = demo_pack.screen(_unit_point(demo_pack, named), PROJECT)
    html = report_html(v, interactive=False, static=False)
    assert "单元准入清单 Unit access lists" in html
    for zh in DIMS_ZH:
        assert zh in html
    text = v["units"][0]["access_list"]["spatial_layout"]
    assert text.replace("“", "&#34;")[:20] in html or text[:20] in html


def test_map_popup_shows_the_touched_units_list(demo_pack, codes):
    named, _ = codes
    v = demo_pack.screen(_unit_point(demo_pack, named), PROJECT)
    page = v.explore(offline=True).get_root().render()
    esc = lambda s: json.dumps(s)[1:-1]  # noqa: E731 — the popup's data is JSON in the page
    assert "zoning-access-list" in page and esc("准入清单 access list") in page
    assert esc(v["units"][0]["access_list"]["emission_control"][:15]) in page
    assert esc("空间布局约束 spatial_layout") in page


@pytest.fixture(scope="module")
def partial_pack(tmp_path_factory, demo_pack, codes):
    """The demo pack with list text on one unit only, blank in one dimension, and none elsewhere."""
    named, unnamed = codes
    d = tmp_path_factory.mktemp("partial") / "pack"
    shutil.copytree(demo_pack.path, d)
    units = gpd.read_file(d / "layers.gpkg", layer="units")
    red = gpd.read_file(d / "layers.gpkg", layer="red_line")
    keep = units["unit_code"] == unnamed
    for f in ACCESS_LIST_FIELDS:
        units.loc[~keep, f] = None
    units.loc[keep, "risk_prevention"] = "   "
    (d / "layers.gpkg").unlink()
    units.to_file(d / "layers.gpkg", layer="units", driver="GPKG")
    red.to_file(d / "layers.gpkg", layer="red_line", driver="GPKG")
    return load_pack(d)


def test_absent_or_blank_text_is_null_and_gives_no_warning(partial_pack, codes):
    named, unnamed = codes
    v = partial_pack.screen(_unit_point(partial_pack, named), PROJECT)
    assert v["units"][0]["access_list"] == dict.fromkeys(ACCESS_LIST_FIELDS)
    assert not _warned(v, named)
    assert "单元准入清单" not in v.to_text()
    v = partial_pack.screen(_unit_point(partial_pack, unnamed), PROJECT)
    assert v["units"][0]["access_list"]["risk_prevention"] is None
    assert v["units"][0]["access_list"]["spatial_layout"]
    assert _warned(v, unnamed)


def test_a_pack_without_the_fields_gives_null_lists(grid_pack):
    from conftest import box

    v = grid_pack.screen(box(100, 100, 200, 200))
    assert v["units"] and all(u["access_list"] == dict.fromkeys(ACCESS_LIST_FIELDS) for u in v["units"])
    assert not any("access-list" in w for w in v["warnings"])


def test_screen_many_columns_unaffected_and_full_verdicts_agree(demo_pack, partial_pack, codes):
    pts = [_unit_point(demo_pack, c) for c in codes] + [u.representative_point() for u in demo_pack.units.geometry[:6]]
    sites = gpd.GeoDataFrame({"industry": ["2614"] * len(pts), "construction": ["new"] * len(pts)}, geometry=pts, crs="EPSG:4490")
    with_text = demo_pack.screen_many(sites, full=True)
    without = partial_pack.screen_many(sites)
    cols = ["verdict", "units", "red_line", "blocking", "missing", "n_findings", "error"]
    assert with_text[cols].equals(without[cols])  # the text decides nothing
    for i, row in with_text.iterrows():
        one = demo_pack.screen(sites.geometry[i], {"industry": "2614", "construction": "new"})
        assert row["result"]["units"] == one["units"]
        assert row["result"]["warnings"] == one["warnings"]
