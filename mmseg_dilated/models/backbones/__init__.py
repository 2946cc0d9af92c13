from .dilated_vgg import DilatedVGG
from .drn import DRN

__all__ = ['DRN', 'DilatedVGG']
