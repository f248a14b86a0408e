"""The columnar engine: every row of screen_many is what screen gives for that row alone.

The grid pack's rectangles (see tests/test_screen.py) give edge cases by hand: shared
boundaries, touching, slivers, partly outside, lines across units, multi-parts; the demo
pack gives real county outlines, holes and many clauses.
"""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import importlib

import zoning.bulk
import zoning.overlay
from zoning.errors import OutsideRegionError, ZoningError
from zoning.testing import assert_verdict_equal
from conftest import box, gk

# The module, not the function `zoning.screen` that the package exports under that name.
screen_module = importlib.import_module("zoning.screen")

PROJECTS = [
    {"industry": "6550", "construction": "new", "emissions": {}, "fuel": [], "water_m3": 0, "coal_t": 0},
    {"industry": "2614", "construction": "new", "emissions": {"VOCs": 5.0, "NOx": 2.0}, "fuel": ["natural_gas"], "water_m3": 9000},
    {"industry": "26", "construction": "expansion"},
    {"industry": ["1713", "4411"], "activity": "linear_infrastructure", "fuel": ["coal"], "coal_t": 50, "groundwater": True},
    {},
]


def grid_edge_cases():
    """Sites on the grid pack that exercise every geometric rule once."""
    line = shapely.LineString
    return [
        box(100, 1100, 200, 1200),                                   # inside U3
        box(900, 100, 1100, 300),                                    # straddles U1/U2
        box(800, 300, 900, 400),                                     # touches the red line along an edge
        box(799.9, 300, 900, 305),                                   # sliver below the tolerance
        box(-100, 1100, 100, 1300),                                  # half outside the region
        box(1900, 1900, 2100, 2100),                                 # a quarter inside
        gk(shapely.Point(1000, 500)),                                # on the U1/U2 boundary
        gk(shapely.Point(1000, 1000)),                               # on a corner of three units
        gk(shapely.Point(300, 300)),                                 # inside the red line
        gk(shapely.Point(1300, 520)),                                # 20 m from Z-AIR
        gk(line([(100, 500), (900, 500)])),                          # through the red line
        gk(line([(50, 50), (1950, 1950)])),                          # diagonal across three units
        gk(line([(1000, 100), (1000, 900)])),                        # along the U1/U2 boundary
        gk(line([(-500, 500), (500, 500)])),                         # half outside
        gk(shapely.MultiPolygon([shapely.box(100, 100, 150, 150), shapely.box(1500, 100, 1550, 150)])),
        gk(shapely.MultiLineString([[(100, 1500), (400, 1500)], [(1200, 200), (1400, 200)]])),
        gk(shapely.MultiPoint([(100, 100), (1700, 1700)])),
        gk(shapely.Polygon(shapely.box(0, 0, 1000, 1000).exterior, [shapely.box(150, 150, 850, 850).exterior])),  # ring around the red line
        box(1490, 0, 1510, 1000),                                    # straddles Z-AIR's edge
    ]


def alone(pack, geom, project):
    """What `zoning screen` says of one site: (verdict, blocking, missing)."""
    v = pack.screen(geom, project).to_dict()
    deciding = {"prohibited": "prohibit", "needs_information": "needs_information", "conditional": "condition"}.get(v["verdict"])
    blocking = ";".join(dict.fromkeys(f["clause_id"] for f in v["findings"] if f["effect"] == deciding))
    return v, (v["verdict"], blocking, ";".join(v["missing"]))


def check_rows(pack, geoms, project):
    frame = gpd.GeoDataFrame({"i": range(len(geoms))}, geometry=geoms, crs="EPSG:4490")
    out = pack.screen_many(frame, project, full=True)
    checked = 0
    for i, geom in enumerate(geoms):
        row = out.iloc[i]
        try:
            v, expected = alone(pack, geom, project)
        except OutsideRegionError:
            assert row["error"] == "outside the pack's region" and pd.isna(row["verdict"])
            continue
        assert pd.isna(row["error"]), (i, row["error"])
        assert (row["verdict"], row["blocking"], row["missing"]) == expected, i
        assert row["units"] == ";".join(u["unit_code"] for u in v["units"])
        assert row["red_line"] == ";".join(r["redline_id"] for r in v["red_line"])
        assert row["n_findings"] == len(v["findings"])
        assert_verdict_equal(row["result"], v, rtol=0, atol=0)
        checked += 1
    return checked


@pytest.mark.parametrize("project", PROJECTS, ids=["quiet", "chemical", "coarse", "linear", "empty"])
def test_grid_edge_cases_bulk_equals_single(grid_pack, project):
    assert check_rows(grid_pack, grid_edge_cases(), project) == len(grid_edge_cases())


def random_sites(pack, n, seed):
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = pack.units.total_bounds
    out = []
    for _ in range(n):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        k = rng.random()
        s = (x1 - x0) / 300
        if k < 0.5:
            out.append(shapely.Point(x, y))
        elif k < 0.8:
            h = rng.uniform(0.1, 4) * s
            out.append(shapely.box(x - h, y - h, x + h, y + 0.7 * h))
        else:
            out.append(shapely.LineString([(x, y), (x + rng.uniform(-20, 20) * s, y + rng.uniform(-20, 20) * s)]))
    return out


@pytest.mark.parametrize("project", PROJECTS[:3], ids=["quiet", "chemical", "coarse"])
def test_demo_pack_random_sites_bulk_equals_single(demo_pack, project):
    # Real county outlines and lakes, 62 clauses of every kind, quotas and the PM2.5 raster.
    assert check_rows(demo_pack, random_sites(demo_pack, 120, 3), project) > 40


def test_grid_random_sites_bulk_equals_single(grid_pack):
    assert check_rows(grid_pack, random_sites(grid_pack, 150, 5), PROJECTS[1]) > 120


def test_rows_with_their_own_projects(grid_pack):
    geoms = [box(1100, 100, 1200, 200), box(1100, 100, 1200, 200), gk(shapely.Point(300, 300)), box(100, 1100, 200, 1200)]
    frame = gpd.GeoDataFrame(
        {
            "name": ["甲", "乙", "丙", None],
            "industry": ["2614", "6550", "2614", "26"],
            "emissions.VOCs": [5.0, np.nan, 0.0, np.nan],
            "fuel": [["coal"], None, [], None],
        },
        geometry=geoms,
        crs="EPSG:4490",
    )
    default = {"construction": "new", "water_m3": 100, "name": "默认"}
    out = grid_pack.screen_many(frame, default, full=True)
    for i in range(len(frame)):
        project = dict(default)
        for key in ("name", "industry", "fuel"):
            value = frame[key][i]
            if isinstance(value, list) or not pd.isna(value):  # an empty cell leaves the default
                project[key] = value
        if not np.isnan(frame["emissions.VOCs"][i]):
            project["emissions"] = {"VOCs": frame["emissions.VOCs"][i]}
        v, expected = alone(grid_pack, geoms[i], project)
        assert (out["verdict"][i], out["blocking"][i], out["missing"][i]) == expected
        assert out["result"][i].to_dict()["project"] == v["project"]  # each row keeps its own name
    assert out["result"][3].to_dict()["project"]["name"] == "默认"


def test_chunks_give_the_same_rows(grid_pack, monkeypatch):
    geoms = random_sites(grid_pack, 60, 9)
    frame = gpd.GeoDataFrame({"industry": ["2614", "6550", "1713"] * 20}, geometry=geoms, crs="EPSG:4490")
    whole = grid_pack.screen_many(frame, PROJECTS[1])
    monkeypatch.setattr(screen_module, "CHUNK_SITES", 7)
    chunked = grid_pack.screen_many(frame, PROJECTS[1])
    pd.testing.assert_frame_equal(whole, chunked)


def test_line_segments_add_up_to_the_line(grid_pack, monkeypatch):
    # A line crosses the layers segment by segment; cutting it finer changes no overlap.
    line = gk(shapely.LineString([(50, 50), (1950, 1950), (1950, 100)]))
    coarse = grid_pack.screen(line, PROJECTS[0]).to_dict()
    monkeypatch.setattr(zoning.overlay, "SEGMENT_M", 37.0)
    fine = grid_pack.screen(line, PROJECTS[0]).to_dict()
    assert_verdict_equal(coarse, fine, rtol=1e-9, atol=1e-6)
    assert sum(u["overlap_m"] for u in fine["units"]) == pytest.approx(fine["site"]["length_m"], abs=0.05)


def test_bad_rows_keep_their_place(grid_pack):
    bowtie = gk(shapely.Polygon([(0, 0), (100, 100), (100, 0), (0, 100)]))
    frame = gpd.GeoDataFrame(
        {"industry": ["6550", "6550", "9999x", "6550", "6550"]},
        geometry=[box(100, 1100, 200, 1200), bowtie, box(100, 1100, 200, 1200), shapely.Point(), shapely.GeometryCollection([shapely.Point(120, 30)])],
        crs="EPSG:4490",
    )
    out = grid_pack.screen_many(frame, PROJECTS[0])
    assert out["verdict"].tolist()[0] == "permitted"
    assert out["error"][1].startswith("invalid geometry")
    assert "9999x" in out["error"][2]
    assert out["error"][3] == "empty geometry"
    assert out["error"][4] == "unsupported geometry type GeometryCollection"
    assert out["verdict"][1:].isna().all() and out["n_findings"][1:].isna().all()


def test_an_empty_frame_gives_the_columns(grid_pack):
    out = grid_pack.screen_many(gpd.GeoDataFrame({"industry": []}, geometry=[], crs="EPSG:4490"), PROJECTS[0])
    assert len(out) == 0
    assert {"verdict", "verdict_zh", "units", "red_line", "blocking", "missing", "n_findings", "error"} <= set(out.columns)


def test_an_engine_disagreement_is_never_silent(grid_pack, monkeypatch):
    # The full verdict is rebuilt from the findings' text; it must say what the columns say.
    real = zoning.bulk.verdict_columns

    def wrong(*args, **kwargs):
        cols = real(*args, **kwargs)
        cols.blocking = ["NOT-A-CLAUSE"] * len(cols.blocking)
        return cols

    monkeypatch.setattr(screen_module, "verdict_columns", wrong)
    with pytest.raises(AssertionError, match="internal inconsistency"):
        grid_pack.screen(gk(shapely.Point(300, 300)), PROJECTS[1])
    assert not isinstance(AssertionError(), ZoningError)  # a bug is never reported as a user's mistake


def test_sites_beyond_a_zones_strip_use_its_full_view(monkeypatch):
    # Each GK zone keeps the features near its 3° strip; a site reaching further is
    # overlaid on the zone's full view, with the same result.
    from zoning import load_pack
    from conftest import GRID

    sites = random_sites(load_pack(GRID), 80, 11) + grid_edge_cases()
    frame = gpd.GeoDataFrame({"industry": ["2614"] * len(sites)}, geometry=sites, crs="EPSG:4490")
    wide = load_pack(GRID).screen_many(frame, PROJECTS[1], full=True)
    monkeypatch.setattr(zoning.overlay, "STRIP_MARGIN_DEG", -1.4995)  # the strip: 120° ± 0.0005°
    narrow_pack = load_pack(GRID)
    narrow = narrow_pack.screen_many(frame, PROJECTS[1], full=True)
    assert ((4549, True) in narrow_pack.index._views) and len(narrow_pack.index.view(4549).layers["units"].rows) < 3
    pd.testing.assert_frame_equal(wide.drop(columns="result"), narrow.drop(columns="result"))
    for a, b in zip(wide["result"], narrow["result"]):
        assert (a is None) == (b is None)
        if a is not None:
            assert_verdict_equal(a, b, rtol=0, atol=0)
