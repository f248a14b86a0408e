"""Boundary files as surveyors write them (issue 13): nested rings, loose headers, stated
areas, bare point lists, boundary-point tables, KML folders, GBK shapefiles without .cpg.

Expected areas are worked out here from the rectangles the fixtures were made of
(``tests/data/sites/make_boundary_files.py``; the README lists them) with shapely on the
GK plane and pyproj for lon/lat — never copied from the reader's output.
"""

import json
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Transformer

from zoning import load_pack
from zoning.cli import main as cli
from zoning.errors import CRSError, SiteError
from zoning.site import read_site, read_site_bytes

DATA = Path(__file__).parent / "data" / "sites"
E0, N0 = 495000.0, 3380000.0
TO_4549 = Transformer.from_crs(4490, 4549, always_xy=True)
FROM_4549 = Transformer.from_crs(4549, 4490, always_xy=True)
HUZHOU = (119.2383, 30.375718, 120.495484, 31.182732)  # the demo pack's extent


def gk(geom):
    """A lon/lat geometry on CGCS2000 3° GK CM 120°E (EPSG:4549)."""
    return shapely.transform(geom, lambda xy: np.column_stack(TO_4549.transform(xy[:, 0], xy[:, 1])))


def rect(e0, n0, e1, n1):
    return shapely.box(E0 + e0, N0 + n0, E0 + e1, N0 + n1)


def even_odd(*rings):
    """The even-odd area shape of rings (shapely), independent of the reader."""
    out = rings[0]
    for r in rings[1:]:
        out = out.symmetric_difference(r)
    return out


# The parcels of jzd_nested_five_parcels_gb18030_cr.txt, as the surveyor meant them.
DK01 = even_odd(
    rect(0, 0, 20, 20), rect(40, 0, 60, 20), rect(0, 100, 300, 300),
    rect(50, 140, 250, 260), rect(70, 160, 100, 190), rect(200, 200, 230, 230),
)
DK02 = even_odd(rect(400, 0, 500, 50), rect(520, 0, 560, 50))
FID0 = rect(600, 0, 700, 100)
DK04 = even_odd(rect(0, 400, 200, 500), rect(50, 420, 100, 470))
DK05 = rect(300, 400, 400, 500)
FIVE = DATA / "jzd_nested_five_parcels_gb18030_cr.txt"


def _file(tmp_path, text, name="jzd.txt", encoding="utf-8", newline="\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def _jzd(*parcels, crs_lines=("坐标系=2000国家大地坐标系", "几度分带=3", "带号=40")):
    """A 界址点 text: parcels are (header, [(ring number, shapely ring polygon in GK), ...])."""
    lines = ["[属性描述]", *crs_lines, "[地块坐标]"]
    k = 1
    for header, rings in parcels:
        rows = []
        for number, poly in rings:
            for e, n in poly.exterior.coords:
                rows.append(f"J{k},{number},{n:.3f},{40_000_000 + e:.3f}")
                k += 1
        lines.append(header.format(n=len(rows)))
        lines += rows
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------ 1. nested rings


def test_five_parcels_nested_rings_by_containment():
    site = read_site(FIVE)
    assert site.source == f"{FIVE.name} (界址点 TXT, 5 parcels)"
    assert site.source_crs == "EPSG:4528"
    expected = shapely.union_all([DK01, DK02, FID0, DK04, DK05])
    assert DK01.area == 400 + 400 + 60000 - 24000 + 900 + 900
    got = gk(site.geometry)
    assert got.area == pytest.approx(expected.area, abs=0.01)
    assert got.symmetric_difference(expected).area < 0.01
    assert site.geometry.geom_type == "MultiPolygon"
    # DK01: 2 small parts + the outer ring with its hole + 2 islands = 5 polygons; DK02: 2;
    # FID_0, DK04 (with its hole) and DK05: 1 each.
    assert len(site.geometry.geoms) == 10
    assert sum(len(p.interiors) for p in site.geometry.geoms) == 2
    assert f"{FIVE.name}: parcel DK01 is read by containment: 3 outer rings (1, 2, 3), 1 hole (4), 2 islands inside holes (5, 6)" in site.warnings
    assert f"{FIVE.name}: parcel DK02 is read by containment: 2 outer rings (1, 2)" in site.warnings


def test_ring_numbers_do_not_decide(tmp_path):
    # The same rings of DK01 numbered the other way round: islands first, outer ring last.
    rings = [rect(70, 160, 100, 190), rect(200, 200, 230, 230), rect(50, 140, 250, 260),
             rect(0, 100, 300, 300), rect(40, 0, 60, 20), rect(0, 0, 20, 20)]
    text = _jzd(("{n},3.86,DK01,一期,面,,,,@", list(enumerate(rings, 1))))
    site = read_site(_file(tmp_path, text, newline="\r\n"))
    assert gk(site.geometry).symmetric_difference(DK01).area < 0.01
    assert site.stated_areas[0]["agrees"] is True


def test_orientation_of_the_parcels():
    from zoning.jzd import read_boundary_points

    found = read_boundary_points(FIVE.read_bytes().decode("gb18030"), FIVE.name)
    for part in (p for g in found.geoms for p in getattr(g, "geoms", [g])):
        assert part.exterior.is_ccw
        assert all(not ring.is_ccw for ring in part.interiors)


def test_crossing_rings_are_refused_naming_parcel_and_rings():
    with pytest.raises(SiteError, match=(
        r"^jzd_crossing_rings_utf8_crlf\.txt: ring 1 \(line 14\) and ring 2 \(line 19\) of parcel DK09 "
        r"cross near X=3380050\.000, Y=40495100\.000; the rings of a parcel may lie apart or one inside "
        r"another \(holes, islands in holes\) but must not cross — fix the boundary, or read it repaired with --repair \(repair=True in Python\)$"
    )):
        read_site(DATA / "jzd_crossing_rings_utf8_crlf.txt")


def test_crossing_rings_with_repair_are_read_even_odd():
    site = read_site(DATA / "jzd_crossing_rings_utf8_crlf.txt", repair=True)
    expected = even_odd(rect(0, 0, 100, 100), rect(50, 50, 150, 150))
    assert gk(site.geometry).area == pytest.approx(expected.area, abs=0.01) == pytest.approx(15000, abs=0.01)
    assert "read by the even-odd rule (repair)" in site.warnings[0]


def test_self_intersecting_ring_is_refused(tmp_path):
    bowtie = shapely.Polygon([(E0, N0), (E0 + 100, N0 + 100), (E0 + 100, N0), (E0, N0 + 100), (E0, N0)])
    text = _jzd(("{n},,DK07,蝴蝶,面,,,,@", [(1, bowtie)]))
    with pytest.raises(SiteError, match=r"^jzd\.txt line 7: ring 1 of parcel DK07 is not a simple ring: self-intersection at X=3380050\.000, Y=40495050\.000; fix the boundary, or read it repaired with --repair \(repair=True in Python\)$"):
        read_site(_file(tmp_path, text))


def test_hole_touching_its_shell_along_an_edge(tmp_path):
    outer, hole = rect(0, 0, 100, 100), rect(0, 20, 40, 60)  # the hole shares part of the west edge
    site = read_site(_file(tmp_path, _jzd(("{n},0.84,DK08,,面,,,,@", [(1, outer), (2, hole)]))))
    assert gk(site.geometry).area == pytest.approx(10000 - 1600, abs=0.01)
    assert site.stated_areas[0]["agrees"] is True


def test_duplicate_ring_is_refused(tmp_path):
    r = rect(0, 0, 100, 100)
    with pytest.raises(SiteError, match=r"^jzd\.txt line 12: ring 2 of parcel DK10 repeats ring 1 \(line 7\); remove the duplicate ring$"):
        read_site(_file(tmp_path, _jzd(("{n},,DK10,重复,面,,,,@", [(1, r), (2, r)]))))


def test_closed_sequences_under_one_ring_number_are_separate_rings(tmp_path):
    # ring 1 written twice over: outer, then (after closing) a hole, both numbered 1
    text = _jzd(("{n},0.75,DK11,,面,,,,@", [(1, rect(0, 0, 100, 100)), (1, rect(25, 25, 75, 75))]))
    site = read_site(_file(tmp_path, text))
    assert gk(site.geometry).area == pytest.approx(7500, abs=0.01)


# ------------------------------------------------------------ 2. loose headers


def test_placeholder_header_fields_are_warnings():
    site = read_site(FIVE)
    assert f"{FIVE.name} line 54: 面积 'DKMC' of parcel FID_0 is not a number; its area is not checked" in site.warnings
    assert f"{FIVE.name}: parcel FID_0 (line 54) has no 地块名称" in site.warnings
    assert site.project == {"name": "湖州某园区一期"}


def test_template_header_line_and_odd_shape_field(tmp_path):
    text = _jzd(("{n},1,DK12,名称,多边形,,,,@", [(1, rect(0, 0, 100, 100))]))
    text = text.replace("[地块坐标]\n", "[地块坐标]\n点数,面积,地块编号,地块名称,图形属性,图幅号,地块用途,地类编码,@\n")
    site = read_site(_file(tmp_path, text))
    assert gk(site.geometry).area == pytest.approx(10000, abs=0.01)
    assert site.warnings == ("jzd.txt line 7: 图形属性 '多边形' is not one of 点, 线, 面; read as 面 (a polygon)",)


def test_missing_names_are_one_warning(tmp_path):
    text = _jzd(("{n},,A1,,面,,,,@", [(1, rect(0, 0, 10, 10))]), ("{n},,A2,,面,,,,@", [(1, rect(20, 0, 30, 10))]))
    site = read_site(_file(tmp_path, text))
    assert site.warnings[0] == "jzd.txt: parcels A1 (line 6), A2 (line 12) have no 地块名称"


# ------------------------------------------------------------ 3. stated areas


def test_stated_areas_in_ha_and_m2_and_a_mismatch():
    site = read_site(FIVE)
    by = {a["parcel"]: a for a in site.stated_areas}
    assert set(by) == {"DK01", "DK02", "DK04", "DK05"}  # FID_0 states none
    assert by["DK01"] == {
        "parcel": "DK01", "name": "湖州某园区一期", "stated_area": 3.86, "stated_unit": "ha",
        "stated_area_m2": 38600.0, "area_m2": pytest.approx(DK01.area, abs=0.01), "area_crs": "EPSG:4528",
        "agrees": True,
    }
    assert (by["DK02"]["stated_unit"], by["DK02"]["agrees"]) == ("m2", True)
    assert by["DK02"]["area_m2"] == pytest.approx(DK02.area)
    assert (by["DK04"]["stated_unit"], by["DK04"]["agrees"]) == ("ha", True)
    assert by["DK04"]["area_m2"] == pytest.approx(DK04.area)
    assert (by["DK05"]["stated_unit"], by["DK05"]["agrees"], by["DK05"]["stated_area_m2"]) == ("ha", False, 12000.0)
    assert (
        f"{FIVE.name}: parcel DK05 states 面积 1.2, but its rings enclose 10,000.0 m² (1.0000 公顷) on EPSG:4528: "
        "neither m² nor 公顷 within 0.1%; check the zone, the axis order and that no ring is missing"
    ) in site.warnings


@pytest.mark.parametrize("stated, agrees", [("10000", True), ("1.0000", True), ("10009.9", True), ("10010.1", False), ("0.998", False)])
def test_stated_area_tolerance_is_a_tenth_of_a_percent(tmp_path, stated, agrees):
    site = read_site(_file(tmp_path, _jzd((f"{{n}},{stated},DK13,名,面,,,,@", [(1, rect(0, 0, 100, 100))]))))
    assert site.stated_areas[0]["agrees"] is agrees
    assert any("neither m² nor 公顷" in w for w in site.warnings) is (not agrees)


def test_a_missing_hole_is_caught_by_the_stated_area(tmp_path):
    # DK04 states 1.75 ha; drop its hole and the check fails
    text = _jzd(("{n},1.7500,DK04,二期,面,,,,@", [(1, rect(0, 400, 200, 500))]))
    site = read_site(_file(tmp_path, text))
    assert site.stated_areas[0]["agrees"] is False


def test_verdict_site_block_reports_the_stated_area():
    pack = load_pack()
    v = pack.screen(FIVE, {"industry": "6550", "construction": "new"})
    site = v["site"]
    assert site["stated_area_m2"] == pytest.approx(38600 + 7000 + 17500 + 12000)
    assert [p["parcel"] for p in site["parcels"]] == ["DK01", "DK02", "DK04", "DK05"]
    assert site["area_m2"] == pytest.approx(DK01.area + DK02.area + FID0.area + DK04.area + DK05.area, abs=0.05)
    assert "申报面积 Stated area: 75,100.0 m² — does not agree 不符 (see warnings)" in v.to_text()
    # a site without stated areas has no such keys
    assert "stated_area_m2" not in pack.screen("119.95,30.55", {"industry": "6550"})["site"]


# ------------------------------------------------------------ 4. bare point lists


def test_bare_list_without_crs_lists_the_fitting_zones():
    with pytest.raises(CRSError, match=(
        r"^points_bare_utf8_lf\.txt has no CRS: a bare point list \(点号,X,Y\) whose eastings carry no zone "
        r"prefix; pass --crs with the survey's zone: of the CGCS2000 3° zones \(false easting 500 000 m\), "
        r"any of EPSG:4534–4554 \(CM 75°E–135°E\) puts these points in China, e\.g\. --crs EPSG:4549"
    )):
        read_site(DATA / "points_bare_utf8_lf.txt")
    with pytest.raises(CRSError, match=(
        r"only --crs EPSG:4549 \(CM 120°E\) puts these points in the pack's region "
        r"\(119\.24–120\.50°E, 30\.38–31\.18°N\), at 119\.95\d\d°E, 30\.54\d\d°N"
    )):
        read_site(DATA / "points_bare_utf8_lf.txt", region=HUZHOU)


def test_bare_list_outside_the_region_names_the_nearest_zone():
    with pytest.raises(CRSError, match=r"none puts these points in the pack's region .*; the nearest is --crs EPSG:4548 \(CM 117°E\)"):
        read_site(DATA / "points_bare_utf8_lf.txt", region=(118.0, 30.0, 118.5, 31.0))


def test_bare_list_with_crs_one_polygon_per_closed_sequence():
    site = read_site(DATA / "points_bare_utf8_lf.txt", crs="EPSG:4549")
    assert site.source == "points_bare_utf8_lf.txt (point list, 1 parcel)"
    assert site.geometry.geom_type == "MultiPolygon" and len(site.geometry.geoms) == 2
    expected = shapely.union_all([rect(1000, 0, 1100, 80), rect(1200, 0, 1250, 40)])
    assert gk(site.geometry).symmetric_difference(expected).area < 0.01


def test_bare_list_swapped_columns_tabs_and_column_names():
    site = read_site(DATA / "points_bare_swapped_gb18030_crlf.txt", crs="EPSG:4549")
    assert site.warnings == ("points_bare_swapped_gb18030_crlf.txt: the X column holds eastings and Y northings; read them swapped",)
    assert gk(site.geometry).area == pytest.approx(rect(1300, 0, 1400, 100).area, abs=0.01)


def test_bare_list_with_zone_prefix_needs_no_crs(tmp_path):
    rows = [f"P{i},{n:.3f},{40_000_000 + e:.3f}" for i, (e, n) in enumerate(rect(0, 0, 50, 50).exterior.coords)]
    site = read_site(_file(tmp_path, "\n".join(rows), name="pts.txt"))
    assert site.source_crs == "EPSG:4528"
    assert site.warnings == ("pts.txt is a bare point list with no CRS; assumed 2000国家大地坐标系 (CGCS2000)",)


def test_cli_bare_list_without_crs_exits_2_naming_the_zone():
    result = CliRunner().invoke(cli, ["screen", str(DATA / "points_bare_utf8_lf.txt"), "--industry", "6550"])
    assert result.exit_code == 2
    assert "only --crs EPSG:4549 (CM 120°E) puts these points in the pack's region" in result.output
    assert "Traceback" not in result.output
    ok = CliRunner().invoke(cli, ["screen", str(DATA / "points_bare_utf8_lf.txt"), "--crs", "EPSG:4549", "--industry", "6550", "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["site"]["area_m2"] == pytest.approx(10000, abs=0.05)


def test_upload_of_a_bare_list_reads_like_the_file():
    data = (DATA / "points_bare_utf8_lf.txt").read_bytes()
    site = read_site_bytes(data, "points.txt", crs="EPSG:4549")
    assert gk(site.geometry).area == pytest.approx(10000, abs=0.01)
    with pytest.raises(CRSError, match="pack's region"):
        read_site_bytes(data, "points.txt", region=HUZHOU)


# ------------------------------------------------------------ 5. tables, KML, shapefiles


def test_csv_boundary_point_table_gb18030():
    site = read_site(DATA / "boundary_points_gb18030_crlf.csv")
    assert site.source == "boundary_points_gb18030_crlf.csv (boundary-point table, 2 parcels)"
    assert site.source_crs == "EPSG:4528"
    expected = shapely.union_all([even_odd(rect(0, 600, 100, 700), rect(25, 625, 75, 675)), rect(200, 600, 260, 650)])
    assert gk(site.geometry).symmetric_difference(expected).area < 0.01
    assert [(a["parcel"], a["stated_unit"], a["agrees"]) for a in site.stated_areas] == [("A", "ha", True), ("B", "m2", True)]


def test_xlsx_lonlat_table(tmp_path):
    import openpyxl

    lonlat = [(119.95, 30.55), (119.952, 30.55), (119.952, 30.552), (119.95, 30.552)]
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["地块编号", "点号", "经度", "纬度"])
    for i, (lon, lat) in enumerate(lonlat, 1):
        ws.append(["X1", f"J{i}", lon, lat])
    book.save(tmp_path / "pts.xlsx")
    site = read_site(tmp_path / "pts.xlsx")
    assert site.source_crs == "EPSG:4326"
    assert gk(site.geometry).area == pytest.approx(gk(shapely.Polygon(lonlat)).area, rel=1e-9)


def test_table_refusals(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("点号,X,Y\nJ1,3396000,438000\nJ2,3396000,abc\n", encoding="utf-8")
    with pytest.raises(SiteError, match=r"^t\.csv row 2: X='3396000', Y='abc' are not two numbers; expected one boundary point per row$"):
        read_site(path)
    path.write_text("点号,X,Y\nJ1,3396000,438000\nJ2,3396000,438100\nJ3,3396100,438100\n", encoding="utf-8")
    with pytest.raises(CRSError, match=r"^t\.csv has no CRS: X/Y in metres whose eastings carry no zone prefix; pass --crs"):
        read_site(path)
    assert gk(read_site(path, crs="EPSG:4549").geometry).area == pytest.approx(5000, abs=0.01)
    path.write_text("name,industry\na,2614\n", encoding="utf-8")
    with pytest.raises(SiteError, match=r"^t\.csv has no coordinate columns; expected a table of boundary points"):
        read_site(path)


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>项目</name>
<Placemark><name>标注</name><Point><coordinates>119.951,30.551,0</coordinates></Point></Placemark>
<Folder><name>一期</name><Folder><name>地块</name><Folder><name>红线</name>
 <Placemark><name>地块A</name><Polygon><altitudeMode>absolute</altitudeMode>
  <outerBoundaryIs><LinearRing><coordinates>
   119.95,30.55,12.5 119.952,30.55,12.5 119.952,30.552,13.0 119.95,30.552,13.0 119.95,30.55,12.5
  </coordinates></LinearRing></outerBoundaryIs>
  <innerBoundaryIs><LinearRing><coordinates>
   119.9505,30.5505,12 119.9505,30.5515,12 119.9515,30.5515,12 119.9515,30.5505,12 119.9505,30.5505,12
  </coordinates></LinearRing></innerBoundaryIs></Polygon></Placemark>
</Folder></Folder></Folder>
<Folder><name>二期</name>
 <Placemark><name>地块B</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
  119.96,30.55,5 119.961,30.55,5 119.961,30.551,5 119.96,30.551,5 119.96,30.55,5
 </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
</Folder></Document></kml>
"""


def test_kml_nested_folders_altitude_and_a_pin(tmp_path):
    path = tmp_path / "site.kml"
    path.write_text(KML, encoding="utf-8")
    site = read_site(path)
    a = shapely.Polygon(
        [(119.95, 30.55), (119.952, 30.55), (119.952, 30.552), (119.95, 30.552)],
        [[(119.9505, 30.5505), (119.9505, 30.5515), (119.9515, 30.5515), (119.9515, 30.5505)]],
    )
    b = shapely.box(119.96, 30.55, 119.961, 30.551)
    assert gk(site.geometry).area == pytest.approx(gk(a).area + gk(b).area, rel=1e-9)
    assert not site.geometry.has_z
    assert "site.kml: 1 point (pins, labels or paths beside the boundary) left out; the site is its 2 polygons" in site.warnings
    assert "Z coordinates dropped (the site is screened in 2-D)" in site.warnings


def _gbk_shapefile(tmp_path, name="parcel", encoding="GBK"):
    poly = shapely.transform(rect(0, 0, 200, 100), lambda xy: np.column_stack(FROM_4549.transform(xy[:, 0], xy[:, 1])))
    frame = gpd.GeoDataFrame({"name": ["湖州某化工项目"], "industry": ["2614"]}, geometry=[poly], crs=4490)
    pyogrio.write_dataframe(frame, tmp_path / f"{name}.shp", encoding=encoding)
    cpg = tmp_path / f"{name}.cpg"
    had = cpg.exists()
    cpg.unlink(missing_ok=True)
    return tmp_path / f"{name}.shp", had


def test_gbk_shapefile_without_cpg_is_detected(tmp_path):
    path, had_cpg = _gbk_shapefile(tmp_path)
    assert had_cpg  # GDAL wrote one; the test removed it, as many Chinese tools never write it
    raw = pyogrio.read_dataframe(path)
    assert raw["name"][0] != "湖州某化工项目"  # what GDAL alone makes of it
    site = read_site(path)
    assert site.project == {"name": "湖州某化工项目", "industry": "2614"}
    assert site.warnings == (
        "parcel.shp: parcel.dbf has no .cpg; its text is not UTF-8 but decodes as GB18030 (GBK) and was "
        "read so (pass encoding= if that is wrong)",
    )
    assert gk(site.geometry).area == pytest.approx(20000, abs=0.01)


def test_gbk_shapefile_zipped_without_cpg(tmp_path):
    path, _ = _gbk_shapefile(tmp_path)
    zpath = tmp_path / "upload.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for member in tmp_path.glob("parcel.*"):
            zf.write(member, f"data/{member.name}")
    site = read_site_bytes(zpath.read_bytes(), "upload.zip")
    assert site.project["name"] == "湖州某化工项目"
    assert "parcel.dbf has no .cpg; its text is not UTF-8 but decodes as GB18030 (GBK)" in site.warnings[0]


def test_utf8_shapefile_without_cpg_and_explicit_encoding(tmp_path):
    path, _ = _gbk_shapefile(tmp_path, encoding="UTF-8")
    site = read_site(path)
    assert site.project["name"] == "湖州某化工项目"
    assert site.warnings == ("parcel.shp: parcel.dbf has no .cpg; its text decodes as UTF-8 and was read so",)
    gbk, _ = _gbk_shapefile(tmp_path, name="other")
    assert read_site(gbk, encoding="GBK").warnings == ()


def test_shapefile_with_cpg_is_left_to_gdal(tmp_path):
    poly = shapely.box(119.95, 30.55, 119.952, 30.552)
    pyogrio.write_dataframe(gpd.GeoDataFrame({"name": ["湖州"]}, geometry=[poly], crs=4490), tmp_path / "c.shp", encoding="GBK")
    site = read_site(tmp_path / "c.shp")
    assert site.project == {"name": "湖州"}
    assert site.warnings == ()
