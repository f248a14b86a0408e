"""The ``zoning`` command line: one module per command."""

import click

from zoning import __version__
from zoning.cli.batch import batch
from zoning.cli.demo import demo
from zoning.cli.diff import diff
from zoning.cli.eligible import eligible
from zoning.cli.importer import import_command
from zoning.cli.map import map_command
from zoning.cli.records import records
from zoning.cli.rescreen import rescreen
from zoning.cli.screen import screen
from zoning.cli.serve import serve
from zoning.cli.validate import validate

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zoning")
def main():
    """三线一单 ecological zoning control: screen a site or many, validate a pack, run the demo.

    \b
    Examples:
      zoning screen site.geojson --industry 2614 --construction new
      zoning screen 119.95,30.55 --gcj02 --industry 6550 --format text
      zoning batch candidates.csv --project project.yaml -o verdicts.xlsx
      zoning eligible --industry 2614 --construction new -o where.gpkg --map where.html
      zoning validate data/packs/huzhou-demo
      zoning demo
      zoning map data/packs/huzhou-demo --out pack.html
      zoning diff packs/old packs/new --map changes.html
      zoning serve --port 8000
    """


main.add_command(screen)
main.add_command(batch)
main.add_command(eligible)
main.add_command(validate)
main.add_command(demo)
main.add_command(map_command)
main.add_command(serve)
main.add_command(records)
main.add_command(rescreen)
main.add_command(diff)
main.add_command(import_command)
