"""Train a segmentor: mmseg's own tools/train.py after mmseg-dilated's checks.

The same command as ``mmseg-dilated train`` (``mmseg_dilated/cli/train.py``).
"""

from mmseg_dilated.cli.train import main

if __name__ == '__main__':
    main()
