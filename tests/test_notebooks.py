"""The notebooks in notebooks/ run top to bottom, offline, each in under a minute (nbclient)."""

import time
from pathlib import Path

import geopandas as gpd
import pytest

from zoning.assets import offline_available

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
NAMES = ["01_screen_a_site", "02_screen_many_sites", "03_check_the_zoning", "04_compare_versions", "05_where_could_it_go"]


@pytest.mark.skipif(not offline_available(), reason="offline assets not installed (make assets)")
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_offline(name, tmp_path, monkeypatch):
    # Offline: maps inline Leaflet; any HTTP(S) client would hit a dead proxy.
    monkeypatch.setenv("ZONING_OFFLINE", "1")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    work = tmp_path / "notebooks"
    work.mkdir()
    for extra in NOTEBOOKS.glob("*.geojson"):
        (work / extra.name).write_bytes(extra.read_bytes())
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    start = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    elapsed = time.perf_counter() - start
    assert elapsed < 60, f"{name} took {elapsed:.0f} s"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    if name == "01_screen_a_site":
        assert (work / "out" / "01_report.pdf").stat().st_size > 10_000
    if name == "02_screen_many_sites":
        assert (work / "out" / "02_candidates.html").is_file()
    if name == "04_compare_versions":
        assert "ZH" in (work / "out" / "04_diff_map.html").read_text(encoding="utf-8")
    if name == "05_where_could_it_go":
        assert (work / "out" / "05_where_could_it_go.html").read_text(encoding="utf-8").count("<iframe srcdoc=") == 2
        for code in ("2614", "5990"):
            saved = gpd.read_file(work / "out" / f"05_eligibility_{code}.gpkg")
            assert saved.crs.to_epsg() == 4490
            assert list(saved.columns) == ["verdict", "verdict_zh", "blocking", "missing", "area_m2", "geometry"]
            assert set(saved["verdict"]) >= {"prohibited", "conditional"}


def test_notebooks_are_committed_without_outputs():
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), name
