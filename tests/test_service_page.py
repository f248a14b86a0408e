"""The page for enterprises in headless Chromium (Debian's chromium; never `playwright install`).

Skipped when Chromium or the npm-installed Leaflet (`make web`) is missing.
"""

import json
import shutil
from pathlib import Path

import pytest
import shapely

from service_support import SITE_GENERAL, SITE_KEY, SITE_PRI, site_files, start_server
from zoning import vocab
from zoning.verdict import deciding_findings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VENDOR = Path(__file__).resolve().parent.parent / ".cache" / "web" / "node_modules"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (apt-get install chromium chromium-driver)"),
    pytest.mark.skipif(not (VENDOR / "leaflet-draw").is_dir(), reason="Leaflet is not installed (make web)"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("page"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(live, browser):
    pg = browser.new_page()
    external = []
    pg.on("request", lambda req: external.append(req.url) if not req.url.startswith(live.url) and not req.url.startswith("data:") else None)
    pg.external = external
    yield pg
    pg.close()


def _open(page, live):
    page.goto(live.url + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=20000)


def _pick(page, code):
    page.fill("#industry-search", code)
    page.click(f"#industry-list li[data-code='{code}']")


def _screen(page):
    page.click("#submit")
    page.wait_for_selector("#verdict-banner[data-verdict], #error:not([hidden])", timeout=30000)


def test_paste_a_site_and_see_the_verdict(page, live):
    _open(page, live)
    assert page.evaluate("typeof L !== 'undefined' && typeof L.Control.Draw !== 'undefined'")
    assert page.input_value("#pack") == "grid-test"
    x, y = shapely.get_coordinates(SITE_PRI.centroid)[0]
    page.fill("#site-text", f"{x:.6f},{y:.6f}")
    page.fill("#industry-search", "有机化学原料")
    page.click("#industry-list li[data-code='2614']")
    assert "2614" in page.inner_text("#industry-selected")
    page.select_option("#construction", "new")
    page.click("#submit")
    page.wait_for_selector("#verdict-banner[data-verdict]", timeout=20000)
    assert page.get_attribute("#verdict-banner", "data-verdict") == "prohibited"
    assert "禁止准入" in page.inner_text("#verdict-banner")
    details = page.inner_text("#details")
    assert "T-PRI-01" in details and "ZH33052110001" in details
    assert page.external == [], page.external  # works offline: nothing fetched from elsewhere


def test_paste_geojson_and_gcj02_switch(page, live):
    import json

    from zoning.webmap import wgs84_to_gcj02

    _open(page, live)
    page.fill("#site-text", json.dumps(shapely.geometry.mapping(wgs84_to_gcj02(SITE_GENERAL))))
    page.select_option("#coords", "gcj02")
    page.fill("#industry-search", "6550")
    page.click("#industry-list li[data-code='6550']")
    page.click("#submit")
    page.wait_for_selector("#verdict-banner[data-verdict]", timeout=20000)
    assert "ZH33052130001" in page.inner_text("#details")


def test_bad_input_shows_the_error(page, live):
    _open(page, live)
    page.fill("#site-text", "30.72,120.01")  # swapped
    page.click("#submit")
    page.wait_for_selector("#error:not([hidden])", timeout=20000)
    assert "site_invalid" in page.inner_text("#error")
    # the server's message, as a sentence: not the JSON of the error body
    with live.client() as c:
        r = c.post("/v1/screen", params={"pack": "grid-test"},
                   json={"type": "Feature", "properties": {"construction": "new"}, "geometry": {"type": "Point", "coordinates": [30.72, 120.01]}})
    assert r.status_code == 422
    assert page.inner_text("#error .message") == r.json()["detail"]
    assert "{" not in page.inner_text("#error")


def test_draw_a_polygon(page, live):
    _open(page, live)
    page.fill("#industry-search", "6550")
    page.click("#industry-list li[data-code='6550']")
    page.click(".leaflet-draw-draw-polygon")
    box = page.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx, dy in [(-20, -20), (20, -20), (20, 20), (-20, 20), (-20, -20)]:  # the last closes the ring
        page.mouse.move(cx + dx, cy + dy)
        page.mouse.down()
        page.mouse.up()
        page.wait_for_timeout(150)
    page.wait_for_function("document.getElementById('site-text').value.includes('Polygon')", timeout=10000)
    page.click("#submit")
    page.wait_for_selector("#verdict-banner[data-verdict], #error:not([hidden])", timeout=20000)
    assert page.get_attribute("#verdict-banner", "data-verdict") or page.inner_text("#error")


def test_where_could_it_go(page, live, grid_pack):
    """可选区域: the project's eligibility map drawn by verdict, with areas, clause ids and a way to clear it."""
    from zoning.maps import ELIGIBILITY_COLORS

    project = {"industry": "2614", "construction": "new", "emissions": {"COD": 3}, "water_m3": 1000}
    expected = grid_pack.eligibility(project)
    _open(page, live)
    page.fill("#industry-search", "2614")
    page.click("#industry-list li[data-code='2614']")
    page.select_option("#construction", "new")
    page.fill("[data-pollutant='COD']", "3")
    page.fill("#water_m3", "1000")
    page.click("#eligibility")  # no site needed
    page.wait_for_selector("#eligibility-legend[data-state='shown']", timeout=30000)
    fills = page.evaluate("""() => Object.fromEntries(['prohibited', 'needs_information', 'conditional', 'permitted']
        .map((v) => [v, [...document.querySelectorAll('#map path.elig-' + v)].map((p) => p.getAttribute('fill'))]))""")
    counts = expected.frame["verdict"].value_counts().to_dict()
    for verdict, colour in ELIGIBILITY_COLORS.items():
        assert len(fills[verdict]) == counts[verdict], (verdict, fills[verdict])
        assert set(fills[verdict]) == {colour}, (verdict, fills[verdict])
    legend = page.inner_text("#eligibility-legend")
    for verdict, zh in {"prohibited": "禁止准入", "needs_information": "待补充信息", "conditional": "有条件准入", "permitted": "允许准入"}.items():
        row = page.inner_text(f"#eligibility-legend tr[data-verdict='{verdict}']")
        assert zh in row and f"{expected.areas_m2[verdict] / 1e6:,.3f} km²" in row, row
    assert "20 m" in legend and "grid-test" in legend
    # the deciding clauses: ids in the tooltip, their text in the popup
    near = page.locator("#map path.elig-prohibited").first
    near.dispatch_event("mouseover")
    page.wait_for_selector(".leaflet-tooltip", timeout=5000)
    assert "T-NEAR-01" in page.inner_text(".leaflet-tooltip") and "禁止准入" in page.inner_text(".leaflet-tooltip")
    near.dispatch_event("click")
    page.wait_for_selector(".leaflet-popup-content", timeout=5000)
    assert expected.clauses["T-NEAR-01"] in page.inner_text(".leaflet-popup-content")
    # clear
    page.click("#eligibility-clear")
    assert page.evaluate("document.querySelectorAll('#map path.elig').length") == 0
    assert page.is_hidden("#eligibility-legend")
    assert page.external == [], page.external  # offline


def test_where_could_it_go_bad_project(page, live):
    _open(page, live)
    page.fill("#water_m3", "-5")
    page.click("#eligibility")
    page.wait_for_selector("#error:not([hidden])", timeout=20000)
    assert "project_invalid" in page.inner_text("#error")
    assert page.is_hidden("#eligibility-legend")


def _items(page, selector):
    return page.evaluate(f"""() => [...document.querySelectorAll({selector!r})].map((li) => ({{
        clause: li.dataset.clause, key: li.dataset.key, effect: li.dataset.effect, text: li.innerText}}))""")


def test_deciding_findings_first_with_the_unit_and_overlap(page, live, grid_pack):
    """禁止准入: the clauses that prohibit come first, each with its text, the unit and the overlap measured."""
    project = {"industry": ["2614"], "construction": "new"}
    expected = grid_pack.screen(SITE_PRI, project).to_dict()
    assert expected["verdict"] == "prohibited"
    _open(page, live)
    page.fill("#site-text", json.dumps(shapely.geometry.mapping(SITE_PRI)))
    _pick(page, "2614")
    page.select_option("#construction", "new")
    _screen(page)
    assert page.get_attribute("#verdict-banner", "data-verdict") == "prohibited"
    assert page.inner_text("#verdict-banner").startswith("禁止准入")
    # the order of the sections: deciding findings, missing information, the other findings
    order = page.evaluate("() => [...document.querySelectorAll('#details section')].map((s) => s.id)")
    assert order[0] == "deciding" and order[-1] == "other-findings" and order.index("missing") == 1, order
    deciding = _items(page, "#deciding li.finding")
    want = deciding_findings("prohibited", expected["findings"])
    assert [(d["clause"], d["effect"]) for d in deciding] == [(f["clause_id"], f["effect"]) for f in want]
    unit = expected["units"][0]
    for d, f in zip(deciding, want):
        assert f["text"] in d["text"] and "禁止 prohibit" in d["text"]
        assert vocab.TIERS[f["tier"]] in d["text"] and vocab.DIMENSIONS[f["dimension"]] in d["text"]
    pri = next(d for d in deciding if d["clause"] == "T-PRI-01")
    assert unit["unit_code"] in pri["text"] and unit["unit_name"] in pri["text"] and vocab.CATEGORIES[unit["category"]] in pri["text"]
    assert f"{unit['overlap_m2']:,.0f} m²" in pri["text"] and f"{100 * unit['overlap_share']:.1f}%" in pri["text"]
    red = expected["red_line"][0]
    rl = next(d for d in deciding if d["clause"] == "T-RL-01")
    assert red["redline_id"] in rl["text"] and f"{red['overlap_m2']:,.0f} m²" in rl["text"]
    others = _items(page, "#other-findings li.finding")
    assert {o["clause"] for o in others} == {f["clause_id"] for f in expected["findings"]} - {f["clause_id"] for f in want}
    assert all(o["effect"] != "prohibit" for o in others)


def test_missing_information_as_chinese_labels_with_what_to_supply(page, live, grid_pack):
    """待补充信息: the deciding findings are those asking for more, and the missing attributes are
    listed by their Chinese labels (zoning.vocab, via GET /v1/vocabulary) with what to supply."""
    expected = grid_pack.screen(SITE_KEY, {"industry": ["6550"], "construction": "new"}).to_dict()
    assert expected["verdict"] == "needs_information" and "emissions.VOCs" in expected["missing"]
    _open(page, live)
    page.fill("#site-text", json.dumps(shapely.geometry.mapping(SITE_KEY)))
    _pick(page, "6550")
    _screen(page)
    assert page.inner_text("#verdict-banner") == "待补充信息 needs information"
    deciding = _items(page, "#deciding li.finding")
    assert [d["clause"] for d in deciding] == [f["clause_id"] for f in expected["findings"] if f["effect"] == "needs_information"]
    assert all(d["text"].startswith("待补充信息 needs information") for d in deciding)
    labels = vocab.attribute_labels()
    missing = _items(page, "#missing li")
    assert [m["key"] for m in missing] == expected["missing"]
    for m in missing:
        assert m["text"].startswith(labels[m["key"]]["label"]) and labels[m["key"]]["supply"] in m["text"]
        asking = [f["clause_id"] for f in expected["findings"] if m["key"] in f["missing"]]
        assert asking and all(c in m["text"] for c in asking)
    assert next(m for m in missing if m["key"] == "emissions.VOCs")["text"].startswith("挥发性有机物排放量 (t/a)")
    assert next(m for m in missing if m["key"] == "water_m3")["text"].startswith("用水量 (m³/a)")
    # a finding names what it needs by label too; the quota finding shows demand and remaining
    fuel = next(d for d in deciding if d["clause"] == "T-FUEL-01")
    assert "需补充 needs: 燃料" in fuel["text"]
    quota = next(d for d in deciding if d["clause"].startswith("quota:"))
    remaining = next(q["remaining"] for q in expected["quotas"] if q["resource"] == "water_m3")
    assert "需求 demand 未知 unknown" in quota["text"] and f"{remaining:,.0f}" in quota["text"]
    # the project form's labels come from the same vocabulary
    assert page.inner_text("label[data-attr='water_m3'] span") == "用水量 (m³/a) water use"
    assert page.external == [], page.external


def test_permitted_says_nothing_decides(page, live, grid_pack):
    project = {"industry": ["6550"], "construction": "new", "emissions": {}, "fuel": [], "water_m3": 10}
    expected = grid_pack.screen(SITE_GENERAL, project).to_dict()
    _open(page, live)
    page.fill("#site-text", json.dumps(shapely.geometry.mapping(SITE_GENERAL)))
    _pick(page, "6550")
    page.check("#fuel-none")
    page.fill("[data-pollutant='COD']", "0")
    page.fill("#water_m3", "10")
    _screen(page)
    assert page.get_attribute("#verdict-banner", "data-verdict") == expected["verdict"]
    want = deciding_findings(expected["verdict"], expected["findings"])
    assert [d["clause"] for d in _items(page, "#deciding li.finding")] == [f["clause_id"] for f in want]
    if not want:
        assert "no clause prohibits" in page.inner_text("#deciding")
    assert page.locator("#missing").count() == (1 if expected["missing"] else 0)


@pytest.mark.parametrize("kind", ["shapefile", "kml", "gpkg"])
def test_upload_a_site_file(page, live, grid_pack, tmp_path, kind):
    """A site file posted to /v1/screen/file with the form's project; the site is drawn, the verdict shown."""
    name, data = site_files(tmp_path, SITE_PRI)[kind]
    path = tmp_path / name
    path.write_bytes(data)
    expected = grid_pack.screen(SITE_PRI, {"industry": ["2614"], "construction": "new"}).to_dict()
    _open(page, live)
    accept = page.get_attribute("#site-file", "accept").split(",")
    assert {".zip", ".kml", ".kmz", ".gpkg", ".geojson"} <= set(accept)
    _pick(page, "2614")
    page.select_option("#construction", "new")
    page.set_input_files("#site-file", str(path))
    assert page.is_disabled("#site-text") and page.is_visible("#site-file-clear")
    with page.expect_response(lambda r: "/v1/screen/file" in r.url) as resp:
        _screen(page)
    assert resp.value.request.method == "POST" and resp.value.status == 200
    assert "multipart/form-data" in resp.value.request.headers["content-type"]
    assert page.get_attribute("#verdict-banner", "data-verdict") == expected["verdict"]
    assert [d["clause"] for d in _items(page, "#deciding li.finding")] == [f["clause_id"] for f in deciding_findings(expected["verdict"], expected["findings"])]
    sid = resp.value.json()["screening_id"]
    with live.client() as c:
        record = c.get(f"/v1/screenings/{sid}").json()
    assert record["request"]["kind"] == "upload" and record["request"]["filename"] == name
    assert record["request"]["project"]["industry"] == ["2614"] and record["request"]["project"]["construction"] == "new"
    # the returned site is drawn on the map in the verdict's colour, and the map moved to it
    page.wait_for_function("document.querySelectorAll('#map path[stroke=\"#c0392b\"]').length > 0", timeout=10000)
    centre = page.evaluate("(() => { const el = document.querySelector('#map path[stroke=\"#c0392b\"]'); const b = el.getBBox(); return [b.width, b.height]; })()")
    assert min(centre) > 10  # a 200 m square at the fitted zoom, not a speck
    # removing the file goes back to the typed site
    page.click("#site-file-clear")
    assert not page.is_disabled("#site-text") and page.evaluate("document.getElementById('site-file').files.length") == 0
    assert page.external == [], page.external


@pytest.mark.parametrize("name, data, status", [
    ("site.pdf", b"%PDF-1.4 not a site", 415),
    ("site.kml", b"<?xml version='1.0'?><!DOCTYPE kml [<!ENTITY x 'y'>]><kml>&x;</kml>", 422),
    ("site.zip", b"PK\x05\x06" + b"\x00" * 18, 422),
])
def test_upload_errors_show_the_servers_message(page, live, tmp_path, name, data, status):
    path = tmp_path / name
    path.write_bytes(data)
    with live.client() as c:
        r = c.post("/v1/screen/file", params={"pack": "grid-test"}, files={"file": (name, data)},
                   data={"project": json.dumps({"construction": "new"})})
    assert r.status_code == status
    dialogs = []

    def on_dialog(d):
        dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    try:
        _open(page, live)
        page.set_input_files("#site-file", str(path))
        _screen(page)
    finally:
        page.remove_listener("dialog", on_dialog)
    assert page.is_visible("#error")
    assert page.inner_text("#error .message") == r.json()["detail"]
    assert page.get_attribute("#error", "data-code") == r.json()["error"]
    assert r.json()["error"] in page.inner_text("#error") and "{" not in page.inner_text("#error")
    assert page.inner_text("#verdict-banner").startswith("未能预判") and dialogs == []


def test_vocabulary_carries_the_labels(live):
    with live.client() as c:
        v = c.get("/v1/vocabulary").json()
    assert v["verdicts"] == vocab.VERDICTS and v["effects"]["needs_information"] == "待补充信息"
    assert v["attributes"]["emissions.VOCs"]["label"] == "挥发性有机物排放量 (t/a)"
    assert v["attributes"]["water_m3"]["label"] == "用水量 (m³/a)"
    assert set(v["attributes"]) >= {"industry", "construction", "fuel", "water_m3", "coal_t", "land_ha", "energy_tce",
                                    *(f"emissions.{p}" for p in vocab.POLLUTANTS)}
    assert all(a["supply"] and a["zh"] for a in v["attributes"].values())


# ------------------------------------------------------------------ basemaps

TDT_KEY = "0123456789abcdeffedcba9876543210"  # not a key: tiles are answered by the test, never fetched
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def _layer_labels(pg):
    return [t.strip() for t in pg.locator(".leaflet-control-layers-base label").all_inner_texts()]


def test_without_a_key_no_tianditu(page, live):
    with live.client() as c:
        cfg = c.get("/v1/page-config").json()
    assert [b["id"] for b in cfg["basemaps"]] == ["osm"]
    _open(page, live)
    assert _layer_labels(page) == ["无底图（离线） no basemap (offline)", "OpenStreetMap（在线 online）"]
    assert page.is_checked(".leaflet-control-layers-base input >> nth=0")  # none by default: offline
    assert "tianditu" not in page.content() and page.external == []


@pytest.fixture(scope="module")
def live_tdt(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("page-tdt"), env={"ZONING_TIANDITU_KEY": TDT_KEY})
    yield srv
    srv.stop()


def test_tianditu_basemaps_with_the_servers_key(live_tdt, browser):
    """With ZONING_TIANDITU_KEY the layer control offers 天地图 矢量 and 影像 (CGCS2000 _w tiles, with their
    annotation, the key in every tile URL); tile requests are answered here, nothing goes to the internet."""
    from urllib.parse import parse_qs, urlsplit

    tiles, elsewhere = [], []

    def route(r):
        url = r.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(live_tdt.url + "/") or url.startswith("data:"):
            r.continue_()
        elif host.endswith(".tianditu.gov.cn"):
            tiles.append(url)
            r.fulfill(status=200, content_type="image/png", body=PNG)
        else:
            elsewhere.append(url)
            r.abort()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.route("**/*", route)
        pg = context.new_page()
        pg.goto(live_tdt.url + "/")
        pg.wait_for_selector("body[data-ready='1']", timeout=20000)
        assert _layer_labels(pg) == ["无底图（离线） no basemap (offline)", "OpenStreetMap（在线 online）",
                                     "天地图 矢量 Tianditu streets", "天地图 影像 Tianditu imagery"]
        assert tiles == []  # nothing until one is chosen
        seen = {}
        for label, layers in (("天地图 矢量 Tianditu streets", ("vec", "cva")), ("天地图 影像 Tianditu imagery", ("img", "cia"))):
            before = len(tiles)
            pg.locator(".leaflet-control-layers").hover()
            pg.locator(".leaflet-control-layers-base label", has_text=label).click()
            pg.wait_for_function("document.querySelectorAll('#map img.leaflet-tile-loaded').length > 4", timeout=10000)
            pg.wait_for_timeout(300)
            seen[label] = tiles[before:]
            kinds = set()
            for url in seen[label]:
                parts = urlsplit(url)
                q = parse_qs(parts.query)
                assert parts.scheme == "https" and parts.hostname in {f"t{i}.tianditu.gov.cn" for i in range(8)}, url
                assert q["tk"] == [TDT_KEY] and q["TILEMATRIXSET"] == ["w"], url
                assert parts.path == f"/{q['LAYER'][0]}_w/wmts", url
                kinds.add(q["LAYER"][0])
            assert kinds == set(layers), (label, kinds)
            # two tile layers, the annotation above its base
            drawn = pg.evaluate("""() => [...document.querySelectorAll('#map .leaflet-tile-pane .leaflet-layer')]
                .map((l) => (l.querySelector('img') || {}).src || '')""")
            assert [parse_qs(urlsplit(u).query)["LAYER"][0] for u in drawn] == list(layers), drawn
        assert all("tianditu" in u for u in tiles)
    finally:
        context.close()
    assert elsewhere == [], elsewhere
    assert not any(s in u for u in tiles for s in ("amap", "gaode", "autonavi", "baidu", "bdimg", "gtimg", "qq.com"))
