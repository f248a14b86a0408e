"""Exceptions raised by zoning.

Every error the library raises for a user's mistake is a subclass of
:class:`ZoningError`, and also of the built-in exception that fits it, so
callers may catch either. Messages say what was received and what was
expected.
"""

__all__ = [
    "ZoningError",
    "PackError",
    "SiteError",
    "CRSError",
    "ProjectError",
    "OutsideRegionError",
]


class ZoningError(Exception):
    """Root of every error raised by zoning for bad input or bad data."""


class PackError(ZoningError, ValueError):
    """A zoning pack is missing, malformed or fails validation.

    Parameters
    ----------
    message : str
        One line saying what was wrong and what was expected.
    problems : list, optional
        The validator's problems (``zoning.pack.Problem``) behind the error.
    """

    def __init__(self, message, problems=None):
        super().__init__(message)
        self.problems = list(problems or [])


class SiteError(ZoningError, ValueError):
    """A site cannot be read, or its geometry is empty or invalid."""


class CRSError(SiteError):
    """The coordinate reference system of a site or layer is unknown or missing."""


class ProjectError(ZoningError, ValueError):
    """A project description has an unknown key, a bad value or an unknown industry code."""


class OutsideRegionError(SiteError):
    """The site lies wholly outside the pack's region."""
