"""Where the shipped data lives: the embedded demo pack and the reference tables.

In a wheel the repository's ``data/`` directory is installed as ``zoning/_data``;
in a source checkout (editable install) it is read in place.
"""

from functools import cache
from pathlib import Path

__all__ = ["data_dir", "demo_pack_dir", "reference_path", "samples_dir"]


@cache
def data_dir():
    """Return the directory holding the shipped data.

    Examples
    --------
    >>> (data_dir() / "reference" / "gbt4754_2017.csv").is_file()
    True
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data", here.parent / "data"):
        if (candidate / "reference").is_dir():
            return candidate
    raise FileNotFoundError(f"zoning's data directory is missing (looked in {here / '_data'} and {here.parent / 'data'})")


def reference_path(name):
    """Return the path of a reference table, e.g. ``gbt4754_2017.csv``."""
    return data_dir() / "reference" / name


def demo_pack_dir():
    """Return the directory of the embedded demo pack (湖州市, demonstration data)."""
    return data_dir() / "packs" / "huzhou-demo"


def samples_dir():
    """Return the directory of the demo's sample sites."""
    return data_dir() / "samples"
