"""ESPnetTTSModel: emotion paths, gradients, statistics features and inference outputs."""

import pytest
import torch
from tiny_corpus import make_tiny_corpus, tiny_train_args

from espkit.tasks.tts import TTSTask
from espkit.utils.errors import ConfigError


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_tiny_corpus(tmp_path_factory.mktemp("corpus"))


def build(corpus, tmp_path, extra):
    # --normalize none: no statistics file needed (TTSTask refuses utterance_mvn, which cannot be denormalised)
    args = TTSTask.get_parser().parse_args(tiny_train_args(corpus, tmp_path, ["--normalize", "none"] + extra))
    TTSTask.resolve_args(args)
    torch.manual_seed(0)
    return TTSTask.build_model(args)


def batch(B=3, T_wav=2400):
    lengths = torch.tensor([T_wav, T_wav - 500, T_wav - 900])[:B]
    speech = torch.randn(B, T_wav) * 0.1
    for i, n in enumerate(lengths):
        speech[i, n:] = 0
    return {
        "text": torch.tensor([[3, 4, 2, 5], [4, 5, 3, 0], [5, 3, 0, 0]])[:B],
        "text_lengths": torch.tensor([4, 3, 2])[:B],
        "speech": speech,
        "speech_lengths": lengths,
        "emo_labs": torch.tensor([0, 2, 3])[:B],
    }


REFERENCE = [
    "--emo_extract",
    "reference_encoder",
    "--emo_extract_conf",
    "{conv_layers: 2, conv_chans_list: [4, 4], gru_units: 8}",
    "--emo_classifier",
    "mlp",
    "--emo_classifier_conf",
    "{hidden_units: 8}",
]


@pytest.mark.parametrize("extra", [[], REFERENCE, REFERENCE + ["--emo_source", "reference"]])
def test_forward_reaches_every_trainable_parameter(corpus, tmp_path, extra):
    model = build(corpus, tmp_path, extra)
    loss, stats, weight = model(**batch())
    assert loss.dim() == 0 and torch.isfinite(loss) and int(weight) == 3
    assert {"l1_loss", "mse_loss", "bce_loss"} <= set(stats)
    if "--emo_classifier" in extra:
        assert {"emo_ce_loss", "emo_acc"} <= set(stats)
    loss.backward()
    no_grad = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all())
    ]
    assert no_grad == []


def test_label_model_needs_labels(corpus, tmp_path):
    model = build(corpus, tmp_path, [])
    data = batch()
    del data["emo_labs"]
    with pytest.raises(ValueError, match="no emo_labs"):
        model(**data)


def test_collect_feats_shapes(corpus, tmp_path):
    model = build(corpus, tmp_path, ["--pitch_extract", "pitch", "--energy_extract", "energy"])
    feats = model.collect_feats(**batch())
    assert feats["feats"].shape[:2] == feats["pitch"].shape[:2] == feats["energy"].shape[:2]
    assert feats["feats"].shape[-1] == 8
    assert feats["feats_lengths"].tolist() == [2400 // 64 + 1, 1900 // 64 + 1, 1500 // 64 + 1]


def test_inference_with_reference_reports_posterior_and_denormalises(corpus, tmp_path):
    model = build(corpus, tmp_path, REFERENCE + ["--normalize", "none"]).eval()
    out = model.inference(
        torch.tensor([3, 4, 5]), speech=torch.randn(2000) * 0.1, emo_labs=torch.tensor(1), maxlenratio=4.0
    )
    assert out["feat_gen"].shape[1] == 8 and out["feat_gen_denorm"].shape == out["feat_gen"].shape
    assert out["emo_posterior"].shape == (4,) and torch.isclose(out["emo_posterior"].sum(), torch.tensor(1.0))
    forced = model.inference(
        torch.tensor([3, 4, 5]), speech=torch.randn(1280) * 0.1, emo_labs=torch.tensor(0), use_teacher_forcing=True
    )
    assert forced["feat_gen"].shape[0] == 1280 // 64 + 1


def test_encode_reference_is_the_batch_pipeline_of_one_utterance(corpus, tmp_path):
    model = build(corpus, tmp_path, REFERENCE + ["--normalize", "none"]).eval()
    speech = batch()["speech"][0]
    ref = model.encode_reference(speech)
    feats, feats_lengths, prosody = model.normalized_feats(speech[None], torch.tensor([speech.numel()]))
    assert torch.equal(ref["feats"], feats) and ref["feats"].shape == (1, speech.numel() // 64 + 1, 8)
    embed = model.emotion_embedding(feats, feats_lengths, prosody)
    assert torch.equal(ref["emo_embed"], embed)
    assert torch.equal(ref["emo_posterior"], torch.softmax(model.emo_classifier(embed)[0], dim=-1)[0])
    out = model.inference(torch.tensor([3, 4, 5]), speech=speech, emo_labs=torch.tensor(1), maxlenratio=2.0)
    assert torch.equal(out["emo_posterior"], ref["emo_posterior"])
    assert set(model.encode_reference(speech, emotion=False)) == {"feats"}


def test_prosody_extractor_requires_pitch_and_energy(corpus, tmp_path):
    with pytest.raises(ConfigError, match="needs frame pitch and energy"):
        build(corpus, tmp_path, ["--emo_extract", "prosody", "--emo_classifier", "mlp"])
    model = build(
        corpus,
        tmp_path,
        [
            "--emo_extract",
            "prosody",
            "--emo_classifier",
            "linear",
            "--pitch_extract",
            "pitch",
            "--pitch_extract_conf",
            "{use_continuous_f0: false, use_log_f0: false}",
            "--energy_extract",
            "energy",
        ],
    )
    loss, stats, _ = model(**batch())
    assert "emo_acc" in stats and torch.isfinite(loss)


def test_forward_attention_gives_teacher_forced_weights(corpus, tmp_path):
    model = build(corpus, tmp_path, [])
    data = batch()
    att = model.forward_attention(**data)["att_ws"]
    frames = model.feats_extract(data["speech"], data["speech_lengths"])[1]
    assert att.shape == (3, (int(frames.max()) + 1) // 2, 4 + 1)  # r = 2; <sos/eos> appended
    assert torch.allclose(att[0].sum(-1), torch.ones(att.shape[1]), atol=1e-5)
