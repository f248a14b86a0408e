"""The QGIS Processing plugin (qgis/zoning_qgis): parameters → project, finding the zoning tool, its
command lines and running it, all without QGIS; and headless runs through Debian's qgis_process (when
it is installed) that call this venv's zoning out of QGIS's process."""

import doctest
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PLUGIN = ROOT / "qgis" / "zoning_qgis"
sys.path.insert(0, str(PLUGIN.parent))
params = importlib.import_module("zoning_qgis.params")  # no QGIS import in these two modules
tool = importlib.import_module("zoning_qgis.tool")
sys.path.remove(str(PLUGIN.parent))


def test_params_and_tool_doctests():
    assert doctest.testmod(params).failed == 0
    assert doctest.testmod(tool).failed == 0


def test_project_from_params_gives_section2_keys_that_zoning_accepts():
    import zoning

    values = {"NAME": " 有机化工项目 ", "INDUSTRY": "2614，2619", "CONSTRUCTION": 2, "ACTIVITY": "",
              "EMISSIONS": "VOCs=12.5, NOx=3", "FUEL": "natural_gas,electricity", "WATER_M3": 120000,
              "COAL_T": 0, "LAND_HA": None, "ENERGY_TCE": "", "GROUNDWATER": 2}
    project = params.project_from_params(values)
    assert project == {"name": "有机化工项目", "industry": ["2614", "2619"], "construction": "expansion",
                       "emissions": {"VOCs": 12.5, "NOx": 3.0}, "fuel": ["natural_gas", "electricity"],
                       "water_m3": 120000.0, "coal_t": 0.0, "groundwater": False}
    parsed = zoning.parse_project(project)
    assert parsed.construction == "expansion" and parsed.emissions == {"NOx": 3.0, "VOCs": 12.5}


def test_not_given_and_nothing_differ():
    assert params.project_from_params({}) == {}
    assert params.project_from_params({"FUEL": "none", "EMISSIONS": "无"}) == {"fuel": [], "emissions": {}}
    assert params.project_from_params({"CONSTRUCTION": 0, "GROUNDWATER": 0, "FUEL": " "}) == {}
    assert params.project_from_params({"CONSTRUCTION": "新建"}) == {"construction": "新建"}  # text: zoning checks it


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"EMISSIONS": "VOCs 12"}, r"emissions expects POLLUTANT=T_PER_YEAR .*got 'VOCs 12'"),
        ({"EMISSIONS": "=12"}, r"emissions expects POLLUTANT=T_PER_YEAR .*got '=12'"),
        ({"EMISSIONS": "VOCs=lots"}, r"emissions VOCs: expected a number of t/a, got 'lots'"),
        ({"CONSTRUCTION": 7}, r"construction option 7 does not exist; expected 0–4: 0 = （未指定）not given, 1 = 新建 new"),
        ({"WATER_M3": "many"}, r"water_m3 expects a number, got 'many'"),
    ],
)
def test_bad_parameters_are_one_clear_error(values, message):
    with pytest.raises(params.ParameterError, match=message):
        params.project_from_params(values)


def _tool(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return str(path)


def test_find_zoning_cli_order_setting_env_path_site_packages(tmp_path):
    by_setting, by_env = _tool(tmp_path / "a" / "bin" / "zoning"), _tool(tmp_path / "b" / "zoning")
    on_path = _tool(tmp_path / "c" / "bin" / "zoning")
    venv = tmp_path / "venv"
    in_venv = _tool(venv / "bin" / "zoning")
    (venv / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    site_packages = str(venv / "lib" / "python3.11" / "site-packages")
    env = {"ZONING_CLI": by_env, "PATH": str(tmp_path / "c" / "bin"), "ZONING_SITE_PACKAGES": site_packages}
    find = params.find_zoning_cli
    assert find(by_setting, environ=env) == (by_setting, "setting")
    assert find(str(tmp_path / "a"), environ=env) == (by_setting, "setting")  # the environment's folder
    assert find(" ", environ=env) == (by_env, "ZONING_CLI")  # a blank setting is unset
    assert find(environ={**env, "ZONING_CLI": ""}) == (on_path, "PATH")
    assert find(environ={**env, "ZONING_CLI": "", "PATH": str(tmp_path / "empty")}) == (in_venv, "ZONING_SITE_PACKAGES")
    assert find(None, site_packages, environ={"PATH": ""}) == (in_venv, "ZONING_SITE_PACKAGES")  # the former setting
    windows = tmp_path / "winvenv"
    exe = _tool(windows / "Scripts" / "zoning.exe")
    (windows / "Lib" / "site-packages").mkdir(parents=True)
    assert find(environ={"PATH": "", "ZONING_SITE_PACKAGES": str(windows / "Lib" / "site-packages")}) == (exe, "ZONING_SITE_PACKAGES")
    assert find(str(windows), environ={"PATH": ""}) == (exe, "setting")


def test_find_zoning_cli_refuses_a_wrong_path_and_says_how_to_install(tmp_path):
    not_executable = tmp_path / "zoning"
    not_executable.write_text("")
    for value in (str(tmp_path / "nowhere"), str(not_executable), str(tmp_path)):
        with pytest.raises(params.ZoningNotFoundError, match=r"^setting '.*' 不是 zoning 可执行文件.* is neither the zoning executable"):
            params.find_zoning_cli(value, environ={"PATH": ""})
    with pytest.raises(params.ZoningNotFoundError, match=r"^ZONING_CLI '.*nowhere' 不是 zoning 可执行文件"):
        params.find_zoning_cli(environ={"ZONING_CLI": str(tmp_path / "nowhere"), "PATH": ""})
    with pytest.raises(params.ZoningNotFoundError) as info:
        params.find_zoning_cli(environ={"PATH": str(tmp_path), "ZONING_SITE_PACKAGES": str(tmp_path / "sp")})
    text = str(info.value)
    assert text.startswith("未找到 zoning 命令行工具") and "The zoning command-line tool was not found" in text
    assert "pip install zoning" in text and "ZONING_CLI" in text and "zoning executable" in text
    assert f"also looked beside {tmp_path / 'sp'}" in text


def test_command_lines():
    assert params.batch_command(Path("/e/bin/zoning"), Path("/t/s.gpkg"), Path("/t/o.gpkg"), None, "/p") == [
        "/e/bin/zoning", "batch", "/t/s.gpkg", "--pack", "/p", "-o", "/t/o.gpkg"]
    assert params.eligible_command("zoning", "/t/e.gpkg", pack="/p") == [
        "zoning", "eligible", "--pack", "/p", "-o", "/t/e.gpkg", "--format", "json"]
    assert params.validate_command("zoning", "/p") == ["zoning", "validate", "/p", "--format", "json"]
    env = params.tool_env({"PYTHONPATH": "/usr/share/qgis/python", "GDAL_DATA": "/usr/share/gdal", "HOME": "/h"})
    assert env == {"HOME": "/h", "PYTHONIOENCODING": "utf-8", "PYTHONUTF8": "1", "PYTHONUNBUFFERED": "1"}


class Feedback:
    """What tool.run needs of a QgsProcessingFeedback; cancels once ``cancel_after`` lines were pushed."""

    def __init__(self, cancel_after=None):
        self.info, self.warnings, self.cancel_after = [], [], cancel_after

    def isCanceled(self):  # noqa: N802
        return self.cancel_after is not None and len(self.info) + len(self.warnings) >= self.cancel_after

    def pushInfo(self, text):  # noqa: N802
        self.info.append(text)

    def pushWarning(self, text):  # noqa: N802
        self.warnings.append(text)


def test_run_streams_stderr_and_maps_exit_2_to_the_one_line_error():
    script = ("import sys\nprint('reading sites', file=sys.stderr)\nprint('zoning: warning: a sliver', file=sys.stderr)\n"
              "print('{\"ok\": true}')\nprint('zoning: error: industry code 9999 is not in GB/T 4754-2017', file=sys.stderr)\n"
              "sys.exit(int(sys.argv[1]))")
    feedback = Feedback()
    assert tool.run([sys.executable, "-c", script, "0"], feedback) == (
        0, '{"ok": true}\n', ["reading sites", "zoning: warning: a sliver", "zoning: error: industry code 9999 is not in GB/T 4754-2017"])
    assert feedback.info == ["reading sites"] and feedback.warnings == ["a sliver"]
    with pytest.raises(tool.ToolError, match=r"^industry code 9999 is not in GB/T 4754-2017$") as info:
        tool.run([sys.executable, "-c", script, "2"], Feedback())
    assert info.value.returncode == 2
    assert tool.run([sys.executable, "-c", script, "1"], Feedback(), ok=(0, 1))[0] == 1
    with pytest.raises(tool.ToolError, match=r"(?s)^zoning 异常退出 exited with status 1: .*\nreading sites\nzoning: warning: a sliver"):
        tool.run([sys.executable, "-c", script, "1"], Feedback())
    with pytest.raises(tool.ToolError, match=r"^无法启动 zoning Cannot start /no/such/zoning"):
        tool.run(["/no/such/zoning", "batch"], Feedback())


def test_run_kills_the_tool_when_cancelled(tmp_path):
    marker = tmp_path / "still-running"
    script = (f"import sys, time\nprint('started', file=sys.stderr, flush=True)\ntime.sleep(20)\n"
              f"open({str(marker)!r}, 'w').close()")
    started = time.monotonic()
    with pytest.raises(tool.Canceled, match="已取消 Cancelled"):
        tool.run([sys.executable, "-c", script], Feedback(cancel_after=1))
    assert time.monotonic() - started < 10
    time.sleep(0.5)
    assert not marker.exists()


def test_the_commands_run_with_the_real_tool(tmp_path):
    """batch_command and validate_command against this venv's zoning: the tool accepts them and answers as §4/§6 say."""
    cli = shutil.which("zoning", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.skip(f"no zoning next to {sys.executable}")
    import geopandas as gpd
    import shapely

    gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.Point(119.95, 30.55)], crs="EPSG:4326").to_file(tmp_path / "s.gpkg")
    project = tool.write_project({"industry": ["9999"]}, tmp_path)
    with pytest.raises(tool.ToolError, match=r"^industry code '9999' is not in GB/T 4754-2017") as info:
        tool.run(params.batch_command(cli, tmp_path / "s.gpkg", tmp_path / "o.gpkg", project), Feedback())
    assert info.value.returncode == 2
    broken = ROOT / "tests" / "data" / "packs" / "broken-duplicate-clause"
    code, stdout, _ = tool.run(params.validate_command(cli, broken, topology=False), Feedback(), ok=(0, 1))
    report = json.loads(stdout)
    assert code == 1 and report["ok"] is False
    assert [params.problem_text(p) for p in report["problems"]] == [
        "rules.yaml:30: error: clause id 'T-RL-01' is used twice (first on line 12)"]


def test_make_qgis_plugin_builds_the_zip():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    subprocess.run(["make", "-s", "qgis-plugin"], cwd=ROOT, check=True, capture_output=True)
    with zipfile.ZipFile(ROOT / "dist" / "zoning_qgis.zip") as z:
        names = set(z.namelist())
        meta = z.read("zoning_qgis/metadata.txt").decode("utf-8")
    assert {"zoning_qgis/__init__.py", "zoning_qgis/metadata.txt", "zoning_qgis/provider.py",
            "zoning_qgis/algorithms.py", "zoning_qgis/params.py", "zoning_qgis/tool.py"} <= names
    assert not any("__pycache__" in n for n in names)
    assert "hasProcessingProvider=yes" in meta and "qgisMinimumVersion=3.22" in meta
    version = re.search(r"^version=(\S+)$", meta, re.M).group(1)
    assert re.search(rf"^changelog={re.escape(version)}: ", meta, re.M), "metadata.txt: the changelog starts with this version"


# --- headless QGIS -------------------------------------------------------------------------------

QGIS_PROCESS = shutil.which("qgis_process.bin") or shutil.which("qgis_process")  # Debian's wrapper adds a flag 3.22 refuses
SYSTEM_PYTHON = "/usr/bin/python3"


def _has_python_qgis():
    if not QGIS_PROCESS or not os.path.exists(SYSTEM_PYTHON):
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}).returncode == 0


needs_qgis = pytest.mark.skipif(not _has_python_qgis(),
                                reason="qgis_process or python3-qgis is not installed (Debian: apt-get install qgis python3-qgis "
                                       "qgis-providers, ~1.2 GB, so not in CI)")


VENV_ZONING = shutil.which("zoning", path=str(Path(sys.executable).parent))


@pytest.fixture(scope="module")
def qgis_env(tmp_path_factory):
    """A throw-away QGIS profile (HOME) with the plugin installed and enabled; no zoning found yet."""
    home = tmp_path_factory.mktemp("qgis-home")
    plugins = home / ".local/share/QGIS/QGIS3/profiles/default/python/plugins"
    plugins.mkdir(parents=True)
    shutil.copytree(PLUGIN, plugins / "zoning_qgis", ignore=shutil.ignore_patterns("__pycache__"))
    run = home / "run"
    run.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "ZONING_SITE_PACKAGES", "ZONING_CLI", "VIRTUAL_ENV"}}
    # QGIS's own PATH, without this venv or any other place a zoning could be found
    path = os.pathsep.join(d for d in dict.fromkeys([str(Path(QGIS_PROCESS).parent), str(Path(SYSTEM_PYTHON).parent), "/bin"])
                           if not shutil.which("zoning", path=d))
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(run), PATH=path)
    out = subprocess.run([QGIS_PROCESS, "plugins", "enable", "zoning_qgis"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return env


@pytest.fixture(scope="module")
def zoning_cli():
    if VENV_ZONING is None:
        pytest.fail(f"no zoning command next to {sys.executable}: install zoning into this venv (make install)")
    return VENV_ZONING


def _qgis(env, *args):
    return subprocess.run([QGIS_PROCESS, *args], env=env, capture_output=True, text=True, timeout=300)


@needs_qgis
def test_qgis_process_lists_the_algorithms(qgis_env):
    out = _qgis(qgis_env, "list")
    assert out.returncode == 0, out.stderr
    for line in ("zoning:screensites\t场地研判 Screen sites", "zoning:eligibilitymap\t可选区域 Eligibility map",
                 "zoning:validatepack\t数据包检查 Validate pack"):
        assert line in out.stdout
    helptext = _qgis(qgis_env, "help", "zoning:screensites").stdout
    for param in ("INPUT", "PACK", "INDUSTRY", "CONSTRUCTION", "EMISSIONS", "FUEL", "WATER_M3", "OUTPUT"):
        assert param in helptext


@needs_qgis
def test_without_the_tool_the_algorithm_says_how_to_install(qgis_env):
    out = _qgis(qgis_env, "run", "zoning:validatepack", "--", f"PACK={ROOT / 'data' / 'packs' / 'huzhou-demo'}")
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "未找到 zoning 命令行工具" in text and "The zoning command-line tool was not found" in text
    assert "pip install zoning" in text and "ZONING_CLI" in text and "Traceback" not in text


@needs_qgis
def test_qgis_process_screens_and_maps_with_the_venvs_zoning(qgis_env, zoning_cli, tmp_path):
    """zoning runs as a subprocess (the venv's wheels, their own GEOS): the same rows as screen_many gives here."""
    import geopandas as gpd
    import shapely

    import zoning

    env = {**qgis_env, "ZONING_CLI": zoning_cli}
    sites = gpd.GeoDataFrame({"name": ["甲", "乙", "丙"], "industry": ["2614", None, None], "note": ["有 VOCs", None, "x"]},
                             geometry=[shapely.Point(119.95, 30.55), shapely.Point(119.6, 30.5),
                                       shapely.Point(119.6, 30.5).buffer(0.01)], crs="EPSG:4326")
    sites.to_file(tmp_path / "sites.gpkg")
    out = _qgis(env, "run", "zoning:screensites", "--", f"INPUT={tmp_path / 'sites.gpkg'}",
                "INDUSTRY=6550", "CONSTRUCTION=1", "EMISSIONS=VOCs=12.5,NOx=3", f"OUTPUT={tmp_path / 'out.gpkg'}")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert f"zoning 命令行工具 tool: {zoning_cli} (ZONING_CLI)" in out.stdout
    assert "rows screened" in out.stdout  # the tool's stderr, streamed into the log
    got = gpd.read_file(tmp_path / "out.gpkg")
    pack = zoning.load_pack()
    want = pack.screen_many(sites, {"industry": "6550", "construction": "new", "emissions": {"VOCs": 12.5, "NOx": 3}})
    assert list(got["name"]) == ["甲", "乙", "丙"] and list(got["note"].fillna("")) == ["有 VOCs", "", "x"]
    assert "zoning_qgis_row" not in got.columns
    for col in ("verdict", "verdict_zh", "units", "red_line", "blocking", "missing", "n_findings"):
        assert [v or None for v in got[col]] == [v or None for v in want[col]], col
    assert got.geometry.geom_equals_exact(sites.geometry, 1e-9).all()

    project = {"industry": "2614", "construction": "new", "fuel": []}
    out = _qgis(env, "run", "zoning:eligibilitymap", "--", "INDUSTRY=2614", "CONSTRUCTION=1", "FUEL=none",
                f"OUTPUT={tmp_path / 'elig.gpkg'}")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "各类面积 areas_m2" in out.stdout
    elig = gpd.read_file(tmp_path / "elig.gpkg")
    want = pack.eligibility(project).frame

    def rows(frame):
        return sorted((r.verdict, r.blocking or "", r.missing or "", round(r.area_m2)) for r in frame.itertuples())

    assert rows(elig) == rows(want)
    assert elig.crs.to_epsg() == 4490 and list(elig.total_bounds.round(9)) == list(want.total_bounds.round(9))


@needs_qgis
def test_a_bad_industry_code_is_the_tools_one_line_error(qgis_env, zoning_cli, tmp_path):
    import geopandas as gpd
    import shapely

    gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.Point(119.95, 30.55)], crs="EPSG:4326").to_file(tmp_path / "s.gpkg")
    out = _qgis({**qgis_env, "ZONING_CLI": zoning_cli}, "run", "zoning:screensites", "--", f"INPUT={tmp_path / 's.gpkg'}",
                "INDUSTRY=9999", f"OUTPUT={tmp_path / 'out.gpkg'}")
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "研判失败 Screening failed: industry code '9999' is not in GB/T 4754-2017; did you mean" in text
    assert "Traceback" not in text and "zoning: error:" not in text


def _profile_with_setting(qgis_env, tmp_path, value):
    """A copy of the profile whose Processing setting 'zoning executable' is ``value``."""
    home = tmp_path / "home"
    shutil.copytree(qgis_env["HOME"], home, symlinks=True)
    ini = home / ".local/share/QGIS/QGIS3/profiles/default/QGIS/QGIS3.ini"
    ini.parent.mkdir(parents=True, exist_ok=True)
    with ini.open("a", encoding="utf-8") as fh:
        fh.write(f"\n[Processing]\nConfiguration\\ZONING_CLI={value}\n")
    (home / "run").chmod(0o700)
    return {**qgis_env, "HOME": str(home), "XDG_RUNTIME_DIR": str(home / "run")}


@needs_qgis
def test_qgis_process_validates_with_the_provider_setting(qgis_env, zoning_cli, tmp_path):
    env = _profile_with_setting(qgis_env, tmp_path, zoning_cli)  # no ZONING_CLI, no zoning on PATH
    out = _qgis(env, "run", "zoning:validatepack", "--", f"PACK={ROOT / 'data' / 'packs' / 'huzhou-demo'}",
                f"REPORT={tmp_path / 'report.json'}")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert f"zoning 命令行工具 tool: {zoning_cli} (setting)" in out.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ok"] is True and report["errors"] == 0 and report["summary"]["id"] == "huzhou-demo"
    broken = ROOT / "tests" / "data" / "packs" / "broken-duplicate-clause"
    out = _qgis(env, "run", "zoning:validatepack", "--", f"PACK={broken}", "TOPOLOGY=false", f"REPORT={tmp_path / 'broken.txt'}")
    assert out.returncode != 0
    assert "数据包有错误 The pack has errors" in out.stdout + out.stderr
    assert "rules.yaml:30: error: clause id 'T-RL-01' is used twice" in (tmp_path / "broken.txt").read_text(encoding="utf-8")


@needs_qgis
def test_qgis_process_keeps_odd_layers_whole(qgis_env, zoning_cli, tmp_path):
    """A text 'fid' field, an old 'Verdict' column and a feature without geometry: every feature comes back."""
    sites = tmp_path / "odd.geojson"
    sites.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"fid": "a-1", "Verdict": "old", "industry": "2614"},
         "geometry": {"type": "Point", "coordinates": [119.95, 30.55]}},
        {"type": "Feature", "properties": {"fid": "b-2", "Verdict": "old", "industry": "6550"}, "geometry": None}]}))
    out = _qgis({**qgis_env, "ZONING_CLI": zoning_cli}, "run", "zoning:screensites", "--", f"INPUT={sites}",
                "CONSTRUCTION=1", f"OUTPUT={tmp_path / 'out.geojson'}")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "1 of 2 rows could not be screened" in out.stdout
    got = [f["properties"] for f in json.loads((tmp_path / "out.geojson").read_text())["features"]]
    import geopandas as gpd
    import shapely

    import zoning

    want = zoning.load_pack().screen_many(gpd.GeoDataFrame({"industry": ["2614"]}, geometry=[shapely.Point(119.95, 30.55)],
                                                           crs="EPSG:4326"), {"construction": "new"})
    assert [p["fid"] for p in got] == ["a-1", "b-2"] and "verdict" not in got[0]  # 'Verdict' overwritten, not doubled
    assert (got[0]["Verdict"], got[0]["blocking"], got[0]["error"]) == (want["verdict"][0], want["blocking"][0], None)
    assert got[1]["Verdict"] is None and got[1]["error"] == "empty geometry"
