"""Survey boundary points: 界址点 TXT files, bare point lists and boundary-point tables.

- **界址点 TXT** (the land-survey exchange format): a header of ``key=value`` lines
  (坐标系, 几度分带, 带号 …) and, per parcel, a line
  ``点数,面积,地块编号,地块名称,图形属性,图幅号,地块用途,地类编码,@`` followed by
  point rows ``点号,圈号,X,Y`` with X the northing and Y the easting, often with the
  zone number prefixed. Only the coordinates decide: header fields that other tools
  fill with placeholders are warnings, never refusals.
- **Bare point lists**: rows ``点号,X,Y`` (commas, tabs or spaces) without any header;
  the CRS comes from ``crs=`` (or from a zone prefix on the eastings).
- **Boundary-point tables** (CSV/XLSX, already read into a DataFrame of text cells):
  a point sequence per parcel (``地块编号``/``parcel``), optionally per ring (``圈号``),
  located by ``X``/``Y`` (survey order, or GIS order, detected), ``北坐标``/``东坐标`` or
  ``lon``/``lat`` (``经度``/``纬度``) columns.

A parcel's rings (圈号 1, 2, 3 …, and each further closed sequence of rows) are
classified by containment, not by number: a ring inside an even number of others is
an outer boundary, inside an odd number a hole, so islands inside holes and several
separate parts in one parcel come out as the surveyor drew them. Rings that cross
are refused, naming the parcel and both rings. Where a parcel states its 面积
(m² or 公顷), it is compared with the area its rings enclose on the file's own
projection and a warning says when neither unit agrees within 0.1 %.
:func:`zoning.site.read_site` calls these readers for ``.txt``, ``.csv`` and ``.xlsx`` files.
"""

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
import shapely.affinity
from pyproj import CRS, Transformer

from zoning.crs import PREFIXED_EASTING_MIN as _PREFIXED
from zoning.crs import DATUM_NAMES as _DATUM_NAMES, crs_label as _crs_label, gauss_kruger_epsg, gk_crs_hint, gk_zone_epsg, parse_crs as _parse_crs
from zoning.errors import CRSError, SiteError

__all__ = ["BoundaryPoints", "read_boundary_points", "read_point_table", "AREA_TOLERANCE"]

#: A stated 面积 agrees with the computed area when within this share of it.
AREA_TOLERANCE = 0.001


@dataclass
class BoundaryPoints:
    """What a boundary-point source holds: one geometry per parcel, in ``crs`` (None: the caller's).

    ``kind`` names the form for messages ("界址点 TXT", "point list", "boundary-point
    table"); ``areas`` has one entry per polygon parcel that states its 面积 (see
    :func:`read_boundary_points`).
    """

    geoms: list
    crs: CRS | None
    label: str | None
    parcels: int
    name: str
    warnings: list = field(default_factory=list)
    kind: str = "界址点 TXT"
    areas: list = field(default_factory=list)


def read_boundary_points(text, display, user_crs=None, *, region=None, repair=False):
    """Parse a 界址点 TXT or a bare point list (already decoded): the parcels in the file's projected CRS.

    Parameters
    ----------
    text : str
        The file's text (any line ends: LF, CRLF or CR).
    display : str
        The file's name, for messages.
    user_crs : optional
        A CRS given by the caller; replaces the one the header implies, and a zone
        prefix on the eastings is then removed when that CRS has none.
    region : tuple of float, optional
        ``(west, south, east, north)`` where the site is expected (e.g. a pack's
        extent); it narrows the zones suggested when the file has no CRS.
    repair : bool
        Repair a self-intersecting ring, or rings that cross, instead of refusing them.

    Returns
    -------
    BoundaryPoints
        ``areas`` holds, for every polygon parcel stating 面积, a dict with ``parcel``,
        ``name``, ``stated_area`` (as written), ``stated_unit`` (``"m2"`` or ``"ha"``,
        whichever agrees, else the nearer), ``stated_area_m2``, ``area_m2`` (computed on
        ``area_crs``), ``area_crs`` and ``agrees``.

    Examples
    --------
    >>> text = "\\n".join([
    ...     "[属性描述]", "坐标系=2000国家大地坐标系", "几度分带=3", "带号=40", "[地块坐标]",
    ...     "5,0.04,1,示例地块,面,,,,@",
    ...     "J1,1,3400000.0,40500000.0", "J2,1,3400000.0,40500020.0",
    ...     "J3,1,3400020.0,40500020.0", "J4,1,3400020.0,40500000.0", "J1,1,3400000.0,40500000.0",
    ... ])
    >>> found = read_boundary_points(text, "demo.txt")
    >>> found.crs.to_epsg(), found.geoms[0].area, found.name
    (4528, 400.0, '示例地块')
    >>> found.areas[0]["stated_unit"], found.areas[0]["agrees"], found.warnings
    ('ha', True, [])
    """
    attrs, parcels, warnings, bare = _parse_jzd(text, display)
    points = [pt for p in parcels for ring in p.rings.values() for pt in ring]
    eastings, northings, swapped = _jzd_axes(points, display)
    if swapped:
        warnings.append(
            f"{display}: the X column holds eastings and Y northings; read them swapped"
        )
    what = (
        "a bare point list (点号,X,Y) whose eastings carry no zone prefix"
        if bare
        else "no 带号= and the eastings carry no zone prefix"
    )
    no_datum = "is a bare point list with no CRS" if bare else "gives no 坐标系"
    crs, label, prefix, more = _decide_crs(attrs, eastings, northings, points, display, user_crs, region, what, no_datum)
    warnings.extend(more)
    area_crs = _crs_label(crs) if crs is not None else _crs_label(_parse_crs(user_crs, "crs"))

    def file_xy(e, n):  # a plane position as the file writes it
        x, y = (e, n) if swapped else (n, e)
        return f"X={x:.3f}, Y={y:.3f}"

    geoms, areas = [], []
    for p in parcels:
        geom, more = _parcel_geometry(p, swapped, display, file_xy, repair)
        warnings.extend(more)
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            info, more = _check_stated_area(p, geom.area, area_crs, display)
            warnings.extend(more)
            if info:
                areas.append(info)
        if prefix:
            geom = shapely.affinity.translate(geom, xoff=-prefix)
        geoms.append(geom)
    name = next((p.name for p in parcels if p.name), "")
    kind = "point list" if bare else "界址点 TXT"
    return BoundaryPoints(geoms, crs, label, len(parcels), name, warnings, kind, areas)


@dataclass
class _Parcel:
    where: str
    npoints: int | None = None
    area: float | None = None
    area_text: str = ""
    code: str = ""
    name: str = ""
    shape: str = "面"
    header: bool = False
    rings: dict = field(default_factory=dict)  # ring number (None: unnumbered) -> [(x, y, where), ...]

    @property
    def label(self):
        return self.code or self.name or f"at {self.where}"


_JZD_ROW_EXAMPLE = "点号,圈号,X,Y (e.g. J1,1,3396543.210,40438683.652)"
_HEADER_EXAMPLE = "点数,面积,地块编号,地块名称,图形属性,图幅号,地块用途,地类编码,@"
# What other tools write in a header's text fields when they have nothing to say.
_PLACEHOLDERS = {"DKMC", "DKBH", "地块名称", "地块编号", "NULL", "<NULL>", "NONE", "NAN"}


def _fields(line):
    """A row's fields: comma-separated when it has commas, else separated by tabs or spaces."""
    fields = [f.strip() for f in line.split(",")] if "," in line else line.split()
    while fields and fields[-1] == "":
        fields.pop()
    return fields


def _point_row(fields):
    """``(ring, x, y)`` from ``点号,圈号,X,Y`` or ``点号,X,Y`` (ring None), else None."""
    try:
        if len(fields) == 4:
            ring, x, y = int(fields[1]), float(fields[2]), float(fields[3])
        elif len(fields) == 3:
            ring, x, y = None, float(fields[1]), float(fields[2])
        else:
            return None
    except ValueError:
        return None
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    return ring, x, y


def _looks_like_column_names(line):
    return not re.search(r"\d", line) and re.search(r"[XxYy]|点号|坐标", line) is not None


def _parse_jzd(text, display):
    attrs, parcels, warnings = {}, [], []
    section = None
    has_section = "[地块坐标]" in text.replace(" ", "")
    current = None
    seen_content = False
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
        first = not seen_content
        seen_content = True
        if line.endswith("@"):
            header = _jzd_header(line, f"line {lineno}", display, warnings)
            if header is not None:
                current = header
                parcels.append(current)
            continue
        row = _point_row(_fields(line))
        if row is None:
            if first and not has_section and _looks_like_column_names(line):
                continue  # a bare list's column names, e.g. 点号,X,Y
            if not has_section and not parcels:
                raise SiteError(
                    f"{display} is not a 界址点 boundary-point file: expected a [地块坐标] "
                    f"section or rows {_JZD_ROW_EXAMPLE} (or 点号,X,Y), got {line[:60]!r} at line {lineno}"
                )
            raise SiteError(
                f"{display} line {lineno}: malformed boundary-point row {line[:80]!r}; "
                f"expected {_JZD_ROW_EXAMPLE}"
            )
        if current is None:  # point rows without a parcel header: one parcel
            current = _Parcel(where=f"line {lineno}")
            parcels.append(current)
        ring, x, y = row
        current.rings.setdefault(ring, []).append((x, y, f"line {lineno}"))
    parcels = [p for p in parcels if p.rings or p.npoints]
    if not parcels or not any(p.rings for p in parcels):
        raise SiteError(
            f"{display} has no boundary points; expected a [地块坐标] section with rows "
            + _JZD_ROW_EXAMPLE
        )
    for p in parcels:
        if not p.rings:
            raise SiteError(f"{display}: parcel {p.label} ({p.where}) has no boundary points")
    unnamed = [p for p in parcels if p.header and not p.name]
    if unnamed:
        listed = ", ".join(f"{p.label} ({p.where})" if p.code else p.label for p in unnamed)
        noun = "parcel" if len(unnamed) == 1 else "parcels"
        verb = "has" if len(unnamed) == 1 else "have"
        warnings.append(f"{display}: {noun} {listed} {verb} no 地块名称")
    bare = not attrs and not any(p.header for p in parcels) and all(
        key is None for p in parcels for key in p.rings
    )
    return attrs, parcels, warnings, bare


def _jzd_header(line, where, display, warnings):
    """A parcel from its header line; None for the format's own template line."""
    fields = [f.strip() for f in line[:-1].split(",")]
    fields += [""] * (8 - len(fields))
    if fields[0] == "点数":
        return None
    npoints = None
    if fields[0]:
        try:
            npoints = int(float(fields[0]))
        except ValueError:
            warnings.append(f"{display} {where}: 点数 {fields[0]!r} is not a number; ignored")
    code = "" if fields[2].upper() in _PLACEHOLDERS else fields[2]
    name = "" if fields[3].upper() in _PLACEHOLDERS else fields[3]
    area = None
    if fields[1]:
        try:
            area = float(fields[1])
        except ValueError:
            warnings.append(
                f"{display} {where}: 面积 {fields[1]!r} of parcel {code or name or where} is not a "
                "number; its area is not checked"
            )
        else:
            if not math.isfinite(area) or area <= 0:  # 0 is how many tools say "not filled"
                area = None
    shape = fields[4] or "面"
    if shape not in {"点", "线", "面"}:
        warnings.append(
            f"{display} {where}: 图形属性 {shape!r} is not one of 点, 线, 面; read as 面 (a polygon)"
        )
        shape = "面"
    return _Parcel(
        where=where, npoints=npoints, area=area, area_text=fields[1], code=code, name=name,
        shape=shape, header=True,
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
    x, y, where = points[bad]
    raise SiteError(
        f"{display} {where}: cannot tell northing from easting in X={x}, Y={y}; expected "
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


def _jzd_datum(attrs, display, no_datum="gives no 坐标系"):
    value = attrs.get("坐标系", "").strip()
    if not value:
        what = no_datum
        return "cgcs2000", [
            f"{display} {what}; assumed 2000国家大地坐标系 (CGCS2000)"
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


def _decide_crs(attrs, eastings, northings, points, display, user_crs, region, what, no_datum):
    """``(crs or None, label, prefix to strip, warnings)``: the caller's CRS, or the file's."""
    if user_crs is not None:
        prefix, more = _jzd_prefix_for(user_crs, eastings, display)
        return None, None, prefix, more
    crs, label, more = _jzd_crs(attrs, eastings, northings, points, display, region, what, no_datum)
    return crs, label, 0.0, more


def _jzd_crs(attrs, eastings, northings, points, display, region=None, what="", no_datum="gives no 坐标系"):
    warnings = []
    unit = attrs.get("计量单位", "").strip()
    if unit and unit.lower() not in {"米", "m", "metre", "meter", "metres", "meters"}:
        raise SiteError(f"{display}: 计量单位={unit!r} is not supported; expected 米 (metres)")
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
            x, y, where = points[other[0]]
            raise SiteError(
                f"{display} {where}: easting carries zone prefix {int(zones[other[0]])} "
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
                f"{display} has no CRS: {what}; "
                + gk_crs_hint(eastings, northings, region)
                + " (or the 6° zone, Xian 80 or Beijing 54 grid the survey used)"
            )
        zone = zone_attr
    datum, more = _jzd_datum(attrs, display, no_datum)
    warnings.extend(more)
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


# ------------------------------------------------------------------ parcels


@dataclass
class _Ring:
    label: str
    where: str
    coords: list
    poly: shapely.Geometry
    simple: bool


def _sequences(points):
    """Split one ring's rows into closed sequences: a row repeating the first point closes one."""
    out, current = [], []
    for p in points:
        current.append(p)
        if len(current) >= 4 and (p[0], p[1]) == (current[0][0], current[0][1]):
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def _parcel_rings(parcel, swapped):
    """``(label, where, coords)`` of every ring of a parcel, coords as (easting, northing)."""
    rings, unnumbered = [], 0
    for number, pts in parcel.rings.items():
        seqs = _sequences(pts)
        for k, seq in enumerate(seqs, 1):
            if number is None:
                unnumbered += 1
                label = f"ring {unnumbered}"
            else:
                label = f"ring {number}" if len(seqs) == 1 else f"ring {number} (closed sequence {k})"
            coords = [((x, y) if swapped else (y, x)) for x, y, _ in seq]
            rings.append((label, seq[0][2], coords))
    return rings


def _parcel_geometry(parcel, swapped, display, fmt_xy, repair):
    warnings = []
    rings = _parcel_rings(parcel, swapped)
    count = sum(len(c) for _, _, c in rings)
    if parcel.npoints is not None and parcel.npoints != count:
        warnings.append(
            f"{display}: parcel {parcel.label} header says {parcel.npoints} points, "
            f"its rows give {count}"
        )
    if parcel.shape == "点":
        return shapely.MultiPoint([c for _, _, cs in rings for c in cs]), warnings
    if parcel.shape == "线":
        lines = [shapely.LineString(cs) for _, _, cs in rings if len(cs) >= 2]
        if not lines:
            raise SiteError(
                f"{display}: line parcel {parcel.label} ({parcel.where}) has fewer "
                "than 2 points"
            )
        return shapely.MultiLineString(lines) if len(lines) > 1 else lines[0], warnings
    geom, more = polygon_from_rings(rings, f"parcel {parcel.label}", display, fmt_xy, repair)
    return geom, warnings + more


def polygon_from_rings(rings, owner, display, fmt_xy, repair=False):
    """A (multi)polygon from rings classified by containment depth (even: shell, odd: hole).

    ``rings`` are ``(label, where, coords)``; ``owner`` names them in messages
    (``"parcel 3"``); ``fmt_xy(x, y)`` writes a plane position as the source does.
    """
    warnings = []
    built = []
    for label, where, coords in rings:
        if coords[0] != coords[-1]:
            coords = coords + [coords[0]]
        distinct = len(set(coords))
        if distinct < 3:
            raise SiteError(
                f"{display} {where}: {label} of {owner} has {distinct} distinct points; "
                "a polygon ring needs at least 3"
            )
        poly = shapely.Polygon(coords)
        simple = poly.is_valid
        if not simple:
            reason, loc = _reason(poly, fmt_xy)
            message = f"{display} {where}: {label} of {owner} is not a simple ring: {reason}{loc}"
            if not repair:
                raise SiteError(message + "; fix the boundary, or read it repaired with --repair (repair=True in Python)")
            fixed = _polygonal(shapely.make_valid(poly))
            if fixed is None:
                raise SiteError(message + "; repairing it left no polygon")
            warnings.append(message + "; repaired with make_valid — check the result")
            poly = fixed
        built.append(_Ring(label, where, coords, poly, simple))

    polys = [r.poly for r in built]
    containers = [[] for _ in built]
    crossing = False
    if len(built) > 1:
        tree = shapely.STRtree(polys)
        left, right = tree.query(polys, predicate="intersects")
        for i, j in zip(left.tolist(), right.tolist()):
            if i >= j:
                continue
            a, b = built[i], built[j]
            if a.poly.equals(b.poly):
                raise SiteError(
                    f"{display} {b.where}: {b.label} of {owner} repeats {a.label} ({a.where}); "
                    "remove the duplicate ring"
                )
            if a.poly.contains(b.poly):
                containers[j].append(i)
            elif b.poly.contains(a.poly):
                containers[i].append(j)
            elif shapely.relate_pattern(a.poly, b.poly, "T********"):
                loc = _crossing(a.poly, b.poly, fmt_xy)
                message = (
                    f"{display}: {a.label} ({a.where}) and {b.label} ({b.where}) of {owner} "
                    f"cross{loc}"
                )
                if not repair:
                    raise SiteError(
                        message + "; the rings of a parcel may lie apart or one inside another "
                        "(holes, islands in holes) but must not cross — fix the boundary, or read it repaired with --repair (repair=True in Python)"
                    )
                warnings.append(message + "; read by the even-odd rule (repair) — check the result")
                crossing = True

    if crossing:
        geom = polys[0]
        for p in polys[1:]:
            geom = shapely.symmetric_difference(geom, p)
        geom = _polygonal(geom)
        if geom is None:
            raise SiteError(f"{display}: the rings of {owner} enclose nothing")
        return shapely.orient_polygons(geom), warnings

    depth = [len(c) for c in containers]
    shells = [i for i, d in enumerate(depth) if d % 2 == 0]
    holes = {i: [] for i in shells}
    for i, d in enumerate(depth):
        if d % 2:
            holes[max(containers[i], key=depth.__getitem__)].append(i)
    parts = []
    for s in shells:
        hs = holes[s]
        poly = None
        if built[s].simple and all(built[h].simple for h in hs):
            poly = shapely.Polygon(built[s].coords, [built[h].coords for h in hs])
        if poly is None or not poly.is_valid:  # a hole touching its shell along an edge, a repaired ring
            poly = shapely.difference(polys[s], shapely.union_all([polys[h] for h in hs])) if hs else polys[s]
        parts.extend(getattr(poly, "geoms", [poly]))
    geom = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
    if not geom.is_valid:  # separate parts sharing an edge: one part
        geom = _polygonal(shapely.union_all(parts))
    if geom is None or geom.is_empty or not geom.is_valid:
        reason, loc = _reason(geom, fmt_xy) if geom is not None else ("it encloses nothing", "")
        raise SiteError(f"{display}: the rings of {owner} do not make a valid polygon: {reason}{loc}")
    islands = [i for i, d in enumerate(depth) if d and d % 2 == 0]
    if len(shells) > 1 or islands:
        inner = [i for i, d in enumerate(depth) if d % 2]
        text = f"{display}: {owner} is read by containment: {len(shells) - len(islands)} outer " + (
            "ring" if len(shells) - len(islands) == 1 else "rings"
        ) + f" ({_labels(built, [s for s in shells if not depth[s]])})"
        if inner:
            text += f", {_count(len(inner), 'hole')} ({_labels(built, inner)})"
        if islands:
            text += f", {_count(len(islands), 'island')} inside holes ({_labels(built, islands)})"
        warnings.append(text)
    return shapely.orient_polygons(geom), warnings


def _count(n, noun):
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _labels(built, idx):
    return ", ".join(built[i].label.removeprefix("ring ") for i in idx)


def _polygonal(geom):
    parts = [p for p in getattr(geom, "geoms", [geom]) if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    if not parts:
        return None
    out = shapely.union_all(parts) if len(parts) > 1 else parts[0]
    return None if out.is_empty else out


def _reason(geom, fmt_xy):
    reason = shapely.is_valid_reason(geom) or "invalid"
    m = re.fullmatch(r"(.*?)\s*\[(\S+) (\S+)\]", reason)
    if not m:
        return reason[:1].lower() + reason[1:], ""
    text = m.group(1)
    return text[:1].lower() + text[1:], f" at {fmt_xy(float(m.group(2)), float(m.group(3)))}"


def _crossing(a, b, fmt_xy):
    pts = shapely.get_coordinates(shapely.intersection(a.boundary, b.boundary))
    if not len(pts):
        return ""
    return f" near {fmt_xy(float(pts[0][0]), float(pts[0][1]))}"


def _check_stated_area(parcel, area, area_crs, display):
    """Compare a parcel's stated 面积 (m² or 公顷) with ``area`` (m²) on ``area_crs``."""
    if parcel.area is None or area <= 0:
        return None, []
    stated = parcel.area
    tolerance = AREA_TOLERANCE * area
    if abs(stated - area) <= tolerance:
        unit, agrees = "m2", True
    elif abs(stated * 1e4 - area) <= tolerance:
        unit, agrees = "ha", True
    else:
        agrees = False
        unit = "m2" if abs(math.log(stated / area)) <= abs(math.log(stated * 1e4 / area)) else "ha"
    info = {
        "parcel": parcel.code or None,
        "name": parcel.name or None,
        "stated_area": stated,
        "stated_unit": unit,
        "stated_area_m2": round(stated * (1e4 if unit == "ha" else 1), 2),
        "area_m2": round(area, 2),
        "area_crs": area_crs,
        "agrees": agrees,
    }
    warnings = []
    if not agrees:
        warnings.append(
            f"{display}: parcel {parcel.label} states 面积 {parcel.area_text or f'{stated:g}'}, but its rings "
            f"enclose {area:,.1f} m² ({area / 1e4:.4f} 公顷) on {area_crs}: neither m² nor 公顷 within "
            f"{AREA_TOLERANCE:.1%}; check the zone, the axis order and that no ring is missing"
        )
    return info, warnings


# ------------------------------------------------------------ point tables

_COLUMNS = {
    "parcel": ("地块编号", "地块号", "宗地号", "宗地编号", "地块", "parcel", "parcel_id", "dkbh"),
    "name": ("地块名称", "名称", "name", "dkmc"),
    "ring": ("圈号", "环号", "ring", "ring_id", "part"),
    "area": ("面积", "area", "mj", "stated_area"),
}
_LONLAT = [("lon", "lat"), ("lng", "lat"), ("longitude", "latitude"), ("经度", "纬度")]
_NORTH_EAST = [("北坐标", "东坐标"), ("northing", "easting"), ("n", "e")]
_XY = [("x", "y"), ("x坐标", "y坐标"), ("x(m)", "y(m)"), ("x坐标(m)", "y坐标(m)")]
_WGS84 = CRS.from_epsg(4326)


def _column(lower, names):
    return next((lower[n] for n in names if n in lower), None)


def read_point_table(frame, display, user_crs=None, *, region=None, repair=False):
    """Parcels from a table of boundary points: one row per point, rows in boundary order.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table's cells as text (as :mod:`zoning.io.tables` reads CSV/XLSX).
        Columns, matched case-insensitively: the coordinates — ``X``/``Y`` (projected
        metres; X the northing as surveyors write it, or the easting, which is
        detected), ``北坐标``/``东坐标`` (``northing``/``easting``), or ``lon``/``lat``
        (``经度``/``纬度``, ``lng``, ``longitude``/``latitude``; WGS84 unless ``crs``);
        optional ``地块编号`` (``parcel``) or ``地块名称`` (``name``) grouping the rows
        into parcels, ``圈号`` (``ring``) numbering their rings, and ``面积`` (``area``),
        the parcel's stated area in m² or 公顷. Each further closed sequence of rows
        (returning to its first point) is one more ring.
    display : str
        The file's name, for messages.
    user_crs, region, repair
        As for :func:`read_boundary_points`. X/Y in metres need ``crs`` unless the
        eastings carry the zone prefix.

    Returns
    -------
    BoundaryPoints

    Examples
    --------
    >>> t = pd.DataFrame({"点号": ["J1", "J2", "J3", "J4"], "X": ["3396543.21", "3396543.21", "3396643.21", "3396643.21"],
    ...                   "Y": ["40438683.65", "40438783.65", "40438783.65", "40438683.65"], "面积": ["1", "", "", ""]})
    >>> found = read_point_table(t, "points.csv")
    >>> found.crs.to_epsg(), found.geoms[0].area, found.areas[0]["stated_unit"]
    (4528, 10000.0, 'ha')
    """
    lower = {}
    for c in frame.columns:
        lower.setdefault(str(c).strip().lower(), c)
    cols = {k: _column(lower, names) for k, names in _COLUMNS.items()}
    geographic, pair, order = False, None, "detect"
    for a, b in _LONLAT:
        if a in lower and b in lower:
            geographic, pair = True, (lower[a], lower[b])
            break
    if pair is None:
        for a, b in _NORTH_EAST:
            if a in lower and b in lower:
                pair, order = (lower[a], lower[b]), "north_east"
                break
    if pair is None:
        for a, b in _XY:
            if a in lower and b in lower:
                pair = (lower[a], lower[b])
                break
    if pair is None:
        shown = ", ".join(map(str, list(frame.columns)[:12]))
        raise SiteError(
            f"{display} has no coordinate columns; expected a table of boundary points with columns "
            "X and Y (or 北坐标 and 东坐标, or lon and lat / 经度 and 纬度), optionally 地块编号, 圈号, "
            f"点号 and 面积; its columns are: {shown or '(none)'}"
        )
    a_col, b_col = pair
    group_col = cols["parcel"] or cols["name"]
    parcels, by_key = [], {}
    for i, row in enumerate(frame.itertuples(index=False), 1):
        cells = dict(zip(frame.columns, row))
        a_text, b_text = _cell(cells[a_col]), _cell(cells[b_col])
        if a_text is None and b_text is None:
            continue
        try:
            a, b = float(a_text), float(b_text)
            if not (math.isfinite(a) and math.isfinite(b)):
                raise ValueError
        except (TypeError, ValueError):
            raise SiteError(
                f"{display} row {i}: {a_col}={a_text!r}, {b_col}={b_text!r} are not two numbers; "
                "expected one boundary point per row"
            ) from None
        key = _cell(cells[group_col]) if group_col is not None else None
        parcel = by_key.get(key)
        if parcel is None:
            parcel = _Parcel(where=f"row {i}", code=key or "")
            by_key[key] = parcel
            parcels.append(parcel)
        if cols["name"] is not None and not parcel.name:
            parcel.name = _cell(cells[cols["name"]]) or ""
        if cols["area"] is not None and parcel.area is None:
            text = _cell(cells[cols["area"]])
            if text is not None:
                try:
                    value = float(text)
                except ValueError:
                    value = None
                if value is not None and math.isfinite(value) and value > 0:
                    parcel.area, parcel.area_text = value, text
        ring = None
        if cols["ring"] is not None:
            text = _cell(cells[cols["ring"]])
            try:
                ring = int(float(text)) if text is not None else None
            except ValueError:
                raise SiteError(f"{display} row {i}: {cols['ring']}={text!r} is not a ring number") from None
        point = (a, b, f"row {i}")  # lon, lat / northing, easting / X, Y as written
        parcel.rings.setdefault(ring, []).append(point)
    if not parcels:
        raise SiteError(f"{display} has no boundary points; expected one row per point with {a_col} and {b_col}")
    warnings = []
    points = [pt for p in parcels for ring in p.rings.values() for pt in ring]
    prefix = 0.0
    if geographic:
        crs, label, swapped = (None if user_crs is not None else _WGS84), None, True
    else:
        if order == "north_east":
            eastings = np.array([p[1] for p in points])
            northings = np.array([p[0] for p in points])
            swapped = False
        else:
            eastings, northings, swapped = _jzd_axes(points, display)
        what = f"{a_col}/{b_col} in metres whose eastings carry no zone prefix"
        no_datum = "gives no CRS for its projected coordinates"
        crs, label, prefix, more = _decide_crs({}, eastings, northings, points, display, user_crs, region, what, no_datum)
        warnings.extend(more)

    def fmt_xy(e, n):
        if geographic:
            return f"{e:.7f}, {n:.7f} (lon, lat)"
        x, y = (e, n) if swapped else (n, e)
        return f"{a_col}={x:.3f}, {b_col}={y:.3f}"

    geoms, areas = [], []
    for p in parcels:
        geom, more = polygon_from_rings(_parcel_rings(p, swapped), f"parcel {p.label}", display, fmt_xy, repair)
        warnings.extend(more)
        if geographic:
            plane_crs = f"EPSG:{gk_zone_epsg(geom.centroid.x)}"
            to_gk = Transformer.from_crs(user_crs if user_crs is not None else _WGS84, plane_crs, always_xy=True)
            area = shapely.transform(geom, lambda xy: np.column_stack(to_gk.transform(xy[:, 0], xy[:, 1]))).area
        else:
            area = geom.area
            plane_crs = _crs_label(crs) if crs is not None else _crs_label(_parse_crs(user_crs, "crs"))
        info, more = _check_stated_area(p, area, plane_crs, display)
        warnings.extend(more)
        if info:
            areas.append(info)
        if prefix:
            geom = shapely.affinity.translate(geom, xoff=-prefix)
        geoms.append(geom)
    name = next((p.name for p in parcels if p.name), "")
    return BoundaryPoints(geoms, crs, label, len(parcels), name, warnings, "boundary-point table", areas)


def _cell(value):
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    text = str(value).strip()
    return text or None
