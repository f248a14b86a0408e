"""Replay the issue-12 probe cases against `zoning serve` on loopback and print a table.

    .venv/bin/python bench/attack.py [--pack DIR] [--workers 1] [--slow-sockets 1100]

Starts ``zoning serve`` on 127.0.0.1 (fresh SQLite records in a temporary directory) and
sends each bad input once: string/boolean/null coordinates, 700,001 string coordinates,
20 MB of empty arrays, deep nesting, a lone surrogate, NaN, a GeoPackage whose layer is a
view over a recursive CTE, the worst allowed site (a 199,999-vertex zigzag line) with
/healthz timed while it is screened, half-open sockets (slowloris) with /healthz timed,
405 and its Allow header. Then it tampers with the records file and checks that
``zoning records verify`` says broken. Every case is bounded in size and time; nothing
leaves 127.0.0.1. Columns: case, status, error code, seconds, the server's peak RSS (MB).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ZONING = Path(sys.executable).with_name("zoning")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    """Resident memory of a process and its children (MB)."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _children(pid):
    out = []
    try:
        for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            out += [int(c), *_children(int(c))]
    except OSError:
        pass
    return out


def start(pack, workdir, workers, env_extra=None):
    port = free_port()
    env = dict(os.environ, ZONING_DB_URL=f"sqlite:///{workdir / 'records.sqlite'}", **(env_extra or {}))
    cmd = [str(ZONING), "serve", "--port", str(port), "--workers", str(workers)] + (["--pack", str(pack)] if pack else [])
    log = open(workdir / "server.log", "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url, port
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("server did not start; see " + str(workdir / "server.log"))


def region_point(url):
    bbox = httpx.get(url + "/v1/packs").json()["packs"][0]["bbox"]
    return (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, bbox


def feature(geometry, **props):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def gpkg_bomb(tmp):
    import geopandas as gpd
    import shapely

    path = Path(tmp) / "bomb.gpkg"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.box(120, 30, 120.01, 30.01)], crs=4490).to_file(path, layer="site")
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE VIEW bomb AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000)
          SELECT x AS fid, NULL AS geom FROM c;
        INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES ('bomb', 'features', 'bomb', 4490);
        INSERT INTO gpkg_geometry_columns VALUES ('bomb', 'geom', 'POLYGON', 4490, 0, 0);
        DELETE FROM gpkg_contents WHERE table_name = 'site';
    """)
    con.commit()
    con.close()
    return path.read_bytes()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pack", help="pack directory (default: the demo pack)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--slow-sockets", type=int, default=1100)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="zoning-attack-") as tmp:
        work = Path(tmp)
        proc, url, port = start(args.pack, work, args.workers)
        peak = [rss_mb(proc.pid)]
        try:
            c = httpx.Client(base_url=url, timeout=120)
            lon, lat, bbox = region_point(url)
            square = [[lon, lat], [lon + 0.001, lat], [lon + 0.001, lat + 0.001], [lon, lat + 0.001], [lon, lat]]

            def case(name, fn):
                t = time.monotonic()
                try:
                    r = fn()
                    status, code = r.status_code, (r.json().get("error", "") if r.headers.get("content-type", "").startswith("application/json") else "")
                except Exception as e:  # noqa: BLE001 - the table shows it
                    status, code = "—", f"{type(e).__name__}: {e}"[:40]
                peak[0] = max(peak[0], rss_mb(proc.pid))
                rows.append((name, status, code, time.monotonic() - t, rss_mb(proc.pid)))

            def post_raw(data):
                return c.post("/v1/screen", content=data, headers={"content-type": "application/json"})

            for label, bad in (("string", "119.95"), ("boolean", True), ("null", None)):
                ring = [list(p) for p in square]
                ring[1][0] = bad
                case(f"coordinate as {label}", lambda ring=ring: c.post("/v1/screen", json=feature({"type": "Polygon", "coordinates": [ring]}, industry="6550")))
            strings = [[f"{lon + i * 1e-7:.7f}", f"{lat:.4f}"] for i in range(700_000)] + [[f"{lon:.7f}", f"{lat:.4f}"]]
            case("700,001 string coordinates (16 MB)", lambda: post_raw(json.dumps(feature({"type": "Polygon", "coordinates": [strings]})).encode()))
            del strings
            empty = b'{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[' + b",".join([b"[]"] * 6_900_000) + b"]}}"
            case(f"{len(empty) / 1e6:.0f} MB of [[],[],…]", lambda: post_raw(empty))
            del empty
            case("nesting 100,000 deep", lambda: post_raw(b'{"type":"Feature","properties":{"x":' + b"[" * 100_000 + b"]" * 100_000 + b'},"geometry":null}'))
            geom = json.dumps({"type": "Point", "coordinates": [lon, lat]}).encode()
            case("lone surrogate in name", lambda: post_raw(b'{"type":"Feature","properties":{"name":"x\\ud800"},"geometry":' + geom + b"}"))
            case("water_m3: NaN", lambda: post_raw(b'{"type":"Feature","properties":{"industry":"6550","water_m3":NaN},"geometry":' + geom + b"}"))
            case("GeoPackage: view over recursive CTE", lambda: c.post("/v1/screen/file", files={"file": ("site.gpkg", gpkg_bomb(tmp))}, data={"industry": "6550"}))
            case("GET /v1/screen (405 Allow)", lambda: c.get("/v1/screen"))
            rows[-1] = (*rows[-1][:2], f"{rows[-1][2]} Allow={c.get('/v1/screen').headers.get('allow')}", *rows[-1][3:])

            # the worst allowed site, with /healthz timed meanwhile
            n = 199_999
            xs = np.linspace(bbox[0] + 0.01, bbox[0] + 0.3, n)
            ys = np.where(np.arange(n) % 2 == 0, lat - 0.05, lat + 0.05)
            zig = json.dumps(feature({"type": "LineString", "coordinates": np.c_[xs, ys].tolist()}, industry="6550")).encode()
            with concurrent.futures.ThreadPoolExecutor(2) as ex:
                t = time.monotonic()
                fut = ex.submit(lambda: httpx.post(url + "/v1/screen", content=zig, headers={"content-type": "application/json"}, timeout=120))
                waits = []
                while not fut.done():
                    t0 = time.monotonic()
                    httpx.get(url + "/healthz", timeout=30)
                    waits.append((time.monotonic() - t0) * 1000)
                    peak[0] = max(peak[0], rss_mb(proc.pid))
                    time.sleep(0.1)
                r = fut.result()
                rows.append((f"worst allowed site ({n:,}-vertex line, {len(zig) / 1e6:.0f} MB)", r.status_code, r.json().get("error", r.json().get("verdict")),
                             time.monotonic() - t, rss_mb(proc.pid)))
                rows.append((f"  /healthz meanwhile: {len(waits)} calls, max {max(waits):.0f} ms, median {np.median(waits):.0f} ms", "", "", 0, 0))

            socks = []
            t = time.monotonic()
            for _ in range(args.slow_sockets):
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                socks.append(s)
            ok = 0
            lat_ms = []
            for _ in range(38):
                t0 = time.monotonic()
                try:
                    ok += httpx.get(url + "/healthz", timeout=5).status_code == 200
                except httpx.HTTPError:
                    pass
                lat_ms.append((time.monotonic() - t0) * 1000)
            rows.append((f"{args.slow_sockets} half-open sockets: /healthz ok {ok}/38, max {max(lat_ms):.0f} ms", "", "", time.monotonic() - t, rss_mb(proc.pid)))
            for s in socks:
                s.close()
            rows.append(("worker RSS after all cases", "", "", 0, rss_mb(proc.pid)))
        finally:
            os.killpg(proc.pid, 9)
            proc.wait()
        # tamper with the stored records
        db = work / "records.sqlite"
        con = sqlite3.connect(db)
        n_rec = con.execute("SELECT count(*) FROM screenings").fetchone()[0]
        if n_rec:
            con.execute("DROP TRIGGER screenings_no_update")
            con.execute("UPDATE screenings SET result = replace(result, '\"verdict\":\"', '\"verdict\":\"x') WHERE seq = 1")
            con.commit()
        con.close()
        res = subprocess.run([str(ZONING), "records", "verify", "--db", f"sqlite:///{db}"], capture_output=True, text=True)
        rows.append((f"records verify after a rewrite ({n_rec} records)", res.returncode, res.stdout.strip().splitlines()[-1] if res.stdout else res.stderr.strip(), 0, 0))
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'status':>6}  {'error / result':<34} {'s':>6} {'RSS MB':>7}")
    for name, status, code, secs, mb in rows:
        print(f"{name:<{width}}  {status!s:>6}  {str(code):<34} {secs:6.2f} {mb:7.0f}")
    print(f"peak RSS of the server and its screening processes: {peak[0]:.0f} MB")


if __name__ == "__main__":
    main()
