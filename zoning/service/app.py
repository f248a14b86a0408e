"""The FastAPI application: a thin adapter from HTTP to :mod:`zoning.service.handlers`.

Routes (contract §5, fixed paths): ``POST /v1/screen``, ``POST /v1/screen/file``,
``GET /v1/screenings/{id}``, ``GET /v1/screenings/{id}/map``, ``GET /v1/packs``,
``GET /v1/units/{unit_code}``, ``GET /healthz``, ``POST /v1/eligibility`` (contract §7); docs at
``/docs`` (Swagger UI from local copies, so it works offline; no ReDoc), the schema at
``/openapi.json``. Extra: ``GET /`` (the page for enterprises), ``GET /v1/page-config`` (its
basemaps and upload types), ``GET /v1/industries``, ``GET /v1/vocabulary``, ``GET /v1/packs/{pack_id}/units``.

Every error, whatever raised it, goes through :func:`zoning.service.errors.http_error`.

CPU work (parsing a body, reading an upload, screening) runs in the bounded pool of
:mod:`zoning.service.workers` under a time budget; the event loop only moves bytes, and records
are written by the server process (in a thread) once the verdict is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import uuid
from pathlib import Path
from typing import Any, Literal, Optional

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import zoning
from zoning.service.eligibility import DEFAULT_SIMPLIFY_M, MAX_SIMPLIFY_M
from zoning.service.errors import PayloadTooLarge, RequestTimeout, http_error
from zoning.service.handlers import Service
from zoning.service.workers import CpuPool, run_cpu

__all__ = ["create_app", "app_from_env"]

log = logging.getLogger("zoning.service")
WEB = Path(__file__).resolve().parent / "web"
_RID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class JSONText(Response):
    """JSON without FastAPI's encoder pass (verdicts are already plain data); UTF-8, Chinese unescaped."""

    media_type = "application/json"

    def render(self, content):
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class ErrorBody(BaseModel):
    """Every error response."""

    error: str = Field(description="stable machine-readable code, e.g. site_invalid, outside_region, zip_bomb")
    detail: Any = Field(description="user-safe message: what was received and what was expected (for a few codes, e.g. pack_version_not_found, an object with that `message` and data beside it)")
    request_id: str


class FeatureIn(BaseModel):
    """A GeoJSON Feature: the site is its geometry, the project (contract §2) its properties."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "Feature",
                    "properties": {"name": "年产5万吨有机化工原料项目", "industry": "2614", "construction": "new",
                                   "emissions": {"VOCs": 12.5}, "fuel": ["natural_gas"], "water_m3": 120000},
                    "geometry": {"type": "Point", "coordinates": [119.95, 30.55]},
                }
            ]
        },
    )
    type: Literal["Feature"]
    geometry: Optional[dict[str, Any]] = None
    properties: Optional[dict[str, Any]] = None


_PROJECT_EXAMPLE = {"name": "年产5万吨有机化工原料项目", "industry": "2614", "construction": "new",
                    "emissions": {"VOCs": 12.5, "COD": 3}, "fuel": ["natural_gas"], "water_m3": 120000}


class ProjectIn(BaseModel):
    """The project (contract §2 keys): no site — the eligibility map covers the whole pack."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [_PROJECT_EXAMPLE]})
    name: Optional[str] = None
    industry: Optional[Any] = Field(None, description="GB/T 4754-2017 code(s), a string or a list")
    construction: Optional[str] = Field(None, description="new | expansion | reconstruction | relocation")
    activity: Optional[str] = None
    emissions: Optional[dict[str, Any]] = Field(None, description="t/a by pollutant; pollutants left out emit nothing")
    fuel: Optional[list[str]] = Field(None, description="[] = burns nothing")
    water_m3: Optional[float] = None
    coal_t: Optional[float] = None
    land_ha: Optional[float] = None
    energy_tce: Optional[float] = None
    groundwater: Optional[bool] = None


class EligibilityProperties(BaseModel):
    verdict: Literal["prohibited", "needs_information", "conditional", "permitted"]
    verdict_zh: str = Field(description="禁止准入 | 待补充信息 | 有条件准入 | 允许准入")
    blocking: str = Field(description="';'-joined ids of the clauses (and quota rows) that decide")
    missing: str = Field(description="';'-joined project attributes that would settle a needs_information")
    area_m2: float = Field(description="area of the unsimplified polygon (GK zone of its centroid)")


class EligibilityFeature(BaseModel):
    type: Literal["Feature"]
    properties: EligibilityProperties
    geometry: dict[str, Any] = Field(description="Polygon or MultiPolygon, lon/lat EPSG:4490, simplified by simplified_m")


class PackRef(BaseModel):
    id: str
    version: str
    digest: str


_ELIGIBILITY_EXAMPLE = {
    "cached": False,
    "type": "FeatureCollection",
    "pack": {"id": "huzhou-demo", "version": "2024.1", "digest": "sha256:…"},
    "simplified_m": 20.0,
    "areas_m2": {"prohibited": 1630725.0, "needs_information": 1663757.0, "conditional": 557914.0, "permitted": 147581.0},
    "colors": {"prohibited": "#c62828", "needs_information": "#9e9e9e", "conditional": "#ef6c00", "permitted": "#2e7d32"},
    "clauses": {"T-NEAR-01": "生态保护红线周边500米内禁止新建化工项目"},
    "project": {"industry": ["2614"], "construction": "new", "emissions": {"COD": 3.0}, "water_m3": 1000.0},
    "warnings": [],
    "features": [
        {"type": "Feature",
         "properties": {"verdict": "prohibited", "verdict_zh": "禁止准入", "blocking": "T-NEAR-01", "missing": "", "area_m2": 294477.3},
         "geometry": {"type": "Polygon", "coordinates": [[[120.0, 30.7], [120.01, 30.7], [120.01, 30.71], [120.0, 30.7]]]}},
    ],
}


class EligibilityOut(BaseModel):
    """Where a point site of the project gets each verdict: polygons covering the pack's region (contract §7)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ELIGIBILITY_EXAMPLE]})
    cached: bool = Field(description="this screening process had the answer already (sent as stored)")
    type: Literal["FeatureCollection"]
    pack: PackRef
    simplified_m: float = Field(description="tolerance (m) of the display simplification; 0 = the exact polygons")
    areas_m2: dict[str, float] = Field(description="total area by verdict, of the unsimplified polygons")
    colors: dict[str, str] = Field(description="display colour by verdict")
    clauses: dict[str, str] = Field(description="text of every clause id named in a blocking")
    project: dict[str, Any] = Field(description="the project as parsed")
    warnings: list[str]
    features: list[EligibilityFeature]


_BATCH_EXAMPLE = {
    "type": "FeatureCollection",
    "project": {"construction": "new", "fuel": ["natural_gas"], "emissions": {"VOCs": 2}},
    "features": [
        {"type": "Feature", "id": "A-01", "properties": {"name": "候选地块一", "industry": "2614"},
         "geometry": {"type": "Point", "coordinates": [119.95, 30.55]}},
        {"type": "Feature", "id": "A-02", "properties": {"name": "候选地块二", "industry": "3360", "water_m3": 5000},
         "geometry": {"type": "Polygon", "coordinates": [[[119.6, 30.5], [119.61, 30.5], [119.61, 30.51], [119.6, 30.5]]]}},
    ],
}


class BatchIn(BaseModel):
    """Many sites: one Feature per site, its properties the project; ``project`` gives the defaults."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [_BATCH_EXAMPLE]})
    type: Literal["FeatureCollection"]
    features: list[FeatureIn] = Field(description="one GeoJSON Feature per site; properties = its project (contract §2 keys)")
    project: Optional[ProjectIn] = Field(None, description="default project: keys a feature's properties leave out")


class BatchRow(BaseModel):
    index: int = Field(description="0-based position of the feature in `features`")
    id: Optional[Any] = Field(None, description="the feature's GeoJSON `id`, when it has one")
    verdict: Optional[Literal["prohibited", "needs_information", "conditional", "permitted"]] = None
    verdict_zh: Optional[str] = Field(None, description="禁止准入 | 待补充信息 | 有条件准入 | 允许准入")
    units: Optional[str] = Field(None, description="';'-joined unit codes the site overlaps")
    red_line: Optional[str] = Field(None, description="';'-joined red-line ids the site overlaps")
    blocking: Optional[str] = Field(None, description="';'-joined ids of the clauses (and quota rows) that decided")
    missing: Optional[str] = Field(None, description="';'-joined project attributes that would settle a needs_information")
    n_findings: Optional[int] = None
    error: Optional[str] = Field(None, description="null, or why this feature could not be screened (the others go on)")
    screening_id: Optional[str] = Field(None, description="with record=true: the stored record of this row (null for a row error)")


class BatchOut(BaseModel):
    """One row per feature, in order, with the contract-§6 columns of `zoning batch`."""

    pack: PackRef
    engine: dict[str, Any]
    recorded: bool = Field(description="the rows were stored as screening records (record=true)")
    counts: dict[str, int] = Field(description="rows by verdict, `error` (rows that could not be screened) and `total`")
    rows: list[BatchRow]


_ERRORS = {
    404: {"model": ErrorBody, "description": "no such pack, unit or screening"},
    413: {"model": ErrorBody, "description": "request body too large"},
    415: {"model": ErrorBody, "description": "unsupported file type"},
    408: {"model": ErrorBody, "description": "the request body stopped arriving"},
    422: {"model": ErrorBody, "description": "bad input: not JSON, site, CRS, project, outside the region, unsafe upload, limits"},
    503: {"model": ErrorBody, "description": "busy (every screening process taken, queue full) or the record store unavailable"},
    504: {"model": ErrorBody, "description": "the request took longer than its time budget"},
}


class _RequestIdAndBodyLimit:
    """Pure ASGI middleware: give every request an id, and refuse bodies over the limit."""

    def __init__(self, app, max_body_bytes, body_timeout_s=10.0):
        self.app = app
        self.max = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")
        if not _RID_RE.match(rid):
            rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode()),
                                      (b"x-zoning-worker", str(os.getpid()).encode())]  # which server process answered
            await send(message)

        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max
            except ValueError:
                too_big = False
            if too_big:
                exc = PayloadTooLarge(f"the request body is {int(length)} bytes; the limit is {self.max}")
                return await _send_json(send_with_id, *http_error(exc, rid))
        seen = 0
        limit = self.max
        body_done = False
        timeout = self.body_timeout_s

        async def counting_receive():
            nonlocal seen, body_done
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout)
            except asyncio.TimeoutError:
                raise RequestTimeout(f"the request body stopped arriving for {timeout:g} s ({seen} bytes received); send it in one go") from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise StarletteHTTPException(413, f"the request body is over the limit of {limit} bytes")
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        await self.app(scope, counting_receive, send_with_id)


async def _send_json(send, status, body):
    data = json.dumps(body, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def _rid(request):
    return getattr(request.state, "request_id", None) or uuid.uuid4().hex


_PROJECT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ProjectIn.model_json_schema(), "example": _PROJECT_EXAMPLE}},
    }
}

_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": BatchIn.model_json_schema(), "example": _BATCH_EXAMPLE}},
    }
}

_FEATURE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": FeatureIn.model_json_schema()}},
    }
}


def create_app(service: Service, *, web_vendor=None, settings=None) -> FastAPI:
    """Build the FastAPI application around a :class:`~zoning.service.handlers.Service`.

    ``settings`` (:class:`zoning.service.config.Settings`) gives the worker pool and the
    server limits; by default they are read from the environment.
    """
    from zoning.service.config import Settings

    settings = settings or Settings.from_env()
    pool = CpuPool(_worker_settings(settings))

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        pool.start()
        try:
            await pool.wait_ready()
        except BaseException:
            pool.stop()
            raise
        yield
        pool.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="zoning — 三线一单 screening service",
        version=zoning.__version__,
        description=(
            "Screen a project's site against the ecological red lines, element zones, resource ceilings and "
            "access-list rules of a zoning pack (contract §5). Every screening is stored and can be fetched by id."
        ),
        docs_url=None,  # /docs below: Swagger UI from local copies, not the CDN
        redoc_url=None,
    )
    app.state.service = service
    app.state.pool = pool

    async def on_error(request: Request, exc: Exception):
        status, body = http_error(exc, _rid(request))
        headers = {}
        allow = (getattr(exc, "headers", None) or {}).get("Allow")
        if allow:
            headers["Allow"] = allow
        if status == 503:
            headers["Retry-After"] = "2"
        return JSONText(body, status_code=status, headers=headers)

    app.add_exception_handler(RequestValidationError, on_error)
    app.add_exception_handler(StarletteHTTPException, on_error)
    app.add_exception_handler(zoning.ZoningError, on_error)
    app.add_exception_handler(Exception, on_error)
    app.add_middleware(_RequestIdAndBodyLimit, max_body_bytes=service.limits.max_body_bytes,
                       body_timeout_s=settings.server.body_timeout_s)

    # ------------------------------------------------------------------ page
    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(WEB / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return Response(status_code=204)

    app.mount("/static/app", StaticFiles(directory=WEB), name="web")
    vendor = Path(web_vendor) if web_vendor else None
    if vendor is not None and (vendor / "node_modules" / "leaflet").is_dir():
        app.mount("/static/vendor", StaticFiles(directory=vendor / "node_modules"), name="vendor")

    @app.get("/v1/page-config", tags=["service"],
             summary="What the page at / needs: its basemaps (天地图 when the server has a key) and the upload types")
    def page_config():
        return JSONText(_page_config(settings, service.limits))

    # ------------------------------------------------------------------ docs (Swagger UI, local copies)
    docs_dir = Path(settings.docs_assets)

    @app.get("/docs", include_in_schema=False)
    def swagger_docs():
        if not (docs_dir / _SWAGGER_JS).is_file():
            return HTMLResponse(_NO_DOCS)
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title=f"{app.title} · 接口文档 API docs",
            swagger_js_url=f"/static/docs/{_SWAGGER_JS}", swagger_css_url="/static/docs/swagger-ui.css",
            swagger_favicon_url="/static/docs/favicon-32x32.png", oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from validator.swagger.io
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_oauth2_redirect():
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/static/docs/{name}", include_in_schema=False)
    def swagger_asset(name: str):
        if name not in _SWAGGER_FILES or not (docs_dir / name).is_file():
            raise StarletteHTTPException(404, f"no docs asset {name!r}")
        return FileResponse(docs_dir / name, media_type=_SWAGGER_FILES[name])

    # ------------------------------------------------------------------ browsing
    @app.get("/healthz", tags=["service"], summary="Liveness and readiness")
    def healthz():
        out = service.health()
        out["workers"] = pool.stats()
        return JSONText(out, status_code=200 if out["status"] == "ok" else 503)

    @app.get("/v1/packs", tags=["data"], summary="The zoning packs this server screens against, each version served (`pack=ID@VERSION`)")
    def packs():
        return JSONText(service.list_packs())

    @app.get("/v1/packs/{pack_id}/units", tags=["data"], summary="A pack's units, simplified, as GeoJSON", responses=_ERRORS)
    def pack_units(pack_id: str):
        return JSONText(service.pack_units(pack_id))

    @app.get("/v1/units/{unit_code}", tags=["data"], summary="One environmental control unit with its clauses", responses=_ERRORS)
    def unit(unit_code: str, pack: Optional[str] = Query(None, description="pack id, or ID@VERSION for one version (default: search the newest version of every pack)")):
        return JSONText(service.unit(unit_code, pack))

    @app.get("/v1/industries", tags=["data"], summary="The GB/T 4754-2017 industry table")
    def industries():
        return JSONText(service.industries())

    @app.get("/v1/vocabulary", tags=["data"], summary="Construction types, activities, fuels, pollutants")
    def vocabulary():
        return JSONText(service.vocabulary())

    # ------------------------------------------------------------------ screening
    @app.post("/v1/screen", tags=["screening"], summary="Screen a GeoJSON Feature (properties = the project)",
              responses=_ERRORS, openapi_extra=_FEATURE_BODY)
    async def screen(
        request: Request,
        pack: Optional[str] = Query(None, description="pack id (its newest version) or ID@VERSION (default: the server's first pack)"),
        crs: Optional[str] = Query(None, description="CRS of the coordinates, e.g. EPSG:4549 (default WGS84)"),
        gcj02: bool = Query(False, description="coordinates are GCJ-02 (AMap, Tencent)"),
        bd09: bool = Query(False, description="coordinates are BD-09 (Baidu)"),
        repair: bool = Query(False, description="repair an invalid polygon (with a warning) instead of refusing it"),
    ):
        # The body (a GeoJSON Feature, schema FeatureIn) is parsed in a worker process within
        # the limits (zoning.service.bodies), never by the framework on the event loop.
        data = await request.body()
        computed = await run_cpu(pool, _compute_for_server, "compute_feature", data, pack=pack, crs=crs, gcj02=gcj02, bd09=bd09, repair=repair)
        return JSONText(await run_in_threadpool(service.record, *computed))

    @app.post("/v1/screen/file", tags=["screening"], summary="Screen an uploaded site file with project fields", responses=_ERRORS)
    async def screen_file(
        file: UploadFile = File(..., description="zipped Shapefile, KML/KMZ, GeoPackage, GeoJSON, FlatGeobuf, 界址点 TXT, "
                                "a boundary-point table (CSV/XLSX) or a DXF drawing (with crs=; NAME.dxf::LAYER picks a CAD layer)"),
        project: Optional[str] = Form(None, description="project as a JSON object (contract §2); the fields below replace its keys"),
        name: Optional[str] = Form(None),
        industry: Optional[str] = Form(None, description="GB/T 4754-2017 codes, comma-separated"),
        construction: Optional[str] = Form(None, description="new | expansion | reconstruction | relocation"),
        activity: Optional[str] = Form(None),
        emissions: Optional[str] = Form(None, description="JSON object or VOCs=12.5,SO2=3 (t/a)"),
        fuel: Optional[str] = Form(None, description="comma-separated; 'none' = burns nothing"),
        water_m3: Optional[str] = Form(None),
        coal_t: Optional[str] = Form(None),
        land_ha: Optional[str] = Form(None),
        energy_tce: Optional[str] = Form(None),
        groundwater: Optional[str] = Form(None),
        pack: Optional[str] = Query(None, description="pack id (its newest version) or ID@VERSION (default: the server's first pack)"),
        crs: Optional[str] = Query(None, description="CRS of the file's coordinates (overrides the file's; needed when it has none)"),
        gcj02: bool = Query(False),
        bd09: bool = Query(False),
        repair: bool = Query(False),
    ):
        data = await file.read(service.limits.max_body_bytes + 1)
        await file.close()
        fields = {
            "project": project, "name": name, "industry": industry, "construction": construction, "activity": activity,
            "emissions": emissions, "fuel": fuel, "water_m3": water_m3, "coal_t": coal_t, "land_ha": land_ha,
            "energy_tce": energy_tce, "groundwater": groundwater,
        }
        computed = await run_cpu(pool, _compute_for_server, "compute_upload", data, file.filename or "", fields,
                                 pack=pack, crs=crs, gcj02=gcj02, bd09=bd09, repair=repair)
        return JSONText(await run_in_threadpool(service.record, *computed))

    @app.post(
        "/v1/screen/batch",
        tags=["screening"],
        summary="Screen many sites at once: a GeoJSON FeatureCollection, one row per feature",
        description=(
            "Body: a GeoJSON FeatureCollection; each Feature is one site and its `properties` its project "
            "(contract §2 keys); an optional `project` member beside `features` gives the defaults for the keys a "
            "feature leaves out. The features are screened together by the bulk engine (`pack.screen_many`), and "
            "each row holds the contract-§6 columns of `zoning batch` (`verdict`, `verdict_zh`, `units`, "
            "`red_line`, `blocking`, `missing`, `n_findings`, `error`). A feature that cannot be screened (not a "
            "Feature, a malformed or invalid geometry, an unknown industry code, outside the region) gets its "
            "reason in `error`; the others go on. The request is refused (422) when the body is not a "
            "FeatureCollection, has more than `ZONING_MAX_BATCH_FEATURES` (10,000) features "
            "(`too_many_features`) or `ZONING_MAX_VERTICES` vertices in all, or its default `project` is "
            "invalid. With `record=true` every screened row is stored as a screening record (all in one "
            "transaction, or none) and gets its `screening_id`; by default nothing is stored."
        ),
        response_model=BatchOut,
        responses=_ERRORS,
        openapi_extra=_BATCH_BODY,
    )
    async def screen_batch(
        request: Request,
        pack: Optional[str] = Query(None, description="pack id (its newest version) or ID@VERSION (default: the server's first pack)"),
        crs: Optional[str] = Query(None, description="CRS of the coordinates, e.g. EPSG:4549 (default: the body's crs member, else WGS84)"),
        gcj02: bool = Query(False, description="coordinates are GCJ-02 (AMap, Tencent)"),
        bd09: bool = Query(False, description="coordinates are BD-09 (Baidu)"),
        record: bool = Query(False, description="store each screened row as a screening record and return its screening_id"),
    ):
        service.pack(pack)  # 404 for an unknown pack before any work
        data = await request.body()
        response, prepared = await run_cpu(pool, Service.compute_batch, data, pack=pack, crs=crs, gcj02=gcj02, bd09=bd09, record=record)
        if prepared is not None:
            response = await run_in_threadpool(service.record_batch, response, prepared)
        return JSONText(response)

    # ------------------------------------------------------------------ eligibility
    @app.post(
        "/v1/eligibility",
        tags=["screening"],
        summary="Where may a project go: its eligibility map over the pack (GeoJSON, by verdict)",
        description=(
            "Body: the project (contract §2 keys; no site). Returns polygons covering the pack's region: a **point** "
            "site anywhere strictly inside one (more than 1 m from its edge) gets exactly its verdict, blocking clauses "
            "and missing attributes from `POST /v1/screen` (contract §7). The geometry is simplified for display by "
            f"`simplify_m` metres (default {DEFAULT_SIMPLIFY_M:g}; shared edges stay shared, no gaps open), said in "
            "`simplified_m`; `areas_m2` and each feature's `area_m2` are of the exact polygons. A whole province can "
            "take about a minute the first time (time budget `ZONING_ELIGIBILITY_BUDGET_S`); the map is cached per "
            "pack digest and project, and a repeated request is answered at once (`cached`, header "
            "`X-Eligibility-Cache`). Not stored as a screening record."
        ),
        response_model=EligibilityOut,
        responses=_ERRORS,
        openapi_extra=_PROJECT_BODY,
    )
    async def eligibility(
        request: Request,
        pack: Optional[str] = Query(None, description="pack id (its newest version) or ID@VERSION (default: the server's first pack)"),
        simplify_m: float = Query(DEFAULT_SIMPLIFY_M, ge=0, le=MAX_SIMPLIFY_M, allow_inf_nan=False,
                                  description="display simplification in metres (0: the exact polygons)"),
    ):
        service.pack(pack)  # 404 for an unknown pack before any work
        data = await request.body()
        body, cached = await run_cpu(pool, Service.compute_eligibility, data, pack=pack, simplify_m=simplify_m,
                                     budget_s=settings.workers.eligibility_budget_s)
        return Response(body, media_type="application/json",
                        headers={"X-Eligibility-Cache": "hit" if cached else "miss"})

    # ------------------------------------------------------------------ records
    @app.get("/v1/screenings/{screening_id}", tags=["records"], summary="The stored record of a past screening", responses=_ERRORS)
    def screening(screening_id: str):
        return JSONText(service.screening(screening_id))

    @app.get(
        "/v1/screenings/{screening_id}/map",
        tags=["records"],
        summary="The folium map of a past screening (HTML)",
        response_class=HTMLResponse,
        responses=_ERRORS,
    )
    def screening_map(
        screening_id: str,
        offline: bool = Query(False, description="inline Leaflet and leave out the basemap, so the page needs no network"),
    ):
        return HTMLResponse(service.screening_map(screening_id, offline=offline))

    @app.get(
        "/v1/screenings/{screening_id}/report",
        tags=["records"],
        summary="The report of a past screening as an approval attachment (PDF, DOCX or HTML)",
        description="The record number is the screening_id, the time the record's; the site file's name and sha256 for uploads; "
                    "the 界址点 table, the compliance table of every clause of each unit touched, the map and a sign-off block.",
        responses={**_ERRORS, 200: {"content": {"application/pdf": {}, "text/html": {}}}},
    )
    async def screening_report(
        screening_id: str,
        format: Literal["pdf", "docx", "html"] = Query("pdf", description="pdf | docx | html"),
    ):
        record = await run_in_threadpool(service.screening, screening_id)  # workers hold no database
        data, media, filename = await run_cpu(pool, Service.report_of, record, format)
        return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    return app


_SWAGGER_JS = "swagger-ui-bundle.js"
#: The files of swagger-ui-dist /docs uses (the wheel carries these, see hatch_build.py).
_SWAGGER_FILES = {_SWAGGER_JS: "text/javascript", "swagger-ui.css": "text/css", "favicon-32x32.png": "image/png"}
_NO_DOCS = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>接口文档 API docs</title></head><body>
<h1>接口文档未安装 — the API docs page is not installed</h1>
<p>本地的 Swagger UI 副本缺失：在源码目录运行 <code>make web</code>，或安装 zoning 的 wheel（其中带有副本）。
The local copy of Swagger UI is missing: run <code>make web</code> in a checkout, or install the zoning wheel, which
carries it (or point <code>ZONING_DOCS_ASSETS</code> at a swagger-ui-dist directory).</p>
<p>接口定义 The API schema: <a href="/openapi.json">/openapi.json</a></p></body></html>"""
_OSM = {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "subdomains": "", "max_zoom": 19,
        "attribution": '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'}


def _page_config(settings, limits):
    """The page's basemaps and upload types: plain data for ``GET /v1/page-config``.

    OpenStreetMap always; 天地图 矢量 (vec_w + cva_w) and 影像 (img_w + cia_w), the CGCS2000
    Web-Mercator tiles of :mod:`zoning.basemaps`, only when the server has ``ZONING_TIANDITU_KEY``
    — the key is in their tile URLs, as a browser must send it. Never GCJ-02 tiles.
    """
    from urllib.parse import quote

    from zoning import basemaps
    from zoning.service.uploads import ACCEPTED_SUFFIXES

    out = [{"id": "osm", "name": "OpenStreetMap", "tiles": [_OSM]}]
    key = settings.tianditu_key
    if key:
        for name in ("tianditu-vec", "tianditu-img"):
            providers = basemaps.tianditu_layers(name, key)
            out.append({"id": name, "name": providers[0].name, "tiles": [
                {"url": t.url.replace("{tk}", quote(key, safe="")), "subdomains": t.get("subdomains", ""),
                 "max_zoom": t.get("max_zoom", 18), "attribution": t.html_attribution} for t in providers]})
    return {"basemaps": out, "upload": {"suffixes": dict(ACCEPTED_SUFFIXES), "max_bytes": limits.max_body_bytes}}


def app_from_env() -> FastAPI:
    """The application as configured by the environment (``zoning serve`` sets it); a uvicorn factory."""
    from zoning.service.config import Settings

    settings = Settings.from_env()
    return create_app(Service.from_settings(settings, warm=False), web_vendor=settings.web_vendor, settings=settings)


def _compute_for_server(service, method, *args, **kwargs):
    """In a worker: compute a screening; send back only what the server needs (the request as text)."""
    request, result, prepared = getattr(service, method)(*args, **kwargs)
    return None, result, prepared


def _worker_settings(settings):
    """The settings a worker process gets: no database URL, no records key."""
    import dataclasses

    return dataclasses.replace(settings, db_url="sqlite://", records_key=None)
