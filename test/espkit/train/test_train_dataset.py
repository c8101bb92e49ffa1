import numpy as np
import pytest

from espkit.fileio.npy_scp import NpyScpWriter
from espkit.fileio.rawf32 import RawF32ScpWriter
from espkit.fileio.sound_scp import SoundScpWriter
from espkit.train.collate_fn import CommonCollateFn
from espkit.train.dataset import ESPnetDataset


@pytest.fixture
def datadir(tmp_path):
    rng = np.random.default_rng(0)
    with SoundScpWriter(tmp_path / "wav", tmp_path / "wav.scp") as writer:
        for i, n in enumerate([800, 1200, 400]):
            writer[f"u{i}"] = (16000, (rng.standard_normal(n) * 0.1).astype(np.float32))
    with NpyScpWriter(tmp_path / "npy", tmp_path / "feats.scp") as writer:
        for i, n in enumerate([5, 7, 3]):
            writer[f"u{i}"] = rng.standard_normal((n, 4)).astype(np.float32)
    with RawF32ScpWriter(tmp_path / "raw", tmp_path / "f0.scp", ext=".f0") as writer:
        for i, n in enumerate([5, 7, 3]):
            writer[f"u{i}"] = rng.standard_normal((n, 1)).astype(np.float32)
    (tmp_path / "text").write_text("u0 hello world\nu1 good morning\nu2 hi\n")
    (tmp_path / "tokens").write_text("u0 3 4 5\nu1 6 7\nu2 8\n")
    (tmp_path / "utt2emo").write_text("u0 happy\nu1 sad\nu2 happy\n")
    return tmp_path


def test_every_type_loads_with_the_right_dtype_and_shape(datadir):
    dataset = ESPnetDataset(
        [
            (str(datadir / "wav.scp"), "speech", "sound"),
            (str(datadir / "feats.scp"), "feats", "npy"),
            (str(datadir / "f0.scp"), "f0", "rawf32:1"),
            (str(datadir / "tokens"), "text", "text_int"),
        ],
        fs=16000,
    )
    assert len(dataset) == 3 and dataset.uids == ["u0", "u1", "u2"]
    uid, data = dataset["u1"]
    assert uid == "u1"
    assert data["speech"].shape == (1200,) and data["speech"].dtype == np.float32
    assert data["feats"].shape == (7, 4)
    assert data["f0"].shape == (7, 1) and data["f0"].dtype == np.float32
    assert data["text"].tolist() == [6, 7] and data["text"].dtype == np.int64


def test_wrong_sample_rate_names_file_and_rates(datadir):
    dataset = ESPnetDataset([(str(datadir / "wav.scp"), "speech", "sound")], fs=22050)
    with pytest.raises(ValueError, match=r"16000.*22050|22050.*16000"):
        dataset["u0"]


def test_uid_mismatch_counts_and_shows_missing(datadir):
    (datadir / "text_short").write_text("u0 hello\n")
    with pytest.raises(ValueError, match=r"2 uid\(s\) of .*wav.scp are missing, e.g. \['u1', 'u2'\]"):
        ESPnetDataset([(str(datadir / "wav.scp"), "speech", "sound"), (str(datadir / "text_short"), "text", "text")])


def test_text_must_be_preprocessed_and_unknown_type_fails(datadir):
    dataset = ESPnetDataset([(str(datadir / "text"), "text", "text")])
    with pytest.raises(TypeError, match="still text after preprocessing"):
        dataset["u0"]
    with pytest.raises(ValueError, match="unknown data type 'kaldi_ark'"):
        ESPnetDataset([(str(datadir / "text"), "text", "kaldi_ark")])
    with pytest.raises(ValueError, match="positive dimension"):
        ESPnetDataset([(str(datadir / "f0.scp"), "f0", "rawf32:x")])


def test_preprocess_and_bounded_cache(datadir):
    calls = []

    def preprocess(uid, data):
        calls.append(uid)
        return {"text": np.array([len(data["text"])])}

    dataset = ESPnetDataset([(str(datadir / "text"), "text", "text")], preprocess=preprocess, max_cache_size=1e6)
    assert dataset["u0"][1]["text"].tolist() == [len("hello world")]
    assert dataset["u0"][1]["text"].tolist() == [len("hello world")]
    assert "u0" in dataset._cache and calls == ["u0", "u0"]
    small = ESPnetDataset([(str(datadir / "wav.scp"), "speech", "sound")], max_cache_size=2000 * 4)
    for uid in ["u0", "u1", "u2"]:
        small[uid]
    # 3200 + 4800 bytes fill the cache; u2 (1600 bytes) evicts the least recently used u0
    assert list(small._cache) == ["u1", "u2"]
    assert small._cache_bytes == 4800 + 1600


def test_collate_pads_and_keeps_labels_unpadded():
    collate = CommonCollateFn(not_sequence=["emo_labs"])
    uids, batch = collate(
        [
            ("a", {"speech": np.ones((3, 2), np.float32), "text": np.array([1, 2]), "emo_labs": np.array(2)}),
            ("b", {"speech": np.ones((5, 2), np.float32), "text": np.array([3]), "emo_labs": np.array(0)}),
        ]
    )
    assert uids == ["a", "b"]
    assert batch["speech"].shape == (2, 5, 2)
    assert batch["speech"][0, 3:].abs().sum() == 0
    assert batch["speech_lengths"].tolist() == [3, 5]
    assert batch["text"].tolist() == [[1, 2], [3, -32768]]  # ESPnet2's default int_pad_value
    assert batch["emo_labs"].tolist() == [2, 0] and "emo_labs_lengths" not in batch
    with pytest.raises(ValueError, match="scalar"):
        CommonCollateFn()([("a", {"x": np.array(1)})])


def test_collate_pads_not_sequence_data_without_lengths():
    """ESPnet2's CommonCollateFn pads ``not_sequence`` arrays of different lengths too; it only
    leaves out their ``*_lengths``."""
    collate = CommonCollateFn(float_pad_value=-1.0, not_sequence=["a"])
    _, batch = collate([("u1", {"a": np.ones((3, 2))}), ("u2", {"a": np.zeros((2, 2))})])
    assert set(batch) == {"a"}
    assert batch["a"].shape == (2, 3, 2)
    assert batch["a"][1, 2].tolist() == [-1.0, -1.0] and batch["a"][1, :2].sum() == 0
