"""``zoning demo``: screen the sample sites on the embedded demo pack."""

import json
from pathlib import Path

import click

from zoning.cli.common import user_errors

__all__ = ["demo", "run_demo"]


def run_demo(out_dir):
    """Screen every sample site; write each verdict; return ``[(feature, verdict)]``."""
    from zoning.pack import load_pack
    from zoning.resources import samples_dir
    from zoning.site import read_site

    pack = load_pack()
    collection = json.loads((samples_dir() / "demo_sites.geojson").read_text(encoding="utf-8"))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for feature in collection["features"]:
        props = dict(feature["properties"])
        meta = {k: props.pop(k) for k in list(props) if k.startswith("demo_") or k == "expected_verdict"}
        webmap = meta.get("demo_coords")
        site = read_site({"type": "Feature", "geometry": feature["geometry"], "properties": props}, webmap=webmap)
        verdict = pack.screen(site)
        (out_dir / f"{meta['demo_id']}.json").write_text(verdict.to_json() + "\n", encoding="utf-8")
        results.append((meta, verdict))
    return pack, results


@click.command()
@click.option("--out", "out_dir", default="demo-out", show_default=True, type=click.Path(file_okay=False), help="Where to write the verdicts.")
@user_errors
def demo(out_dir):
    """Screen the sample sites on the embedded Huzhou demo pack and print a table.

    Each site's verdict JSON is written to OUT/<id>.json. The pack is demonstration
    data (演示数据) — not official zoning.

    \b
    Example:
      zoning demo --out demo-out
    """
    pack, results = run_demo(out_dir)
    click.echo(f"{pack.name} {pack.version} ({pack.digest[:19]}…)")
    click.echo(f"{'site':<20} {'verdict 结论':<28} {'deciding clauses 决定条款':<40} expected")
    for meta, v in results:
        deciding = {"prohibited": "prohibit", "needs_information": "needs_information", "conditional": "condition"}.get(v.verdict)
        clauses = ", ".join(dict.fromkeys(f["clause_id"] for f in v["findings"] if f["effect"] == deciding)) or "—"
        mark = "✓" if meta.get("expected_verdict") in (None, v.verdict) else f"✗ expected {meta['expected_verdict']}"
        click.echo(f"{meta['demo_id']:<20} {v.verdict_zh + ' ' + v.verdict:<28} {clauses[:40]:<40} {mark}")
    click.echo(f"verdicts written to {Path(out_dir).resolve()}/")
