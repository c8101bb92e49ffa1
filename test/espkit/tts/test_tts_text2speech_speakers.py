"""Text2Speech with multi-speaker models (tiny untrained FastSpeech2 / FastSpeech): the speaker by name
or id, speaker embeddings, and the one-line refusals."""

import numpy as np
import pytest
import torch
import yaml
from tiny_fastspeech import make_tiny_fastspeech

from espkit.tts.text2speech import Text2Speech

SPEAKERS = "p225,p226,p227"


@pytest.fixture(scope="module")
def exps(tmp_path_factory):
    root = tmp_path_factory.mktemp("t2s_speakers")
    return {
        "named": make_tiny_fastspeech(root / "named", "fastspeech2", emotions=False, extra=["--spk_list", SPEAKERS]),
        "ids": make_tiny_fastspeech(root / "ids", "fastspeech", emotions=False, extra=["--tts_conf", "spks=2"]),
        "spembs": make_tiny_fastspeech(
            root / "spembs",
            "fastspeech",
            emotions=False,
            extra=["--tts_conf", "{spk_embed_dim: 5, spk_embed_integration_type: concat}"],
        ),
        "single": make_tiny_fastspeech(root / "single", "fastspeech"),
    }


def load(exp) -> Text2Speech:
    return Text2Speech(exp["config"], exp["model"], vocoder=None)


def test_config_holds_the_speaker_list(exps):
    config = yaml.safe_load(exps["named"]["config"].read_text())
    assert config["spk_list"] == ["p225", "p226", "p227"] and config["tts_conf"]["spks"] == 3


def test_speaker_by_name_or_id(exps):
    tts = load(exps["named"])
    assert tts.speaker_names() == ["p225", "p226", "p227"] and tts.speakers.spk_list == tts.speaker_names()
    out = tts("ab ba", sids="p226")
    assert out["speaker"] == "p226"
    for same in ("P226", 1, "1", np.array([1]), torch.tensor(1)):
        again = tts("ab ba", sids=same)
        assert again["speaker"] == "p226" and torch.equal(again["feat_gen"], out["feat_gen"]), same
    other = tts("ab ba", sids="p225")["feat_gen"]
    assert other.shape != out["feat_gen"].shape or (other - out["feat_gen"]).abs().max() > 1e-4


def test_speaker_errors_list_the_speakers(exps):
    tts = load(exps["named"])
    with pytest.raises(ValueError, match=r"this model has 3 speakers: pass sids \(a name: p225, p226, p227; or an id"):
        tts("ab ba")
    with pytest.raises(ValueError, match="unknown speaker 'p300'; known speakers: p225, p226, p227"):
        tts("ab ba", sids="p300")
    with pytest.raises(ValueError, match=r"speaker id 3 out of range \[0, 3\)"):
        tts("ab ba", sids=3)
    with pytest.raises(ValueError, match="sids must be one speaker id or name"):
        tts("ab ba", sids=np.array([0, 1]))
    with pytest.raises(ValueError, match="spembs given but this model takes no speaker embedding"):
        tts("ab ba", sids=0, spembs=np.zeros(5, dtype=np.float32))
    single = load(exps["single"])
    assert single.speaker_names() == [] and single("ab", emo_labs="happy")["speaker"] is None
    with pytest.raises(ValueError, match="sids given but this model has no speaker ids"):
        single("ab", emo_labs="happy", sids=0)


def test_a_model_with_spks_but_no_list_takes_ids(exps):
    tts = load(exps["ids"])
    assert tts.speakers is None and tts.speaker_names() == ["0", "1"]
    assert torch.equal(tts("ab", sids=1)["feat_gen"], tts("ab", sids="1")["feat_gen"])
    assert tts("ab", sids=1)["speaker"] == "1"
    with pytest.raises(ValueError, match=r"speaker 'p225': this model has no speaker list .* ids in \[0, 2\)"):
        tts("ab", sids="p225")
    with pytest.raises(ValueError, match=r"speaker id 2 out of range \[0, 2\)"):
        tts("ab", sids=2)


def test_speaker_embeddings(exps):
    tts = load(exps["spembs"])
    a = tts("ab ba", spembs=np.array([1, 0, 0, 0, 0], dtype=np.float32))
    b = tts("ab ba", spembs=torch.tensor([0, 1.0, 0, 0, 0]))
    assert a["speaker"] is None
    assert a["feat_gen"].shape != b["feat_gen"].shape or (a["feat_gen"] - b["feat_gen"]).abs().max() > 1e-4
    with pytest.raises(ValueError, match=r"this model takes a speaker embedding: pass spembs \(5,\)"):
        tts("ab ba")
    with pytest.raises(ValueError, match=r"spembs must be \(5,\) finite values, got \(4,\)"):
        tts("ab ba", spembs=np.zeros(4, dtype=np.float32))
