"""Batched short-time Fourier transform with lengths in and out.

Padding of a batch never changes the spectrum of an utterance's real frames: with
``center=True`` each utterance is reflection-padded at *its own* end (not at the end
of the padded batch), exactly as if it had been transformed on its own.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

WINDOWS = ("hann", "hamming", "blackman", "bartlett", "kaiser")


def make_window(window: str | None, win_length: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Return the periodic analysis window ``(win_length,)``; ``None`` is rectangular."""
    if window is None:
        return torch.ones(win_length, device=device, dtype=dtype)
    if window not in WINDOWS:
        raise ValueError(f"Unknown window '{window}'; valid: {', '.join(WINDOWS)} or None")
    window_fn = getattr(torch, f"{window}_window")
    return window_fn(win_length, device=device, dtype=dtype)


def center_pad(x: torch.Tensor, x_lengths: torch.Tensor, pad: int) -> torch.Tensor:
    """Reflection-pad each row of a padded batch at its own boundaries.

    Args:
        x: ``(B, T_max)`` signals, row ``b`` valid up to ``x_lengths[b]``.
        x_lengths: ``(B,)`` valid lengths.
        pad: samples to add on each side.

    Returns:
        ``(B, T_max + 2 * pad)``: row ``b`` holds ``pad`` reflected samples, its
        ``x_lengths[b]`` real samples, ``pad`` reflected samples, then zeros.
        Utterances not longer than ``pad`` are reflected as far as they go (edge
        samples are repeated beyond that).
    """
    batch, t_max = x.shape
    if pad == 0:
        positions = torch.arange(t_max, device=x.device)
        return x * (positions[None, :] < x_lengths[:, None]).to(x.dtype)
    positions = torch.arange(t_max + 2 * pad, device=x.device)[None, :]
    lengths = x_lengths.to(device=x.device, dtype=torch.long)[:, None]
    source = (positions - pad).abs()  # reflect at the start
    source = torch.where(source >= lengths, 2 * (lengths - 1) - source, source)  # at the end
    source = source.clamp(min=0).minimum((lengths - 1).clamp(min=0)).expand(batch, -1)
    valid = (positions < lengths + 2 * pad) & (lengths > 0)
    return x.gather(1, source) * valid.to(x.dtype)


class Stft(nn.Module):
    """STFT of padded waveform batches returning complex spectra ``(B, T_frames, n_freq)``.

    Args:
        n_fft: FFT size (samples).
        win_length: analysis window length (samples); ``None`` = ``n_fft``.
        hop_length: frame shift (samples).
        window: ``hann``, ``hamming``, ``blackman``, ``bartlett``, ``kaiser`` or ``None``.
        center: frame ``t`` is centred on sample ``t * hop_length`` (reflection padding).
        normalized: scale by ``win_length ** -0.5`` as ``torch.stft`` does.
        onesided: keep only ``n_fft // 2 + 1`` non-negative frequencies.
    """

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
        if win_length is None:
            win_length = n_fft
        if not 0 < win_length <= n_fft:
            raise ValueError(f"win_length={win_length} must be in 1..n_fft={n_fft}")
        if hop_length <= 0:
            raise ValueError(f"hop_length must be positive, got {hop_length}")
        if window is not None and window not in WINDOWS:
            raise ValueError(f"Unknown window '{window}'; valid: {', '.join(WINDOWS)} or None")
        self.n_fft = n_fft
        self.win_length = win_length
        self.hop_length = hop_length
        self.window = window
        self.center = center
        self.normalized = normalized
        self.onesided = onesided

    def extra_repr(self) -> str:
        return (
            f"n_fft={self.n_fft}, win_length={self.win_length}, hop_length={self.hop_length}, "
            f"window={self.window}, center={self.center}, normalized={self.normalized}, "
            f"onesided={self.onesided}"
        )

    @property
    def n_freq(self) -> int:
        """Number of frequency bins per frame."""
        return self.n_fft // 2 + 1 if self.onesided else self.n_fft

    @property
    def pad(self) -> int:
        """Samples of reflection padding added on each side (0 unless ``center``)."""
        return self.n_fft // 2 if self.center else 0

    def n_frames(self, num_samples: int | torch.Tensor) -> int | torch.Tensor:
        """Frames produced for ``num_samples`` samples (``L // hop + 1`` when centred).

        Works on ints and on integer tensors of lengths; never negative.
        """
        frames = (num_samples + 2 * self.pad - self.n_fft) // self.hop_length + 1
        if isinstance(frames, torch.Tensor):
            return frames.clamp(min=0)
        return max(frames, 0)

    def forward(self, x: torch.Tensor, x_lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Transform a batch.

        Args:
            x: ``(B, T_wav)`` real waveforms (a 1-D ``(T_wav,)`` is treated as B=1), or
                ``(B, T_wav, C)`` multi-channel ones.
            x_lengths: ``(B,)`` valid samples per row; ``None`` = all ``T_wav``.

        Returns:
            spec: complex ``(B, T_frames, n_freq)`` (``(B, T_frames, C, n_freq)`` for
                multi-channel input); frames past an utterance's end are 0.
            frame_lengths: ``(B,)`` long, ``n_frames(x_lengths)``.
        """
        if x.dim() == 1:
            x = x.unsqueeze(0)
        if x.dim() == 3:  # (B, T_wav, C) multi-channel, as ESPnet2: channels transformed alike
            batch, channels = x.size(0), x.size(2)
            flat = x.transpose(1, 2).reshape(batch * channels, x.size(1))
            flat_lengths = None if x_lengths is None else x_lengths.repeat_interleave(channels)
            spec, frame_lengths = self.forward(flat, flat_lengths)
            spec = spec.reshape(batch, channels, spec.size(1), spec.size(2)).transpose(1, 2)
            return spec, frame_lengths.reshape(batch, channels)[:, 0]
        if x.dim() != 2:
            raise ValueError(f"Stft expects (B, T_wav) or (B, T_wav, C) input, got shape {tuple(x.shape)}")
        if x_lengths is None:
            x_lengths = torch.full((x.size(0),), x.size(1), dtype=torch.long, device=x.device)
        x_lengths = x_lengths.to(device=x.device, dtype=torch.long)
        padded = center_pad(x, x_lengths, self.pad)
        if padded.size(1) < self.n_fft:  # too short for a single frame
            padded = nn.functional.pad(padded, (0, self.n_fft - padded.size(1)))
        window = make_window(self.window, self.win_length, x.device, x.dtype)
        spec = torch.stft(
            padded,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=window,
            center=False,
            normalized=self.normalized,
            onesided=self.onesided,
            return_complex=True,
        ).transpose(1, 2)
        frame_lengths = self.n_frames(x_lengths)
        n_out = int(self.n_frames(x.size(1)))
        spec = spec[:, :n_out]
        frames = torch.arange(spec.size(1), device=x.device)
        mask = frames[None, :] >= frame_lengths[:, None]
        spec = spec.masked_fill(mask[:, :, None], 0.0)
        return spec, frame_lengths

    def inverse(self, spec: torch.Tensor, wav_lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Inverse STFT (overlap-add) of a batch of complex spectra.

        Args:
            spec: complex ``(B, T_frames, n_freq)``.
            wav_lengths: ``(B,)`` waveform lengths in samples (e.g. the lengths passed to
                ``forward``); ``None`` = ``(T_frames - 1) * hop_length`` for every row
                when centred.

        Returns:
            wav: ``(B, max(wav_lengths))``, samples past each length set to 0.
            wav_lengths: ``(B,)`` long.
        """
        if spec.dim() == 2:
            spec = spec.unsqueeze(0)
        if not spec.is_complex():
            raise ValueError("Stft.inverse expects a complex spectrum (B, T_frames, n_freq)")
        batch, t_frames, _ = spec.shape
        if wav_lengths is None:
            total = (t_frames - 1) * self.hop_length + (0 if self.center else self.n_fft)
            wav_lengths = torch.full((batch,), total, dtype=torch.long, device=spec.device)
        wav_lengths = wav_lengths.to(device=spec.device, dtype=torch.long)
        window = make_window(self.window, self.win_length, spec.device, spec.real.dtype)
        frame_lengths = self.n_frames(wav_lengths).clamp(max=t_frames)
        wav = spec.real.new_zeros(batch, int(wav_lengths.max()))
        for b in range(batch):  # per row, so frames past a row's end do not enter its OLA
            length = int(wav_lengths[b])
            wav[b, :length] = torch.istft(
                spec[b, : int(frame_lengths[b])].T,
                n_fft=self.n_fft,
                hop_length=self.hop_length,
                win_length=self.win_length,
                window=window,
                center=self.center,
                normalized=self.normalized,
                onesided=self.onesided,
                length=length,
            )
        samples = torch.arange(wav.size(1), device=wav.device)
        wav = wav.masked_fill(samples[None, :] >= wav_lengths[:, None], 0.0)
        return wav, wav_lengths
