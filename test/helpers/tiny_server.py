"""Packed tiny models for the synthesis server's tests: an untrained FastSpeech2 with a tiny vocoder,
and an untrained Tacotron2 with an emotion extractor and classifier (a reference can set its emotion)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

from tiny_fastspeech import make_tiny_fastspeech
from tiny_vocoder import make_tiny_vocoder

from espkit.utils.model_pack import pack_model

#: Tacotron2's decoding options for an untrained model (its stop token is random).
TACOTRON2_DECODE = {"minlenratio": 2.0, "maxlenratio": 4.0}
REFERENCE_EXTRA = [
    "--emo_extract",
    "reference_encoder",
    "--emo_extract_conf",
    "{conv_layers: 2, conv_chans_list: [4, 4], gru_units: 8, gst_tokens: 4, gst_heads: 2, gst_token_dim: 8}",
    "--emo_classifier",
    "linear",
]


def make_packed_models(root: Path) -> Dict[str, Path]:
    """Write ``fs2.zip`` (FastSpeech2 + a tiny HiFi-GAN) and ``taco.zip`` (Tacotron2 with a reference
    encoder and emotion classifier, Griffin-Lim) under ``root``; return ``{name: zip}``."""
    fs2 = make_tiny_fastspeech(root / "fs2", "fastspeech2")
    vocoder_config, vocoder_model = make_tiny_vocoder(root / "vocoder")
    taco = make_tiny_fastspeech(root / "taco", "tacotron2_controllable", extra=REFERENCE_EXTRA)
    return {
        "fs2": pack_model(fs2["config"], fs2["model"], root / "fs2.zip", vocoder_file=vocoder_model),
        "taco": pack_model(taco["config"], taco["model"], root / "taco.zip"),
    }
