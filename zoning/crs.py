"""Coordinate reference systems used by zoning.

Areas and distances are measured on the CGCS2000 3-degree Gauss–Krüger zone
of the site's centroid (EPSG:4534–4554, central meridians 75°E…135°E).
"""

import functools
import math

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as _PyprojCRSError

from zoning.errors import CRSError

__all__ = ["CGCS2000", "gk_zone_epsg", "gk_prefixed_epsg", "gk_zone_number", "gauss_kruger_epsg", "gk_zone_choices", "gk_crs_hint", "parse_crs", "crs_label", "DATUM_NAMES", "PREFIXED_EASTING_MIN", "CHINA_BOUNDS"]

#: Geographic CGCS2000, the CRS of official zoning data.
CGCS2000 = "EPSG:4490"

#: An easting with a two-digit zone prefix has 8 digits before the point.
PREFIXED_EASTING_MIN = 1e7

#: Longitude/latitude bounds of China (west, south, east, north), the default region
#: :func:`gk_zone_choices` places points in.
CHINA_BOUNDS = (73.4, 3.8, 135.1, 53.6)


def gk_zone_number(lon):
    """Return the 3-degree zone number (25–45) whose central meridian is nearest ``lon``.

    Examples
    --------
    >>> gk_zone_number(120.1)
    40
    >>> gk_zone_number(118.6)
    40
    >>> gk_zone_number(118.4)
    39
    """
    if not -180.0 <= lon <= 180.0 or math.isnan(lon):
        raise ValueError(f"longitude {lon!r} is not between -180 and 180")
    zone = int(math.floor((lon + 1.5) / 3.0))
    return min(max(zone, 25), 45)


def gk_zone_epsg(lon):
    """Return the EPSG code of the CGCS2000 3° GK zone (no zone prefix) for ``lon``.

    EPSG:4534 + (CM − 75)/3, e.g. CM 120°E → EPSG:4549.

    Examples
    --------
    >>> gk_zone_epsg(120.1)
    4549
    >>> gk_zone_epsg(117.0)
    4548
    """
    return 4534 + gk_zone_number(lon) - 25


def gk_prefixed_epsg(zone):
    """Return the EPSG code of 3° GK zone ``zone`` with the zone number prefixed to eastings.

    EPSG:4513 (zone 25) … EPSG:4533 (zone 45); easting = zone × 10⁶ + 500 000 at the
    central meridian, as in survey boundary-point files.

    Examples
    --------
    >>> gk_prefixed_epsg(40)
    4528
    """
    if not 25 <= int(zone) <= 45:
        raise ValueError(f"3-degree zone {zone!r} is outside 25–45 (China's 75°E–135°E)")
    return 4513 + int(zone) - 25


def gauss_kruger_epsg(zone, *, datum="cgcs2000", band=3, prefixed=True):
    """Return the EPSG code of a Chinese Gauss–Krüger zone.

    Parameters
    ----------
    zone : int
        Zone number: 25–45 for 3° zones (central meridian 3 × zone), 13–23 for
        6° zones (central meridian 6 × zone − 3).
    datum : {"cgcs2000", "xian80", "beijing54"}
        CGCS2000, Xian 1980 or Beijing 1954.
    band : {3, 6}
        3° or 6° zones.
    prefixed : bool
        Whether eastings carry the zone number (easting = zone × 10⁶ + 500 000
        on the central meridian) — the "zone N" CRSs — or not ("CM" CRSs).

    Returns
    -------
    int

    Examples
    --------
    >>> gauss_kruger_epsg(40)
    4528
    >>> gauss_kruger_epsg(40, prefixed=False)
    4549
    >>> gauss_kruger_epsg(40, datum="xian80"), gauss_kruger_epsg(40, datum="beijing54")
    (2364, 2416)
    >>> gauss_kruger_epsg(20, band=6)
    4498
    """
    try:
        base, first, last = _GK_BASES[(datum, int(band), bool(prefixed))]
    except (KeyError, ValueError, TypeError):
        raise CRSError(
            f"no Gauss–Krüger EPSG code for datum={datum!r}, band={band!r}; "
            "expected datum cgcs2000, xian80 or beijing54 and band 3 or 6"
        ) from None
    zone = int(zone)
    if not first <= zone <= last:
        raise CRSError(
            f"{band}-degree zone {zone} is outside {first}–{last} (China's 75°E–135°E)"
        )
    if datum == "cgcs2000" and band == 3 and prefixed:
        return gk_prefixed_epsg(zone)
    return base + zone - first


# (datum, band, prefixed) -> (EPSG code of the first zone, first zone, last zone);
# every code is checked against its pyproj name in tests/test_site.py.
_GK_BASES = {
    ("cgcs2000", 3, True): (4513, 25, 45),  # CGCS2000 / 3-degree Gauss-Kruger zone 25
    ("cgcs2000", 3, False): (4534, 25, 45),  # CGCS2000 / 3-degree Gauss-Kruger CM 75E
    ("cgcs2000", 6, True): (4491, 13, 23),  # CGCS2000 / Gauss-Kruger zone 13
    ("cgcs2000", 6, False): (4502, 13, 23),  # CGCS2000 / Gauss-Kruger CM 75E
    ("xian80", 3, True): (2349, 25, 45),  # Xian 1980 / 3-degree Gauss-Kruger zone 25
    ("xian80", 3, False): (2370, 25, 45),  # Xian 1980 / 3-degree Gauss-Kruger CM 75E
    ("xian80", 6, True): (2327, 13, 23),  # Xian 1980 / Gauss-Kruger zone 13
    ("xian80", 6, False): (2338, 13, 23),  # Xian 1980 / Gauss-Kruger CM 75E
    ("beijing54", 3, True): (2401, 25, 45),  # Beijing 1954 / 3-degree Gauss-Kruger zone 25
    ("beijing54", 3, False): (2422, 25, 45),  # Beijing 1954 / 3-degree Gauss-Kruger CM 75E
    ("beijing54", 6, True): (21413, 13, 23),  # Beijing 1954 / Gauss-Kruger zone 13
    ("beijing54", 6, False): (21453, 13, 23),  # Beijing 1954 / Gauss-Kruger CM 75E
}

#: The datums of Chinese Gauss–Krüger grids, by the key :func:`gauss_kruger_epsg` takes.
DATUM_NAMES = {"cgcs2000": "CGCS2000", "xian80": "Xian 1980", "beijing54": "Beijing 1954"}


def parse_crs(value, context):
    """A pyproj CRS from any user input, or CRSError naming ``context`` and the value."""
    try:
        return CRS.from_user_input(value)
    except (_PyprojCRSError, TypeError, ValueError) as e:
        raise CRSError(
            f"{context}: unknown CRS {str(value)!r} ({str(e).splitlines()[0]}); "
            "expected e.g. EPSG:4549"
        ) from None


def crs_label(crs):
    """``EPSG:4549`` when the CRS has an authority code, else its name."""
    try:
        auth = crs.to_authority()
    except Exception:  # noqa: BLE001 - pyproj may fail on odd WKT
        auth = None
    if auth:
        return f"{auth[0]}:{auth[1]}"
    return crs.name or crs.to_string()


@functools.lru_cache(maxsize=1)
def _from_cm120():
    return Transformer.from_crs("EPSG:4549", CGCS2000, always_xy=True)


def gk_zone_choices(eastings, northings, region=None):
    """The CGCS2000 3° zones that place projected points (eastings without zone prefix) in ``region``.

    An easting without the zone prefix (false easting 500 000 m on the central meridian)
    fits every 3° zone; only where the points would then lie tells the zones apart. Every
    3° zone has the same projection but its central meridian, so the points are
    unprojected once on CM 120°E and shifted by 3° per zone.

    Parameters
    ----------
    eastings, northings : array-like of float
        Metres; eastings without the zone prefix.
    region : tuple of float, optional
        ``(west, south, east, north)`` in degrees, e.g. a pack's extent; China when omitted.

    Returns
    -------
    list of (epsg, central_meridian, lon, lat)
        The zones whose placement of the points' bounding box meets ``region``, with the
        centre of the points as it would lie in each, west to east.

    Examples
    --------
    >>> [c[:2] for c in gk_zone_choices([438683.652], [3396543.21], (119.2, 30.3, 120.5, 31.2))]
    [(4549, 120)]
    >>> len(gk_zone_choices([438683.652], [3396543.21]))  # China's bounding box: all 21 zones
    21
    """
    e = np.asarray(eastings, dtype=float)
    n = np.asarray(northings, dtype=float)
    west, south, east, north = region if region is not None else CHINA_BOUNDS
    lons, lats = _from_cm120().transform(
        np.array([e.min(), e.max(), e.mean()]), np.array([n.min(), n.max(), n.mean()])
    )
    lon0, lon1, lonc = float(min(lons[:2])), float(max(lons[:2])), float(lons[2])
    lat0, lat1 = float(min(lats[:2])), float(max(lats[:2]))
    out = []
    for zone in range(25, 46):
        shift = 3 * zone - 120
        if lon1 + shift >= west and lon0 + shift <= east and lat1 >= south and lat0 <= north:
            out.append((gauss_kruger_epsg(zone, prefixed=False), 3 * zone, lonc + shift, float(lats[2])))
    return out


def gk_crs_hint(eastings, northings, region=None):
    """What to pass as ``--crs`` for projected points without a zone prefix, as a sentence.

    Examples
    --------
    >>> gk_crs_hint([438683.652], [3396543.21], (119.2, 30.3, 120.5, 31.2))
    "pass --crs with the survey's zone: of the CGCS2000 3° zones (false easting 500 000 m), only --crs EPSG:4549 (CM 120°E) puts these points in the pack's region (119.20–120.50°E, 30.30–31.20°N), at 119.3601°E, 30.6879°N"
    """
    choices = gk_zone_choices(eastings, northings, region)
    if region is not None:
        where = f"the pack's region ({region[0]:.2f}–{region[2]:.2f}°E, {region[1]:.2f}–{region[3]:.2f}°N)"
    else:
        where = "China"

    def one(c):
        return f"--crs EPSG:{c[0]} (CM {c[1]}°E)"

    def at(c):
        return f"{c[2]:.4f}°E, {c[3]:.4f}°N"

    head = "pass --crs with the survey's zone: of the CGCS2000 3° zones (false easting 500 000 m), "
    if not choices:
        every = gk_zone_choices(eastings, northings, (-180.0, -90.0, 180.0, 90.0))
        if region is not None and every:
            mid = (region[0] + region[2]) / 2
            near = min(every, key=lambda c: abs(c[2] - mid))
            return (
                head + f"none puts these points in {where}; the nearest is {one(near)}, at {at(near)} "
                "— check the file's zone, datum and axis order"
            )
        return head + f"none puts these points in {where}; check the file's zone, datum and axis order"
    if len(choices) == 1:
        return head + f"only {one(choices[0])} puts these points in {where}, at {at(choices[0])}"
    if len(choices) <= 3:
        listed = "; ".join(f"{one(c)} at {at(c)}" for c in choices)
        return head + f"these put the points in {where}: {listed}"
    example = next((c for c in choices if c[0] == 4549), choices[len(choices) // 2])
    return (
        head + f"any of EPSG:{choices[0][0]}–{choices[-1][0]} (CM {choices[0][1]}°E–{choices[-1][1]}°E) "
        f"puts these points in {where}, e.g. {one(example)} at {at(example)}"
    )
