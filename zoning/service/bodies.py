"""Size-checked JSON parsing and strict checks of GeoJSON sites and project values.

Request bodies (and GeoJSON uploads, and the ``project`` form field) are parsed in two
steps: a streaming pass with :mod:`ijson` (yajl, C) counts values and nesting depth
*without building Python objects* and stops at the first limit exceeded; only a body within
the limits is then built with :func:`json.loads`. JSON has no NaN or Infinity: those
tokens, and numbers too large for a float, are refused.

After parsing, :func:`check_geojson` walks the geometry: every position must be a list of
2 or 3 finite numbers (not strings, booleans or nulls), nested as its type requires, and
the positions are counted against the vertex limit. :func:`check_values` refuses strings
that are not valid Unicode (lone surrogates such as ``"\\ud800"``) and non-finite numbers
anywhere in a project.

>>> from zoning.service.config import Limits
>>> parse_json(b'{"type": "Point", "coordinates": [120.0, 30.0]}', Limits())
{'type': 'Point', 'coordinates': [120.0, 30.0]}
>>> check_geojson({"type": "Point", "coordinates": [120.0, 30.0]}, Limits())
1
>>> check_geojson({"type": "Point", "coordinates": ["120.0", 30.0]}, Limits())
Traceback (most recent call last):
...
zoning.service.errors.BadRequest: the site's coordinate at coordinates[0] is a string ('120.0'); expected a number
"""

from __future__ import annotations

import json
import math

import ijson

from zoning.service.errors import BadRequest, LimitExceeded

__all__ = ["parse_json", "check_geojson", "check_values", "NotJSON", "GEOMETRY_DEPTH"]

#: How deep positions sit under ``coordinates`` for each GeoJSON geometry type.
GEOMETRY_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}

_CONTAINER_EVENTS = {"start_map", "start_array"}
_END_EVENTS = {"end_map", "end_array"}


class NotJSON(BadRequest):
    """The bytes are not JSON (422 ``bad_input``)."""

    code = "bad_input"


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def parse_json(data, limits, *, what="the request body"):
    """Parse JSON bytes within the limits; return plain Python data.

    Parameters
    ----------
    data : bytes
    limits : zoning.service.config.Limits
        ``max_json_depth`` (nesting of arrays and objects) and ``max_json_values`` (every
        value, array and object counts one).
    what : str
        How to name the input in error messages.

    Raises
    ------
    NotJSON
        Not JSON (with the position), NaN/Infinity, numbers out of range.
    LimitExceeded
        Too deep or too many values; raised as soon as the limit is passed.

    Examples
    --------
    >>> from zoning.service.config import Limits
    >>> parse_json(b"[[[[1]]]]", Limits(max_json_depth=3))
    Traceback (most recent call last):
    ...
    zoning.service.errors.LimitExceeded: the request body nests arrays and objects more than 3 deep; expected GeoJSON (at most 3 levels)
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    depth = count = 0
    max_depth, max_values = limits.max_json_depth, limits.max_json_values
    try:
        for event, _value in ijson.basic_parse(data, use_float=True):
            if event in _END_EVENTS:
                depth -= 1
                continue
            count += 1
            if count > max_values:
                raise LimitExceeded(
                    f"{what} has more than {max_values} JSON values; the limit follows from the vertex limit "
                    f"({limits.max_vertices} vertices)",
                    code="too_many_values",
                )
            if event in _CONTAINER_EVENTS:
                depth += 1
                if depth > max_depth:
                    raise LimitExceeded(
                        f"{what} nests arrays and objects more than {max_depth} deep; expected GeoJSON (at most {max_depth} levels)",
                        code="too_deep",
                    )
    except ijson.JSONError as e:
        raise NotJSON(f"{what} is not valid JSON: {_yajl_message(e)}") from None
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except UnicodeDecodeError as e:
        raise NotJSON(f"{what} is not UTF-8 text (byte {e.start}); send JSON as UTF-8") from None
    except ValueError as e:
        raise NotJSON(f"{what} is not valid JSON: {e}") from None


def _yajl_message(e):
    """yajl's multi-line message (with an arrow under the text) → one line."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    head = lines[0] if lines else type(e).__name__
    context = lines[1] if len(lines) > 1 else ""
    if "(right here)" in context or not context:
        return head
    return f"{head} near {context[:60]!r}"


def _kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"a boolean ({str(v).lower()})"
    if isinstance(v, str):
        return f"a string ({v[:20]!r})"
    if isinstance(v, (list, tuple)):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _where(path):
    return "coordinates" + "".join(f"[{i}]" for i in path)


def _positions(coords, depth, path, out):
    """Check positions nested ``depth`` levels deep; append the count to ``out``."""
    if depth == 0:
        if not isinstance(coords, list):
            raise BadRequest(f"the site's position at {_where(path)} is {_kind(coords)}; expected [lon, lat]", code="site_invalid")
        if not 2 <= len(coords) <= 3:
            raise BadRequest(f"the site's position at {_where(path)} has {len(coords)} numbers; expected [lon, lat] or [lon, lat, z]", code="site_invalid")
        for i, v in enumerate(coords):
            if not _is_number(v):
                raise BadRequest(f"the site's coordinate at {_where(path + [i])} is {_kind(v)}; expected a number", code="site_invalid")
            if isinstance(v, float) and not math.isfinite(v):
                raise BadRequest(f"the site's coordinate at {_where(path + [i])} is {v}; expected a finite number", code="site_invalid")
        out[0] += 1
        return
    if not isinstance(coords, list):
        raise BadRequest(f"the site's coordinates at {_where(path)} are {_kind(coords)}; expected an array", code="site_invalid")
    for i, c in enumerate(coords):
        _positions(c, depth - 1, path + [i], out)


def check_geojson(obj, limits, *, max_collection_depth=4):
    """Check every geometry in a GeoJSON object strictly; return the number of positions.

    ``obj`` may be a geometry, a Feature or a FeatureCollection. Positions must be arrays
    of 2–3 finite numbers at the depth the geometry type asks; anything else is a
    :class:`~zoning.service.errors.BadRequest` (``site_invalid``) naming the place. The count is
    checked against ``limits.max_vertices`` (``too_many_vertices``).
    """
    total = [0]

    def geometry(g, level):
        if g is None:
            return
        if not isinstance(g, dict):
            raise BadRequest(f"the site's geometry is {_kind(g)}; expected a GeoJSON geometry object", code="site_invalid")
        kind = g.get("type")
        if kind == "GeometryCollection":
            if level >= max_collection_depth:
                raise BadRequest("the site nests GeometryCollections too deep", code="site_invalid")
            parts = g.get("geometries")
            if not isinstance(parts, list):
                raise BadRequest("a GeometryCollection needs a 'geometries' array", code="site_invalid")
            for part in parts:
                geometry(part, level + 1)
            return
        if kind not in GEOMETRY_DEPTH:
            raise BadRequest(
                f"the site's geometry type {kind!r} is not GeoJSON; expected one of {', '.join(GEOMETRY_DEPTH)} or GeometryCollection",
                code="site_invalid",
            )
        if "coordinates" not in g:
            raise BadRequest(f"the site's {kind} has no 'coordinates'", code="site_invalid")
        _positions(g["coordinates"], GEOMETRY_DEPTH[kind], [], total)
        if total[0] > limits.max_vertices:
            raise LimitExceeded(f"the site has more than {limits.max_vertices} vertices; the limit is {limits.max_vertices}", code="too_many_vertices")

    if isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
        features = obj.get("features")
        for f in features if isinstance(features, list) else ():
            if isinstance(f, dict):
                geometry(f.get("geometry"), 0)
    elif isinstance(obj, dict) and obj.get("type") == "Feature":
        geometry(obj.get("geometry"), 0)
    else:
        geometry(obj, 0)
    return total[0]


def check_values(obj, what="the project"):
    """Refuse lone surrogates in strings (keys too) and non-finite numbers, anywhere in ``obj``.

    >>> check_values({"name": "x\\ud800"})
    Traceback (most recent call last):
    ...
    zoning.service.errors.BadRequest: the project's name is not valid Unicode text (a lone surrogate \\ud800 at character 1)
    >>> check_values({"water_m3": float("nan")})
    Traceback (most recent call last):
    ...
    zoning.service.errors.BadRequest: the project's water_m3 is nan; expected a finite number
    """
    stack = [((), obj)]
    while stack:
        path, cur = stack.pop()
        if isinstance(cur, str):
            _check_text(cur, path, what)
        elif isinstance(cur, float):
            if not math.isfinite(cur):
                raise BadRequest(f"{_name(what, path)} is {cur}; expected a finite number", code="project_invalid")
        elif isinstance(cur, dict):
            for k, v in cur.items():
                if isinstance(k, str):
                    _check_text(k, path + (k,), what, key=True)
                stack.append((path + (str(k),), v))
        elif isinstance(cur, (list, tuple)):
            stack.extend((path + (str(i),), v) for i, v in enumerate(cur))


def _name(what, path):
    return f"{what}'s {'.'.join(path)}" if path else what


def _check_text(s, path, what, key=False):
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        bad = s[e.start]
        noun = "key" if key else ""
        raise BadRequest(
            f"{_name(what, path)}{' ' + noun if noun else ''} is not valid Unicode text "
            f"(a lone surrogate \\u{ord(bad):04x} at character {e.start})",
            code="project_invalid" if what == "the project" else "bad_input",
        ) from None
