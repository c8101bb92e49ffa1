"""A tiny emotion-labelled Transformer-TTS through the task: training (tts_train), Text2Speech, the
teacher durations of ``tts_inference --use_teacher_forcing true`` and the TorchScript export."""

from __future__ import annotations

import warnings

import pytest
import torch
from tiny_corpus import make_tiny_corpus, tiny_train_args

from espkit.bin.tts_export import main as export_main
from espkit.bin.tts_inference import Text2Speech
from espkit.bin.tts_inference import main as inference_main
from espkit.bin.tts_train import main as train_main
from espkit.fileio.read_text import read_2columns_text
from espkit.fileio.sound_scp import read_wav

HOP = 64
TTS_CONF = (
    "{embed_dim: 8, eprenet_conv_layers: 1, eprenet_conv_chans: 8, eprenet_conv_filts: 3, dprenet_units: 8,"
    " elayers: 1, eunits: 8, adim: 8, aheads: 2, dlayers: 2, dunits: 8, postnet_layers: 1, postnet_chans: 8,"
    " reduction_factor: 2, num_heads_applied_guided_attn: 1, num_layers_applied_guided_attn: 1,"
    " emo_embed_dim: 4}"
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("transformer")
    data = make_tiny_corpus(root / "data", num_utts=4)
    args = tiny_train_args(data, root / "exp", ["--max_epoch", "1"])
    args[args.index("--tts") + 1] = "transformer"
    args[args.index("--tts_conf") + 1] = TTS_CONF
    train_main(args)
    return data, root / "exp"


def test_text2speech_synthesises_with_an_emotion_and_attention(trained):
    _, exp = trained
    tts = Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", minlenratio=1.0, maxlenratio=2.0)
    out = tts("ab ba", emo_labs={"happy": 0.5, "sad": 0.5})
    num_frames = out["feat_gen"].size(0)
    assert num_frames >= 6  # minlenratio 1 x 6 tokens
    assert out["att_w"].shape == (num_frames, 6)
    assert int(out["duration"].sum()) == num_frames and 0 < float(out["focus_rate"]) <= 1


def test_text2speech_use_cache_false_gives_the_cached_output(trained):
    _, exp = trained
    outs = {}
    for use_cache in (True, False):
        tts = Text2Speech(
            exp / "config.yaml",
            exp / "valid.loss.best.pth",
            threshold=1.01,
            maxlenratio=3.0,
            use_cache=use_cache,
            always_fix_seed=True,
        )
        assert tts.decode_conf["use_cache"] is use_cache
        outs[use_cache] = tts("ab ba", emo_labs="happy")["feat_gen"]
    assert outs[True].shape == outs[False].shape == (18, outs[True].size(1))  # 3 x 6 tokens, never stops
    torch.testing.assert_close(outs[True], outs[False], rtol=1e-4, atol=1e-4)


def test_teacher_forcing_writes_durations_for_fastspeech(trained, tmp_path):
    data, exp = trained
    out_dir = tmp_path / "teacher"
    inference_main(
        [
            "--train_config",
            str(exp / "config.yaml"),
            "--model_file",
            str(exp / "valid.loss.best.pth"),
            "--data_path_and_name_and_type",
            f"{data['text']},text,text",
            "--data_path_and_name_and_type",
            f"{data['wav.scp']},speech,sound",
            "--data_path_and_name_and_type",
            f"{data['utt2emo']},emo_labs,text",
            "--use_teacher_forcing",
            "true",
            "--write_wav",
            "false",
            "--plot_att_ws",
            "false",
            "--output_dir",
            str(out_dir),
        ]
    )
    durations = read_2columns_text(out_dir / "durations/durations")
    focus = read_2columns_text(out_dir / "focus_rates/focus_rates")
    texts = read_2columns_text(data["text"])
    wavs = read_2columns_text(data["wav.scp"])
    assert sorted(durations) == sorted(focus) == sorted(texts)
    for uid, line in durations.items():
        values = [int(d) for d in line.split()]
        _, wav = read_wav(wavs[uid], dtype="float32")
        assert len(values) == len(texts[uid]) + 1
        assert sum(values) == len(wav) // HOP + 1 and min(values) >= 0


def test_export_scripts_it_equal_to_eager(trained, tmp_path, capsys):
    _, exp = trained
    outpath = tmp_path / "tts.pt"
    export_main(
        [
            "--train_config",
            str(exp / "config.yaml"),
            "--model_file",
            str(exp / "valid.loss.best.pth"),
            "--outpath",
            str(outpath),
            "--text",
            "ab ba",
            "--num_runs",
            "1",
            "--minlenratio",
            "1",
            "--maxlenratio",
            "2",
        ]
    )
    assert outpath.exists() and "scripted == eager on 1 text(s)" in capsys.readouterr().out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.9 marks TorchScript deprecated
        module = torch.jit.load(str(outpath))
    tts = Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", minlenratio=1.0, maxlenratio=2.0)
    ids = tts.token_ids("ab ba")
    weights = torch.tensor([0.0, 1.0, 0.0, 0.0])
    torch.manual_seed(5)
    feat_gen, prob, att_w = module(ids, weights)
    torch.manual_seed(5)
    eager = tts.model.tts.inference(ids, emo_labs=weights, minlenratio=1.0, maxlenratio=2.0)
    assert torch.allclose(feat_gen, eager["feat_gen"], atol=1e-5) and torch.equal(att_w, eager["att_w"])
    assert prob.shape == (feat_gen.size(0),) and att_w.shape == (feat_gen.size(0), 6)
