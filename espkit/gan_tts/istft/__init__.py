"""iSTFT generator (Vocos / iSTFTNet family)."""

from espkit.gan_tts.istft.istft_generator import ConvNeXtBlock, ISTFTGenerator

__all__ = ["ConvNeXtBlock", "ISTFTGenerator"]
