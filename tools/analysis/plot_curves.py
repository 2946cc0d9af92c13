"""Training loss and validation mIoU curves of a work dir.

The same command as ``mmseg-dilated plot-curves`` (``mmseg_dilated/cli/plot_curves.py``).
"""

from mmseg_dilated.cli.plot_curves import main

if __name__ == '__main__':
    main()
