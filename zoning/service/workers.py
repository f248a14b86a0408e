"""CPU work off the event loop: a bounded pool of screening processes with a time budget.

Screening (and parsing a large body, reading an uploaded file) is CPU work. Run on the
event loop it stalls every other request, /healthz included; run in threads it fights the
event loop for the GIL and cannot be stopped. Here it runs in a :class:`pebble.ProcessPool`
of ``processes`` worker processes, each holding its own :class:`~zoning.service.handlers.Service`
(the packs loaded, no record store), so that:

- the event loop only reads requests, hands bytes to a worker and writes the answer:
  /healthz and small requests stay fast while a large site is screened;
- at most ``processes + queue`` requests are in flight per server worker; one more gets
  **503** ``busy`` (with ``Retry-After``) at once instead of waiting without end;
- each request has a **time budget** (queueing included): past it the client gets **504**
  ``time_budget_exceeded`` and the worker process doing the work is killed and replaced, so
  a pathological input cannot hold a CPU;
- a worker process is replaced after ``max_tasks`` tasks, which hands back to the system the
  memory that large requests leave fragmented in a long-lived Python process.

Worker processes are started from a fork server (``multiprocessing`` "forkserver" context,
with the engine preloaded), never forked from the threaded server process. Each keeps its
temporary files in a private directory, ``zoning-work-<pid>`` under the system temporary
directory, removed at exit; directories left by killed workers are swept when a pool starts.

The reusable entry point is :func:`run_cpu`::

    result = await run_cpu(pool, Service.compute_feature, body, pack="huzhou-demo")

runs ``Service.compute_feature(<the worker's Service>, body, pack="huzhou-demo")`` in a
worker process. Any method (or module-level function taking the worker's service first)
whose arguments and result pickle can be offloaded the same way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import shutil
import tempfile
import time
from pathlib import Path

import pebble

from zoning.service.errors import ServiceError

__all__ = ["CpuPool", "run_cpu", "Busy", "TimeBudgetExceeded", "WorkerFailed", "worker_service"]

log = logging.getLogger("zoning.service")

_WORK_PREFIX = "zoning-work-"
_SERVICE = None  # the worker process's Service (set by _init_worker)


class Busy(ServiceError):
    """Every screening process is busy and the queue is full (503)."""

    status = 503
    code = "busy"


class TimeBudgetExceeded(ServiceError):
    """The request took longer than its time budget (504)."""

    status = 504
    code = "time_budget_exceeded"


class WorkerFailed(ServiceError):
    """The worker process died while working on the request (503)."""

    status = 503
    code = "worker_failed"


# ----------------------------------------------------------------- in the worker process


def _init_worker(settings):
    """Pool initializer: load the packs once, give the process a private temporary directory."""
    global _SERVICE
    import atexit

    from zoning.service.handlers import Service, load_packs

    work = Path(tempfile.gettempdir()) / f"{_WORK_PREFIX}{os.getpid()}"
    work.mkdir(mode=0o700, exist_ok=True)
    tempfile.tempdir = str(work)
    os.environ["TMPDIR"] = str(work)  # GDAL's own temporary files too
    atexit.register(shutil.rmtree, work, True)
    packs = load_packs(settings.packs, settings.packs_dir)
    _SERVICE = Service(packs, None, settings.limits, warm=True)


def worker_service():
    """The :class:`~zoning.service.handlers.Service` of the current worker process (None elsewhere)."""
    return _SERVICE


_TRIM_ABOVE = 400 * 1024 * 1024  # bytes of RSS after a task above which freed memory is handed back


def _call(func, args, kwargs):
    try:
        return func(_SERVICE, *args, **kwargs)
    finally:
        _hand_back_memory()


def _hand_back_memory():
    """After a large request, return the freed heap to the system (glibc keeps it otherwise).

    A site of 200,000 vertices builds ~1 GB of short-lived Python and GEOS objects; once
    freed, glibc's allocator keeps most of those pages in its arenas, so a long-lived
    process's RSS stays at its high-water mark. ``malloc_trim(0)`` releases them.
    """
    try:
        with open("/proc/self/statm") as fh:
            rss = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return
    if rss > _TRIM_ABOVE:
        import ctypes
        import gc

        gc.collect()
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass


def _ready(_service):
    return os.getpid()


# ----------------------------------------------------------------- in the server process


def sweep_work_dirs(root=None):
    """Remove the private temporary directories of worker processes that no longer run."""
    root = Path(root or tempfile.gettempdir())
    removed = 0
    for d in root.glob(f"{_WORK_PREFIX}*"):
        try:
            pid = int(d.name[len(_WORK_PREFIX):])
        except ValueError:
            continue
        if pid == os.getpid() or _alive(pid):
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed += 1
    return removed


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CpuPool:
    """A bounded pool of worker processes, each with the service's packs loaded.

    Parameters
    ----------
    settings : zoning.service.config.Settings
        Packs and limits for the workers' services; ``settings.workers`` gives
        ``processes``, ``queue``, ``time_budget_s`` and ``max_tasks``.
    """

    def __init__(self, settings):
        self.settings = settings
        w = settings.workers
        self.processes, self.queue, self.time_budget_s, self.max_tasks = w.processes, w.queue, w.time_budget_s, w.max_tasks
        self.eligibility_budget_s = w.eligibility_budget_s
        self.in_flight = 0
        self.timeouts = 0
        self._pool = None

    def start(self):
        """Start the worker processes (sweeping directories left by killed ones first)."""
        sweep_work_dirs()
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["zoning.service.handlers", "zoning.service.workers"])
        self._pool = pebble.ProcessPool(
            max_workers=self.processes,
            max_tasks=self.max_tasks,
            initializer=_init_worker,
            initargs=(self.settings,),
            context=ctx,
        )
        return self

    async def wait_ready(self, timeout=300):
        """Wait until every worker process has loaded the packs (one trivial task each)."""
        futures = [self._pool.schedule(_call, args=(_ready, (), {})) for _ in range(self.processes)]
        await asyncio.wait_for(asyncio.gather(*(asyncio.wrap_future(f) for f in futures)), timeout)

    def stop(self):
        if self._pool is not None:
            self._pool.stop()
            self._pool.join(timeout=10)
            self._pool = None

    def stats(self):
        return {"processes": self.processes, "in_flight": self.in_flight, "queue": self.queue,
                "time_budget_s": self.time_budget_s, "eligibility_budget_s": self.eligibility_budget_s,
                "timeouts": self.timeouts}


async def run_cpu(pool, func, *args, budget_s=None, **kwargs):
    """Run ``func(worker_service, *args, **kwargs)`` in a worker process of ``pool``; await its result.

    Parameters
    ----------
    pool : CpuPool
    func : callable
        A picklable function whose first parameter is the worker's
        :class:`~zoning.service.handlers.Service`, e.g. an unbound method ``Service.compute_feature``.
    budget_s : float, optional
        This request's time budget (default: the pool's), counting the time spent waiting
        for a free worker.

    Raises
    ------
    Busy
        ``processes + queue`` requests are already in flight (→ 503).
    TimeBudgetExceeded
        The budget ran out; the worker doing the task is killed and replaced (→ 504).
    WorkerFailed
        The worker process died (→ 503).
    Exception
        Whatever ``func`` raised (a :class:`~zoning.errors.ZoningError` for bad input).
    """
    if pool._pool is None:
        raise WorkerFailed("the screening processes are not running", code="workers_stopped")
    if pool.in_flight >= pool.processes + pool.queue:
        raise Busy(
            f"all {pool.processes} screening process(es) are busy and {pool.queue} requests are waiting; retry in a few seconds",
            detail={"retry_after_s": 2},
        )
    budget = pool.time_budget_s if budget_s is None else budget_s
    pool.in_flight += 1
    start = time.monotonic()
    future = pool._pool.schedule(_call, args=(func, args, kwargs), timeout=budget)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), budget)
    except (asyncio.TimeoutError, concurrent.futures.TimeoutError):
        future.cancel()  # pebble stops the worker process if the task is running
        pool.timeouts += 1
        raise TimeBudgetExceeded(
            f"the request was not done within its time budget of {budget:g} s "
            f"(waited and worked {time.monotonic() - start:.1f} s); simplify or split the site, or retry later"
        ) from None
    except pebble.ProcessExpired as e:
        log.error("a screening process died (%s)", e)
        raise WorkerFailed("the screening process stopped while working on this request (out of memory?); retry, or send a smaller site") from None
    finally:
        pool.in_flight -= 1
