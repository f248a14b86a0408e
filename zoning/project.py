"""Project descriptions (contract §2): parse, check and ask about attributes.

A project says what would be built: industry codes (GB/T 4754-2017), the kind of
construction, emissions, fuels, water and coal use. What it leaves out is
*unknown*, never assumed — except where contract §3b defines a default
(``emissions`` given → unlisted pollutants are 0; ``activity`` absent → none).
"""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from zoning import vocab
from zoning.errors import ProjectError
from zoning.industry import industries
from zoning.schema import nearest

__all__ = ["Project", "parse_project", "read_project", "PROJECT_KEYS", "untruncated_key", "DBF_NAME_LENGTH"]

PROJECT_KEYS = (
    "name", "industry", "construction", "activity", "emissions", "fuel",
    "water_m3", "coal_t", "land_ha", "energy_tce", "groundwater",
)
_NUMBERS = ("water_m3", "coal_t", "land_ha", "energy_tce")


def _blank(value):
    """Not given: None, NaN, pandas' NA/NaT (a DataFrame row's empty cell) or blank text.

    >>> import pandas as pd, numpy as np
    >>> [_blank(v) for v in (None, float("nan"), np.float32("nan"), pd.NA, pd.NaT, " ", 0, [], "新建")]
    [True, True, True, True, True, True, False, False, False]
    """
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, dict, set, frozenset)) or hasattr(value, "__len__"):
        return False
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _number(key, value):
    if isinstance(value, bool):
        raise ProjectError(f"project {key} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProjectError(f"project {key} must be a number, got {value!r}") from None
    if math.isnan(number) or number < 0 or math.isinf(number):
        raise ProjectError(f"project {key} must be a finite number ≥ 0, got {value!r}")
    return number


def _listify(value):
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return list(json.loads(text))
            except ValueError:
                pass
        return [v.strip() for v in text.replace("，", ",").split(",") if v.strip()]
    if isinstance(value, (list, tuple, set)):
        return list(value)
    if hasattr(value, "tolist"):
        return list(value.tolist())
    return [value]


#: Construction types as Chinese forms write them (新建 …) → contract §2 values.
_CONSTRUCTION_ZH = {zh: en for en, zh in vocab.CONSTRUCTION.items()} | {"改扩建": "expansion", "技改": "reconstruction", "技术改造": "reconstruction", "搬迁": "relocation"}


def _choice(key, value, choices):
    if value in choices:
        return value
    hint = nearest(value, choices)
    raise ProjectError(
        f"project {key} {value!r} is not one of {', '.join(choices)}" + (f"; did you mean {hint!r}?" if hint else "")
    )


@dataclass(frozen=True)
class Project:
    """A checked project description. ``None`` means *not given* (unknown).

    Examples
    --------
    >>> p = parse_project({"industry": "C2614", "emissions": {"VOCs": 12.5}})
    >>> p.industry, p.emission("VOCs"), p.emission("NOx"), p.fuel
    (('2614',), 12.5, 0.0, None)
    """

    name: str | None = None
    industry: tuple | None = None
    construction: str | None = None
    activity: str | None = None
    emissions: dict | None = None
    fuel: tuple | None = None
    water_m3: float | None = None
    coal_t: float | None = None
    land_ha: float | None = None
    energy_tce: float | None = None
    groundwater: bool | None = None
    extra: dict = field(default_factory=dict)
    warnings: tuple = ()

    def emission(self, pollutant):
        """t/a of ``pollutant``: None if emissions were not given, 0 if given without it."""
        if self.emissions is None:
            return None
        return float(self.emissions.get(pollutant, 0.0))

    def attr(self, name):
        """Numeric value of ``water_m3``, ``coal_t``, ``groundwater`` (1/0), ``emissions.VOCs``…; None if unknown."""
        if name.startswith("emissions."):
            return self.emission(name.split(".", 1)[1])
        value = getattr(self, name, None)
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        return value

    def to_dict(self):
        """The project as given (checked and normalised), for records and reports."""
        out = {}
        for key in PROJECT_KEYS:
            value = getattr(self, key)
            if value is None:
                continue
            if isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out


#: dBASE field names hold at most 10 characters: shapefile writers cut longer ones.
DBF_NAME_LENGTH = 10


def untruncated_key(name):
    """The contract §2 key a field name cut to 10 characters
    by a shapefile stands for, or None when it is not such a cut.

    Examples
    --------
    >>> untruncated_key("constructi"), untruncated_key("groundwate"), untruncated_key("emissions_")
    ('construction', 'groundwater', None)
    >>> untruncated_key("emissions."), untruncated_key("industry")  # the pollutant is cut off: lost
    (None, None)
    """
    name = str(name)
    if len(name) != DBF_NAME_LENGTH or name in PROJECT_KEYS:
        return None
    low = name.lower()
    keys = [k for k in PROJECT_KEYS if len(k) > DBF_NAME_LENGTH and k.startswith(low)]
    return keys[0] if len(keys) == 1 else None


def parse_project(data=None, **overrides):
    """Check a project description (a mapping of contract §2 keys) and return a :class:`Project`.

    ``overrides`` (e.g. from CLI flags) replace keys of ``data``. Keys such as
    ``emissions.VOCs`` (flattened columns) are folded into ``emissions``.

    Examples
    --------
    >>> parse_project({"industry": ["2614", "26"], "construction": "new"}).industry
    ('2614', '26')
    >>> parse_project({"industry": ["2614,2619"]}).industry
    ('2614', '2619')
    >>> parse_project({"industry": "2615"})
    Traceback (most recent call last):
    ...
    zoning.errors.ProjectError: industry code '2615' is not in GB/T 4754-2017; did you mean 261 (基础化学原料制造)?
    >>> parse_project({"constructon": "new"})
    Traceback (most recent call last):
    ...
    zoning.errors.ProjectError: unknown project key 'constructon'; did you mean 'construction'?
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProjectError(f"a project description must be a mapping of keys (name, industry, …), got {type(data).__name__}")
    merged = dict(data)
    merged.update({k: v for k, v in overrides.items() if v is not None})
    emissions = merged.pop("emissions", None)
    if _blank(emissions):
        emissions = None
    if isinstance(emissions, str) and emissions.strip().startswith("{"):
        try:
            emissions = json.loads(emissions)
        except ValueError:
            raise ProjectError(f"project emissions must be a mapping of pollutant to t/a, got {emissions!r}") from None
    flat = {k.split(".", 1)[1]: merged.pop(k) for k in list(merged) if k.startswith("emissions.")}
    flat = {k: v for k, v in flat.items() if not _blank(v)}
    if flat:
        emissions = dict(emissions or {}) | flat
    kw, extra, warnings = {}, {}, []
    for key, value in merged.items():
        if key not in PROJECT_KEYS:
            hint = nearest(key, PROJECT_KEYS)
            if hint and key.lower() != hint and _close(key, hint):
                raise ProjectError(f"unknown project key {key!r}; did you mean {hint!r}?")
            extra[key] = value
            continue
        if _blank(value) and (key != "fuel" or not isinstance(value, str)):
            continue  # fuel "" is "burns nothing"; a missing fuel (None, NaN, NA) is not given
        kw[key] = value
    if extra:
        warnings.append(f"project keys not used by the rules were kept as given: {', '.join(sorted(map(str, extra)))}")
    out = {}
    if "name" in kw:
        out["name"] = str(kw["name"])
    if "industry" in kw:
        table = industries()
        items = [part for c in _listify(kw["industry"]) for part in (_listify(c) if isinstance(c, str) else [c])]
        codes = [table.check(c) for c in items if not _blank(c)]
        if codes:
            out["industry"] = tuple(dict.fromkeys(codes))
    if "construction" in kw:
        text = str(kw["construction"]).strip()
        text = _CONSTRUCTION_ZH.get(text.removesuffix("项目"), text)
        out["construction"] = _choice("construction", text, list(vocab.CONSTRUCTION))
    if "activity" in kw:
        act = kw["activity"]
        if isinstance(act, (list, tuple)):
            act = act[0] if len(act) == 1 else act
        if isinstance(act, (list, tuple)):
            raise ProjectError(f"project activity must be one activity type, got {act!r}")
        out["activity"] = _choice("activity", str(act).strip(), list(vocab.ACTIVITIES))
    if emissions is not None:
        if not isinstance(emissions, dict):
            raise ProjectError(f"project emissions must be a mapping of pollutant to t/a, e.g. {{VOCs: 12.5}}; got {emissions!r}")
        em = {}
        for pollutant, amount in emissions.items():
            if _blank(amount):
                continue  # an empty cell, as the flattened emissions.X columns are read
            name = _choice("emissions pollutant", str(pollutant).strip(), list(vocab.POLLUTANTS))
            em[name] = _number(f"emissions.{name}", amount)
        out["emissions"] = dict(sorted(em.items()))
    if "fuel" in kw:
        value = kw["fuel"]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            pass
        else:
            fuels = [_choice("fuel", str(f).strip(), list(vocab.FUELS)) for f in _listify(value) if not _blank(f)]
            out["fuel"] = tuple(dict.fromkeys(fuels))
    for key in _NUMBERS:
        if key in kw:
            out[key] = _number(key, kw[key])
    if "groundwater" in kw:
        g = kw["groundwater"]
        if isinstance(g, str):
            low = g.strip().lower()
            if low not in {"true", "false", "yes", "no", "1", "0"}:
                raise ProjectError(f"project groundwater must be true or false, got {g!r}")
            g = low in {"true", "yes", "1"}
        elif not isinstance(g, bool) and g in (0, 1):
            g = bool(g)
        if not isinstance(g, bool):
            raise ProjectError(f"project groundwater must be true or false, got {g!r}")
        out["groundwater"] = g
    return Project(**out, extra=extra, warnings=tuple(warnings))


def _close(a, b):
    from rapidfuzz.fuzz import ratio

    return ratio(a.lower(), b.lower()) >= 80


def read_project(path):
    """Read a project description from a YAML or JSON file (or a GeoJSON Feature's properties)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ProjectError(f"project file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"cannot read project file {path}: {exc}") from None
    try:
        from zoning.yamlio import NoAliasLoader

        data = yaml.load(text, Loader=NoAliasLoader)  # noqa: S506 - a safe loader that also refuses aliases
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark else ""
        raise ProjectError(f"{path}{at}: not valid YAML/JSON: {getattr(exc, 'problem', exc)}") from None
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("properties") or {}
    if not isinstance(data, dict):
        raise ProjectError(f"{path}: expected a mapping of project keys (name, industry, construction, …)")
    return parse_project(data)
