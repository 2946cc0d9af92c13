from .context_shapes import ContextShapesDataset, generate_context_shapes
from .sample_checks import SampleError, install_sample_checks

install_sample_checks()

__all__ = [
    'ContextShapesDataset',
    'generate_context_shapes',
    'SampleError',
    'install_sample_checks',
]
