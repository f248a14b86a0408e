"""Write candidate_sites.geojson: 300 synthetic candidate plant sites in the demo pack's region.

Deterministic (seeded); run from the repository root: `.venv/bin/python notebooks/make_candidate_sites.py`.
Sites are 150–400 m squares around random points inside the pack's units, plus three just
outside the region (to show how screen_many reports rows it cannot screen). Each row names a
GB/T 4754-2017 industry and a construction type; the notebook adds the rest of the project.
"""

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

import zoning

INDUSTRIES = {
    "2614": "有机化学原料制造",
    "1752": "化纤织物染整精加工",
    "3130": "钢压延加工",
    "2921": "塑料薄膜制造",
    "3841": "锂离子电池制造",
    "1511": "酒精制造",
    "6550": "信息处理和存储支持服务",
    "3311": "金属结构制造",
}


def main(out=Path(__file__).parent / "candidate_sites.geojson", n=300, seed=20240601):
    pack = zoning.load_pack()
    region = shapely.union_all(pack.units.geometry.values)
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = region.bounds
    rows = []
    while len(rows) < n - 3:
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if not region.contains(shapely.Point(x, y)):
            continue
        half = rng.uniform(0.00075, 0.002)
        code = rng.choice(list(INDUSTRIES))
        rows.append({"site_id": f"C{len(rows) + 1:03d}", "industry": str(code), "construction": str(rng.choice(["new", "new", "expansion"])),
                     "geometry": shapely.box(x - half, y - half * 0.9, x + half, y + half * 0.9)})
    for i, (x, y) in enumerate([(x0 - 0.05, y0 - 0.05), (x1 + 0.05, y1 + 0.05), (x0 - 0.05, y1 + 0.05)]):
        rows.append({"site_id": f"X{i + 1:03d}", "industry": "3311", "construction": "new", "geometry": shapely.box(x - 0.001, y - 0.001, x + 0.001, y + 0.001)})
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    gdf["geometry"] = shapely.set_precision(gdf.geometry.values, 1e-6)
    gdf.to_file(out, driver="GeoJSON", COORDINATE_PRECISION=6)
    print(f"wrote {len(gdf)} sites to {out}")


if __name__ == "__main__":
    main()
