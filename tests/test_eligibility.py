"""Eligibility maps (contract §7): a point site strictly inside a polygon gets its outcome.

Property checks screen random points inside every polygon (and points just 1 m inside its
edges) with ``screen`` and compare; reference cases on the grid pack are computed by hand
(rectangles, a 300 m band around a corner zone, a 500 m band around the red line).

The grid pack's rectangles are drawn on the GK plane and held in lon/lat with their corners
only; a 2 km edge straight in lon/lat lies up to 4 cm off the GK chord, so areas bounded by
the region's 2 km edges are compared with the hand values to 100 m² (0.003 % of the region).
"""

import json
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
import yaml
from click.testing import CliRunner
from pyproj import Transformer

import zoning.eligibility as eligibility_module
from zoning.cli import main
from zoning.crs import gk_zone_epsg
from zoning.eligibility import eligibility, gk_areas
from zoning.errors import ZoningError
from zoning.testing import eligibility_mismatches, verdict_outcome

DEMO_PROJECTS = [
    {"industry": "2614", "construction": "new", "emissions": {"VOCs": 5.0, "NOx": 2.0}, "fuel": ["natural_gas"], "water_m3": 9000, "coal_t": 0, "land_ha": 2, "groundwater": False},
    {"industry": "6550", "construction": "new"},
    {"industry": ["1713", "4411"], "activity": "linear_infrastructure", "fuel": ["coal"], "coal_t": 50, "groundwater": True, "emissions": {"COD": 3}},
]
GRID_AREA = 2000.0 * 2000.0
_TO_GK = Transformer.from_crs(4490, 4549, always_xy=True)


def _region_area(pack):
    """The region's area as the overlay measures it: units' vertices on the GK zone of the
    region's centre, joined straight there."""
    units = np.asarray(pack.units.geometry.values, dtype=object)
    region = shapely.union_all(units)
    epsg = gk_zone_epsg(region.centroid.x)
    fwd = Transformer.from_crs(4490, epsg, always_xy=True)
    return float(shapely.transform(region, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1]))).area)


def _check_coverage(pack, elig, rel=1e-6):
    """The polygons cover the region (union area = region area) and no two overlap."""
    geoms = np.asarray(elig.frame.geometry.values, dtype=object)
    assert shapely.is_valid(geoms).all()
    assert set(elig.frame.geom_type) == {"Polygon"}
    union = float(gk_areas(np.array([shapely.union_all(geoms)], dtype=object))[0])
    assert union == pytest.approx(_region_area(pack), rel=rel)
    # Each polygon is measured on its own centroid's GK zone (scales differ by < 0.05 %).
    assert float(elig.frame["area_m2"].sum()) == pytest.approx(union, rel=max(rel, 5e-4 if rel > 1e-6 else 1e-6))
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    overlap = gk_areas(shapely.intersection(geoms[a[keep]], geoms[b[keep]]))
    assert overlap.max(initial=0.0) < 1e-3  # m²: shared edges only


def _by_outcome(elig):
    f = elig.frame
    return {k: float(v) for k, v in f.groupby(["verdict", "blocking", "missing"])["area_m2"].sum().items()}


@pytest.mark.parametrize("project", DEMO_PROJECTS, ids=["chemical", "service", "textile-linear-coal"])
def test_demo_points_inside_each_polygon_get_its_outcome(demo_pack, project):
    elig = eligibility(demo_pack, project, cache=False)
    assert list(elig.frame.columns) == ["verdict", "verdict_zh", "blocking", "missing", "area_m2", "geometry"]
    assert elig.frame.crs.to_epsg() == 4490
    _check_coverage(demo_pack, elig)
    big = elig.frame[elig.frame["area_m2"] > 5e4].index
    sub = elig.frame.loc[big]
    elig_sub = eligibility_module.Eligibility(sub.reset_index(drop=True), elig.pack, elig.project, elig.clauses)
    bad = eligibility_mismatches(demo_pack, elig_sub, points=2, edge_points=3, seed=1)
    assert bad == [], bad[:3]
    # Small polygons (slivers of the demo's own unit outlines) are right too.
    small = eligibility_module.Eligibility(elig.frame.drop(index=big).reset_index(drop=True), elig.pack, elig.project, elig.clauses)
    assert eligibility_mismatches(demo_pack, small, points=1, seed=2) == []


def test_demo_verdicts_differ_by_project(demo_pack):
    chem = eligibility(demo_pack, DEMO_PROJECTS[0])
    service = eligibility(demo_pack, {"industry": "6550", "construction": "new", "emissions": {}, "fuel": [], "water_m3": 100, "coal_t": 0, "land_ha": 1, "groundwater": False})
    assert chem.areas_m2["prohibited"] > service.areas_m2["prohibited"]
    assert service.areas_m2["permitted"] > 0.5 * sum(service.areas_m2.values())
    assert sum(chem.areas_m2.values()) == pytest.approx(sum(service.areas_m2.values()), rel=1e-6)


def test_grid_reference_band_around_a_corner_zone(grid_pack):
    """Textile reconstruction emitting COD: the red line prohibits (T-RL-01, 600 m × 600 m);
    within 300 m of the drinking-water zone in the region's corner (0–500 × 1500–2000) it is
    conditional (T-NEAR-02): the zone, two 300 m strips and a quarter circle of 300 m."""
    project = {"industry": "1713", "construction": "reconstruction", "emissions": {"COD": 1.0}, "fuel": [], "water_m3": 100, "coal_t": 0, "land_ha": 1, "groundwater": False}
    elig = eligibility(grid_pack, project, cache=False)
    _check_coverage(grid_pack, elig)
    red = 600.0 * 600.0
    band = 500.0 * 500.0 + 2 * 300.0 * 500.0 + math.pi * 300.0 ** 2 / 4
    got = _by_outcome(elig)
    assert set(got) == {("prohibited", "T-RL-01", ""), ("conditional", "T-NEAR-02", ""), ("permitted", "", "")}
    assert got[("prohibited", "T-RL-01", "")] == pytest.approx(red, abs=5.0)
    # The band's arc is drawn with chords within 0.2 m of it: a few tens of m² less.
    assert got[("conditional", "T-NEAR-02", "")] == pytest.approx(band, abs=150.0)
    assert got[("permitted", "", "")] == pytest.approx(GRID_AREA - red - band, abs=200.0)
    assert sum(elig.areas_m2.values()) == pytest.approx(GRID_AREA, abs=100.0)
    assert elig.areas_m2["prohibited"] == got[("prohibited", "T-RL-01", "")] and elig.areas_m2["needs_information"] == 0.0
    assert eligibility_mismatches(grid_pack, elig, points=5, edge_points=8) == []


def _quarter(u0, u1, r):
    """∫ sqrt(r² − u²) du from u0 to u1."""
    f = lambda u: u / 2 * math.sqrt(r * r - u * u) + r * r / 2 * math.asin(u / r)  # noqa: E731
    return f(u1) - f(u0)


def test_grid_reference_500m_band_around_the_red_line(grid_pack):
    """A new chemical plant: prohibited in the priority unit (T-PRI-01) and within 500 m of the
    red line (T-NEAR-01, 200–800 square): the band reaches 300 m past the unit's east and north
    edges, with arcs of 500 m round the corners."""
    project = {"industry": "2614", "construction": "new", "emissions": {"VOCs": 1.0}, "fuel": [], "water_m3": 100, "coal_t": 0, "land_ha": 1, "groundwater": False}
    elig = eligibility(grid_pack, project, cache=False)
    _check_coverage(grid_pack, elig)
    r = 500.0
    corner_ne = math.pi * r * r / 4 - 200.0 * 200.0                 # beyond x or y = 1000 round (800, 800)
    u = math.sqrt(r * r - 200.0 ** 2)                                 # where the arc round (800, 200) meets y = 0
    corner_se = 200.0 * (u - 200.0) + _quarter(u, r, r)               # x > 1000, 0 ≤ y ≤ 200 round (800, 200)
    outside_unit = 2 * 300.0 * 600.0 + corner_ne + 2 * corner_se
    got = _by_outcome(elig)
    prohibited = sum(a for (v, _, _), a in got.items() if v == "prohibited")
    # Chords within 0.2 m of ~1.9 km of arcs: at most ~260 m² short of the true band.
    assert 1000.0 * 1000.0 + outside_unit - 300.0 < prohibited < 1000.0 * 1000.0 + outside_unit
    assert got[("prohibited", "T-PRI-01;T-RL-01;T-NEAR-01", "")] == pytest.approx(600.0 * 600.0, abs=5.0)
    band_only = got[("prohibited", "T-NEAR-01", "")]
    assert outside_unit - 300.0 < band_only < outside_unit
    assert elig.areas_m2["needs_information"] == 0.0
    # East of x = 1000 PM2.5 is 40 > 35 (T-PM-01); the air zone adds T-AIR-01.
    assert ("conditional", "T-PM-01", "") in got and ("conditional", "T-PM-01;T-AIR-01", "") in got
    assert got[("conditional", "T-PM-01;T-AIR-01", "")] == pytest.approx(500.0 * 500.0, abs=50.0)
    assert eligibility_mismatches(grid_pack, elig, points=4, edge_points=8) == []


def test_needs_information_names_what_is_missing(grid_pack):
    elig = eligibility(grid_pack, {"industry": "1713", "construction": "reconstruction"}, cache=False)
    missing = set(";".join(elig.frame["missing"]).split(";")) - {""}
    assert {"emissions.COD", "fuel"} <= missing
    assert eligibility_mismatches(grid_pack, elig, points=3, edge_points=4) == []


@pytest.fixture(scope="module")
def seam_pack(tmp_path_factory):
    """Two units either side of the 121.5°E seam between GK zones 40 and 41, a red line across
    it, and a 1 km near clause: the band is measured on each point's own zone."""
    from zoning import load_pack

    d = tmp_path_factory.mktemp("seam")

    def fc(features):
        return {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(g)} for p, g in features]}

    units = [({"unit_code": "ZH31011530001", "unit_name": "西侧一般管控单元", "category": "general"}, shapely.box(121.40, 30.0, 121.50, 30.1)),
             ({"unit_code": "ZH31011520001", "unit_name": "东侧重点管控单元", "category": "key"}, shapely.box(121.50, 30.0, 121.60, 30.1))]
    red = [({"redline_id": "RL-S", "name": "跨带红线"}, shapely.Polygon([(121.48, 30.04), (121.515, 30.045), (121.51, 30.06), (121.49, 30.058)]))]
    (d / "units.geojson").write_text(json.dumps(fc(units), ensure_ascii=False), encoding="utf-8")
    (d / "red_line.geojson").write_text(json.dumps(fc(red), ensure_ascii=False), encoding="utf-8")
    (d / "pack.yaml").write_text(yaml.safe_dump({
        "id": "seam-test", "name": "跨带测试", "version": "1", "effective": "2024-01-01", "region": "310115", "crs": "EPSG:4490",
        "layers": {"units": {"path": "units.geojson"}, "red_line": {"path": "red_line.geojson"}}, "rules": "rules.yaml"}, allow_unicode=True), encoding="utf-8")
    (d / "rules.yaml").write_text(yaml.safe_dump({"clauses": [
        {"id": "S-RL", "tier": "province", "dimension": "spatial_layout", "text": "红线内禁止开发", "applies_in": {"red_line": True}, "effect": "prohibit"},
        {"id": "S-NEAR", "tier": "city", "dimension": "risk_prevention", "text": "红线周边1公里内禁止新建化工", "applies_in": {"near": {"layer": "red_line", "within_m": 1000}},
         "effect": "prohibit", "when": {"industry": ["26"]}},
        {"id": "S-KEY", "tier": "province", "dimension": "emission_control", "text": "重点管控单元新增VOCs须倍量削减", "applies_in": {"unit_category": ["key"]},
         "effect": "condition", "when": {"emits": ["VOCs"]}}]}, allow_unicode=True), encoding="utf-8")
    return load_pack(d)


def test_band_across_a_gk_zone_seam(seam_pack):
    elig = eligibility(seam_pack, {"industry": "2614", "construction": "new", "emissions": {"VOCs": 1}}, cache=False)
    _check_coverage(seam_pack, elig, rel=5e-4)  # two zones: each side measured on its own
    assert {"prohibited", "conditional", "permitted"} <= set(elig.frame["verdict"])
    assert eligibility_mismatches(seam_pack, elig, points=6, edge_points=40) == []
    # Right at the seam, the band's edge is where each side's zone puts it: points 2 m either
    # side of the meridian, just inside and just outside the band, are screened alike.
    project = {"industry": "2614", "construction": "new", "emissions": {"VOCs": 1}}
    band = shapely.union_all(elig.frame[elig.frame["blocking"].str.contains("S-NEAR")].geometry.values)
    seam = shapely.LineString([(121.5, 30.0), (121.5, 30.1)])
    crossings = shapely.get_coordinates(shapely.intersection(seam, band.boundary))[:, 1]
    assert len(crossings) >= 2
    checked = 0
    for y in crossings:
        for dx in (-2e-5, 2e-5):
            for dy in (-1.5e-5, 1.5e-5):  # ≈ 1.7 m across the band's edge
                p = shapely.Point(121.5 + dx, y + dy)
                inside = band.contains(p)
                got = verdict_outcome(seam_pack.screen(p, project))
                assert ("S-NEAR" in got[1].split(";")) == inside, (p, got)
                checked += 1
    assert checked == 4 * len(crossings)


def test_cached_per_pack_and_project(grid_pack, monkeypatch):
    project = {"industry": "1713", "construction": "reconstruction", "emissions": {"COD": 1.0}, "fuel": []}
    first = eligibility(grid_pack, project)
    assert eligibility(grid_pack, dict(project)).frame is first.frame  # in memory
    named = eligibility(grid_pack, dict(project, name="另一个名字"))
    assert named.frame is first.frame and named.project["name"] == "另一个名字"  # the name decides nothing
    # A new process would find it in the pack cache: nothing is computed again.
    eligibility_module._MEMO.clear()
    monkeypatch.setattr(eligibility_module, "_compute", lambda *a: pytest.fail("computed again"))
    again = eligibility(grid_pack, project)
    assert _by_outcome(again) == pytest.approx(_by_outcome(first))
    assert again.frame.crs.to_epsg() == 4490
    with pytest.raises(BaseException, match="computed again"):
        eligibility(grid_pack, dict(project, water_m3=1))


def test_bad_project_is_one_clear_error(grid_pack):
    with pytest.raises(ZoningError, match="9999"):
        eligibility(grid_pack, {"industry": "9999"})


def test_outputs_and_map(grid_pack, tmp_path):
    elig = eligibility(grid_pack, {"industry": "2614", "construction": "new"})
    for suffix in (".gpkg", ".parquet", ".geojson"):
        out = tmp_path / f"where{suffix}"
        elig.to_file(out)
        back = gpd.read_parquet(out) if suffix == ".parquet" else gpd.read_file(out)
        assert list(back.columns) == ["verdict", "verdict_zh", "blocking", "missing", "area_m2", "geometry"]
        assert back.crs.to_epsg() == 4490 and len(back) == len(elig.frame)
        assert sorted(back["verdict"]) == sorted(elig.frame["verdict"])
    html = elig.explore(offline=True).get_root().render()
    assert "可选区域" in html and "禁止准入" in html and "#c62828" in html and "#9e9e9e" in html
    assert "T-PRI-01" in html  # blocking clauses in tooltips
    assert "可选区域" in elig._repr_html_()
    gj = elig.to_geojson(simplify_m=5)
    assert gj["type"] == "FeatureCollection" and gj["simplified_m"] == 5 and len(gj["features"]) == len(elig.frame)


def test_cli_eligible(tmp_path):
    runner = CliRunner()
    out, page = tmp_path / "chem.gpkg", tmp_path / "chem.html"
    res = runner.invoke(main, ["eligible", "--industry", "2614", "--construction", "new", "--emission", "VOCs=5", "--fuel", "natural_gas",
                               "-o", str(out), "--map", str(page), "--offline", "--format", "json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert set(summary["areas_m2"]) == {"prohibited", "needs_information", "conditional", "permitted"}
    back = gpd.read_file(out)
    assert float(back["area_m2"].sum()) == pytest.approx(sum(summary["areas_m2"].values()), rel=1e-9)
    assert "可选区域" in page.read_text(encoding="utf-8")
    assert "禁止准入 prohibited" in res.stderr
    bad = runner.invoke(main, ["eligible", "--industry", "2614", "-o", str(tmp_path / "x.kml")])
    assert bad.exit_code == 2 and "expected OUT.gpkg, OUT.parquet, OUT.geojson or OUT.shp" in bad.stderr
    bad = runner.invoke(main, ["eligible", "--industry", "9999", "-o", str(out)])
    assert bad.exit_code == 2 and "9999" in bad.stderr and "Traceback" not in bad.output
