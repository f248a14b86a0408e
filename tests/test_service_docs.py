"""/docs is Swagger UI served from local copies (swagger-ui-dist, `make web`): it renders every
operation in headless Chromium with every request to anything but the server refused.

The browser tests are skipped when Chromium or the local Swagger UI is missing; the tests of
the page without the copies and of the routes use the application directly.
"""

import dataclasses
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import GRID
from service_support import start_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SWAGGER = Path(__file__).resolve().parent.parent / ".cache" / "web" / "node_modules" / "swagger-ui-dist"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
METHODS = {"get", "post", "put", "delete", "patch", "head", "options"}

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (apt-get install chromium chromium-driver)")
needs_swagger = pytest.mark.skipif(not (SWAGGER / "swagger-ui-bundle.js").is_file(), reason="Swagger UI is not installed (make web)")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("docs"))
    yield srv
    srv.stop()


def app_with(tmp_path, **settings):
    """The application over the grid pack with some settings replaced (no worker pool started)."""
    from zoning.service.app import create_app
    from zoning.service.config import Settings
    from zoning.service.handlers import Service, load_packs
    from zoning.service.store import Store

    service = Service(load_packs([GRID]), Store(f"sqlite:///{tmp_path / 'records.sqlite'}"), warm=False)
    return create_app(service, settings=dataclasses.replace(Settings.from_env(), **settings)), service


@needs_chromium
@needs_swagger
def test_docs_render_every_operation_with_the_network_blocked(live):
    sync_api = pytest.importorskip("playwright.sync_api")
    schema = live.client().get("/openapi.json").json()
    expected = sorted((method.upper(), path) for path, item in schema["paths"].items() for method in item if method in METHODS)
    assert len(expected) >= 10
    elsewhere, errors = [], []

    def route(r):
        url = r.request.url
        if url.startswith(live.url + "/") or url.startswith("data:"):
            r.continue_()
        else:
            elsewhere.append(url)
            r.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context()
            context.route("**/*", route)
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            seen = []
            page.on("request", lambda req: seen.append(req.url))
            page.goto(live.url + "/docs")
            page.wait_for_selector(".opblock", timeout=30000)
            shown = sorted(page.evaluate("""() => [...document.querySelectorAll('.opblock')].map((b) => [
                b.querySelector('.opblock-summary-method').textContent.trim(),
                b.querySelector('.opblock-summary-path').getAttribute('data-path')])"""))
            assert [tuple(x) for x in shown] == expected
            assert "三线一单" in page.inner_text(".info .title")
            # one operation opens with its parameters, from the schema the server sent
            page.click("#operations-screening-screen_v1_screen_post .opblock-summary")
            page.wait_for_selector("#operations-screening-screen_v1_screen_post .parameters", timeout=10000)
            assert "gcj02" in page.inner_text("#operations-screening-screen_v1_screen_post .parameters")
        finally:
            browser.close()
    assert elsewhere == [], elsewhere  # nothing left 127.0.0.1 (and nothing was needed from elsewhere)
    assert all(u.startswith(live.url + "/") or u.startswith("data:") for u in seen), seen
    assert any(u.endswith("/static/docs/swagger-ui-bundle.js") for u in seen)
    assert errors == [], errors


def test_docs_html_names_only_local_assets(live):
    with live.client() as c:
        html = c.get("/docs")
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert re.findall(r"https?://", html.text) == [], html.text
        for asset, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "text/css"), ("favicon-32x32.png", "image/png")):
            assert f"/static/docs/{asset}" in html.text
            if (SWAGGER / asset).is_file():
                r = c.get(f"/static/docs/{asset}")
                assert r.status_code == 200 and kind in r.headers["content-type"], asset
                assert r.content == (SWAGGER / asset).read_bytes()
        # only the files /docs uses: not swagger-ui-dist's demo page (it points at the petstore)
        for other in ("index.html", "swagger-initializer.js", "package.json", "..%2Fpackage.json"):
            r = c.get(f"/static/docs/{other}")
            assert r.status_code == 404 and r.json()["error"], other
        assert c.get("/redoc").status_code == 404  # ReDoc would load from a CDN: not served
        assert c.get("/docs/oauth2-redirect").status_code == 200
        assert "/docs" not in c.get("/openapi.json").json()["paths"]


def test_docs_without_the_local_copies_say_what_to_do(tmp_path):
    app, service = app_with(tmp_path, docs_assets=tmp_path / "no-swagger")
    try:
        c = TestClient(app)  # no lifespan: these routes need no worker
        r = c.get("/docs")
        assert r.status_code == 200
        assert "make web" in r.text and 'href="/openapi.json"' in r.text and "接口文档" in r.text
        assert "cdn" not in r.text.lower() and "swagger-ui-bundle.js" not in r.text
        assert c.get("/static/docs/swagger-ui-bundle.js").status_code == 404
    finally:
        service.store.dispose()


def test_docs_assets_from_the_settings_directory(tmp_path):
    """ZONING_DOCS_ASSETS (Settings.docs_assets) names the directory the three files come from."""
    assets = tmp_path / "swagger"
    assets.mkdir()
    for name, data in (("swagger-ui-bundle.js", b"window.SwaggerUIBundle = 1;"), ("swagger-ui.css", b"body{}"), ("favicon-32x32.png", b"\x89PNG")):
        (assets / name).write_bytes(data)
    app, service = app_with(tmp_path, docs_assets=assets)
    try:
        c = TestClient(app)
        assert "/static/docs/swagger-ui-bundle.js" in c.get("/docs").text
        assert c.get("/static/docs/swagger-ui-bundle.js").content == b"window.SwaggerUIBundle = 1;"
        assert c.get("/static/docs/swagger-ui.css").content == b"body{}"
    finally:
        service.store.dispose()
