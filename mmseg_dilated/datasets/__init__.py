from .builder import DATASET_SPLITS, build_dataset_from_config, unwrap_dataset
from .context_shapes import ContextShapesDataset, generate_context_shapes
from .sample_checks import SampleError
from .transforms import CenterPad

__all__ = [
    'DATASET_SPLITS',
    'build_dataset_from_config',
    'unwrap_dataset',
    'ContextShapesDataset',
    'generate_context_shapes',
    'SampleError',
    'CenterPad',
]
