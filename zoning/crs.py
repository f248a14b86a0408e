"""Coordinate reference systems used by zoning.

Areas and distances are measured on the CGCS2000 3-degree Gauss–Krüger zone
of the site's centroid (EPSG:4534–4554, central meridians 75°E…135°E).
"""

import math

__all__ = ["CGCS2000", "gk_zone_epsg", "gk_prefixed_epsg", "gk_zone_number"]

#: Geographic CGCS2000, the CRS of official zoning data.
CGCS2000 = "EPSG:4490"


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
