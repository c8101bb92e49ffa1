"""Log-mel filterbank features (ESPnet2's ``fbank``)."""

from __future__ import annotations

from typing import Any

import torch

from espkit.layers.log_mel import LogMel
from espkit.layers.stft import Stft
from espkit.tts.feats_extract.abs_feats_extract import AbsFeatsExtract
from espkit.utils.typecheck import typechecked
from espkit.utils.types import parse_sampling_rate


class LogMelFbank(AbsFeatsExtract):
    """Waveform -> STFT amplitude (not power) -> mel -> ``log_base`` log, ``(B, T_feats, n_mels)``.

    Frame ``t`` is centred on sample ``t * hop_length`` (``center=True``), so a waveform of
    ``L`` samples gives ``L // hop_length + 1`` frames.
    """

    @typechecked
    def __init__(
        self,
        fs: int | str = 22050,
        n_fft: int = 1024,
        win_length: int | None = None,
        hop_length: int = 256,
        window: str | None = "hann",
        center: bool = True,
        normalized: bool = False,
        onesided: bool = True,
        n_mels: int = 80,
        fmin: float | None = 80,
        fmax: float | None = 7600,
        htk: bool = False,
        log_base: float | None = 10.0,
    ):
        super().__init__()
        if not onesided:
            raise ValueError("LogMelFbank needs onesided=True (mel filters cover 0..fs/2)")
        fs = parse_sampling_rate(fs)
        self.fs = fs
        self.n_mels = n_mels
        self.stft = Stft(n_fft, win_length, hop_length, window, center, normalized, onesided)
        self.logmel = LogMel(fs, n_fft, n_mels, fmin, fmax, htk, log_base)

    def output_size(self) -> int:
        return self.n_mels

    def get_parameters(self) -> dict[str, Any]:
        return dict(
            fs=self.fs,
            n_fft=self.stft.n_fft,
            hop_length=self.stft.hop_length,
            win_length=self.stft.win_length,
            window=self.stft.window,
            center=self.stft.center,
            n_mels=self.n_mels,
            fmin=self.logmel.fmin,
            fmax=self.logmel.fmax,
            log_base=self.logmel.log_base,
        )

    def forward(
        self, input: torch.Tensor, input_lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``input`` ``(B, T_wav)`` -> ``(feats (B, T_feats, n_mels), feats_lengths (B,))``;
        padded frames are 0."""
        spec, feats_lengths = self.stft(input, input_lengths)
        feats, _ = self.logmel(spec.abs(), feats_lengths)
        return feats, feats_lengths
