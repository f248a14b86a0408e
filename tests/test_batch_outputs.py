"""Batch outputs planners open: the XLSX summary sheets, and Shapefiles (UTF-8 with a .cpg,
10-byte field names, 254-byte texts) from `zoning batch` and `write_polygons`.

Every file is read back with the libraries planners' tools use (openpyxl, pyogrio) and
compared with `pack.screen_many` on the same rows.
"""

import csv
from collections import Counter

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from conftest import GRID, box, gk
from zoning.cli import main
from zoning.io.write import shapefile_names, write_polygons

DEFAULT = {"construction": "new", "fuel": [], "water_m3": 0, "coal_t": 0, "emissions": {}}
PROJECT_YAML = "construction: new\nfuel: []\nwater_m3: 0\ncoal_t: 0\nemissions: {}\n"
VERDICTS = ["prohibited", "needs_information", "conditional", "permitted"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture()
def project_file(tmp_path):
    p = tmp_path / "project.yaml"
    p.write_text(PROJECT_YAML, encoding="utf-8")
    return p


def sites_frame():
    """Points giving every verdict, a few row errors (unknown industry, outside the region), long column names."""
    pts = [(150, 1500), (1500, 300), (100, 100), (500, 500), (1700, 1700), (300, 1800), (120, 130), (5000, 5000), (1600, 300)]
    industries = ["6550", "4430", "2614", "6550", "26", "1712", "9999", "6550", "2614"]
    return gpd.GeoDataFrame(
        {
            "name": [f"地块{i}号" for i in range(len(pts))],
            "industry": industries,
            "fuel": [None, "coal", None, None, None, None, None, None, None],
            "emissions.VOCs": [None, None, 5.0, None, None, 2.5, None, None, 1.0],
            "emissions.NH3N": [None] * len(pts),
            "项目所在乡镇街道": ["吴兴区织里镇"] * len(pts),
            "candidate_batch_no": list(range(len(pts))),
            "candidate_batch_id": [f"B{i}" for i in range(len(pts))],
        },
        geometry=[gk(shapely.Point(x, y)) for x, y in pts],
        crs="EPSG:4490",
    )


# -- XLSX -------------------------------------------------------------------------------------


def test_xlsx_summary_sheets(tmp_path, grid_pack, project_file):
    frame = sites_frame()
    src = tmp_path / "sites.gpkg"
    frame.to_file(src, engine="pyogrio")
    out = tmp_path / "out.xlsx"
    result = run("batch", src, "--pack", GRID, "--project", project_file, "-o", out)
    assert result.exit_code == 0, result.output
    ref = grid_pack.screen_many(frame, DEFAULT)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["rows", "counts", "clauses", "errors"]
    for ws in book.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(c.font.b for c in ws[1]), ws.title  # bold header row
        assert ws.column_dimensions["A"].width >= 8

    rows = pd.read_excel(out, sheet_name="rows", dtype=str)  # the rows sheet is as before: input columns + §6 columns
    assert list(rows.columns) == [*frame.columns.drop("geometry"), "verdict", "verdict_zh", "units", "red_line", "blocking", "missing", "n_findings", "error", "geometry"]
    assert list(rows["name"]) == list(frame["name"])
    widths = {ws_col: book["rows"].column_dimensions[ws_col].width for ws_col in ("A", "F")}
    assert widths["F"] > widths["A"]  # the long Chinese column is wider than 地块0号

    counts = pd.read_excel(out, sheet_name="counts")
    assert list(counts.columns) == ["结论 verdict", "中文 verdict_zh", "行数 count", "占比 share"]
    n = len(frame)
    want = {v: int((ref["verdict"] == v).sum()) for v in VERDICTS}
    want["error"] = int(ref["error"].notna().sum())
    assert want["error"] == 2 and sum(want[v] for v in VERDICTS) == n - 2
    got = counts.set_index("结论 verdict")
    for v, k in {**want, "total": n}.items():
        assert got.loc[v, "行数 count"] == k, v
        assert got.loc[v, "占比 share"] == pytest.approx(k / n)
    assert list(got["中文 verdict_zh"]) == ["禁止准入", "待补充信息", "有条件准入", "允许准入", "无法筛查", "合计"]
    assert book["counts"]["D2"].number_format == "0.0%"

    clauses = pd.read_excel(out, sheet_name="clauses")
    assert list(clauses.columns[:8]) == ["条款 clause_id", "层级 tier", "维度 dimension", "效力 effect", "适用范围 applies_in", "条款内容 text", "来源 source", "决定行数 rows"]
    decided = Counter()
    by = Counter()
    for ids, verdict in zip(ref["blocking"], ref["verdict"]):
        if isinstance(verdict, str) and isinstance(ids, str) and ids:
            for cid in ids.split(";"):
                decided[cid] += 1
                by[(cid, verdict)] += 1
    assert dict(zip(clauses["条款 clause_id"], clauses["决定行数 rows"])) == dict(decided)
    assert list(clauses["决定行数 rows"]) == sorted(clauses["决定行数 rows"], reverse=True)
    for _, row in clauses.iterrows():
        cid = row["条款 clause_id"]
        for v in ("prohibited", "needs_information", "conditional"):
            zh = {"prohibited": "禁止准入", "needs_information": "待补充信息", "conditional": "有条件准入"}[v]
            assert row[f"{zh} {v}"] == by[(cid, v)], (cid, v)
        clause = next((c for c in grid_pack.clauses if c.id == cid), None)
        if clause is not None:
            assert row["条款内容 text"] == clause.text
            assert row["层级 tier"].endswith(clause.tier)
        else:
            assert cid.startswith("quota:") and "资源利用上线" in row["条款内容 text"]
    assert clauses["适用范围 applies_in"].notna().all()

    errors = pd.read_excel(out, sheet_name="errors")
    assert list(errors.columns) == ["行号 row", "工作表 sheet", "表格行 sheet_row", "名称 name", "无法筛查的原因 error"]
    bad = [i for i, e in enumerate(ref["error"]) if isinstance(e, str)]
    assert list(errors["行号 row"]) == bad
    assert list(errors["表格行 sheet_row"]) == [i + 2 for i in bad] and set(errors["工作表 sheet"]) == {"rows"}
    assert list(errors["名称 name"]) == [frame["name"][i] for i in bad]
    assert list(errors["无法筛查的原因 error"]) == [ref["error"][i] for i in bad]
    # the row an error names is that row of the rows sheet
    for r, at in zip(errors["行号 row"], errors["表格行 sheet_row"]):
        assert book["rows"].cell(row=at, column=1).value == frame["name"][r]


def test_xlsx_error_rows_past_the_first_sheet(tmp_path, project_file, monkeypatch):
    """With a (patched) small sheet limit, errors name the rows sheet they are on."""
    from zoning.io.write import XlsxWriter

    monkeypatch.setattr(XlsxWriter, "MAX_ROWS", 4)
    frame = sites_frame()
    src = tmp_path / "sites.gpkg"
    frame.to_file(src, engine="pyogrio")
    out = tmp_path / "out.xlsx"
    assert run("batch", src, "--pack", GRID, "--project", project_file, "-o", out, "--chunk-size", "3").exit_code == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["rows", "rows 2", "rows 3", "counts", "clauses", "errors"]
    errors = pd.read_excel(out, sheet_name="errors")
    for r, sheet, at in zip(errors["行号 row"], errors["工作表 sheet"], errors["表格行 sheet_row"]):
        assert book[sheet].cell(row=at, column=1).value == frame["name"][r]
        assert book[sheet].freeze_panes == "A2"


# -- Shapefile from zoning batch -------------------------------------------------------------


def test_shapefile_names_are_unique_predictable_and_fit():
    names = ["name", "emissions.VOCs", "emissions.NH3N", "项目所在乡镇街道", "项目所在乡镇", "candidate_batch_no", "candidate_batch_id",
             "candidate_", "Name", "verdict", "blocking"]
    m = shapefile_names(names)
    assert m == shapefile_names(names)  # same columns, same names
    assert all(len(v.encode("utf-8")) <= 10 for v in m.values())
    assert len({v.lower() for v in m.values()}) == len(names)  # unique, ignoring case as dBASE does
    assert m["name"] == "name" and m["Name"] == "Name_1" and m["verdict"] == "verdict" and m["candidate_"] == "candidate_"
    assert m["emissions.VOCs"] == "emis.VOCs" and m["emissions.NH3N"] == "emis.NH3N"
    assert m["项目所在乡镇街道"] == "项目所" and m["项目所在乡镇"] == "项目_1"  # 3 bytes a character, never half of one
    assert m["candidate_batch_no"] == "candidat_1" and m["candidate_batch_id"] == "candidat_2"  # 'candidate_' is taken by a name that fits


def test_batch_shapefile_utf8_cpg_fields_and_round_trip(tmp_path, grid_pack, project_file):
    frame = sites_frame()
    frame["备注"] = ["长" * 120 if i == 0 else "短" for i in range(len(frame))]  # 360 bytes: over the 254 of a dBASE text
    src = tmp_path / "sites.gpkg"
    frame.to_file(src, engine="pyogrio")
    out = tmp_path / "out.shp"
    result = run("batch", src, "--pack", GRID, "--project", project_file, "-o", out)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.cpg").read_bytes() == b"UTF-8"
    assert {p.suffix for p in tmp_path.glob("out.*")} == {".shp", ".shx", ".dbf", ".prj", ".cpg", ".csv"}
    assert not list(tmp_path.glob(".out*"))
    info = pyogrio.read_info(out)
    assert info["encoding"] == "UTF-8" and info["geometry_type"] == "Point"
    fields = list(info["fields"])
    assert fields[:8] == ["name", "industry", "fuel", "emis.VOCs", "emis.NH3N", "项目所", "candidate_", "candidat_1"]
    assert fields[-8:] == ["verdict", "verdict_zh", "units", "red_line", "blocking", "missing", "n_findings", "error"]
    back = pyogrio.read_dataframe(out)
    ref = grid_pack.screen_many(frame, DEFAULT)
    assert list(back["name"]) == list(frame["name"])  # Chinese text as written
    assert list(back["项目所"]) == ["吴兴区织里镇"] * len(frame)
    for c in ("verdict_zh", "blocking", "missing", "error"):
        assert list(back[c].fillna("")) == list(ref[c].fillna("")), c
    assert back.crs.equals(frame.crs)
    long = back["备注"][0]
    assert long.endswith("…") and len(long.encode("utf-8")) <= 254 and long[:-1] == "长" * len(long[:-1])
    # the mapping, on stderr and in the sidecar
    assert "项目所在乡镇街道 → 项目所" in result.stderr and "emissions.VOCs → emis.VOCs" in result.stderr and "out.fields.csv" in result.stderr
    assert "1 个 备注 单元格超过 254 字节" in result.stderr
    with open(tmp_path / "out.fields.csv", encoding="utf-8-sig", newline="") as fh:
        side = list(csv.reader(fh))
    assert side[0] == ["字段 field", "原列名 column"]
    assert ["emis.VOCs", "emissions.VOCs"] in side and ["项目所", "项目所在乡镇街道"] in side and ["candidat_1", "candidate_batch_id"] in side
    assert ["name", "name"] not in side
    # zoning batch reads its own Shapefile back: emis.VOCs is emissions.VOCs again, the verdicts are the same
    again = tmp_path / "again.parquet"
    keep = tmp_path / "keep"
    keep.mkdir()
    inputs = frame.drop(columns=["备注"]).rename(columns=shapefile_names(frame.columns.drop(["geometry", "备注"])))
    inputs.to_file(keep / "in.shp", engine="pyogrio", encoding="UTF-8")
    result = run("batch", keep / "in.shp", "--pack", GRID, "--project", project_file, "-o", again)
    assert result.exit_code == 0, result.output
    got = gpd.read_parquet(again)
    assert list(got["verdict"]) == list(ref["verdict"]) and list(got["missing"]) == list(ref["missing"])


def test_batch_shapefile_refuses_mixed_geometry_and_keeps_the_old_out(tmp_path, project_file):
    frame = sites_frame().iloc[:3].copy()
    frame.loc[len(frame)] = ["多边形", "1712", None, None, None, "x", 1, "B", box(1100, 600, 1200, 700)]
    src = tmp_path / "sites.gpkg"
    frame.to_file(src, engine="pyogrio")
    out = tmp_path / "out.shp"
    (tmp_path / "out.shp").write_bytes(b"old")
    (tmp_path / "out.dbf").write_bytes(b"old")
    result = run("batch", src, "--pack", GRID, "--project", project_file, "-o", out)
    assert result.exit_code == 2, result.output
    assert "a Shapefile holds one kind of geometry, and these rows have points and polygons; write OUT.gpkg" in result.stderr
    assert (tmp_path / "out.shp").read_bytes() == b"old" and (tmp_path / "out.dbf").read_bytes() == b"old"
    assert not list(tmp_path.glob(".out*"))
    # chunk by chunk: the polygon comes in the second chunk
    result = run("batch", src, "--pack", GRID, "--project", project_file, "-o", out, "--chunk-size", "3")
    assert result.exit_code == 2 and "the first rows are points, later ones polygons" in result.stderr
    assert (tmp_path / "out.shp").read_bytes() == b"old" and not list(tmp_path.glob(".out*"))


def test_batch_shapefile_replaces_every_part_of_an_old_out(tmp_path, project_file):
    frame = sites_frame()[["name", "industry", "geometry"]]
    src = tmp_path / "sites.gpkg"
    frame.to_file(src, engine="pyogrio")
    out = tmp_path / "out.shp"
    for suffix in (".shp", ".shx", ".dbf", ".qix", ".fields.csv"):
        (tmp_path / f"out{suffix}").write_bytes(b"stale")
    result = run("batch", src, "--pack", GRID, "--project", project_file, "-o", out)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "out.qix").exists()  # a stale spatial index would mislead QGIS
    assert not (tmp_path / "out.fields.csv").exists()  # nothing was renamed this time
    assert "renamed" not in result.stderr
    assert len(pyogrio.read_dataframe(out)) == len(frame)


# -- Shapefile polygons (eligibility) -------------------------------------------------------


def test_eligibility_shapefile(tmp_path, grid_pack):
    elig = grid_pack.eligibility({"industry": "2614", "construction": "new"})
    out = tmp_path / "where.shp"
    notes = write_polygons(elig.frame, out)
    assert notes == []
    assert (tmp_path / "where.cpg").read_text() == "UTF-8"
    back = pyogrio.read_dataframe(out)
    assert list(back.columns) == list(elig.frame.columns)
    assert set(back["verdict_zh"]) == {{"prohibited": "禁止准入", "needs_information": "待补充信息", "conditional": "有条件准入", "permitted": "允许准入"}[v] for v in elig.frame["verdict"]}
    assert np.allclose(back["area_m2"], elig.frame["area_m2"])
    assert back.crs.equals(elig.frame.crs)
    # long text cut at a character boundary, with a warning
    frame = elig.frame.copy()
    frame["blocking"] = "条款" * 200
    notes = write_polygons(frame, out)
    assert len(notes) == 1 and "cells of blocking longer than a Shapefile's 254 bytes were cut" in notes[0]
    cut = pyogrio.read_dataframe(out)["blocking"][0]
    assert cut.endswith("…") and len(cut.encode("utf-8")) <= 254
    result = CliRunner().invoke(main, ["eligible", "--pack", str(GRID), "--industry", "2614", "--construction", "new", "-o", str(tmp_path / "cli.shp")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli.cpg").read_text() == "UTF-8" and len(pyogrio.read_dataframe(tmp_path / "cli.shp")) == len(elig.frame)
