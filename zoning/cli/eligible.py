"""``zoning eligible``: where may a project go — its eligibility map over a whole pack."""

import json
import sys
import time

import click

from zoning.cli.common import open_pack, project_from_options, project_options, user_errors

__all__ = ["eligible"]


@click.command()
@click.option("--pack", "pack_dir", type=click.Path(file_okay=False), help="Zoning pack directory (default: the embedded demo pack).")
@project_options
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True), metavar="OUT.gpkg|OUT.parquet|OUT.geojson|OUT.shp",
              help="Polygons (EPSG:4490) with verdict, verdict_zh, blocking, missing, area_m2 (.shp: UTF-8 with a .cpg).")
@click.option("--map", "map_out", type=click.Path(dir_okay=False, writable=True), metavar="OUT.html", help="Write a map coloured by verdict.")
@click.option("--simplify-m", type=float, default=None, help="Simplify the map's polygons by this many metres (default: 1/4000 of its extent; 0: none). OUT is never simplified.")
@click.option("--offline/--online", default=None, help="--offline: the map inlines local copies of Leaflet (no basemap). --online: Leaflet from its CDN. Default: $ZONING_OFFLINE, else Leaflet inlined when its local copies are at hand, with the basemap.")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", help="json: print the area by verdict as JSON on stdout.")
@click.option("--no-cache", is_flag=True, help="Compute again even if this pack and project were asked before.")
@user_errors
def eligible(pack_dir, output, map_out, simplify_m, offline, fmt, no_cache, **flags):
    """Where could a project go? Write the polygons that cover the pack's region, each with the
    verdict, blocking clauses and missing attributes a point site of the project gets anywhere
    strictly inside it (more than 1 m from its edge).

    The area by verdict goes to stderr (``--format json``: as JSON on stdout). Results are kept
    per pack and project in the pack cache: asking again is instant.

    \b
    Examples:
      zoning eligible --industry 2614 --construction new --emission VOCs=5 --fuel natural_gas -o chem.gpkg --map chem.html
      zoning eligible --pack PACK --project plant.yaml -o where.parquet --format json
    """
    from pathlib import Path

    from zoning.errors import SiteError
    from zoning.io.write import POLYGON_EXPECTED, POLYGON_SUFFIXES, output_kind, write_polygons

    output_kind(Path(output), POLYGON_SUFFIXES, POLYGON_EXPECTED)  # refuse before the work
    if map_out and Path(map_out).suffix.lower() not in (".html", ".htm"):
        raise SiteError(f"--map writes an HTML page; expected OUT.html, got {Path(map_out).name!r}")
    pack = open_pack(pack_dir)
    project, overrides = project_from_options(flags)
    started = time.perf_counter()
    elig = pack.eligibility(project, cache=not no_cache, **overrides)
    took = time.perf_counter() - started
    notes = write_polygons(elig.frame, output)  # what elig.to_file does, with the Shapefile's warnings kept
    if map_out:
        from zoning.report import write_map

        write_map(elig.explore(offline=offline, simplify_m=simplify_m), map_out)
    summary = elig.summary()
    if fmt == "json":
        click.echo(json.dumps(summary, ensure_ascii=False))
    total = sum(elig.areas_m2.values()) or 1.0
    lines = [f"zoning: warning: {n}" for n in notes] + [f"{len(elig)} polygons → {output} ({took:.1f} s)"]
    from zoning import vocab

    for v, zh in vocab.VERDICTS.items():
        a = elig.areas_m2[v]
        lines.append(f"  {zh} {v:<18} {a / 1e6:12,.2f} km²  {a / total:6.1%}")
    click.echo("\n".join(lines), err=True)
    if fmt != "json":
        click.echo(json.dumps(summary, ensure_ascii=False), err=True)
    sys.stdout.flush()
