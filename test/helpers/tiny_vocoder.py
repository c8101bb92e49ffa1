"""A tiny vocoder with random weights, saved as ``gan_tts_train`` saves one (``config.yaml`` + weights).

Its features are those of :func:`tiny_corpus.tiny_train_args` (8 kHz, n_fft 256, hop 64, 8 mel bands),
so it fits the tiny TTS models of the tests; no training is needed to check how a vocoder is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch

from espkit.tasks.gan_tts import GANTTSTask

#: The features of the tiny TTS models (``tiny_corpus.tiny_train_args``).
TINY_FEATS: Dict[str, Any] = {"fs": 8000, "n_fft": 256, "hop_length": 64, "n_mels": 8, "fmin": 0, "fmax": 4000}
HOP = 64
GENERATORS = {
    "hifigan": "{channels: 8, upsample_scales: [4, 4, 4], upsample_kernel_sizes: [8, 8, 8],"
    " resblock_kernel_sizes: [3], resblock_dilations: [[1, 3]]}",
    "istft": "{channels: 8, intermediate_channels: 8, num_blocks: 1, n_fft: 256}",
}


def make_tiny_vocoder(
    output_dir: Path,
    generator: str = "hifigan",
    feats: Optional[Dict[str, Any]] = None,
    stats_file: Optional[Path] = None,
    extra: Sequence[str] = (),
    seed: int = 0,
    generator_conf: Optional[str] = None,
) -> tuple[Path, Path]:
    """Write ``config.yaml`` and random weights ``model.pth`` of a tiny vocoder into ``output_dir``.

    ``feats``: ``feats_extract_conf`` (default :data:`TINY_FEATS`; another hop than 64 needs a
    ``generator_conf`` that makes it, default :data:`GENERATORS`). ``stats_file``:
    the normalisation statistics (e.g. the TTS model's ``feats_stats.npz``); default: a file of random
    means and standard deviations written beside the config.
    """
    feats = {**TINY_FEATS, **(feats or {})}
    output_dir.mkdir(parents=True, exist_ok=True)
    if stats_file is None:
        rng = np.random.default_rng(seed)
        n_mels = feats["n_mels"]
        count, mean, std = 100.0, rng.normal(-2.0, 1.0, n_mels), rng.uniform(0.5, 1.5, n_mels)
        stats_file = output_dir / "feats_stats.npz"
        np.savez(stats_file, count=np.array(count), sum=mean * count, sum_square=(std**2 + mean**2) * count)
    args = GANTTSTask.get_parser().parse_args(
        [
            "--output_dir",
            str(output_dir),
            "--feats_extract_conf",
            "{" + ", ".join(f"{k}: {v}" for k, v in feats.items()) + "}",
            "--normalize",
            "global_mvn",
            "--normalize_conf",
            f"{{stats_file: {stats_file}}}",
            "--generator",
            generator,
            "--generator_conf",
            generator_conf or GENERATORS[generator],
            "--discriminator",
            "hifigan_multi_period",
            "--discriminator_conf",
            "{periods: [2], discriminator_params: {channels: 4, max_downsample_channels: 8,"
            " downsample_scales: [3, 1], kernel_sizes: [5, 3]}}",
            "--model_conf",
            "{segment_size: 1024}",
            "--optim2",
            "adam",
            *extra,
        ]
    )
    GANTTSTask.resolve_args(args)
    torch.manual_seed(seed)
    model = GANTTSTask.build_model(args)
    for param in model.generator.parameters():  # audible, not silent: weights a little larger than at init
        param.data.mul_(3.0)
    config = GANTTSTask.dump_config(args, output_dir)
    torch.save(model.state_dict(), output_dir / "model.pth")
    return config, output_dir / "model.pth"
