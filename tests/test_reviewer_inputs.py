"""Inputs a reviewer's day brings (issue 14): shapefile field names cut to 10 characters,
DXF drawings with a title-block frame on another CAD layer."""

import geopandas as gpd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Transformer

from zoning.cli import main
from zoning.errors import SiteError
from zoning.site import read_site

_TO_GK = Transformer.from_crs(4490, 4549, always_xy=True)
PARCEL = shapely.box(119.950, 30.550, 119.953, 30.5525)


def _gk(geom):
    return shapely.transform(geom, lambda xy: __import__("numpy").column_stack(_TO_GK.transform(xy[:, 0], xy[:, 1])))


@pytest.fixture
def truncated_shp(tmp_path):
    """A site shapefile written with project columns: the format cuts their names."""
    g = gpd.GeoDataFrame({"name": ["涂料项目"], "industry": ["2641"], "construction": ["new"], "groundwater": [0],
                          "emissions.VOCs": [3.0]}, geometry=[PARCEL], crs=4490)
    path = tmp_path / "site.shp"
    with pytest.warns(Warning):
        g.to_file(path, engine="pyogrio", encoding="UTF-8")
    assert {"constructi", "groundwate", "emissions."} <= set(pyogrio.read_info(path)["fields"])
    return path


def test_truncated_field_names_are_read_as_project_keys(truncated_shp):
    site = read_site(truncated_shp)
    assert site.project["construction"] == "new" and site.project["groundwater"] == 0
    assert "constructi" not in site.project and "emissions." not in site.project
    assert any("constructi → construction" in w for w in site.warnings)
    assert any("'emissions.'" in w and "pollutant it held is lost" in w for w in site.warnings)


def test_flags_and_project_file_override_the_file(truncated_shp, tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["screen", str(truncated_shp), "--format", "json"])
    assert res.exit_code == 0, res.output
    import json

    d = json.loads(res.stdout)
    assert d["project"]["construction"] == "new"
    assert "emissions.VOCs" in d["missing"]  # the cut emissions column is not guessed
    proj = tmp_path / "p.yaml"
    proj.write_text("construction: expansion\nemissions: {VOCs: 3.0}\n", encoding="utf-8")
    res = runner.invoke(main, ["screen", str(truncated_shp), "--project", str(proj), "--industry", "2614", "--format", "json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["project"]["construction"] == "expansion" and d["project"]["industry"] == ["2614"]
    assert d["project"]["emissions"] == {"VOCs": 3.0}


def test_batch_reads_truncated_columns(truncated_shp, tmp_path):
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(main, ["batch", str(truncated_shp), "-o", str(out)])
    assert res.exit_code == 0, res.output
    import pandas as pd

    row = pd.read_csv(out).iloc[0]
    single = read_site(truncated_shp)
    from zoning import load_pack

    v = load_pack().screen(single)
    assert row["verdict"] == v["verdict"]


def _dxf(path, entities):
    # ASCII layer names: GDAL writes DXF with the ANSI_1252 code page (Chinese CAD files
    # declare ANSI_936, which GDAL decodes).
    frame = gpd.GeoDataFrame({"Layer": [n for n, _ in entities]}, geometry=[g for _, g in entities], crs=None)
    pyogrio.write_dataframe(frame, path, driver="DXF", layer="entities")
    return path


@pytest.fixture
def drawing(tmp_path):
    site = _gk(PARCEL)
    frame = site.buffer(300, join_style="mitre").envelope  # the drawing's title-block frame
    return _dxf(tmp_path / "plan.dxf", [("SITE", shapely.LineString(site.exterior.coords)),
                                       ("FRAME", shapely.LineString(frame.exterior.coords)),
                                       ("TEXT", site.centroid)])


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_dxf_with_several_polygon_layers_is_refused_naming_them(drawing):
    with pytest.raises(SiteError, match=r"closed shapes on 2 CAD layers: 'FRAME' \(1 closed shape\), 'SITE' \(1 closed shape\); say which one is the site with plan.dxf::LAYER"):
        read_site(drawing, crs="EPSG:4549")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_dxf_layer_is_chosen_by_name(drawing):
    site = read_site(f"{drawing}::SITE", crs="EPSG:4549")
    area = _gk(site.geometry).area
    assert area == pytest.approx(_gk(PARCEL).area, rel=1e-6)
    assert "DXF layer 'SITE'" in site.source
    with pytest.raises(SiteError, match=r"no CAD layer 'x'; its layers are 'FRAME', 'SITE', 'TEXT'"):
        read_site(f"{drawing}::x", crs="EPSG:4549")
    res = CliRunner().invoke(main, ["screen", f"{drawing}::SITE", "--crs", "EPSG:4549", "--format", "json"])
    assert res.exit_code == 0, res.output


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_dxf_with_one_polygon_layer_needs_no_choice(tmp_path):
    site = _gk(PARCEL)
    path = _dxf(tmp_path / "one.dxf", [("SITE", shapely.LineString(site.exterior.coords)), ("TEXT", site.centroid)])
    got = read_site(path, crs="EPSG:4549")
    assert got.kind == "polygon"
    assert any("layers 'TEXT' left out" in w for w in got.warnings)


def test_encoding_flag_reads_a_gbk_shapefile_without_cpg(tmp_path):
    import json

    g = gpd.GeoDataFrame({"name": ["德清涂料项目"], "industry": ["2641"]}, geometry=[PARCEL], crs=4490)
    path = tmp_path / "gbk.shp"
    g.to_file(path, engine="pyogrio", encoding="GBK")
    (tmp_path / "gbk.cpg").unlink(missing_ok=True)
    res = CliRunner().invoke(main, ["screen", str(path), "--encoding", "GBK", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["project"]["name"] == "德清涂料项目"
    res = CliRunner().invoke(main, ["screen", str(path), "--format", "json"])  # detected without the flag
    assert json.loads(res.stdout)["project"]["name"] == "德清涂料项目"


@pytest.mark.parametrize("zh, en", [("新建", "new"), ("扩建", "expansion"), ("改建", "reconstruction"), ("迁建", "relocation"), ("新建项目", "new")])
def test_construction_in_chinese(zh, en):
    from zoning import parse_project

    assert parse_project({"construction": zh}).construction == en


def test_construction_flag_in_chinese():
    import json

    res = CliRunner().invoke(main, ["screen", "119.95,30.55", "--industry", "2614", "--construction", "迁建", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["project"]["construction"] == "relocation"


@pytest.mark.parametrize("typed, code", [("化工", "26"), ("医药", "27"), ("涂料制造", "2641"), ("电镀", "3360")])
def test_industry_typed_as_a_name_suggests_its_code(typed, code):
    from zoning import parse_project
    from zoning.errors import ProjectError

    with pytest.raises(ProjectError, match=rf"industry code '{typed}' is a name, not a GB/T 4754-2017 code; did you mean {code} \("):
        parse_project({"industry": typed})


def test_pandas_missing_values_are_not_given():
    """A DataFrame row's empty cells (pd.NA, NaN, NaT, None) mean "not given" everywhere (issue 11)."""
    import numpy as np
    import pandas as pd

    from zoning import load_pack, parse_project

    row = pd.DataFrame({"industry": ["2614"], "construction": ["new"], "water_m3": pd.array([pd.NA], dtype="Int64"),
                        "coal_t": [np.nan], "fuel": [None], "groundwater": pd.array([pd.NA], dtype="boolean"),
                        "activity": [pd.NA], "emissions": [pd.NA], "name": [pd.NaT]}).iloc[0].to_dict()
    p = parse_project(row)
    assert (p.water_m3, p.coal_t, p.fuel, p.groundwater, p.activity, p.emissions, p.name) == (None,) * 7
    v = load_pack().screen("119.95,30.55", row)
    assert "water_m3" in v["missing"] or v["verdict"] == "prohibited"
    assert parse_project({"emissions": {"VOCs": pd.NA, "NOx": 2.0}}).emissions == {"NOx": 2.0}
    assert parse_project({"fuel": ""}).fuel == ()  # blank text still means "burns nothing"


def _warnings_of(args):
    import json

    res = CliRunner().invoke(main, ["screen", *args, "--industry", "2614", "--construction", "new", "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["warnings"]


def test_a_point_near_a_deciding_boundary_warns_that_the_datum_decides():
    """Issue 14 (5): 119.335511,30.495094 lies a few hundred metres from a priority unit's edge:
    as WGS84 it is inside (ZJ-KJ-01 decides too), read as GCJ-02 it is not."""
    from zoning import load_pack
    from zoning.testing import verdict_outcome

    pack, project = load_pack(), {"industry": "2614", "construction": "new"}
    wgs = verdict_outcome(pack.screen("119.335511,30.495094", project))
    gcj = verdict_outcome(pack.screen("119.335511,30.495094", project, webmap="gcj02"))
    assert wgs != gcj
    warned = [w for w in _warnings_of(["119.335511,30.495094"]) if "depends on the datum" in w]
    assert len(warned) == 1 and "结论取决于坐标系" in warned[0] and gcj[1].split(";")[0] in warned[0]
    assert not any("datum" in w for w in _warnings_of(["119.335511,30.495094", "--gcj02"]))


def test_no_datum_warning_where_both_readings_agree():
    from zoning import load_pack
    from zoning.testing import verdict_outcome

    pack, project = load_pack(), {"industry": "2614", "construction": "new"}
    here = "119.95,30.55"
    assert verdict_outcome(pack.screen(here, project)) == verdict_outcome(pack.screen(here, project, webmap="gcj02"))
    assert not any("datum" in w for w in _warnings_of([here]))


def test_a_site_file_over_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    """Issue 12 (11): `zoning screen` read a 216 MB site file whole (5.3 GB); a site file is
    now limited (100 MiB by default, ZONING_MAX_SITE_BYTES)."""
    path = tmp_path / "big.geojson"
    path.write_text('{"type": "Point", "coordinates": [119.95, 30.55]}' + " " * 4096, encoding="utf-8")
    monkeypatch.setenv("ZONING_MAX_SITE_BYTES", "1024")
    with pytest.raises(SiteError, match=r"big.geojson is 0\.0 MiB; one site's file may be at most 0\.0 MiB \(set ZONING_MAX_SITE_BYTES"):
        read_site(path)
    res = CliRunner().invoke(main, ["screen", str(path), "--industry", "2614"])
    assert res.exit_code == 2 and "ZONING_MAX_SITE_BYTES" in res.stderr and "Traceback" not in res.output
    monkeypatch.setenv("ZONING_MAX_SITE_BYTES", "1000000")
    assert read_site(path).kind == "point"


def test_missing_offline_assets_tell_a_pip_user_what_to_do(tmp_path, monkeypatch):
    """Item 8: no "run make assets" alone — the message says what someone without the checkout does."""
    from zoning import assets

    monkeypatch.setattr(assets, "_candidates", lambda: iter([tmp_path]))
    with pytest.raises(assets.AssetsMissingError) as err:
        assets.assets_dir()
    message = str(err.value)
    assert "pip install zoning" in message and "ZONING_ASSETS=DIR" in message and "npm install --prefix DIR" in message
