"""The zoning HTTP service (contract §5): a thin FastAPI adapter over framework-free handlers.

Modules, by role:

- :mod:`services.config`   — settings from the environment (limits, database URL, packs);
- :mod:`services.errors`   — service errors and the one place that maps every error to an HTTP status;
- :mod:`services.store`    — screening records through SQLAlchemy (SQLite WAL or PostgreSQL);
- :mod:`services.uploads`  — guard rails for uploaded site files (size, zip bombs, traversal, XML entities);
- :mod:`services.maps`     — the folium map of a stored screening;
- :mod:`services.handlers` — the operations, returning plain data; no web framework imported;
- :mod:`services.app`      — the FastAPI application (routes, middleware, OpenAPI).

Start it with ``zoning serve``.
"""

__all__ = []
