"""``zoning rescreen``: screen the service's stored records again on a new pack version."""

import csv
import datetime as _dt
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import click

from zoning.cli.common import user_errors
from zoning.errors import ZoningError

__all__ = ["rescreen"]


def _since(value):
    if value is None:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ZoningError(f"--since {value!r} is not a date; expected YYYY-MM-DD, e.g. 2024-06-01")
    try:
        return _dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ZoningError(f"--since {value!r} is not a calendar date; expected YYYY-MM-DD, e.g. 2024-06-01") from None


@click.command()
@click.option("--pack", "pack_dir", required=True, type=click.Path(file_okay=False), help="The new pack version (a pack directory).")
@click.option("--db", "db_url", envvar="ZONING_DB_URL",
              help="The records: a SQLite file path, sqlite:///file.sqlite or postgresql://user@host/db "
                   "[env ZONING_DB_URL; default: the SQLite file `zoning serve` uses].")
@click.option("--since", "since", metavar="YYYY-MM-DD", help="Only records made on this day (UTC) or later.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="CHANGES.csv to write (UTF-8 with BOM).")
@user_errors
def rescreen(pack_dir, db_url, since, output):
    """Screen every stored screening record again on a new pack version; write what changed.

    Reads the records of `zoning serve` (it never writes to them), screens each record's
    stored site and project again on PACK, in batches, and writes CHANGES.csv with one row
    per record: screening_id, old_verdict, new_verdict, changed (true/false),
    old_pack_version, new_pack_version and reason (the clauses, units, red lines, zones,
    rasters or quotas that differ, `;`-joined). Records of another pack id are skipped
    (their count goes to stderr). Exit 0 when done (the number of changed verdicts on
    stderr), 2 for bad input.

    \b
    Examples:
      zoning rescreen --pack packs/huzhou-2025 -o changes.csv
      zoning rescreen --pack packs/huzhou-2025 --db /srv/zoning/screenings.sqlite --since 2024-06-01 -o changes.csv
      zoning rescreen --pack packs/huzhou-2025 --db postgresql://auditor@db/zoning -o changes.csv
    """
    from zoning.cli.records import db_option_url
    from zoning.service.config import default_db_url
    from zoning.service.rescreen import COLUMNS, RescreenStats
    from zoning.service.rescreen import rescreen as run
    from zoning.service.store import RecordReader
    from zoning.pack import load_pack

    since_date = _since(since)
    url = db_option_url(db_url) or default_db_url()
    out = Path(output)
    if not out.parent.is_dir():
        raise ZoningError(f"cannot write {output}: the directory {str(out.parent)!r} does not exist")
    pack = load_pack(pack_dir)
    reader = RecordReader(url)
    stats = RescreenStats()
    started = time.perf_counter()
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            for row in run(pack, reader.records(since=since_date), stats):
                writer.writerow(row)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        reader.dispose()
    took = time.perf_counter() - started
    where = f" since {since_date.isoformat()}" if since_date else ""
    click.echo(f"zoning: {stats.changed} of {stats.screened + stats.failed} records{where} change verdict on {pack.id} {pack.version} "
               f"({took:.1f} s); written to {output}", err=True)
    if stats.failed:
        click.echo(f"zoning: {stats.failed} records could not be screened again (see their reason)", err=True)
    if stats.skipped:
        ids = ", ".join(f"{pid} ({n})" for pid, n in sorted(stats.other_pack.items(), key=lambda kv: str(kv[0])))
        click.echo(f"zoning: {stats.skipped} records of other packs skipped: {ids}", err=True)
    sys.exit(0)
