"""POST /v1/eligibility end to end: a real `zoning serve` (uvicorn) on loopback, the grid pack.

The answer is checked against ``pack.eligibility(project)`` computed here, in the test process.
"""

import collections
import json
import sqlite3

import pytest
import shapely
import shapely.geometry

from service_support import assert_error as _assert_error, feature, start_server

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

# On the grid pack this project gets all four verdicts somewhere: prohibited (priority unit, red line
# and its 500 m band: chemicals), needs_information (fuel-ban zone: fuel not given), conditional
# (300 m of the drinking-water source: emits COD), permitted (the rest).
PROJECT = {"name": "化工项目", "industry": "2614", "construction": "new", "emissions": {"COD": 3}, "water_m3": 1000}
VERDICTS = ("prohibited", "needs_information", "conditional", "permitted")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("elig"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


@pytest.fixture(scope="module")
def expected(grid_pack):
    return grid_pack.eligibility(PROJECT)


def _records(server):
    con = sqlite3.connect(server.env["ZONING_DB_URL"].removeprefix("sqlite:///"))
    try:
        return con.execute("SELECT count(*) FROM screenings").fetchone()[0]
    finally:
        con.close()


def _outcomes(rows):
    return collections.Counter((r["verdict"], r["blocking"], r["missing"]) for r in rows)


def test_polygons_match_the_engine(client, server, expected, grid_pack):
    before = _records(server)
    r = client.post("/v1/eligibility", params={"pack": "grid-test"}, json=PROJECT)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    assert fc["pack"] == {"id": grid_pack.id, "version": grid_pack.version, "digest": grid_pack.digest}
    assert fc["simplified_m"] == 20.0
    assert fc["project"]["industry"] == ["2614"] and fc["project"]["name"] == "化工项目"
    # one feature per polygon of the engine's map, with the same verdict, blocking and missing
    props = [f["properties"] for f in fc["features"]]
    frame = expected.frame
    assert len(props) == len(frame)
    assert _outcomes(props) == _outcomes(frame.to_dict("records"))
    assert collections.Counter(p["verdict"] for p in props) == collections.Counter(frame["verdict"])
    # areas: the unsimplified totals, every verdict present here
    assert set(fc["areas_m2"]) == set(VERDICTS)
    for v in VERDICTS:
        assert fc["areas_m2"][v] == pytest.approx(expected.areas_m2[v], rel=1e-12)
        assert fc["areas_m2"][v] > 1000, v
        assert sum(p["area_m2"] for p in props if p["verdict"] == v) == pytest.approx(expected.areas_m2[v], rel=1e-9)
    # the clauses' text for tooltips, the colours of the folium maps
    assert fc["clauses"] == expected.clauses and "T-NEAR-01" in fc["clauses"]
    from zoning.maps import ELIGIBILITY_COLORS

    assert fc["colors"] == ELIGIBILITY_COLORS
    # simplified geometry: valid polygons, still covering the region without gaps or overlaps
    geoms = [shapely.geometry.shape(f["geometry"]) for f in fc["features"]]
    assert all(g.geom_type in ("Polygon", "MultiPolygon") and g.is_valid for g in geoms)
    region = shapely.union_all(grid_pack.units.geometry.values)
    simple = shapely.union_all(geoms)
    assert shapely.symmetric_difference(simple, region).area < 1e-4 * region.area
    assert sum(g.area for g in geoms) == pytest.approx(simple.area, rel=1e-6)  # no overlaps
    # an eligibility map is not a screening of a site: nothing is recorded
    assert _records(server) == before


def test_exact_polygons_and_the_meaning(client, expected):
    """simplify_m=0 gives the engine's polygons; a point deep inside one gets its verdict from /v1/screen."""
    fc = client.post("/v1/eligibility", params={"simplify_m": 0}, json=PROJECT).json()
    assert fc["simplified_m"] == 0.0
    geoms = [shapely.geometry.shape(f["geometry"]) for f in fc["features"]]
    assert sum(g.area for g in geoms) == pytest.approx(float(shapely.area(expected.frame.geometry.values).sum()), rel=1e-9)
    simplified = client.post("/v1/eligibility", json=PROJECT).json()  # the default, 20 m
    vertices = lambda c: sum(shapely.get_num_coordinates(shapely.geometry.shape(f["geometry"])) for f in c["features"])  # noqa: E731
    assert vertices(simplified) < vertices(fc) / 2  # the near bands' arcs lose most of their vertices
    seen = set()
    for f, g in zip(fc["features"], geoms):
        v = f["properties"]["verdict"]
        if v in seen or f["properties"]["area_m2"] < 10_000:
            continue
        centre, edge = shapely.get_coordinates(shapely.maximum_inscribed_circle(g))  # a point far from every edge
        out = client.post("/v1/screen", json=feature(shapely.Point(centre), **PROJECT)).json()
        assert out["verdict"] == v, (f["properties"], out["verdict"])
        assert sorted(out["missing"]) == sorted(filter(None, f["properties"]["missing"].split(";")))
        seen.add(v)
    assert seen == set(VERDICTS)


def test_a_second_identical_request_is_served_from_cache(client):
    project = dict(PROJECT, name="缓存测试", water_m3=1234)
    first = client.post("/v1/eligibility", json=project)
    assert first.status_code == 200, first.text
    assert first.headers["x-eligibility-cache"] == "miss" and first.json()["cached"] is False
    second = client.post("/v1/eligibility", content=json.dumps(project, ensure_ascii=False).encode())
    assert second.headers["x-eligibility-cache"] == "hit" and second.json()["cached"] is True
    a, b = first.json(), second.json()
    a.pop("cached"), b.pop("cached")
    assert a == b
    # another simplification, or another project, is another answer
    other = client.post("/v1/eligibility", params={"simplify_m": 50}, json=project)
    assert other.headers["x-eligibility-cache"] == "miss" and other.json()["simplified_m"] == 50.0
    renamed = client.post("/v1/eligibility", json=dict(project, name="另一个名字"))
    assert renamed.headers["x-eligibility-cache"] == "miss"
    assert renamed.json()["project"]["name"] == "另一个名字"  # the request's name, not a cached one
    assert renamed.json()["features"] == a["features"]


@pytest.mark.parametrize(
    "body, code, match",
    [
        (b"", "project_invalid", "body is empty"),
        (b"{not json", "bad_input", "not valid JSON"),
        (b"[1, 2]", "project_invalid", "got an array"),
        (b'{"water_m3": NaN}', "bad_input", "NaN"),
        (json.dumps(feature(shapely.Point(120.0, 30.7), industry="2614")).encode(), "project_invalid", "not a GeoJSON Feature"),
        (b'{"industry": "99999"}', "project_invalid", "not in GB/T 4754"),
        (b'{"construction": "demolish"}', "project_invalid", "construction"),
        (b'{"water_m3": "lots"}', "project_invalid", "water_m3"),
        (b'{"name": "\\ud800"}', None, "Unicode"),
        (b"[" * 100 + b"]" * 100, "too_deep", None),
    ],
)
def test_bad_bodies_are_422(client, body, code, match):
    r = client.post("/v1/eligibility", content=body, headers={"content-type": "application/json"})
    err = _assert_error(r, 422, code)
    if match:
        assert match in json.dumps(err["detail"], ensure_ascii=False), err


def test_bad_query_and_unknown_pack(client):
    for value in ("-1", "5000", "nan", "inf", "much"):
        _assert_error(client.post("/v1/eligibility", params={"simplify_m": value}, json=PROJECT), 422, "bad_input")
    err = _assert_error(client.post("/v1/eligibility", params={"pack": "nope"}, json=PROJECT), 404, "pack_not_found")
    assert "grid-test" in err["detail"]
    r = client.get("/v1/eligibility")
    _assert_error(r, 405)
    assert "POST" in r.headers["allow"]


def test_openapi_lists_the_path(client):
    schema = client.get("/openapi.json").json()
    op = schema["paths"]["/v1/eligibility"]["post"]
    assert "eligibility" in op["summary"].lower()
    assert "simplify_m" in op["description"] and "ZONING_ELIGIBILITY_BUDGET_S" in op["description"]
    assert {p["name"] for p in op["parameters"]} == {"pack", "simplify_m"}
    body = op["requestBody"]["content"]["application/json"]
    assert body["example"]["industry"] == "2614"
    ok = op["responses"]["200"]["content"]["application/json"]["schema"]
    name = ok["$ref"].rsplit("/", 1)[-1]
    out = schema["components"]["schemas"][name]
    assert {"cached", "features", "areas_m2", "simplified_m", "pack", "clauses"} <= set(out["properties"])
    assert out["examples"][0]["features"][0]["properties"]["verdict"] == "prohibited"
    for status in ("404", "422", "503", "504"):
        assert status in op["responses"], status
    assert client.get("/healthz").json()["workers"]["eligibility_budget_s"] == 300.0


def test_its_own_time_budget(tmp_path):
    """The map has its own budget: past it 504 (the worker is replaced), while screening keeps its own."""
    from service_support import SITE_GENERAL

    srv = start_server(tmp_path, env={"ZONING_ELIGIBILITY_BUDGET_S": "0.001"})
    try:
        with srv.client() as c:
            assert c.get("/healthz").json()["workers"]["eligibility_budget_s"] == 0.001
            err = _assert_error(c.post("/v1/eligibility", json=dict(PROJECT, water_m3=4321)), 504, "time_budget_exceeded")
            assert "0.001 s" in err["detail"]
            r = c.post("/v1/screen", json=feature(SITE_GENERAL, **PROJECT))
            assert r.status_code == 200, r.text
    finally:
        srv.stop()
