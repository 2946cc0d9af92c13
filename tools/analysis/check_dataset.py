"""Check every sample of a config's datasets before a run.

The same command as ``mmseg-dilated check-dataset`` (``mmseg_dilated/cli/check_dataset.py``).
"""

from mmseg_dilated.cli.check_dataset import main

if __name__ == '__main__':
    main()
