"""Service settings, read from the environment so that every uvicorn worker sees the same.

``zoning serve`` writes its options into these variables before it starts uvicorn.

===============================  ========================================================  ====================
variable                         meaning                                                   default
===============================  ========================================================  ====================
``ZONING_DB_URL``                the screening records: a URL or a SQLite file path        SQLite file
``ZONING_SERVE_PACKS``           pack directories, separated by ``os.pathsep``             demo pack
``ZONING_SERVE_PACKS_DIR``       a directory whose sub-directories are packs               —
``ZONING_MAX_BODY_BYTES``        largest request body                                      20 MiB
``ZONING_MAX_FEATURES``          most features in one site                                 1000
``ZONING_MAX_BATCH_FEATURES``    most features in one POST /v1/screen/batch                10000
``ZONING_MAX_VERTICES``          most vertices in one site                                 200000
``ZONING_MAX_UNZIPPED_BYTES``    largest total uncompressed size of a zip/KMZ upload       100 MiB
``ZONING_MAX_ZIP_RATIO``         largest compression ratio of a zip member (> 1 MiB)       100
``ZONING_MAX_ZIP_MEMBERS``       most members in a zip/KMZ upload                          200
``ZONING_MAX_JSON_DEPTH``        deepest nesting of arrays/objects in a JSON body          32
``ZONING_MAX_JSON_VALUES``       most JSON values in a body (counted while parsing)        4 × vertices + 10000
``ZONING_CPU_WORKERS``           screening processes per server worker                     1
``ZONING_QUEUE``                 requests waiting for a screening process, per worker      64
``ZONING_TIME_BUDGET_S``         longest a request may take (queue + screening) → 504      20
``ZONING_ELIGIBILITY_BUDGET_S``  longest an eligibility map may take (queue + work) → 504  300
``ZONING_WORKER_MAX_TASKS``      a screening process is replaced after this many tasks     0 (never)
``ZONING_HEADER_TIMEOUT_S``      a connection must send its request headers within it      10
``ZONING_BODY_TIMEOUT_S``        longest pause while a request body arrives → 408          10
``ZONING_MAX_CONNECTIONS``       open connections + requests per worker (then 503)         4096
``ZONING_RECORDS_KEY``           secret for keyed (HMAC) record hashes; see README         —
``ZONING_SQLITE_SYNCHRONOUS``    SQLite ``synchronous`` pragma (FULL or NORMAL)            FULL
``ZONING_WEB_VENDOR``            directory holding node_modules/leaflet{,-draw}            .cache/web
``ZONING_DOCS_ASSETS``           Swagger UI for /docs: a swagger-ui-dist directory         .cache/web/…
``ZONING_TIANDITU_KEY``          Tianditu key (tk): the page offers its basemaps           —
===============================  ========================================================  ====================
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Limits", "Workers", "Server", "Settings", "default_db_url", "db_url", "usable_cpus"]

_MiB = 1024 * 1024


def _float_env(name, default):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def _int_env(name, default):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


@dataclass(frozen=True)
class Limits:
    """Guard-rail limits for request bodies and uploaded sites."""

    max_body_bytes: int = 20 * _MiB
    max_features: int = 1000
    max_batch_features: int = 10_000  # sites in one POST /v1/screen/batch
    max_vertices: int = 200_000
    max_unzipped_bytes: int = 100 * _MiB
    max_zip_ratio: int = 100
    max_zip_members: int = 200
    max_json_depth: int = 32
    max_json_values: int | None = None  # None: 4 × max_vertices + 10,000

    def __post_init__(self):
        if self.max_json_values is None:
            object.__setattr__(self, "max_json_values", 4 * self.max_vertices + 10_000)

    @classmethod
    def from_env(cls):
        d = cls()
        return cls(
            max_json_depth=_int_env("ZONING_MAX_JSON_DEPTH", d.max_json_depth),
            max_json_values=_int_env("ZONING_MAX_JSON_VALUES", None),
            max_body_bytes=_int_env("ZONING_MAX_BODY_BYTES", d.max_body_bytes),
            max_features=_int_env("ZONING_MAX_FEATURES", d.max_features),
            max_batch_features=_int_env("ZONING_MAX_BATCH_FEATURES", d.max_batch_features),
            max_vertices=_int_env("ZONING_MAX_VERTICES", d.max_vertices),
            max_unzipped_bytes=_int_env("ZONING_MAX_UNZIPPED_BYTES", d.max_unzipped_bytes),
            max_zip_ratio=_int_env("ZONING_MAX_ZIP_RATIO", d.max_zip_ratio),
            max_zip_members=_int_env("ZONING_MAX_ZIP_MEMBERS", d.max_zip_members),
        )


def default_db_url():
    """``sqlite:///…/zoning/screenings.sqlite`` under ``$XDG_DATA_HOME`` (or ``~/.local/share``)."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "zoning"
    return f"sqlite:///{base / 'screenings.sqlite'}"


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # two letters at least: C:\\ is a Windows path
DB_FORMS = ("a SQLite file path (records.sqlite, ~/zoning/records.sqlite, /srv/zoning/records.sqlite), "
            "sqlite:///relative/file.sqlite, sqlite:////absolute/file.sqlite, "
            "or postgresql://user@host[:port]/database")


def _shown(text):
    return re.sub(r"(//[^:/@]*):[^@/]*@", r"\1:***@", text)  # no password in messages


def db_url(text, *, given="--db"):
    """The SQLAlchemy URL of a record store from what a user gave (``--db``, ``ZONING_DB_URL``).

    A plain path (relative, absolute, ``~``) is a SQLite file; SQLite URLs get an absolute
    path (so every process of the server opens the same file); ``postgresql://`` and
    ``postgres://`` URLs are kept. Anything else raises :class:`ValueError` naming what was
    given (as ``given``: the option or variable) and the accepted forms.

    Examples
    --------
    >>> db_url("/srv/zoning/records.sqlite")
    'sqlite:////srv/zoning/records.sqlite'
    >>> db_url("sqlite:////srv/zoning/records.sqlite")
    'sqlite:////srv/zoning/records.sqlite'
    >>> db_url("postgresql://zoning@db/zoning")
    'postgresql://zoning@db/zoning'
    >>> db_url("mysql://root:secret@db/zoning")
    Traceback (most recent call last):
    ...
    ValueError: --db 'mysql://root:***@db/zoning' is not a record store zoning can use (mysql is not supported); give a SQLite file path (records.sqlite, ~/zoning/records.sqlite, /srv/zoning/records.sqlite), sqlite:///relative/file.sqlite, sqlite:////absolute/file.sqlite, or postgresql://user@host[:port]/database
    """
    raw = "" if text is None else str(text).strip()

    def bad(why):
        return ValueError(f"{given} {_shown(raw)!r} is not a record store zoning can use ({why}); give {DB_FORMS}")

    if not raw:
        raise bad("it is empty")
    if not _SCHEME.match(raw):
        path = Path(raw).expanduser()
        if path.is_dir():
            raise bad("it is a directory; name the SQLite file in it")
        return f"sqlite:///{path.resolve()}"
    import sqlalchemy as sa

    try:
        url = sa.engine.make_url(raw)
    except sa.exc.ArgumentError:
        raise bad("not a URL SQLAlchemy can read") from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return raw
    if backend != "sqlite":
        raise bad(f"{backend} is not supported")
    if url.database in (None, "", ":memory:"):
        return raw  # in memory: for tests, lost at exit
    if url.database.startswith("file:"):
        return raw  # a SQLite URI filename, passed as given
    path = Path(url.database).expanduser()
    if path.is_dir():
        raise bad("it is a directory; name the SQLite file in it")
    return url.set(database=str(path.resolve())).render_as_string(hide_password=False)


def usable_cpus():
    """The CPUs this process may run on (its affinity mask where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _web_vendor_default():
    """Leaflet and leaflet-draw for the page: a checkout's ``.cache/web`` (``make web``), else
    the copies an installed wheel carries (``zoning/_vendor``, see hatch_build.py)."""
    root = Path(__file__).resolve().parents[2]
    checkout = root / ".cache" / "web"
    if (checkout / "node_modules" / "leaflet-draw").is_dir():
        return checkout
    import zoning

    return Path(zoning.__file__).resolve().parent / "_vendor"


def _docs_assets_default():
    """Swagger UI for ``/docs``: a checkout's ``.cache/web/node_modules/swagger-ui-dist`` (``make
    web``), else the copy an installed wheel carries (``zoning/_vendor``, see hatch_build.py)."""
    checkout = Path(__file__).resolve().parents[2] / ".cache" / "web" / "node_modules" / "swagger-ui-dist"
    if (checkout / "swagger-ui-bundle.js").is_file():
        return checkout
    import zoning

    return Path(zoning.__file__).resolve().parent / "_vendor" / "node_modules" / "swagger-ui-dist"


@dataclass(frozen=True)
class Workers:
    """The bounded pool of screening processes and the per-request time budget."""

    processes: int = 1
    queue: int = 64
    time_budget_s: float = 20.0
    #: Budget of ``POST /v1/eligibility``: a map over a whole province pack takes about a minute.
    eligibility_budget_s: float = 300.0
    max_tasks: int = 0  # 0: never (memory is handed back by malloc_trim instead; a respawn costs a pack load)

    @classmethod
    def from_env(cls):
        d = cls()
        return cls(
            processes=_int_env("ZONING_CPU_WORKERS", d.processes),
            queue=_int_env("ZONING_QUEUE", d.queue),
            time_budget_s=_float_env("ZONING_TIME_BUDGET_S", d.time_budget_s),
            eligibility_budget_s=_float_env("ZONING_ELIGIBILITY_BUDGET_S", d.eligibility_budget_s),
            max_tasks=_int_env("ZONING_WORKER_MAX_TASKS", d.max_tasks),
        )


@dataclass(frozen=True)
class Server:
    """Connection limits and timeouts of the HTTP server (see :mod:`zoning.service.server`)."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    max_connections: int = 4096

    @classmethod
    def from_env(cls):
        d = cls()
        return cls(
            header_timeout_s=_float_env("ZONING_HEADER_TIMEOUT_S", d.header_timeout_s),
            body_timeout_s=_float_env("ZONING_BODY_TIMEOUT_S", d.body_timeout_s),
            max_connections=_int_env("ZONING_MAX_CONNECTIONS", d.max_connections),
        )


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to start."""

    db_url: str = field(default_factory=default_db_url)
    packs: tuple = ()
    packs_dir: str | None = None
    limits: Limits = field(default_factory=Limits)
    workers: Workers = field(default_factory=Workers)
    server: Server = field(default_factory=Server)
    records_key: str | None = field(default=None, repr=False)
    sqlite_synchronous: str = "FULL"
    web_vendor: Path = field(default_factory=_web_vendor_default)
    docs_assets: Path = field(default_factory=_docs_assets_default)
    #: 天地图 key: sent to the page (it is in every tile URL a browser asks for), never logged.
    tianditu_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls):
        packs = tuple(p for p in os.environ.get("ZONING_SERVE_PACKS", "").split(os.pathsep) if p)
        sync = os.environ.get("ZONING_SQLITE_SYNCHRONOUS", "FULL").upper()
        if sync not in {"FULL", "NORMAL", "EXTRA"}:
            raise ValueError(f"ZONING_SQLITE_SYNCHRONOUS must be FULL, NORMAL or EXTRA, got {sync!r}")
        return cls(
            db_url=db_url(os.environ["ZONING_DB_URL"], given="ZONING_DB_URL") if os.environ.get("ZONING_DB_URL") else default_db_url(),
            packs=packs,
            packs_dir=os.environ.get("ZONING_SERVE_PACKS_DIR") or None,
            limits=Limits.from_env(),
            workers=Workers.from_env(),
            server=Server.from_env(),
            records_key=os.environ.get("ZONING_RECORDS_KEY") or None,
            sqlite_synchronous=sync,
            web_vendor=Path(os.environ.get("ZONING_WEB_VENDOR") or _web_vendor_default()),
            docs_assets=Path(os.environ.get("ZONING_DOCS_ASSETS") or _docs_assets_default()),
            tianditu_key=os.environ.get("ZONING_TIANDITU_KEY", "").strip() or None,
        )
