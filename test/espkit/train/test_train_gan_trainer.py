"""GANTrainer: the turn order, iteration counts, warm-up, skips and exact resume, on a toy GAN."""

import argparse
import logging
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from killed_job import assert_same_history_files, kill_and_resume
from toy_gan import GANIterFactory, ToyGAN, make_gan_batches, train_toy_gan
from toy_task import ToyTask

from espkit.schedulers.warmup_lr import WarmupLR
from espkit.tasks import argument_groups
from espkit.train.abs_espnet_model import AbsESPnetModel
from espkit.train.checkpoint import CheckpointError, load_checkpoint
from espkit.train.gan_trainer import GANTrainer
from espkit.train.reporter import Reporter
from espkit.train.trainer import NonFiniteTrainingError, Trainer
from espkit.train.trainer_options import GANTrainerOptions, TrainerOptions
from espkit.utils.errors import ConfigError

torch.set_num_threads(1)

JOB = Path(__file__).with_name("train_gan_trainer_toy_job.py")
DDP_JOB = Path(__file__).with_name("train_gan_trainer_ddp_job.py")
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def skip_curve_plots(monkeypatch):
    monkeypatch.setattr(Reporter, "plot", lambda self, output_dir: [])


def optimizers_of(model, lr=0.1, kind=torch.optim.SGD):
    return [kind(model.generator.parameters(), lr=lr), kind(model.discriminator.parameters(), lr=lr)]


def run(tmp_path, model, batches, optimizers=None, schedulers=None, valid=None, **options):
    optimizers = optimizers or optimizers_of(model)
    options.setdefault("max_epoch", 1)
    options.setdefault("best_model_criterion", [["valid", "generator_loss", "min"]])
    trainer = GANTrainer(
        model, optimizers, schedulers or [None, None], GANTrainerOptions(output_dir=str(tmp_path), **options)
    )
    factory = batches if isinstance(batches, GANIterFactory) else GANIterFactory(batches)
    reporter = trainer.run(factory, GANIterFactory(valid or make_gan_batches(1, seed=99)))
    return trainer, reporter


def turns(model):
    return [turn for turn, _, _ in model.turns]


def clone_state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("generator_first,expected", [(False, "DGDG"), (True, "GDGD")])
def test_turn_order_per_batch(tmp_path, generator_first, expected):
    torch.manual_seed(0)
    model = ToyGAN()
    _, reporter = run(tmp_path, model, make_gan_batches(2), generator_first=generator_first)
    assert "".join(turns(model)) == expected
    assert all(adversarial for _, adversarial, _ in model.turns)
    assert "".join(turn for turn, _, _ in model.valid_turns) == expected[:2]  # validation: both turns too
    for phase in ("train", "valid"):
        for key in ("generator_loss", "generator_adv_loss", "discriminator_loss", "discriminator_fake_loss"):
            assert reporter.has(phase, key, 1), (phase, key)
    for key in ("generator_grad_norm", "discriminator_grad_norm", "optim0_lr0", "optim1_lr0"):
        assert reporter.has("train", key, 1), key
    assert not reporter.has("train", "skipped_steps", 1)


def test_iteration_counts_reuse_the_batch_and_step_each_scheduler_per_own_turn(tmp_path):
    torch.manual_seed(0)
    model = ToyGAN()
    optimizers = optimizers_of(model)
    warmup = WarmupLR(optimizers[0], warmup_steps=100)  # per batch: one step per generator turn
    step_lr = torch.optim.lr_scheduler.StepLR(optimizers[1], step_size=1, gamma=0.5)  # per epoch
    batches = make_gan_batches(2)
    trainer, _ = run(
        tmp_path,
        model,
        batches,
        optimizers,
        [warmup, step_lr],
        generator_train_iters=2,
        discriminator_train_iters=3,
        max_epoch=2,
    )
    assert "".join(turns(model)) == "DDDGG" * 4
    first_x = [x for _, _, x in model.turns]
    assert first_x[:5] == [float(batches[0]["x"][0, 0])] * 5 and first_x[5:10] == [float(batches[1]["x"][0, 0])] * 5
    assert warmup.last_epoch == 8 and trainer.generator_steps == 8
    assert optimizers[1].param_groups[0]["lr"] == pytest.approx(0.025)


def test_discriminator_start_step_warms_the_generator_up_alone(tmp_path):
    torch.manual_seed(0)
    model = ToyGAN()
    run(
        tmp_path / "a",
        model,
        make_gan_batches(3),
        generator_first=True,
        generator_train_iters=2,
        discriminator_start_step=3,
    )
    # generator steps 0-2 are the warm-up; the discriminator starts once 3 were taken
    assert [(turn, adversarial) for turn, adversarial, _ in model.turns] == [
        ("G", False),
        ("G", False),
        ("G", False),
        ("G", True),
        ("D", True),
        ("G", True),
        ("G", True),
        ("D", True),
    ]
    assert model.valid_turns[0][:2] == ("G", True)

    torch.manual_seed(0)
    model = ToyGAN()
    discriminator = clone_state(model.discriminator)
    _, reporter = run(tmp_path / "b", model, make_gan_batches(2), discriminator_start_step=100)
    assert [(turn, adversarial) for turn, adversarial, _ in model.turns] == [("G", False), ("G", False)]
    assert states_equal(discriminator, model.discriminator.state_dict())
    assert not reporter.has("train", "discriminator_loss", 1) and not reporter.has("train", "generator_adv_loss", 1)
    assert model.valid_turns[0][:2] == ("D", True) and model.valid_turns[1][:2] == ("G", False)


def test_skip_discriminator_prob_one_skips_every_discriminator_turn(tmp_path):
    torch.manual_seed(0)
    model = ToyGAN()
    discriminator = clone_state(model.discriminator)
    run(tmp_path, model, make_gan_batches(3), skip_discriminator_prob=1.0, discriminator_train_iters=2)
    assert turns(model) == ["G"] * 3 and all(adversarial for _, adversarial, _ in model.turns)
    assert states_equal(discriminator, model.discriminator.state_dict())


def test_each_turn_steps_and_clips_only_its_own_optimizer(tmp_path):
    torch.manual_seed(0)
    model = ToyGAN()
    generator, discriminator = clone_state(model.generator), clone_state(model.discriminator)
    batch = {"x": torch.randn(4, 3) * 10, "y": torch.full((4, 2), 50.0)}
    run(tmp_path, model, [batch], optimizers_of(model, lr=1.0), grad_clip=0.01)

    def moved(before, module):
        return torch.cat([(v - before[k]).flatten() for k, v in module.state_dict().items()]).norm().item()

    # one D turn moves D by exactly the clipped norm, the G turn moves G only
    assert moved(discriminator, model.discriminator) == pytest.approx(0.01, rel=1e-4)
    assert moved(generator, model.generator) == pytest.approx(0.01, rel=1e-4)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_generator_loss_skips_that_step_only(tmp_path, caplog, bad):
    good, nan_batch = make_gan_batches(2)
    good = dict(good, g_scale=torch.ones(2))
    nan_batch = dict(nan_batch, g_scale=torch.full((2,), bad))
    torch.manual_seed(0)
    model = ToyGAN()
    reference = ToyGAN()
    reference.load_state_dict(model.state_dict())
    optimizers = optimizers_of(model, lr=0.01, kind=torch.optim.Adam)
    reference_optimizers = optimizers_of(reference, lr=0.01, kind=torch.optim.Adam)
    with caplog.at_level(logging.WARNING, logger="espkit.train.trainer"):
        _, reporter = run(tmp_path / "a", model, [good, nan_batch], optimizers, generator_first=True)
    run(tmp_path / "b", reference, [good], reference_optimizers, generator_first=True)
    assert reporter.get_value("train", "skipped_steps", 1) == 1
    assert any(
        "iteration 2 (generator turn)" in r.getMessage() and "skipping" in r.getMessage() for r in caplog.records
    )
    # the generator is where one good batch left it; the discriminator still trained on the second batch
    assert states_equal(model.generator.state_dict(), reference.generator.state_dict())
    assert states_equal(optimizers[0].state_dict()["state"][0], reference_optimizers[0].state_dict()["state"][0])
    assert optimizers[1].state_dict()["state"][0]["step"] == 2
    assert not torch.equal(model.discriminator[0].weight, reference.discriminator[0].weight)


def test_an_epoch_without_one_finite_generator_step_stops_training(tmp_path):
    batches = [dict(b, g_scale=torch.full((2,), math.nan)) for b in make_gan_batches(3)]
    with pytest.raises(NonFiniteTrainingError, match="epoch 1: all 3 generator optimizer steps were skipped"):
        run(tmp_path, ToyGAN(), batches)
    assert not (tmp_path / "1epoch.pth").exists()


def test_sigterm_mid_epoch_then_resume_keeps_the_warm_up_count(tmp_path):
    """In process: the generator-step count comes back from checkpoint.pth (the warm-up ends at
    the same step), and the weights equal an uninterrupted run's."""
    batches = make_gan_batches(4, seed=3)

    def build():
        torch.manual_seed(1)
        model = ToyGAN(dropout=0.3)
        return model, optimizers_of(model, lr=0.01, kind=torch.optim.Adam)

    options = dict(max_epoch=2, discriminator_start_step=5, skip_discriminator_prob=0.5)
    model, optimizers = build()
    run(tmp_path / "ref", model, GANIterFactory(batches, shuffle=True), optimizers, **options)
    reference, reference_turns = clone_state(model), [t[:2] for t in model.turns]

    def send_sigterm(epoch, position):
        if epoch == 2 and position == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    model, optimizers = build()
    factory = GANIterFactory(batches, shuffle=True, before_batch=send_sigterm)
    with pytest.raises(SystemExit):
        run(tmp_path / "run", model, factory, optimizers, **options)
    checkpoint = load_checkpoint(tmp_path / "run" / "checkpoint.pth")
    assert (checkpoint["epoch"], checkpoint["batch_index"]) == (2, 2)
    assert checkpoint["trainer"]["generator_steps"] == 6
    done = [t[:2] for t in model.turns]

    model, optimizers = build()
    torch.manual_seed(12345)
    trainer, _ = run(tmp_path / "run", model, GANIterFactory(batches, shuffle=True), optimizers, resume=True, **options)
    assert done + [t[:2] for t in model.turns] == reference_turns
    assert trainer.generator_steps == 8
    assert states_equal(model.state_dict(), reference)


def test_each_optimizer_has_its_own_amp_scaler(tmp_path, monkeypatch):
    """CUDA AMP emulated with CPU scalers: the discriminator's overflows (an infinite scale) skip its
    steps without touching the generator's scale or steps, are not a diverged epoch, and both
    scalers are saved in checkpoint.pth."""
    original_init = GANTrainer.__init__

    def with_scalers(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.scalers = [torch.amp.GradScaler("cpu", init_scale=4.0), torch.amp.GradScaler("cpu", init_scale=math.inf)]

    monkeypatch.setattr(GANTrainer, "__init__", with_scalers)
    torch.manual_seed(0)
    model = ToyGAN()
    generator, discriminator = clone_state(model.generator), clone_state(model.discriminator)
    trainer, reporter = run(tmp_path, model, make_gan_batches(3))
    assert reporter.get_value("train", "skipped_steps", 1) == 3
    assert states_equal(discriminator, model.discriminator.state_dict())
    assert not torch.equal(generator["0.weight"], model.generator[0].weight)
    generator_scaler, discriminator_scaler = trainer.trainer_state()["scalers"]
    assert generator_scaler["scale"] == 4.0 and discriminator_scaler["scale"] == math.inf
    assert load_checkpoint(tmp_path / "checkpoint.pth")["trainer"]["scalers"][0]["scale"] == 4.0


def test_options_are_checked():
    with pytest.raises(ConfigError, match="--accum_grad 2: the GAN trainer .* use --accum_grad 1"):
        GANTrainerOptions(output_dir="exp", accum_grad=2)
    with pytest.raises(ConfigError, match=r"--skip_discriminator_prob must be in \[0, 1\], got 1.5"):
        GANTrainerOptions(output_dir="exp", skip_discriminator_prob=1.5)
    with pytest.raises(ConfigError, match="--generator_train_iters must be >= 1, got 0"):
        GANTrainerOptions(output_dir="exp", generator_train_iters=0)
    with pytest.raises(ConfigError, match="--discriminator_start_step must be >= 0"):
        GANTrainerOptions(output_dir="exp", discriminator_start_step=-1)


def test_trainer_rejects_a_wrong_model_options_or_optimizer_count(tmp_path):
    model = ToyGAN()
    options = GANTrainerOptions(output_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=r"two optimizers.*\(--optim2\); got 1"):
        GANTrainer(model, optimizers_of(model)[:1], [None], options)
    with pytest.raises(TypeError, match="GANTrainer needs GANTrainerOptions"):
        GANTrainer(model, optimizers_of(model), [None, None], TrainerOptions(output_dir=str(tmp_path)))

    class Plain(AbsESPnetModel):
        def forward(self, x):
            return x.sum(), {}, 1

        def collect_feats(self, x):
            return {}

    with pytest.raises(TypeError, match="must subclass espkit.gan_tts.abs_gan_espnet_model.AbsGANESPnetModel"):
        GANTrainer(Plain(), [], [], options)


def test_resuming_a_plain_trainer_checkpoint_is_refused(tmp_path):
    torch.manual_seed(0)
    model = ToyGAN()
    options = TrainerOptions(output_dir=str(tmp_path), max_epoch=1, best_model_criterion=[["valid", "x", "min"]])

    class Wrapped(AbsESPnetModel):  # the same parameters under a plain trainer
        def __init__(self):
            super().__init__()
            self.generator, self.discriminator = model.generator, model.discriminator

        def forward(self, x, y):
            loss = ((self.generator(x) - y) ** 2).mean()
            return loss, {"x": loss.detach()}, 1

        def collect_feats(self, x, y):
            return {}

    Trainer(Wrapped(), optimizers_of(model), [None, None], options).run(
        GANIterFactory(make_gan_batches(1)), GANIterFactory(make_gan_batches(1))
    )
    with pytest.raises(CheckpointError, match="was not written by the GAN trainer"):
        run(tmp_path, model, make_gan_batches(1), max_epoch=2, resume=True)


def test_the_gan_options_reach_argparse_only_where_added():
    parser = argparse.ArgumentParser()
    argument_groups.add_common_arguments(parser)
    argument_groups.add_trainer_arguments(parser)
    argument_groups.add_gan_trainer_arguments(parser)
    args = parser.parse_args(
        [
            "--output_dir",
            "exp/x",
            "--generator_first",
            "true",
            "--skip_discriminator_prob",
            "0.25",
            "--generator_train_iters",
            "2",
            "--discriminator_train_iters",
            "3",
            "--discriminator_start_step",
            "100",
        ]
    )
    options = GANTrainer.build_options(args)
    assert isinstance(options, GANTrainerOptions)
    assert (options.generator_first, options.skip_discriminator_prob) == (True, 0.25)
    assert (options.generator_train_iters, options.discriminator_train_iters) == (2, 3)
    assert options.discriminator_start_step == 100 and options.output_dir == "exp/x"
    assert GANTrainer.build_options(parser.parse_args(["--output_dir", "e"])) == GANTrainerOptions(output_dir="e")
    assert "--generator_first" in parser.format_help()
    assert "--generator_first" not in ToyTask.get_parser().format_help()


# --- SIGKILL mid-epoch, then --resume, in a subprocess ----------------------------------------
def test_sigkill_mid_epoch_then_resume_equals_an_uninterrupted_gan_run(tmp_path):
    kill_and_resume(JOB, tmp_path, epoch=2, min_batch=1)
    expected = torch.load(tmp_path / "reference" / "final.pth", weights_only=True)
    resumed = torch.load(tmp_path / "killed" / "final.pth", weights_only=True)
    assert expected["generator_steps"] == resumed["generator_steps"] == 12
    assert states_equal(expected["model"], resumed["model"])
    assert expected["schedulers"] == resumed["schedulers"]
    for index in (0, 1):  # both optimizers: every moment estimate and step count
        want, got = expected["optimizers"][index], resumed["optimizers"][index]
        assert want["param_groups"] == got["param_groups"]
        assert want["state"].keys() == got["state"].keys()
        for key in want["state"]:
            assert states_equal(want["state"][key], got["state"][key]), (index, key)
    history_expected = load_checkpoint(tmp_path / "reference" / "checkpoint.pth")["reporter"]["history"]
    history_resumed = load_checkpoint(tmp_path / "killed" / "checkpoint.pth")["reporter"]["history"]
    assert sorted(history_resumed) == sorted(history_expected) == [1, 2]
    for epoch, phases in history_expected.items():  # every epoch average but the times, both turns'
        for phase, values in phases.items():
            assert "discriminator_loss" in values and "generator_loss" in values
            values.pop("time"), history_resumed[epoch][phase].pop("time")
            assert history_resumed[epoch][phase] == values, (epoch, phase)
    # history.jsonl: epochs 1-2 once each, as the uninterrupted run's but for the timing fields
    assert_same_history_files(tmp_path / "reference", tmp_path / "killed", [1, 2])


# --- two processes under torchrun --------------------------------------------------------------
def test_two_process_torchrun_matches_single_process(tmp_path):
    """DDP with turns that leave parameters unused (the warm-up, the discriminator turns, the skipped
    ones): the same turns as one process, and the same weights up to float rounding."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "test" / "helpers")]), OMP_NUM_THREADS="1")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    ddp = subprocess.Popen(
        [*command, str(DDP_JOB), str(tmp_path / "ddp")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    model, reporter = train_toy_gan(tmp_path / "single")
    output, _ = ddp.communicate(timeout=120)
    assert ddp.returncode == 0, output.decode()[-3000:]
    two = torch.load(tmp_path / "ddp" / "final.pth", weights_only=True)
    assert two["turns"] == [turn[:2] for turn in model.turns]
    assert ("D", True) in two["turns"] and ("G", False) in two["turns"]
    single_losses = [reporter.get_value("train", key, 2) for key in ("generator_loss", "discriminator_loss")]
    assert two["losses"] == pytest.approx(single_losses, abs=1e-5)
    for key, value in model.state_dict().items():
        assert torch.allclose(value, two["model"][key], atol=1e-5), key
