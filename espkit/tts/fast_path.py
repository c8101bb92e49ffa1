"""The ``*_impl`` options of models that have a fast path beside their eager reference code.

A model part with a fast implementation (e.g. Tacotron2's decoder: ``decoder_impl``) takes one option
with the values of :data:`IMPL_CHOICES`:

- ``stepwise``: the eager reference implementation (plain modules through autograd);
- ``fused``: the fast implementation; a :class:`~espkit.utils.config_argparse.ConfigError` that says
  why when the configuration is one it does not cover;
- ``auto`` (default): ``fused`` when it covers the configuration, else ``stepwise``.

The part lists what keeps its fast path from covering its configuration ("blockers") and calls
:func:`choose_impl` once when it is built; the choice is logged at INFO.
"""

from __future__ import annotations

import logging
from typing import Sequence

from espkit.utils.errors import ConfigError

logger = logging.getLogger(__name__)

IMPL_CHOICES = ("auto", "stepwise", "fused")


def choose_impl(option: str, value: str, blockers: Sequence[str], owner: str) -> bool:
    """Whether ``owner`` runs its fused path for ``option: value``.

    Args:
        option: the option's name, e.g. ``decoder_impl``.
        value: one of :data:`IMPL_CHOICES`.
        blockers: why the fused path does not cover this configuration (empty: it does).
        owner: what the option is for, for the log line and the errors (e.g. ``Tacotron2 decoder``).

    Raises:
        ConfigError: ``value`` is not one of :data:`IMPL_CHOICES`, or it is ``fused`` and there are
            blockers (the message lists them).
    """
    if value not in IMPL_CHOICES:
        raise ConfigError(f"{option} must be one of {', '.join(IMPL_CHOICES)}, got {value!r}")
    if value == "fused" and blockers:
        raise ConfigError(
            f"{option}: fused is not available for this {owner}: {'; '.join(blockers)} (use {option}: auto or stepwise)"
        )
    fused = value != "stepwise" and not blockers
    if fused:
        logger.info("%s: fused path (%s: %s)", owner, option, value)
    elif value == "stepwise":
        logger.info("%s: stepwise path (%s: stepwise)", owner, option)
    else:
        logger.info("%s: stepwise path (%s: auto; fused does not cover %s)", owner, option, "; ".join(blockers))
    return fused
