"""python -m espkit.bin.training_report on a finished, a running and a killed (truncated) run."""

import json
import logging
import re
import shutil
import sys

import pytest
import torch
import yaml

from espkit.bin.training_report import main
from espkit.train.abs_espnet_model import AbsESPnetModel
from espkit.train.history import HISTORY_NAME
from espkit.train.reporter import Reporter
from espkit.train.trainer import Trainer, TrainerOptions
from espkit.train.training_plots import pick_epochs, require_matplotlib
from espkit.train.training_run import read_training_run

pytest.importorskip("matplotlib")


class AttentionToy(AbsESPnetModel):
    """A linear model with two loss terms and an attention map."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 4)

    def forward(self, x, y):
        hidden = self.linear(x)
        l1 = (hidden.sum(-1) - y).abs().mean()
        l2 = ((hidden.mean(-1) - y) ** 2).mean()
        loss = l1 + l2
        return loss, {"loss": loss.detach(), "l1_loss": l1.detach(), "l2_loss": l2.detach()}, len(x)

    def collect_feats(self, x, y):
        return {"x": x}

    def forward_attention(self, x, y):
        return {"att_ws": torch.softmax(self.linear(x).unsqueeze(1).expand(-1, 5, -1), dim=-1)}


class Batches:
    def __init__(self, num, seed):
        generator = torch.Generator().manual_seed(seed)
        self.batches = [
            {"x": torch.randn(2, 3, generator=generator), "y": torch.randn(2, generator=generator)} for _ in range(num)
        ]

    def num_batches(self, epoch):
        return len(self.batches)

    def build_iter(self, epoch, shuffle=None, start_batch=0):
        for position in range(start_batch, len(self.batches)):
            yield [f"utt{position}_{j}" for j in range(2)], self.batches[position]


CONFIG = {
    "tts": "toy",
    "optim": "sgd",
    "max_epoch": 4,
    "best_model_criterion": [["valid", "loss", "min"], ["train", "loss", "min"]],
    "keep_nbest_models": [2],
    "patience": None,
}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A real 4-epoch run: history.jsonl, checkpoint.pth, n-best files, attention maps, config.yaml."""
    run_dir = tmp_path_factory.mktemp("exp") / "toy_run"
    plot = Reporter.plot
    Reporter.plot = lambda self, output_dir: []  # the trainer's own per-stat curves are not tested here
    try:
        torch.manual_seed(0)
        model = AttentionToy()
        options = TrainerOptions(
            output_dir=str(run_dir),
            max_epoch=4,
            best_model_criterion=CONFIG["best_model_criterion"],
            keep_nbest_models=[2],
            num_att_plot=1,
        )
        trainer = Trainer(model, [torch.optim.SGD(model.parameters(), lr=0.05)], [None], options)
        trainer.run(Batches(3, seed=1), Batches(1, seed=2), plot_attention_iter_factory=Batches(1, seed=3))
    finally:
        Reporter.plot = plot
    (run_dir / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    return run_dir


def copy_run(run_dir, tmp_path):
    return shutil.copytree(run_dir, tmp_path / run_dir.name)


def assert_report_is_complete(report_dir):
    """report.html exists and every image it shows is a PNG next to it; returns the page."""
    page = (report_dir / "report.html").read_text()
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert sources, "the report shows no figure"
    for source in sources:
        png = report_dir / source
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", source
    return page, sources


def test_report_of_a_finished_run(finished_run, tmp_path, capsys):
    run_dir = copy_run(finished_run, tmp_path)
    eval_dir = run_dir / "eval_griffin_lim"
    eval_dir.mkdir()
    results = {
        "num_utts": 8,
        "reference": {"num_utts": 8, "voiced_ratio": 0.71, "periodicity": {"p50": 0.79}},
        "system": {"num_utts": 8, "mcd_db": 4.2409, "ffe": 0.1212, "periodicity": {"p50": 0.86}},
        "all_emotions_accuracy": 0.958,
    }
    (eval_dir / "results.json").write_text(json.dumps(results))
    (eval_dir / "results.md").write_text("# Objective evaluation\n")
    main([str(run_dir)])
    report_dir = run_dir / "report"
    assert capsys.readouterr().out.strip() == str(report_dir / "report.html")
    page, sources = assert_report_is_complete(report_dir)
    assert sorted(sources) == ["attention_att_ws.png", "criteria.png", "optimization.png", "speed.png", "stats.png"]
    run = read_training_run(run_dir)
    assert run.source == HISTORY_NAME and run.epochs == [1, 2, 3, 4]
    assert run.status == "finished: 4 of 4 epochs" and "finished: 4 of 4 epochs" in page
    valid, train = run.criteria
    history = [json.loads(line) for line in (run_dir / HISTORY_NAME).read_text().splitlines()]
    ranked = sorted(history, key=lambda record: (record["stats"]["valid"]["loss"], record["epoch"]))
    assert valid.best_epoch == ranked[0]["epoch"] and valid.nbest_epochs == [r["epoch"] for r in ranked[:2]]
    assert valid.best_file == run_dir / "valid.loss.best.pth" and valid.average_files == {
        2: run_dir / "valid.loss.ave_2best.pth"
    }
    assert f"<td>{valid.best_epoch} ({ranked[0]['stats']['valid']['loss']:.4g})</td>" in page
    assert f"<td>{', '.join(str(r['epoch']) for r in ranked[:2])}</td>" in page
    assert train.name == "train.loss" and "valid.loss.ave_2best.pth" in page
    # the evaluation table: a column per system, the numbers as written, results.md linked
    assert "<th>reference</th><th>system</th>" in page
    assert '<tr><td>mcd_db</td><td class="num">—</td><td class="num">4.241</td></tr>' in page
    assert '<td>periodicity.p50</td><td class="num">0.79</td><td class="num">0.86</td>' in page
    assert "all_emotions_accuracy" in page and 'href="../eval_griffin_lim/results.md"' in page
    # the step time and throughput come from the counted batches (3 of 2 utterances per epoch)
    last = history[-1]
    assert last["stats"]["train"]["batches"] == 3 and last["stats"]["train"]["utts"] == 6
    assert run.timing_series("s_per_batch")[-1][1] == pytest.approx(last["stats"]["train"]["time"] / 3)


def test_report_of_a_running_run_with_a_partial_last_line(finished_run, tmp_path, caplog):
    run_dir = copy_run(finished_run, tmp_path)
    lines = (run_dir / HISTORY_NAME).read_text().splitlines()
    (run_dir / HISTORY_NAME).write_text("\n".join(lines[:2]) + "\n" + lines[2][: len(lines[2]) // 2])
    with caplog.at_level(logging.WARNING):
        main([str(run_dir), "--output_dir", str(tmp_path / "out")])
    assert f"{run_dir / HISTORY_NAME}:3: skipping an incomplete last line" in caplog.text
    page, _ = assert_report_is_complete(tmp_path / "out")
    run = read_training_run(run_dir)
    assert run.epochs == [1, 2]
    assert run.status.startswith("not finished: 2 of 4 epochs") and "not finished: 2 of 4 epochs" in page
    assert "the last line of" in page and "is incomplete" in page
    assert "1-2</td>" in page  # the finished epochs


def test_report_of_a_killed_run_without_history_reads_the_checkpoint(finished_run, tmp_path):
    run_dir = copy_run(finished_run, tmp_path)
    expected = read_training_run(run_dir)
    (run_dir / HISTORY_NAME).unlink()  # a run made before history.jsonl existed
    (run_dir / "config.yaml").write_text(yaml.safe_dump(dict(CONFIG, max_epoch=10)))  # killed after epoch 4 of 10
    main([str(run_dir)])
    page, sources = assert_report_is_complete(run_dir / "report")
    run = read_training_run(run_dir)
    assert run.source == "checkpoint.pth" and run.epochs == [1, 2, 3, 4]
    assert run.status.startswith("not finished: 4 of 10 epochs")
    for phase in ("train", "valid"):
        for key in ("loss", "l1_loss", "l2_loss"):
            assert run.series(phase, key) == expected.series(phase, key), (phase, key)
    assert "read from</td><td>checkpoint.pth" in page and "no history.jsonl" in page
    assert "speed.png" in sources  # the epoch times are in the checkpoint too


def test_early_stopping_shows_in_the_status(finished_run, tmp_path):
    run_dir = copy_run(finished_run, tmp_path)
    lines = (run_dir / HISTORY_NAME).read_text().splitlines()
    records = [json.loads(line) for line in lines]
    for record, loss in zip(records, (1.0, 2.0, 3.0, 4.0)):  # the best epoch is the first
        record["stats"]["valid"]["loss"] = loss
    (run_dir / HISTORY_NAME).write_text("".join(json.dumps(r) + "\n" for r in records))
    (run_dir / "config.yaml").write_text(yaml.safe_dump(dict(CONFIG, max_epoch=10, patience=2)))
    assert read_training_run(run_dir).status == (
        "stopped early after epoch 4 of 10 (valid.loss best at epoch 1, patience 2)"
    )


def test_bad_input_is_one_error_line(finished_run, tmp_path, capsys, monkeypatch):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "missing")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == (
        f"training_report: error: {tmp_path / 'missing'} is not a directory (expected a training run, e.g. exp/tts_train)"
    )
    run_dir = copy_run(finished_run, tmp_path)
    lines = (run_dir / HISTORY_NAME).read_text().splitlines()
    (run_dir / HISTORY_NAME).write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n")
    with pytest.raises(SystemExit):
        main([str(run_dir)])
    assert f"training_report: error: {run_dir / HISTORY_NAME}:2: not a history record" in capsys.readouterr().err
    (run_dir / "config.yaml").write_text("max_epoch: [1\n")
    with pytest.raises(SystemExit):
        main([str(run_dir)])
    assert f"training_report: error: {run_dir / 'config.yaml'}: not valid YAML" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'espkit\[plot\]'"):
        require_matplotlib()


def test_pick_epochs_spreads_and_keeps_the_best():
    assert pick_epochs(range(1, 26), 5) == [1, 7, 13, 19, 25]
    assert pick_epochs(range(1, 26), 3, must=[10]) == [1, 10, 13, 25]
    assert pick_epochs([2, 4], 6) == [2, 4]
    assert pick_epochs([], 6) == []
