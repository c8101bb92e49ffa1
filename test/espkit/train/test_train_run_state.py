"""run_state / restore_run_state: what checkpoint.pth holds and which RNG states a rank gets back."""

import logging

import pytest
import torch

from espkit.train.checkpoint import CheckpointError, save_atomic
from espkit.train.reporter import Reporter
from espkit.train.run_state import CHECKPOINT_VERSION, restore_run_state, run_state


def _objects(seed):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)
    return model, optimizer, scheduler


def _rng(value):
    return {"torch": torch.full((4,), value, dtype=torch.uint8)}


def _saved(tmp_path, rng_per_rank, epoch_completed=False, drop=()):
    model, optimizer, scheduler = _objects(0)
    model(torch.randn(5, 3)).sum().backward()
    optimizer.step()
    scheduler.step()
    reporter = Reporter()
    state = run_state(
        model,
        [optimizer],
        [scheduler],
        None,
        reporter,
        epoch=3,
        batch_index=7,
        epoch_completed=epoch_completed,
        early_stopped=False,
        rng_per_rank=rng_per_rank,
    )
    for key in drop:
        del state[key]
    path = tmp_path / "checkpoint.pth"
    save_atomic(state, path)
    return path, model, optimizer, scheduler


def test_restores_weights_optimizer_scheduler_and_the_position(tmp_path):
    path, model, optimizer, scheduler = _saved(tmp_path, [_rng(1)])
    saved = torch.load(path, weights_only=True)
    assert saved["version"] == CHECKPOINT_VERSION
    assert torch.equal(saved["rng"]["torch"], _rng(1)["torch"])
    new_model, new_optimizer, new_scheduler = _objects(1)
    assert not torch.equal(new_model.weight, model.weight)
    position = restore_run_state(path, new_model, [new_optimizer], [new_scheduler], None, Reporter())
    assert (position.epoch, position.batch_index) == (3, 7)
    assert torch.equal(new_model.weight, model.weight)
    assert new_scheduler.last_epoch == scheduler.last_epoch == 1
    assert torch.equal(new_optimizer.state_dict()["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"])
    assert torch.equal(position.rng_states["torch"], _rng(1)["torch"])


def test_a_completed_epoch_continues_with_the_next_without_rng_states(tmp_path):
    path, *_ = _saved(tmp_path, [_rng(1)], epoch_completed=True)
    model, optimizer, scheduler = _objects(1)
    position = restore_run_state(path, model, [optimizer], [scheduler], None, Reporter())
    assert (position.epoch, position.batch_index, position.rng_states) == (4, 0, None)


def test_each_rank_gets_its_own_rng_states_back(tmp_path, caplog):
    path, *_ = _saved(tmp_path, [_rng(10), _rng(11)])
    for rank in (0, 1):
        model, optimizer, scheduler = _objects(1)
        with caplog.at_level(logging.WARNING):
            position = restore_run_state(
                path, model, [optimizer], [scheduler], None, Reporter(), rank=rank, world_size=2
            )
        assert torch.equal(position.rng_states["torch"], _rng(10 + rank)["torch"])
    assert "not bit-identical" not in caplog.text


def test_another_world_size_falls_back_to_rank_0_with_a_warning(tmp_path, caplog):
    path, *_ = _saved(tmp_path, [_rng(10), _rng(11)])
    model, optimizer, scheduler = _objects(1)
    with caplog.at_level(logging.WARNING):
        position = restore_run_state(path, model, [optimizer], [scheduler], None, Reporter(), rank=2, world_size=3)
    assert torch.equal(position.rng_states["torch"], _rng(10)["torch"])
    assert "written by 2 process(es) and is resumed by 3" in caplog.text


def test_a_version_1_checkpoint_without_per_rank_states_still_resumes(tmp_path, caplog):
    path, *_ = _saved(tmp_path, [_rng(5)], drop=("rng_per_rank",))
    model, optimizer, scheduler = _objects(1)
    with caplog.at_level(logging.WARNING):
        position = restore_run_state(path, model, [optimizer], [scheduler], None, Reporter())
    assert torch.equal(position.rng_states["torch"], _rng(5)["torch"])
    assert caplog.text == ""


def test_a_mismatched_optimizer_list_is_named(tmp_path):
    path, *_ = _saved(tmp_path, [_rng(1)])
    model, optimizer, scheduler = _objects(1)
    with pytest.raises(CheckpointError, match=r"holds 1 optimizers but this run has 2"):
        restore_run_state(path, model, [optimizer, optimizer], [scheduler, None], None, Reporter())


def test_model_weights_alone_are_not_a_training_checkpoint(tmp_path):
    model, optimizer, scheduler = _objects(0)
    path = tmp_path / "1epoch.pth"
    save_atomic(model.state_dict(), path)
    with pytest.raises(CheckpointError, match="not a training checkpoint.*--init_param"):
        restore_run_state(path, model, [optimizer], [scheduler], None, Reporter())
