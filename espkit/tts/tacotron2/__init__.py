"""Tacotron2 (Shen et al., 2018) and its emotion-controllable variant."""

# ESPnet2 exports the model from the package (`from espnet2.tts.tacotron2 import Tacotron2`). The import is
# lazy (PEP 562): the model's own modules import sibling packages, and a plain import here would
# make those imports circular.
from typing import Any

__all__ = ["Tacotron2"]


def __getattr__(name: str) -> Any:
    if name == "Tacotron2":
        from espkit.tts.tacotron2.tacotron2 import Tacotron2

        return Tacotron2
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
