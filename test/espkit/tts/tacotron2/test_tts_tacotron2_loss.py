"""Tests of the Tacotron2 losses."""

from __future__ import annotations

import math

import pytest
import torch

from espkit.tts.tacotron2.loss import (
    GuidedAttentionLoss,
    Tacotron2Loss,
    guided_attention_weights,
)


def _loss_inputs():
    torch.manual_seed(0)
    after, before, ys = torch.randn(2, 5, 3), torch.randn(2, 5, 3), torch.randn(2, 5, 3)
    logits = torch.randn(2, 5)
    olens = torch.tensor([5, 2])
    labels = (torch.arange(5)[None] >= (olens - 1)[:, None]).float()
    return after, before, logits, ys, labels, olens


def _single(loss, after, before, logits, ys, labels, olens, b):
    n = int(olens[b])
    return loss(
        after[b : b + 1, :n],
        before[b : b + 1, :n],
        logits[b : b + 1, :n],
        ys[b : b + 1, :n],
        labels[b : b + 1, :n],
        olens[b : b + 1],
    )


def test_masked_loss_ignores_padding_and_weights_by_frames():
    inputs = _loss_inputs()
    loss = Tacotron2Loss(use_masking=True)
    batch = loss(*inputs)
    after, before, logits, ys, labels, olens = inputs
    junk = [t.clone() for t in (after, before, logits, ys)]
    for t in junk:
        t[1, 2:] = 1e3
    torch.testing.assert_close(loss(*junk, labels, olens), batch)
    singles = [_single(loss, *inputs, b) for b in range(2)]
    for term in range(3):
        expected = (5 * singles[0][term] + 2 * singles[1][term]) / 7
        torch.testing.assert_close(batch[term], expected)


def test_weighted_masking_averages_utterances():
    inputs = _loss_inputs()
    loss = Tacotron2Loss(use_weighted_masking=True)
    batch = loss(*inputs)
    singles = [_single(loss, *inputs, b) for b in range(2)]
    for term in range(3):
        torch.testing.assert_close(batch[term], (singles[0][term] + singles[1][term]) / 2)


def test_l1_mse_bce_values():
    after = torch.tensor([[[1.0], [2.0]]])
    before = torch.tensor([[[0.0], [0.0]]])
    ys = torch.tensor([[[1.0], [1.0]]])
    logits = torch.zeros(1, 2)
    labels = torch.tensor([[0.0, 1.0]])
    l1, mse, bce = Tacotron2Loss(bce_pos_weight=5.0)(after, before, logits, ys, labels, torch.tensor([2]))
    # after: |0|,|1| ; before: |1|,|1|  -> (0 + 1 + 1 + 1) / 2
    assert l1.item() == pytest.approx(1.5)
    assert mse.item() == pytest.approx(1.5)
    # BCE at p=0.5: negative frame log 2, positive frame 5 * log 2
    assert bce.item() == pytest.approx(3.0 * math.log(2.0))


def test_unmasked_loss_counts_padding():
    after, before, logits, ys, labels, olens = _loss_inputs()
    masked = Tacotron2Loss(use_masking=True)(after, before, logits, ys, labels, olens)
    unmasked = Tacotron2Loss(use_masking=False)(after, before, logits, ys, labels, olens)
    full = Tacotron2Loss(use_masking=True)(after, before, logits, ys, labels, torch.tensor([5, 5]))
    torch.testing.assert_close(unmasked, full)
    assert not torch.allclose(masked[0], unmasked[0])


def test_guided_attention_weights_known_values():
    w = guided_attention_weights(text_len=2, feats_len=2, sigma=0.4)
    off = 1.0 - math.exp(-0.25 / 0.32)
    torch.testing.assert_close(w, torch.tensor([[0.0, off], [off, 0.0]]))


def test_guided_attention_loss_values_and_masking():
    loss = GuidedAttentionLoss(sigma=0.4, alpha=2.0)
    diagonal = torch.eye(2).unsqueeze(0)
    assert loss(diagonal, torch.tensor([2]), torch.tensor([2])).item() == pytest.approx(0.0)
    off = 1.0 - math.exp(-0.25 / 0.32)
    anti = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])
    assert loss(anti, torch.tensor([2]), torch.tensor([2])).item() == pytest.approx(2.0 * off / 2)
    # batch: item 0 is (2 steps, 2 tokens), item 1 (1 step, 1 token) padded with ones
    batch = torch.ones(2, 2, 2)
    batch[0] = anti[0]
    value = loss(batch, torch.tensor([2, 1]), torch.tensor([2, 1]))
    # 5 real elements: item 0 sums to 2 * off, item 1's single weight is 0 (diagonal)
    assert value.item() == pytest.approx(2.0 * (2 * off) / 5)
