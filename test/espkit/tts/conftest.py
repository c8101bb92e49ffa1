"""Fixtures shared by the FastSpeech and FastSpeech2 tests: tiny options and a padded batch."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def fs_kwargs() -> dict:
    """Options of a FastSpeech small enough for a few hundred CPU steps (a few thousand weights)."""
    return dict(
        adim=16,
        aheads=2,
        elayers=1,
        eunits=16,
        dlayers=1,
        dunits=16,
        postnet_layers=2,
        postnet_chans=8,
        postnet_filts=3,
        positionwise_conv_kernel_size=3,
        duration_predictor_chans=8,
    )


@pytest.fixture
def fs2_kwargs(fs_kwargs) -> dict:
    """:func:`fs_kwargs` plus small pitch / energy predictors."""
    return dict(
        fs_kwargs,
        pitch_predictor_chans=8,
        energy_predictor_chans=8,
        pitch_embed_kernel_size=3,
        energy_embed_kernel_size=3,
    )


@pytest.fixture
def fs_batch() -> dict:
    """Two utterances (idim 10, odim 4): texts of 5 and 3 tokens, durations (with <sos/eos>)
    summing to 11 and 6 frames, token pitch / energy; padding holds junk, not zeros."""
    gen = torch.Generator().manual_seed(0)
    text = torch.randint(1, 9, (2, 5), generator=gen)
    text[1, 3:] = 8
    durations = torch.tensor([[2, 1, 3, 0, 4, 1], [1, 2, 2, 1, 7, 7]])
    feats = torch.randn(2, 11, 4, generator=gen)
    feats[1, 6:] = 100.0
    pitch = torch.randn(2, 6, 1, generator=gen)
    pitch[1, 4:] = 50.0
    energy = torch.randn(2, 6, 1, generator=gen)
    energy[1, 4:] = 50.0
    return dict(
        text=text,
        text_lengths=torch.tensor([5, 3]),
        feats=feats,
        feats_lengths=torch.tensor([11, 6]),
        durations=durations,
        durations_lengths=torch.tensor([6, 4]),
        pitch=pitch,
        pitch_lengths=torch.tensor([6, 4]),
        energy=energy,
        energy_lengths=torch.tensor([6, 4]),
    )
