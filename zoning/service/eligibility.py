"""Eligibility maps over HTTP: where may a project go (选址引导, contract §7) — no web framework here.

``POST /v1/eligibility?pack=ID`` takes the project itself (a JSON object of contract §2
keys; no site) and answers with the polygons of :meth:`zoning.Pack.eligibility` as a GeoJSON
FeatureCollection, simplified for display by ``simplify_m`` metres (coverage simplification:
shared edges stay shared, no gaps open). Besides ``features`` the answer carries
``areas_m2`` (by verdict, from the unsimplified polygons, as are each feature's ``area_m2``),
``simplified_m``, ``pack`` (id, version, digest), ``clauses`` (text of every clause id in a
``blocking``), ``project`` (as parsed), ``warnings``, ``colors`` (by verdict, those of
:data:`zoning.maps.ELIGIBILITY_COLORS`) and ``cached``.

The engine keeps each map in memory and in the pack cache on disk; on top of that each
screening process keeps its last rendered answers (:class:`ResponseCache`), so a repeated
request is sent as stored bytes (``"cached": true``) without simplifying or serialising again.

>>> from zoning import load_pack
>>> from zoning.service.config import Limits
>>> pack = load_pack("tests/data/packs/grid")
>>> cache = ResponseCache()
>>> data, cached = eligibility_response(pack, b'{"industry": "2614", "construction": "new"}', Limits(), cache)
>>> fc = json.loads(data)
>>> fc["type"], fc["cached"], fc["simplified_m"], sorted(fc["areas_m2"])
('FeatureCollection', False, 20.0, ['conditional', 'needs_information', 'permitted', 'prohibited'])
>>> eligibility_response(pack, b'{"industry": "2614", "construction": "new"}', Limits(), cache)[1]
True
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections import OrderedDict

import shapely

from zoning.service.bodies import check_values, parse_json
from zoning.service.errors import BadRequest
from zoning.project import parse_project

__all__ = ["DEFAULT_SIMPLIFY_M", "MAX_SIMPLIFY_M", "ResponseCache", "project_from_body", "check_simplify", "eligibility_response"]

log = logging.getLogger("zoning.service")

#: Display simplification (m) when the request names none: below a pixel at the zoom a
#: city-sized pack is looked at (≈ 20–40 m per pixel), and it keeps a province's answer small.
DEFAULT_SIMPLIFY_M = 20.0
#: Largest ``simplify_m`` accepted.
MAX_SIMPLIFY_M = 1000.0

_EXAMPLE = '{"industry": "2614", "construction": "new", "emissions": {"VOCs": 12.5}}'


def project_from_body(body, limits):
    """Parse (if bytes) and check the body of ``POST /v1/eligibility``: a JSON object of project keys.

    Parsed within the limits like every body (:func:`zoning.service.bodies.parse_json`); strings
    must be valid Unicode and numbers finite (:func:`zoning.service.bodies.check_values`); the
    values are checked by :func:`zoning.project.parse_project` (a
    :class:`~zoning.errors.ProjectError`, 422 ``project_invalid``, for bad ones).

    Returns
    -------
    zoning.project.Project

    Examples
    --------
    >>> from zoning.service.config import Limits
    >>> project_from_body(b'{"industry": "2614"}', Limits()).industry
    ('2614',)
    >>> project_from_body(b'[1, 2]', Limits())
    Traceback (most recent call last):
    ...
    zoning.service.errors.BadRequest: expected the project as a JSON object of contract §2 keys, e.g. {"industry": "2614", "construction": "new", "emissions": {"VOCs": 12.5}}; got an array
    """
    if isinstance(body, (bytes, bytearray, memoryview, str)):
        raw = bytes(body) if not isinstance(body, str) else body
        if not raw.strip():
            raise BadRequest(f"the request body is empty; expected the project as a JSON object, e.g. {_EXAMPLE}", code="project_invalid")
        body = parse_json(raw, limits)
    if not isinstance(body, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(body), "a number")
        raise BadRequest(f"expected the project as a JSON object of contract §2 keys, e.g. {_EXAMPLE}; got {kind}", code="project_invalid")
    if body.get("type") in ("Feature", "FeatureCollection") or "geometry" in body:
        raise BadRequest(
            "the body is the project itself (contract §2 keys), not a GeoJSON Feature: the map covers the whole "
            "pack and needs no site; send the Feature's properties, e.g. " + _EXAMPLE,
            code="project_invalid",
        )
    check_values(body, "the project")
    return parse_project(body)


def check_simplify(simplify_m):
    """``simplify_m`` as a float in [0, :data:`MAX_SIMPLIFY_M`] (0: unsimplified).

    >>> check_simplify(-1)
    Traceback (most recent call last):
    ...
    zoning.service.errors.BadRequest: simplify_m must be a number of metres from 0 to 1000, got -1
    """
    try:
        value = float(simplify_m)
    except (TypeError, ValueError):
        value = math.nan
    if not (0.0 <= value <= MAX_SIMPLIFY_M):
        raise BadRequest(f"simplify_m must be a number of metres from 0 to {MAX_SIMPLIFY_M:g}, got {simplify_m!r}", code="bad_input")
    return value


class ResponseCache:
    """The last rendered answers of a process (bytes), least recently used dropped first.

    Bounded by ``max_entries`` and by ``max_bytes`` in all (an answer larger than that is not kept).
    """

    def __init__(self, max_entries=16, max_bytes=256 * 1024 * 1024):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._items = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key, data):
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = data
            self._bytes += len(data)
            while self._items and (len(self._items) > self.max_entries or self._bytes > self.max_bytes):
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def __len__(self):
        return len(self._items)


def _key(pack, project, simplify_m):
    canonical = json.dumps({"project": project.to_dict(), "extra": project.extra, "simplify_m": simplify_m, "pack": pack.digest},
                           sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _render(pack, project, simplify_m):
    from zoning.maps import ELIGIBILITY_COLORS

    elig = pack.eligibility(project)
    warnings = list(project.warnings)
    try:
        fc = elig.to_geojson(simplify_m=simplify_m)
    except shapely.errors.GEOSException as e:
        # GEOS's coverage simplification refuses some coverages; the exact polygons are
        # still right, only larger: send them, and say so (simplified_m is then 0).
        log.warning("eligibility %s %s: coverage simplification by %g m failed (%s); sending the exact polygons",
                    pack.id, pack.version, simplify_m, e)
        fc = elig.to_geojson(simplify_m=0.0)
        warnings.append(f"the display simplification by {simplify_m:g} m failed on this map (GEOS: {e}); "
                        "the exact polygons are sent (simplified_m 0)")
    fc.pop("crs", None)  # RFC 7946: lon/lat (EPSG:4490 here, within a metre of WGS84); said in "pack"
    out = {
        "type": "FeatureCollection",
        "pack": fc.pop("pack"),
        "simplified_m": fc.pop("simplified_m"),
        "areas_m2": fc.pop("areas_m2"),
        "colors": dict(ELIGIBILITY_COLORS),
        "clauses": dict(elig.clauses),
        "project": project.to_dict(),  # this request's (the engine's memo ignores the name)
        "warnings": warnings,
        "features": fc.pop("features"),
    }
    try:
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except ValueError as e:  # a NaN area or coordinate: the engine's output is broken, not the request
        raise RuntimeError(f"the eligibility map holds a number JSON cannot carry ({e})") from None


def eligibility_response(pack, body, limits, cache=None, *, simplify_m=DEFAULT_SIMPLIFY_M):
    """The JSON bytes of ``POST /v1/eligibility`` for a body (the project) and whether they came from ``cache``.

    Parameters
    ----------
    pack : zoning.Pack
    body : bytes or dict
        The project (contract §2 keys).
    limits : zoning.service.config.Limits
    cache : ResponseCache, optional
    simplify_m : float
        Display simplification in metres (0: none); stated in the answer's ``simplified_m``.

    Returns
    -------
    (bytes, bool)
        The FeatureCollection as UTF-8 JSON (``"cached"`` first), and that flag.
    """
    project = project_from_body(body, limits)
    simplify_m = check_simplify(simplify_m)
    key = _key(pack, project, simplify_m)
    data = cache.get(key) if cache is not None else None
    cached = data is not None
    if data is None:
        data = _render(pack, project, simplify_m)
        if cache is not None:
            cache.put(key, data)
    return b'{"cached":' + (b"true" if cached else b"false") + b"," + data[1:], cached
