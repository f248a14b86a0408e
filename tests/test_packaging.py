"""environment.yml (conda users) lists exactly what pyproject.toml (pip users) asks for."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).parent.parent
_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$")


def _parse(spec):
    name, rest = _REQ.match(spec).groups()
    return name.lower().replace("_", "-"), rest.replace(" ", "")


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = dict(_parse(s) for s in project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    listed = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for spec in dep.get("pip", []):
                if not spec.startswith("-e"):
                    listed.update([_parse(spec)])
        else:
            listed.update([_parse(dep)])
    listed.pop("python", None)
    listed.pop("pip", None)
    assert listed == wanted


def test_wheel_ships_the_data():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"data" = "zoning/_data"' in text
    assert (ROOT / "data" / "reference" / "gbt4754_2017.csv").is_file()
