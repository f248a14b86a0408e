"""Basemaps: 天地图 (Tianditu) CGCS2000 `_w` tiles beside OpenStreetMap, never GCJ-02 tiles.

The key is a fake; tile requests are answered in the browser by a 1-pixel PNG, so nothing
goes to the internet.
"""

import base64
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoning.assets import offline_available
from zoning.basemaps import resolve, tianditu_layers
from zoning.cli import main
from zoning.errors import ZoningError
from zoning.report import write_map

KEY = "fake0123456789abcdef"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
SITE = {"type": "Point", "coordinates": [119.98, 30.88]}


@pytest.mark.parametrize("name", ["amap", "Gaode.Normal", "https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}",
                                  "https://maponline0.bdimg.com/tile/?x={x}&y={y}&z={z}", "gcj02"])
def test_shifted_tile_services_are_refused(name):
    with pytest.raises(ZoningError, match="GCJ-02/BD-09 shifted"):
        resolve(name)


def test_names_aliases_and_unknown():
    assert resolve("天地图影像") == "tianditu-img" and resolve("TIANDITU") == "tianditu-vec" and resolve("OpenStreetMap") == "osm"
    assert resolve("CartoDB.Positron") == "CartoDB.Positron"  # a WGS84 folium provider passes through
    with pytest.raises(ZoningError, match="unknown basemap 'satellite'; expected one of osm, tianditu-vec, tianditu-img"):
        resolve("satellite")


def test_tianditu_urls_are_the_cgcs2000_w_matrix_set():
    base, notes = tianditu_layers("tianditu-vec", KEY)
    assert base.build_url(fill_subdomain=False).startswith("https://t{s}.tianditu.gov.cn/") and base["subdomains"] == "01234567"
    url = base.build_url(x=3, y=4, z=5)
    assert url.startswith("https://t0.tianditu.gov.cn/vec_w/wmts?") and "TILEMATRIXSET=w" in url and url.endswith(f"tk={KEY}")
    assert "TILEMATRIX=5&TILEROW=4&TILECOL=3" in url
    assert "/cva_w/" in notes.build_url(x=0, y=0, z=1)


def test_without_a_key_maps_offer_openstreetmap_only(demo_pack, monkeypatch):
    monkeypatch.delenv("ZONING_TIANDITU_KEY", raising=False)
    html = demo_pack.screen(SITE, {"industry": "2614"}).explore(offline=False).get_root().render()
    assert "tianditu" not in html and "openstreetmap" in html.lower()
    with pytest.raises(ZoningError, match="set ZONING_TIANDITU_KEY"):
        demo_pack.explore(offline=False, tiles="tianditu-img")


def test_offline_maps_carry_no_basemap_even_with_a_key(demo_pack, monkeypatch):
    monkeypatch.setenv("ZONING_TIANDITU_KEY", KEY)
    html = demo_pack.screen(SITE, {"industry": "2614"}).explore(offline=True).get_root().render()
    assert KEY not in html and "openstreetmap" not in html.lower()


def test_cli_basemap_flag(tmp_path, monkeypatch):
    monkeypatch.delenv("ZONING_TIANDITU_KEY", raising=False)
    res = CliRunner().invoke(main, ["map", "--basemap", "tianditu-img", "--out", str(tmp_path / "p.html")])
    assert res.exit_code == 2 and "set ZONING_TIANDITU_KEY" in res.output and not (tmp_path / "p.html").exists()
    res = CliRunner().invoke(main, ["map", "--basemap", "amap", "--out", str(tmp_path / "p.html")])
    assert res.exit_code == 2 and "GCJ-02" in res.output
    monkeypatch.setenv("ZONING_TIANDITU_KEY", KEY)
    res = CliRunner().invoke(main, ["map", "--basemap", "tianditu-img", "--online", "--out", str(tmp_path / "p.html")])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert html.count(f"tk={KEY}") == 4  # vec, cva, img, cia


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed (make sysdeps)")
@pytest.mark.skipif(not offline_available(), reason="offline assets not installed (make assets)")
def test_switching_to_tianditu_in_a_browser_loads_its_tiles_with_the_key(demo_pack, monkeypatch, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("ZONING_TIANDITU_KEY", KEY)
    path = write_map(demo_pack.screen(SITE, {"industry": "2614"}).explore(), tmp_path / "m.html")  # Leaflet inlined
    tiles, other = [], []

    def route(r):
        url = r.request.url
        if url.startswith(("file:", "data:")):
            return r.continue_()
        if "tile.openstreetmap.org" in url or "tianditu.gov.cn" in url:
            tiles.append(url)
            return r.fulfill(status=200, content_type="image/png", body=PNG)
        other.append(url)
        return r.abort()

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.route("**/*", route)
            page.goto(Path(path).resolve().as_uri())
            page.wait_for_load_state("load")
            page.wait_for_timeout(500)
            assert tiles and all("openstreetmap" in u for u in tiles)  # OpenStreetMap first
            bases = [t.strip() for t in page.locator(".leaflet-control-layers-base label").all_inner_texts()]
            assert bases == ["OpenStreetMap", "天地图 矢量 Tianditu streets", "天地图 影像 Tianditu imagery"]
            tiles.clear()
            page.locator(".leaflet-control-layers-base label", has_text="天地图 影像").click()
            page.wait_for_timeout(500)
        finally:
            browser.close()
    assert any("/img_w/wmts" in u for u in tiles) and any("/cia_w/wmts" in u for u in tiles)
    assert all(u.endswith(f"tk={KEY}") for u in tiles if "tianditu" in u)
    assert not any("/vec_w/" in u for u in tiles)  # only the chosen basemap
    assert other == []
