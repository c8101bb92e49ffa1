import re

import numpy as np
import pytest

from espkit.fileio.npy_scp import NpyScpReader, NpyScpWriter
from espkit.fileio.read_text import DataFormatError


def test_npy_scp_round_trip(tmp_path):
    feats = {
        "u2": np.arange(12, dtype=np.float32).reshape(3, 4),
        "u1": np.array([1, 2, 3], dtype=np.int64),
        "u3": np.zeros((0, 80), dtype=np.float16),
    }
    scp = tmp_path / "dump" / "feats.scp"
    with NpyScpWriter(tmp_path / "npy", scp) as writer:
        for uid, array in feats.items():
            writer[uid] = array
    assert scp.read_text().splitlines() == [f"{uid} {tmp_path / 'npy' / uid}.npy" for uid in feats]

    reader = NpyScpReader(scp)
    assert list(reader) == ["u2", "u1", "u3"] and len(reader) == 3
    for uid, array in feats.items():
        loaded = reader[uid]
        assert loaded.dtype == array.dtype and loaded.shape == array.shape
        np.testing.assert_array_equal(loaded, array)
    assert reader.get_path("u1") == str(tmp_path / "npy" / "u1.npy")


def test_npy_scp_reader_errors(tmp_path):
    scp = tmp_path / "feats.scp"
    scp.write_text("a\n")
    with pytest.raises(DataFormatError, match=re.escape(f"{scp}:1: uid 'a' has no value")):
        NpyScpReader(scp)

    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    scp.write_text(f"obj {tmp_path / 'obj.npy'}\nbad {tmp_path / 'bad.npy'}\nmissing {tmp_path / 'm.npy'}\n")
    reader = NpyScpReader(scp)
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "obj.npy"))):
        reader["obj"]  # pickled content is refused
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'bad.npy'}: cannot read")):
        reader["bad"]
    with pytest.raises(FileNotFoundError, match=re.escape(f"{tmp_path / 'm.npy'}: no such .npy file")):
        reader["missing"]
    with pytest.raises(KeyError) as e:
        reader["nope"]
    assert "'nope'" in str(e.value) and str(scp) in str(e.value)


def test_npy_scp_writer_errors(tmp_path):
    with NpyScpWriter(tmp_path / "npy", tmp_path / "feats.scp") as writer:
        writer["a"] = np.zeros(2)
        with pytest.raises(ValueError, match="duplicate uid 'a'"):
            writer["a"] = np.ones(2)
        with pytest.raises(ValueError, match="object arrays cannot be stored"):
            writer["b"] = np.array([{}], dtype=object)
    assert (tmp_path / "feats.scp").read_text() == f"a {tmp_path / 'npy' / 'a.npy'}\n"
    np.testing.assert_array_equal(np.load(tmp_path / "npy" / "a.npy"), np.zeros(2))
