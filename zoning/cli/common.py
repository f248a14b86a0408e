"""What the commands share: turning user mistakes into one line on stderr and exit 2."""

import functools
import sys

import click

from zoning.errors import ProjectError, ZoningError

__all__ = ["user_errors", "open_pack", "EXIT_BAD_INPUT", "project_options", "project_from_options", "basemap_option"]

#: Exit status for bad input (contract §4).
EXIT_BAD_INPUT = 2


def user_errors(func):
    """Run a command; a :class:`ZoningError` becomes ``zoning: error: …`` and exit 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ZoningError as exc:
            click.echo(f"zoning: error: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            click.echo(f"zoning: error: {exc.strerror}: {exc.filename}", err=True)
            sys.exit(EXIT_BAD_INPUT)

    return wrapper


def open_pack(path):
    """Load the pack at ``path`` (the embedded demo pack when None)."""
    from zoning.pack import load_pack

    return load_pack(path)


#: The project flags of ``screen`` and ``eligible`` (contract §2 keys), outermost first.
_PROJECT_OPTIONS = [
    click.option("--project", "project_file", type=click.Path(dir_okay=False), help="Project description (YAML/JSON, contract §2)."),
    click.option("--name", help="Project name."),
    click.option("--industry", multiple=True, metavar="CODE", help="GB/T 4754-2017 code; repeat for several."),
    click.option("--construction", type=click.Choice(["new", "expansion", "reconstruction", "relocation", "新建", "扩建", "改建", "迁建"]),
                 help="new 新建 | expansion 扩建 | reconstruction 改建 | relocation 迁建."),
    click.option("--activity", help="Red-line permitted activity type, e.g. linear_infrastructure."),
    click.option("--emission", "emissions", multiple=True, metavar="POLLUTANT=T", help="Annual emission in t/a, e.g. VOCs=12.5; repeat."),
    click.option("--fuel", multiple=True, help="Fuel burned (coal, natural_gas, …); repeat. --fuel none: burns nothing."),
    click.option("--water-m3", type=float, help="Water use, m³/a."),
    click.option("--coal-t", type=float, help="Coal use, t/a."),
    click.option("--land-ha", type=float, help="Land, ha."),
    click.option("--energy-tce", type=float, help="Energy use, tce/a."),
    click.option("--groundwater/--no-groundwater", default=None, help="Whether the project extracts groundwater."),
]
PROJECT_PARAMS = ("project_file", "name", "industry", "construction", "activity", "emissions", "fuel", "water_m3", "coal_t", "land_ha", "energy_tce", "groundwater")


def project_options(func):
    """Add the project flags (``--project FILE``, ``--industry`` …) to a command."""
    for option in reversed(_PROJECT_OPTIONS):
        func = option(func)
    return func


def _emissions(values):
    out = {}
    for item in values:
        if "=" not in item:
            raise ProjectError(f"--emission expects POLLUTANT=T_PER_YEAR, e.g. VOCs=12.5; got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def project_from_options(kwargs):
    """Pop the project flags from a command's ``kwargs``: ``(project dict from --project
    or None, overrides from the flags)``; flags win over the file."""
    from zoning.project import read_project

    p = {k: kwargs.pop(k) for k in PROJECT_PARAMS}
    project = read_project(p["project_file"]).to_dict() if p["project_file"] else None
    fuel = p["fuel"]
    overrides = {
        "name": p["name"],
        "industry": list(p["industry"]) or None,
        "construction": p["construction"],
        "activity": p["activity"],
        "emissions": _emissions(p["emissions"]) or None,
        "fuel": ([] if list(fuel) == ["none"] else list(fuel)) if fuel else None,
        "water_m3": p["water_m3"],
        "coal_t": p["coal_t"],
        "land_ha": p["land_ha"],
        "energy_tce": p["energy_tce"],
        "groundwater": p["groundwater"],
    }
    return project, {k: v for k, v in overrides.items() if v is not None}


def _check_basemap(ctx, param, value):
    from zoning.basemaps import resolve, tianditu_key

    if value is None:
        return None
    try:
        name = resolve(value)
        if name in ("tianditu-vec", "tianditu-img"):
            tianditu_key(required=True)
    except ZoningError as exc:
        raise click.BadParameter(str(exc)) from None
    return name


#: ``--basemap`` of the commands that write maps (see :mod:`zoning.basemaps`).
basemap_option = click.option(
    "--basemap", type=str, callback=_check_basemap, envvar="ZONING_BASEMAP", metavar="osm|tianditu-vec|tianditu-img",
    help="Basemap shown first on online maps: osm (OpenStreetMap), tianditu-vec or tianditu-img (天地图 矢量/影像, "
         "CGCS2000; needs ZONING_TIANDITU_KEY, and with the key both are offered in the layer control anyway). "
         "GCJ-02 tiles (AMap/Gaode, Baidu, Tencent) are refused [env ZONING_BASEMAP; default osm].",
)
