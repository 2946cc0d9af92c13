"""The one error exit of every command."""

import contextlib
import sys

from mmseg_dilated.utils.errors import UserError

__all__ = ['exit_on_error']


@contextlib.contextmanager
def exit_on_error():
    """Turn a :class:`~mmseg_dilated.utils.errors.UserError`, or a missing file named by the
    command line, into ``error: MESSAGE`` on stderr and exit status 1; anything else propagates
    with its traceback."""
    try:
        yield
    except (UserError, FileNotFoundError) as err:
        sys.exit(f'error: {err}')
