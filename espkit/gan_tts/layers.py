"""Pieces shared by the GAN generators and discriminators: activations by name, weight and spectral norm.

Weight and spectral norm are torch's parametrizations (``torch.nn.utils.parametrizations``), not the
deprecated forward-pre-hook versions. A normalised conv keeps its bias as ``<name>.bias`` and stores
its weight as ``<name>.parametrizations.weight.original0`` (weight norm's magnitude ``g``) and
``.original1`` (direction ``v``); spectral norm stores ``.original`` plus the power-iteration
vectors ``.0._u`` / ``.0._v``. :func:`remove_weight_norm` folds them back into a plain ``<name>.weight``.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from espkit.utils.errors import ConfigError

logger = logging.getLogger(__name__)

CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d)


def make_activation(
    name: str, params: Mapping[str, Any] | None = None, option: str = "nonlinear_activation"
) -> nn.Module:
    """``torch.nn.<name>(**params)``, e.g. ``LeakyReLU`` with ``{"negative_slope": 0.1}`` (or a pooling layer).

    Raises:
        ConfigError: ``name`` is not a module class of ``torch.nn`` or ``params`` do not fit it.
    """
    cls = getattr(nn, name, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ConfigError(f"{option}: '{name}' is not a torch.nn module class (e.g. LeakyReLU, AvgPool1d)")
    try:
        return cls(**dict(params or {}))
    except TypeError as exc:
        raise ConfigError(f"{option}_params {dict(params or {})} do not fit torch.nn.{name}: {exc}") from None


def apply_weight_norm(module: nn.Module, types: tuple[type, ...] = CONV_TYPES) -> None:
    """Weight-normalise the ``weight`` of every submodule of ``module`` that is one of ``types``."""
    for sub in module.modules():
        if isinstance(sub, types) and not parametrize.is_parametrized(sub, "weight"):
            weight_norm(sub)


def apply_spectral_norm(module: nn.Module, types: tuple[type, ...] = CONV_TYPES) -> None:
    """Spectral-normalise the ``weight`` of every submodule of ``module`` that is one of ``types``."""
    for sub in module.modules():
        if isinstance(sub, types) and not parametrize.is_parametrized(sub, "weight"):
            spectral_norm(sub)


def remove_weight_norm(module: nn.Module) -> int:
    """Fold every weight parametrization of ``module``'s submodules into a plain ``weight``.

    The computed weights are kept, so the outputs do not change (up to rounding). Returns how
    many layers were changed; calling it twice is harmless.
    """
    count = 0
    for sub in list(module.modules()):
        if parametrize.is_parametrized(sub, "weight"):
            parametrize.remove_parametrizations(sub, "weight", leave_parametrized=True)
            count += 1
    logger.debug("removed weight parametrizations from %d layers", count)
    return count


def build_with(cls: type, params: Mapping[str, Any], option: str) -> nn.Module:
    """``cls(**params)`` where ``params`` come from a config: a wrong key is a ``ConfigError`` naming ``option``."""
    try:
        return cls(**dict(params))
    except TypeError as exc:
        raise ConfigError(f"{option}: {exc}") from None
