import logging

import pytest

from espkit.samplers.shape_file import load_shape_file
from espkit.tasks.iter_factory_builder import ensure_shape_files
from espkit.train.dataset import ESPnetDataset
from espkit.utils.errors import ConfigError


def make_dataset(tmp_path, uids):
    (tmp_path / "tokens").write_text("".join(f"{u} {' '.join(['1'] * (i + 2))}\n" for i, u in enumerate(uids)))
    return ESPnetDataset([(str(tmp_path / "tokens"), "text", "text_int")])


def test_missing_shape_files_are_scanned_once_and_reused(tmp_path, caplog, monkeypatch):
    dataset = make_dataset(tmp_path, ["a", "b", "c"])
    with caplog.at_level(logging.INFO):
        files = ensure_shape_files([], dataset, ["speech", "text"], tmp_path / "cache")
    assert files == [str(tmp_path / "cache" / "text_shape")]
    assert load_shape_file(files[0]) == {"a": (2,), "b": (3,), "c": (4,)}
    assert "scanning 3 utterances once" in caplog.text

    def fail(*args, **kwargs):
        raise AssertionError("the data was scanned again")

    monkeypatch.setattr(ESPnetDataset, "__getitem__", fail)
    assert ensure_shape_files([], dataset, ["text"], tmp_path / "cache") == files


def test_stale_shape_file_is_an_error(tmp_path):
    ensure_shape_files([], make_dataset(tmp_path, ["a", "b"]), ["text"], tmp_path / "cache")
    with pytest.raises(ConfigError, match="lists 2 uids but the data has 3.*delete it to rescan"):
        ensure_shape_files([], make_dataset(tmp_path, ["a", "b", "c"]), ["text"], tmp_path / "cache")


def test_given_missing_shape_file_with_unknown_name(tmp_path):
    with pytest.raises(ConfigError, match="do not match any data name"):
        ensure_shape_files([str(tmp_path / "feats_shape")], make_dataset(tmp_path, ["a"]), ["text"], None)
