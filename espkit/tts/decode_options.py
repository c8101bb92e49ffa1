"""The decoding options of inference (``Text2Speech``'s ``decode_conf``), checked.

Two sets: those of the attention models (:data:`DECODE_OPTIONS`: stop threshold, length ratios,
Tacotron2's attention window, the Transformer's key/value cache) and the prosody controls of
duration models (:data:`PROSODY_OPTIONS`: FastSpeech2 / FastSpeech). Each option is checked for its
type and range, and errors name the option (:func:`check_decode_conf`); :func:`check_model_options`
then says which options a given model can honour: a prosody control given to a model that has no
such predictor, or ``use_cache`` false to a model without a decoder cache, is an error naming the
option and the model, while Tacotron2's options given to a duration model are ignored with
one warning (a duration model has no stop token or attention; the recipe's ``decode.yaml`` holds
them for every model).
"""

from __future__ import annotations

import logging
import math
import numbers
from typing import Any, Collection, Dict, Mapping

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
    "use_cache",
)
#: Prosody controls of duration models and their neutral values (``decode_conf`` keys too):
#: ``alpha`` scales the predicted durations (> 1: slower), ``pitch_scale`` the pitch excursions
#: around the utterance's mean, ``pitch_shift_cents`` shifts the pitch, ``energy_scale`` scales
#: the (linear) energy.
PROSODY_DEFAULTS = {"alpha": 1.0, "pitch_scale": 1.0, "pitch_shift_cents": 0.0, "energy_scale": 1.0}
PROSODY_OPTIONS = tuple(PROSODY_DEFAULTS)
#: Prosody controls (and per-token overrides) that need pitch and energy predictors (FastSpeech2).
PITCH_ENERGY_OPTIONS = ("pitch_scale", "pitch_shift_cents", "energy_scale", "pitch", "energy")
#: Defaults of the Tacotron2 decoding options (``Text2Speech``'s and ``tts_inference``'s).
DECODE_DEFAULTS = {
    "threshold": 0.5,
    "minlenratio": 0.0,
    "maxlenratio": 10.0,
    "use_teacher_forcing": False,
    "use_att_constraint": False,
    "backward_window": 1,
    "forward_window": 3,
    "use_cache": True,
}
#: Tacotron2 decoding options that duration models do not use.
ATTENTION_OPTIONS = tuple(option for option in DECODE_OPTIONS if option != "use_teacher_forcing")


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
    """Check the decoding options of ``conf`` (any subset of :data:`DECODE_OPTIONS` and
    :data:`PROSODY_OPTIONS`); return them cleaned.

    ``threshold`` must be > 0 (1 or more: the stop probability never reaches it, so decoding always
    runs to ``maxlenratio``, e.g. for fixed-length benchmarks; logged),
    ``minlenratio >= 0`` (0: no minimum), ``maxlenratio > 0`` (the decoder always stops at
    ``max(int(maxlenratio * T_text), 1)`` frames, so 0 is not "unlimited") and
    ``maxlenratio >= minlenratio``; windows are integers >= 0; ``alpha > 0``, ``pitch_scale >= 0``,
    ``energy_scale >= 0`` and ``pitch_shift_cents`` finite. Errors name the option.
    """
    valid = DECODE_OPTIONS + PROSODY_OPTIONS
    unknown = [key for key in conf if key not in valid]
    if unknown:
        raise ValueError(f"decode_conf: unknown option {unknown[0]!r}; valid: {', '.join(valid)}")
    checked: Dict[str, Any] = {}
    for key, value in conf.items():
        if key in ("threshold", "minlenratio", "maxlenratio") or key in PROSODY_OPTIONS:
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
    if checked.get("alpha", 1.0) <= 0.0:
        raise ValueError(f"decoding option alpha must be > 0 (duration scale, > 1: slower), got {checked['alpha']}")
    for key in ("pitch_scale", "energy_scale"):
        if checked.get(key, 1.0) < 0.0:
            raise ValueError(f"decoding option {key} must be >= 0 (1: unchanged), got {checked[key]}")
    return checked


def check_model_options(
    conf: Mapping[str, Any], tts: Any, model_name: str, overrides: Collection[str] = ()
) -> Dict[str, Any]:
    """The options of checked ``conf`` that the TTS model ``tts`` (an ``AbsTTS``) uses.

    Args:
        conf: checked decoding options (:func:`check_decode_conf`).
        tts: the model; its ``supports_prosody_control`` and ``needs_pitch_energy`` decide.
        model_name: how messages call the model (its ``--tts`` choice, e.g. ``tacotron2``).
        overrides: names of the per-token overrides given too (``durations``, ``pitch``, ``energy``).

    Returns:
        ``conf`` without the options of the other kind of model: prosody controls at their neutral
        value are dropped for Tacotron2, Tacotron2's options (:data:`ATTENTION_OPTIONS`) for
        duration models, which have no stop token or attention (``Text2Speech`` warns about those
        set away from their defaults).

    Raises:
        ValueError: a prosody control away from its neutral value, an override, or ``use_cache``
            false, given to a model that cannot honour it; the message names the option and the model.
    """
    if not tts.supports_decoder_cache:
        if not conf.get("use_cache", True):
            raise ValueError(
                f"use_cache false needs a model with a cached decoder (transformer); this model is {model_name}"
            )
        conf = {key: value for key, value in conf.items() if key != "use_cache"}
    given = [key for key in PROSODY_OPTIONS if key in conf and conf[key] != PROSODY_DEFAULTS[key]]
    given += [key for key in ("durations", "pitch", "energy") if key in overrides]
    pitch_energy = [key for key in given if key in PITCH_ENERGY_OPTIONS]
    if pitch_energy and not (tts.supports_prosody_control and tts.needs_pitch_energy):
        raise ValueError(
            f"{pitch_energy[0]} needs a model with pitch and energy predictors (fastspeech2); "
            f"this model is {model_name}"
        )
    if not tts.supports_prosody_control:
        if given:
            raise ValueError(
                f"{given[0]} needs a model with a duration predictor (fastspeech2, fastspeech); "
                f"this model is {model_name}"
            )
        return {key: value for key, value in conf.items() if key not in PROSODY_OPTIONS}
    return {key: value for key, value in conf.items() if key not in ATTENTION_OPTIONS}
