"""Transformer-TTS: masks, scaled positional encoding, guided multi-head attention loss, overfit,
cached decoding, attention durations, config errors and ESPnet2 option names."""

from __future__ import annotations

import math

import pytest
import torch

from espkit.nets.masks import make_non_pad_mask, make_pad_mask, subsequent_mask
from espkit.nets.transformer.embedding import ScaledPositionalEncoding, sinusoid_table
from espkit.tasks.tts import tts_choices
from espkit.tts.text2speech import attention_durations
from espkit.tts.transformer.transformer import Transformer
from espkit.utils.errors import ConfigError

TINY = dict(
    embed_dim=8,
    eprenet_conv_layers=1,
    eprenet_conv_chans=8,
    eprenet_conv_filts=3,
    dprenet_layers=2,
    dprenet_units=8,
    elayers=2,
    eunits=16,
    adim=16,
    aheads=2,
    dlayers=2,
    dunits=16,
    postnet_layers=2,
    postnet_chans=8,
    postnet_filts=3,
    positionwise_conv_kernel_size=3,
    reduction_factor=2,
)
NO_DROPOUT = dict(
    transformer_enc_dropout_rate=0.0,
    transformer_enc_positional_dropout_rate=0.0,
    transformer_enc_attn_dropout_rate=0.0,
    transformer_dec_dropout_rate=0.0,
    transformer_dec_positional_dropout_rate=0.0,
    transformer_dec_attn_dropout_rate=0.0,
    transformer_enc_dec_attn_dropout_rate=0.0,
    eprenet_dropout_rate=0.0,
    dprenet_dropout_rate=0.0,
    postnet_dropout_rate=0.0,
)


def _batch():
    """Two utterances (idim 10, odim 4): 5 and 3 tokens, 11 and 6 frames; padding holds junk."""
    gen = torch.Generator().manual_seed(0)
    text = torch.randint(1, 9, (2, 5), generator=gen)
    text[1, 3:] = 8
    feats = torch.randn(2, 11, 4, generator=gen)
    feats[1, 6:] = 100.0
    return dict(text=text, text_lengths=torch.tensor([5, 3]), feats=feats, feats_lengths=torch.tensor([11, 6]))


def test_masks_padding_and_subsequent():
    lengths = torch.tensor([3, 1])
    assert make_pad_mask(lengths).tolist() == [[False, False, False], [False, True, True]]
    assert make_non_pad_mask(lengths, 4).tolist() == [[True, True, True, False], [True, False, False, False]]
    assert subsequent_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]


def test_scaled_positional_encoding_alpha_and_offset():
    pe = ScaledPositionalEncoding(6, init_alpha=1.0)
    pe.reset_parameters(2.5)
    x = torch.randn(1, 5, 6)
    expected = x + 2.5 * sinusoid_table(5, 6).unsqueeze(0)
    assert torch.allclose(pe(x), expected)
    assert math.isclose(float(sinusoid_table(2, 6)[1, 0]), math.sin(1.0), rel_tol=1e-6)
    # A decoder step at position t gets the same encoding as position t of the whole sequence.
    assert torch.allclose(pe(x)[:, 3:], pe(x[:, 3:], offset=3))
    model = Transformer(10, 4, **TINY, init_enc_alpha=0.5, init_dec_alpha=3.0)
    assert float(model.encoder.embed[-1].alpha.detach()) == 0.5
    assert float(model.decoder.pos_enc.alpha.detach()) == 3.0
    _, stats, _ = model(**_batch())
    assert float(stats["decoder_alpha"]) == 3.0


def _hand_guided_loss(att: torch.Tensor, ilens: list[int], olens: list[int], sigma: float) -> float:
    """Mean of ``W * att`` over real (out, in) positions of every head; ``att`` ``(B, H, T_out, T_in)``."""
    total, count = 0.0, 0
    for b in range(att.size(0)):
        for h in range(att.size(1)):
            for t in range(olens[b]):
                for n in range(ilens[b]):
                    w = 1.0 - math.exp(-((n / ilens[b] - t / olens[b]) ** 2) / (2 * sigma**2))
                    total += w * float(att[b, h, t, n])
                    count += 1
    return total / count


def test_guided_multi_head_attention_loss_on_chosen_heads_and_layers():
    torch.manual_seed(0)
    model = Transformer(
        10,
        4,
        **TINY,
        num_heads_applied_guided_attn=1,
        num_layers_applied_guided_attn=1,
        modules_applied_guided_attn=["encoder", "encoder-decoder"],
        guided_attn_loss_sigma=0.3,
        guided_attn_loss_lambda=2.0,
    )
    model.eval()
    batch = _batch()
    with torch.no_grad():
        outs = model._teacher_forced(**batch)
        losses = model.guided_attention_loss(outs)
    assert set(losses) == {"enc_attn_loss", "enc_dec_attn_loss"}
    ilens, steps = [6, 4], [6, 3]  # tokens + <sos/eos>; ceil(frames / r)
    last_src = outs["src_ws"][-1]  # the last decoder layer, head 0 only
    expected = 2.0 * _hand_guided_loss(last_src[:, :1], ilens, steps, 0.3)
    assert float(losses["enc_dec_attn_loss"]) == pytest.approx(expected, rel=1e-5)
    other_head = 2.0 * _hand_guided_loss(last_src[:, 1:2], ilens, steps, 0.3)
    assert abs(other_head - expected) > 1e-4  # the choice of head matters
    expected_enc = 2.0 * _hand_guided_loss(outs["enc_ws"][-1][:, :1], ilens, ilens, 0.3)
    assert float(losses["enc_attn_loss"]) == pytest.approx(expected_enc, rel=1e-5)
    # forward adds them to the loss and reports them.
    loss, stats, _ = model(**batch)
    parts = stats["l1_loss"] + stats["bce_loss"] + stats["enc_attn_loss"] + stats["enc_dec_attn_loss"]
    assert float(loss.detach()) == pytest.approx(float(parts), rel=1e-5)


def test_one_batch_overfit():
    torch.manual_seed(0)
    model = Transformer(10, 4, **TINY, **NO_DROPOUT, use_masking=True)
    batch = _batch()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(120):
        loss, _, _ = model(**batch)
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.3 * first, (first, float(loss.detach()))


@pytest.mark.parametrize("prenet_dropout", [False, True])
def test_cached_decoding_equals_uncached(prenet_dropout):
    torch.manual_seed(0)
    model = Transformer(10, 4, **TINY, num_emotions=3).eval()
    model.dprenet.always_dropout = prenet_dropout
    text = torch.tensor([3, 1, 4, 1, 5])
    runs = []
    for use_cache in (True, False):
        torch.manual_seed(1)  # the same prenet dropout draws on both paths
        runs.append(model.inference(text, emo_labs=2, threshold=1.1, maxlenratio=3.0, use_cache=use_cache))
    cached, uncached = runs
    assert cached["feat_gen"].shape == (18, 4)  # never stops: maxlen = 3 x 6 tokens
    assert torch.allclose(cached["feat_gen"], uncached["feat_gen"], atol=1e-5)
    assert torch.allclose(cached["prob"], uncached["prob"], atol=1e-6)
    assert torch.allclose(cached["att_ws"], uncached["att_ws"], atol=1e-6)
    assert cached["att_ws"].shape == (2, 2, 9, 6)


def test_attention_durations_sum_to_frames():
    torch.manual_seed(0)
    model = Transformer(10, 4, **TINY).eval()
    feats = torch.randn(11, 4)
    text = torch.tensor([3, 1, 4, 1, 5])
    out = model.inference(text, feats=feats, use_teacher_forcing=True)
    assert out["feat_gen"].shape == (11, 4)
    assert out["att_w"].shape == (11, 6)
    durations, focus = attention_durations(out["att_w"])
    assert durations.shape == (6,) and int(durations.sum()) == 11
    assert 0.0 < float(focus) <= 1.0
    # att_w is the guided head (last 2 layers, first 2 heads) with the highest focus rate.
    heads = out["att_ws"].reshape(-1, 6, 6)
    best = heads[heads.max(-1).values.mean(-1).argmax()]
    assert torch.equal(out["att_w"], best.repeat_interleave(2, dim=0)[:11])
    free = model.inference(text, threshold=1.1, maxlenratio=2.0)
    assert int(attention_durations(free["att_w"])[0].sum()) == free["feat_gen"].size(0) == 12


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(num_heads_applied_guided_attn=3), "num_heads_applied_guided_attn must be in [1, aheads=2]"),
        (dict(modules_applied_guided_attn=["encoder", "postnet"]), "unknown module 'postnet'"),
        (dict(num_layers_applied_guided_attn=3), "module 'encoder-decoder' has dlayers=2"),
        (dict(reduction_factor=0), "reduction_factor must be an integer >= 1"),
        (dict(loss_type="L3"), "loss_type must be one of"),
        (dict(adim=15, aheads=2), "adim=15 is not divisible by aheads=2"),
        (dict(use_gst=True), "use_gst"),
    ],
)
def test_config_errors_are_one_line(options, message):
    conf = {**TINY, **options}
    with pytest.raises(ConfigError) as err:
        tts_choices.build("transformer", conf, idim=10, odim=4)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_espnet2_tts_conf_names_build():
    """Every key of an ESPnet2 ``train_transformer.yaml`` ``tts_conf`` (sizes shrunk) is accepted."""
    conf = dict(
        embed_dim=0,
        eprenet_conv_layers=0,
        eprenet_conv_filts=0,
        eprenet_conv_chans=0,
        dprenet_layers=2,
        dprenet_units=8,
        adim=16,
        aheads=2,
        elayers=2,
        eunits=16,
        dlayers=2,
        dunits=16,
        positionwise_layer_type="conv1d",
        positionwise_conv_kernel_size=1,
        postnet_layers=2,
        postnet_filts=5,
        postnet_chans=8,
        use_masking=True,
        bce_pos_weight=5.0,
        use_scaled_pos_enc=True,
        encoder_normalize_before=True,
        decoder_normalize_before=True,
        reduction_factor=1,
        init_type="xavier_uniform",
        init_enc_alpha=1.0,
        init_dec_alpha=1.0,
        eprenet_dropout_rate=0.0,
        dprenet_dropout_rate=0.5,
        postnet_dropout_rate=0.5,
        transformer_enc_dropout_rate=0.1,
        transformer_enc_positional_dropout_rate=0.1,
        transformer_enc_attn_dropout_rate=0.1,
        transformer_dec_dropout_rate=0.1,
        transformer_dec_positional_dropout_rate=0.1,
        transformer_dec_attn_dropout_rate=0.1,
        transformer_enc_dec_attn_dropout_rate=0.1,
        use_guided_attn_loss=True,
        num_heads_applied_guided_attn=2,
        num_layers_applied_guided_attn=2,
        modules_applied_guided_attn="encoder-decoder",
        guided_attn_loss_sigma=0.4,
        guided_attn_loss_lambda=10.0,
    )
    model = tts_choices.build("transformer", conf, idim=10, odim=4)
    assert isinstance(model, Transformer)
    assert model.encoder_prenet is None and model.guided_modules == ("encoder-decoder",)
    batch = _batch()
    loss, stats, weight = model(**batch)
    assert torch.isfinite(loss) and float(weight) == 2.0
    assert set(stats) >= {"l1_loss", "bce_loss", "enc_dec_attn_loss", "encoder_alpha", "decoder_alpha"}


def test_speaker_ids_condition_training_and_inference():
    torch.manual_seed(0)
    model = Transformer(10, 4, **TINY, spks=3)
    assert model.num_speakers() == 3
    batch = _batch()
    loss, _, _ = model(**batch, sids=torch.tensor([[0], [2]]))
    assert torch.isfinite(loss)
    model.eval()
    model.dprenet.always_dropout = False
    text = torch.tensor([3, 1, 4])
    outs = [model.inference(text, sids=sid, threshold=1.1, maxlenratio=2.0)["feat_gen"] for sid in (0, 2)]
    assert outs[0].shape == outs[1].shape == (8, 4)
    assert not torch.allclose(outs[0], outs[1])


def test_emotion_features_condition_it_like_fastspeech():
    """``emo_source: reference``: the states are conditioned on given emotion features (the shared code)."""
    torch.manual_seed(0)
    model = Transformer(10, 4, **TINY, emo_feat_dim=5, emo_integration="concat")
    assert model.has_emotion and model.num_emotions() == 0
    loss, _, _ = model(**_batch(), emo_feats=torch.randn(2, 5))
    assert torch.isfinite(loss)
    with pytest.raises(ValueError, match="needs an emotion"):
        model(**_batch())
    model.eval()
    model.dprenet.always_dropout = False
    text = torch.tensor([3, 1, 4])
    outs = [
        model.inference(text, emo_feats=feats, threshold=1.1, maxlenratio=2.0)["feat_gen"]
        for feats in (torch.zeros(5), torch.ones(5))
    ]
    assert not torch.allclose(outs[0], outs[1])
