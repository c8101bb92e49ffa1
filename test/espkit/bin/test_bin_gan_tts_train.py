"""End-to-end: gan_tts_train on a few synthetic WAVs (tiny HiFi-GAN, 2 epochs), reloaded from its files."""

import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from tiny_corpus import make_tiny_corpus

from espkit.bin.gan_tts_train import main
from espkit.tasks.gan_tts import GANTTSTask

TINY = {
    "feats_extract_conf": "{fs: 8000, n_fft: 256, hop_length: 64, n_mels: 8, fmin: 0, fmax: 4000}",
    "generator": "hifigan",
    "generator_conf": "{channels: 16, upsample_scales: [4, 4, 4], upsample_kernel_sizes: [8, 8, 8],"
    " resblock_kernel_sizes: [3], resblock_dilations: [[1, 3]]}",
    "discriminator": "hifigan_multi_period",
    "discriminator_conf": "{periods: [2, 3], discriminator_params: {channels: 4, max_downsample_channels: 16,"
    " downsample_scales: [3, 3, 1], kernel_sizes: [5, 3]}}",
    "model_conf": "{segment_size: 1024, lambda_mel: 45.0}",
    "optim": "adam",
    "optim_conf": "lr=0.0002",
    "optim2": "adam",
    "optim2_conf": "lr=0.0002",
    "batch_type": "unsorted",
    "batch_size": "4",
    "num_workers": "0",
    "seed": "0",
    "max_epoch": "2",
    "num_att_plot": "0",
}


def train_args(data: dict, output_dir, extra=(), drop=()) -> list:
    args = ["--output_dir", str(output_dir)]
    for key, value in TINY.items():
        if key not in drop:
            args += [f"--{key}", value]
    entry = f"{data['wav.scp']},speech,sound"
    args += ["--train_data_path_and_name_and_type", entry, "--valid_data_path_and_name_and_type", entry]
    return args + list(extra)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("gan_e2e")
    data = make_tiny_corpus(root / "data")
    main(train_args(data, root / "exp"))
    return data, root


def test_training_writes_the_espnet_output_directory(trained):
    _, root = trained
    exp = root / "exp"
    for name in [
        "config.yaml",
        "checkpoint.pth",
        "1epoch.pth",
        "2epoch.pth",
        "latest.pth",
        "valid.generator_mel_loss.best.pth",
        "stats/train/feats_stats.npz",
    ]:
        assert (exp / name).exists(), name
    assert any((exp / "images").glob("generator_mel_loss*.png"))
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["generator"] == "hifigan" and config["optim2"] == "adam"
    assert config["normalize_conf"]["stats_file"].endswith("stats/train/feats_stats.npz")
    state = torch.load(exp / "2epoch.pth", weights_only=True)
    assert any(k.startswith("generator.") for k in state) and any(k.startswith("discriminator.") for k in state)
    assert "normalize.mean" in state


def test_build_model_from_file_restores_the_trained_vocoder(trained):
    _, root = trained
    exp = root / "exp"
    model, args = GANTTSTask.build_model_from_file(exp / "config.yaml", exp / "2epoch.pth")
    saved = torch.load(exp / "2epoch.pth", weights_only=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key]), key
    assert args.generator == "hifigan" and args.model_conf["segment_size"] == 1024
    model.eval()
    assert model.inference(torch.randn(9, 8))["wav"].shape == (9 * 64,)
    assert model.feats_params()["hop_length"] == 64


def test_the_tts_models_statistics_file_is_used_as_given(trained, tmp_path):
    data, _ = trained
    mean, std, count = np.linspace(-4.0, -2.0, 8), np.linspace(0.5, 1.5, 8), 1000
    stats_file = tmp_path / "tts_stats" / "feats_stats.npz"
    stats_file.parent.mkdir()
    np.savez(stats_file, count=np.asarray(count), sum=mean * count, sum_square=(std**2 + mean**2) * count)
    exp = tmp_path / "exp"
    main(train_args(data, exp, ["--normalize_conf", f"stats_file={stats_file}", "--max_epoch", "1"]))
    assert not (exp / "stats").exists()  # nothing recomputed
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["normalize_conf"]["stats_file"] == str(stats_file)
    state = torch.load(exp / "1epoch.pth", weights_only=True)
    torch.testing.assert_close(state["normalize.mean"], torch.tensor(mean, dtype=torch.float32))
    torch.testing.assert_close(state["normalize.std"], torch.tensor(std, dtype=torch.float32))


def run_cli(argv):
    return subprocess.run([sys.executable, "-m", "espkit.bin.gan_tts_train", *argv], capture_output=True, text=True)


def test_missing_optim2_is_one_error_line_and_nothing_is_written(trained, tmp_path):
    data, _ = trained
    out = run_cli(train_args(data, tmp_path / "exp", drop=("optim2", "optim2_conf")))
    assert out.returncode == 2, out.stderr[-2000:]
    assert "--optim2 is required" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "exp" / "stats").exists() and not (tmp_path / "exp" / "config.yaml").exists()


def test_resuming_after_the_first_epoch_equals_the_uninterrupted_run(trained, tmp_path):
    data, root = trained
    exp = tmp_path / "exp"
    main(train_args(data, exp, ["--max_epoch", "1"]))
    main(train_args(data, exp, ["--max_epoch", "2", "--resume", "true"]))
    first = torch.load(root / "exp" / "2epoch.pth", weights_only=True)
    second = torch.load(exp / "2epoch.pth", weights_only=True)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


def write_feats(data: dict, path, frames_off: int = 0):
    """Features of every utterance of the corpus as an npy scp (stand-ins for teacher-forced ones)."""
    from espkit.fileio.npy_scp import NpyScpWriter
    from espkit.fileio.sound_scp import SoundScpReader
    from espkit.tts.feats_extract.fbank import LogMelFbank

    fbank = LogMelFbank(fs=8000, n_fft=256, hop_length=64, n_mels=8, fmin=0, fmax=4000)
    reader = SoundScpReader(data["wav.scp"])
    with NpyScpWriter(path / "feats", path / "feats.scp") as writer:
        for uid in reader.keys():
            _, wave = reader[uid]
            feats, _ = fbank(torch.as_tensor(wave, dtype=torch.float32)[None])
            feats = feats[0].numpy() + 0.1
            writer[uid] = feats[: len(feats) - frames_off]
    return path / "feats.scp"


def test_fine_tuning_on_given_features(trained, tmp_path, capsys):
    data, root = trained
    feats_scp = write_feats(data, tmp_path / "tf")
    entry = f"{feats_scp},feats,npy"
    fine_tune = [
        "--init_param",
        str(root / "exp" / "2epoch.pth"),
        "--train_data_path_and_name_and_type",
        entry,
        "--valid_data_path_and_name_and_type",
        entry,
        "--normalize_conf",
        f"stats_file={root / 'exp' / 'stats' / 'train' / 'feats_stats.npz'}",
        "--max_epoch",
        "1",
    ]
    main(train_args(data, tmp_path / "exp", fine_tune))
    assert (tmp_path / "exp" / "1epoch.pth").exists()

    bad_scp = write_feats(data, tmp_path / "bad", frames_off=2)
    bad = [a.replace(str(feats_scp), str(bad_scp)) for a in fine_tune]
    with pytest.raises(SystemExit) as info:
        main(train_args(data, tmp_path / "bad_exp", bad))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "(feats): (" in err and "give" in err and "frames" in err and "Traceback" not in err
