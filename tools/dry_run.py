"""Dry-run a config: peak memory against the device, s/iter of the step and the data loader,
projected wall-clock, and whether it fits.

The same command as ``mmseg-dilated dry-run`` (``mmseg_dilated/cli/dry_run.py``).
"""

from mmseg_dilated.cli.dry_run import main

if __name__ == '__main__':
    main()
