"""Tests of the Tacotron2 decoder blocks: prenet, postnet, zoneout cell, decoder."""

from __future__ import annotations

import logging

import pytest
import torch

from espkit.tts.tacotron2.attention import AttLoc
from espkit.tts.tacotron2.decoder import Decoder, Postnet, Prenet, ZoneOutLSTMCell


def test_prenet_dropout_stays_on_in_eval_unless_disabled():
    torch.manual_seed(0)
    prenet = Prenet(idim=4, n_layers=2, n_units=32, dropout_rate=0.5).eval()
    x = torch.randn(3, 4)
    assert prenet(x).shape == (3, 32)
    assert not torch.equal(prenet(x), prenet(x))
    prenet.always_dropout = False
    assert torch.equal(prenet(x), prenet(x))
    prenet.train()
    assert not torch.equal(prenet(x), prenet(x))


def test_postnet_shape_and_last_block_has_no_tanh():
    postnet = Postnet(odim=5, n_layers=3, n_chans=7, n_filts=3).eval()
    assert postnet(torch.randn(2, 5, 11)).shape == (2, 5, 11)
    assert not any(isinstance(m, torch.nn.Tanh) for m in postnet.blocks[-1])
    assert isinstance(postnet.blocks[0][2], torch.nn.Tanh)
    with pytest.raises(ValueError, match="postnet_filts must be odd"):
        Postnet(odim=5, n_filts=4)


def test_zoneout_cell_eval_mixes_previous_and_new_state():
    torch.manual_seed(0)
    cell = ZoneOutLSTMCell(3, 4, zoneout_rate=0.25).eval()
    x, h, c = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    h_new, c_new = cell.cell(x, (h, c))
    h_out, c_out = cell(x, (h, c))
    torch.testing.assert_close(h_out, 0.25 * h + 0.75 * h_new)
    torch.testing.assert_close(c_out, 0.25 * c + 0.75 * c_new)
    cell.train()
    h_out, _ = cell(x, (h, c))
    kept = torch.isclose(h_out, h) | torch.isclose(h_out, h_new)
    assert kept.all()
    with pytest.raises(ValueError, match="zoneout_rate"):
        ZoneOutLSTMCell(3, 4, zoneout_rate=1.0)


def _decoder(reduction_factor: int = 2, cond_dim: int = 0) -> Decoder:
    torch.manual_seed(0)
    att = AttLoc(eprojs=8, dunits=12, att_dim=6, aconv_chans=2, aconv_filts=2)
    dec = Decoder(
        eprojs=8,
        odim=5,
        att=att,
        dlayers=2,
        dunits=12,
        prenet_layers=2,
        prenet_units=6,
        postnet_layers=2,
        postnet_chans=6,
        postnet_filts=3,
        reduction_factor=reduction_factor,
        cond_dim=cond_dim,
    )
    dec.prenet.always_dropout = False
    return dec.eval()


@pytest.mark.parametrize("reduction_factor", [1, 2])
def test_decoder_forward_shapes_and_padding_does_not_leak(reduction_factor):
    r = reduction_factor
    dec = _decoder(reduction_factor=r, cond_dim=3)
    torch.manual_seed(1)
    hs, ys, cond = torch.randn(2, 4, 8), torch.randn(2, 10, 5), torch.randn(2, 3)
    after, before, logits, att_ws = dec(hs, torch.tensor([4, 3]), ys, torch.tensor([10, 7]), cond)
    assert after.shape == before.shape == (2, 10, 5)
    assert logits.shape == (2, 10)
    assert att_ws.shape == (2, 10 // r, 4)
    assert torch.all(before[1, 7:] == 0)
    assert torch.all(after[1, 7:] == 0)
    # item 1 alone (7 frames, padded to a multiple of r) gives the same real frames
    alone_len = 8 if r == 2 else 7
    after1, before1, logits1, att1 = dec(hs[1:, :3], torch.tensor([3]), ys[1:, :alone_len], torch.tensor([7]), cond[1:])
    torch.testing.assert_close(after[1, :7], after1[0, :7], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(logits[1, :7], logits1[0, :7], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(att_ws[1, : alone_len // r, :3], att1[0], atol=1e-6, rtol=1e-5)


def test_decoder_rejects_targets_not_multiple_of_reduction_factor():
    dec = _decoder(reduction_factor=2)
    with pytest.raises(ValueError, match="not a multiple of reduction_factor 2"):
        dec(torch.randn(2, 4, 8), torch.tensor([4, 3]), torch.randn(2, 9, 5), torch.tensor([9, 7]))


def test_decoder_teacher_forcing_feeds_last_frame_of_previous_group():
    dec = _decoder(reduction_factor=2)
    hs = torch.randn(1, 4, 8)
    ys = torch.randn(1, 6, 5)
    changed = ys.clone()
    changed[0, 0] += 10.0  # first frame of group 0: never an input
    changed[0, 5] += 10.0  # last frame of the last group: never an input
    _, _, logits_a, _ = dec(hs, torch.tensor([4]), ys, torch.tensor([6]))
    _, _, logits_b, _ = dec(hs, torch.tensor([4]), changed, torch.tensor([6]))
    torch.testing.assert_close(logits_a, logits_b)
    changed[0, 1] += 10.0  # last frame of group 0: input of step 1
    _, _, logits_c, _ = dec(hs, torch.tensor([4]), changed, torch.tensor([6]))
    torch.testing.assert_close(logits_a[:, :2], logits_c[:, :2])
    assert not torch.allclose(logits_a[:, 2:], logits_c[:, 2:])


def test_decoder_inference_stops_at_first_frame_over_threshold():
    dec = _decoder(reduction_factor=2)
    with torch.no_grad():
        dec.prob_out.weight.zero_()
        dec.prob_out.bias.copy_(torch.tensor([-5.0, 5.0]))  # second frame of a group stops
        outs, probs, att_ws = dec.inference(torch.randn(4, 8), minlenratio=1.0)
    # minlen = 4 frames -> stops at the end of step 2, i.e. 4 frames
    assert outs.shape == (4, 5)
    assert probs.shape == (4,)
    assert att_ws.shape == (4, 4)
    torch.testing.assert_close(att_ws[0], att_ws[1])
    with torch.no_grad():
        dec.prob_out.bias.copy_(torch.tensor([5.0, 5.0]))
        outs, probs, _ = dec.inference(torch.randn(4, 8))
    assert outs.shape == (1, 5)  # cut at the first frame over the threshold


def test_decoder_inference_warns_at_maxlen(caplog):
    dec = _decoder(reduction_factor=1)
    with torch.no_grad():
        dec.prob_out.weight.zero_()
        dec.prob_out.bias.fill_(-10.0)
        with caplog.at_level(logging.WARNING):
            outs, probs, att_ws = dec.inference(torch.randn(3, 8), maxlenratio=2.0)
    assert outs.shape == (6, 5)
    assert "reached maxlen" in caplog.text


def test_decoder_rejects_unknown_output_activation():
    att = AttLoc(eprojs=8, dunits=12, att_dim=6, aconv_chans=2, aconv_filts=2)
    with pytest.raises(ValueError, match="output_activation must be None or one of"):
        Decoder(eprojs=8, odim=5, att=att, dunits=12, output_activation="softplus")
