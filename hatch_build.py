"""Build hook: the wheel carries the web assets its maps and page need (offline use).

Leaflet 1.9.3 and Leaflet.Search 2.9.7 (the versions folium links to; ``--offline`` maps and
reports inline them), leaflet-draw 1.0.4 (the service's page) and swagger-ui-dist 5.36.0 (the
service's ``/docs``) are taken from the npm registry at build time — or from a checkout's
``.cache/assets`` and ``.cache/web``, where ``make assets``/``make web`` put the same packages —
and placed under ``zoning/_vendor/node_modules/<package>/`` with their licences (BSD-2-Clause,
MIT, Apache-2.0 with its NOTICE and the licences of what the Swagger UI bundle contains).
Nothing of them is committed. Set ``ZONING_BUILD_NO_ASSETS=1`` to build a wheel without them (maps then
link the CDN and ``--offline`` says how to install the copies).
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: package@version → what the wheel keeps of it (besides package.json and the licence).
PACKAGES = {
    "leaflet@1.9.3": ["dist/leaflet.js", "dist/leaflet.css", "dist/images"],
    "leaflet-search@2.9.7": ["dist/leaflet-search.min.js", "dist/leaflet-search.min.css", "images/search-icon.png",
                             "images/search-icon-mobile.png", "images/loader.gif"],
    "leaflet-draw@1.0.4": ["dist/leaflet.draw.js", "dist/leaflet.draw.css", "dist/images"],
    # the version pinned by the Makefile's `web` target (SWAGGER_UI)
    "swagger-ui-dist@5.36.0": ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "swagger-ui-bundle.js.LICENSE.txt"],
}
_LICENCES = ("LICENSE", "LICENSE.md", "license.txt", "LICENSE.txt", "NOTICE")


def _name(spec):
    return spec.rsplit("@", 1)[0]


def _version(spec):
    return spec.rsplit("@", 1)[1]


def _have(node_modules, spec):
    pkg = Path(node_modules) / _name(spec) / "package.json"
    try:
        return json.loads(pkg.read_text(encoding="utf-8")).get("version") == _version(spec)
    except (OSError, ValueError):
        return False


class VendorAssets(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        if self.target_name != "wheel" or version == "editable" or os.environ.get("ZONING_BUILD_NO_ASSETS"):
            return
        root = Path(self.root)
        local = [root / ".cache" / "assets" / "node_modules", root / ".cache" / "web" / "node_modules"]
        found, missing = {}, []
        for spec in PACKAGES:
            where = next((nm for nm in local if _have(nm, spec)), None)
            if where is None:
                missing.append(spec)
            else:
                found[spec] = where
        if missing:
            npm = shutil.which("npm")
            if npm is None:
                raise RuntimeError(
                    f"building the wheel needs the web assets {', '.join(missing)} from the npm registry, and npm is not "
                    "installed; install Node.js/npm, run `make assets web` in the checkout, or set ZONING_BUILD_NO_ASSETS=1"
                )
            self._tmp = tempfile.mkdtemp(prefix="zoning-assets-")
            subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", "--no-save", "--prefix", self._tmp, *missing], check=True)
            for spec in missing:
                found[spec] = Path(self._tmp) / "node_modules"
        force = build_data.setdefault("force_include", {})
        notice = ["Web assets carried by this wheel (from the npm registry), with their licences:", ""]
        for spec, nm in found.items():
            pkg = nm / _name(spec)
            dest = f"zoning/_vendor/node_modules/{_name(spec)}"
            licences = [f for f in _LICENCES if (pkg / f).is_file()]
            for part in [*PACKAGES[spec], "package.json", *licences]:
                if not (pkg / part).exists():
                    raise RuntimeError(f"{spec} has no {part}: the npm package changed; update hatch_build.py")
                force[str(pkg / part)] = f"{dest}/{part}"
            meta = json.loads((pkg / "package.json").read_text(encoding="utf-8"))
            notice.append(f"- {meta['name']} {meta['version']}: {meta.get('license', 'see package.json')} "
                          f"({', '.join(licences) or 'licence named in package.json'}); {meta.get('homepage', '')}".rstrip("; "))
        if not hasattr(self, "_tmp"):
            self._tmp = tempfile.mkdtemp(prefix="zoning-assets-")
        path = Path(self._tmp) / "LICENSES.txt"
        path.write_text("\n".join(notice) + "\n", encoding="utf-8")
        force[str(path)] = "zoning/_vendor/LICENSES.txt"

    def finalize(self, version, build_data, artifact_path):
        tmp = getattr(self, "_tmp", None)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
