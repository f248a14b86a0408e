"""``zoning serve``: run the HTTP service (FastAPI on uvicorn)."""

import os
import socket
import sys

import click

from zoning.cli.common import user_errors
from zoning.errors import PackError

__all__ = ["serve"]


def _cores():
    from zoning.service.config import usable_cpus

    return usable_cpus()


@click.command()
@click.option("--pack", "packs", multiple=True, type=click.Path(file_okay=False), help="Pack directory; repeat to serve several packs, or several versions of one pack, side by side (default: the embedded demo pack).")
@click.option("--packs-dir", type=click.Path(file_okay=False), help="Serve every sub-directory of this directory that holds a pack.yaml.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", type=click.IntRange(1, 64), help="Server processes, each loading the packs and running "
              "its own screening processes [default: one per usable CPU].")
@click.option("--balance", type=click.Choice(["reuseport", "shared"]), help="How connections reach the server processes: "
              "reuseport = a socket per process, the kernel spreads connections (Linux); shared = one socket, "
              "the first process to wake accepts [default: reuseport on Linux, else shared].")
@click.option("--db", "db_url", envvar="ZONING_DB_URL", help="The screening records: a SQLite file path, sqlite:///file.sqlite "
              "or postgresql://user@host/db [env ZONING_DB_URL; default: a SQLite file under ~/.local/share/zoning].")
@click.option("--log-level", default="warning", show_default=True, type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@user_errors
def serve(packs, packs_dir, host, port, workers, balance, db_url, log_level):
    """Serve screening over HTTP: POST /v1/screen, records, a page for enterprises at /.

    Starts one server process per usable CPU (--workers N to choose); each loads the packs
    once, builds their indexes before its first request, and screens in
    ZONING_CPU_WORKERS processes of its own (default 1: one screening process per core,
    beside the server processes that parse, answer and store). On Linux each server process listens on its
    own SO_REUSEPORT socket and the kernel spreads new connections over them; a process
    that dies is started again; SIGTERM or Ctrl-C stops them all, each finishing its
    requests. Every response names its server process in X-Zoning-Worker. Limits (body
    size, features, vertices, zip sizes, JSON depth, header and body timeouts,
    connections) and the time budget come from ZONING_* variables; see
    zoning/service/config.py. OpenAPI at /openapi.json, docs at /docs.

    Two pack directories with one id and different versions are both served: `pack=ID`
    means the newest (by effective date, then version), `pack=ID@VERSION` one version;
    GET /v1/packs lists them. Re-screen the records on a new version: `zoning rescreen`.

    \b
    Examples:
      zoning serve                                   # the demo pack on http://127.0.0.1:8000
      zoning serve --pack packs/huzhou --pack packs/lishui --port 8080 --workers 2
      zoning serve --pack packs/huzhou-2024.1 --pack packs/huzhou-2025.1   # two versions
      zoning serve --db /srv/zoning/screenings.sqlite
      ZONING_DB_URL=postgresql://zoning@localhost/zoning zoning serve --packs-dir packs/
    """
    try:
        from zoning.cli.records import db_option_url
        from zoning.service.config import Settings
        from zoning.service.errors import StorageUnavailable
        from zoning.service.handlers import load_packs
        from zoning.service.server import REUSEPORT_BALANCES, Listen, Supervisor, listen_socket, raise_open_files_limit, serve_one
        from zoning.service.store import Store
    except ImportError as e:  # pragma: no cover - a broken install
        raise PackError(f"the HTTP service needs its dependencies (fastapi, uvicorn, sqlalchemy): {e}") from None

    workers = workers or _cores()
    os.environ["ZONING_SERVE_PACKS"] = os.pathsep.join(os.path.abspath(p) for p in packs)
    if packs_dir:
        os.environ["ZONING_SERVE_PACKS_DIR"] = os.path.abspath(packs_dir)
    else:
        os.environ.pop("ZONING_SERVE_PACKS_DIR", None)
    url = db_option_url(db_url)  # a plain path becomes sqlite:////abs/path; a bad value, one line
    if url:
        os.environ["ZONING_DB_URL"] = url
    try:
        settings = Settings.from_env()
    except ValueError as e:
        raise PackError(str(e)) from None
    listen = Listen(host, port, balance) if balance else Listen(host, port)
    if listen.balance == "reuseport" and not hasattr(socket, "SO_REUSEPORT"):
        raise PackError("--balance reuseport: this system has no SO_REUSEPORT; use --balance shared")
    if balance == "reuseport" and workers > 1 and not REUSEPORT_BALANCES:
        click.echo(f"zoning: warning: on {sys.platform} SO_REUSEPORT does not spread connections; --balance shared would", err=True)

    raise_open_files_limit()
    if workers == 1:
        from zoning.service.app import create_app
        from zoning.service.handlers import Service

        sock = listen_socket(listen)  # bound now (a taken port is refused before the packs load); listens once ready
        listen = Listen(host, sock.getsockname()[1], listen.balance)
        try:
            service = Service.from_settings(settings, warm=False)
        except StorageUnavailable as e:
            sock.close()
            raise PackError(f"cannot start: {e}") from None
        except BaseException:
            sock.close()
            raise
        app = create_app(service, web_vendor=settings.web_vendor, settings=settings)
        _announce(service.packs, service.store, listen, 1, settings.workers.processes, None)
        serve_one(app, sock, log_level)
        return
    # Several server processes: take the port, check the packs and create the schema once
    # here, then let each process build its own service from the same environment.
    supervisor = Supervisor(workers, listen, log_level)
    supervisor.reserve()
    try:
        loaded = load_packs(settings.packs, settings.packs_dir)
        store = Store(settings.db_url, sqlite_synchronous=settings.sqlite_synchronous, key=settings.records_key)
    except StorageUnavailable as e:
        supervisor.close()
        raise PackError(f"cannot start: {e}") from None
    except BaseException:
        supervisor.close()
        raise
    _announce(loaded, store, supervisor.listen, workers, settings.workers.processes, supervisor.listen.balance)
    store.dispose()
    del loaded
    sys.exit(supervisor.run())


def _announce(packs, store, listen, workers, screening, balance):
    names = ", ".join(f"{p.id} {p.version}" for p in packs.values())
    shown = f"[{listen.host}]" if ":" in listen.host else listen.host
    how = {"reuseport": "; the kernel spreads connections over them (SO_REUSEPORT)", "shared": "; sharing one socket", None: ""}[balance]
    procs = (f"{workers} server process{'es' if workers > 1 else ''} × {screening} screening process{'es' if screening > 1 else ''}{how}")
    click.echo(f"zoning: serving {names} on http://{shown}:{listen.port} ({procs}); records in {store.describe()}", err=True)
    for note in store.notes:
        click.echo(f"zoning: warning: {note}", err=True)
    sys.stderr.flush()
