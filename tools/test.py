"""Test and evaluate a checkpoint with mmseg's own tools/test.py (--tta, --show-dir, --out).

The same command as ``mmseg-dilated test`` (``mmseg_dilated/cli/test.py``).
"""

from mmseg_dilated.cli.test import main

if __name__ == '__main__':
    main()
