"""OGC API – Processes: zoning-screen and zoning-eligibility through pygeoapi's Flask test client,
on the configuration shipped as docs/pygeoapi-config.yml."""

import importlib
import json
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("pygeoapi", reason='pygeoapi is not installed (pip install -e ".[dev]" or "zoning[ogc]")')
pytest.importorskip("flask", reason="pygeoapi's Flask app needs flask")

import zoning  # noqa: E402
from zoning import ogc  # noqa: E402

ROOT = Path(__file__).parent.parent
SITES = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "id": "a", "geometry": {"type": "Point", "coordinates": [119.95, 30.55]},
         "properties": {"name": "甲厂", "industry": "2614"}},
        {"type": "Feature", "id": "b", "geometry": {"type": "Point", "coordinates": [119.6, 30.5]},
         "properties": {"name": "乙厂", "industry": "6550", "construction": "expansion"}},
        {"type": "Feature", "id": "c", "geometry": {"type": "Polygon", "coordinates": [[
            [120.05, 30.80], [120.06, 30.80], [120.06, 30.81], [120.05, 30.81], [120.05, 30.80]]]},
         "properties": {"name": "丙地块", "industry": None}},
    ],
}
PROJECT = {"construction": "new", "industry": "3311", "emissions": {"VOCs": 12.5, "NOx": 3}, "fuel": ["natural_gas"],
           "water_m3": 20000}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    pygeoapi_openapi = importlib.import_module("pygeoapi.openapi")
    tmp = tmp_path_factory.mktemp("pygeoapi")
    cfg = yaml.safe_load((ROOT / "docs" / "pygeoapi-config.yml").read_text(encoding="utf-8"))
    cfg["server"]["manager"].update(connection=str(tmp / "jobs.db"), output_dir=str(tmp))
    config = tmp / "config.yml"
    config.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    openapi = tmp / "openapi.yml"
    openapi.write_text(pygeoapi_openapi.generate_openapi_document(config, "yaml"),
                       encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("PYGEOAPI_CONFIG", str(config))
    mp.setenv("PYGEOAPI_OPENAPI", str(openapi))
    if "pygeoapi.flask_app" in sys.modules:
        app = importlib.reload(sys.modules["pygeoapi.flask_app"])
    else:
        app = importlib.import_module("pygeoapi.flask_app")
    app.APP.config["TESTING"] = True
    yield app.APP.test_client()
    mp.undo()


def _execute(client, process, inputs):
    resp = client.post(f"/processes/{process}/execution", json={"inputs": inputs},
                       headers={"Content-Type": "application/json"})
    return resp.status_code, json.loads(resp.data)


def test_processes_are_listed_with_bilingual_titles(client):
    resp = client.get("/processes?f=json", headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 200
    ids = {p["id"]: p for p in json.loads(resp.data)["processes"]}
    assert {"zoning-screen", "zoning-eligibility"} <= set(ids)
    assert ids["zoning-screen"]["title"] == "场地研判"
    resp = client.get("/processes/zoning-eligibility?f=json", headers={"Accept-Language": "en-US"})
    desc = json.loads(resp.data)
    assert desc["title"] == "Eligibility map"
    assert set(desc["inputs"]) == {"project", "pack", "simplify_m"}


def test_screen_feature_collection_matches_screen_many(client):
    status, out = _execute(client, "zoning-screen", {"sites": SITES, "project": PROJECT, "pack": "huzhou-demo"})
    assert status == 200, out
    assert out["type"] == "FeatureCollection" and len(out["features"]) == 3
    pack = zoning.load_pack()
    assert out["pack"] == {"id": pack.id, "version": str(pack.version), "digest": pack.digest}
    import geopandas as gpd

    expected = pack.screen_many(gpd.GeoDataFrame.from_features(SITES["features"], crs="EPSG:4326"), PROJECT)
    for feat, (_, row) in zip(out["features"], expected.iterrows()):
        props = feat["properties"]
        assert set(ogc.BATCH_COLUMNS) <= set(props)
        for col in ("verdict", "verdict_zh", "units", "red_line", "blocking", "missing", "n_findings"):
            assert props[col] == row[col], (feat["id"], col)
        assert props["error"] is None
    assert [f["id"] for f in out["features"]] == ["a", "b", "c"]
    assert out["features"][0]["properties"]["name"] == "甲厂"
    # the feature's own industry wins over the project's; the project fills what a feature leaves out
    single = pack.screen(SITES["features"][1]["geometry"], {**PROJECT, "industry": "6550", "construction": "expansion"})
    assert out["features"][1]["properties"]["verdict"] == single.verdict
    assert out["features"][1]["properties"]["missing"] == ";".join(single.missing)


def test_screen_one_feature_returns_the_full_verdict(client):
    feature = SITES["features"][0]
    status, out = _execute(client, "zoning-screen", {"sites": feature, "project": PROJECT})
    assert status == 200, out
    expected = zoning.load_pack().screen(feature["geometry"], {**PROJECT, "name": "甲厂", "industry": "2614"}).to_dict()
    for key in ("verdict", "verdict_zh", "pack", "units", "red_line", "findings", "obligations", "missing"):
        assert out[key] == expected[key], key


def test_eligibility_matches_the_library(client):
    project = {"industry": "2614", "construction": "new", "emissions": {"VOCs": 5}, "fuel": ["natural_gas"]}
    status, out = _execute(client, "zoning-eligibility", {"project": project, "pack": "huzhou-demo"})
    assert status == 200, out
    elig = zoning.load_pack().eligibility(project)
    assert out["type"] == "FeatureCollection"
    assert len(out["features"]) == len(elig.frame)
    assert out["areas_m2"] == pytest.approx(dict(elig.areas_m2))
    assert out["crs"]["properties"]["name"].endswith("4490")
    props = out["features"][0]["properties"]
    assert set(props) >= {"verdict", "verdict_zh", "blocking", "missing", "area_m2"}
    assert {f["properties"]["verdict"] for f in out["features"]} <= set(zoning.VERDICTS)


@pytest.mark.parametrize(
    ("process", "inputs", "message"),
    [
        ("zoning-screen", {"sites": SITES, "pack": "nowhere"}, "unknown pack 'nowhere'; expected one of huzhou-demo"),
        ("zoning-screen", {"sites": SITES, "pack": str(ROOT / "data" / "packs" / "huzhou-demo")},
         "naming a directory is not allowed"),
        ("zoning-screen", {"sites": {"type": "Point", "coordinates": [120, 30]}}, "must be a GeoJSON Feature or FeatureCollection, got type 'Point'"),
        ("zoning-screen", {"sites": SITES, "project": {"industry": "2615"}}, "industry code '2615' is not in GB/T 4754-2017"),
        ("zoning-screen", {"sites": SITES, "projet": {}}, "unknown input(s) 'projet'"),
        ("zoning-eligibility", {"project": {"construction": "newly"}}, "construction"),
        ("zoning-eligibility", {"project": {}, "simplify_m": -1}, "simplify_m' must be a number of metres"),
    ],
)
def test_bad_input_is_one_clear_error(client, process, inputs, message):
    status, out = _execute(client, process, inputs)
    assert status == 400
    assert message in out["description"]
    assert "Traceback" not in out["description"]


def test_configured_packs_and_paths():
    demo = str(ROOT / "data" / "packs" / "huzhou-demo")
    feature = SITES["features"][0]
    by_id = ogc.screen_sites({"sites": feature, "pack": "mine"}, {"packs": {"mine": demo}})
    by_path = ogc.screen_sites({"sites": feature, "pack": demo}, {"allow_pack_paths": True})
    assert by_id["verdict"] == by_path["verdict"]
    assert by_id["pack"]["id"] == "huzhou-demo"
    with pytest.raises(ogc.OgcInputError, match=r"is at version 2024.1, not '1999'"):
        ogc.screen_sites({"sites": feature, "pack": "huzhou-demo@1999"})
