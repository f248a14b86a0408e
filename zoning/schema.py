"""Schemas of the pack manifest (``pack.yaml``) and the access-list rules (``rules.yaml``).

Pydantic models check types and enumerations; :func:`schema_problems` turns a
validation error into one message per problem with the YAML line and the
nearest valid value where one exists.
"""

import datetime as _dt
from functools import cached_property
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, field_validator, model_validator
from rapidfuzz import process as _fuzz

from zoning import vocab
from zoning.yamlio import line_of

__all__ = [
    "Manifest",
    "LayerRef",
    "RasterRef",
    "RuleSet",
    "Clause",
    "AppliesIn",
    "When",
    "Near",
    "Comparison",
    "Obligation",
    "Offset",
    "APPLIES_IN_KINDS",
    "WHEN_KINDS",
    "NUMERIC_ATTRS",
    "schema_problems",
    "nearest",
]

_STRICT = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

Category = Literal["priority", "key", "general"]
Tier = Literal["province", "city", "unit"]
Dimension = Literal["spatial_layout", "emission_control", "risk_prevention", "resource_efficiency"]
Effect = Literal["prohibit", "condition"]
Construction = Literal["new", "expansion", "reconstruction", "relocation"]
Pollutant = Literal[tuple(vocab.POLLUTANTS)]
Fuel = Literal[tuple(vocab.FUELS)]
Activity = Literal[tuple(vocab.ACTIVITIES)]
Statistic = Literal["mean", "max"]

#: Project attributes ``when.attrs`` may compare, besides ``emissions.<pollutant>``.
NUMERIC_ATTRS = ("water_m3", "coal_t", "land_ha", "energy_tce", "groundwater")

APPLIES_IN_KINDS = ("unit_category", "unit_codes", "zone_types", "red_line", "raster_exceeds", "near", "everywhere")
WHEN_KINDS = ("industry", "industry_not", "construction", "emits", "fuel", "activity_not", "activity", "attrs")


def _as_list(value):
    return [value] if isinstance(value, (str, int, float)) else value


class LayerRef(BaseModel):
    """Where a vector layer is: a file in the pack and, for multi-layer files, the layer name."""

    model_config = _STRICT
    path: StrictStr
    layer: Optional[StrictStr] = None


class Layers(BaseModel):
    model_config = _STRICT
    units: LayerRef
    red_line: Optional[LayerRef] = None
    zones: Optional[LayerRef] = None


class RasterRef(BaseModel):
    """A quality raster (e.g. annual PM2.5) and the standard its statistic is judged against."""

    model_config = _STRICT
    path: StrictStr
    pollutant: Optional[StrictStr] = None
    unit: Optional[StrictStr] = None
    standard: float
    statistic: Statistic = "mean"
    band: int = Field(1, ge=1)


class Manifest(BaseModel):
    """``pack.yaml``."""

    model_config = _STRICT
    id: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    name: StrictStr
    version: StrictStr
    effective: _dt.date
    region: Annotated[StrictStr, Field(pattern=r"^\d{6}$")]
    crs: Optional[StrictStr] = None
    tolerance_m2: float = Field(1.0, gt=0)
    description: Optional[StrictStr] = None
    layers: Layers
    rasters: dict[StrictStr, RasterRef] = {}
    quotas: Optional[StrictStr] = None
    rules: StrictStr
    #: Where the pack came from (``zoning import`` writes it: source files and their
    #: sha256, encodings, CRSs, import time, engine version); free-form, never judged.
    provenance: Optional[dict[StrictStr, Any]] = None


class Offset(BaseModel):
    """Offset a pollutant by ``ratio`` × the project's emission (倍量削减替代)."""

    model_config = _STRICT
    pollutants: list[Pollutant] = Field(min_length=1)
    ratio: float = Field(gt=0)

    _list = field_validator("pollutants", mode="before")(_as_list)


class Obligation(BaseModel):
    model_config = _STRICT
    text: StrictStr
    offset: Optional[Offset] = None


class Near(BaseModel):
    """Features of a layer, or zones of given types, within ``within_m`` metres."""

    model_config = _STRICT
    layer: Optional[Literal["red_line", "units", "zones"]] = None
    zone_types: Optional[list[StrictStr]] = None
    within_m: float = Field(ge=0)

    _list = field_validator("zone_types", mode="before")(_as_list)

    @model_validator(mode="after")
    def _one_target(self):
        if (self.layer is None) == (self.zone_types is None):
            raise ValueError("near needs exactly one of 'layer' (red_line | units | zones) or 'zone_types'")
        return self


class AppliesIn(BaseModel):
    """Where a clause lives: exactly one key."""

    model_config = _STRICT
    unit_category: Optional[list[Category]] = None
    unit_codes: Optional[list[Annotated[StrictStr, Field(pattern=vocab.UNIT_CODE_PATTERN)]]] = None
    zone_types: Optional[list[StrictStr]] = None
    red_line: Optional[Literal[True]] = None
    raster_exceeds: Optional[StrictStr] = None
    near: Optional[Near] = None
    everywhere: Optional[Literal[True]] = None

    _lists = field_validator("unit_category", "unit_codes", "zone_types", mode="before")(_as_list)

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [k for k in APPLIES_IN_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"applies_in needs exactly one of {', '.join(APPLIES_IN_KINDS)}; got {len(given)}: {given}")
        return self

    @cached_property
    def kind(self):
        """The one key that is set."""
        return next(k for k in APPLIES_IN_KINDS if getattr(self, k) is not None)


class Comparison(BaseModel):
    """Numeric comparisons that must all hold (``gt``, ``ge``, ``lt``, ``le``, ``eq``)."""

    model_config = _STRICT
    gt: Optional[float] = None
    ge: Optional[float] = None
    lt: Optional[float] = None
    le: Optional[float] = None
    eq: Optional[float] = None

    @model_validator(mode="after")
    def _some(self):
        if all(getattr(self, k) is None for k in ("gt", "ge", "lt", "le", "eq")):
            raise ValueError("a comparison needs at least one of gt, ge, lt, le, eq")
        return self

    def holds(self, value):
        v = float(value)
        return all(
            (
                self.gt is None or v > self.gt,
                self.ge is None or v >= self.ge,
                self.lt is None or v < self.lt,
                self.le is None or v <= self.le,
                self.eq is None or v == self.eq,
            )
        )

    def describe(self):
        ops = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤", "eq": "="}
        return " and ".join(f"{ops[k]} {getattr(self, k):g}" for k in ops if getattr(self, k) is not None)


class When(BaseModel):
    """Conditions on the project; all must hold."""

    model_config = _STRICT
    industry: Optional[list[StrictStr]] = None
    industry_not: Optional[list[StrictStr]] = None
    construction: Optional[list[Construction]] = None
    emits: Optional[list[Pollutant]] = None
    fuel: Optional[list[Fuel]] = None
    activity_not: Optional[list[Activity]] = None
    activity: Optional[list[Activity]] = None
    attrs: Optional[dict[StrictStr, Comparison]] = None

    _lists = field_validator(
        "industry", "industry_not", "construction", "emits", "fuel", "activity_not", "activity", mode="before"
    )(_as_list)

    @property
    def kinds(self):
        return [k for k in WHEN_KINDS if getattr(self, k) is not None]


class Clause(BaseModel):
    """One access-list clause."""

    model_config = _STRICT
    id: Annotated[StrictStr, Field(min_length=1)]
    tier: Tier
    dimension: Dimension
    text: StrictStr
    source: Optional[StrictStr] = None
    applies_in: AppliesIn
    effect: Effect
    when: When = When()
    obligations: list[Obligation] = []


class RuleSet(BaseModel):
    """``rules.yaml``."""

    model_config = _STRICT
    clauses: list[Clause]


def nearest(value, choices):
    """Return the choice most similar to ``value``, or None when nothing is close.

    Examples
    --------
    >>> nearest("priorty", ["priority", "key", "general"])
    'priority'
    >>> nearest("zzz", ["priority", "key", "general"]) is None
    True
    """
    choices = [str(c) for c in choices]
    if not choices or value is None:
        return None
    match = _fuzz.extractOne(str(value), choices, score_cutoff=60)
    return match[0] if match else None


def _allowed_values(error):
    ctx = error.get("ctx") or {}
    expected = ctx.get("expected")
    if not expected:
        return []
    return [part.strip().strip("'") for part in expected.replace(" or ", ", ").split(",") if part.strip()]


def _fields_of(model, loc):
    """Field names valid at ``loc``'s parent, walking the model classes."""
    cls = model
    for part in loc[:-1]:
        if isinstance(part, int) or cls is None:
            continue
        field = getattr(cls, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        cls = _model_in(ann)
    return list(getattr(cls, "model_fields", {})) if cls else []


def _model_in(ann):
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        found = _model_in(arg)
        if found:
            return found
    return None


def _clean_loc(loc):
    return tuple(p for p in loc if not (isinstance(p, str) and p.startswith(("function-", "literal["))))


def schema_problems(exc: ValidationError, model, lines, filename):
    """Turn a pydantic ValidationError into ``[(line, path, message)]`` with suggestions.

    A missing key that an unknown sibling key is a misspelling of is reported once,
    as the misspelling.
    """
    out = []
    errors = exc.errors(include_url=False)
    misspelt = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            loc = _clean_loc(err["loc"])
            hint = nearest(loc[-1], _fields_of(model, loc))
            if hint:
                misspelt.add(loc[:-1] + (hint,))
    for err in errors:
        loc = _clean_loc(err["loc"])
        if err["type"] == "missing" and loc in misspelt:
            continue
        path_txt = ".".join(str(p) for p in loc) or "(top level)"
        value = err.get("input")
        kind = err["type"]
        if kind == "extra_forbidden":
            valid = _fields_of(model, loc)
            hint = nearest(loc[-1], valid)
            msg = f"unknown key {loc[-1]!r} at {path_txt}"
            msg += f"; did you mean {hint!r}?" if hint else f"; expected one of: {', '.join(valid)}"
            line = line_of(lines, loc + ("__key__",)) if (loc + ("__key__",)) in lines else line_of(lines, loc)
        elif kind == "literal_error":
            allowed = _allowed_values(err)
            hint = nearest(value, allowed)
            msg = f"{path_txt}: {value!r} is not allowed; expected one of {', '.join(allowed)}"
            msg += f" — did you mean {hint!r}?" if hint else ""
            line = line_of(lines, loc)
        elif kind == "missing":
            msg = f"{path_txt}: required key {loc[-1]!r} is missing"
            line = line_of(lines, loc[:-1])
        elif kind == "string_type":
            msg = f"{path_txt}: expected a quoted string, got {value!r}"
            if isinstance(value, (int, float)):
                msg += f' (write it in quotes, e.g. "{value}")'
            line = line_of(lines, loc)
        elif kind == "string_pattern_mismatch":
            msg = f"{path_txt}: {value!r} does not match the pattern {err['ctx']['pattern']}"
            line = line_of(lines, loc)
        else:
            shown = "" if isinstance(value, (dict, list)) or value is None else f" (got {value!r})"
            msg = f"{path_txt}: {err['msg'].removeprefix('Value error, ')}{shown}"
            line = line_of(lines, loc)
        out.append((line, loc, msg))
    return out
