"""The access-list rules engine: clauses × places × the project → findings.

A clause fires where its ``applies_in`` place is touched and every ``when``
condition holds. A condition known to be false stops it. If none is false but
some need an attribute the project did not give, the clause yields a
``needs_information`` finding naming those attributes — never a silent skip,
never a guess (contract §3b). The quota check is the only built-in rule.
"""

from dataclasses import dataclass

from zoning import vocab
from zoning.industry import industries

__all__ = [
    "Finding", "Outcome", "evaluate_when", "clause_outcome", "evaluate", "clause_places", "zone_matches",
    "quota_findings", "quota_table", "quota_status", "QUOTA_NEAR", "QUOTA_EFFECT", "EFFECT_CODES", "NO_EFFECT",
]

#: Demand above this share of the remaining quota is "near" the ceiling.
QUOTA_NEAR = 0.8

_TIER_ORDER = {t: i for i, t in enumerate(vocab.TIERS)}
#: Effects as small integers, most restrictive first; the bulk engine compares these.
EFFECT_CODES = {"prohibit": 0, "needs_information": 1, "condition": 2}
#: The code of a clause (or quota) that does not fire.
NO_EFFECT = 3


@dataclass(frozen=True)
class Finding:
    """One clause firing (or asking for information) at one place."""

    clause_id: str
    tier: str
    dimension: str
    effect: str
    text: str
    where: str
    because: str
    missing: tuple = ()
    obligations: tuple = ()
    source: str | None = None

    def to_dict(self):
        out = {
            "clause_id": self.clause_id,
            "tier": self.tier,
            "dimension": self.dimension,
            "effect": self.effect,
            "text": self.text,
            "where": self.where,
            "because": self.because,
            "missing": list(self.missing),
            "obligations": [dict(o) for o in self.obligations],
        }
        if self.source:
            out["source"] = self.source
        return out


# ----------------------------------------------------------------------------
# when: three-valued logic (True, False, None = unknown)


def _and(states):
    states = list(states)
    if any(s is False for s in states):
        return False
    if any(s is None for s in states):
        return None
    return True


def _or(states):
    states = list(states)
    if any(s is True for s in states):
        return True
    if any(s is None for s in states):
        return None
    return False


def _under(code, prefixes, table):
    """Is ``code`` under any prefix? None when ``code`` is coarser than one of them."""
    states = []
    for p in prefixes:
        p = str(p)
        if table.covers(p, code):
            states.append(True)
        elif table.covers(code, p):  # the project says 26, the clause 2614: can't tell
            states.append(None)
        else:
            states.append(False)
    return _or(states)


def _industry(when, project, table):
    if project.industry is None:
        return None, ["industry"], "industry not given"
    per_code = []
    for code in project.industry:
        inc = _under(code, when.industry, table) if when.industry else True
        exc = _under(code, when.industry_not, table) if when.industry_not else False
        per_code.append(_and([inc, None if exc is None else (not exc)]))
    state = _or(per_code)
    if state is None:
        finer = sorted({p for p in (when.industry or []) + (when.industry_not or []) for c in project.industry if table.covers(c, p) and c != p})
        return None, ["industry"], f"industry {'/'.join(project.industry)} is coarser than the clause's {', '.join(finer)}: give the 4-digit class"
    codes = "/".join(project.industry)
    if state:
        return True, [], f"industry {codes} falls under {', '.join(when.industry or ['any'])}" + (f" and not {', '.join(when.industry_not)}" if when.industry_not else "")
    return False, [], ""


def evaluate_when(when, project):
    """Evaluate a clause's ``when`` for a project: ``(state, missing, reasons)``.

    Examples
    --------
    >>> from zoning.schema import When
    >>> from zoning.project import parse_project
    >>> evaluate_when(When(industry=["26"], emits=["VOCs"]), parse_project({"industry": "2614"}))
    (None, ('emissions.VOCs',), ('industry 2614 falls under 26',))
    >>> evaluate_when(When(industry=["17"]), parse_project({"industry": "2614"}))[0]
    False
    """
    table = industries()
    states, missing, reasons = [], [], []

    def add(state, miss=(), reason=""):
        states.append(state)
        if state is None:
            missing.extend(miss)
        elif state and reason:
            reasons.append(reason)

    if when.industry is not None or when.industry_not is not None:
        s, m, r = _industry(when, project, table)
        add(s, m, r)
    if when.construction is not None:
        if project.construction is None:
            add(None, ["construction"])
        else:
            add(project.construction in when.construction, reason=f"construction is {project.construction}")
    if when.emits is not None:
        if project.emissions is None:
            add(None, [f"emissions.{p}" for p in when.emits])
        else:
            hits = [p for p in when.emits if project.emission(p) > 0]
            add(bool(hits), reason="emits " + ", ".join(f"{p} {project.emission(p):g} t/a" for p in hits))
    if when.fuel is not None:
        if project.fuel is None:
            add(None, ["fuel"])
        else:
            hits = [f for f in when.fuel if f in project.fuel]
            add(bool(hits), reason="burns " + ", ".join(hits))
    if when.activity_not is not None:
        add(project.activity not in when.activity_not, reason="" if project.activity is None else f"activity {project.activity} is not exempt")
    if when.activity is not None:
        add(project.activity in when.activity, reason=f"activity is {project.activity}")
    for name, cmp in (when.attrs or {}).items():
        value = project.attr(name)
        if value is None:
            add(None, [name])
        else:
            add(cmp.holds(value), reason=f"{name} {value:g} {cmp.describe()}")
    state = _and(states)
    if state is False:
        return False, (), ()
    if state is None:
        return None, tuple(dict.fromkeys(missing)), tuple(reasons)
    return True, (), tuple(reasons)


# ----------------------------------------------------------------------------
# places


def _zone_type_matches(zone_type, wanted):
    return any(zone_type == w or zone_type.startswith(w + ".") for w in wanted)


def zone_matches(clauses, zone_types_by_id):
    """For each clause on zone types, the ids of the zones it names: ``{clause_id: set}``."""
    by_type = {}
    for zid, zt in zone_types_by_id.items():
        by_type.setdefault(zt, set()).add(zid)
    out = {}
    for clause in clauses:
        a = clause.applies_in
        wanted = a.zone_types or (a.near.zone_types if a.near is not None else None)
        if wanted:
            out[clause.id] = set().union(*(ids for zt, ids in by_type.items() if _zone_type_matches(zt, wanted)))
    return out


def clause_places(clause, ctx):
    """Where ``clause`` lives among what the site touches: ``[(where, reason)]``.

    ``ctx.zone_match`` is :func:`zone_matches` of the pack: the zones each zone-type clause names.
    """
    a = clause.applies_in
    kind = a.kind
    if kind == "unit_category":
        return [(u["unit_code"], f"site overlaps {vocab.CATEGORIES[u['category']]} {u['unit_code']} {u['unit_name']}{_amount(u)}") for u in ctx.units if u["category"] in a.unit_category]
    if kind == "unit_codes":
        return [(u["unit_code"], f"site overlaps unit {u['unit_code']} {u['unit_name']}{_amount(u)}") for u in ctx.units if u["unit_code"] in a.unit_codes]
    if kind == "zone_types":
        named = ctx.zone_match[clause.id]
        return [(z["zone_id"], f"site overlaps {vocab.ZONE_TYPES.get(z['zone_type'], z['zone_type'])} {z['zone_id']} {z['name']}{_amount(z)}") for z in ctx.zones if z["zone_id"] in named]
    if kind == "red_line":
        return [(r["redline_id"], f"site overlaps ecological protection red line 生态保护红线 {r['redline_id']} {r['name']}{_amount(r)}") for r in ctx.red_line]
    if kind == "raster_exceeds":
        r = ctx.rasters.get(a.raster_exceeds)
        if r and r["exceeds"]:
            return [(a.raster_exceeds, f"{a.raster_exceeds} {r['statistic']} {r['value']:.1f} exceeds the standard {r['standard']:g}{(' ' + r['unit']) if r.get('unit') else ''}")]
        return []
    if kind == "near":
        near = a.near
        out = []
        # ctx.near_level: the smallest near distance of the pack each feature lies within
        # (the overlay's prepared distance-within tests), so text and columns agree.
        for n, level in zip(ctx.near, ctx.near_level):
            if level > near.within_m:
                continue
            if near.layer is not None and n["layer"] != near.layer:
                continue
            if near.zone_types is not None and not (n["layer"] == "zones" and n["id"] in ctx.zone_match[clause.id]):
                continue
            out.append((n["id"], f"site is {n['distance_m']:.0f} m from {n['layer']} {n['id']} {n.get('name', '')} (within {near.within_m:g} m)".replace("  ", " ")))
        return out
    if kind == "everywhere":
        return [(ctx.region, f"applies everywhere in the pack's region {ctx.region}")]
    raise ValueError(kind)


def _amount(entry):
    if "overlap_m2" in entry:
        return f" ({entry['overlap_m2']:,.0f} m², {entry['overlap_share']:.1%} of the site)"
    if "overlap_m" in entry:
        return f" ({entry['overlap_m']:,.0f} m, {entry['overlap_share']:.1%} of the line)"
    return " (the point lies in it)"


# ----------------------------------------------------------------------------
# obligations


def _obligations(clause, project):
    """Obligations of a firing condition clause, with offsets computed: ``(list, missing)``."""
    out, missing = [], []
    for ob in clause.obligations:
        if ob.offset is None:
            out.append({"text": ob.text, "pollutant": None, "amount_t": None})
            continue
        for pollutant in ob.offset.pollutants:
            emission = project.emission(pollutant)
            if emission is None:
                missing.append(f"emissions.{pollutant}")
                out.append({"text": ob.text, "pollutant": pollutant, "amount_t": None, "ratio": ob.offset.ratio})
            else:
                out.append({"text": ob.text, "pollutant": pollutant, "amount_t": round(ob.offset.ratio * emission, 6), "ratio": ob.offset.ratio})
    return out, missing


@dataclass(frozen=True)
class Outcome:
    """What a clause does for one project, wherever it lives.

    ``effect`` is ``prohibit``, ``condition`` or ``needs_information``, or None when a
    ``when`` condition is known to be false (the clause does not fire).
    """

    effect: str | None
    missing: tuple = ()
    reasons: tuple = ()
    obligations: tuple = ()

    @property
    def code(self):
        """:data:`EFFECT_CODES` of the effect, :data:`NO_EFFECT` when it does not fire."""
        return NO_EFFECT if self.effect is None else EFFECT_CODES[self.effect]


def clause_outcome(clause, project):
    """The :class:`Outcome` of ``clause`` for ``project``: its ``when``, then its offsets.

    A condition clause whose offset needs an emission that was not given asks for it.

    Examples
    --------
    >>> from zoning.schema import Clause
    >>> from zoning.project import parse_project
    >>> c = Clause.model_validate({"id": "X", "tier": "city", "dimension": "emission_control", "text": "t",
    ...     "applies_in": {"everywhere": True}, "effect": "condition", "when": {"industry": ["26"]},
    ...     "obligations": [{"text": "2倍削减", "offset": {"pollutants": ["VOCs"], "ratio": 2}}]})
    >>> clause_outcome(c, parse_project({"industry": "2614"})).effect
    'needs_information'
    >>> clause_outcome(c, parse_project({"industry": "2614", "emissions": {"VOCs": 3}})).obligations[0]["amount_t"]
    6.0
    """
    state, missing, reasons = evaluate_when(clause.when, project)
    if state is False:
        return Outcome(None)
    effect, obligations = clause.effect, ()
    if state is None:
        effect = "needs_information"
    elif effect == "condition":
        obs, need = _obligations(clause, project)
        obligations = tuple(obs)
        if need:
            effect, missing = "needs_information", tuple(dict.fromkeys(need))
    return Outcome(effect, tuple(missing), tuple(reasons), obligations)


def evaluate(clauses, ctx, project, outcomes=None):
    """All clause findings for one site: a list of :class:`Finding` in rules order.

    ``outcomes`` maps clause ids to their :func:`clause_outcome` for ``project`` (computed
    here when absent).
    """
    findings = []
    for clause in clauses:
        places = clause_places(clause, ctx)
        if not places:
            continue
        outcome = outcomes[clause.id] if outcomes is not None else clause_outcome(clause, project)
        if outcome.effect is None:
            continue
        for where, place in places:
            if outcome.effect == "needs_information":
                because = f"{place}; the clause may apply but needs: {', '.join(outcome.missing)}"
            else:
                because = "; ".join([place, *outcome.reasons])
            findings.append(
                Finding(clause.id, clause.tier, clause.dimension, outcome.effect, clause.text, where, because,
                        outcome.missing, outcome.obligations, clause.source)
            )
    return findings


def quota_table(quotas):
    """Quotas by scope, in resource order: ``{scope: [row, …]}`` (rows as dicts)."""
    order = list(vocab.RESOURCES)
    table = {}
    if quotas is None or not len(quotas):
        return table
    for row in quotas.to_dict("records"):
        table.setdefault(row["scope"], []).append(row)
    for rows in table.values():
        rows.sort(key=lambda r: order.index(r["resource"]))
    return table


def quota_findings(ctx, quotas, project):
    """Resource-ceiling check for every quota scope the site touches: ``(entries, findings)``.

    ``quotas`` is the pack's quota frame or a :func:`quota_table` of it.
    """
    table = quotas if isinstance(quotas, dict) else quota_table(quotas)
    if not table:
        return [], []
    touched = [u["unit_code"] for u in ctx.units] + [z["zone_id"] for z in ctx.zones]
    entries, findings = [], []
    for scope in dict.fromkeys(touched):
        for row in table.get(scope, ()):
            _quota(row, project, entries, findings)
    return entries, findings


def quota_status(row, project):
    """``ok``, ``near``, ``over`` or ``unknown`` (the project gave no demand) for one quota row."""
    demand = project.attr(row["resource"])
    if demand is None:
        return "unknown"
    remaining = float(row["remaining"])
    if demand > remaining:
        return "over"
    if demand > QUOTA_NEAR * remaining:
        return "near"
    return "ok"


#: The effect code of each quota status.
QUOTA_EFFECT = {"unknown": EFFECT_CODES["needs_information"], "over": EFFECT_CODES["prohibit"], "near": EFFECT_CODES["condition"], "ok": NO_EFFECT}


def _quota(row, project, entries, findings):
    scope, resource = row["scope"], row["resource"]
    name, unit = vocab.RESOURCES[resource]
    demand = project.attr(resource)
    remaining, cap, used = float(row["remaining"]), float(row["cap"]), float(row["used"])
    cid = f"quota:{scope}:{resource}"
    status = quota_status(row, project)
    entry = {"scope": scope, "resource": resource, "demand": demand, "remaining": remaining, "cap": cap, "status": status}
    text = f"资源利用上线：{scope} {name}上限 {cap:,.0f} {unit}，已用 {used:,.0f}，剩余 {remaining:,.0f} {unit}"
    if status == "unknown":
        findings.append(Finding(cid, "unit", "resource_efficiency", "needs_information", text, scope,
                                f"the site lies in quota scope {scope}; the project's {resource} is needed to check the remaining {remaining:,.0f} {unit}", (resource,)))
    elif status == "over":
        findings.append(Finding(cid, "unit", "resource_efficiency", "prohibit", text, scope,
                                f"demand {demand:,.0f} {unit} exceeds the remaining {remaining:,.0f} {unit} of {scope}"))
    elif status == "near":
        findings.append(Finding(cid, "unit", "resource_efficiency", "condition", text, scope,
                                f"demand {demand:,.0f} {unit} is over {QUOTA_NEAR:.0%} of the remaining {remaining:,.0f} {unit} of {scope}",
                                obligations=({"text": f"{name}需求接近{scope}剩余额度，须落实区域{name}平衡或削减方案", "pollutant": None, "amount_t": None},)))
    entries.append(entry)
