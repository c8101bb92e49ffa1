"""Tests of the location-sensitive and forward attention."""

from __future__ import annotations

import pytest
import torch

from espkit.tts.tacotron2.attention import (
    AttForward,
    AttLoc,
    build_attention,
    window_mask,
)


def _memory(att: AttLoc):
    torch.manual_seed(0)
    hs = torch.randn(2, 6, 8)
    hs[1, 4:] = 50.0  # padding junk
    return att.prepare(hs, torch.tensor([6, 4]))


def test_attloc_shapes_masking_and_normalisation():
    torch.manual_seed(0)
    att = AttLoc(eprojs=8, dunits=5, att_dim=7, aconv_chans=3, aconv_filts=2)
    memory = _memory(att)
    assert memory.proj.shape == (2, 6, 7)
    prev = att.initial_weights(memory)
    torch.testing.assert_close(prev[1], torch.tensor([0.25, 0.25, 0.25, 0.25, 0.0, 0.0]))
    context, weights = att(memory, torch.randn(2, 5), prev)
    assert context.shape == (2, 8)
    assert weights.shape == (2, 6)
    torch.testing.assert_close(weights.sum(1), torch.ones(2))
    assert torch.all(weights[1, 4:] == 0)
    expected = (weights[1, :4, None] * memory.hs[1, :4]).sum(0)
    torch.testing.assert_close(context[1], expected)


def test_attention_constraint_keeps_weights_in_window():
    torch.manual_seed(0)
    att = AttLoc(eprojs=8, dunits=5, att_dim=7, aconv_chans=3, aconv_filts=2)
    memory = _memory(att)
    _, weights = att(
        memory,
        torch.randn(2, 5),
        att.initial_weights(memory),
        last_attended_idx=2,
        backward_window=1,
        forward_window=1,
    )
    assert torch.all(weights[:, [0, 4, 5]] == 0)
    assert torch.all(weights[0, 1:4] > 0)


def test_window_mask():
    mask = window_mask(7, 3, backward_window=1, forward_window=2, device=torch.device("cpu"))
    assert mask.tolist() == [True, True, False, False, False, False, True]


def test_forward_attention_moves_at_most_one_position_per_step():
    torch.manual_seed(0)
    att = AttForward(eprojs=8, dunits=5, att_dim=7, aconv_chans=3, aconv_filts=2)
    memory = _memory(att)
    prev = att.initial_weights(memory)
    assert prev[:, 0].tolist() == [1.0, 1.0]
    _, weights = att(memory, torch.randn(2, 5), prev)
    torch.testing.assert_close(weights.sum(1), torch.ones(2))
    assert torch.all(weights[:, 2:] < 1e-6)
    _, weights2 = att(memory, torch.randn(2, 5), weights)
    assert torch.all(weights2[:, 3:] < 1e-6)
    assert torch.all(weights2[1, 4:] == 0)


def test_build_attention():
    assert type(build_attention("location", 8, 5, 7, 3, 2)) is AttLoc
    assert type(build_attention("forward", 8, 5, 7, 3, 2)) is AttForward
    with pytest.raises(ValueError, match="atype must be one of"):
        build_attention("gmm", 8, 5, 7, 3, 2)
