"""The service's operations as plain functions over plain data — no web framework here.

:class:`Service` holds the packs (loaded once, indexes warm) and the record store; each
method takes plain Python values and returns JSON-ready data or raises a
:class:`~zoning.errors.ZoningError` (mapped to a status by :func:`zoning.service.errors.http_error`).

>>> from zoning.service.store import Store
>>> from zoning import load_pack
>>> svc = Service({"grid": load_pack("tests/data/packs/grid")}, Store("sqlite://"))
>>> out = svc.screen_feature({"type": "Feature", "properties": {"industry": "6550", "construction": "new"},
...                           "geometry": {"type": "Point", "coordinates": [120.0052, 30.7251]}})
>>> out["verdict"] in {"prohibited", "needs_information", "conditional", "permitted"}, len(out["screening_id"])
(True, 32)
>>> svc.screening(out["screening_id"])["verdict"]["verdict"] == out["verdict"]
True
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
import threading
from pathlib import Path

import shapely
import shapely.geometry

import zoning
from zoning.service.bodies import check_geojson, check_values, parse_json
from zoning.service.config import Limits
from zoning.service.eligibility import DEFAULT_SIMPLIFY_M, ResponseCache, eligibility_response
from zoning.service.errors import BadRequest, LimitExceeded, NotFound, StorageUnavailable
from zoning.service.maps import screening_map_html
from zoning.service.uploads import check_upload, check_vertices, suffix_of
from zoning import vocab
from zoning.errors import PackError, SiteError, ZoningError

__all__ = ["Service", "load_packs", "pack_ref", "newest_first", "project_from_fields", "BATCH_COLUMNS", "record_many"]

log = logging.getLogger("zoning.service")

_ID_RE = re.compile(r"^[0-9a-f]{32}$")
#: The contract-§6 columns of every row of ``POST /v1/screen/batch`` (as ``zoning batch`` writes them).
BATCH_COLUMNS = ("verdict", "verdict_zh", "units", "red_line", "blocking", "missing", "n_findings", "error")
_PROJECT_FIELDS = ("name", "industry", "construction", "activity", "emissions", "fuel", "water_m3", "coal_t", "land_ha", "energy_tce", "groundwater")


def load_packs(paths=(), packs_dir=None):
    """Load packs by directory (and every sub-directory of ``packs_dir`` with a pack.yaml).

    With neither, the embedded demo pack. Returns ``{"ID@VERSION": Pack}`` in load order;
    the first pack's id is the default. Several versions of one pack id load side by side;
    two packs with one id *and* one version are refused.
    """
    dirs = [Path(p) for p in paths]
    if packs_dir:
        root = Path(packs_dir)
        if not root.is_dir():
            raise PackError(f"packs directory {str(root)!r} does not exist")
        found = sorted(p for p in root.iterdir() if (p / "pack.yaml").is_file())
        if not found:
            raise PackError(f"packs directory {str(root)!r} has no sub-directory with a pack.yaml")
        dirs.extend(found)
    loaded = [zoning.load_pack(d) for d in dirs] if dirs else [zoning.load_pack()]
    packs = {}
    for pack in loaded:
        ref = pack_ref(pack)
        if ref in packs:
            raise PackError(f"two packs have the id {pack.id!r} and version {pack.version!r} ({packs[ref].path} and {pack.path}); "
                            "give each version of a pack its own version string")
        packs[ref] = pack
    return packs


def pack_ref(pack):
    """``"ID@VERSION"``: how a query names one version of a pack."""
    return f"{pack.id}@{pack.version}"


def _natural(text):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(text)) if t]


def newest_first(packs):
    """The versions of one pack id, newest first: by ``effective`` date, then version string (2.10 after 2.9)."""
    return sorted(packs, key=lambda p: (p.effective, _natural(p.version)), reverse=True)


def _warm(pack):
    """Build the pack's index and caches with one throw-away screening."""
    pack.index  # noqa: B018 - cached property
    if len(pack.units):
        point = pack.units.geometry.iloc[0].representative_point()
        try:
            pack.screen(point, {"industry": "C", "construction": "new"})
        except ZoningError:
            pass


def project_from_fields(fields, limits=None):
    """Build a project mapping from form fields (all strings or None).

    ``project`` is a JSON object of contract §2 keys; the single fields replace its keys:
    ``industry`` and ``fuel`` are comma-separated (``fuel=none``: burns nothing);
    ``emissions`` is a JSON object or ``VOCs=12.5,SO2=3``.

    >>> project_from_fields({"project": '{"name": "x"}', "industry": "2614, 2619", "emissions": "VOCs=1.5"})
    {'name': 'x', 'industry': ['2614', '2619'], 'emissions': {'VOCs': '1.5'}}
    >>> project_from_fields({"fuel": "none"})
    {'fuel': []}
    """
    project = {}
    raw = fields.get("project")
    if raw not in (None, ""):
        try:
            project = parse_json(raw, limits or Limits(), what="form field 'project'")
        except BadRequest as e:
            raise BadRequest(f"form field 'project' must be a JSON object of project keys ({e})", code="project_invalid") from None
        if not isinstance(project, dict):
            raise BadRequest(f"form field 'project' must be a JSON object, got {type(project).__name__}", code="project_invalid")
    for key in _PROJECT_FIELDS:
        value = fields.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        value = value.strip() if isinstance(value, str) else value
        if key in ("industry", "fuel") and isinstance(value, str):
            value = [] if key == "fuel" and value.lower() == "none" else [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]
        elif key == "emissions" and isinstance(value, str) and not value.startswith("{"):
            out = {}
            for item in value.replace("，", ",").split(","):
                if not item.strip():
                    continue
                if "=" not in item:
                    raise BadRequest(f"form field 'emissions' expects POLLUTANT=T_PER_YEAR pairs, e.g. VOCs=12.5,SO2=3; got {item.strip()!r}", code="project_invalid")
                k, v = item.split("=", 1)
                out[k.strip()] = v.strip()
            value = out
        elif key == "groundwater" and isinstance(value, str):
            low = value.lower()
            if low not in {"true", "false", "1", "0", "yes", "no"}:
                raise BadRequest(f"form field 'groundwater' must be true or false, got {value!r}", code="project_invalid")
            value = low in {"true", "1", "yes"}
        project[key] = value
    return project


def _webmap(gcj02, bd09, crs):
    if gcj02 and bd09:
        raise BadRequest("give at most one of gcj02=true and bd09=true")
    if (gcj02 or bd09) and crs:
        raise BadRequest("gcj02/bd09 describe lon/lat from web maps; they cannot be combined with crs")
    return "gcj02" if gcj02 else ("bd09" if bd09 else None)


def _guard(stage, func, *args, **kwargs):
    """Run a reading step; an unexpected low-level error on odd input becomes a SiteError."""
    try:
        return func(*args, **kwargs)
    except ZoningError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, shapely.errors.ShapelyError) as e:
        raise SiteError(f"cannot read the {stage}: {type(e).__name__}: {e}") from None


class Service:
    """The operations of the HTTP service.

    Parameters
    ----------
    packs : dict or iterable
        Packs (a mapping's keys are ignored: packs are named by their own id and version);
        the first one's id is the default. Several versions of one id are served side by
        side; a plain id means its newest version (:func:`newest_first`).
    store : zoning.service.store.Store or None
        None in a worker process, which computes verdicts and leaves recording to the server.
    limits : zoning.service.config.Limits, optional
    warm : bool
        Build the packs' indexes now (with a throw-away screening).
    """

    def __init__(self, packs, store, limits=None, *, warm=True):
        loaded = list(packs.values()) if isinstance(packs, dict) else list(packs)
        if not loaded:
            raise PackError("the service needs at least one pack")
        grouped = {}
        for p in loaded:
            grouped.setdefault(p.id, []).append(p)
        #: ``{pack_id: [Pack, …]}``, newest version first.
        self.versions = {pid: newest_first(ps) for pid, ps in grouped.items()}
        #: ``{pack_id: Pack}``: the newest version of each id (what a plain ``pack=ID`` means).
        self.packs = {pid: ps[0] for pid, ps in self.versions.items()}
        #: ``{"ID@VERSION": Pack}``: every version served.
        self.by_ref = {pack_ref(p): p for ps in self.versions.values() for p in ps}
        self.default_pack = loaded[0].id
        self.store = store
        self.limits = limits or Limits()
        self._cache_lock = threading.Lock()
        self._units_geojson = {}
        self._eligibility = ResponseCache()
        if warm:
            for pack in self.by_ref.values():
                _warm(pack)

    @classmethod
    def from_settings(cls, settings, *, warm=True):
        from zoning.service.store import Store

        packs = load_packs(settings.packs, settings.packs_dir)
        store = Store(settings.db_url, sqlite_synchronous=settings.sqlite_synchronous, key=settings.records_key)
        return cls(packs, store, settings.limits, warm=warm)

    # ---------------------------------------------------------------- browsing

    def pack(self, pack_id=None):
        """The pack named ``ID`` (its newest version) or ``ID@VERSION``; the default pack when None.

        Raises :class:`~zoning.service.errors.NotFound` naming the packs, or the versions of that
        pack, this server has.
        """
        if pack_id in (None, ""):
            return self.packs[self.default_pack]
        pid, at, version = str(pack_id).partition("@")
        if pid not in self.versions:
            raise NotFound(f"no pack {pid!r}; this server has {', '.join(self.packs)}", code="pack_not_found")
        if not at:
            return self.packs[pid]
        for p in self.versions[pid]:
            if p.version == version:
                return p
        have = ", ".join(repr(p.version) for p in self.versions[pid])
        raise NotFound(f"pack {pid!r} has no version {version!r}; this server has {pid} version{'s' if len(self.versions[pid]) > 1 else ''} {have} "
                       f"(ask for pack={pid}@VERSION, or pack={pid} for the newest)", code="pack_version_not_found",
                       detail={"pack": pid, "versions": [p.version for p in self.versions[pid]]})

    def served(self, pack_id, version, digest=None):
        """The served pack of this id and version (and digest, when given), or None."""
        for p in self.versions.get(pack_id, ()):
            if p.version == version and (digest is None or p.digest == digest):
                return p
        return None

    def health(self):
        """Liveness and readiness: ``status`` ok, or degraded with the store's problem."""
        db = self.store.health()
        out = {
            "status": "ok" if db["status"] == "ok" else "degraded",
            "engine": {"version": zoning.__version__},
            "packs": list(self.packs),
            "database": db["status"],
        }
        if db["status"] != "ok":
            out["database_detail"] = db["detail"]
        return out

    def list_packs(self):
        """Every pack version served (newest version of each id first) and, under ``versions``,
        each pack id with its versions, digests and effective dates."""
        out = []
        versions = {}
        for pid, ps in self.versions.items():
            versions[pid] = []
            for p in ps:
                minx, miny, maxx, maxy = (float(v) for v in p.units.total_bounds)
                latest = p is ps[0]
                out.append(
                    {
                        "id": pid,
                        "ref": pack_ref(p),
                        "name": p.name,
                        "version": p.version,
                        "effective": p.effective.isoformat(),
                        "region": p.region,
                        "digest": p.digest,
                        "default": pid == self.default_pack and latest,
                        "latest": latest,
                        "units": len(p.units),
                        "red_lines": len(p.red_line),
                        "zones": len(p.zones),
                        "clauses": len(p.clauses),
                        "rasters": sorted(p.rasters),
                        "bbox": [minx, miny, maxx, maxy],
                    }
                )
                versions[pid].append({"version": p.version, "ref": pack_ref(p), "digest": p.digest,
                                      "effective": p.effective.isoformat(), "latest": latest})
        return {"packs": out, "default": self.default_pack, "versions": versions}

    def unit(self, unit_code, pack_id=None):
        """One environmental control unit as a GeoJSON Feature, with the clauses that live in it."""
        packs = [self.pack(pack_id)] if pack_id else list(self.packs.values())
        for p in packs:
            hit = p.units[p.units["unit_code"] == unit_code]
            if len(hit):
                row = hit.iloc[0]
                props = {k: _plain(v) for k, v in row.items() if k != "geometry"}
                props["category_zh"] = vocab.CATEGORIES.get(props.get("category"), "")
                props["pack"] = {"id": p.id, "version": p.version, "digest": p.digest}
                props["clauses"] = [_clause_summary(c) for c in p.clauses if _clause_in_unit(c, props)]
                return {"type": "Feature", "id": unit_code, "properties": props, "geometry": shapely.geometry.mapping(row.geometry)}
        where = f"pack {pack_id!r}" if pack_id else "any pack on this server"
        raise NotFound(f"no unit {unit_code!r} in {where}; unit codes look like ZH33052320003", code="unit_not_found")

    def pack_units(self, pack_id=None):
        """The pack's units as a light GeoJSON FeatureCollection (simplified ~10 m), for the page's map."""
        p = self.pack(pack_id)
        with self._cache_lock:
            key = (p.id, p.version, p.digest)
            if key not in self._units_geojson:
                frame = p.units[["unit_code", "unit_name", "category", "geometry"]].copy()
                frame["geometry"] = frame.geometry.simplify(0.0001, preserve_topology=True)
                self._units_geojson[key] = json.loads(frame.to_json(drop_id=True))
            return copy.deepcopy(self._units_geojson[key])

    def industries(self):
        """The GB/T 4754-2017 table: ``[{code, name, level, parent}]`` in code order."""
        from zoning.industry import industries

        return {"industries": [{"code": r.code, "name": r.name, "level": r.level, "parent": r.parent} for r in industries()]}

    def vocabulary(self):
        """The closed vocabularies with their Chinese names (:mod:`zoning.vocab`, the one source).

        What a project uses (construction, activity, fuel, pollutants), what a verdict says
        (verdicts, effects, tiers, dimensions, unit categories, media, zone types) and
        ``attributes``: every project attribute a finding's ``missing`` may name
        (``emissions.VOCs``…) with its label, unit and what to supply.
        """
        return {
            "construction": dict(vocab.CONSTRUCTION),
            "activity": dict(vocab.ACTIVITIES),
            "fuel": dict(vocab.FUELS),
            "pollutants": dict(vocab.POLLUTANTS),
            "verdicts": dict(vocab.VERDICTS),
            "effects": dict(vocab.EFFECTS),
            "tiers": dict(vocab.TIERS),
            "dimensions": dict(vocab.DIMENSIONS),
            "categories": dict(vocab.CATEGORIES),
            "media": dict(vocab.MEDIA),
            "zone_types": dict(vocab.ZONE_TYPES),
            "attributes": vocab.attribute_labels(),
        }

    # ---------------------------------------------------------------- screening

    def screen_feature(self, body, **options):
        """Screen a GeoJSON Feature (bytes or mapping) whose properties are the project; store and return the verdict.

        Options as for :meth:`compute_feature`. In the server the two halves run apart: the
        computation in a worker process, the recording in the server (:meth:`record`).
        """
        return self.record(*self.compute_feature(body, **options))

    def screen_upload(self, data, filename, fields=None, **options):
        """Screen an uploaded site file with project fields; store and return the verdict."""
        return self.record(*self.compute_upload(data, filename, fields, **options))

    def compute_feature(self, body, *, pack=None, crs=None, gcj02=False, bd09=False, repair=False):
        """Parse (if bytes), check and screen a GeoJSON Feature; return ``(request, verdict)`` unrecorded.

        Bytes are parsed within the limits (:func:`zoning.service.bodies.parse_json`); every
        coordinate must be a finite number and the vertices are counted before the site is
        built (:func:`zoning.service.bodies.check_geojson`), and again on the site as read.
        """
        if isinstance(body, (bytes, bytearray, memoryview, str)):
            body = parse_json(bytes(body) if not isinstance(body, str) else body, self.limits)
        if not isinstance(body, dict) or body.get("type") != "Feature":
            got = body.get("type") if isinstance(body, dict) else type(body).__name__
            raise BadRequest(f"expected a GeoJSON Feature whose properties are the project, got {got!r}", code="bad_input")
        if not isinstance(body.get("geometry"), dict):
            raise BadRequest("the Feature has no geometry; expected a Point, LineString or Polygon (or Multi…)", code="site_invalid")
        props = body.get("properties")
        if props is not None and not isinstance(props, dict):
            raise BadRequest(f"the Feature's properties must be an object of project keys, got {type(props).__name__}", code="project_invalid")
        check_geojson(body, self.limits)
        check_values(props or {}, "the project")
        check_values({k: v for k, v in body.items() if k != "properties"}, "the Feature")
        webmap = _webmap(gcj02, bd09, crs)
        p = self.pack(pack)
        site = _guard("site", zoning.read_site, body, crs=crs or None, webmap=webmap, repair=bool(repair))
        check_vertices(site, self.limits)
        project = dict(props or {})
        request = {"kind": "feature", "input": body}
        return self._compute(p, site, project, request, {"pack": p.id, "crs": crs or None, "webmap": webmap, "repair": bool(repair)})

    def compute_upload(self, data, filename, fields=None, *, pack=None, crs=None, gcj02=False, bd09=False, repair=False):
        """Check and screen an uploaded site file with project fields; return ``(request, verdict)`` unrecorded."""
        fields = dict(fields or {})
        if len(data) > self.limits.max_body_bytes:
            from zoning.service.errors import PayloadTooLarge

            raise PayloadTooLarge(f"the upload is {len(data)} bytes; the limit is {self.limits.max_body_bytes}")
        check_values(fields, "the form")
        webmap = _webmap(gcj02, bd09, crs)
        p = self.pack(pack)
        project = project_from_fields(fields, self.limits)
        check_values(project, "the project")
        features = check_upload(data, filename, self.limits)
        site = _guard("uploaded file", zoning.site.read_site_bytes, data, filename, crs=crs or None, webmap=webmap, repair=bool(repair))
        check_vertices(site, self.limits)
        base = {}
        if site.project:
            if suffix_of(filename) in {".geojson", ".json"}:
                base = dict(site.project)
            elif site.project.get("name"):
                base = {"name": site.project["name"]}
        check_values(base, "the file's attributes")
        base.update(project)
        request = {
            "kind": "upload",
            "filename": Path(str(filename).replace("\\", "/")).name,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "features": features,
            "fields": {k: v for k, v in fields.items() if v not in (None, "")},
        }
        return self._compute(p, site, base, request, {"pack": p.id, "crs": crs or None, "webmap": webmap, "repair": bool(repair)})

    def _compute(self, p, site, project, request, options):
        verdict = p.screen(site, project)
        result = verdict.to_dict()
        request = {
            **request,
            "site": shapely.geometry.mapping(site.geometry),
            "site_source": site.source,
            "source_crs": site.source_crs,
            "project": project,
            "options": options,
            "pack": {"id": p.id, "version": p.version, "digest": p.digest},
        }
        from zoning.service.store import prepare

        request = _jsonable(request)
        return request, result, prepare(request, result)

    def record(self, request, result, prepared=None):
        """Store a computed screening; return the verdict with its ``screening_id``.

        ``prepared`` (from :func:`zoning.service.store.prepare`, made in the worker process)
        carries the serialised texts and content digest, so the server does no heavy work.
        Raises :class:`~zoning.service.errors.StorageUnavailable` (503) when the store cannot take it.
        """
        if self.store is None:
            raise StorageUnavailable("this process has no record store")
        rid = self.store.add(request, result, prepared=prepared)
        result = dict(result)
        result["screening_id"] = rid
        return result

    # ---------------------------------------------------------------- many sites

    def screen_batch(self, body, **options):
        """:meth:`compute_batch` and, with ``record=True``, :meth:`record_batch`: the response as plain data."""
        response, prepared = self.compute_batch(body, **options)
        return self.record_batch(response, prepared) if prepared is not None else response

    def compute_batch(self, body, *, pack=None, crs=None, gcj02=False, bd09=False, record=False):
        """Screen every feature of a GeoJSON FeatureCollection separately, with the bulk engine.

        Each feature is one site and its ``properties`` its project (contract §2 keys); the
        body's optional ``project`` member (an object beside ``features``) gives defaults for
        the keys a feature leaves out. The features go through :func:`zoning.screen.screen_many`
        together (one overlay, one pass over the clauses), not one screening each.

        A feature that cannot be screened — not a Feature, a malformed or invalid geometry, an
        unknown industry code, outside the pack's region — gets the reason in its row's
        ``error`` and the others go on. The request as a whole is refused (422) when it is not
        JSON or not a FeatureCollection, has more than ``limits.max_batch_features`` features
        (``too_many_features``) or vertices in all (``too_many_vertices``), or its default
        project is invalid.

        Returns
        -------
        (dict, list or None)
            The response (``pack``, ``engine``, ``counts``, ``rows``: one per feature, in order,
            with ``index``, ``id`` and the contract-§6 columns) and, with ``record=True``, one
            :func:`zoning.service.store.prepare` tuple per screened row (None for row errors),
            to be stored by :meth:`record_batch` in the server process.
        """
        import pandas as pd

        from zoning.service.store import prepare

        if isinstance(body, (bytes, bytearray, memoryview, str)):
            body = parse_json(bytes(body) if not isinstance(body, str) else body, self.limits)
        features, default = self._batch_body(body)
        webmap = _webmap(gcj02, bd09, crs)
        p = self.pack(pack)
        src_crs = _batch_crs(body, crs, webmap)
        n = len(features)
        geoms, props, errors = _batch_features(features, self.limits, webmap)
        good = [i for i in range(n) if errors[i] is None]
        frame = _batch_frame([geoms[i] for i in good], [props[i] for i in good], src_crs)
        out = p.screen_many(frame, default, full=bool(record)) if good else None
        rows = []
        prepared = [None] * n if record else None
        at = dict(zip(good, range(len(good))))
        cols = {c: out[c].tolist() for c in BATCH_COLUMNS} if out is not None else {}
        results = out["result"].tolist() if out is not None and record else None
        label = {"gcj02": "GCJ-02", "bd09": "BD-09"}.get(webmap) or _crs_label(src_crs)
        for i in range(n):
            f = features[i]
            row = {"index": i, "id": f.get("id") if isinstance(f, dict) and isinstance(f.get("id"), (str, int, float)) else None}
            if i in at:
                k = at[i]
                for c in BATCH_COLUMNS:
                    v = cols[c][k]
                    row[c] = None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else (int(v) if c == "n_findings" else v)
                if record and row["error"] is None:
                    verdict = results[k]
                    # The verdict's own data, not to_dict()'s deep copy (40 % of the time of a recorded
                    # batch): it is serialised right here and the Verdict object is dropped.
                    data = verdict._data
                    result = {**data, "site": {**data["site"], "source_crs": label}}
                    project = dict(default or {})
                    project.update({key: v for key, v in (props[i] or {}).items() if v is not None})
                    request = _jsonable({
                        "kind": "batch",
                        "input": f,
                        "batch": {"index": i, "features": n},
                        "site": shapely.geometry.mapping(verdict.site_geometry),  # CGCS2000 lon/lat, as screened
                        "site_source": f"batch feature {i + 1} of {n}",
                        "source_crs": label,
                        "project": project,
                        "options": {"pack": p.id, "crs": crs or None, "webmap": webmap, "default_project": default},
                        "pack": {"id": p.id, "version": p.version, "digest": p.digest},
                    })
                    prepared[i] = prepare(request, result)
            else:
                row.update({c: None for c in BATCH_COLUMNS})
                row["error"] = errors[i]
            rows.append(row)
        counts = dict.fromkeys([*vocab.VERDICTS, "error"], 0)
        for r in rows:
            counts[r["verdict"] or "error"] += 1
        counts["total"] = n
        response = {
            "pack": {"id": p.id, "version": p.version, "digest": p.digest},
            "engine": {"version": zoning.__version__},
            "recorded": bool(record),
            "counts": counts,
            "rows": rows,
        }
        return response, prepared

    def _batch_body(self, body):
        if not isinstance(body, dict) or body.get("type") != "FeatureCollection":
            got = body.get("type") if isinstance(body, dict) else type(body).__name__
            raise BadRequest(f"expected a GeoJSON FeatureCollection (one feature per site, properties = its project), got {got!r}", code="bad_input")
        features = body.get("features")
        if not isinstance(features, list):
            raise BadRequest(f"the FeatureCollection's 'features' must be an array of Features, got {_kind_of(features)}", code="bad_input")
        limit = self.limits.max_batch_features
        if len(features) > limit:
            raise LimitExceeded(f"the batch has {len(features)} features; the limit is {limit} (ZONING_MAX_BATCH_FEATURES): split it into several requests",
                                code="too_many_features", detail={"features": len(features), "limit": limit})
        if not features:
            raise BadRequest("the FeatureCollection has no features; expected at least one site", code="bad_input")
        default = body.get("project")
        if default is not None:
            if not isinstance(default, dict):
                raise BadRequest(f"the FeatureCollection's 'project' (the default project) must be an object of contract §2 keys, got {_kind_of(default)}", code="project_invalid")
            check_values(default, "the project")
            from zoning.project import parse_project

            parse_project(default)  # a bad default is the request's fault: 422 project_invalid, not an error in every row
        return features, default

    def record_batch(self, response, prepared):
        """Store every screened row of a batch as a screening record, all in one transaction;
        add ``screening_id`` to each row (None for rows with an error). Nothing is stored when
        the store refuses any of them (:class:`StorageUnavailable`, 503)."""
        if self.store is None:
            raise StorageUnavailable("this process has no record store")
        ids = record_many(self.store, [x for x in prepared if x is not None])
        it = iter(ids)
        for row, x in zip(response["rows"], prepared):
            row["screening_id"] = next(it) if x is not None else None
        return response

    # ---------------------------------------------------------------- eligibility

    def compute_eligibility(self, body, *, pack=None, simplify_m=DEFAULT_SIMPLIFY_M):
        """Where may the project (the body: contract §2 keys) go — ``(json_bytes, cached)``.

        The eligibility map of :meth:`zoning.Pack.eligibility` over the whole pack as a GeoJSON
        FeatureCollection simplified by ``simplify_m`` metres for display (see
        :mod:`zoning.service.eligibility`); ``cached`` says this process had the answer already.
        Not a screening of a site: nothing is recorded.
        """
        return eligibility_response(self.pack(pack), body, self.limits, self._eligibility, simplify_m=simplify_m)

    def eligibility(self, body, *, pack=None, simplify_m=DEFAULT_SIMPLIFY_M):
        """:meth:`compute_eligibility` as plain data (the FeatureCollection dict)."""
        return json.loads(self.compute_eligibility(body, pack=pack, simplify_m=simplify_m)[0])

    # ---------------------------------------------------------------- records

    def screening(self, screening_id):
        """The stored record of a past screening."""
        if not isinstance(screening_id, str) or not _ID_RE.match(screening_id):
            raise NotFound(f"no screening {screening_id!r}; ids are 32 hex digits", code="screening_not_found")
        record = self.store.get(screening_id)
        if record is None:
            raise NotFound(f"no screening {screening_id!r}", code="screening_not_found")
        return record

    def screening_map(self, screening_id, *, offline=False):
        """The folium map (HTML text) of a stored screening."""
        record = self.screening(screening_id)
        # when this server no longer holds the record's data, the map shows the site and what it touched only
        return screening_map_html(record, self._record_pack(record["pack"]), offline=offline)

    def _record_pack(self, ref):
        """The pack a record was screened on: that version when still served (same data), else
        another version with the same digest, else None."""
        return self.served(ref["id"], ref["version"], ref["digest"]) or next(
            (p for p in self.versions.get(ref["id"], ()) if p.digest == ref["digest"]), None)


    def screening_report(self, screening_id, fmt="pdf"):
        """The report of a stored screening as ``(bytes, media_type, filename)``; see :meth:`report_of`."""
        return self.report_of(self.screening(screening_id), fmt)

    def report_of(self, record, fmt="pdf"):
        """The report of a stored record (``store.get`` output) as ``(bytes, media_type, filename)``.

        The report (:func:`zoning.report.write_report`) carries the record's ``screening_id`` as
        its record number and the record's time; an uploaded file's name and sha256 are stated.
        It needs the data the record was screened on: the same pack digest must be served here.
        """
        import tempfile

        from zoning.report import write_report
        from zoning.verdict import Verdict

        media = {"pdf": "application/pdf", "html": "text/html; charset=utf-8",
                 "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
        if fmt not in media:
            raise BadRequest(f"format must be one of {', '.join(media)}, got {fmt!r}", code="bad_input")
        screening_id = record["screening_id"]
        ref = record["pack"]
        pack = self._record_pack(ref)
        if pack is None:
            raise NotFound(f"screening {screening_id} was made on pack {ref['id']} {ref['version']} ({ref['digest']}), which this "
                           "server no longer serves; a report needs that data (its map and compliance table): serve that version too",
                           code="pack_version_not_found")
        request = record["request"]
        geom = shapely.geometry.shape(request["site"]) if request.get("site") else None
        source = None
        if request.get("kind") == "upload":
            source = {"kind": "upload", "name": request.get("filename"), "layer": None, "bytes": request.get("size"),
                      "sha256": request.get("sha256"), "parts": []}
        verdict = Verdict(record["verdict"], geom, pack)
        with tempfile.TemporaryDirectory(prefix="zoning-report-") as tmp:
            path = write_report(verdict, Path(tmp) / f"report.{fmt}", offline=True, screening_id=screening_id,
                                screened_at=record.get("created_at"), source=source, site=geom, pack=pack)
            data = path.read_bytes()
        return data, media[fmt], f"zoning-{screening_id}.{fmt}"


def _clause_in_unit(clause, props):
    a = clause.applies_in
    if a.everywhere:
        return True
    if a.unit_category and props.get("category") in a.unit_category:
        return True
    return bool(a.unit_codes and props.get("unit_code") in a.unit_codes)


def _clause_summary(c):
    return {"id": c.id, "tier": c.tier, "dimension": c.dimension, "effect": c.effect, "text": c.text, "source": c.source}


def _plain(value):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _jsonable(obj):
    try:
        return json.loads(json.dumps(obj, ensure_ascii=False, default=str, allow_nan=False))
    except ValueError as e:  # NaN or infinity that slipped past the checks
        raise BadRequest(f"the request holds a number JSON cannot carry ({e}); expected finite numbers", code="bad_input") from None


def _crs_label(crs):
    from zoning.crs import crs_label

    return crs_label(crs)


def _kind_of(v):
    if v is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(type(v), type(v).__name__)


def _batch_crs(body, crs, webmap):
    """The CRS of the batch's coordinates: ``crs=`` over the body's (legacy) ``crs`` member, else WGS84."""
    from pyproj import CRS

    from zoning.crs import parse_crs
    from zoning.site import _geojson_crs

    if webmap:
        return CRS.from_epsg(4326)
    if crs:
        return parse_crs(crs, "crs")
    return _geojson_crs(body.get("crs"), "the FeatureCollection")[0]


def _batch_features(features, limits, webmap):
    """``(geometries, properties, errors)``: each feature's site and project, or why it cannot be screened."""
    from zoning import webmap as _wm

    n = len(features)
    geoms, props, errors = [None] * n, [None] * n, [None] * n
    total = 0  # vertices in all: the limit holds for the whole batch
    convert = {"gcj02": _wm.gcj02_to_wgs84, "bd09": _wm.bd09_to_wgs84}.get(webmap)
    for i, f in enumerate(features):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            got = f"type {f.get('type')!r}" if isinstance(f, dict) else _kind_of(f)
            errors[i] = f"item {i} of 'features' is not a GeoJSON Feature (got {got})"
            continue
        pr = f.get("properties")
        if pr is not None and not isinstance(pr, dict):
            errors[i] = f"the feature's properties must be an object of project keys, got {_kind_of(pr)}"
            continue
        g = f.get("geometry")
        if g is None:
            errors[i] = "the feature has no geometry; expected a Point, LineString or Polygon (or Multi…)"
            continue
        try:
            total += check_geojson({"type": "Feature", "geometry": g}, limits)
            if total > limits.max_vertices:
                raise LimitExceeded(f"the batch has more than {limits.max_vertices} vertices in all; the limit is {limits.max_vertices}: "
                                    "split it into several requests", code="too_many_vertices")
            check_values(pr or {}, "the project")
            check_values({k: v for k, v in f.items() if k != "properties"}, "the Feature")
            geom = shapely.geometry.shape(g)
            if convert is not None and not geom.is_empty:
                geom = convert(geom)
        except LimitExceeded:
            raise
        except BadRequest as e:
            errors[i] = str(e)
            continue
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.ShapelyError) as e:
            errors[i] = f"malformed {g.get('type', 'geometry') if isinstance(g, dict) else 'geometry'}: {e}; expected GeoJSON coordinates [lon, lat]"
            continue
        geoms[i], props[i] = geom, pr or {}
    return geoms, props, errors


def _batch_frame(geoms, props, crs):
    """The GeoDataFrame :func:`zoning.screen.screen_many` takes: the project keys as object columns."""
    import geopandas as gpd
    import pandas as pd

    from zoning.project import PROJECT_KEYS

    keys = []
    for pr in props:
        for k in pr:
            if (k in PROJECT_KEYS or (isinstance(k, str) and k.startswith("emissions."))) and k not in keys:
                keys.append(k)
    data = {k: pd.Series([pr.get(k) for pr in props], dtype=object) for k in keys}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=crs).values, crs=crs)


def record_many(store, prepared):
    """Store many screenings in one transaction, chained in order; return their ids.

    ``prepared``: :func:`zoning.service.store.prepare` tuples. Either every record is written
    or none (:class:`StorageUnavailable`). The same steps as :meth:`Store.add`, once for the
    whole list: one lock, one transaction, one commit (one fsync on SQLite).
    """
    import datetime as _dt
    import time as _time

    import sqlalchemy as sa

    from zoning.service import store as st

    if not prepared:
        return []
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
    rows = []
    for request_text, result_text, fields, digest in prepared:
        rows.append(({"id": st.new_id(), "created_at": created, **fields, "request": request_text, "result": result_text}, digest))
    try:
        with store._writer():
            with store.engine.begin() as conn:
                if store.dialect == "postgresql":
                    conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({st._LOCK_KEY})"))
                last = conn.execute(
                    sa.select(st.screenings.c.seq, st.screenings.c.hash).where(st.screenings.c.seq.is_not(None))
                    .order_by(st.screenings.c.seq.desc()).limit(1)
                ).first()
                seq, prev = (last.seq, last.hash) if last else (0, st.GENESIS)
                values = []
                for row, digest in rows:
                    seq += 1
                    row["seq"], row["prev_hash"] = seq, prev
                    row["hash"] = prev = st.record_hash(row, prev, store.key, digest=digest)
                    values.append(row)
                conn.execute(st.screenings.insert(), values)
    except (sa.exc.SQLAlchemyError, OSError) as e:
        state, message = st._storage_problem(e)
        store._last_failure = (state, message, _time.time())
        log.error("records: batch write failed (%s): %s", state, st._first_line(e))
        raise StorageUnavailable(f"{message}; none of the batch's {len(rows)} screenings was recorded — retry later") from None
    store._last_failure = None
    return [row["id"] for row, _ in rows]
