"""Tests of FastSpeech2's parts: length regulator, variance / duration predictors, loss."""

from __future__ import annotations

import math

import pytest
import torch

from espkit.tts.fastspeech2.length_regulator import LengthRegulator, scale_durations
from espkit.tts.fastspeech2.loss import FastSpeech2Loss
from espkit.tts.fastspeech2.variance_predictor import DurationPredictor, VariancePredictor


def _token_states() -> torch.Tensor:
    """``(2, 3, 2)``: token n of utterance b is ``[10 b + n, -(10 b + n)]``."""
    values = torch.tensor([[0.0, 1.0, 2.0], [10.0, 11.0, 12.0]])
    return torch.stack([values, -values], dim=-1)


def test_length_regulator_expands_and_pads():
    xs = _token_states()
    out, lengths = LengthRegulator(pad_value=-1.0)(xs, torch.tensor([[2, 0, 1], [1, 1, 0]]))
    assert lengths.tolist() == [3, 2]
    assert out[..., 0].tolist() == [[0.0, 0.0, 2.0], [10.0, 11.0, -1.0]]  # token 1 dropped, pad -1
    assert out[..., 1].tolist() == [[-0.0, -0.0, -2.0], [-10.0, -11.0, -1.0]]


@pytest.mark.parametrize("alpha, expected", [(1.0, [1, 2, 3]), (2.0, [2, 4, 6]), (0.5, [0, 1, 2])])
def test_length_regulator_alpha(alpha, expected):
    # round half to even: 0.5 -> 0, 1.0 -> 1, 1.5 -> 2
    assert scale_durations(torch.tensor([1, 2, 3]), alpha).tolist() == expected
    out, lengths = LengthRegulator()(_token_states()[:1], torch.tensor([[1, 2, 3]]), alpha=alpha)
    assert lengths.tolist() == [sum(expected)]
    tokens = [n for n, d in enumerate(expected) for _ in range(d)]
    assert out[0, :, 0].tolist() == [float(n) for n in tokens]


def test_length_regulator_all_zero_row_gets_one_frame_per_real_token(caplog):
    xs = _token_states()
    with caplog.at_level("WARNING"):
        out, lengths = LengthRegulator()(xs, torch.tensor([[0, 0, 0], [2, 1, 0]]), text_lengths=torch.tensor([2, 2]))
    assert "all zero" in caplog.text
    assert lengths.tolist() == [2, 3]
    assert out[0, :, 0].tolist() == [0.0, 1.0, 0.0]  # tokens 0 and 1, then padding
    # without lengths every position of the row is a token
    _, lengths = LengthRegulator()(xs, torch.zeros(2, 3, dtype=torch.long))
    assert lengths.tolist() == [3, 3]


def test_length_regulator_rejects_negative_durations_and_bad_alpha():
    with pytest.raises(ValueError, match="durations must be >= 0"):
        LengthRegulator()(_token_states(), torch.tensor([[1, -1, 1], [1, 1, 1]]))
    with pytest.raises(ValueError, match="alpha"):
        scale_durations(torch.tensor([1]), 0.0)


def test_variance_predictor_masks_padding():
    torch.manual_seed(0)
    predictor = VariancePredictor(idim=4, n_layers=2, n_chans=6, kernel_size=3, dropout_rate=0.0).eval()
    xs = torch.randn(2, 5, 4)
    xs[1, 3:] = 50.0  # junk padding
    pad_mask = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    out = predictor(xs, pad_mask)
    assert out.shape == (2, 5, 1)
    assert torch.all(out[1, 3:] == 0)
    torch.testing.assert_close(out[1, :3], predictor(xs[1:, :3])[0])


def test_duration_predictor_inference_exp_minus_one_round_clamp_alpha():
    predictor = DurationPredictor(idim=3, n_layers=1, n_chans=2, dropout_rate=0.0).eval()
    torch.nn.init.zeros_(predictor.linear.weight)
    xs = torch.randn(1, 4, 3)
    with torch.no_grad():
        predictor.linear.bias.fill_(math.log(3.0 + 1.0))  # exp(x) - 1 = 3
    assert predictor(xs).shape == (1, 4)
    assert predictor.inference(xs).tolist() == [[3, 3, 3, 3]]
    assert predictor.inference(xs, alpha=2.0).tolist() == [[6, 6, 6, 6]]
    assert predictor.inference(xs, torch.tensor([[False, False, True, True]])).tolist() == [[3, 3, 0, 0]]
    with torch.no_grad():
        predictor.linear.bias.fill_(math.log(0.2))  # exp(x) - 1 < 0 -> 0
    assert predictor.inference(xs).tolist() == [[0, 0, 0, 0]]


def _loss_inputs():
    before = torch.tensor([[[1.0], [2.0], [9.0]], [[0.0], [5.0], [7.0]]])  # (B=2, T_feats=3, odim=1)
    after = before + 1.0
    ys = torch.zeros(2, 3, 1)
    d_outs = torch.tensor([[0.0, 1.0], [2.0, 5.0]])
    ds = torch.tensor([[1, 2], [3, 0]])
    p_outs = torch.tensor([[[1.0], [2.0]], [[3.0], [9.0]]])
    ps = torch.zeros(2, 2, 1)
    e_outs = p_outs * 2
    es = torch.ones(2, 2, 1)
    ilens = torch.tensor([2, 1])
    olens = torch.tensor([3, 2])
    return before, after, ys, d_outs, ds, p_outs, ps, e_outs, es, ilens, olens


def _terms(loss: FastSpeech2Loss) -> dict[str, float]:
    before, after, ys, d_outs, ds, p_outs, ps, e_outs, es, ilens, olens = _loss_inputs()
    out = loss(after, before, d_outs, ys, ds, ilens, olens, p_outs=p_outs, ps=ps, e_outs=e_outs, es=es)
    return {name: value.item() for name, value in out.items()}


def test_loss_with_masking_by_hand():
    terms = _terms(FastSpeech2Loss(use_masking=True))
    # real frames: |1|+|2|+|9| and |0|+|5| before; +1 each after
    assert terms["l1_loss"] == pytest.approx((1 + 2 + 9 + 0 + 5) / 5 + (2 + 3 + 10 + 1 + 6) / 5)
    # real tokens: (0 - log 2)^2, (1 - log 3)^2, (2 - log 4)^2
    expected_d = ((0 - math.log(2)) ** 2 + (1 - math.log(3)) ** 2 + (2 - math.log(4)) ** 2) / 3
    assert terms["duration_loss"] == pytest.approx(expected_d, rel=1e-6)
    assert terms["pitch_loss"] == pytest.approx((1 + 4 + 9) / 3)
    assert terms["energy_loss"] == pytest.approx(((2 - 1) ** 2 + (4 - 1) ** 2 + (6 - 1) ** 2) / 3)


def test_loss_with_weighted_masking_by_hand():
    terms = _terms(FastSpeech2Loss(use_masking=False, use_weighted_masking=True))
    utt0 = (1 + 2 + 9) / 3 + (2 + 3 + 10) / 3
    utt1 = (0 + 5) / 2 + (1 + 6) / 2
    assert terms["l1_loss"] == pytest.approx((utt0 + utt1) / 2)
    d0 = ((0 - math.log(2)) ** 2 + (1 - math.log(3)) ** 2) / 2
    d1 = (2 - math.log(4)) ** 2
    assert terms["duration_loss"] == pytest.approx((d0 + d1) / 2, rel=1e-6)
    assert terms["pitch_loss"] == pytest.approx(((1 + 4) / 2 + 9) / 2)


def test_loss_without_masking_averages_padding_too():
    terms = _terms(FastSpeech2Loss(use_masking=False))
    assert terms["l1_loss"] == pytest.approx((1 + 2 + 9 + 0 + 5 + 7) / 6 + (2 + 3 + 10 + 1 + 6 + 8) / 6)
    assert terms["pitch_loss"] == pytest.approx((1 + 4 + 9 + 81) / 4)


def test_loss_without_postnet_or_pitch_energy():
    before, _, ys, d_outs, ds, _, _, _, _, ilens, olens = _loss_inputs()
    out = FastSpeech2Loss()(None, before, d_outs, ys, ds, ilens, olens)
    assert set(out) == {"l1_loss", "duration_loss"}
    assert out["l1_loss"].item() == pytest.approx((1 + 2 + 9 + 0 + 5) / 5)


def test_loss_masking_options_are_exclusive():
    with pytest.raises(ValueError, match="exclusive"):
        FastSpeech2Loss(use_masking=True, use_weighted_masking=True)


class _ScriptedParts(torch.nn.Module):
    """What an export runs: predicted durations, the all-zero fix and the expansion."""

    def __init__(self):
        super().__init__()
        self.duration_predictor = DurationPredictor(idim=4, n_layers=2, n_chans=6, dropout_rate=0.0)
        self.pitch_predictor = VariancePredictor(idim=4, n_layers=2, n_chans=6, dropout_rate=0.0)
        self.length_regulator = LengthRegulator()

    def forward(self, xs: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
        durations = self.length_regulator.fill_empty(self.duration_predictor.inference(xs, None, alpha), None)
        frames, _ = self.length_regulator.expand(xs + self.pitch_predictor(xs, None), durations)
        return frames, durations


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_predictors_and_regulator_are_scriptable():
    torch.manual_seed(0)
    eager = _ScriptedParts().eval()
    with torch.no_grad():
        eager.duration_predictor.linear.bias.fill_(1.0)
    scripted = torch.jit.script(eager)
    for num_tokens, alpha in ((5, 1.0), (9, 1.7)):
        xs = torch.randn(1, num_tokens, 4)
        frames, durations = eager(xs, alpha)
        scripted_frames, scripted_durations = scripted(xs, alpha)
        assert torch.equal(durations, scripted_durations) and int(durations.sum()) > 0
        torch.testing.assert_close(frames, scripted_frames)
