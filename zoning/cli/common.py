"""What the commands share: turning user mistakes into one line on stderr and exit 2."""

import functools
import sys

import click

from zoning.errors import ZoningError

__all__ = ["user_errors", "open_pack", "EXIT_BAD_INPUT"]

#: Exit status for bad input (contract §4).
EXIT_BAD_INPUT = 2


def user_errors(func):
    """Run a command; a :class:`ZoningError` becomes ``zoning: error: …`` and exit 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ZoningError as exc:
            click.echo(f"zoning: error: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            click.echo(f"zoning: error: {exc.strerror}: {exc.filename}", err=True)
            sys.exit(EXIT_BAD_INPUT)

    return wrapper


def open_pack(path):
    """Load the pack at ``path`` (the embedded demo pack when None)."""
    from zoning.pack import load_pack

    return load_pack(path)
