"""End-to-end: tts_train on a tiny synthetic corpus (stats computed on the fly, 2 epochs)."""

import shutil
import subprocess
import sys

import pytest
import torch
import yaml
from tiny_corpus import make_tiny_corpus, tiny_train_args

from espkit.bin.tts_train import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    data = make_tiny_corpus(root / "data")
    main(tiny_train_args(data, root / "exp", ["--num_att_plot", "2"]))
    return data, root


def test_training_writes_the_espnet_output_directory(trained):
    _, root = trained
    exp = root / "exp"
    for name in [
        "config.yaml",
        "checkpoint.pth",
        "1epoch.pth",
        "2epoch.pth",
        "valid.loss.best.pth",
        "latest.pth",
        "stats/train/feats_stats.npz",
        "shapes/train/speech_shape",
    ]:
        assert (exp / name).exists(), name
    assert any((exp / "images").glob("loss*.png"))
    att_plots = sorted(p.name for p in (exp / "images" / "att_ws").glob("*/*.png"))
    assert att_plots == ["att_ws.ep1.png", "att_ws.ep1.png", "att_ws.ep2.png", "att_ws.ep2.png"]
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["normalize_conf"]["stats_file"].endswith("stats/train/feats_stats.npz")
    state = torch.load(exp / "2epoch.pth", weights_only=True)
    assert any(k.startswith("tts.") for k in state) and "normalize.mean" in state


def test_config_yaml_reproduces_the_run(trained):
    _, root = trained
    exp = root / "exp"
    main(["--config", str(exp / "config.yaml"), "--output_dir", str(root / "again")])
    first = torch.load(exp / "2epoch.pth", weights_only=True)
    second = torch.load(root / "again" / "2epoch.pth", weights_only=True)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


def test_dry_run_builds_everything_and_stops(trained, tmp_path):
    data, _ = trained
    main(tiny_train_args(data, tmp_path / "dry", ["--dry_run", "true"]))
    assert (tmp_path / "dry" / "config.yaml").exists()
    assert not (tmp_path / "dry" / "checkpoint.pth").exists()


def test_cli_help_and_user_errors_have_no_traceback(trained, tmp_path):
    data, _ = trained
    out = subprocess.run([sys.executable, "-m", "espkit.bin.tts_train", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--tts_conf" in out.stdout and "tacotron2_controllable" in out.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("tts: tacotron2\ntts_conf:\n    adimm: 3\n")
    argv = tiny_train_args(data, tmp_path / "bad") + ["--config", str(bad), "--tts_conf", "adimm=3"]
    out = subprocess.run([sys.executable, "-m", "espkit.bin.tts_train", *argv], capture_output=True, text=True)
    assert out.returncode == 2
    assert "does not accept adimm" in out.stderr and "Traceback" not in out.stderr


def test_build_model_from_file_restores_the_trained_weights(trained):
    from espkit.tasks.tts import TTSTask

    _, root = trained
    exp = root / "exp"
    model, args = TTSTask.build_model_from_file(exp / "config.yaml", exp / "2epoch.pth")
    saved = torch.load(exp / "2epoch.pth", weights_only=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key]), key
    assert args.tts == "tacotron2_controllable" and args.emo_list == ["neutral", "happy", "sad", "angry"]


def _train_cli(argv):
    return subprocess.run([sys.executable, "-m", "espkit.bin.tts_train", *argv], capture_output=True, text=True)


def test_an_existing_run_is_not_overwritten_without_resume(trained, tmp_path):
    data, root = trained
    exp = tmp_path / "exp"
    shutil.copytree(root / "exp", exp)
    before = {name: (exp / name).read_bytes() for name in ("checkpoint.pth", "2epoch.pth", "config.yaml")}
    out = _train_cli(tiny_train_args(data, exp, ["--seed", "5"]))
    assert out.returncode == 2, out.stderr[-2000:]
    assert f"{exp} already holds a training run" in out.stderr and "--resume true" in out.stderr
    assert "Traceback" not in out.stderr
    assert {name: (exp / name).read_bytes() for name in before} == before


def test_a_resume_with_a_changed_model_keeps_the_run_and_its_config(trained, tmp_path):
    data, root = trained
    exp = tmp_path / "exp"
    shutil.copytree(root / "exp", exp)
    config = (exp / "config.yaml").read_bytes()
    changed = tiny_train_args(data, exp, ["--resume", "true", "--max_epoch", "3"])
    changed[changed.index("--tts_conf") + 1] = changed[changed.index("--tts_conf") + 1].replace("adim: 8", "adim: 16")
    out = _train_cli(changed)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "checkpoint.pth does not fit the model" in out.stderr and "Traceback" not in out.stderr
    assert (exp / "config.yaml").read_bytes() == config
    assert not (exp / "3epoch.pth").exists()


def test_bad_data_and_bad_options_are_one_error_line(trained, tmp_path):
    data, _ = trained
    bad_scp = tmp_path / "wav.scp"
    lines = data["wav.scp"].read_text().splitlines()
    bad_scp.write_text("\n".join(lines[:2] + [lines[2].split()[0]] + lines[3:]) + "\n")  # line 3: uid only
    argv = [a.replace(str(data["wav.scp"]), str(bad_scp)) for a in tiny_train_args(data, tmp_path / "a")]
    out = _train_cli(argv)
    assert out.returncode == 2 and f"{bad_scp}:3" in out.stderr and "Traceback" not in out.stderr, out.stderr[-2000:]
    out = _train_cli(tiny_train_args(data, tmp_path / "b", ["--accum_grad", "0"]))
    assert out.returncode == 2 and "--accum_grad must be >= 1" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "b" / "stats").exists()  # refused before any statistics were computed
