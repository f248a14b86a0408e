"""``zoning import``: build a pack from the official results a province publishes."""

import warnings

import click

from zoning.cli.common import user_errors

__all__ = ["import_command"]


@click.command("import")
@click.argument("units_file", metavar="UNITS_FILE", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", "out", required=True, type=click.Path(file_okay=False, path_type=str), help="The pack directory to write (new or empty).")
@click.option("--id", "pack_id", required=True, help="Pack id, e.g. zhejiang-2024.")
@click.option("--version", "version", required=True, help="Data version, e.g. 2024.1.")
@click.option("--region", required=True, metavar="CODE", help="GB/T 2260 code of the jurisdiction, e.g. 330000.")
@click.option("--name", help="Pack name (default: made from region, version and units file).")
@click.option("--effective", metavar="YYYY-MM-DD", help="Date the data took effect (default: today, with a warning).")
@click.option("--list", "list_table", type=click.Path(dir_okay=False, path_type=str), help="Access-list table (XLSX or CSV) keyed by unit code.")
@click.option("--red-line", "red_line", type=click.Path(dir_okay=False, path_type=str), help="Ecological-protection red-line layer.")
@click.option("--zones", type=click.Path(dir_okay=False, path_type=str), help="Element-zone layer (要素管控分区).")
@click.option("--mapping", type=click.Path(dir_okay=False, path_type=str), help="MAPPING.yaml: field names and values that differ from the official ones.")
@click.option("--crs", help="CRS of input files without one (a .prj), e.g. EPSG:4490 or EPSG:4528.")
@click.option("--tolerance-m2", type=float, default=1.0, show_default=True, help="The pack's topology tolerance.")
@click.option("--force", is_flag=True, help="Replace a non-empty output directory.")
@user_errors
def import_command(units_file, out, pack_id, version, region, name, effective, list_table, red_line, zones, mapping, crs, tolerance_m2, force):
    """Build a zoning pack from official results (三线一单成果数据).

    UNITS_FILE holds the environmental control units with the official field names
    (HJZHGKDYBM code, HJZHGKDYMC name, ZHGKDYFL category, list texts KJBJYS, PWWPFGK,
    HJFXFK, ZYKFXLYQ), GBK or UTF-8, on any CRS its .prj gives. --list adds the access-list
    text from a table; --red-line and --zones add those layers; --mapping names other fields.
    The pack (layers.gpkg on EPSG:4490, pack.yaml with provenance, rules.yaml with the
    national red-line rule only) is written whole or not at all, and passes `zoning validate`.

    \b
    Example:
      zoning import 管控单元.shp --list 准入清单.xlsx --red-line 生态保护红线.shp \\
          --id huzhou-2024 --version 2024.1 --region 330500 --effective 2024-06-01 -o packs/huzhou
    """
    from zoning.importer import OfficialDataWarning, import_official

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OfficialDataWarning)
        path = import_official(
            units_file, out, id=pack_id, version=version, region=region, name=name, effective=effective,
            list_table=list_table, red_line=red_line, zones=zones, mapping=mapping, crs=crs,
            tolerance_m2=tolerance_m2, force=force,
        )
    for w in caught:
        if issubclass(w.category, OfficialDataWarning):
            click.echo(f"zoning: warning: {w.message}", err=True)
    click.echo(_summary(path, pack_id, version))


def _summary(path, pack_id, version):
    """One line on what was written (read back without geometries: the pack was validated already)."""
    import pyogrio
    import yaml

    gpkg = path / "layers.gpkg"
    layers = {str(name) for name, _ in pyogrio.list_layers(gpkg)}
    units = pyogrio.read_dataframe(gpkg, layer="units", read_geometry=False)
    counts = units["category"].value_counts()
    by_cat = ", ".join(f"{counts.get(c, 0)} {c}" for c in ("priority", "key", "general"))
    texts = [f for f in ("spatial_layout", "emission_control", "risk_prevention", "resource_efficiency") if f in units.columns]
    with_text = int(units[texts].notna().any(axis=1).sum()) if texts else 0
    n = {name: pyogrio.read_info(gpkg, layer=name)["features"] if name in layers else 0 for name in ("red_line", "zones")}
    clauses = len(yaml.safe_load((path / "rules.yaml").read_text(encoding="utf-8"))["clauses"])
    return (
        f"wrote {path}: {pack_id} {version}, {len(units)} units ({by_cat}), {with_text} with list text, "
        f"{n['red_line']} red lines, {n['zones']} zones, {clauses} clauses; it passes `zoning validate`"
    )
