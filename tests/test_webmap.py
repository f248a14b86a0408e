"""Tests for zoning.webmap: GCJ-02 / BD-09 <-> WGS84 against published pairs.

Reference pairs
---------------
- WGS84 <-> GCJ-02: the test vectors of eviltransform (googollee/eviltransform,
  ``python/test.py``: Shanghai, Shenzhen, Beijing), computed with the
  published GCJ-02 formula. Its BD-09 vectors are *not* used: PRCoords'
  README documents parameter errors in eviltransform's BD-09 code, and those
  pairs are ~40 m off the formula.
- WGS84 / GCJ-02 / BD-09 triples: gcoord's fixture of Chinese cities
  (hujiulong/gcoord, ``test/fixtures/china-cities.json``). Its GCJ-02 and
  BD-09 columns agree with the formulas to 1e-7°, its WGS84 column with
  ~5e-6° of noise (about half a metre), so WGS84 comparisons there use 1e-5°
  (about 1 m); gcoord's own tests use 1e-4.
"""

import math
import warnings

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import LineString, MultiLineString, Point, Polygon

from zoning.webmap import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02

# (wgs lon, wgs lat, gcj lon, gcj lat) — eviltransform python/test.py
EVILTRANSFORM_GCJ = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]

# name: (WGS84, GCJ02, BD09) as [lon, lat] — gcoord test/fixtures/china-cities.json
GCOORD_CITIES = {
    "金华市": ([119.6427465, 29.0820414], [119.6474509, 29.0790641], [119.6538875, 29.0854003]),
    "泰州市": ([119.9183831, 32.4580023], [119.9231242, 32.4557802], [119.9296902, 32.4615531]),
    "铜陵市": ([117.8059091, 30.9477988], [117.8112693, 30.9455211], [117.8177498, 30.9515411]),
    "驻马店市": ([114.0164322, 33.0133556], [114.022306, 33.0115324], [114.0287781, 33.0176697]),
    "沈阳市": ([123.4253306, 41.8032629], [123.4314787, 41.8057023], [123.438095, 41.8114013]),
    "酒泉市": ([98.4937175, 39.7319946], [98.4943595, 39.7328234], [98.5008441, 39.7388949]),
}

HUZHOU = Point(120.0868, 30.8940)  # 湖州市区
GEOD = Geod(ellps="WGS84")


def metres(a, b):
    return GEOD.inv(a.x, a.y, b.x, b.y)[2]


@pytest.mark.parametrize("wlon, wlat, glon, glat", EVILTRANSFORM_GCJ)
def test_wgs84_to_gcj02_eviltransform_vectors(wlon, wlat, glon, glat):
    p = wgs84_to_gcj02(Point(wlon, wlat))
    assert p.x == pytest.approx(glon, abs=1e-9)
    assert p.y == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize("wlon, wlat, glon, glat", EVILTRANSFORM_GCJ)
def test_gcj02_to_wgs84_eviltransform_vectors(wlon, wlat, glon, glat):
    p = gcj02_to_wgs84(Point(glon, glat))
    assert p.x == pytest.approx(wlon, abs=1e-9)
    assert p.y == pytest.approx(wlat, abs=1e-9)
    assert metres(p, Point(wlon, wlat)) < 0.001


@pytest.mark.parametrize("name", list(GCOORD_CITIES))
def test_gcoord_cities_both_ways(name):
    wgs, gcj, bd = (Point(*c) for c in GCOORD_CITIES[name])
    assert wgs84_to_gcj02(wgs).distance(gcj) < 1e-5
    assert gcj02_to_wgs84(gcj).distance(wgs) < 1e-5
    assert wgs84_to_bd09(wgs).distance(bd) < 1e-5
    assert bd09_to_wgs84(bd).distance(wgs) < 1e-5
    # GCJ-02 -> BD-09 is a closed formula: the fixture's two columns agree to 1e-7°
    assert wgs84_to_bd09(gcj02_to_wgs84(gcj)).distance(bd) < 1e-7


def test_huzhou_offset_is_100_to_700_m():
    gcj = wgs84_to_gcj02(HUZHOU)
    assert 100 < metres(HUZHOU, gcj) < 700
    bd = wgs84_to_bd09(HUZHOU)
    assert metres(HUZHOU, bd) > metres(HUZHOU, gcj)  # Baidu shifts further


@settings(max_examples=200, deadline=None)
@given(lon=st.floats(73.5, 135.0), lat=st.floats(18.0, 53.5))
def test_round_trips_within_1e_6(lon, lat):
    p = Point(lon, lat)
    assert gcj02_to_wgs84(wgs84_to_gcj02(p)).distance(p) < 1e-9  # the brief asks 1e-6
    assert bd09_to_wgs84(wgs84_to_bd09(p)).distance(p) < 1e-9


def test_round_trip_over_a_huzhou_grid_is_within_millimetres():
    lon, lat = np.meshgrid(np.linspace(119.2, 120.6, 15), np.linspace(30.4, 31.2, 9))
    pts = shapely.points(lon.ravel(), lat.ravel())
    back = gcj02_to_wgs84(wgs84_to_gcj02(pts))
    assert shapely.distance(back, pts).max() < 1e-10  # 0.01 mm
    back = bd09_to_wgs84(wgs84_to_bd09(pts))
    assert shapely.distance(back, pts).max() < 1e-10


def test_geometry_types_and_holes_are_kept():
    shell = [(120.05, 30.85), (120.06, 30.85), (120.06, 30.86), (120.05, 30.86)]
    hole = [(120.052, 30.852), (120.054, 30.852), (120.054, 30.854)]
    poly = Polygon(shell, [hole])
    out = wgs84_to_gcj02(poly)
    assert out.geom_type == "Polygon"
    assert len(out.interiors) == 1
    assert out.is_valid
    # GCJ-02 is not a rigid shift: its wavy terms stretch a ~1 km parcel by ~0.2 %
    # in area, so areas must be measured after conversion, never on GCJ-02
    assert out.area != pytest.approx(poly.area, rel=1e-3)
    assert out.area == pytest.approx(poly.area, rel=1e-2)
    assert gcj02_to_wgs84(out).area == pytest.approx(poly.area, rel=1e-6)
    lines = MultiLineString([LineString(shell[:2]), LineString(shell[2:])])
    assert bd09_to_wgs84(lines).geom_type == "MultiLineString"


def test_arrays_of_geometries():
    pts = np.array([Point(120.1, 30.8), Point(121.5, 31.2)])
    out = wgs84_to_gcj02(pts)
    assert isinstance(out, np.ndarray) and out.shape == (2,)
    assert out[0].equals(wgs84_to_gcj02(pts[0]))


def test_results_are_2d():
    assert not gcj02_to_wgs84(Point(120.1, 30.8, 15.0)).has_z


@pytest.mark.parametrize(
    "lon, lat",
    [(2.35, 48.85), (-74.0, 40.7), (137.8, 55.8), (72.05, 30.0)],
    ids=["paris", "new-york", "box-corner", "box-edge"],
)
def test_outside_china_is_unchanged_and_silent(lon, lat):
    p = Point(lon, lat)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in (gcj02_to_wgs84, bd09_to_wgs84, wgs84_to_gcj02, wgs84_to_bd09):
            assert f(p).equals(p)


def test_empty_and_nan_pass_through():
    assert gcj02_to_wgs84(Polygon()).is_empty
    out = wgs84_to_gcj02(Point(math.nan, math.nan))
    assert math.isnan(out.x)
