"""Screening on the hand-checkable grid pack (tests/data/packs/grid, EPSG:4549 rectangles).

Units: U1 priority [0,1000]×[0,1000], U2 key [1000,2000]×[0,1000], U3 general [0,2000]×[1000,2000]
(metres from 500000, 3400000 on EPSG:4549). Red line RL-001 [200,800]². Zones: Z-FUEL fuel ban
[1000,2000]×[0,2000]; Z-AIR air.high_emission [1500,2000]×[0,500]; Z-DWS drinking source
[0,500]×[1500,2000]. PM2.5 40 east of x=1000, 30 west. Water quota of U2: 10,000 m³ remaining.
Expected areas are computed by hand on these rectangles.
"""

import json

import pytest
import shapely

from zoning.errors import OutsideRegionError, ProjectError
from conftest import box, gk

U1, U2, U3 = "ZH33052110001", "ZH33052120001", "ZH33052130001"
# A project that triggers nothing by itself: every attribute known, nothing emitted.
QUIET = {"industry": "6550", "construction": "new", "emissions": {}, "fuel": [], "water_m3": 0, "coal_t": 0}


def screen(pack, site, **project):
    return pack.screen(site, {**QUIET, **project}).to_dict()


def ids(verdict, effect=None):
    return sorted({f["clause_id"] for f in verdict["findings"] if effect is None or f["effect"] == effect})


# --- overlap measurement -----------------------------------------------------------------------

def test_polygon_straddling_two_units_is_split_exactly(grid_pack):
    v = screen(grid_pack, box(900, 100, 1100, 300))
    assert v["site"]["area_m2"] == pytest.approx(40000, abs=0.01)
    assert v["site"]["area_crs"] == "EPSG:4549"
    units = {u["unit_code"]: u for u in v["units"]}
    assert set(units) == {U1, U2}
    for code in (U1, U2):
        assert units[code]["overlap_m2"] == pytest.approx(20000, abs=0.01)
        assert units[code]["overlap_share"] == pytest.approx(0.5, abs=1e-6)
    assert [z["zone_id"] for z in v["zones"]] == ["Z-FUEL"]
    assert v["zones"][0]["overlap_m2"] == pytest.approx(20000, abs=0.01)


def test_red_line_overlap_area_and_share(grid_pack):
    v = screen(grid_pack, box(700, 700, 900, 900))
    assert [r["redline_id"] for r in v["red_line"]] == ["RL-001"]
    assert v["red_line"][0]["overlap_m2"] == pytest.approx(10000, abs=0.01)
    assert v["red_line"][0]["overlap_share"] == pytest.approx(0.25, abs=1e-6)
    assert v["verdict"] == "prohibited" and "T-RL-01" in ids(v, "prohibit")


def test_touching_is_not_overlapping(grid_pack):
    v = screen(grid_pack, box(800, 300, 900, 400))  # shares the red line's edge x = 800
    assert v["red_line"] == []
    assert any("touches red_line RL-001" in w for w in v["warnings"])
    assert "T-RL-01" not in ids(v)


def test_sliver_below_tolerance_counts_as_touching(grid_pack):
    v = screen(grid_pack, box(799.9, 300, 900, 305))  # 0.1 × 5 = 0.5 m² inside the red line
    assert v["red_line"] == []
    assert any("below the tolerance" in w for w in v["warnings"])


def test_point_on_a_shared_boundary_belongs_to_both_units(grid_pack):
    v = screen(grid_pack, gk(shapely.Point(1000, 500)))
    assert sorted(u["unit_code"] for u in v["units"]) == [U1, U2]
    assert all(u["overlap_share"] == 1.0 and "overlap_m2" not in u for u in v["units"])


def test_line_reports_lengths(grid_pack):
    v = screen(grid_pack, gk(shapely.LineString([(100, 500), (900, 500)])))
    assert v["site"]["length_m"] == pytest.approx(800, abs=0.01) and v["site"]["area_m2"] == 0
    assert v["red_line"][0]["overlap_m"] == pytest.approx(600, abs=0.01)
    assert v["red_line"][0]["overlap_share"] == pytest.approx(0.75, abs=1e-6)
    assert "overlap_m2" not in v["red_line"][0]


def test_site_partly_outside_is_screened_on_its_inside_part(grid_pack):
    v = screen(grid_pack, box(-100, 1100, 100, 1300))
    assert v["site"]["outside_share"] == pytest.approx(0.5, abs=1e-6)
    assert v["units"][0]["overlap_m2"] == pytest.approx(20000, abs=0.01)
    assert any("50.0% of the site lies outside" in w for w in v["warnings"])


def test_site_wholly_outside_is_refused(grid_pack):
    with pytest.raises(OutsideRegionError, match="wholly outside the pack's region"):
        grid_pack.screen(box(3000, 3000, 3100, 3100), QUIET)


def test_near_distances_are_on_the_gk_plane(grid_pack):
    v = screen(grid_pack, box(1100, 100, 1200, 200))
    near = {(n["layer"], n["id"]): n["distance_m"] for n in v["near"]}
    assert near[("red_line", "RL-001")] == pytest.approx(300, abs=0.01)
    assert near[("zones", "Z-AIR")] == pytest.approx(300, abs=0.01)


# --- applies_in kinds --------------------------------------------------------------------------

def test_unit_category(grid_pack):
    v = screen(grid_pack, box(100, 100, 150, 150), industry="2614")
    assert "T-PRI-01" in ids(v, "prohibit")
    assert v["verdict"] == "prohibited"


def test_unit_codes_with_industry_not(grid_pack):
    assert "T-UNIT-01" in ids(screen(grid_pack, box(1100, 600, 1200, 700), industry="1712"), "prohibit")
    assert "T-UNIT-01" not in ids(screen(grid_pack, box(1100, 600, 1200, 700), industry="1713"))


def test_zone_types_and_fuel(grid_pack):
    site = box(1100, 1100, 1200, 1200)  # U3 inside the fuel-ban zone
    assert "T-FUEL-01" in ids(screen(grid_pack, site, fuel=["coal"]), "prohibit")
    assert "T-FUEL-01" not in ids(screen(grid_pack, site, fuel=["natural_gas"]))
    v = grid_pack.screen(site, {"industry": "6550", "construction": "new", "emissions": {}, "water_m3": 0}).to_dict()
    (finding,) = [f for f in v["findings"] if f["clause_id"] == "T-FUEL-01"]
    assert finding["effect"] == "needs_information" and finding["missing"] == ["fuel"]
    assert v["verdict"] == "needs_information" and v["missing"] == ["fuel"]


def test_zone_type_given_as_a_medium_covers_its_kinds(grid_pack):
    v = screen(grid_pack, box(1600, 100, 1700, 200), emissions={"VOCs": 4})
    assert "T-AIR-01" in ids(v, "condition")


def test_red_line_rule_and_permitted_activity(grid_pack):
    line = gk(shapely.LineString([(100, 500), (900, 500)]))
    assert screen(grid_pack, line)["verdict"] == "prohibited"
    v = screen(grid_pack, line, activity="linear_infrastructure")
    assert v["verdict"] == "conditional"
    assert ids(v, "condition") == ["T-RL-02"]
    assert v["obligations"][0]["text"] == "须论证无法避让生态保护红线的必要性"


def test_raster_exceeds_and_offsets(grid_pack):
    v = screen(grid_pack, box(1100, 1100, 1300, 1300), emissions={"NOx": 3.0})
    (pm,) = v["rasters"]
    assert pm["value"] == pytest.approx(40.0) and pm["exceeds"] is True
    assert "T-PM-01" in ids(v, "condition")
    assert v["obligations"] == [{"text": "新增VOCs、NOx排放实行2倍削减替代", "pollutant": "NOx", "amount_t": 6.0, "ratio": 2.0, "clause_id": "T-PM-01"}]
    west = screen(grid_pack, box(100, 1100, 300, 1300), emissions={"NOx": 3.0})
    assert west["rasters"][0]["value"] == pytest.approx(30.0) and "T-PM-01" not in ids(west)


def test_raster_mean_is_coverage_weighted(grid_pack):
    v = screen(grid_pack, box(900, 1100, 1100, 1300))  # half at 30, half at 40
    assert v["rasters"][0]["value"] == pytest.approx(35.0, abs=1e-6)
    assert v["rasters"][0]["exceeds"] is False  # 35 does not exceed 35
    line = screen(grid_pack, gk(shapely.LineString([(700, 1100), (1100, 1100.5)])))
    assert line["rasters"][0]["value"] == pytest.approx(32.5, abs=0.01)  # 300 m at 30, 100 m at 40
    point = screen(grid_pack, gk(shapely.Point(1550, 1550)))
    assert point["rasters"][0]["value"] == 40.0


def test_obligations_take_the_largest_offset_per_pollutant(grid_pack):
    v = screen(grid_pack, box(1600, 100, 1700, 200), emissions={"VOCs": 10})
    assert {"T-PM-01", "T-AIR-01"} <= set(ids(v, "condition"))
    voc = [o for o in v["obligations"] if o["pollutant"] == "VOCs"]
    assert len(voc) == 1 and voc[0]["amount_t"] == 20.0  # 2 × 10, not 2 × 10 + 1.5 × 10


def test_near_layer_is_inclusive(grid_pack):
    at = screen(grid_pack, gk(shapely.Point(500, 1300)), industry="2614")  # 500 m above the red line
    assert "T-NEAR-01" in ids(at, "prohibit")
    beyond = screen(grid_pack, gk(shapely.Point(500, 1301)), industry="2614")
    assert "T-NEAR-01" not in ids(beyond)


def test_near_zone_types(grid_pack):
    v = screen(grid_pack, box(600, 1600, 650, 1650), emissions={"COD": 1})
    assert "T-NEAR-02" in ids(v, "condition")
    assert "T-NEAR-02" not in ids(screen(grid_pack, box(900, 1600, 950, 1650), emissions={"COD": 1}))


def test_everywhere_and_attrs(grid_pack):
    site = box(100, 1100, 200, 1200)
    assert "T-ALL-01" in ids(screen(grid_pack, site, water_m3=600000), "condition")
    assert "T-ALL-01" not in ids(screen(grid_pack, site, water_m3=400000))
    v = grid_pack.screen(site, {k: w for k, w in QUIET.items() if k != "water_m3"}).to_dict()
    assert [f["missing"] for f in v["findings"] if f["clause_id"] == "T-ALL-01"] == [["water_m3"]]
    assert v["findings"][-1]["where"] == "330521" or any(f["where"] == "330521" for f in v["findings"])


# --- when kinds and unknowns ---------------------------------------------------------------------

def test_construction_known_false_does_not_fire(grid_pack):
    assert "T-PRI-01" not in ids(screen(grid_pack, box(100, 100, 150, 150), industry="2614", construction="reconstruction"))


def test_coarser_industry_needs_the_class(grid_pack):
    v = screen(grid_pack, box(1100, 600, 1200, 700), industry="17")
    (f,) = [f for f in v["findings"] if f["clause_id"] == "T-UNIT-01"]
    assert f["effect"] == "needs_information" and f["missing"] == ["industry"]


def test_unlisted_pollutants_are_zero_when_emissions_are_given(grid_pack):
    v = screen(grid_pack, box(1600, 100, 1700, 200), emissions={"SO2": 1})
    assert "T-AIR-01" not in ids(v) and "T-PM-01" not in ids(v)


def test_absent_emissions_are_unknown(grid_pack):
    v = grid_pack.screen(box(1600, 100, 1700, 200), {"industry": "6550", "construction": "new", "fuel": [], "water_m3": 0}).to_dict()
    assert v["verdict"] == "needs_information"
    assert {"emissions.VOCs", "emissions.NOx"} <= set(v["missing"])


def test_unknown_industry_code_is_refused(grid_pack):
    with pytest.raises(ProjectError, match=r"industry code '2615' is not in GB/T 4754-2017; did you mean 261"):
        grid_pack.screen(box(100, 100, 150, 150), {"industry": "2615"})


# --- quotas --------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "water, status, effect",
    [(1000, "ok", None), (9000, "near", "condition"), (20000, "over", "prohibit")],
)
def test_quota_status(grid_pack, water, status, effect):
    v = screen(grid_pack, box(1100, 600, 1200, 700), water_m3=water)
    (q,) = [q for q in v["quotas"] if q["scope"] == U2]
    assert (q["demand"], q["remaining"], q["status"]) == (water, 10000.0, status)
    found = [f for f in v["findings"] if f["clause_id"] == f"quota:{U2}:water_m3"]
    assert [f["effect"] for f in found] == ([effect] if effect else [])
    if found:
        assert (found[0]["tier"], found[0]["dimension"]) == ("unit", "resource_efficiency")


def test_quota_without_demand_needs_information(grid_pack):
    v = grid_pack.screen(box(1100, 600, 1200, 700), {k: w for k, w in QUIET.items() if k != "water_m3"}).to_dict()
    (f,) = [f for f in v["findings"] if f["clause_id"] == f"quota:{U2}:water_m3"]
    assert f["effect"] == "needs_information" and f["missing"] == ["water_m3"]


# --- the verdict ---------------------------------------------------------------------------------

def test_permitted_when_nothing_fires(grid_pack):
    v = screen(grid_pack, box(100, 1100, 200, 1200))
    assert (v["verdict"], v["verdict_zh"]) == ("permitted", "允许准入")
    assert v["findings"] == [] and v["missing"] == [] and v["obligations"] == []


def test_verdict_json_has_the_contract_keys(grid_pack):
    v = screen(grid_pack, box(900, 100, 1100, 300), industry="2614")
    for key in ("verdict", "verdict_zh", "pack", "engine", "site", "units", "red_line", "zones", "near", "rasters", "quotas", "findings", "obligations", "missing", "warnings"):
        assert key in v
    assert set(v["pack"]) >= {"id", "version", "digest"} and v["pack"]["digest"].startswith("sha256:")
    assert set(v["site"]) >= {"geometry_type", "area_m2", "length_m", "area_crs", "centroid"}
    for f in v["findings"]:
        assert set(f) >= {"clause_id", "tier", "dimension", "effect", "text", "where", "because", "missing", "obligations"}


def test_same_inputs_give_byte_identical_json(grid_pack):
    site = box(900, 100, 1100, 300)
    a = grid_pack.screen(site, {**QUIET, "industry": "2614"}).to_json()
    b = grid_pack.screen(site, {**QUIET, "industry": "2614"}).to_json()
    assert a == b
    json.loads(a)


def test_verdict_is_immutable(grid_pack):
    v = grid_pack.screen(box(100, 1100, 200, 1200), QUIET)
    v["units"].clear()
    assert v["units"]
    with pytest.raises(AttributeError):
        v.verdict = "permitted"


def test_text_rendering_is_bilingual_and_verdict_first(grid_pack):
    text = grid_pack.screen(box(100, 100, 150, 150), {**QUIET, "industry": "2614"}).to_text()
    assert text.splitlines()[1].startswith("结论 Verdict: 禁止准入 PROHIBITED")
    assert "空间布局约束 spatial_layout" in text and "T-PRI-01" in text


def test_assert_verdict_equal_names_the_difference(grid_pack):
    from zoning.testing import assert_verdict_equal

    a = grid_pack.screen(box(900, 100, 1100, 300), QUIET)
    b = grid_pack.screen(box(900, 100, 1100, 300), QUIET)
    assert_verdict_equal(a, b)
    c = grid_pack.screen(box(900, 100, 1150, 300), QUIET)
    with pytest.raises(AssertionError, match=r"units\[0\]\.overlap_m2: 20000\.0 != 30000\.0"):
        assert_verdict_equal(a, c)
