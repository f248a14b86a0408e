"""Eligibility-map benchmark: time and peak memory per project, demo pack and province pack.

Usage
-----
::

    .venv/bin/python bench/make_province.py                    # the province pack, once (minutes)
    .venv/bin/python bench/eligibility.py [--pack .cache/bench/province] [--check 200]

or ``make bench-eligibility``. For the embedded demo pack and for ``--pack`` (skipped when
it does not exist), each of three projects is computed in its own child process (cold: the
pack loaded from its cache, nothing of the eligibility map cached) and the child reports:

- seconds for ``pack.eligibility(project, cache=False)`` (wall and CPU), the number of
  polygons, the area by verdict, and the peak RSS of the child (VmHWM);
- with ``--check N``: N random points strictly inside the polygons (1 m) and N points 1 m
  inside their edges, screened one by one with ``screen``; the count that disagree (must be 0).

Targets (issue 9): demo pack under 5 s, province pack under 2 min and 2 GB per project.
The figures print side by side; there is no pass/fail. A shared machine makes them noisy.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

PROJECTS = {
    "chemical 2614 new": {"industry": "2614", "construction": "new", "emissions": {"VOCs": 5.0, "NOx": 2.0}, "fuel": ["natural_gas"],
                          "water_m3": 50000, "coal_t": 0, "energy_tce": 1000, "land_ha": 3.0, "groundwater": False},
    "warehouse 5990 new": {"industry": "5990", "construction": "new", "emissions": {"PM": 0.2}, "fuel": [], "water_m3": 2000,
                           "coal_t": 0, "land_ha": 2.0, "groundwater": False},
    "textile 1713, little given": {"industry": "1713", "construction": "expansion"},
}


def _child(pack_dir, project, check):
    import numpy as np

    from zoning import load_pack
    from zoning.testing import eligibility_mismatches

    t0 = time.perf_counter()
    pack = load_pack(pack_dir or None)
    load_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    elig = pack.eligibility(project, cache=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = {"load_s": load_s, "wall_s": wall, "cpu_s": cpu, "polygons": len(elig), "areas_km2": {k: v / 1e6 for k, v in elig.areas_m2.items()}}
    with open("/proc/self/status") as fh:
        out["peak_rss_mb"] = next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmHWM"))
    if check:
        # Sample polygons by area, so that points fall where the map is, not on slivers.
        rng = np.random.default_rng(0)
        f = elig.frame
        pick = rng.choice(len(f), size=min(check, len(f)), replace=False, p=(f["area_m2"] / f["area_m2"].sum()).to_numpy())
        sub = type(elig)(f.iloc[np.sort(pick)].reset_index(drop=True), elig.pack, elig.project, elig.clauses)
        t0 = time.perf_counter()
        bad = eligibility_mismatches(pack, sub, points=1, edge_points=1, seed=1)
        out["checked"] = 2 * len(sub.frame)
        out["mismatches"] = len(bad)
        out["check_s"] = time.perf_counter() - t0
    print(json.dumps(out))


def run(pack_dir, name, project, check):
    cmd = [sys.executable, __file__, "--child", json.dumps({"pack": pack_dir, "project": project, "check": check})]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pack", default=".cache/bench/province", help="province-scale pack (bench/make_province.py)")
    ap.add_argument("--check", type=int, default=0, help="screen this many points inside the polygons and as many near their edges")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        spec = json.loads(args.child)
        _child(spec["pack"], spec["project"], spec["check"])
        return
    packs = [("demo (embedded)", "", "< 5 s")]
    if Path(args.pack, "pack.yaml").exists():
        packs.append((f"province ({args.pack})", args.pack, "< 120 s, < 2048 MB"))
    else:
        print(f"(no pack at {args.pack}: run bench/make_province.py for the province figures)")
    header = f"{'pack':<34} {'project':<28} {'wall s':>7} {'cpu s':>7} {'peak MB':>8} {'polygons':>8}  {'prohibited/needs/cond/permitted km²':<40} {'checked':>8} {'wrong':>6}  target"
    print(header)
    print("-" * len(header))
    for label, pack_dir, target in packs:
        for name, project in PROJECTS.items():
            r = run(pack_dir, name, project, args.check)
            if "error" in r:
                print(f"{label:<34} {name:<28} error: {r['error']}")
                continue
            a = r["areas_km2"]
            areas = "/".join(f"{a[k]:,.0f}" for k in ("prohibited", "needs_information", "conditional", "permitted"))
            print(f"{label:<34} {name:<28} {r['wall_s']:7.1f} {r['cpu_s']:7.1f} {r['peak_rss_mb']:8.0f} {r['polygons']:8d}  {areas:<40} "
                  f"{r.get('checked', '—'):>8} {r.get('mismatches', '—'):>6}  {target}", flush=True)


if __name__ == "__main__":
    main()
