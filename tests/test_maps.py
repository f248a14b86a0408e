"""Verdict maps, pack maps and the Jupyter views (zoning.maps), on the grid and demo packs."""

import json
import re

import folium
import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from conftest import GRID, box, gk, write_geojson
from zoning import Verdict
from zoning.assets import offline_available
from zoning.cli import main
from zoning.errors import ZoningError
from zoning.maps import DEMO_NOTE, _overlaps, layer_names, pack_map, screening_map, verdict_map

PROJECT = {"industry": "2614", "construction": "new"}
GCJ_TILES = re.compile(r"autonavi|amap|gaode|webrd0|map\.qq\.com|tencent|bdimg|baidu", re.I)
needs_assets = pytest.mark.skipif(not offline_available(), reason="offline assets not installed (make assets)")


def html_of(m):
    return m.get_root().render()


@pytest.fixture(scope="module")
def grid_verdict(grid_pack):
    # 400 m square across three units (general 75 %, key 18.75 %, priority 6.25 %) and the fuel-ban zone
    return grid_pack.screen(box(900, 900, 1300, 1300), PROJECT)


def test_verdict_map_has_the_layers_banner_and_tooltips(grid_verdict):
    m = grid_verdict.explore(offline=False)
    assert isinstance(m, folium.Map)
    text = html_of(m)
    assert "禁止准入 prohibited" in text and "zoning-banner" in text
    for name in layer_names(["air", "water", "resource"]) + ["重叠部分 overlaps", "项目场地 site"]:
        assert json.dumps(name)[1:-1] in text or name in text, name
    # the units touched, with the clause that fired there (T-PRI-01 in the priority unit)
    assert "ZH33052110001" in text and "T-PRI-01" in text
    assert "tile.openstreetmap.org" in text
    assert not GCJ_TILES.search(text)
    assert "LayerControl" in text or "control.layers" in text.replace("L.control.layers", "control.layers")
    assert DEMO_NOTE not in text  # the grid pack is not the demo pack


def test_overlap_pieces_measure_what_the_verdict_says(grid_pack, grid_verdict):
    d = grid_verdict.to_dict()
    pieces = _overlaps(grid_verdict.site_geometry, grid_pack, d, {}).to_crs(4549)
    area = dict(zip(pieces["id"], pieces.area))
    for entry in d["units"] + d["zones"]:
        key = entry.get("unit_code") or entry.get("zone_id")
        assert area[key] == pytest.approx(entry["overlap_m2"], rel=1e-6)


@needs_assets
def test_offline_map_loads_nothing_from_the_network(grid_verdict):
    text = html_of(verdict_map(grid_verdict, offline=True))
    assert not re.search(r"<script[^>]+src=[\"']https?:", text)
    assert not re.search(r"<link[^>]+href=[\"']https?:", text)
    assert "tile.openstreetmap.org" not in text  # no basemap offline
    assert "L.Map" in text or "L.map" in text  # Leaflet is inlined
    assert "url(\"data:image/png;base64," in text  # with the layer-control icon


@needs_assets
def test_default_map_is_self_contained_and_keeps_the_basemap(grid_verdict, monkeypatch):
    """Issue 14 (7): with the local copies at hand a map inlines Leaflet by default, so it opens
    without a network (only the basemap needs one); --online links the CDN as folium does."""
    monkeypatch.delenv("ZONING_OFFLINE", raising=False)
    text = html_of(verdict_map(grid_verdict))
    assert not re.search(r"<script[^>]+src=[\"']https?:", text)
    assert "tile.openstreetmap.org" in text  # the basemap joins in when online
    online = html_of(verdict_map(grid_verdict, offline=False))
    assert re.search(r"<script[^>]+src=[\"']https?:", online)


def test_env_var_makes_maps_offline(grid_verdict, monkeypatch):
    monkeypatch.setenv("ZONING_OFFLINE", "1")
    if not offline_available():
        with pytest.raises(ZoningError, match="make assets"):
            grid_verdict.explore()
        return
    assert "tile.openstreetmap.org" not in html_of(grid_verdict.explore())


def test_points_and_lines_are_mapped(grid_pack):
    point = grid_pack.screen(gk(shapely.Point(500, 500)), PROJECT)
    line = grid_pack.screen(gk(shapely.LineString([(100, 1500), (1900, 1500)])), {**PROJECT, "activity": "linear_infrastructure"})
    for v in (point, line):
        text = html_of(v.explore(offline=False))
        assert v.verdict_zh in text
    assert "L.CircleMarker" in html_of(point.explore(offline=False))
    assert "LineString" in html_of(line.explore(offline=False))


def test_a_verdict_rebuilt_from_json_cannot_be_mapped(grid_verdict):
    rebuilt = Verdict.from_dict(grid_verdict.to_dict())
    with pytest.raises(ZoningError, match="screen the site again"):
        rebuilt.explore()
    assert "<table>" in rebuilt._repr_html_()  # the table still shows


def test_repr_html_shows_the_table_and_the_map(grid_verdict):
    text = grid_verdict._repr_html_()
    assert "<table>" in text and "T-PRI-01" in text and "<iframe" in text


def test_demo_maps_carry_the_demo_note_and_stay_small(demo_pack):
    site = "119.95,30.55"
    v = demo_pack.screen(site, {"industry": "6550", "construction": "new"})
    text = html_of(v.explore(offline=False))
    assert DEMO_NOTE in text
    assert len(text.encode()) < 500_000
    # a county-scale site (about 5 km across): clipped and simplified, well under 2 MB
    big = demo_pack.screen(shapely.box(119.85, 30.50, 119.90, 30.54), {"industry": "6550", "construction": "new"})
    assert len(html_of(big.explore(offline=False)).encode()) < 1_000_000
    pack_html = html_of(pack_map(demo_pack, offline=False))
    assert DEMO_NOTE in pack_html and "leaflet-search" in pack_html
    assert len(pack_html.encode()) < 2_000_000


def test_pack_map_has_units_zones_and_a_search_box(grid_pack):
    m = grid_pack.explore(offline=False)
    text = html_of(m)
    assert "ZH33052120001" in text and "Z-AIR" in text and "RL-001" in text
    assert "L.Control.Search" in text or "Control.Search" in text
    assert "propertyName" in text and "unit_code" in text


def test_pack_repr_html_is_a_summary(grid_pack):
    text = grid_pack._repr_html_()
    assert "grid-test" in text and "优先保护单元" in text and grid_pack.digest in text


def test_screening_map_colours_sites_by_verdict(grid_pack):
    sites = gpd.GeoDataFrame(
        {"site_id": ["a", "b"], "industry": ["2614", "6550"]},
        geometry=[box(100, 100, 200, 200), box(1700, 1700, 1800, 1800)], crs=4490,
    )
    table = grid_pack.screen_many(sites, {"construction": "new"})
    text = html_of(screening_map(table, pack=grid_pack, offline=False))
    for verdict in set(table["verdict"].dropna()):
        assert verdict in text


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_cli_screen_writes_map_and_report(tmp_path):
    site = write_geojson(tmp_path / "site.geojson", box(900, 900, 1300, 1300), PROJECT)
    out_map, out_report = tmp_path / "v.html", tmp_path / "r.html"
    result = run("screen", site, "--pack", GRID, "--map", out_map, "--report", out_report, "--format", "json", "--online")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["verdict"] == "prohibited"
    assert "禁止准入" in out_map.read_text(encoding="utf-8")
    assert "禁止准入" in out_report.read_text(encoding="utf-8")


def test_cli_bad_report_suffix_is_exit_2(tmp_path):
    site = write_geojson(tmp_path / "site.geojson", box(900, 900, 1300, 1300), PROJECT)
    result = CliRunner().invoke(main, ["screen", str(site), "--pack", str(GRID), "--report", str(tmp_path / "r.odt")])
    assert result.exit_code == 2
    assert "expected a name ending in .html, .htm, .pdf or .docx" in result.output


def test_cli_map_writes_the_pack_map(tmp_path):
    out = tmp_path / "pack.html"
    result = run("map", GRID, "--out", out, "--online")
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    assert "ZH33052110001" in out.read_text(encoding="utf-8")
    assert "Examples:" in run("map", "--help").output


def test_a_rebuilt_verdict_maps_with_its_site_and_pack(grid_pack, grid_verdict):
    rebuilt = Verdict.from_dict(grid_verdict.to_dict())
    m = verdict_map(rebuilt, site=shapely.geometry.mapping(grid_verdict.site_geometry), pack=grid_pack, offline=False)
    assert "T-PRI-01" in html_of(m) and "禁止准入" in html_of(m)
