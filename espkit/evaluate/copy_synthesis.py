"""Copy-synthesis: reference waveform -> the model's feature extractor -> the vocoder in use.

What a vocoder makes of *perfect* features is the ceiling of every figure the whole system can
reach with it, so ``espkit.bin.tts_evaluate`` scores it beside the system in the same run
(the ``copy_synthesis`` row; with a trained vocoder also a ``copy_synthesis_griffin_lim`` row, so
that the vocoder's gain over Griffin-Lim is measured apart from the acoustic model). The feature
extractor is built from the training config exactly as the model builds it (``feats_extract`` and
``feats_extract_conf``), the vocoder as ``Text2Speech`` builds it
(:func:`espkit.tts.vocoder.build_vocoder.build_vocoder`: a trained vocoder given by
``vocoder_file``, whose feature settings must be the extractor's, or Griffin-Lim); normalisation is
left out because both vocoders take denormalised features (a trained vocoder normalises them itself).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import numpy as np
import torch

from espkit.fileio.sound_scp import write_wav
from espkit.tasks.tts import feats_extract_choices
from espkit.tts.vocoder.build_vocoder import build_vocoder
from espkit.tts.vocoder.gan_vocoder import GANVocoder

logger = logging.getLogger(__name__)


class CopySynthesis:
    """``wav (T_wav,) -> feats (T_feats, odim) -> wav (T_wav',)`` with a training config's extractor.

    Args:
        train_config: a training config as a mapping (``config.yaml`` of a run, or a recipe's
            training yaml) with ``feats_extract`` and ``feats_extract_conf``.
        vocoder_config: as for ``Text2Speech``: the trained vocoder's ``config.yaml`` with
            ``vocoder_file``, else a YAML of Griffin-Lim options.
        vocoder_file: weights of a trained vocoder (None: Griffin-Lim).
        train_config_path: where ``train_config`` was read from (for messages).
    """

    def __init__(
        self,
        train_config: Mapping[str, Any],
        vocoder_config: Optional[str | Path] = None,
        vocoder_file: Optional[str | Path] = None,
        train_config_path: Optional[str | Path] = None,
    ):

        name = train_config.get("feats_extract", "fbank")
        if name is None:
            raise ValueError(
                "copy-synthesis needs a feature extractor, but the training config has "
                "feats_extract: null (the model was trained on given features)"
            )
        feats_class = feats_extract_choices.get_class(name)
        self.feats_extract = feats_class(**(train_config.get("feats_extract_conf") or {})).eval()
        source = f"--train_config {train_config_path}" if train_config_path is not None else "of the training config"
        self.vocoder = build_vocoder(
            self.feats_extract.get_parameters(), vocoder_config, vocoder_file, feats_source=source
        ).eval()
        self.fs: int = int(self.vocoder.fs)

    @property
    def vocoder_name(self) -> str:
        """How reports name the vocoder: ``Griffin-Lim, 32 iterations`` or ``<generator class>, <weights>``."""
        if isinstance(self.vocoder, GANVocoder):
            return f"{self.vocoder.generator_name}, {self.vocoder.name}"
        iters = getattr(self.vocoder, "griffin_lim_iters", None)
        return f"Griffin-Lim, {iters} iterations" if iters is not None else type(self.vocoder).__name__

    @torch.no_grad()
    def __call__(self, wav: np.ndarray) -> np.ndarray:
        """Vocoded copy ``(T_wav',)`` float32 of a reference waveform ``(T_wav,)`` at :attr:`fs`."""
        x = torch.as_tensor(np.asarray(wav, dtype=np.float32)).reshape(1, -1)
        feats, _ = self.feats_extract(x, torch.tensor([x.size(1)]))
        return self.vocoder(feats[0]).numpy().astype(np.float32)

    def write_dir(self, wavs: Dict[str, np.ndarray], out_dir: Path) -> Path:
        """Copy-synthesize ``{uid: waveform}`` into ``out_dir/wav/<uid>.wav`` and ``out_dir/wav/wav.scp``."""
        from tqdm import tqdm

        wav_dir = Path(out_dir) / "wav"
        wav_dir.mkdir(parents=True, exist_ok=True)
        lines = []
        for uid in tqdm(sorted(wavs), desc="copy-synthesis", unit="utt", file=sys.stderr, mininterval=2.0):
            path = wav_dir / f"{uid}.wav"
            write_wav(path, self.fs, np.clip(self(wavs[uid]), -1.0, 1.0))
            lines.append(f"{uid} {path}\n")
        scp = wav_dir / "wav.scp"
        scp.write_text("".join(lines))
        logger.info("copy-synthesis of %d references -> %s", len(lines), scp)
        return scp
