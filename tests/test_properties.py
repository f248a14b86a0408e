"""Invariants, checked with hypothesis on the grid pack."""

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import X0, Y0, gk
from zoning.pack import Pack
from zoning.vocab import VERDICT_ORDER

QUIET = {"industry": "6550", "construction": "new", "emissions": {}, "fuel": [], "water_m3": 0, "coal_t": 0}
PROJECTS = st.fixed_dictionaries(
    {
        "industry": st.sampled_from(["6550", "2614", "1712", "1713", "17", "C"]),
        "construction": st.sampled_from(["new", "expansion", "reconstruction"]),
        "emissions": st.dictionaries(st.sampled_from(["VOCs", "NOx", "COD", "SO2"]), st.floats(0, 50), max_size=3),
        "fuel": st.lists(st.sampled_from(["coal", "natural_gas"]), max_size=2, unique=True),
        "water_m3": st.floats(0, 700000),
    }
)
RECTS = st.tuples(st.floats(10, 1800), st.floats(10, 1800), st.floats(5, 180), st.floats(5, 180))
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(RECTS)
def test_same_areas_in_4490_4326_and_the_gk_zone(grid_pack, rect):
    x, y, w, h = rect
    local = shapely.box(x, y, x + w, y + h)
    lonlat = gk(local)
    in_gk = gpd.GeoSeries([shapely.affinity.translate(local, X0, Y0)], crs="EPSG:4549")
    verdicts = [
        grid_pack.screen(gpd.GeoSeries([lonlat], crs="EPSG:4490"), QUIET),
        grid_pack.screen(gpd.GeoSeries([lonlat], crs="EPSG:4326"), QUIET),
        grid_pack.screen(in_gk, QUIET),
    ]
    areas = [v["site"]["area_m2"] for v in verdicts]
    # Verdicts give areas to the cm² (round(…, 2)): a 5 × 5.125 m site shows 25.62 m².
    assert areas[0] == pytest.approx(w * h, rel=1e-4, abs=0.005)
    for a in areas[1:]:
        assert a == pytest.approx(areas[0], rel=1e-4, abs=0.01)
    overlaps = [sorted((u["unit_code"], u["overlap_m2"]) for u in v["units"]) for v in verdicts]
    for o in overlaps[1:]:
        assert [c for c, _ in o] == [c for c, _ in overlaps[0]]
        assert [a for _, a in o] == pytest.approx([a for _, a in overlaps[0]], rel=1e-4, abs=0.01)


def _with_red_line(pack, geom):
    extra = gpd.GeoDataFrame({"redline_id": ["RL-NEW"], "name": ["新增红线"], "function": ["测试"]}, geometry=[geom], crs="EPSG:4490")
    red = pd.concat([pack.red_line, extra], ignore_index=True)
    return Pack(pack.path, pack.manifest, pack.units, red, pack.zones, pack.rasters, pack.quotas, pack.clauses, pack.digest + "+", pack.files)


@SETTINGS
@given(RECTS, PROJECTS)
def test_adding_a_prohibiting_feature_never_makes_the_verdict_more_permissive(grid_pack, rect, project):
    x, y, w, h = rect
    site = gk(shapely.box(x, y, x + w, y + h))
    before = grid_pack.screen(site, project)["verdict"]
    # a new red line under the site (the pack's red-line clause prohibits there)
    after = _with_red_line(grid_pack, site.buffer(0.0001)).screen(site, project)["verdict"]
    assert VERDICT_ORDER.index(after) <= VERDICT_ORDER.index(before)


@SETTINGS
@given(st.floats(-5000, 5000), st.floats(-5000, 5000), RECTS)
def test_moving_layers_and_site_together_keeps_the_overlaps(grid_pack, dx, dy, rect):
    x, y, w, h = rect
    local = shapely.box(x, y, x + w, y + h)
    base = grid_pack.screen(gk(local), QUIET)
    moved_pack = _moved(grid_pack, dx, dy)
    moved = moved_pack.screen(gk(shapely.affinity.translate(local, dx, dy)), QUIET)
    assert [u["unit_code"] for u in moved["units"]] == [u["unit_code"] for u in base["units"]]
    assert [u["overlap_m2"] for u in moved["units"]] == pytest.approx([u["overlap_m2"] for u in base["units"]], rel=1e-4, abs=0.05)
    assert [r["redline_id"] for r in moved["red_line"]] == [r["redline_id"] for r in base["red_line"]]


_MOVED = {}


def _moved(pack, dx, dy):
    key = (round(dx, 3), round(dy, 3))
    if key not in _MOVED:
        def shift(gdf):
            return gdf.to_crs(4549).translate(dx, dy).to_crs(4490)

        units = pack.units.set_geometry(shift(pack.units))
        red = pack.red_line.set_geometry(shift(pack.red_line))
        zones = pack.zones.set_geometry(shift(pack.zones))
        # no rasters: the PM2.5 grid is not moved with the layers
        _MOVED[key] = Pack(pack.path, pack.manifest, units, red, zones, {}, pack.quotas, [c for c in pack.clauses if c.applies_in.kind != "raster_exceeds"], pack.digest, pack.files)
        if len(_MOVED) > 64:
            _MOVED.clear()
    return _MOVED[key]
