"""A pip user's first day (issue 11): the wheel, installed in a clean venv, does everything
from any directory — the demo, self-contained --offline maps, the service and its page — with
no checkout and no `make`. Slow (~1 min: a venv and its dependencies from pip's cache)."""

import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("npm") is None and not (ROOT / ".cache" / "assets" / "node_modules").is_dir(),
                                reason="building the wheel needs npm (or `make assets web`) for the web assets it carries")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp / "dist")], check=True, timeout=600)
    wheel = next((tmp / "dist").glob("zoning-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=1500)
    return wheel, venv


def _env(tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZONING_")}
    env["ZONING_CACHE"] = str(tmp / "cache")
    env["HOME"] = str(tmp)  # nothing from the developer's own set-up
    return env


def test_the_wheel_carries_its_web_assets_with_their_licences(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("zoning/_vendor/node_modules/leaflet/dist/leaflet.js", "zoning/_vendor/node_modules/leaflet/LICENSE",
                   "zoning/_vendor/node_modules/leaflet-search/dist/leaflet-search.min.js",
                   "zoning/_vendor/node_modules/leaflet-draw/dist/leaflet.draw.js", "zoning/_vendor/LICENSES.txt"):
        assert needed in names
    assert "zoning/_vendor/node_modules/swagger-ui-dist/swagger-ui-bundle.js" in names  # /docs offline
    notice = zipfile.ZipFile(wheel).read("zoning/_vendor/LICENSES.txt").decode()
    assert "leaflet 1.9.3: BSD-2-Clause" in notice and "leaflet-draw 1.0.4: MIT" in notice
    assert "swagger-ui-dist 5.36.0: Apache-2.0" in notice


def test_the_wheel_installs_one_top_level_package(installed):
    """The service lives at zoning.service; a wheel must not claim a top-level name like `services`."""
    wheel, _ = installed
    tops = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist() if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"zoning"}
    assert "zoning/service/web/index.html" in zipfile.ZipFile(wheel).namelist()


def test_demo_and_offline_maps_from_any_directory(installed, tmp_path):
    _, venv = installed
    out = tmp_path / "demo"
    res = subprocess.run([str(venv / "bin" / "zoning"), "demo", "--out", str(out), "--offline"], cwd=tmp_path,
                         env=_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    maps = sorted(out.glob("*.map.html"))
    assert maps
    page = maps[0].read_text(encoding="utf-8")
    assert "unpkg.com" not in page and "cdn.jsdelivr" not in page and "cdnjs" not in page
    assert "leafletjs.com" in page  # Leaflet's own banner: the script is inside the file
    site = tmp_path / "site.geojson"
    site.write_text('{"type": "Point", "coordinates": [119.95, 30.55]}', encoding="utf-8")
    res = subprocess.run([str(venv / "bin" / "zoning"), "screen", str(site), "--industry", "2614", "--map", "m.html", "--offline"],
                         cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "leafletjs.com" in (tmp_path / "m.html").read_text(encoding="utf-8")


def test_serve_and_its_page_from_any_directory(installed, tmp_path):
    _, venv = installed
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _env(tmp_path) | {"ZONING_DB_URL": f"sqlite:///{tmp_path / 'records.sqlite'}"}
    proc = subprocess.Popen([str(venv / "bin" / "zoning"), "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the installed server did not start"
            time.sleep(0.5)
        page = httpx.get(f"{base}/", timeout=10)
        assert page.status_code == 200 and "static/vendor/leaflet/dist/leaflet.js" in page.text
        for asset in ("leaflet/dist/leaflet.js", "leaflet/dist/leaflet.css", "leaflet-draw/dist/leaflet.draw.js"):
            assert httpx.get(f"{base}/static/vendor/{asset}", timeout=10).status_code == 200, asset
        docs = httpx.get(f"{base}/docs", timeout=10)
        assert docs.status_code == 200 and "/static/docs/swagger-ui-bundle.js" in docs.text and "cdn.jsdelivr" not in docs.text
        assert httpx.get(f"{base}/static/docs/swagger-ui-bundle.js", timeout=10).status_code == 200
        r = httpx.post(f"{base}/v1/screen", json={"type": "Feature", "properties": {"industry": "2614", "construction": "new"},
                                                  "geometry": {"type": "Point", "coordinates": [119.95, 30.55]}}, timeout=60)
        assert r.status_code == 200 and r.json()["verdict"] in {"prohibited", "needs_information", "conditional", "permitted"}
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
