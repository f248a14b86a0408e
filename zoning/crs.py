"""Coordinate reference systems used by zoning.

Areas and distances are measured on the CGCS2000 3-degree Gauss–Krüger zone
of the site's centroid (EPSG:4534–4554, central meridians 75°E…135°E).
"""

import math

from pyproj import CRS
from pyproj.exceptions import CRSError as _PyprojCRSError

from zoning.errors import CRSError

__all__ = ["CGCS2000", "gk_zone_epsg", "gk_prefixed_epsg", "gk_zone_number", "gauss_kruger_epsg", "parse_crs", "crs_label", "DATUM_NAMES", "PREFIXED_EASTING_MIN"]

#: Geographic CGCS2000, the CRS of official zoning data.
CGCS2000 = "EPSG:4490"

#: An easting with a two-digit zone prefix has 8 digits before the point.
PREFIXED_EASTING_MIN = 1e7


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
