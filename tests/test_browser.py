"""A real browser opens the offline verdict map, pack map and HTML report with networking off.

Headless Chromium from Debian (``chromium``; ``make sysdeps`` installs it) driven by
Playwright through ``executable_path`` — never ``playwright install``. Screenshots are
saved under each test's tmp_path.
"""

import shutil
from pathlib import Path

import pytest

from zoning.assets import offline_available
from zoning.maps import DEMO_NOTE, layer_names
from zoning.report import write_map, write_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed (make sysdeps)"),
    pytest.mark.skipif(not offline_available(), reason="offline assets not installed (make assets)"),
]
sync_api = pytest.importorskip("playwright.sync_api")

SAMPLE = {"name": "年产5万吨有机化工原料项目", "industry": "2614", "construction": "new", "emissions": {"VOCs": 12.5, "NOx": 8.0},
          "fuel": ["natural_gas"], "water_m3": 20000, "coal_t": 0, "land_ha": 5, "energy_tce": 100, "groundwater": False}
SITE = {"type": "Polygon", "coordinates": [[[119.975, 30.880], [119.982, 30.880], [119.982, 30.885], [119.975, 30.885], [119.975, 30.880]]]}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page with networking off that records console errors and any attempted request."""

    def __init__(self, browser):
        self.context = browser.new_context(offline=True, viewport={"width": 1280, "height": 860})
        self.requests, self.errors = [], []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route):
        url = route.request.url
        if url.startswith(("file:", "data:", "about:")):
            route.continue_()
        else:
            self.requests.append(url)
            route.abort()

    def open(self, path):
        self.page.goto(Path(path).resolve().as_uri())
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(300)
        return self.page

    def close(self):
        self.context.close()


@pytest.fixture
def page(browser):
    p = Page(browser)
    yield p
    p.close()


@pytest.fixture(scope="module")
def demo_verdict(demo_pack):
    return demo_pack.screen(SITE, SAMPLE)


def overlays(frame):
    return [t.strip() for t in frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()]


def test_verdict_map_renders_offline(page, demo_verdict, demo_pack, tmp_path):
    path = write_map(demo_verdict.explore(offline=True), tmp_path / "verdict.html")
    p = page.open(path)
    media = [m for m in ("air", "water", "soil", "resource") if (demo_pack.zones["medium"] == m).any()]
    assert overlays(p) == layer_names(media) + ["重叠部分 overlaps", "项目场地 site"]
    banner = p.locator("#zoning-banner").inner_text()
    assert demo_verdict.verdict_zh in banner and demo_verdict.verdict in banner
    assert DEMO_NOTE in p.locator("#zoning-demo-note").inner_text()
    assert p.locator("path.leaflet-interactive").count() > 5  # the layers were drawn
    p.screenshot(path=tmp_path / "verdict.png")
    assert (tmp_path / "verdict.png").stat().st_size > 10_000
    assert page.errors == [] and page.requests == []


def test_pack_map_renders_offline_and_finds_a_unit(page, demo_pack, tmp_path):
    path = write_map(demo_pack.explore(offline=True), tmp_path / "pack.html")
    p = page.open(path)
    media = [m for m in ("air", "water", "soil", "resource") if (demo_pack.zones["medium"] == m).any()]
    assert overlays(p) == layer_names(media)
    code = demo_pack.units["unit_code"].iloc[0]
    box = p.locator(".leaflet-control-search input")
    box.click()
    box.press_sequentially(code[:10], delay=50)
    p.locator(".leaflet-control-search .search-tip").first.wait_for()
    assert code in p.locator(".leaflet-control-search .search-tooltip").inner_text()
    p.screenshot(path=tmp_path / "pack.png")
    assert (tmp_path / "pack.png").stat().st_size > 10_000
    assert page.errors == [] and page.requests == []


def test_html_report_renders_offline(page, demo_verdict, tmp_path):
    path = write_report(demo_verdict, tmp_path / "report.html", offline=True)
    p = page.open(path)
    banner = p.locator("#zoning-banner").inner_text()
    assert demo_verdict.verdict_zh in banner and demo_verdict.verdict in banner
    frame = p.frame_locator("iframe.map-interactive")
    frame.locator(".leaflet-control-layers").wait_for()
    assert "项目场地 site" in [t.strip() for t in frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
    assert demo_verdict.verdict_zh in frame.locator("#zoning-banner").inner_text()
    p.screenshot(path=tmp_path / "report.png", full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert page.errors == [] and page.requests == []
