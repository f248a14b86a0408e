"""``zoning validate``: check a zoning pack and summarise it."""

import json
import sys

import click

from zoning import vocab
from zoning.cli.common import user_errors

__all__ = ["validate"]


@click.command()
@click.argument("pack_dir", metavar="DIR", type=click.Path(file_okay=False, path_type=str))
@click.option("--problems", "problems_out", type=click.Path(dir_okay=False, writable=True), help="Write the topology problem spots as GeoJSON.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--no-topology", is_flag=True, help="Skip the gap/overlap checks of the units.")
@user_errors
def validate(pack_dir, problems_out, fmt, no_topology):
    """Check a zoning pack: manifest and rules schema, industry codes, unit codes, topology.

    Prints every problem as FILE:LINE: severity: message, then a summary of the pack
    (units by category, areas, clauses by dimension and tier). Exits 1 when the pack
    has errors, 0 when it loads (warnings allowed).

    \b
    Example:
      zoning validate data/packs/huzhou-demo --problems problems.geojson
    """
    from zoning.pack import validate_pack

    report = validate_pack(pack_dir, topology=not no_topology)
    if problems_out:
        from zoning.topology import problems_to_geojson

        if report.topology is not None:
            collection = problems_to_geojson(report.topology)
        else:
            collection = {"type": "FeatureCollection", "features": []}
        with open(problems_out, "w", encoding="utf-8") as fh:
            json.dump(collection, fh, ensure_ascii=False, indent=1)
    if fmt == "json":
        out = {
            "ok": report.ok,
            "problems": [
                {"severity": p.severity, "file": p.file, "line": p.line, "kind": p.kind, "message": p.message, "where": p.where, "area_m2": p.area_m2, "location": p.location}
                for p in report.problems
            ],
            "summary": report.pack.summary() if report.pack else None,
        }
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for p in report.problems:
            click.echo(str(p), err=p.severity == "error")
        if report.pack is not None:
            click.echo(_summary_text(report.pack.summary(), len(report.warnings)))
        else:
            click.echo(f"{pack_dir}: {len(report.errors)} error(s), {len(report.warnings)} warning(s) — the pack does not load", err=True)
    sys.exit(0 if report.ok else 1)


def _summary_text(s, n_warnings):
    lines = [
        f"✓ {s['id']} {s['version']} — {s['name']}",
        f"  region {s['region']}, effective {s['effective']}, {s['digest']}",
        "  环境管控单元 units:",
    ]
    for cat, row in s["units"].items():
        lines.append(f"    {vocab.CATEGORIES[cat]} {cat:<8} {row['count']:>4}  {row['area_km2']:>10,.2f} km²")
    lines.append(f"  生态保护红线 red lines: {s['red_line']['count']} ({s['red_line']['area_km2']:,.2f} km²)")
    lines.append("  要素管控分区 zones: " + ", ".join(f"{vocab.MEDIA[m]} {m} {n}" for m, n in s["zones"].items()))
    lines.append(f"  rasters: {', '.join(s['rasters']) or '—'}; quotas: {s['quotas']}")
    lines.append(f"  准入清单 clauses: {s['clauses']}")
    lines.append("    by dimension: " + ", ".join(f"{vocab.DIMENSIONS[d]} {d} {n}" for d, n in s["clauses_by_dimension"].items()))
    lines.append("    by tier: " + ", ".join(f"{vocab.TIERS[t]} {t} {n}" for t, n in s["clauses_by_tier"].items()))
    lines.append(f"  0 errors, {n_warnings} warning(s)")
    return "\n".join(lines)
