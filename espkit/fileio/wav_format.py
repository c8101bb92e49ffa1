"""The RIFF/WAVE container: parse and write WAV files with numpy (no audio library needed).

Reads PCM (8-bit unsigned, 16, 24 and 32-bit signed) and IEEE float (32/64-bit) samples, plain
or ``WAVE_FORMAT_EXTENSIBLE``; writes 16/32-bit PCM and 32-bit float. 24-bit samples are
returned left-aligned in int32 (full scale ``2**31``), the other types as stored.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
_PCM_DTYPES = {8: np.dtype("u1"), 16: np.dtype("<i2"), 32: np.dtype("<i4")}
_FLOAT_DTYPES = {32: np.dtype("<f4"), 64: np.dtype("<f8")}


class WavFormatError(ValueError):
    """The file is not a WAV file espkit can read (the message says why)."""


def _samples(raw: bytearray, tag: int, bits: int, channels: int) -> np.ndarray:
    """Decode interleaved little-endian samples to a writable ``(frames, channels)`` array."""
    if tag == _PCM and bits == 24:
        triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        values = (triples[:, 0] << 8) | (triples[:, 1] << 16) | (triples[:, 2] << 24)
        return values.reshape(-1, channels)
    dtype = (_PCM_DTYPES if tag == _PCM else _FLOAT_DTYPES).get(bits)
    if dtype is None:
        kind = "PCM" if tag == _PCM else "float"
        raise WavFormatError(f"{bits}-bit {kind} samples are not supported")
    return np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="), copy=False).reshape(-1, channels)


def parse_wav(path: str | Path) -> tuple[int, np.ndarray]:
    """``(fs, samples)`` of a WAV file, samples ``(T,)`` mono or ``(T, C)``.

    A data chunk that claims more bytes than the file holds (a header written before the
    recording ended) is read as far as it goes, with a warning.

    Raises:
        WavFormatError: not RIFF/WAVE, no fmt or data chunk, or an unsupported encoding.
    """
    return parse_wav_bytes(Path(path).read_bytes(), str(path))


def parse_wav_bytes(data: bytes, name: str = "<bytes>") -> tuple[int, np.ndarray]:
    """``(fs, samples)`` of the bytes of a WAV file (e.g. an upload), as :func:`parse_wav`;
    ``name`` is how warnings call it."""
    path = name
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavFormatError("no RIFF/WAVE header")
    fmt = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(data):
                raise WavFormatError("fmt chunk is too short")
            tag, channels, fs, _, block_align, bits = struct.unpack_from("<HHIIHH", data, body)
            if tag == _EXTENSIBLE:
                if size < 40 or body + 40 > len(data):
                    raise WavFormatError("WAVE_FORMAT_EXTENSIBLE fmt chunk is too short")
                tag = struct.unpack_from("<H", data, body + 24)[0]  # the sub-format GUID's first field
            if tag not in (_PCM, _FLOAT):
                raise WavFormatError(f"encoding 0x{tag:04x} is not PCM or IEEE float")
            if channels < 1 or block_align != channels * ((bits + 7) // 8):
                raise WavFormatError(f"inconsistent fmt chunk ({channels} channels, {bits} bits, block {block_align})")
            fmt = (tag, channels, fs, block_align, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise WavFormatError("data chunk before the fmt chunk")
            tag, channels, fs, block_align, bits = fmt
            available = len(data) - body
            if size > available:
                logger.warning(
                    "%s: the data chunk declares %d bytes but the file holds %d; reading those",
                    path,
                    size,
                    available,
                )
                size = available
            size -= size % block_align
            samples = _samples(bytearray(data[body : body + size]), tag, bits, channels)
            return fs, samples.reshape(-1) if channels == 1 else samples
        pos = body + size + (size & 1)  # chunks are padded to even sizes
    raise WavFormatError("no fmt chunk" if fmt is None else "no data chunk")


def format_wav(fs: int, samples: np.ndarray) -> bytes:
    """The bytes of a WAV file holding ``samples`` (``(T,)`` or ``(T, C)``; int16 and int32 as
    PCM, float32 as IEEE float)."""
    samples = samples if samples.ndim == 2 else samples[:, None]
    dtype = samples.dtype
    if dtype == np.int16 or dtype == np.int32:
        tag = _PCM
    elif dtype == np.float32:
        tag = _FLOAT
    else:
        raise WavFormatError(f"cannot store {dtype} samples")
    channels, width = samples.shape[1], dtype.itemsize
    payload = np.ascontiguousarray(samples, dtype=dtype.newbyteorder("<")).tobytes()
    fmt = struct.pack("<HHIIHH", tag, channels, fs, fs * channels * width, channels * width, 8 * width)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(payload)) + payload
    if len(payload) & 1:
        chunks += b"\0"
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks
