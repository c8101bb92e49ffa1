import io
import logging

import pytest
import torch
import yaml
from toy_task import ToyTask


def option_groups(parser):
    return {group.title: {a.dest for a in group._group_actions} for group in parser._action_groups}


def test_parser_has_the_espnet_groups_and_options():
    groups = option_groups(ToyTask.get_parser())
    expected = {
        "common": {"print_config", "output_dir", "ngpu", "seed", "num_workers", "log_level", "dry_run"},
        "distributed": {
            "dist_backend",
            "dist_init_method",
            "dist_world_size",
            "dist_rank",
            "local_rank",
            "multiprocessing_distributed",
        },
        "cudnn": {"cudnn_enabled", "cudnn_benchmark", "cudnn_deterministic"},
        "collect stats": {"collect_stats", "write_collected_feats"},
        "trainer": {
            "max_epoch",
            "patience",
            "val_scheduler_criterion",
            "early_stopping_criterion",
            "best_model_criterion",
            "keep_nbest_models",
            "nbest_averaging_interval",
            "grad_clip",
            "grad_clip_type",
            "accum_grad",
            "no_forward_run",
            "resume",
            "train_dtype",
            "use_amp",
            "log_interval",
            "use_tensorboard",
            "num_iters_per_epoch",
        },
        "pretraining": {"init_param", "ignore_init_mismatch", "freeze_param"},
        "batch sampler": {
            "batch_type",
            "valid_batch_type",
            "batch_size",
            "valid_batch_size",
            "batch_bins",
            "valid_batch_bins",
            "train_shape_file",
            "valid_shape_file",
            "fold_length",
            "sort_in_batch",
            "sort_batch",
            "drop_last_iter",
        },
        "dataset": {
            "train_data_path_and_name_and_type",
            "valid_data_path_and_name_and_type",
            "allow_variable_data_keys",
            "max_cache_size",
        },
        "optimizer and scheduler": {"optim", "optim_conf", "scheduler", "scheduler_conf"},
        "task related": {"idim", "model", "model_conf"},
    }
    for title, dests in expected.items():
        assert title in groups, title
        assert dests <= groups[title], (title, dests - groups[title])
    assert "--config" in ToyTask.get_parser().format_help()


def test_config_file_gives_defaults_and_command_line_overrides(tmp_path):
    config = tmp_path / "conf.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "seed": 5,
                "max_epoch": 3,
                "model": "mlp",
                "model_conf": {"layers": 1},
                "max_cache_size": "1GB",
                "optim_conf": {"lr": 0.5},
            }
        )
    )
    args = ToyTask.get_parser().parse_args(["--config", str(config), "--seed", "7", "--model_conf", "units=[4]"])
    assert args.seed == 7  # command line wins
    assert args.max_epoch == 3  # config file default
    assert args.model == "mlp"
    assert args.model_conf == {"layers": 1, "units": [4]}  # merged in order
    assert args.max_cache_size == 1e9  # human-friendly size
    assert args.optim_conf == {"lr": 0.5}


def test_print_config_resolves_every_constructor_default_and_round_trips(tmp_path):
    args = ToyTask.get_parser().parse_args(
        [
            "--model",
            "linear",
            "--model_conf",
            "hidden=6",
            "--optim",
            "sgd",
            "--optim_conf",
            "lr=0.1",
            "--scheduler",
            "steplr",
            "--scheduler_conf",
            "step_size=2",
        ]
    )
    out = io.StringIO()
    ToyTask.print_config(args, file=out)
    config = yaml.safe_load(out.getvalue())
    assert config["model_conf"] == {"hidden": 6, "bias": True, "dropout_rate": 0.0}
    assert config["optim_conf"]["lr"] == 0.1 and config["optim_conf"]["momentum"] == 0
    assert config["scheduler_conf"]["step_size"] == 2 and config["scheduler_conf"]["gamma"] == 0.1
    assert "config" not in config and "print_config" not in config
    assert config["best_model_criterion"] == [["valid", "loss", "min"], ["train", "loss", "min"]]

    path = tmp_path / "config.yaml"
    path.write_text(out.getvalue())
    again = io.StringIO()
    ToyTask.print_config(ToyTask.load_config_args(path), file=again)
    defaults = io.StringIO()
    ToyTask.print_config(defaults)  # ESPnet2's print_config(file): the defaults
    assert yaml.safe_load(defaults.getvalue())["model"] == ToyTask.get_parser().parse_args([]).model
    assert yaml.safe_load(again.getvalue()) == config


def test_print_config_cli_exits_cleanly(capsys):
    with pytest.raises(SystemExit) as info:  # ESPnet2's contract: exit 0 after printing
        ToyTask.main(cmd=["--print_config", "--model", "mlp"])
    assert info.value.code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"] == "mlp" and printed["model_conf"] == {"layers": 2, "units": [8, 8]}


@pytest.mark.parametrize(
    "config, message",
    [
        ({"max_epochs": 3}, r"conf.yaml: unknown key 'max_epochs' \(did you mean max_epoch"),
        (
            {"model": "transformer"},
            r"conf.yaml: bad value for 'model': unknown --model 'transformer'; valid choices: linear, mlp",
        ),
        ({"max_epoch": "ten"}, r"conf.yaml: bad value for 'max_epoch'"),
        ({"max_epoch": 2.5}, r"conf.yaml: 'max_epoch' must be an integer"),
        ({"resume": "maybe"}, r"conf.yaml: bad value for 'resume'"),
        ({"model_conf": [1, 2]}, r"conf.yaml: 'model_conf' must be a mapping"),
        ({"batch_type": "bucket"}, r"conf.yaml: invalid choice for 'batch_type'"),
    ],
)
def test_config_file_mistakes_name_the_key_and_file(tmp_path, capsys, config, message):
    path = tmp_path / "conf.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(SystemExit) as exc:
        ToyTask.get_parser().parse_args(["--config", str(path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "usage:" not in err  # one error line, not buried under the usage
    assert len(err.strip().splitlines()) == 1, err
    assert __import__("re").search(message, err), err


def test_invalid_yaml_and_missing_config_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 1\nmodel: [unclosed\n")
    with pytest.raises(SystemExit):
        ToyTask.get_parser().parse_args(["--config", str(bad)])
    assert "bad.yaml:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ToyTask.get_parser().parse_args(["--config", str(tmp_path / "nope.yaml")])
    assert "config file not found" in capsys.readouterr().err


def test_unknown_conf_key_names_class_and_accepted_parameters(capsys):
    with pytest.raises(SystemExit) as exc:
        ToyTask.main(cmd=["--print_config", "--model_conf", "hiden=3"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--model_conf: ToyLinear does not accept hiden; accepted parameters: bias, dropout_rate, hidden" in err
    assert "Traceback" not in err


def test_type_error_from_typeguard_names_the_option():
    args = ToyTask.get_parser().parse_args(["--model_conf", "hidden=three"])
    ToyTask.resolve_args(args)
    with pytest.raises(Exception, match=r"--model_conf \(ToyLinear\).*hidden"):
        ToyTask.build_model(args)


def test_build_optimizers_and_schedulers():
    args = ToyTask.get_parser().parse_args(
        [
            "--optim",
            "adamw",
            "--optim_conf",
            "lr=0.01",
            "--scheduler",
            "warmuplr",
            "--scheduler_conf",
            "warmup_steps=10",
        ]
    )
    ToyTask.resolve_args(args)
    model = ToyTask.build_model(args)
    [optimizer] = ToyTask.build_optimizers(args, model)
    [scheduler] = ToyTask.build_schedulers(args, [optimizer])
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * 10**0.5 * 10**-1.5)  # warm-up step 1
    for _ in range(9):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)  # peak at warmup_steps


def test_data_triples_accept_strings_and_lists(tmp_path):
    path = tmp_path / "conf.yaml"
    path.write_text(
        yaml.safe_dump({"train_data_path_and_name_and_type": [["a/wav.scp", "speech", "sound"], "a/text,text,text"]})
    )
    args = ToyTask.get_parser().parse_args(["--config", str(path)])
    assert args.train_data_path_and_name_and_type == [("a/wav.scp", "speech", "sound"), ("a/text", "text", "text")]


@pytest.mark.parametrize("option", ["--grad_noise", "--iterator_type"])
def test_removed_options_are_unknown_on_the_command_line(capsys, option):
    with pytest.raises(SystemExit) as exc:
        ToyTask.get_parser().parse_args([option, "true"])
    assert exc.value.code == 2
    assert f"unrecognized arguments: {option} true" in capsys.readouterr().err


def test_a_config_yaml_written_before_the_removals_still_loads(tmp_path, caplog):
    out = io.StringIO()
    ToyTask.print_config(file=out)
    config = yaml.safe_load(out.getvalue())
    assert "grad_noise" not in config and "iterator_type" not in config
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**config, "grad_noise": False, "iterator_type": "sequence"}, sort_keys=False))
    with caplog.at_level(logging.INFO, logger="espkit.utils.config_argparse"):
        args = ToyTask.load_config_args(path)
    assert "grad_noise" not in vars(args) and "iterator_type" not in vars(args)
    assert "ignoring 'grad_noise', an option that no longer exists" in caplog.text
    again = io.StringIO()
    ToyTask.print_config(args, file=again)
    assert yaml.safe_load(again.getvalue()) == config
