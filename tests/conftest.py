import json
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
