"""The fused teacher-forced recurrence computes what the step-by-step autograd loop computes."""

from __future__ import annotations

import pytest
import torch

from espkit.tts.tacotron2.fused_recurrence import (
    LocationLSTMRecurrence,
    fold_windows,
    unfold_windows,
)
from espkit.tts.tacotron2.tacotron2 import Tacotron2
from espkit.tts.tacotron2.tacotron2_controllable import Tacotron2Controllable

IDIM, ODIM = 10, 6


def _one_layer(tiny_kwargs, **overrides) -> dict:
    return dict(tiny_kwargs, dlayers=1, reduction_factor=2, **overrides)


def _loss_and_grads(model, batch, fused: bool, seed: int = 1, torchscript: bool = True):
    model.dec.set_impl("fused" if fused else "stepwise", torchscript)
    model.zero_grad()
    torch.manual_seed(seed)  # the same dropout and zoneout draws on both paths
    loss, stats, _ = model(**batch)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return loss.detach(), stats, grads


def _assert_paths_agree(model, batch):
    loss_ref, stats_ref, grads_ref = _loss_and_grads(model, batch, fused=False)
    loss, stats, grads = _loss_and_grads(model, batch, fused=True)
    torch.testing.assert_close(loss, loss_ref, rtol=1e-12, atol=1e-12)
    for key in stats_ref:
        torch.testing.assert_close(stats[key], stats_ref[key], rtol=1e-12, atol=1e-12)
    assert set(grads) == set(grads_ref)
    for name, grad in grads_ref.items():
        torch.testing.assert_close(grads[name], grad, rtol=1e-9, atol=1e-11, msg=name)


@pytest.mark.parametrize("cumulate_att_w", [True, False])
@pytest.mark.parametrize("use_concate", [True, False])
def test_fused_equals_stepwise_loss_and_every_gradient(tiny_kwargs, padded_batch, cumulate_att_w, use_concate):
    torch.manual_seed(0)
    model = Tacotron2(
        IDIM, ODIM, **_one_layer(tiny_kwargs, cumulate_att_w=cumulate_att_w, use_concate=use_concate)
    ).double()
    batch = {k: v.double() if v.is_floating_point() else v for k, v in padded_batch.items()}
    assert model.dec.uses_fused(batch["feats"])  # auto: the fused loops cover one layer + AttLoc
    _assert_paths_agree(model, batch)


def test_fused_equals_stepwise_with_emotion_to_decoder(tiny_kwargs, padded_batch):
    torch.manual_seed(0)
    model = Tacotron2Controllable(
        IDIM,
        ODIM,
        **_one_layer(tiny_kwargs),
        num_emotions=3,
        emo_embed_dim=5,
        emo_integration="concat",
        emo_to_decoder=True,
    ).double()
    batch = {k: v.double() if v.is_floating_point() else v for k, v in padded_batch.items()}
    _assert_paths_agree(model, dict(batch, emo_labs=torch.tensor([0, 2])))


def test_fused_equals_stepwise_in_eval_mode(tiny_kwargs, padded_batch):
    """Validation runs in eval mode: zoneout mixes states with the rate (the prenet keeps
    its dropout, so both paths start from the same seed)."""
    torch.manual_seed(0)
    model = Tacotron2(IDIM, ODIM, **_one_layer(tiny_kwargs)).double().eval()
    batch = {k: v.double() if v.is_floating_point() else v for k, v in padded_batch.items()}
    outs = []
    for impl in ("stepwise", "fused"):
        model.dec.set_impl(impl)
        torch.manual_seed(1)
        with torch.no_grad():
            outs.append(model(**batch)[0])
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-12, atol=1e-12)


def test_auto_takes_the_step_loops_where_the_fused_ones_do_not_cover_the_set_up(tiny_kwargs):
    ref = torch.zeros(2, 3)
    assert not Tacotron2(IDIM, ODIM, **tiny_kwargs).dec.uses_fused(ref)  # dlayers 2
    forward_att = Tacotron2(IDIM, ODIM, **_one_layer(tiny_kwargs, atype="forward"))
    assert not forward_att.dec.uses_fused(ref)
    model = Tacotron2(IDIM, ODIM, **_one_layer(tiny_kwargs))
    assert model.dec.uses_fused(ref)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not model.dec.uses_fused(ref)
    assert not Tacotron2(IDIM, ODIM, **_one_layer(tiny_kwargs), decoder_impl="stepwise").dec.uses_fused(ref)


def test_fold_is_the_adjoint_of_unfold():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 11, generator=gen, dtype=torch.float64)
    y = torch.randn(3, 11, 7, generator=gen, dtype=torch.float64)
    lhs = (unfold_windows(x, 7) * y).sum()
    rhs = (x * fold_windows(y)).sum()
    torch.testing.assert_close(lhs, rhs)
    # window k of position t is x[t + k - 3], zero outside
    windows = unfold_windows(x, 7)
    assert windows.shape == (3, 11, 7)
    assert windows[1, 0, 3] == x[1, 0] and windows[1, 0, 4] == x[1, 1] and windows[1, 0, 2] == 0


def _recurrence_inputs(cumulate: bool):
    gen = torch.Generator().manual_seed(0)
    batch, length, steps, eprojs, units, att_dim, kernel = 2, 4, 3, 3, 2, 3, 3

    def rand(*shape):
        return (0.5 * torch.randn(*shape, generator=gen, dtype=torch.float64)).requires_grad_()

    pad_mask = torch.tensor([[False] * 4, [False, False, False, True]])
    att_init = (~pad_mask).double() / (~pad_mask).sum(1, keepdim=True)
    keep_h = (torch.rand(steps, batch, units, generator=gen) < 0.3).double()
    keep_c = torch.full((steps, batch, units), 0.1, dtype=torch.float64)
    differentiable = [
        rand(batch, length, eprojs + 4 * units),
        rand(batch, length, att_dim),
        rand(batch, steps, 4 * units),
        rand(att_dim + 4 * units, units),
        rand(att_dim, kernel),
        rand(att_dim),
    ]
    return differentiable, (pad_mask, att_init, keep_h, keep_c, cumulate, True)


@pytest.mark.parametrize("cumulate", [True, False])
def test_recurrence_gradient_matches_finite_differences(cumulate):
    """For every differentiable input x and a random direction d: <grad, d> equals the central
    difference of <outputs, v> along d (v: a fixed random cotangent of the three outputs)."""
    inputs, rest = _recurrence_inputs(cumulate)
    gen = torch.Generator().manual_seed(1)
    outs = LocationLSTMRecurrence.apply(*inputs, *rest)
    cotangents = [torch.randn(o.shape, generator=gen, dtype=torch.float64) for o in outs]

    def objective(values):
        with torch.no_grad():
            return sum((o * v).sum() for o, v in zip(LocationLSTMRecurrence.apply(*values, *rest), cotangents))

    grads = torch.autograd.grad(outs, inputs, cotangents)
    eps = 1e-6
    for index, (x, grad) in enumerate(zip(inputs, grads)):
        direction = torch.randn(x.shape, generator=gen, dtype=torch.float64)
        plus = [v.detach() + eps * direction if k == index else v.detach() for k, v in enumerate(inputs)]
        minus = [v.detach() - eps * direction if k == index else v.detach() for k, v in enumerate(inputs)]
        numeric = (objective(plus) - objective(minus)) / (2 * eps)
        torch.testing.assert_close((grad * direction).sum(), numeric, rtol=1e-6, atol=1e-8, msg=f"input {index}")


def test_recurrence_allows_a_second_backward():
    """Nothing saved for backward is modified by it: backward(retain_graph=True) twice gives
    the same gradients twice."""
    inputs, rest = _recurrence_inputs(True)
    z, _, _ = LocationLSTMRecurrence.apply(*inputs, *rest)
    first = torch.autograd.grad(z.sum(), inputs, retain_graph=True)
    second = torch.autograd.grad(z.sum(), inputs)
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("torchscript", [True, False])
@pytest.mark.parametrize("threshold", [0.5, 2.0])
@pytest.mark.parametrize("use_att_constraint", [False, True])
@pytest.mark.parametrize("cumulate_att_w", [True, False])
def test_fused_free_running_decoding_equals_stepwise(
    tiny_kwargs, threshold, use_att_constraint, cumulate_att_w, torchscript
):
    from espkit.tts.tacotron2 import fused_recurrence

    torch.manual_seed(0)
    model = (
        Tacotron2Controllable(
            IDIM,
            ODIM,
            **_one_layer(tiny_kwargs, cumulate_att_w=cumulate_att_w),
            num_emotions=3,
            emo_embed_dim=5,
            emo_integration="concat",
            emo_to_decoder=True,
        )
        .double()
        .eval()
    )
    text = torch.tensor([3, 1, 4, 1, 5, 2, 6])
    outs = []
    for impl in ("stepwise", "fused"):
        model.dec.set_impl(impl, torchscript)
        torch.manual_seed(2)  # the prenet dropout stays on: same draws on both paths
        outs.append(
            model.inference(
                text,
                emo_labs=torch.tensor([1]),
                maxlenratio=4.0,
                threshold=threshold,
                use_att_constraint=use_att_constraint,
            )
        )
    if torchscript:  # really compiled, not the fallback
        assert isinstance(fused_recurrence._SCRIPTED["free_run_steps"], torch.jit.ScriptFunction)
    if threshold > 1.0:  # never stops: runs to maxlen = 4 x 8 tokens
        assert outs[0]["feat_gen"].shape == (32, ODIM)
    for key in ("feat_gen", "prob", "att_w"):
        torch.testing.assert_close(outs[1][key], outs[0][key], rtol=1e-10, atol=1e-12, msg=key)


def test_torchscript_and_python_step_loops_agree(tiny_kwargs, padded_batch):
    from espkit.tts.tacotron2 import fused_recurrence

    torch.manual_seed(0)
    model = Tacotron2(IDIM, ODIM, **_one_layer(tiny_kwargs)).double()
    batch = {k: v.double() if v.is_floating_point() else v for k, v in padded_batch.items()}
    scripted = _loss_and_grads(model, batch, fused=True)
    assert "forward_steps" in fused_recurrence._SCRIPTED
    assert isinstance(fused_recurrence._SCRIPTED["backward_steps"], torch.jit.ScriptFunction)
    python = _loss_and_grads(model, batch, fused=True, torchscript=False)
    torch.testing.assert_close(python[0], scripted[0], rtol=1e-12, atol=1e-12)
    for name, grad in scripted[2].items():
        torch.testing.assert_close(python[2][name], grad, rtol=1e-10, atol=1e-12, msg=name)
