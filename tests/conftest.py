import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer

DATA = Path(__file__).parent / "data"
GRID = DATA / "packs" / "grid"
X0, Y0 = 500000.0, 3400000.0
_TO_LONLAT = Transformer.from_crs(4549, 4490, always_xy=True)


def gk(geom):
    """A geometry given in metres from the grid pack's origin → lon/lat (EPSG:4490)."""
    moved = shapely.affinity.translate(geom, X0, Y0)
    return shapely.transform(moved, lambda xy: np.column_stack(_TO_LONLAT.transform(xy[:, 0], xy[:, 1])))


def box(x0, y0, x1, y1):
    return gk(shapely.box(x0, y0, x1, y1))


@pytest.fixture(scope="session")
def grid_pack():
    from zoning import load_pack

    return load_pack(GRID)


@pytest.fixture(scope="session")
def demo_pack():
    from zoning import load_pack

    return load_pack()


def write_geojson(path, geom, properties=None):
    path.write_text(json.dumps({"type": "Feature", "properties": properties or {}, "geometry": shapely.geometry.mapping(geom)}), encoding="utf-8")
    return path


# -- the pack cache: the suite never writes to the user's real cache ------------------------
_CACHE_ENV = {}


def pytest_configure(config):
    """Point ZONING_CACHE at a temporary directory before anything loads a pack (doctests in zoning/ too)."""
    _CACHE_ENV["saved"] = os.environ.get("ZONING_CACHE")
    _CACHE_ENV["tmp"] = os.environ["ZONING_CACHE"] = tempfile.mkdtemp(prefix="zoning-test-cache-")


def pytest_unconfigure(config):
    shutil.rmtree(_CACHE_ENV.pop("tmp", ""), ignore_errors=True)
    saved = _CACHE_ENV.pop("saved", None)
    if saved is None:
        os.environ.pop("ZONING_CACHE", None)
    else:
        os.environ["ZONING_CACHE"] = saved


@pytest.fixture(scope="session", autouse=True)
def pack_cache_dir(tmp_path_factory):
    """The pack cache of this test session, a tmp dir (see zoning.cache)."""
    path = tmp_path_factory.mktemp("zoning-cache")
    os.environ["ZONING_CACHE"] = str(path)
    return path
