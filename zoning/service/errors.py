"""Service errors, and the one place that turns any error into an HTTP status and a JSON body.

Every error response has the same shape::

    {"error": "site_invalid", "detail": "one line saying what was received and what was expected",
     "request_id": "…"}

``error`` is a stable machine-readable code, ``detail`` a user-safe message (never a
traceback), ``request_id`` the id also sent in the ``X-Request-ID`` header and logged.
A few errors give ``detail`` as an object with that ``message`` and data beside it (e.g.
``pack_version_not_found``: the versions served). Request-validation errors of the framework
(a query parameter out of range, a missing form field) are ``bad_input`` with a one-line
message naming each parameter, what it got and what it expects (:func:`validation_message`).
"""

from __future__ import annotations

import logging
import re

from zoning.errors import CRSError, OutsideRegionError, PackError, ProjectError, SiteError, ZoningError

__all__ = [
    "ServiceError",
    "BadRequest",
    "NotFound",
    "PayloadTooLarge",
    "UnsupportedUpload",
    "UnsafeUpload",
    "LimitExceeded",
    "StorageUnavailable",
    "RequestTimeout",
    "error_body",
    "http_error",
    "validation_message",
]

log = logging.getLogger("zoning.service")


class ServiceError(ZoningError):
    """An error of the service itself, carrying its HTTP status and a stable code."""

    status = 400
    code = "bad_request"

    def __init__(self, message, *, detail=None, code=None, status=None):
        super().__init__(message)
        self.detail = detail
        if code:
            self.code = code
        if status:
            self.status = status


class BadRequest(ServiceError, ValueError):
    """Input that is well-formed HTTP but not a usable request (422)."""

    status = 422
    code = "bad_input"


class NotFound(ServiceError, LookupError):
    """No pack, unit or screening with this id (404)."""

    status = 404
    code = "not_found"


class PayloadTooLarge(ServiceError, ValueError):
    """The request body is larger than the configured limit (413)."""

    status = 413
    code = "body_too_large"


class UnsupportedUpload(ServiceError, ValueError):
    """The uploaded file's type is not one the service reads (415)."""

    status = 415
    code = "unsupported_file_type"


class UnsafeUpload(ServiceError, ValueError):
    """A zip bomb, a path escaping the archive, XML entities… (422)."""

    status = 422
    code = "unsafe_upload"


class LimitExceeded(ServiceError, ValueError):
    """Too many features or vertices (422)."""

    status = 422
    code = "limit_exceeded"


class StorageUnavailable(ServiceError):
    """The record store cannot take or give records: disk full, read-only, database down (503).

    A verdict that cannot be recorded is not returned (its ``screening_id`` would point
    nowhere); the client may retry once the store is back.
    """

    status = 503
    code = "storage_unavailable"


class RequestTimeout(ServiceError):
    """The client stopped sending its request body (408)."""

    status = 408
    code = "request_timeout"


# Library errors → (status, code). The first matching class wins: subclasses first.
_LIBRARY = (
    (OutsideRegionError, 422, "outside_region"),
    (CRSError, 422, "crs_invalid"),
    (SiteError, 422, "site_invalid"),
    (ProjectError, 422, "project_invalid"),
    (PackError, 500, "pack_invalid"),
    (ZoningError, 422, "bad_input"),
)

# Plain HTTP statuses (routing, methods) → codes.
_HTTP_CODES = {
    400: "bad_input",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "bad_input",
}


def error_body(code, detail, request_id):
    """The JSON body of every error response."""
    return {"error": code, "detail": detail, "request_id": request_id}


def http_error(exc, request_id):
    """Map any exception to ``(status, body)``; the only place that decides error statuses.

    Parameters
    ----------
    exc : BaseException
        A :class:`ServiceError`, a :class:`~zoning.errors.ZoningError`, a framework
        validation error (anything with ``errors()``), an HTTP exception (anything
        with ``status_code``), or anything else (→ 500 with a generic message, logged).
    request_id : str

    Examples
    --------
    >>> from zoning.errors import SiteError
    >>> http_error(SiteError("site polygon is invalid"), "r1")
    (422, {'error': 'site_invalid', 'detail': 'site polygon is invalid', 'request_id': 'r1'})
    >>> http_error(NotFound("no screening 'x'"), "r2")[0]
    404
    """
    if isinstance(exc, ServiceError):
        message = user_safe(str(exc))
        detail = message if exc.detail is None else {"message": message, **_as_mapping(exc.detail)}
        if exc.status >= 500:
            log.warning("request %s: %s %s: %s", request_id, exc.status, exc.code, message)
        return exc.status, error_body(exc.code, detail, request_id)
    for cls, status, code in _LIBRARY:
        if isinstance(exc, cls):
            if status >= 500:
                log.error("request %s: %s: %s", request_id, type(exc).__name__, exc)
                return status, error_body(code, "the server's zoning data is broken; see the server log", request_id)
            return status, error_body(code, user_safe(_http_wording(str(exc))), request_id)
    errors = getattr(exc, "errors", None)
    if callable(errors):  # fastapi.exceptions.RequestValidationError and the like
        return 422, error_body("bad_input", validation_message(errors()), request_id)
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and 400 <= status < 600:
        detail = getattr(exc, "detail", None) or str(exc)
        if status == 400:  # the framework's body-parsing errors: bad input like any other (OpenAPI says 422)
            status = 422
            detail = f"the request body cannot be read: {detail}"
        return status, error_body(_HTTP_CODES.get(status, "http_error"), detail, request_id)
    log.exception("request %s failed", request_id, exc_info=exc)
    return 500, error_body("internal_error", "the server failed on this request; quote the request id when reporting it", request_id)


_CLI_WORDS = (("--crs", "crs="), ("--gcj02", "gcj02=true"), ("--bd09", "bd09=true"))


def _http_wording(message):
    """Library messages name CLI flags; over HTTP the same options are query parameters.

    >>> _http_wording("site.zip has no CRS; pass --crs (e.g. --crs EPSG:4490)")
    'site.zip has no CRS; pass crs= (e.g. crs=EPSG:4490)'
    """
    message = re.sub(r"--crs\s+(?=\S+:)", "crs=", message)
    for cli, http in _CLI_WORDS:
        message = message.replace(cli, http)
    return message


# Temporary paths of uploads (zoning-site-*, zoning-work-*, tmp*) and GDAL's advice to its own users.
_TEMP_PATH = re.compile(r"(?:/[^\s'\"():,;]+)*/(?:zoning-(?:site|work)-[^/\s'\"]*|tmp[a-z0-9_]{6,})(?:/[^\s'\"():,;]*)?")
_GDAL_ADVICE = re.compile(r"[;.]?\s*(?:It might help to|You might want to|Consider using|Try using)[^.;]*[.;]?", re.IGNORECASE)


def user_safe(message):
    """Strip server-side temporary paths and GDAL's advice from a message meant for the client.

    >>> user_safe("cannot read /tmp/zoning-site-ab12/site.gpkg: bad file; It might help to specify the format.")
    'cannot read site.gpkg: bad file'
    """
    def keep_name(m):
        tail = m.group(0).rstrip("/").rsplit("/", 1)[-1]
        return "" if tail.startswith(("zoning-site-", "zoning-work-", "tmp")) else tail

    message = _TEMP_PATH.sub(keep_name, message)
    return _GDAL_ADVICE.sub("", message).rstrip(" ;")


def _as_mapping(detail):
    return detail if isinstance(detail, dict) else {"info": detail}


_WHERE = {"query": "query parameter", "path": "path parameter", "header": "header", "cookie": "cookie", "body": "form field"}
_MAX_PROBLEMS = 5


def _shown(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def validation_message(errors):
    """One readable line from a framework validation error's ``errors()`` list.

    Each problem names where it is (query parameter, form field…), what was received and
    what was expected; more than five are counted, not listed.

    Examples
    --------
    >>> validation_message([{"type": "less_than_equal", "loc": ("query", "simplify_m"),
    ...                      "msg": "Input should be less than or equal to 1000", "input": "5000"}])
    "query parameter 'simplify_m' is '5000'; expected less than or equal to 1000"
    >>> validation_message([{"type": "missing", "loc": ("body", "file"), "msg": "Field required", "input": None}])
    "form field 'file' is missing; it is required"
    """
    parts = []
    for e in errors[:_MAX_PROBLEMS]:
        loc = [str(p) for p in e.get("loc", ())]
        where = _WHERE.get(loc[0], loc[0]) if loc else "the request"
        name = ".".join(loc[1:])
        subject = f"{where} {name!r}" if name else ("the request body" if loc[:1] == ["body"] else where)
        msg = str(e.get("msg", "is invalid"))
        if e.get("type") == "missing":
            parts.append(f"{subject} is missing; it is required")
            continue
        expected = re.sub(r"^Input should be\s+", "", msg)
        expected = re.sub(r",\s*unable to interpret input$", "", expected)
        got = f" is {user_safe(_shown(e['input']))}" if "input" in e and e["input"] is not None else " is not valid"
        parts.append(f"{subject}{got}; expected {expected}" if expected != msg else f"{subject}{got}: {msg}")
    more = len(errors) - _MAX_PROBLEMS
    if more > 0:
        parts.append(f"and {more} more problem{'s' if more > 1 else ''}")
    return "; ".join(parts) if parts else "the request is not valid"
