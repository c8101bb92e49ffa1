import io
import logging

import pytest
import torch

from espkit.train.reporter import Reporter


def feed(reporter, batches):
    for loss, acc, weight in batches:
        reporter.register({"loss": torch.tensor(loss), "acc": acc, "unused": None}, weight=weight)


def test_weighted_average_per_epoch_and_counts():
    reporter = Reporter()
    reporter.start_phase("train", 1)
    feed(reporter, [(1.0, 0.5, 1), (4.0, 1.0, torch.tensor(3))])
    reporter.increment("skipped_steps")
    reporter.increment("skipped_steps")
    values = reporter.finish_phase()
    assert values["loss"] == pytest.approx((1.0 * 1 + 4.0 * 3) / 4)
    assert values["acc"] == pytest.approx((0.5 + 3.0) / 4)
    assert values["skipped_steps"] == 2
    assert "unused" not in values and values["time"] >= 0
    assert reporter.get_value("train", "loss", 1) == values["loss"]
    assert reporter.phase is None


def test_state_dict_round_trip_mid_epoch_gives_the_same_averages():
    batches = [(0.1 * i + 0.37, 0.3 + 0.01 * i, 1 + i % 3) for i in range(10)]
    uninterrupted = Reporter()
    uninterrupted.start_phase("train", 1)
    feed(uninterrupted, batches)
    uninterrupted.finish_phase()
    uninterrupted.start_phase("train", 2)
    feed(uninterrupted, batches)
    expected = uninterrupted.finish_phase()

    first = Reporter()
    first.start_phase("train", 1)
    feed(first, batches)
    first.finish_phase()
    first.start_phase("train", 2)
    feed(first, batches[:4])
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)  # plain data: loadable with weights_only=True
    buffer.seek(0)
    resumed = Reporter()
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    resumed.start_phase("train", 2)  # the same phase: continues the partial sums
    feed(resumed, batches[4:])
    values = resumed.finish_phase()
    assert values["loss"] == expected["loss"]  # bit-identical
    assert values["acc"] == expected["acc"]
    assert resumed.history[1]["train"]["loss"] == uninterrupted.history[1]["train"]["loss"]

    other = Reporter()
    other.load_state_dict(first.state_dict())
    other.start_phase("valid", 2)  # another phase starts from zero
    feed(other, [(9.0, 0.0, 1)])
    assert other.finish_phase()["loss"] == 9.0


def make_history(values, phase="valid", key="loss"):
    reporter = Reporter()
    for epoch, value in enumerate(values, start=1):
        reporter.start_phase(phase, epoch)
        reporter.register({key: value})
        reporter.finish_phase()
    return reporter


def test_best_epoch_sorting_and_early_stopping():
    reporter = make_history([3.0, 1.0, 2.0, 1.0, 5.0])
    assert reporter.sort_epochs_and_values("valid", "loss", "min") == [(2, 1.0), (4, 1.0), (3, 2.0), (1, 3.0), (5, 5.0)]
    assert reporter.best_epoch("valid", "loss", "min") == 2
    assert reporter.best_epoch("valid", "loss", "max") == 5
    assert reporter.best_epoch("valid", "acc", "max") is None
    assert reporter.check_early_stopping(2, "valid", "loss", "min") is True  # 5 - 2 > 2 (ESPnet2's rule)
    assert reporter.check_early_stopping(3, "valid", "loss", "min") is False
    assert reporter.check_early_stopping(None, "valid", "loss", "min") is False
    assert reporter.check_early_stopping(1, "valid", "loss", "min", epoch=2) is False
    with pytest.raises(KeyError, match="no stat 'acc' in the valid results of epoch 5; valid: \\['loss', 'time'\\]"):
        reporter.get_value("valid", "acc")
    with pytest.raises(ValueError, match="mode must be one of"):
        reporter.sort_epochs_and_values("valid", "loss", "best")


def test_register_rejects_non_scalar_stats_and_needs_a_phase():
    reporter = Reporter()
    with pytest.raises(RuntimeError, match="before start_phase"):
        reporter.register({"loss": 1.0})
    reporter.start_phase("train", 1)
    with pytest.raises(ValueError, match="stat 'loss' must be a scalar, got a tensor of shape \\(2,\\)"):
        reporter.register({"loss": torch.ones(2)})


def test_progress_message_has_rate_and_eta():
    reporter = Reporter()
    reporter.start_phase("train", 3)
    feed(reporter, [(2.0, 1.0, 1)] * 5)
    message = reporter.progress_message(5, 20)
    assert message.startswith("3epoch:train:5/20batch: acc=1, loss=2 (")
    assert "it/s, ETA 0:00:" in message


def test_plot_writes_one_png_per_stat(tmp_path):
    pytest.importorskip("matplotlib")
    reporter = make_history([3.0, 2.0])
    written = reporter.plot(tmp_path)
    assert sorted(p.name for p in written) == ["loss.png", "time.png"]
    assert (tmp_path / "images" / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_without_matplotlib_logs_once(tmp_path, monkeypatch, caplog):
    import builtins

    import espkit.train.reporter as reporter_module

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr(reporter_module, "_matplotlib_missing_logged", False)
    reporter = make_history([1.0])
    with caplog.at_level(logging.INFO, logger="espkit.train.reporter"):
        assert reporter.plot(tmp_path) == []
        assert reporter.plot(tmp_path) == []
    assert [r.getMessage() for r in caplog.records].count(
        "matplotlib is not installed: skipping the training-curve plots"
    ) == 1
    assert not (tmp_path / "images").exists()


def test_tensorboard_scalars():
    class Writer:
        def __init__(self):
            self.calls = []

        def add_scalar(self, tag, value, step):
            self.calls.append((tag, value, step))

    writer = Writer()
    make_history([0.5]).tensorboard_add_scalars(writer, 1)
    assert ("valid/loss", 0.5, 1) in writer.calls


def test_progress_rate_counts_each_batch_once(monkeypatch):
    from espkit.train import reporter as reporter_module

    reporter = reporter_module.Reporter()
    clock = iter([100.0, 110.0])
    monkeypatch.setattr(reporter_module.time, "perf_counter", lambda: next(clock))
    reporter.start_phase("train", 1)
    for _ in range(5):
        reporter.register({"loss": 1.0}, 2)
        reporter.register({"grad_norm": 0.5}, 1, new_batch=False)
    assert "(0.50 it/s, ETA 0:00:10)" in reporter.progress_message(5, 10)


def test_espnet2_sub_reporter_rules_and_helpers(tmp_path):
    """ESPnet2's SubReporter contract: closed phases, reserved keys, scalars only, total counts,
    timing helpers, ``aggregate`` and ``matplotlib_plot``."""
    import numpy as np

    from espkit.train.reporter import Average, ReportedValue, WeightedAverage, aggregate

    reporter = Reporter()
    with reporter.observe("train", 1) as sub:
        sub.register({"a": np.array(2.0)})
        with pytest.raises(RuntimeError, match="reserved"):
            sub.register({"time": 1.0})
        with pytest.raises(ValueError, match="scalar"):
            sub.register({"a": np.array([0, 1])})
        with pytest.raises(ValueError, match="weight must be a scalar"):
            sub.register({"a": 1}, weight=np.array([1, 2]))
        with pytest.raises(RuntimeError, match="while train of epoch 1 is observed"):
            reporter.set_epoch(2)
        with sub.measure_time("t_fwd"):
            pass
        assert [x for x in sub.measure_iter_time(range(3), "t_iter")] == [0, 1, 2]
        assert sub.get_total_count() == 1
    with pytest.raises(RuntimeError, match="after train of epoch 1 was closed"):
        sub.register({"a": 1.0})
    with reporter.observe("train", 2) as sub:
        sub.register({"a": 4.0})
        sub.register({"a": 6.0})
        assert sub.get_total_count() == 3
    assert reporter.get_value("train", "a", 1) == 2.0 and reporter.get_value("train", "a", 2) == 5.0
    assert reporter.get_keys2("train", 1) == ("a", "t_fwd", "t_iter")
    assert aggregate([Average(0.1), Average(0.3)]) == pytest.approx(0.2)
    assert aggregate([WeightedAverage(1.0, 1.0), WeightedAverage(3.0, 3.0)]) == pytest.approx(2.5)
    assert aggregate([]) is np.nan
    with pytest.raises(NotImplementedError):
        aggregate([ReportedValue()])
    written = reporter.matplotlib_plot(tmp_path)
    assert (tmp_path / "a.png") in written and (tmp_path / "a.png").stat().st_size > 0
