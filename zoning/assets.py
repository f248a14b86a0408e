"""Offline web assets: local copies of Leaflet and Leaflet.Search, inlined into maps.

Government review networks are often cut off from the internet, so a map or report
written with ``offline=True`` carries its JavaScript and CSS inside the file (images
referenced by the CSS become ``data:`` URIs) and loads nothing from a CDN. The copies
come from the npm registry at set-up time (``make assets``, which runs
``npm install --prefix .cache/assets leaflet@1.9.3 leaflet-search@2.9.7`` — the versions
folium 0.20 itself links to); they are not committed.

They are looked up in ``$ZONING_ASSETS`` (a directory holding ``node_modules``), then in
``zoning/_vendor`` (an installed wheel carries them there: the build takes them from the npm
registry, see ``hatch_build.py``), then in ``.cache/assets`` of the source checkout.
"""

import base64
import mimetypes
import os
import re
from functools import cache
from pathlib import Path

from zoning.errors import ZoningError

__all__ = ["ASSETS", "assets_dir", "asset_text", "inline_css", "inline_js", "offline_available"]

#: npm packages and the files the maps use from each: ``name -> (package@version, path)``.
ASSETS = {
    "leaflet_js": ("leaflet@1.9.3", "leaflet/dist/leaflet.js"),
    "leaflet_css": ("leaflet@1.9.3", "leaflet/dist/leaflet.css"),
    "search_js": ("leaflet-search@2.9.7", "leaflet-search/dist/leaflet-search.min.js"),
    "search_css": ("leaflet-search@2.9.7", "leaflet-search/dist/leaflet-search.min.css"),
}

_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")


class AssetsMissingError(ZoningError, FileNotFoundError):
    """The offline copies of Leaflet are not installed."""


def _candidates():
    env = os.environ.get("ZONING_ASSETS")
    if env:
        yield Path(env)
    yield Path(__file__).resolve().parent / "_vendor"  # what an installed wheel carries (hatch_build.py)
    yield Path(__file__).resolve().parent.parent / ".cache" / "assets"


def assets_dir():
    """Return the ``node_modules`` directory holding the offline assets.

    Raises
    ------
    AssetsMissingError
        When no copy is installed; the message says how to install one.
    """
    for base in _candidates():
        nm = base / "node_modules"
        if all((nm / path).is_file() for _, path in ASSETS.values()):
            return nm
    packages = " ".join(sorted({pkg for pkg, _ in ASSETS.values()}))
    raise AssetsMissingError(
        "offline map assets (Leaflet) are not installed: a wheel from `pip install zoning` carries them, so reinstall it "
        "if it was built with ZONING_BUILD_NO_ASSETS; or `npm install --prefix DIR "
        f"{packages}` and set ZONING_ASSETS=DIR; in a source checkout, `make assets`"
    )


def offline_available():
    """True when the offline assets are installed.

    Examples
    --------
    >>> isinstance(offline_available(), bool)
    True
    """
    try:
        assets_dir()
    except AssetsMissingError:
        return False
    return True


@cache
def asset_text(name):
    """The text of one asset (a key of :data:`ASSETS`)."""
    return (assets_dir() / ASSETS[name][1]).read_text(encoding="utf-8")


def _data_uri(path):
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


@cache
def inline_css(name):
    """A ``<style>`` element with the stylesheet, its relative images turned into data URIs."""
    path = assets_dir() / ASSETS[name][1]
    text = path.read_text(encoding="utf-8")

    def repl(match):
        ref = match.group(2)
        if ref.startswith(("data:", "http:", "https:", "#")):
            return match.group(0)
        target = (path.parent / ref).resolve()
        return f'url("{_data_uri(target)}")' if target.is_file() else match.group(0)

    return f"<style>\n{_URL.sub(repl, text)}\n</style>"


@cache
def inline_js(name):
    """A ``<script>`` element with the script inlined."""
    text = asset_text(name).replace("</script", "<\\/script")
    return f"<script>\n{text}\n</script>"
