"""The layers a graph YAML may name: espkit's own (:data:`ESPKIT_LAYERS`) and ``torch.nn``'s.

espkit's layers fill what ``torch.nn`` lacks for speech: 1-D convolutions and conv blocks that zero
padded frames (given the lengths of the batch), LSTM/GRU wrappers that run on packed sequences and
return a tensor, pooling over real frames, weight- and spectrally-normalised convolutions (GAN
vocoders), a transpose, and espkit's dropout. A layer that takes lengths (``takes_lengths``) is
called ``layer(x, lengths)`` by the graph (``lengths`` ``(B,)`` of the component's ``lengths``
input, or None); every other layer ``layer(x)``.

Time is the last axis of channels-first layers (convolutions: ``(B, C, T)``) and axis 1 of
frames-first ones (LSTM/GRU, pooling: ``(B, T, C)``); :class:`Transpose` converts.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, List, Mapping, Optional

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm, weight_norm
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from espkit.gan_tts.layers import make_activation
from espkit.layers.dropout import Dropout
from espkit.nets.masks import make_non_pad_mask

NORM_TYPES = ("batch", "layer", "none")


def _keep_frames(x: torch.Tensor, lengths: Optional[torch.Tensor], time_dim: int) -> torch.Tensor:
    """``x`` with the frames at ``t >= lengths[b]`` of axis ``time_dim`` (1 or 2 of a 3-D ``x``) zeroed."""
    if lengths is None:
        return x
    keep = make_non_pad_mask(lengths.to(x.device), x.size(time_dim)).to(x.dtype)  # (B, T)
    if time_dim == 1:
        return x * keep.unsqueeze(2)
    return x * keep.unsqueeze(1)


class MaskedConv1d(nn.Conv1d):
    """``nn.Conv1d`` (same arguments and weights) on ``(B, C_in, T)`` whose padded input frames
    (``t >= lengths[b]``) are zeroed first, so padding never leaks into real frames."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.takes_lengths = True

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self._conv_forward(_keep_frames(x, lengths, 2), self.weight, self.bias)


MaskedConv1d.__init__.__signature__ = inspect.signature(nn.Conv1d.__init__)  # kwargs are Conv1d's


class ChannelLayerNorm(nn.LayerNorm):
    """``nn.LayerNorm`` over the channels of each frame of a channels-first ``(B, C, T)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class ConvBlock1d(nn.Module):
    """``MaskedConv1d`` (length-keeping padding) -> norm -> activation -> dropout on ``(B, C, T)``.

    Args:
        in_channels, out_channels, kernel_size, dilation, bias: of the convolution (odd kernel: the
            padding ``dilation * (kernel_size - 1) / 2`` keeps ``T``).
        norm: ``batch`` (``BatchNorm1d``), ``layer`` (:class:`ChannelLayerNorm`) or ``none``.
        activation: a ``torch.nn`` activation class name (``ReLU``, ``Tanh``, ``LeakyReLU``...) or None.
        activation_params: its keyword arguments.
        dropout: dropout probability (:class:`espkit.layers.dropout.Dropout`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 5,
        dilation: int = 1,
        bias: bool = True,
        norm: str = "batch",
        activation: Optional[str] = "ReLU",
        activation_params: Optional[Mapping[str, Any]] = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd so that the length is kept, got {kernel_size}")
        if norm not in NORM_TYPES:
            raise ValueError(f"norm must be one of {', '.join(NORM_TYPES)}, got {norm!r}")
        self.takes_lengths = True
        padding = dilation * (kernel_size - 1) // 2
        self.conv = MaskedConv1d(in_channels, out_channels, kernel_size, dilation=dilation, padding=padding, bias=bias)
        if norm == "batch":
            self.norm: nn.Module = nn.BatchNorm1d(out_channels)
        elif norm == "layer":
            self.norm = ChannelLayerNorm(out_channels)
        else:
            self.norm = nn.Identity()
        self.activation = (
            nn.Identity() if activation is None else make_activation(activation, activation_params, option="activation")
        )
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``(B, in_channels, T)`` -> ``(B, out_channels, T)``; padded frames of the output are zero."""
        x = self.dropout(self.activation(self.norm(self.conv(x, lengths))))
        return _keep_frames(x, lengths, 2)


class MaskedLSTM(nn.Module):
    """``nn.LSTM`` (batch first) returning only its output ``(B, T, hidden_size * directions)``.

    Given lengths it runs on the packed sequence (padding never reaches a real frame, in either
    direction) and the padded output frames are zero; without, on every frame.

    Args:
        input_size, hidden_size, num_layers, bias, dropout, bidirectional: those of ``nn.LSTM``.
    """

    rnn_class = nn.LSTM

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ):
        super().__init__()
        self.takes_lengths = True
        self.rnn = self.rnn_class(
            input_size,
            hidden_size,
            num_layers=num_layers,
            bias=bias,
            dropout=dropout,
            bidirectional=bidirectional,
            batch_first=True,
        )

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``(B, T, input_size)`` -> ``(B, T, hidden_size * directions)``."""
        if not torch.jit.is_scripting():
            self.rnn.flatten_parameters()  # one contiguous weight block for cuDNN (not scriptable)
        if lengths is None:
            return self.rnn(x)[0]
        packed = pack_padded_sequence(x, lengths.cpu().clamp(min=1), batch_first=True, enforce_sorted=False)
        output, _ = self.rnn(packed)
        return pad_packed_sequence(output, batch_first=True, total_length=x.size(1))[0]


class MaskedGRU(MaskedLSTM):
    """:class:`MaskedLSTM` with an ``nn.GRU``."""

    rnn_class = nn.GRU


class LastFrame(nn.Module):
    """The last real frame of each item: ``(B, T, C)`` -> ``(B, C)`` (``x[b, lengths[b] - 1]``; the last
    frame without lengths). After a forward :class:`MaskedLSTM`/:class:`MaskedGRU` it is the last
    layer's final hidden state."""

    def __init__(self):
        super().__init__()
        self.takes_lengths = True

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        if lengths is None:
            return x[:, -1]
        last = (lengths.to(x.device).long().clamp(min=1) - 1).view(-1, 1, 1).expand(-1, 1, x.size(2))
        return x.gather(1, last).squeeze(1)


class MaskedMean(nn.Module):
    """Mean over the real frames of axis ``dim`` (1: ``(B, T, C)``, 2: ``(B, C, T)``) -> ``(B, C)``."""

    def __init__(self, dim: int = 1):
        super().__init__()
        if dim not in (1, 2):
            raise ValueError(f"dim must be 1 (B, T, C) or 2 (B, C, T), got {dim}")
        self.takes_lengths = True
        self.dim = dim

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        if lengths is None:
            return x.mean(dim=self.dim)
        count = lengths.to(x.device).clamp(min=1).to(x.dtype).unsqueeze(1)
        return _keep_frames(x, lengths, self.dim).sum(dim=self.dim) / count


class Transpose(nn.Module):
    """``x.transpose(dim0, dim1)``, e.g. ``(B, T, C)`` <-> ``(B, C, T)`` with 1 and 2."""

    def __init__(self, dim0: int = 1, dim1: int = 2):
        super().__init__()
        self.dim0 = dim0
        self.dim1 = dim1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(self.dim0, self.dim1)

    def extra_repr(self) -> str:
        return f"dim0={self.dim0}, dim1={self.dim1}"


class WeightNormConv1d(nn.Conv1d):
    """``nn.Conv1d`` with weight normalisation (torch's parametrization; fold it with
    :func:`espkit.gan_tts.layers.remove_weight_norm` before scripting)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        weight_norm(self)


class WeightNormConvTranspose1d(nn.ConvTranspose1d):
    """``nn.ConvTranspose1d`` with weight normalisation (see :class:`WeightNormConv1d`)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        weight_norm(self)


class SpectralNormConv1d(nn.Conv1d):
    """``nn.Conv1d`` with spectral normalisation (GAN discriminators)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        spectral_norm(self)


for _cls, _base in (
    (WeightNormConv1d, nn.Conv1d),
    (WeightNormConvTranspose1d, nn.ConvTranspose1d),
    (SpectralNormConv1d, nn.Conv1d),
):
    _cls.__init__.__signature__ = inspect.signature(_base.__init__)


#: espkit's graph layers by YAML name (looked up before ``torch.nn``).
ESPKIT_LAYERS: Dict[str, type] = {
    "MaskedConv1d": MaskedConv1d,
    "ConvBlock1d": ConvBlock1d,
    "ChannelLayerNorm": ChannelLayerNorm,
    "MaskedLSTM": MaskedLSTM,
    "MaskedGRU": MaskedGRU,
    "LastFrame": LastFrame,
    "MaskedMean": MaskedMean,
    "Transpose": Transpose,
    "UniformDropout": Dropout,
    "WeightNormConv1d": WeightNormConv1d,
    "WeightNormConvTranspose1d": WeightNormConvTranspose1d,
    "SpectralNormConv1d": SpectralNormConv1d,
}

#: ``torch.nn`` classes a graph cannot use as they are, and what to use instead.
REFUSED_TORCH_LAYERS = {
    "LSTM": "it returns (output, state); use MaskedLSTM",
    "GRU": "it returns (output, state); use MaskedGRU",
    "RNN": "it returns (output, state); use MaskedLSTM or MaskedGRU",
    "Sequential": "list the layers in the submodel instead",
}
_NOT_LAYERS = (nn.modules.loss._Loss, nn.RNNBase, nn.RNNCellBase, nn.Sequential)
#: Constructor arguments a YAML file may not set (the graph is built on the CPU in float32 and moved
#: with the model).
HIDDEN_KWARGS = ("self", "device", "dtype")
_torch_layers: Optional[List[str]] = None


def torch_layer_names() -> List[str]:
    """The ``torch.nn`` module classes that map one tensor to one tensor (``forward`` takes one
    required argument; losses, recurrent layers, containers and lazy layers left out), sorted."""
    global _torch_layers
    if _torch_layers is None:
        names = []
        for name in dir(nn):
            cls = getattr(nn, name)
            if name.startswith(("_", "Lazy")) or not (isinstance(cls, type) and issubclass(cls, nn.Module)):
                continue
            if issubclass(cls, _NOT_LAYERS):
                continue
            params = list(inspect.signature(cls.forward).parameters.values())[1:]
            required = [
                p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            if len(required) == 1 and not any(p.kind is p.VAR_POSITIONAL for p in params):
                names.append(name)
        _torch_layers = sorted(names)
    return _torch_layers


def layer_class(name: str) -> Optional[type]:
    """The class of layer ``name`` (espkit's first, then ``torch.nn``'s); None if there is none."""
    if name in ESPKIT_LAYERS:
        return ESPKIT_LAYERS[name]
    if name in torch_layer_names():
        return getattr(nn, name)
    return None


def layer_kwargs(cls: type) -> tuple[List[str], List[str], bool]:
    """``(all named constructor arguments, the required ones, whether it takes **kwargs)`` of ``cls``."""
    params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name not in HIDDEN_KWARGS]
    named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    required = [p.name for p in named if p.default is p.empty]
    return [p.name for p in named], required, any(p.kind is p.VAR_KEYWORD for p in params)
