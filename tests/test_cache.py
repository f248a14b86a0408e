"""The pack cache: a cached load equals a fresh one; any change or damage rebuilds it."""

import json
import os
import shutil
import subprocess
import sys

import geopandas.testing
import numpy as np
import pandas as pd
import pytest
import shapely

import zoning
import zoning.cache
import zoning.pack
from conftest import GRID
from zoning.cache import CACHE_FORMAT, cache_root, entry_dir, load_artifact, store_artifact
from zoning.errors import PackError
from zoning.pack import load_pack, validate_pack


def assert_same_pack(a, b):
    """Everything a fresh load gives, compared exactly (geometries by their WKB)."""
    for name in ("units", "red_line", "zones"):
        left, right = getattr(a, name), getattr(b, name)
        geopandas.testing.assert_geodataframe_equal(left, right, check_dtype=True, check_index_type=True, check_crs=True)
        assert list(left.columns) == list(right.columns)
        assert dict(left.dtypes.astype(str)) == dict(right.dtypes.astype(str))
        assert list(left.geometry.to_wkb()) == list(right.geometry.to_wkb())
        for col in left.columns.drop(left.geometry.name):  # missing values keep their kind (None, pd.NA, NaN)
            assert [type(v) for v in left[col]] == [type(v) for v in right[col]], col
    pd.testing.assert_frame_equal(a.quotas, b.quotas, check_dtype=True, check_index_type=True)
    assert a.manifest == b.manifest
    assert a.manifest.model_dump_json() == b.manifest.model_dump_json()
    assert a.clauses == b.clauses
    assert [c.model_dump_json() for c in a.clauses] == [c.model_dump_json() for c in b.clauses]
    assert a.rasters == b.rasters
    assert a.digest == b.digest
    assert a.files == b.files
    assert a.warnings == b.warnings
    assert a.path == b.path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh, empty cache for one test."""
    root = tmp_path / "cache"
    monkeypatch.setenv("ZONING_CACHE", str(root))
    return root


@pytest.fixture
def validations(monkeypatch):
    """Count the full validations load_pack runs."""
    calls = []
    real = zoning.pack.validate_pack

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(zoning.pack, "validate_pack", counting)
    return calls


@pytest.fixture
def grid_copy(tmp_path):
    copy = tmp_path / "grid"
    shutil.copytree(GRID, copy)
    return copy


def entry(root, pack):
    return entry_dir(root, pack.digest)


def test_the_suite_never_writes_to_the_user_cache():
    import platformdirs

    root = cache_root()
    assert root is not None and root != __import__("pathlib").Path(platformdirs.user_cache_dir("zoning"))


@pytest.mark.parametrize("where", [None, GRID], ids=["demo", "grid"])
def test_a_cached_load_equals_a_fresh_load(cache, validations, where):
    fresh = load_pack(where, cache=False)
    first = load_pack(where)
    assert len(validations) == 2 and first.cache_dir == entry(cache, fresh)
    assert (first.cache_dir / "index.json").is_file()
    second = load_pack(where)
    assert len(validations) == 2, "the second load must be a cache hit"
    assert second.cache_dir == first.cache_dir
    assert_same_pack(fresh, first)
    assert_same_pack(fresh, second)
    assert second.units.crs.to_epsg() == 4490


def test_a_hit_screens_like_a_fresh_load(cache):
    fresh = load_pack(GRID, cache=False)
    load_pack(GRID)
    hit = load_pack(GRID)
    project = {"industry": "2614", "construction": "new"}
    site = fresh.units.geometry.iloc[0].representative_point()
    assert hit.screen(site, project).to_dict() == fresh.screen(site, project).to_dict()


def test_a_moved_pack_is_a_hit_with_its_new_paths(cache, validations, grid_copy, tmp_path):
    load_pack(grid_copy)
    moved = tmp_path / "moved"
    grid_copy.rename(moved)
    pack = load_pack(moved)
    assert len(validations) == 1
    assert pack.path == moved
    assert pack.rasters["pm25"].path == str(moved / "pm25.tif")


def test_the_cache_holds_what_the_brief_lists(cache):
    pack = load_pack(GRID)
    index = json.loads((pack.cache_dir / "index.json").read_text())
    assert index["format"] == CACHE_FORMAT and index["engine"] == zoning.__version__
    assert set(index["files"]) == {"units.parquet", "red_line.parquet", "zones.parquet", "quotas.parquet", "manifest.json", "clauses.json", "meta.json"}
    meta = json.loads((pack.cache_dir / "meta.json").read_text())
    assert meta["digest"] == pack.digest and meta["files"] == list(pack.files)
    assert meta["rasters"]["pm25"]["path"] == "pm25.tif"  # relative: the pack may move
    assert not any(p.name.startswith(".tmp") for p in (cache / "packs").iterdir())


def _append(path, text):
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def _edit_units(copy):
    data = json.loads((copy / "units.geojson").read_text(encoding="utf-8"))
    data["features"][0]["properties"]["unit_name"] = "改过的单元"
    (copy / "units.geojson").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return lambda pack: "改过的单元" in set(pack.units["unit_name"])


def _edit_rules(copy):
    _append(copy / "rules.yaml", "  - id: NEW-01\n    tier: province\n    dimension: spatial_layout\n    text: 新条款\n    applies_in: {everywhere: true}\n    effect: condition\n")
    return lambda pack: "NEW-01" in {c.id for c in pack.clauses}


def _edit_quotas(copy):
    text = (copy / "quotas.csv").read_text(encoding="utf-8").replace("100000,90000", "100000,10000")
    (copy / "quotas.csv").write_text(text, encoding="utf-8")
    return lambda pack: 90000.0 in set(pack.quotas["remaining"])


def _edit_raster(copy):
    import rasterio

    with rasterio.open(copy / "pm25.tif", "r+") as dst:
        band = dst.read(1)
        band[0, 0] = 99
        dst.write(band, 1)
    return lambda pack: True  # the raster is read by the screening engine; the digest must move


def _edit_manifest(copy):
    text = (copy / "pack.yaml").read_text(encoding="utf-8").replace('version: "1.0"', 'version: "1.1"')
    (copy / "pack.yaml").write_text(text, encoding="utf-8")
    return lambda pack: pack.version == "1.1"


@pytest.mark.parametrize("edit", [_edit_units, _edit_rules, _edit_quotas, _edit_raster, _edit_manifest], ids=["layer", "rules", "quotas", "raster", "manifest"])
def test_a_changed_pack_file_rebuilds(cache, validations, grid_copy, edit):
    before = load_pack(grid_copy)
    seen = edit(grid_copy)
    after = load_pack(grid_copy)
    assert len(validations) == 2, "a changed file must be validated again"
    assert after.digest != before.digest
    assert seen(after)
    assert after.cache_dir == entry(cache, after) and after.cache_dir != before.cache_dir
    assert_same_pack(load_pack(grid_copy, cache=False), load_pack(grid_copy))
    assert len(validations) == 3  # the new entry is a hit


def _truncate(entry):
    path = entry / "units.parquet"
    path.write_bytes(path.read_bytes()[:100])


def _flip_a_byte(entry):
    path = entry / "zones.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _bad_json(entry):
    (entry / "clauses.json").write_text("{not json", encoding="utf-8")


def _altered_clause(entry):  # valid JSON, wrong checksum
    path = entry / "clauses.json"
    path.write_text(path.read_text(encoding="utf-8").replace("T-PRI-01", "T-PRI-99"), encoding="utf-8")


def _missing_file(entry):
    (entry / "quotas.parquet").unlink()


def _missing_index(entry):
    (entry / "index.json").unlink()


def _bad_index(entry):
    (entry / "index.json").write_text("[1, 2", encoding="utf-8")


def _consistent_forgery(entry):  # a changed file with its index updated: caught by the content checks
    meta = json.loads((entry / "meta.json").read_text())
    meta["layers"]["units"]["dtypes"] = {"only": "object"}
    (entry / "meta.json").write_text(json.dumps(meta))
    index = json.loads((entry / "index.json").read_text())
    index["files"]["meta.json"] = __import__("hashlib").sha256((entry / "meta.json").read_bytes()).hexdigest()
    (entry / "index.json").write_text(json.dumps(index))


@pytest.mark.parametrize("damage", [_truncate, _flip_a_byte, _bad_json, _altered_clause, _missing_file, _missing_index, _bad_index, _consistent_forgery])
def test_a_damaged_cache_is_rebuilt(cache, validations, damage):
    fresh = load_pack(GRID, cache=False)
    first = load_pack(GRID)
    damage(first.cache_dir)
    again = load_pack(GRID)
    assert len(validations) == 3, "a damaged entry must not be trusted"
    assert_same_pack(fresh, again)
    assert again.cache_dir == first.cache_dir
    third = load_pack(GRID)  # rebuilt: a hit again
    assert len(validations) == 3
    assert_same_pack(fresh, third)
    assert not [p for p in (cache / "packs").iterdir() if p.name.startswith(".")], "no temporary or trash directories left"


@pytest.mark.parametrize("key,value", [("format", CACHE_FORMAT + 1), ("format", None), ("engine", "0.0.0-old")])
def test_a_cache_of_another_format_or_engine_is_rebuilt(cache, validations, key, value):
    first = load_pack(GRID)
    path = first.cache_dir / "index.json"
    index = json.loads(path.read_text())
    index[key] = value
    path.write_text(json.dumps(index))
    load_pack(GRID)
    assert len(validations) == 2
    assert json.loads(path.read_text())[key] == {"format": CACHE_FORMAT, "engine": zoning.__version__}[key]
    load_pack(GRID)
    assert len(validations) == 2


def test_an_unwritable_cache_still_loads(tmp_path, monkeypatch, validations):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("ZONING_CACHE", str(blocker / "cache"))
    pack = load_pack(GRID)
    assert pack.cache_dir is None
    assert any("pack cache: not written" in w for w in pack.warnings)
    fresh = load_pack(GRID, cache=False)
    assert pack.warnings[:-1] == fresh.warnings
    assert len(pack.units) == len(fresh.units) and pack.digest == fresh.digest


@pytest.mark.parametrize("value", ["off", "", "OFF", "none"])
def test_zoning_cache_off_disables_it(tmp_path, monkeypatch, validations, value):
    monkeypatch.setenv("ZONING_CACHE", value)
    monkeypatch.chdir(tmp_path)
    assert cache_root() is None
    a, b = load_pack(GRID), load_pack(GRID)
    assert a.cache_dir is None and b.cache_dir is None
    assert len(validations) == 2
    assert list(tmp_path.iterdir()) == []


def test_cache_false_neither_reads_nor_writes(cache, validations):
    load_pack(GRID, cache=False)
    assert not cache.exists()
    load_pack(GRID)
    load_pack(GRID, cache=False)
    assert len(validations) == 3


def test_validate_pack_ignores_the_cache(cache, monkeypatch):
    load_pack(GRID)

    def boom(*a, **k):
        raise AssertionError("validate_pack read the cache")

    monkeypatch.setattr(zoning.cache, "read_pack", boom)
    report = validate_pack(GRID)
    assert report.ok and report.pack.cache_dir is None


def test_zoning_validate_ignores_the_cache(cache, monkeypatch):
    from click.testing import CliRunner

    from zoning.cli import main

    load_pack(GRID)
    monkeypatch.setattr(zoning.cache, "read_pack", lambda *a, **k: pytest.fail("zoning validate read the cache"))
    result = CliRunner().invoke(main, ["validate", str(GRID)])
    assert result.exit_code == 0, result.output


def test_an_invalid_pack_is_refused_and_not_cached(cache, grid_copy):
    _append(grid_copy / "rules.yaml", "  - id: BAD-01\n    tier: province\n    dimension: spatial_layout\n    text: x\n    applies_in: {everywhere: true}\n    effect: prohibit\n    when: {industry: ['9999']}\n")
    for _ in range(2):
        with pytest.raises(PackError, match=r"industry code '9999' is not in GB/T 4754-2017"):
            load_pack(grid_copy)
    assert not (cache / "packs").exists() or not any((cache / "packs").iterdir())


def test_a_missing_pack_is_refused_with_the_cache_on(cache):
    with pytest.raises(PackError, match="is not a directory; a pack is a directory with pack.yaml"):
        load_pack(GRID.parent / "no-such-pack")


def test_an_entry_without_topology_does_not_serve_a_topology_load(cache, validations):
    fresh = load_pack(GRID, topology=False, cache=False)
    quick = load_pack(GRID, topology=False)
    assert_same_pack(fresh, quick)
    load_pack(GRID)  # wants the topology check: validates, rewrites the entry
    assert len(validations) == 3
    load_pack(GRID)
    load_pack(GRID, topology=False)  # a checked entry serves an unchecked load
    assert len(validations) == 3
    assert_same_pack(fresh, load_pack(GRID, topology=False))


def test_topology_warnings_are_kept_and_skipped_by_kind(cache, grid_copy, validations):
    """A red line leaving the priority unit is a topology warning: cached, and left out when topology=False."""
    path = grid_copy / "red_line.geojson"
    path.write_text(path.read_text(encoding="utf-8").replace("500800.0", "501300.0"), encoding="utf-8")
    fresh = load_pack(grid_copy, cache=False)
    assert any("red_line outside" in w for w in fresh.warnings)
    assert [load_pack(grid_copy).warnings, load_pack(grid_copy).warnings] == [fresh.warnings] * 2
    assert len(validations) == 2
    assert load_pack(grid_copy, topology=False).warnings == load_pack(grid_copy, topology=False, cache=False).warnings == ()
    assert len(validations) == 3  # the last one, uncached
    meta = json.loads((load_pack(grid_copy).cache_dir / "meta.json").read_text())
    assert [w["kind"] for w in meta["warnings"]] == ["topology.outside"]


_BUILD = """
import sys
from zoning.pack import load_pack
pack = load_pack(sys.argv[1])
print(pack.digest, pack.cache_dir)
"""


def test_concurrent_builders_leave_a_valid_cache(cache, validations, grid_copy):
    env = {**os.environ, "ZONING_CACHE": str(cache)}
    procs = [subprocess.Popen([sys.executable, "-c", _BUILD, str(grid_copy)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    assert len({o[0] for o in outs}) == 1
    pack = load_pack(grid_copy)
    assert len(validations) == 0, "after two builders the entry must be a valid hit"
    assert_same_pack(load_pack(grid_copy, cache=False), pack)
    assert not [p for p in (cache / "packs").iterdir() if p.name.startswith(".")]


# -- artefacts --------------------------------------------------------------------------------


def test_artifacts_round_trip(cache):
    pack = load_pack(GRID)
    geoms = np.array([shapely.box(0, 0, 1, 1), None, shapely.Point(3, 4)], dtype=object)
    arrays = {"x": np.arange(5, dtype=np.int32), "xy": np.random.default_rng(0).random((4, 2)), "geom": geoms, "names": np.array(["a", "bb"])}
    where = store_artifact(pack, "gk-4549", arrays, version=2)
    assert where is not None and where.parent.parent == pack.cache_dir
    got = load_artifact(load_pack(GRID), "gk-4549", version=2)
    assert set(got) == set(arrays)
    assert got["x"].dtype == np.int32 and got["x"].tolist() == [0, 1, 2, 3, 4]
    assert np.array_equal(got["xy"], arrays["xy"]) and np.array_equal(got["names"], arrays["names"])
    assert got["geom"][1] is None and shapely.equals(got["geom"][0], geoms[0]) and shapely.equals(got["geom"][2], geoms[2])
    assert load_artifact(pack, "gk-4549", version=3) is None
    assert load_artifact(pack, "other") is None


def test_a_frame_artifact_round_trips(cache):
    pack = load_pack(GRID)
    gk = pack.units.to_crs(4549)
    store_artifact(pack, "units-4549", gk)
    got = load_artifact(pack, "units-4549")
    geopandas.testing.assert_geodataframe_equal(gk, got, check_dtype=True)
    plain = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    store_artifact(pack, "plain", plain)
    pd.testing.assert_frame_equal(load_artifact(pack, "plain"), plain)


def test_a_damaged_artifact_is_absent(cache):
    pack = load_pack(GRID)
    where = store_artifact(pack, "a", {"x": np.arange(1000)})
    path = where / "data.npz"
    path.write_bytes(path.read_bytes()[:-10])
    assert load_artifact(pack, "a") is None
    assert store_artifact(pack, "a", {"x": np.arange(3)}) is not None  # replaced
    assert load_artifact(pack, "a")["x"].tolist() == [0, 1, 2]


def test_artifacts_without_a_cache_are_not_kept(monkeypatch):
    monkeypatch.setenv("ZONING_CACHE", "off")
    pack = load_pack(GRID)
    assert store_artifact(pack, "a", {"x": np.arange(3)}) is None
    assert load_artifact(pack, "a") is None


def test_bad_artifacts_are_refused(cache):
    pack = load_pack(GRID)
    with pytest.raises(ValueError, match="artifact name '../x' must be letters, digits"):
        store_artifact(pack, "../x", {"x": np.arange(3)})
    with pytest.raises(TypeError, match="array 'x' holds Python objects"):
        store_artifact(pack, "b", {"x": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(TypeError, match="an artifact is a dict of numpy arrays or a"):
        store_artifact(pack, "c", [1, 2, 3])


def test_a_rebuilt_entry_drops_its_artifacts(cache):
    pack = load_pack(GRID)
    store_artifact(pack, "a", {"x": np.arange(3)})
    _missing_index(pack.cache_dir)
    again = load_pack(GRID)
    assert load_artifact(again, "a") is None


def test_fields_of_every_kind_and_mixed_geometries_round_trip(cache, grid_copy, validations):
    """Extra fields (int, float, bool, dates, text with gaps), a missing name and a Polygon/MultiPolygon mix."""
    path = grid_copy / "units.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    extras = [
        {"n_people": 12, "share": 0.5, "flag": True, "since": "2020-01-31", "stamp": "2020-01-31T08:00:00", "note": "甲"},
        {"n_people": 7, "share": None, "flag": False, "since": "2021-06-01", "stamp": "2021-06-01T00:00:00", "note": None},
        {"n_people": 0, "share": 2.25, "flag": True, "since": None, "stamp": None, "note": "丙"},
    ]
    for feature, extra in zip(data["features"], extras):
        feature["properties"].update(extra)
    data["features"][1]["properties"]["unit_name"] = None
    first = data["features"][0]["geometry"]
    data["features"][0]["geometry"] = {"type": "MultiPolygon", "coordinates": [first["coordinates"]]}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    fresh = load_pack(grid_copy, cache=False)
    assert set(fresh.units.geom_type) == {"Polygon", "MultiPolygon"}
    assert fresh.units["unit_name"].iloc[1] is pd.NA
    load_pack(grid_copy)
    hit = load_pack(grid_copy)
    assert len(validations) == 2
    assert_same_pack(fresh, hit)


def test_leftovers_of_a_killed_builder_are_swept(cache):
    stale = cache / "packs" / ".tmp-0123456789ab-dead"
    stale.mkdir(parents=True)
    (stale / "units.parquet").write_bytes(b"half")
    os.utime(stale, (0, 0))
    fresh = cache / "packs" / ".tmp-0123456789ab-busy"  # another builder at work: left alone
    fresh.mkdir()
    load_pack(GRID)
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize("geoms", [
    [shapely.box(0, 0, 1, 1), shapely.Polygon([(0, 0), (2, 0), (2, 2)], holes=[[(1.5, 0.2), (1.8, 0.2), (1.8, 0.5)]])],
    [shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)])] * 3,
    [shapely.LineString([(0, 0, 1), (1, 1, 2)])],
    [shapely.box(0, 0, 1, 1), shapely.MultiPolygon([shapely.box(2, 2, 3, 3)])],
    [],
], ids=["polygons", "multipolygons", "3d-lines", "mixed", "empty"])
def test_geometry_arrays_round_trip_exactly(cache, geoms):
    pack = load_pack(GRID)
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    store_artifact(pack, "geoms", {"g": arr.reshape(-1, 1) if len(geoms) == 3 else arr})
    got = load_artifact(pack, "geoms")["g"]
    assert got.shape == (arr.reshape(-1, 1) if len(geoms) == 3 else arr).shape
    assert list(shapely.to_wkb(got.ravel())) == list(shapely.to_wkb(arr))
