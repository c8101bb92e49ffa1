"""Tests of the FastSpeech2 model (the blocks it shares with FastSpeech included)."""

from __future__ import annotations

import pytest
import torch

from espkit.tasks.tts import tts_choices
from espkit.tts.emotion.conditioning import emotion_vector
from espkit.tts.fastspeech.fastspeech import FastSpeech
from espkit.tts.fastspeech2.fastspeech2 import FastSpeech2
from espkit.utils.errors import ConfigError


def _fs2(kwargs: dict, **extra) -> FastSpeech2:
    torch.manual_seed(0)
    return FastSpeech2(idim=10, odim=4, **{**kwargs, **extra})


def _fs(kwargs: dict, **extra) -> FastSpeech:
    torch.manual_seed(0)
    return FastSpeech(idim=10, odim=4, **{**kwargs, **extra})


def test_properties(fs_kwargs, fs2_kwargs):
    fs2, fs = _fs2(fs2_kwargs), _fs(fs_kwargs)
    assert fs2.needs_durations and fs2.needs_pitch_energy and fs2.supports_prosody_control
    assert fs.needs_durations and not fs.needs_pitch_energy and fs.supports_prosody_control
    assert fs2.num_emotions() == 0 and _fs2(fs2_kwargs, num_emotions=4).num_emotions() == 4
    assert sum(p.numel() for p in fs2.parameters()) < 15000


def test_forward_loss_and_stats(fs2_kwargs, fs_kwargs, fs_batch):
    loss, stats, weight = _fs2(fs2_kwargs)(**fs_batch)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert set(stats) == {
        "loss",
        "l1_loss",
        "duration_loss",
        "pitch_loss",
        "energy_loss",
        "encoder_alpha",
        "decoder_alpha",
    }
    parts = stats["l1_loss"] + stats["duration_loss"] + stats["pitch_loss"] + stats["energy_loss"]
    torch.testing.assert_close(stats["loss"], parts)
    assert weight.item() == 2.0
    loss, stats, _ = _fs(fs_kwargs)(**fs_batch)  # pitch / energy given and ignored
    assert set(stats) == {"loss", "l1_loss", "duration_loss", "encoder_alpha", "decoder_alpha"}


def test_padding_junk_does_not_change_the_loss(fs2_kwargs, fs_batch):
    model = _fs2(fs2_kwargs, use_masking=True).eval()
    loss, _, _ = model(**fs_batch)
    other = {k: v.clone() for k, v in fs_batch.items()}
    other["text"][1, 3:] = 2
    other["feats"][1, 6:] = -7.0
    other["pitch"][1, 4:] = 0.0
    other["durations"][1, 4:] = 0
    torch.testing.assert_close(model(**other)[0], loss)


def test_inference_shapes_and_determinism(fs2_kwargs, fs_kwargs):
    text = torch.tensor([1, 2, 3, 4])
    model = _fs2(fs2_kwargs).eval()
    out = model.inference(text)
    assert set(out) == {"feat_gen", "duration", "pitch", "energy"}
    assert out["duration"].shape == (5,) and out["duration"].dtype == torch.long
    assert out["pitch"].shape == (5, 1) and out["energy"].shape == (5, 1)
    assert out["feat_gen"].shape == (int(out["duration"].sum()), 4)
    again = model.inference(text)
    for key in out:
        assert torch.equal(out[key], again[key])
    fs_out = _fs(fs_kwargs).eval().inference(text)
    assert set(fs_out) == {"feat_gen", "duration"}


def _with_durations(model, value: float):
    """Make the duration predictor output ``log(value + 1)`` everywhere."""
    with torch.no_grad():
        model.duration_predictor.linear.weight.zero_()
        model.duration_predictor.linear.bias.fill_(torch.log(torch.tensor(value + 1.0)).item())
    return model


def test_alpha_scales_the_number_of_frames(fs2_kwargs):
    model = _with_durations(_fs2(fs2_kwargs).eval(), 3.0)
    text = torch.tensor([1, 2, 3, 4, 5])
    base = model.inference(text)
    slow = model.inference(text, alpha=2.0)
    assert base["duration"].tolist() == [3] * 6
    assert slow["duration"].tolist() == [6] * 6
    assert slow["feat_gen"].shape[0] == 2 * base["feat_gen"].shape[0] == 36
    assert model.inference(text, alpha=0.5)["feat_gen"].shape[0] == 12  # round(1.5) = 2 per token
    with pytest.raises(ValueError, match="alpha"):
        model.inference(text, alpha=0.0)


def test_given_durations_are_honoured_exactly(fs2_kwargs):
    model = _fs2(fs2_kwargs).eval()
    durations = torch.tensor([2, 0, 5, 1])
    out = model.inference(torch.tensor([1, 2, 3]), durations=durations, alpha=3.0)  # alpha not applied
    assert out["duration"].tolist() == [2, 0, 5, 1]
    assert out["feat_gen"].shape == (8, 4)
    with pytest.raises(ValueError, match="need T_text \\+ 1 = 4"):
        model.inference(torch.tensor([1, 2, 3]), durations=torch.tensor([1, 2, 3]))


def test_pitch_and_energy_controls_in_the_normalised_domain(fs2_kwargs):
    model = _fs2(fs2_kwargs).eval()
    text = torch.tensor([1, 5, 3, 7])
    base = model.inference(text)
    shifted = model.inference(text, pitch_shift=0.75)
    torch.testing.assert_close(shifted["pitch"], base["pitch"] + 0.75)
    torch.testing.assert_close(shifted["energy"], base["energy"])
    assert not torch.equal(shifted["feat_gen"], base["feat_gen"])
    scaled = model.inference(text, pitch_scale=2.0)
    mean = base["pitch"].mean()
    torch.testing.assert_close(scaled["pitch"], mean + 2.0 * (base["pitch"] - mean))
    energy = model.inference(text, energy_scale=1.5, energy_shift=-0.25)
    torch.testing.assert_close(energy["energy"], 1.5 * base["energy"] - 0.25)
    torch.testing.assert_close(energy["pitch"], base["pitch"])


def test_given_pitch_energy_and_teacher_forcing(fs2_kwargs):
    model = _fs2(fs2_kwargs).eval()
    text = torch.tensor([1, 5, 3])
    pitch = torch.tensor([[0.5], [-1.0], [2.0], [0.0]])
    energy = torch.tensor([[1.0], [0.0], [0.0], [-1.0]])
    durations = torch.tensor([1, 2, 3, 1])
    out = model.inference(
        text, durations=durations, pitch=pitch, energy=energy, use_teacher_forcing=True, pitch_shift=1.0
    )
    torch.testing.assert_close(out["pitch"], pitch)  # given values are used as they are
    torch.testing.assert_close(out["energy"], energy)
    assert out["feat_gen"].shape == (7, 4)
    with pytest.raises(ValueError, match="needs durations"):
        model.inference(text, use_teacher_forcing=True)
    with pytest.raises(ValueError, match="needs pitch and energy"):
        model.inference(text, durations=durations, use_teacher_forcing=True)


def test_durations_must_sum_to_the_frames(fs2_kwargs, fs_batch):
    model = _fs2(fs2_kwargs)
    bad = dict(fs_batch, durations=fs_batch["durations"].clone())
    bad["durations"][1, 0] += 1
    with pytest.raises(ValueError, match="utterance 1 of the batch sum to 7 frames but its feats have 6"):
        model(**bad)
    bad["durations"][1, 0] = -1
    with pytest.raises(ValueError, match="durations must be >= 0"):
        model(**bad)
    missing = {k: v for k, v in fs_batch.items() if k not in ("durations", "durations_lengths")}
    with pytest.raises(ValueError, match="needs durations"):
        model(**missing)
    with pytest.raises(ValueError, match="durations_lengths"):
        model(**dict(fs_batch, durations_lengths=torch.tensor([6, 3])))
    no_pitch = {k: v for k, v in fs_batch.items() if not k.startswith("pitch")}
    with pytest.raises(ValueError, match="needs token-averaged pitch"):
        model(**no_pitch)


def test_overfits_one_batch(fs2_kwargs, fs_batch):
    model = _fs2(
        fs2_kwargs,
        use_masking=True,
        transformer_enc_dropout_rate=0.0,
        transformer_dec_dropout_rate=0.0,
        postnet_dropout_rate=0.0,
        pitch_predictor_dropout=0.0,
        energy_predictor_dropout=0.0,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(60):
        loss, _, _ = model(**fs_batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_reduction_factor_counts_reduced_frames(fs2_kwargs, fs_batch):
    model = _fs2(fs2_kwargs, reduction_factor=2)
    batch = dict(fs_batch, durations=torch.tensor([[1, 1, 1, 0, 2, 0], [1, 1, 0, 1, 7, 7]]))
    loss, _, _ = model(**batch)  # 11 // 2 = 5 and 6 // 2 = 3 decoder positions
    assert torch.isfinite(loss)
    out = model.eval().inference(torch.tensor([1, 2]), durations=torch.tensor([1, 2, 1]))
    assert out["feat_gen"].shape == (8, 4)


def test_conformer_and_bad_options_are_refused(fs2_kwargs):
    with pytest.raises(ValueError, match="encoder_type=conformer is not built in espkit"):
        _fs2(fs2_kwargs, encoder_type="conformer")
    with pytest.raises(ValueError, match="decoder_type=conformer"):
        _fs2(fs2_kwargs, decoder_type="conformer", conformer_dec_kernel_size=15)
    with pytest.raises(ValueError, match="emo_integration must be one of"):
        _fs2(fs2_kwargs, emo_integration="film")


def test_espnet2_tts_conf_builds_through_tts_choices(fs_batch):
    # ESPnet2's egs2/ljspeech/tts1/conf/tuning/train_fastspeech2.yaml tts_conf, key for key, sizes made tiny
    tts_conf = {
        "adim": 16,
        "aheads": 2,
        "elayers": 2,
        "eunits": 32,
        "dlayers": 2,
        "dunits": 32,
        "positionwise_layer_type": "conv1d",
        "positionwise_conv_kernel_size": 3,
        "duration_predictor_layers": 2,
        "duration_predictor_chans": 16,
        "duration_predictor_kernel_size": 3,
        "postnet_layers": 5,
        "postnet_filts": 5,
        "postnet_chans": 16,
        "use_masking": True,
        "use_scaled_pos_enc": True,
        "encoder_normalize_before": True,
        "decoder_normalize_before": True,
        "reduction_factor": 1,
        "init_type": "xavier_uniform",
        "init_enc_alpha": 1.0,
        "init_dec_alpha": 1.0,
        "transformer_enc_dropout_rate": 0.2,
        "transformer_enc_positional_dropout_rate": 0.2,
        "transformer_enc_attn_dropout_rate": 0.2,
        "transformer_dec_dropout_rate": 0.2,
        "transformer_dec_positional_dropout_rate": 0.2,
        "transformer_dec_attn_dropout_rate": 0.2,
        "pitch_predictor_layers": 5,
        "pitch_predictor_chans": 16,
        "pitch_predictor_kernel_size": 5,
        "pitch_predictor_dropout": 0.5,
        "pitch_embed_kernel_size": 1,
        "pitch_embed_dropout": 0.0,
        "stop_gradient_from_pitch_predictor": True,
        "energy_predictor_layers": 2,
        "energy_predictor_chans": 16,
        "energy_predictor_kernel_size": 3,
        "energy_predictor_dropout": 0.5,
        "energy_embed_kernel_size": 1,
        "energy_embed_dropout": 0.0,
        "stop_gradient_from_energy_predictor": False,
    }
    model = tts_choices.build("fastspeech2", tts_conf, idim=10, odim=4)
    assert isinstance(model, FastSpeech2)
    assert len(model.pitch_predictor.blocks) == 5 and model.pitch_embed[0].kernel_size == (1,)
    assert model.criterion.use_masking
    loss, _, _ = model(**fs_batch)
    assert torch.isfinite(loss)
    fs_conf = {k: v for k, v in tts_conf.items() if not k.startswith(("pitch", "energy", "stop_gradient"))}
    assert isinstance(tts_choices.build("fastspeech", fs_conf, idim=10, odim=4), FastSpeech)
    with pytest.raises(ConfigError, match="pitch_predictor_layers"):
        tts_choices.build("fastspeech", tts_conf, idim=10, odim=4)


def test_stop_gradient_from_pitch_predictor(fs2_kwargs, fs_batch):
    model = _fs2(fs2_kwargs, stop_gradient_from_pitch_predictor=True)
    hs = torch.randn(2, 6, 16, requires_grad=True)
    p_outs, e_outs = model._predict(hs, None)
    (p_outs.sum()).backward(retain_graph=True)
    assert hs.grad is None
    e_outs.sum().backward()
    assert hs.grad is not None


def test_emotion_mixture_is_the_weighted_sum_of_table_rows(fs2_kwargs):
    model = _fs2(fs2_kwargs, num_emotions=4, emo_embed_dim=6).eval()
    table = model.emo_embed.weight
    mixture = torch.tensor([0.7, 0.3, 0.0, 0.0])
    vec = emotion_vector(model.emo_embed, model.emo_feat_proj, mixture.unsqueeze(0))
    torch.testing.assert_close(vec[0], 0.7 * table[0] + 0.3 * table[1])
    text = torch.tensor([1, 2, 3])
    mixed = model.inference(text, emo_labs=mixture)
    # the mixture conditions the model exactly like the equivalent feature-free vector does
    with torch.no_grad():
        hs_mix, _ = model._encode(
            torch.tensor([[1, 2, 3, 9]]), torch.tensor([4]), None, None, None, mixture.unsqueeze(0), None
        )
        hs_0, _ = model._encode(
            torch.tensor([[1, 2, 3, 9]]), torch.tensor([4]), None, None, None, torch.tensor([0]), None
        )
        hs_1, _ = model._encode(
            torch.tensor([[1, 2, 3, 9]]), torch.tensor([4]), None, None, None, torch.tensor([1]), None
        )
    torch.testing.assert_close(hs_mix, 0.7 * hs_0 + 0.3 * hs_1)  # "add": linear in the emotion vector
    assert not torch.equal(mixed["feat_gen"], model.inference(text, emo_labs=torch.tensor(2))["feat_gen"])
    with pytest.raises(ValueError, match="FastSpeech2 needs an emotion"):
        model.inference(text)


@pytest.mark.parametrize("integration", ["add", "concat", "none"])
def test_emotion_integrations_and_features(fs2_kwargs, fs_batch, integration):
    model = _fs2(fs2_kwargs, num_emotions=3, emo_feat_dim=5, emo_integration=integration)
    loss, _, _ = model(**fs_batch, emo_labs=torch.tensor([0, 2]))
    assert torch.isfinite(loss)
    loss_feats, _, _ = model(**fs_batch, emo_feats=torch.randn(2, 5))
    assert torch.isfinite(loss_feats)
    keys = {k for k in model.state_dict() if k.startswith("emo_")}
    expected = {"emo_embed.weight", "emo_feat_proj.weight", "emo_feat_proj.bias"}
    if integration != "none":
        expected |= {"emo_memory_proj.weight", "emo_memory_proj.bias"}
    assert keys == expected


def test_model_without_emotion_ignores_emotion_inputs(fs2_kwargs, fs_batch):
    model = _fs2(fs2_kwargs).eval()
    with_labels, _, _ = model(**fs_batch, emo_labs=torch.tensor([0, 1]))
    torch.testing.assert_close(with_labels, model(**fs_batch)[0])


def test_speaker_and_language_conditioning(fs2_kwargs, fs_batch):
    for integration in ("add", "concat"):
        model = _fs2(fs2_kwargs, spks=3, langs=2, spk_embed_dim=5, spk_embed_integration_type=integration)
        loss, _, _ = model(
            **fs_batch, sids=torch.tensor([[0], [2]]), lids=torch.tensor([1, 0]), spembs=torch.randn(2, 5)
        )
        assert torch.isfinite(loss)
        out = model.eval().inference(
            torch.tensor([1, 2]), sids=torch.tensor([1]), lids=torch.tensor([0]), spembs=torch.randn(5)
        )
        assert out["feat_gen"].dim() == 2
    with pytest.raises(ValueError, match="pass sids"):
        model(**fs_batch, lids=torch.tensor([1, 0]), spembs=torch.randn(2, 5))
