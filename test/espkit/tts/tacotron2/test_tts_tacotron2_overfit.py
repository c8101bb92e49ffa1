"""Overfitting tests: tiny Tacotron2 models learn two synthetic utterances on CPU.

The features are a smooth function of the text (each token has a random vector; frames
glide from one token's vector to the next over 3-4 frames), so a working attention has a
monotonic alignment to find. A few hundred Adam steps must cut the loss by 80%, and the
trained model must then stop on its own with a monotonic attention path.
"""

from __future__ import annotations

import logging

import pytest
import torch

from espkit.tts.tacotron2.tacotron2 import Tacotron2
from espkit.tts.tacotron2.tacotron2_controllable import Tacotron2Controllable

IDIM, ODIM = 12, 8
STEPS = 150
SEED = 0
OVERFIT_KWARGS = dict(
    embed_dim=32,
    eunits=32,
    econv_layers=1,
    econv_chans=32,
    econv_filts=5,
    adim=32,
    aconv_chans=4,
    aconv_filts=3,
    dlayers=1,
    dunits=64,
    prenet_units=32,
    postnet_layers=2,
    postnet_chans=32,
    reduction_factor=2,
    dropout_rate=0.1,
    zoneout_rate=0.0,
    # a strong diagonal prior: with only two utterances the decoder could otherwise fit the
    # frames while attending loosely, and free-running synthesis would then wander
    guided_attn_loss_lambda=10.0,
)


def _synthetic_corpus() -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(1)
    table = torch.randn(IDIM, ODIM, generator=gen)
    texts = [torch.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), torch.tensor([5, 3, 8, 2, 9, 1, 4, 6])]
    feats = []
    for text in texts:
        points = table[text]
        frames = []
        for i in range(len(text)):
            target = points[min(i + 1, len(text) - 1)]
            for k in range(3 + i % 2):
                frames.append((1 - k / 4) * points[i] + (k / 4) * target)
        feats.append(torch.stack(frames))
    return texts, feats


def _batch(texts, feats) -> dict:
    pad = torch.nn.utils.rnn.pad_sequence
    return dict(
        text=pad(texts, batch_first=True),
        text_lengths=torch.tensor([len(t) for t in texts]),
        feats=pad(feats, batch_first=True),
        feats_lengths=torch.tensor([len(f) for f in feats]),
    )


def _train(model, batch: dict) -> tuple[float, float]:
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    for _ in range(STEPS):
        loss, _, _ = model(**batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses[0], sum(losses[-10:]) / 10


def _check_free_running(out: dict, text: torch.Tensor, ref_len: int, maxlenratio: float):
    n = out["feat_gen"].shape[0]
    assert n < int((len(text) + 1) * maxlenratio)  # stopped on its own
    assert 0.7 * ref_len <= n <= 1.3 * ref_len, (n, ref_len)
    peaks = out["att_w"].argmax(dim=1)
    backward_steps = int((peaks[1:] < peaks[:-1]).sum())
    assert backward_steps <= 1, peaks.tolist()
    assert int(peaks[-1]) >= len(text) - 2, peaks.tolist()  # reached the end of the text


@pytest.fixture(scope="module")
def corpus():
    return _synthetic_corpus()


def test_tacotron2_overfits_and_then_synthesises(corpus, caplog):
    texts, feats = corpus
    torch.manual_seed(SEED)
    model = Tacotron2(IDIM, ODIM, **OVERFIT_KWARGS)
    first, last = _train(model, _batch(texts, feats))
    assert last <= 0.2 * first, (first, last)
    model.eval()
    with caplog.at_level(logging.WARNING):
        for text, ref in zip(texts, feats):
            out = model.inference(text, maxlenratio=10.0)
            _check_free_running(out, text, len(ref), 10.0)
    assert "reached maxlen" not in caplog.text
    forced = model.inference(texts[1], feats=feats[1], use_teacher_forcing=True)
    assert forced["feat_gen"].shape == feats[1].shape
    assert (forced["feat_gen"] - feats[1]).abs().mean() < 0.3


def test_controllable_tacotron2_overfits_and_follows_the_emotion(corpus, caplog):
    texts, feats = corpus
    torch.manual_seed(SEED)
    model = Tacotron2Controllable(IDIM, ODIM, num_emotions=2, emo_embed_dim=8, **OVERFIT_KWARGS)
    batch = _batch(texts, feats)
    first, last = _train(model, dict(batch, emo_labs=torch.tensor([0, 1])))
    assert last <= 0.2 * first, (first, last)
    model.eval()  # the prenet dropout stays on, as the model was trained with it
    with caplog.at_level(logging.WARNING):
        for emotion, (text, ref) in enumerate(zip(texts, feats)):
            out = model.inference(text, emo_labs=emotion, maxlenratio=10.0)
            _check_free_running(out, text, len(ref), 10.0)
    assert "reached maxlen" not in caplog.text

    # only the emotion changes (same text, reference frames and dropout masks) -> the
    # output changes
    ref = feats[0]
    torch.manual_seed(123)
    out_0 = model.inference(texts[0], emo_labs=0, feats=ref, use_teacher_forcing=True)
    torch.manual_seed(123)
    same_0 = model.inference(texts[0], emo_labs=0, feats=ref, use_teacher_forcing=True)
    torch.manual_seed(123)
    out_1 = model.inference(texts[0], emo_labs=1, feats=ref, use_teacher_forcing=True)
    torch.testing.assert_close(out_0["feat_gen"], same_0["feat_gen"])
    assert out_0["feat_gen"].shape == ref.shape
    assert (out_0["feat_gen"] - out_1["feat_gen"]).abs().mean() > 1e-3
    # a 50/50 mix is conditioned on the average embedding
    mixed = model.inference(texts[0], emo_labs=torch.tensor([0.5, 0.5]), feats=ref, use_teacher_forcing=True)
    torch.testing.assert_close(mixed["emo_embed"], (out_0["emo_embed"] + out_1["emo_embed"]) / 2)
