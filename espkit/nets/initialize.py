"""Parameter initialisation by name (ESPnet2's ``init_type``)."""

from __future__ import annotations

from torch import nn

INIT_TYPES = ("pytorch", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal")


def initialize(model: nn.Module, init_type: str) -> None:
    """Re-initialise ``model`` in place.

    ``pytorch`` keeps torch's defaults. Otherwise every weight with two or more dimensions
    is drawn with the named scheme (kaiming for ReLU), one-dimensional parameters (biases)
    become zero, and embeddings and normalisation layers get their own defaults back (so
    norm scales are one and padding rows zero). Scalars (e.g. a positional-encoding
    ``alpha``) are left alone.
    """
    if init_type not in INIT_TYPES:
        raise ValueError(f"init_type must be one of {INIT_TYPES}, got {init_type!r}")
    if init_type == "pytorch":
        return
    for param in model.parameters():
        if param.dim() > 1:
            if init_type == "xavier_uniform":
                nn.init.xavier_uniform_(param.data)
            elif init_type == "xavier_normal":
                nn.init.xavier_normal_(param.data)
            elif init_type == "kaiming_uniform":
                nn.init.kaiming_uniform_(param.data, nonlinearity="relu")
            else:
                nn.init.kaiming_normal_(param.data, nonlinearity="relu")
        elif param.dim() == 1:
            param.data.zero_()
    for module in model.modules():
        if isinstance(module, (nn.Embedding, nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)):
            module.reset_parameters()
