import re
import shlex
import sys

import numpy as np
import pytest
import scipy.io.wavfile
import soundfile

from espkit.fileio.read_text import DataFormatError
from espkit.fileio.sound_scp import (
    NonFiniteSamplesError,
    SoundScpReader,
    SoundScpWriter,
    read_segments,
    read_wav,
    read_wav_bytes,
    write_wav,
)

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
    with pytest.raises(ValueError, match=re.escape(f"{junk}: cannot read as audio")):
        read_wav(junk)
    write_wav(tmp_path / "ok.wav", FS, np.zeros(10))
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes((tmp_path / "ok.wav").read_bytes()[:30])
    with pytest.raises(ValueError, match=re.escape(f"{truncated}: cannot read as audio")):
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
    scp.write_text("a a.wav\np no-such-program-espkit x.flac -t wav - |\n")
    reader = SoundScpReader(scp)
    with pytest.raises(KeyError) as e:
        reader["zzz"]
    assert "'zzz'" in str(e.value) and str(scp) in str(e.value)
    with pytest.raises(KeyError, match="zzz"):
        reader.get_path("zzz")
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{scp}: uid 'p': command 'no-such-program-espkit x.flac -t wav -': cannot be started: no-such"
        ),
    ):
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
        NonFiniteSamplesError, match=re.escape(f"{path}: 1 sample(s) are NaN or inf (first at sample 4000, 0.500 s)")
    ):
        read_wav(path, dtype="float32")


# --- other formats, pipes and segments ---------------------------------------------------------------
def pcm16_tone(seconds: float = 0.5, fs: int = 16000, seed: int = 0) -> np.ndarray:
    """int16 samples ``(T,)``: a tone with some noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    wave = 0.5 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    return np.round(np.clip(wave, -1, 1) * 32767).astype(np.int16)


@pytest.mark.parametrize("channels", [1, 2])
def test_flac_24_bit_32_bit_and_float_read_like_the_wav_of_the_same_samples(tmp_path, channels):
    pcm = pcm16_tone()
    pcm = pcm if channels == 1 else np.stack([pcm, pcm[::-1]], axis=1)
    soundfile.write(tmp_path / "ref.wav", pcm, 16000, subtype="PCM_16")
    soundfile.write(tmp_path / "x.flac", pcm, 16000, subtype="PCM_16")
    fs, ref = read_wav(tmp_path / "ref.wav")
    fs_flac, flac = read_wav(tmp_path / "x.flac")
    assert fs == fs_flac == 16000 and ref.dtype == flac.dtype == np.int16
    np.testing.assert_array_equal(flac, pcm)
    np.testing.assert_array_equal(read_wav(tmp_path / "x.flac", dtype="float32")[1], pcm / np.float32(32768))

    # 24-bit values (in WAV and FLAC) come left-aligned in int32; as float they are value / 2**23
    pcm24 = pcm.astype(np.int32) * 256 + 77
    for name in ("x24.wav", "x24.flac"):
        soundfile.write(tmp_path / name, pcm24 * 256, 16000, subtype="PCM_24")  # soundfile takes left-aligned int32
        _, stored = read_wav(tmp_path / name)
        assert stored.dtype == np.int32
        np.testing.assert_array_equal(stored, pcm24 * 256)
        np.testing.assert_array_equal(read_wav(tmp_path / name, dtype="float64")[1], pcm24 / 2.0**23)
    pcm32 = pcm.astype(np.int32) * 65536 + 12345
    soundfile.write(tmp_path / "x32.wav", pcm32, 16000, subtype="PCM_32")
    np.testing.assert_array_equal(read_wav(tmp_path / "x32.wav")[1], pcm32)
    as_float = (pcm / 32768.0).astype(np.float32)
    soundfile.write(tmp_path / "f.wav", as_float, 16000, subtype="FLOAT")
    _, stored = read_wav(tmp_path / "f.wav")
    assert stored.dtype == np.float32
    np.testing.assert_array_equal(stored, as_float)
    soundfile.write(tmp_path / "d.wav", as_float.astype(np.float64), 16000, subtype="DOUBLE")
    assert read_wav(tmp_path / "d.wav")[1].dtype == np.float64


def test_ogg_vorbis_reads_close_to_the_wav_of_the_same_samples(tmp_path):
    pcm = pcm16_tone(1.0)
    soundfile.write(tmp_path / "x.ogg", pcm, 16000, format="OGG", subtype="VORBIS")
    fs, ogg = read_wav(tmp_path / "x.ogg", dtype="float32")
    ref = pcm / 32768.0
    assert fs == 16000 and ogg.shape == ref.shape and ogg.dtype == np.float32
    snr_db = 10 * np.log10(np.sum(ref**2) / np.sum((ogg - ref) ** 2))
    assert snr_db > 20, snr_db  # lossy, but the same signal
    assert read_wav(tmp_path / "x.ogg")[1].dtype == np.float32  # compressed: float is the stored type


def test_read_wav_bytes_reads_flac_from_memory(tmp_path):
    pcm = pcm16_tone()
    soundfile.write(tmp_path / "x.flac", pcm, 16000, subtype="PCM_16")
    fs, x = read_wav_bytes((tmp_path / "x.flac").read_bytes(), "upload", expected_fs=16000)
    np.testing.assert_array_equal(x, pcm)
    with pytest.raises(DataFormatError, match="^upload: cannot read as audio"):
        read_wav_bytes(b"not audio", "upload")


def test_truncated_flac_is_a_one_line_error_naming_the_file_and_the_uid(tmp_path):
    pcm = pcm16_tone(2.0)
    soundfile.write(tmp_path / "x.flac", pcm, 16000, subtype="PCM_16")
    cut = tmp_path / "cut.flac"
    cut.write_bytes((tmp_path / "x.flac").read_bytes()[:5000])
    with pytest.raises(DataFormatError) as e:
        read_wav(cut)
    assert str(e.value).startswith(f"{cut}: cannot read as audio") and "\n" not in str(e.value)
    scp = tmp_path / "wav.scp"
    scp.write_text(f"utt7 {cut}\n")
    with pytest.raises(DataFormatError) as e:
        SoundScpReader(scp)["utt7"]
    message = str(e.value)
    assert message.startswith(f"{cut} (uid 'utt7' of {scp}): cannot read as audio") and "\n" not in message


def _scp(path, lines: dict) -> None:
    path.write_text("".join(f"{uid} {value}\n" for uid, value in lines.items()))


def test_pipe_entries_give_the_samples_of_the_direct_file(tmp_path):
    pcm = pcm16_tone()
    flac = tmp_path / "dir with space" / "x.flac"
    flac.parent.mkdir()
    soundfile.write(flac, pcm, 16000, subtype="PCM_16")
    quoted = shlex.quote(str(flac))
    scp = tmp_path / "wav.scp"
    _scp(
        scp,
        {
            "argv": f"cat {quoted} |",  # no shell syntax: run without a shell
            "shell": f"cat {quoted} | cat |",  # a pipeline: run by bash -o pipefail
            "python": f"{sys.executable} -c 'import sys; sys.stdout.buffer.write(open(sys.argv[1], \"rb\").read())' {quoted} |",
        },
    )
    reader = SoundScpReader(scp, dtype="float32")
    for uid in ("argv", "shell", "python"):
        fs, x = reader[uid]
        assert fs == 16000
        np.testing.assert_array_equal(x, pcm / np.float32(32768), err_msg=uid)
    with pytest.raises(ValueError, match="pipe commands cannot be combined with multi_columns"):
        SoundScpReader(scp, multi_columns=True)["argv"]


def test_a_failing_pipe_is_one_line_naming_the_uid_the_command_and_its_stderr(tmp_path):
    scp = tmp_path / "wav.scp"
    missing = tmp_path / "missing.flac"
    _scp(
        scp,
        {
            "u1": f"cat {missing} |",
            "u2": f"cat {missing} | cat |",  # fails in the middle of a pipeline: pipefail
            "u3": "true |",
            "u4": f'{sys.executable} -c \'import sys; sys.stderr.write("line1\\n" + "x" * 1000); sys.exit(3)\' |',
            "u5": "cat 'unbalanced |",
        },
    )
    reader = SoundScpReader(scp)
    cases = {
        "u1": f"{scp}: uid 'u1': command 'cat {missing}' failed with exit status 1: cat: {missing}: No such file",
        "u2": f"{scp}: uid 'u2': command 'cat {missing} | cat' failed with exit status 1: cat: {missing}: No such",
        "u3": f"{scp}: uid 'u3': command 'true' wrote nothing to stdout",
        "u4": f"{scp}: uid 'u4': command ",
        "u5": f"{scp}: uid 'u5': command \"cat 'unbalanced\": cannot be parsed",
    }
    for uid, start in cases.items():
        with pytest.raises(DataFormatError) as e:
            reader[uid]
        message = str(e.value)
        assert message.startswith(start), message
        assert "\n" not in message, message
    with pytest.raises(DataFormatError) as e:
        reader["u4"]
    assert "failed with exit status 3: ..." in str(e.value) and str(e.value).endswith("x" * 50)
    assert len(str(e.value)) < 600  # stderr truncated


def _three_utterances(tmp_path):
    parts = [pcm16_tone(0.3, seed=i) for i in range(3)]
    recording = np.concatenate(parts)
    soundfile.write(tmp_path / "rec.flac", recording, 16000, subtype="PCM_16")
    return parts


def test_segments_give_the_samples_of_the_direct_files(tmp_path):
    parts = _three_utterances(tmp_path)
    scp, segments = tmp_path / "wav.scp", tmp_path / "segments"
    _scp(scp, {"rec": tmp_path / "rec.flac", "recp": f"cat {tmp_path / 'rec.flac'} |"})
    segments.write_text(
        "a rec 0 0.3\nb rec 0.3 0.6\nc rec 0.6 -1\n"  # -1: to the end
        "pa recp 0.00 0.30\npb recp 0.30 0.60\npc recp 0.60 0.90\n"
    )
    reader = SoundScpReader(scp, segments=segments)
    assert list(reader) == ["a", "b", "c", "pa", "pb", "pc"] and len(reader) == 6
    for prefix in ("", "p"):
        for uid, part in zip("abc", parts):
            fs, x = reader[prefix + uid]
            assert fs == 16000
            np.testing.assert_array_equal(x, part, err_msg=prefix + uid)
    assert SoundScpReader(scp, segments=segments, dtype="float32", always_2d=True)["b"][1].shape == (4800, 1)


def test_a_segment_past_the_end_of_its_recording_is_one_line_naming_the_uid(tmp_path):
    _three_utterances(tmp_path)
    scp, segments = tmp_path / "wav.scp", tmp_path / "segments"
    _scp(scp, {"rec": tmp_path / "rec.flac", "recp": f"cat {tmp_path / 'rec.flac'} |"})
    segments.write_text("late rec 0.5 1.2\nlatep recp 0.5 1.2\n")
    reader = SoundScpReader(scp, segments=segments)
    for uid in ("late", "latep"):
        with pytest.raises(DataFormatError) as e:
            reader[uid]
        message = str(e.value)
        assert f"uid {uid!r} of {segments}" in message and "\n" not in message
        assert "the segment ends at 1.200 s but the recording is 0.900 s long (14400 samples at 16000 Hz)" in message


@pytest.mark.parametrize(
    "content, message",
    [
        ("a rec 0 1 2\n", ":1: uid 'a': expected '<uid> <recording> <start_s> <end_s>', got 5 fields"),
        ("a rec 0\n", ":1: uid 'a': expected '<uid> <recording> <start_s> <end_s>', got 3 fields"),
        ("a rec x 1\n", ":1: uid 'a': start/end 'x' '1' are not numbers"),
        ("a rec -1 1\n", ":1: uid 'a': start -1 must be a finite number of seconds >= 0"),
        ("a rec 0.5 0.4\n", ":1: uid 'a': end 0.4 must be after start 0.5"),
        ("a rec 0 1\na rec 1 2\n", ":2: uid 'a': duplicate uid"),
        ("a other 0 1\n", ":1: uid 'a': recording 'other' is not in the wav.scp"),
    ],
)
def test_malformed_segments_name_the_line(tmp_path, content, message):
    scp, segments = tmp_path / "wav.scp", tmp_path / "segments"
    _scp(scp, {"rec": tmp_path / "rec.flac"})
    segments.write_text(content)
    with pytest.raises(DataFormatError, match=re.escape(f"{segments}{message}")):
        SoundScpReader(scp, segments=segments)


def test_read_segments_without_recordings_to_check(tmp_path):
    (tmp_path / "segments").write_text("a other 0 1.5\nb other 1.5 -1\n")
    assert read_segments(tmp_path / "segments") == {"a": ("other", 0.0, 1.5), "b": ("other", 1.5, -1.0)}
