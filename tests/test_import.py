"""`zoning import`: official results (units shapefile, list table, red lines, zones) → a pack.

Every fixture is made here with pyogrio/GDAL and openpyxl: three units side by side in
安吉县 (330523), 0.01° wide, a red line inside the priority unit and an air zone over the
key unit, written as official-style files (GBK DBF, official field names, EPSG:4490 or a
CGCS2000 3° Gauss–Krüger zone with the zone prefix).
"""

import hashlib
import json
import warnings

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
import yaml
from click.testing import CliRunner
from pyproj import CRS

from zoning import load_pack, validate_pack
from zoning.cli import main
from zoning.errors import PackError, ZoningError
from zoning.importer import RED_LINE_CLAUSES, OfficialDataError, OfficialDataWarning, import_official

REGION = "330523"
CODES = ["ZH33052310001", "ZH33052320001", "ZH33052330001"]
NAMES = ["安吉县龙王山优先保护单元", "安吉县经济开发区产业集聚重点管控单元", "安吉县一般管控单元"]
CATEGORIES = ["优先保护单元", "重点管控单元（产业集聚类）", "一般管控单元"]
X0, Y0, W = 119.60, 30.60, 0.01
RED = shapely.box(X0 + 0.002, Y0 + 0.002, X0 + 0.006, Y0 + 0.006)  # inside the priority unit
IN_RED = (X0 + 0.004, Y0 + 0.004)
IN_PRIORITY = (X0 + 0.008, Y0 + 0.008)  # priority unit, outside the red line
IN_KEY = (X0 + 1.5 * W, Y0 + 0.5 * W)
IN_GENERAL = (X0 + 2.5 * W, Y0 + 0.5 * W)


def unit_boxes():
    return [shapely.box(X0 + i * W, Y0, X0 + (i + 1) * W, Y0 + W) for i in range(3)]


def write_units(path, *, crs=4490, cpg=True, codes=CODES, categories=CATEGORIES, geoms=None, fields=None, drop=()):
    """An official-style units shapefile (GBK text), in ``crs``; ``cpg=False`` removes the .cpg."""
    data = {
        "HJZHGKDYBM": list(codes),
        "HJZHGKDYMC": NAMES[: len(codes)],
        "ZHGKDYFL": list(categories),
        "KJBJYS": ["禁止新建工业项目", "新建项目须入园", None][: len(codes)],
        "SHI": ["湖州市"] * len(codes),
    }
    for f in drop:
        data.pop(f)
    data.update(fields or {})
    gdf = gpd.GeoDataFrame(data, geometry=geoms or unit_boxes()[: len(codes)], crs=4490)
    if crs != 4490:
        gdf = gdf.to_crs(crs)
    encoding = "GBK" if str(path).endswith(".shp") else None
    pyogrio.write_dataframe(gdf, path, encoding=encoding)
    if not cpg:
        path.with_suffix(".cpg").unlink()
    return path


def write_red_line(path):
    gdf = gpd.GeoDataFrame({"HXBM": ["330523-HX-01"], "HXMC": ["龙王山生物多样性维护生态保护红线"], "ZYSTGN": ["生物多样性维护"]}, geometry=[RED], crs=4490)
    pyogrio.write_dataframe(gdf, path, encoding="GBK")
    return path


def write_zones(path):
    gdf = gpd.GeoDataFrame(
        {"FQBM": ["YS33052320001"], "FQLX": ["大气环境高排放重点管控区"], "FQMC": ["安吉县经济开发区大气环境高排放重点管控区"]},
        geometry=[unit_boxes()[1]], crs=4490,
    )
    pyogrio.write_dataframe(gdf, path, encoding="GBK")
    return path


def write_list_xlsx(path, rows=None):
    """A list as provinces publish it: a title row, then a two-row header with merged cells."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "准入清单"
    ws["A1"] = "安吉县生态环境准入清单"
    ws.merge_cells("A1:F1")
    ws["A2"], ws["B2"], ws["C2"] = "环境管控单元编码", "环境管控单元名称", "管控要求"
    ws.merge_cells("A2:A3")
    ws.merge_cells("B2:B3")
    ws.merge_cells("C2:F2")
    for col, head in zip("CDEF", ["空间布局约束", "污染物排放管控", "环境风险防控", "资源开发效率\n要求"]):
        ws[f"{col}3"] = head
    rows = rows if rows is not None else [
        [CODES[0], NAMES[0], "红线内禁止开发性、生产性建设活动", None, None, "严格控制取水"],
        [CODES[1], NAMES[1], "新建工业项目须进入园区", "新增VOCs排放实行2倍削减替代", "合理设置防护距离", None],
        [CODES[2], NAMES[2], None, "执行农业面源污染防治要求", "合理设置防护距离", None],
    ]
    for r, row in enumerate(rows, start=4):
        for c, value in enumerate(row, start=1):
            ws.cell(r, c, value)
    if rows is not None and len(rows) >= 3 and rows[1][4] == rows[2][4]:
        ws.merge_cells("E5:E6")  # one text for two units, as a merged cell
    wb.save(path)
    return path


@pytest.fixture
def units_shp(tmp_path):
    return write_units(tmp_path / "管控单元.shp")


def same_shape(a, b):
    return a.symmetric_difference(b).area < 1e-12  # degrees²: about 0.01 m²


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def imported(tmp_path, units, **kw):
    kw.setdefault("effective", "2024-06-01")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OfficialDataWarning)
        return import_official(units, tmp_path / "pack", id="anji-2024", version="2024.1", region=REGION, **kw)


def manifest(pack_dir):
    return yaml.safe_load((pack_dir / "pack.yaml").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ encodings


def test_gbk_shapefile_without_cpg_is_detected_said_and_recorded(tmp_path):
    units = write_units(tmp_path / "units.shp", cpg=False)
    with pytest.warns(OfficialDataWarning, match=r"units\.dbf has no \.cpg; .*GBK"):
        out = import_official(units, tmp_path / "pack", id="anji", version="1", region=REGION, effective="2024-06-01")
    pack = load_pack(out)
    assert list(pack.units["unit_name"]) == NAMES
    assert list(pack.units["category"]) == ["priority", "key", "general"]
    prov = manifest(out)["provenance"]
    assert "detected" in prov["sources"]["units"]["encoding"] and "GBK" in prov["sources"]["units"]["encoding"]
    assert any("GBK" in w for w in prov["warnings"])


def test_cpg_is_honoured_without_a_detection_warning(tmp_path, units_shp):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = import_official(units_shp, tmp_path / "pack", id="anji", version="1", region=REGION, effective="2024-06-01")
    assert not [w for w in caught if "cpg" in str(w.message)]
    assert manifest(out)["provenance"]["sources"]["units"]["encoding"] == "GBK (.cpg)"
    assert load_pack(out).units["unit_name"].iloc[1] == NAMES[1]


def test_fields_are_mapped_and_others_kept(tmp_path, units_shp):
    pack = load_pack(imported(tmp_path, units_shp))
    u = pack.units
    assert list(u.columns[:8]) == ["unit_code", "unit_name", "category", "subtype", "spatial_layout", "emission_control", "risk_prevention", "resource_efficiency"]
    assert u["subtype"].iloc[1] == "产业集聚类"  # from 重点管控单元（产业集聚类）
    assert u["spatial_layout"].iloc[0] == "禁止新建工业项目"
    assert set(u["SHI"]) == {"湖州市"}
    assert "HJZHGKDYBM" not in u.columns and "KJBJYS" not in u.columns


@pytest.mark.parametrize("values", [["1", "2", "3"], ["优先保护", "重点管控", "一般管控"], ["priority", "key", "general"]])
def test_category_spellings(tmp_path, values):
    units = write_units(tmp_path / "u.shp", categories=values)
    assert list(load_pack(imported(tmp_path, units)).units["category"]) == ["priority", "key", "general"]


# ------------------------------------------------------------------------ CRS


def test_zone_prefixed_gauss_kruger_units_are_written_on_cgcs2000(tmp_path):
    units = write_units(tmp_path / "units.shp", crs=4528)
    assert pyogrio.read_dataframe(units).total_bounds[0] > 4e7  # the eastings carry zone 40
    out = imported(tmp_path, units)
    assert manifest(out)["provenance"]["sources"]["units"]["crs"] == "EPSG:4528"
    written = gpd.read_file(out / "layers.gpkg", layer="units")
    assert written.crs.equals(CRS.from_epsg(4490))
    assert same_shape(written.geometry.iloc[0], unit_boxes()[0])
    verdict = load_pack(out).screen(f"{IN_KEY[0]},{IN_KEY[1]}")
    assert [u["unit_code"] for u in verdict["units"]] == [CODES[1]]


def test_prj_without_zone_prefix_on_prefixed_eastings_is_corrected(tmp_path):
    units = write_units(tmp_path / "units.shp", crs=4528)
    units.with_suffix(".prj").write_text(CRS.from_epsg(4549).to_wkt("WKT1_ESRI"))
    with pytest.warns(OfficialDataWarning, match="carry one.*EPSG:4528"):
        out = import_official(units, tmp_path / "pack", id="anji", version="1", region=REGION, effective="2024-06-01")
    assert "zone prefix corrected" in manifest(out)["provenance"]["sources"]["units"]["crs"]
    assert same_shape(load_pack(out).units.geometry.iloc[0], unit_boxes()[0])


def test_file_without_crs_is_refused_unless_crs_given(tmp_path, units_shp):
    units_shp.with_suffix(".prj").unlink()
    with pytest.raises(OfficialDataError, match=r"units file 管控单元\.shp has no CRS \(no \.prj\); give it with --crs"):
        imported(tmp_path, units_shp)
    out = imported(tmp_path, units_shp, crs="EPSG:4490")
    assert manifest(out)["provenance"]["sources"]["units"]["crs"] == "EPSG:4490 (--crs)"


def test_wrong_crs_lands_outside_china(tmp_path, units_shp):
    with pytest.raises(OfficialDataError, match="outside China; its CRS is wrong"):
        imported(tmp_path, units_shp, crs="EPSG:4549")  # lon/lat read as GK metres


# ----------------------------------------------------------------- list table


def test_xlsx_list_with_merged_two_row_header_fills_and_overrides(tmp_path, units_shp):
    listing = write_list_xlsx(tmp_path / "准入清单.xlsx")
    out = imported(tmp_path, units_shp, list_table=listing)
    u = load_pack(out).units.set_index("unit_code")
    assert u.loc[CODES[0], "spatial_layout"] == "红线内禁止开发性、生产性建设活动"  # overrides KJBJYS
    assert u.loc[CODES[1], "emission_control"] == "新增VOCs排放实行2倍削减替代"
    assert u.loc[CODES[0], "resource_efficiency"] == "严格控制取水"  # header 资源开发效率\n要求
    assert u.loc[CODES[2], "risk_prevention"] == "合理设置防护距离"  # from the merged cell E5:E6
    assert pd.isna(u.loc[CODES[2], "spatial_layout"])  # empty cell, no shapefile text: stays empty
    rec = manifest(out)["provenance"]["sources"]["list"]
    assert rec["header_rows"] == 2 and rec["sheet"] == "准入清单" and rec["rows"] == 3
    assert rec["sha256"]["准入清单.xlsx"] == hashlib.sha256(listing.read_bytes()).hexdigest()


def test_gbk_csv_list(tmp_path, units_shp):
    text = "环境管控单元编码,空间布局约束,污染物排放管控\n" + f"{CODES[1]},禁止新建化工项目,执行特别排放限值\n"
    (tmp_path / "list.csv").write_bytes(text.encode("gbk"))
    u = load_pack(imported(tmp_path, units_shp, list_table=tmp_path / "list.csv")).units.set_index("unit_code")
    assert u.loc[CODES[1], "spatial_layout"] == "禁止新建化工项目"
    assert u.loc[CODES[0], "spatial_layout"] == "禁止新建工业项目"  # no row: the shapefile's text stays


def test_list_code_not_in_units_names_the_row(tmp_path, units_shp):
    rows = [[CODES[0], NAMES[0], "甲", None, None, None], ["ZH33052320009", "无此单元", "乙", None, None, None]]
    listing = write_list_xlsx(tmp_path / "list.xlsx", rows)
    with pytest.raises(OfficialDataError, match=r"list\.xlsx:5: row 5: unit code 'ZH33052320009' is not in the units layer — did you mean ZH33052320001\?"):
        imported(tmp_path, units_shp, list_table=listing)
    assert not (tmp_path / "pack").exists()


def test_list_without_unit_code_column(tmp_path, units_shp):
    (tmp_path / "list.csv").write_text("单元名称,空间布局约束\n甲,乙\n", encoding="utf-8")
    with pytest.raises(OfficialDataError, match="list table list.csv has no unit-code column: looked for a header 环境管控单元编码"):
        imported(tmp_path, units_shp, list_table=tmp_path / "list.csv")


# ------------------------------------------------------------ broken units


def test_duplicate_codes(tmp_path):
    units = write_units(tmp_path / "u.shp", codes=[CODES[0], CODES[1], CODES[1]], categories=["1", "2", "2"])
    with pytest.raises(OfficialDataError, match=r"u\.shp: unit_code ZH33052320001 \(field HJZHGKDYBM\) is used by features 1 and 2"):
        imported(tmp_path, units)


def test_bad_category(tmp_path):
    units = write_units(tmp_path / "u.shp", categories=["优先保护单元", "重点区", "一般管控单元"])
    with pytest.raises(OfficialDataError, match=r"feature 1 \(ZH33052320001\): category '重点区' \(field ZHGKDYFL\) is not one of 优先保护\(单元\)"):
        imported(tmp_path, units)


def test_category_digit_disagrees(tmp_path):
    units = write_units(tmp_path / "u.shp", categories=["优先保护单元", "一般管控单元", "一般管控单元"])
    with pytest.raises(OfficialDataError, match=r"feature 1 \(ZH33052320001\): category '一般管控单元' means general .* but the code's category digit 2 means key"):
        imported(tmp_path, units)


def test_bad_code_pattern_names_the_feature(tmp_path):
    units = write_units(tmp_path / "u.shp", codes=[CODES[0], "ZH3305232001", CODES[2]])
    with pytest.raises(OfficialDataError, match=r"feature 1 \(ZH3305232001\): unit code 'ZH3305232001' \(field HJZHGKDYBM\) does not match"):
        imported(tmp_path, units)


def test_missing_field_says_what_was_looked_for_and_what_there_is(tmp_path):
    units = write_units(tmp_path / "u.shp", drop=["ZHGKDYFL"])
    with pytest.raises(OfficialDataError, match=r"units file u\.shp has no category field: looked for ZHGKDYFL, 管控单元分类, .*; it has HJZHGKDYBM, HJZHGKDYMC, KJBJYS, SHI — name the field under units\.fields\.category"):
        imported(tmp_path, units)


def test_unit_outside_region(tmp_path, units_shp):
    with pytest.raises(OfficialDataError, match="county code 330523 is not within the region 330100"):
        import_official(units_shp, tmp_path / "pack", id="x", version="1", region="330100", effective="2024-06-01")


def test_overlap_is_refused_by_the_topology_check(tmp_path):
    geoms = unit_boxes()
    geoms[1] = shapely.box(X0 + W - 0.001, Y0, X0 + 2 * W, Y0 + W)  # ~100 m into the first unit
    units = write_units(tmp_path / "u.shp", geoms=geoms)
    with pytest.raises(OfficialDataError, match=r"^u\.shp: units overlap: .*ZH33052310001.*ZH33052320001"):
        imported(tmp_path, units)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_gap_is_refused_by_the_topology_check(tmp_path):
    geoms = unit_boxes()
    geoms[1] = geoms[1].difference(shapely.box(X0 + 1.4 * W, Y0 + 0.4 * W, X0 + 1.6 * W, Y0 + 0.6 * W))
    units = write_units(tmp_path / "u.shp", geoms=geoms)
    with pytest.raises(OfficialDataError, match=r"units gap"):
        imported(tmp_path, units)


# ------------------------------------------------------------------ mapping


def test_mapping_names_other_fields_and_values(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"DYBM": CODES, "DYMC": NAMES, "LB": ["P", "K", "G"], "KJ": ["甲", "乙", "丙"]}, geometry=unit_boxes(), crs=4490
    )
    gdf.to_file(tmp_path / "u.gpkg")
    zones = gpd.GeoDataFrame({"ID": ["Z1"], "TYPE": ["高排放区"], "MC": ["甲区"], "YS": ["气"]}, geometry=[unit_boxes()[1]], crs=4490)
    zones.to_file(tmp_path / "z.gpkg")
    (tmp_path / "m.yaml").write_text(
        "units:\n  fields:\n    unit_code: DYBM\n    unit_name: [MC, DYMC]\n    category: LB\n    spatial_layout: KJ\n"
        "  categories: {P: priority, K: key, G: general}\n"
        "zones:\n  fields: {zone_id: ID, zone_type: TYPE, name: MC, medium: YS}\n"
        "  zone_types: {高排放区: air.high_emission}\n  media: {气: air}\n",
        encoding="utf-8",
    )
    pack = load_pack(imported(tmp_path, tmp_path / "u.gpkg", zones=tmp_path / "z.gpkg", mapping=tmp_path / "m.yaml"))
    assert list(pack.units["category"]) == ["priority", "key", "general"]
    assert list(pack.units["spatial_layout"]) == ["甲", "乙", "丙"]
    assert pack.zones[["zone_id", "medium", "zone_type"]].values.tolist() == [["Z1", "air", "air.high_emission"]]
    prov = manifest(tmp_path / "pack")["provenance"]["sources"]
    assert prov["units"]["fields"]["unit_code"] == "DYBM" and "mapping" in prov


def test_mapping_unknown_key_has_file_and_line(tmp_path, units_shp):
    (tmp_path / "m.yaml").write_text("units:\n  fields:\n    unit_cod: DYBM\n", encoding="utf-8")
    with pytest.raises(OfficialDataError, match=r"m\.yaml:3: unknown key 'unit_cod' at units\.fields\.unit_cod; did you mean 'unit_code'\?"):
        imported(tmp_path, units_shp, mapping=tmp_path / "m.yaml")


def test_mapping_field_absent_from_the_file(tmp_path, units_shp):
    (tmp_path / "m.yaml").write_text("red_line: {}\nunits:\n  fields:\n    unit_name: DYMC\n", encoding="utf-8")
    with pytest.raises(OfficialDataError, match=r"m\.yaml:4: units\.fields\.unit_name names DYMC, but units file 管控单元\.shp has no such field"):
        imported(tmp_path, units_shp, mapping=tmp_path / "m.yaml")


def test_mapping_aliases_are_refused(tmp_path, units_shp):
    (tmp_path / "m.yaml").write_text("units:\n  fields: &f\n    unit_code: DYBM\nred_line:\n  fields: *f\n", encoding="utf-8")
    with pytest.raises(OfficialDataError, match=r"m\.yaml:5: YAML aliases"):
        imported(tmp_path, units_shp, mapping=tmp_path / "m.yaml")


# --------------------------------------------------- writing, provenance, rules


def test_refuses_a_non_empty_directory_unless_force(tmp_path, units_shp):
    (tmp_path / "pack").mkdir()
    (tmp_path / "pack" / "notes.txt").write_text("mine")
    with pytest.raises(OfficialDataError, match="is not empty; give a new or empty directory, or --force"):
        imported(tmp_path, units_shp)
    out = imported(tmp_path, units_shp, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["layers.gpkg", "pack.yaml", "rules.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack", *sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("管控单元"))]


def test_failed_import_leaves_an_empty_target_untouched(tmp_path):
    (tmp_path / "pack").mkdir()
    units = write_units(tmp_path / "u.shp", categories=["优先保护单元", "重点区", "一般管控单元"])
    with pytest.raises(OfficialDataError):
        imported(tmp_path, units)
    assert list((tmp_path / "pack").iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_provenance_block(tmp_path, units_shp):
    import zoning

    out = imported(tmp_path, units_shp, red_line=write_red_line(tmp_path / "红线.shp"))
    prov = manifest(out)["provenance"]
    assert prov["engine_version"] == zoning.__version__ and prov["imported_by"] == "zoning import"
    assert prov["imported_at"].endswith("+00:00")
    units = prov["sources"]["units"]
    assert set(units["sha256"]) == {"管控单元.shp", "管控单元.shx", "管控单元.dbf", "管控单元.prj", "管控单元.cpg"}
    assert units["sha256"]["管控单元.dbf"] == hashlib.sha256(units_shp.with_suffix(".dbf").read_bytes()).hexdigest()
    assert units["crs"] == "EPSG:4490" and units["features"] == 3
    assert prov["sources"]["red_line"]["fields"] == {"redline_id": "HXBM", "name": "HXMC", "function": "ZYSTGN"}
    assert load_pack(out).manifest.provenance["sources"]["units"]["file"] == "管控单元.shp"


def test_red_line_clauses_are_the_demo_packs_first_two(tmp_path):
    demo = yaml.safe_load((load_pack().path / "rules.yaml").read_text(encoding="utf-8"))["clauses"][:2]
    for ours, theirs in zip(RED_LINE_CLAUSES, demo):
        drop = {"id", "source"}
        assert {k: v for k, v in ours.items() if k not in drop} == {k: v for k, v in theirs.items() if k not in drop}
        assert ours["source"] in theirs["source"]


def test_no_red_line_no_clauses(tmp_path, units_shp):
    out = imported(tmp_path, units_shp)
    assert yaml.safe_load((out / "rules.yaml").read_text(encoding="utf-8")) == {"clauses": []}
    assert load_pack(out).clauses == []


def test_existing_packs_without_provenance_stay_valid():
    report = validate_pack(topology=False)
    assert report.ok and report.pack.manifest.provenance is None


# ------------------------------------------------------------------ round trip


def test_cli_import_validate_screen_round_trip(tmp_path):
    units = write_units(tmp_path / "管控单元.shp", cpg=False, crs=4528)
    red = write_red_line(tmp_path / "生态保护红线.shp")
    zones = write_zones(tmp_path / "要素分区.shp")
    listing = write_list_xlsx(tmp_path / "准入清单.xlsx")
    out = tmp_path / "packs" / "anji"
    r = run("import", units, "-o", out, "--id", "anji-2024", "--version", "2024.1", "--region", REGION,
            "--effective", "2024-06-01", "--list", listing, "--red-line", red, "--zones", zones)
    assert r.exit_code == 0, r.output
    assert "zoning: warning:" in r.stderr and "GBK" in r.stderr
    assert "3 units (1 priority, 1 key, 1 general), 3 with list text, 1 red lines, 1 zones, 2 clauses" in r.stdout
    v = run("validate", out)
    assert v.exit_code == 0, v.output
    for point, code in ((IN_KEY, CODES[1]), (IN_GENERAL, CODES[2]), (IN_PRIORITY, CODES[0])):
        s = run("screen", f"{point[0]},{point[1]}", "--pack", out, "--industry", "2614", "--construction", "new")
        assert s.exit_code == 0, s.output
        verdict = json.loads(s.stdout)
        assert [u["unit_code"] for u in verdict["units"]] == [code]
        assert verdict["verdict"] == "permitted" and verdict["red_line"] == []
    s = run("screen", f"{IN_RED[0]},{IN_RED[1]}", "--pack", out, "--industry", "2614", "--construction", "new")
    verdict = json.loads(s.stdout)
    assert verdict["verdict"] == "prohibited"
    assert [f["clause_id"] for f in verdict["findings"] if f["effect"] == "prohibit"] == ["HX-KJ-01"]
    assert [r["redline_id"] for r in verdict["red_line"]] == ["330523-HX-01"]
    z = json.loads(run("screen", f"{IN_KEY[0]},{IN_KEY[1]}", "--pack", out).stdout)
    assert [x["zone_type"] for x in z["zones"]] == ["air.high_emission"]


def test_cli_error_is_one_line_exit_2(tmp_path):
    units = write_units(tmp_path / "u.shp", codes=[CODES[0], CODES[1], CODES[1]], categories=["1", "2", "2"])
    r = run("import", units, "-o", tmp_path / "pack", "--id", "x", "--version", "1", "--region", REGION)
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("zoning: error: u.shp: unit_code ZH33052320001")
    assert "Traceback" not in r.output


def test_errors_are_zoning_errors():
    assert issubclass(OfficialDataError, PackError) and issubclass(OfficialDataError, ZoningError)


def test_zipped_gbk_shapefile_without_cpg(tmp_path):
    import zipfile

    units = write_units(tmp_path / "units.shp", cpg=False, crs=4528)
    archive = tmp_path / "管控单元.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in sorted(tmp_path.glob("units.*")):
            zf.write(part, f"成果/{part.name}" if part.suffix != ".zip" else part.name)
    with pytest.warns(OfficialDataWarning, match=r"units\.dbf has no \.cpg.*GBK"):
        out = import_official(archive, tmp_path / "pack", id="anji", version="1", region=REGION, effective="2024-06-01")
    assert list(load_pack(out).units["unit_name"]) == NAMES
    rec = manifest(out)["provenance"]["sources"]["units"]
    assert rec["layer"] == "成果/units.shp" and rec["crs"] == "EPSG:4528" and list(rec["sha256"]) == ["管控单元.zip"]


def test_zip_with_two_shapefiles_needs_a_layer(tmp_path):
    import zipfile

    write_units(tmp_path / "a.shp")
    write_red_line(tmp_path / "b.shp")
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in sorted(tmp_path.glob("[ab].*")):
            zf.write(part, part.name)
    with pytest.raises(OfficialDataError, match=r"all\.zip holds 2 shapefiles \(a\.shp, b\.shp\); expected one — pick one with 'layer:'"):
        imported(tmp_path, archive)
    (tmp_path / "m.yaml").write_text("units: {layer: a}\n", encoding="utf-8")
    assert len(load_pack(imported(tmp_path, archive, mapping=tmp_path / "m.yaml")).units) == 3


def test_mapping_encoding_overrides_detection(tmp_path):
    units = write_units(tmp_path / "u.shp", cpg=False, categories=["1", "2", "3"])
    (tmp_path / "m.yaml").write_text("units: {encoding: ISO-8859-1}\n", encoding="utf-8")
    out = imported(tmp_path, units, mapping=tmp_path / "m.yaml")
    assert manifest(out)["provenance"]["sources"]["units"]["encoding"] == "ISO-8859-1 (mapping file)"
    assert load_pack(out).units["unit_name"].iloc[0] != NAMES[0]  # what the user asked for, mojibake and all


def test_zone_prefix_wins_over_the_prj_central_meridian(tmp_path):
    units = write_units(tmp_path / "units.shp", crs=4528)  # zone 40 eastings (40…)
    units.with_suffix(".prj").write_text(CRS.from_epsg(4548).to_wkt("WKT1_ESRI"))  # CM 117°E, no prefix
    with pytest.warns(OfficialDataWarning, match=r"carry one \(zone 40\); read it as EPSG:4528"):
        out = import_official(units, tmp_path / "pack", id="anji", version="1", region=REGION, effective="2024-06-01")
    assert same_shape(load_pack(out).units.geometry.iloc[2], unit_boxes()[2])


def test_validator_warnings_name_the_source_file(tmp_path, units_shp):
    gdf = gpd.GeoDataFrame({"HXBM": ["HX-2"], "HXMC": ["跨单元红线"]}, geometry=[shapely.box(X0 + 1.2 * W, Y0 + 0.2 * W, X0 + 1.4 * W, Y0 + 0.4 * W)], crs=4490)
    pyogrio.write_dataframe(gdf, tmp_path / "红线.shp", encoding="GBK")
    with pytest.warns(OfficialDataWarning, match=r"^红线\.shp: red_line outside: HX-2: .* lies outside priority units"):
        import_official(units_shp, tmp_path / "pack", id="anji", version="1", region=REGION, effective="2024-06-01", red_line=tmp_path / "红线.shp")
