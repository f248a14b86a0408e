"""Convert geometries between WGS84 and the web-map datums GCJ-02 and BD-09.

Web maps in China use an obfuscated datum: AMap (高德) and Tencent use GCJ-02,
offset 100–700 m from WGS84; Baidu uses BD-09, a further shift on top of
GCJ-02. PROJ supports neither, so coordinates picked on those maps must be
converted before any overlay. The formulas are the published ones, as
implemented by the public-domain library `prcoords
<https://github.com/Artoria2e5/PRCoords>`_:

- WGS84 → GCJ-02 and GCJ-02 → BD-09 are closed formulas
  (``prcoords.wgs_gcj``, ``prcoords.gcj_bd``);
- their inverses have no closed form; we use prcoords' iterative ("bored")
  inverses ``gcj_wgs_bored`` and ``bd_wgs_bored``, which refine the rough
  inverse until the forward transform reproduces the input, and polish their
  result with a few more steps of the same iteration, so that a round trip
  WGS84 → GCJ-02/BD-09 → WGS84 returns within about 1e-10° (0.01 mm) —
  far below the accuracy of any web-map pick. (prcoords alone stops at up
  to 2e-7°, 2 cm, for BD-09.)

Like the web maps themselves, the conversion applies only inside China's
bounding box (the one the published algorithm uses, shrunk by 0.1° so that
no point near its edge is shifted one way and not the other); points
outside it are returned unchanged. Z and M values are dropped: results are
2-D.

CGCS2000 (EPSG:4490) and WGS84 differ by centimetres, so the WGS84 results
are used as CGCS2000 longitude/latitude by :func:`zoning.site.read_site`.
"""

import numpy as np
import prcoords
import shapely

__all__ = ["gcj02_to_wgs84", "bd09_to_wgs84", "wgs84_to_gcj02", "wgs84_to_bd09"]

# prcoords.sanity_in_china_p's box, shrunk by 0.1° on each side: China's
# territory is far inside it (73.5–135.1°E, 3.8–53.6°N), and inside the
# shrunk box prcoords' "not in China" warning can never fire, even for the
# intermediate GCJ-02 value of a BD-09 point.
_LAT_MIN, _LAT_MAX = 0.8293 + 0.1, 55.8271 - 0.1
_LON_MIN, _LON_MAX = 72.004 + 0.1, 137.8347 - 0.1


def _pointwise(func):
    """Return a ``shapely.transform`` callback applying ``func((lat, lon))`` to each (lon, lat)."""

    def transform(coords):
        out = np.array(coords, dtype=float, copy=True)
        lon, lat = out[:, 0], out[:, 1]
        inside = np.flatnonzero(
            (lon >= _LON_MIN) & (lon <= _LON_MAX) & (lat >= _LAT_MIN) & (lat <= _LAT_MAX)
        )
        for i in inside:
            res = func((lat[i], lon[i]))  # prcoords works in (lat, lon)
            out[i, 0] = res.lon
            out[i, 1] = res.lat
        return out

    return transform


def _polished(inverse, forward):
    """Refine prcoords' iterative inverse until ``forward`` reproduces the input to 1e-11°.

    prcoords stops iterating once a step is below 1e-5° (its ``PRC_EPS``), which
    leaves up to ~2e-7° (2 cm) for BD-09; one or two more fixed-point steps of
    the same iteration bring that to the float noise of the formula.
    """

    def invert(coords):
        coords = prcoords.Coords(*coords)
        guess = inverse(coords)
        for _ in range(4):
            diff = forward(guess, False) - coords
            guess = guess - diff
            if abs(diff) < 1e-11:
                break
        return guess

    return invert


_GCJ_TO_WGS = _pointwise(_polished(prcoords.gcj_wgs_bored, prcoords.wgs_gcj))
_BD_TO_WGS = _pointwise(_polished(prcoords.bd_wgs_bored, prcoords.wgs_bd))
_WGS_TO_GCJ = _pointwise(lambda c: prcoords.wgs_gcj(c, False))
_WGS_TO_BD = _pointwise(lambda c: prcoords.wgs_bd(c, False))


def gcj02_to_wgs84(geom):
    """Convert a geometry from GCJ-02 (AMap, Tencent) to WGS84 longitude/latitude.

    Parameters
    ----------
    geom : shapely.Geometry or array_like of shapely.Geometry
        Coordinates in GCJ-02 longitude, latitude (x = lon, y = lat).

    Returns
    -------
    shapely.Geometry or numpy.ndarray
        The same geometry type with WGS84 coordinates, 2-D.

    Examples
    --------
    >>> from shapely import Point
    >>> p = gcj02_to_wgs84(Point(121.531541859215, 31.17530398364597))
    >>> round(p.x, 7), round(p.y, 7)
    (121.5272106, 31.1774276)
    """
    return shapely.transform(geom, _GCJ_TO_WGS)


def bd09_to_wgs84(geom):
    """Convert a geometry from BD-09 (Baidu) to WGS84 longitude/latitude.

    Parameters
    ----------
    geom : shapely.Geometry or array_like of shapely.Geometry
        Coordinates in BD-09 longitude, latitude (x = lon, y = lat).

    Returns
    -------
    shapely.Geometry or numpy.ndarray
        The same geometry type with WGS84 coordinates, 2-D.

    Examples
    --------
    >>> from shapely import Point
    >>> p = bd09_to_wgs84(Point(119.6538875, 29.0854003))  # Jinhua, Zhejiang
    >>> p.distance(Point(119.6427465, 29.0820414)) < 1e-5  # published WGS84, within ~1 m
    True
    """
    return shapely.transform(geom, _BD_TO_WGS)


def wgs84_to_gcj02(geom):
    """Convert a geometry from WGS84 longitude/latitude to GCJ-02 (AMap, Tencent).

    Parameters
    ----------
    geom : shapely.Geometry or array_like of shapely.Geometry
        Coordinates in WGS84 (or CGCS2000) longitude, latitude.

    Returns
    -------
    shapely.Geometry or numpy.ndarray
        The same geometry type with GCJ-02 coordinates, 2-D.

    Examples
    --------
    >>> from shapely import Point
    >>> p = wgs84_to_gcj02(Point(121.5272106, 31.1774276))
    >>> round(p.x, 9), round(p.y, 9)
    (121.531541859, 31.175303984)
    >>> wgs84_to_gcj02(Point(2.35, 48.85)).wkt   # outside China: unchanged
    'POINT (2.35 48.85)'
    """
    return shapely.transform(geom, _WGS_TO_GCJ)


def wgs84_to_bd09(geom):
    """Convert a geometry from WGS84 longitude/latitude to BD-09 (Baidu).

    Parameters
    ----------
    geom : shapely.Geometry or array_like of shapely.Geometry
        Coordinates in WGS84 (or CGCS2000) longitude, latitude.

    Returns
    -------
    shapely.Geometry or numpy.ndarray
        The same geometry type with BD-09 coordinates, 2-D.

    Examples
    --------
    >>> from shapely import Point
    >>> p = wgs84_to_bd09(Point(119.6427465, 29.0820414))  # Jinhua, Zhejiang
    >>> round(p.x, 4), round(p.y, 4)
    (119.6539, 29.0854)
    """
    return shapely.transform(geom, _WGS_TO_BD)
