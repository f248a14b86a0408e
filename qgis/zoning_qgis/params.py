"""Processing parameters → a zoning project, finding the zoning tool and its command lines; no QGIS import here.

The algorithms run zoning out of QGIS's process: the ``zoning`` command-line tool of the user's
own environment (a venv or conda env), so that its GEOS/PROJ never meet the ones QGIS has loaded.
Kept apart from the algorithms so that it can be tested without QGIS (tests/test_qgis.py).
"""

import os
import shutil

__all__ = [
    "CONSTRUCTION_OPTIONS",
    "GROUNDWATER_OPTIONS",
    "NUMBER_FIELDS",
    "INSTALL_HELP",
    "ParameterError",
    "ZoningNotFoundError",
    "parse_emissions",
    "parse_list",
    "project_from_params",
    "find_zoning_cli",
    "batch_command",
    "eligible_command",
    "validate_command",
    "tool_env",
    "error_message",
    "problem_text",
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
    "未找到 zoning 命令行工具。请把 zoning 安装到一个虚拟环境（或 conda 环境）中，再告诉插件它在哪里：\n"
    "The zoning command-line tool was not found. Install zoning into a virtual environment (or a conda env), "
    "then tell the plugin where it is:\n"
    "  1. 安装 install:  python3 -m venv ~/zoning-venv && ~/zoning-venv/bin/pip install zoning\n"
    "     (Windows: py -m venv %USERPROFILE%\\zoning-venv，然后 then %USERPROFILE%\\zoning-venv\\Scripts\\pip install zoning)\n"
    "  2. 设置路径 set the path:  处理 ▸ 选项 ▸ 提供者 ▸ 三线一单 zoning ▸ “zoning 可执行文件” "
    "Processing ▸ Options ▸ Providers ▸ 三线一单 zoning ▸ 'zoning executable' = ~/zoning-venv/bin/zoning "
    "(Windows: ...\\zoning-venv\\Scripts\\zoning.exe; the environment's folder also works),\n"
    "     或设置环境变量 or set the environment variable ZONING_CLI to that path, or put zoning on PATH.\n"
    "zoning 在 QGIS 之外的独立进程中运行，任何 Python 版本均可。"
    "zoning runs in its own process, outside QGIS: any Python version will do."
)


class ParameterError(ValueError):
    """A parameter value that cannot become a project key; the message says what was expected."""


class ZoningNotFoundError(LookupError):
    """The zoning command-line tool cannot be found; the message says how to install it and point the plugin at it."""


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




#: Names of the tool inside an environment: POSIX venv/conda, Windows venv/conda.
_CANDIDATES = ("zoning", os.path.join("bin", "zoning"), "zoning.exe", os.path.join("Scripts", "zoning.exe"))


def _is_tool(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _tool_in(path):
    """``path`` itself when it is an executable file, else the tool inside the folder ``path`` (an environment or its bin)."""
    path = os.path.abspath(os.path.expanduser(path.strip().strip('"')))
    if _is_tool(path):
        return path
    if os.path.isdir(path):
        for name in _CANDIDATES:
            if _is_tool(os.path.join(path, name)):
                return os.path.join(path, name)
    return None


def _tool_from_site_packages(directory):
    """The tool of the environment a site-packages folder belongs to (its bin/ or Scripts/, up to four levels up)."""
    d = os.path.abspath(os.path.expanduser(directory.strip()))
    for _ in range(4):
        d = os.path.dirname(d)
        for name in _CANDIDATES[1::2]:  # bin/zoning, Scripts/zoning.exe
            if _is_tool(os.path.join(d, name)):
                return os.path.join(d, name)
    return None


def find_zoning_cli(setting=None, site_packages=None, environ=None, which=shutil.which):
    """Where the ``zoning`` command-line tool is: ``(path, how it was found)``.

    In this order: ``setting`` (the provider's "zoning executable": the tool, or the folder of its
    environment), ``$ZONING_CLI`` (the same), ``zoning`` on ``$PATH``, then the environment that
    ``site_packages`` or ``$ZONING_SITE_PACKAGES`` (``os.pathsep``-separated site-packages folders,
    the plugin's former setting) belongs to. A setting or ``$ZONING_CLI`` that names no tool is an
    error, not skipped. Raises :class:`ZoningNotFoundError` with :data:`INSTALL_HELP`.

    >>> find_zoning_cli(environ={"PATH": ""}, which=lambda name, path=None: "/opt/zoning/bin/zoning")
    ('/opt/zoning/bin/zoning', 'PATH')
    >>> find_zoning_cli(environ={"ZONING_CLI": "/no/such/zoning"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    zoning_qgis.params.ZoningNotFoundError: ZONING_CLI '/no/such/zoning' 不是 zoning 可执行文件，也不是含有它的环境目录 is neither the zoning executable nor an environment folder that has it.
    <BLANKLINE>
    未找到 zoning 命令行工具。...
    """
    environ = os.environ if environ is None else environ
    for value, how in ((setting, "setting"), (environ.get("ZONING_CLI"), "ZONING_CLI")):
        if not _blank(value):
            found = _tool_in(str(value))
            if found is None:
                raise ZoningNotFoundError(f"{how} {str(value).strip()!r} 不是 zoning 可执行文件，也不是含有它的环境目录 "
                                          f"is neither the zoning executable nor an environment folder that has it.\n\n{INSTALL_HELP}")
            return found, how
    found = which("zoning", path=environ.get("PATH", os.defpath))
    if found:
        return found, "PATH"
    dirs = [d for raw in (site_packages, environ.get("ZONING_SITE_PACKAGES")) if not _blank(raw)
            for d in str(raw).split(os.pathsep) if d.strip()]
    for d in dirs:
        found = _tool_from_site_packages(d)
        if found:
            return found, "ZONING_SITE_PACKAGES"
    tried = f"\n（也查找了 also looked beside {os.pathsep.join(dirs)}）" if dirs else ""
    raise ZoningNotFoundError(INSTALL_HELP + tried)


def _common(pack, project_file):
    return (["--pack", str(pack)] if pack else []) + (["--project", str(project_file)] if project_file else [])


def batch_command(cli, sites, output, project_file=None, pack=None):
    """``zoning batch`` (contract §6) of ``sites`` into ``output``; no ``pack`` = the embedded demo pack.

    >>> batch_command("/env/bin/zoning", "/tmp/q/sites.gpkg", "/tmp/q/verdicts.gpkg", "/tmp/q/project.json", "/data/hz")
    ['/env/bin/zoning', 'batch', '/tmp/q/sites.gpkg', '--pack', '/data/hz', '--project', '/tmp/q/project.json', '-o', '/tmp/q/verdicts.gpkg']
    >>> batch_command("zoning", "s.gpkg", "o.gpkg")
    ['zoning', 'batch', 's.gpkg', '-o', 'o.gpkg']
    """
    return [str(cli), "batch", str(sites), *_common(pack, project_file), "-o", str(output)]


def eligible_command(cli, output, project_file=None, pack=None):
    """``zoning eligible`` (contract §7) into ``output``, the area by verdict as JSON on stdout.

    >>> eligible_command("zoning", "/tmp/q/eligible.gpkg", "/tmp/q/project.json")
    ['zoning', 'eligible', '--project', '/tmp/q/project.json', '-o', '/tmp/q/eligible.gpkg', '--format', 'json']
    """
    return [str(cli), "eligible", *_common(pack, project_file), "-o", str(output), "--format", "json"]


def validate_command(cli, pack, topology=True):
    """``zoning validate`` of ``pack``, the report as JSON on stdout (exit 1 when the pack has errors).

    >>> validate_command("zoning", "/data/hz", topology=False)
    ['zoning', 'validate', '/data/hz', '--format', 'json', '--no-topology']
    """
    return [str(cli), "validate", str(pack), "--format", "json"] + ([] if topology else ["--no-topology"])


#: Variables of QGIS's process that would point the tool's Python and native libraries at QGIS's own.
FOREIGN_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "VIRTUAL_ENV",
                     "PROJ_LIB", "PROJ_DATA", "GDAL_DATA", "GDAL_DRIVER_PATH")


def tool_env(environ=None):
    """The environment for the tool: QGIS's, without its Python and GDAL/PROJ paths, with UTF-8 text.

    >>> env = tool_env({"PATH": "/usr/bin", "PYTHONHOME": "C:/OSGeo4W/apps/Python39", "PROJ_LIB": "/usr/share/proj",
    ...                 "ZONING_CACHE": "off"})
    >>> sorted(env.items())
    [('PATH', '/usr/bin'), ('PYTHONIOENCODING', 'utf-8'), ('PYTHONUNBUFFERED', '1'), ('PYTHONUTF8', '1'), ('ZONING_CACHE', 'off')]
    """
    environ = os.environ if environ is None else environ
    env = {k: v for k, v in environ.items() if k not in FOREIGN_VARIABLES}
    env.update(PYTHONIOENCODING="utf-8", PYTHONUTF8="1", PYTHONUNBUFFERED="1")
    return env


def error_message(lines):
    """The tool's one-line error (``zoning: error: …``, contract §4) among its stderr lines, or None.

    >>> error_message(["zoning: warning: sliver", "zoning: error: industry code '9999' is not in GB/T 4754-2017"])
    "industry code '9999' is not in GB/T 4754-2017"
    >>> error_message(["Traceback (most recent call last):"]) is None
    True
    """
    for line in reversed(list(lines)):
        if line.startswith("zoning: error: "):
            return line[len("zoning: error: "):].strip()
    return None


def problem_text(problem):
    """One problem of ``zoning validate --format json`` as the tool prints it: ``FILE:LINE: severity: message``.

    >>> problem_text({"severity": "error", "file": "rules.yaml", "line": 30, "message": "clause id 'T-RL-01' is used twice"})
    "rules.yaml:30: error: clause id 'T-RL-01' is used twice"
    """
    at = f"{problem.get('file')}:{problem['line']}" if problem.get("line") else f"{problem.get('file')}"
    return f"{at}: {problem.get('severity')}: {problem.get('message')}"
