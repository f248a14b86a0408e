"""Basemaps for the folium maps: OpenStreetMap, and 天地图 (Tianditu) when a key is given.

The zoning is CGCS2000 (EPSG:4490), which agrees with WGS84 to centimetres, so a basemap
must be WGS84/CGCS2000-aligned. 天地图's Web-Mercator tile services (the ``_w`` matrix set:
``vec_w`` streets, ``img_w`` imagery, with the ``cva_w``/``cia_w`` Chinese annotation on top)
are CGCS2000 and line up with the zoning. Tiles shifted to GCJ-02 or BD-09 (AMap/Gaode,
Tencent, Baidu) put every boundary 100–700 m off and are refused.

The 天地图 key (``tk``, free from https://console.tianditu.gov.cn) comes from the
environment variable ``ZONING_TIANDITU_KEY`` and is never written anywhere but into the
tile URLs of the maps it draws. When the key is set, every map offers 天地图 矢量 and 影像
in its layer control beside OpenStreetMap; ``ZONING_BASEMAP`` (or ``tiles=``) chooses the
one shown first.

Examples
--------
>>> basemap_names()
('osm', 'tianditu-vec', 'tianditu-img')
>>> resolve("OpenStreetMap")
'osm'
>>> resolve("amap")
Traceback (most recent call last):
...
zoning.errors.ZoningError: basemap 'amap' is a GCJ-02/BD-09 shifted tile service (AMap/Gaode, Tencent, Baidu): its streets lie 100–700 m off the CGCS2000 zoning; use one of osm, tianditu-vec, tianditu-img
"""

from __future__ import annotations

import os

import xyzservices

from zoning.errors import ZoningError

__all__ = ["basemap_names", "resolve", "tianditu_key", "tianditu_layers", "add_basemaps", "KEY_ENV", "BASEMAP_ENV"]

KEY_ENV = "ZONING_TIANDITU_KEY"
BASEMAP_ENV = "ZONING_BASEMAP"

_ALIASES = {
    "osm": "osm", "openstreetmap": "osm",
    "tianditu-vec": "tianditu-vec", "tianditu": "tianditu-vec", "tdt": "tianditu-vec", "tdt-vec": "tianditu-vec",
    "天地图": "tianditu-vec", "天地图矢量": "tianditu-vec",
    "tianditu-img": "tianditu-img", "tdt-img": "tianditu-img", "天地图影像": "tianditu-img",
}
#: Fragments of names and URLs of tile services drawn on GCJ-02 or BD-09.
_SHIFTED = ("gaode", "amap", "autonavi", "baidu", "bdimg", "bdstatic", "tencent", "qq.com", "gtimg", "gcj")

_LABELS = {"tianditu-vec": "天地图 矢量 Tianditu streets", "tianditu-img": "天地图 影像 Tianditu imagery"}
_LAYERS = {"tianditu-vec": ("vec", "cva"), "tianditu-img": ("img", "cia")}
_ATTRIBUTION = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a> 国家地理信息公共服务平台 (CGCS2000)'


def basemap_names():
    """The basemap names accepted by ``tiles=``, ``--basemap`` and ``ZONING_BASEMAP``."""
    return ("osm", "tianditu-vec", "tianditu-img")


def resolve(tiles):
    """The canonical basemap name for ``tiles`` (a name or alias; None → ``ZONING_BASEMAP`` or osm).

    Raises :class:`~zoning.errors.ZoningError` for a GCJ-02/BD-09 tile service or an unknown
    name. Any other folium tile string or URL passes through unchanged (the caller keeps it
    WGS84-aligned).
    """
    if tiles is None:
        tiles = os.environ.get(BASEMAP_ENV, "").strip() or "osm"
    if not isinstance(tiles, str):
        return tiles
    low = tiles.strip().lower()
    if any(frag in low for frag in _SHIFTED):
        raise ZoningError(
            f"basemap {tiles!r} is a GCJ-02/BD-09 shifted tile service (AMap/Gaode, Tencent, Baidu): its streets lie "
            f"100–700 m off the CGCS2000 zoning; use one of {', '.join(basemap_names())}"
        )
    if low in _ALIASES or tiles.strip() in _ALIASES:
        return _ALIASES.get(low, _ALIASES.get(tiles.strip()))
    if "{" in tiles or "/" in tiles or "." in tiles:
        return tiles  # a folium/xyzservices provider name or a tile URL template
    raise ZoningError(f"unknown basemap {tiles!r}; expected one of {', '.join(basemap_names())}")


def tianditu_key(required=False):
    """The 天地图 key from ``ZONING_TIANDITU_KEY`` (None when unset, or an error if ``required``)."""
    key = os.environ.get(KEY_ENV, "").strip()
    if not key and required:
        raise ZoningError(
            f"天地图 (Tianditu) basemaps need a key: set {KEY_ENV} to your tk (free from "
            "https://console.tianditu.gov.cn), or use --basemap osm"
        )
    return key or None


def _provider(layer, key, label):
    return xyzservices.TileProvider(
        name=label,
        url=(f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
             f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={{tk}}"),
        attribution=_ATTRIBUTION,
        html_attribution=_ATTRIBUTION,
        subdomains="01234567",
        max_zoom=18,
        tk=key,
    )


def tianditu_layers(name, key):
    """The two xyzservices providers of a 天地图 basemap: the map tiles and their annotation.

    >>> base, notes = tianditu_layers("tianditu-img", "KEY")
    >>> base.build_url(x=1, y=2, z=3)
    'https://t0.tianditu.gov.cn/img_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=img&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX=3&TILEROW=2&TILECOL=1&tk=KEY'
    >>> notes.name
    '天地图 影像 Tianditu imagery 注记 labels'
    """
    base, notes = _LAYERS[name]
    return _provider(base, key, _LABELS[name]), _provider(notes, key, f"{_LABELS[name]} 注记 labels")


def add_basemaps(m, tiles=None):
    """Add the basemap(s) to the folium map ``m``, before its layer control is made.

    ``tiles`` chooses the one shown (see :func:`resolve`); OpenStreetMap is always offered,
    and with ``ZONING_TIANDITU_KEY`` set so are 天地图 矢量 and 影像 (each with its annotation
    layer, which follows its base). Choosing a 天地图 basemap without the key is an error.
    """
    import folium

    chosen = resolve(tiles)
    key = tianditu_key(required=chosen in _LAYERS)
    if chosen not in _LAYERS and chosen != "osm":
        folium.TileLayer(chosen, show=True).add_to(m)
        return
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", show=chosen == "osm").add_to(m)
    if not key:
        return
    for name in _LAYERS:
        base, notes = tianditu_layers(name, key)
        shown = chosen == name
        # Leaflet's base-layer radio shows one tile layer; the annotation is drawn by a
        # second layer in the same group so that both switch together.
        group = folium.FeatureGroup(name=base.name, overlay=False, show=shown)
        for provider in (base, notes):
            folium.TileLayer(provider, name=provider.name, control=False, show=True,
                             max_zoom=18, subdomains="01234567").add_to(group)
        group.add_to(m)
