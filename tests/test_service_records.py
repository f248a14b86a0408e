"""Tamper-evident records and storage failures (issue 12, items 6 and 9), on SQLite.

PostgreSQL's side is in test_service_pg.py.
"""

import json
import os
import sqlite3
import signal
import subprocess
import time
import uuid

import httpx

import pytest
from click.testing import CliRunner

from conftest import GRID

from service_support import SITE_GENERAL, SITE_KEY, ZONING, feature, free_port, start_server
from zoning.service.store import Store
from zoning.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

RESULT = {"verdict": "permitted", "pack": {"id": "p", "version": "1", "digest": "sha256:0"}, "engine": {"version": "x"}}


def _store_with(tmp_path, n=5, key=None):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    store = Store(url, key=key)
    ids = [store.add({"n": i, "project": {"name": f"p{i}"}}, {**RESULT, "n": i}) for i in range(n)]
    return url, store, ids


def _verify(url, *args):
    res = CliRunner().invoke(main, ["records", "verify", "--db", url, *args])
    return res.exit_code, res.output


def _sql(tmp_path, *statements):
    con = sqlite3.connect(tmp_path / "r.sqlite")
    try:
        for st in statements:
            con.execute(st)
        con.commit()
    finally:
        con.close()


def test_intact_chain_verifies(tmp_path):
    url, store, ids = _store_with(tmp_path)
    code, out = _verify(url)
    assert code == 0, out
    assert "5 records, 5 chained" in out and "integrity: ok" in out
    rec = store.get(ids[2])
    assert rec["integrity"] == "ok" and rec["chain"]["seq"] == 3
    assert rec["chain"]["prev_hash"] == store.get(ids[1])["chain"]["hash"]


def test_insert_or_replace_is_refused(tmp_path):
    _url, _store, ids = _store_with(tmp_path)
    with pytest.raises(sqlite3.DatabaseError, match="immutable"):
        _sql(tmp_path, f"INSERT OR REPLACE INTO screenings SELECT id, created_at, engine_version, pack_id, pack_version, "
                       f"pack_digest, 'prohibited', request, result, seq, prev_hash, hash FROM screenings WHERE id = '{ids[1]}'")


def test_a_rewritten_verdict_is_detected(tmp_path):
    url, store, ids = _store_with(tmp_path)
    _sql(tmp_path, "DROP TRIGGER screenings_no_update",
         f"UPDATE screenings SET verdict = 'prohibited', result = replace(result, 'permitted', 'prohibited') WHERE id = '{ids[2]}'")
    code, out = _verify(url)
    assert code == 1 and f"BROKEN seq 3 {ids[2]}: content does not match its hash" in out, out
    assert store.get(ids[2])["integrity"] == "broken"
    assert store.get(ids[0])["integrity"] == "ok"


def test_a_deleted_record_is_detected_and_the_recreated_trigger_is_reported(tmp_path):
    url, store, ids = _store_with(tmp_path)
    store.dispose()
    _sql(tmp_path, "DROP TRIGGER screenings_no_delete", f"DELETE FROM screenings WHERE id = '{ids[1]}'")
    again = Store(url)  # a restart recreates the trigger, and says so
    assert any("screenings_no_delete was missing" in n for n in again.notes)
    code, out = _verify(url)
    assert code == 1 and "record 2 is missing (deleted)" in out, out
    assert again.get(ids[2])["integrity"] == "broken"  # its predecessor is gone


def test_reordering_is_detected(tmp_path):
    url, _store, ids = _store_with(tmp_path)
    _sql(tmp_path, "DROP TRIGGER screenings_no_update",
         f"UPDATE screenings SET seq = -1 WHERE id = '{ids[1]}'",
         f"UPDATE screenings SET seq = 2 WHERE id = '{ids[2]}'",
         f"UPDATE screenings SET seq = 3 WHERE id = '{ids[1]}'")
    code, out = _verify(url)
    assert code == 1 and "BROKEN seq 2" in out, out


def test_recomputed_chain_is_caught_with_a_key_and_removed_tail_with_an_anchor(tmp_path):
    url, store, ids = _store_with(tmp_path, key="s3cret")
    anchor = tmp_path / "head.json"
    os.environ["ZONING_RECORDS_KEY"] = "s3cret"
    try:
        code, out = _verify(url, "--anchor", str(anchor))
        assert code == 0 and json.loads(anchor.read_text())["seq"] == 5, out
        # someone with the file rewrites the last record and recomputes an unkeyed hash
        from zoning.service.store import record_hash

        con = sqlite3.connect(tmp_path / "r.sqlite")
        con.row_factory = sqlite3.Row
        row = dict(con.execute(f"SELECT * FROM screenings WHERE id = '{ids[4]}'").fetchone())
        row["verdict"] = "prohibited"
        forged = record_hash(row, row["prev_hash"])
        con.execute("DROP TRIGGER screenings_no_update")
        con.execute("UPDATE screenings SET verdict = ?, hash = ? WHERE id = ?", ("prohibited", forged, ids[4]))
        con.commit()
        code, out = _verify(url)
        assert code == 1 and "unkeyed hash after keyed ones" in out, out
        # ... or deletes it: only the anchor noted earlier tells
        con.execute("DROP TRIGGER screenings_no_delete")
        con.execute(f"DELETE FROM screenings WHERE id = '{ids[4]}'")
        con.commit()
        con.close()
        code, out = _verify(url)
        assert code == 0, out  # the chain that is left is intact...
        code, out = _verify(url, "--anchor", str(anchor))
        assert code == 1 and "anchored head (seq 5) is gone" in out, out
    finally:
        del os.environ["ZONING_RECORDS_KEY"]


def test_records_from_before_chaining_are_kept_and_listed(tmp_path):
    db = tmp_path / "r.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE screenings (id VARCHAR(36) PRIMARY KEY, created_at VARCHAR(32) NOT NULL, engine_version VARCHAR(32) NOT NULL, "
                "pack_id VARCHAR(128) NOT NULL, pack_version VARCHAR(64) NOT NULL, pack_digest VARCHAR(80) NOT NULL, "
                "verdict VARCHAR(32) NOT NULL, request TEXT NOT NULL, result TEXT NOT NULL)")
    old = uuid.uuid4().hex
    con.execute("INSERT INTO screenings VALUES (?, '2024-01-01T00:00:00.000+00:00', 'x', 'p', '1', 'sha256:0', 'permitted', '{}', ?)",
                (old, json.dumps(RESULT)))
    con.commit()
    con.close()
    store = Store(f"sqlite:///{db}")
    new = store.add({}, RESULT)
    assert store.get(old)["integrity"] == "unchained" and store.get(new)["integrity"] == "ok"
    code, out = _verify(f"sqlite:///{db}")
    assert code == 0 and "2 records, 1 chained, 1 unchained" in out, out


def test_service_shows_integrity_and_the_chain_survives_sigkill(tmp_path):
    srv = start_server(tmp_path, workers=2)
    try:
        with srv.client() as c:
            ids = [c.post("/v1/screen", json=feature(g, industry="6550")).json()["screening_id"] for g in (SITE_KEY, SITE_GENERAL) * 3]
            rec = c.get(f"/v1/screenings/{ids[0]}").json()
            assert rec["integrity"] == "ok" and rec["chain"]["seq"] == 1
    finally:
        srv.kill()
    code, out = _verify(srv.env["ZONING_DB_URL"])
    assert code == 0 and "6 records, 6 chained" in out, out
    con = sqlite3.connect(tmp_path / "records.sqlite")
    con.execute("DROP TRIGGER screenings_no_update")
    con.execute(f"UPDATE screenings SET result = replace(result, '\"verdict\":\"', '\"verdict\":\"not-') WHERE id = '{ids[3]}'")
    con.commit()
    con.close()
    srv = start_server(tmp_path)
    try:
        with srv.client() as c:
            assert c.get(f"/v1/screenings/{ids[3]}").json()["integrity"] == "broken"
            assert c.get(f"/v1/screenings/{ids[0]}").json()["integrity"] == "ok"
        assert "screenings_no_update was missing" in srv.log()
    finally:
        srv.stop()


# ----------------------------------------------------------------- item 9: storage failures


def _serve_exit(env_db, tmp_path):
    env = dict(os.environ, ZONING_DB_URL=env_db)
    cmd = [str(ZONING), "serve", "--port", str(free_port())]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def test_start_up_with_an_unusable_database_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    res = _serve_exit(f"sqlite:///{tmp_path / 'file' / 'records.sqlite'}", tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.strip().count("\n") == 0 and "zoning: error: cannot start" in res.stderr
    res = _serve_exit(f"postgresql://nobody@127.0.0.1:{free_port()}/zoning", tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert "cannot be reached" in res.stderr and res.stderr.strip().count("\n") == 0


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs (root only): filled up, then made read-only."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("needs root to mount a small tmpfs")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_disk_full_and_read_only_give_503_and_healthz_says_so(tmp_path, small_disk):
    srv = start_server(tmp_path / "run", db_url=f"sqlite:///{small_disk / 'records.sqlite'}")
    try:
        with srv.client() as c:
            ok = c.post("/v1/screen", json=feature(SITE_KEY, industry="6550"))
            assert ok.status_code == 200, ok.text
            with open(small_disk / "filler", "wb") as fh:  # fill the disk
                try:
                    while True:
                        fh.write(b"\0" * 65536)
                        fh.flush()
                except OSError:
                    pass
            r = c.post("/v1/screen", json=feature(SITE_KEY, industry="6550", name="x" * 200_000))
            assert r.status_code == 503, r.text
            err = r.json()
            assert err["error"] == "storage_unavailable" and "not recorded" in err["detail"] and "Traceback" not in r.text
            h = c.get("/healthz")
            assert h.status_code == 503 and h.json()["database"] == "full", h.text
            (small_disk / "filler").unlink()
            assert c.post("/v1/screen", json=feature(SITE_KEY, industry="6550")).status_code == 200
            assert c.get("/healthz").json()["database"] == "ok"
    finally:
        srv.kill()
    # the same store on a file system mounted read-only (files open for writing forbid a remount)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    port = free_port()
    env = dict(srv.env, ZONING_DB_URL=f"sqlite:///{small_disk / 'records.sqlite'}")
    log = open(tmp_path / "ro.log", "wb")
    proc = subprocess.Popen([str(ZONING), "serve", "--port", str(port), "--pack", str(GRID)], stdout=log, stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        h = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                h = httpx.get(url + "/healthz", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert h is not None and h.status_code == 503 and h.json()["database"] == "read_only", (h and h.text, (tmp_path / "ro.log").read_text())
        r = httpx.post(url + "/v1/screen", json=feature(SITE_KEY, industry="6550"), timeout=30)
        assert r.status_code == 503 and r.json()["error"] == "storage_unavailable" and "read-only" in r.json()["detail"], r.text
        assert httpx.get(f"{url}/v1/screenings/{ok.json()['screening_id']}", timeout=30).status_code == 200  # reads still work
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
        log.close()
