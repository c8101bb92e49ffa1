"""FastSpeech (Ren et al., 2019): a feed-forward Transformer TTS with a duration predictor."""

# ESPnet2 exports the model from the package (`from espnet2.tts.fastspeech import FastSpeech`). The import is
# lazy (PEP 562): the model's own modules import sibling packages, and a plain import here would
# make those imports circular.
from typing import Any

__all__ = ["FastSpeech"]


def __getattr__(name: str) -> Any:
    if name == "FastSpeech":
        from espkit.tts.fastspeech.fastspeech import FastSpeech

        return FastSpeech
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
