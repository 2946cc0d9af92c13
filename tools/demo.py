"""Segment one image and write the colour overlay.

The same command as ``mmseg-dilated demo`` (``mmseg_dilated/cli/demo.py``).
"""

from mmseg_dilated.cli.demo import main

if __name__ == '__main__':
    main()
