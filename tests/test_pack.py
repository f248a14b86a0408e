"""The pack validator: the demo and grid packs are clean; each broken pack gives exactly its error."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoning import load_pack
from zoning.cli import main
from zoning.errors import PackError
from zoning.pack import pack_digest, validate_pack

PACKS = Path(__file__).parent / "data" / "packs"
BROKEN = sorted(p.name for p in PACKS.glob("broken-*"))


def _located(problem):
    return f"{problem.file}:{problem.line}: {problem.message}" if problem.line else f"{problem.file}: {problem.message}"


def test_grid_pack_is_clean():
    report = validate_pack(PACKS / "grid")
    assert report.problems == []
    pack = report.pack
    assert (pack.id, pack.version, pack.region) == ("grid-test", "1.0", "330521")
    assert len(pack.units) == 3 and len(pack.clauses) == 10
    assert pack.units.crs.to_epsg() == 4490


def test_demo_pack_validates_with_zero_errors():
    report = validate_pack()
    assert report.errors == [], [str(p) for p in report.errors]
    summary = report.pack.summary()
    assert summary["clauses"] >= 40
    assert set(summary["units"]) == {"priority", "key", "general"}
    assert all(n > 0 for n in summary["clauses_by_dimension"].values())
    assert all(n > 0 for n in summary["clauses_by_tier"].values())


@pytest.mark.parametrize("name", BROKEN)
def test_broken_pack_reports_exactly_its_error(name):
    expected = (PACKS / name / "EXPECTED").read_text(encoding="utf-8").strip()
    report = validate_pack(PACKS / name)
    errors = [_located(p) for p in report.errors]
    assert len(errors) == 1, errors
    assert expected in errors[0]
    with pytest.raises(PackError, match="run `zoning validate|" + expected.split(": ", 1)[0].split(":")[0]):
        load_pack(PACKS / name)


@pytest.mark.parametrize("name", ["broken-unknown-industry", "broken-overlap", "broken-manifest-type"])
def test_validate_command_exits_non_zero_with_the_problem(name):
    expected = (PACKS / name / "EXPECTED").read_text(encoding="utf-8").strip()
    result = CliRunner().invoke(main, ["validate", str(PACKS / name)])
    assert result.exit_code == 1
    file_line, message = expected.split(": ", 1)
    assert f"{file_line}: error: {message}" in result.output


def test_validate_command_summarises_a_clean_pack(tmp_path):
    out = tmp_path / "problems.geojson"
    result = CliRunner().invoke(main, ["validate", str(PACKS / "grid"), "--problems", str(out)])
    assert result.exit_code == 0, result.output
    assert re.search(r"优先保护单元 priority +1 +1.00 km²", result.output)
    assert "0 errors" in result.output
    assert '"features": []' in out.read_text(encoding="utf-8")


def test_problems_geojson_marks_the_overlap(tmp_path):
    import json

    out = tmp_path / "p.geojson"
    CliRunner().invoke(main, ["validate", str(PACKS / "broken-overlap"), "--problems", str(out)])
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert [f["properties"]["kind"] for f in features] == ["overlap"]
    assert features[0]["properties"]["area_m2"] == pytest.approx(10000.0, abs=0.01)
    lon, lat = features[0]["geometry"]["coordinates"]
    assert 120.0 < lon < 120.02 and 30.71 < lat < 30.74


def test_load_pack_refuses_a_missing_directory():
    with pytest.raises(PackError, match="is not a directory; a pack is a directory with pack.yaml"):
        load_pack(PACKS / "nope")


def test_digest_is_stable_and_content_based(tmp_path):
    import shutil

    a = load_pack(PACKS / "grid").digest
    copy = tmp_path / "copy"
    shutil.copytree(PACKS / "grid", copy)
    assert load_pack(copy).digest == a  # the path does not matter
    (copy / "rules.yaml").write_text((copy / "rules.yaml").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert load_pack(copy).digest != a
    assert pack_digest(copy, ["pack.yaml"]).startswith("sha256:")


def test_geojson_layers_take_the_manifest_crs():
    pack = load_pack(PACKS / "grid")
    x, y = pack.units.geometry.iloc[0].exterior.coords[0]
    assert 119.9 < x < 120.1 and 30.6 < y < 30.8


@pytest.mark.parametrize("key, value", [("units:    {path: units.geojson}", "units:    {path: ../units.geojson}"), ("rules: rules.yaml", "rules: /etc/rules.yaml")])
def test_files_outside_the_pack_are_refused(tmp_path, key, value):
    import shutil

    pack = tmp_path / "pack"
    shutil.copytree(PACKS / "grid", pack)
    shutil.copy(PACKS / "grid" / "units.geojson", tmp_path / "units.geojson")
    manifest = pack / "pack.yaml"
    text = manifest.read_text(encoding="utf-8")
    assert key in text
    manifest.write_text(text.replace(key, value), encoding="utf-8")
    report = validate_pack(pack)
    assert [p.kind for p in report.errors] == ["path_outside"]
    with pytest.raises(PackError, match=r"pack\.yaml:\d+: error: .* lies outside the pack directory"):
        load_pack(pack)
