"""POST /v1/screen/batch end to end (a real `zoning serve` on loopback), and the validation-error JSON.

The reference is `pack.screen_many` on the same features, built here independently of the
service (geopandas' own GeoJSON reading).
"""

import json
import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.geometry

from conftest import gk
from service_support import SITE_GENERAL, SITE_KEY, SITE_PRI, assert_error, feature, start_server
from zoning.service.store import Store
from zoning.webmap import wgs84_to_gcj02

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

LIMIT = 40  # ZONING_MAX_BATCH_FEATURES of the test server
COLUMNS = ["verdict", "verdict_zh", "units", "red_line", "blocking", "missing", "n_findings", "error"]
DEFAULT = {"construction": "new", "fuel": [], "water_m3": 0, "coal_t": 0}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("batch"), env={"ZONING_MAX_BATCH_FEATURES": str(LIMIT)})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


def sites():
    """Points, polygons and a line on the grid pack, with projects that give every verdict."""
    return [
        feature(SITE_PRI, name="优先保护单元化工", industry="2614"),
        feature(SITE_KEY, name="禁燃区锅炉", industry="4430", fuel=["coal"]),
        feature(SITE_GENERAL, name="一般单元数据中心", industry="6550"),
        feature(gk(shapely.Point(1700, 1700)), name="粗分类行业", industry="26"),
        feature(gk(shapely.Point(300, 1800)), name="水源区印染", industry="1712", emissions={"VOCs": 2.5}),
        feature(gk(shapely.LineString([(50, 1200), (900, 1300)])), name="管线", industry="5720", activity="linear_infrastructure"),
        feature(gk(shapely.Point(150, 1500)), name="默认行业"),  # industry from nowhere: needs information
    ]


def reference(grid_pack, features, default):
    frame = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    return grid_pack.screen_many(frame, default)


def plain(v):
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    return int(v) if isinstance(v, (np.integer,)) else v


def assert_rows_equal(rows, ref):
    assert len(rows) == len(ref)
    for i, row in enumerate(rows):
        assert row["index"] == i
        for c in COLUMNS:
            want = plain(ref[c].iloc[i])
            assert row[c] == (int(want) if c == "n_findings" and want is not None else want), (i, c, row)


def test_rows_equal_screen_many(client, grid_pack):
    features = sites()
    r = client.post("/v1/screen/batch", json={"type": "FeatureCollection", "project": DEFAULT, "features": features})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["pack"] == {"id": "grid-test", "version": "1.0", "digest": grid_pack.digest}
    assert out["recorded"] is False
    ref = reference(grid_pack, features, DEFAULT)
    assert_rows_equal(out["rows"], ref)
    assert {row["verdict"] for row in out["rows"]} >= {"prohibited", "needs_information", "permitted"}
    want = {v: int((ref["verdict"] == v).sum()) for v in ["prohibited", "needs_information", "conditional", "permitted"]}
    assert out["counts"] == {**want, "error": 0, "total": len(features)}
    assert all("screening_id" not in row for row in out["rows"])
    # the same rows with pack=ID@VERSION, and feature ids handed back
    for i, f in enumerate(features):
        f["id"] = f"A-{i:02d}"
    again = client.post("/v1/screen/batch", params={"pack": "grid-test@1.0"}, json={"type": "FeatureCollection", "project": DEFAULT, "features": features}).json()
    assert [row["id"] for row in again["rows"]] == [f"A-{i:02d}" for i in range(len(features))]
    assert [row["verdict"] for row in again["rows"]] == [row["verdict"] for row in out["rows"]]
    assert_error(client.post("/v1/screen/batch", params={"pack": "grid-test@9.9"}, json={"type": "FeatureCollection", "features": features}), 404, "pack_version_not_found")
    assert_error(client.post("/v1/screen/batch", params={"pack": "nope"}, json={"type": "FeatureCollection", "features": features}), 404, "pack_not_found")


def test_properties_override_the_default_project(client, grid_pack):
    """A feature's properties win over `project`; without `project` the rows' own keys alone count."""
    features = [feature(SITE_GENERAL, industry="6550", water_m3=10), feature(SITE_GENERAL, industry="6550")]
    default = {"construction": "new", "water_m3": 999999999, "fuel": []}
    rows = client.post("/v1/screen/batch", json={"type": "FeatureCollection", "project": default, "features": features}).json()["rows"]
    assert_rows_equal(rows, reference(grid_pack, features, default))
    assert rows[0]["blocking"] != rows[1]["blocking"]  # 10 m³ fits the quota, 999,999,999 does not
    bare = client.post("/v1/screen/batch", json={"type": "FeatureCollection", "features": features}).json()["rows"]
    assert_rows_equal(bare, reference(grid_pack, features, None))


def test_crs_and_gcj02(client, grid_pack):
    features = sites()[:3]
    gk_features = [feature(shapely.affinity.translate(shapely.box(200, 200, 400, 400), 500000, 3400000), industry="2614")]
    r = client.post("/v1/screen/batch", params={"crs": "EPSG:4549"}, json={"type": "FeatureCollection", "project": DEFAULT, "features": gk_features})
    assert r.json()["rows"][0]["verdict"] == "prohibited" and r.json()["rows"][0]["units"] == "ZH33052110001"
    legacy = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:4549"}}, "project": DEFAULT, "features": gk_features}
    assert client.post("/v1/screen/batch", json=legacy).json()["rows"] == r.json()["rows"]
    moved = [dict(f, geometry=shapely.geometry.mapping(wgs84_to_gcj02(shapely.geometry.shape(f["geometry"])))) for f in features]
    got = client.post("/v1/screen/batch", params={"gcj02": "true"}, json={"type": "FeatureCollection", "project": DEFAULT, "features": moved}).json()["rows"]
    ref = reference(grid_pack, features, DEFAULT)
    assert [row["verdict"] for row in got] == list(ref["verdict"])
    assert [row["units"] for row in got] == list(ref["units"])
    assert_error(client.post("/v1/screen/batch", params={"gcj02": "true", "crs": "EPSG:4549"}, json=legacy), 422, "bad_input")
    assert_error(client.post("/v1/screen/batch", params={"crs": "EPSG:99999"}, json=legacy), 422, "crs_invalid")


def test_bad_features_are_row_errors_and_the_others_go_on(client, grid_pack):
    good = sites()[:3]
    bowtie = gk(shapely.Polygon([(10, 10), (90, 90), (90, 10), (10, 90)]))
    body = {"type": "FeatureCollection", "project": DEFAULT, "features": [
        good[0],
        feature(bowtie, industry="6550"),
        feature(SITE_GENERAL, industry="9999"),
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": ["120", 30]}},
        {"type": "Feature", "properties": {}, "geometry": None},
        "not a feature",
        {"type": "Feature", "properties": ["a"], "geometry": shapely.geometry.mapping(SITE_GENERAL)},
        {"type": "Feature", "properties": {"name": "x\ud800"}, "geometry": shapely.geometry.mapping(SITE_GENERAL)},
        feature(gk(shapely.box(5000, 5000, 5100, 5100)), industry="6550"),
        good[1],
        good[2],
    ]}
    data = json.dumps(body).encode()  # the lone surrogate goes through as \ud800
    r = client.post("/v1/screen/batch", content=data, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    out = r.json()
    rows = out["rows"]
    errors = [row["error"] for row in rows]
    assert errors[0] is None and errors[9] is None and errors[10] is None
    assert errors[1].startswith("invalid geometry")
    assert "'9999' is not in GB/T 4754-2017" in errors[2]
    assert "coordinates[0] is a string ('120')" in errors[3]
    assert "no geometry" in errors[4]
    assert errors[5] == "item 5 of 'features' is not a GeoJSON Feature (got a string)"
    assert "properties must be an object" in errors[6]
    assert "not valid Unicode text" in errors[7]
    assert errors[8] == "outside the pack's region"
    for i in (1, 2, 3, 4, 5, 6, 7, 8):
        assert rows[i]["verdict"] is None and rows[i]["n_findings"] is None
    ref = reference(grid_pack, good, DEFAULT)
    for k, i in enumerate((0, 9, 10)):
        assert [rows[i][c] for c in COLUMNS] == [plain(ref[c].iloc[k]) for c in COLUMNS]
    assert out["counts"]["error"] == 8 and out["counts"]["total"] == 11


def test_limits_and_bad_bodies_give_one_error(client):
    one = feature(SITE_GENERAL, industry="6550")
    body = assert_error(client.post("/v1/screen/batch", json={"type": "FeatureCollection", "features": [one] * (LIMIT + 1)}), 422, "too_many_features")
    assert f"the batch has {LIMIT + 1} features; the limit is {LIMIT}" in body["detail"]["message"]
    assert body["detail"]["limit"] == LIMIT
    assert client.post("/v1/screen/batch", json={"type": "FeatureCollection", "features": [one] * LIMIT}).status_code == 200
    assert_error(client.post("/v1/screen/batch", content=b"{not json", headers={"content-type": "application/json"}), 422, "bad_input")
    body = assert_error(client.post("/v1/screen/batch", json=one), 422, "bad_input")
    assert "expected a GeoJSON FeatureCollection" in body["detail"] and "'Feature'" in body["detail"]
    assert_error(client.post("/v1/screen/batch", json={"type": "FeatureCollection", "features": {}}), 422, "bad_input")
    assert "no features" in assert_error(client.post("/v1/screen/batch", json={"type": "FeatureCollection", "features": []}), 422, "bad_input")["detail"]
    assert_error(client.post("/v1/screen/batch", json={"type": "FeatureCollection", "project": [1], "features": [one]}), 422, "project_invalid")
    body = assert_error(client.post("/v1/screen/batch", json={"type": "FeatureCollection", "project": {"industry": "9999"}, "features": [one]}), 422, "project_invalid")
    assert "9999" in body["detail"]
    half = feature(shapely.LineString(np.column_stack([np.linspace(120, 120.01, 120_000), np.full(120_000, 30.7)])))
    body = assert_error(client.post("/v1/screen/batch", json={"type": "FeatureCollection", "features": [half, half]}), 422, "too_many_vertices")
    assert "more than 200000 vertices in all" in body["detail"]  # ZONING_MAX_VERTICES holds for the whole batch


def test_record_true_stores_every_row_in_one_chained_transaction(client, server, grid_pack):
    features = sites()
    features.insert(2, feature(SITE_GENERAL, industry="9999"))
    db = server.env["ZONING_DB_URL"].removeprefix("sqlite:///")
    before = sqlite3.connect(db).execute("SELECT count(*) FROM screenings").fetchone()[0]
    r = client.post("/v1/screen/batch", params={"record": "true"}, json={"type": "FeatureCollection", "project": DEFAULT, "features": features})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["recorded"] is True
    ids = [row["screening_id"] for row in out["rows"]]
    assert ids[2] is None and out["rows"][2]["error"]
    stored = [i for i in ids if i is not None]
    assert len(stored) == len(features) - 1 and len(set(stored)) == len(stored)
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM screenings").fetchone()[0] == before + len(stored)
    seqs = [con.execute("SELECT seq FROM screenings WHERE id = ?", (i,)).fetchone()[0] for i in stored]
    assert seqs == list(range(seqs[0], seqs[0] + len(stored)))  # consecutive, in feature order
    assert Store(server.env["ZONING_DB_URL"], create=False).verify()["status"] == "ok"
    for row, f in zip(out["rows"], features):
        if row["screening_id"] is None:
            continue
        rec = client.get(f"/v1/screenings/{row['screening_id']}").json()
        assert rec["integrity"] == "ok"
        alone = grid_pack.screen(f, DEFAULT | f["properties"]).to_dict()
        assert rec["verdict"]["verdict"] == row["verdict"] == alone["verdict"]
        assert [x["clause_id"] for x in rec["verdict"]["findings"]] == [x["clause_id"] for x in alone["findings"]]
        assert rec["request"]["kind"] == "batch" and rec["request"]["project"] == DEFAULT | f["properties"]
        assert shapely.geometry.shape(rec["request"]["site"]).equals_exact(shapely.geometry.shape(f["geometry"]), 1e-9)
        assert client.get(f"/v1/screenings/{row['screening_id']}/map").status_code == 200


def test_validation_errors_give_a_message(client):
    """Framework validation errors (query parameters) are `bad_input` with a one-line message, as README says."""
    body = assert_error(client.post("/v1/screen/batch", params={"record": "maybe"}, json={"type": "FeatureCollection", "features": []}), 422, "bad_input")
    assert body["detail"] == "query parameter 'record' is 'maybe'; expected a valid boolean"
    body = assert_error(client.post("/v1/eligibility", params={"simplify_m": "5000"}, json={"industry": "2614"}), 422, "bad_input")
    assert isinstance(body["detail"], str)
    assert body["detail"].startswith("query parameter 'simplify_m' is '5000'; expected less than or equal to 1000")
    body = assert_error(client.post("/v1/screen/file", data={"industry": "2614"}), 422, "bad_input")
    assert body["detail"] == "form field 'file' is missing; it is required"
