"""egs/ljspeech/tts1 and egs/vctk/tts1 on miniature corpora in the published layouts (espeak-ng voices as
speakers): data preparation and its errors, the smoke path end to end, and tts.sh stage 2 on a Kaldi data
directory with segments and pipe entries.

Each recipe is copied (without data/dump/exp) into a temporary egs/ tree; ESPKIT_ROOT points path.sh at
this checkout's tools/venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile
import yaml

from espkit.fileio.read_text import read_2columns_text
from espkit.fileio.resample import resample
from espkit.fileio.sound_scp import read_wav

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "test"))
from helpers.mini_corpora import make_ljspeech, make_segmented_data_dir, make_vctk  # noqa: E402

pytestmark = [
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="the Debian package espeak-ng is not installed"),
    pytest.mark.skipif(not (REPO / "tools" / "venv" / "bin" / "activate").exists(), reason="tools/venv is missing"),
]
ENV = {**os.environ, "ESPKIT_ROOT": str(REPO), "PYTHONPATH": str(REPO)}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpora")
    return {"ljspeech": make_ljspeech(root / "lj"), "vctk": make_vctk(root / "vctk")}


def copy_recipe(dst: Path, name: str) -> Path:
    ignore = shutil.ignore_patterns("data", "dump", "exp", "downloads", "__pycache__")
    for sub in ("TEMPLATE/tts1", f"{name}/tts1"):
        shutil.copytree(REPO / "egs" / sub, dst / "egs" / sub, symlinks=True, ignore=ignore)
    return dst / "egs" / name / "tts1"


def run(cwd: Path, *args: str, timeout: int = 300) -> tuple[subprocess.CompletedProcess, float]:
    start = time.time()
    out = subprocess.run(list(args), cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)
    return out, time.time() - start


def prepare(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "egs" / script), *args], env=ENV, capture_output=True, text=True, timeout=60
    )


def error_line(out: subprocess.CompletedProcess) -> str:
    """The one error line of a failed script (asserting there is exactly one)."""
    assert out.returncode == 1, out.stdout + out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    return lines[0]


def test_recipe_links_are_relative_symlinks():
    for name in ("ljspeech", "vctk", "espeak_emo"):
        recipe = REPO / "egs" / name / "tts1"
        for link in ("tts.sh", "utils", "path.sh"):
            assert os.readlink(recipe / link) == f"../../TEMPLATE/tts1/{link}", (name, link)


# --- LJSpeech ------------------------------------------------------------------------------------------
def test_ljspeech_smoke_end_to_end(corpora, tmp_path):
    recipe = copy_recipe(tmp_path, "ljspeech")
    out, seconds = run(recipe, "./run.sh", "--smoke", "true", "--ljspeech_dir", str(corpora["ljspeech"]))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert seconds < 90, f"the smoke run took {seconds:.0f} s"
    for n in (1, 2, 3, 4, 5, 7, 8, 9):
        assert f"Stage {n}:" in out.stdout, n
    data = recipe / "data" / "smoke"
    uids = {name: list(read_2columns_text(data / name / "wav.scp")) for name in ("tr_no_dev", "dev", "eval1")}
    # ESPnet2's split: sorted by id, the last 4 held out, 2 dev then 2 eval1
    assert uids["dev"] == ["LJ002-0004", "LJ002-0005"] and uids["eval1"] == ["LJ002-0006", "LJ002-0007"]
    assert len(uids["tr_no_dev"]) == 10 and uids["tr_no_dev"][0] == "LJ001-0001"
    metadata = [line.split("|") for line in (corpora["ljspeech"] / "metadata.csv").read_text().splitlines()]
    normalized = {uid: text for uid, _, text in metadata}
    assert read_2columns_text(data / "dev" / "text") == {uid: normalized[uid] for uid in uids["dev"]}
    assert set(read_2columns_text(data / "tr_no_dev" / "utt2spk").values()) == {"LJ"}
    # the corpus is at 22050 Hz mono WAV: stage 2 references it as it is
    dumped = read_2columns_text(recipe / "dump" / "smoke" / "raw" / "dev" / "wav.scp")
    assert dumped["LJ002-0004"] == str(corpora["ljspeech"] / "wavs" / "LJ002-0004.wav")
    model_dir = recipe / "exp" / "smoke" / "tts_train_smoke"
    decoded = read_2columns_text(model_dir / "decode_smoke_valid.loss.best" / "eval1" / "wav" / "wav.scp")
    assert sorted(decoded) == uids["eval1"]
    fs, wav = read_wav(recipe / decoded["LJ002-0006"], dtype="float32")
    assert fs == 22050 and wav.size > 0
    results = json.loads((model_dir / "eval" / "results.json").read_text())
    assert results["num_utts"] == 2 and results["system"]["mcd_db"] > 0
    with zipfile.ZipFile(model_dir / "packed" / "tts_train_smoke_valid.loss.best.zip") as archive:
        assert any(name.endswith("config.yaml") for name in archive.namelist())


def test_ljspeech_data_preparation_errors(corpora, tmp_path):
    script = "ljspeech/tts1/local/prepare_ljspeech.py"
    line = error_line(prepare(script, "--ljspeech_dir", str(tmp_path / "nowhere"), "--out_dir", str(tmp_path)))
    assert "nowhere: no such directory" in line and "https://keithito.com/LJ-Speech-Dataset/" in line
    parent = corpora["ljspeech"].parent
    line = error_line(prepare(script, "--ljspeech_dir", str(parent), "--out_dir", str(tmp_path)))
    assert (
        "no metadata.csv; expected LJSpeech 1.1" in line
        and f"did you mean --ljspeech_dir {corpora['ljspeech']}" in line
    )

    broken = tmp_path / "LJSpeech-1.1"
    shutil.copytree(corpora["ljspeech"], broken)
    lines = (broken / "metadata.csv").read_text().splitlines()
    uid, raw, _ = lines[2].split("|")
    (broken / "metadata.csv").write_text("\n".join(lines[:2] + [f"{uid}|{raw}"] + lines[3:]) + "\n")
    line = error_line(prepare(script, "--ljspeech_dir", str(broken), "--out_dir", str(tmp_path / "data")))
    assert f"{broken / 'metadata.csv'}:3: expected 3 '|'-separated fields" in line and "got 2" in line
    (broken / "metadata.csv").write_text("\n".join(lines) + "\n")
    (broken / "wavs" / f"{uid}.wav").unlink()
    line = error_line(prepare(script, "--ljspeech_dir", str(broken), "--out_dir", str(tmp_path / "data")))
    assert f"metadata.csv:3: id {uid}: {broken / 'wavs' / uid}.wav is missing" in line
    assert not (tmp_path / "data").exists()
    line = error_line(prepare(script, "--ljspeech_dir", str(corpora["ljspeech"]), "--num_dev", "7", "--num_eval", "7"))
    assert "14 utterances are too few for --num_dev 7 + --num_eval 7" in line


def test_ljspeech_max_utts_takes_the_first_ids(corpora, tmp_path):
    out = prepare(
        "ljspeech/tts1/local/prepare_ljspeech.py",
        *("--ljspeech_dir", str(corpora["ljspeech"]), "--out_dir", str(tmp_path)),
        *("--max_utts", "6", "--num_dev", "1", "--num_eval", "1"),
    )
    assert out.returncode == 0, out.stderr
    assert list(read_2columns_text(tmp_path / "tr_no_dev" / "wav.scp")) == [f"LJ001-000{n}" for n in range(1, 5)]
    assert list(read_2columns_text(tmp_path / "dev" / "text")) == ["LJ001-0005"]
    assert list(read_2columns_text(tmp_path / "eval1" / "text")) == ["LJ001-0006"]
    assert "6 of 14 utterances -> tr_no_dev 4, dev 1, eval1 1" in out.stderr


# --- VCTK ----------------------------------------------------------------------------------------------
def test_vctk_smoke_end_to_end(corpora, tmp_path):
    recipe = copy_recipe(tmp_path, "vctk")
    # the recipe's default: --use_sid true (utt2spk -> sids, the training speakers' list in the config)
    args = ("--smoke", "true", "--vctk_dir", str(corpora["vctk"]))
    out, seconds = run(recipe, "./run.sh", *args)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert seconds < 90, f"the smoke run took {seconds:.0f} s"
    data = recipe / "data" / "smoke"
    # per speaker, the last 2 of the sorted utterances held out: eval1 first, then dev
    assert list(read_2columns_text(data / "eval1" / "wav.scp")) == ["p225_006", "p226_006"]
    assert list(read_2columns_text(data / "dev" / "wav.scp")) == ["p225_007", "p226_007"]
    train = read_2columns_text(data / "tr_no_dev" / "utt2spk")
    assert sorted(train) == [f"p225_{n:03d}" for n in range(1, 6)] + ["p226_001", "p226_002", "p226_004", "p226_005"]
    assert read_2columns_text(data / "tr_no_dev" / "spk2utt")["p226"] == "p226_001 p226_002 p226_004 p226_005"
    log = (recipe / "exp" / "smoke" / "logs" / "stage1_data.log").read_text()
    assert "2 speakers, 13 utterances" in log
    assert "skipped 1 utterance(s) without a text file (p226_003) and 1 speaker(s) without texts (p315)" in log
    # stage 2 resampled the 48 kHz FLAC to 22050 Hz WAV
    flac = corpora["vctk"] / "wav48_silence_trimmed" / "p225" / "p225_006_mic1.flac"
    dumped = read_2columns_text(recipe / "dump" / "smoke" / "raw" / "eval1" / "wav.scp")["p225_006"]
    assert dumped.endswith(".wav")
    fs, wav = read_wav(dumped, dtype="float64")
    _, original = read_wav(flac, dtype="float64")
    expected = resample(original, 48000, 22050)
    assert fs == 22050 and wav.shape == expected.shape
    np.testing.assert_allclose(wav, expected, atol=2 / 32768)
    assert (recipe / "dump" / "smoke" / "raw" / "tr_no_dev" / "utt2spk").exists()
    model_dir = recipe / "exp" / "smoke" / "tts_train_smoke"
    decoded = read_2columns_text(model_dir / "decode_smoke_valid.loss.best" / "eval1" / "wav" / "wav.scp")
    assert sorted(decoded) == ["p225_006", "p226_006"]
    assert (model_dir / "eval" / "results.json").exists()
    # a multi-speaker model: the speaker list is the training set's, and the model has one sid row per speaker
    assert (recipe / "dump" / "smoke" / "raw" / "tr_no_dev" / "spk_list").read_text().split() == ["p225", "p226"]
    config = yaml.safe_load((model_dir / "config.yaml").read_text())
    assert config["spk_list"] == ["p225", "p226"] and config["tts_conf"]["spks"] == 2
    sids = read_2columns_text(recipe / "dump" / "smoke" / "raw" / "eval1" / "utt2sid")
    assert sids == {"p225_006": "0", "p226_006": "1"}


def test_vctk_data_preparation_errors(corpora, tmp_path):
    script = "vctk/tts1/local/prepare_vctk.py"
    line = error_line(prepare(script, "--vctk_dir", str(tmp_path / "nowhere"), "--out_dir", str(tmp_path)))
    assert "nowhere: no such directory" in line and "https://datashare.ed.ac.uk/handle/10283/3443" in line
    line = error_line(prepare(script, "--vctk_dir", str(corpora["vctk"].parent), "--out_dir", str(tmp_path)))
    assert "no wav48_silence_trimmed/; expected VCTK 0.92" in line and "did you mean --vctk_dir" in line

    broken = tmp_path / "VCTK-Corpus-0.92"
    shutil.copytree(corpora["vctk"], broken)
    (broken / "wav48_silence_trimmed" / "p999").mkdir()
    for flac in (broken / "wav48_silence_trimmed" / "p226").iterdir():
        shutil.copy(flac, broken / "wav48_silence_trimmed" / "p999" / flac.name.replace("p226", "p999"))
    line = error_line(prepare(script, "--vctk_dir", str(broken), "--out_dir", str(tmp_path / "data")))
    assert f"{broken / 'wav48_silence_trimmed' / 'p999'}: speaker p999 has no texts" in line
    assert "lacks texts only for p315" in line
    (broken / "txt" / "p999").mkdir()
    for flac in (broken / "wav48_silence_trimmed" / "p999").iterdir():
        flac.rename(flac.with_name(flac.name.replace("_mic1", "_mic2")))
    line = error_line(prepare(script, "--vctk_dir", str(broken), "--out_dir", str(tmp_path / "data")))
    assert "p999: no p999_<nnn>_mic1.flac files" in line
    assert not (tmp_path / "data").exists()


def test_vctk_max_speakers_and_utterances(corpora, tmp_path):
    out = prepare(
        "vctk/tts1/local/prepare_vctk.py",
        *("--vctk_dir", str(corpora["vctk"]), "--out_dir", str(tmp_path)),
        *("--max_speakers", "1", "--max_utts_per_speaker", "4", "--num_dev", "1", "--num_eval", "1"),
    )
    assert out.returncode == 0, out.stderr
    assert read_2columns_text(tmp_path / "tr_no_dev" / "spk2utt") == {"p225": "p225_001 p225_002"}
    assert list(read_2columns_text(tmp_path / "eval1" / "text")) == ["p225_003"]
    assert list(read_2columns_text(tmp_path / "dev" / "text")) == ["p225_004"]


# --- stage 2 on segments and pipe entries -----------------------------------------------------------
def test_stage2_writes_segments_and_pipe_entries_resampled(tmp_path):
    mini = make_segmented_data_dir(tmp_path / "corpus", fs_out=48000)
    recipe = copy_recipe(tmp_path, "ljspeech")
    out, _ = run(
        recipe,
        "./tts.sh",
        *("--stage", "2", "--stop_stage", "2", "--datadir", str(mini["data"].parent), "--dumpdir", "dump"),
        *("--train_set", "data", "--valid_set", "data", "--train_config", "conf/train.yaml", "--fs", "24000"),
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    dumped = read_2columns_text(recipe / "dump" / "raw" / "data" / "wav.scp")
    assert sorted(dumped) == sorted(mini["utterances"])  # one entry per segment
    for uid, utterance in mini["utterances"].items():
        fs, wav = read_wav(dumped[uid], dtype="float64")
        expected = resample(utterance, 48000, 24000)
        assert fs == 24000 and wav.shape == expected.shape, uid
        np.testing.assert_allclose(wav, expected, atol=2 / 32768, err_msg=uid)
    log = "".join(p.read_text() for p in (recipe / "dump" / "raw" / "data" / "logs").glob("format.*.log"))
    assert "3 segment" in log and "3 pipe" in log and "resampled from 48000 Hz" in log


FORMAT = REPO / "egs" / "TEMPLATE" / "tts1" / "utils" / "format_wav_scp.py"


def format_wav_scp(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(FORMAT), *map(str, args)], env=ENV, capture_output=True, text=True)


def test_format_wav_scp_references_mono_wav_at_fs_and_writes_the_rest(tmp_path):
    t = np.arange(8000) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    soundfile.write(tmp_path / "ok.wav", tone, 16000, subtype="PCM_16")
    soundfile.write(tmp_path / "ok.flac", tone, 16000, subtype="PCM_16")
    soundfile.write(tmp_path / "stereo.wav", np.stack([tone, tone], axis=1), 16000, subtype="PCM_16")
    soundfile.write(tmp_path / "24bit.wav", tone.astype(np.int32) << 16, 16000, subtype="PCM_24")
    scp = tmp_path / "wav.scp"
    scp.write_text(
        f"a {tmp_path / 'ok.wav'}\nb {tmp_path / 'ok.flac'}\nc {tmp_path / 'stereo.wav'}\nd {tmp_path / '24bit.wav'}\n"
    )
    out = format_wav_scp("--fs", 16000, scp, tmp_path / "out.scp", tmp_path / "out")
    assert out.returncode == 0, out.stderr
    written = read_2columns_text(tmp_path / "out.scp")
    assert written["a"] == str(tmp_path / "ok.wav") and written["d"] == str(tmp_path / "24bit.wav")
    assert written["b"] == str(tmp_path / "out" / "b.wav") and written["c"] == str(tmp_path / "out" / "c.wav")
    for uid in "abcd":
        fs, wav = read_wav(written[uid])
        assert fs == 16000 and wav.ndim == 1, uid
        np.testing.assert_array_equal(wav if wav.dtype == np.int16 else wav >> 16, tone, err_msg=uid)
    assert (
        "4 utterances, 2 referenced as they are, 2 written" in out.stderr and "1 downmixed, 1 from FLAC" in out.stderr
    )


def test_format_wav_scp_errors_are_one_line_naming_the_uid(tmp_path):
    mini = make_segmented_data_dir(tmp_path / "corpus", utts_per_recording=1)
    data = mini["data"]
    recordings = (data / "wav.scp").read_text()
    cases = {
        "failing pipe": (
            "rec1 cat /nonexistent/rec1.flac |\n",
            "rec1_utt1 rec1 0 0.5\n",
            "uid 'rec1_utt1'",
            "cat: /nonexistent/rec1.flac: No such file",
        ),
        "segment past the end": (
            recordings,
            "rec1_utt1 rec1 0.5 99\n",
            "uid 'rec1_utt1' of",
            "the segment ends at 99.000 s",
        ),
    }
    for name, (wav_scp, segments, who, why) in cases.items():
        (data / "wav.scp").write_text(wav_scp)
        (data / "segments").write_text(segments)
        out = format_wav_scp(
            "--fs", 22050, "--segments", data / "segments", data / "wav.scp", tmp_path / "o.scp", tmp_path / "o"
        )
        line = error_line(out)
        assert line.startswith("format_wav_scp.py: error: ") and who in line and why in line, (name, line)
    flac = tmp_path / "corpus" / "recordings" / "rec1.flac"
    cut = tmp_path / "cut.flac"
    cut.write_bytes(flac.read_bytes()[:3000])
    (tmp_path / "cut.scp").write_text(f"utt9 {cut}\n")
    line = error_line(format_wav_scp("--fs", 22050, tmp_path / "cut.scp", tmp_path / "o.scp", tmp_path / "o"))
    assert f"{cut} (uid 'utt9' of {tmp_path / 'cut.scp'}): cannot read as audio" in line
