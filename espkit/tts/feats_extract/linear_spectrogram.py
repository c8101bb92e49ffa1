"""Linear amplitude spectrogram features (ESPnet2's ``linear_spectrogram``)."""

from __future__ import annotations

from typing import Any

import torch

from espkit.layers.stft import Stft
from espkit.tts.feats_extract.abs_feats_extract import AbsFeatsExtract
from espkit.utils.typecheck import typechecked


class LinearSpectrogram(AbsFeatsExtract):
    """Waveform -> STFT amplitude ``|X|`` ``(B, T_feats, n_fft // 2 + 1)`` (no log)."""

    @typechecked
    def __init__(
        self,
        n_fft: int = 1024,
        win_length: int | None = None,
        hop_length: int = 256,
        window: str | None = "hann",
        center: bool = True,
        normalized: bool = False,
        onesided: bool = True,
    ):
        super().__init__()
        self.stft = Stft(n_fft, win_length, hop_length, window, center, normalized, onesided)

    def output_size(self) -> int:
        return self.stft.n_freq

    def get_parameters(self) -> dict[str, Any]:
        return dict(
            fs=None,
            n_fft=self.stft.n_fft,
            hop_length=self.stft.hop_length,
            win_length=self.stft.win_length,
            window=self.stft.window,
            center=self.stft.center,
            n_mels=None,
            fmin=None,
            fmax=None,
            log_base=None,
        )

    def forward(
        self, input: torch.Tensor, input_lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``input`` ``(B, T_wav)`` -> ``(amplitude (B, T_feats, n_freq), feats_lengths (B,))``."""
        spec, feats_lengths = self.stft(input, input_lengths)
        return spec.abs(), feats_lengths
