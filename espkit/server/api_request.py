"""A ``/api/tts`` request, checked: its fields from JSON, a query string or a multipart form, and
what the chosen model can honour. Every mistake is a :class:`RequestError` naming the field."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

import numpy as np

from espkit.server.audio import UploadError, read_reference
from espkit.server.synthesis import capabilities, split_sentences
from espkit.tts.decode_options import check_decode_conf, check_model_options
from espkit.tts.text2speech import Text2Speech

#: The fields of a request (the multipart form adds the file ``reference``).
FIELDS = (
    "model",
    "text",
    "emotion",
    "speaker",
    "speed",
    "pitch_scale",
    "pitch_shift_cents",
    "energy_scale",
    "seed",
    "format",
    "stream",
)
FORMATS = ("wav", "json", "ndjson")
#: The prosody controls: their ranges and the model property each needs (:func:`capabilities`).
CONTROL_RANGES = {
    "speed": (0.25, 4.0),
    "pitch_scale": (0.0, 4.0),
    "energy_scale": (0.0, 4.0),
    "pitch_shift_cents": (-2400.0, 2400.0),
}
_CANNOT = {
    "speed": "has no duration predictor (Tacotron2 decodes its own timing)",
    "pitch_scale": "has no pitch predictor (only FastSpeech2 has)",
    "energy_scale": "has no energy predictor (only FastSpeech2 has)",
    "pitch_shift_cents": "was not trained on log-F0 (FastSpeech2 with use_log_f0)",
    "emotion": "is not conditioned on emotion labels",
    "speaker": "has one speaker (no speaker ids)",
    "reference": "cannot take an emotion from a reference utterance (no emotion extractor and classifier)",
}
MAX_SEED = 2**63 - 1


@dataclass
class Limits:
    """What one request may ask: characters of text, bytes of a JSON body and of an upload,
    seconds of reference audio and of synthesis."""

    max_text_chars: int = 2000
    max_body_bytes: int = 64 * 1024
    max_upload_bytes: int = 4 * 1024 * 1024
    max_reference_s: float = 30.0
    timeout_s: float = 60.0


class RequestError(Exception):
    """A request that cannot be served: ``status`` (4xx), the ``field`` at fault (or None) and why."""

    def __init__(self, field: Optional[str], message: str, status: int = 400):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.status = status

    def to_json(self) -> Dict[str, Any]:
        """The JSON body of the error response."""
        return {"error": str(self), "field": self.field}


@dataclass
class TTSRequest:
    """A checked request: ``sentences`` of ``text``, the model's ``emotion`` input, ``decode_conf``
    (prosody controls), ``reference`` ``(T_wav,)`` float32 or None, ``seed``, ``format``, ``stream``
    and the ``speaker``'s name (None for a single-speaker model)."""

    model: str
    text: str
    sentences: List[str]
    emotion: Any = None
    decode_conf: Dict[str, float] = field(default_factory=dict)
    reference: Optional[np.ndarray] = None
    seed: int = 777
    format: str = "wav"
    stream: bool = False
    speaker: Optional[str] = None


def _number(name: str, value: Any, from_strings: bool) -> float:
    if from_strings and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise RequestError(name, f"must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RequestError(name, f"must be a finite number, got {value!r}")
    low, high = CONTROL_RANGES[name]
    if not low <= value <= high:
        raise RequestError(name, f"must be in [{low:g}, {high:g}], got {value:g}")
    return float(value)


def _seed(value: Any, from_strings: bool) -> int:
    if from_strings and isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise RequestError("seed", f"must be an integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise RequestError("seed", f"must be an integer in [0, 2**63 - 1], got {value!r}")
    return value


def _flag(value: Any, from_strings: bool) -> bool:
    if from_strings and isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if not isinstance(value, bool):
        raise RequestError("stream", f"must be true or false, got {value!r}")
    return value


def _who_can(models: Mapping[str, Text2Speech], control: str) -> str:
    able = [name for name, tts in models.items() if capabilities(tts)[control]]
    return f"; models that can: {', '.join(able)}" if able else ""


def _cannot(models: Mapping[str, Text2Speech], name: str, tts: Text2Speech, control: str) -> RequestError:
    return RequestError(
        control,
        f"model {name!r} ({tts.model_name}) {_CANNOT[control]}, so it cannot honour {control}"
        + _who_can(models, control),
    )


def parse_tts_request(
    fields: Mapping[str, Any],
    models: Mapping[str, Text2Speech],
    limits: Limits,
    from_strings: bool = False,
    reference: Optional[bytes] = None,
    default_seed: int = 777,
) -> TTSRequest:
    """Check the fields of a request against ``limits`` and the chosen model.

    Args:
        fields: the request's fields (:data:`FIELDS`).
        models: the served models by name (the first is the default ``model``).
        limits: the server's limits.
        from_strings: the values are strings (a query string or a form): numbers and flags are parsed.
        reference: the bytes of an uploaded reference WAV, if any.
        default_seed: the seed when the request gives none.

    Raises:
        RequestError: an unknown field, a value of the wrong type or range, a control the model
            cannot honour, an unusable upload; the message names the field.
    """
    unknown = [key for key in fields if key not in FIELDS]
    if unknown:
        raise RequestError(unknown[0], f"unknown field; valid: {', '.join(FIELDS)}")
    name = fields.get("model", next(iter(models)))
    if name not in models:
        raise RequestError("model", f"no model {name!r}; served: {', '.join(models)}", 404)
    tts = models[name]
    caps = capabilities(tts)

    text = fields.get("text")
    if not isinstance(text, str) or not text.strip():
        raise RequestError("text", "required: a non-empty string")
    if len(text) > limits.max_text_chars:
        raise RequestError("text", f"{len(text)} characters is over the limit of {limits.max_text_chars}")
    sentences = split_sentences(text)

    request_format = fields.get("format", "wav")
    if request_format not in FORMATS:
        raise RequestError("format", f"must be one of {', '.join(FORMATS)}, got {request_format!r}")
    stream = request_format == "ndjson" or (request_format == "wav" and len(sentences) > 1)
    if "stream" in fields:
        stream = _flag(fields["stream"], from_strings)
        if stream and request_format == "json":
            raise RequestError("stream", "format json is one document; stream with format wav or ndjson")
        if not stream and request_format == "ndjson":
            raise RequestError("stream", "format ndjson is always streamed")

    decode_conf: Dict[str, float] = {}
    for control in CONTROL_RANGES:
        if fields.get(control) is None:
            continue
        value = _number(control, fields[control], from_strings)
        if not caps[control]:
            raise _cannot(models, name, tts, control)
        decode_conf["alpha" if control == "speed" else control] = 1.0 / value if control == "speed" else value
    try:
        check_model_options(check_decode_conf(decode_conf), tts.model.tts, tts.model_name)
    except ValueError as e:  # the checks above should have caught it; keep the model's own word
        raise RequestError(None, str(e)) from None

    waveform = None
    if reference is not None:
        if not caps["reference"]:
            raise _cannot(models, name, tts, "reference")
        if len(reference) > limits.max_upload_bytes:
            raise RequestError(
                "reference", f"{len(reference)} bytes is over the limit of {limits.max_upload_bytes}", 413
            )
        try:
            waveform = read_reference(reference, tts.fs, limits.max_reference_s)
        except UploadError as e:
            raise RequestError("reference", str(e).removeprefix("reference: "), e.status) from None
    elif caps["needs_reference"]:
        raise RequestError("reference", f"model {name!r} takes its emotion from a reference WAV only: upload one")

    emotion = fields.get("emotion")
    if emotion is not None:
        if not caps["emotion"]:
            raise _cannot(models, name, tts, "emotion")
        if waveform is not None:
            raise RequestError("emotion", "give an emotion or a reference, not both")
        if not isinstance(emotion, (str, dict)):
            raise RequestError("emotion", f"must be a name or a {{name: weight}} mix, got {emotion!r}")
        try:
            _, label, _ = tts.resolve_emotion(emotion)
        except (ValueError, TypeError) as e:
            raise RequestError("emotion", str(e)) from None
        emotion = label
    elif caps["emotion"] and waveform is None:
        emotion = tts.emotions.emo_list[0]

    speaker = fields.get("speaker")
    if speaker is not None:
        if not caps["speaker"]:
            raise _cannot(models, name, tts, "speaker")
        if isinstance(speaker, bool) or not isinstance(speaker, (str, int)):
            raise RequestError("speaker", f"must be a speaker's name or id, got {speaker!r}")
        try:
            _, speaker = tts.resolve_speaker(speaker)
        except ValueError as e:
            raise RequestError("speaker", str(e)) from None
    elif caps["speaker"]:
        speaker = tts.speaker_names()[0]

    seed = _seed(fields["seed"], from_strings) if fields.get("seed") is not None else default_seed
    return TTSRequest(name, text, sentences, emotion, decode_conf, waveform, seed, request_format, stream, speaker)
