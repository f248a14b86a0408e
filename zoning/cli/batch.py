"""``zoning batch``: screen every row of a file of sites and write a table of verdicts."""

import contextlib
import logging
import sys
import time
from collections import Counter
from pathlib import Path

import click

from zoning.cli.common import open_pack, user_errors
from zoning.errors import ProjectError, SiteError, ZoningError

__all__ = ["batch"]

DEFAULT_CHUNK_SIZE = 20_000


def _result_table(chunk, res):
    import pyarrow as pa

    from zoning.io.columns import RESULT_COLUMNS, RESULT_TYPES

    errors = list(res.columns["error"])
    for i, note in chunk.notes.items():
        errors[i] = note
    table = chunk.table
    for c in RESULT_COLUMNS:
        values = errors if c == "error" else res.columns[c]
        table = table.append_column(c, pa.array(values, type=RESULT_TYPES[c]))
    return table, errors


def _fix_full(chunk, res, webmap):
    if res.verdicts is None or not webmap:
        return res.verdicts
    for d in res.verdicts:
        if d is not None:
            d["site"]["source_crs"] = chunk.source_label
    return res.verdicts


@contextlib.contextmanager
def _client(workers, scheduler):
    if not workers and not scheduler:
        yield None
        return
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ZoningError(f"cannot connect to the Dask scheduler at {scheduler}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; start one with `dask scheduler` and workers with `dask worker {scheduler}`") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


class _Progress:
    def __init__(self, total, label):
        self.bar = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task(label, total=total)

    def __enter__(self):
        if self.bar is not None:
            self.bar.start()
        return self

    def advance(self, n):
        if self.bar is not None:
            self.bar.advance(self.task, n)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def _summary(rows, counts, seconds, errors):
    from zoning.vocab import VERDICTS

    rate = rows / seconds if seconds > 0 else float("inf")
    by = ", ".join(f"{v} {counts.get(v, 0):,}" for v in VERDICTS)
    lines = [f"zoning: {rows:,} rows screened in {seconds:.1f} s ({rate:,.0f} sites/s): {by}"]
    if errors:
        lines.append(f"zoning: {errors:,} of {rows:,} rows could not be screened; see the error column")
    return lines


@click.command()
@click.argument("sites", metavar="SITES")
@click.option("--pack", "pack_dir", type=click.Path(file_okay=False), help="Zoning pack directory (default: the embedded demo pack).")
@click.option("--project", "project_file", type=click.Path(dir_okay=False), help="Project defaults (YAML/JSON, contract §2) for what a row leaves empty.")
@click.option("--crs", help="CRS of the coordinates (overrides the file's; needed for x/y tables), e.g. EPSG:4549.")
@click.option("--gcj02", is_flag=True, help="Lon/lat are GCJ-02 (AMap, Tencent): convert to WGS84 first.")
@click.option("--bd09", is_flag=True, help="Lon/lat are BD-09 (Baidu): convert to WGS84 first.")
@click.option("-o", "--output", required=True, metavar="OUT", help="OUT.gpkg, OUT.parquet (GeoParquet), OUT.csv, OUT.xlsx or OUT.shp.")
@click.option("--full", "full_out", type=click.Path(dir_okay=False), metavar="OUT.jsonl", help="Also write every row's whole verdict (contract §3), one JSON per line with its 'row'.")
@click.option("--workers", type=int, metavar="N", help="Screen on a local Dask cluster of N worker processes.")
@click.option("--scheduler", metavar="ADDRESS", help="Screen on the Dask cluster at ADDRESS (e.g. tcp://host:8786).")
@click.option("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, show_default=True, metavar="N", help="Rows read, screened and written at a time (and per Dask task).")
@user_errors
def batch(sites, pack_dir, project_file, crs, gcj02, bd09, output, full_out, workers, scheduler, chunk_size):
    """Screen every row of SITES (one row = one site) and write OUT with a verdict per row.

    SITES is any vector file GDAL reads — GeoPackage (FILE.gpkg::LAYER picks a layer),
    Shapefile (.shp or zipped .zip), GeoJSON, FlatGeobuf, KML — or GeoParquet, or a
    CSV/XLSX table with lon/lat columns (also 经度/纬度, or x/y with --crs; names in any
    case). Project keys (industry, construction, emissions as JSON text or emissions.VOCs
    columns, fuel, water_m3, …) may be columns; --project fills what a row leaves empty.

    OUT keeps every input column and adds verdict, verdict_zh, units, red_line, blocking,
    missing, n_findings and error (why a row could not be screened; the others go on).
    CSV/XLSX carry the geometry as WKT in EPSG:4490; XLSX adds the sheets counts (rows by
    verdict), clauses (rows each clause decided) and errors (rows that could not be
    screened). OUT.shp is UTF-8 with a .cpg; field names longer than 10 bytes are renamed
    (listed on stderr and in OUT.fields.csv) and texts over 254 bytes cut. OUT is written
    to a temporary file and renamed at the end. Exit 0 when the run finished (row errors
    are counted on stderr), 2 for bad input.

    \b
    Examples:
      zoning batch candidates.gpkg --project project.yaml -o verdicts.gpkg
      zoning batch sites.csv -o verdicts.xlsx                     # lon,lat,industry,… columns
      zoning batch parcels.gpkg -o verdicts.shp                   # for QGIS/ArcGIS users
      zoning batch amap_points.csv --gcj02 -o verdicts.csv        # picked on AMap (GCJ-02)
      zoning batch parcels.csv --crs EPSG:4549 -o verdicts.parquet   # x,y columns in GK zone 40
      zoning batch parcels.zip -o verdicts.parquet --full verdicts.jsonl
      zoning batch million.parquet -o out.parquet --workers 4
      zoning batch million.parquet -o out.parquet --scheduler tcp://10.0.0.5:8786
    """
    from zoning.distributed import screen_chunk, stream_distributed
    from zoning.io import JsonlWriter, open_sites, open_writer
    from zoning.project import read_project

    if gcj02 and bd09:
        raise ProjectError("give at most one of --gcj02 and --bd09")
    if (gcj02 or bd09) and crs:
        raise ProjectError("--gcj02/--bd09 describe lon/lat from web maps; they cannot be combined with --crs")
    if workers is not None and scheduler:
        raise ZoningError("give --workers N (a local cluster) or --scheduler ADDRESS (an existing one), not both")
    if workers is not None and workers < 1:
        raise ZoningError(f"--workers must be at least 1, got {workers}")
    if chunk_size < 1:
        raise ZoningError(f"--chunk-size must be at least 1, got {chunk_size}")
    webmap = "gcj02" if gcj02 else ("bd09" if bd09 else None)
    out_path = Path(output)
    from zoning.io.write import OUTPUT_SUFFIXES

    if out_path.suffix.lower() not in OUTPUT_SUFFIXES:
        open_writer(out_path, None)  # raises the one-line error
    src = Path(sites.rpartition("::")[0] if "::" in sites and not Path(sites).exists() else sites)
    for other in filter(None, [full_out and Path(full_out)]):
        if other.resolve() == out_path.resolve():
            raise ZoningError(f"--full {other} and -o {out_path} are the same file; give two names")
    if src.exists() and any(p.resolve() == src.resolve() for p in filter(None, [out_path, full_out and Path(full_out)])):
        raise ZoningError(f"the output {out_path} is SITES itself; write the results to another file")

    started = time.perf_counter()
    reader = open_sites(sites, crs=crs, webmap=webmap, count=sys.stderr.isatty())
    pack = open_pack(pack_dir)
    project = read_project(project_file).to_dict() if project_file else None
    full = bool(full_out)
    counts, errors, rows = Counter(), 0, 0

    with contextlib.ExitStack() as stack:
        from zoning.io.write import clause_descriptions

        writer = stack.enter_context(open_writer(out_path, reader.out_crs, clauses=clause_descriptions(pack)))
        jsonl = stack.enter_context(JsonlWriter(full_out)) if full else None
        client = stack.enter_context(_client(workers, scheduler))
        progress = stack.enter_context(_Progress(reader.total, f"screening {reader.display}"))
        if client is None:
            results = ((chunk, screen_chunk(pack, chunk.screening_frame(), project, full)) for chunk in reader.chunks(chunk_size))
        else:
            results = stream_distributed(pack, ((c, c.screening_frame()) for c in reader.chunks(chunk_size)), project, client=client, full=full, chunk_size=chunk_size)
        for chunk, res in results:
            table, row_errors = _result_table(chunk, res)
            writer.write(table, chunk.lonlat() if writer.lonlat else chunk.geoms)
            if jsonl is not None:
                jsonl.write_rows(chunk.rows, _fix_full(chunk, res, webmap), row_errors)
            counts.update(v for v in res.columns["verdict"] if v is not None)
            errors += sum(e is not None for e in row_errors)
            rows += len(chunk)
            progress.advance(len(chunk))
        if rows == 0:
            raise SiteError(f"{reader.display} has no rows; expected one site per row")
    for w in [*reader.warnings, *getattr(writer, "warnings", ())]:
        click.echo(f"zoning: warning: {w}", err=True)
    for line in _summary(rows, counts, time.perf_counter() - started, errors):
        click.echo(line, err=True)
