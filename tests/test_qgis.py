"""The QGIS Processing plugin (qgis/zoning_qgis): parameter → project translation without QGIS, and
headless runs through Debian's qgis_process when it is installed."""

import doctest
import importlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PLUGIN = ROOT / "qgis" / "zoning_qgis"
sys.path.insert(0, str(PLUGIN.parent))
params = importlib.import_module("zoning_qgis.params")  # no QGIS import in this module
sys.path.remove(str(PLUGIN.parent))


def test_params_doctests():
    assert doctest.testmod(params).failed == 0


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


def test_import_zoning_explains_how_to_install(tmp_path):
    """In a Python without zoning (the system one, run outside the checkout): the hint, then the site-packages route."""
    python = SYSTEM_PYTHON if os.path.exists(SYSTEM_PYTHON) else sys.executable
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from zoning_qgis.params import import_zoning, ZoningImportError\n"
            "try:\n    m = import_zoning(sys.argv[2] or None); print('IMPORTED', m.__file__)\n"
            "except ZoningImportError as e:\n    print('ERROR', e)")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "ZONING_SITE_PACKAGES"}}

    def run(site_packages):
        return subprocess.run([python, "-I" if python == sys.executable else "-s", "-c", code, str(PLUGIN.parent), site_packages],
                              cwd=tmp_path, env=env, capture_output=True, text=True).stdout

    if "IMPORTED" in run(""):
        pytest.skip(f"zoning is importable in {python} without help")
    out = run("")
    assert out.startswith("ERROR 未找到 zoning 库") and "pip install" in out and "ZONING_SITE_PACKAGES" in out
    assert "is not a directory" in run(str(tmp_path / "nowhere"))
    import sysconfig

    venv_site = sysconfig.get_paths()["purelib"]  # this venv's site-packages (editable zoning via its .pth)
    if sys.version_info[:2] == tuple(int(x) for x in subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True).stdout.split()):
        assert f"IMPORTED {ROOT / 'zoning' / '__init__.py'}" in run(venv_site)


def test_make_qgis_plugin_builds_the_zip():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    subprocess.run(["make", "-s", "qgis-plugin"], cwd=ROOT, check=True, capture_output=True)
    with zipfile.ZipFile(ROOT / "dist" / "zoning_qgis.zip") as z:
        names = set(z.namelist())
        meta = z.read("zoning_qgis/metadata.txt").decode("utf-8")
    assert {"zoning_qgis/__init__.py", "zoning_qgis/metadata.txt", "zoning_qgis/provider.py",
            "zoning_qgis/algorithms.py", "zoning_qgis/params.py"} <= names
    assert not any("__pycache__" in n for n in names)
    assert "hasProcessingProvider=yes" in meta and "qgisMinimumVersion=3.22" in meta


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


@pytest.fixture(scope="module")
def qgis_env(tmp_path_factory):
    """A throw-away QGIS profile (HOME) with the plugin installed and enabled."""
    home = tmp_path_factory.mktemp("qgis-home")
    plugins = home / ".local/share/QGIS/QGIS3/profiles/default/python/plugins"
    plugins.mkdir(parents=True)
    shutil.copytree(PLUGIN, plugins / "zoning_qgis", ignore=shutil.ignore_patterns("__pycache__"))
    run = home / "run"
    run.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "ZONING_SITE_PACKAGES", "VIRTUAL_ENV"}}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(run))
    out = subprocess.run([QGIS_PROCESS, "plugins", "enable", "zoning_qgis"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return env


def _qgis(env, *args):
    return subprocess.run([QGIS_PROCESS, *args], env=env, capture_output=True, text=True, timeout=600)


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


def _system_python_has_zoning(env):
    return subprocess.run([SYSTEM_PYTHON, "-c", "import zoning"], env=env, capture_output=True).returncode == 0


@needs_qgis
def test_without_zoning_the_algorithm_says_how_to_install(qgis_env, tmp_path):
    if _system_python_has_zoning(qgis_env):
        pytest.skip("zoning is installed in QGIS's Python here, so the install hint cannot be shown")
    out = _qgis(qgis_env, "run", "zoning:validatepack", "--", f"PACK={ROOT / 'data' / 'packs' / 'huzhou-demo'}")
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "未找到 zoning 库" in text and "pip install" in text and "ZONING_SITE_PACKAGES" in text
    env = {**qgis_env, "ZONING_SITE_PACKAGES": str(tmp_path / "no-such-venv")}
    out = _qgis(env, "run", "zoning:validatepack", "--", f"PACK={ROOT / 'data' / 'packs' / 'huzhou-demo'}")
    assert out.returncode != 0 and "is not a directory" in out.stdout + out.stderr


@needs_qgis
def test_qgis_process_screens_validates_and_maps(qgis_env, tmp_path):
    """Needs zoning importable in QGIS's own Python with native libraries that match QGIS's.

    The venv's wheels cannot be used: shapely's bundled GEOS (≥ 3.12, coverage functions) and
    the system GEOS that QGIS has already loaded clash in one process, and QGIS segfaults in
    ``load_pack``'s topology check (seen with Debian 12's QGIS 3.22 / GEOS 3.11).
    """
    if not _system_python_has_zoning(qgis_env):
        pytest.skip("zoning is not importable in QGIS's Python (/usr/bin/python3); the venv's wheels cannot stand in: "
                    "their GEOS clashes with the system GEOS QGIS loads (segfault), so install zoning into QGIS's Python")
    import geopandas as gpd
    import shapely

    import zoning

    sites = gpd.GeoDataFrame({"name": ["甲", "乙"], "industry": ["2614", None]},
                             geometry=[shapely.Point(119.95, 30.55), shapely.Point(119.6, 30.5)], crs="EPSG:4326")
    sites.to_file(tmp_path / "sites.gpkg")
    out = _qgis(qgis_env, "--json", "run", "zoning:screensites", "--", f"INPUT={tmp_path / 'sites.gpkg'}",
                "INDUSTRY=6550", "CONSTRUCTION=1", "EMISSIONS=VOCs=12.5,NOx=3", f"OUTPUT={tmp_path / 'out.gpkg'}")
    assert out.returncode == 0, out.stderr[-2000:]
    got = gpd.read_file(tmp_path / "out.gpkg")
    want = zoning.load_pack().screen_many(sites, {"industry": "6550", "construction": "new", "emissions": {"VOCs": 12.5, "NOx": 3}})
    for col in ("verdict", "blocking", "missing", "n_findings"):
        assert list(got[col]) == list(want[col])
    out = _qgis(qgis_env, "run", "zoning:eligibilitymap", "--", "INDUSTRY=2614", "CONSTRUCTION=1",
                f"OUTPUT={tmp_path / 'elig.gpkg'}")
    assert out.returncode == 0, out.stderr[-2000:]
    elig = gpd.read_file(tmp_path / "elig.gpkg")
    assert len(elig) == len(zoning.load_pack().eligibility({"industry": "2614", "construction": "new"}).frame)
    out = _qgis(qgis_env, "--json", "run", "zoning:validatepack", "--", f"PACK={ROOT / 'data' / 'packs' / 'huzhou-demo'}",
                f"REPORT={tmp_path / 'report.json'}")
    assert out.returncode == 0 and json.loads((tmp_path / "report.json").read_text())["ok"] is True
    broken = ROOT / "tests" / "data" / "packs" / "broken-duplicate-clause"
    out = _qgis(qgis_env, "run", "zoning:validatepack", "--", f"PACK={broken}")
    assert out.returncode != 0 and "数据包有错误" in out.stdout + out.stderr
