"""The command line: `zoning screen`, `zoning validate`, `zoning demo` through click's CliRunner."""

import json

import pytest
import shapely
from click.testing import CliRunner

from conftest import GRID, box, gk, write_geojson
from zoning.cli import main

QUIET_FLAGS = ["--construction", "new", "--fuel", "none", "--water-m3", "0", "--coal-t", "0"]


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def test_screen_a_geojson_feature_uses_its_properties(tmp_path):
    site = write_geojson(tmp_path / "site.geojson", box(100, 100, 150, 150), {"name": "测试", "industry": "2614", "construction": "new"})
    result = run("screen", site, "--pack", GRID, "--format", "json")
    assert result.exit_code == 0, result.output
    v = json.loads(result.output)
    assert v["verdict"] == "prohibited"
    assert "T-PRI-01" in {f["clause_id"] for f in v["findings"]}
    assert v["project"]["name"] == "测试"


def test_flags_override_the_feature_properties(tmp_path):
    site = write_geojson(tmp_path / "site.geojson", box(100, 1100, 200, 1200), {"industry": "2614"})
    result = run("screen", site, "--pack", GRID, "--industry", "6550", "--emission", "SO2=1", *QUIET_FLAGS, "--format", "json")
    v = json.loads(result.output)
    assert v["project"]["industry"] == ["6550"] and v["verdict"] == "permitted"


def test_project_file_and_output_file(tmp_path):
    site = write_geojson(tmp_path / "site.geojson", box(1100, 600, 1200, 700))
    project = tmp_path / "project.yaml"
    project.write_text("name: 印染项目\nindustry: '1712'\nconstruction: new\n", encoding="utf-8")
    out = tmp_path / "verdict.json"
    result = run("screen", site, "--pack", GRID, "--project", project, "-o", out, "--format", "text")
    assert result.exit_code == 0
    assert "结论 Verdict: 禁止准入 PROHIBITED" in result.output
    assert json.loads(out.read_text(encoding="utf-8"))["verdict"] == "prohibited"


def test_lon_lat_and_stdin(tmp_path):
    p = gk(shapely.Point(1550, 1550))
    a = run("screen", f"{p.x},{p.y}", "--pack", GRID, "--industry", "6550", "--emission", "SO2=1", *QUIET_FLAGS, "--format", "json")
    feature = json.dumps({"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(p)})
    b = run("screen", "-", "--pack", GRID, "--industry", "6550", "--emission", "SO2=1", *QUIET_FLAGS, "--format", "json", input=feature)
    assert a.exit_code == b.exit_code == 0, (a.output, b.output)
    va, vb = json.loads(a.output), json.loads(b.output)
    assert va["units"] == vb["units"] and va["verdict"] == vb["verdict"] == "permitted"


@pytest.mark.parametrize(
    "args, message",
    [
        (["120.0104,30.7224", "--industry", "2615"], "industry code '2615' is not in GB/T 4754-2017; did you mean 261"),
        (["121.5,31.9"], "wholly outside the pack's region"),
        (["no_such_file.geojson"], "no_such_file.geojson"),
        (["120.0104,30.7224", "--emission", "VOCs"], "--emission expects POLLUTANT=T_PER_YEAR"),
        (["120.0104,30.7224", "--emission", "VOX=1"], "project emissions pollutant 'VOX' is not one of"),
        (["120.0104,30.7224", "--gcj02", "--bd09"], "at most one of --gcj02 and --bd09"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = run("screen", *args, "--pack", GRID)
    assert result.exit_code == 2
    err = result.stderr if hasattr(result, "stderr") else result.output
    assert message in err
    assert "Traceback" not in result.output
    assert len(err.strip().splitlines()) == 1


def test_invalid_pack_is_exit_2_for_screen():
    result = run("screen", "120.0104,30.7224", "--pack", GRID.parent / "broken-overlap")
    assert result.exit_code == 2
    assert "overlap" in result.output


def test_help_has_an_example():
    result = run("screen", "--help")
    assert result.exit_code == 0 and "Examples:" in result.output and "zoning screen" in result.output


def test_demo_screens_every_sample_and_shows_every_verdict(tmp_path):
    result = run("demo", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    written = sorted(tmp_path.glob("*.json"))
    assert 8 <= len(written) <= 12
    verdicts = {json.loads(p.read_text(encoding="utf-8"))["verdict"] for p in written}
    assert verdicts == {"prohibited", "needs_information", "conditional", "permitted"}
    assert "✗" not in result.output  # each sample gives the verdict it was written to show
    # and each sample's map and HTML report, plus the pack map, with where they are
    assert len(list(tmp_path.glob("*.map.html"))) == len(written)
    assert len(list(tmp_path.glob("*.report.html"))) == len(written)
    assert (tmp_path / "pack.html").is_file() and "pack.html" in result.output


def test_several_industry_codes_by_repeat_or_comma():
    p = gk(shapely.Point(1550, 1550))
    a = run("screen", f"{p.x},{p.y}", "--pack", GRID, "--industry", "2614", "--industry", "1712", "--format", "json")
    b = run("screen", f"{p.x},{p.y}", "--pack", GRID, "--industry", "2614,1712", "--format", "json")
    assert json.loads(a.output)["project"]["industry"] == json.loads(b.output)["project"]["industry"] == ["2614", "1712"]
