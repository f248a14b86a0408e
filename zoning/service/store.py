"""Screening records through SQLAlchemy: SQLite (WAL) by default, PostgreSQL by URL.

A record is written in one transaction before the response is sent, and never altered:
the store has no update or delete, and the database refuses both (triggers; on SQLite also
``INSERT OR REPLACE`` over an existing id, on PostgreSQL also ``TRUNCATE``).

Triggers can be dropped by whoever owns the database, so records are also
**tamper-evident**: each carries ``seq`` (1, 2, 3… with no gaps), ``prev_hash`` (the hash of
record ``seq - 1``) and ``hash``, a SHA-256 — or, with a secret key, an HMAC-SHA256 — over the
record's canonical content (see :func:`record_hash`). Rewriting, deleting or reordering any
record breaks the chain at that place; :meth:`Store.verify` (``zoning records verify``) walks
it, and :meth:`Store.get` says whether one record still fits its neighbours. Without a key
anyone able to write the database could recompute the whole chain: set ``ZONING_RECORDS_KEY``
(kept outside the database), and note the chain head that ``verify`` prints to detect the
removal of the newest records too (``--anchor``).

>>> store = Store("sqlite://")
>>> rid = store.add({"site": {"type": "Point", "coordinates": [120.0, 30.0]}},
...                 {"verdict": "permitted", "pack": {"id": "p", "version": "1", "digest": "sha256:0"},
...                  "engine": {"version": "0.1.0"}})
>>> rec = store.get(rid)
>>> rec["verdict"]["verdict"], rec["integrity"], rec["chain"]["seq"]
('permitted', 'ok', 1)
>>> store.verify()["status"]
'ok'
>>> store.get("nope") is None
True
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import hmac
import json
import logging
import os
import shutil
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from zoning.service.errors import StorageUnavailable

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's busy handler alone
    fcntl = None

__all__ = ["Store", "RecordReader", "db_url_from", "new_id", "record_hash", "content_digest", "prepare", "canonical_json", "GENESIS"]

log = logging.getLogger("zoning.service")

#: ``prev_hash`` of the first record.
GENESIS = "sha256:" + "0" * 64
_HASH_VERSION = 1
_LOCK_KEY = 4754201701

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
    sa.Column("seq", sa.BigInteger, nullable=True, unique=True),  # NULL only for records written before chaining
    sa.Column("prev_hash", sa.String(80), nullable=True),
    sa.Column("hash", sa.String(80), nullable=True),
)

_CHAIN_COLUMNS = {"seq": "BIGINT", "prev_hash": "VARCHAR(80)", "hash": "VARCHAR(80)"}

_SQLITE_TRIGGERS = {
    "screenings_no_update": """CREATE TRIGGER screenings_no_update BEFORE UPDATE ON screenings
       BEGIN SELECT RAISE(ABORT, 'screening records are immutable'); END""",
    "screenings_no_delete": """CREATE TRIGGER screenings_no_delete BEFORE DELETE ON screenings
       BEGIN SELECT RAISE(ABORT, 'screening records are immutable'); END""",
    # INSERT OR REPLACE deletes the old row without firing delete triggers: refuse the insert
    "screenings_no_replace": """CREATE TRIGGER screenings_no_replace BEFORE INSERT ON screenings
       WHEN EXISTS (SELECT 1 FROM screenings WHERE id = NEW.id OR seq = NEW.seq)
       BEGIN SELECT RAISE(ABORT, 'screening records are immutable'); END""",
}

_PG_FUNCTION = """CREATE OR REPLACE FUNCTION zoning_screenings_immutable() RETURNS trigger
       LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'screening records are immutable'; END $$"""
_PG_TRIGGERS = {
    "screenings_immutable": """CREATE TRIGGER screenings_immutable BEFORE UPDATE OR DELETE ON screenings
       FOR EACH ROW EXECUTE FUNCTION zoning_screenings_immutable()""",
    "screenings_no_truncate": """CREATE TRIGGER screenings_no_truncate BEFORE TRUNCATE ON screenings
       FOR EACH STATEMENT EXECUTE FUNCTION zoning_screenings_immutable()""",
}


def new_id():
    """A new screening id: 32 hex digits, time-ordered then random (sortable, unguessable)."""
    return f"{time.time_ns() // 1_000_000:012x}{uuid.uuid4().hex[:20]}"


def canonical_json(obj):
    """UTF-8 JSON with sorted keys and no spaces: the form records are hashed in."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def content_digest(request_text, result_text, row):
    """SHA-256 of a record's canonical content (request, result, pack, verdict, engine version).

    Computed where the verdict is made (a worker process), so the server only chains it.
    """
    content = {
        "v": _HASH_VERSION,
        "engine_version": row["engine_version"],
        "pack": {"id": row["pack_id"], "version": row["pack_version"], "digest": row["pack_digest"]},
        "verdict": row["verdict"],
        "request": json.loads(request_text),
        "result": json.loads(result_text),
    }
    return "sha256:" + hashlib.sha256(canonical_json(content)).hexdigest()


def serialise(request, result):
    """``(request_text, result_text, row_fields)``: the stored texts and the columns taken from the result."""
    pack = result.get("pack") or {}
    fields = {
        "engine_version": str((result.get("engine") or {}).get("version", "")),
        "pack_id": str(pack.get("id", "")),
        "pack_version": str(pack.get("version", "")),
        "pack_digest": str(pack.get("digest", "")),
        "verdict": str(result.get("verdict", "")),
    }
    request_text = request if isinstance(request, str) else json.dumps(request, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    result_text = json.dumps(result, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return request_text, result_text, fields


def prepare(request, result):
    """``(request_text, result_text, fields, content_digest)`` for :meth:`Store.add`."""
    request_text, result_text, fields = serialise(request, result)
    return request_text, result_text, fields, content_digest(request_text, result_text, fields)


def record_hash(row, prev_hash, key=None, digest=None):
    """The hash of one record, chained to ``prev_hash``.

    Covers the record's id, seq and time, the :func:`content_digest` of its engine version,
    pack id/version/digest, verdict, canonical request and canonical result, and the
    previous hash. ``sha256:…``, or ``hmac-sha256:…`` with a key.

    >>> row = {"id": "a", "seq": 1, "created_at": "t", "engine_version": "1", "pack_id": "p", "pack_version": "1",
    ...        "pack_digest": "sha256:0", "verdict": "permitted", "request": "{}", "result": "{}"}
    >>> record_hash(row, GENESIS)[:7], record_hash(row, GENESIS, key=b"k")[:12]
    ('sha256:', 'hmac-sha256:')
    """
    content = {
        "v": _HASH_VERSION,
        "id": row["id"],
        "seq": int(row["seq"]),
        "created_at": row["created_at"],
        "content": digest or content_digest(row["request"], row["result"], row),
        "prev": prev_hash,
    }
    data = canonical_json(content)
    if key:
        return "hmac-sha256:" + hmac.new(key, data, hashlib.sha256).hexdigest()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _normalise_url(url):
    # "postgresql://" picks psycopg2 by default; psycopg (3) is what we install.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _storage_problem(exc):
    """A database error → (state, one user-safe line)."""
    text = str(getattr(exc, "orig", exc) or exc).lower()
    if "disk is full" in text or "no space left" in text or "disk full" in text:
        return "full", "the record store's disk is full"
    if "readonly" in text or "read-only" in text or "read only" in text:
        return "read_only", "the record store is read-only"
    if "permission denied" in text:
        return "forbidden", "the record store refuses this server's writes (permission denied)"
    if "unable to open" in text:
        return "unavailable", "the record store's database file cannot be opened"
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)) or "connect" in text or "terminat" in text:
        return "unavailable", "the record store's database cannot be reached"
    return "error", "the record store failed"


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
    key : str or bytes, optional
        Secret for keyed (HMAC-SHA256) record hashes (``ZONING_RECORDS_KEY``).
    create : bool
        Create the table and triggers when missing (on PostgreSQL an insert-only role cannot:
        the owner runs ``zoning records init``).

    Raises
    ------
    StorageUnavailable
        The database cannot be opened, reached or set up; the message is one line.
    """

    def __init__(self, url, *, sqlite_synchronous="FULL", key=None, create=True):
        self.url = _normalise_url(url)
        self.key = key.encode("utf-8") if isinstance(key, str) else key
        self.insert_only = None  # PostgreSQL: the role has no UPDATE, DELETE or TRUNCATE right
        self.notes = []  # things an operator should know (triggers recreated, role can delete…)
        self._lock = threading.Lock()
        self._lock_path = None  # SQLite file: writers queue on an flock (fair, no busy-sleep)
        self._lock_fd = None
        self._db_path = None
        self._last_failure = None  # (state, message, time) of the last failed write, cleared by a success
        u = sa.engine.make_url(self.url)
        self.dialect = u.get_backend_name()
        if self.dialect == "sqlite":
            database = u.database or ""
            memory = database in {"", ":memory:"}
            if not memory:
                self._db_path = Path(database).expanduser()
                try:
                    self._db_path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as e:
                    raise StorageUnavailable(f"cannot create the directory of the record store {self._db_path.parent}: {e.strerror}") from None
                self._lock_path = str(self._db_path) + ".writelock"
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
            self.engine = sa.create_engine(
                self.url, pool_pre_ping=True, pool_size=8, max_overflow=8, connect_args={"connect_timeout": 5}
            )
        with _opening(self):
            self._create_schema(create)

    # ------------------------------------------------------------------ schema

    def _create_schema(self, create):
        for attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    if self.dialect == "postgresql":
                        conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})"))
                    existed = sa.inspect(conn).has_table("screenings")
                    if not existed:
                        if not create:
                            raise StorageUnavailable(f"{self.describe()} has no screenings table; run `zoning records init` first")
                        _metadata.create_all(conn, checkfirst=True)
                    migrated = existed and self._add_chain_columns(conn)
                    self._ensure_triggers(conn, existed, migrated)
                if self.dialect == "postgresql":
                    self._check_privileges()
                return
            except sa.exc.OperationalError:  # another worker creating it at the same time
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _add_chain_columns(self, conn):
        have = {c["name"] for c in sa.inspect(conn).get_columns("screenings")}
        missing = [c for c in _CHAIN_COLUMNS if c not in have]
        for name in missing:
            conn.execute(sa.text(f"ALTER TABLE screenings ADD COLUMN {name} {_CHAIN_COLUMNS[name]}"))
        if missing:
            conn.execute(sa.text("CREATE UNIQUE INDEX IF NOT EXISTS ix_screenings_seq ON screenings (seq)"))
            self.notes.append("records written before this version carry no hash chain; `zoning records verify` lists them as unchained")
        return bool(missing)

    def _ensure_triggers(self, conn, existed, migrated=False):
        if self.dialect == "sqlite":
            have = set(conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'screenings'")).scalars())
            for name, ddl in _SQLITE_TRIGGERS.items():
                if name not in have:
                    conn.execute(sa.text(ddl))
                    if existed and not (migrated and name == "screenings_no_replace"):
                        self._tamper_note(name)
            return
        have = set(conn.execute(sa.text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'screenings'::regclass AND NOT tgisinternal"
        )).scalars())
        enabled = set(conn.execute(sa.text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'screenings'::regclass AND NOT tgisinternal AND tgenabled <> 'D'"
        )).scalars())
        missing = [n for n in _PG_TRIGGERS if n not in have]
        if missing:
            conn.execute(sa.text(_PG_FUNCTION))
            for name in missing:
                conn.execute(sa.text(_PG_TRIGGERS[name]))
                if existed and name == "screenings_immutable":
                    self._tamper_note(name)
        for name in have & set(_PG_TRIGGERS) - enabled:
            self.notes.append(f"trigger {name} on screenings is DISABLED; records can be altered — run `zoning records verify`")
            log.warning("records: %s", self.notes[-1])

    def _tamper_note(self, name):
        msg = (f"the immutability trigger {name} was missing from an existing record store and has been recreated; "
               "someone may have altered records: run `zoning records verify`")
        self.notes.append(msg)
        log.warning("records: %s", msg)

    def _check_privileges(self):
        with self.engine.connect() as conn:
            rights = {p: bool(conn.execute(sa.text(f"SELECT has_table_privilege(current_user, 'screenings', '{p}')")).scalar())
                      for p in ("UPDATE", "DELETE", "TRUNCATE")}
        self.insert_only = not any(rights.values())
        if not self.insert_only:
            granted = ", ".join(p for p, ok in rights.items() if ok)
            self.notes.append(f"the database role may {granted} screenings; serve with an insert-only role (README: PostgreSQL set-up)")

    # ------------------------------------------------------------------ writing

    def add(self, request, result, *, record_id=None, prepared=None):
        """Store one screening atomically, chained to the last record, and return its id.

        ``prepared`` is what :func:`prepare` made of ``(request, result)`` elsewhere (the
        worker process), so that the server does not serialise large sites itself.

        Raises
        ------
        StorageUnavailable
            The database refused or could not take the write (nothing is half-written).
        """
        rid = record_id or new_id()
        request_text, result_text, fields, digest = prepared or prepare(request, result)
        row = {
            "id": rid,
            "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
            **fields,
            "request": request_text,
            "result": result_text,
        }
        try:
            with self._writer():
                with self.engine.begin() as conn:
                    if self.dialect == "postgresql":
                        conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})"))
                    last = conn.execute(
                        sa.select(screenings.c.seq, screenings.c.hash).where(screenings.c.seq.is_not(None))
                        .order_by(screenings.c.seq.desc()).limit(1)
                    ).first()
                    row["seq"] = (last.seq + 1) if last else 1
                    row["prev_hash"] = last.hash if last else GENESIS
                    row["hash"] = record_hash(row, row["prev_hash"], self.key, digest=digest)
                    conn.execute(screenings.insert().values(**row))
        except (sa.exc.SQLAlchemyError, OSError) as e:
            state, message = _storage_problem(e)
            self._last_failure = (state, message, time.time())
            log.error("records: write failed (%s): %s", state, _first_line(e))
            raise StorageUnavailable(f"{message}; the screening was not recorded — retry later") from None
        self._last_failure = None
        return rid

    @contextlib.contextmanager
    def _writer(self):
        """Serialise writers: threads on a lock, SQLite processes on a lock file too.

        SQLite's own busy handler sleeps and retries (up to 100 ms a time), which under
        several writing workers starves some of them for seconds; a blocking ``flock``
        wakes the next writer as soon as the lock is free.
        """
        with self._lock:
            if self._lock_path is None or fcntl is None:
                yield
                return
            if self._lock_fd is None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    # ------------------------------------------------------------------ reading

    def get(self, record_id):
        """The stored record as plain data (with ``integrity`` and ``chain``), or None."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(screenings).where(screenings.c.id == str(record_id))).mappings().first()
                if row is None:
                    return None
                integrity = self._integrity(conn, row)
        except sa.exc.SQLAlchemyError as e:
            _state, message = _storage_problem(e)
            raise StorageUnavailable(f"{message}; cannot read records now — retry later") from None
        return {
            "screening_id": row["id"],
            "created_at": row["created_at"],
            "engine": {"version": row["engine_version"]},
            "pack": {"id": row["pack_id"], "version": row["pack_version"], "digest": row["pack_digest"]},
            "request": json.loads(row["request"]),
            "verdict": json.loads(row["result"]),
            "integrity": integrity,
            "chain": {"seq": row["seq"], "hash": row["hash"], "prev_hash": row["prev_hash"]},
        }

    def _integrity(self, conn, row):
        """``ok`` when the record matches its hash and both neighbours link to it; else ``broken``."""
        if row["seq"] is None:
            return "unchained"
        if not self._hash_ok(row):
            return "broken"
        seq = row["seq"]
        if seq == 1:
            if row["prev_hash"] != GENESIS:
                return "broken"
        else:
            prev = conn.execute(sa.select(screenings.c.hash).where(screenings.c.seq == seq - 1)).first()
            if prev is None or prev.hash != row["prev_hash"]:
                return "broken"
            if self.key and prev.hash.startswith("hmac-") and not (row["hash"] or "").startswith("hmac-"):
                return "broken"  # an unkeyed hash after a keyed one: forged
        nxt = conn.execute(sa.select(screenings.c.prev_hash).where(screenings.c.seq == seq + 1)).first()
        if nxt is not None and nxt.prev_hash != row["hash"]:
            return "broken"
        return "ok"

    def _hash_ok(self, row):
        h = row["hash"] or ""
        if h.startswith("hmac-") and not self.key:
            return None  # cannot tell without the key
        try:
            return hmac.compare_digest(record_hash(row, row["prev_hash"], self.key if h.startswith("hmac-") else None), h)
        except (ValueError, TypeError, KeyError):
            return False

    def verify(self, *, anchor=None, limit_problems=20):
        """Walk the whole chain; return a report (``status`` ``ok`` or ``broken``).

        Parameters
        ----------
        anchor : dict, optional
            ``{"seq": n, "hash": h}`` of a head noted earlier: it must still be in the chain
            (else records were removed from the end, or the table was emptied).

        Returns
        -------
        dict
            ``status``, ``records``, ``chained``, ``unchained``, ``head`` (``{seq, hash, id}``),
            ``problems`` (the first few: ``{seq, id, problem}``), ``keyed``, ``notes``.
        """
        problems = []
        count = chained = 0
        unchained = []
        expected_seq, prev_hash, head = 1, GENESIS, None
        keyless_hmac = 0
        keyed_seen = False

        def problem(seq, rid, text):
            if len(problems) < limit_problems:
                problems.append({"seq": seq, "id": rid, "problem": text})
            else:
                problems_over[0] += 1

        problems_over = [0]
        anchor_seen = anchor is None
        with self.engine.connect() as conn:
            q = sa.select(screenings).order_by(screenings.c.seq.is_(None), screenings.c.seq, screenings.c.created_at)
            for row in conn.execution_options(yield_per=500).execute(q).mappings():
                count += 1
                if row["seq"] is None:
                    unchained.append(row)
                    continue
                chained += 1
                seq = row["seq"]
                if seq != expected_seq:
                    if seq > expected_seq:
                        gone = f"record {expected_seq} is" if seq - 1 == expected_seq else f"records {expected_seq}–{seq - 1} are"
                        problem(seq, row["id"], f"{gone} missing (deleted)")
                    else:
                        problem(seq, row["id"], f"seq {seq} appears out of order (expected {expected_seq})")
                if row["prev_hash"] != prev_hash:
                    problem(seq, row["id"], "does not link to the record before it (a record was removed, inserted or reordered)")
                ok = self._hash_ok(row)
                keyed = (row["hash"] or "").startswith("hmac-")
                if ok is None:
                    keyless_hmac += 1
                elif not ok:
                    problem(seq, row["id"], "content does not match its hash (the record was rewritten)")
                elif self.key and keyed_seen and not keyed:
                    problem(seq, row["id"], "has an unkeyed hash after keyed ones (the record was rewritten and its hash forged)")
                keyed_seen = keyed_seen or keyed
                if anchor is not None and seq == anchor.get("seq"):
                    anchor_seen = True
                    if row["hash"] != anchor.get("hash"):
                        problem(seq, row["id"], "differs from the anchored head noted earlier")
                expected_seq, prev_hash = seq + 1, row["hash"]
                head = {"seq": seq, "hash": row["hash"], "id": row["id"]}
        if not anchor_seen:
            problem(anchor.get("seq"), None, f"the anchored head (seq {anchor.get('seq')}) is gone: records were removed from the end, or the table was emptied")
        if unchained and chained:
            first_chained = self._first_chained_time()
            late = [r for r in unchained if first_chained and r["created_at"] > first_chained]
            for r in late:
                problem(None, r["id"], "has no place in the chain but is newer than chaining (inserted behind the service's back)")
        notes = list(self.notes)
        if keyless_hmac:
            notes.append(f"{keyless_hmac} keyed hashes not checked: set ZONING_RECORDS_KEY to the server's key")
        if problems_over[0]:
            notes.append(f"{problems_over[0]} more problems not listed")
        return {
            "status": "broken" if problems else "ok",
            "records": count,
            "chained": chained,
            "unchained": len(unchained),
            "head": head,
            "keyed": bool(self.key),
            "problems": problems,
            "notes": notes,
        }

    def _first_chained_time(self):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(screenings.c.created_at).where(screenings.c.seq == 1)).scalar()

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

    def health(self):
        """``{"status": ok | full | read_only | unavailable | …, "detail": …}`` for /healthz.

        Reads answer (``SELECT 1``); for a SQLite file, its directory is writable and has
        room; and the last write did not fail (a failure is reported until a write succeeds).
        """
        if not self.ping():
            return {"status": "unavailable", "detail": "the record store's database cannot be reached"}
        if self._db_path is not None:
            directory = self._db_path.parent
            if not os.access(directory, os.W_OK) or (self._db_path.exists() and not os.access(self._db_path, os.W_OK)):
                return {"status": "read_only", "detail": "the record store is read-only"}
            try:
                if shutil.disk_usage(directory).free < 1024 * 1024:
                    return {"status": "full", "detail": "the record store's disk is full (less than 1 MiB free)"}
            except OSError:
                pass
        if self._last_failure is not None:
            state, message, _when = self._last_failure
            return {"status": state, "detail": message}
        return {"status": "ok"}

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


@contextlib.contextmanager
def _opening(store):
    """Opening a store: any failure disposes of its engine and is one StorageUnavailable."""
    try:
        yield
    except StorageUnavailable:
        store.engine.dispose()
        raise
    except (sa.exc.SQLAlchemyError, OSError) as e:
        store.engine.dispose()
        _state, message = _storage_problem(e)
        raise StorageUnavailable(f"{message} ({store.describe()}): {_first_line(e)}") from None


def _first_line(exc):
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def db_url_from(text):
    """A SQLAlchemy URL from what a user typed: a URL as it is, a plain path as a SQLite file."""
    text = str(text).strip()
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


class RecordReader:
    """Read-only access to the screening records (for ``zoning rescreen``): it never writes.

    Unlike :class:`Store` it creates, migrates and repairs nothing: a SQLite file is opened
    with ``mode=ro``, and a database without a ``screenings`` table is refused.

    Parameters
    ----------
    url : str
        A SQLAlchemy URL, or a plain path of a SQLite file (see :func:`db_url_from`).

    Raises
    ------
    StorageUnavailable
        The database cannot be opened or holds no records table; the message is one line.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "r.sqlite")
    >>> _ = Store(f"sqlite:///{path}").add({"n": 1}, {"verdict": "permitted", "pack": {"id": "p", "version": "1", "digest": "d"}})
    >>> reader = RecordReader(path)
    >>> [(r["pack_id"], r["verdict"]) for r in reader.records()]
    [('p', 'permitted')]
    >>> reader.dispose()
    """

    def __init__(self, url):
        self.url = _normalise_url(db_url_from(url))
        u = sa.engine.make_url(self.url)
        self.dialect = u.get_backend_name()
        if self.dialect == "sqlite":
            database = u.database or ""
            if database in {"", ":memory:"}:
                raise StorageUnavailable("an in-memory SQLite database holds no records; give the file `zoning serve` writes")
            path = Path(database).expanduser()
            if not path.is_file():
                raise StorageUnavailable(f"no record store at {path}; pass --db (or ZONING_DB_URL) as given to `zoning serve`")
            self.engine = sa.create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true",
                                           connect_args={"check_same_thread": False, "timeout": 30})
        else:
            kw = {"connect_args": {"connect_timeout": 5}} if self.dialect == "postgresql" else {}
            self.engine = sa.create_engine(self.url, **kw)
        with _opening(self), self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("screenings"):
                raise StorageUnavailable(f"{self.describe()} has no screenings table: not a record store of `zoning serve`")

    def records(self, *, since=None, batch=500):
        """Every record, oldest first (chain order), as dicts of the stored columns.

        ``request`` and ``result`` are parsed JSON (None when a text does not parse);
        ``since`` (a ``datetime.date``) keeps records created on that UTC day or later.
        """
        q = sa.select(screenings).order_by(screenings.c.seq.is_(None), screenings.c.seq, screenings.c.created_at)
        if since is not None:
            q = q.where(screenings.c.created_at >= since.isoformat())
        try:
            with self.engine.connect() as conn:
                for row in conn.execution_options(yield_per=batch).execute(q).mappings():
                    rec = dict(row)
                    for key in ("request", "result"):
                        try:
                            rec[key] = json.loads(rec[key])
                        except (TypeError, ValueError):
                            rec[key] = None
                    yield rec
        except sa.exc.SQLAlchemyError as e:
            _state, message = _storage_problem(e)
            raise StorageUnavailable(f"{message} ({self.describe()}): {_first_line(e)}") from None

    def describe(self):
        """The URL without password, for messages."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def dispose(self):
        self.engine.dispose()
