"""Write the small test packs under tests/data/packs/ (run from the repo root).

    .venv/bin/python tests/data/make_packs.py

``grid`` is a hand-checkable pack on EPSG:4549 (CGCS2000 3° GK, CM 120°E): every
unit, red line and zone is an axis-aligned rectangle, so overlap areas can be
computed by hand. The ``broken-*`` packs are copies of it with one defect each;
``EXPECTED`` in each holds the file, line and a fragment of the one error the
validator must report.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

ROOT = Path(__file__).parent / "packs"
X0, Y0 = 500000.0, 3400000.0  # ≈ 120.0°E, 30.7°N


def rect(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[X0 + x0, Y0 + y0], [X0 + x1, Y0 + y0], [X0 + x1, Y0 + y1], [X0 + x0, Y0 + y1], [X0 + x0, Y0 + y0]]]}


def collection(features):
    return {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}},
        "features": [{"type": "Feature", "properties": props, "geometry": geom} for props, geom in features],
    }


UNITS = [
    ({"unit_code": "ZH33052110001", "unit_name": "测试优先保护单元", "category": "priority", "subtype": None}, rect(0, 0, 1000, 1000)),
    ({"unit_code": "ZH33052120001", "unit_name": "测试产业集聚重点管控单元", "category": "key", "subtype": "产业集聚类"}, rect(1000, 0, 2000, 1000)),
    ({"unit_code": "ZH33052130001", "unit_name": "测试一般管控单元", "category": "general", "subtype": None}, rect(0, 1000, 2000, 2000)),
]
RED = [({"redline_id": "RL-001", "name": "测试水源涵养红线", "function": "水源涵养"}, rect(200, 200, 800, 800))]
ZONES = [
    ({"zone_id": "Z-FUEL", "medium": "resource", "zone_type": "resource.fuel_ban", "name": "测试禁燃区"}, rect(1000, 0, 2000, 2000)),
    ({"zone_id": "Z-AIR", "medium": "air", "zone_type": "air.high_emission", "name": "测试大气高排放区"}, rect(1500, 0, 2000, 500)),
    ({"zone_id": "Z-DWS", "medium": "water", "zone_type": "water.drinking_source", "name": "测试饮用水水源保护区"}, rect(0, 1500, 500, 2000)),
]

PACK_YAML = """\
id: grid-test
name: 测试网格分区（test data）
version: "1.0"
effective: 2024-01-01
region: "330521"
crs: EPSG:4549
tolerance_m2: 1.0
layers:
  units:    {path: units.geojson}
  red_line: {path: red_line.geojson}
  zones:    {path: zones.geojson}
rasters:
  pm25: {path: pm25.tif, pollutant: PM2.5, unit: ug/m3, standard: 35, statistic: mean}
quotas: quotas.csv
rules: rules.yaml
"""

QUOTAS = "scope,resource,cap,used\nZH33052120001,water_m3,100000,90000\nZH33052130001,water_m3,1000000,0\n"

RULES = """\
clauses:
  - id: T-PRI-01
    tier: province
    dimension: spatial_layout
    text: 优先保护单元内禁止新建、扩建工业项目
    source: 测试方案 第1条
    applies_in: {unit_category: [priority]}
    effect: prohibit
    when:
      industry: ["C"]
      construction: [new, expansion]
  - id: T-RL-01
    tier: province
    dimension: spatial_layout
    text: 生态保护红线内禁止开发性、生产性建设活动
    applies_in: {red_line: true}
    effect: prohibit
    when:
      activity_not: [linear_infrastructure, national_defence]
  - id: T-RL-02
    tier: province
    dimension: spatial_layout
    text: 无法避让生态保护红线的线性基础设施，须开展不可避让论证
    applies_in: {red_line: true}
    effect: condition
    when:
      activity: [linear_infrastructure, national_defence]
    obligations:
      - text: 须论证无法避让生态保护红线的必要性
  - id: T-FUEL-01
    tier: city
    dimension: resource_efficiency
    text: 高污染燃料禁燃区内禁止燃用高污染燃料
    applies_in: {zone_types: [resource.fuel_ban]}
    effect: prohibit
    when:
      fuel: [coal, heavy_oil]
  - id: T-PM-01
    tier: city
    dimension: emission_control
    text: PM2.5超标区域新增VOCs、NOx排放实行2倍削减替代
    applies_in: {raster_exceeds: pm25}
    effect: condition
    when:
      emits: [VOCs, NOx]
    obligations:
      - text: 新增VOCs、NOx排放实行2倍削减替代
        offset: {pollutants: [VOCs, NOx], ratio: 2}
  - id: T-AIR-01
    tier: city
    dimension: emission_control
    text: 大气高排放区新增VOCs排放实行1.5倍削减替代
    applies_in: {zone_types: [air]}
    effect: condition
    when:
      emits: [VOCs]
    obligations:
      - text: 新增VOCs排放实行1.5倍削减替代
        offset: {pollutants: [VOCs], ratio: 1.5}
  - id: T-NEAR-01
    tier: city
    dimension: risk_prevention
    text: 生态保护红线周边500米内禁止新建化工项目
    applies_in: {near: {layer: red_line, within_m: 500}}
    effect: prohibit
    when:
      industry: ["26"]
  - id: T-NEAR-02
    tier: city
    dimension: risk_prevention
    text: 饮用水水源保护区周边300米内新建排放COD项目须有条件准入
    applies_in: {near: {zone_types: [water.drinking_source], within_m: 300}}
    effect: condition
    when:
      emits: [COD]
    obligations:
      - text: 废水须纳管并落实应急池
  - id: T-UNIT-01
    tier: unit
    dimension: spatial_layout
    text: 本单元禁止新建印染项目（除技术改造外）
    applies_in: {unit_codes: [ZH33052120001]}
    effect: prohibit
    when:
      industry: ["171", "172"]
      industry_not: ["1713"]
  - id: T-ALL-01
    tier: province
    dimension: resource_efficiency
    text: 年用水量超过50万立方米的项目须开展水资源论证
    applies_in: {everywhere: true}
    effect: condition
    when:
      attrs: {water_m3: {gt: 500000}}
    obligations:
      - text: 开展水资源论证
"""


def write_raster(path):
    # 100 m cells over x ∈ [-500, 2500], y ∈ [-500, 2500] (offsets from X0, Y0):
    # 40 µg/m³ east of x = 1000 (the key unit), 30 west of it.
    cell = 100.0
    n = 30
    xs = -500 + cell * (np.arange(n) + 0.5)
    arr = np.where(xs[None, :] > 1000, 40.0, 30.0).repeat(n, axis=0).astype("float32")
    transform = from_origin(X0 - 500, Y0 + 2500, cell, cell)
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
                       crs="EPSG:4549", transform=transform, nodata=-9999) as dst:
        dst.write(arr, 1)


def write_grid(directory):
    directory.mkdir(parents=True, exist_ok=True)
    for name, feats in (("units", UNITS), ("red_line", RED), ("zones", ZONES)):
        (directory / f"{name}.geojson").write_text(json.dumps(collection(feats), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (directory / "pack.yaml").write_text(PACK_YAML, encoding="utf-8")
    (directory / "rules.yaml").write_text(RULES, encoding="utf-8")
    (directory / "quotas.csv").write_text(QUOTAS, encoding="utf-8")
    write_raster(directory / "pm25.tif")


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _units(directory, mutate):
    feats = [(dict(p), g) for p, g in UNITS]
    mutate(feats)
    (directory / "units.geojson").write_text(json.dumps(collection(feats), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# name -> (mutation, EXPECTED "file:line: fragment")
def broken():
    def unknown_key(d):
        _edit(d / "rules.yaml", "    effect: prohibit\n    when:\n      industry: [\"C\"]", "    efect: prohibit\n    when:\n      industry: [\"C\"]")

    def bad_category(d):
        _edit(d / "rules.yaml", "unit_category: [priority]", "unit_category: [priorty]")

    def unknown_industry(d):
        _edit(d / "rules.yaml", 'industry: ["26"]', 'industry: ["2615"]')

    def duplicate_clause(d):
        _edit(d / "rules.yaml", "id: T-FUEL-01", "id: T-RL-01")

    def unit_code_pattern(d):
        _units(d, lambda f: f[0][0].update(unit_code="ZH3305211001"))
        _edit(d / "rules.yaml", "", "")

    def category_digit(d):
        _units(d, lambda f: f[2][0].update(category="key"))

    def duplicate_unit(d):
        _units(d, lambda f: f.append(f[1]))

    def overlap(d):
        _units(d, lambda f: f.__setitem__(1, (f[1][0], rect(990, 0, 2000, 1000))))

    def gap(d):
        def mutate(f):
            f[2] = (f[2][0], {"type": "Polygon", "coordinates": [rect(0, 1000, 2000, 2000)["coordinates"][0], [[X0 + 900, Y0 + 1400], [X0 + 900, Y0 + 1430], [X0 + 930, Y0 + 1430], [X0 + 930, Y0 + 1400], [X0 + 900, Y0 + 1400]]]})
        _units(d, mutate)

    def invalid_geometry(d):
        def mutate(f):
            f[2] = (f[2][0], {"type": "Polygon", "coordinates": [[[X0, Y0 + 1000], [X0 + 2000, Y0 + 2000], [X0 + 2000, Y0 + 1000], [X0, Y0 + 2000], [X0, Y0 + 1000]]]})
        _units(d, mutate)

    def unknown_raster(d):
        _edit(d / "rules.yaml", "raster_exceeds: pm25", "raster_exceeds: pm10")

    def yaml_syntax(d):
        _edit(d / "rules.yaml", "applies_in: {red_line: true}", "applies_in: {red_line: true")

    def two_places(d):
        _edit(d / "rules.yaml", "applies_in: {everywhere: true}", "applies_in: {everywhere: true, red_line: true}")

    def bad_attr(d):
        _edit(d / "rules.yaml", "attrs: {water_m3: {gt: 500000}}", "attrs: {water: {gt: 500000}}")

    def quota_scope(d):
        _edit(d / "quotas.csv", "ZH33052130001,water_m3", "ZH33052130009,water_m3")

    def bad_medium(d):
        _edit(d / "zones.geojson", '"medium": "air"', '"medium": "aire"')

    def missing_file(d):
        (d / "pm25.tif").unlink()

    def manifest_type(d):
        _edit(d / "pack.yaml", 'version: "1.0"', "version: 1.0")

    def no_crs(d):
        import geopandas as gpd

        gdf = gpd.read_file(d / "units.geojson")
        (d / "units.geojson").unlink()
        gdf.set_crs(None, allow_override=True).to_file(d / "units.shp", engine="pyogrio")
        for ext in (".prj",):
            if (d / f"units{ext}").exists():
                (d / f"units{ext}").unlink()
        _edit(d / "pack.yaml", "crs: EPSG:4549\n", "")
        _edit(d / "pack.yaml", "units:    {path: units.geojson}", "units:    {path: units.shp}")

    def crs_unknown(d):
        _edit(d / "pack.yaml", "crs: EPSG:4549", "crs: EPSG:99999")

    def unknown_unit(d):
        _edit(d / "rules.yaml", "unit_codes: [ZH33052120001]", "unit_codes: [ZH33052120002]")

    return {
        "unknown-key": (unknown_key, "rules.yaml:8: unknown key 'efect' at clauses.0.efect; did you mean 'effect'?"),
        "bad-category": (bad_category, "rules.yaml:7: clauses.0.applies_in.unit_category.0: 'priorty' is not allowed; expected one of priority, key, general — did you mean 'priority'?"),
        "unknown-industry": (unknown_industry, "rules.yaml:67: clause T-NEAR-01: industry code '2615' is not in GB/T 4754-2017; did you mean 261 (基础化学原料制造)?"),
        "duplicate-clause": (duplicate_clause, "rules.yaml:30: clause id 'T-RL-01' is used twice (first on line 12)"),
        "unit-code-pattern": (unit_code_pattern, "units.geojson: feature 0: unit_code 'ZH3305211001' does not match"),
        "category-digit": (category_digit, "units.geojson: unit ZH33052130001: category is 'key' but the code's category digit 3 means 'general'"),
        "duplicate-unit": (duplicate_unit, "units.geojson: unit_code ZH33052120001 is used by features 1 and 3"),
        "overlap": (overlap, "units.geojson: units overlap: ZH33052110001 and ZH33052120001 overlap by 10000.00 m²"),
        "gap": (gap, "units.geojson: units gap: gap of 900.00 m² not covered by any feature"),
        "invalid-geometry": (invalid_geometry, "units.geojson: units invalid: ZH33052130001: Self-intersection at 120.010442, 30.734147"),
        "unknown-raster": (unknown_raster, "rules.yaml:42: clause T-PM-01: raster 'pm10' is not in pack.yaml's rasters"),
        "yaml-syntax": (yaml_syntax, "rules.yaml:17: YAML syntax error: expected ',' or '}', but got ':'"),
        "two-places": (two_places, "rules.yaml:91: clauses.9.applies_in: applies_in needs exactly one of"),
        "bad-attr": (bad_attr, "rules.yaml:94: clause T-ALL-01: attrs key 'water' is not a numeric project attribute"),
        "quota-scope": (quota_scope, "quotas.csv:3: scope 'ZH33052130009' is neither a unit_code nor a zone_id"),
        "bad-medium": (bad_medium, "zones.geojson: zone Z-AIR: medium 'aire' is not one of"),
        "missing-file": (missing_file, "pack.yaml:13: raster pm25: file 'pm25.tif' does not exist"),
        "manifest-type": (manifest_type, "pack.yaml:3: version: expected a quoted string, got 1.0"),
        "no-crs": (no_crs, "units.shp: layer units in units.shp has no CRS"),
        "unknown-crs": (crs_unknown, "pack.yaml:6: crs 'EPSG:99999' is not a CRS pyproj knows"),
        "unknown-unit": (unknown_unit, "rules.yaml:82: clause T-UNIT-01: unit ZH33052120002 is not in the units layer"),
    }


def main():
    grid = ROOT / "grid"
    if grid.exists():
        shutil.rmtree(grid)
    write_grid(grid)
    for name, (mutate, expected) in broken().items():
        d = ROOT / f"broken-{name}"
        if d.exists():
            shutil.rmtree(d)
        shutil.copytree(grid, d)
        mutate(d)
        (d / "EXPECTED").write_text(expected + "\n", encoding="utf-8")
    print(f"wrote {grid} and {len(broken())} broken packs")


if __name__ == "__main__":
    main()
