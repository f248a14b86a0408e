"""``zoning screen``: screen one site against a pack."""

import sys

import click

from zoning.cli.common import open_pack, project_from_options, project_options, user_errors
from zoning.errors import ProjectError

__all__ = ["screen"]


@click.command()
@click.argument("site", metavar="SITE")
@click.option("--pack", "pack_dir", type=click.Path(file_okay=False), help="Zoning pack directory (default: the embedded demo pack).")
@project_options
@click.option("--crs", help="CRS of the site's coordinates (overrides the file's), e.g. EPSG:4549.")
@click.option("--gcj02", is_flag=True, help="Coordinates are GCJ-02 (AMap, Tencent): convert to WGS84 first.")
@click.option("--bd09", is_flag=True, help="Coordinates are BD-09 (Baidu): convert to WGS84 first.")
@click.option("--layer", help="Layer of a GeoPackage, KML folder or DXF drawing (CAD layer) to read; same as SITE::LAYER.")
@click.option("--encoding", help="Text encoding of a shapefile's attributes (e.g. GBK, UTF-8); default: its .cpg, else detected.")
@click.option("--repair", is_flag=True, help="Repair an invalid site polygon (with a warning) instead of refusing it.")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), help="Output format (default: text on a terminal, JSON otherwise).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write the verdict JSON to this file as well.")
@click.option("--map", "map_out", type=click.Path(dir_okay=False, writable=True), metavar="OUT.html", help="Write an interactive map of the site over the zoning.")
@click.option("--report", "report_out", type=click.Path(dir_okay=False, writable=True), metavar="OUT.html|OUT.pdf", help="Write a printable report (HTML, or PDF by the suffix).")
@click.option("--offline/--online", default=None, help="--offline: maps and reports inline local copies of Leaflet and need no network (no basemap). Default: $ZONING_OFFLINE, else online.")
@user_errors
def screen(site, pack_dir, crs, gcj02, bd09, layer, encoding, repair, fmt, output, map_out, report_out, offline, **flags):
    """Screen SITE and print the verdict: prohibited, needs information, conditional or permitted.

    SITE is a GeoJSON/Shapefile (.shp or zipped)/GeoPackage/KML/KMZ/FlatGeobuf/DXF/界址点 TXT
    file, a CSV/XLSX table of boundary points, `-` for GeoJSON on stdin, or `lon,lat`;
    FILE::LAYER (or --layer) picks a layer, a KML folder or a DXF drawing's CAD layer. A GeoJSON Feature's properties are the project unless
    --project or the flags say otherwise (flags win). Exit 0 with any verdict, 2 for bad input.

    \b
    Examples:
      zoning screen plant.geojson --industry 2614 --construction new --emission VOCs=12.5 --fuel natural_gas --water-m3 120000
      zoning screen 119.95,30.55 --gcj02 --industry 6550 --format text
      zoning screen parcel.txt --project project.yaml -o verdict.json
      zoning screen plant.geojson --map plant.html --report plant.pdf --offline
    """
    from zoning.screen import screen as run

    if gcj02 and bd09:
        raise ProjectError("give at most one of --gcj02 and --bd09")
    if (gcj02 or bd09) and crs:
        raise ProjectError("--gcj02/--bd09 describe lon/lat from web maps; they cannot be combined with --crs")
    webmap = "gcj02" if gcj02 else ("bd09" if bd09 else None)
    pack = open_pack(pack_dir)
    project, overrides = project_from_options(flags)
    if layer:
        site = f"{site}::{layer}"
    if encoding:
        import codecs

        from zoning.site import read_site

        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ProjectError(f"--encoding {encoding!r} is not a text encoding Python knows; expected e.g. GBK, GB18030 or UTF-8") from None

        site = read_site(site, crs=crs, webmap=webmap, repair=repair, encoding=encoding, region=tuple(pack.units.total_bounds))
    verdict = run(pack, site, project, crs=crs, webmap=webmap, repair=repair, **overrides)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(verdict.to_json() + "\n")
    if map_out or report_out:
        from zoning.report import write_map, write_report

        if map_out:
            write_map(verdict.explore(offline=offline), map_out)
        if report_out:
            write_report(verdict, report_out, offline=offline)
    if fmt is None:
        fmt = "text" if sys.stdout.isatty() else "json"
    click.echo(verdict.to_text() if fmt == "text" else verdict.to_json())
