"""The decoding options of Tacotron2 inference (``Text2Speech``'s ``decode_conf``), checked.

Each option is checked for its type and range, and errors name the option
(:func:`check_decode_conf`).
"""

from __future__ import annotations

import logging
import math
import numbers
from typing import Any, Dict, Mapping

import numpy as np

logger = logging.getLogger(__name__)

#: Decoding options of Tacotron2 inference (``decode_conf`` keys).
DECODE_OPTIONS = (
    "threshold",
    "minlenratio",
    "maxlenratio",
    "use_teacher_forcing",
    "use_att_constraint",
    "backward_window",
    "forward_window",
)


def _real_number(option: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"decoding option {option} must be a finite number, got {value!r}")
    return float(value)


def _window(option: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"decoding option {option} must be an integer >= 0 (tokens), got {value!r}")
    return int(value)


def _flag(option: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"decoding option {option} must be true or false, got {value!r}")
    return bool(value)


def check_decode_conf(conf: Mapping[str, Any]) -> Dict[str, Any]:
    """Check the decoding options of ``conf`` (any subset of :data:`DECODE_OPTIONS`); return them cleaned.

    ``threshold`` must be > 0 (1 or more: the stop probability never reaches it, so decoding always
    runs to ``maxlenratio``, e.g. for fixed-length benchmarks; logged),
    ``minlenratio >= 0`` (0: no minimum), ``maxlenratio > 0`` (the decoder always stops at
    ``max(int(maxlenratio * T_text), 1)`` frames, so 0 is not "unlimited") and
    ``maxlenratio >= minlenratio``; windows are integers >= 0. Errors name the option.
    """
    unknown = [key for key in conf if key not in DECODE_OPTIONS]
    if unknown:
        raise ValueError(f"decode_conf: unknown option {unknown[0]!r}; valid: {', '.join(DECODE_OPTIONS)}")
    checked: Dict[str, Any] = {}
    for key, value in conf.items():
        if key in ("threshold", "minlenratio", "maxlenratio"):
            checked[key] = _real_number(key, value)
        elif key in ("backward_window", "forward_window"):
            checked[key] = _window(key, value)
        else:
            checked[key] = _flag(key, value)
    threshold = checked.get("threshold")
    if threshold is not None and threshold <= 0.0:
        raise ValueError(f"decoding option threshold must be > 0 (a stop probability), got {threshold}")
    if threshold is not None and threshold >= 1.0:
        logger.info(
            "decoding option threshold %s >= 1: the stop token never fires, every output runs to "
            "maxlenratio x input tokens",
            threshold,
        )
    minlenratio, maxlenratio = checked.get("minlenratio"), checked.get("maxlenratio")
    if minlenratio is not None and minlenratio < 0:
        raise ValueError(f"decoding option minlenratio must be >= 0 (0: no minimum length), got {minlenratio}")
    if maxlenratio is not None and maxlenratio <= 0:
        raise ValueError(f"decoding option maxlenratio must be > 0 (output frames per input token), got {maxlenratio}")
    if minlenratio is not None and maxlenratio is not None and minlenratio > maxlenratio:
        raise ValueError(
            f"decoding options: minlenratio {minlenratio} is above maxlenratio {maxlenratio}; "
            "lower minlenratio or raise maxlenratio"
        )
    return checked
