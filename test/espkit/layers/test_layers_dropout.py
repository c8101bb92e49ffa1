"""Dropout drawn as uniform >= p: the kept fraction, the scale, train/eval, the same draws as its definition."""

from __future__ import annotations

import pytest
import torch

from espkit.layers.dropout import Dropout, dropout


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


def test_dropout_mask_and_gradient_follow_the_uniform_draws():
    x = torch.randn(4, 9, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(3)
    y = dropout(x, 0.4)
    y.sum().backward()
    torch.manual_seed(3)
    keep = (torch.rand(4, 9, dtype=torch.float64) >= 0.4).double() / 0.6
    torch.testing.assert_close(y, x.detach() * keep)
    torch.testing.assert_close(x.grad, keep)


def test_dropout_module_follows_train_and_eval():
    module = Dropout(0.5)
    x = torch.ones(1000)
    assert (module(x) == 0).any()
    module.eval()
    assert module(x) is x
    with pytest.raises(ValueError):
        Dropout(-0.1)
