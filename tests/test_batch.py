"""`zoning batch`: every input and output format, bad rows, bad input, --full, Dask.

Every test writes real files in real formats to tmp_path and runs the command through
click's CliRunner; the reference is `pack.screen_many` / `pack.screen` / `zoning screen`.
"""

import csv
import json
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from conftest import GRID, X0, Y0, box, gk
from zoning.cli import main
from zoning.resources import samples_dir
from zoning.verdict import deciding_findings

COMPARED = ["verdict", "verdict_zh", "units", "red_line", "blocking", "missing", "error"]
DEFAULT = {"construction": "new", "fuel": [], "water_m3": 0, "coal_t": 0, "emissions": {}}
PROJECT_YAML = "construction: new\nfuel: []\nwater_m3: 0\ncoal_t: 0\nemissions: {}\n"

# Points on the grid pack (metres from its origin, GK zone 40 = EPSG:4549) and their projects.
POINTS = [
    # x, y, name, industry, fuel, emissions.VOCs
    (150, 1500, "一般单元数据中心", "6550", None, None),
    (1500, 300, "禁燃区锅炉", "4430", "coal", None),
    (100, 100, "优先保护单元化工", "2614", None, "5"),
    (500, 500, "红线内项目", "6550", None, None),
    (1700, 1700, "粗分类行业", "26", None, None),
    (300, 1800, "水源区印染", "1712", None, "2.5"),
]


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def errline(result):
    return result.stderr.strip()


@pytest.fixture()
def project_file(tmp_path):
    p = tmp_path / "project.yaml"
    p.write_text(PROJECT_YAML, encoding="utf-8")
    return p


def points_frame():
    geoms = [gk(shapely.Point(x, y)) for x, y, *_ in POINTS]
    return gpd.GeoDataFrame(
        {
            "name": [p[2] for p in POINTS],
            "industry": [p[3] for p in POINTS],
            "fuel": [p[4] for p in POINTS],
        },
        geometry=geoms,
        crs="EPSG:4490",
    )


def reference(pack, frame, default=DEFAULT):
    return pack.screen_many(frame, default)


def _blank(v):
    return v is None or v == "" or (not isinstance(v, str) and pd.isna(v))


def assert_same_rows(out, ref, columns=COMPARED):
    """Row by row; '' and null are the same (a CSV cannot tell them apart)."""
    assert len(out) == len(ref)
    for c in columns:
        got = [None if _blank(v) else v for v in out[c]]
        want = [None if _blank(v) else v for v in ref[c]]
        assert got == want, c


def read_out(path):
    if path.suffix == ".parquet":
        return gpd.read_parquet(path)
    if path.suffix in (".gpkg", ".shp"):
        return gpd.read_file(path)
    if path.suffix == ".csv":
        return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False, na_values=[""])
    return pd.read_excel(path, sheet_name="rows", dtype=str)


# -- input formats -------------------------------------------------------------------------


def _write_vector(frame, path, driver):
    options = {"SPATIAL_INDEX": "NO"} if driver == "FlatGeobuf" else {}  # an index would reorder the rows
    frame.to_file(path, driver=driver, engine="pyogrio", **options)
    return path


def _zip_shapefile(frame, tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    frame.to_file(folder / "sites.shp", engine="pyogrio", encoding="UTF-8")
    out = tmp_path / "sites.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f"sites/{f.name}")
    return out


def _csv(tmp_path, header, rows, name="sites.csv", encoding="utf-8-sig"):
    path = tmp_path / name
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _lonlat_rows(frame):
    return [(g.x, g.y) for g in frame.geometry]


def make_input(kind, tmp_path):
    """Write the points in format ``kind``; return (path, extra CLI args)."""
    frame = points_frame()
    if kind == "gpkg":
        return _write_vector(frame, tmp_path / "sites.gpkg", "GPKG"), []
    if kind == "parquet":
        path = tmp_path / "sites.parquet"
        frame.to_crs(4549).to_parquet(path)  # a projected GeoParquet: its CRS comes from the geo metadata
        return path, []
    if kind == "shp":
        return _write_vector(frame, tmp_path / "sites.shp", "ESRI Shapefile"), []
    if kind == "zip":
        return _zip_shapefile(frame, tmp_path), []
    if kind == "geojson":
        return _write_vector(frame.to_crs(4326), tmp_path / "sites.geojson", "GeoJSON"), []
    if kind == "fgb":
        return _write_vector(frame, tmp_path / "sites.fgb", "FlatGeobuf"), []
    if kind == "kml":
        return _write_vector(frame.to_crs(4326), tmp_path / "sites.kml", "KML"), []
    lonlat = _lonlat_rows(frame)
    cells = [(p[2], p[3], p[4] or "") for p in POINTS]
    if kind == "csv-lonlat":
        rows = [(n, i, f, lon, lat) for (n, i, f), (lon, lat) in zip(cells, lonlat)]
        return _csv(tmp_path, ["name", "industry", "fuel", "LON", "Lat"], rows), []
    if kind == "csv-jingwei-gbk":
        rows = [(n, i, f, lon, lat) for (n, i, f), (lon, lat) in zip(cells, lonlat)]
        return _csv(tmp_path, ["name", "industry", "fuel", "经度", "纬度"], rows, encoding="gbk"), []
    if kind == "csv-xy":
        rows = [(n, i, f, X0 + x, Y0 + y) for (n, i, f), (x, y, *_) in zip(cells, POINTS)]
        return _csv(tmp_path, ["name", "industry", "fuel", "x", "y"], rows), ["--crs", "EPSG:4549"]
    if kind == "xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        ws = book.active
        ws.append(["name", "industry", "fuel", "lon", "lat"])
        for (n, i, f), (lon, lat) in zip(cells, lonlat):
            ws.append([n, int(i), f or None, lon, lat])  # industry typed as a number in Excel
        path = tmp_path / "sites.xlsx"
        book.save(path)
        return path, []
    raise AssertionError(kind)


INPUTS = ["gpkg", "parquet", "shp", "zip", "geojson", "fgb", "kml", "csv-lonlat", "csv-jingwei-gbk", "csv-xy", "xlsx"]


@pytest.mark.parametrize("kind", INPUTS)
def test_every_input_format(kind, tmp_path, grid_pack, project_file):
    src, extra = make_input(kind, tmp_path)
    out = tmp_path / "out.parquet"
    result = run("batch", src, "--pack", GRID, "--project", project_file, "-o", out, *extra)
    assert result.exit_code == 0, result.output
    got = gpd.read_parquet(out)
    ref = reference(grid_pack, points_frame())
    assert_same_rows(got, ref)
    assert got["error"].isna().all()
    assert set(got["verdict"]) >= {"prohibited", "permitted"}
    name_col = "Name" if kind == "kml" else "name"
    assert list(got[name_col]) == [p[2] for p in POINTS]  # Chinese text survives every format
    assert "6 rows screened" in result.stderr


def test_table_cells_stay_text(tmp_path, grid_pack, project_file):
    src, extra = make_input("xlsx", tmp_path)
    out = tmp_path / "out.gpkg"
    result = run("batch", src, "--pack", GRID, "--project", project_file, "-o", out)
    assert result.exit_code == 0, result.output
    got = gpd.read_file(out)
    assert list(got["industry"]) == [p[3] for p in POINTS]  # 2614, not 2614.0
    assert got["lon"].dtype.kind == "f"


def test_project_columns_and_defaults_from_a_csv(tmp_path, grid_pack):
    """Empty cells take --project's value; emissions as JSON text or emissions.VOCs columns."""
    p = [gk(shapely.Point(1600, 200)), gk(shapely.Point(1600, 250)), gk(shapely.Point(1600, 300)), gk(shapely.Point(1600, 350))]
    rows = [
        ("2614", "", '{"VOCs": 3}', "", p[0].x, p[0].y),
        ("", "expansion", "", "4", p[1].x, p[1].y),
        ("3360", "", "", "", p[2].x, p[2].y),
        ("2614", "", "", "", p[3].x, p[3].y),
    ]
    src = _csv(tmp_path, ["industry", "construction", "emissions", "emissions.VOCs", "lon", "lat"], rows)
    project = tmp_path / "p.yaml"
    project.write_text("industry: '3360'\nconstruction: new\nfuel: []\nwater_m3: 0\ncoal_t: 0\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run("batch", src, "--pack", GRID, "--project", project, "-o", out)
    assert result.exit_code == 0, result.output
    got = read_out(out)
    frame = gpd.GeoDataFrame(geometry=p, crs="EPSG:4326")
    defaults = {"industry": "3360", "construction": "new", "fuel": [], "water_m3": 0, "coal_t": 0}
    projects = [
        dict(defaults, industry="2614", emissions={"VOCs": 3}),
        dict(defaults, construction="expansion", emissions={"VOCs": 4}),
        dict(defaults),
        dict(defaults, industry="2614"),
    ]
    for i, proj in enumerate(projects):
        alone = grid_pack.screen(frame.geometry[i], proj)
        assert got.loc[i, "verdict"] == alone["verdict"], i
        assert (got.loc[i, "missing"] if isinstance(got.loc[i, "missing"], str) else "") == ";".join(alone["missing"]), i
    assert list(got["industry"].fillna("")) == ["2614", "", "3360", "2614"]  # input cells written back as given


# -- output formats ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gpkg", ".parquet", ".csv", ".xlsx", ".shp"])
def test_every_output_format(suffix, tmp_path, grid_pack, project_file):
    frame = points_frame()
    if suffix != ".shp":  # a Shapefile holds one kind of geometry (tests/test_batch_outputs.py)
        frame.loc[len(frame)] = ["多边形", "1712", None, box(1100, 600, 1200, 700)]
        frame.loc[len(frame)] = ["线", "6550", None, gk(shapely.LineString([(50, 1200), (900, 1300)]))]
    src = tmp_path / "sites.gpkg"
    frame.to_file(src, engine="pyogrio")
    out = tmp_path / f"out{suffix}"
    result = run("batch", src, "--pack", GRID, "--project", project_file, "-o", out)
    assert result.exit_code == 0, result.output
    got = read_out(out)
    ref = reference(grid_pack, frame)
    assert list(got.columns[:3]) == ["name", "industry", "fuel"]
    for c in ["verdict", "verdict_zh", "units", "red_line", "blocking", "missing", "n_findings", "error", "geometry"]:
        assert c in got.columns, c
    assert_same_rows(got, ref, ["verdict", "verdict_zh", "units", "blocking"])
    assert [int(v) for v in got["n_findings"]] == [int(v) for v in ref["n_findings"]]
    geoms = got.geometry.values if suffix in (".gpkg", ".parquet", ".shp") else shapely.from_wkt(got["geometry"].to_numpy(dtype=object))
    assert all(shapely.equals_exact(a, b, 1e-8) for a, b in zip(geoms, frame.geometry))
    if suffix in (".gpkg", ".parquet", ".shp"):
        assert got.crs.equals(frame.crs)
    if suffix == ".csv":
        assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    if suffix == ".xlsx":
        counts = pd.read_excel(out, sheet_name="counts").set_index("结论 verdict")["行数 count"]
        assert counts.to_dict() == {**{v: int((ref["verdict"] == v).sum()) for v in ["prohibited", "needs_information", "conditional", "permitted"]}, "error": 0, "total": len(frame)}
    if suffix == ".shp":
        assert (tmp_path / "out.cpg").read_text() == "UTF-8"
    assert not list(tmp_path.glob(".out*"))  # no temporary file left


# -- bad rows and bad input ----------------------------------------------------------------


def test_bad_rows_get_an_error_and_the_others_go_on(tmp_path, grid_pack, project_file):
    bowtie = gk(shapely.Polygon([(10, 10), (90, 90), (90, 10), (10, 90)]))
    frame = gpd.GeoDataFrame(
        {"industry": ["6550", "6550", "9999", "6550", "2614"]},
        geometry=[box(100, 1100, 200, 1200), bowtie, box(100, 1100, 200, 1200), box(5000, 5000, 5100, 5100), box(100, 100, 150, 150)],
        crs="EPSG:4490",
    )
    src = tmp_path / "sites.geojson"
    frame.to_crs(4326).to_file(src, engine="pyogrio")
    out = tmp_path / "out.gpkg"
    result = run("batch", src, "--pack", GRID, "--project", project_file, "-o", out)
    assert result.exit_code == 0, result.output
    got = gpd.read_file(out)
    assert got.loc[0, "verdict"] == "permitted" and pd.isna(got.loc[0, "error"])
    assert got.loc[1, "error"].startswith("invalid geometry")
    assert "'9999' is not in GB/T 4754-2017" in got.loc[2, "error"]
    assert "outside the pack's region" in got.loc[3, "error"]
    assert got.loc[4, "verdict"] == "prohibited"
    assert got["verdict"].isna().sum() == 3
    assert "3 of 5 rows could not be screened; see the error column" in result.stderr


def test_bad_coordinates_in_a_table_are_row_errors(tmp_path, project_file):
    p = gk(shapely.Point(150, 1500))
    src = _csv(tmp_path, ["industry", "lon", "lat"], [("6550", p.x, p.y), ("6550", "", p.y), ("6550", p.y, p.x), ("6550", "东经120", p.y)])
    out = tmp_path / "out.csv"
    result = run("batch", src, "--pack", GRID, "--project", project_file, "-o", out)
    assert result.exit_code == 0, result.output
    got = read_out(out)
    assert got.loc[0, "verdict"] == "permitted"
    assert got.loc[1, "error"].startswith("no coordinates: lon=(empty)")
    assert "are the columns swapped?" in got.loc[2, "error"]
    assert "lon='东经120'" in got.loc[3, "error"]


def _bad_csv(tmp_path):
    return _csv(tmp_path, ["name", "industry"], [("a", "2614")])


@pytest.mark.parametrize(
    "make, args, message",
    [
        (lambda t: t / "missing.gpkg", [], "sites file"),
        (_bad_csv, [], "has no geometry and no lon/lat columns; expected columns lon and lat"),
        (lambda t: _csv(t, ["x", "y"], [(500100, 3401500)]), [], "x/y columns; give their CRS with --crs"),
        (lambda t: _csv(t, ["lon", "lat"], [(120, 30.7)]), ["--gcj02", "--crs", "EPSG:4326"], "cannot be combined with --crs"),
        (lambda t: _csv(t, ["lon", "lat"], [(120, 30.7)]), ["--gcj02", "--bd09"], "at most one of --gcj02 and --bd09"),
        (lambda t: _csv(t, ["x", "y"], [(500100, 3401500)]), ["--crs", "EPSG:4549", "--gcj02"], "cannot be combined with --crs"),
        (lambda t: _csv(t, ["lon", "lat"], [(120, 30.7)]), ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
        (lambda t: _csv(t, ["lon", "lat"], [(120, 30.7)]), ["--crs", "EPSG:99999"], "unknown CRS"),
        (lambda t: _csv(t, ["lon", "lat"], [(120, 30.7)]), ["--chunk-size", "0"], "--chunk-size must be at least 1"),
        (lambda t: (t / "garbage.gpkg").write_bytes(b"not a geopackage") and t / "garbage.gpkg", [], "cannot read garbage.gpkg"),
        (lambda t: _csv(t, ["lon", "lat"], []), [], "has no rows"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(make, args, message, tmp_path):
    src = make(tmp_path)
    out = tmp_path / "out.gpkg"
    result = run("batch", src, "--pack", GRID, "-o", out, *args)
    assert result.exit_code == 2, result.output
    assert message in errline(result)
    assert len(errline(result).splitlines()) == 1
    assert "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_unknown_output_suffix_and_output_over_input(tmp_path):
    src = _csv(tmp_path, ["lon", "lat"], [(120, 30.7)])
    result = run("batch", src, "--pack", GRID, "-o", tmp_path / "out.kml")
    assert result.exit_code == 2
    assert "unknown output type '.kml'; expected OUT.gpkg, OUT.parquet, OUT.csv, OUT.xlsx or OUT.shp" in errline(result)
    result = run("batch", src, "--pack", GRID, "-o", src)
    assert result.exit_code == 2 and "is SITES itself" in errline(result)


def test_a_failed_run_leaves_an_existing_out_alone(tmp_path, project_file):
    """A CSV that breaks in its third chunk: OUT keeps its old content, no temporary file stays."""
    p = gk(shapely.Point(150, 1500))
    src = tmp_path / "sites.csv"
    lines = ["industry,lon,lat"] + [f"6550,{p.x},{p.y}"] * 4 + ['6550,"unclosed'] + [f"6550,{p.x},{p.y},extra,cells"] * 2
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    out.write_text("previous results\n", encoding="utf-8")
    result = run("batch", src, "--pack", GRID, "--project", project_file, "-o", out, "--chunk-size", "2")
    assert result.exit_code == 2, result.output
    assert "cannot read sites.csv as CSV" in errline(result)
    assert out.read_text(encoding="utf-8") == "previous results\n"
    assert not list(tmp_path.glob(".out*"))


# -- --full, the demo samples, chunks, GCJ-02 ----------------------------------------------


def test_full_jsonl_equals_screen_of_each_row(tmp_path, grid_pack, project_file):
    src, _ = make_input("gpkg", tmp_path)
    out, full = tmp_path / "out.parquet", tmp_path / "full.jsonl"
    result = run("batch", src, "--pack", GRID, "--project", project_file, "-o", out, "--full", full)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in full.read_text(encoding="utf-8").splitlines()]
    assert [d["row"] for d in lines] == list(range(len(POINTS)))
    frame = points_frame()
    for d in lines:
        i = d.pop("row")
        x, y, name, industry, fuel, _ = POINTS[i]
        project = dict(DEFAULT, name=name, industry=industry)
        if fuel:
            project["fuel"] = fuel
        alone = grid_pack.screen(frame.geometry[i], project).to_dict()
        d["site"].pop("source_crs"), alone["site"].pop("source_crs")
        assert d == alone, i


def test_demo_samples_equal_zoning_screen_row_by_row(tmp_path):
    src = samples_dir() / "demo_sites.geojson"
    out = tmp_path / "out.gpkg"
    result = run("batch", src, "-o", out)
    assert result.exit_code == 0, result.output
    got = gpd.read_file(out)
    features = json.loads(src.read_text(encoding="utf-8"))["features"]
    assert len(got) == len(features) == 10
    for i, feature in enumerate(features):
        one = tmp_path / f"site{i}.geojson"
        one.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False), encoding="utf-8")
        alone = run("screen", one, "--format", "json")
        assert alone.exit_code == 0, alone.output
        v = json.loads(alone.stdout)
        blocking = ";".join(dict.fromkeys(f["clause_id"] for f in deciding_findings(v["verdict"], v["findings"])))
        row = got.iloc[i]
        assert row["verdict"] == v["verdict"], feature["properties"]["demo_id"]
        assert (row["blocking"] or "") == blocking, feature["properties"]["demo_id"]
        assert (row["missing"] or "") == ";".join(v["missing"]), feature["properties"]["demo_id"]


def test_chunk_size_3_equals_one_chunk(tmp_path, project_file):
    rng = np.random.default_rng(3)
    geoms = [gk(shapely.Point(x, y)) for x, y in rng.uniform(0, 2000, (20, 2))] + [box(100, 100, 300, 300), box(900, 900, 1300, 1100)]
    frame = gpd.GeoDataFrame({"industry": rng.choice(["6550", "2614", "1712", "4430"], len(geoms))}, geometry=geoms, crs="EPSG:4490")
    src = _write_vector(frame, tmp_path / "sites.fgb", "FlatGeobuf")
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    fa, fb = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    ra = run("batch", src, "--pack", GRID, "--project", project_file, "-o", a, "--full", fa)
    rb = run("batch", src, "--pack", GRID, "--project", project_file, "-o", b, "--full", fb, "--chunk-size", "3")
    assert ra.exit_code == rb.exit_code == 0, (ra.output, rb.output)
    pd.testing.assert_frame_equal(gpd.read_parquet(a), gpd.read_parquet(b))
    assert fa.read_text(encoding="utf-8") == fb.read_text(encoding="utf-8")


def test_gcj02_converts_before_screening(tmp_path):
    """The demo's homestay was picked on AMap: conditional converted, prohibited if taken as WGS84."""
    from zoning import webmap

    feature = next(f for f in json.loads((samples_dir() / "demo_sites.geojson").read_text(encoding="utf-8"))["features"] if f["properties"].get("demo_coords") == "gcj02")
    lon, lat = feature["geometry"]["coordinates"]
    props = feature["properties"]
    header = ["name", "industry", "construction", "emissions", "fuel", "water_m3", "coal_t", "land_ha", "groundwater", "经度", "纬度"]
    row = [props["name"], props["industry"], props["construction"], json.dumps(props["emissions"]), ",".join(props["fuel"]), props["water_m3"], props["coal_t"], props["land_ha"], "false", lon, lat]
    src = _csv(tmp_path, header, [row])
    out, plain = tmp_path / "out.gpkg", tmp_path / "plain.gpkg"
    assert run("batch", src, "--gcj02", "-o", out).exit_code == 0
    assert run("batch", src, "-o", plain).exit_code == 0
    got, unconverted = gpd.read_file(out), gpd.read_file(plain)
    alone = json.loads(run("screen", f"{lon},{lat}", "--gcj02", "--project", _project(tmp_path, props), "--format", "json").stdout)
    assert got.loc[0, "verdict"] == alone["verdict"] == props["expected_verdict"] == "conditional"
    assert unconverted.loc[0, "verdict"] == "prohibited"
    assert got.crs.to_epsg() == 4490
    assert shapely.equals_exact(got.geometry[0], webmap.gcj02_to_wgs84(shapely.Point(lon, lat)), 1e-9)
    assert got.loc[0, "经度"] == pytest.approx(lon)  # the input columns stay as given


def _project(tmp_path, props):
    keys = ["name", "industry", "construction", "emissions", "fuel", "water_m3", "coal_t", "land_ha", "groundwater"]
    path = tmp_path / "homestay.json"
    path.write_text(json.dumps({k: props[k] for k in keys}, ensure_ascii=False), encoding="utf-8")
    return path


# -- Dask ----------------------------------------------------------------------------------


def test_two_dask_workers_equal_the_local_run(tmp_path, project_file):
    """A real LocalCluster of 2 worker processes; chunks of 4 rows; the same table and JSONL."""
    rng = np.random.default_rng(11)
    geoms = [gk(shapely.Point(x, y)) for x, y in rng.uniform(-100, 2100, (30, 2))]
    geoms += [box(x, y, x + 120, y + 80) for x, y in rng.uniform(0, 1800, (8, 2))]
    frame = gpd.GeoDataFrame({"industry": rng.choice(["6550", "2614", "1712", "4430", "26"], len(geoms)), "seq": np.arange(len(geoms))}, geometry=geoms, crs="EPSG:4490")
    src = tmp_path / "sites.parquet"
    frame.to_parquet(src)
    a, b, fa, fb = tmp_path / "local.parquet", tmp_path / "dask.parquet", tmp_path / "local.jsonl", tmp_path / "dask.jsonl"
    ra = run("batch", src, "--pack", GRID, "--project", project_file, "-o", a, "--full", fa)
    rb = run("batch", src, "--pack", GRID, "--project", project_file, "-o", b, "--full", fb, "--workers", "2", "--chunk-size", "4")
    assert ra.exit_code == 0, ra.output
    assert rb.exit_code == 0, rb.output
    local, dask = gpd.read_parquet(a), gpd.read_parquet(b)
    assert list(dask["seq"]) == list(range(len(frame)))  # input order restored after the Hilbert sort
    assert local["error"].notna().any()  # some points fall outside the region
    pd.testing.assert_frame_equal(local, dask)
    assert fa.read_text(encoding="utf-8") == fb.read_text(encoding="utf-8")
