"""Tests of the shared emotion-vector code (espkit/tts/emotion/conditioning.py)."""

from __future__ import annotations

import pytest
import torch

from espkit.tts.emotion.conditioning import (
    batch_of_one,
    build_emotion_tables,
    check_emotion_options,
    emotion_vector,
)


def test_tables_and_vectors():
    torch.manual_seed(0)
    emo_embed, emo_feat_proj = build_emotion_tables(4, 3, 5)
    assert emo_embed.weight.shape == (4, 3) and emo_feat_proj.in_features == 5
    ids = emotion_vector(emo_embed, emo_feat_proj, torch.tensor([2, 0]))
    torch.testing.assert_close(ids, emo_embed.weight[[2, 0]])
    weights = torch.tensor([[0.7, 0.3, 0.0, 0.0]])
    torch.testing.assert_close(
        emotion_vector(emo_embed, emo_feat_proj, weights)[0], 0.7 * emo_embed.weight[0] + 0.3 * emo_embed.weight[1]
    )
    feats = torch.randn(2, 5)
    torch.testing.assert_close(
        emotion_vector(emo_embed, emo_feat_proj, torch.tensor([0, 1]), feats), emo_feat_proj(feats)
    )
    assert build_emotion_tables(0, 3, None) == (None, None)
    with pytest.raises(ValueError, match="MyModel needs an emotion"):
        emotion_vector(emo_embed, emo_feat_proj, model_name="MyModel")


def test_batch_of_one():
    labs, feats = batch_of_one(2, None, torch.device("cpu"))
    assert labs.tolist() == [2] and feats is None
    labs, _ = batch_of_one(torch.tensor(3), None, torch.device("cpu"))
    assert labs.shape == (1,)
    labs, feats = batch_of_one(torch.tensor([0.5, 0.5]), torch.ones(4), torch.device("cpu"))
    assert labs.shape == (1, 2) and feats.shape == (1, 4)


def test_check_emotion_options():
    check_emotion_options(0, 64, None, "add", required=False)  # no emotion: fine when optional
    with pytest.raises(ValueError, match="need num_emotions > 0"):
        check_emotion_options(0, 64, None, "add", required=True)
    with pytest.raises(ValueError, match="emo_integration must be one of"):
        check_emotion_options(4, 64, None, "film", required=False)
    with pytest.raises(ValueError, match="emo_embed_dim must be >= 1"):
        check_emotion_options(4, 0, None, "add", required=False)
