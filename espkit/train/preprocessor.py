"""Per-example preprocessing: text -> token ids, emotion / speaker names -> ids; vocoder speech/feature checks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Sequence, Union

import numpy as np

from espkit.fileio.read_text import DataFormatError
from espkit.text.build_tokenizer import build_tokenizer
from espkit.text.cleaner import TextCleaner
from espkit.text.token_id_converter import TokenIDConverter
from espkit.tts.emotion.emo_list import EmotionLabelConverter
from espkit.tts.speaker.spk_list import SpeakerConverter
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)


class TTSPreprocessor:
    """``preprocess(uid, data) -> data`` for ``ESPnetDataset``.

    - ``data[text_name]`` (str) -> cleaned, tokenised, int ids ``(T_text,)``; a token missing from
      the token list becomes ``<unk>`` with a warning (once per distinct token and process: each
      DataLoader worker warns for itself);
    - ``data[emo_name]`` (str, an ``utt2emo`` value) -> label id ``()`` (int64);
    - ``data["sids"]``: one speaker id (``utt2sid`` as ``text_int``) or a speaker name of
      ``spk_list`` (``utt2spk`` as ``text``) -> ``(1,)`` int64 in ``[0, spks)``; ``data["lids"]``
      likewise (ids only, in ``[0, langs)``); ``data["spembs"]`` (a speaker vector from a ``*.npy``
      scp) must be ``(spk_embed_dim,)``;
    - ``data[speech_name]``, a waveform, must be mono: ``(T,)`` stays, ``(T, 1)`` becomes ``(T,)``
      (``speech_name=None`` when speech is given as features ``(T_feats, odim)``);
    - ``data[durations_name]`` (teacher durations, ``(T_text + 1,)`` ints) must be >= 0, one per token
      plus one for ``<sos/eos>``, and, with ``frame_grid`` and a waveform, sum to its frame count;
    - everything else passes through.

    Bad data (an unknown emotion or speaker, a speaker id >= ``spks``, multichannel speech,
    durations that do not fit) raises ``DataFormatError`` naming the uid.

    Args:
        token_type: ``char``, ``phn`` or ``word`` (see ``espkit.text.build_tokenizer``).
        token_list: Token list file or list; ids follow its order.
        emo_list: Emotion label names (list, file or comma-separated); needed when data has emotions.
        g2p_type: Grapheme-to-phoneme backend for ``phn`` (e.g. ``espeak_ng_english``).
        frame_grid: the features' STFT (``n_frames(num_samples)``) that durations must add up to.
        spk_list: speaker names (list, file or comma-separated): ``sids`` may then be names.
        spks: number of speaker ids (default: the length of ``spk_list``; None: not checked).
        langs: number of language ids (None: not checked).
        spk_embed_dim: size of ``spembs`` (None: not checked).
    """

    @typechecked
    def __init__(
        self,
        token_type: Optional[str] = None,
        token_list: Union[str, Path, Sequence[str], None] = None,
        cleaner: Union[str, Sequence[str], None] = None,
        g2p_type: Optional[str] = None,
        non_linguistic_symbols: Union[str, Path, Sequence[str], None] = None,
        unk_symbol: str = "<unk>",
        space_symbol: str = "<space>",
        emo_list: Union[str, Path, Sequence[str], None] = None,
        text_name: str = "text",
        emo_name: str = "emo_labs",
        speech_name: Optional[str] = "speech",
        durations_name: str = "durations",
        frame_grid: Any = None,
        spk_list: Union[str, Path, Sequence[str], None] = None,
        spks: Optional[int] = None,
        langs: Optional[int] = None,
        spk_embed_dim: Optional[int] = None,
    ):
        self.text_name = text_name
        self.durations_name = durations_name
        self.frame_grid = frame_grid
        self.emo_name = emo_name
        self.speech_name = speech_name
        self._unknown_tokens: set = set()
        self.cleaner = TextCleaner(cleaner)
        if token_type is not None:
            if token_list is None:
                raise ValueError("token_list is required with token_type (set --token_list)")
            self.tokenizer = build_tokenizer(
                token_type=token_type,
                non_linguistic_symbols=non_linguistic_symbols,
                space_symbol=space_symbol,
                g2p_type=g2p_type,
            )
            self.converter = TokenIDConverter(token_list, unk_symbol=unk_symbol)
        else:
            self.tokenizer = None
            self.converter = None
        self.emotions = EmotionLabelConverter(emo_list) if emo_list is not None else None
        self.speakers = SpeakerConverter(spk_list) if spk_list is not None else None
        if spks is None and self.speakers is not None:
            spks = len(self.speakers)
        self.num_ids = {"sids": spks, "lids": langs}
        self.spk_embed_dim = spk_embed_dim

    def warm_up(self, texts: Iterable[str]) -> None:
        """Tokenise many texts in one batch (one g2p process) so later lookups hit the cache."""
        if self.tokenizer is not None:
            self.tokenizer.text2tokens_batch([self.cleaner(t) for t in texts])

    def text_to_ids(self, text: str, uid: Optional[str] = None) -> np.ndarray:
        """Cleaned, tokenised text as int64 ids ``(T_text,)``; unknown tokens warned about once."""
        tokens = self.tokenizer.text2tokens(self.cleaner(text))
        unknown = sorted({t for t in tokens if t not in self.converter.token2id} - self._unknown_tokens)
        if unknown:
            self._unknown_tokens.update(unknown)
            logger.warning(
                "%s%s not in the token list %s: mapped to %s (further occurrences are not reported)",
                f"uid {uid!r}: " if uid is not None else "",
                ", ".join(repr(t) for t in unknown),
                self.converter.token_list_repr,
                self.converter.unk_symbol,
            )
        return np.asarray(self.converter.tokens2ids(tokens), dtype=np.int64)

    def __call__(self, uid: str, data: Dict[str, Any]) -> Dict[str, Any]:
        data = dict(data)
        if self.text_name in data and isinstance(data[self.text_name], str):
            if self.tokenizer is None:
                raise ValueError(f"uid {uid!r}: got raw text but no token_type/token_list is configured")
            data[self.text_name] = self.text_to_ids(data[self.text_name], uid)
        if self.emo_name in data and isinstance(data[self.emo_name], str):
            if self.emotions is None:
                raise ValueError(f"uid {uid!r}: got emotion label {data[self.emo_name]!r} but no --emo_list is set")
            try:
                label_id = self.emotions.name2id(data[self.emo_name].strip())
            except ValueError as error:
                raise DataFormatError(f"uid {uid!r} ({self.emo_name}): {error}") from None
            data[self.emo_name] = np.asarray(label_id, dtype=np.int64)
        speech = data.get(self.speech_name) if self.speech_name is not None else None
        if isinstance(speech, np.ndarray) and speech.ndim == 2:
            if speech.shape[1] != 1:
                raise DataFormatError(
                    f"uid {uid!r} ({self.speech_name}): audio has {speech.shape[1]} channels but TTS needs mono; "
                    "mix it down (e.g. `sox in.wav -c 1 out.wav`)"
                )
            data[self.speech_name] = speech[:, 0]
        if self.durations_name in data:
            self.check_durations(uid, data)
        for name in ("sids", "lids"):
            if name in data:
                data[name] = self.one_id(uid, name, data[name])
        if "spembs" in data:
            self.check_spembs(uid, np.asarray(data["spembs"]))
        return data

    def one_id(self, uid: str, name: str, value: Any) -> np.ndarray:
        """A ``sids`` / ``lids`` value as ``(1,)`` int64; DataFormatError naming the uid unless it is one
        integer id in range (or, for ``sids`` with a speaker list, a speaker's name)."""
        option = "spks" if name == "sids" else "langs"
        if isinstance(value, str):
            if name != "sids" or self.speakers is None:
                raise DataFormatError(
                    f"uid {uid!r} ({name}): got the name {value.strip()!r} but no "
                    + ("--spk_list is set (give ids: utt2sid,sids,text_int)" if name == "sids" else "names are known")
                )
            try:
                value = self.speakers.to_id(value.strip())
            except ValueError as error:
                raise DataFormatError(f"uid {uid!r} ({name}): {error}") from None
        ids = np.asarray(value)
        if ids.size != 1 or ids.dtype.kind not in "iu":
            raise DataFormatError(
                f"uid {uid!r} ({name}): need one integer id (give the file as text_int), got {ids.tolist()!r}"
            )
        number, limit = int(ids.reshape(-1)[0]), self.num_ids[name]
        if number < 0 or (limit is not None and number >= limit):
            bound = f"[0, {limit}) ({option}={limit})" if limit is not None else "[0, ...)"
            raise DataFormatError(f"uid {uid!r} ({name}): id {number} is out of range {bound}")
        return np.asarray([number], dtype=np.int64)

    def check_spembs(self, uid: str, spembs: np.ndarray) -> None:
        """DataFormatError naming the uid unless ``spembs`` is a finite vector ``(spk_embed_dim,)``."""
        dim = self.spk_embed_dim
        if spembs.ndim != 1 or (dim is not None and spembs.shape[0] != dim) or spembs.dtype.kind != "f":
            want = f"({dim},)" if dim is not None else "a float vector"
            raise DataFormatError(
                f"uid {uid!r} (spembs): speaker embedding must be {want}, got {spembs.shape} {spembs.dtype}"
            )
        if not np.isfinite(spembs).all():
            raise DataFormatError(f"uid {uid!r} (spembs): speaker embedding has non-finite values")

    def check_durations(self, uid: str, data: Dict[str, Any]) -> None:
        """DataFormatError naming the uid unless ``data``'s durations fit its text and speech."""
        durations = np.asarray(data[self.durations_name])
        name = self.durations_name
        if durations.ndim != 1 or durations.dtype.kind not in "iu":
            raise DataFormatError(
                f"uid {uid!r} ({name}): durations must be integer frame counts, one per token; got "
                f"{durations.shape} {durations.dtype} (give the file as text_int)"
            )
        if (durations < 0).any():
            raise DataFormatError(f"uid {uid!r} ({name}): negative duration {int(durations.min())}")
        text = data.get(self.text_name)
        if isinstance(text, np.ndarray) and len(durations) != len(text) + 1:
            raise DataFormatError(
                f"uid {uid!r} ({name}): {len(durations)} durations for {len(text)} tokens; they need one per token "
                "plus one for <sos/eos> (made with another token list or text?)"
            )
        speech = data.get(self.speech_name) if self.speech_name is not None else None
        if self.frame_grid is not None and isinstance(speech, np.ndarray):
            frames = int(self.frame_grid.n_frames(len(speech)))
            if int(durations.sum()) != frames:
                raise DataFormatError(
                    f"uid {uid!r} ({name}): durations sum to {int(durations.sum())} frames but {self.speech_name}'s "
                    f"{len(speech)} samples give {frames} (teacher decoded with other feature settings or audio?)"
                )


class VocoderPreprocessor:
    """``preprocess(uid, data) -> data`` for the vocoder task (``GANTTSTask``).

    - ``data["speech"]`` must be mono, as in :class:`TTSPreprocessor`;
    - ``data["feats"]`` (optional: the acoustic model's teacher-forced features ``(T_feats, D)``
      to fine-tune on) must have the frame count of ``speech`` on ``frame_grid``, e.g.
      ``len(speech) // hop_length + 1``; otherwise ``DataFormatError`` names the uid.

    Args:
        frame_grid: the features' STFT (``n_frames(num_samples)``), e.g. ``LogMelFbank(...).stft``.
    """

    def __init__(self, frame_grid: Any, speech_name: str = "speech", feats_name: str = "feats"):
        self.frame_grid = frame_grid
        self.speech_name = speech_name
        self.feats_name = feats_name
        self.mono = TTSPreprocessor(speech_name=speech_name)

    def __call__(self, uid: str, data: Dict[str, Any]) -> Dict[str, Any]:
        data = self.mono(uid, data)
        feats, speech = data.get(self.feats_name), data.get(self.speech_name)
        if feats is not None and speech is not None:
            expected = self.frame_grid.n_frames(len(speech))
            if np.ndim(feats) != 2 or len(feats) != expected:
                raise DataFormatError(
                    f"uid {uid!r} ({self.feats_name}): {np.shape(feats)} but {self.speech_name}'s "
                    f"{len(speech)} samples give {expected} frames; feats must be (T_feats, D) of the same "
                    "utterance (e.g. tts_inference --use_teacher_forcing true, denorm/feats.scp)"
                )
        return data
