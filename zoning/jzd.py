"""Survey boundary-point files (界址点坐标 TXT, the land-survey exchange format).

A header of ``key=value`` lines (坐标系, 几度分带, 带号 …) and, per parcel, a line
``点数,面积,地块编号,地块名称,面,…,@`` followed by point rows ``点号,圈号,X,Y`` with
X the northing and Y the easting, often with the zone number prefixed. The reader
detects the zone, the band (3° or 6°), the axis order and the zone prefix, and
builds one polygon per parcel (ring 1 the outer ring, further rings its holes).
:func:`zoning.site.read_site` calls it for ``.txt`` files.
"""

import math
import re
from dataclasses import dataclass, field

import numpy as np
import shapely
import shapely.affinity
from pyproj import CRS

from zoning.crs import PREFIXED_EASTING_MIN as _PREFIXED
from zoning.crs import DATUM_NAMES as _DATUM_NAMES, crs_label as _crs_label, gauss_kruger_epsg, parse_crs as _parse_crs
from zoning.errors import CRSError, SiteError

__all__ = ["BoundaryPoints", "read_boundary_points"]


@dataclass
class BoundaryPoints:
    """What a 界址点 file holds: one polygon per parcel, in ``crs`` (None: the caller's)."""

    geoms: list
    crs: CRS | None
    label: str | None
    parcels: int
    name: str
    warnings: list = field(default_factory=list)


def read_boundary_points(text, display, user_crs=None):
    """Parse a 界址点 TXT (already decoded): the parcels' polygons in the file's projected CRS.

    ``user_crs`` (a pyproj CRS given by the caller) replaces the CRS the header implies;
    a zone prefix on the eastings is then removed.

    Examples
    --------
    >>> text = "\\n".join([
    ...     "[属性描述]", "坐标系=2000国家大地坐标系", "几度分带=3", "带号=40", "[地块坐标]",
    ...     "4,0.04,1,示例地块,面,,,,@",
    ...     "J1,1,3400000.0,40500000.0", "J2,1,3400000.0,40500020.0",
    ...     "J3,1,3400020.0,40500020.0", "J1,1,3400000.0,40500000.0",
    ... ])
    >>> found = read_boundary_points(text, "demo.txt")
    >>> found.crs.to_epsg(), found.geoms[0].area, found.name
    (4528, 200.0, '示例地块')
    """
    attrs, parcels = _parse_jzd(text, display)
    warnings = []
    points = [pt for p in parcels for ring in p.rings.values() for pt in ring]
    eastings, northings, swapped = _jzd_axes(points, display)
    if swapped:
        warnings.append(
            f"{display}: the X column holds eastings and Y northings; read them swapped"
        )
    prefix = 0.0
    if user_crs is not None:
        crs = None  # decided by the caller's crs
        label = None
        prefix, more = _jzd_prefix_for(user_crs, eastings, display)
        warnings.extend(more)
    else:
        crs, label, more = _jzd_crs(attrs, eastings, points, display)
        warnings.extend(more)
    geoms = []
    for p in parcels:
        geom, more = _jzd_parcel_geometry(p, swapped, display)
        if prefix:
            geom = shapely.affinity.translate(geom, xoff=-prefix)
        geoms.append(geom)
        warnings.extend(more)
    name = next((p.name for p in parcels if p.name), "")
    return BoundaryPoints(geoms, crs, label, len(parcels), name, warnings)


@dataclass
class _Parcel:
    line: int
    npoints: int | None = None
    area: float | None = None
    code: str = ""
    name: str = ""
    shape: str = "面"
    rings: dict = field(default_factory=dict)  # ring number -> [(x, y, line), ...]

    @property
    def label(self):
        return self.code or self.name or f"at line {self.line}"


_JZD_ROW_EXAMPLE = "点号,圈号,X,Y (e.g. J1,1,3396543.210,40438683.652)"


def _parse_jzd(text, display):
    attrs, parcels = {}, []
    section = None
    has_section = "[地块坐标]" in text.replace(" ", "")
    current = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip().replace("，", ",").replace("＝", "=")
        if not line:
            continue
        m = re.fullmatch(r"\[\s*(.+?)\s*\]", line)
        if m:
            section = m.group(1).replace(" ", "")
            continue
        if section == "属性描述":
            key, sep, value = line.partition("=")
            if sep:
                attrs[key.strip()] = value.strip()
            continue
        if section not in (None, "地块坐标") or (section is None and has_section):
            continue
        if line.endswith("@"):
            current = _jzd_header(line, lineno, display)
            parcels.append(current)
            continue
        fields = [f.strip() for f in line.split(",")]
        try:
            ring, x, y = int(fields[1]), float(fields[2]), float(fields[3])
            if not (math.isfinite(x) and math.isfinite(y)) or any(fields[4:]):
                raise ValueError
        except (ValueError, IndexError):
            if not has_section and not parcels:
                raise SiteError(
                    f"{display} is not a 界址点 boundary-point file: expected a [地块坐标] "
                    f"section or rows {_JZD_ROW_EXAMPLE}, got {line[:60]!r} at line {lineno}"
                ) from None
            raise SiteError(
                f"{display} line {lineno}: malformed boundary-point row {line[:80]!r}; "
                f"expected {_JZD_ROW_EXAMPLE}"
            ) from None
        if current is None:  # point rows without a parcel header: one parcel
            current = _Parcel(line=lineno)
            parcels.append(current)
        current.rings.setdefault(ring, []).append((x, y, lineno))
    parcels = [p for p in parcels if p.rings or p.npoints]
    if not parcels or not any(p.rings for p in parcels):
        raise SiteError(
            f"{display} has no boundary points; expected a [地块坐标] section with rows "
            + _JZD_ROW_EXAMPLE
        )
    for p in parcels:
        if not p.rings:
            raise SiteError(f"{display}: parcel {p.label} (line {p.line}) has no boundary points")
    return attrs, parcels


def _jzd_header(line, lineno, display):
    fields = [f.strip() for f in line[:-1].split(",")]
    fields += [""] * (8 - len(fields))
    try:
        npoints = int(fields[0]) if fields[0] else None
        area = float(fields[1]) if fields[1] else None
    except ValueError:
        raise SiteError(
            f"{display} line {lineno}: malformed parcel header {line[:80]!r}; expected "
            "点数,面积,地块编号,地块名称,图形属性,图幅号,地块用途,地类编码,@"
        ) from None
    shape = fields[4] or "面"
    if shape not in {"点", "线", "面"}:
        raise SiteError(
            f"{display} line {lineno}: 图形属性 {shape!r} is not one of 点, 线, 面"
        )
    return _Parcel(
        line=lineno, npoints=npoints, area=area, code=fields[2], name=fields[3], shape=shape
    )




def _jzd_axes(points, display):
    """Return (eastings, northings, swapped) for (X, Y) rows; X should be the northing."""
    xs = np.array([p[0] for p in points])
    ys = np.array([p[1] for p in points])

    def is_easting(v):
        return ((v >= _PREFIXED) & (v < 1e8)) | ((v >= 1e5) & (v <= 9e5))

    def is_northing(v):
        return (v >= 1e6) & (v <= 6.5e6)

    normal = is_northing(xs) & is_easting(ys)
    swapped = is_easting(xs) & is_northing(ys)
    if normal.all():
        return ys, xs, False
    if swapped.all():
        return xs, ys, True
    closer = normal if normal.sum() >= swapped.sum() else swapped
    bad = np.flatnonzero(~closer)[0]
    x, y, lineno = points[bad]
    raise SiteError(
        f"{display} line {lineno}: cannot tell northing from easting in X={x}, Y={y}; expected "
        "X a northing (1 000 000–6 500 000 m) and Y an easting (100 000–900 000 m, or with the "
        "zone number prefixed, e.g. 40438683.652)"
    )


def _jzd_int(attrs, key, display):
    value = attrs.get(key, "").strip()
    if not value:
        return None
    m = re.fullmatch(r"(\d+)\s*(度|°)?", value)
    if not m:
        raise SiteError(f"{display}: {key}={value!r} is not a whole number")
    return int(m.group(1))


def _jzd_datum(attrs, display):
    value = attrs.get("坐标系", "").strip()
    if not value:
        return "cgcs2000", [
            f"{display} gives no 坐标系; assumed 2000国家大地坐标系 (CGCS2000)"
        ]
    key = value.replace(" ", "").upper()
    if "2000" in key or "CGCS" in key:
        return "cgcs2000", []
    if "西安" in key or "80" in key:
        return "xian80", []
    if "北京" in key or "54" in key:
        return "beijing54", []
    raise CRSError(
        f"{display}: 坐标系={value!r} is not supported; expected 2000国家大地坐标系, 西安80 or "
        "北京54 (or pass --crs, e.g. --crs EPSG:4549)"
    )


def _jzd_crs(attrs, eastings, points, display):
    warnings = []
    unit = attrs.get("计量单位", "").strip()
    if unit and unit.lower() not in {"米", "m", "metre", "meter", "metres", "meters"}:
        raise SiteError(f"{display}: 计量单位={unit!r} is not supported; expected 米 (metres)")
    datum, more = _jzd_datum(attrs, display)
    warnings.extend(more)
    band = _jzd_int(attrs, "几度分带", display)
    if band not in (None, 3, 6):
        raise SiteError(f"{display}: 几度分带={band} is not supported; expected 3 or 6")
    zone_attr = _jzd_int(attrs, "带号", display)
    prefixed = bool(eastings[0] >= _PREFIXED)
    if prefixed:
        zones = (eastings // 1e6).astype(int)
        zone = int(zones[0])
        other = np.flatnonzero(zones != zone)
        if other.size:
            x, y, lineno = points[other[0]]
            raise SiteError(
                f"{display} line {lineno}: easting carries zone prefix {int(zones[other[0]])} "
                f"but earlier rows carry {zone}; a file is in one zone"
            )
        if zone_attr is not None and zone_attr != zone:
            raise SiteError(
                f"{display}: 带号={zone_attr} but the eastings carry zone prefix {zone} "
                f"(e.g. {eastings[0]:.3f}); fix the file or pass --crs"
            )
    else:
        if zone_attr is None:
            raise CRSError(
                f"{display} has no CRS: no 带号= and the eastings carry no zone prefix; "
                "pass --crs (e.g. --crs EPSG:4549 for CGCS2000 3° zone CM 120°E)"
            )
        zone = zone_attr
    if band is None:
        band = 6 if 13 <= zone <= 23 else 3
    try:
        code = gauss_kruger_epsg(zone, datum=datum, band=band, prefixed=prefixed)
    except CRSError as e:
        raise CRSError(f"{display}: {e}; check 带号 and 几度分带 or pass --crs") from None
    if datum != "cgcs2000":
        warnings.append(
            f"{display}: {_DATUM_NAMES[datum]} coordinates converted to CGCS2000 without local "
            "transformation parameters (PROJ has none); positions may be off by tens of metres"
        )
    label = f"坐标系={attrs.get('坐标系', '').strip() or 'CGCS2000'}, {band}° zone {zone}"
    return CRS.from_epsg(code), label, warnings


def _jzd_prefix_for(user_crs, eastings, display):
    """The zone prefix to strip when ``crs`` names a CRS without one (e.g. EPSG:4549)."""
    if eastings[0] < _PREFIXED:
        return 0.0, []
    crs = _parse_crs(user_crs, "crs")
    if not crs.is_projected:
        return 0.0, []
    false_easting = next(
        (p.value for p in crs.coordinate_operation.params if p.name == "False easting"), None
    ) if crs.coordinate_operation is not None else None
    if false_easting is None or false_easting >= _PREFIXED:
        return 0.0, []
    zone = int(eastings[0] // 1e6)
    return zone * 1e6, [
        f"{display}: zone prefix {zone} removed from the eastings to fit crs={_crs_label(crs)}"
    ]


def _jzd_parcel_geometry(parcel, swapped, display):
    warnings = []
    rings = []
    for number, pts in parcel.rings.items():
        coords = [((x, y) if swapped else (y, x)) for x, y, _ in pts]
        rings.append((number, coords, pts[0][2]))
    count = sum(len(c) for _, c, _ in rings)
    if parcel.npoints is not None and parcel.npoints != count:
        warnings.append(
            f"{display}: parcel {parcel.label} header says {parcel.npoints} points, "
            f"its rows give {count}"
        )
    if parcel.shape == "点":
        return shapely.MultiPoint([c for _, cs, _ in rings for c in cs]), warnings
    if parcel.shape == "线":
        lines = [shapely.LineString(cs) for _, cs, _ in rings if len(cs) >= 2]
        if not lines:
            raise SiteError(
                f"{display}: line parcel {parcel.label} (line {parcel.line}) has fewer "
                "than 2 points"
            )
        return shapely.MultiLineString(lines) if len(lines) > 1 else lines[0], warnings
    polys = []
    for number, coords, lineno in rings:
        if coords[0] != coords[-1]:
            coords = coords + [coords[0]]
        if len(set(coords)) < 3:
            raise SiteError(
                f"{display} line {lineno}: ring {number} of parcel {parcel.label} has "
                f"{len(set(coords))} distinct points; a polygon ring needs at least 3"
            )
        polys.append((number, coords))
    outer_number, outer = polys[0]
    shell = shapely.Polygon(outer)
    holes, parts = [], []
    for number, coords in polys[1:]:
        ring = shapely.Polygon(coords)
        if shell.is_valid and ring.is_valid and shell.contains(ring):
            holes.append(coords)
        elif shell.is_valid and ring.is_valid and shell.disjoint(ring):
            parts.append(ring)
            warnings.append(
                f"{display}: ring {number} of parcel {parcel.label} lies outside ring "
                f"{outer_number}; read as a separate part, not a hole"
            )
        else:
            holes.append(coords)  # let the validity check locate the problem
    polygon = shapely.Polygon(outer, holes)
    geom = shapely.MultiPolygon([polygon, *parts]) if parts else polygon
    if parcel.area and geom.is_valid and geom.area > 0:
        area = geom.area
        if min(abs(parcel.area * 1e4 - area), abs(parcel.area - area)) > 0.01 * area:
            warnings.append(
                f"{display}: parcel {parcel.label} declares area {parcel.area:g}, but its "
                f"boundary encloses {area / 1e4:.4f} ha ({area:.1f} m²)"
            )
    return geom, warnings


