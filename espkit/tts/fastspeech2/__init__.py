"""FastSpeech2 (Ren et al., 2021): FastSpeech with token-level pitch and energy predictors."""

# ESPnet2 exports the model from the package (`from espnet2.tts.fastspeech2 import FastSpeech2`). The import is
# lazy (PEP 562): the model's own modules import sibling packages, and a plain import here would
# make those imports circular.
from typing import Any

__all__ = ["FastSpeech2"]


def __getattr__(name: str) -> Any:
    if name == "FastSpeech2":
        from espkit.tts.fastspeech2.fastspeech2 import FastSpeech2

        return FastSpeech2
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
