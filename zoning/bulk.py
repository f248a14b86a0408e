"""The columnar engine: an overlay table × the pack's clauses → verdict columns.

Clause applicability is computed as arrays over (site, clause): a place-count
matrix ``K`` (how many of a clause's places each site touches) from the layers'
compressed feature → clause memberships, and the clause's effect for each site's
project (a small table, one row per distinct project). The verdict, blocking
clauses, missing attributes and finding counts follow with numpy; the strings
are built once per distinct combination of outcomes, not once per site.

:class:`ClausePlan` is derived once per pack; :func:`verdict_columns` runs per call.
Full :class:`~zoning.verdict.Verdict` objects (with every finding's text) are built
by :mod:`zoning.screen` from the same table, and checked against these columns.
"""

from dataclasses import dataclass

import numpy as np

from zoning.overlay import LAYERS
from zoning.rules import EFFECT_CODES, NO_EFFECT, QUOTA_EFFECT, clause_outcome, quota_status, zone_matches

__all__ = ["ClausePlan", "ProjectOutcomes", "Columns", "verdict_columns", "VERDICT_OF_CODE"]

#: The verdict each effect code gives (:data:`zoning.rules.NO_EFFECT` → permitted).
VERDICT_OF_CODE = ("prohibited", "needs_information", "conditional", "permitted")
_NEEDS = EFFECT_CODES["needs_information"]


class ClausePlan:
    """Where each clause of a pack lives, as arrays (built once per pack).

    Attributes
    ----------
    member : dict of layer → _Membership
        The clauses each feature is a place of (unit categories and codes, zone types,
        the red line), compressed by feature.
    near : list of (clause index, layer, within_m, feature mask or None)
    raster : list of (clause index, raster name)
    everywhere : list of clause indices
    quota_rows : list of quota rows (dicts, as :func:`zoning.rules.quota_table` orders them)
    quota_ptr, quota_idx : dict of layer → arrays; feature ``f``'s quota rows are
        ``quota_idx[quota_ptr[f]:quota_ptr[f + 1]]``.
    """

    def __init__(self, pack, quotas):
        clauses = pack.clauses
        self.clauses = clauses
        self.ids = np.array([c.id for c in clauses], dtype=object)
        n_clauses = len(clauses)
        units, zones = pack.units, pack.zones
        self.zone_match = zone_matches(clauses, dict(zip(zones["zone_id"], zones["zone_type"])))
        zone_ids = zones["zone_id"].to_numpy(dtype=object)
        cells = {name: ([], []) for name in LAYERS}
        self.near, self.raster, self.everywhere = [], [], []
        for j, clause in enumerate(clauses):
            a = clause.applies_in
            kind = a.kind
            rows = None
            if kind == "unit_category":
                layer, rows = "units", np.flatnonzero(units["category"].isin(a.unit_category).to_numpy())
            elif kind == "unit_codes":
                layer, rows = "units", np.flatnonzero(units["unit_code"].isin(a.unit_codes).to_numpy())
            elif kind == "zone_types":
                layer, rows = "zones", self._zone_rows(clause, zone_ids)
            elif kind == "red_line":
                layer, rows = "red_line", np.arange(len(pack.red_line))
            elif kind == "near":
                near = a.near
                layer = near.layer or "zones"
                mask = None
                if near.zone_types is not None:
                    mask = np.zeros(len(zone_ids), bool)
                    mask[self._zone_rows(clause, zone_ids)] = True
                self.near.append((j, layer, float(near.within_m), mask))
            elif kind == "raster_exceeds":
                self.raster.append((j, a.raster_exceeds))
            elif kind == "everywhere":
                self.everywhere.append(j)
            else:  # pragma: no cover - the schema allows no other kind
                raise ValueError(kind)
            if rows is not None:
                cells[layer][0].append(rows)
                cells[layer][1].append(np.full(len(rows), j))
        self.member = {}
        for name in LAYERS:
            n_feat = len(getattr(pack, name))
            r = np.concatenate(cells[name][0]) if cells[name][0] else np.zeros(0, np.int64)
            c = np.concatenate(cells[name][1]) if cells[name][1] else np.zeros(0, np.int64)
            order = np.lexsort((c, r))
            self.member[name] = _Membership(np.searchsorted(r[order], np.arange(n_feat + 1)), c[order].astype(np.int64))
        # Quota rows reachable from each unit and zone, in the order verdicts list them.
        self.quota_rows = [row for rows in quotas.values() for row in rows]
        self.quota_ids = np.array([f"quota:{r['scope']}:{r['resource']}" for r in self.quota_rows], dtype=object)
        position = {}
        for q, row in enumerate(self.quota_rows):
            position.setdefault(row["scope"], []).append(q)
        self.quota_ptr, self.quota_idx = {}, {}
        for name, col in (("units", "unit_code"), ("zones", "zone_id")):
            lists = [position.get(ident, []) for ident in getattr(pack, name)[col]]
            self.quota_ptr[name] = np.concatenate([[0], np.cumsum([len(x) for x in lists])]).astype(np.int64)
            self.quota_idx[name] = np.array([q for x in lists for q in x], dtype=np.int64)

    def _zone_rows(self, clause, zone_ids):
        named = self.zone_match[clause.id]
        return np.flatnonzero(np.fromiter((z in named for z in zone_ids), bool, len(zone_ids)))

    def outcomes(self, project):
        """:class:`ProjectOutcomes` of every clause and quota row for ``project``."""
        per_clause = [clause_outcome(c, project) for c in self.clauses]
        quota = np.array([QUOTA_EFFECT[quota_status(r, project)] for r in self.quota_rows], dtype=np.int8)
        return ProjectOutcomes(
            {c.id: o for c, o in zip(self.clauses, per_clause)},
            np.array([o.code for o in per_clause], dtype=np.int8),
            tuple(o.missing for o in per_clause),
            quota,
        )


@dataclass
class _Membership:
    """Which clauses each feature of a layer is a place of, compressed by row:
    feature ``f``'s clauses are ``clause[ptr[f]:ptr[f + 1]]``."""

    ptr: np.ndarray
    clause: np.ndarray

    @property
    def nnz(self):
        return len(self.clause)

    def expand(self, feat):
        """For each pair's feature, its clauses: ``(pair index, clause)`` arrays."""
        start, count = self.ptr[feat], np.diff(self.ptr)[feat]
        pair = np.repeat(np.arange(len(feat)), count)
        offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        return pair, self.clause[start[pair] + offset]


@dataclass
class ProjectOutcomes:
    """One project's outcome for every clause (by id, and as codes) and quota row."""

    by_id: dict
    codes: np.ndarray
    missing: tuple
    quota: np.ndarray


@dataclass
class Columns:
    """Verdict columns of one call; ``rank`` is the effect code that decided (NO_EFFECT: permitted)."""

    rank: np.ndarray
    blocking: list
    missing: list
    n_findings: np.ndarray


def place_counts(plan, table, rasters_exceed):
    """``K[site, clause]``: the number of the clause's places each site touches."""
    n = table.n
    n_clauses = len(plan.clauses)
    cells = np.zeros(n * n_clauses, np.int64)
    for name in LAYERS:
        p = table.pairs[name]
        m = plan.member[name]
        if not len(p) or not m.nnz:
            continue
        pair, clause = m.expand(p.feat)
        cells += np.bincount(p.site[pair] * n_clauses + clause, minlength=n * n_clauses)
    K = cells.reshape(n, n_clauses).astype(np.int32)
    for j, layer, within_m, mask in plan.near:
        p = table.near[layer]
        if not len(p):
            continue
        keep = p.amount <= within_m
        if mask is not None:
            keep &= mask[p.feat]
        K[:, j] = np.bincount(p.site[keep], minlength=n)
    for j, name in plan.raster:
        K[:, j] = rasters_exceed[name]
    for j in plan.everywhere:
        K[:, j] = 1
    K[~table.ok] = 0
    return K


def quota_sequence(plan, table):
    """(site, quota row) pairs in the order a verdict lists them: scopes as the units
    and zones a site touches are listed, each scope's rows in resource order."""
    sites, rows = [], []
    for name in ("units", "zones"):
        p = table.pairs[name]
        ptr, idx = plan.quota_ptr[name], plan.quota_idx[name]
        if not len(p) or not len(idx):
            continue
        start, stop = ptr[p.feat], ptr[p.feat + 1]
        count = stop - start
        if not count.any():
            continue
        pair = np.repeat(np.arange(len(p)), count)
        offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        sites.append(p.site[pair])
        rows.append(idx[start[pair] + offset])
    if not sites:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    site, row = np.concatenate(sites), np.concatenate(rows)
    order = np.argsort(site, kind="stable")
    site, row = site[order], row[order]
    # A scope named by a unit and a zone alike is checked once, where it comes first.
    _, first = np.unique(site * max(len(plan.quota_rows), 1) + row, return_index=True)
    keep = np.sort(first)
    ok = table.ok[site[keep]]
    return site[keep][ok], row[keep][ok]


def verdict_columns(plan, table, group, outcomes, rasters_exceed):
    """Verdict, blocking, missing and finding counts for every site of ``table``.

    Parameters
    ----------
    plan : ClausePlan
    table : zoning.overlay.OverlayTable
    group : ndarray of int
        The project (index into ``outcomes``) of each site.
    outcomes : list of ProjectOutcomes
    rasters_exceed : dict of raster name → bool array (the site's statistic exceeds the standard)
    """
    n = table.n
    K = place_counts(plan, table, rasters_exceed)
    codes = np.stack([o.codes for o in outcomes]) if outcomes else np.zeros((0, len(plan.clauses)), np.int8)
    fired = np.where(K > 0, codes[group] if n else np.zeros_like(K, dtype=np.int8), NO_EFFECT).astype(np.int8)
    q_site, q_row = quota_sequence(plan, table)
    quota_codes = np.stack([o.quota for o in outcomes]) if outcomes and len(plan.quota_rows) else np.zeros((len(outcomes), 0), np.int8)
    q_code = quota_codes[group[q_site], q_row] if len(q_site) else np.zeros(0, np.int8)
    finding = q_code < NO_EFFECT
    q_site, q_row, q_code = q_site[finding], q_row[finding], q_code[finding]
    rank = fired.min(axis=1) if fired.shape[1] else np.full(n, NO_EFFECT, np.int8)
    if len(q_site):
        np.minimum.at(rank, q_site, q_code)
    n_findings = np.where(fired < NO_EFFECT, K, 0).sum(axis=1) + np.bincount(q_site, minlength=n)
    # Strings once per distinct (project, clause outcomes, quota findings) combination.
    live = np.flatnonzero((fired < NO_EFFECT).any(axis=0))
    q_count = np.bincount(q_site, minlength=n)
    width = int(q_count.max()) if n else 0
    tokens = np.full((n, width), -1, np.int64)
    if len(q_site):
        pos = np.arange(len(q_site)) - np.repeat(np.cumsum(q_count) - q_count, q_count)
        tokens[q_site, pos] = q_row
    key = np.concatenate([group.astype(np.int64)[:, None].view(np.uint8), fired[:, live].view(np.uint8), tokens.view(np.uint8)], axis=1) if n else np.zeros((0, 1), np.uint8)
    key = np.ascontiguousarray(key)
    _, first, inverse = np.unique(key.view(np.dtype((np.void, key.shape[1]))).ravel(), return_index=True, return_inverse=True)
    blocking_u, missing_u = [], []
    for i in first:
        g = group[i]
        row = fired[i]
        qs = tokens[i][tokens[i] >= 0]
        qc = outcomes[g].quota[qs] if len(qs) else np.zeros(0, np.int8)
        r = rank[i]
        blocking = [*plan.ids[row == r]] if r < NO_EFFECT else []
        blocking += [*plan.quota_ids[qs[qc == r]]] if r < NO_EFFECT else []
        miss = [m for j in np.flatnonzero(row == _NEEDS) for m in outcomes[g].missing[j]]
        miss += [plan.quota_rows[q]["resource"] for q in qs[qc == _NEEDS]]
        blocking_u.append(";".join(dict.fromkeys(blocking)))
        missing_u.append(";".join(dict.fromkeys(miss)))
    inverse = inverse.ravel()
    blocking = [blocking_u[k] for k in inverse.tolist()]
    missing = [missing_u[k] for k in inverse.tolist()]
    return Columns(rank, blocking, missing, n_findings)
