"""Processing parameters → a zoning project, and finding the zoning library; no QGIS import here.

Kept apart from the algorithms so that it can be tested without QGIS (tests/test_qgis.py).
"""

import importlib
import os
import site
import sys

__all__ = [
    "CONSTRUCTION_OPTIONS",
    "GROUNDWATER_OPTIONS",
    "NUMBER_FIELDS",
    "INSTALL_HELP",
    "ParameterError",
    "ZoningImportError",
    "parse_emissions",
    "parse_list",
    "project_from_params",
    "import_zoning",
]

#: (value, label) of the construction drop-down; index 0 = not given.
CONSTRUCTION_OPTIONS = (
    (None, "（未指定）not given"),
    ("new", "新建 new"),
    ("expansion", "扩建 expansion"),
    ("reconstruction", "改建 reconstruction"),
    ("relocation", "迁建 relocation"),
)
#: (value, label) of the groundwater drop-down; index 0 = not given.
GROUNDWATER_OPTIONS = ((None, "（未指定）not given"), (True, "是 yes"), (False, "否 no"))
#: Number parameters: parameter name → (project key, label).
NUMBER_FIELDS = {
    "WATER_M3": ("water_m3", "用水量 Water use (m³/a)"),
    "COAL_T": ("coal_t", "耗煤量 Coal use (t/a)"),
    "LAND_HA": ("land_ha", "用地面积 Land (ha)"),
    "ENERGY_TCE": ("energy_tce", "综合能耗 Energy use (tce/a)"),
}

INSTALL_HELP = (
    "未找到 zoning 库：QGIS 的 Python 中无法 import zoning。\n"
    "The zoning library cannot be imported in QGIS's Python. Either\n"
    "  1. install it into QGIS's Python:  python3 -m pip install --user zoning  "
    "(on Windows, from the OSGeo4W Shell: python -m pip install zoning), or\n"
    "  2. point the plugin at a virtualenv that has it (same Python minor version as QGIS): "
    "Processing ▸ Options ▸ Providers ▸ 三线一单 zoning ▸ 'zoning site-packages', "
    "or the environment variable ZONING_SITE_PACKAGES, "
    "e.g. /path/to/venv/lib/python3.11/site-packages."
)


class ParameterError(ValueError):
    """A parameter value that cannot become a project key; the message says what was expected."""


class ZoningImportError(ImportError):
    """zoning is not importable; the message says how to make it so."""


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def parse_list(text, spaces=True):
    """``"2614, 2619；2621"`` → ``["2614", "2619", "2621"]`` (commas, Chinese commas, semicolons, spaces).

    >>> parse_list("2614, 2619；2621")
    ['2614', '2619', '2621']
    >>> parse_list("")
    []
    """
    if _blank(text):
        return []
    for sep in ("，", "；", ";", "、") + ((" ",) if spaces else ()):
        text = text.replace(sep, ",")
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_emissions(text):
    """``"VOCs=12.5,NOx=3"`` → ``{"VOCs": 12.5, "NOx": 3.0}`` (t/a); ``"none"`` or ``"无"`` → ``{}`` (emits nothing).

    >>> parse_emissions("VOCs = 12.5, NOx=3")
    {'VOCs': 12.5, 'NOx': 3.0}
    >>> parse_emissions("VOCs:12.5")
    Traceback (most recent call last):
    ...
    zoning_qgis.params.ParameterError: emissions expects POLLUTANT=T_PER_YEAR items separated by commas, e.g. VOCs=12.5,NOx=3; got 'VOCs:12.5'
    """
    if _blank(text):
        return None
    if text.strip().lower() in {"none", "无", "0"}:
        return {}
    out = {}
    for item in parse_list(text, spaces=False):
        name, sep, amount = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"emissions expects POLLUTANT=T_PER_YEAR items separated by commas, e.g. VOCs=12.5,NOx=3; got {item!r}")
        try:
            out[name.strip()] = float(amount)
        except ValueError:
            raise ParameterError(f"emissions {name.strip()}: expected a number of t/a, got {amount.strip()!r}") from None
    return out


def _option(options, value, what):
    if _blank(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        index = int(value)
        if not 0 <= index < len(options):
            raise ParameterError(f"{what} option {index} does not exist; expected 0–{len(options) - 1}: "
                                 + ", ".join(f"{i} = {label}" for i, (_, label) in enumerate(options)))
        return options[index][0]
    return value  # text: zoning.parse_project checks it (new, 新建, …)


def project_from_params(values):
    """The project (contract §2 keys) from the algorithms' parameter values.

    ``values`` maps parameter names to what QGIS gives: ``INDUSTRY`` and ``FUEL`` as
    comma-separated text (``FUEL`` ``"none"``/``"无"`` = burns nothing), ``EMISSIONS`` as
    ``VOCs=12.5,NOx=3``, ``CONSTRUCTION`` and ``GROUNDWATER`` as drop-down indices (or text),
    numbers as numbers; empty text and None mean "not given" and leave the key out.

    >>> project_from_params({"INDUSTRY": "2614,2619", "CONSTRUCTION": 1, "EMISSIONS": "VOCs=12.5",
    ...                      "FUEL": "natural_gas", "WATER_M3": 120000, "COAL_T": None})
    {'industry': ['2614', '2619'], 'construction': 'new', 'emissions': {'VOCs': 12.5}, 'fuel': ['natural_gas'], 'water_m3': 120000.0}
    """
    out = {}
    if not _blank(values.get("NAME")):
        out["name"] = values["NAME"].strip()
    industry = parse_list(values.get("INDUSTRY"))
    if industry:
        out["industry"] = industry
    construction = _option(CONSTRUCTION_OPTIONS, values.get("CONSTRUCTION"), "construction")
    if construction is not None:
        out["construction"] = construction
    if not _blank(values.get("ACTIVITY")):
        out["activity"] = values["ACTIVITY"].strip()
    emissions = parse_emissions(values.get("EMISSIONS"))
    if emissions is not None:
        out["emissions"] = emissions
    fuel = values.get("FUEL")
    if not _blank(fuel):
        out["fuel"] = [] if fuel.strip().lower() in {"none", "无"} else parse_list(fuel)
    for param, (key, _label) in NUMBER_FIELDS.items():
        value = values.get(param)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, float) and value != value:  # NaN: not given
            continue
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{key} expects a number, got {value!r}") from None
    groundwater = _option(GROUNDWATER_OPTIONS, values.get("GROUNDWATER"), "groundwater")
    if groundwater is not None:
        out["groundwater"] = groundwater
    return out


def import_zoning(site_packages=None):
    """Import zoning, first from QGIS's Python, then from ``site_packages`` or ``$ZONING_SITE_PACKAGES``.

    The directories (``os.pathsep``-separated) go to the front of ``sys.path`` with their
    ``.pth`` files honoured (so an editable install works). Raises
    :class:`ZoningImportError` with :data:`INSTALL_HELP` when zoning still cannot be imported.
    """
    try:
        return importlib.import_module("zoning")
    except ImportError as exc:
        first = exc
    dirs = [d for raw in (site_packages, os.environ.get("ZONING_SITE_PACKAGES")) if not _blank(raw)
            for d in str(raw).split(os.pathsep) if d.strip()]
    for d in dirs:
        if not os.path.isdir(d):
            raise ZoningImportError(f"zoning site-packages {d!r} is not a directory.\n\n{INSTALL_HELP}")
    for d in reversed(dirs):
        if d not in sys.path:
            sys.path.insert(0, d)
        site.addsitedir(d)
    if dirs:
        importlib.invalidate_caches()
        for name in [m for m in sys.modules if m == "zoning" or m.startswith("zoning.")]:
            del sys.modules[name]  # a half-imported zoning from the first try
        try:
            return importlib.import_module("zoning")
        except ImportError as exc:
            first = exc
    tried = f" (also tried {os.pathsep.join(dirs)})" if dirs else ""
    raise ZoningImportError(f"{INSTALL_HELP}\n\nPython {sys.version.split()[0]} at {sys.executable}{tried}: {first}")
