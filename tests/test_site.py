"""Tests for zoning.site: every input form, every format, every refusal."""

import io
import json
import math
import re
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Transformer
from shapely.geometry import LineString, MultiPoint, Point, Polygon

from zoning.errors import CRSError, SiteError
from zoning.site import SITE_SUFFIXES, Site, gauss_kruger_epsg, read_site, read_site_bytes
from zoning.webmap import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_gcj02

DATA = Path(__file__).parent / "data" / "sites"

# A ~385 m × 333 m parcel in Wuxing district, Huzhou (EPSG:4490 lon/lat).
LON0, LAT0 = 120.05, 30.85
SQUARE = Polygon([(120.05, 30.85), (120.054, 30.85), (120.054, 30.853), (120.05, 30.853)])
TO_4549 = Transformer.from_crs(4490, 4549, always_xy=True)


def gk_area(geom):
    """Area in m² on CGCS2000 3° GK CM 120°E (EPSG:4549)."""
    return shapely.transform(geom, lambda xy: np.column_stack(TO_4549.transform(*xy.T))).area


def to_4549(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(TO_4549.transform(*xy.T)))


def same(a, b, tol=1e-9):
    """Equal geometries up to ``tol`` degrees, whatever the ring orientation or start."""
    return a.geom_type == b.geom_type and shapely.hausdorff_distance(a, b) <= tol


def frame(geoms, crs=4490, **columns):
    return gpd.GeoDataFrame(columns or None, geometry=list(geoms), crs=crs)


def feature(geometry, properties=None):
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def square_at(lon, lat, d=0.002):
    return Polygon([(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d)])


# ------------------------------------------------------------------ input forms


@pytest.mark.parametrize(
    "text", ["120.1,30.8", "120.1, 30.8", " 120.1 30.8 ", "120.1，30.8", "+120.1,+30.8"]
)
def test_lonlat_string(text):
    site = read_site(text)
    assert site.geometry.equals(Point(120.1, 30.8))
    assert site.kind == "point"
    assert site.source == "lon,lat"
    assert site.source_crs == "EPSG:4490"
    assert site.project is None
    assert site.warnings == ()


def test_lonlat_pair():
    assert read_site((120.1, 30.8)).geometry.equals(Point(120.1, 30.8))


def test_lonlat_string_in_projected_crs():
    site = read_site("438683.652,3396543.21", crs="EPSG:4549")
    lon, lat = Transformer.from_crs(4549, 4490, always_xy=True).transform(438683.652, 3396543.21)
    assert site.geometry.x == pytest.approx(lon, abs=1e-9)
    assert site.geometry.y == pytest.approx(lat, abs=1e-9)
    assert site.source_crs == "EPSG:4549"


def test_shapely_geometry_is_cgcs2000_by_default():
    site = read_site(SQUARE)
    assert site.geometry.equals(SQUARE)
    assert site.source == "shapely Polygon"
    assert site.source_crs == "EPSG:4490"
    assert site.kind == "polygon"


def test_shapely_geometry_with_crs():
    site = read_site(to_4549(SQUARE), crs="EPSG:4549")
    assert site.geometry.equals_exact(SQUARE, 1e-9)
    assert site.source_crs == "EPSG:4549"


def test_geojson_geometry_mapping():
    site = read_site(shapely.geometry.mapping(SQUARE))
    assert site.geometry.equals(SQUARE)
    assert site.source == "GeoJSON mapping (1 feature)"
    assert site.source_crs == "EPSG:4326"
    assert site.project is None


def test_geojson_feature_mapping_gives_project():
    props = {"name": "年产5万吨有机化工原料项目", "industry": "2614", "emissions": {"VOCs": 12.5}}
    site = read_site(feature(shapely.geometry.mapping(SQUARE), props))
    assert site.project == props
    assert site.project is not props  # a copy


def test_single_feature_collection_gives_project():
    site = read_site(collection(feature(shapely.geometry.mapping(SQUARE), {"name": "x"})))
    assert site.project == {"name": "x"}


def test_empty_properties_give_no_project():
    assert read_site(feature(shapely.geometry.mapping(SQUARE), {})).project is None


def test_geojson_mapping_with_old_crs_member():
    gk = to_4549(SQUARE)
    obj = feature(shapely.geometry.mapping(gk))
    obj["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}}
    site = read_site(obj)
    assert site.source_crs == "EPSG:4549"
    assert site.geometry.equals_exact(SQUARE, 1e-9)


def test_geojson_mapping_with_epsg_crs_member():
    obj = feature(shapely.geometry.mapping(to_4549(SQUARE)))
    obj["crs"] = {"type": "EPSG", "properties": {"code": 4549}}
    assert read_site(obj).geometry.equals_exact(SQUARE, 1e-9)


def test_geojson_text_and_bytes():
    text = json.dumps(feature(shapely.geometry.mapping(SQUARE), {"name": "x"}))
    for source in (text, text.encode("utf-8"), b"\xef\xbb\xbf" + text.encode("utf-8")):
        site = read_site(source)
        assert site.geometry.equals(SQUARE)
        assert site.project == {"name": "x"}


def test_stdin(monkeypatch):
    text = json.dumps(collection(feature(shapely.geometry.mapping(SQUARE), {"name": "piped"})))
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    site = read_site("-")
    assert site.geometry.equals(SQUARE)
    assert site.source == "stdin (GeoJSON, 1 feature)"
    assert site.project == {"name": "piped"}


def test_stdin_bytes_in_gb18030(monkeypatch):
    text = json.dumps(feature(shapely.geometry.mapping(SQUARE), {"name": "湖州"}), ensure_ascii=False)

    class Stdin(io.TextIOWrapper):
        def isatty(self):
            return False

    monkeypatch.setattr(sys, "stdin", Stdin(io.BytesIO(text.encode("gb18030")), encoding="ascii"))
    assert read_site("-").project == {"name": "湖州"}


def test_stdin_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal(""))
    with pytest.raises(SiteError, match=r"^'-' reads GeoJSON from stdin, but stdin is a terminal"):
        read_site("-")


def test_stdin_empty(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("  \n"))
    with pytest.raises(SiteError, match=r"^stdin is empty; expected GeoJSON text"):
        read_site("-")


def test_stdin_not_json(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("120.1,30.8"))
    with pytest.raises(SiteError, match=r"^stdin is not valid GeoJSON: .* at line 1 column \d+$"):
        read_site("-")


def test_geodataframe_uses_its_crs():
    gdf = frame([to_4549(SQUARE)], crs=4549, name=["厂区"], FID=[0])
    site = read_site(gdf)
    assert site.geometry.equals_exact(SQUARE, 1e-9)
    assert site.source == "GeoDataFrame (1 feature)"
    assert site.source_crs == "EPSG:4549"
    assert site.project == {"name": "厂区"}  # FID is bookkeeping


def test_geoseries():
    site = read_site(gpd.GeoSeries([SQUARE, square_at(120.1, 30.9)], crs=4326))
    assert site.geometry.geom_type == "MultiPolygon"
    assert site.source == "GeoSeries (2 geometries)"
    assert site.project is None


def test_geodataframe_without_crs():
    with pytest.raises(CRSError, match=r"^the GeoDataFrame has no CRS; pass --crs \(e\.g\. --crs EPSG:4549\)$"):
        read_site(frame([SQUARE], crs=None))
    assert read_site(frame([SQUARE], crs=None), crs="EPSG:4490").geometry.equals(SQUARE)


def test_unsupported_source_type():
    with pytest.raises(SiteError, match=r"^cannot read a site from a int; expected"):
        read_site(42)


def test_site_is_frozen():
    site = read_site("120.1,30.8")
    with pytest.raises(AttributeError):
        site.geometry = Point(0, 0)
    assert isinstance(site, Site)
    assert "kind='point'" in repr(site)


# ---------------------------------------------------------------------- files


def test_geojson_file_with_project():
    site = read_site(DATA / "site_huzhou_feature.geojson")
    assert site.source == "site_huzhou_feature.geojson (GeoJSON, 1 feature)"
    assert site.source_crs == "EPSG:4326"
    assert site.project["emissions"] == {"VOCs": 12.5, "SO2": 3.0}  # nested values kept
    assert site.geometry.equals(SQUARE)


def test_geojson_file_with_old_crs_member_in_epsg4549():
    site = read_site(str(DATA / "site_epsg4549_crs_member.geojson"))
    assert site.source_crs == "EPSG:4549"
    back = Transformer.from_crs(4549, 4490, always_xy=True)
    assert site.geometry.exterior.coords[0] == pytest.approx(
        back.transform(438683.652, 3396543.21), abs=1e-9
    )
    assert gk_area(site.geometry) == pytest.approx(200 * 105.215, rel=1e-9)


def test_geojson_file_crs_override_warns():
    site = read_site(DATA / "site_epsg4549_crs_member.geojson", crs="EPSG:4548")
    assert site.source_crs == "EPSG:4548"
    assert any("EPSG:4549 overridden by crs=EPSG:4548" in w for w in site.warnings)


def test_geojson_file_in_gk_without_crs_member_needs_crs(tmp_path):
    obj = feature(shapely.geometry.mapping(to_4549(SQUARE)))
    path = tmp_path / "gk.geojson"
    path.write_text(json.dumps(obj))
    with pytest.raises(
        CRSError,
        match=r"^gk.geojson: coordinates look projected \(e\.g\. [\d.]+, [\d.]+\) but GeoJSON "
        r"without a crs member \(RFC 7946\) is longitude/latitude; pass --crs \(e\.g\. --crs EPSG:4549\)$",
    ):
        read_site(path)
    assert read_site(path, crs="EPSG:4549").geometry.equals_exact(SQUARE, 1e-9)


@pytest.fixture
def parcels_4549():
    """Two parcels in Huzhou, in EPSG:4549, with a project-ish attribute."""
    return frame(
        [to_4549(SQUARE), to_4549(square_at(120.06, 30.86))],
        crs=4549,
        name=["一期", "二期"],
    )


def test_shapefile_with_prj(tmp_path, parcels_4549):
    path = tmp_path / "parcels.shp"
    pyogrio.write_dataframe(parcels_4549.iloc[:1], path)
    site = read_site(path)
    assert site.source == "parcels.shp (Shapefile, 1 feature)"
    assert site.source_crs == "EPSG:4549"
    assert same(site.geometry, SQUARE, 1e-8)
    assert site.project == {"name": "一期"}


def test_shapefile_without_prj(tmp_path, parcels_4549):
    path = tmp_path / "noprj.shp"
    pyogrio.write_dataframe(parcels_4549, path)
    (tmp_path / "noprj.prj").unlink()
    with pytest.raises(CRSError, match=r"^noprj.shp has no CRS; pass --crs \(e\.g\. --crs EPSG:4549\)$"):
        read_site(path)
    site = read_site(path, crs="EPSG:4549")
    assert site.geometry.geom_type == "MultiPolygon"
    assert site.warnings == ("2 features merged into one multi-part site",)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_shapefile_without_prj_in_prefixed_gk_suggests_zone(tmp_path):
    shifted = shapely.affinity.translate(to_4549(SQUARE), xoff=40_000_000)
    path = tmp_path / "zone40.shp"
    pyogrio.write_dataframe(frame([shifted], crs=None), path)
    with pytest.raises(CRSError, match=r"--crs EPSG:4528\)$"):
        read_site(path)
    assert same(read_site(path, crs="EPSG:4528").geometry, SQUARE, 1e-8)


def _zip(path, files, arcdir=""):
    with zipfile.ZipFile(path, "w") as zf:
        for f in files:
            zf.write(f, arcdir + f.name)
    return path


def _shapefile_parts(path):
    return sorted(path.parent.glob(path.stem + ".*"))


def test_zipped_shapefile(tmp_path, parcels_4549):
    shp = tmp_path / "site.shp"
    pyogrio.write_dataframe(parcels_4549, shp)
    zpath = _zip(tmp_path / "upload.zip", _shapefile_parts(shp), arcdir="地块/")
    site = read_site(zpath)
    assert site.source == "upload.zip (zipped Shapefile 地块/site.shp, 2 features)"
    assert site.source_crs == "EPSG:4549"
    assert site.geometry.geom_type == "MultiPolygon"
    assert gk_area(site.geometry) == pytest.approx(
        parcels_4549.area.sum(), rel=1e-9
    )


def test_zip_with_two_shapefiles(tmp_path, parcels_4549):
    a, b = tmp_path / "a.shp", tmp_path / "b.shp"
    pyogrio.write_dataframe(parcels_4549.iloc[:1], a)
    pyogrio.write_dataframe(parcels_4549.iloc[1:], b)
    zpath = _zip(tmp_path / "two.zip", _shapefile_parts(a) + _shapefile_parts(b))
    site = read_site(zpath)
    assert site.project == {"name": "一期"}
    assert "two.zip has 2 shapefiles (a.shp, b.shp); read the first" in site.warnings[0]
    assert read_site(f"{zpath}::b").project == {"name": "二期"}
    with pytest.raises(SiteError, match=r"^two.zip has no shapefile 'c'; it has 'a.shp', 'b.shp'$"):
        read_site(f"{zpath}::c")


def test_zip_without_shapefile(tmp_path):
    txt = tmp_path / "readme.txt"
    txt.write_text("nothing")
    zpath = _zip(tmp_path / "empty.zip", [txt])
    with pytest.raises(SiteError, match=r"^empty.zip contains no shapefile \(\.shp\); expected a zipped Shapefile"):
        read_site(zpath)


def test_not_a_zip(tmp_path):
    path = tmp_path / "fake.zip"
    path.write_bytes(b"PK not really")
    with pytest.raises(SiteError, match=r"^cannot read fake.zip: not a valid zip archive"):
        read_site(path)


def test_geopackage_layers(tmp_path, parcels_4549):
    path = tmp_path / "site.gpkg"
    pyogrio.write_dataframe(parcels_4549.iloc[:1].to_crs(4490), path, layer="一期")
    pyogrio.write_dataframe(parcels_4549.iloc[1:], path, layer="phase2")
    site = read_site(path)
    assert site.source == "site.gpkg (GeoPackage layer '一期', 1 feature)"
    assert site.source_crs == "EPSG:4490"
    assert site.geometry.equals_exact(SQUARE, 1e-8)
    assert site.warnings == (
        "site.gpkg has 2 layers (一期, phase2); read the first, '一期' (pick another with site.gpkg::LAYER)",
    )
    second = read_site(f"{path}::phase2")
    assert second.source_crs == "EPSG:4549"
    assert second.geometry.equals_exact(square_at(120.06, 30.86), 1e-8)
    assert second.warnings == ()
    with pytest.raises(SiteError, match=r"^site.gpkg has no layer 'nope'; its layers are '一期', 'phase2'$"):
        read_site(Path(f"{path}::nope"))


def test_corrupt_geopackage_is_a_site_error(tmp_path):
    path = tmp_path / "bad.gpkg"
    path.write_text("this is not a geopackage")
    with pytest.raises(SiteError, match=r"^cannot read bad.gpkg: .*not recognized"):
        read_site(path)


@pytest.mark.parametrize("suffix", [".kml", ".kmz"])
def test_kml_and_kmz(tmp_path, suffix):
    path = tmp_path / f"site{suffix}"
    gdf = frame([SQUARE], crs=4490, name=["厂区"])
    pyogrio.write_dataframe(gdf, path, driver="LIBKML")
    site = read_site(path)
    assert site.source == f"site{suffix} ({suffix[1:].upper()}, 1 feature)"
    assert site.source_crs == "EPSG:4326"
    assert site.geometry.equals_exact(SQUARE, 1e-9)
    assert site.project == {"name": "厂区"}  # KML bookkeeping fields dropped
    assert site.warnings == ()  # KML's Z=0 is not worth a warning


def test_flatgeobuf(tmp_path, parcels_4549):
    path = tmp_path / "site.fgb"
    pyogrio.write_dataframe(parcels_4549, path)
    site = read_site(path)
    assert site.source == "site.fgb (FlatGeobuf, 2 features)"
    assert site.source_crs == "EPSG:4549"


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_dxf_needs_crs(tmp_path):
    path = tmp_path / "boundary.dxf"
    gk = to_4549(SQUARE)
    outline = LineString(gk.exterior.coords)  # a closed polyline, as CAD draws a parcel
    label = Point(gk.centroid.coords[0])  # annotation text becomes a point
    pyogrio.write_dataframe(frame([outline, label], crs=None), path, driver="DXF", layer="entities")
    with pytest.raises(CRSError, match=r"^boundary.dxf has no CRS; pass --crs \(e\.g\. --crs EPSG:4549\)$"):
        read_site(path)
    site = read_site(path, crs="EPSG:4549")
    assert site.kind == "polygon"
    assert site.geometry.equals_exact(SQUARE, 1e-8)
    assert site.project is None
    assert site.warnings == (
        "boundary.dxf: 1 DXF entity other than polygons (text, blocks, open lines) on layer '0' ignored",
    )


@pytest.mark.parametrize("name", ["site.ods", "site.dwg", "site"])
def test_unsupported_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text("x")
    with pytest.raises(
        SiteError,
        match=r"^unsupported site file type ('\.\w+'|\(no suffix\)) \(" + re.escape(name) + r"\); expected",
    ):
        read_site(path)


def test_missing_file():
    with pytest.raises(SiteError, match=r"^site file 'no/such/site.geojson' does not exist; expected"):
        read_site("no/such/site.geojson")


def test_not_a_lonlat_nor_a_file():
    with pytest.raises(SiteError, match=r"^site file '120.1;30.8;7' does not exist; expected .* or 'lon,lat'$"):
        read_site("120.1;30.8;7")
    with pytest.raises(SiteError, match=r"^no site given \(an empty string\)"):
        read_site(" ")


def test_directory(tmp_path):
    d = tmp_path / "dir.geojson"
    d.mkdir()
    with pytest.raises(SiteError, match=r"is a directory"):
        read_site(d)


@pytest.mark.parametrize("name", ["empty.geojson", "empty.shp", "empty.txt", "empty.zip"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(SiteError, match=r"^" + re.escape(name) + r" is empty \(0 bytes\); expected a .* file$"):
        read_site(path)


def test_invalid_json_file(tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "Feature", "geometry": ')
    with pytest.raises(SiteError, match=r"^broken.geojson is not valid GeoJSON: Expecting value at line 1 column \d+$"):
        read_site(path)


def test_json_that_is_not_geojson():
    with pytest.raises(SiteError, match=r"^the GeoJSON mapping is not GeoJSON: expected a geometry, Feature or FeatureCollection, got type 'Topology'$"):
        read_site({"type": "Topology"})
    with pytest.raises(SiteError, match=r"malformed Polygon: .*; expected GeoJSON coordinates \[lon, lat\]$"):
        read_site({"type": "Polygon", "coordinates": [[["a", "b"]]]})


def test_unknown_crs_member():
    obj = feature({"type": "Point", "coordinates": [1, 2]})
    obj["crs"] = {"type": "name", "properties": {"name": "EPSG:99999"}}
    with pytest.raises(CRSError, match=r"^the GeoJSON mapping: the GeoJSON crs member: unknown CRS 'EPSG:99999'"):
        read_site(obj)
    obj["crs"] = {"type": "link", "properties": {"href": "x.prj"}}
    with pytest.raises(CRSError, match=r"unsupported GeoJSON crs member"):
        read_site(obj)


def test_read_site_bytes_zip_upload_cleans_up(tmp_path, parcels_4549, monkeypatch):
    shp = tmp_path / "site.shp"
    pyogrio.write_dataframe(parcels_4549, shp)
    data = _zip(tmp_path / "upload.zip", _shapefile_parts(shp)).read_bytes()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    site = read_site_bytes(data, "C:\\Users\\me\\上传.zip")
    assert site.source == "上传.zip (zipped Shapefile site.shp, 2 features)"
    assert list(scratch.iterdir()) == []
    with pytest.raises(SiteError, match=r"^cannot read 上传.zip: not a valid zip archive"):
        read_site_bytes(b"PK garbage", "上传.zip")
    assert list(scratch.iterdir()) == []
    with pytest.raises(SiteError, match=r"^unsupported site file type '\.exe'"):
        read_site_bytes(b"MZ", "evil.exe")
    assert list(scratch.iterdir()) == []


def test_read_site_bytes_geojson_with_options():
    gj = json.dumps(shapely.geometry.mapping(SQUARE)).encode()
    site = read_site_bytes(gj, "../../etc/site.geojson", webmap="gcj02")
    assert site.source == "site.geojson (GeoJSON, 1 feature)"
    assert site.source_crs == "GCJ-02"
    with pytest.raises(TypeError):
        read_site_bytes(gj, "site.geojson", bogus=1)


def test_read_site_bytes_kmz(tmp_path):
    path = tmp_path / "x.kmz"
    pyogrio.write_dataframe(frame([SQUARE], name=["厂区"]), path, driver="LIBKML")
    site = read_site_bytes(path.read_bytes(), "厂区.kmz")
    assert site.source == "厂区.kmz (KMZ, 1 feature)"
    assert site.geometry.equals_exact(SQUARE, 1e-9)


# --------------------------------------------------------------- geometry rules


def test_polygon_with_hole_is_kept():
    holed = SQUARE.difference(SQUARE.centroid.buffer(0.0005))
    site = read_site(holed)
    assert len(site.geometry.interiors) == 1
    assert site.geometry.equals(holed)


def test_multipolygon_feature_is_kept_as_is():
    multi = shapely.MultiPolygon([SQUARE, square_at(120.1, 30.9)])
    site = read_site(multi)
    assert site.geometry.equals(multi)
    assert site.warnings == ()


def test_several_features_are_one_multipart_site():
    fc = collection(
        feature(shapely.geometry.mapping(SQUARE)),
        feature(shapely.geometry.mapping(square_at(120.1, 30.9))),
        feature(shapely.geometry.mapping(square_at(120.2, 30.9))),
    )
    site = read_site(fc)
    assert site.geometry.geom_type == "MultiPolygon"
    assert len(site.geometry.geoms) == 3
    assert site.warnings == ("3 features merged into one multi-part site",)
    assert site.project is None
    assert site.source == "GeoJSON mapping (3 features)"


def test_overlapping_parcels_are_not_double_counted():
    a, b = square_at(120.05, 30.85), square_at(120.051, 30.85)  # half overlap
    site = read_site(gpd.GeoSeries([a, b], crs=4490))
    assert site.geometry.geom_type == "Polygon"
    assert gk_area(site.geometry) == pytest.approx(gk_area(a.union(b)), rel=1e-9)
    assert gk_area(site.geometry) < gk_area(a) + gk_area(b)


def test_lines():
    line = LineString([(120.05, 30.85), (120.06, 30.86)])
    site = read_site(line)
    assert site.kind == "line"
    other = LineString([(120.1, 30.85), (120.11, 30.86)])
    site = read_site(gpd.GeoSeries([line, other], crs=4490))
    assert site.geometry.geom_type == "MultiLineString"
    assert site.kind == "line"
    assert site.geometry.length == pytest.approx(line.length + other.length)
    assert site.warnings == ("2 features merged into one multi-part site",)


def test_points():
    pts = [Point(120.05, 30.85), Point(120.06, 30.86), Point(120.07, 30.87)]
    site = read_site(collection(*[feature(shapely.geometry.mapping(p)) for p in pts]))
    assert site.geometry.equals(MultiPoint(pts))
    assert site.kind == "point"


def test_geometry_collection_is_flattened():
    gc = shapely.GeometryCollection([SQUARE, square_at(120.1, 30.9)])
    site = read_site(gc)
    assert site.geometry.geom_type == "MultiPolygon"
    assert site.warnings == ("GeometryCollection of 2 parts merged into one multi-part site",)


def test_mixed_kinds():
    fc = collection(
        feature(shapely.geometry.mapping(SQUARE)),
        feature(shapely.geometry.mapping(LineString([(120, 30), (120.1, 30.1)]))),
    )
    with pytest.raises(SiteError, match=r"^the GeoJSON mapping mixes kinds of geometry \(1 polygon, 1 line\); a site is points, lines or polygons — screen them separately$"):
        read_site(fc)
    with pytest.raises(SiteError, match=r"mixes kinds of geometry \(1 polygon, 1 point\)"):
        read_site(shapely.GeometryCollection([SQUARE, Point(120, 30)]))


@pytest.mark.parametrize(
    "source",
    [
        Polygon(),
        shapely.GeometryCollection(),
        {"type": "FeatureCollection", "features": []},
        {"type": "Feature", "properties": {"name": "x"}, "geometry": None},
    ],
    ids=["empty-polygon", "empty-collection", "no-features", "null-geometry"],
)
def test_empty(source):
    with pytest.raises(SiteError, match=r"has no geometry \(empty\); expected a point, line or polygon$"):
        read_site(source)


def test_features_without_geometry_are_skipped_with_a_warning():
    fc = collection(feature(shapely.geometry.mapping(SQUARE)), feature(None))
    site = read_site(fc)
    assert site.geometry.equals(SQUARE)
    assert site.warnings == ("1 feature without geometry skipped",)


def test_z_dropped_with_a_warning():
    site = read_site({"type": "Point", "coordinates": [120.1, 30.8, 12.5]})
    assert not site.geometry.has_z
    assert site.warnings == ("Z coordinates dropped (the site is screened in 2-D)",)


# ---------------------------------------------------------------- coordinates


def test_swapped_point():
    with pytest.raises(SiteError, match=r"^coordinates look swapped: got \(30\.8, 120\.1\) but expected lon, lat — e\.g\. 120\.1,30\.8$"):
        read_site("30.8,120.1")


def test_swapped_polygon():
    swapped = shapely.transform(SQUARE, lambda xy: xy[:, ::-1])
    with pytest.raises(SiteError, match=r"^coordinates look swapped: got \(30\.85, 120\.05\)"):
        read_site(swapped)


@pytest.mark.parametrize(
    "text, message",
    [
        ("120.1,95", r"^the lon,lat point: latitude 95 is outside -90..90; expected lon, lat$"),
        ("200.5,30", r"^the lon,lat point: longitude 200.5 is outside -180..180; expected lon, lat$"),
        ("-190,-30", r"longitude -190 is outside"),
    ],
)
def test_out_of_range(text, message):
    with pytest.raises(SiteError, match=message):
        read_site(text)


def test_projected_values_without_crs():
    with pytest.raises(CRSError, match=r"^the lon,lat point: coordinates look projected \(e\.g\. 40438683\.652, 3396543\.21\) but a lon,lat point \(EPSG:4490\) is longitude/latitude; pass --crs \(e\.g\. --crs EPSG:4528\)$"):
        read_site("40438683.652,3396543.21")


def test_lonlat_values_with_projected_crs():
    with pytest.raises(CRSError, match=r"^the site geometry: coordinates look like longitude/latitude \(e\.g\. 120\.05, 30\.85\) but the CRS is EPSG:4549, projected in metres; pass --crs EPSG:4490"):
        read_site(SQUARE, crs="EPSG:4549")


def test_unknown_crs():
    with pytest.raises(CRSError, match=r"^crs: unknown CRS 'EPSG:99999' \(.*\); expected e\.g\. EPSG:4549$"):
        read_site("120.1,30.8", crs="EPSG:99999")
    with pytest.raises(CRSError, match=r"unknown CRS 'not a crs'"):
        read_site("120.1,30.8", crs="not a crs")


def test_crs_errors_are_site_errors():
    assert issubclass(CRSError, SiteError)
    assert issubclass(SiteError, ValueError)


# ------------------------------------------------------------------- validity


BOWTIE = Polygon([(120.05, 30.85), (120.06, 30.86), (120.06, 30.85), (120.05, 30.86)])


def test_invalid_polygon_names_the_place():
    with pytest.raises(SiteError, match=r"^site polygon is invalid: self-intersection at 120\.055, 30\.855 \(lon, lat\); fix the boundary, or read it repaired with --repair \(repair=True in Python\)$"):
        read_site(BOWTIE)


def test_invalid_polygon_location_is_lonlat_after_reprojection():
    with pytest.raises(SiteError, match=r"self-intersection at 120\.055\d*, 30\.855\d* \(lon, lat\)"):
        read_site(to_4549(BOWTIE), crs="EPSG:4549")


def test_invalid_feature_among_several_is_numbered():
    fc = collection(feature(shapely.geometry.mapping(SQUARE)), feature(shapely.geometry.mapping(BOWTIE)))
    with pytest.raises(SiteError, match=r"^site polygon \(feature 2 of 2\) is invalid: self-intersection at"):
        read_site(fc)


def test_repair():
    site = read_site(BOWTIE, repair=True)
    assert site.geometry.is_valid
    assert site.kind == "polygon"
    assert site.geometry.geom_type == "MultiPolygon"  # two triangles
    assert site.geometry.area == pytest.approx(0.00005)
    assert site.warnings == (
        "site polygon is invalid: self-intersection at 120.055, 30.855 (lon, lat); "
        "repaired with make_valid — check the result",
    )


def test_repair_that_leaves_nothing():
    flat = Polygon([(120.05, 30.85), (120.06, 30.85), (120.07, 30.85)])
    with pytest.raises(SiteError, match=r"^site polygon is invalid: .*; fix the boundary, or read it repaired with --repair \(repair=True in Python\)$"):
        read_site(flat)
    with pytest.raises(SiteError, match=r"repairing it left no polygon$"):
        read_site(flat, repair=True)


# --------------------------------------------------------------------- webmap


def test_webmap_gcj02():
    gcj = wgs84_to_gcj02(SQUARE)
    site = read_site(gcj, webmap="gcj02")
    assert site.source_crs == "GCJ-02"
    assert site.geometry.equals_exact(gcj02_to_wgs84(gcj), 0)
    assert site.geometry.equals_exact(SQUARE, 1e-7)


def test_webmap_bd09_lonlat_string():
    site = read_site("120.1,30.8", webmap="bd09")
    assert site.source_crs == "BD-09"
    assert site.geometry.equals_exact(bd09_to_wgs84(Point(120.1, 30.8)), 0)


def test_webmap_refuses_projected_crs():
    with pytest.raises(CRSError, match=r"^webmap='gcj02' expects longitude/latitude, but the site geometry is in the projected CRS EPSG:4549"):
        read_site(to_4549(SQUARE), crs="EPSG:4549", webmap="gcj02")


def test_webmap_unknown():
    with pytest.raises(SiteError, match=r"^webmap='wgs' is not supported; expected None, 'gcj02' or 'bd09'$"):
        read_site("120.1,30.8", webmap="wgs")


# ------------------------------------------------------------------- 界址点 TXT


def test_jzd_prefixed_against_pyproj():
    site = read_site(DATA / "jzd_prefixed.txt")
    assert site.source == "jzd_prefixed.txt (界址点 TXT, 1 parcel)"
    assert site.source_crs == "EPSG:4528"
    assert site.project == {"name": "年产5万吨有机化工原料项目"}
    assert site.warnings == ()
    to_ll = Transformer.from_crs(4528, 4490, always_xy=True)
    expected = [
        to_ll.transform(y, x)
        for x, y in [
            (3396543.210, 40438683.652),
            (3396543.210, 40438883.652),
            (3396648.425, 40438883.652),
            (3396648.425, 40438683.652),
            (3396543.210, 40438683.652),
        ]
    ]
    np.testing.assert_allclose(np.array(site.geometry.exterior.coords), expected, rtol=0, atol=1e-10)
    assert gk_area(site.geometry) == pytest.approx(21043.0, abs=0.01)  # 2.1043 ha, as declared


def test_jzd_gb18030_unprefixed_with_hole():
    site = read_site(DATA / "jzd_unprefixed_hole_gb18030.txt")
    assert site.source_crs == "EPSG:4549"
    assert site.project == {"name": "湖州某化工项目"}
    assert len(site.geometry.interiors) == 1
    assert gk_area(site.geometry) == pytest.approx(20043.0, abs=0.01)
    assert site.warnings == ()


def test_jzd_two_parcels_with_bom_and_open_ring():
    site = read_site(DATA / "jzd_two_parcels.txt")
    assert site.source == "jzd_two_parcels.txt (界址点 TXT, 2 parcels)"
    assert site.geometry.geom_type == "MultiPolygon"
    assert gk_area(site.geometry) == pytest.approx(21043.0 + 5000.0, abs=0.01)
    assert site.warnings == ("2 features merged into one multi-part site",)


def test_prefixed_and_unprefixed_files_agree():
    a = read_site(DATA / "jzd_prefixed.txt").geometry
    b = read_site(DATA / "jzd_unprefixed_hole_gb18030.txt").geometry
    assert shapely.Polygon(b.exterior).equals_exact(a, 1e-9)


def _jzd(tmp_path, text, name="jzd.txt", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


PREFIXED = (DATA / "jzd_prefixed.txt").read_text(encoding="utf-8")


def test_jzd_zone_mismatch(tmp_path):
    path = _jzd(tmp_path, PREFIXED.replace("带号=40", "带号=39"))
    with pytest.raises(SiteError, match=r"^jzd.txt: 带号=39 but the eastings carry zone prefix 40 \(e\.g\. 40438683\.652\); fix the file or pass --crs$"):
        read_site(path)


def test_jzd_mixed_zone_prefixes(tmp_path):
    path = _jzd(tmp_path, PREFIXED.replace("J3,1,3396648.425,40438883.652", "J3,1,3396648.425,39438883.652"))
    with pytest.raises(SiteError, match=r"^jzd.txt line 16: easting carries zone prefix 39 but earlier rows carry 40"):
        read_site(path)


def test_jzd_malformed_row(tmp_path):
    path = _jzd(tmp_path, PREFIXED.replace("J3,1,3396648.425,", "J3,1,3396648.4x5,"))
    with pytest.raises(SiteError, match=r"^jzd.txt line 16: malformed boundary-point row 'J3,1,3396648\.4x5,40438883\.652'; expected 点号,圈号,X,Y"):
        read_site(path)


def test_jzd_loose_header_fields_are_warnings(tmp_path):
    # Informational header fields do not decide: a non-numeric 点数 is a warning, not a refusal.
    site = read_site(_jzd(tmp_path, PREFIXED.replace("5,2.1043,1,", "five,2.1043,1,")))
    assert gk_area(site.geometry) == pytest.approx(21043.0, abs=0.01)
    assert site.warnings == ("jzd.txt line 13: 点数 'five' is not a number; ignored",)


def test_jzd_swapped_columns(tmp_path):
    rows = re.sub(r"^(J\d),1,([\d.]+),([\d.]+)$", r"\1,1,\3,\2", PREFIXED, flags=re.M)
    site = read_site(_jzd(tmp_path, rows))
    assert site.geometry.equals_exact(read_site(DATA / "jzd_prefixed.txt").geometry, 1e-12)
    assert site.warnings == ("jzd.txt: the X column holds eastings and Y northings; read them swapped",)


def test_jzd_zone_from_prefix_when_no_zone_line(tmp_path):
    site = read_site(_jzd(tmp_path, PREFIXED.replace("带号=40\n", "")))
    assert site.source_crs == "EPSG:4528"


def test_jzd_unprefixed_without_zone_needs_crs(tmp_path):
    text = (DATA / "jzd_unprefixed_hole_gb18030.txt").read_bytes().decode("gb18030")
    path = _jzd(tmp_path, text.replace("带号=40", "带号="), encoding="gb18030")
    with pytest.raises(CRSError, match=r"^jzd.txt has no CRS: no 带号= and the eastings carry no zone prefix; pass --crs"):
        read_site(path)
    assert read_site(path, crs="EPSG:4549").source_crs == "EPSG:4549"


def test_jzd_prefixed_with_unprefixed_crs_strips_the_prefix():
    site = read_site(DATA / "jzd_prefixed.txt", crs="EPSG:4549")
    assert site.source_crs == "EPSG:4549"
    assert same(site.geometry, read_site(DATA / "jzd_prefixed.txt").geometry, 1e-9)
    assert site.warnings == ("jzd_prefixed.txt: zone prefix 40 removed from the eastings to fit crs=EPSG:4549",)
    assert read_site(DATA / "jzd_prefixed.txt", crs="EPSG:4528").warnings == ()


@pytest.mark.parametrize(
    "system, code, datum",
    [("1980西安坐标系", 2364, "Xian 1980"), ("北京54", 2416, "Beijing 1954"), ("CGCS2000", 4528, None)],
)
def test_jzd_other_datums(tmp_path, system, code, datum):
    site = read_site(_jzd(tmp_path, PREFIXED.replace("2000国家大地坐标系", system)))
    assert site.source_crs == f"EPSG:{code}"
    if datum:
        assert site.warnings == (
            f"jzd.txt: {datum} coordinates converted to CGCS2000 without local transformation "
            "parameters (PROJ has none); positions may be off by tens of metres",
        )
    else:
        assert site.warnings == ()


def test_jzd_unknown_datum(tmp_path):
    with pytest.raises(CRSError, match=r"^jzd.txt: 坐标系='WGS84' is not supported; expected 2000国家大地坐标系, 西安80 or 北京54"):
        read_site(_jzd(tmp_path, PREFIXED.replace("2000国家大地坐标系", "WGS84")))


def test_jzd_six_degree_zone(tmp_path):
    # zone 20 (CM 117°E); easting 20 + 6 digits
    e, n = Transformer.from_crs(4490, 4498, always_xy=True).transform(117.2, 31.8)
    text = (
        "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=6\n带号=20\n[地块坐标]\n"
        "4,,1,合肥某项目,面,,,,@\n"
        f"J1,1,{n:.3f},{e:.3f}\nJ2,1,{n:.3f},{e + 100:.3f}\n"
        f"J3,1,{n + 100:.3f},{e + 100:.3f}\nJ4,1,{n + 100:.3f},{e:.3f}\n"
    )
    site = read_site(_jzd(tmp_path, text))
    assert site.source_crs == "EPSG:4498"
    assert site.geometry.exterior.coords[0] == pytest.approx((117.2, 31.8), abs=1e-7)


def test_jzd_point_rows_without_sections(tmp_path):
    rows = "\n".join(line for line in PREFIXED.splitlines() if line.startswith("J"))
    site = read_site(_jzd(tmp_path, rows), crs="EPSG:4528")
    assert site.geometry.equals_exact(read_site(DATA / "jzd_prefixed.txt").geometry, 1e-12)
    assert site.project is None


def test_jzd_declared_area_and_count_mismatch(tmp_path):
    site = read_site(_jzd(tmp_path, PREFIXED.replace("5,2.1043,", "6,3.5,")))
    assert site.warnings == (
        "jzd.txt: parcel 1 header says 6 points, its rows give 5",
        "jzd.txt: parcel 1 states 面积 3.5, but its rings enclose 21,043.0 m² (2.1043 公顷) on EPSG:4528: "
        "neither m² nor 公顷 within 0.1%; check the zone, the axis order and that no ring is missing",
    )


def test_jzd_ring_outside_the_outer_ring_is_a_separate_part(tmp_path):
    extra = (
        "J5,2,3396800.000,40438700.000\nJ6,2,3396800.000,40438800.000\n"
        "J7,2,3396850.000,40438800.000\nJ8,2,3396850.000,40438700.000\n"
    )
    site = read_site(_jzd(tmp_path, PREFIXED.replace("5,2.1043,", "9,2.6043,") + extra))
    assert site.geometry.geom_type == "MultiPolygon"
    assert gk_area(site.geometry) == pytest.approx(21043.0 + 5000.0, abs=0.01)
    assert site.warnings == (
        "jzd.txt: parcel 1 is read by containment: 2 outer rings (1, 2)",
    )


def test_jzd_line_parcel(tmp_path):
    site = read_site(_jzd(tmp_path, PREFIXED.replace(",面,", ",线,").replace("5,2.1043,", "5,,")))
    assert site.kind == "line"
    assert site.geometry.is_closed


def test_txt_that_is_not_jzd(tmp_path):
    with pytest.raises(SiteError, match=r"^notes.txt is not a 界址点 boundary-point file: expected a \[地块坐标\] section"):
        read_site(_jzd(tmp_path, "hello world\nJ1 is a point\n", name="notes.txt"))


def test_jzd_ring_too_small(tmp_path):
    text = PREFIXED.replace("J3,1,3396648.425,40438883.652\nJ4,1,3396648.425,40438683.652\n", "")
    with pytest.raises(SiteError, match=r"^jzd.txt line 14: ring 1 of parcel 1 has 2 distinct points; a polygon ring needs at least 3$"):
        read_site(_jzd(tmp_path, text))


def test_gauss_kruger_epsg_codes_match_pyproj_names():
    datums = {"cgcs2000": "CGCS2000", "xian80": "Xian 1980", "beijing54": "Beijing 1954"}
    for datum, name in datums.items():
        for zone in range(25, 46):
            assert CRS.from_epsg(gauss_kruger_epsg(zone, datum=datum)).name == (
                f"{name} / 3-degree Gauss-Kruger zone {zone}"
            )
            assert CRS.from_epsg(gauss_kruger_epsg(zone, datum=datum, prefixed=False)).name == (
                f"{name} / 3-degree Gauss-Kruger CM {3 * zone}E"
            )
        for zone in range(13, 24):
            assert CRS.from_epsg(gauss_kruger_epsg(zone, datum=datum, band=6)).name == (
                f"{name} / Gauss-Kruger zone {zone}"
            )
            assert CRS.from_epsg(gauss_kruger_epsg(zone, datum=datum, band=6, prefixed=False)).name == (
                f"{name} / Gauss-Kruger CM {6 * zone - 3}E"
            )


def test_gauss_kruger_epsg_refuses_bad_zones():
    with pytest.raises(CRSError, match=r"^3-degree zone 20 is outside 25–45"):
        gauss_kruger_epsg(20)
    with pytest.raises(CRSError, match=r"no Gauss–Krüger EPSG code for datum='wgs84'"):
        gauss_kruger_epsg(40, datum="wgs84")


def test_site_suffixes_documented():
    assert set(SITE_SUFFIXES) >= {".geojson", ".shp", ".zip", ".gpkg", ".kml", ".kmz", ".txt", ".dxf"}


# ----------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None)
@given(
    lon=st.floats(119.2, 120.6),
    lat=st.floats(30.4, 31.2),
    radii=st.lists(st.floats(20.0, 1500.0), min_size=3, max_size=10),
    turn=st.floats(0.0, 2 * math.pi),
)
def test_same_area_in_4490_4326_and_4549(lon, lat, radii, turn):
    # A star-shaped (so valid) polygon around (lon, lat), built on the GK plane.
    e0, n0 = TO_4549.transform(lon, lat)
    step = 2 * math.pi / len(radii)
    gk = Polygon(
        [(e0 + r * math.cos(turn + i * step), n0 + r * math.sin(turn + i * step)) for i, r in enumerate(radii)]
    )
    ll = shapely.transform(
        gk, lambda xy: np.column_stack(Transformer.from_crs(4549, 4490, always_xy=True).transform(*xy.T))
    )
    areas = [
        gk_area(read_site(ll).geometry),
        gk_area(read_site(ll, crs="EPSG:4326").geometry),
        gk_area(read_site(gk, crs="EPSG:4549").geometry),
        gk_area(read_site(gpd.GeoSeries([gk], crs=4549)).geometry),
    ]
    for area in areas:
        assert area == pytest.approx(gk.area, rel=1e-4)
