from .boundary_iou_metric import BoundaryIoUMetric

__all__ = ['BoundaryIoUMetric']
