"""The decoding paths (stepwise, fused, exported) and the explicit choice between them (decoder_impl)."""

from __future__ import annotations

import logging

import pytest
import torch

from espkit.tts.tacotron2.attention import AttForward, AttLoc
from espkit.tts.tacotron2.decoder import OUTPUT_ACTIVATIONS, Decoder
from espkit.tts.tacotron2.export import script_tacotron2
from espkit.tts.tacotron2.tacotron2 import Tacotron2
from espkit.utils.errors import ConfigError

IDIM, ODIM = 10, 6


class AttLocVariant(AttLoc):
    """A new attention that changes the step: it must not be run as AttLoc's formula."""

    def energies(self, memory, dec_z, att_prev):
        return 2.0 * super().energies(memory, dec_z, att_prev)


def _one_layer(tiny_kwargs, **overrides) -> dict:
    return dict(tiny_kwargs, dlayers=1, reduction_factor=2, **overrides)


@pytest.mark.parametrize("activation", [None, *OUTPUT_ACTIVATIONS])
def test_every_output_activation_is_the_same_on_every_path(tiny_kwargs, activation):
    """Stepwise (eager reference), fused and exported decoding of one model give the same output,
    whatever the activation (it is also what the next step's prenet reads)."""
    torch.manual_seed(0)
    tts = Tacotron2(IDIM, ODIM, **_one_layer(tiny_kwargs, output_activation=activation)).double().eval()
    text = torch.tensor([3, 1, 4, 1, 5, 2])
    options = dict(minlenratio=1.0, maxlenratio=3.0)
    outs = {}
    for impl in ("stepwise", "fused"):
        tts.dec.set_impl(impl)
        torch.manual_seed(2)  # the prenet dropout stays on: same draws on every path
        with torch.no_grad():
            eager = tts.inference(text, **options)
        outs[impl] = (eager["feat_gen"], eager["prob"], eager["att_w"])
    scripted = script_tacotron2(tts, "none", **options)
    torch.manual_seed(2)
    with torch.inference_mode():
        outs["exported"] = scripted(text, torch.zeros(0))
    feat_gen = outs["stepwise"][0]
    assert feat_gen.shape[0] >= 7  # minlen: 7 encoder states (with <sos/eos>)
    for path in ("fused", "exported"):
        for name, got, want in zip(("feat_gen", "prob", "att_w"), outs[path], outs["stepwise"]):
            torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12, msg=f"{path} {name}")
    if activation == "relu":
        assert feat_gen.min() >= 0
    elif activation in ("tanh", "sigmoid"):
        assert feat_gen.abs().max() <= 1 and (activation == "tanh" or feat_gen.min() >= 0)


@pytest.mark.parametrize(
    "overrides, reason",
    [
        (dict(atype="forward"), "AttForward"),
        (dict(dlayers=2), "dlayers=2"),
    ],
)
def test_decoder_impl_fused_refuses_what_it_does_not_cover(tiny_kwargs, overrides, reason):
    with pytest.raises(ConfigError, match=f"decoder_impl: fused is not available .*{reason}"):
        Tacotron2(IDIM, ODIM, **dict(_one_layer(tiny_kwargs), **overrides), decoder_impl="fused")
    model = Tacotron2(IDIM, ODIM, **dict(_one_layer(tiny_kwargs), **overrides))  # auto: stepwise
    assert not model.dec.uses_fused(torch.zeros(1))


def test_an_attention_subclass_must_declare_its_fused_step():
    assert AttLoc.fused_step == "location" and AttForward.fused_step == "forward"
    assert AttLocVariant.fused_step is None  # not inherited from AttLoc
    att = AttLocVariant(eprojs=8, dunits=8, att_dim=8, aconv_chans=4, aconv_filts=2)
    with pytest.raises(ConfigError, match="AttLocVariant"):
        Decoder(8, ODIM, att, dlayers=1, dunits=8, decoder_impl="fused")
    assert not Decoder(8, ODIM, att, dlayers=1, dunits=8).uses_fused(torch.zeros(1))


def test_decoder_impl_fused_refuses_autocast(tiny_kwargs, padded_batch):
    model = Tacotron2(IDIM, ODIM, **_one_layer(tiny_kwargs), decoder_impl="fused")
    with torch.autocast("cpu", dtype=torch.bfloat16), pytest.raises(ConfigError, match="autocast"):
        model(**padded_batch)


def test_decoder_impl_must_be_a_known_value(tiny_kwargs):
    with pytest.raises(ConfigError, match="decoder_impl must be one of auto, stepwise, fused"):
        Tacotron2(IDIM, ODIM, **tiny_kwargs, decoder_impl="fast")


def test_the_chosen_path_is_logged_once_per_model_build(tiny_kwargs, padded_batch, caplog):
    with caplog.at_level(logging.INFO, logger="espkit.tts.fast_path"):
        model = Tacotron2(IDIM, ODIM, **_one_layer(tiny_kwargs))
        model(**padded_batch)
        with torch.no_grad():
            model.eval().inference(torch.tensor([1, 2, 3]), maxlenratio=2.0)
        stepwise = Tacotron2(IDIM, ODIM, **tiny_kwargs)
    lines = [r.getMessage() for r in caplog.records if r.name == "espkit.tts.fast_path"]
    assert len(lines) == 2
    assert lines[0] == "Tacotron2 decoder: fused path (decoder_impl: auto)"
    assert lines[1].startswith("Tacotron2 decoder: stepwise path (decoder_impl: auto; fused does not cover dlayers=2")
    assert not stepwise.dec.uses_fused(torch.zeros(1))
