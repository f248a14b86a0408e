"""Tests for zoning.topology: standard edge-case geometries with hand-computed answers.

Every fixture is drawn in metres on the CGCS2000 3° GK zone of 120°E (EPSG:4549)
around Huzhou (lon 120, lat 30.8), as rectangles whose areas can be read off the
coordinates, and is checked both as drawn and reprojected to lon/lat (EPSG:4490,
vertices transformed one by one): the answers must not change.
"""

import json
import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely import LineString, Point, Polygon, box

from zoning.errors import CRSError, PackError
from zoning.topology import (
    KINDS,
    PROBLEM_COLUMNS,
    check_contained,
    check_layer,
    problems_to_geojson,
    summarize,
)

GK = "EPSG:4549"
LONLAT = "EPSG:4490"
TO_GK = Transformer.from_crs(LONLAT, GK, always_xy=True)
TO_LONLAT = Transformer.from_crs(GK, LONLAT, always_xy=True)
X0, Y0 = TO_GK.transform(120.0, 30.8)  # 500000.0, 3408800.77…: the grid's origin
CRSS = [GK, LONLAT]


# ----------------------------------------------------------------------------- fixtures

def at(geom):
    """``geom`` drawn in metres from the origin, moved onto the GK plane."""
    return shapely.affinity.translate(geom, X0, Y0)


def rect(x0, y0, x1, y1):
    return at(box(x0, y0, x1, y1))


def layer(ids, geoms, crs=GK, column="unit_code"):
    """A layer drawn on GK, in ``crs`` (vertices transformed)."""
    frame = gpd.GeoDataFrame({column: ids}, geometry=list(geoms), crs=GK)
    return frame if crs == GK else frame.to_crs(crs)


def tiling():
    """A clean 2×2 tiling of 100 m cells: A B bottom, C D top."""
    return {
        "A": rect(0, 0, 100, 100),
        "B": rect(100, 0, 200, 100),
        "C": rect(0, 100, 100, 200),
        "D": rect(100, 100, 200, 200),
    }


def units(cells, crs=GK):
    return layer(list(cells), list(cells.values()), crs)


def check_units(frame, **kw):
    return check_layer(frame, layer="units", id_column="unit_code", coverage=True, **kw)


def gk_point(geom):
    """A problem point (lon/lat) back on the GK plane."""
    return Point(TO_GK.transform(geom.x, geom.y))


def lonlat_of(x, y):
    return TO_LONLAT.transform(X0 + x, Y0 + y)


# ------------------------------------------------------------------------- clean input

@pytest.mark.parametrize("crs", CRSS)
def test_clean_tiling_has_no_problems(crs):
    problems = check_units(units(tiling(), crs))
    assert len(problems) == 0
    assert list(problems.columns) == PROBLEM_COLUMNS
    assert problems.crs.to_epsg() == 4490
    assert problems.attrs["area_crs"] == "EPSG:4549"


def test_clean_layer_of_separate_features_is_not_a_coverage():
    red = layer(["R1", "R2"], [rect(0, 0, 10, 10), rect(50, 50, 60, 60)], column="redline_id")
    assert len(check_layer(red, layer="red_line", id_column="redline_id")) == 0


# ------------------------------------------------------------------------------ overlap

def with_tab(cells):
    """B grows a 10 m × 20 m tab into A: x 90–100, y 40–60."""
    cells["B"] = at(Polygon([(100, 0), (200, 0), (200, 100), (100, 100), (100, 60), (90, 60),
                             (90, 40), (100, 40)]))
    return cells


@pytest.mark.parametrize("crs", CRSS)
def test_overlap_of_a_10_by_20_m_rectangle(crs):
    problems = check_units(units(with_tab(tiling()), crs))
    assert len(problems) == 1
    row = problems.iloc[0]
    assert (row.layer, row.kind, row.ids) == ("units", "overlap", "A|B")
    assert row.area_m2 == pytest.approx(200.0, abs=0.01)
    assert row.message == "A and B overlap by 200.00 m²"
    assert rect(90, 40, 100, 60).contains(gk_point(row.geometry))


def test_overlap_ids_are_sorted_and_independent_of_row_order():
    cells = with_tab(tiling())
    forward = check_units(units(cells))
    backward = check_units(units(dict(reversed(list(cells.items())))))
    pd.testing.assert_frame_equal(pd.DataFrame(forward), pd.DataFrame(backward))
    assert forward.ids.tolist() == ["A|B"]


@pytest.mark.parametrize("crs", CRSS)
def test_overlap_below_tolerance_counts_as_touching(crs):
    cells = tiling()  # B's tab into A: 0.04 m × 20 m = 0.8 m²
    cells["B"] = at(Polygon([(100, 0), (200, 0), (200, 100), (100, 100), (100, 60), (99.96, 60),
                             (99.96, 40), (100, 40)]))
    frame = units(cells, crs)
    assert len(check_units(frame)) == 0
    problems = check_units(frame, tolerance_m2=0.5)
    assert problems[["kind", "ids"]].values.tolist() == [["overlap", "A|B"]]
    assert problems.area_m2[0] == pytest.approx(0.8, abs=0.01)


def test_duplicated_feature_overlaps_by_its_whole_area():
    cells = tiling()
    frame = layer(["A", "B", "C", "D", "E"], [*cells.values(), rect(100, 100, 200, 200)])
    problems = check_units(frame)
    assert problems[["kind", "ids", "area_m2"]].values.tolist() == [["overlap", "D|E", 10000.0]]


def test_feature_inside_another_overlaps_by_its_area():
    frame = layer(["BIG", "SMALL"], [rect(0, 0, 100, 100), rect(20, 20, 50, 30)])
    problems = check_units(frame)
    assert problems[["kind", "ids", "area_m2"]].values.tolist() == [["overlap", "BIG|SMALL", 300.0]]


def test_every_overlapping_pair_is_one_row():
    # E (40 × 40 at the centre) overlaps each of A–D by 20 m × 20 m
    frame = layer([*"ABCDE"], [*tiling().values(), rect(80, 80, 120, 120)])
    problems = check_units(frame)
    assert problems.ids.tolist() == ["A|E", "B|E", "C|E", "D|E"]
    assert problems.area_m2.tolist() == [400.0] * 4


def test_three_dimensional_polygons_overlap_by_their_plan_area():
    cells = {k: shapely.force_3d(g, 12.5) for k, g in with_tab(tiling()).items()}
    problems = check_units(units(cells))
    assert problems[["kind", "ids", "area_m2"]].values.tolist() == [["overlap", "A|B", 200.0]]


# ----------------------------------------------------------------------------------- gap

@pytest.mark.parametrize("crs", CRSS)
def test_gap_of_30_by_30_m_where_four_units_meet(crs):
    cut = rect(85, 85, 115, 115)
    cells = {k: g.difference(cut) for k, g in tiling().items()}
    problems = check_units(units(cells, crs))
    assert len(problems) == 1
    row = problems.iloc[0]
    assert (row.kind, row.ids) == ("gap", "A|B|C|D")
    assert row.area_m2 == pytest.approx(900.0, abs=0.01)
    assert row.message == "gap of 900.00 m² not covered by any feature, bordered by A, B, C, D"
    assert cut.contains(gk_point(row.geometry))


@pytest.mark.parametrize("crs", CRSS)
def test_hole_inside_one_unit_is_a_gap(crs):
    cells = tiling()
    cells["D"] = cells["D"].difference(rect(140, 140, 170, 170))
    problems = check_units(units(cells, crs))
    assert problems[["kind", "ids"]].values.tolist() == [["gap", "D"]]
    assert problems.area_m2[0] == pytest.approx(900.0, abs=0.01)


@pytest.mark.parametrize("crs", CRSS)
def test_gap_below_tolerance_is_ignored(crs):
    cells = tiling()
    cells["D"] = cells["D"].difference(rect(140, 140, 140.5, 140.5))  # 0.25 m²
    frame = units(cells, crs)
    assert len(check_units(frame)) == 0
    problems = check_units(frame, tolerance_m2=0.1)
    assert problems.kind.tolist() == ["gap"]
    assert problems.area_m2[0] == pytest.approx(0.25, abs=0.01)


def test_missing_unit_at_the_edge_is_not_a_gap():
    cells = tiling()
    del cells["D"]  # an L-shaped region: its outline is no gap
    assert len(check_units(units(cells))) == 0


def test_island_inside_a_hole_is_taken_out_of_the_gap():
    ring = rect(0, 0, 300, 300).difference(rect(100, 100, 200, 200))
    frame = layer(["RING", "ISLAND"], [ring, rect(120, 120, 180, 180)])
    problems = check_units(frame)
    assert problems[["kind", "ids", "area_m2"]].values.tolist() == [["gap", "ISLAND|RING", 6400.0]]


def test_lens_between_units_touching_at_two_points_is_a_gap():
    # B's left side bends away from A's right side: they touch only at the ends, so the
    # union has no hole (it is two polygons); the 100 m × 10 m triangle between is a gap
    a = rect(0, 0, 100, 100)
    b = at(Polygon([(100, 0), (200, 0), (200, 100), (100, 100), (110, 50)]))
    problems = check_units(layer(["A", "B"], [a, b]))
    assert problems[["kind", "ids", "area_m2"]].values.tolist() == [["gap", "A|B", 500.0]]


def test_boundary_shared_in_lonlat_opens_no_sliver_when_measured():
    # two units share a 6 km diagonal edge in lon/lat; B has a vertex at its middle.
    # Projecting the vertices to GK would bend B's side away from A's by ~0.6 m (a
    # 1,700 m² "gap"); the topology is judged in lon/lat, where there is none.
    p, q = (120.00, 30.80), (120.05, 30.84)
    m = ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2)
    frame = gpd.GeoDataFrame({"unit_code": ["A", "B"]},
                             geometry=[Polygon([p, q, (120.00, 30.84)]),
                                       Polygon([p, (120.05, 30.80), q, m])], crs=LONLAT)
    assert len(check_units(frame)) == 0
    projected = check_units(frame.to_crs(GK))  # the same vertices, now straight on GK
    assert projected.kind.tolist() == ["gap"] and projected.area_m2[0] > 1000


# ------------------------------------------------------------------- broken features

@pytest.mark.parametrize("crs", CRSS)
def test_bow_tie_is_invalid_with_its_location(crs):
    bow = at(Polygon([(300, 300), (320, 320), (320, 300), (300, 320)]))
    frame = layer(["R1", "BOW"], [rect(0, 0, 10, 10), bow], crs, column="redline_id")
    problems = check_layer(frame, layer="red_line", id_column="redline_id")
    assert len(problems) == 1
    row = problems.iloc[0]
    assert (row.layer, row.kind, row.ids) == ("red_line", "invalid", "BOW")
    assert math.isnan(row.area_m2)
    lon, lat = lonlat_of(310, 310)  # where the two diagonals cross
    match = re.fullmatch(r"Self-intersection at (\d+\.\d{6}), (\d+\.\d{6})", row.message)
    assert match, row.message
    assert float(match[1]) == pytest.approx(lon, abs=1.5e-6)
    assert float(match[2]) == pytest.approx(lat, abs=1.5e-6)
    assert row.geometry.x == pytest.approx(lon, abs=1e-9)
    assert row.geometry.y == pytest.approx(lat, abs=1e-9)


def test_bow_tie_unit_is_reported_once_not_as_gaps_too():
    # the top row was meant as one 200 m × 100 m unit; its repair covers two triangles and
    # leaves a 10,000 m² triangle enclosed above A and B: not reported until E is fixed
    cells = {"A": rect(0, 0, 100, 100), "B": rect(100, 0, 200, 100),
             "E": at(Polygon([(0, 100), (200, 200), (200, 100), (0, 200)]))}
    problems = check_units(units(cells))
    assert problems[["kind", "ids"]].values.tolist() == [["invalid", "E"]]
    fixed = dict(cells, E=rect(0, 100, 200, 200))
    assert len(check_units(units(fixed))) == 0


def test_area_of_a_missing_geometry_is_a_gap_only_when_enclosed():
    cells = tiling()
    cells["D"] = None  # D lost its geometry: a notch in the outline, no gap
    assert check_units(units(cells))[["kind", "ids"]].values.tolist() == [["empty", "D"]]
    ring = layer(["RING", "HOLE"], [rect(0, 0, 300, 300).difference(rect(100, 100, 200, 200)), None])
    problems = check_units(ring)
    assert problems[["kind", "ids"]].values.tolist() == [["empty", "HOLE"], ["gap", "RING"]]
    assert problems.area_m2[1] == 10000.0


def test_nan_coordinates_are_invalid_without_a_location():
    bad = Polygon([(X0, Y0), (X0 + 1, Y0), (X0 + 1, Y0 + 1), (X0, Y0 + 1)])
    bad = shapely.set_coordinates(bad, np.array([[X0, Y0], [np.nan, Y0], [X0 + 1, Y0 + 1],
                                                 [X0, Y0 + 1], [X0, Y0]]))
    problems = check_layer(layer(["N", "OK"], [bad, rect(10, 10, 20, 20)]), layer="units",
                           id_column="unit_code", coverage=True)
    assert problems.kind.tolist() == ["invalid"]
    assert problems.message[0] == "Invalid Coordinate (coordinates are not finite)"
    assert problems.geometry[0] is None


@pytest.mark.parametrize("crs", CRSS)
def test_empty_and_missing_geometries(crs):
    frame = layer(["A", "NONE", "EMPTY"], [rect(0, 0, 10, 10), None, Polygon()], crs)
    problems = check_units(frame)
    assert problems[["kind", "ids", "message"]].values.tolist() == [
        ["empty", "EMPTY", "feature has an empty geometry"],
        ["empty", "NONE", "feature has no geometry"],
    ]
    assert problems.geometry.tolist() == [None, None]
    assert problems.area_m2.isna().all()


def test_duplicate_ids_are_one_problem_per_id():
    frame = layer(["A", "A", "B", "A"], [rect(0, 0, 10, 10), rect(10, 0, 20, 10),
                                         rect(20, 0, 30, 10), rect(30, 0, 40, 10)])
    problems = check_units(frame)
    assert problems[["kind", "ids"]].values.tolist() == [["duplicate_id", "A"]]
    assert problems.message[0] == "unit_code 'A' is used by 3 features (rows 0, 1, 3)"
    assert rect(0, 0, 10, 10).contains(gk_point(problems.geometry[0]))


def test_missing_ids_are_named_by_row():
    frame = layer(["A", None, "  ", np.nan], [rect(0, 0, 10, 10), rect(10, 0, 20, 10),
                                              rect(20, 0, 30, 10), rect(30, 0, 40, 10)])
    problems = check_units(frame)
    assert problems[["kind", "ids"]].values.tolist() == [
        ["missing_id", "#1"], ["missing_id", "#2"], ["missing_id", "#3"]]
    assert problems.message[0] == "feature at row 1 has no unit_code"


def test_integer_ids_are_written_without_decimals():
    frame = gpd.GeoDataFrame({"fid": [7.0, 7.0]}, geometry=[rect(0, 0, 10, 10),
                                                          rect(10, 0, 20, 10)], crs=GK)
    problems = check_layer(frame, layer="zones", id_column="fid")
    assert problems.ids.tolist() == ["7"]


@pytest.mark.parametrize("crs", CRSS)
def test_non_polygons_are_wrong_type_and_left_out_of_the_coverage(crs):
    cells = tiling()
    cells["L"] = at(LineString([(0, 0), (200, 200)]))
    cells["P"] = at(Point(50, 50))
    problems = check_units(units(cells, crs))
    assert problems[["kind", "ids", "message"]].values.tolist() == [
        ["wrong_type", "L", "LineString where Polygon or MultiPolygon was expected"],
        ["wrong_type", "P", "Point where Polygon or MultiPolygon was expected"],
    ]
    assert gk_point(problems.geometry[1]).distance(at(Point(50, 50))) < 1e-6


@pytest.mark.parametrize("crs", CRSS)
def test_sliver_below_tolerance(crs):
    frame = layer(["R1", "TINY"], [rect(0, 0, 10, 10), rect(50, 50, 50.5, 50.5)], crs,
                  column="redline_id")
    problems = check_layer(frame, layer="red_line", id_column="redline_id")
    assert problems[["kind", "ids"]].values.tolist() == [["sliver", "TINY"]]
    assert problems.area_m2[0] == pytest.approx(0.25, abs=0.01)
    assert problems.message[0] == "polygon of 0.25 m² is below the tolerance of 1 m²"


def test_problems_are_sorted_by_kind_then_ids():
    cells = with_tab(tiling())
    cells["D"] = cells["D"].difference(rect(140, 140, 170, 170))
    frame = layer(
        [*cells, "Z", "E", "E", "Y"],
        [*cells.values(), None, rect(300, 0, 310, 10), rect(310, 0, 320, 10),
         at(Polygon([(400, 0), (420, 20), (420, 0), (400, 20)]))],
    )
    problems = check_units(frame)
    assert problems[["kind", "ids"]].values.tolist() == [
        ["empty", "Z"], ["invalid", "Y"], ["duplicate_id", "E"], ["overlap", "A|B"], ["gap", "D"]]
    ranks = [KINDS.index(k) for k in problems.kind]
    assert ranks == sorted(ranks)
    again = check_units(frame)
    pd.testing.assert_frame_equal(pd.DataFrame(problems), pd.DataFrame(again))


# --------------------------------------------------------------------------- contained

@pytest.mark.parametrize("crs", CRSS)
def test_red_line_half_outside_the_priority_units(crs):
    priority = layer(["P1", "P2"], [rect(0, 0, 100, 100), rect(100, 0, 200, 100)], crs)
    red = layer(["INSIDE", "ACROSS", "HALF", "AWAY"],
                [rect(10, 10, 20, 20), rect(90, 10, 110, 20), rect(180, 0, 220, 10),
                 rect(300, 0, 310, 10)], crs, column="redline_id")
    problems = check_contained(red, priority, inner_layer="red_line", inner_id="redline_id",
                               outer_filter_desc="priority units")
    assert list(problems.columns) == PROBLEM_COLUMNS
    assert problems[["layer", "kind", "ids"]].values.tolist() == [
        ["red_line", "outside", "AWAY"], ["red_line", "outside", "HALF"]]
    assert problems.area_m2.tolist() == pytest.approx([100.0, 200.0], abs=0.01)
    assert problems.message.tolist() == [
        "100.00 m² (100.0 %) lies outside priority units",
        "200.00 m² (50.0 %) lies outside priority units",
    ]
    assert rect(200, 0, 220, 10).contains(gk_point(problems.geometry[1]))


def test_contained_works_across_crs_and_ignores_small_parts():
    priority = layer(["P1"], [rect(0, 0, 100, 100)], LONLAT)
    red = layer(["SLIGHT", "HALF"], [rect(50, 0, 100.05, 10), rect(80, 0, 120, 10)],
                column="redline_id")  # SLIGHT: 0.05 m × 10 m = 0.5 m² outside
    problems = check_contained(red, priority, inner_layer="red_line", inner_id="redline_id",
                               outer_filter_desc="priority units")
    assert problems[["ids", "area_m2"]].values.tolist() == [["HALF", 200.0]]
    assert problems.attrs["area_crs"] == "EPSG:4549"


def test_contained_with_no_outer_features_reports_every_inner_one():
    red = layer(["R1"], [rect(0, 0, 10, 10)], column="redline_id")
    nothing = gpd.GeoDataFrame({"unit_code": []}, geometry=[], crs=LONLAT)
    problems = check_contained(red, nothing, inner_layer="red_line", inner_id="redline_id",
                               outer_filter_desc="priority units")
    assert problems[["ids", "area_m2"]].values.tolist() == [["R1", 100.0]]


# -------------------------------------------------------------------- summaries, GeoJSON

def mixed_problems():
    cells = with_tab(tiling())
    cells["D"] = cells["D"].difference(rect(140, 140, 170, 170))
    frame = layer([*cells, "E", "E", "N"], [*cells.values(), rect(300, 0, 310, 10),
                                           rect(310, 0, 320, 10), None])
    return check_units(frame)


def test_summarize_counts_by_layer_and_kind():
    red = layer(["R1"], [rect(1000, 0, 1010, 10)], column="redline_id")
    priority = layer(["P"], [rect(0, 0, 100, 100)])
    both = pd.concat([
        mixed_problems(),
        check_contained(red, priority, inner_layer="red_line", inner_id="redline_id",
                        outer_filter_desc="priority units"),
    ], ignore_index=True)
    summary = summarize(both)
    assert summary.columns.tolist() == ["layer", "kind", "count", "area_m2"]
    assert summary[["layer", "kind", "count"]].values.tolist() == [
        ["red_line", "outside", 1],
        ["units", "empty", 1], ["units", "duplicate_id", 1], ["units", "overlap", 1],
        ["units", "gap", 1],
    ]
    assert summary.area_m2.tolist()[3:] == pytest.approx([200.0, 900.0], abs=0.01)
    assert math.isnan(summary.area_m2[1])


def test_summarize_of_no_problems_is_empty():
    summary = summarize(check_units(units(tiling())))
    assert len(summary) == 0
    assert summary.columns.tolist() == ["layer", "kind", "count", "area_m2"]


def test_problems_to_geojson_is_rfc7946_and_deterministic():
    problems = mixed_problems()
    fc = problems_to_geojson(problems)
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    assert [f["properties"]["kind"] for f in fc["features"]] == problems.kind.tolist()
    empty, duplicate, overlap, gap = fc["features"]
    assert empty["geometry"] is None
    assert empty["properties"] == {"layer": "units", "kind": "empty", "ids": "N", "area_m2": None,
                                   "message": "feature has no geometry"}
    assert overlap["properties"]["area_m2"] == 200.0
    lon, lat = overlap["geometry"]["coordinates"]
    assert overlap["geometry"]["type"] == "Point"
    assert 119.9 < lon < 120.1 and 30.7 < lat < 30.9
    assert round(lon, 7) == lon and round(lat, 7) == lat
    text = json.dumps(fc, ensure_ascii=False, sort_keys=True)
    assert text == json.dumps(problems_to_geojson(mixed_problems()), ensure_ascii=False,
                              sort_keys=True)
    # a frame moved to another CRS comes back in lon/lat
    assert problems_to_geojson(problems.to_crs(GK)) == fc


def test_problems_to_geojson_of_nothing():
    assert problems_to_geojson(check_units(units(tiling()))) == {"type": "FeatureCollection",
                                                                 "features": []}


# -------------------------------------------------------------------------------- errors

def test_layer_without_crs_is_refused():
    frame = gpd.GeoDataFrame({"unit_code": ["A"]}, geometry=[rect(0, 0, 1, 1)])
    with pytest.raises(CRSError, match="layer 'units' has no CRS"):
        check_units(frame)


def test_missing_id_column_is_refused():
    with pytest.raises(PackError, match="layer 'units' has no id column 'code'; its columns are: "
                                        "unit_code, geometry"):
        check_layer(units(tiling()), layer="units", id_column="code")


def test_bad_tolerance_is_refused():
    with pytest.raises(ValueError, match=r"tolerance_m2 must be a number >= 0, got -1"):
        check_units(units(tiling()), tolerance_m2=-1)


def test_geographic_area_crs_is_refused():
    with pytest.raises(CRSError, match="is not projected"):
        check_units(units(tiling()), area_crs="EPSG:4490")


def test_coordinates_that_do_not_fit_the_crs_are_refused():
    frame = units(tiling()).set_crs(LONLAT, allow_override=True)
    with pytest.raises(CRSError, match="are not coordinates of its CRS EPSG:4490"):
        check_units(frame)


def test_plain_dataframe_is_refused():
    with pytest.raises(TypeError, match="must be a geopandas.GeoDataFrame, got DataFrame"):
        check_units(pd.DataFrame({"unit_code": ["A"]}))


def test_area_crs_can_be_given():
    problems = check_units(units(with_tab(tiling()), LONLAT), area_crs="EPSG:4550")
    assert problems.attrs["area_crs"] == "EPSG:4550"
    assert problems.area_m2[0] == pytest.approx(200.0, rel=3e-3)  # 3° off the central meridian


# --------------------------------------------------------------------------- performance

def wiggly_grid(n=10, per_edge=2500, size=1000.0, crs=LONLAT):
    """n×n units of ~4×per_edge vertices whose shared edges wiggle (and match exactly)."""
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 1.0, per_edge + 1)

    def edge(i, j, horizontal):
        inner = 0 < (j if horizontal else i) < n
        off = (20.0 * np.sin(t * 7 * np.pi + rng.uniform(0, 6)) * np.sin(t * np.pi)) if inner else 0 * t
        if horizontal:
            return np.c_[(i + t) * size, j * size + off]
        return np.c_[i * size + off, (j + t) * size]

    v = {(i, j): edge(i, j, False) for i in range(n + 1) for j in range(n)}
    h = {(i, j): edge(i, j, True) for i in range(n) for j in range(n + 1)}
    cells = {}
    for i in range(n):
        for j in range(n):
            ring = np.vstack([h[i, j][:-1], v[i + 1, j][:-1], h[i, j + 1][::-1][:-1], v[i, j][::-1]])
            cells[f"U{i}{j}"] = at(Polygon(ring))
    return units(cells, crs)


def broken_wiggly_grid():
    """The wiggly grid with one unit grown 3 m over its neighbours and a 30 m × 30 m hole, in lon/lat."""
    gk = wiggly_grid(crs=GK)
    grown = gk.geometry.iloc[11].buffer(3)
    holed = gk.geometry.iloc[55].difference(box(*gk.geometry.iloc[55].centroid.buffer(15).bounds))
    gk.loc[gk.index[[11, 55]], "geometry"] = [grown, holed]
    return gk.to_crs(LONLAT)


def test_a_hundred_units_of_ten_thousand_vertices():
    # timed by bench/topology.py; here only what it finds
    frame = broken_wiggly_grid()
    assert shapely.get_num_coordinates(frame.geometry.values).min() >= 10_000
    problems = check_units(frame)
    assert problems.kind.value_counts().to_dict() == {"overlap": 8, "gap": 1}
    assert problems[problems.kind == "gap"].area_m2.tolist() == pytest.approx([900.0], abs=0.01)
