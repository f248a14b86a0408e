"""Screening records through SQLAlchemy: SQLite (WAL) by default, PostgreSQL by URL.

A record is written in one transaction before the response is sent, and never altered:
the store has no update or delete, and the database refuses both (a trigger).

>>> store = Store("sqlite://")
>>> rid = store.add({"site": {"type": "Point", "coordinates": [120.0, 30.0]}},
...                 {"verdict": "permitted", "pack": {"id": "p", "version": "1", "digest": "sha256:0"},
...                  "engine": {"version": "0.1.0"}})
>>> store.get(rid)["verdict"]["verdict"]
'permitted'
>>> store.get("nope") is None
True
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's busy handler alone
    fcntl = None

__all__ = ["Store", "new_id"]

_metadata = sa.MetaData()

screenings = sa.Table(
    "screenings",
    _metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("created_at", sa.String(32), nullable=False, index=True),
    sa.Column("engine_version", sa.String(32), nullable=False),
    sa.Column("pack_id", sa.String(128), nullable=False),
    sa.Column("pack_version", sa.String(64), nullable=False),
    sa.Column("pack_digest", sa.String(80), nullable=False),
    sa.Column("verdict", sa.String(32), nullable=False),
    sa.Column("request", sa.Text, nullable=False),
    sa.Column("result", sa.Text, nullable=False),
)

_SQLITE_IMMUTABLE = [
    """CREATE TRIGGER IF NOT EXISTS screenings_no_update BEFORE UPDATE ON screenings
       BEGIN SELECT RAISE(ABORT, 'screening records are immutable'); END""",
    """CREATE TRIGGER IF NOT EXISTS screenings_no_delete BEFORE DELETE ON screenings
       BEGIN SELECT RAISE(ABORT, 'screening records are immutable'); END""",
]

_PG_IMMUTABLE = [
    """CREATE OR REPLACE FUNCTION zoning_screenings_immutable() RETURNS trigger
       LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'screening records are immutable'; END $$""",
    """DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'screenings_immutable') THEN
           CREATE TRIGGER screenings_immutable BEFORE UPDATE OR DELETE ON screenings
             FOR EACH ROW EXECUTE FUNCTION zoning_screenings_immutable();
         END IF;
       END $$""",
]


def new_id():
    """A new screening id: 32 hex digits, time-ordered then random (sortable, unguessable)."""
    return f"{time.time_ns() // 1_000_000:012x}{uuid.uuid4().hex[:20]}"


def _normalise_url(url):
    # "postgresql://" picks psycopg2 by default; psycopg (3) is what we install.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Store:
    """The screening records.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///path/file.sqlite`` (WAL journal), ``sqlite://`` (memory,
        for tests) or ``postgresql://user@host/db``.
    sqlite_synchronous : {"FULL", "NORMAL", "EXTRA"}
        SQLite's ``synchronous`` pragma. FULL (the default) survives power loss; NORMAL
        survives a killed server process.
    """

    def __init__(self, url, *, sqlite_synchronous="FULL"):
        self.url = _normalise_url(url)
        self._lock = threading.Lock()
        self._lock_path = None  # SQLite file: writers queue on an flock (fair, no busy-sleep)
        self._lock_fd = None
        u = sa.engine.make_url(self.url)
        self.dialect = u.get_backend_name()
        if self.dialect == "sqlite":
            database = u.database or ""
            memory = database in {"", ":memory:"}
            if not memory:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
                self._lock_path = str(Path(database).expanduser()) + ".writelock"
            kw = {"connect_args": {"check_same_thread": False, "timeout": 30}}
            if memory:
                kw["poolclass"] = StaticPool
            self.engine = sa.create_engine(self.url, **kw)
            sync = sqlite_synchronous

            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn, _record):
                cur = dbapi_conn.cursor()
                if not memory:
                    cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA synchronous={sync}")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

        else:
            self.engine = sa.create_engine(self.url, pool_pre_ping=True, pool_size=8, max_overflow=8)
        self._create_schema()

    def _create_schema(self):
        for attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    if self.dialect == "postgresql":
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(4754201701)"))
                    _metadata.create_all(conn, checkfirst=True)
                    for ddl in _PG_IMMUTABLE if self.dialect == "postgresql" else _SQLITE_IMMUTABLE:
                        conn.execute(sa.text(ddl))
                return
            except sa.exc.OperationalError:  # another worker creating it at the same time
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def add(self, request, result, *, record_id=None):
        """Store one screening atomically and return its id."""
        rid = record_id or new_id()
        pack = result.get("pack") or {}
        row = {
            "id": rid,
            "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
            "engine_version": str((result.get("engine") or {}).get("version", "")),
            "pack_id": str(pack.get("id", "")),
            "pack_version": str(pack.get("version", "")),
            "pack_digest": str(pack.get("digest", "")),
            "verdict": str(result.get("verdict", "")),
            "request": json.dumps(request, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
            "result": json.dumps(result, ensure_ascii=False, separators=(",", ":")),
        }
        with self._writer():
            with self.engine.begin() as conn:
                conn.execute(screenings.insert().values(**row))
        return rid

    @contextlib.contextmanager
    def _writer(self):
        """Serialise SQLite writers of all processes on a lock file.

        SQLite's own busy handler sleeps and retries (up to 100 ms a time), which under
        several writing workers starves some of them for seconds; a blocking ``flock``
        wakes the next writer as soon as the lock is free.
        """
        if self._lock_path is None or fcntl is None:
            yield
            return
        with self._lock:
            if self._lock_fd is None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def get(self, record_id):
        """The stored record as plain data, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(screenings).where(screenings.c.id == str(record_id))).mappings().first()
        if row is None:
            return None
        return {
            "screening_id": row["id"],
            "created_at": row["created_at"],
            "engine": {"version": row["engine_version"]},
            "pack": {"id": row["pack_id"], "version": row["pack_version"], "digest": row["pack_digest"]},
            "request": json.loads(row["request"]),
            "verdict": json.loads(row["result"]),
        }

    def count(self):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(screenings)).scalar_one()

    def ping(self):
        """True when the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def integrity_check(self):
        """``"ok"`` when the database is sound (SQLite ``PRAGMA integrity_check``)."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                rows = conn.execute(sa.text("PRAGMA integrity_check")).scalars().all()
                return "ok" if rows == ["ok"] else "; ".join(map(str, rows))
            conn.execute(sa.select(sa.func.count()).select_from(screenings))
            return "ok"

    def describe(self):
        """The URL without password, for logs."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def dispose(self):
        self.engine.dispose()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


