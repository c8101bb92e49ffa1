"""TorchScript export: scripted Tacotron2 inference equals eager inference (same seed); a traced vocoder
equals the eager one on the model's features."""

import json
import warnings

import pytest
import torch
from tiny_corpus import make_tiny_corpus, tiny_train_args
from tiny_vocoder import make_tiny_vocoder

from espkit.bin.tts_export import export_tts, export_vocoder, main
from espkit.bin.tts_inference import Text2Speech
from espkit.bin.tts_train import main as train_main
from espkit.tts.tacotron2.attention import AttLoc
from espkit.tts.tacotron2.export import Tacotron2Inference, script_tacotron2
from espkit.tts.tacotron2.tacotron2 import Tacotron2
from espkit.utils.errors import ConfigError

DECODE = dict(minlenratio=2.0, maxlenratio=4.0)


@pytest.fixture(scope="module")
def exp(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("export")
    data = make_tiny_corpus(root / "data")
    train_main(tiny_train_args(data, root / "exp", ["--max_epoch", "1"]))
    return root / "exp"


def test_export_equals_eager_and_saves_metadata(exp, tmp_path):
    tts = Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", minlenratio=2.0, maxlenratio=4.0)
    report = export_tts(tts, tmp_path / "tts.pt", texts=["ab ba", "cab"], emo_labs="sad", num_runs=2)
    assert report["max_abs_diff"] <= 1e-5 and len(report["frames"]) == 2
    assert report["eager_ms"] > 0 and report["scripted_ms"] > 0
    extra = {"espkit.json": ""}
    with warnings.catch_warnings():  # TorchScript is deprecated in torch >= 2.9, still loadable
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(tmp_path / "tts.pt"), _extra_files=extra)
    meta = json.loads(extra["espkit.json"])
    assert meta["emo_list"] == ["neutral", "happy", "sad", "angry"] and meta["emotion_input"] == "weights"
    assert len(meta["normalize"]["mean"]) == 8 and meta["feats_extract"]["hop_length"] == 64
    ids, weights = tts.token_ids("cab"), torch.tensor([0.0, 0.5, 0.5, 0.0])
    with torch.inference_mode():
        torch.manual_seed(3)
        feat_gen, prob, att_w = module(ids, weights)
        torch.manual_seed(3)
        eager = tts.model.tts.inference(ids, emo_labs=weights, minlenratio=2.0, maxlenratio=4.0)
    assert feat_gen.shape == eager["feat_gen"].shape and att_w.shape == (feat_gen.shape[0], 4)
    assert torch.allclose(feat_gen, eager["feat_gen"], atol=1e-5) and torch.allclose(prob, eager["prob"], atol=1e-5)


@pytest.mark.parametrize("dlayers", [1, 2])  # 1 with location attention: eager decodes on the fused path
@pytest.mark.parametrize("atype", ["location", "forward"])
def test_plain_tacotron2_scripts_with_either_attention(atype, dlayers):
    torch.manual_seed(0)
    tts = Tacotron2(
        idim=10,
        odim=6,
        embed_dim=8,
        eunits=8,
        econv_layers=1,
        econv_chans=8,
        atype=atype,
        adim=8,
        aconv_chans=4,
        aconv_filts=2,
        dlayers=dlayers,
        dunits=8,
        prenet_units=8,
        postnet_layers=2,
        postnet_chans=8,
        reduction_factor=3,
        output_activation="tanh",
    ).eval()
    scripted = script_tacotron2(tts, "none", maxlenratio=3.0)
    ids = torch.tensor([1, 4, 5, 2, 7])
    with torch.inference_mode():
        torch.manual_seed(9)
        feat_gen, prob, att_w = scripted(ids, torch.zeros(0))
        torch.manual_seed(9)
        eager = tts.inference(ids, maxlenratio=3.0)
    assert feat_gen.shape == eager["feat_gen"].shape == (prob.shape[0], 6)
    assert torch.allclose(feat_gen, eager["feat_gen"], atol=1e-5)
    assert torch.allclose(att_w, eager["att_w"], atol=1e-6)
    with pytest.raises(ValueError, match="does not fit Tacotron2"):
        Tacotron2Inference(tts, "weights")


def test_an_attention_without_a_scripted_step_is_refused_not_exported_as_attloc():
    class AttLocVariant(AttLoc):  # a new attention: declares no fused_step
        def energies(self, memory, dec_z, att_prev):
            return 2.0 * super().energies(memory, dec_z, att_prev)

    tts = Tacotron2(
        idim=10,
        odim=6,
        embed_dim=8,
        eunits=8,
        econv_layers=1,
        econv_chans=8,
        adim=8,
        aconv_chans=4,
        aconv_filts=2,
        dlayers=1,
        dunits=8,
        prenet_units=8,
        postnet_layers=0,
    )
    variant = AttLocVariant(eprojs=8, dunits=8, att_dim=8, aconv_chans=4, aconv_filts=2)
    variant.load_state_dict(tts.dec.att.state_dict())
    tts.dec.att = variant
    with pytest.raises(ConfigError, match="AttLocVariant: it names no step of the scripted decoding loop"):
        Tacotron2Inference(tts, "none")


def test_cli_prints_the_latency_report(exp, tmp_path, capsys):
    main(
        [
            "--train_config",
            str(exp / "config.yaml"),
            "--model_file",
            str(exp / "valid.loss.best.pth"),
            "--outpath",
            str(tmp_path / "m.pt"),
            "--text",
            "ab",
            "--minlenratio",
            "2",
            "--maxlenratio",
            "3",
            "--num_runs",
            "2",
            "--log_level",
            "WARNING",
        ]
    )
    out = capsys.readouterr().out
    assert "scripted == eager on 1 text(s)" in out and "eager" in out and "scripted" in out and "ms" in out
    assert (tmp_path / "m.pt").stat().st_size > 0


@pytest.mark.parametrize("generator", ["hifigan", "istft"])
def test_vocoder_trace_equals_eager_on_the_models_features(exp, tmp_path, generator):
    _, weights = make_tiny_vocoder(tmp_path / generator, generator)
    tts = Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", vocoder_file=weights, **DECODE)
    report = export_vocoder(tts, tmp_path / "vocoder.pt", texts=["ab ba", "cab", "a"], emo_labs="sad", num_runs=1)
    assert report["max_abs_diff"] <= 1e-5 and len(set(report["frames"])) > 1  # lengths other than the traced one
    assert report["samples"] == [frames * 64 for frames in report["frames"]]
    assert report["eager_ms"] > 0 and report["traced_ms"] > 0
    extra = {"espkit.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(tmp_path / "vocoder.pt"), _extra_files=extra)
    meta = json.loads(extra["espkit.json"])
    assert meta["kind"] == "vocoder" and meta["feats_extract"]["hop_length"] == 64
    feats = torch.randn(7, 8) - 2.0  # any length: the trace follows it
    with torch.inference_mode():
        assert torch.allclose(module(feats), tts.vocoder.model.inference(feats)["wav"], atol=1e-5)
    griffin_lim = Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", **DECODE)
    with pytest.raises(ConfigError, match="no trained vocoder to export"):
        export_vocoder(griffin_lim, tmp_path / "gl.pt")


def test_cli_exports_the_vocoder_beside_the_model(exp, tmp_path, capsys):
    _, weights = make_tiny_vocoder(tmp_path / "vocoder")
    main(
        [
            "--train_config",
            str(exp / "config.yaml"),
            "--model_file",
            str(exp / "valid.loss.best.pth"),
            "--outpath",
            str(tmp_path / "m.pt"),
            "--vocoder_file",
            str(weights),
            "--text",
            "ab",
            "--text",
            "cab ab",
            "--minlenratio",
            "2",
            "--maxlenratio",
            "3",
            "--num_runs",
            "1",
            "--log_level",
            "WARNING",
        ]
    )
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'm_vocoder.pt'}" in out and "vocoder traced == eager on the features of 2 text(s)" in out
    assert (tmp_path / "m.pt").stat().st_size > 0 and (tmp_path / "m_vocoder.pt").stat().st_size > 0
