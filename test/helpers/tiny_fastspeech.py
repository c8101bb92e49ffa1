"""A tiny untrained FastSpeech2 / FastSpeech experiment (``config.yaml`` + random weights) for the
inference-side tests: no durations data or training needed, only the model's shapes and controls."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from tiny_corpus import EMOTIONS, TOKENS

FS_CONF = (
    "{adim: 16, aheads: 2, elayers: 1, eunits: 16, dlayers: 1, dunits: 16, postnet_layers: 1, postnet_chans: 8,"
    " postnet_filts: 3, positionwise_conv_kernel_size: 3, duration_predictor_chans: 8, reduction_factor: 1,"
    " emo_embed_dim: 4}"
)
FS2_CONF = FS_CONF[:-1] + (
    ", pitch_predictor_chans: 8, energy_predictor_chans: 8, pitch_embed_kernel_size: 3, energy_embed_kernel_size: 3}"
)
TACOTRON2_CONF = (
    "{embed_dim: 8, eunits: 8, econv_layers: 1, econv_chans: 8, adim: 8, aconv_chans: 4, aconv_filts: 3, dlayers: 1,"
    " dunits: 16, prenet_units: 8, postnet_layers: 1, postnet_chans: 8, reduction_factor: 2, emo_embed_dim: 4}"
)
TTS_CONFS = {"fastspeech2": FS2_CONF, "fastspeech": FS_CONF, "tacotron2_controllable": TACOTRON2_CONF}
FEATS_CONF = "{fs: 8000, n_fft: 256, hop_length: 64, n_mels: 8, fmin: 0, fmax: 4000}"


def make_tiny_fastspeech(
    root: Path, tts: str = "fastspeech2", emotions: bool = True, seed: int = 0, extra: Sequence[str] = ()
) -> dict:
    """Write ``tokens.txt``, ``config.yaml`` and ``model.pth`` of an untrained ``tts`` (a key of
    :data:`TTS_CONFS`) under ``root``.

    Returns ``{"config": path, "model": path}``. With ``emotions`` the model is conditioned on the
    tiny corpus's emotion labels. Its durations are random but deterministic in eval mode.
    ``extra``: more ``tts_train`` arguments (e.g. an emotion extractor and classifier).
    """
    from espkit.tasks.tts import TTSTask

    root.mkdir(parents=True, exist_ok=True)
    (root / "tokens.txt").write_text("\n".join(TOKENS) + "\n", encoding="utf-8")
    argv = [
        "--output_dir",
        str(root),
        "--token_list",
        str(root / "tokens.txt"),
        "--token_type",
        "char",
        "--cleaner",
        "none",
        "--tts",
        tts,
        "--feats_extract_conf",
        FEATS_CONF,
        "--normalize",
        "none",
        "--tts_conf",
        TTS_CONFS[tts],
    ]
    if emotions:
        argv += ["--emo_list", ",".join(EMOTIONS)]
    if tts == "fastspeech2":
        argv += [
            "--pitch_extract",
            "pitch",
            "--pitch_extract_conf",
            "{use_token_averaged_f0: true, use_log_f0: true, f0min: 60, f0max: 400}",
            "--energy_extract",
            "energy",
            "--energy_extract_conf",
            "{use_token_averaged_energy: true}",
        ]
    args = TTSTask.get_parser().parse_args(argv + list(extra))
    TTSTask.resolve_args(args)
    torch.manual_seed(seed)
    model = TTSTask.build_model(args)
    config = TTSTask.dump_config(args, root)
    torch.save(model.state_dict(), root / "model.pth")
    return {"config": config, "model": root / "model.pth"}
