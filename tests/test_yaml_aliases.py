"""YAML alias bombs in a pack's rules.yaml or pack.yaml: one file:line error, nothing expanded."""

import shutil

import pytest
from click.testing import CliRunner

from conftest import GRID
from zoning import load_pack
from zoning.cli import main
from zoning.errors import PackError
from zoning.yamlio import load_yaml

# 9 levels of 9 aliases each: 9**9 ≈ 387 million strings if expanded, in about 500 bytes.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")
)


def _indent(text):
    return "".join("  " + line + "\n" for line in text.splitlines())


@pytest.fixture
def bombed(tmp_path):
    def make(file):
        pack = tmp_path / f"bomb-{file.split('.')[0]}"
        shutil.copytree(GRID, pack)
        text = (pack / file).read_text(encoding="utf-8")
        (pack / file).write_text("x_bomb:\n" + _indent(BOMB) + text, encoding="utf-8")
        return pack

    return make


def test_load_yaml_refuses_the_first_alias(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text(BOMB, encoding="utf-8")
    with pytest.raises(PackError, match=r"x\.yaml:2: YAML aliases \(\*name\) are not allowed"):
        load_yaml(p)


def test_anchors_without_aliases_still_load(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("a: &first 1\nb: [2, 3]\n", encoding="utf-8")
    data, lines = load_yaml(p)
    assert data == {"a": 1, "b": [2, 3]} and lines[("b", 1)] == 2


@pytest.mark.parametrize("file", ["rules.yaml", "pack.yaml"])
def test_validate_and_load_refuse_an_alias_bomb(bombed, file):
    pack = bombed(file)
    res = CliRunner().invoke(main, ["validate", str(pack)])
    assert res.exit_code == 1, res.output
    assert f"{file}:3: error: YAML aliases (*name) are not allowed" in res.output
    assert "Traceback" not in res.output and "MemoryError" not in res.output
    with pytest.raises(PackError, match="aliases"):
        load_pack(pack)


def test_project_file_alias_bomb_is_refused_with_its_line(tmp_path):
    from click.testing import CliRunner

    from zoning.cli import main

    bomb = tmp_path / "project.yaml"
    bomb.write_text('a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nindustry: "2614"\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["screen", "119.95,30.55", "--project", str(bomb)])
    assert res.exit_code == 2
    assert "project.yaml:2" in res.stderr and "aliases are not allowed" in res.stderr
