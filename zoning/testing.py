"""Helpers for users' own tests: compare verdicts the way a reviewer would.

>>> from zoning.testing import assert_verdict_equal
>>> a = {"verdict": "permitted", "units": [{"unit_code": "ZH33052130001", "overlap_m2": 1000.0}]}
>>> b = {"verdict": "permitted", "units": [{"unit_code": "ZH33052130001", "overlap_m2": 1000.004}]}
>>> assert_verdict_equal(a, b)
>>> assert_verdict_equal(a, {**b, "verdict": "prohibited"})
Traceback (most recent call last):
...
AssertionError: verdicts differ:
  verdict: 'permitted' != 'prohibited'
"""

import math
from collections.abc import Mapping

__all__ = ["assert_verdict_equal", "verdict_outcome", "eligibility_mismatches"]


def _diff(a, b, path, out, rtol, atol, ignore):
    if path in ignore:
        return
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if sub in ignore:
                continue
            if key not in a:
                out.append(f"  {sub}: missing on the left")
            elif key not in b:
                out.append(f"  {sub}: missing on the right")
            else:
                _diff(a[key], b[key], sub, out, rtol, atol, ignore)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"  {path}: {len(a)} items != {len(b)} items")
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, f"{path}[{i}]", out, rtol, atol, ignore)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        if not math.isclose(a, b, rel_tol=rtol, abs_tol=atol):
            out.append(f"  {path}: {a!r} != {b!r}")
    elif a != b:
        out.append(f"  {path}: {a!r} != {b!r}")


def assert_verdict_equal(left, right, *, rtol=1e-6, atol=0.01, ignore=("engine",)):
    """Assert two verdicts (``Verdict`` objects or their dicts) say the same thing.

    Numbers are compared with ``rtol``/``atol`` (areas in m², distances in m), everything
    else exactly. ``ignore`` lists dotted keys to skip (by default the engine version, so a
    verdict stored by an older release can be checked against a new run).

    Raises
    ------
    AssertionError
        Listing every difference with its path, e.g. ``units[0].overlap_m2: 1000.0 != 1200.0``.
    """
    a = left.to_dict() if hasattr(left, "to_dict") else left
    b = right.to_dict() if hasattr(right, "to_dict") else right
    out = []
    _diff(a, b, "", out, rtol, atol, set(ignore))
    if out:
        shown = out[:20] + ([f"  … and {len(out) - 20} more"] if len(out) > 20 else [])
        raise AssertionError("verdicts differ:\n" + "\n".join(shown))


def verdict_outcome(verdict):
    """``(verdict, blocking, missing)`` of a verdict as batch and eligibility columns show
    them: the deciding findings' clause ids and the missing attributes, ``;``-joined.

    Examples
    --------
    >>> verdict_outcome({"verdict": "prohibited", "missing": [], "findings": [
    ...     {"clause_id": "A", "effect": "prohibit"}, {"clause_id": "B", "effect": "condition"}]})
    ('prohibited', 'A', '')
    """
    v = verdict.to_dict() if hasattr(verdict, "to_dict") else verdict
    deciding = {"prohibited": "prohibit", "needs_information": "needs_information", "conditional": "condition"}.get(v["verdict"])
    blocking = ";".join(dict.fromkeys(f["clause_id"] for f in v["findings"] if f["effect"] == deciding))
    return v["verdict"], blocking, ";".join(v["missing"])


def eligibility_mismatches(pack, eligibility, *, points=3, edge_points=0, margin_m=1.0, seed=0):
    """Screen random points strictly inside each polygon of an eligibility map (more than
    ``margin_m`` from its edges) one by one with :func:`zoning.screen.screen`, and return
    those whose ``(verdict, blocking, missing)`` differs from the polygon's.

    ``edge_points`` more points per polygon are taken just ``margin_m`` (+1 cm) inside its
    edges, spread along them: the hardest places for a map to be right.

    Returns
    -------
    list of dict
        ``{"polygon": i, "point": (lon, lat), "expected": …, "got": …}``; empty when the map
        says what screening says.
    """
    import numpy as np
    import shapely
    from pyproj import Transformer

    from zoning.crs import CGCS2000, gk_zone_epsg
    from zoning.screen import screen

    rng = np.random.default_rng(seed)
    frame = eligibility.frame if hasattr(eligibility, "frame") else eligibility
    project = getattr(eligibility, "project", None)
    out = []
    for i, row in enumerate(frame.itertuples()):
        geom = row.geometry
        epsg = gk_zone_epsg(geom.centroid.x)
        fwd = Transformer.from_crs(CGCS2000, f"EPSG:{epsg}", always_xy=True)
        inv = Transformer.from_crs(f"EPSG:{epsg}", CGCS2000, always_xy=True)
        inner = shapely.buffer(shapely.transform(geom, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1]))), -margin_m)
        if inner.is_empty:
            continue
        x0, y0, x1, y1 = inner.bounds
        found, tries = 0, 0
        prepared = shapely.prepared.prep(inner)
        candidates = []
        while found < points and tries < 200 * points:
            tries += 1
            p = shapely.Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
            if prepared.contains(p):
                found += 1
                candidates.append(p)
        if edge_points:
            ring = shapely.boundary(shapely.buffer(inner, -0.01))
            if not ring.is_empty:
                at = (np.arange(edge_points) + rng.uniform()) / edge_points * ring.length
                candidates.extend(shapely.line_interpolate_point(ring, at).tolist())
        for p in candidates:
            lon, lat = inv.transform(p.x, p.y)
            got = verdict_outcome(screen(pack, shapely.Point(lon, lat), project))
            expected = (row.verdict, row.blocking, row.missing)
            if got != expected:
                out.append({"polygon": i, "point": (lon, lat), "expected": expected, "got": got})
    return out
