"""GANTTSTask: options, model building for each generator, two optimizers, config errors."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from espkit.gan_tts.espnet_model import ESPnetGANVocoderModel
from espkit.tasks.gan_tts import GANTTSTask
from espkit.tasks.tts import TTSTask
from espkit.train.gan_trainer import GANTrainer
from espkit.utils.errors import ConfigError

FEATS = "{fs: 8000, n_fft: 256, hop_length: 64, n_mels: 8, fmin: 0, fmax: 4000}"
GENERATOR_CONFS = {
    "hifigan": "{channels: 16, upsample_scales: [4, 4, 4], upsample_kernel_sizes: [8, 8, 8],"
    " resblock_kernel_sizes: [3], resblock_dilations: [[1, 3]]}",
    "istft": "{channels: 16, intermediate_channels: 32, num_blocks: 1, n_fft: 256}",
    "nsf": "{channels: 16, intermediate_channels: 32, num_blocks: 1, n_fft: 128, num_harmonics: 4,"
    " f0_predictor_channels: 8}",
}
DISCRIMINATOR_CONF = (
    "{periods: [2, 3], discriminator_params: {channels: 4, max_downsample_channels: 16,"
    " downsample_scales: [3, 3, 1], kernel_sizes: [5, 3]}}"
)


def tiny_args(generator="hifigan", extra=()):
    return [
        "--feats_extract_conf",
        FEATS,
        "--normalize",
        "none",
        "--generator",
        generator,
        "--generator_conf",
        GENERATOR_CONFS[generator],
        "--discriminator",
        "hifigan_multi_period",
        "--discriminator_conf",
        DISCRIMINATOR_CONF,
        "--model_conf",
        "segment_size=1024",
        "--optim2",
        "adam",
        *extra,
    ]


def parse(argv):
    return GANTTSTask.resolve_args(GANTTSTask.get_parser().parse_args(argv))


def test_parser_has_the_gan_options_and_trainer():
    assert GANTTSTask.trainer is GANTrainer
    dests = GANTTSTask.get_parser().options_by_dest()
    for name in [
        "generator",
        "generator_conf",
        "discriminator",
        "discriminator_conf",
        "optim2",
        "optim2_conf",
        "scheduler2",
        "scheduler2_conf",
        "model_conf",
        "feats_extract",
        "normalize",
        "generator_first",
        "skip_discriminator_prob",
        "generator_train_iters",
        "discriminator_train_iters",
        "discriminator_start_step",
    ]:
        assert name in dests, name
    assert "tts" not in dests and "token_list" not in dests
    args = parse([])
    assert args.generator == "hifigan" and args.discriminator == "hifigan_multi_scale_multi_period"
    assert args.best_model_criterion == [["valid", "generator_mel_loss", "min"]]
    assert args.early_stopping_criterion == ["valid", "generator_mel_loss", "min"]
    assert args.model_conf["segment_size"] == 8192 and args.model_conf["lambda_mel"] == 45.0


def test_feats_extract_and_normalize_are_the_tts_registries():
    from espkit.tasks import gan_tts, tts

    assert gan_tts.feats_extract_choices is tts.feats_extract_choices
    assert gan_tts.normalize_choices is tts.normalize_choices


@pytest.mark.parametrize("generator", ["hifigan", "istft", "nsf"])
def test_build_model_for_each_generator(generator):
    args = parse(tiny_args(generator))
    assert "in_channels" not in args.generator_conf and "upsample_factor" not in args.generator_conf
    torch.manual_seed(0)
    model = GANTTSTask.build_model(args)
    assert isinstance(model, ESPnetGANVocoderModel)
    assert model.generator.upsample_factor == 64 and model.requires_f0 == (generator == "nsf")
    assert (model.pitch_extract is not None) == (generator == "nsf")
    wav = model.inference(torch.randn(7, 8))["wav"]
    assert wav.shape == (7 * 64,)
    speech, lengths = 0.1 * torch.randn(2, 3000), torch.tensor([3000, 2000])
    for forward_generator, optim_idx in ((True, 0), (False, 1)):
        out = model(forward_generator=forward_generator, speech=speech, speech_lengths=lengths)
        assert out["optim_idx"] == optim_idx and torch.isfinite(out["loss"])


def test_two_optimizers_and_schedulers_over_generator_and_discriminator():
    args = parse(
        tiny_args(
            extra=[
                "--optim_conf",
                "lr=0.01",
                "--optim2",
                "sgd",
                "--optim2_conf",
                "lr=0.5",
                "--scheduler",
                "exponentiallr",
                "--scheduler_conf",
                "gamma=0.9",
                "--scheduler2",
                "steplr",
                "--scheduler2_conf",
                "step_size=3",
            ]
        )
    )
    model = GANTTSTask.build_model(args)
    optimizers = GANTTSTask.build_optimizers(args, model)
    assert isinstance(optimizers[0], torch.optim.Adam) and isinstance(optimizers[1], torch.optim.SGD)
    assert optimizers[0].param_groups[0]["lr"] == 0.01 and optimizers[1].param_groups[0]["lr"] == 0.5
    ids = [{id(p) for group in o.param_groups for p in group["params"]} for o in optimizers]
    assert ids[0] == {id(p) for p in model.generator.parameters()}
    assert ids[1] == {id(p) for p in model.discriminator.parameters()}
    schedulers = GANTTSTask.build_schedulers(args, optimizers)
    assert isinstance(schedulers[0], torch.optim.lr_scheduler.ExponentialLR)
    assert isinstance(schedulers[1], torch.optim.lr_scheduler.StepLR)
    args.scheduler2 = None
    assert GANTTSTask.build_schedulers(args, optimizers)[1] is None


def test_missing_optim2_is_a_config_error():
    argv = tiny_args()
    args = parse(argv[: argv.index("--optim2")])
    assert args.optim2 is None
    model = GANTTSTask.build_model(args)
    with pytest.raises(ConfigError, match="--optim2 is required"):
        GANTTSTask.build_optimizers(args, model)
    with pytest.raises(ConfigError, match="--optim2 is required"):
        GANTTSTask.prepare_stats(args)


def test_bad_model_settings_are_config_errors():
    with pytest.raises(ConfigError, match="--model_conf: ESPnetGANVocoderModel does not accept lambda_mell"):
        parse(tiny_args(extra=["--model_conf", "lambda_mell=3"]))
    with pytest.raises(ConfigError, match="multiple of the features' hop_length 64"):
        GANTTSTask.build_model(parse(tiny_args(extra=["--model_conf", "segment_size=1000"])))
    conf = "{channels: 16, upsample_scales: [4, 4, 2], upsample_kernel_sizes: [8, 8, 4]}"
    with pytest.raises(ConfigError, match="makes 32 samples per frame but the features' hop_length is 64"):
        GANTTSTask.build_model(parse(tiny_args(extra=["--generator_conf", conf])))
    args = parse(tiny_args())
    args.feats_extract, args.feats_extract_conf = None, {}
    with pytest.raises(ConfigError, match="--feats_extract is required"):
        GANTTSTask.build_model(args)


def test_collect_stats_builds_without_normaliser():
    args = parse(tiny_args(extra=["--normalize", "global_mvn", "--collect_stats", "true"]))
    assert GANTTSTask.build_model(args).normalize is None


def run_cli(module, argv):
    return subprocess.run([sys.executable, "-m", module, *argv], capture_output=True, text=True)


def test_a_tts_config_given_to_the_gan_task_and_the_reverse_are_one_line_errors(tmp_path):
    tts_config = tmp_path / "tts.yaml"
    tts_config.write_text("tts: tacotron2\nfeats_extract: fbank\n")
    vocoder_config = tmp_path / "vocoder.yaml"
    vocoder_config.write_text("generator: hifigan\noptim2: adam\n")

    with pytest.raises(ConfigError, match="tts.yaml is a tts config .* not a vocoder config"):
        GANTTSTask.load_config_args(tts_config)
    with pytest.raises(ConfigError, match="vocoder.yaml is a vocoder config .* not a tts config"):
        TTSTask.load_config_args(vocoder_config)

    out = run_cli("espkit.bin.gan_tts_train", ["--config", str(tts_config), "--output_dir", str(tmp_path / "a")])
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert "is a tts config (it has 'tts: tacotron2'), not a vocoder config" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    out = run_cli("espkit.bin.tts_train", ["--config", str(vocoder_config), "--output_dir", str(tmp_path / "b")])
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert "is a vocoder config (it has 'generator: hifigan'), not a tts config" in out.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_print_config_is_a_loadable_vocoder_config(tmp_path):
    out = run_cli("espkit.bin.gan_tts_train", ["--print_config", *tiny_args("nsf")])
    assert out.returncode == 0, out.stderr[-2000:]
    config = yaml.safe_load(out.stdout)
    assert config["generator"] == "nsf" and config["optim2"] == "adam"
    assert config["model_conf"]["segment_size"] == 1024 and config["discriminator_train_iters"] == 1
    path = tmp_path / "config.yaml"
    path.write_text(out.stdout)
    args = GANTTSTask.resolve_args(GANTTSTask.load_config_args(path))
    assert args.generator_conf == parse(tiny_args("nsf")).generator_conf


RECIPE_CONF = Path(__file__).resolve().parents[3] / "egs" / "espeak_emo" / "tts1" / "conf"


@pytest.mark.parametrize("name", ["hifigan", "istft", "nsf", "smoke"])
def test_recipe_vocoder_configs_build_with_the_tts_models_features(name):
    path = RECIPE_CONF / "tuning" / f"train_vocoder_{name}.yaml"
    args = GANTTSTask.resolve_args(GANTTSTask.load_config_args(path))
    tts_config = yaml.safe_load(
        (RECIPE_CONF / ("tuning/train_smoke.yaml" if name == "smoke" else "train.yaml")).read_text()
    )
    assert args.feats_extract == tts_config["feats_extract"] and args.normalize == tts_config["normalize"]
    for key, value in tts_config["feats_extract_conf"].items():
        assert args.feats_extract_conf[key] == value, key
    assert args.optim2 is not None and args.best_model_criterion == [["valid", "generator_mel_loss", "min"]]
    args.normalize, args.normalize_conf = None, {}  # the recipe passes the TTS model's feats_stats.npz
    model = GANTTSTask.build_model(args)
    assert model.generator.upsample_factor == 256 and model.segment_size % 256 == 0


def test_generator_conf_may_repeat_what_the_features_set():
    conf = GENERATOR_CONFS["hifigan"][:-1] + ", in_channels: 8}"
    args = parse(tiny_args(extra=["--generator_conf", conf]))
    assert "in_channels" not in args.generator_conf
    assert GANTTSTask.build_model(args).generator.upsample_factor == 64
    nsf = GENERATOR_CONFS["nsf"][:-1] + ", upsample_factor: 64, fs: 8000}"
    assert "upsample_factor" not in parse(tiny_args("nsf", extra=["--generator_conf", nsf])).generator_conf
    with pytest.raises(ConfigError, match="--generator_conf in_channels: 80 differs from the features' 8"):
        parse(tiny_args(extra=["--generator_conf", GENERATOR_CONFS["hifigan"][:-1] + ", in_channels: 80}"]))
    with pytest.raises(ConfigError, match="--generator_conf hop_length: 256 differs from the features' 64"):
        parse(tiny_args("istft", extra=["--generator_conf", "{hop_length: 256}"]))
