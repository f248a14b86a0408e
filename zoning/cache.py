"""The pack cache: a compiled copy of a validated pack, for fast cold starts.

Loading a pack validates it fully (schema, industry codes, the units' topology),
which takes seconds on a province. Once a pack has loaded, :func:`write_pack`
keeps what :func:`~zoning.pack.load_pack` built — the layers on CGCS2000 as
GeoParquet, the manifest and clauses as JSON, quotas, warnings, the file list and
raster references — in ``<cache>/packs/<digest-hex>/``. The next load recomputes
the pack's digest from its files (never trusting modification times) and, when an
entry with that digest is there and intact, :func:`read_pack` returns an equal
:class:`~zoning.pack.Pack` without validating again.

An entry is trusted only when every file matches the sha256 listed in its
``index.json`` (written last) and its cache-format and engine versions are this
engine's. Entries are written into a temporary directory and moved into place
with :func:`os.replace`, so a reader never sees half an entry and two processes
building the same entry at once leave one valid copy.

Other modules keep artefacts derived from a pack (e.g. its layers projected to a
Gauss–Krüger zone) in the same entry with :func:`store_artifact` and
:func:`load_artifact`; they share the entry's digest and its checks.

The cache lives in ``$ZONING_CACHE`` when that is set, else in the user cache
directory (``platformdirs.user_cache_dir("zoning")``); ``ZONING_CACHE=off`` (or
empty) turns it off.
"""

import errno
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from zoning import __version__

__all__ = [
    "CACHE_FORMAT",
    "CacheMiss",
    "cache_root",
    "entry_dir",
    "read_pack",
    "write_pack",
    "store_artifact",
    "load_artifact",
]

#: Version of the on-disk layout; an entry written with another one is rebuilt.
CACHE_FORMAT = 1
#: ``$ZONING_CACHE`` values that turn the cache off.
_OFF = {"", "off", "none", "no", "false", "0"}
_INDEX = "index.json"
_META = "meta.json"
_LAYERS = ("units", "red_line", "zones")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
#: Column dtypes a GeoParquet round trip gives back (after the recorded dtype is restored).
_KEPT_DTYPES = re.compile(r"^(object|str|string|bool|boolean|u?int(8|16|32|64)|U?Int(8|16|32|64)|float(32|64)|Float(32|64)|datetime64\[\w+(, .+)?\]|geometry)$")


class CacheMiss(Exception):
    """The cache has no usable entry; the message says why (internal: callers load normally)."""


def cache_root():
    """Return the cache directory, or None when the cache is off.

    ``$ZONING_CACHE`` wins when set (``off``, ``none``, ``0`` or empty: no cache);
    otherwise ``platformdirs.user_cache_dir("zoning")``.

    Returns
    -------
    pathlib.Path or None

    Examples
    --------
    >>> root = cache_root()
    >>> root is None or (root / "packs").parent == root
    True
    """
    value = os.environ.get("ZONING_CACHE")
    if value is None:
        import platformdirs

        return Path(platformdirs.user_cache_dir("zoning"))
    if value.strip().lower() in _OFF:
        return None
    return Path(os.path.expanduser(value.strip()))


def entry_dir(root, digest):
    """Return the entry directory of a pack digest (``sha256:…``) under the cache ``root``.

    Examples
    --------
    >>> entry_dir("/c", "sha256:ab12").as_posix()
    '/c/packs/ab12'
    """
    return Path(root) / "packs" / digest.split(":", 1)[-1]


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


# -- reading -----------------------------------------------------------------------------------


def _read_index(entry):
    """Check the entry's index and versions; return ``{file: sha256}``."""
    try:
        index = json.loads((entry / _INDEX).read_bytes())
    except FileNotFoundError:
        raise CacheMiss(f"no entry at {entry}") from None
    except (OSError, ValueError) as exc:
        raise CacheMiss(f"unreadable index: {exc}") from None
    if not isinstance(index, dict) or not isinstance(index.get("files"), dict):
        raise CacheMiss("index is not an object with 'files'")
    if index.get("format") != CACHE_FORMAT:
        raise CacheMiss(f"cache format {index.get('format')!r}, this engine writes {CACHE_FORMAT}")
    if index.get("engine") != __version__:
        raise CacheMiss(f"written by engine {index.get('engine')!r}, this is {__version__}")
    return index["files"]


def _checked_bytes(entry, files, name):
    """The bytes of one entry file, refused unless its sha256 is the indexed one."""
    want = files.get(name)
    if want is None:
        raise CacheMiss(f"{name} is not in the index")
    try:
        data = (entry / name).read_bytes()
    except OSError as exc:
        raise CacheMiss(f"cannot read {name}: {exc}") from None
    if _sha256(data) != want:
        raise CacheMiss(f"{name} does not match its checksum")
    return data


def _restore_dtypes(frame, dtypes, text_fields=()):
    """Give each column back the dtype it had when written (Parquet turns object text into ``str``)."""
    for col, want in dtypes.items():
        if col not in frame.columns:
            raise CacheMiss(f"column {col!r} is missing")
        have = str(frame[col].dtype)
        if have == want:
            continue
        s = frame[col]
        if want == "object" and col in text_fields:
            # as _read_layer leaves the required text fields: str, or pd.NA when missing
            frame[col] = s.astype("string").astype(object)
        elif want == "object":
            frame[col] = s.astype(object).where(s.notna(), None)
        else:
            frame[col] = s.astype(want)
        if str(frame[col].dtype) != want:
            raise CacheMiss(f"column {col!r} came back as {frame[col].dtype}, not {want}")
    if list(frame.columns) != list(dtypes):
        raise CacheMiss("columns are not in their recorded order")
    return frame


def _read_frame(entry, files, name, dtypes, *, geo, text_fields=()):
    buf = io.BytesIO(_checked_bytes(entry, files, name))
    if geo:
        import geopandas as gpd

        frame = gpd.read_parquet(buf)
    else:
        import pandas as pd

        frame = pd.read_parquet(buf)
    del buf
    _release_arrow_memory()
    return _restore_dtypes(frame, dtypes, text_fields)


def _release_arrow_memory():
    """Hand back to the system what Arrow's allocator keeps after decoding (mimalloc keeps
    freed pages: about 130 MB after reading a province's layers)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def read_pack(root, digest, directory, files, *, topology=True):
    """Return the cached :class:`~zoning.pack.Pack` of a digest, or raise :class:`CacheMiss`.

    Parameters
    ----------
    root : Path
        The cache directory (:func:`cache_root`).
    digest : str
        The pack's digest, computed from its files just now (:func:`~zoning.pack.pack_digest`).
    directory : Path
        Where the pack is now; the Pack's ``path`` and raster paths point there.
    files : list of str
        The files the pack's manifest names; must be the entry's.
    topology : bool
        Whether the caller asked for the topology check; an entry built without it
        does not serve a caller who wants it.

    Returns
    -------
    Pack
    """
    from zoning.pack import LAYER_FIELDS, Pack, _empty_layer
    from zoning.schema import Manifest, RasterRef, RuleSet

    entry = entry_dir(root, digest)
    index = _read_index(entry)
    try:
        meta = json.loads(_checked_bytes(entry, index, _META))
        if meta["digest"] != digest:
            raise CacheMiss(f"entry holds {meta['digest']}, not {digest}")
        if sorted({Path(f).as_posix() for f in meta["files"]}) != sorted({Path(f).as_posix() for f in files}):
            raise CacheMiss("the pack's files are not those the entry was built from")
        if topology and not meta["topology"]:
            raise CacheMiss("the entry was built without the topology check")
        manifest = Manifest.model_validate_json(_checked_bytes(entry, index, "manifest.json"))
        clauses = list(RuleSet.model_validate_json(_checked_bytes(entry, index, "clauses.json")).clauses)
        layers = {}
        for name in _LAYERS:
            info = meta["layers"][name]
            if info is None:
                layers[name] = _empty_layer(name)
            else:
                layers[name] = _read_frame(entry, index, f"{name}.parquet", info["dtypes"], geo=True, text_fields=LAYER_FIELDS[name])
        quotas = _read_frame(entry, index, "quotas.parquet", meta["quotas"]["dtypes"], geo=False)
        rasters = {
            name: RasterRef.model_validate(ref).model_copy(update={"path": str(Path(directory) / ref["path"])})
            for name, ref in meta["rasters"].items()
        }
        warnings = [w["text"] for w in meta["warnings"] if topology or not w["kind"].startswith("topology.")]
    except CacheMiss:
        raise
    except Exception as exc:  # any damage the checksums did not catch: rebuild, never trust
        raise CacheMiss(f"damaged entry: {type(exc).__name__}: {exc}") from None
    pack = Pack(
        directory,
        manifest,
        layers["units"],
        layers["red_line"],
        layers["zones"],
        rasters,
        quotas,
        clauses,
        digest,
        meta["files"],
        warnings=warnings,
        cache_dir=entry,
    )
    return pack


# -- writing -----------------------------------------------------------------------------------


class _Builder:
    """Files written into a temporary directory, each with its sha256, then an index."""

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.files = {}
        os.chmod(self.tmp, 0o755)  # mkdtemp makes it private; others sharing $ZONING_CACHE may read it

    def put(self, name, data):
        (self.tmp / name).write_bytes(data)
        self.files[name] = _sha256(data)

    def put_json(self, name, obj):
        self.put(name, json.dumps(obj, ensure_ascii=False, indent=1).encode())

    def finish(self, **extra):
        index = {"format": CACHE_FORMAT, "engine": __version__, **extra, "files": self.files}
        (self.tmp / _INDEX).write_bytes(json.dumps(index, indent=1).encode())


def _dtypes(frame, what):
    out = {}
    for col in frame.columns:
        dtype = str(frame[col].dtype)
        if not _KEPT_DTYPES.match(dtype):
            raise TypeError(f"{what} field {col!r} has dtype {dtype}, which the cache does not keep")
        out[col] = dtype
    return out


def _parquet_bytes(frame, **kwargs):
    buf = io.BytesIO()
    frame.to_parquet(buf, index=None, **kwargs)
    return buf.getvalue()


def _layer_bytes(gdf):
    """GeoParquet of a layer: GeoArrow coordinates (about twice as fast to read) when they give back
    exactly the same geometries, else WKB (GeoArrow promotes a Polygon/MultiPolygon mix to Multi)."""
    geoms = gdf.geometry
    present = geoms[geoms.notna()]
    if len(present) and present.geom_type.nunique() == 1 and present.has_z.nunique() == 1:
        try:
            data = _parquet_bytes(gdf, geometry_encoding="geoarrow")
        except Exception:  # noqa: BLE001 — an encoding GeoArrow refuses: WKB below
            pass
        else:
            import geopandas as gpd

            back = gpd.read_parquet(io.BytesIO(data)).geometry
            if list(back.to_wkb()) == list(geoms.to_wkb()):
                return data
    return _parquet_bytes(gdf)


def _sweep(parent, older_than_s=3600):
    """Remove temporary and trash directories a killed process left behind (an hour old or more)."""
    import time

    try:
        for p in parent.iterdir():
            if p.name.startswith((".tmp-", ".trash-")) and time.time() - p.stat().st_mtime > older_than_s:
                shutil.rmtree(p, ignore_errors=True)
    except OSError:
        pass


def _install(tmp, final):
    """Move the built directory ``tmp`` into place as ``final`` (atomic; the first builder wins)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        # A stale or damaged entry (the caller found it unusable): move it aside first.
        trash = Path(tempfile.mkdtemp(prefix=f".trash-{final.name[:12]}-", dir=final.parent))
        try:
            os.replace(final, trash / "old")
        except FileNotFoundError:
            pass  # another process moved it already
        except OSError:
            shutil.rmtree(trash, ignore_errors=True)
            raise
        shutil.rmtree(trash, ignore_errors=True)
    try:
        os.replace(tmp, final)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):  # another process installed one meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
            return final
        raise
    return final


def write_pack(root, pack, problems=(), *, topology=True):
    """Write a freshly validated pack into the cache; return its entry directory.

    Parameters
    ----------
    root : Path
        The cache directory (:func:`cache_root`).
    pack : Pack
        As :func:`~zoning.pack.validate_pack` built it (layers on CGCS2000).
    problems : list of Problem
        The validation warnings behind ``pack.warnings`` (their kinds let an entry
        built with the topology check serve a caller who skips it).
    topology : bool
        Whether the topology check ran.

    Returns
    -------
    Path

    Raises
    ------
    OSError
        The cache directory cannot be written.
    TypeError
        A layer has a field the cache cannot keep (e.g. values of mixed types).
    """
    final = entry_dir(root, pack.digest)
    final.parent.mkdir(parents=True, exist_ok=True)
    _sweep(final.parent)
    tmp = tempfile.mkdtemp(prefix=f".tmp-{final.name[:12]}-", dir=final.parent)
    try:
        b = _Builder(tmp)
        layers = {}
        for name in _LAYERS:
            gdf = getattr(pack, name)
            if name != "units" and getattr(pack.manifest.layers, name) is None:
                layers[name] = None
                continue
            dtypes = _dtypes(gdf, f"layer {name}")
            b.put(f"{name}.parquet", _layer_bytes(gdf))
            layers[name] = {"dtypes": dtypes, "rows": len(gdf)}
        quotas = {"dtypes": _dtypes(pack.quotas, "quotas"), "rows": len(pack.quotas)}
        b.put("quotas.parquet", _parquet_bytes(pack.quotas))
        b.put("manifest.json", pack.manifest.model_dump_json(exclude_unset=True).encode())
        from zoning.schema import RuleSet

        b.put("clauses.json", RuleSet(clauses=pack.clauses).model_dump_json(exclude_unset=True).encode())
        texts = {str(p): p.kind for p in problems}
        b.put_json(_META, {
            "digest": pack.digest,
            "pack": {"id": pack.id, "version": pack.version},
            "files": list(pack.files),
            "topology": bool(topology),
            "warnings": [{"kind": texts.get(w, ""), "text": w} for w in pack.warnings],
            "layers": layers,
            "quotas": quotas,
            "rasters": {name: ref.model_dump(mode="json") for name, ref in pack.manifest.rasters.items()},
        })
        b.finish(digest=pack.digest)
        return _install(Path(tmp), final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# -- artefacts ---------------------------------------------------------------------------------


def _artifact_dir(pack, name):
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"artifact name {name!r} must be letters, digits, '.', '_' or '-' (at most 100), e.g. 'gk4549'")
    entry = getattr(pack, "cache_dir", None)
    if entry is None:
        return None
    return Path(entry) / "artifacts" / name


def _encode_arrays(arrays):
    import shapely

    out = {}
    for key, value in arrays.items():
        if not isinstance(key, str) or not _NAME_RE.match(key) or "::" in key:
            raise ValueError(f"array name {key!r} must be letters, digits, '.', '_' or '-'")
        arr = np.asarray(value)
        if arr.dtype == object:
            flat = arr.ravel()
            if not all(g is None or isinstance(g, shapely.Geometry) for g in flat):
                raise TypeError(f"array {key!r} holds Python objects; only numbers, text, dates and shapely geometries are kept")
            out.update(_encode_geometries(key, flat))
            out[f"{key}::shape"] = np.asarray(arr.shape, dtype=np.int64)
        else:
            out[key] = arr
    return out


def _encode_geometries(key, flat):
    """Coordinates and offsets (shapely's ragged arrays) when all are of one type, else WKB."""
    import shapely

    types = shapely.get_type_id(flat)
    if len(flat) and (types >= 0).all() and len(set(types.tolist())) == 1 and len(set(shapely.has_z(flat).tolist())) == 1:
        kind, coords, offsets = shapely.to_ragged_array(flat)
        out = {f"{key}::coords": coords, f"{key}::type": np.asarray([int(kind)], dtype=np.int64)}
        out.update({f"{key}::offsets{i}": o for i, o in enumerate(offsets)})
        return out
    wkb = shapely.to_wkb(flat)
    sizes = np.fromiter((0 if w is None else len(w) for w in wkb), dtype=np.int64, count=len(wkb))
    return {f"{key}::wkb": np.frombuffer(b"".join(w for w in wkb if w is not None), dtype=np.uint8), f"{key}::sizes": sizes}


def _decode_arrays(npz):
    import shapely

    out = {}
    for key in npz.files:
        if "::" not in key:
            out[key] = npz[key]
            continue
        base, part = key.split("::", 1)
        shape = tuple(npz[f"{base}::shape"])
        if part == "coords":
            n = sum(1 for k in npz.files if k.startswith(f"{base}::offsets"))
            offsets = tuple(npz[f"{base}::offsets{i}"] for i in range(n))
            kind = shapely.GeometryType(int(npz[f"{base}::type"][0]))
            out[base] = shapely.from_ragged_array(kind, npz[key], offsets).reshape(shape)
            continue
        if part != "wkb":
            continue
        blob = npz[key].tobytes()
        sizes = npz[f"{base}::sizes"]
        ends = np.cumsum(sizes)
        pieces = np.empty(len(sizes), dtype=object)
        for i, (end, size) in enumerate(zip(ends, sizes)):
            pieces[i] = blob[end - size:end] if size else None
        out[base] = shapely.from_wkb(pieces).reshape(shape)
    return out


def store_artifact(pack, name, data, *, version=None):
    """Keep an artefact derived from ``pack`` in its cache entry; return its directory.

    Parameters
    ----------
    pack : Pack
        A pack from :func:`~zoning.pack.load_pack` (its ``cache_dir`` says where
        its entry is; nothing is stored when the cache is off).
    name : str
        The artefact's name, e.g. ``"gk-4549"``.
    data : dict of str to numpy.ndarray, or (Geo)DataFrame
        Arrays (numbers, text, dates, or shapely geometries) are kept in one ``.npz``;
        a frame as (Geo)Parquet.
    version : str or int, optional
        The format of the artefact; :func:`load_artifact` with another version finds nothing.

    Returns
    -------
    Path or None
        None when the pack has no cache entry or it cannot be written.

    Examples
    --------
    >>> import numpy as np
    >>> from zoning import load_pack
    >>> pack = load_pack()
    >>> where = store_artifact(pack, "doc-example", {"x": np.arange(3)})
    >>> load_artifact(pack, "doc-example")["x"].tolist() if where else [0, 1, 2]
    [0, 1, 2]
    """
    final = _artifact_dir(pack, name)
    if final is None:
        return None
    try:
        _read_index(Path(pack.cache_dir))  # the entry must be there and current
    except CacheMiss:
        return None
    if isinstance(data, dict):
        kind, file, payload = "arrays", "data.npz", _encode_arrays(data)
    else:
        import geopandas as gpd
        import pandas as pd

        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"an artifact is a dict of numpy arrays or a (Geo)DataFrame; got {type(data).__name__}")
        kind = "geoframe" if isinstance(data, gpd.GeoDataFrame) else "frame"
        file, payload = "data.parquet", data
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=final.parent)
    except OSError:
        return None
    try:
        b = _Builder(tmp)
        if kind == "arrays":
            buf = io.BytesIO()
            np.savez(buf, **payload)
            b.put(file, buf.getvalue())
            dtypes = None
        else:
            dtypes = {c: str(payload[c].dtype) for c in payload.columns}
            b.put(file, _layer_bytes(payload) if kind == "geoframe" else _parquet_bytes(payload))
        b.finish(kind=kind, name=name, version=version, digest=pack.digest, dtypes=dtypes)
        return _install(Path(tmp), final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_artifact(pack, name, *, version=None):
    """Return an artefact kept with :func:`store_artifact`, or None when absent, stale or damaged.

    Parameters
    ----------
    pack : Pack
    name : str
    version : str or int, optional
        Must equal the version it was stored with.

    Returns
    -------
    dict of str to numpy.ndarray, (Geo)DataFrame, or None
    """
    where = _artifact_dir(pack, name)
    if where is None:
        return None
    try:
        index = _read_index(where)
        with open(where / _INDEX, "rb") as fh:
            info = json.load(fh)
        if info.get("version") != version or info.get("digest") != pack.digest:
            return None
        if info.get("kind") == "arrays":
            with np.load(io.BytesIO(_checked_bytes(where, index, "data.npz")), allow_pickle=False) as npz:
                return _decode_arrays(npz)
        return _read_frame(where, index, "data.parquet", info["dtypes"], geo=info.get("kind") == "geoframe")
    except CacheMiss:
        return None
    except Exception:  # damaged beyond what the checksum says: absent
        return None
