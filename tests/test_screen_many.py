"""screen_many: one row per site, the same verdicts as screening each site alone."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from conftest import box, gk


@pytest.fixture()
def sites():
    rng = np.random.default_rng(7)
    geoms, industries = [], []
    for _ in range(60):
        x, y = rng.uniform(0, 1900, 2)
        kind = rng.integers(3)
        if kind == 0:
            geoms.append(box(x, y, x + 80, y + 60))
        elif kind == 1:
            geoms.append(gk(shapely.LineString([(x, y), (x + 90, y + 40)])))
        else:
            geoms.append(gk(shapely.Point(x, y)))
        industries.append(str(rng.choice(["6550", "2614", "1712", "17"])))
    return gpd.GeoDataFrame(
        {"name": [f"site {i}" for i in range(60)], "industry": industries, "emissions.VOCs": rng.choice([np.nan, 0.0, 5.0], 60)},
        geometry=geoms,
        crs="EPSG:4490",
    )


def test_screen_many_agrees_with_screen(grid_pack, sites):
    default = {"construction": "new", "fuel": [], "water_m3": 100}
    out = grid_pack.screen_many(sites, default, full=True)
    assert len(out) == len(sites) and list(out.index) == list(sites.index)
    assert out["error"].isna().all()
    for i, row in out.iterrows():
        project = dict(default, industry=row["industry"])
        if not np.isnan(sites.loc[i, "emissions.VOCs"]):
            project["emissions"] = {"VOCs": sites.loc[i, "emissions.VOCs"]}
        alone = grid_pack.screen(sites.geometry[i], project)
        assert row["verdict"] == alone["verdict"], (i, row["blocking"])
        assert row["result"].to_dict()["findings"] == alone["findings"]


def test_screen_many_reports_bad_rows_without_stopping(grid_pack):
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    frame = gpd.GeoDataFrame(
        {"industry": ["6550", "6550", "9999x", "6550"]},
        geometry=[box(100, 1100, 200, 1200), gk(bowtie), box(100, 1100, 200, 1200), box(5000, 5000, 5100, 5100)],
        crs="EPSG:4490",
    )
    out = grid_pack.screen_many(frame, {"construction": "new", "emissions": {}, "fuel": [], "water_m3": 0})
    assert out.loc[0, "verdict"] == "permitted" and pd.isna(out.loc[0, "error"])
    assert out.loc[1, "error"].startswith("invalid geometry: Self-intersection")
    assert "is not in GB/T 4754-2017" in out.loc[2, "error"]
    assert out.loc[3, "error"] == "outside the pack's region"
    assert out["verdict"].isna().sum() == 3


def test_screen_many_needs_a_crs(grid_pack):
    from zoning.errors import SiteError

    frame = gpd.GeoDataFrame(geometry=[box(100, 1100, 200, 1200)])
    with pytest.raises(SiteError, match="the sites have no CRS"):
        grid_pack.screen_many(frame)
