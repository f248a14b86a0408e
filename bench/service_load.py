"""Load and fault test of the HTTP service, on loopback only.

    .venv/bin/python bench/service_load.py [--pack DIR] [--workers 2] [--clients 32] [--seconds 30]
                                           [--rate 100] [--fault-seconds 20] [--max-requests 50000]

Starts ``zoning serve`` on 127.0.0.1 (a fresh SQLite record store in a temporary
directory), then:

1. **saturation**: ``--clients`` concurrent clients, each posting screenings back to back
   for ``--seconds``: throughput, p50/p99 latency, errors;
2. **paced**: the same clients sharing a fixed offered load of ``--rate`` screenings/s
   (open loop, each client sends on a schedule) for ``--seconds``: latency at that load;
3. **fault**: load as in 1, SIGKILL the server's process group mid-run, restart it, and
   check that every screening whose response reached a client is retrievable by id and
   that ``PRAGMA integrity_check`` says ok.

Sites are the demo sample sites and random points/squares inside the pack's region, each
with a project. Every loop is bounded in time and in count; nothing leaves 127.0.0.1.
Targets on the 2-core machine: ≥ 100 screenings/s, p99 < 250 ms, 0 errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import shapely
import shapely.geometry

ROOT = Path(__file__).resolve().parent.parent
ZONING = Path(sys.executable).with_name("zoning")
INDUSTRIES = ["2614", "6550", "3311", "1713", "4411", "2211", "3130", "5411"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_bodies(pack_dir, n=400, seed=7):
    """Request bodies: the sample sites (if the demo pack) plus random sites in the region."""
    from zoning import load_pack

    pack = load_pack(pack_dir) if pack_dir else load_pack()
    bodies = []
    samples = ROOT / "data" / "samples" / "demo_sites.geojson"
    if pack_dir is None and samples.exists():
        bodies += json.loads(samples.read_text(encoding="utf-8"))["features"]
    rng = np.random.default_rng(seed)
    region = shapely.union_all(pack.units.geometry.values)
    shapely.prepare(region)
    minx, miny, maxx, maxy = region.bounds
    while len(bodies) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not shapely.contains_xy(region, x, y):
            continue
        d = rng.uniform(0.0005, 0.004)
        geom = shapely.Point(x, y) if rng.random() < 0.3 else shapely.box(x, y, x + d, y + d)
        if not region.contains(geom):
            continue
        project = {
            "industry": str(rng.choice(INDUSTRIES)),
            "construction": str(rng.choice(["new", "expansion"])),
            "emissions": {"VOCs": round(float(rng.uniform(0, 5)), 2), "SO2": 0.1},
            "fuel": ["natural_gas"],
            "water_m3": int(rng.integers(100, 50000)),
            "coal_t": 0,
            "land_ha": round(float(rng.uniform(0.1, 5)), 2),
        }
        bodies.append({"type": "Feature", "properties": project, "geometry": shapely.geometry.mapping(geom)})
    return bodies


class Server:
    def __init__(self, port, workdir, pack_dir, workers):
        self.port, self.workdir, self.pack_dir, self.workers = port, Path(workdir), pack_dir, workers
        self.url = f"http://127.0.0.1:{port}"
        self.db = self.workdir / "records.sqlite"
        self.proc = None

    def start(self, timeout=120):
        cmd = [str(ZONING), "serve", "--port", str(self.port), "--workers", str(self.workers)]
        if self.pack_dir:
            cmd += ["--pack", str(self.pack_dir)]
        env = dict(os.environ, ZONING_DB_URL=f"sqlite:///{self.db}")
        log = open(self.workdir / "server.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited: {(self.workdir / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    # every worker warm: a few requests spread over the workers
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("server did not start")

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=30)


class _Conn:
    """A minimal HTTP/1.1 client connection on asyncio streams (cheap, so the load
    generator does not eat the cores the server needs). ``keepalive=False`` opens a
    connection per request, so that the kernel spreads requests over the workers."""

    def __init__(self, host, port, keepalive):
        self.host, self.port, self.keepalive = host, port, keepalive
        self.reader = self.writer = None

    async def request(self, method, path, body=b"", timeout=30.0):
        if self.writer is None:
            self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), timeout)
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: {'keep-alive' if self.keepalive else 'close'}\r\n\r\n").encode()
        try:
            self.writer.write(head + body)
            status, data = await asyncio.wait_for(self._response(), timeout)
        except BaseException:
            self.close()
            raise
        if not self.keepalive:
            self.close()
        return status, data

    async def _response(self):
        line = await self.reader.readline()
        if not line:
            raise ConnectionError("connection closed")
        status = int(line.split()[1])
        length = None
        while True:
            h = await self.reader.readline()
            if h in (b"\r\n", b""):
                break
            k, _, v = h.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        data = await self.reader.readexactly(length) if length is not None else await self.reader.read()
        return status, data

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


_ID = re.compile(rb'"screening_id":"([0-9a-f]{32})"')


async def run_load(url, bodies, *, clients, seconds, max_requests, rate=None, on_tick=None, keepalive=False):
    """Closed loop (rate None) or open loop at ``rate`` req/s shared by the clients."""
    host, port = url.split("//", 1)[1].split(":")
    port = int(port)
    encoded = [json.dumps(b).encode() for b in bodies]
    lat, errors, ids = [], [], []
    sent = 0
    t0 = time.perf_counter()
    stop_at = t0 + seconds

    async def worker(k):
        nonlocal sent
        rnd = random.Random(k)
        conn = _Conn(host, port, keepalive)
        i = 0
        while True:
            if rate:
                due = t0 + (i * clients + k) / rate
                now = time.perf_counter()
                if due >= stop_at:
                    break
                if due > now:
                    await asyncio.sleep(due - now)
            elif time.perf_counter() >= stop_at:
                break
            if sent >= max_requests:
                break
            sent += 1
            i += 1
            body = encoded[rnd.randrange(len(encoded))]
            start = time.perf_counter()
            try:
                status, data = await conn.request("POST", "/v1/screen", body)
                elapsed = time.perf_counter() - start
                m = _ID.search(data) if status == 200 else None
                if m:
                    lat.append(elapsed)
                    ids.append(m.group(1).decode())
                else:
                    errors.append(f"{status} {data[:120]!r}")
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
                errors.append(type(e).__name__)
                if not rate:
                    await asyncio.sleep(0.05)
        conn.close()

    tasks = [asyncio.create_task(worker(k)) for k in range(clients)]
    if on_tick:
        tasks.append(asyncio.create_task(on_tick()))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    return {"wall": wall, "latencies": lat, "errors": errors, "ids": ids, "sent": sent}


def summary(name, res):
    lat = sorted(res["latencies"])
    ok = len(lat)
    p = (lambda q: 1000 * lat[min(ok - 1, int(q * ok))]) if ok else (lambda q: float("nan"))
    out = {
        "run": name,
        "ok": ok,
        "errors": len(res["errors"]),
        "throughput_per_s": round(ok / res["wall"], 1),
        "p50_ms": round(p(0.50), 1),
        "p99_ms": round(p(0.99), 1),
        "max_ms": round(1000 * lat[-1], 1) if ok else None,
        "mean_ms": round(1000 * statistics.fmean(lat), 1) if ok else None,
    }
    print(f"{name:>11}: {out['throughput_per_s']:7.1f} screenings/s  p50 {out['p50_ms']:6.1f} ms  "
          f"p99 {out['p99_ms']:6.1f} ms  max {out['max_ms']} ms  ok {ok}  errors {out['errors']}", flush=True)
    if res["errors"]:
        kinds = {}
        for e in res["errors"]:
            kinds[e.split(" ", 1)[0]] = kinds.get(e.split(" ", 1)[0], 0) + 1
        print(f"{'':>13}error kinds: {kinds}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pack", help="pack directory (default: the embedded demo pack)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=100.0, help="offered load of the paced run (0: skip it)")
    ap.add_argument("--fault-seconds", type=float, default=20.0, help="length of the fault run (0: skip it)")
    ap.add_argument("--max-requests", type=int, default=50_000, help="cap on requests per run")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    args.seconds = min(args.seconds, 120.0)
    args.fault_seconds = min(args.fault_seconds, 120.0)

    bodies = make_bodies(args.pack)
    figures = {"workers": args.workers, "clients": args.clients, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="zoning-load-") as tmp:
        server = Server(free_port(), tmp, args.pack, args.workers)
        server.start()
        try:
            # warm every worker (and the transformer caches) before measuring
            asyncio.run(run_load(server.url, bodies, clients=args.clients, seconds=3, max_requests=2000))
            res = asyncio.run(run_load(server.url, bodies, clients=args.clients, seconds=args.seconds, max_requests=args.max_requests))
            figures["saturation"] = summary("saturation", res)
            if args.rate:
                res = asyncio.run(run_load(server.url, bodies, clients=args.clients, seconds=args.seconds,
                                           max_requests=args.max_requests, rate=args.rate))
                figures["paced"] = summary(f"paced@{args.rate:g}", res)
        finally:
            server.kill(signal.SIGTERM)

        if args.fault_seconds:
            figures["fault"] = fault_run(server, bodies, args)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0 if figures.get("fault", {}).get("ok", True) else 1


def fault_run(server, bodies, args):
    server.start()
    killed = {}

    async def killer():
        await asyncio.sleep(args.fault_seconds / 2)
        killed["at"] = time.perf_counter()
        server.kill(signal.SIGKILL)

    res = asyncio.run(run_load(server.url, bodies, clients=args.clients, seconds=args.fault_seconds,
                               max_requests=args.max_requests, on_tick=killer))
    out = summary("fault", res)
    server.start()  # restart on the same database
    missing = []
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            for sid in res["ids"]:
                r = c.get(f"/v1/screenings/{sid}")
                if r.status_code != 200 or r.json()["screening_id"] != sid:
                    missing.append(sid)
            total = None
    finally:
        server.kill(signal.SIGTERM)
    con = sqlite3.connect(server.db)
    try:
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        total = con.execute("SELECT count(*) FROM screenings").fetchone()[0]
    finally:
        con.close()
    out.update(acknowledged=len(res["ids"]), retrievable=len(res["ids"]) - len(missing), missing=len(missing),
               rows_in_db=total, integrity_check=integrity, ok=not missing and integrity == "ok")
    print(f"{'':>13}SIGKILL mid-run; after restart {out['retrievable']}/{out['acknowledged']} acknowledged "
          f"screenings retrievable, {total} rows, integrity_check: {integrity}", flush=True)
    return out


if __name__ == "__main__":
    sys.exit(main())
