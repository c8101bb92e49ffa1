"""Tests of the Tacotron2 model: loss, masking, gradients, inference options."""

from __future__ import annotations

import pytest
import torch
from typeguard import TypeCheckError

from espkit.tts.tacotron2.tacotron2 import Tacotron2

IDIM, ODIM = 10, 6


def _model(tiny_kwargs, **overrides) -> Tacotron2:
    kwargs = dict(tiny_kwargs)
    kwargs.update(overrides)
    torch.manual_seed(0)
    return Tacotron2(IDIM, ODIM, **kwargs)


def _deterministic(model: Tacotron2) -> Tacotron2:
    model.eval()
    model.dec.prenet.always_dropout = False
    return model


def test_forward_returns_loss_stats_weight(tiny_kwargs, padded_batch):
    model = _model(tiny_kwargs)
    loss, stats, weight = model(**padded_batch)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert set(stats) == {"loss", "l1_loss", "mse_loss", "bce_loss", "attn_loss"}
    assert all(not v.requires_grad for v in stats.values())
    total = stats["l1_loss"] + stats["mse_loss"] + stats["bce_loss"] + stats["attn_loss"]
    torch.testing.assert_close(stats["loss"], total)
    assert weight.item() == 2.0


@pytest.mark.parametrize("loss_type, terms", [("L1", ["l1_loss"]), ("L2", ["mse_loss"])])
def test_loss_type_selects_terms(tiny_kwargs, padded_batch, loss_type, terms):
    model = _model(tiny_kwargs, loss_type=loss_type, use_guided_attn_loss=False)
    _, stats, _ = model(**padded_batch)
    assert "attn_loss" not in stats
    torch.testing.assert_close(stats["loss"], sum(stats[t] for t in terms) + stats["bce_loss"])


def test_append_eos_replaces_padding_junk(tiny_kwargs):
    model = _model(tiny_kwargs)
    xs, ilens = model._append_eos(torch.tensor([[3, 4, 5], [6, 8, 8]]), torch.tensor([3, 1]))
    assert xs.tolist() == [[3, 4, 5, 9], [6, 9, 0, 0]]
    assert ilens.tolist() == [4, 2]


@pytest.mark.parametrize("reduction_factor", [1, 2, 3])
def test_padded_batch_loss_equals_items_alone(tiny_kwargs, padded_batch, reduction_factor):
    model = _deterministic(
        _model(tiny_kwargs, reduction_factor=reduction_factor, use_weighted_masking=True, use_guided_attn_loss=False)
    )
    with torch.no_grad():
        _, batch_stats, _ = model(**padded_batch)
        singles = []
        for b in range(2):
            n_text = int(padded_batch["text_lengths"][b])
            n_feats = int(padded_batch["feats_lengths"][b])
            _, stats, _ = model(
                padded_batch["text"][b : b + 1, :n_text],
                torch.tensor([n_text]),
                padded_batch["feats"][b : b + 1, :n_feats],
                torch.tensor([n_feats]),
            )
            singles.append(stats)
    for key in ("l1_loss", "mse_loss", "bce_loss"):
        expected = (singles[0][key] + singles[1][key]) / 2
        torch.testing.assert_close(batch_stats[key], expected, atol=1e-5, rtol=1e-4)


def test_reduction_factor_two_with_odd_lengths(tiny_kwargs, padded_batch):
    model = _deterministic(_model(tiny_kwargs, reduction_factor=2))
    ys = torch.nn.functional.pad(padded_batch["feats"], (0, 0, 0, 1))
    xs, ilens = model._append_eos(padded_batch["text"], padded_batch["text_lengths"])
    hs, hlens = model.enc(xs, ilens)
    after, _, logits, att_ws = model.dec(hs, hlens, ys, padded_batch["feats_lengths"])
    assert after.shape == (2, 14, ODIM)  # 13 frames padded to 14
    assert att_ws.shape == (2, 7, 8)
    # the model's loss is finite and unchanged by the content of the padding
    with torch.no_grad():
        loss_a, _, _ = model(**padded_batch)
        padded_batch["feats"][0, 12:] = -7.0  # frame 12 is real (length 13): changes loss
        loss_b, _, _ = model(**padded_batch)
        padded_batch["feats"][1, 9:] = -7.0  # item 1 has 9 frames: padding only
        loss_c, _, _ = model(**padded_batch)
    assert torch.isfinite(loss_a)
    assert not torch.isclose(loss_a, loss_b)
    torch.testing.assert_close(loss_b, loss_c)


@pytest.mark.parametrize("atype", ["location", "forward"])
def test_gradients_reach_every_parameter(tiny_kwargs, padded_batch, atype):
    model = _model(tiny_kwargs, atype=atype, reduction_factor=2)
    loss, _, _ = model(**padded_batch)
    loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name


def test_speaker_embedding_concat_and_add(tiny_kwargs, padded_batch):
    for integration in ("concat", "add"):
        model = _model(tiny_kwargs, spk_embed_dim=3, spk_embed_integration_type=integration)
        with pytest.raises(ValueError, match="spk_embed_dim=3: pass spembs"):
            model(**padded_batch)
        loss, _, _ = model(**padded_batch, spembs=torch.randn(2, 3))
        loss.backward()
        assert all(p.grad is not None for p in model.parameters())
        model.eval()
        out = model.inference(torch.tensor([1, 2, 3]), spembs=torch.randn(3), maxlenratio=2.0)
        assert out["feat_gen"].shape[1] == ODIM


def test_inference_shapes_and_no_autograd(tiny_kwargs):
    model = _model(tiny_kwargs, reduction_factor=2).eval()
    out = model.inference(torch.tensor([1, 2, 3, 4]), maxlenratio=3.0)
    assert set(out) == {"feat_gen", "prob", "att_w"}
    n = out["feat_gen"].shape[0]
    assert 1 <= n <= 15
    assert out["feat_gen"].shape == (n, ODIM)
    assert out["prob"].shape == (n,)
    assert out["att_w"].shape == (n, 5)
    assert not out["feat_gen"].requires_grad


def test_inference_with_attention_constraint(tiny_kwargs):
    model = _model(tiny_kwargs).eval()
    with torch.no_grad():
        model.dec.prob_out.bias.fill_(-20.0)  # never stop: run to maxlen
    out = model.inference(
        torch.tensor([1, 2, 3, 4, 5, 6, 7]),
        maxlenratio=2.0,
        use_att_constraint=True,
        backward_window=0,
        forward_window=1,
    )
    peaks = out["att_w"].argmax(1)
    assert out["att_w"].shape == (16, 8)
    # with backward_window 0 and forward_window 1 the peak can only stay or advance by one
    steps = peaks[1:] - peaks[:-1]
    assert torch.all((steps >= 0) & (steps <= 1))


@pytest.mark.parametrize("num_frames", [13, 10])
def test_teacher_forced_inference_has_reference_length(tiny_kwargs, num_frames):
    model = _model(tiny_kwargs, reduction_factor=3).eval()
    feats = torch.randn(num_frames, ODIM)
    out = model.inference(torch.tensor([1, 2, 3]), feats=feats, use_teacher_forcing=True)
    assert out["feat_gen"].shape == (num_frames, ODIM)
    assert out["prob"].shape == (num_frames,)
    assert out["att_w"].shape == (num_frames, 4)
    with pytest.raises(ValueError, match="needs the reference feats"):
        model.inference(torch.tensor([1, 2, 3]), use_teacher_forcing=True)


def test_constructor_validates_options(tiny_kwargs):
    with pytest.raises(TypeCheckError):
        Tacotron2(IDIM, ODIM, adim="16")
    with pytest.raises(ValueError, match="loss_type must be one of"):
        _model(tiny_kwargs, loss_type="L3")
    with pytest.raises(ValueError, match="atype must be one of"):
        _model(tiny_kwargs, atype="dot")
    with pytest.raises(ValueError, match="spk_embed_integration_type must be one of"):
        _model(tiny_kwargs, spk_embed_dim=3, spk_embed_integration_type="mul")
    model = _model(tiny_kwargs)
    assert model.num_emotions() == 0
    assert model.require_vocoder is True


GST = dict(use_gst=True, gst_tokens=3, gst_heads=2, gst_conv_layers=2, gst_conv_chans_list=[4, 4], gst_gru_units=8)


def test_gst_style_depends_on_the_target_and_the_reference(tiny_kwargs, padded_batch):
    """ESPnet2's ``use_gst``: a style embedding of the target (training) or the reference
    ``feats`` (inference) is added to the encoder states, so the output depends on it."""
    model = _model(tiny_kwargs, **GST)
    assert model.gst is not None and model.gst.output_size() == tiny_kwargs["eunits"]
    loss, _, _ = model(**padded_batch)
    loss.backward()
    assert all(p.grad is not None for p in model.gst.parameters())
    _deterministic(model)
    text = padded_batch["text"][0, : int(padded_batch["text_lengths"][0])]
    ref = padded_batch["feats"][0, : int(padded_batch["feats_lengths"][0])]
    with torch.no_grad():
        out1 = model.inference(text, feats=ref, maxlenratio=2.0, use_teacher_forcing=True)["feat_gen"]
        out2 = model.inference(text, feats=ref * 3.0 + 1.0, maxlenratio=2.0, use_teacher_forcing=True)["feat_gen"]
    assert out1.shape == out2.shape == ref.shape
    assert not torch.allclose(out1, out2)


def test_gst_inference_needs_the_reference(tiny_kwargs, padded_batch):
    model = _deterministic(_model(tiny_kwargs, **GST))
    with pytest.raises(ValueError, match="use_gst needs the reference feats"):
        model.inference(padded_batch["text"][0], maxlenratio=2.0)
