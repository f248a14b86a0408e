"""Helpers for the service tests: a real `zoning serve` on a free loopback port, and site files.

Not a test module: the tests import it (``from service_support import …``).
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import shapely
import shapely.geometry

from conftest import GRID, box, gk

__all__ = ["Server", "start_server", "free_port", "feature", "assert_error", "SITE_PRI", "SITE_KEY", "SITE_GENERAL", "site_files"]

# Sites on the grid pack (metres from its origin; see tests/data/make_packs.py).
SITE_PRI = box(200, 200, 400, 400)  # priority unit, inside the red line
SITE_KEY = box(1100, 600, 1300, 800)  # key (industry-cluster) unit, fuel-ban zone
SITE_GENERAL = box(600, 1600, 800, 1800)  # general unit

ZONING = Path(sys.executable).with_name("zoning")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `zoning serve` subprocess in its own process group."""

    def __init__(self, proc, port, log_path, env):
        self.proc, self.port, self.log_path, self.env = proc, port, log_path, env
        self.url = f"http://127.0.0.1:{port}"

    def client(self, **kw):
        return httpx.Client(base_url=self.url, timeout=kw.pop("timeout", 30), **kw)

    def log(self):
        return Path(self.log_path).read_text(encoding="utf-8", errors="replace")

    def kill(self, sig=signal.SIGKILL):
        """Signal the whole process group (uvicorn workers too) and wait."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)

    def stop(self):
        self.kill(signal.SIGTERM)


def start_server(workdir, *, packs=(GRID,), db_url=None, env=None, workers=1, port=None, timeout=90):
    """Start `zoning serve` on 127.0.0.1 and wait until /healthz answers."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    full_env = dict(os.environ)
    full_env.pop("ZONING_SERVE_PACKS", None)
    full_env.pop("ZONING_SERVE_PACKS_DIR", None)
    full_env["ZONING_DB_URL"] = db_url or f"sqlite:///{workdir / 'records.sqlite'}"
    full_env.update(env or {})
    cmd = [str(ZONING) if ZONING.exists() else sys.executable, *([] if ZONING.exists() else ["-m", "zoning.cli"])]
    cmd += ["serve", "--port", str(port), "--workers", str(workers)]
    for p in packs:
        cmd += ["--pack", str(p)]
    log_path = workdir / f"server-{port}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=full_env, start_new_session=True, cwd=workdir)
    server = Server(proc, port, log_path, full_env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"zoning serve exited with {proc.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"zoning serve did not answer within {timeout} s:\n{server.log()}")


def feature(geom, **project):
    return {"type": "Feature", "properties": project, "geometry": shapely.geometry.mapping(geom)}


# ----------------------------------------------------------------------------- site files

def _zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _frame(geom, crs=4490, **attrs):
    import geopandas as gpd

    return gpd.GeoDataFrame({k: [v] for k, v in attrs.items()}, geometry=[geom], crs=crs)


def site_files(tmp_path, geom=SITE_KEY):
    """Write the site in every upload format; return ``{label: (filename, bytes)}``."""
    import pyogrio

    tmp_path = Path(tmp_path)
    out = {}
    gdf = _frame(geom, name="测试地块")
    # zipped shapefile (with .prj)
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir(exist_ok=True)
    pyogrio.write_dataframe(gdf, shp_dir / "site.shp", encoding="UTF-8")
    out["shapefile"] = ("site.zip", _zip({p.name: p.read_bytes() for p in sorted(shp_dir.iterdir())}))
    # GeoPackage
    pyogrio.write_dataframe(gdf, tmp_path / "site.gpkg", layer="site")
    out["gpkg"] = ("site.gpkg", (tmp_path / "site.gpkg").read_bytes())
    # KML and KMZ
    pyogrio.write_dataframe(gdf.to_crs(4326), tmp_path / "site.kml", driver="KML")
    kml = (tmp_path / "site.kml").read_bytes()
    out["kml"] = ("site.kml", kml)
    out["kmz"] = ("site.kmz", _zip({"doc.kml": kml}))
    # GeoJSON
    out["geojson"] = ("site.geojson", json.dumps(feature(geom)).encode())
    # 界址点 TXT on CGCS2000 3° zone 40 (CM 120°E), eastings with the zone prefix
    gk_geom = gdf.to_crs(4528).geometry.iloc[0]
    coords = list(gk_geom.exterior.coords)
    lines = [
        "[属性描述]",
        "坐标系=2000国家大地坐标系",
        "几度分带=3",
        "投影类型=高斯克吕格",
        "计量单位=米",
        "带号=40",
        "精度=0.001",
        "转换参数=,,,,,,",
        "[地块坐标]",
        f"{len(coords)},0.5,1,测试地块,面,,工业用地,,@",
    ]
    for i, (x, y) in enumerate(coords, 1):
        lines.append(f"J{i},1,{y:.3f},{x:.3f}")
    out["txt"] = ("site.txt", ("\n".join(lines) + "\n").encode("utf-8"))
    return out


def shapefile_without_prj(tmp_path, geom=SITE_KEY):
    import pyogrio

    d = Path(tmp_path) / "noprj"
    d.mkdir(exist_ok=True)
    pyogrio.write_dataframe(_frame(geom).to_crs(4549), d / "site.shp")
    (d / "site.prj").unlink()
    return "site.zip", _zip({p.name: p.read_bytes() for p in sorted(d.iterdir())})


__all__ += ["shapefile_without_prj", "gk"]


def assert_error(r, status, code=None):
    """Assert an error response: its status, the JSON error shape, the request id, no traceback."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "detail", "request_id"}, body
    assert body["request_id"] == r.headers["x-request-id"]
    if code:
        assert body["error"] == code, body
    assert "Traceback" not in r.text
    return body
