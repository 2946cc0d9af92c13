"""Theoretical and effective receptive field of a segmentation model.

The same command as ``mmseg-dilated receptive-field`` (``mmseg_dilated/cli/receptive_field.py``).
"""

from mmseg_dilated.cli.receptive_field import main

if __name__ == '__main__':
    main()
