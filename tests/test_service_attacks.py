"""The service under attack (issue 12): each probe case against a real `zoning serve` on loopback.

Bounds in time here are generous liveness bounds (the server answered at all while busy),
never performance figures: those are measured by bench/attack.py and bench/service_load.py.
"""

import concurrent.futures
import json
import socket
import sqlite3
import time

import numpy as np
import pytest
import shapely

from conftest import box
from service_support import SITE_GENERAL, SITE_KEY, feature, site_files, start_server

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

ENV = {
    "ZONING_TIME_BUDGET_S": "3",
    "ZONING_QUEUE": "1",
    "ZONING_HEADER_TIMEOUT_S": "1",
    "ZONING_BODY_TIMEOUT_S": "1",
    "ZONING_MAX_VERTICES": "100000",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("attacks"), env=ENV)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


def _error(r, status, code):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "detail", "request_id"} and body["error"] == code, body
    assert "Traceback" not in r.text
    return body


def _post_raw(client, data, **kw):
    return client.post("/v1/screen", content=data, headers={"content-type": "application/json"}, **kw)


def plain_feature(geom, **project):
    """The Feature as JSON would give it back (lists, not tuples), to edit."""
    return json.loads(json.dumps(feature(geom, **project)))


def zigzag(n):
    """A line crossing the grid pack's units n times: the costliest kind of site per vertex."""
    x0, y0, x1, y1 = box(100, 100, 2900, 2900).bounds
    xs = np.linspace(x0, x1, n)
    ys = np.where(np.arange(n) % 2 == 0, y0, y1)
    return shapely.LineString(np.c_[xs, ys])


# ----------------------------------------------------------------- 1. coordinates that are not numbers


@pytest.mark.parametrize("bad, kind", [("120.01", "a string"), (True, "a boolean"), (None, "null"), ([120.0], "an array")])
def test_non_numeric_coordinates_are_refused(client, bad, kind):
    body = plain_feature(SITE_KEY, industry="6550")
    body["geometry"]["coordinates"][0][1] = [bad, body["geometry"]["coordinates"][0][1][1]]
    err = _error(client.post("/v1/screen", json=body), 422, "site_invalid")
    assert f"coordinates[0][1][0] is {kind}" in err["detail"] and "expected a number" in err["detail"]


def test_string_coordinates_are_counted_against_the_vertex_limit(client):
    # the probe's bypass: strings were not counted; now every position counts, whatever it holds
    ring = [[f"{120.0 + i * 1e-7:.7f}", "30.7"] for i in range(100_001)]
    body = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    r = _post_raw(client, json.dumps(body).encode())
    assert r.status_code == 422 and r.json()["error"] in {"site_invalid", "too_many_vertices"}, r.text
    numeric = {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[120.0 + i * 1e-7, 30.7] for i in range(100_001)]}}
    _error(_post_raw(client, json.dumps(numeric).encode()), 422, "too_many_vertices")


def test_string_coordinates_in_an_uploaded_geojson(client):
    body = plain_feature(SITE_KEY)
    body["geometry"]["coordinates"][0][0] = ["120.0", "30.7"]
    r = client.post("/v1/screen/file", files={"file": ("site.geojson", json.dumps(body).encode())}, data={"industry": "6550"})
    _error(r, 422, "site_invalid")


# ----------------------------------------------------------------- 3. memory amplification


def test_millions_of_empty_arrays_are_refused_while_parsing(client):
    data = b'{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[' + b",".join([b"[]"] * 2_000_000) + b"]}}"
    err = _error(_post_raw(client, data), 422, "too_many_values")
    assert "JSON values" in err["detail"]
    assert client.get("/healthz").status_code == 200


def test_deep_nesting_is_refused(client):
    data = b'{"type":"Feature","properties":{"x":' + b"[" * 5000 + b"]" * 5000 + b'},"geometry":null}'
    _error(_post_raw(client, data), 422, "too_deep")


# ----------------------------------------------------------------- 8, 10. surrogates and non-finite numbers


def test_lone_surrogate_is_refused(client):
    data = b'{"type":"Feature","properties":{"name":"x\\ud800","industry":"6550"},"geometry":' + json.dumps(
        feature(SITE_GENERAL)["geometry"]).encode() + b"}"
    err = _error(_post_raw(client, data), 422, "project_invalid")
    assert "surrogate" in err["detail"]
    r = client.post("/v1/screen/file", files={"file": ("site.geojson", json.dumps(feature(SITE_GENERAL)).encode())},
                    data={"project": '{"name": "x\\ud800"}', "industry": "6550"})
    _error(r, 422, "project_invalid")


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_are_refused(client, token):
    data = b'{"type":"Feature","properties":{"industry":"6550","water_m3":' + token + b'},"geometry":' + json.dumps(
        feature(SITE_GENERAL)["geometry"]).encode() + b"}"
    err = _error(_post_raw(client, data), 422, "bad_input")
    assert "not valid JSON" in err["detail"]


def test_nan_in_upload_fields_is_refused(client):
    r = client.post("/v1/screen/file", files={"file": ("site.geojson", json.dumps(feature(SITE_GENERAL)).encode())},
                    data={"industry": "6550", "water_m3": "NaN"})
    _error(r, 422, "project_invalid")


# ----------------------------------------------------------------- 2. CPU off the event loop, time budget, queue


def test_healthz_stays_fast_while_a_large_site_is_screened_and_the_budget_cuts_it(client, server):
    heavy = json.dumps(feature(zigzag(60_000), industry="6550")).encode()
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        slow = ex.submit(lambda: _post_raw(server.client(), heavy))
        time.sleep(0.8)  # the worker process is busy with it now
        waits = []
        for _ in range(5):
            t = time.monotonic()
            assert client.get("/healthz").status_code == 200
            waits.append(time.monotonic() - t)
        # small requests are queued behind the big one (one screening process), never lost: the
        # queue holds one, a third is told to come back
        second = ex.submit(lambda: _post_raw(server.client(), heavy))
        time.sleep(0.3)
        third = _post_raw(client, heavy)
        r = slow.result()
        r2 = second.result()
    assert max(waits) < 2.0, waits  # liveness, generously: the event loop is free
    err = _error(r, 504, "time_budget_exceeded")
    assert "time budget of 3 s" in err["detail"]
    _error(third, 503, "busy")
    assert third.headers["retry-after"]
    assert r2.status_code == 504
    # the worker doing the cut-off work was replaced: the next request is screened
    ok = client.post("/v1/screen", json=feature(SITE_GENERAL, industry="6550"))
    assert ok.status_code == 200, ok.text
    assert client.get("/healthz").json()["workers"]["timeouts"] >= 2


# ----------------------------------------------------------------- 4. GeoPackage with SQL in it


def _gpkg_with(tmp_path, sql):
    name, data = site_files(tmp_path)["gpkg"]
    path = tmp_path / "evil.gpkg"
    path.write_bytes(data)
    con = sqlite3.connect(path)
    con.executescript(sql)
    con.commit()
    con.close()
    return path.read_bytes()


RECURSIVE_VIEW = """
CREATE VIEW bomb AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000)
  SELECT x AS fid, NULL AS geom FROM c;
INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES ('bomb', 'features', 'bomb', 4490);
INSERT INTO gpkg_geometry_columns VALUES ('bomb', 'geom', 'POLYGON', 4490, 0, 0);
"""


@pytest.mark.parametrize("sql, what", [
    (RECURSIVE_VIEW, "view 'bomb'"),
    ("CREATE TRIGGER t AFTER INSERT ON gpkg_contents BEGIN SELECT 1; END;", "trigger 't'"),
    ("CREATE TABLE g (a INTEGER, b INTEGER AS (a * 2));", "generated columns in 'g'"),
])
def test_geopackage_with_sql_is_refused(client, tmp_path, sql, what):
    data = _gpkg_with(tmp_path, sql)
    t = time.monotonic()
    r = client.post("/v1/screen/file", files={"file": ("site.gpkg", data)}, data={"industry": "6550"})
    err = _error(r, 422, "unsafe_geopackage")
    assert what in err["detail"]
    assert time.monotonic() - t < 10  # refused before GDAL ran the view (it would take ~30 s)


# ----------------------------------------------------------------- 5. slowloris


def test_half_open_connections_are_closed_and_healthz_answers(server, client):
    socks = []
    try:
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", server.port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            socks.append(s)
        t = time.monotonic()
        assert client.get("/healthz").status_code == 200
        assert time.monotonic() - t < 2.0
        time.sleep(2.5)  # past the 1 s header deadline: the server has closed them
        socks[0].settimeout(2)
        assert socks[0].recv(100) == b""
    finally:
        for s in socks:
            s.close()


def test_stalled_body_gets_408(server):
    s = socket.create_connection(("127.0.0.1", server.port))
    try:
        s.sendall(b"POST /v1/screen HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"type\":")
        s.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), data
    assert json.loads(body)["error"] == "request_timeout"


# ----------------------------------------------------------------- 11. smaller


def test_405_says_allow_and_bodies_that_do_not_parse_are_422(client):
    r = client.get("/v1/screen")
    _error(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "POST"
    r = client.post("/v1/screen/file", content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 422, r.text


def test_errors_do_not_leak_temporary_paths(client):
    r = client.post("/v1/screen/file", files={"file": ("site.gpkg", b"SQLite format 3\x00" + b"\x00" * 2000)}, data={"industry": "6550"})
    err = _error(r, 422, "site_invalid")
    assert "/tmp" not in err["detail"] and "zoning-site-" not in err["detail"] and "zoning-work-" not in err["detail"]
    assert "It might help" not in err["detail"]
