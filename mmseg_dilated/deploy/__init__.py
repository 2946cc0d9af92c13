from .onnx_export import SegmentorForExport, build_for_export, check_onnx, export_onnx, run_onnx

__all__ = ['SegmentorForExport', 'build_for_export', 'check_onnx', 'export_onnx', 'run_onnx']
