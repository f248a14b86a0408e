"""The folium map of a stored screening.

Uses :func:`zoning.maps.verdict_map` when the record's pack (same digest) is loaded; otherwise
(a record made on another data version) draws a minimal map here: the site, and the units,
red lines and zones it touches, coloured by verdict.
"""

from __future__ import annotations

import shapely.geometry

from zoning.errors import ZoningError
from zoning.verdict import Verdict

__all__ = ["screening_map_html"]

_COLOURS = {"prohibited": "#c0392b", "needs_information": "#d68910", "conditional": "#2874a6", "permitted": "#1e8449"}


def screening_map_html(record, pack=None, *, offline=False):
    """Return the HTML of the map of a stored record (``store.get`` output)."""
    data = record["verdict"]
    site = record["request"].get("site")
    geom = shapely.geometry.shape(site) if site else None
    verdict = Verdict(data, geom, pack)
    try:
        from zoning.maps import verdict_map
    except ImportError:  # an engine without maps: draw a minimal one here
        verdict_map = None
    m = None
    if verdict_map is not None and geom is not None and pack is not None:
        try:
            m = verdict_map(verdict, offline=offline)
        except ZoningError:
            m = None
    if m is None:
        m = _minimal_map(data, geom, pack)
    return m.get_root().render()


def _minimal_map(data, geom, pack):
    import folium

    if geom is None:
        lon, lat = data["site"]["centroid"]
        m = folium.Map(location=[lat, lon], zoom_start=13, tiles="OpenStreetMap")
    else:
        minx, miny, maxx, maxy = geom.bounds
        m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=13, tiles="OpenStreetMap")
        m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(30, 30))
    if pack is not None:
        layers = (
            ("units", "unit_code", [u["unit_code"] for u in data.get("units", [])], "#7d3c98"),
            ("red_line", "redline_id", [r["redline_id"] for r in data.get("red_line", [])], "#c0392b"),
            ("zones", "zone_id", [z["zone_id"] for z in data.get("zones", [])], "#566573"),
        )
        for layer, key, ids, colour in layers:
            frame = getattr(pack, layer)
            hit = frame[frame[key].isin(ids)]
            if len(hit):
                cols = [c for c in hit.columns if c != "geometry" and hit[c].dtype == object][:4]
                folium.GeoJson(
                    hit[[*cols, "geometry"]].to_json(),
                    name=layer,
                    style_function=lambda _f, c=colour: {"color": c, "weight": 2, "fillOpacity": 0.1},
                    tooltip=folium.GeoJsonTooltip(fields=cols) if cols else None,
                ).add_to(m)
    if geom is not None:
        colour = _COLOURS.get(data["verdict"], "#000")
        folium.GeoJson(
            shapely.geometry.mapping(geom),
            name="site",
            style_function=lambda _f: {"color": colour, "weight": 3, "fillOpacity": 0.3},
            tooltip=f"{data['verdict_zh']} {data['verdict']}",
        ).add_to(m)
    folium.LayerControl().add_to(m)
    return m
