"""The models a server holds and the synthesis of one sentence, the unit of work of its workers.

A worker (a thread of the server process, or a process of its own: :mod:`espkit.server.pool`) holds
one :class:`~espkit.tts.text2speech.Text2Speech` per model (:func:`load_models`) and runs
:func:`synthesize_sentence` on :class:`SentenceJob` s. The module-level registry is the worker's:
each process has its own models and its own torch RNG, so a seed always decodes to the same audio.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

from espkit.tts.text2speech import Text2Speech

logger = logging.getLogger(__name__)

#: Sentence ends: ., !, ? or ; followed by white space, and line breaks.
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\s*\n+\s*")


@dataclass(frozen=True)
class ModelSpec:
    """How to load one served model: its ``name`` in the API, a packed ``model_file`` (zip) and the
    :class:`Text2Speech` options (``vocoder_file`` and Tacotron2's decoding options)."""

    name: str
    model_file: str
    vocoder_file: Optional[str] = None
    device: str = "cpu"
    decode_options: Dict[str, Any] = field(default_factory=dict)


@dataclass
class SentenceJob:
    """One sentence to synthesise.

    Attributes:
        model: the model's name.
        text: the sentence.
        emotion: an emotion name or a ``{name: weight}`` mix (None: the reference's or none).
        speaker: a multi-speaker model's speaker name (None: a single-speaker model).
        reference: reference waveform ``(T_wav,)`` float32 at the model's rate, or None.
        decode_conf: prosody controls (``alpha``, ``pitch_scale``, ...), checked.
        seed: the seed of this sentence's random stream.
        details: also return features, durations and attention.
    """

    model: str
    text: str
    emotion: Any = None
    reference: Optional[np.ndarray] = None
    decode_conf: Dict[str, float] = field(default_factory=dict)
    seed: int = 777
    details: bool = False
    speaker: Optional[str] = None


#: This worker's models by name (filled by :func:`load_models` or :func:`use_models`).
_MODELS: Dict[str, Text2Speech] = {}


def load_model(spec: ModelSpec) -> Text2Speech:
    """The :class:`Text2Speech` of ``spec`` (a packed zip; ValueError for anything else)."""
    path = Path(spec.model_file)
    if path.suffix != ".zip":
        raise ValueError(f"--model_file {spec.model_file}: give a packed model zip (espkit.bin.pack_model)")
    return Text2Speech.from_pretrained(
        path, vocoder_file=spec.vocoder_file, device=spec.device, **dict(spec.decode_options)
    )


def load_models(specs: Sequence[ModelSpec], num_threads: int = 1) -> Dict[str, Text2Speech]:
    """Load ``specs`` as this worker's models (a process pool's initializer); torch runs on
    ``num_threads`` threads here."""
    torch.set_num_threads(num_threads)
    _MODELS.clear()
    for spec in specs:
        _MODELS[spec.name] = load_model(spec)
    return dict(_MODELS)


def use_models(models: Dict[str, Text2Speech]) -> None:
    """Make already loaded ``models`` this worker's (the server's own thread)."""
    _MODELS.clear()
    _MODELS.update(models)


def ping() -> int:
    """A no-op job: returns how many models this worker holds (starts a pool's processes)."""
    return len(_MODELS)


def split_sentences(text: str) -> List[str]:
    """The sentences of ``text`` (split after ``.``, ``!``, ``?``, ``;`` and at line breaks), stripped,
    empty ones dropped.

    >>> split_sentences("One. Two!  Three\\nfour")
    ['One.', 'Two!', 'Three', 'four']
    """
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def capabilities(tts: Text2Speech) -> Dict[str, Any]:
    """What a request may set for this model: ``speed`` (a duration model), ``pitch_scale`` and
    ``energy_scale`` (pitch and energy predictors), ``pitch_shift_cents`` (trained on log-F0),
    ``emotion`` (label-conditioned), ``reference`` (an emotion from a reference utterance),
    ``needs_reference`` (conditioned on a reference only) and ``speaker`` (speaker ids)."""
    model, acoustic = tts.model, tts.model.tts
    duration = bool(acoustic.supports_prosody_control)
    pitch_energy = duration and bool(acoustic.needs_pitch_energy)
    pitch_extract = model.pitch_extract
    log_f0 = pitch_energy and pitch_extract is not None and bool(pitch_extract.get_parameters().get("use_log_f0"))
    labelled = tts.emotions is not None and model.emo_source == "label" and acoustic.num_emotions() > 0
    return {
        "speed": duration,
        "pitch_scale": pitch_energy,
        "energy_scale": pitch_energy,
        "pitch_shift_cents": log_f0,
        "emotion": labelled,
        "reference": bool(model.emotion_from_reference),
        "needs_reference": model.emo_source == "reference",
        "speaker": acoustic.num_speakers() > 0,
    }


def describe(name: str, tts: Text2Speech) -> Dict[str, Any]:
    """The ``/api/models`` entry of a model: name, architecture, rate, emotions, speakers (the names of
    its speaker list, or ids as strings; empty for a single-speaker model) and controls."""
    caps = capabilities(tts)
    emotions = list(tts.emotions.emo_list) if caps["emotion"] else []
    speakers = tts.speaker_names()
    return {
        "name": name,
        "architecture": tts.model_name,
        "sampling_rate": tts.fs,
        "emotions": emotions,
        "default_emotion": emotions[0] if emotions else None,
        "speakers": speakers,
        "default_speaker": speakers[0] if speakers else None,
        "controls": caps,
        "vocoder": "griffin_lim" if tts.vocoder_file is None else "trained",
    }


def _emotion_json(emotion: Dict[str, Any]) -> Dict[str, Any]:
    """``Text2Speech``'s ``emotion`` output as JSON values."""
    label = emotion.get("label")
    out: Dict[str, Any] = {
        "label": {name: round(weight, 4) for name, weight in label.items()} if isinstance(label, dict) else label
    }
    for key in ("weights", "posterior"):
        value = emotion.get(key)
        out[key] = None if value is None else [round(float(v), 4) for v in value]
    return out


def synthesize_sentence(job: SentenceJob) -> Dict[str, Any]:
    """Synthesise one sentence with this worker's model ``job.model``, from ``job.seed``.

    The model's random stream is restarted from ``job.seed``, so the result is that of
    ``Text2Speech(..., seed=job.seed)`` called once on the sentence.

    Returns:
        ``wav`` ``(T_wav,)`` float32, ``emotion`` (JSON), ``speaker``, ``timing`` and, with ``job.details``,
        ``features`` ``(T_feats, odim)`` (denormalised, float32), ``duration`` ``(T_text + 1,)``
        frames per token, ``tokens`` (``T_text + 1`` strings, ``<sos/eos>`` last) and ``attention``
        ``(T_feats, T_text + 1)`` (None for duration models).

    Raises:
        ValueError: the text or an option cannot be synthesised (the message says why).
    """
    tts = _MODELS[job.model]
    start = time.perf_counter()
    tts.random_state.reseed(job.seed)
    out = tts(job.text, speech=job.reference, emo_labs=job.emotion, decode_conf=dict(job.decode_conf), sids=job.speaker)
    wav = out["wav"].detach().float().cpu().numpy() if "wav" in out else np.zeros(0, np.float32)
    result: Dict[str, Any] = {
        "wav": wav,
        "emotion": _emotion_json(out["emotion"]),
        "speaker": out["speaker"],
        "timing": {**tts.last_timing, "total_s": time.perf_counter() - start},
    }
    if job.details:
        ids = tts.token_ids(job.text).cpu().numpy()
        token_list = list(tts.train_args.token_list)
        att_w = out.get("att_w")
        result.update(
            features=out["feat_gen_denorm"].detach().float().cpu().numpy(),
            duration=out["duration"].detach().cpu().numpy().astype(np.int64),
            tokens=[token_list[i] for i in ids] + ["<sos/eos>"],
            attention=None if att_w is None else att_w.detach().float().cpu().numpy(),
        )
    return result
