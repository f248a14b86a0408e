"""``zoning diff``: what changed between two versions of a pack."""

import json
import sys

import click

from zoning.cli.common import basemap_option, open_pack, user_errors

__all__ = ["diff"]


@click.command()
@click.argument("old_pack", metavar="OLD_PACK", type=click.Path(file_okay=False))
@click.argument("new_pack", metavar="NEW_PACK", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), help="Output format (default: text on a terminal, JSON otherwise).")
@click.option("--map", "map_out", type=click.Path(dir_okay=False, writable=True), metavar="OUT.html",
              help="Write a map of the changes: added green, removed red, changed orange.")
@click.option("--offline/--online", default=None, help="--offline: the map inlines Leaflet and needs no network (no basemap). --online: Leaflet from its CDN. Default: $ZONING_OFFLINE, else Leaflet inlined when its local copies are at hand, with the basemap.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the packs differ (as `git diff --exit-code`); default: 0 whenever the diff ran.")
@basemap_option
@user_errors
def diff(old_pack, new_pack, fmt, map_out, offline, exit_code, basemap):
    """Compare two versions of a zoning pack: units, red lines and zones matched by id,
    clauses by id, quotas by scope and resource, rasters by content.

    A feature is changed when its shape moved by more than NEW_PACK's tolerance_m2 (area
    of the symmetric difference on its Gauss–Krüger zone) or a field differs. Exit 0 when
    the diff ran (identical packs give empty lists), 2 when a pack cannot be loaded.

    \b
    Examples:
      zoning diff packs/huzhou-2024.1 packs/huzhou-2025.1
      zoning diff old/ new/ --format json > changes.json
      zoning diff old/ new/ --map changes.html --offline
    """
    from zoning.diff import diff_is_empty, diff_packs, render_diff_text

    old, new = open_pack(old_pack), open_pack(new_pack)
    result = diff_packs(old, new)
    if map_out:
        from zoning.maps import diff_map
        from zoning.report import write_map

        write_map(diff_map(result, old, new, offline=offline, tiles=basemap), map_out)
    if fmt is None:
        fmt = "text" if sys.stdout.isatty() else "json"
    click.echo(render_diff_text(result) if fmt == "text" else json.dumps(result, ensure_ascii=False, indent=2))
    if exit_code and not diff_is_empty(result):
        sys.exit(1)
