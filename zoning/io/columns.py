"""Columns: the project keys a row may carry, and the columns a batch run adds.

Cells arrive from files as text, numbers, NaN or lists; :func:`project_frame`
turns the project columns into what :func:`zoning.screen.screen_many` expects
(industry codes as text, blank cells as *not given*) without touching the
input columns that are written back.
"""

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa

from zoning.project import PROJECT_KEYS, untruncated_key

__all__ = ["RESULT_COLUMNS", "RESULT_TYPES", "project_columns", "project_frame", "plain_value"]

#: The columns ``zoning batch`` adds to every row (contract §6), in this order.
RESULT_COLUMNS = ("verdict", "verdict_zh", "units", "red_line", "blocking", "missing", "n_findings", "error")

#: Their Arrow types in OUT.
RESULT_TYPES = {c: (pa.int32() if c == "n_findings" else pa.string()) for c in RESULT_COLUMNS}

_NONE_FUEL = {"none", "无", "[]"}
#: How ``zoning batch -o OUT.shp`` names ``emissions.X`` columns within a Shapefile's 10 bytes.
SHAPEFILE_EMISSIONS = "emis."


def _emissions_key(name):
    """``emissions.X`` for a Shapefile's ``emis.X`` field (as :func:`zoning.io.write.shapefile_names` writes it), else None."""
    name = str(name)
    if name.startswith(SHAPEFILE_EMISSIONS) and len(name) > len(SHAPEFILE_EMISSIONS):
        return "emissions." + name[len(SHAPEFILE_EMISSIONS):]
    return None


def project_columns(names):
    """The names among ``names`` that are project keys (contract §2) or ``emissions.*``.

    Examples
    --------
    A bare ``emissions.`` (a Shapefile's 10-character field name cut off the pollutant) names
    no pollutant and is left out: those rows' emissions stay unknown.

    >>> project_columns(["name", "industry", "emissions.VOCs", "emissions.", "note"])
    ['name', 'industry', 'emissions.VOCs']

    Other keys cut to 10 characters by a Shapefile are recognised (:func:`project_frame`
    names them in full): ``constructi``, ``groundwate``, and ``emis.VOCs`` (how ``zoning batch
    -o OUT.shp`` writes ``emissions.VOCs``).

    >>> project_columns(["constructi", "groundwate", "energy_tce", "emis.VOCs"])
    ['constructi', 'groundwate', 'energy_tce', 'emis.VOCs']
    """
    return [n for n in names if n in PROJECT_KEYS or (str(n).startswith("emissions.") and len(str(n)) > len("emissions."))
            or untruncated_key(n) or _emissions_key(n)]


def plain_value(value):
    """A cell as plain Python: None for blanks and NaN, lists for arrays, numbers unboxed.

    Examples
    --------
    >>> plain_value(float("nan")) is None, plain_value("  "), plain_value(np.int64(3))
    (True, None, 3)
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.ndarray):
        return [plain_value(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return plain_value(value.item())
    if isinstance(value, str):
        text = value.strip()
        return text or None
    return value


def _code(value):
    """An industry cell as text: 2614.0 → '2614'; lists element by element."""
    if isinstance(value, list):
        return [_code(v) for v in value if v is not None]
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    return value


def _fuel(value):
    if isinstance(value, str) and value.lower() in _NONE_FUEL:
        return []
    return value


def _emissions(value):
    if isinstance(value, dict):  # a Parquet struct: absent pollutants come back as None
        return {k: v for k, v in value.items() if plain_value(v) is not None}
    if isinstance(value, str) and not value.startswith("{"):
        try:  # Arrow JSON extension cells and quoted JSON
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, dict) else value
    return value


_FIX = {"industry": _code, "fuel": _fuel, "emissions": _emissions}


def project_frame(frame):
    """The project columns of ``frame`` as object columns of plain values (None = not given).

    Examples
    --------
    >>> df = pd.DataFrame({"industry": [2614.0, np.nan], "fuel": ["none", "coal"], "note": ["a", "b"]})
    >>> project_frame(df).to_dict("records")
    [{'industry': '2614', 'fuel': []}, {'industry': None, 'fuel': 'coal'}]
    """
    cols = project_columns(frame.columns)
    out = {}
    for col in cols:
        key = untruncated_key(col) or _emissions_key(col) or col
        fix = _FIX.get(key)
        values = []
        for v in frame[col].tolist():
            v = plain_value(v)
            if v is not None and fix is not None:
                v = fix(v)
            values.append(v)
        out[key] = pd.Series(values, index=frame.index, dtype=object)
    return pd.DataFrame(out, index=frame.index)
