"""Convert torchvision VGG-16 weights to DilatedVGG weights.

The same command as ``mmseg-dilated vgg2mmseg`` (``mmseg_dilated/cli/vgg2mmseg.py``).
"""

from mmseg_dilated.cli.vgg2mmseg import main

if __name__ == '__main__':
    main()
