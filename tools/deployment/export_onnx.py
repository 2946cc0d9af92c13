"""Export a segmentor to ONNX (BN folded) and check it with onnxruntime.

The same command as ``mmseg-dilated export-onnx`` (``mmseg_dilated/cli/export_onnx.py``).
"""

from mmseg_dilated.cli.export_onnx import main

if __name__ == '__main__':
    main()
