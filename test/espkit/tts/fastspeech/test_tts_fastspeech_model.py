"""Tests of FastSpeech (FastSpeech2's blocks without pitch and energy)."""

from __future__ import annotations

import pytest
import torch

from espkit.tts.fastspeech.fastspeech import FastSpeech


def _fs(kwargs: dict, **extra) -> FastSpeech:
    torch.manual_seed(0)
    return FastSpeech(idim=10, odim=4, **{**kwargs, **extra})


def test_properties_and_loss_terms(fs_kwargs, fs_batch):
    model = _fs(fs_kwargs)
    assert model.needs_durations and not model.needs_pitch_energy and model.supports_prosody_control
    assert not hasattr(model, "pitch_predictor")
    loss, stats, weight = model(**fs_batch)  # pitch / energy in the batch are ignored
    assert set(stats) == {"loss", "l1_loss", "duration_loss", "encoder_alpha", "decoder_alpha"}
    torch.testing.assert_close(stats["loss"], stats["l1_loss"] + stats["duration_loss"])
    assert weight.item() == 2.0


def test_inference_has_no_pitch_or_energy(fs_kwargs):
    model = _fs(fs_kwargs).eval()
    out = model.inference(torch.tensor([1, 2, 3]), durations=torch.tensor([1, 1, 2, 3]))
    assert set(out) == {"feat_gen", "duration"}
    assert out["feat_gen"].shape == (7, 4)
    assert torch.equal(
        out["feat_gen"], model.inference(torch.tensor([1, 2, 3]), durations=torch.tensor([1, 1, 2, 3]))["feat_gen"]
    )


def test_refuses_pitch_energy_controls(fs_kwargs):
    model = _fs(fs_kwargs).eval()
    with pytest.raises(ValueError, match="pitch_shift needs a model with pitch/energy predictors.*fastspeech$"):
        model.inference(torch.tensor([1, 2]), pitch_shift=1.0)
    with pytest.raises(ValueError, match="energy needs a model with pitch/energy predictors"):
        model.inference(torch.tensor([1, 2]), energy=torch.zeros(3, 1))


def test_overfits_one_batch(fs_kwargs, fs_batch):
    model = _fs(fs_kwargs, use_masking=True, transformer_enc_dropout_rate=0.0, transformer_dec_dropout_rate=0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    first = None
    for _ in range(60):
        loss, _, _ = model(**fs_batch)
        first = loss.item() if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first
