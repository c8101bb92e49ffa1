"""Fixtures shared by the Tacotron2 tests: tiny model options and a padded batch."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def tiny_kwargs() -> dict:
    """Options of a Tacotron2 small enough to run a few hundred steps on one CPU thread."""
    return dict(
        embed_dim=16,
        elayers=1,
        eunits=16,
        econv_layers=2,
        econv_chans=16,
        econv_filts=3,
        adim=16,
        aconv_chans=4,
        aconv_filts=3,
        dlayers=2,
        dunits=24,
        prenet_layers=2,
        prenet_units=16,
        postnet_layers=2,
        postnet_chans=16,
        postnet_filts=3,
    )


@pytest.fixture
def padded_batch() -> dict:
    """Two utterances (idim 10, odim 6) with odd lengths, padded with junk (not zeros)."""
    gen = torch.Generator().manual_seed(0)
    text = torch.randint(1, 9, (2, 7), generator=gen)
    text[1, 5:] = 8  # junk padding: must be ignored
    feats = torch.randn(2, 13, 6, generator=gen)
    feats[1, 9:] = 100.0  # junk padding: must be ignored
    return dict(
        text=text,
        text_lengths=torch.tensor([7, 5]),
        feats=feats,
        feats_lengths=torch.tensor([13, 9]),
    )
