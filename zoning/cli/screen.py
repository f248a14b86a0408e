"""``zoning screen``: screen one site against a pack."""

import re
import sys

import click

from zoning.cli.common import open_pack, project_from_options, project_options, user_errors
from zoning.errors import ProjectError, ZoningError

__all__ = ["screen"]


#: Sites this small (m², m) are within reach of the GCJ-02 offset (≈ 100–700 m) everywhere.
_SMALL_AREA_M2, _SMALL_LENGTH_M = 1e6, 2000.0
_LONLAT = re.compile(r"^\s*-?\d+(\.\d+)?\s*[, ]\s*-?\d+(\.\d+)?\s*$")


def _from_a_web_map(site):
    """Whether SITE may hold coordinates picked on a web map: ``lon,lat`` text, GeoJSON or KML."""
    text = str(site)
    return bool(_LONLAT.match(text)) or text.split("::")[0].lower().endswith((".geojson", ".json", ".kml", ".kmz"))


def _datum_check(verdict, as_gcj02):
    """Warn when a point or small site given as WGS84 gets another verdict read as GCJ-02.

    Chinese web maps (AMap, Tencent) give GCJ-02 coordinates, 100–700 m off WGS84; taken for
    WGS84 they put a small site somewhere else. When the verdict, its deciding clauses or the
    missing attributes change with the datum, the verdict says so, with the GCJ-02 reading.
    """
    from zoning.testing import verdict_outcome
    from zoning.verdict import Verdict

    d = verdict.to_dict()
    site = d["site"]
    if site.get("area_m2", 0) > _SMALL_AREA_M2 or site.get("length_m", 0) > _SMALL_LENGTH_M:
        return verdict
    try:
        other = as_gcj02()
    except ZoningError:  # e.g. outside the region once shifted: nothing to compare
        return verdict
    mine, theirs = verdict_outcome(d), verdict_outcome(other)
    if mine == theirs:
        return verdict
    because = f" ({theirs[1].replace(';', ', ')})" if theirs[1] else ""
    d["warnings"] = [*d["warnings"],
                     f"结论取决于坐标系：若坐标取自高德/腾讯地图（GCJ-02），结论为 {other['verdict_zh']}{because}，请确认坐标来源，必要时加 --gcj02 "
                     f"the verdict depends on the datum: read as GCJ-02 coordinates (AMap, Tencent), the site is {other['verdict']}{because}; "
                     "check where the coordinates came from and screen again with --gcj02 if they are GCJ-02"]
    return Verdict(d, verdict._site, verdict._pack)


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
@click.option("--report", "report_out", type=click.Path(dir_okay=False, writable=True), metavar="OUT.html|OUT.pdf|OUT.docx",
              help="Write the report, fit to file as an approval attachment: HTML, PDF or Word by the suffix (record number, input file's sha256, 界址点成果表, compliance table, map, sign-off).")
@click.option("--report-basemap", "report_basemap", type=click.Path(exists=True), metavar="TILES",
              help="Offline basemap for the report's static map: a {z}/{x}/{y}.png tile directory or an .mbtiles file (WGS84/CGCS2000-aligned Web Mercator tiles). Default: no basemap; nothing is fetched.")
@click.option("--onemap", "onemap_out", type=click.Path(dir_okay=False, writable=True), metavar="OUT.html",
              help="Write the 一图一表 page: the interactive map and one table of every unit touched, with its list text and the clauses that fired.")
@click.option("--offline/--online", default=None, help="--offline: maps and reports inline local copies of Leaflet and need no network (no basemap). --online: Leaflet from its CDN. Default: $ZONING_OFFLINE, else Leaflet inlined when its local copies are at hand, with the basemap.")
@user_errors
def screen(site, pack_dir, crs, gcj02, bd09, layer, encoding, repair, fmt, output, map_out, report_out, report_basemap, onemap_out, offline, **flags):
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
      zoning screen parcel.txt --industry 2614 --report parcel.docx --report-basemap tiles.mbtiles
      zoning screen parcel.txt --industry 2614 --onemap parcel-onemap.html

    --report writes the screening as an approval attachment (审批附件): its record number
    (VD- and 16 hex digits of the verdict's sha256: the same inputs and data give the same
    number), the screening time (UTC and 北京时间), SITE's file name and sha256, the reasons in
    Chinese and English, the 界址点成果表 on the site's CGCS2000 3° Gauss–Krüger zone, the
    compliance (符合/不符合/有条件符合/待补充) of every clause of each unit touched, the map with
    north arrow and scale bar, and a sign-off block. --onemap writes the 一图一表 page.
    """
    from zoning.screen import screen as run

    if gcj02 and bd09:
        raise ProjectError("give at most one of --gcj02 and --bd09")
    if (gcj02 or bd09) and crs:
        raise ProjectError("--gcj02/--bd09 describe lon/lat from web maps; they cannot be combined with --crs")
    webmap = "gcj02" if gcj02 else ("bd09" if bd09 else None)
    if report_out or onemap_out:
        from zoning.report import REPORT_SUFFIXES, _check_suffix

        if report_out:
            _check_suffix(report_out, REPORT_SUFFIXES, "--report")
        if onemap_out:
            _check_suffix(onemap_out, (".html", ".htm"), "--onemap")
    pack = open_pack(pack_dir)
    project, overrides = project_from_options(flags)
    if layer:
        site = f"{site}::{layer}"
    source = None
    if report_out or onemap_out:
        from zoning.report import describe_input

        if site == "-":  # read stdin here, once, to record its digest; the same bytes are screened
            stream = sys.stdin
            if stream is None or stream.isatty():
                raise ProjectError("'-' reads GeoJSON from stdin, but stdin is a terminal; pipe a file in, e.g. zoning screen - < site.geojson")
            data = getattr(stream, "buffer", stream).read()
            data = data.encode("utf-8") if isinstance(data, str) else data
            source = describe_input("-", data=data)
            site = data
        else:
            source = describe_input(site)
    if encoding:
        import codecs

        from zoning.site import read_site

        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ProjectError(f"--encoding {encoding!r} is not a text encoding Python knows; expected e.g. GBK, GB18030 or UTF-8") from None

        site = read_site(site, crs=crs, webmap=webmap, repair=repair, encoding=encoding, region=tuple(pack.units.total_bounds))
    verdict = run(pack, site, project, crs=crs, webmap=webmap, repair=repair, **overrides)
    if webmap is None and crs is None and isinstance(site, str) and _from_a_web_map(site):
        verdict = _datum_check(verdict, lambda: run(pack, site, project, webmap="gcj02", repair=repair, **overrides))
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(verdict.to_json() + "\n")
    if map_out or report_out or onemap_out:
        from zoning.report import write_map, write_onemap, write_report

        if map_out:
            write_map(verdict.explore(offline=offline), map_out)
        if report_out:
            write_report(verdict, report_out, offline=offline, source=source, basemap=report_basemap)
        if onemap_out:
            write_onemap(verdict, onemap_out, offline=offline, source=source)
    if fmt is None:
        fmt = "text" if sys.stdout.isatty() else "json"
    click.echo(verdict.to_text() if fmt == "text" else verdict.to_json())
