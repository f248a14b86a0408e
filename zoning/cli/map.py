"""``zoning map``: an interactive map of a whole pack."""

from pathlib import Path

import click

from zoning.cli.common import basemap_option, open_pack, user_errors

__all__ = ["map_command"]


@click.command("map")
@click.argument("pack_dir", metavar="[PACK]", required=False, type=click.Path(file_okay=False))
@click.option("--out", "out", default="pack.html", show_default=True, type=click.Path(dir_okay=False, writable=True), help="The HTML file to write.")
@click.option("--offline/--online", default=None, help="--offline: inline local copies of Leaflet; no network needed (no basemap). --online: Leaflet from its CDN. Default: $ZONING_OFFLINE, else Leaflet inlined when its local copies are at hand, with the basemap.")
@click.option("--tolerance-m", type=float, help="Simplification tolerance in metres (default: 1/5000 of the pack's extent, at least 10 m).")
@basemap_option
@user_errors
def map_command(pack_dir, out, offline, tolerance_m, basemap):
    """Write an interactive map of PACK (default: the embedded demo pack).

    Units coloured by category (priority green, key orange-red, general yellow), ecological
    red lines, element zones by medium (toggle them in the layer control) and a box that
    finds a unit by its code. Geometries are simplified so the file opens quickly.

    \b
    Examples:
      zoning map data/packs/huzhou-demo --out pack.html
      zoning map --offline --out pack-offline.html
      ZONING_TIANDITU_KEY=… zoning map --basemap tianditu-img --out pack.html
    """
    from zoning.report import write_map

    pack = open_pack(pack_dir)
    path = write_map(pack.explore(offline=offline, tolerance_m=tolerance_m, tiles=basemap), out)
    click.echo(f"pack map written to {Path(path).resolve()} ({Path(path).stat().st_size / 1e6:.2f} MB)")
