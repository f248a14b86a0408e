"""Screening records on PostgreSQL (skipped unless ZONING_TEST_PG_URL names a database).

.ci/run starts a PostgreSQL server from Debian's packages and sets the variable.
"""

import os
import socket
import tempfile
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from service_support import SITE_KEY, feature, start_server

PG_URL = os.environ.get("ZONING_TEST_PG_URL")
pytestmark = [
    pytest.mark.skipif(not PG_URL, reason="ZONING_TEST_PG_URL is not set (no PostgreSQL server)"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


@pytest.fixture(scope="module")
def pg_url():
    """A fresh database per test module, dropped afterwards (xdist workers do not collide)."""
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = f"zoning_t_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_store_on_postgresql(pg_url):
    from zoning.service.store import Store

    store = Store(pg_url)
    rid = store.add({"site": {"type": "Point", "coordinates": [120, 30]}, "project": {"name": "中文"}},
                    {"verdict": "permitted", "pack": {"id": "p", "version": "1", "digest": "sha256:0"}, "engine": {"version": "x"}})
    rec = store.get(rid)
    assert rec["request"]["project"]["name"] == "中文" and rec["verdict"]["verdict"] == "permitted"
    Store(pg_url)  # creating the schema again is harmless
    with store.engine.begin() as conn, pytest.raises(sa.exc.DBAPIError, match="immutable"):
        conn.execute(sa.text("UPDATE screenings SET verdict = 'prohibited'"))
    with store.engine.begin() as conn, pytest.raises(sa.exc.DBAPIError, match="immutable"):
        conn.execute(sa.text("DELETE FROM screenings"))
    with store.engine.begin() as conn, pytest.raises(sa.exc.DBAPIError, match="immutable"):
        conn.execute(sa.text("TRUNCATE screenings"))
    assert store.count() == 1 and store.integrity_check() == "ok"
    assert store.verify()["status"] == "ok" and rec["integrity"] == "ok"
    store.dispose()


def _as(url, role):
    head, tail = url.split("://", 1)
    return f"{head}://{role}@{tail.split('@', 1)[1]}"


def test_insert_only_role_and_what_the_owner_can_still_do_is_detected(pg_url):
    from click.testing import CliRunner

    from zoning.service.store import Store
    from zoning.cli import main

    role = f"zoning_app_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
    try:
        res = CliRunner().invoke(main, ["records", "init", "--db", pg_url, "--app-role", role])
        assert res.exit_code == 0, res.output
        app = Store(_as(pg_url, role))
        assert app.insert_only is True and not any("insert-only" in n for n in app.notes)
        ids = [app.add({"n": i}, {"verdict": "permitted", "pack": {"id": "p", "version": "1", "digest": "d"}, "engine": {"version": "x"}})
               for i in range(4)]
        for statement in ("UPDATE screenings SET verdict = 'x'", "DELETE FROM screenings", "TRUNCATE screenings",
                          "ALTER TABLE screenings DISABLE TRIGGER USER", "DROP TRIGGER screenings_immutable ON screenings"):
            with app.engine.begin() as conn, pytest.raises(sa.exc.DBAPIError, match="permission denied|must be owner|immutable"):
                conn.execute(sa.text(statement))
        # the owner can disable the triggers: the chain still tells
        res = CliRunner().invoke(main, ["records", "verify", "--db", pg_url, "--anchor", str(_anchor := Path(tempfile.mkdtemp()) / "head.json")])
        assert res.exit_code == 0, res.output
        with admin.connect() as conn:
            conn.execute(sa.text("ALTER TABLE screenings DISABLE TRIGGER USER"))
            conn.execute(sa.text(f"UPDATE screenings SET verdict = 'prohibited', result = replace(result, 'permitted', 'prohibited') WHERE id = '{ids[1]}'"))
        assert app.get(ids[1])["integrity"] == "broken"
        again = Store(_as(pg_url, role))
        assert any("DISABLED" in n for n in again.notes), again.notes
        res = CliRunner().invoke(main, ["records", "verify", "--db", pg_url])
        assert res.exit_code == 1 and "content does not match its hash" in res.output, res.output
        with admin.connect() as conn:
            conn.execute(sa.text("TRUNCATE screenings"))
            conn.execute(sa.text("ALTER TABLE screenings ENABLE TRIGGER USER"))
        res = CliRunner().invoke(main, ["records", "verify", "--db", pg_url, "--anchor", str(_anchor)])
        assert res.exit_code == 1 and "is gone" in res.output, res.output
        app.dispose()
        again.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))
        admin.dispose()


class _Proxy:
    """A TCP forwarder to PostgreSQL that can be cut and restored (PostgreSQL 'down' and back)."""

    def __init__(self, target):
        self.target = target
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            server = socket.create_connection(self.target)
            self.conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.up.clear()
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.conns = []

    def restore(self):
        self.up.set()


def test_postgresql_going_down_gives_503_and_healthz_says_so(tmp_path, pg_url):
    u = sa.engine.make_url(pg_url)
    proxy = _Proxy((u.host, u.port))
    via = pg_url.replace(f"{u.host}:{u.port}", f"127.0.0.1:{proxy.port}")
    srv = start_server(tmp_path, db_url=via)
    try:
        with srv.client() as c:
            assert c.post("/v1/screen", json=feature(SITE_KEY, industry="6550")).status_code == 200
            proxy.cut()
            r = c.post("/v1/screen", json=feature(SITE_KEY, industry="6550"))
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "storage_unavailable" and "cannot be reached" in r.json()["detail"]
            h = c.get("/healthz")
            assert h.status_code == 503 and h.json()["database"] == "unavailable", h.text
            proxy.restore()
            r = c.post("/v1/screen", json=feature(SITE_KEY, industry="6550"))
            assert r.status_code == 200, r.text
            assert c.get(f"/v1/screenings/{r.json()['screening_id']}").json()["integrity"] == "ok"
    finally:
        srv.kill()
        proxy.sock.close()


def test_service_on_postgresql(tmp_path, pg_url):
    srv = start_server(tmp_path, db_url=pg_url, workers=2)
    try:
        with srv.client() as c:
            assert c.get("/healthz").json()["database"] == "ok"
            ids = []
            for _ in range(6):
                r = c.post("/v1/screen", json=feature(SITE_KEY, industry="2614", construction="new"))
                assert r.status_code == 200, r.text
                ids.append(r.json()["screening_id"])
            for sid in ids:
                rec = c.get(f"/v1/screenings/{sid}").json()
                assert rec["screening_id"] == sid and rec["pack"]["id"] == "grid-test"
            assert c.get(f"/v1/screenings/{ids[0]}/map").status_code == 200
    finally:
        srv.kill()
    srv = start_server(tmp_path, db_url=pg_url)
    try:
        with srv.client() as c:
            assert all(c.get(f"/v1/screenings/{sid}").status_code == 200 for sid in ids)
    finally:
        srv.stop()


@pytest.fixture()
def fresh_pg_url():
    """A database of its own (the module's is shared with the other tests' records)."""
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = f"zoning_r_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield PG_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_rescreen_on_postgresql(tmp_path, fresh_pg_url):
    """Records made by a live server on PostgreSQL, screened again on a new pack version (contract §8)."""
    import csv

    from click.testing import CliRunner

    from service_support import SITE_GENERAL, SITE_PRI
    from test_rescreen import new_version
    from zoning.cli import main

    v2 = new_version(tmp_path)
    srv = start_server(tmp_path / "run", db_url=fresh_pg_url)
    try:
        with srv.client() as c:
            recs = [c.post("/v1/screen", json=feature(g, industry="6550", construction="new")).json() for g in (SITE_KEY, SITE_PRI, SITE_GENERAL)]
    finally:
        srv.stop()
    assert [r["verdict"] for r in recs] == ["needs_information", "prohibited", "needs_information"]
    out = tmp_path / "changes.csv"
    res = CliRunner().invoke(main, ["rescreen", "--pack", str(v2), "--db", fresh_pg_url, "-o", str(out)])
    assert res.exit_code == 0, res.output
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = {r["screening_id"]: r for r in csv.DictReader(fh)}
    assert list(rows) == [r["screening_id"] for r in recs]
    changed = rows[recs[0]["screening_id"]]
    assert (changed["new_verdict"], changed["changed"], changed["old_pack_version"], changed["new_pack_version"]) == ("prohibited", "true", "1.0", "2.0")
    assert changed["reason"] == "T-NEW-01 fires only in new (prohibit at ZH33052120001)"
    assert all(rows[r["screening_id"]]["changed"] == "false" for r in recs[1:])
    res = CliRunner().invoke(main, ["rescreen", "--pack", str(v2), "--db", fresh_pg_url, "--since", "2999-01-01", "-o", str(out)])
    assert res.exit_code == 0 and out.read_bytes().decode("utf-8-sig").strip().count("\n") == 0
    verify = CliRunner().invoke(main, ["records", "verify", "--db", fresh_pg_url])
    assert verify.exit_code == 0 and "3 records, 3 chained" in verify.output, verify.output
    res = CliRunner().invoke(main, ["rescreen", "--pack", str(v2), "--db", fresh_pg_url.rsplit("/", 1)[0] + "/no_such_db", "-o", str(out)])
    assert res.exit_code == 2 and "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1, res.output
