import re

import numpy as np
import pytest

from espkit.fileio.rawf32 import RawF32ScpReader, RawF32ScpWriter, read_raw_f32, write_raw_f32


def test_raw_f32_round_trip_and_byte_order(tmp_path):
    array = np.arange(15, dtype=np.float64).reshape(5, 3) / 7
    path = tmp_path / "a" / "mel.f32"
    write_raw_f32(path, array)
    assert path.stat().st_size == 5 * 3 * 4
    # the file is plain little-endian float32, row-major, no header
    on_disk = np.fromfile(path, dtype="<f4")
    np.testing.assert_array_equal(on_disk, array.astype(np.float32).ravel())
    assert path.read_bytes()[:8] == np.array([0.0, 1 / 7], dtype="<f4").tobytes()

    loaded = read_raw_f32(path, dim=3)
    assert loaded.shape == (5, 3) and loaded.dtype == np.float32 and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array.astype(np.float32))


def test_raw_f32_big_endian_and_int_input_written_little_endian(tmp_path):
    big = np.array([[1.5, -2.0], [3.25, 4.0]], dtype=">f8")
    write_raw_f32(tmp_path / "big.f32", big)
    assert (tmp_path / "big.f32").read_bytes() == np.array([1.5, -2.0, 3.25, 4.0], dtype="<f4").tobytes()
    write_raw_f32(tmp_path / "int.f32", np.array([1, 2, 3], dtype=">i4"))
    np.testing.assert_array_equal(np.fromfile(tmp_path / "int.f32", dtype="<f4"), [1.0, 2.0, 3.0])


def test_raw_f32_1d_and_empty(tmp_path):
    write_raw_f32(tmp_path / "f0.f32", np.array([100.0, 0.0, 120.5]))
    np.testing.assert_array_equal(read_raw_f32(tmp_path / "f0.f32", 1), [[100.0], [0.0], [120.5]])
    write_raw_f32(tmp_path / "empty.f32", np.zeros((0, 80)))
    assert read_raw_f32(tmp_path / "empty.f32", 80).shape == (0, 80)


def test_read_raw_f32_size_check(tmp_path):
    path = tmp_path / "mel.f32"
    write_raw_f32(path, np.zeros((3, 80)))  # 960 bytes
    with pytest.raises(ValueError) as e:
        read_raw_f32(path, 100)
    msg = str(e.value)
    assert msg.startswith(f"{path}: size 960 bytes is not a multiple of 4 * dim = 400")
    assert "dim=100" in msg
    path.write_bytes(b"\x00" * 6)
    with pytest.raises(ValueError, match="size 6 bytes is not a multiple of 4 \\* dim = 4"):
        read_raw_f32(path, 1)


def test_raw_f32_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "no.f32"))):
        read_raw_f32(tmp_path / "no.f32", 80)
    for dim in (0, -1, True):
        with pytest.raises(ValueError, match="dim must be a positive int"):
            read_raw_f32(tmp_path / "no.f32", dim)
    with pytest.raises(ValueError, match=re.escape("must be (N, M) or (N,), got shape (1, 2, 3)")):
        write_raw_f32(tmp_path / "x.f32", np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="must be numeric, got dtype <U1"):
        write_raw_f32(tmp_path / "x.f32", np.array(["a"]))
    assert not (tmp_path / "x.f32").exists()


def test_raw_f32_scp_round_trip(tmp_path):
    feats = {"u1": np.ones((4, 2)), "u0": np.arange(6).reshape(3, 2)}
    scp = tmp_path / "feats.scp"
    with RawF32ScpWriter(tmp_path / "mel", scp) as writer:
        for uid, array in feats.items():
            writer[uid] = array
    assert scp.read_text() == f"u1 {tmp_path / 'mel' / 'u1.f32'}\nu0 {tmp_path / 'mel' / 'u0.f32'}\n"
    reader = RawF32ScpReader(scp, dim=2)
    assert list(reader.keys()) == ["u1", "u0"]
    for uid, array in feats.items():
        np.testing.assert_array_equal(reader[uid], array.astype(np.float32))
    with pytest.raises(ValueError, match="not a multiple of 4 \\* dim = 12"):
        RawF32ScpReader(scp, dim=3)["u1"]
    with pytest.raises(KeyError) as e:
        reader["u9"]
    assert "'u9'" in str(e.value) and str(scp) in str(e.value)


def test_raw_f32_scp_writer_ext(tmp_path):
    with RawF32ScpWriter(tmp_path, tmp_path / "lf0.scp", ext=".lf0") as writer:
        writer["a"] = np.zeros(3)
    assert (tmp_path / "a.lf0").stat().st_size == 12
    with pytest.raises(ValueError, match="ext must be empty or start with '.'"):
        RawF32ScpWriter(tmp_path, tmp_path / "x.scp", ext="f32")
    with pytest.raises(ValueError, match="dim must be a positive int"):
        RawF32ScpReader(tmp_path / "lf0.scp", dim=0)
