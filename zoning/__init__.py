"""zoning — "three lines, one list" (三线一单) ecological zoning control.

Screen a project's site against ecological red lines, environmental-quality
zones and rasters, resource ceilings and the access-list rules of each
environmental control unit, and get a verdict with every overlap measured
and every clause that fired cited.

>>> import zoning
>>> pack = zoning.load_pack()              # the embedded demo pack (演示数据)
>>> verdict = pack.screen("119.95,30.55", {"industry": "6550", "construction": "new"})
>>> verdict.verdict in zoning.VERDICTS
True
"""

__version__ = "0.1.0"

from zoning.errors import *  # noqa: E402,F401,F403
from zoning.errors import __all__ as _errors_all  # noqa: E402
from zoning.pack import Pack, load_pack, validate_pack  # noqa: E402
from zoning.project import Project, parse_project, read_project  # noqa: E402
from zoning.screen import screen, screen_many  # noqa: E402
from zoning.site import Site, read_site  # noqa: E402
from zoning.verdict import Verdict  # noqa: E402
from zoning.vocab import VERDICTS  # noqa: E402

__all__ = [
    *_errors_all,
    "Pack",
    "load_pack",
    "validate_pack",
    "Project",
    "parse_project",
    "read_project",
    "screen",
    "screen_many",
    "Site",
    "read_site",
    "Verdict",
    "VERDICTS",
]
