"""Frame energy: L2 norm of the STFT amplitude spectrum (ESPnet2's ``energy``)."""

from __future__ import annotations

from typing import Any

import torch

from espkit.layers.stft import Stft
from espkit.tts.feats_extract.abs_feats_extract import AbsFeatsExtract
from espkit.tts.feats_extract.frame_alignment import adjust_num_frames, average_by_duration
from espkit.utils.typecheck import typechecked
from espkit.utils.types import parse_sampling_rate


class Energy(AbsFeatsExtract):
    """``(B, T_wav)`` -> energy ``(B, T_feats, 1)`` on the fbank frame grid.

    ``reduction_factor`` and ``use_token_averaged_energy`` behave as in
    :class:`~espkit.tts.feats_extract.pitch.Pitch`.
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
        use_token_averaged_energy: bool = False,
        reduction_factor: int | None = 1,
    ):
        super().__init__()
        reduction_factor = 1 if reduction_factor is None else reduction_factor  # ESPnet2's default None
        if reduction_factor < 1:
            raise ValueError(f"reduction_factor must be >= 1, got {reduction_factor}")
        self.fs = parse_sampling_rate(fs)
        self.use_token_averaged_energy = use_token_averaged_energy
        self.reduction_factor = reduction_factor
        self.stft = Stft(n_fft, win_length, hop_length, window, center, normalized, onesided)

    def output_size(self) -> int:
        return 1

    def get_parameters(self) -> dict[str, Any]:
        return dict(
            fs=self.fs,
            n_fft=self.stft.n_fft,
            hop_length=self.stft.hop_length,
            win_length=self.stft.win_length,
            window=self.stft.window,
            center=self.stft.center,
            use_token_averaged_energy=self.use_token_averaged_energy,
            reduction_factor=self.reduction_factor,
        )

    def forward(
        self,
        input: torch.Tensor,
        input_lengths: torch.Tensor | None = None,
        feats_lengths: torch.Tensor | None = None,
        durations: torch.Tensor | None = None,
        durations_lengths: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Same arguments and returns as :meth:`Pitch.forward`; padded frames are 0."""
        spec, lengths = self.stft(input, input_lengths)
        energy = torch.linalg.vector_norm(spec.abs(), dim=-1)  # (B, T_frames)
        if feats_lengths is not None:
            energy, lengths = adjust_num_frames(energy, lengths, feats_lengths)
        if self.use_token_averaged_energy and durations is not None:
            energy = average_by_duration(energy, durations * self.reduction_factor, durations_lengths)
            lengths = (
                durations_lengths.to(energy.device)
                if durations_lengths is not None
                else torch.full((energy.size(0),), energy.size(1), dtype=torch.long, device=energy.device)
            )
        return energy.unsqueeze(-1), lengths
