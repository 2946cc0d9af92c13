"""CPU benchmark of the shipped models: parameters, GFLOPs, latency on every inference path, FLOP
rate and peak training memory (``--check`` judges the targets; ``--scaling`` the cost against
image size).

The same command as ``mmseg-dilated benchmark`` (``mmseg_dilated/cli/benchmark.py``).
"""

import sys

from mmseg_dilated.cli.benchmark import main

if __name__ == '__main__':
    sys.exit(main())
