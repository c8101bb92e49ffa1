"""A tiny multi-speaker Tacotron2 trained on two espeak-ng voices follows ``sids``.

Four short sentences are spoken by ``en-us`` ("male") and ``en-us+f3`` ("female", higher pitch,
another timbre). The data goes the recipe's way (``wav.scp``, ``text``, ``utt2sid`` read by
``ESPnetDataset``, batched by the task's collate function: ``sids`` ``(B, 1)``) into a Tacotron2
built by ``TTSTask`` from ``--spk_list male,female``, trained for a few seconds. Then one training
sentence is synthesised by Text2Speech as each speaker (by name), and the spectral distance
(log-mel L1 on the DTW path of :mod:`espkit.evaluate.dtw`) is measured: between the two speakers'
renderings it is far larger than between two renderings of one speaker that differ only in the
prenet-dropout draws, and each rendering is closer to its own speaker's recording than to the
other's.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from espkit.evaluate.dtw import dtw_path, euclidean_cost
from espkit.tasks.tts import TTSTask
from espkit.train.dataset import ESPnetDataset
from espkit.tts.text2speech import Text2Speech

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="the Debian package espeak-ng is missing")

SENTENCES = ["the birch canoe slid", "glue the sheet", "a chicken leg", "rice in round bowls"]
VOICES = {"male": "en-us", "female": "en-us+f3"}
FS = 22050
TTS_CONF = (
    "{embed_dim: 32, eunits: 32, econv_layers: 1, econv_chans: 32, adim: 32, aconv_chans: 4, aconv_filts: 3,"
    " dlayers: 1, dunits: 64, prenet_units: 32, postnet_layers: 1, postnet_chans: 32, reduction_factor: 4,"
    " dropout_rate: 0.1, zoneout_rate: 0.0, guided_attn_loss_lambda: 10.0}"
)
STEPS = 120


def mel_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute log-mel difference ``(T_a, D)`` vs ``(T_b, D)`` on their DTW path."""
    path = dtw_path(euclidean_cost(a, b))
    return float(np.abs(a[path[:, 0]] - b[path[:, 1]]).mean())


def write_corpus(root: Path) -> list:
    """The two voices' recordings as ``wav.scp``, ``text``, ``utt2sid`` and ``tokens.txt``; returns the
    data triples."""
    wavs, texts, sids = [], [], []
    for sid, (speaker, voice) in enumerate(VOICES.items()):
        for i, sentence in enumerate(SENTENCES):
            uid = f"{speaker}_{i}"
            path = root / f"{uid}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-s", "170", "-w", str(path), sentence], check=True)
            wavs.append(f"{uid} {path}\n")
            texts.append(f"{uid} {sentence}\n")
            sids.append(f"{uid} {sid}\n")
    (root / "wav.scp").write_text("".join(wavs))
    (root / "text").write_text("".join(texts))
    (root / "utt2sid").write_text("".join(sids))
    chars = sorted(set("".join(SENTENCES)))
    tokens = ["<blank>", "<unk>"] + ["<space>" if c == " " else c for c in chars] + ["<sos/eos>"]
    (root / "tokens.txt").write_text("\n".join(tokens) + "\n")
    return [(str(root / "wav.scp"), "speech", "sound"), (str(root / "text"), "text", "text"),
            (str(root / "utt2sid"), "sids", "text_int")]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("two_voices")
    data = write_corpus(root)
    argv = ["--output_dir", str(root / "exp"), "--token_list", str(root / "tokens.txt"), "--token_type", "char",
            "--cleaner", "none", "--tts", "tacotron2", "--spk_list", ",".join(VOICES), "--normalize", "none",
            "--feats_extract_conf", f"{{fs: {FS}, n_fft: 512, hop_length: 256, n_mels: 20, fmin: 0, fmax: 8000}}",
            "--tts_conf", TTS_CONF]  # fmt: skip
    for triple in data:
        argv += ["--train_data_path_and_name_and_type", ",".join(triple)]
    args = TTSTask.get_parser().parse_args(argv)
    TTSTask.resolve_args(args)
    assert args.tts_conf["spks"] == 2  # from the speaker list
    torch.manual_seed(0)
    model = TTSTask.build_model(args)
    dataset = ESPnetDataset(data, preprocess=TTSTask.build_preprocess_fn(args, train=True), fs=FS)
    uids, batch = TTSTask.build_collate_fn(args, train=True)([dataset[uid] for uid in dataset.uids])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(STEPS):
        loss, _, _ = model(**batch)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    config = TTSTask.dump_config(args, root / "exp")
    torch.save(model.state_dict(), root / "exp" / "model.pth")
    references = {}
    for speaker in VOICES:
        speech = torch.as_tensor(dataset[f"{speaker}_0"][1]["speech"]).unsqueeze(0)
        feats, _ = model.extract_feats(speech, torch.tensor([speech.size(1)]))
        references[speaker] = feats[0].numpy()
    return {"uids": uids, "batch": batch, "config": config, "model": root / "exp" / "model.pth", "refs": references}


def test_the_batches_carry_speaker_ids(trained):
    sids = trained["batch"]["sids"]
    assert sids.dtype == torch.long and sids.shape == (8, 1)
    expected = [0 if uid.startswith("male") else 1 for uid in trained["uids"]]
    assert sids[:, 0].tolist() == expected


def test_the_trained_model_changes_its_voice_with_sids(trained):
    tts = Text2Speech(trained["config"], trained["model"], vocoder=None, maxlenratio=6.0, seed=0)
    assert tts.speakers.spk_list == ["male", "female"]

    def render(sids, seed):
        tts.random_state.reseed(seed)
        out = tts(SENTENCES[0], sids=sids)
        return out["speaker"], out["feat_gen_denorm"].numpy()

    name, male = render("male", 0)
    assert name == "male"
    assert np.array_equal(render(0, 0)[1], male)  # the id and the name are one speaker
    _, female = render("Female", 0)
    _, male_again = render("male", 1)  # other prenet-dropout draws, same speaker
    _, female_again = render("female", 1)

    between = mel_distance(male, female)
    within = max(mel_distance(male, male_again), mel_distance(female, female_again))
    assert between > 3.0 * within, (between, within)
    refs = trained["refs"]
    assert mel_distance(male, refs["male"]) < 0.8 * mel_distance(male, refs["female"])
    assert mel_distance(female, refs["female"]) < 0.8 * mel_distance(female, refs["male"])
