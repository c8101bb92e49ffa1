"""The WAV container code against independent readers/writers (stdlib wave, scipy) and raw bytes."""

from __future__ import annotations

import struct
import wave

import numpy as np
import pytest
import scipy.io.wavfile

from espkit.fileio.wav_format import WavFormatError, format_wav, parse_wav


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float32])
@pytest.mark.parametrize("channels", [1, 3])
def test_written_files_read_back_by_scipy_and_by_us(tmp_path, dtype, channels):
    rng = np.random.default_rng(0)
    samples = (rng.uniform(-0.9, 0.9, (101, channels)) * (1 if dtype == np.float32 else np.iinfo(dtype).max)).astype(
        dtype
    )
    samples = samples[:, 0] if channels == 1 else samples
    path = tmp_path / "x.wav"
    path.write_bytes(format_wav(16000, samples))
    fs, ref = scipy.io.wavfile.read(path)
    assert fs == 16000 and ref.dtype == dtype
    np.testing.assert_array_equal(ref, samples)
    fs, ours = parse_wav(path)
    assert fs == 16000 and ours.dtype == dtype and ours.flags.writeable
    np.testing.assert_array_equal(ours, samples)


def test_pcm_written_by_stdlib_wave(tmp_path):
    samples = np.array([[0, 1], [-1, 32767], [-32768, 5]], dtype=np.int16)
    with wave.open(str(tmp_path / "x.wav"), "wb") as f:
        f.setnchannels(2)
        f.setsampwidth(2)
        f.setframerate(8000)
        f.writeframes(samples.tobytes())
    fs, ours = parse_wav(tmp_path / "x.wav")
    assert fs == 8000
    np.testing.assert_array_equal(ours, samples)


def _riff(fmt: bytes, data: bytes, extra: bytes = b"") -> bytes:
    chunks = extra + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def test_24_bit_and_extensible_and_unknown_chunks(tmp_path):
    # two 24-bit samples: 0x7fffff (max) and 0x800000 (min), left-aligned in int32
    fmt = struct.pack("<HHIIHH", 1, 1, 22050, 22050 * 3, 3, 24)
    path = tmp_path / "x.wav"
    path.write_bytes(_riff(fmt, b"\xff\xff\x7f\x00\x00\x80", extra=b"LIST" + struct.pack("<I", 3) + b"abc\0"))
    fs, x = parse_wav(path)
    assert fs == 22050
    np.testing.assert_array_equal(x, [0x7FFFFF00, -(2**31)])
    # WAVE_FORMAT_EXTENSIBLE with the IEEE-float sub-format
    ext = (
        struct.pack("<HHIIHH", 0xFFFE, 1, 8000, 32000, 4, 32)
        + struct.pack("<HHI", 22, 32, 4)
        + struct.pack("<H", 3)
        + bytes(14)
    )
    path.write_bytes(_riff(ext, np.array([0.5, -0.25], dtype="<f4").tobytes()))
    np.testing.assert_array_equal(parse_wav(path)[1], [0.5, -0.25])


@pytest.mark.parametrize(
    "content, message",
    [
        (b"RIFX\0\0\0\0WAVE", "no RIFF/WAVE header"),
        (_riff(struct.pack("<HHIIHH", 2, 1, 8000, 8000, 1, 4), b"\0"), "encoding 0x0002 is not PCM or IEEE float"),
        (_riff(struct.pack("<HHIIHH", 1, 1, 8000, 8000, 2, 12), b"\0\0"), "12-bit PCM samples are not supported"),
        (_riff(struct.pack("<HHIIHH", 1, 2, 8000, 8000, 2, 16), b"\0\0"), "inconsistent fmt chunk"),
        (b"RIFF\0\0\0\0WAVEdata\0\0\0\0", "data chunk before the fmt chunk"),
        (b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0" + struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16), "no data chunk"),
    ],
)
def test_malformed_files(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(WavFormatError, match=message):
        parse_wav(path)


def test_format_wav_rejects_other_sample_types():
    with pytest.raises(WavFormatError, match="float64"):
        format_wav(8000, np.zeros(3))


def test_odd_sized_data_chunk_is_padded(tmp_path):
    content = format_wav(8000, np.zeros((3, 1), dtype=np.int16)[:, 0].astype(np.int16))
    assert len(content) % 2 == 0
    mono8 = _riff(struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8), b"\x80\x00\xff") + b"\0"
    (tmp_path / "u8.wav").write_bytes(mono8)
    fs, x = parse_wav(tmp_path / "u8.wav")
    assert x.dtype == np.uint8
    np.testing.assert_array_equal(x, [128, 0, 255])
