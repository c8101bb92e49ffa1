"""Speaker ids, language ids and speaker embeddings in every acoustic model with emotion conditioning
(``espkit.tts.speaker.conditioning``): shapes, what changes the output, and the one-line refusals."""

from __future__ import annotations

import pytest
import torch

from espkit.tasks.tts import tts_choices
from espkit.tts.abs_tts import AbsTTS
from espkit.tts.fastspeech2.export import FastSpeechInference
from espkit.tts.speaker.conditioning import speaker_batch_of_one
from espkit.tts.tacotron2.export import Tacotron2Inference
from espkit.utils.errors import ConfigError

MODELS = ("tacotron2", "tacotron2_controllable", "fastspeech", "fastspeech2")
TACOTRON2 = dict(
    embed_dim=8, eunits=8, econv_layers=1, econv_chans=8, adim=8, aconv_chans=4, aconv_filts=3,
    dlayers=1, dunits=16, prenet_units=8, postnet_layers=1, postnet_chans=8,
)  # fmt: skip
FASTSPEECH = dict(
    adim=16, aheads=2, elayers=1, eunits=16, dlayers=1, dunits=16, postnet_layers=1, postnet_chans=8,
    postnet_filts=3, positionwise_conv_kernel_size=3, duration_predictor_chans=8,
)  # fmt: skip
FASTSPEECH2 = dict(
    FASTSPEECH, pitch_predictor_chans=8, energy_predictor_chans=8, pitch_embed_kernel_size=3, energy_embed_kernel_size=3
)
OPTIONS = {
    "tacotron2": TACOTRON2,
    "tacotron2_controllable": dict(TACOTRON2, num_emotions=2, emo_embed_dim=4),
    "fastspeech": FASTSPEECH,
    "fastspeech2": FASTSPEECH2,
}


def build(name: str, **extra) -> AbsTTS:
    torch.manual_seed(0)
    return tts_choices.get_class(name)(idim=10, odim=4, **OPTIONS[name], **extra)


def emotion(name: str) -> dict:
    """The emotion input the controllable Tacotron2 needs (none for the others)."""
    return {"emo_labs": torch.tensor([0, 1])} if name == "tacotron2_controllable" else {}


def infer(model: AbsTTS, name: str, **kwargs) -> torch.Tensor:
    """Free-running features of one text, the prenet-dropout draws fixed."""
    torch.manual_seed(3)
    extra = {"emo_labs": 0} if name == "tacotron2_controllable" else {}
    return model.inference(torch.tensor([1, 2, 3, 4]), maxlenratio=3.0, minlenratio=1.0, **extra, **kwargs)["feat_gen"]


@pytest.mark.parametrize("name", MODELS)
def test_speaker_ids_condition_training_and_inference(name, fs_batch):
    model = build(name, spks=3)
    assert model.num_speakers() == 3 and model.num_languages() == 0 and model.spembs_dim() is None
    assert "sid_emb.weight" in model.state_dict()
    loss, _, _ = model(**fs_batch, **emotion(name), sids=torch.tensor([[0], [2]]))
    assert torch.isfinite(loss)
    loss.backward()
    grad = model.sid_emb.weight.grad
    assert grad[0].abs().sum() > 0 and grad[2].abs().sum() > 0 and grad[1].abs().sum() == 0  # rows of the batch
    other, _, _ = model(**fs_batch, **emotion(name), sids=torch.tensor([[1], [1]]))
    assert not torch.allclose(loss, other)

    model.eval()
    out = infer(model, name, sids=2)
    assert out.dim() == 2 and out.size(1) == 4
    torch.testing.assert_close(infer(model, name, sids=torch.tensor([2])), out)  # an int or a tensor
    first = infer(model, name, sids=0)  # another speaker, the same dropout draws
    assert first.shape != out.shape or (first - out).abs().max() > 1e-4


@pytest.mark.parametrize("name", MODELS)
def test_speaker_id_errors_are_one_line(name, fs_batch):
    model = build(name, spks=3)
    with pytest.raises(ValueError, match=r"sids must be in \[0, 3\) \(spks=3\), got 3"):
        model(**fs_batch, **emotion(name), sids=torch.tensor([[0], [3]]))
    with pytest.raises(ValueError, match=r"has spks=3: pass sids \(2, 1\)"):
        model(**fs_batch, **emotion(name))
    with pytest.raises(ValueError, match="sids must be integer ids"):
        model(**fs_batch, **emotion(name), sids=torch.tensor([[0.0], [1.0]]))
    with pytest.raises(ValueError, match="sids has 1 ids for a batch of 2"):
        model(**fs_batch, **emotion(name), sids=torch.tensor([[1]]))
    with pytest.raises(ValueError, match=r"sids must be in \[0, 3\)"):
        infer(model.eval(), name, sids=-1)
    single = build(name)
    assert single.num_speakers() == 0 and "sid_emb.weight" not in single.state_dict()
    with pytest.raises(ValueError, match=r"sids given but this .* has no speaker-id table \(spks\)"):
        single(**fs_batch, **emotion(name), sids=torch.tensor([[0], [1]]))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("integration", ["add", "concat"])
def test_speaker_embeddings_and_language_ids(name, integration, fs_batch):
    model = build(name, langs=2, spk_embed_dim=5, spk_embed_integration_type=integration)
    assert model.num_languages() == 2 and model.spembs_dim() == 5
    spembs = torch.randn(2, 5)
    torch.manual_seed(1)
    loss, _, _ = model(**fs_batch, **emotion(name), lids=torch.tensor([[1], [0]]), spembs=spembs)
    assert torch.isfinite(loss)
    torch.manual_seed(1)  # the same dropout draws: spembs are L2-normalised, only their direction counts
    scaled, _, _ = model(**fs_batch, **emotion(name), lids=torch.tensor([[1], [0]]), spembs=3.0 * spembs)
    torch.testing.assert_close(scaled, loss)
    with pytest.raises(ValueError, match=r"spembs must be \(2, 5\), got \(2, 4\)"):
        model(**fs_batch, **emotion(name), lids=torch.tensor([1, 0]), spembs=torch.randn(2, 4))
    with pytest.raises(ValueError, match="spk_embed_dim=5: pass spembs"):
        model(**fs_batch, **emotion(name), lids=torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="has langs=2: pass lids"):
        model(**fs_batch, **emotion(name), spembs=spembs)
    model.eval()
    a = infer(model, name, lids=0, spembs=torch.tensor([1.0, 0, 0, 0, 0]))
    b = infer(model, name, lids=0, spembs=torch.tensor([0, 1.0, 0, 0, 0]))
    assert a.size(1) == 4 and (a.shape != b.shape or (a - b).abs().max() > 1e-4)
    with pytest.raises(ValueError, match="spembs given but this .* has spk_embed_dim=None"):
        build(name)(**fs_batch, **emotion(name), spembs=spembs)


def test_state_dict_keys_follow_espnet2_names():
    keys = set(build("fastspeech2", spks=3, langs=2, spk_embed_dim=5).state_dict())
    assert {"sid_emb.weight", "lid_emb.weight", "spk_projection.weight"} <= keys
    taco = set(build("tacotron2", spks=3, spk_embed_dim=5, spk_embed_integration_type="concat").state_dict())
    assert "sid_emb.weight" in taco and not any(k.startswith("spk_projection") for k in taco)  # concat widens


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="spk_embed_integration_type must be one of"):
        build("tacotron2", spk_embed_dim=4, spk_embed_integration_type="sum")
    with pytest.raises(ValueError, match="spk_embed_dim must be >= 1"):
        build("fastspeech", spk_embed_dim=0)
    assert build("fastspeech", spks=-1, langs=0).num_speakers() == 0  # ESPnet2's "none"


def test_batch_of_one():
    sids, lids, spembs = speaker_batch_of_one(2, torch.tensor(1), torch.ones(5), torch.device("cpu"))
    assert sids.tolist() == [[2]] and lids.tolist() == [[1]] and spembs.shape == (1, 5)
    assert speaker_batch_of_one(None, None, None, torch.device("cpu")) == (None, None, None)


def test_abs_tts_default_has_no_speakers():
    class Plain(AbsTTS):
        def forward(self, *args, **kwargs):
            raise NotImplementedError

        def inference(self, *args, **kwargs):
            raise NotImplementedError

    plain = Plain()
    assert plain.num_speakers() == 0 and plain.num_languages() == 0 and plain.spembs_dim() is None


def test_export_refuses_multi_speaker_models():
    with pytest.raises(ConfigError, match=r"export does not support multi-speaker models .*spks=3"):
        Tacotron2Inference(build("tacotron2", spks=3).eval(), emotion_input="none")
    with pytest.raises(ConfigError, match=r"Tacotron2Controllable has spk_embed_dim=4"):
        Tacotron2Inference(build("tacotron2_controllable", spk_embed_dim=4).eval())
    with pytest.raises(ConfigError, match=r"FastSpeech2 has spks=2, langs=3.*Text2Speech"):
        FastSpeechInference(build("fastspeech2", spks=2, langs=3).eval(), emotion_input="none")
