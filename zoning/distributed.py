"""Screen many sites on a Dask cluster: a broadcast join of a small pack with many sites.

The pack is never put in the task graph: every worker loads it once from its
directory (``pack.path``, the same on every host; the embedded demo pack from
the worker's own install) through a :class:`distributed.WorkerPlugin`, and
checks it is the same data (``pack.digest``). The sites are sorted along a
Hilbert curve, so that each chunk covers a compact area, cut into chunks and
sent as futures; results come back as they complete and are put back in input
order. A row's result does not depend on the chunk it was screened in, so the
output equals a local :func:`zoning.screen.screen_many` row for row.

:func:`screen_chunk` is the unit of work, used by workers and by local runs alike.
"""

import math
import uuid
from collections import deque

import numpy as np
import pandas as pd

from zoning.errors import PackError, SiteError, ZoningError
from zoning.io.columns import RESULT_COLUMNS

__all__ = ["screen_many_distributed", "screen_chunk", "stream_distributed", "PackPlugin", "pack_ref", "worker_pack", "hilbert_order", "ChunkResult"]

_PACKS = {}  # per worker process: (path, digest) -> Pack


class ChunkResult:
    """The result columns of a chunk (lists, one value per row) and, with ``full``, the verdict dicts."""

    __slots__ = ("columns", "verdicts")

    def __init__(self, columns, verdicts=None):
        self.columns = columns
        self.verdicts = verdicts

    def __len__(self):
        return len(self.columns["error"])

    @classmethod
    def concat(cls, parts):
        columns = {c: [v for p in parts for v in p.columns[c]] for c in RESULT_COLUMNS}
        full = parts and parts[0].verdicts is not None
        return cls(columns, [v for p in parts for v in p.verdicts] if full else None)

    def take(self, order):
        """Rows in ``order`` (positions)."""
        columns = {c: [vals[i] for i in order] for c, vals in self.columns.items()}
        return ChunkResult(columns, None if self.verdicts is None else [self.verdicts[i] for i in order])


def _plain(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _from_frame(out, full):
    columns = {c: [_plain(v) for v in out[c].tolist()] for c in RESULT_COLUMNS}
    columns["n_findings"] = [None if v is None else int(v) for v in columns["n_findings"]]
    verdicts = None
    if full:
        verdicts = [None if r is None or (isinstance(r, float) and math.isnan(r)) else r.to_dict() for r in out["result"].tolist()]
    return ChunkResult(columns, verdicts)


def _failed(n, message, full):
    columns = {c: [None] * n for c in RESULT_COLUMNS}
    columns["error"] = [message] * n
    return ChunkResult(columns, [None] * n if full else None)


def screen_chunk(pack, frame, project=None, full=False):
    """Screen the rows of ``frame`` with :func:`zoning.screen.screen_many`; never raise for one bad row.

    Should the engine fail on a chunk, the rows are screened one by one so that
    only the rows it fails on get an ``error`` (``internal error: …``).

    Returns
    -------
    ChunkResult
    """
    from zoning.screen import screen_many

    try:
        return _from_frame(screen_many(pack, frame, project, full=full), full)
    except ZoningError:
        if len(frame) <= 1:
            raise
    except Exception as exc:  # noqa: BLE001 - one row must not stop the run
        if len(frame) <= 1:
            return _failed(len(frame), f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": "), full)
    parts = []
    for i in range(len(frame)):
        try:
            parts.append(screen_chunk(pack, frame.iloc[i : i + 1], project, full))
        except ZoningError as exc:
            parts.append(_failed(1, str(exc), full))
    return ChunkResult.concat(parts)


# -- the pack on the workers ---------------------------------------------------------------


def pack_ref(pack):
    """``(path, digest)`` the workers load the pack by; path None = the embedded demo pack."""
    from zoning.resources import demo_pack_dir

    path = pack.path.resolve()
    try:
        if path == demo_pack_dir().resolve():
            return (None, pack.digest)
    except OSError:
        pass
    return (str(path), pack.digest)


def worker_pack(ref):
    """The pack of ``ref`` in this process, loaded on first use and checked by digest."""
    pack = _PACKS.get(ref)
    if pack is None:
        from zoning.pack import load_pack

        path, digest = ref
        pack = load_pack(path)
        if pack.digest != digest:
            where = path or "the embedded demo pack"
            raise PackError(
                f"the pack at {where} on this worker has digest {pack.digest[:19]}…, the client's has {digest[:19]}…; "
                "install the same pack (same files) at the same path on every worker"
            )
        pack.index  # noqa: B018 - build the spatial index and tables once, not in the first task
        pack._screening  # noqa: B018
        _PACKS[ref] = pack
    return pack


try:
    from distributed import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - dask[distributed] is a dependency
    _WorkerPlugin = object


class PackPlugin(_WorkerPlugin):
    """Load the pack once on every worker (also on workers that join later)."""

    def __init__(self, ref):
        self.ref = tuple(ref)

    def setup(self, worker):
        worker_pack(self.ref)


def _remote_chunk(ref, frame, project, full):
    return screen_chunk(worker_pack(ref), frame, project, full)


def _register(client, pack):
    ref = pack_ref(pack)
    client.register_plugin(PackPlugin(ref), name=f"zoning-pack-{ref[1][7:23]}")
    return ref


# -- order and chunks ----------------------------------------------------------------------


def hilbert_order(geoms, bounds=None):
    """Positions of ``geoms`` (CGCS2000 lon/lat) sorted along a Hilbert curve of their bounds' centres.

    Missing or empty geometries go last, in input order.
    """
    import geopandas as gpd
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    if n == 0:
        return np.arange(0)
    b = shapely.bounds(geoms)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    ok = np.isfinite(cx) & np.isfinite(cy)
    if not ok.any():
        return np.arange(n)
    if bounds is None:
        bounds = (cx[ok].min(), cy[ok].min(), cx[ok].max(), cy[ok].max())
    x0, y0, x1, y1 = bounds
    if x1 <= x0:
        x1 = x0 + 1e-9
    if y1 <= y0:
        y1 = y0 + 1e-9
    pts = gpd.GeoSeries(shapely.points(np.clip(cx[ok], x0, x1), np.clip(cy[ok], y0, y1)))
    dist = pts.hilbert_distance(total_bounds=(x0, y0, x1, y1)).to_numpy()
    pos = np.flatnonzero(ok)
    return np.concatenate([pos[np.argsort(dist, kind="stable")], np.flatnonzero(~ok)])


def _lonlat(frame):
    from zoning.crs import CGCS2000

    return np.asarray(frame.geometry.to_crs(CGCS2000).values, dtype=object)


def _submit(client, ref, frame, project, full, chunk_size, key):
    """Hilbert-sort ``frame``, cut it into chunks and submit them; ``[(positions, future)]``."""
    order = hilbert_order(_lonlat(frame))
    jobs = []
    for k, start in enumerate(range(0, len(order), chunk_size)):
        pos = order[start : start + chunk_size]
        part = frame.iloc[pos]
        data = client.scatter(part, hash=False)
        jobs.append((pos, client.submit(_remote_chunk, ref, data, project, full, key=f"zoning-screen-{key}-{k}", pure=False)))
    return jobs


def _gather(jobs, n, full):
    """Wait for the jobs (as they complete) and put their rows back in input order."""
    from distributed import as_completed

    columns = {c: [None] * n for c in RESULT_COLUMNS}
    verdicts = [None] * n if full else None
    where = {fut.key: pos for pos, fut in jobs}
    for fut in as_completed([f for _, f in jobs]):
        res = fut.result()
        pos = where[fut.key]
        for c in RESULT_COLUMNS:
            vals = columns[c]
            for i, v in zip(pos, res.columns[c]):
                vals[i] = v
        if full:
            for i, v in zip(pos, res.verdicts):
                verdicts[i] = v
        fut.release()
    return ChunkResult(columns, verdicts)


def _check_sites(sites):
    import geopandas as gpd

    if not isinstance(sites, gpd.GeoDataFrame):
        raise SiteError(f"sites must be a GeoDataFrame (one row per site), got {type(sites).__name__}; read a file with zoning.io.open_sites or geopandas.read_file")
    if sites.crs is None:
        raise SiteError("the sites have no CRS; set one (sites.set_crs('EPSG:4326')) or pass crs=")


def screen_many_distributed(pack, sites, project=None, *, client, full=False, chunk_size=20_000):
    """:func:`zoning.screen.screen_many` on a Dask cluster: the same columns, the same rows.

    Parameters
    ----------
    pack : Pack
        Loaded from a directory every worker has at the same path (or the embedded demo pack).
    sites : GeoDataFrame
        One row per site, with its CRS; project keys may be columns.
    project : dict, optional
        Defaults for the project keys a row leaves empty.
    client : distributed.Client
    full : bool
        Add the whole :class:`~zoning.verdict.Verdict` of each row in ``result``.
    chunk_size : int
        Rows per task.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from distributed import Client, LocalCluster
    >>> from zoning import load_pack
    >>> pack = load_pack()
    >>> sites = gpd.GeoDataFrame({"industry": ["6550", "1713"]},
    ...     geometry=[shapely.Point(119.95, 30.55), shapely.Point(119.6, 30.5)], crs="EPSG:4326")
    >>> with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:
    ...     out = screen_many_distributed(pack, sites, {"construction": "new"}, client=client)
    >>> out[["verdict", "blocking"]].equals(pack.screen_many(sites, {"construction": "new"})[["verdict", "blocking"]])
    True
    """
    from zoning.verdict import Verdict

    _check_sites(sites)
    if chunk_size < 1:
        raise ZoningError(f"chunk_size must be at least 1, got {chunk_size}")
    from zoning.io.columns import project_columns

    keep = project_columns(sites.columns)
    frame = sites[keep + [sites.geometry.name]].reset_index(drop=True)
    ref = _register(client, pack)
    res = _gather(_submit(client, ref, frame, project, full, chunk_size, uuid.uuid4().hex[:12]), len(frame), full)
    out = sites.copy()
    for c in ("verdict", "verdict_zh", "units", "red_line", "blocking", "n_findings", "missing", "error"):
        out[c] = res.columns[c]  # lists, as screen_many assigns them: the same dtypes
    if full:
        geoms = _lonlat(frame)
        out["result"] = [None if d is None else Verdict(d, geoms[i], pack) for i, d in enumerate(res.verdicts)]
    return out


def stream_distributed(pack, chunks, project=None, *, client, full=False, chunk_size=20_000, window=None, in_flight=2):
    """Screen a stream of chunks on the cluster; yield ``(payload, ChunkResult)`` in input order.

    ``chunks`` yields ``(payload, frame)``: ``frame`` is what gets screened (project
    columns and geometry), ``payload`` stays here and comes back with its result.
    ``window`` consecutive chunks are Hilbert-sorted together and re-cut into tasks of
    ``chunk_size`` rows; at most ``in_flight`` windows are on the cluster at a time,
    so memory stays bounded whatever the number of rows.
    """
    if window is None:
        threads = sum(client.nthreads().values()) or 1
        window = max(1, min(2 * threads, max(1, 400_000 // max(chunk_size, 1))))
    ref = _register(client, pack)
    pending = deque()
    batch = []
    token = uuid.uuid4().hex[:12]
    counter = 0

    def flush():
        nonlocal counter
        frame = pd.concat([f for _, f in batch]) if len(batch) > 1 else batch[0][1]
        frame = frame.reset_index(drop=True)
        pending.append(([(p, len(f)) for p, f in batch], _submit(client, ref, frame, project, full, chunk_size, f"{token}-{counter}"), len(frame)))
        counter += 1
        batch.clear()

    def drain():
        parts, jobs, n = pending.popleft()
        res = _gather(jobs, n, full)
        start = 0
        for payload, m in parts:
            yield payload, res.take(range(start, start + m))
            start += m

    for payload, frame in chunks:
        batch.append((payload, frame))
        if len(batch) >= window:
            flush()
            while len(pending) > in_flight:
                yield from drain()
    if batch:
        flush()
    while pending:
        yield from drain()
