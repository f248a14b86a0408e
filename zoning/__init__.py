"""zoning — "three lines, one list" (三线一单) ecological zoning control.

Screen a project's site against ecological red lines, environmental-quality
zones and rasters, resource ceilings and the access-list rules of each
environmental control unit, and get a verdict with every overlap measured
and every clause that fired cited.
"""

__version__ = "0.1.0"

from zoning.errors import *  # noqa: E402,F401,F403
