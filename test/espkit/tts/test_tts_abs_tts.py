"""Tests of the AbsTTS interface defaults."""

from __future__ import annotations

import pytest
import torch

from espkit.tts.abs_tts import AbsTTS


class _ConstantTTS(AbsTTS):
    def forward(self, text, text_lengths, feats, feats_lengths, **kwargs):
        loss = feats.sum() * 0.0
        return loss, {"loss": loss.detach()}, torch.tensor(float(text.size(0)))

    def inference(self, text, **kwargs):
        return {
            "feat_gen": torch.zeros(3, 2),
            "prob": torch.zeros(3),
            "att_w": torch.zeros(3, text.size(0)),
        }


def test_abs_tts_cannot_be_instantiated():
    with pytest.raises(TypeError):
        AbsTTS()


def test_abs_tts_defaults():
    model = _ConstantTTS()
    assert model.require_raw_speech is False
    assert model.require_vocoder is True
    assert model.num_emotions() == 0
    assert model.needs_durations is False
    assert model.needs_pitch_energy is False
    assert model.supports_prosody_control is False
    assert isinstance(model, torch.nn.Module)
    out = model.inference(torch.tensor([1, 2]))
    assert out["att_w"].shape == (3, 2)
