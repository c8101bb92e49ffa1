import re

import numpy as np
import pytest
import scipy.io.wavfile

from espkit.fileio.read_text import DataFormatError
from espkit.fileio.sound_scp import SoundScpReader, SoundScpWriter, read_wav, write_wav

FS = 8000


def float_wave(channels):
    rng = np.random.default_rng(0)
    shape = (64,) if channels == 1 else (64, channels)
    wave = rng.uniform(-0.9, 0.9, size=shape)
    return wave


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize(
    "subtype, stored_dtype, tol",
    [("PCM_16", np.int16, 1 / 32768), ("PCM_32", np.int32, 1 / 2**31), ("FLOAT", np.float32, 1e-7)],
)
def test_write_read_round_trip(tmp_path, channels, subtype, stored_dtype, tol):
    wave = float_wave(channels)
    path = tmp_path / "a" / "b" / "x.wav"  # parent dirs are created
    write_wav(path, FS, wave, subtype=subtype)

    fs, stored = read_wav(path)
    assert fs == FS
    assert stored.dtype == stored_dtype
    assert stored.shape == wave.shape

    fs, as_float = read_wav(path, dtype="float32", expected_fs=FS)
    assert as_float.dtype == np.float32
    assert as_float.shape == wave.shape
    np.testing.assert_allclose(as_float, wave, atol=tol)

    _, as_2d = read_wav(path, dtype="float64", always_2d=True)
    assert as_2d.dtype == np.float64
    assert as_2d.shape == (64, channels)


def test_int16_written_as_is_and_scaled_on_read(tmp_path):
    ints = np.array([0, 1, -1, 32767, -32768, 1234], dtype=np.int16)
    write_wav(tmp_path / "x.wav", FS, ints)
    _, raw = scipy.io.wavfile.read(tmp_path / "x.wav")
    np.testing.assert_array_equal(raw, ints)
    _, f = read_wav(tmp_path / "x.wav", dtype="float64")
    np.testing.assert_array_equal(f, ints / 32768.0)
    # re-writing the float version gives back exactly the same samples
    write_wav(tmp_path / "y.wav", FS, f)
    np.testing.assert_array_equal(read_wav(tmp_path / "y.wav")[1], ints)


def test_int32_scaling(tmp_path):
    ints = np.array([0, 2**30, -(2**31), 2**31 - 1], dtype=np.int32)
    write_wav(tmp_path / "x.wav", FS, ints, subtype="PCM_32")
    _, f = read_wav(tmp_path / "x.wav", dtype="float64")
    np.testing.assert_array_equal(f, ints / 2.0**31)
    # int32 -> PCM_16 rescales instead of wrapping
    write_wav(tmp_path / "y.wav", FS, ints, subtype="PCM_16")
    np.testing.assert_array_equal(read_wav(tmp_path / "y.wav")[1], [0, 16384, -32768, 32767])
    # int16 -> PCM_32 rescales up
    write_wav(tmp_path / "z.wav", FS, np.array([1, -2], dtype=np.int16), subtype="PCM_32")
    np.testing.assert_array_equal(read_wav(tmp_path / "z.wav")[1], [65536, -131072])


def test_float_is_clipped_for_pcm(tmp_path):
    write_wav(tmp_path / "x.wav", FS, np.array([1.5, -2.0, 1.0, -1.0, 0.5]))
    np.testing.assert_array_equal(read_wav(tmp_path / "x.wav")[1], [32767, -32768, 32767, -32768, 16384])


def test_float_subtype_keeps_values(tmp_path):
    write_wav(tmp_path / "x.wav", FS, np.array([1.5, -0.25], dtype=np.float64), subtype="FLOAT")
    _, x = read_wav(tmp_path / "x.wav")
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, [1.5, -0.25])


def test_uint8_wav_to_float(tmp_path):
    scipy.io.wavfile.write(tmp_path / "x.wav", FS, np.array([128, 0, 255], dtype=np.uint8))
    _, x = read_wav(tmp_path / "x.wav", dtype="float32")
    np.testing.assert_allclose(x, [0.0, -1.0, 127 / 128])


def test_expected_fs_mismatch(tmp_path):
    path = tmp_path / "x.wav"
    write_wav(path, 16000, np.zeros(10))
    with pytest.raises(ValueError) as e:
        read_wav(path, expected_fs=22050)
    msg = str(e.value)
    assert str(path) in msg and "16000" in msg and "22050" in msg and "resample" in msg


def test_read_wav_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nope.wav"))):
        read_wav(tmp_path / "nope.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not a wav file at all")
    with pytest.raises(ValueError, match=re.escape(f"{junk}: cannot read as a WAV file")):
        read_wav(junk)
    write_wav(tmp_path / "ok.wav", FS, np.zeros(10))
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes((tmp_path / "ok.wav").read_bytes()[:30])
    with pytest.raises(ValueError, match=re.escape(f"{truncated}: cannot read as a WAV file")):
        read_wav(truncated)
    with pytest.raises(ValueError, match="Unsupported dtype 'int16'; valid: None, float32, float64"):
        read_wav(tmp_path / "ok.wav", dtype="int16")
    with pytest.raises(ValueError, match="Unsupported dtype 'float99'"):
        read_wav(tmp_path / "ok.wav", dtype="float99")
    assert read_wav(tmp_path / "ok.wav", dtype=np.float32)[1].dtype == np.float32


def test_short_data_chunk_is_read_with_warning(tmp_path, caplog):
    write_wav(tmp_path / "ok.wav", FS, np.arange(100, dtype=np.int16))
    cut = tmp_path / "cut.wav"
    cut.write_bytes((tmp_path / "ok.wav").read_bytes()[: 44 + 20])
    with caplog.at_level("WARNING"):
        _, x = read_wav(cut)
    np.testing.assert_array_equal(x, np.arange(10))
    assert str(cut) in caplog.text


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(array=np.zeros(4), subtype="PCM_24"), "unknown WAV subtype 'PCM_24'; valid: PCM_16, PCM_32, FLOAT"),
        (dict(array=np.zeros(4), fs=0), "sampling rate must be a positive int"),
        (dict(array=np.zeros(4), fs=16000.0), "sampling rate must be a positive int"),
        (dict(array=np.zeros((2, 2, 2))), "must be (T,) or (T, C)"),
        (dict(array=np.zeros(4, dtype=np.int64)), "unsupported sample type int64"),
        (dict(array=np.array([0.0, np.nan])), "NaN or inf"),
    ],
)
def test_write_wav_errors(tmp_path, kwargs, message):
    args = dict(path=tmp_path / "x.wav", fs=FS, subtype="PCM_16") | kwargs
    with pytest.raises(ValueError, match=re.escape(message)):
        write_wav(**args)
    assert not (tmp_path / "x.wav").exists()


def test_sound_scp_writer_reader_round_trip(tmp_path):
    outdir, scp = tmp_path / "wav", tmp_path / "data" / "wav.scp"
    mono = float_wave(1)
    stereo = float_wave(2)
    with SoundScpWriter(outdir, scp) as writer:
        writer["utt_b"] = (FS, mono)
        writer["utt_a"] = (16000, stereo)
        assert writer.get_path("utt_a") == str(outdir / "utt_a.wav")
    assert scp.read_text() == f"utt_b {outdir / 'utt_b.wav'}\nutt_a {outdir / 'utt_a.wav'}\n"

    reader = SoundScpReader(scp, dtype="float32")
    assert list(reader.keys()) == ["utt_b", "utt_a"]
    assert len(reader) == 2 and "utt_a" in reader and "zzz" not in reader
    assert reader.get_path("utt_b") == str(outdir / "utt_b.wav")
    fs, x = reader["utt_b"]
    assert fs == FS and x.shape == (64,)
    np.testing.assert_allclose(x, mono, atol=1 / 32768)
    fs, y = reader["utt_a"]
    assert fs == 16000 and y.shape == (64, 2)
    assert SoundScpReader(scp, always_2d=True)["utt_b"][1].shape == (64, 1)
    assert SoundScpReader(scp)["utt_b"][1].dtype == np.int16


def test_sound_scp_reader_is_lazy_and_checks_fs(tmp_path):
    write_wav(tmp_path / "a.wav", 16000, np.zeros(8))
    scp = tmp_path / "wav.scp"
    scp.write_text(f"a {tmp_path / 'a.wav'}\nmissing {tmp_path / 'missing.wav'}\n")
    reader = SoundScpReader(scp, expected_fs=16000)  # no error: files are read on access
    assert reader["a"][0] == 16000
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        reader["missing"]
    with pytest.raises(ValueError, match="16000 Hz but 24000 Hz"):
        SoundScpReader(scp, expected_fs=24000)["a"]


def test_sound_scp_reader_relative_paths_from_cwd(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    write_wav(tmp_path / "audio" / "a.wav", FS, np.full(5, 0.5))
    (tmp_path / "data" / "wav.scp").write_text("a audio/a.wav\n")
    monkeypatch.chdir(tmp_path)
    fs, x = SoundScpReader("data/wav.scp", dtype="float64")["a"]
    np.testing.assert_array_equal(x, np.full(5, 0.5))


def test_sound_scp_reader_errors(tmp_path):
    scp = tmp_path / "wav.scp"
    scp.write_text("a a.wav\nb\n")
    with pytest.raises(DataFormatError, match=re.escape(f"{scp}:2: uid 'b' has no value")):
        SoundScpReader(scp)
    scp.write_text("a a.wav\na b.wav\n")
    with pytest.raises(DataFormatError, match=re.escape(f"{scp}:2: duplicate uid 'a'")):
        SoundScpReader(scp)
    scp.write_text("a a.wav\np sox x.flac -t wav - |\n")
    reader = SoundScpReader(scp)
    with pytest.raises(KeyError) as e:
        reader["zzz"]
    assert "'zzz'" in str(e.value) and str(scp) in str(e.value)
    with pytest.raises(KeyError, match="zzz"):
        reader.get_path("zzz")
    with pytest.raises(ValueError, match="piped commands .* are not supported"):
        reader["p"]


def test_sound_scp_writer_errors(tmp_path):
    with pytest.raises(ValueError, match="Unsupported audio format 'flac'; valid: wav"):
        SoundScpWriter(tmp_path, tmp_path / "wav.scp", format="flac")
    with pytest.raises(ValueError, match="valid: PCM_16, PCM_32, FLOAT"):
        SoundScpWriter(tmp_path, tmp_path / "wav.scp", subtype="ULAW")
    writer = SoundScpWriter(tmp_path / "w", tmp_path / "wav.scp", subtype="PCM_32")
    writer["a"] = (FS, np.zeros(4))
    with pytest.raises(ValueError, match="duplicate uid 'a'"):
        writer["a"] = (FS, np.zeros(4))
    with pytest.raises(ValueError, match="invalid uid 'x/y'"):
        writer["x/y"] = (FS, np.zeros(4))
    with pytest.raises(ValueError, match="invalid uid 'x y'"):
        writer["x y"] = (FS, np.zeros(4))
    with pytest.raises(TypeError, match=r"expected \(fs, array\)"):
        writer["b"] = np.zeros(4)
    with pytest.raises(KeyError, match="'b' not written"):
        writer.get_path("b")
    writer.close()
    with pytest.raises(ValueError, match="writer is closed"):
        writer["c"] = (FS, np.zeros(4))
    assert (tmp_path / "wav.scp").read_text() == f"a {tmp_path / 'w' / 'a.wav'}\n"
    assert read_wav(tmp_path / "w" / "a.wav")[1].dtype == np.int32
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == ["a.wav"]


def test_nan_samples_in_a_float_wav_name_the_file_and_the_time(tmp_path):
    wave = np.zeros(FS, dtype=np.float32)
    wave[FS // 2] = np.nan
    path = tmp_path / "nan.wav"
    scipy.io.wavfile.write(path, FS, wave)  # write_wav itself refuses NaN
    with pytest.raises(
        DataFormatError, match=re.escape(f"{path}: 1 sample(s) are NaN or inf (first at sample 4000, 0.500 s)")
    ):
        read_wav(path, dtype="float32")
