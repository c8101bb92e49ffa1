import argparse
import logging
import math
import os
import signal

import numpy as np
import pytest
import torch

from espkit.schedulers.warmup_lr import WarmupLR
from espkit.tasks import argument_groups
from espkit.train.abs_espnet_model import AbsESPnetModel
from espkit.train.checkpoint import CheckpointError, load_checkpoint
from espkit.train.reporter import Reporter
from espkit.train.trainer import NonFiniteTrainingError, Trainer, TrainerOptions, forward_attention
from espkit.utils.errors import ConfigError

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def skip_curve_plots(request, monkeypatch):
    """Training curves cost ~0.1 s per figure; only the plotting test draws them."""
    if "plots" not in request.node.name:
        monkeypatch.setattr(Reporter, "plot", lambda self, output_dir: [])


class ToyModel(AbsESPnetModel):
    """y = W2 dropout(tanh(W1 x)); ``valid_losses`` overrides the reported valid loss per call."""

    def __init__(self, idim=3, hidden=4, dropout=0.0, valid_losses=None):
        super().__init__()
        self.linear1 = torch.nn.Linear(idim, hidden)
        self.dropout = torch.nn.Dropout(dropout)
        self.linear2 = torch.nn.Linear(hidden, 1)
        self.valid_losses = list(valid_losses or [])
        self.valid_calls = 0

    def forward(self, x, y, scale=None, offset=None):
        pred = self.linear2(self.dropout(torch.tanh(self.linear1(x)))).squeeze(-1)
        loss = ((pred - y) ** 2).mean()
        if scale is not None:
            loss = loss * scale[0] + offset[0]
        stats = {"loss": loss.detach()}
        if not self.training and self.valid_losses:
            stats["loss"] = self.valid_losses[self.valid_calls]
            self.valid_calls += 1
        return loss, stats, x.shape[0]

    def collect_feats(self, x, y, scale=None, offset=None):
        return {"x": x}

    def forward_attention(self, x, y, scale=None, offset=None):
        return {"att": torch.softmax(self.linear1(x).unsqueeze(1).expand(-1, 3, -1), dim=-1)}


class ListIterFactory:
    """Fixed batches; epoch order from (seed, epoch) only; optional hook before a batch."""

    def __init__(self, batches, seed=0, shuffle=False, before_batch=None):
        self.batches = batches
        self.seed = seed
        self.shuffle = shuffle
        self.before_batch = before_batch

    def num_batches(self, epoch):
        return len(self.batches)

    def build_iter(self, epoch, shuffle=None, start_batch=0):
        order = list(range(len(self.batches)))
        if self.shuffle if shuffle is None else shuffle:
            np.random.RandomState(self.seed + epoch).shuffle(order)
        for position in range(start_batch, len(order)):
            if self.before_batch is not None:
                self.before_batch(epoch, position)
            index = order[position]
            yield [f"utt{index}_{j}" for j in range(len(self.batches[index]["x"]))], self.batches[index]


def make_batches(num, size=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [
        {"x": torch.randn(size, 3, generator=generator), "y": torch.randn(size, generator=generator)}
        for _ in range(num)
    ]


def run(tmp_path, model, batches, valid=None, optimizer=None, schedulers=None, lr=0.1, plot=None, **options):
    optimizer = optimizer or torch.optim.SGD(model.parameters(), lr=lr)
    options.setdefault("max_epoch", 1)
    options.setdefault("best_model_criterion", [["valid", "loss", "min"]])
    trainer = Trainer(model, [optimizer], schedulers or [None], TrainerOptions(output_dir=str(tmp_path), **options))
    reporter = trainer.run(
        train_iter_factory=batches if isinstance(batches, ListIterFactory) else ListIterFactory(batches),
        valid_iter_factory=ListIterFactory(valid or make_batches(1, seed=99)),
        plot_attention_iter_factory=plot,
    )
    return reporter, optimizer


def clone_state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_gradient_accumulation_equals_one_big_batch(tmp_path):
    b1, b2 = make_batches(2)
    torch.manual_seed(0)
    accumulated = ToyModel()
    big = ToyModel()
    big.load_state_dict(accumulated.state_dict())
    run(tmp_path / "a", accumulated, [b1, b2], accum_grad=2)
    merged = {k: torch.cat([b1[k], b2[k]]) for k in b1}
    run(tmp_path / "b", big, [merged], accum_grad=1)
    for key, value in accumulated.state_dict().items():
        assert torch.allclose(value, big.state_dict()[key], atol=1e-6), key
    # and it did train: the weights differ from the initial ones
    torch.manual_seed(0)
    assert not torch.allclose(ToyModel().linear1.weight, accumulated.linear1.weight)


def test_grad_clip_bounds_the_update_and_reports_the_norm(tmp_path):
    torch.manual_seed(0)
    model = ToyModel()
    batch = {"x": torch.randn(4, 3) * 10, "y": torch.full((4,), 50.0)}
    reference = ToyModel()
    reference.load_state_dict(model.state_dict())
    loss, _, _ = reference(**batch)
    loss.backward()
    true_norm = torch.sqrt(sum((p.grad**2).sum() for p in reference.parameters())).item()
    assert true_norm > 5
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    reporter, _ = run(tmp_path, model, [batch], lr=1.0, grad_clip=0.5)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert (after - before).norm().item() == pytest.approx(0.5, rel=1e-4)
    assert reporter.get_value("train", "grad_norm", 1) == pytest.approx(true_norm, rel=1e-5)
    assert reporter.get_value("train", "optim0_lr0", 1) == 1.0


@pytest.mark.parametrize("scale,offset", [(math.inf, 0.0), (1.0, math.nan)])
def test_non_finite_loss_skips_the_step(tmp_path, caplog, scale, offset):
    torch.manual_seed(0)
    good, bad = make_batches(2)
    good = dict(good, scale=torch.tensor([1.0]), offset=torch.tensor([0.0]))
    bad = dict(bad, scale=torch.tensor([scale]), offset=torch.tensor([offset]))
    model = ToyModel()
    only_good = ToyModel()
    only_good.load_state_dict(model.state_dict())
    with caplog.at_level(logging.WARNING, logger="espkit.train.trainer"):
        reporter, _ = run(tmp_path / "a", model, [good, bad])
    run(tmp_path / "b", only_good, [good])
    for key, value in model.state_dict().items():
        assert torch.equal(value, only_good.state_dict()[key]), key
    assert reporter.get_value("train", "skipped_steps", 1) == 1
    assert any("iteration 2" in record.getMessage() and "skipping" in record.getMessage() for record in caplog.records)


def test_an_epoch_without_one_finite_step_stops_training(tmp_path):
    batches = [dict(b, scale=torch.tensor([1.0]), offset=torch.tensor([math.nan])) for b in make_batches(3)]
    with pytest.raises(NonFiniteTrainingError, match="epoch 1: all 3 optimizer steps were skipped"):
        run(tmp_path, ToyModel(), batches)
    assert not (tmp_path / "1epoch.pth").exists()


def test_sigterm_saves_checkpoint_exits_and_resume_is_exact(tmp_path):
    batches = make_batches(6, seed=3)
    previous_handler = signal.getsignal(signal.SIGTERM)

    def build():
        torch.manual_seed(1)
        model = ToyModel(dropout=0.3)
        return model, torch.optim.Adam(model.parameters(), lr=0.01)

    # uninterrupted reference
    model, optimizer = build()
    run(tmp_path / "ref", model, ListIterFactory(batches, shuffle=True), optimizer=optimizer, max_epoch=2)
    reference = clone_state(model)

    def send_sigterm(epoch, position):
        if epoch == 2 and position == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    model, optimizer = build()
    factory = ListIterFactory(batches, shuffle=True, before_batch=send_sigterm)
    with pytest.raises(SystemExit) as exit_info:
        run(tmp_path / "run", model, factory, optimizer=optimizer, max_epoch=2)
    assert exit_info.value.code == 143
    assert signal.getsignal(signal.SIGTERM) is previous_handler
    checkpoint = load_checkpoint(tmp_path / "run" / "checkpoint.pth")
    assert (checkpoint["epoch"], checkpoint["batch_index"], checkpoint["epoch_completed"]) == (2, 4, False)

    model, optimizer = build()  # a fresh process would rebuild everything like this
    torch.manual_seed(12345)  # and its global RNG would be elsewhere
    reporter, _ = run(
        tmp_path / "run", model, ListIterFactory(batches, shuffle=True), optimizer=optimizer, max_epoch=2, resume=True
    )
    for key, value in model.state_dict().items():
        assert torch.equal(value, reference[key]), key
    assert sorted(reporter.history) == [1, 2]


def test_nbest_pruning_best_files_and_averaging(tmp_path):
    torch.manual_seed(0)
    model = ToyModel(valid_losses=[5.0, 3.0, 4.0, 1.0, 2.0])
    saved = {}

    def remember(epoch, position):  # the weights at the start of epoch e are those of (e-1)epoch.pth
        if position == 0 and epoch > 1:
            saved[epoch - 1] = clone_state(model)

    run(tmp_path, model, ListIterFactory(make_batches(2), before_batch=remember), max_epoch=5, keep_nbest_models=[2, 3])
    saved[5] = clone_state(model)
    names = sorted(p.name for p in tmp_path.glob("*.pth"))
    assert [n for n in names if n.endswith("epoch.pth")] == ["2epoch.pth", "4epoch.pth", "5epoch.pth"]
    for name in [
        "checkpoint.pth",
        "latest.pth",
        "valid.loss.best.pth",
        "valid.loss.ave.pth",
        "valid.loss.ave_2best.pth",
        "valid.loss.ave_3best.pth",
    ]:
        assert name in names
    best = torch.load(tmp_path / "valid.loss.best.pth", weights_only=True)
    assert all(torch.equal(best[k], saved[4][k]) for k in best)
    latest = torch.load(tmp_path / "latest.pth", weights_only=True)
    assert all(torch.equal(latest[k], saved[5][k]) for k in latest)
    ave2 = torch.load(tmp_path / "valid.loss.ave_2best.pth", weights_only=True)
    ave3 = torch.load(tmp_path / "valid.loss.ave_3best.pth", weights_only=True)
    ave = torch.load(tmp_path / "valid.loss.ave.pth", weights_only=True)
    for key in ave2:
        assert torch.allclose(ave2[key], (saved[4][key] + saved[5][key]) / 2, atol=1e-7)
        assert torch.allclose(ave3[key], (saved[2][key] + saved[4][key] + saved[5][key]) / 3, atol=1e-7)
        assert torch.equal(ave[key], ave3[key])


def test_early_stopping_fires_at_the_right_epoch_and_resume_keeps_it(tmp_path):
    torch.manual_seed(0)
    model = ToyModel(valid_losses=[3.0, 2.0, 1.0, 1.5, 1.6, 1.7, 0.1, 0.1])
    reporter, _ = run(tmp_path, model, make_batches(1), max_epoch=8, patience=2, keep_nbest_models=[1])
    assert reporter.last_epoch == 6  # best at 3; 6 - 3 > patience (ESPnet2's rule)
    checkpoint = load_checkpoint(tmp_path / "checkpoint.pth")
    assert checkpoint["early_stopped"] and checkpoint["epoch"] == 6
    assert [p.name for p in tmp_path.glob("*epoch.pth")] == ["3epoch.pth"]
    weights = clone_state(model)
    reporter, _ = run(tmp_path, model, make_batches(1), max_epoch=8, patience=2, keep_nbest_models=[1], resume=True)
    assert reporter.last_epoch == 6
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())


def test_resume_with_changed_shapes_names_the_parameters(tmp_path):
    torch.manual_seed(0)
    run(tmp_path, ToyModel(hidden=4), make_batches(1))
    with pytest.raises(CheckpointError, match=r"linear1\.weight: \(4, 3\) in .*checkpoint\.pth vs \(5, 3\)"):
        run(tmp_path, ToyModel(hidden=5), make_batches(1), max_epoch=2, resume=True)


def test_schedulers_step_per_batch_and_per_epoch(tmp_path):
    torch.manual_seed(0)
    model = ToyModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    step_lr = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    run(tmp_path / "a", model, make_batches(3), optimizer=optimizer, schedulers=[step_lr], max_epoch=2)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.25)

    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    warmup = WarmupLR(optimizer, warmup_steps=10)
    run(tmp_path / "b", model, make_batches(3), optimizer=optimizer, schedulers=[warmup], max_epoch=2, accum_grad=2)
    assert warmup.last_epoch == 4  # 2 steps per epoch (2 batches + the final partial window)

    plateau_model = ToyModel(valid_losses=[1.0, 2.0])
    optimizer = torch.optim.SGD(plateau_model.parameters(), lr=1.0)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.1)
    run(tmp_path / "c", plateau_model, make_batches(1), optimizer=optimizer, schedulers=[plateau], max_epoch=2)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1)


def test_cpu_amp_trains_in_bfloat16_without_a_scaler(tmp_path):
    torch.manual_seed(0)
    model = ToyModel()
    before = clone_state(model)
    reporter, _ = run(tmp_path, model, make_batches(2), use_amp=True)
    assert math.isfinite(reporter.get_value("train", "loss", 1))
    assert not reporter.has("train", "skipped_steps", 1)
    assert not torch.equal(model.linear1.weight, before["linear1.weight"])
    assert model.linear1.weight.dtype == torch.float32  # autocast, not a dtype change


def test_no_forward_run_only_iterates(tmp_path):
    torch.manual_seed(0)
    model = ToyModel()
    before = clone_state(model)
    seen = []
    factory = ListIterFactory(make_batches(3), before_batch=lambda epoch, position: seen.append((epoch, position)))
    reporter, _ = run(tmp_path, model, factory, max_epoch=2, no_forward_run=True)
    assert seen == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert not reporter.has("train", "loss", 1)
    assert sorted(p.name for p in tmp_path.glob("*epoch.pth")) == ["1epoch.pth", "2epoch.pth"]


def test_attention_plots_and_training_curves_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    torch.manual_seed(0)
    plot = ListIterFactory([{"x": torch.randn(2, 3), "y": torch.randn(2)}])
    run(tmp_path, ToyModel(), make_batches(1), plot=plot, max_epoch=1, num_att_plot=1)
    assert (tmp_path / "images" / "att_ws" / "utt0_0" / "att.ep1.png").stat().st_size > 0
    assert (tmp_path / "images" / "loss.png").stat().st_size > 0
    assert (tmp_path / "images" / "optim0_lr0.png").is_file()
    assert forward_attention(ToyModel(), {"x": torch.zeros(1, 3), "y": torch.zeros(1)})["att"].shape == (1, 3, 4)


def test_build_options_from_parsed_arguments():
    parser = argparse.ArgumentParser()
    argument_groups.add_common_arguments(parser)
    argument_groups.add_trainer_arguments(parser)
    args = parser.parse_args(
        [
            "--output_dir",
            "exp/x",
            "--max_epoch",
            "7",
            "--accum_grad",
            "3",
            "--grad_clip",
            "1",
            "--best_model_criterion",
            "valid loss min",
            "--best_model_criterion",
            "train loss min",
            "--keep_nbest_models",
            "2",
            "5",
            "--patience",
            "4",
        ]
    )
    options = Trainer.build_options(args)
    assert options.output_dir == "exp/x" and options.max_epoch == 7 and options.accum_grad == 3
    assert options.best_model_criterion == [["valid", "loss", "min"], ["train", "loss", "min"]]
    assert options.keep_nbest_models == [2, 5] and options.patience == 4 and options.grad_clip == 1.0
    default = Trainer.build_options(parser.parse_args(["--output_dir", "exp/y"]))
    assert default.best_model_criterion == [["valid", "loss", "min"], ["train", "loss", "min"]]
    with pytest.raises(ConfigError, match="--output_dir is required"):
        Trainer.build_options(parser.parse_args([]))
    with pytest.raises(ConfigError, match="--accum_grad must be >= 1"):
        TrainerOptions(output_dir="exp", accum_grad=0)


def test_run_rejects_models_without_the_interface(tmp_path):
    class Plain(torch.nn.Module):
        def forward(self, x, y):
            return x.sum(), {}, 1

    with pytest.raises(TypeError, match="must subclass espkit.train.abs_espnet_model.AbsESPnetModel"):
        Trainer(Plain(), [], [], TrainerOptions(output_dir=str(tmp_path)))


def test_amp_scaler_overflows_do_not_count_as_a_diverged_epoch(tmp_path, monkeypatch):
    # CUDA AMP's scaler starts high and overflows until its scale settles; emulated with a CPU scaler
    # whose first scales overflow float32 gradients: the steps are skipped but the loss was finite
    from espkit.train import trainer as trainer_module

    original_init = trainer_module.Trainer.__init__

    def with_scaler(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**127)

    monkeypatch.setattr(trainer_module.Trainer, "__init__", with_scaler)
    batches = [dict(b, y=b["y"] * 1e6) for b in make_batches(3)]
    reporter, _ = run(tmp_path / "finite", ToyModel(), batches)
    assert reporter.get_value("train", "skipped_steps", 1) == 3
    nan_batches = [dict(b, scale=torch.tensor([1.0]), offset=torch.tensor([math.nan])) for b in make_batches(3)]
    with pytest.raises(NonFiniteTrainingError, match="all 3 optimizer steps were skipped"):
        run(tmp_path / "nan", ToyModel(), nan_batches)
