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

**Several server processes** (:class:`Supervisor`, ``zoning serve --workers N``). uvicorn's own
``workers=N`` shares one listening socket: whichever process wakes first accepts a burst of
connections, and a kept-alive connection stays with the process that accepted it, so one
process serves most of the clients. Here, on Linux, each server process binds **its own
socket with ``SO_REUSEPORT``** and the kernel hashes every new connection to one of them
(by its addresses and ports): the processes share the connections about evenly. A process
binds its socket after its packs are loaded and starts listening only when its screening
processes are ready, so the kernel never hands connections to a process still starting; the
supervisor keeps one bound, never listening, socket of the same group, so the port stays
ours while a process is replaced. Elsewhere (macOS and the BSDs have ``SO_REUSEPORT`` but do
not balance with it) the supervisor binds one socket and the processes share it, as uvicorn
does. The supervisor restarts a process that dies, stops them all on SIGTERM/SIGINT (each
finishes its requests), and refuses a port already in use with one line.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from zoning.errors import ZoningError
from zoning.service.config import Server

__all__ = ["GuardedHttpProtocol", "uvicorn_options", "raise_open_files_limit", "Listen", "ListenError",
           "listen_socket", "serve_one", "Supervisor", "REUSEPORT_BALANCES"]

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


# ----------------------------------------------------------------- listening sockets

#: The kernel spreads connections over ``SO_REUSEPORT`` listeners (Linux ≥ 3.9); macOS and
#: the BSDs accept the option but give every connection to one listener.
REUSEPORT_BALANCES = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")

STARTUP_FAILURE = 3  # uvicorn's exit code for a process that could not start serving


class ListenError(ZoningError, OSError):
    """The server cannot listen on the address it was given (taken, not local, no permission)."""


@dataclass(frozen=True)
class Listen:
    """Where and how the server processes listen.

    ``balance`` is ``"reuseport"`` (one ``SO_REUSEPORT`` socket per process, the kernel
    spreads connections; Linux only) or ``"shared"`` (one socket for all, as uvicorn does).
    """

    host: str
    port: int
    balance: str = "reuseport" if REUSEPORT_BALANCES else "shared"

    @property
    def shown(self):
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _address(host, port):
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ListenError(f"cannot listen on {host!r}: {e.strerror}; give an IP address of this machine or a resolvable name") from None
    family, _type, _proto, _name, addr = infos[0]
    return family, addr


def listen_socket(listen, *, reuse_port=False):
    """A TCP socket bound (not yet listening) to ``listen.host:listen.port``.

    Raises :class:`ListenError` with one line when the port is taken, the address is not
    this machine's or the port needs privileges.
    """
    family, addr = _address(listen.host, listen.port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past connections in TIME_WAIT do not block a restart
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(addr)
    except OSError as e:
        sock.close()
        why = {errno.EADDRINUSE: "the port is already in use (another server on it? choose another with --port)",
               errno.EADDRNOTAVAIL: "the address is not one of this machine's (see --host)",
               errno.EACCES: "permission denied (ports below 1024 need privileges; choose another with --port)"}
        raise ListenError(f"cannot listen on {listen.shown}: {why.get(e.errno, e.strerror)}") from None
    return sock


def reserve(listen):
    """Check that ``listen`` is free and hold it: ``(socket, listen with the actual port)``.

    For ``"shared"`` the socket is the one every process will accept on. For ``"reuseport"``
    it joins the ``SO_REUSEPORT`` group but never listens: it keeps the port while server
    processes come and go. A plain bind is tried first, so that a port held by anyone else
    (another ``zoning serve`` with ``SO_REUSEPORT`` included) is refused instead of shared.
    """
    probe = listen_socket(listen)
    actual = Listen(listen.host, probe.getsockname()[1], listen.balance)
    if listen.balance == "shared":
        return probe, actual
    probe.close()
    return listen_socket(actual, reuse_port=True), actual


# ----------------------------------------------------------------- one server process


def _uvicorn_config(app, log_level, **kw):
    import uvicorn

    return uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5, **uvicorn_options(), **kw)


def serve_one(app, sock, log_level="warning"):
    """Serve ``app`` on the bound socket ``sock`` in this process until SIGTERM/SIGINT."""
    import uvicorn

    uvicorn.Server(_uvicorn_config(app, log_level, factory=isinstance(app, str))).run(sockets=[sock])


def _watch_parent(parent_pid):
    """Stop this server process gracefully when the supervisor is gone (killed without its group)."""

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="zoning-parent-watch", daemon=True).start()


def _child(listen, sock, log_level, parent_pid):
    """A server process of the supervisor (spawned): build the app from the environment, then serve."""
    _watch_parent(parent_pid)
    raise_open_files_limit()
    if sock is None:
        try:
            sock = listen_socket(listen, reuse_port=True)
        except ListenError as e:
            print(f"zoning: error: server process {os.getpid()}: {e}", file=sys.stderr, flush=True)
            sys.exit(STARTUP_FAILURE)
    try:
        serve_one("zoning.service.app:app_from_env", sock, log_level)
    except KeyboardInterrupt:  # pragma: no cover - SIGINT before uvicorn's handler is in place
        pass


# ----------------------------------------------------------------- the supervisor


class Supervisor:
    """Run ``processes`` server processes on ``listen``; restart the ones that die; stop them all on a signal.

    Parameters
    ----------
    processes : int
        Server processes, each loading the packs and running its own pool of screening
        processes (:mod:`zoning.service.workers`).
    listen : Listen
    log_level : str
        uvicorn's log level in the server processes.
    echo : callable, optional
        Where the supervisor's one-line messages go (default: stderr).
    stop_timeout_s : float
        How long the processes get to finish their requests after SIGTERM before SIGKILL.

    :meth:`run` returns the exit status: 0 after SIGTERM/SIGINT, 2 when a process cannot start.
    """

    def __init__(self, processes, listen, log_level="warning", *, echo=None, stop_timeout_s=30.0):
        self.n, self.listen, self.log_level = processes, listen, log_level
        self.echo = echo or (lambda text: print(text, file=sys.stderr, flush=True))
        self.stop_timeout_s = stop_timeout_s
        self.procs = [None] * processes  # slot → multiprocessing.Process
        self.started_at = [0.0] * processes
        self.deaths = [0] * processes  # quick deaths in a row, per slot (for the restart delay)
        self.due = {}  # slot → monotonic time of its next start
        self._ctx = multiprocessing.get_context("spawn")
        self._sock = None
        self._signal = None

    # -- processes

    def _start(self, slot):
        shared = self._sock if self.listen.balance == "shared" else None
        p = self._ctx.Process(target=_child, args=(self.listen, shared, self.log_level, os.getpid()),
                              name=f"zoning-server-{slot}", daemon=False)
        p.start()
        self.procs[slot], self.started_at[slot] = p, time.monotonic()

    def pids(self):
        return [p.pid for p in self.procs if p is not None and p.is_alive()]

    def _reap(self, slot):
        """A process ended while we serve: restart it (after a delay if it keeps dying), or give up."""
        p = self.procs[slot]
        p.join(10)  # its sentinel fired: it is exiting; wait until it can be reaped
        code = p.exitcode
        self.procs[slot] = None
        how = f"was killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exited with {code}"
        if code == STARTUP_FAILURE:
            self.echo(f"zoning: error: server process {p.pid} could not start (see above); stopping")
            return False
        quick = time.monotonic() - self.started_at[slot] < 30
        self.deaths[slot] = self.deaths[slot] + 1 if quick else 0
        delay = min(30.0, 0.5 * 2 ** (self.deaths[slot] - 1)) if self.deaths[slot] else 0.0
        self.echo(f"zoning: server process {p.pid} {how}; starting another" + (f" in {delay:g} s" if delay else ""))
        self.due[slot] = time.monotonic() + delay
        return True

    # -- signals

    def _on_signal(self, sig, _frame):
        self._signal = self._signal or sig

    def reserve(self):
        """Take the port (see :func:`reserve`); raises :class:`ListenError`. :meth:`run` calls it if need be."""
        if self._sock is None:
            self._sock, self.listen = reserve(self.listen)
        return self.listen

    def close(self):
        """Give the port back (after :meth:`reserve` without :meth:`run`)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def run(self):
        """Start the processes and supervise them until a signal; return the exit status."""
        self.reserve()
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        old_wakeup = signal.set_wakeup_fd(wake_w.fileno())
        handled = [signal.SIGTERM, signal.SIGINT]
        old = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        status = 0
        try:
            for slot in range(self.n):
                self._start(slot)
            while self._signal is None:
                now = time.monotonic()
                for slot, when in list(self.due.items()):
                    if when <= now:
                        del self.due[slot]
                        self._start(slot)
                sentinels = {p.sentinel: slot for slot, p in enumerate(self.procs) if p is not None}
                timeout = max(0.0, min(self.due.values()) - now) if self.due else None
                ready = multiprocessing.connection.wait([*sentinels, wake_r], timeout)
                for r in ready:
                    if r is wake_r:
                        try:
                            wake_r.recv(64)
                        except BlockingIOError:
                            pass
                    elif not self._reap(sentinels[r]):
                        status = 2
                        self._signal = signal.SIGTERM
                        break
        finally:
            self._stop()
            for sig, handler in old.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(old_wakeup)
            wake_r.close()
            wake_w.close()
            self.close()
        return status

    def _stop(self):
        """SIGTERM every process (each finishes its requests and stops its screening processes), then wait."""
        alive = [p for p in self.procs if p is not None and p.exitcode is None]
        for p in alive:
            try:
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + self.stop_timeout_s
        for p in alive:
            p.join(max(0.0, deadline - time.monotonic()))
        for p in alive:
            if p.exitcode is None:
                self.echo(f"zoning: server process {p.pid} did not stop within {self.stop_timeout_s:g} s; killing it")
                p.kill()
                p.join(5)
