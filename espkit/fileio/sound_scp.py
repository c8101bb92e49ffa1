"""Audio reading/writing through soundfile (libsndfile) and ``wav.scp`` readers/writers.

Reads every format libsndfile reads -- WAV (8/16/24/32-bit PCM, 32/64-bit float), FLAC, OGG
Vorbis/Opus, ... -- from files, from bytes, from Kaldi pipe entries (``<uid> <command> |``,
:mod:`espkit.fileio.pipe_command`) and through Kaldi ``segments``; writes WAV.

Arrays are ``(T,)`` for mono and ``(T, C)`` for multichannel audio (``(T, 1)`` for mono with
``always_2d=True``). Without ``dtype`` the stored sample type is returned: int16 for 16-bit (and
8-bit) PCM, int32 for 24/32-bit PCM (24-bit left-aligned), float32 for float and compressed
formats (float64 for 64-bit float). Float audio is in ``[-1, 1]``: int16 samples map by
``/ 32768``, int32 by ``/ 2**31``.

>>> with SoundScpWriter("dump/wav", "dump/wav.scp") as writer:  # doctest: +SKIP
...     writer["utt1"] = (22050, np.zeros(22050, dtype=np.float32))
>>> fs, wav = SoundScpReader("dump/wav.scp", dtype="float32")["utt1"]  # doctest: +SKIP
>>> segs = SoundScpReader("data/train/wav.scp", segments="data/train/segments")  # doctest: +SKIP
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import numpy as np
import soundfile

from espkit.fileio.abs_scp import AbsScpReader, AbsScpWriter
from espkit.fileio.pipe_command import is_pipe_entry, run_pipe_command
from espkit.fileio.read_text import DataFormatError, read_lines_with_numbers
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

WAV_SUBTYPES = ("PCM_16", "PCM_32", "FLOAT")
FLOAT_DTYPES = ("float32", "float64")
PCM_DTYPES = ("int16", "int32")
_DTYPE_SUBTYPES = {"int16": "PCM_16", "int32": "PCM_32", "float32": "FLOAT", "float64": "FLOAT"}

# Full scale of each stored integer type: float value = int value / full scale.
_INT_FULL_SCALE = {np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}
# The type libsndfile returns a subtype's samples in without rescaling (int16 holds 8-bit PCM
# shifted up; int32 holds 24-bit PCM left-aligned); other subtypes (compressed) come as float32.
_STORED_DTYPES = {
    **dict.fromkeys(("PCM_S8", "PCM_U8", "PCM_16", "ULAW", "ALAW", "ALAC_16", "DPCM_8", "DPCM_16"), "int16"),
    **dict.fromkeys(("PCM_24", "PCM_32", "ALAC_20", "ALAC_24", "ALAC_32"), "int32"),
    "DOUBLE": "float64",
}
# libsndfile's log of a WAV whose data chunk claims more bytes than the file holds
_SHORT_DATA_CHUNK = re.compile(r"^data\s*:\s*(\d+) \(should be (\d+)\)", re.MULTILINE)


class NonFiniteSamplesError(DataFormatError):
    """A float audio file holds NaN or inf samples (the message names the file and the first one)."""


def _to_float(array: np.ndarray, dtype: str) -> np.ndarray:
    """Convert stored samples to float in [-1, 1]."""
    if array.dtype in _INT_FULL_SCALE:  # one pass; the same values as dividing in float64 (powers of two)
        return np.multiply(array, 1.0 / _INT_FULL_SCALE[array.dtype], dtype=dtype)
    return array.astype(dtype, copy=False)


def _check_dtype(dtype: str | type | np.dtype | None) -> str | None:
    if dtype is None:
        return None
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype)  # not a numpy type name; rejected just below
    if name not in FLOAT_DTYPES:
        raise ValueError(f"Unsupported dtype {name!r}; valid: None, {', '.join(FLOAT_DTYPES)}")
    return name


def _segment_frames(name: str, start_s: float, end_s: float, fs: int, num_frames: int) -> tuple[int, int]:
    """Sample range ``[start, stop)`` of a segment (``end_s`` -1: to the end of the recording)."""
    start = int(round(start_s * fs))
    stop = num_frames if end_s < 0 else int(round(end_s * fs))
    if stop > num_frames:
        raise DataFormatError(
            f"{name}: the segment ends at {end_s:.3f} s but the recording is "
            f"{num_frames / fs:.3f} s long ({num_frames} samples at {fs} Hz); fix its end time in segments"
        )
    if start >= stop:
        raise DataFormatError(f"{name}: the segment {start_s:.3f}-{end_s:.3f} s holds no sample")
    return start, stop


def _decode(source: Path | bytes, name: str, segment: tuple[float, float] | None = None) -> tuple[int, np.ndarray]:
    """``(fs, (T, C) stored samples)`` of an audio file or its bytes; ``segment`` ``(start_s, end_s)``
    reads only that part (end -1: to the end)."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with soundfile.SoundFile(stream) as sound:
            fs, num_frames = sound.samplerate, sound.frames
            start, stop = 0, num_frames
            if segment is not None:
                start, stop = _segment_frames(name, *segment, fs=fs, num_frames=num_frames)
                if start:
                    sound.seek(start)
            array = sound.read(stop - start, dtype=_STORED_DTYPES.get(sound.subtype, "float32"), always_2d=True)
            log = sound.extra_info if sound.format in ("WAV", "WAVEX") else ""
    except (soundfile.LibsndfileError, RuntimeError) as e:
        message = (getattr(e, "error_string", None) or str(e)).strip().rstrip(".")
        raise DataFormatError(
            f"{name}: cannot read as audio (truncated or not a format libsndfile reads?): {message}"
        ) from None
    if len(array) != stop - start:
        raise DataFormatError(
            f"{name}: the file ends after {start + len(array)} of its {num_frames} samples (truncated?)"
        )
    short = _SHORT_DATA_CHUNK.search(log)
    if short:
        logger.warning(
            "%s: the data chunk declares %s bytes but the file holds %s; reading those", name, *short.groups()
        )
    return fs, array


def _finish(
    name: str, fs: int, array: np.ndarray, expected_fs: int | None, dtype: str | None, always_2d: bool
) -> tuple[int, np.ndarray]:
    """Check the rate and the samples of a decoded ``(T, C)`` array and shape/convert it."""
    if expected_fs is not None and fs != expected_fs:
        raise DataFormatError(
            f"{name}: sampling rate is {fs} Hz but {expected_fs} Hz is expected; resample the audio in data "
            f"preparation (tts.sh stage 2 with --fs {expected_fs}, or `sox in.wav -r {expected_fs} out.wav`) "
            "or change the configured fs"
        )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = np.flatnonzero(~np.isfinite(array).all(axis=1))
        raise NonFiniteSamplesError(
            f"{name}: {len(bad)} sample(s) are NaN or inf (first at sample {bad[0]}, "
            f"{bad[0] / fs:.3f} s); fix or drop this file"
        )
    if dtype is not None:
        array = _to_float(array, dtype)
    if array.shape[1] == 1 and not always_2d:
        array = array[:, 0]
    return fs, array


def read_wav(
    path: str | Path,
    expected_fs: int | None = None,
    dtype: str | type | np.dtype | None = None,
    always_2d: bool = False,
) -> tuple[int, np.ndarray]:
    """Read an audio file: WAV (8/16/24/32-bit PCM, float), FLAC, OGG, ... (what libsndfile reads).

    Args:
        path: Audio file.
        expected_fs: If given, the file's sampling rate must equal it.
        dtype: None keeps the stored sample type (see the module doc); "float32"/"float64"
            convert to float in [-1, 1].
        always_2d: Return mono audio as ``(T, 1)`` instead of ``(T,)``.

    Returns:
        ``(fs, array)`` with array ``(T,)`` or ``(T, C)``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: unknown dtype.
        DataFormatError (a ValueError): unreadable, truncated or corrupt file, sampling-rate
            mismatch, or NaN/inf samples (:class:`NonFiniteSamplesError`).
    """
    dtype = _check_dtype(dtype)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such audio file")
    fs, array = _decode(path, str(path))
    return _finish(str(path), fs, array, expected_fs, dtype, always_2d)


def read_wav_bytes(
    data: bytes,
    name: str = "<bytes>",
    expected_fs: int | None = None,
    dtype: str | type | np.dtype | None = None,
    always_2d: bool = False,
) -> tuple[int, np.ndarray]:
    """:func:`read_wav` of the bytes of an audio file (an upload, a pipe's output); ``name`` is
    how messages call it."""
    dtype = _check_dtype(dtype)
    fs, array = _decode(bytes(data), name)
    return _finish(name, fs, array, expected_fs, dtype, always_2d)


def _to_pcm(array: np.ndarray, int_dtype: type) -> np.ndarray:
    """Convert float in [-1, 1] (clipped) or int16/int32 samples to ``int_dtype`` samples."""
    target = np.dtype(int_dtype)
    if array.dtype == target:
        return array
    info = np.iinfo(target)
    if array.dtype in _INT_FULL_SCALE:
        scaled = array.astype(np.float64) * (_INT_FULL_SCALE[target] / _INT_FULL_SCALE[array.dtype])
    else:
        scaled = array.astype(np.float64) * _INT_FULL_SCALE[target]
    return np.clip(np.round(scaled), info.min, info.max).astype(target)


def wav_bytes(fs: int, array: np.ndarray, subtype: str = "PCM_16", name: str = "<bytes>") -> bytes:
    """The bytes of a WAV file holding ``array`` (``(T,)`` or ``(T, C)``); see :func:`write_wav`."""
    if subtype not in WAV_SUBTYPES:
        raise ValueError(f"{name}: unknown WAV subtype {subtype!r}; valid: {', '.join(WAV_SUBTYPES)}")
    if isinstance(fs, bool) or not isinstance(fs, (int, np.integer)) or fs <= 0:
        raise ValueError(f"{name}: sampling rate must be a positive int, got {fs!r}")
    array = np.asarray(array)
    if array.ndim not in (1, 2):
        raise ValueError(f"{name}: audio must be (T,) or (T, C), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or array.dtype in _INT_FULL_SCALE):
        raise ValueError(f"{name}: unsupported sample type {array.dtype}; give float in [-1, 1], int16 or int32")
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: audio contains NaN or inf")

    if subtype == "PCM_16":
        data = _to_pcm(array, np.int16)
    elif subtype == "PCM_32":
        data = _to_pcm(array, np.int32)
    else:
        data = _to_float(array, "float32")
    buffer = io.BytesIO()
    soundfile.write(buffer, data, int(fs), subtype=subtype, format="WAV")
    return buffer.getvalue()


def write_wav(path: str | Path, fs: int, array: np.ndarray, subtype: str = "PCM_16") -> None:
    """Write ``array`` (``(T,)`` or ``(T, C)``) as a WAV file; parent directories are created.

    Args:
        path: Output file.
        fs: Sampling rate in Hz.
        array: Float samples in [-1, 1] (clipped for PCM), or int16/int32 samples
            (int16 written as is for PCM_16; other int widths are rescaled).
        subtype: "PCM_16", "PCM_32" or "FLOAT" (32-bit float).

    Raises:
        ValueError: unknown subtype, bad fs, shape or sample type, or NaN/inf samples.
    """
    path = Path(path)
    content = wav_bytes(fs, array, subtype=subtype, name=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def read_segments(path: str | Path, recordings: set[str] | None = None) -> dict[str, tuple[str, float, float]]:
    """Read a Kaldi ``segments`` file (``<uid> <recording> <start_s> <end_s>``; end -1 = to the end).

    Returns:
        ``uid -> (recording, start_s, end_s)`` in file order.

    Raises:
        DataFormatError: a line without 4 fields, times that are not numbers, a negative start, an
            end not after the start, a duplicate uid, or (with ``recordings``) a recording not in it;
            the message names ``path:line``.
    """
    segments: dict[str, tuple[str, float, float]] = {}
    for lineno, uid, value in read_lines_with_numbers(path):
        fields = value.split()
        where = f"{path}:{lineno}: uid {uid!r}"
        if len(fields) != 3:
            raise DataFormatError(
                f"{where}: expected '<uid> <recording> <start_s> <end_s>', got {len(fields) + 1} fields"
            )
        recording, start_text, end_text = fields
        try:
            start_s, end_s = float(start_text), float(end_text)
        except ValueError:
            raise DataFormatError(f"{where}: start/end {start_text!r} {end_text!r} are not numbers (seconds)") from None
        if not (np.isfinite(start_s) and np.isfinite(end_s)) or start_s < 0:
            raise DataFormatError(f"{where}: start {start_text} must be a finite number of seconds >= 0")
        if end_s != -1 and end_s <= start_s:
            raise DataFormatError(f"{where}: end {end_text} must be after start {start_text} (or -1: to the end)")
        if uid in segments:
            raise DataFormatError(f"{where}: duplicate uid")
        if recordings is not None and recording not in recordings:
            raise DataFormatError(f"{where}: recording {recording!r} is not in the wav.scp")
        segments[uid] = (recording, start_s, end_s)
    return segments


class SoundScpReader(AbsScpReader):
    """Lazy ``uid -> (fs, array)`` mapping over a ``wav.scp`` (``<uid> <audio file>`` lines).

    Each file is read when its uid is accessed; see :func:`read_wav` for the formats and
    arguments. Relative paths are resolved against the current working directory. A value
    ending in ``|`` is a Kaldi pipe command whose stdout is the audio
    (:mod:`espkit.fileio.pipe_command`: how it runs and its trust model); errors name the scp
    file and the uid.

    ``dtype`` may be a name or a numpy type (``np.int16``): a float type converts to [-1, 1], an
    integer type gives PCM samples of that width. ``normalize=True`` (older ESPnet2) with no
    ``dtype`` means float64 in [-1, 1].

    With ``segments`` (a Kaldi ``segments`` file, :func:`read_segments`), the keys are its
    utterance ids and each value is that stretch of its recording (a ``wav.scp`` uid); a segment
    that ends past its recording is an error naming the uid.

    With ``multi_columns`` (ESPnet2), a line may list several files (``<uid> <wav1> <wav2> ...``,
    e.g. one per microphone): they are read as ``(T, C_i)`` and concatenated along
    ``concat_axis`` (1: channels); their sampling rates and lengths must agree.
    """

    @typechecked
    def __init__(
        self,
        fname: str | Path,
        dtype: str | type | np.dtype | None = None,
        always_2d: bool = False,
        multi_columns: bool = False,
        concat_axis: int = 1,
        normalize: bool = False,
        expected_fs: int | None = None,
        segments: str | Path | None = None,
    ):
        super().__init__(fname)
        if dtype is None and normalize:
            dtype = "float64"
        self.dtype = None if dtype is None else np.dtype(dtype).name
        if self.dtype is not None and self.dtype not in FLOAT_DTYPES + PCM_DTYPES:
            valid = ", ".join(FLOAT_DTYPES + PCM_DTYPES)
            raise ValueError(f"{fname}: unsupported dtype {self.dtype!r}; valid: {valid}")
        self.always_2d = always_2d
        self.multi_columns = multi_columns
        self.concat_axis = concat_axis
        self.expected_fs = expected_fs
        self.segments_file = None if segments is None else Path(segments)
        self.segments = None
        if segments is not None:
            if multi_columns:
                raise ValueError(f"{fname}: segments cannot be combined with multi_columns")
            self.recordings = self.data
            self.segments = read_segments(segments, set(self.recordings))
            self.data = {uid: self.recordings[rec] for uid, (rec, _, _) in self.segments.items()}
        self._pipe_output: tuple[str, bytes] | None = None  # the last pipe's (command, stdout)

    def _run_pipe(self, value: str, uid: str) -> bytes:
        """The stdout of a pipe entry; the last one is kept (consecutive segments of one recording)."""
        if self._pipe_output is None or self._pipe_output[0] != value:
            self._pipe_output = (value, run_pipe_command(value, uid, self.fname))
        return self._pipe_output[1]

    def _read(self, uid: str | None, value: str, always_2d: bool) -> tuple[int, np.ndarray]:
        """Read the entry ``value`` of ``uid`` (None: a file named outside the table)."""
        segment = None
        where = "" if uid is None else f"uid {uid!r} of {self.fname}"
        if uid is not None and self.segments is not None:
            recording, start_s, end_s = self.segments[uid]
            segment = (start_s, end_s)
            where = f"uid {uid!r} of {self.segments_file}, recording {recording!r} of {self.fname}"
        if is_pipe_entry(value):
            name = f"{where}: the output of {value!r}"
            fs, array = _decode(self._run_pipe(value, uid), name, segment)
        else:
            name = f"{value} ({where})" if where else value
            if not Path(value).is_file():
                raise FileNotFoundError(f"{name}: no such audio file")
            fs, array = _decode(Path(value), name, segment)
        if self.dtype in PCM_DTYPES:
            fs, array = _finish(name, fs, array, self.expected_fs, None, always_2d)
            return fs, array if array.dtype == np.dtype(self.dtype) else _to_pcm(array, np.dtype(self.dtype).type)
        return _finish(name, fs, array, self.expected_fs, self.dtype, always_2d)

    def __getitem__(self, uid: str) -> tuple[int, np.ndarray]:
        value = self.get_path(uid)
        if not self.multi_columns:
            return self._read(uid, value, self.always_2d)
        if is_pipe_entry(value):
            raise ValueError(f"{self.fname}: uid {uid!r}: pipe commands cannot be combined with multi_columns")
        loaded = [self._read(uid, p, True) for p in value.split()]
        rates = {fs for fs, _ in loaded}
        if len(rates) != 1:
            raise ValueError(f"{self.fname}: the files of {value!r} have different sampling rates {sorted(rates)}")
        try:
            array = np.concatenate([a for _, a in loaded], axis=self.concat_axis)
        except ValueError as exc:
            raise ValueError(f"{self.fname}: cannot concatenate the files of {value!r}: {exc}") from None
        if array.shape[1] == 1 and not self.always_2d:
            array = array[:, 0]
        return rates.pop(), array

    def load(self, path: str) -> tuple[int, np.ndarray]:
        """Read one audio file (a path as written in the scp, not a pipe)."""
        return self._read(None, path, self.always_2d)


class SoundScpWriter(AbsScpWriter):
    """``writer[uid] = (fs, array)`` writes ``<outdir>/<uid>.wav`` and appends it to ``scpfile``.

    >>> with SoundScpWriter("dump/wav", "dump/wav.scp", subtype="FLOAT") as writer:  # doctest: +SKIP
    ...     writer["utt1"] = (16000, wav)
    """

    @typechecked
    def __init__(
        self,
        outdir: str | Path,
        scpfile: str | Path,
        format: str = "wav",
        multi_columns: bool = False,
        subtype: str | None = None,
        dtype: str | type | np.dtype | None = None,
    ):
        if multi_columns:
            raise ValueError(f"{scpfile}: SoundScpWriter(multi_columns=True) is not supported; write one file per uid")
        if subtype is None:  # ESPnet2's None: soundfile's default for WAV, or older ESPnet2's dtype
            subtype = _DTYPE_SUBTYPES.get(None if dtype is None else np.dtype(dtype).name, "PCM_16")
        if format != "wav":
            raise ValueError(f"Unsupported audio format {format!r}; valid: wav")
        if subtype not in WAV_SUBTYPES:
            raise ValueError(f"Unknown WAV subtype {subtype!r}; valid: {', '.join(WAV_SUBTYPES)}")
        self.format = format
        self.subtype = subtype
        self.suffix = f".{format}"
        super().__init__(outdir, scpfile)

    def save(self, path: Path, value: tuple[int, np.ndarray]) -> None:
        if not (isinstance(value, tuple) and len(value) == 2):
            raise TypeError(f"{self.scpfile}: expected (fs, array) for {path.name}, got {type(value).__name__}")
        fs, array = value
        write_wav(path, fs, array, subtype=self.subtype)
