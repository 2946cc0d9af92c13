from .context_head import ContextHead
from .dilated_aspp_head import DilatedASPPHead
from .parallel_context_head import ParallelContextHead

__all__ = ['ContextHead', 'ParallelContextHead', 'DilatedASPPHead']
