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

__all__ = ["assert_verdict_equal"]


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
