"""HiFi-GAN's losses (ESPnet2's names, arguments and returns): adversarial, feature matching, mel L1.

Discriminator outputs are what :mod:`espkit.gan_tts.hifigan.hifigan` returns: a list with one entry per
sub-discriminator, each either its final output or the list of its layer outputs (the last one final).
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch.nn import functional as F

from espkit.tts.feats_extract.fbank import LogMelFbank
from espkit.utils.errors import ConfigError
from espkit.utils.typecheck import typechecked

LOSS_TYPES = ("mse", "hinge")

DiscriminatorOutputs = Union[torch.Tensor, Sequence[Union[torch.Tensor, Sequence[torch.Tensor]]]]


def _final_outputs(outputs: DiscriminatorOutputs) -> List[torch.Tensor]:
    """Each sub-discriminator's final output (the last layer output when layers are given)."""
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    return [out[-1] if isinstance(out, (list, tuple)) else out for out in outputs]


def _check_loss_type(loss_type: str) -> None:
    if loss_type not in LOSS_TYPES:
        raise ConfigError(f"adversarial loss_type '{loss_type}' is not one of {', '.join(LOSS_TYPES)}")


class GeneratorAdversarialLoss(nn.Module):
    """Generator's adversarial loss on the discriminator outputs for generated speech.

    ``mse`` (least squares): ``mean((D(G(c)) - 1) ** 2)``; ``hinge``: ``-mean(D(G(c)))``; summed over
    sub-discriminators, divided by their number with ``average_by_discriminators``.
    """

    @typechecked
    def __init__(self, average_by_discriminators: bool = True, loss_type: str = "mse"):
        super().__init__()
        _check_loss_type(loss_type)
        self.average_by_discriminators = average_by_discriminators
        self.loss_type = loss_type

    def criterion(self, x: torch.Tensor) -> torch.Tensor:
        if self.loss_type == "mse":
            return F.mse_loss(x, torch.ones_like(x))
        return -x.mean()

    def forward(self, outputs: DiscriminatorOutputs) -> torch.Tensor:
        """``outputs``: discriminator outputs for generated speech -> scalar loss."""
        finals = _final_outputs(outputs)
        loss = sum(self.criterion(out) for out in finals)
        if self.average_by_discriminators:
            loss = loss / len(finals)
        return loss


class DiscriminatorAdversarialLoss(nn.Module):
    """Discriminator's adversarial loss, returned as ``(real_loss, fake_loss)``.

    ``mse``: ``mean((D(y) - 1) ** 2)`` and ``mean(D(G(c)) ** 2)``; ``hinge``: ``mean(relu(1 - D(y)))``
    and ``mean(relu(1 + D(G(c))))``; each summed over sub-discriminators and divided by their number
    with ``average_by_discriminators``.
    """

    @typechecked
    def __init__(self, average_by_discriminators: bool = True, loss_type: str = "mse"):
        super().__init__()
        _check_loss_type(loss_type)
        self.average_by_discriminators = average_by_discriminators
        self.loss_type = loss_type

    def real_criterion(self, x: torch.Tensor) -> torch.Tensor:
        if self.loss_type == "mse":
            return F.mse_loss(x, torch.ones_like(x))
        return F.relu(1.0 - x).mean()

    def fake_criterion(self, x: torch.Tensor) -> torch.Tensor:
        if self.loss_type == "mse":
            return F.mse_loss(x, torch.zeros_like(x))
        return F.relu(1.0 + x).mean()

    def forward(
        self, outputs_hat: DiscriminatorOutputs, outputs: DiscriminatorOutputs
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """``outputs_hat`` for generated and ``outputs`` for real speech -> ``(real_loss, fake_loss)``."""
        finals_hat, finals = _final_outputs(outputs_hat), _final_outputs(outputs)
        if len(finals_hat) != len(finals):
            raise ValueError(f"{len(finals_hat)} generated vs {len(finals)} real discriminator outputs")
        real_loss = sum(self.real_criterion(out) for out in finals)
        fake_loss = sum(self.fake_criterion(out) for out in finals_hat)
        if self.average_by_discriminators:
            real_loss, fake_loss = real_loss / len(finals), fake_loss / len(finals_hat)
        return real_loss, fake_loss


class FeatureMatchLoss(nn.Module):
    """L1 between the discriminators' layer outputs for generated and real speech (real ones detached).

    Args:
        average_by_layers: divide each sub-discriminator's sum by its number of layers.
        average_by_discriminators: divide the total by the number of sub-discriminators.
        include_final_outputs: also match the final outputs (by default only the hidden layers).
    """

    @typechecked
    def __init__(
        self,
        average_by_layers: bool = True,
        average_by_discriminators: bool = True,
        include_final_outputs: bool = False,
    ):
        super().__init__()
        self.average_by_layers = average_by_layers
        self.average_by_discriminators = average_by_discriminators
        self.include_final_outputs = include_final_outputs

    def forward(
        self, feats_hat: Sequence[Sequence[torch.Tensor]], feats: Sequence[Sequence[torch.Tensor]]
    ) -> torch.Tensor:
        """``feats_hat`` / ``feats``: per sub-discriminator its layer outputs -> scalar loss."""
        if len(feats_hat) != len(feats):
            raise ValueError(f"{len(feats_hat)} generated vs {len(feats)} real discriminator feature lists")
        total = 0.0
        for layers_hat, layers in zip(feats_hat, feats):
            if not self.include_final_outputs:
                layers_hat, layers = layers_hat[:-1], layers[:-1]
            disc_loss = sum(F.l1_loss(hat, real.detach()) for hat, real in zip(layers_hat, layers))
            if self.average_by_layers and len(layers_hat) > 0:
                disc_loss = disc_loss / len(layers_hat)
            total = total + disc_loss
        if self.average_by_discriminators and len(feats_hat) > 0:
            total = total / len(feats_hat)
        if not isinstance(total, torch.Tensor):
            raise ValueError("FeatureMatchLoss got no layer outputs to match")
        return total


class MelSpectrogramLoss(nn.Module):
    """L1 between the log-mel spectrograms of generated and real speech.

    The log-mel is espkit's own :class:`~espkit.tts.feats_extract.fbank.LogMelFbank` (amplitude STFT ->
    mel -> ``log_base`` log), so with the ``feats_extract`` settings it is exactly the acoustic model's
    feature. Defaults are ESPnet2's (``fmin=0``, ``fmax=None`` = ``fs / 2``).

    Args:
        fs, n_fft, hop_length, win_length, window, n_mels, fmin, fmax, center, normalized, onesided,
        log_base: as :class:`LogMelFbank`. htk: HTK mel scale instead of Slaney's.
    """

    @typechecked
    def __init__(
        self,
        fs: int = 22050,
        n_fft: int = 1024,
        hop_length: int = 256,
        win_length: Optional[int] = None,
        window: Optional[str] = "hann",
        n_mels: int = 80,
        fmin: Optional[float] = 0,
        fmax: Optional[float] = None,
        center: bool = True,
        normalized: bool = False,
        onesided: bool = True,
        log_base: Optional[float] = 10.0,
        htk: bool = False,
    ):
        super().__init__()
        try:
            self.wav_to_mel = LogMelFbank(
                fs=fs,
                n_fft=n_fft,
                win_length=win_length,
                hop_length=hop_length,
                window=window,
                center=center,
                normalized=normalized,
                onesided=onesided,
                n_mels=n_mels,
                fmin=fmin,
                fmax=fmax,
                htk=htk,
                log_base=log_base,
            )
        except ValueError as exc:
            raise ConfigError(f"mel_loss_params: {exc}") from None

    def forward(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``y_hat`` generated and ``y`` real waveforms, ``(B, 1, T_wav)`` or ``(B, T_wav)`` -> scalar L1."""
        if y_hat.dim() == 3:
            y_hat = y_hat.squeeze(1)
        if y.dim() == 3:
            y = y.squeeze(1)
        mel_hat, _ = self.wav_to_mel(y_hat)
        mel, _ = self.wav_to_mel(y)
        return F.l1_loss(mel_hat, mel)
