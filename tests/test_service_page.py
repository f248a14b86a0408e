"""The page for enterprises in headless Chromium (Debian's chromium; never `playwright install`).

Skipped when Chromium or the npm-installed Leaflet (`make web`) is missing.
"""

import shutil
from pathlib import Path

import pytest
import shapely

from service_support import SITE_GENERAL, SITE_PRI, start_server

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
def page(live):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page()
        external = []
        pg.on("request", lambda req: external.append(req.url) if not req.url.startswith(live.url) and not req.url.startswith("data:") else None)
        pg.external = external
        yield pg
        browser.close()


def _open(page, live):
    page.goto(live.url + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=20000)


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
