"""Tests of the emotion-controllable Tacotron2."""

from __future__ import annotations

import pytest
import torch

from espkit.tts.tacotron2.tacotron2 import Tacotron2
from espkit.tts.tacotron2.tacotron2_controllable import Tacotron2Controllable

IDIM, ODIM = 10, 6


def _model(tiny_kwargs, **overrides) -> Tacotron2Controllable:
    kwargs = dict(tiny_kwargs, num_emotions=3, emo_embed_dim=5)
    kwargs.update(overrides)
    torch.manual_seed(0)
    return Tacotron2Controllable(IDIM, ODIM, **kwargs)


def test_num_emotions_and_sizes(tiny_kwargs):
    model = _model(tiny_kwargs, emo_integration="concat", emo_to_decoder=True)
    assert model.num_emotions() == 3
    assert model.dec.att.mlp_enc.in_features == 16 + 5
    assert model.dec.lstm[0].cell.input_size == (16 + 5) + 16 + 5
    model = _model(tiny_kwargs, emo_integration="add", emo_to_decoder=False)
    assert model.dec.att.mlp_enc.in_features == 16
    assert model.dec.lstm[0].cell.input_size == 16 + 16
    assert model.emo_memory_proj.out_features == 16


@pytest.mark.parametrize(
    "integration, to_decoder",
    [("add", True), ("add", False), ("concat", True), ("concat", False), ("none", True)],
)
def test_forward_and_gradients_for_every_integration(tiny_kwargs, padded_batch, integration, to_decoder):
    model = _model(tiny_kwargs, emo_integration=integration, emo_to_decoder=to_decoder, reduction_factor=2)
    loss, stats, weight = model(**padded_batch, emo_labs=torch.tensor([0, 2]))
    assert set(stats) == {"loss", "l1_loss", "mse_loss", "bce_loss", "attn_loss"}
    assert weight.item() == 2.0
    loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name


def test_emotion_feats_are_projected_and_win_over_labels(tiny_kwargs, padded_batch):
    model = _model(tiny_kwargs, emo_feat_dim=4)
    feats = torch.randn(2, 4)
    vec = model.emotion_vector(emo_labs=torch.tensor([0, 1]), emo_feats=feats)
    torch.testing.assert_close(vec, model.emo_feat_proj(feats))
    loss, _, _ = model(**padded_batch, emo_feats=feats)
    loss.backward()
    assert model.emo_feat_proj.weight.grad is not None
    assert model.emo_embed.weight.grad is None


def test_label_weights_mix_embeddings(tiny_kwargs):
    model = _model(tiny_kwargs)
    table = model.emo_embed.weight
    mixed = model.emotion_vector(emo_labs=torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]))
    torch.testing.assert_close(mixed[0], (table[0] + table[1]) / 2)
    torch.testing.assert_close(mixed[1], table[2])
    ids = model.emotion_vector(emo_labs=torch.tensor([[2], [0]]))
    torch.testing.assert_close(ids, table[[2, 0]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "needs an emotion: pass emo_labs"),
        (dict(emo_labs=torch.tensor([0, 3])), r"emo_labs must be in \[0, 3\)"),
        (dict(emo_labs=torch.ones(2, 2)), r"label weights \(B, 3\)"),
        (dict(emo_feats=torch.ones(2, 4)), "emo_feat_dim=None"),
    ],
)
def test_missing_or_bad_emotion_inputs(tiny_kwargs, padded_batch, kwargs, message):
    model = _model(tiny_kwargs)
    with pytest.raises(ValueError, match=message):
        model(**padded_batch, **kwargs)


def test_constructor_validates_emotion_options(tiny_kwargs):
    with pytest.raises(ValueError, match="emo_integration must be one of"):
        _model(tiny_kwargs, emo_integration="film")
    with pytest.raises(ValueError, match="need num_emotions > 0"):
        _model(tiny_kwargs, num_emotions=0)
    model = _model(tiny_kwargs, num_emotions=0, emo_feat_dim=4)
    assert model.emo_embed is None
    with pytest.raises(ValueError, match="num_emotions=0: pass emo_feats"):
        model.emotion_vector(emo_labs=torch.tensor([0]))


def test_unused_emotion_is_warned_about(tiny_kwargs, caplog):
    with caplog.at_level("WARNING"):
        _model(tiny_kwargs, emo_integration="none", emo_to_decoder=False)
    assert "the emotion conditions nothing" in caplog.text


def test_inference_accepts_int_weights_and_feats(tiny_kwargs):
    model = _model(tiny_kwargs, emo_feat_dim=4).eval()
    model.dec.prenet.always_dropout = False
    text = torch.tensor([1, 2, 3])
    by_int = model.inference(text, emo_labs=1, maxlenratio=2.0)
    by_tensor = model.inference(text, emo_labs=torch.tensor(1), maxlenratio=2.0)
    by_weights = model.inference(text, emo_labs=torch.tensor([0.0, 1.0, 0.0]), maxlenratio=2.0)
    torch.testing.assert_close(by_int["emo_embed"], model.emo_embed.weight[1].detach())
    torch.testing.assert_close(by_int["feat_gen"], by_tensor["feat_gen"])
    torch.testing.assert_close(by_int["feat_gen"], by_weights["feat_gen"])
    by_feats = model.inference(text, emo_feats=torch.randn(4), maxlenratio=2.0)
    assert by_feats["emo_embed"].shape == (5,)
    assert set(by_feats) == {"feat_gen", "prob", "att_w", "emo_embed"}
    other = model.inference(text, emo_labs=2, maxlenratio=2.0)
    n = min(len(other["feat_gen"]), len(by_int["feat_gen"]))
    assert not torch.allclose(other["feat_gen"][:n], by_int["feat_gen"][:n])


def test_teacher_forced_inference_with_emotion(tiny_kwargs):
    model = _model(tiny_kwargs, reduction_factor=2).eval()
    out = model.inference(torch.tensor([1, 2, 3]), emo_labs=0, feats=torch.randn(7, ODIM), use_teacher_forcing=True)
    assert out["feat_gen"].shape == (7, ODIM)
    assert out["att_w"].shape == (7, 4)


@pytest.mark.parametrize("integration", ["add", "concat", "none"])
def test_state_dict_keys_are_tacotron2_keys_plus_the_emotion_modules(tiny_kwargs, integration):
    # Trained models on disk hold these keys: the shared emotion code must not rename them.
    plain = set(Tacotron2(IDIM, ODIM, **tiny_kwargs).state_dict())
    model = _model(tiny_kwargs, emo_feat_dim=4, emo_integration=integration)
    extra = set(model.state_dict()) - plain
    expected = {"emo_embed.weight", "emo_feat_proj.weight", "emo_feat_proj.bias"}
    if integration == "add":
        expected |= {"emo_memory_proj.weight", "emo_memory_proj.bias"}
    assert extra == expected
    assert plain <= set(model.state_dict())
