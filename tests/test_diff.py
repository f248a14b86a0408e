"""``zoning diff`` and :func:`zoning.diff.diff_packs` (contract §8)."""

import json
import math
import shutil

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Transformer

from zoning import load_pack
from zoning.cli import main
from zoning.diff import diff_is_empty, diff_packs, render_diff_text
from zoning.maps import DIFF_COLORS, diff_map

KEYS = {"old", "new", "units", "red_line", "zones", "clauses", "quotas", "rasters"}
CLAUSE = "ZH33052310001-01"
QUOTA = ("ZH33050210001", "water_m3")


def _edge_unit(units):
    """A unit on the outer edge of the units' union, and a point on that edge."""
    union = units.geometry.union_all()
    outline = shapely.MultiLineString([p.exterior for p in getattr(union, "geoms", [union])])
    for code, geom in zip(units["unit_code"], units.geometry):
        shared = geom.boundary.intersection(outline)
        if shared.length > 0.05:
            point = shared.interpolate(0.5, normalized=True)
            if (units.geometry.intersects(point.buffer(0.01))).sum() == 1:  # the cut touches no other unit
                return code, point
    raise AssertionError("no unit on the edge")


@pytest.fixture(scope="module")
def versions(tmp_path_factory, demo_pack):
    """The demo pack and a second version: one unit cut back at the pack's edge, one clause
    edited, one quota's use changed, version bumped."""
    root = tmp_path_factory.mktemp("versions")
    old_dir, new_dir = root / "old", root / "new"
    shutil.copytree(demo_pack.path, old_dir)
    shutil.copytree(demo_pack.path, new_dir)
    units = gpd.read_file(new_dir / "layers.gpkg", layer="units")
    red = gpd.read_file(new_dir / "layers.gpkg", layer="red_line")
    code, point = _edge_unit(units)
    i = units.index[units["unit_code"] == code][0]
    old_geom = units.geometry[i]
    new_geom = old_geom.difference(point.buffer(0.01))
    if new_geom.geom_type == "Polygon":
        new_geom = shapely.MultiPolygon([new_geom])
    units.loc[i, "geometry"] = new_geom
    (new_dir / "layers.gpkg").unlink()
    units.to_file(new_dir / "layers.gpkg", layer="units", driver="GPKG")
    red.to_file(new_dir / "layers.gpkg", layer="red_line", driver="GPKG")
    rules = (new_dir / "rules.yaml").read_text(encoding="utf-8")
    assert rules.count("禁止新建、扩建小水电站。") == 1
    (new_dir / "rules.yaml").write_text(rules.replace("禁止新建、扩建小水电站。", "禁止新建、扩建小水电站和引水式电站。"), encoding="utf-8")
    quotas = (new_dir / "quotas.csv").read_text(encoding="utf-8")
    line = next(ln for ln in quotas.splitlines() if ln.startswith(",".join(QUOTA) + ","))
    scope, resource, cap, used = line.split(",")
    (new_dir / "quotas.csv").write_text(quotas.replace(line, f"{scope},{resource},{cap},{int(used) + 20000}"), encoding="utf-8")
    manifest = (new_dir / "pack.yaml").read_text(encoding="utf-8")
    (new_dir / "pack.yaml").write_text(manifest.replace('version: "2024.1"', 'version: "2025.1"'), encoding="utf-8")
    return {"old": old_dir, "new": new_dir, "code": code, "old_geom": old_geom, "new_geom": new_geom,
            "cap": int(cap), "used": int(used)}


@pytest.fixture(scope="module")
def diff(versions):
    return diff_packs(load_pack(versions["old"]), load_pack(versions["new"]))


def test_identical_packs_give_empty_lists_everywhere(demo_pack):
    d = diff_packs(demo_pack, demo_pack)
    assert KEYS <= set(d)
    for key in KEYS - {"old", "new"}:
        assert all(v == [] for v in d[key].values()), key
    assert d["old"] == d["new"] == {"id": demo_pack.id, "version": demo_pack.version, "digest": demo_pack.digest}
    assert diff_is_empty(d)
    assert "无变化 No changes" in render_diff_text(d)


def _gk_area(geom):
    """Area on the CGCS2000 3° GK zone of the geometry's centroid, computed here from the formula."""
    cm = 3 * round(geom.centroid.x / 3)
    to_gk = Transformer.from_crs(4490, 4534 + (cm - 75) // 3, always_xy=True)
    return shapely.transform(geom, lambda x, y: to_gk.transform(x, y), interleaved=False).area


def test_one_unit_one_clause_one_quota_exactly(diff, versions):
    assert diff["new"]["version"] == "2025.1" and diff["old"]["version"] == "2024.1"
    assert diff["old"]["digest"] != diff["new"]["digest"]
    assert diff["units"]["added"] == diff["units"]["removed"] == []
    (changed,) = diff["units"]["changed"]
    assert changed["id"] == versions["code"]
    assert changed["fields"] == []
    assert changed["geometry_changed"] is True
    expected = _gk_area(versions["new_geom"]) - _gk_area(versions["old_geom"])
    assert expected < -1000  # a real cut, not a sliver
    assert math.isclose(changed["area_change_m2"], expected, abs_tol=0.05)
    assert math.isclose(changed["symmetric_difference_m2"], -expected, rel_tol=1e-6)  # a pure cut: |Δ| = sym. difference
    assert diff["red_line"] == {"added": [], "removed": [], "changed": []}
    assert diff["zones"] == {"added": [], "removed": [], "changed": []}
    assert diff["clauses"] == {"added": [], "removed": [], "changed": [CLAUSE]}
    (q,) = diff["quotas"]["changed"]
    assert (q["scope"], q["resource"]) == QUOTA
    assert q["old_remaining"] == versions["cap"] - versions["used"]
    assert q["new_remaining"] == versions["cap"] - versions["used"] - 20000
    assert diff["quotas"]["added"] == diff["quotas"]["removed"] == []
    assert diff["rasters"]["changed"] == []
    assert diff["manifest"]["changed"] == ["version"]


def test_field_changes_and_added_removed_features(demo_pack, tmp_path):
    d = tmp_path / "p"
    shutil.copytree(demo_pack.path, d)
    zones = json.loads((d / "zones.geojson").read_text(encoding="utf-8"))
    gone = zones["features"].pop(0)["properties"]["zone_id"]
    renamed = zones["features"][0]["properties"]
    renamed["name"] += "（调整）"
    (d / "zones.geojson").write_text(json.dumps(zones, ensure_ascii=False), encoding="utf-8")
    rules = (d / "rules.yaml").read_text(encoding="utf-8")
    (d / "rules.yaml").write_text(rules.replace(f"- id: {CLAUSE}\n", "- id: ZH33052310001-09\n"), encoding="utf-8")
    out = diff_packs(demo_pack, load_pack(d))
    assert out["zones"]["removed"] == [gone] and out["zones"]["added"] == []
    assert out["zones"]["changed"] == [{"id": renamed["zone_id"], "area_change_m2": 0.0, "fields": ["name"],
                                        "geometry_changed": False, "symmetric_difference_m2": 0.0}]
    assert out["clauses"] == {"added": ["ZH33052310001-09"], "removed": [CLAUSE], "changed": []}
    # and the other way round
    back = diff_packs(load_pack(d), demo_pack)
    assert back["zones"]["added"] == [gone] and back["clauses"]["added"] == [CLAUSE]


def test_a_move_within_the_tolerance_is_no_change(demo_pack, tmp_path):
    d = tmp_path / "p"
    shutil.copytree(demo_pack.path, d)
    zones = json.loads((d / "zones.geojson").read_text(encoding="utf-8"))
    ring = zones["features"][0]["geometry"]["coordinates"][0]
    ring = ring[0] if isinstance(ring[0][0], list) else ring
    ring[1][0] += 1e-9  # about 0.1 mm
    (d / "zones.geojson").write_text(json.dumps(zones, ensure_ascii=False), encoding="utf-8")
    assert diff_packs(demo_pack, load_pack(d))["zones"]["changed"] == []


def test_raster_content_change_is_reported(demo_pack, tmp_path):
    import rasterio

    d = tmp_path / "p"
    shutil.copytree(demo_pack.path, d)
    with rasterio.open(d / "pm25.tif", "r+") as src:
        band = src.read(1)
        band[band > 0] += 1.0
        src.write(band, 1)
    out = diff_packs(demo_pack, load_pack(d))
    assert out["rasters"]["changed"] == ["pm25"]
    assert out["units"]["changed"] == [] and out["clauses"]["changed"] == []


def test_text_rendering_is_bilingual(diff, versions):
    text = render_diff_text(diff)
    assert "数据包版本对比 Pack diff: huzhou-demo 2024.1 → huzhou-demo 2025.1" in text
    assert f"~ 变更 changed  {versions['code']}: 边界变化 geometry moved" in text
    assert f"~ 变更 changed  {CLAUSE}" in text
    assert f"{QUOTA[0]} 用水量 water_m3" in text


def test_cli_json_keys_and_exit_codes(versions, tmp_path):
    runner = CliRunner()
    same = runner.invoke(main, ["diff", str(versions["old"]), str(versions["old"]), "--format", "json"])
    assert same.exit_code == 0, same.output
    assert KEYS <= set(json.loads(same.output))
    res = runner.invoke(main, ["diff", str(versions["old"]), str(versions["new"]), "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert list(data)[:8] == ["old", "new", "units", "red_line", "zones", "clauses", "quotas", "rasters"]
    for layer in ("units", "red_line", "zones", "clauses", "quotas"):
        assert set(data[layer]) == {"added", "removed", "changed"}
    assert set(data["units"]["changed"][0]) >= {"id", "area_change_m2", "fields"}
    assert set(data["quotas"]["changed"][0]) >= {"scope", "resource", "old_remaining", "new_remaining"}
    assert "changed" in data["rasters"]
    assert runner.invoke(main, ["diff", str(versions["old"]), str(versions["new"]), "--exit-code"]).exit_code == 1
    assert runner.invoke(main, ["diff", str(versions["old"]), str(versions["old"]), "--exit-code"]).exit_code == 0
    text = runner.invoke(main, ["diff", str(versions["old"]), str(versions["new"]), "--format", "text"])
    assert text.exit_code == 0 and "准入条款 clauses" in text.output


def test_cli_bad_input_is_one_line_and_exit_2(versions, tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["diff", str(tmp_path / "nope"), str(versions["new"])])
    assert res.exit_code == 2
    assert "zoning: error:" in res.output and "Traceback" not in res.output
    broken = tmp_path / "broken"
    shutil.copytree(versions["new"], broken)
    (broken / "rules.yaml").write_text("clauses: [\n", encoding="utf-8")
    res = runner.invoke(main, ["diff", str(versions["old"]), str(broken)])
    assert res.exit_code == 2 and "rules.yaml" in res.output
    res = runner.invoke(main, ["diff", str(versions["old"]), str(versions["new"]), "--map", str(tmp_path / "m.png")])
    assert res.exit_code == 2 and ".html" in res.output


def test_diff_map_colours_and_tooltips(diff, versions, tmp_path):
    old, new = load_pack(versions["old"]), load_pack(versions["new"])
    page = diff_map(diff, old, new, offline=True).get_root().render()
    assert DIFF_COLORS["changed"] in page
    assert versions["code"] in page
    assert json.dumps(f"{diff['units']['changed'][0]['area_change_m2']:+,.1f} m²")[1:-1] in page
    assert "zoning-diff-summary" in page and "unpkg.com" not in page
    out = tmp_path / "diff.html"
    res = CliRunner().invoke(main, ["diff", str(versions["old"]), str(versions["new"]), "--map", str(out), "--offline", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert versions["code"] in out.read_text(encoding="utf-8")


def test_diff_map_added_removed_and_field_changes(demo_pack, tmp_path):
    d = tmp_path / "p"
    shutil.copytree(demo_pack.path, d)
    zones = json.loads((d / "zones.geojson").read_text(encoding="utf-8"))
    gone = zones["features"].pop(0)["properties"]["zone_id"]
    zones["features"][0]["properties"]["name"] += "（调整）"
    (d / "zones.geojson").write_text(json.dumps(zones, ensure_ascii=False), encoding="utf-8")
    new = load_pack(d)
    page = diff_map(diff_packs(demo_pack, new), demo_pack, new, offline=True).get_root().render()
    assert DIFF_COLORS["removed"] in page and gone in page
    assert DIFF_COLORS["changed"] in page and json.dumps("name")[1:-1] in page
    assert DIFF_COLORS["added"] not in page.split("zoning-diff-summary")[0]  # nothing added: no green layer
