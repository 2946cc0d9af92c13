from .context_shapes import ContextShapesDataset, generate_context_shapes

__all__ = ['ContextShapesDataset', 'generate_context_shapes']
