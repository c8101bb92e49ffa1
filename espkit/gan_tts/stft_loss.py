"""Multi-resolution STFT loss (Parallel WaveGAN's): spectral convergence and log STFT magnitude.

The spectra are espkit's own :class:`~espkit.layers.stft.Stft` (centred frames, reflection padding,
periodic window), which on unpadded rows is ``torch.stft(..., center=True, pad_mode="reflect")``.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from espkit.layers.stft import WINDOWS, Stft
from espkit.utils.errors import ConfigError
from espkit.utils.typecheck import typechecked

# |X|^2 floor before the square root: keeps the log and the gradient finite on silence
MAGNITUDE_POWER_FLOOR = 1e-7


def window_name(window: str) -> str:
    """Accept both Parallel WaveGAN's ``hann_window`` and espkit's ``hann``; return espkit's name."""
    name = window[: -len("_window")] if window.endswith("_window") else window
    if name not in WINDOWS:
        raise ConfigError(f"stft_loss_params.window '{window}' is not one of {', '.join(WINDOWS)} (or <name>_window)")
    return name


def spectral_convergence_loss(x_mag: torch.Tensor, y_mag: torch.Tensor) -> torch.Tensor:
    """``||y_mag - x_mag||_F / ||y_mag||_F`` over the whole batch (``x`` generated, ``y`` real)."""
    return torch.linalg.vector_norm(y_mag - x_mag) / torch.linalg.vector_norm(y_mag)


def log_stft_magnitude_loss(x_mag: torch.Tensor, y_mag: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the natural-log magnitudes."""
    return F.l1_loss(torch.log(x_mag), torch.log(y_mag))


class STFTLoss(nn.Module):
    """Spectral convergence and log-magnitude losses at one STFT resolution.

    Args:
        fft_size: FFT size; shift_size: hop (samples); win_length: window length (``<= fft_size``);
        window: ``hann_window`` / ``hann``, ``hamming``, ...
    """

    @typechecked
    def __init__(self, fft_size: int = 1024, shift_size: int = 120, win_length: int = 600, window: str = "hann_window"):
        super().__init__()
        try:
            self.stft = Stft(n_fft=fft_size, win_length=win_length, hop_length=shift_size, window=window_name(window))
        except ValueError as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"stft_loss_params: {exc}") from None

    def magnitude(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T_wav)`` -> ``(B, T_frames, fft_size // 2 + 1)`` magnitude, floored for the log."""
        spec, _ = self.stft(x)
        return (spec.real**2 + spec.imag**2).clamp(min=MAGNITUDE_POWER_FLOOR).sqrt()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``x`` generated and ``y`` real ``(B, T_wav)`` -> ``(sc_loss, mag_loss)``."""
        x_mag, y_mag = self.magnitude(x), self.magnitude(y)
        return spectral_convergence_loss(x_mag, y_mag), log_stft_magnitude_loss(x_mag, y_mag)


class MultiResolutionSTFTLoss(nn.Module):
    """:class:`STFTLoss` averaged over several resolutions.

    Args:
        fft_sizes, hop_sizes, win_lengths: one entry per resolution (same lengths).
        window: window of every resolution.
    """

    @typechecked
    def __init__(
        self,
        fft_sizes: Sequence[int] = (1024, 2048, 512),
        hop_sizes: Sequence[int] = (120, 240, 50),
        win_lengths: Sequence[int] = (600, 1200, 240),
        window: str = "hann_window",
    ):
        super().__init__()
        if not (len(fft_sizes) == len(hop_sizes) == len(win_lengths)) or not fft_sizes:
            raise ConfigError(
                f"stft_loss_params: fft_sizes {list(fft_sizes)}, hop_sizes {list(hop_sizes)} and "
                f"win_lengths {list(win_lengths)} must be non-empty and of the same length"
            )
        self.stft_losses = nn.ModuleList(
            STFTLoss(fft, hop, win, window) for fft, hop, win in zip(fft_sizes, hop_sizes, win_lengths)
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``x`` generated and ``y`` real, ``(B, T_wav)`` or ``(B, 1, T_wav)`` -> mean ``(sc_loss, mag_loss)``."""
        if x.dim() == 3:
            x = x.reshape(-1, x.size(-1))
        if y.dim() == 3:
            y = y.reshape(-1, y.size(-1))
        sc_loss = mag_loss = 0.0
        for stft_loss in self.stft_losses:
            sc, mag = stft_loss(x, y)
            sc_loss, mag_loss = sc_loss + sc, mag_loss + mag
        n = len(self.stft_losses)
        return sc_loss / n, mag_loss / n
