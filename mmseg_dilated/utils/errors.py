"""The base class of the errors whose message is for the user.

Each names the problem and the fix. The command line (``mmseg_dilated.cli.errors.exit_on_error``)
prints such an error as one ``error: ...`` line and exits with status 1, without a traceback; any
other exception is a bug and keeps its traceback.
"""

__all__ = ['UserError']


class UserError(Exception):
    """An error in what the user gave (a config, a file, a dataset), with a message that says what
    to do. Subclasses also derive from the builtin error they stand for (``FileNotFoundError``,
    ``ValueError``, ...), so code that catches those still catches them."""
