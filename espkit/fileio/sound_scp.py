"""WAV reading/writing (:mod:`espkit.fileio.wav_format`) and ``wav.scp`` readers/writers.

Arrays are ``(T,)`` for mono and ``(T, C)`` for multichannel audio (``(T, 1)`` for mono with
``always_2d=True``). Float audio is in ``[-1, 1]``: int16 samples map by ``/ 32768``, int32 by
``/ 2**31``.

>>> with SoundScpWriter("dump/wav", "dump/wav.scp") as writer:  # doctest: +SKIP
...     writer["utt1"] = (22050, np.zeros(22050, dtype=np.float32))
>>> fs, wav = SoundScpReader("dump/wav.scp", dtype="float32")["utt1"]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import numpy as np

from espkit.fileio.abs_scp import AbsScpReader, AbsScpWriter
from espkit.fileio.read_text import DataFormatError
from espkit.fileio.wav_format import WavFormatError, format_wav, parse_wav
from espkit.utils.typecheck import typechecked

logger = logging.getLogger(__name__)

WAV_SUBTYPES = ("PCM_16", "PCM_32", "FLOAT")
FLOAT_DTYPES = ("float32", "float64")
PCM_DTYPES = ("int16", "int32")
_DTYPE_SUBTYPES = {"int16": "PCM_16", "int32": "PCM_32", "float32": "FLOAT", "float64": "FLOAT"}

# Full scale of each stored integer type: float value = int value / full scale.
_INT_FULL_SCALE = {np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}


def _to_float(array: np.ndarray, dtype: str) -> np.ndarray:
    """Convert stored samples to float in [-1, 1]."""
    if array.dtype in _INT_FULL_SCALE:
        return (array / _INT_FULL_SCALE[array.dtype]).astype(dtype)
    if array.dtype == np.uint8:  # 8-bit WAV is unsigned with offset 128
        return ((array.astype(np.float64) - 128.0) / 128.0).astype(dtype)
    return array.astype(dtype)


def read_wav(
    path: str | Path,
    expected_fs: int | None = None,
    dtype: str | None = None,
    always_2d: bool = False,
) -> tuple[int, np.ndarray]:
    """Read a WAV file.

    Args:
        path: WAV file (16-bit PCM, 32-bit PCM, 32-bit float; 8/24-bit PCM also work).
        expected_fs: If given, the file's sampling rate must equal it.
        dtype: None keeps the stored sample type; "float32"/"float64" convert to float in [-1, 1].
        always_2d: Return mono audio as ``(T, 1)`` instead of ``(T,)``.

    Returns:
        ``(fs, array)`` with array ``(T,)`` or ``(T, C)``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: unknown dtype.
        DataFormatError (a ValueError): unreadable/corrupt file, sampling-rate mismatch, or
            NaN/inf samples in a float WAV.
    """
    if dtype is not None:
        try:
            dtype = np.dtype(dtype).name
        except TypeError:
            pass  # not a numpy type name; rejected just below
        if dtype not in FLOAT_DTYPES:
            raise ValueError(f"Unsupported dtype {dtype!r}; valid: None, {', '.join(FLOAT_DTYPES)}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such WAV file")
    try:
        fs, array = parse_wav(path)
    except (WavFormatError, OSError, struct.error) as e:
        raise DataFormatError(f"{path}: cannot read as a WAV file: {e}") from e
    if expected_fs is not None and fs != expected_fs:
        raise DataFormatError(
            f"{path}: sampling rate is {fs} Hz but {expected_fs} Hz is expected; resample the "
            f"audio (e.g. `sox in.wav -r {expected_fs} out.wav`) or change the configured fs"
        )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = np.flatnonzero(~np.isfinite(array.reshape(len(array), -1)).all(axis=1))
        raise DataFormatError(
            f"{path}: {len(bad)} sample(s) are NaN or inf (first at sample {bad[0]}, "
            f"{bad[0] / fs:.3f} s); fix or drop this file"
        )
    if dtype is not None:
        array = _to_float(array, dtype)
    if always_2d and array.ndim == 1:
        array = array[:, None]
    return fs, array


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
    if subtype not in WAV_SUBTYPES:
        raise ValueError(f"{path}: unknown WAV subtype {subtype!r}; valid: {', '.join(WAV_SUBTYPES)}")
    if isinstance(fs, bool) or not isinstance(fs, (int, np.integer)) or fs <= 0:
        raise ValueError(f"{path}: sampling rate must be a positive int, got {fs!r}")
    array = np.asarray(array)
    if array.ndim not in (1, 2):
        raise ValueError(f"{path}: audio must be (T,) or (T, C), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or array.dtype in _INT_FULL_SCALE):
        raise ValueError(f"{path}: unsupported sample type {array.dtype}; give float in [-1, 1], int16 or int32")
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise ValueError(f"{path}: audio contains NaN or inf")

    if subtype == "PCM_16":
        data = _to_pcm(array, np.int16)
    elif subtype == "PCM_32":
        data = _to_pcm(array, np.int32)
    else:
        data = _to_float(array, "float32")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(format_wav(int(fs), data))


class SoundScpReader(AbsScpReader):
    """Lazy ``uid -> (fs, array)`` mapping over a ``wav.scp`` (``<uid> <wav path>`` lines).

    Each WAV file is read when its uid is accessed; see :func:`read_wav` for the arguments.
    Relative paths are resolved against the current working directory.

    ``dtype`` may be a name or a numpy type (``np.int16``): a float type converts to [-1, 1], an
    integer type gives PCM samples of that width. ``normalize=True`` (older ESPnet2) with no
    ``dtype`` means float64 in [-1, 1].

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

    def _read(self, path: str, always_2d: bool) -> tuple[int, np.ndarray]:
        if self.dtype in PCM_DTYPES:
            fs, array = read_wav(path, expected_fs=self.expected_fs, always_2d=always_2d)
            return fs, array if array.dtype == np.dtype(self.dtype) else _to_pcm(array, np.dtype(self.dtype).type)
        return read_wav(path, expected_fs=self.expected_fs, dtype=self.dtype, always_2d=always_2d)

    def load(self, path: str) -> tuple[int, np.ndarray]:
        if not self.multi_columns:
            return self._read(path, self.always_2d)
        loaded = [self._read(p, True) for p in path.split()]
        rates = {fs for fs, _ in loaded}
        if len(rates) != 1:
            raise ValueError(f"{self.fname}: the files of {path!r} have different sampling rates {sorted(rates)}")
        try:
            array = np.concatenate([a for _, a in loaded], axis=self.concat_axis)
        except ValueError as exc:
            raise ValueError(f"{self.fname}: cannot concatenate the files of {path!r}: {exc}") from None
        if array.shape[1] == 1 and not self.always_2d:
            array = array[:, 0]
        return rates.pop(), array


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
