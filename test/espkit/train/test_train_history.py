"""history.jsonl: one line per finished epoch, readable while written, exact across resumes."""

import json
import logging
import os
import signal

import pytest
import torch

from espkit.fileio.read_text import DataFormatError
from espkit.train.abs_espnet_model import AbsESPnetModel
from espkit.train.history import HISTORY_NAME, append_history, read_history, records_from_history, sync_history
from espkit.train.reporter import Reporter
from espkit.train.trainer import Trainer, TrainerOptions


@pytest.fixture(autouse=True)
def skip_curve_plots(monkeypatch):
    monkeypatch.setattr(Reporter, "plot", lambda self, output_dir: [])


class Linear(AbsESPnetModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 1)

    def forward(self, x, y):
        loss = ((self.linear(x).squeeze(-1) - y) ** 2).mean()
        return loss, {"loss": loss.detach(), "l1": (self.linear(x).squeeze(-1) - y).abs().mean().detach()}, len(x)

    def collect_feats(self, x, y):
        return {"x": x}


class Batches:
    """Fixed batches of 2, 3, 2, 3, ... utterances; ``before_batch(epoch, position)`` runs first."""

    def __init__(self, num, seed, before_batch=None):
        generator = torch.Generator().manual_seed(seed)
        self.batches = []
        for index in range(num):
            size = 2 + index % 2
            self.batches.append(
                {"x": torch.randn(size, 3, generator=generator), "y": torch.randn(size, generator=generator)}
            )
        self.before_batch = before_batch

    def num_batches(self, epoch):
        return len(self.batches)

    def build_iter(self, epoch, shuffle=None, start_batch=0):
        for position in range(start_batch, len(self.batches)):
            if self.before_batch is not None:
                self.before_batch(epoch, position)
            batch = self.batches[position]
            yield [f"u{position}_{j}" for j in range(len(batch["x"]))], batch


def train(output_dir, max_epoch, resume=False, before_batch=None):
    torch.manual_seed(0)
    model = Linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    options = TrainerOptions(
        output_dir=str(output_dir), max_epoch=max_epoch, resume=resume, best_model_criterion=[["valid", "loss", "min"]]
    )
    trainer = Trainer(model, [optimizer], [None], options)
    return trainer.run(Batches(4, seed=1, before_batch=before_batch), Batches(2, seed=2))


def without_timing(records):
    """The records less what depends on the machine: ``timing`` and each phase's ``time``."""
    return [
        {
            "epoch": record["epoch"],
            "stats": {
                phase: {key: value for key, value in values.items() if key != "time"}
                for phase, values in record["stats"].items()
            },
        }
        for record in records
    ]


def test_one_line_per_epoch_with_every_stat_and_the_timing(tmp_path):
    reporter = train(tmp_path, max_epoch=3)
    lines = (tmp_path / HISTORY_NAME).read_text().splitlines()
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert [record["epoch"] for record in records] == [1, 2, 3]
    for record in records:
        epoch, train_stats = record["epoch"], record["stats"]["train"]
        assert set(train_stats) == {"loss", "l1", "grad_norm", "optim0_lr0", "batches", "utts", "time"}
        assert train_stats["batches"] == 4 and train_stats["utts"] == 10  # batches of 2, 3, 2, 3
        assert train_stats["loss"] == reporter.history[epoch]["train"]["loss"]
        assert record["stats"]["valid"]["loss"] == reporter.history[epoch]["valid"]["loss"]
        assert train_stats["optim0_lr0"] == 0.05
        timing = record["timing"]
        assert timing["s_per_batch"] == pytest.approx(train_stats["time"] / 4)
        assert timing["utts_per_s"] == pytest.approx(10 / train_stats["time"])
        assert timing["world_size"] == 1 and timing["finished_at"].endswith("+00:00")
    elapsed = [record["timing"]["elapsed_s"] for record in records]
    assert elapsed == sorted(elapsed) and elapsed[0] > 0
    assert read_history(tmp_path / HISTORY_NAME) == records


def test_sigterm_mid_epoch_then_resume_gives_the_uninterrupted_history(tmp_path):
    train(tmp_path / "reference", max_epoch=3)
    previous_handler = signal.getsignal(signal.SIGTERM)

    def send_sigterm(epoch, position):
        if epoch == 2 and position == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(SystemExit):
        train(tmp_path / "run", max_epoch=3, before_batch=send_sigterm)
    signal.signal(signal.SIGTERM, previous_handler)
    assert [record["epoch"] for record in read_history(tmp_path / "run" / HISTORY_NAME)] == [1]
    train(tmp_path / "run", max_epoch=3, resume=True)
    resumed = read_history(tmp_path / "run" / HISTORY_NAME)
    reference = read_history(tmp_path / "reference" / HISTORY_NAME)
    assert [record["epoch"] for record in resumed] == [1, 2, 3]
    assert without_timing(resumed) == without_timing(reference)
    assert resumed[1]["stats"]["train"]["batches"] == 4  # the interrupted epoch counts its batches of both runs


def test_resume_drops_lines_after_the_checkpoint_and_rebuilds_lost_ones(tmp_path, caplog):
    train(tmp_path / "reference", max_epoch=4)
    run = tmp_path / "run"
    train(run, max_epoch=2)
    path = run / HISTORY_NAME
    lines = path.read_text().splitlines()
    # killed after checkpoint.pth of epoch 2 but before its line, after a line of an epoch the
    # checkpoint does not have, and in the middle of writing a line
    fake = json.loads(lines[0])
    fake["epoch"] = 3
    path.write_text(lines[0] + "\n" + json.dumps(fake) + "\n" + lines[1][:40])
    with caplog.at_level(logging.INFO, logger="espkit.train.history"):
        train(run, max_epoch=4, resume=True)
    resumed = read_history(path)
    assert [record["epoch"] for record in resumed] == [1, 2, 3, 4]
    assert without_timing(resumed) == without_timing(read_history(tmp_path / "reference" / HISTORY_NAME))
    assert resumed[1]["timing"]["finished_at"] is None  # rebuilt from the checkpoint
    assert resumed[0]["timing"]["finished_at"] is not None  # kept as written
    assert any("dropping the lines of epochs [3]" in record.getMessage() for record in caplog.records)
    assert len(path.read_text().splitlines()) == 4


def test_a_new_run_in_an_old_directory_starts_a_new_history(tmp_path):
    train(tmp_path, max_epoch=3)
    train(tmp_path, max_epoch=1)  # --resume false: the old run is overwritten
    assert [record["epoch"] for record in read_history(tmp_path / HISTORY_NAME)] == [1]


def test_read_history_tolerates_only_a_partial_last_line(tmp_path, caplog):
    reporter = Reporter()
    for epoch in (1, 2):
        for phase in ("train", "valid"):
            reporter.start_phase(phase, epoch)
            reporter.register({"loss": float(epoch)})
            reporter.finish_phase()
    first, second = records_from_history(reporter.history)
    path = tmp_path / HISTORY_NAME
    path.write_text(json.dumps(first) + "\n" + json.dumps(second)[:25])
    with caplog.at_level(logging.WARNING, logger="espkit.train.history"):
        assert read_history(path) == [first]
    assert f"{path}:2: skipping an incomplete last line" in caplog.text
    append_history(path, second)  # the partial line stays one bad line, the new record its own
    path.write_text(path.read_text() + json.dumps(first) + "\n")
    with pytest.raises(DataFormatError, match=f"{path}:2: not a history record"):
        read_history(path)
    sync_history(path, reporter.history, last_epoch=2)  # a resume repairs the file
    assert read_history(path) == [first, second]
    assert path.read_text().count("\n") == 2
    assert first["stats"]["train"]["loss"] == 1.0 and first["timing"]["s_per_batch"] is None  # no batch count
