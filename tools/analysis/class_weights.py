"""Class frequencies and class weights of a training set.

The same command as ``mmseg-dilated class-weights`` (``mmseg_dilated/cli/class_weights.py``).
"""

from mmseg_dilated.cli.class_weights import main

if __name__ == '__main__':
    main()
