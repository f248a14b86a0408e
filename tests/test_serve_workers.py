"""`zoning serve` with several server processes: load sharing, restarts, shutdown, the port, --db paths.

Real servers on loopback (see service_support.py); nothing here measures time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from conftest import GRID
from service_support import SITE_GENERAL, SITE_KEY, ZONING, feature, free_port, start_server

from zoning.cli import main
from zoning.service.server import REUSEPORT_BALANCES

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and process groups")

ONE_CPU = {"ZONING_CPU_WORKERS": "1"}


def _ppid(pid):
    """The parent of ``pid``, or None when it is gone (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = stat.rsplit(")", 1)[1].split()[:2]
    return None if state in ("Z", "X") else int(ppid)


def _descendants(pid):
    """Every live process below ``pid`` (from /proc)."""
    children = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            parent = _ppid(int(d.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _worker(url, path="/healthz"):
    """The pid of the server process answering a request on a fresh connection."""
    r = httpx.get(url + path, timeout=30, headers={"Connection": "close"})
    assert r.status_code == 200, r.text
    return int(r.headers["x-zoning-worker"])


def _wait_for_workers(srv, n, deadline_s=90):
    """Fresh connections until ``n`` different server processes have answered (all are listening)."""
    seen = set()
    deadline = time.monotonic() + deadline_s
    while len(seen) < n and time.monotonic() < deadline:
        seen.add(_worker(srv.url))
    assert len(seen) == n, (seen, srv.log())
    return seen


def _gone(pids, deadline_s=60):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        left = [p for p in pids if _ppid(p) is not None]
        if not left:
            return []
        time.sleep(0.2)
    return left


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc")
    srv = start_server(tmp_path_factory.mktemp("serve2"), workers=2, env=ONE_CPU)
    try:
        _wait_for_workers(srv, 2)
        yield srv
    finally:
        srv.kill()


def test_two_workers_share_kept_alive_clients(two_workers):
    srv = two_workers
    server_procs = set(_descendants(srv.proc.pid))
    clients = [srv.client() for _ in range(8)]
    try:
        answered = {}
        for k, c in enumerate(clients):
            pids = set()
            for geom in (SITE_KEY, SITE_GENERAL, SITE_KEY):
                r = c.post("/v1/screen", json=feature(geom, industry="6550", construction="new"))
                assert r.status_code == 200, r.text
                pids.add(int(r.headers["x-zoning-worker"]))
            assert len(pids) == 1, pids  # a kept-alive connection stays with one process
            answered[k] = pids.pop()
        assert set(answered.values()) <= server_procs
        # 64 connections at once: every process takes a share of them
        counts = {}
        lock = threading.Lock()

        def one():
            pid = _worker(srv.url, "/v1/packs")
            with lock:
                counts[pid] = counts.get(pid, 0) + 1

        threads = [threading.Thread(target=one) for _ in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(counts.values()) == 64 and len(counts) == 2, counts
        if REUSEPORT_BALANCES:
            # hashed by the kernel: 64 coin flips; fewer than 8 of one kind has p ≈ 1e-10
            assert min(counts.values()) >= 8, counts
    finally:
        for c in clients:
            c.close()


def test_a_dead_worker_is_replaced_and_workers_stop_with_the_supervisor(two_workers):
    srv = two_workers
    before = _wait_for_workers(srv, 2)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    seen = set()
    deadline = time.monotonic() + 90
    while not (seen - before) and time.monotonic() < deadline:
        seen.add(_worker(srv.url))
    new = seen - before
    assert new and victim not in seen, (before, seen)
    assert _ppid(new.pop()) == srv.proc.pid
    assert f"server process {victim} was killed by SIGKILL; starting another" in srv.log()
    with srv.client() as c:
        ids = [c.post("/v1/screen", json=feature(SITE_KEY, industry="6550")).json()["screening_id"] for _ in range(4)]
        assert all(c.get(f"/v1/screenings/{i}").status_code == 200 for i in ids)
    # the supervisor killed alone: its server processes notice and stop (with their screening processes)
    everyone = _descendants(srv.proc.pid)
    os.kill(srv.proc.pid, signal.SIGKILL)
    srv.proc.wait(timeout=30)
    assert _gone(everyone) == []


def test_sigterm_stops_every_process_and_exit_is_0(tmp_path):
    srv = start_server(tmp_path, workers=2, env=ONE_CPU)
    try:
        _wait_for_workers(srv, 2)
        everyone = _descendants(srv.proc.pid)
        assert len(everyone) >= 4  # 2 server processes, their fork servers and screening processes
        os.kill(srv.proc.pid, signal.SIGTERM)  # the supervisor only, not the group
        assert srv.proc.wait(timeout=60) == 0, srv.log()
        assert _gone(everyone) == [], srv.log()
        assert "Traceback" not in srv.log()
    finally:
        srv.kill()


def _serve(args, cwd, env=None, timeout=120):
    full = dict(os.environ, **(env or {}))
    full.pop("ZONING_DB_URL", None)
    return subprocess.run([str(ZONING), "serve", *args], capture_output=True, text=True, cwd=cwd, env=full, timeout=timeout)


@pytest.mark.parametrize("workers, holder", [("1", "plain"), ("2", "plain"), ("2", "reuseport")])
def test_a_taken_port_is_one_line_and_exit_2(tmp_path, workers, holder):
    if holder == "reuseport" and not hasattr(socket, "SO_REUSEPORT"):
        pytest.skip("no SO_REUSEPORT")
    with socket.socket() as other:
        if holder == "reuseport":  # e.g. another `zoning serve`: joining its group would split the clients
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        res = _serve(["--pack", str(GRID), "--port", str(port), "--workers", workers, "--db", "r.sqlite"], tmp_path)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip() == f"zoning: error: cannot listen on 127.0.0.1:{port}: the port is already in use " \
                                 "(another server on it? choose another with --port)", res.stderr
    assert not (tmp_path / "r.sqlite").exists()  # refused before anything was opened


# ----------------------------------------------------------------- --db as a plain path


def _start_with_db(tmp_path, db, workers="1", env=None):
    port = free_port()
    full = dict(os.environ, **ONE_CPU, **(env or {}))
    full.pop("ZONING_DB_URL", None)
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([str(ZONING), "serve", "--pack", str(GRID), "--port", str(port), "--workers", workers, "--db", db],
                            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env=full, start_new_session=True)
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError((tmp_path / "serve.log").read_text())


def test_serve_rescreen_and_records_take_a_plain_db_path(tmp_path, monkeypatch):
    proc, url = _start_with_db(tmp_path, "records/plain.sqlite")  # relative to the working directory
    try:
        with httpx.Client(base_url=url, timeout=30) as c:
            ids = [c.post("/v1/screen", json=feature(g, industry="6550")).json()["screening_id"] for g in (SITE_KEY, SITE_GENERAL)]
            assert c.get("/healthz").status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    db = tmp_path / "records" / "plain.sqlite"
    con = sqlite3.connect(db)
    try:
        assert sorted(con.execute("SELECT id FROM screenings").fetchall()) == sorted((i,) for i in ids)
    finally:
        con.close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("ZONING_DB_URL", raising=False)
    runner = CliRunner()
    for given in ("records/plain.sqlite", str(db), "~/records/plain.sqlite", f"sqlite:///records/plain.sqlite", f"sqlite:///{db}"):
        res = runner.invoke(main, ["records", "verify", "--db", given, "--format", "json"])
        assert res.exit_code == 0, (given, res.output)
        report = json.loads(res.output)
        assert report["records"] == 2 and report["status"] == "ok" and report["db"] == f"sqlite:///{db}", report
    res = runner.invoke(main, ["rescreen", "--pack", str(GRID), "--db", "~/records/plain.sqlite", "-o", str(tmp_path / "changes.csv")])
    assert res.exit_code == 0, res.output
    assert len((tmp_path / "changes.csv").read_text(encoding="utf-8-sig").strip().splitlines()) == 3


@pytest.fixture
def serve_env(monkeypatch):
    """`zoning serve` in this process writes its options into the environment: put it back afterwards."""
    for name in ("ZONING_SERVE_PACKS", "ZONING_SERVE_PACKS_DIR", "ZONING_DB_URL"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return monkeypatch


_FORMS = "give a SQLite file path (records.sqlite, ~/zoning/records.sqlite, /srv/zoning/records.sqlite), " \
         "sqlite:///relative/file.sqlite, sqlite:////absolute/file.sqlite, or postgresql://user@host[:port]/database"


@pytest.mark.parametrize("given, why", [
    ("mysql://root:secret@db/zoning", "mysql is not supported"),
    ("sqlite:/records.sqlite", "not a URL SQLAlchemy can read"),
    (".", "it is a directory; name the SQLite file in it"),
    ("  ", "it is empty"),
])
def test_a_bad_db_is_one_clear_line_for_every_command(tmp_path, serve_env, given, why):
    monkeypatch = serve_env
    shown = given.replace(":secret@", ":***@").strip()
    expected = f"zoning: error: --db {shown!r} is not a record store zoning can use ({why}); {_FORMS}"
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for args in (["serve", "--pack", str(GRID), "--port", str(free_port()), "--db", given],
                 ["records", "verify", "--db", given], ["records", "init", "--db", given],
                 ["rescreen", "--pack", str(GRID), "--db", given, "-o", str(tmp_path / "c.csv")]):
        res = runner.invoke(main, args)
        assert res.exit_code == 2 and res.output.strip() == expected, (args, res.output)
        assert "secret" not in res.output
    assert not (tmp_path / "c.csv").exists()


def test_a_bad_zoning_db_url_names_the_variable(tmp_path, serve_env):
    monkeypatch = serve_env
    monkeypatch.chdir(tmp_path)
    for args in (["serve", "--pack", str(GRID), "--port", str(free_port())], ["records", "verify"]):
        res = CliRunner().invoke(main, args, env={"ZONING_DB_URL": "oracle://scott@db/x"})
        assert res.exit_code == 2, res.output
        assert res.output.startswith("zoning: error: ZONING_DB_URL 'oracle://scott@db/x' is not a record store zoning can use "
                                     "(oracle is not supported)"), res.output
