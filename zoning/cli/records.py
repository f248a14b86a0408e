"""``zoning records``: check and set up the service's screening records."""

import json
import sys
from pathlib import Path

import click

from zoning.cli.common import user_errors
from zoning.errors import ZoningError

__all__ = ["records"]

_DB_HELP = ("The records: a SQLite file path, sqlite:///file.sqlite or postgresql://user@host/db "
            "[env ZONING_DB_URL; default: the SQLite file `zoning serve` uses].")


def db_option_url(db_url):
    """``--db`` (or ``ZONING_DB_URL``) as a SQLAlchemy URL, through :func:`zoning.service.config.db_url`;
    None when not given. A bad value is a :class:`ZoningError` naming the option or the variable."""
    from click.core import ParameterSource

    from zoning.service.config import db_url as normalise

    if db_url is None:
        return None
    ctx = click.get_current_context(silent=True)
    from_env = ctx is not None and ctx.get_parameter_source("db_url") == ParameterSource.ENVIRONMENT
    try:
        return normalise(db_url, given="ZONING_DB_URL" if from_env else "--db")
    except ValueError as e:
        raise ZoningError(str(e)) from None


def _store(db_url, create=False):
    import os

    import sqlalchemy as sa

    from zoning.service.config import default_db_url
    from zoning.service.store import Store

    url = db_option_url(db_url) or default_db_url()
    u = sa.engine.make_url(url)
    if not create and u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:") and not Path(u.database).expanduser().is_file():
        raise ZoningError(f"no record store at {u.database}; pass --db (or ZONING_DB_URL) as given to `zoning serve`")
    return Store(url, key=os.environ.get("ZONING_RECORDS_KEY") or None, create=create)


@click.group()
def records():
    """The screening records of `zoning serve`: verify the hash chain, set up PostgreSQL.

    \b
    Examples:
      zoning records verify                          # the default SQLite store
      zoning records verify --db postgresql://auditor@db/zoning --anchor head.json
      zoning records init --db postgresql://zoning_owner@db/zoning --app-role zoning_app
    """


@records.command()
@click.option("--db", "db_url", envvar="ZONING_DB_URL", help=_DB_HELP)
@click.option("--anchor", type=click.Path(dir_okay=False), help="JSON file holding a chain head noted earlier; "
              "it must still be in the chain (detects records removed from the end); updated to the new head when ok.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@user_errors
def verify(db_url, anchor, fmt):
    """Walk the hash chain of every record: exit 0 when intact, 1 when broken.

    Each record's hash covers its request, verdict, pack digest, time and place in the
    chain, and the hash of the record before it, so a rewritten, deleted, inserted or
    reordered record breaks the chain where it was. Keyed hashes (ZONING_RECORDS_KEY set
    on the server) need the same key in the environment.

    \b
    Example:
      zoning records verify --db /srv/zoning/screenings.sqlite --anchor /srv/audit/head.json
    """
    store = _store(db_url)
    try:
        noted = None
        if anchor and Path(anchor).is_file():
            try:
                noted = json.loads(Path(anchor).read_text(encoding="utf-8"))
                int(noted["seq"]), str(noted["hash"])
            except (ValueError, KeyError, TypeError):
                raise ZoningError(f"{anchor}: not an anchor file (expected JSON with seq and hash)") from None
        report = store.verify(anchor=noted)
    finally:
        store.dispose()
    report["db"] = store.describe()
    if anchor and report["status"] == "ok" and report["head"]:
        Path(anchor).write_text(json.dumps({"seq": report["head"]["seq"], "hash": report["head"]["hash"]}) + "\n", encoding="utf-8")
    if fmt == "json":
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        head = report["head"]
        click.echo(f"{report['db']}: {report['records']} records, {report['chained']} chained, {report['unchained']} unchained"
                   f"{' (keyed hashes)' if report['keyed'] else ''}")
        if head:
            click.echo(f"head: seq {head['seq']} {head['hash']} ({head['id']})")
        for p in report["problems"]:
            where = f"seq {p['seq']}" if p["seq"] is not None else "record"
            click.echo(f"BROKEN {where} {p['id'] or ''}: {p['problem']}")
        for note in report["notes"]:
            click.echo(f"note: {note}")
        click.echo(f"integrity: {report['status']}")
    sys.exit(0 if report["status"] == "ok" else 1)


@records.command()
@click.option("--db", "db_url", envvar="ZONING_DB_URL", required=True, help="The database (a URL, or a SQLite file path), connecting as the role that will own the table.")
@click.option("--app-role", help="PostgreSQL role the service connects as: granted SELECT and INSERT only.")
@user_errors
def init(db_url, app_role):
    """Create the records table and its immutability triggers (as the owner), and grant an insert-only role.

    On PostgreSQL run it once as the table's owner, then serve as APP_ROLE, which may read
    and add records but not UPDATE, DELETE or TRUNCATE them, nor disable the triggers.

    \b
    Example:
      zoning records init --db postgresql://zoning_owner@db/zoning --app-role zoning_app
      ZONING_DB_URL=postgresql://zoning_app@db/zoning zoning serve
    """
    import re

    import sqlalchemy as sa

    store = _store(db_url, create=True)
    try:
        if app_role:
            if store.dialect != "postgresql":
                raise ZoningError("--app-role is for PostgreSQL; a SQLite store is protected by its file's permissions")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", app_role):
                raise ZoningError(f"--app-role {app_role!r} is not a plain PostgreSQL role name")
            with store.engine.begin() as conn:
                conn.execute(sa.text(f'REVOKE ALL ON screenings FROM "{app_role}"'))
                conn.execute(sa.text(f'GRANT SELECT, INSERT ON screenings TO "{app_role}"'))
        click.echo(f"zoning: records table ready in {store.describe()}" + (f"; {app_role} may SELECT and INSERT only" if app_role else ""), err=True)
    except sa.exc.SQLAlchemyError as e:
        raise ZoningError(f"cannot set up the records: {str(getattr(e, 'orig', e)).strip().splitlines()[0]}") from None
    finally:
        store.dispose()
