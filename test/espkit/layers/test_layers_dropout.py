"""Dropout: the distribution, the equality of the fused forms with their unfused definitions."""

from __future__ import annotations

import pytest
import torch

from espkit.layers.dropout import Dropout, dropout, tanh_dropout


def test_dropout_keeps_the_expected_fraction_and_scales():
    torch.manual_seed(0)
    x = torch.ones(200_000)
    y = dropout(x, 0.3)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.005
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.7))
    assert dropout(x, 0.3, training=False) is x
    assert torch.equal(dropout(x, 1.0), torch.zeros_like(x))
    with pytest.raises(ValueError, match="dropout probability"):
        dropout(x, 1.5)


@pytest.mark.parametrize("fused, reference", [
    (dropout, lambda x, m, s: x * m * s),
    (tanh_dropout, lambda x, m, s: torch.tanh(x) * m * s),
])
def test_fused_forms_equal_their_definition_with_gradients(fused, reference):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    keep = torch.tensor([True] * 5 + [False] * 2).view(1, 1, 7)
    grad_out = torch.randn(3, 4, 7, generator=gen, dtype=torch.float64)
    torch.manual_seed(5)
    y = fused(x, 0.4, True, keep)
    (gx,) = torch.autograd.grad(y, x, grad_out)
    torch.manual_seed(5)  # the same draws: uniform >= p
    mask = (torch.rand(x.shape, dtype=x.dtype) >= 0.4) & keep
    x_ref = x.detach().clone().requires_grad_()
    y_ref = reference(x_ref, mask, 1 / 0.6)
    (gx_ref,) = torch.autograd.grad(y_ref, x_ref, grad_out)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(gx, gx_ref)
    assert (y[..., 5:] == 0).all()  # padding is zero


def test_dropout_module_follows_train_and_eval_and_scripts():
    module = Dropout(0.5)
    x = torch.ones(1000)
    assert (module(x) == 0).any()
    module.eval()
    assert module(x) is x
    scripted = torch.jit.script(torch.nn.Sequential(torch.nn.ReLU(), module))  # export uses eval mode
    assert torch.equal(scripted(x), x)
