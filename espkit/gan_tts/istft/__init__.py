"""iSTFT generator (Vocos / iSTFTNet family)."""

from espkit.gan_tts.convnext import ConvNeXtBlock
from espkit.gan_tts.istft.istft_generator import ISTFTGenerator

__all__ = ["ConvNeXtBlock", "ISTFTGenerator"]
