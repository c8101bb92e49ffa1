"""Transformer-TTS (Li et al., 2019): an autoregressive Transformer acoustic model."""

# ESPnet2 exports the model from the package (`from espnet2.tts.transformer import Transformer`). The import is
# lazy (PEP 562): the model's own modules import sibling packages, and a plain import here would
# make those imports circular.
from typing import Any

__all__ = ["Transformer"]


def __getattr__(name: str) -> Any:
    if name == "Transformer":
        from espkit.tts.transformer.transformer import Transformer

        return Transformer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
