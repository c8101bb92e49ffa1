"""Multi-speaker recipes: utils/make_speaker_ids.py (utt2spk -> spk_list + utt2sid) and tts.sh --use_sid
true on a tiny two-speaker corpus (stages 2-5 and 7: speaker ids in the dump, --spk_list in the model's
config, each test utterance decoded as its speaker), plus the one-line error for a speaker that only a
test set has."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from tiny_corpus import make_tiny_corpus

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "egs" / "TEMPLATE" / "tts1"
SPEAKER_IDS = TEMPLATE / "utils" / "make_speaker_ids.py"


def write(path: Path, lines) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def make_ids(tmp_path, *sets):
    cmd = [sys.executable, str(SPEAKER_IDS), "--train_utt2spk", str(tmp_path / "train.utt2spk")]
    cmd += ["--spk_list", str(tmp_path / "spk_list")]
    for name in sets:
        cmd += ["--set", f"{tmp_path / f'{name}.utt2spk'},{tmp_path / f'{name}.scp'},{tmp_path / f'{name}.utt2sid'}"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def test_make_speaker_ids_writes_sorted_speakers_and_ids(tmp_path):
    write(tmp_path / "train.utt2spk", ["u1 p226", "u2 p225", "u3 p226", "u4 p10"])
    write(tmp_path / "train.scp", ["u3 a.wav", "u1 b.wav", "u2 c.wav", "u4 d.wav"])
    write(tmp_path / "dev.utt2spk", ["d1 p225", "d2 p10", "d3 p226"])
    write(tmp_path / "dev.scp", ["d2 x.wav", "d1 y.wav"])  # d3: not dumped, not written
    out = make_ids(tmp_path, "train", "dev")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "spk_list").read_text() == "p10\np225\np226\n"
    assert (tmp_path / "train.utt2sid").read_text() == "u3 2\nu1 2\nu2 1\nu4 0\n"  # wav.scp's order
    assert (tmp_path / "dev.utt2sid").read_text() == "d2 0\nd1 1\n"


@pytest.mark.parametrize(
    "dev_utt2spk, message",
    [
        (["d1 p225", "d2 p999"], "dev.utt2spk:2: uid d2: speaker p999 is not a speaker of the training set"),
        (["d1 p225"], r"dev.utt2spk: 1 utterance\(s\) of .*dev.scp have no speaker, e.g. d2"),
        (["d1 p225", "d2"], "dev.utt2spk:2: expected '<uid> <speaker>', got d2"),
    ],
)
def test_make_speaker_ids_errors_are_one_line(tmp_path, dev_utt2spk, message):
    write(tmp_path / "train.utt2spk", ["u1 p225"])
    write(tmp_path / "train.scp", ["u1 a.wav"])
    write(tmp_path / "dev.utt2spk", dev_utt2spk)
    write(tmp_path / "dev.scp", ["d1 a.wav", "d2 b.wav"])
    out = make_ids(tmp_path, "train", "dev")
    assert out.returncode == 1 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("make_speaker_ids.py: error: "), out.stderr
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / "spk_list").exists() and not (tmp_path / "dev.utt2sid").exists()


TRAIN_CONFIG = {
    "tts": "tacotron2",
    "tts_conf": {"embed_dim": 8, "eunits": 8, "econv_layers": 1, "econv_chans": 8, "adim": 8, "aconv_chans": 4,
                 "aconv_filts": 3, "dlayers": 1, "dunits": 16, "prenet_units": 8, "postnet_layers": 1,
                 "postnet_chans": 8, "reduction_factor": 2},
    "feats_extract_conf": {"n_mels": 8, "fmin": 0, "fmax": 4000},
    "batch_type": "numel", "batch_bins": 20000, "max_epoch": 1, "num_workers": 0, "num_att_plot": 0, "seed": 0,
}  # fmt: skip


def make_recipe(root: Path, dev_speakers=("spkA", "spkB"), spembs_sets=("train", "dev", "eval")) -> Path:
    """A recipe dir (tts.sh and utils linked from the template) whose data/ holds a tiny two-speaker corpus
    with speaker vectors (``spembs.scp``, 4 values) in ``spembs_sets``."""
    recipe = root / "recipe"
    recipe.mkdir(parents=True)
    for name in ("tts.sh", "utils"):
        os.symlink(TEMPLATE / name, recipe / name)
    (recipe / "path.sh").write_text(f"export PYTHONPATH={REPO}\nexport OMP_NUM_THREADS=1\n")
    for dset, num, seed in (("train", 8, 0), ("dev", 2, 1), ("eval", 2, 2)):
        data = make_tiny_corpus(recipe / "data" / dset, num_utts=num, seed=seed)
        data["utt2emo"].unlink()
        uids = [line.split()[0] for line in data["text"].read_text().splitlines()]
        speakers = ("spkA", "spkB") if dset == "train" else dev_speakers
        write(recipe / "data" / dset / "utt2spk", [f"{uid} {speakers[i % 2]}" for i, uid in enumerate(uids)])
        if dset in spembs_sets:
            vectors = recipe / "data" / dset / "spembs"
            vectors.mkdir()
            for i, uid in enumerate(uids):
                np.save(vectors / f"{uid}.npy", np.eye(4, dtype=np.float32)[i % 2])
            write(recipe / "data" / dset / "spembs.scp", [f"{uid} {vectors / uid}.npy" for uid in uids])
    (recipe / "conf").mkdir()
    (recipe / "conf" / "train.yaml").write_text(yaml.safe_dump(TRAIN_CONFIG))
    return recipe


def run_recipe(recipe: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = ["./tts.sh", "--train_set", "train", "--valid_set", "dev", "--test_sets", "eval", "--train_config",
           "conf/train.yaml", "--fs", "8000", "--n_fft", "256", "--n_shift", "64", "--token_type", "char",
           "--cleaner", "none", "--python", sys.executable, "--nj", "1", "--inference_nj", "1", "--use_sid", "true",
           "--inference_args", "--minlenratio 1 --maxlenratio 2", *extra]  # fmt: skip
    return subprocess.run(cmd, cwd=recipe, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_tts_sh_use_sid_and_spembs_train_and_decode_each_speaker(tmp_path):
    recipe = make_recipe(tmp_path)
    out = run_recipe(recipe, "--stage", "2", "--stop_stage", "7", "--use_spembs", "true", "--train_args",
                     "--tts_conf spk_embed_dim=4")  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    dump = recipe / "dump" / "raw"
    assert (dump / "train" / "spk_list").read_text() == "spkA\nspkB\n"
    for dset in ("train", "dev", "eval"):
        utt2sid = dict(line.split() for line in (dump / dset / "utt2sid").read_text().splitlines())
        utt2spk = dict(line.split() for line in (recipe / "data" / dset / "utt2spk").read_text().splitlines())
        assert utt2sid == {uid: str("spkA spkB".split().index(spk)) for uid, spk in utt2spk.items()}
    exp = recipe / "exp" / "tts_train"
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["spk_list"] == ["spkA", "spkB"] and config["tts_conf"]["spks"] == 2
    assert config["tts_conf"]["spk_embed_dim"] == 4
    train_data = [",".join(entry) for entry in config["train_data_path_and_name_and_type"]]
    assert any("utt2sid,sids,text_int" in entry for entry in train_data)
    assert any("spembs.scp,spembs,npy" in entry for entry in train_data)
    decoded = exp / "decode_valid.loss.best" / "eval"
    log = (decoded / "logs" / "inference.log").read_text()
    assert "utt2sid,sids,text_int" in log and "spembs.scp,spembs,npy" in log
    feats = (decoded / "norm" / "feats.scp").read_text().splitlines()
    assert len(feats) == 2 and all(np.load(recipe / line.split()[1]).shape[1] == 8 for line in feats)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_tts_sh_refuses_unknown_speakers_and_missing_speaker_vectors(tmp_path):
    recipe = make_recipe(tmp_path, dev_speakers=("spkA", "spkC"))
    out = run_recipe(recipe, "--stage", "2", "--stop_stage", "2")
    assert out.returncode == 1
    assert "dev/utt2spk:2: uid happy_0001: speaker spkC is not a speaker of the training set" in out.stderr
    assert "ERROR: --use_sid true: the speakers of data cannot be made into speaker ids" in out.stdout
    recipe = make_recipe(tmp_path / "no_spembs", spembs_sets=("train", "dev"))
    out = run_recipe(recipe, "--stage", "2", "--stop_stage", "2", "--use_spembs", "true")
    assert out.returncode == 1
    assert "ERROR: --use_spembs true needs data/eval/spembs.scp: one '<uid> <speaker vector .npy>' line" in out.stdout
