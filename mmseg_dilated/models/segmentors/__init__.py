from .multi_scale_encoder_decoder import MultiScaleEncoderDecoder

__all__ = ['MultiScaleEncoderDecoder']
