import errno
import os

import pytest
import torch

import espkit.train.checkpoint as checkpoint
from espkit.train.checkpoint import (
    CheckpointError,
    average_model_files,
    load_checkpoint,
    load_model_state,
    save_atomic,
)


def small_model(hidden=3):
    return torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.BatchNorm1d(hidden))


def test_save_atomic_round_trip_without_temp_files(tmp_path):
    path = tmp_path / "sub" / "checkpoint.pth"
    obj = {"model": {"w": torch.arange(4.0)}, "epoch": 3, "rng": [1, 2]}
    save_atomic(obj, path)
    loaded = load_checkpoint(path)
    assert torch.equal(loaded["model"]["w"], obj["model"]["w"]) and loaded["epoch"] == 3
    assert os.listdir(path.parent) == ["checkpoint.pth"]


def test_disk_full_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pth"
    save_atomic({"epoch": 1}, path)

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint.os, "fsync", no_space)
    with pytest.raises(CheckpointError, match=f"could not write {path}: OSError: .*No space left on device"):
        save_atomic({"epoch": 2}, path)
    monkeypatch.undo()
    assert load_checkpoint(path) == {"epoch": 1}
    assert os.listdir(tmp_path) == ["checkpoint.pth"]


def test_truncated_checkpoint_is_reported_as_corrupt(tmp_path):
    good = tmp_path / "good.pth"
    bad = tmp_path / "checkpoint.pth"
    save_atomic({"model": {"w": torch.randn(100)}}, good)
    data = good.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="checkpoint.pth is corrupt or truncated"):
        load_checkpoint(bad)
    bad.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="checkpoint.pth is corrupt \\(unpickling failed: Unsupported operand"):
        load_checkpoint(bad)
    assert torch.equal(load_checkpoint(good)["model"]["w"], torch.load(good, weights_only=True)["model"]["w"])
    with pytest.raises(FileNotFoundError, match="missing.pth does not exist"):
        load_checkpoint(tmp_path / "missing.pth")


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "obj.pth"
    torch.save({"x": small_model()}, path)
    with pytest.raises(
        CheckpointError,
        match="holds objects other than tensors and plain data.*Unsupported global: GLOBAL torch.nn.modules.container.Sequential",
    ):
        load_checkpoint(path)


def test_load_model_state_bare_and_checkpoint_and_ddp_prefix(tmp_path):
    torch.manual_seed(0)
    source = small_model()
    torch.save(source.state_dict(), tmp_path / "bare.pth")
    save_atomic({"model": source.state_dict(), "epoch": 1}, tmp_path / "ckpt.pth")
    torch.save({f"module.{k}": v for k, v in source.state_dict().items()}, tmp_path / "ddp.pth")
    for name in ("bare.pth", "ckpt.pth", "ddp.pth"):
        target = small_model()
        load_model_state(target, tmp_path / name)
        for key, value in source.state_dict().items():
            assert torch.equal(target.state_dict()[key], value), (name, key)


def test_load_model_state_lists_mismatches_missing_and_unexpected(tmp_path):
    state = small_model(hidden=3).state_dict()
    state["extra.weight"] = torch.zeros(1)
    del state["1.bias"]
    torch.save(state, tmp_path / "m.pth")
    with pytest.raises(CheckpointError) as info:
        load_model_state(small_model(hidden=4), tmp_path / "m.pth")
    message = str(info.value)
    assert "0.weight: (3, 2) in " in message and "vs (4, 2) in the model" in message
    assert "1.running_mean: (3,)" in message
    assert "missing from" in message and "1.bias" in message
    assert "unexpected key(s)" in message and "extra.weight" in message


def test_average_model_files_means_floats_and_keeps_last_integer_buffers(tmp_path):
    states = []
    for i in range(3):
        torch.manual_seed(i)
        model = small_model()
        model.train()
        for _ in range(i + 1):
            model(torch.randn(4, 2))
        states.append(model.state_dict())
        torch.save(model.state_dict(), tmp_path / f"{i + 1}epoch.pth")
    average = average_model_files([tmp_path / f"{i + 1}epoch.pth" for i in range(3)])
    for key, value in average.items():
        if key.endswith("num_batches_tracked"):
            assert value.item() == 3 and value.dtype == torch.int64
        else:
            expected = torch.stack([s[key] for s in states]).mean(0)
            assert torch.allclose(value, expected, atol=1e-7), key
            assert value.dtype == states[0][key].dtype
    torch.save({"other": torch.zeros(1)}, tmp_path / "odd.pth")
    with pytest.raises(CheckpointError, match="odd.pth has other keys than"):
        average_model_files([tmp_path / "1epoch.pth", tmp_path / "odd.pth"])
