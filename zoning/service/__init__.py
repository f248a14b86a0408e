"""The zoning HTTP service (contract §5): a thin FastAPI adapter over framework-free handlers.

Modules, by role:

- :mod:`zoning.service.config`   — settings from the environment (limits, database URL, packs);
- :mod:`zoning.service.errors`   — service errors and the one place that maps every error to an HTTP status;
- :mod:`zoning.service.store`    — screening records through SQLAlchemy (SQLite WAL or PostgreSQL);
- :mod:`zoning.service.uploads`  — guard rails for uploaded site files (size, zip bombs, traversal, XML entities);
- :mod:`zoning.service.maps`     — the folium map of a stored screening;
- :mod:`zoning.service.handlers` — the operations, returning plain data; no web framework imported;
- :mod:`zoning.service.app`      — the FastAPI application (routes, middleware, OpenAPI).

Start it with ``zoning serve``.
"""

__all__ = []
