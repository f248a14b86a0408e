"""The HTTP service end to end: a real `zoning serve` (uvicorn) on loopback, SQLite records."""

import json
import sqlite3

import pytest
import shapely

from conftest import GRID, gk
from service_support import SITE_GENERAL, SITE_KEY, SITE_PRI, assert_error as _assert_error, feature, start_server
from zoning.webmap import wgs84_to_gcj02

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("svc"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


def test_healthz_packs_docs(client):
    h = client.get("/healthz").json()
    workers = h.pop("workers")
    assert h == {"status": "ok", "engine": {"version": h["engine"]["version"]}, "packs": ["grid-test"], "database": "ok"}
    assert workers["processes"] == 1 and workers["in_flight"] == 0 and workers["time_budget_s"] > 0
    packs = client.get("/v1/packs").json()
    assert packs["default"] == "grid-test"
    (p,) = packs["packs"]
    assert p["id"] == "grid-test" and p["version"] == "1.0" and p["digest"].startswith("sha256:") and p["units"] == 3
    schema = client.get("/openapi.json").json()
    for path in ("/v1/screen", "/v1/screen/file", "/v1/screenings/{screening_id}", "/v1/screenings/{screening_id}/map",
                 "/v1/packs", "/v1/units/{unit_code}", "/healthz"):
        assert path in schema["paths"], path
    assert "swagger" in client.get("/docs").text.lower()


def test_units_and_industries(client):
    u = client.get("/v1/units/ZH33052120001").json()
    assert u["type"] == "Feature" and u["properties"]["category"] == "key"
    assert "T-UNIT-01" in {c["id"] for c in u["properties"]["clauses"]}
    assert "T-PRI-01" not in {c["id"] for c in u["properties"]["clauses"]}
    assert shapely.geometry.shape(u["geometry"]).area > 0
    _assert_error(client.get("/v1/units/ZH99999910001"), 404, "unit_not_found")
    _assert_error(client.get("/v1/units/ZH33052120001", params={"pack": "nope"}), 404, "pack_not_found")
    ind = client.get("/v1/industries").json()["industries"]
    assert {"code": "2614", "name": "有机化学原料制造", "level": "class", "parent": "261"}.items() <= next(r for r in ind if r["code"] == "2614").items() or \
        next(r for r in ind if r["code"] == "2614")["parent"] == "261"
    units = client.get("/v1/packs/grid-test/units").json()
    assert len(units["features"]) == 3


def test_screen_store_fetch_map(client, grid_pack):
    body = feature(SITE_PRI, name="化工项目", industry="2614", construction="new")
    r = client.post("/v1/screen", json=body)
    assert r.status_code == 200, r.text
    v = r.json()
    sid = v.pop("screening_id")
    direct = grid_pack.screen(body).to_dict()
    assert v == direct  # the service adds nothing but the id
    assert v["verdict"] == "prohibited"
    rec = client.get(f"/v1/screenings/{sid}").json()
    assert rec["screening_id"] == sid
    assert rec["verdict"] == direct
    assert rec["pack"] == {"id": "grid-test", "version": "1.0", "digest": grid_pack.digest}
    assert rec["request"]["project"] == body["properties"]
    assert rec["request"]["input"]["geometry"] == json.loads(json.dumps(body["geometry"]))
    assert shapely.geometry.shape(rec["request"]["site"]).equals_exact(SITE_PRI, 1e-9)
    assert rec["engine"]["version"] and rec["created_at"].endswith("+00:00")
    m = client.get(f"/v1/screenings/{sid}/map")
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/html")
    assert "leaflet" in m.text.lower()
    off = client.get(f"/v1/screenings/{sid}/map", params={"offline": "true"})
    assert off.status_code == 200 and "cdn.jsdelivr" not in off.text
    _assert_error(client.get("/v1/screenings/0123456789abcdef0123456789abcdef"), 404, "screening_not_found")
    _assert_error(client.get("/v1/screenings/../../etc/passwd/map"), 404)


def test_screen_options(client, grid_pack):
    # GCJ-02 coordinates from AMap are converted before the overlay
    lonlat = shapely.get_coordinates(SITE_GENERAL.centroid)[0]
    gcj = wgs84_to_gcj02(shapely.Point(*lonlat))
    r = client.post("/v1/screen", params={"gcj02": "true"}, json=feature(gcj, industry="6550", construction="new"))
    assert r.status_code == 200, r.text
    assert [u["unit_code"] for u in r.json()["units"]] == ["ZH33052130001"]
    assert r.json()["site"]["source_crs"] == "GCJ-02"
    # a CRS for projected coordinates
    gk_point = {"type": "Feature", "properties": {"industry": "6550"}, "geometry": {"type": "Point", "coordinates": [501500.0, 3400500.0]}}
    r = client.post("/v1/screen", params={"crs": "EPSG:4549", "pack": "grid-test"}, json=gk_point)
    assert r.status_code == 200, r.text
    assert [u["unit_code"] for u in r.json()["units"]] == ["ZH33052120001"]
    # the same site and project give the same verdict (ids differ)
    a = client.post("/v1/screen", json=feature(SITE_KEY, industry="2614", construction="new")).json()
    b = client.post("/v1/screen", json=feature(SITE_KEY, industry="2614", construction="new")).json()
    assert a.pop("screening_id") != b.pop("screening_id")
    assert a == b


@pytest.mark.parametrize(
    "params, body, status, code",
    [
        ({}, {"type": "Feature", "properties": {"industry": "9999"}, "geometry": {"type": "Point", "coordinates": [120.01, 30.72]}}, 422, "project_invalid"),
        ({}, {"type": "Feature", "properties": {"constructon": "new"}, "geometry": {"type": "Point", "coordinates": [120.01, 30.72]}}, 422, "project_invalid"),
        ({}, {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [110.0, 20.0]}}, 422, "outside_region"),
        ({}, {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [30.72, 120.01]}}, 422, "site_invalid"),
        ({}, {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[120, 30.7], [120.01, 30.71], [120, 30.71], [120.01, 30.7], [120, 30.7]]]}}, 422, "site_invalid"),
        ({}, {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": "x"}}, 422, "site_invalid"),
        ({}, {"type": "Feature", "properties": {}, "geometry": None}, 422, "site_invalid"),
        ({}, {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": []}}, 422, "site_invalid"),
        ({"crs": "EPSG:99999"}, {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [501500.0, 3400500.0]}}, 422, "crs_invalid"),
        ({"gcj02": "true", "bd09": "true"}, {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [120.01, 30.72]}}, 422, "bad_input"),
        ({"pack": "nope"}, {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [120.01, 30.72]}}, 404, "pack_not_found"),
        ({}, {"type": "FeatureCollection", "features": []}, 422, "bad_input"),
        ({}, [1, 2], 422, "bad_input"),
        ({"gcj02": "maybe"}, {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [120.01, 30.72]}}, 422, "bad_input"),
    ],
)
def test_bad_input_is_a_clear_4xx(client, params, body, status, code):
    r = client.post("/v1/screen", params=params, json=body)
    err = _assert_error(r, status, code)
    assert err["detail"]


def test_repair_on_request(client):
    ring = gk(shapely.Polygon([(200, 1200), (800, 1800), (200, 1800), (800, 1200), (200, 1200)]))
    bowtie = feature(ring, industry="6550")
    _assert_error(client.post("/v1/screen", json=bowtie), 422, "site_invalid")
    r = client.post("/v1/screen", params={"repair": "true"}, json=bowtie)
    assert r.status_code == 200, r.text
    assert r.json()["warnings"]
    assert client.get(f"/v1/screenings/{r.json()['screening_id']}").json()["request"]["options"]["repair"] is True


def test_not_json_and_wrong_method(client):
    _assert_error(client.post("/v1/screen", content=b"{not json", headers={"content-type": "application/json"}), 422, "bad_input")
    _assert_error(client.get("/v1/screen"), 405, "method_not_allowed")
    _assert_error(client.get("/nowhere"), 404, "not_found")


def test_request_id_is_echoed(client):
    r = client.get("/v1/units/ZH99999910001", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123" and r.json()["request_id"] == "abc-123"
    r = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"


def test_body_size_and_vertex_limits(tmp_path):
    srv = start_server(tmp_path, env={"ZONING_MAX_BODY_BYTES": "4000", "ZONING_MAX_VERTICES": "20"})
    try:
        with srv.client() as c:
            _assert_error(c.post("/v1/screen", json=feature(SITE_KEY, name="x" * 5000)), 413, "body_too_large")

            def chunks():  # no Content-Length: counted as it arrives
                for _ in range(10):
                    yield b" " * 500

            _assert_error(c.post("/v1/screen", content=chunks(), headers={"content-type": "application/json"}), 413, "body_too_large")
            dense = shapely.set_precision(SITE_GENERAL.segmentize(0.0004), 1e-7)
            assert 20 < shapely.get_num_coordinates(dense) < 60
            body = feature(dense, industry="6550")
            assert len(json.dumps(body)) < 4000
            err = _assert_error(c.post("/v1/screen", json=body), 422, "too_many_vertices")
            assert "limit is 20" in err["detail"]
            assert c.post("/v1/screen", json=feature(SITE_GENERAL, industry="6550")).status_code == 200
    finally:
        srv.stop()


def test_records_are_immutable_and_survive_a_restart(tmp_path):
    srv = start_server(tmp_path)
    try:
        with srv.client() as c:
            sid = c.post("/v1/screen", json=feature(SITE_KEY, industry="2614", construction="new")).json()["screening_id"]
    finally:
        srv.kill()  # SIGKILL: the record was committed before the response
    db = tmp_path / "records.sqlite"
    con = sqlite3.connect(db)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            con.execute("UPDATE screenings SET verdict = 'permitted'")
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            con.execute("DELETE FROM screenings")
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
    srv = start_server(tmp_path)
    try:
        with srv.client() as c:
            rec = c.get(f"/v1/screenings/{sid}").json()
            assert rec["verdict"]["verdict"] == "prohibited"
    finally:
        srv.stop()


def test_several_packs_side_by_side(tmp_path):
    import shutil

    other = tmp_path / "grid2"
    shutil.copytree(GRID, other)
    text = (other / "pack.yaml").read_text(encoding="utf-8").replace("id: grid-test", "id: grid-two").replace('version: "1.0"', 'version: "2.0"')
    (other / "pack.yaml").write_text(text, encoding="utf-8")
    srv = start_server(tmp_path / "run", packs=(GRID, other), workers=2)
    try:
        with srv.client() as c:
            assert [p["id"] for p in c.get("/v1/packs").json()["packs"]] == ["grid-test", "grid-two"]
            v1 = c.post("/v1/screen", json=feature(SITE_KEY, industry="6550")).json()
            v2 = c.post("/v1/screen", params={"pack": "grid-two"}, json=feature(SITE_KEY, industry="6550")).json()
            assert (v1["pack"]["id"], v2["pack"]["id"]) == ("grid-test", "grid-two")
            assert v2["pack"]["version"] == "2.0"
            assert c.get(f"/v1/screenings/{v2['screening_id']}").json()["pack"]["id"] == "grid-two"
    finally:
        srv.stop()


def test_serve_refuses_a_bad_pack_with_exit_2(tmp_path):
    from click.testing import CliRunner

    from zoning.cli import main

    res = CliRunner().invoke(main, ["serve", "--pack", str(tmp_path / "missing"), "--port", "1"])
    assert res.exit_code == 2, res.output
    assert "error" in res.output and "Traceback" not in res.output
