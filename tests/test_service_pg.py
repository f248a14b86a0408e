"""Screening records on PostgreSQL (skipped unless ZONING_TEST_PG_URL names a database).

.ci/run starts a PostgreSQL server from Debian's packages and sets the variable.
"""

import os
import uuid

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
    from services.store import Store

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
    assert store.count() == 1 and store.integrity_check() == "ok"
    store.dispose()


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
