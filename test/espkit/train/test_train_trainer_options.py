"""``TrainerOptions`` is the one definition of the trainer's options: ``--help``, ``--print_config``
(``config.yaml``) and the trainer a task builds all follow it."""

import dataclasses
import logging
import re

import pytest
import torch
import yaml
from toy_task import ToyTask

from espkit.train.abs_espnet_model import AbsESPnetModel
from espkit.train.reporter import Reporter
from espkit.train.trainer import Trainer
from espkit.train.trainer_options import TrainerOptions
from espkit.utils.errors import ConfigError


class TinyRegression(AbsESPnetModel):
    """x (B, idim) -> a scalar pulled towards 1."""

    def __init__(self, idim: int):
        super().__init__()
        self.linear = torch.nn.Linear(idim, 1)

    def forward(self, x, x_lengths):
        loss = ((self.linear(x).squeeze(-1) - 1.0) ** 2).mean()
        return loss, {"loss": loss.detach()}, x.shape[0]

    def collect_feats(self, x, x_lengths):
        return {"x": x}


class RecordingTrainer(Trainer):
    """A task's own trainer class that remembers the instances the task builds."""

    instances = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        RecordingTrainer.instances.append(self)


class TrainableToyTask(ToyTask):
    trainer = RecordingTrainer

    @classmethod
    def build_model(cls, args):
        return TinyRegression(args.idim)


@pytest.fixture(autouse=True)
def quiet_run(monkeypatch):
    """No curve plots; the logging set-up a training run changes is put back afterwards."""
    monkeypatch.setattr(Reporter, "plot", lambda self, output_dir: [])
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    RecordingTrainer.instances.clear()
    yield
    root.handlers[:], root.level = handlers, level


def train_argv(tmp_path, *extra):
    data = tmp_path / "x.txt"
    data.write_text("".join(f"utt{i} {i} 0.5 -1\n" for i in range(4)))
    entry = f"{data},x,text_float"
    return [
        "--output_dir",
        str(tmp_path / "exp"),
        "--train_data_path_and_name_and_type",
        entry,
        "--valid_data_path_and_name_and_type",
        entry,
        "--batch_type",
        "unsorted",
        "--batch_size",
        "2",
        "--num_workers",
        "0",
        "--num_att_plot",
        "0",
        "--log_level",
        "ERROR",
        *extra,
    ]


def test_a_default_changed_in_the_definition_reaches_help_config_and_trainer(tmp_path, monkeypatch, capsys):
    max_epoch = {option.name: option for option in dataclasses.fields(TrainerOptions)}["max_epoch"]
    assert max_epoch.default == 40
    monkeypatch.setattr(max_epoch, "default", 2)

    help_text = TrainableToyTask.get_parser().format_help()
    assert re.search(r"--max_epoch MAX_EPOCH\s+Number of epochs \(default: 2\)", help_text), help_text
    with pytest.raises(SystemExit):  # --print_config exits after printing (ESPnet2's contract)
        TrainableToyTask.main(cmd=["--print_config"])
    assert yaml.safe_load(capsys.readouterr().out)["max_epoch"] == 2

    TrainableToyTask.main(cmd=train_argv(tmp_path))
    [trainer] = RecordingTrainer.instances  # the task's trainer class was used
    assert trainer.options.max_epoch == 2
    assert sorted(trainer.reporter.history) == [1, 2]
    assert yaml.safe_load((tmp_path / "exp" / "config.yaml").read_text())["max_epoch"] == 2


def test_the_parser_defaults_are_the_options_defaults():
    args = ToyTask.get_parser().parse_args(["--output_dir", "exp"])
    assert {option.name for option in dataclasses.fields(TrainerOptions)} <= set(vars(args))
    ToyTask.resolve_args(args)
    assert Trainer.build_options(args) == TrainerOptions(output_dir="exp")
    assert args.best_model_criterion == [["valid", "loss", "min"], ["train", "loss", "min"]]


def test_choices_are_checked_on_the_command_line_and_in_the_options(capsys):
    with pytest.raises(SystemExit):
        ToyTask.get_parser().parse_args(["--train_dtype", "float8"])
    assert "invalid choice: 'float8'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="--train_dtype must be one of float16, float32, float64, bfloat16"):
        TrainerOptions(output_dir="exp", train_dtype="float8")
    with pytest.raises(ConfigError, match="a criterion must be '<train|valid> <stat> <min|max>'"):
        TrainerOptions(output_dir="exp", best_model_criterion=[["valid", "loss", "lowest"]])
    with pytest.raises(ConfigError, match="--output_dir is required"):
        TrainerOptions()


def test_a_trainer_config_mistake_found_while_training_is_one_error_line(tmp_path, capsys):
    argv = train_argv(
        tmp_path, "--max_epoch", "1", "--scheduler", "reducelronplateau", "--val_scheduler_criterion", "valid", "acc"
    )
    with pytest.raises(SystemExit) as exc:
        TrainableToyTask.main(cmd=argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "error: --val_scheduler_criterion valid acc: the model reports no valid stat 'acc'" in err
