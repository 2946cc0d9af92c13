"""Convert the DRN authors' checkpoints (ImageNet or DRNSeg) to DRN weights.

The same command as ``mmseg-dilated drn2mmseg`` (``mmseg_dilated/cli/drn2mmseg.py``).
"""

from mmseg_dilated.cli.drn2mmseg import main

if __name__ == '__main__':
    main()
