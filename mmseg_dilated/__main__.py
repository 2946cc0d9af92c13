"""``python -m mmseg_dilated COMMAND ...``: the same as the ``mmseg-dilated`` console script."""

from .cli import main

main()
