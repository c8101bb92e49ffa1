"""Tests of the Tacotron2 text encoder."""

from __future__ import annotations

import pytest
import torch

from espkit.tts.tacotron2.encoder import Encoder


def _encoder(**overrides) -> Encoder:
    kwargs = dict(idim=10, embed_dim=8, elayers=1, eunits=12, econv_layers=2, econv_chans=8, econv_filts=3)
    kwargs.update(overrides)
    torch.manual_seed(0)
    return Encoder(**kwargs).eval()


def test_encoder_shapes_and_zero_padding():
    enc = _encoder()
    xs = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, 0, 0]])
    hs, hlens = enc(xs, torch.tensor([5, 3]))
    assert hs.shape == (2, 5, 12)
    assert enc.output_size() == 12
    assert torch.equal(hlens, torch.tensor([5, 3]))
    assert torch.all(hs[1, 3:] == 0)
    assert torch.all(hs[1, :3].abs().sum(-1) > 0)


def test_encoder_padded_item_equals_item_alone():
    enc = _encoder(use_residual=True)
    xs = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, 9, 9]])  # item 1 padded with junk ids
    hs, _ = enc(xs, torch.tensor([5, 3]))
    alone = enc.inference(torch.tensor([6, 7, 8]))
    assert alone.shape == (3, 12)
    torch.testing.assert_close(hs[1, :3], alone, atol=1e-6, rtol=1e-5)


def test_encoder_trims_to_longest_and_works_without_blstm():
    enc = _encoder(elayers=0, econv_layers=1)
    hs, _ = enc(torch.tensor([[1, 2, 0, 0], [3, 0, 0, 0]]), torch.tensor([2, 1]))
    assert hs.shape == (2, 2, 8)
    assert enc.output_size() == 8


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(econv_filts=4), "econv_filts must be odd"),
        (dict(eunits=11), "eunits must be even"),
        (dict(use_residual=True, econv_chans=6), "use_residual needs econv_chans == embed_dim"),
    ],
)
def test_encoder_rejects_bad_options(overrides, message):
    with pytest.raises(ValueError, match=message):
        _encoder(**overrides)
