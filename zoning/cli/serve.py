"""``zoning serve``: run the HTTP service (FastAPI on uvicorn)."""

import os
import sys

import click

from zoning.cli.common import user_errors
from zoning.errors import PackError

__all__ = ["serve"]


@click.command()
@click.option("--pack", "packs", multiple=True, type=click.Path(file_okay=False), help="Pack directory; repeat to serve several packs, or several versions of one pack, side by side (default: the embedded demo pack).")
@click.option("--packs-dir", type=click.Path(file_okay=False), help="Serve every sub-directory of this directory that holds a pack.yaml.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes (each loads the packs).")
@click.option("--db", "db_url", envvar="ZONING_DB_URL", help="SQLAlchemy URL of the screening records: sqlite:///file.sqlite or postgresql://user@host/db [env ZONING_DB_URL; default: a SQLite file under ~/.local/share/zoning].")
@click.option("--log-level", default="warning", show_default=True, type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@user_errors
def serve(packs, packs_dir, host, port, workers, db_url, log_level):
    """Serve screening over HTTP: POST /v1/screen, records, a page for enterprises at /.

    Packs are loaded once at start-up, their indexes built before the first request.
    Screening runs in ZONING_CPU_WORKERS processes per worker under a time budget
    (ZONING_TIME_BUDGET_S); limits (body size, features, vertices, zip sizes, JSON depth,
    header and body timeouts, connections) come from ZONING_* variables; see
    zoning/service/config.py. OpenAPI at /openapi.json, docs at /docs.

    Two pack directories with one id and different versions are both served: `pack=ID`
    means the newest (by effective date, then version), `pack=ID@VERSION` one version;
    GET /v1/packs lists them. Re-screen the records on a new version: `zoning rescreen`.

    \b
    Examples:
      zoning serve                                   # the demo pack on http://127.0.0.1:8000
      zoning serve --pack packs/huzhou --pack packs/lishui --port 8080 --workers 2
      zoning serve --pack packs/huzhou-2024.1 --pack packs/huzhou-2025.1   # two versions
      ZONING_DB_URL=postgresql://zoning@localhost/zoning zoning serve --packs-dir packs/
    """
    try:
        import uvicorn

        from zoning.service.config import Settings
        from zoning.service.handlers import load_packs
        from zoning.service.store import Store
    except ImportError as e:  # pragma: no cover - a broken install
        raise PackError(f"the HTTP service needs its dependencies (fastapi, uvicorn, sqlalchemy): {e}") from None

    os.environ["ZONING_SERVE_PACKS"] = os.pathsep.join(os.path.abspath(p) for p in packs)
    if packs_dir:
        os.environ["ZONING_SERVE_PACKS_DIR"] = os.path.abspath(packs_dir)
    else:
        os.environ.pop("ZONING_SERVE_PACKS_DIR", None)
    if db_url:
        os.environ["ZONING_DB_URL"] = db_url
    try:
        settings = Settings.from_env()
    except ValueError as e:
        raise PackError(str(e)) from None
    from zoning.service.errors import StorageUnavailable
    from zoning.service.server import raise_open_files_limit, uvicorn_options

    raise_open_files_limit()
    options = uvicorn_options(settings.server)
    if workers == 1:
        from zoning.service.app import create_app
        from zoning.service.handlers import Service

        try:
            service = Service.from_settings(settings, warm=False)
        except StorageUnavailable as e:
            raise PackError(f"cannot start: {e}") from None
        app = create_app(service, web_vendor=settings.web_vendor, settings=settings)
        _announce(service.packs, service.store, host, port, workers)
        uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5, **options)
        return
    # Several workers: check the packs and create the schema once here, then let each
    # worker build its own service from the same environment.
    loaded = load_packs(settings.packs, settings.packs_dir)
    try:
        store = Store(settings.db_url, sqlite_synchronous=settings.sqlite_synchronous, key=settings.records_key)
    except StorageUnavailable as e:
        raise PackError(f"cannot start: {e}") from None
    _announce(loaded, store, host, port, workers)
    store.dispose()
    del loaded
    uvicorn.run("zoning.service.app:app_from_env", factory=True, host=host, port=port, workers=workers, log_level=log_level,
                timeout_graceful_shutdown=5, **options)


def _announce(packs, store, host, port, workers):
    names = ", ".join(f"{p.id} {p.version}" for p in packs.values())
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"zoning: serving {names} on http://{shown}:{port} ({workers} worker{'s' if workers > 1 else ''}); records in {store.describe()}", err=True)
    for note in store.notes:
        click.echo(f"zoning: warning: {note}", err=True)
    sys.stderr.flush()
