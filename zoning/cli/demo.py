"""``zoning demo``: screen the sample sites on the embedded demo pack."""

import json
from pathlib import Path

import click

from zoning.cli.common import user_errors
from zoning.verdict import deciding_findings

__all__ = ["demo", "run_demo"]


def run_demo(out_dir, *, maps=True, offline=None):
    """Screen every sample site; write each verdict (and, with ``maps``, its map and HTML
    report, plus the pack map); return ``(pack, [(meta, verdict)])``."""
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
        if maps:
            from zoning.report import write_map, write_report

            write_map(verdict.explore(offline=offline), out_dir / f"{meta['demo_id']}.map.html")
            write_report(verdict, out_dir / f"{meta['demo_id']}.report.html", offline=offline)
        results.append((meta, verdict))
    if maps:
        from zoning.report import write_map

        write_map(pack.explore(offline=offline), out_dir / "pack.html")
    return pack, results


@click.command()
@click.option("--out", "out_dir", default="demo-out", show_default=True, type=click.Path(file_okay=False), help="Where to write the verdicts.")
@click.option("--maps/--no-maps", default=True, show_default=True, help="Also write each site's map and HTML report, and the pack map.")
@click.option("--offline/--online", default=None, help="--offline: maps and reports inline local copies of Leaflet and need no network (no basemap).")
@user_errors
def demo(out_dir, maps, offline):
    """Screen the sample sites on the embedded Huzhou demo pack and print a table.

    Each site's verdict JSON is written to OUT/<id>.json, its map to OUT/<id>.map.html and
    its printable report to OUT/<id>.report.html; the pack map to OUT/pack.html. The pack
    is demonstration data (演示数据) — not official zoning.

    \b
    Example:
      zoning demo --out demo-out
    """
    pack, results = run_demo(out_dir, maps=maps, offline=offline)
    click.echo(f"{pack.name} {pack.version} ({pack.digest[:19]}…)")
    click.echo(f"{'site':<20} {'verdict 结论':<28} {'deciding clauses 决定条款':<40} expected")
    for meta, v in results:
        clauses = _shorten(list(dict.fromkeys(f["clause_id"] for f in deciding_findings(v.verdict, v["findings"]))), 40)
        mark = "✓" if meta.get("expected_verdict") in (None, v.verdict) else f"✗ expected {meta['expected_verdict']}"
        click.echo(f"{meta['demo_id']:<20} {v.verdict_zh + ' ' + v.verdict:<28} {clauses:<40} {mark}")
    out = Path(out_dir).resolve()
    click.echo(f"verdicts written to {out}/<site>.json")
    if maps:
        click.echo(f"maps 地图:       {out}/<site>.map.html")
        click.echo(f"reports 报告:    {out}/<site>.report.html")
        click.echo(f"pack map 分区图: {out}/pack.html")


def _shorten(ids, width):
    """'A, B (+3)' — as many whole ids as fit in ``width``, then how many more.

    >>> _shorten(["ZJ-PF-01", "ZJ-PF-02", "ZJ-PF-03"], 22)
    'ZJ-PF-01 (+2)'
    >>> _shorten([], 10)
    '—'
    """
    if not ids:
        return "—"
    for n in range(len(ids), 0, -1):
        text = ", ".join(ids[:n]) + (f" (+{len(ids) - n})" if n < len(ids) else "")
        if len(text) <= width:
            return text
    return f"{ids[0]} (+{len(ids) - 1})" if len(ids) > 1 else ids[0]
