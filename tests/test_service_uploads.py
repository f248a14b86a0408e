"""POST /v1/screen/file end to end: every upload format, every guard rail, temp files cleaned."""

import io
import json
import zipfile

import pytest

from service_support import SITE_KEY, feature, shapefile_without_prj, site_files, start_server

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

LIMITS = {
    "ZONING_MAX_BODY_BYTES": str(3 * 1024 * 1024),
    "ZONING_MAX_FEATURES": "5",
    "ZONING_MAX_VERTICES": "500",
    "ZONING_MAX_UNZIPPED_BYTES": str(8 * 1024 * 1024),
    "ZONING_MAX_ZIP_RATIO": "50",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("uploads")
    tmp = work / "tmp"
    tmp.mkdir()
    srv = start_server(work, env={**LIMITS, "TMPDIR": str(tmp)})
    srv.tmpdir = tmp
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return site_files(tmp_path_factory.mktemp("files"))


def _post(client, filename, data, params=None, **fields):
    fields.setdefault("industry", "2614")
    fields.setdefault("construction", "new")
    return client.post("/v1/screen/file", params=params or {}, files={"file": (filename, data)}, data=fields)


def _error(r, status, code):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "detail", "request_id"} and body["error"] == code, body
    return body


@pytest.mark.parametrize("fmt", ["shapefile", "gpkg", "kml", "kmz", "geojson", "txt"])
def test_each_format_gives_the_same_verdict(client, files, fmt, grid_pack):
    name, data = files[fmt]
    r = _post(client, name, data, emissions="VOCs=1.5", fuel="natural_gas", water_m3="1000")
    assert r.status_code == 200, r.text
    v = r.json()
    expected = grid_pack.screen(SITE_KEY, {"industry": "2614", "construction": "new", "emissions": {"VOCs": 1.5},
                                           "fuel": ["natural_gas"], "water_m3": 1000}).to_dict()
    assert v["verdict"] == expected["verdict"]
    assert [u["unit_code"] for u in v["units"]] == ["ZH33052120001"]
    assert v["site"]["area_m2"] == pytest.approx(expected["site"]["area_m2"], rel=1e-4)
    assert {f["clause_id"] for f in v["findings"]} == {f["clause_id"] for f in expected["findings"]}
    rec = client.get(f"/v1/screenings/{v['screening_id']}").json()
    assert rec["request"]["kind"] == "upload" and rec["request"]["filename"] == name
    assert rec["request"]["fields"]["industry"] == "2614"
    assert len(rec["request"]["sha256"]) == 64


def test_project_as_json_field(client, files):
    name, data = files["geojson"]
    project = {"name": "p", "industry": ["6550"], "construction": "new", "fuel": []}
    r = client.post("/v1/screen/file", files={"file": (name, data)}, data={"project": json.dumps(project)})
    assert r.status_code == 200, r.text
    assert r.json()["project"]["industry"] == ["6550"]
    _error(client.post("/v1/screen/file", files={"file": (name, data)}, data={"project": "[1]"}), 422, "project_invalid")
    _error(client.post("/v1/screen/file", files={"file": (name, data)}, data={"project": "{oops"}), 422, "project_invalid")
    _error(_post(client, name, data, industry="9999"), 422, "project_invalid")
    _error(_post(client, name, data, emissions="VOCs"), 422, "project_invalid")


def test_missing_or_wrong_crs(client, tmp_path):
    name, data = shapefile_without_prj(tmp_path)
    err = _error(_post(client, name, data), 422, "crs_invalid")
    assert "CRS" in err["detail"]
    ok = _post(client, name, data, params={"crs": "EPSG:4549"})
    assert ok.status_code == 200, ok.text
    assert [u["unit_code"] for u in ok.json()["units"]] == ["ZH33052120001"]
    _error(_post(client, name, data, params={"crs": "EPSG:4326"}), 422, "crs_invalid")  # metres read as degrees
    _error(_post(client, name, data, params={"crs": "not-a-crs"}), 422, "crs_invalid")


def test_unsupported_and_broken_files(client):
    _error(_post(client, "site.exe", b"MZ\x90\x00"), 415, "unsupported_file_type")
    _error(_post(client, "site.geojson", b""), 422, "empty_upload")
    _error(_post(client, "site.zip", b"PK\x03\x04 not really a zip"), 422, "bad_archive")
    _error(_post(client, "site.geojson", b"{not json"), 422, "site_invalid")
    _error(_post(client, "site.gpkg", b"SQLite format 3\x00garbage"), 422, "site_invalid")
    _error(_post(client, "site.kml", b"<kml><Document><Placemark>"), 422, "bad_xml")
    r = client.post("/v1/screen/file", data={"industry": "2614"})
    _error(r, 422, "bad_input")


def _zip(members, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_bomb_by_ratio(client):
    bomb = _zip({"site.shp": b"\0" * (6 * 1024 * 1024)})  # 6 MiB of zeros → a few kB
    assert len(bomb) < 20_000
    err = _error(_post(client, "site.zip", bomb), 422, "zip_bomb")
    assert "compresses" in err["detail"] and "zip bomb" in err["detail"]


def test_zip_bomb_by_total_size(client):
    bomb = _zip({f"part{i}.dbf": b"\0" * (3 * 1024 * 1024) for i in range(3)})  # 9 MiB > the 8 MiB limit
    err = _error(_post(client, "site.kmz", bomb), 422, "zip_bomb")
    assert "would unpack to more than" in err["detail"]


def test_zip_with_lying_sizes(client):
    honest = _zip({"site.shp": b"A" * 5000})
    lying = bytearray(honest)
    cd = lying.rfind(b"PK\x01\x02")  # central directory header: uncompressed size at offset 24
    lying[cd + 24:cd + 28] = (10).to_bytes(4, "little")
    r = _post(client, "site.zip", bytes(lying))
    assert r.status_code == 422 and r.json()["error"] in {"zip_bomb", "bad_archive"}, r.text


def test_zip_too_many_members(client):
    data = _zip({f"f{i}.txt": b"x" for i in range(250)})
    _error(_post(client, "site.zip", data), 422, "zip_bomb")


@pytest.mark.parametrize("member", ["../../evil.shp", "/etc/passwd", "C:/evil.shp", "a/../../evil.shp", "..\\evil.shp"])
def test_zip_path_traversal(client, member):
    data = _zip({member: b"x"})
    err = _error(_post(client, "site.zip", data), 422, "path_traversal")
    assert "escapes" in err["detail"]


def test_zip_symlink(client):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("site.shp")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    _error(_post(client, "site.zip", buf.getvalue()), 422, "path_traversal")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&lol9;</name>
<Point><coordinates>120.01,30.72</coordinates></Point></Placemark></kml>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&xxe;</name>
<Point><coordinates>120.01,30.72</coordinates></Point></Placemark></kml>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_kml_entities_refused(client, payload):
    err = _error(_post(client, "site.kml", payload), 422, "unsafe_xml")
    assert "refused" in err["detail"]
    _error(_post(client, "site.kmz", _zip({"doc.kml": payload})), 422, "unsafe_xml")


def test_feature_and_vertex_limits(client):
    fc = {"type": "FeatureCollection", "features": [feature(SITE_KEY) for _ in range(6)]}
    _error(_post(client, "many.geojson", json.dumps(fc).encode()), 422, "too_many_features")
    import shapely

    dense = shapely.set_precision(SITE_KEY.segmentize(0.00001), 1e-8)
    assert shapely.get_num_coordinates(dense) > 500
    _error(_post(client, "dense.geojson", json.dumps(feature(dense)).encode()), 422, "too_many_vertices")
    kml = b"<kml xmlns='http://www.opengis.net/kml/2.2'><Document>" + b"".join(
        b"<Placemark><Point><coordinates>120.01,30.72</coordinates></Point></Placemark>" for _ in range(6)) + b"</Document></kml>"
    _error(_post(client, "many.kml", kml), 422, "too_many_features")


def test_body_limit_on_upload(client):
    data = b"{" + b" " * (3 * 1024 * 1024 + 10) + b"}"
    _error(_post(client, "big.geojson", data), 413, "body_too_large")


def test_temp_files_are_cleaned(server, client, files):
    # after every kind of upload above (good and refused), nothing is left in the server's TMPDIR
    name, data = files["shapefile"]
    assert _post(client, name, data).status_code == 200
    big = files["gpkg"][1] + b"\0" * (2 * 1024 * 1024)  # > 1 MiB: spooled to disk by the form parser
    _post(client, "site.gpkg", big)
    _post(client, "site.zip", _zip({"../x": b"x"}))
    assert client.get("/healthz").status_code == 200
    # a screening process keeps its private directory (zoning-work-PID) while it runs, and
    # multiprocessing its fork server's socket (pymp-*): neither may hold anything of an upload
    work = [p for p in server.tmpdir.iterdir() if p.name.startswith("zoning-work-")]
    assert len(work) == 1, list(server.tmpdir.iterdir())
    leftovers = [p for p in server.tmpdir.rglob("*") if p not in work and not any(q.name.startswith("pymp-") for q in (p, *p.parents))]
    assert leftovers == [], leftovers


def _dxf_with_frame(tmp_path):
    """A CAD drawing on CGCS2000 GK zone 40 (no CRS inside, as CAD files are): the site on layer
    SITE, a title-block frame ten times larger on layer FRAME."""
    import geopandas as gpd
    import pyogrio
    import shapely

    from service_support import _frame

    site = _frame(SITE_KEY).to_crs(4549).geometry.iloc[0]
    frame = shapely.box(*site.buffer(2000).bounds)
    layers = ["SITE", "FRAME"]
    gdf = gpd.GeoDataFrame({"Layer": layers}, geometry=[shapely.LineString(site.exterior.coords),
                                                         shapely.LineString(frame.exterior.coords)])
    pyogrio.write_dataframe(gdf, tmp_path / "plan.dxf", driver="DXF", layer="entities")
    return (tmp_path / "plan.dxf").read_bytes()


def test_dxf_upload_with_a_crs_and_a_layer(client, tmp_path, grid_pack):
    """Issue 14, item 3: the upload endpoint takes a DXF drawing with its CRS and a CAD layer."""
    data = _dxf_with_frame(tmp_path)
    err = _error(_post(client, "plan.dxf", data, params={"crs": "EPSG:4549"}), 422, "site_invalid")
    assert "'FRAME'" in err["detail"] and "'SITE'" in err["detail"] and "::LAYER" in err["detail"]
    _error(_post(client, "plan.dxf::SITE", data), 422, "crs_invalid")  # CAD files carry no CRS
    r = _post(client, "plan.dxf::SITE", data, params={"crs": "EPSG:4549"})
    assert r.status_code == 200, r.text
    v = r.json()
    expected = grid_pack.screen(SITE_KEY, {"industry": "2614", "construction": "new"}).to_dict()
    assert v["verdict"] == expected["verdict"] and [u["unit_code"] for u in v["units"]] == ["ZH33052120001"]
    assert v["site"]["area_m2"] == pytest.approx(expected["site"]["area_m2"], rel=1e-4)
    rec = client.get(f"/v1/screenings/{v['screening_id']}").json()
    assert rec["request"]["filename"] == "plan.dxf::SITE" and "DXF layer 'SITE'" in rec["request"]["site_source"]


def test_boundary_point_tables_are_accepted(client, tmp_path, grid_pack):
    import openpyxl

    from service_support import _frame

    ring = list(_frame(SITE_KEY).to_crs(4326).geometry.iloc[0].exterior.coords)[:-1]
    csv = "点号,经度,纬度\n" + "".join(f"J{i},{x:.9f},{y:.9f}\n" for i, (x, y) in enumerate(ring, 1))
    book = openpyxl.Workbook()
    book.active.append(["点号", "经度", "纬度"])
    for i, (x, y) in enumerate(ring, 1):
        book.active.append([f"J{i}", x, y])
    buf = io.BytesIO()
    book.save(buf)
    expected = grid_pack.screen(SITE_KEY, {"industry": "2614", "construction": "new"}).to_dict()
    for name, data in (("points.csv", csv.encode("utf-8")), ("points.xlsx", buf.getvalue())):
        r = _post(client, name, data)
        assert r.status_code == 200, (name, r.text)
        assert r.json()["verdict"] == expected["verdict"]
        assert r.json()["site"]["area_m2"] == pytest.approx(expected["site"]["area_m2"], rel=1e-4)
    bomb = _zip({"xl/worksheets/sheet1.xml": b"<a>" + b" " * (6 * 1024 * 1024) + b"</a>"})
    _error(_post(client, "points.xlsx", bomb), 422, "zip_bomb")
