"""Running the application on uvicorn with connection limits and timeouts (slowloris).

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) but gives a new
connection all the time it likes to send its request headers, so a few thousand idle or
trickling sockets hold the server. :class:`GuardedHttpProtocol` is uvicorn's httptools
protocol with a **header deadline**: a connection that has not sent complete request
headers ``ZONING_HEADER_TIMEOUT_S`` seconds after it opened (or after its previous response)
is closed. A stalled request *body* is cut by the application's middleware
(``ZONING_BODY_TIMEOUT_S`` between chunks → 408). ``ZONING_MAX_CONNECTIONS`` is uvicorn's
``limit_concurrency`` (503 beyond it), and the open-files limit is raised to its hard limit
so that the connection limit, not ``EMFILE``, decides.

In production put a reverse proxy in front (README, "Behind a reverse proxy"): per-client
connection and rate limits belong there.
"""

from __future__ import annotations

import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from zoning.service.config import Server

__all__ = ["GuardedHttpProtocol", "uvicorn_options", "raise_open_files_limit"]

log = logging.getLogger("zoning.service")


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections that are slow to send their headers."""

    header_timeout_s = None  # read from the environment on first use (uvicorn workers are spawned)

    def connection_made(self, transport):
        super().connection_made(transport)
        if GuardedHttpProtocol.header_timeout_s is None:
            GuardedHttpProtocol.header_timeout_s = Server.from_env().header_timeout_s
        self._headers_done = False
        self._header_timer = None
        self._arm()

    def _arm(self):
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self):
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self):
        self._header_timer = None
        if not self._headers_done and self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def on_message_begin(self):
        super().on_message_begin()
        self._headers_done = False
        if self._header_timer is None:
            self._arm()

    def on_headers_complete(self):
        self._headers_done = True
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self):
        super().on_response_complete()
        self._headers_done = False  # the keep-alive timer watches the pause; the deadline starts with the next request

    def connection_lost(self, exc):
        self._disarm()
        super().connection_lost(exc)


def raise_open_files_limit():
    """Raise the soft open-files limit to the hard limit; return the new soft limit (or None)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def uvicorn_options(server=None):
    """uvicorn keyword arguments for the limits in ``server`` (:class:`zoning.service.config.Server`)."""
    server = server or Server.from_env()
    return {
        "http": GuardedHttpProtocol,
        "limit_concurrency": server.max_connections,
        "timeout_keep_alive": 5,
        "backlog": 2048,
        "h11_max_incomplete_event_size": 64 * 1024,
    }
