"""Audio bytes for HTTP: 16-bit PCM of a waveform, the header of a stream of unknown length, and the
checks of an uploaded reference (read from memory: an upload never touches the filesystem)."""

from __future__ import annotations

import struct

import numpy as np

from espkit.fileio.read_text import DataFormatError
from espkit.fileio.sound_scp import NonFiniteSamplesError, read_wav_bytes
from espkit.fileio.sound_scp import wav_bytes as _wav_file_bytes

#: The RIFF and data sizes of a streamed WAV, whose length is not known when its header is sent
#: (the largest values the fields hold, as streaming servers write them; browsers play such files).
STREAM_SIZE = 0xFFFFFFFF


class UploadError(ValueError):
    """An uploaded reference that cannot be used; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def to_pcm16(wav: np.ndarray) -> np.ndarray:
    """Float samples ``(T,)`` in [-1, 1] (clipped) -> int16 samples ``(T,)``."""
    return np.clip(np.round(np.asarray(wav, dtype=np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def wav_bytes(fs: int, pcm: np.ndarray) -> bytes:
    """A complete mono 16-bit WAV file of int16 samples ``pcm`` ``(T,)`` at ``fs`` Hz."""
    return _wav_file_bytes(fs, np.asarray(pcm, dtype=np.int16))


def stream_header(fs: int) -> bytes:
    """The 44-byte header of a mono 16-bit WAV stream whose length is not known yet.

    The RIFF and data sizes are :data:`STREAM_SIZE`; readers that trust them read to the end of
    the stream (``espkit.fileio.sound_scp.read_wav_bytes`` does, with a warning)."""
    fmt = struct.pack("<HHIIHH", 1, 1, fs, fs * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", STREAM_SIZE)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + (struct.pack("<I", STREAM_SIZE - 36))
    )


def read_reference(data: bytes, expected_fs: int, max_duration_s: float) -> np.ndarray:
    """Float32 samples ``(T,)`` in [-1, 1] of an uploaded mono audio file (WAV, FLAC, OGG) at
    ``expected_fs`` Hz.

    Raises:
        UploadError: not readable audio (415), not mono, another sampling rate, empty, or longer
            than ``max_duration_s`` (400); each message says what to send instead.
    """
    try:
        fs, samples = read_wav_bytes(data, "reference", dtype="float32")
    except NonFiniteSamplesError:
        raise UploadError("reference: the audio file holds NaN or inf samples") from None
    except DataFormatError as e:
        raise UploadError(f"{e}; send a WAV, FLAC or OGG file", 415) from None
    if samples.ndim != 1:
        raise UploadError(f"reference: must be mono, got {samples.shape[1]} channels (sox in.wav -c 1 out.wav)")
    if fs != expected_fs:
        raise UploadError(
            f"reference: sampling rate is {fs} Hz but the model takes {expected_fs} Hz "
            f"(sox in.wav -r {expected_fs} out.wav)"
        )
    if samples.size == 0:
        raise UploadError("reference: the audio file holds no samples")
    if samples.size / fs > max_duration_s:
        raise UploadError(f"reference: {samples.size / fs:.1f} s is longer than the limit of {max_duration_s:g} s")
    return samples
