import json
import logging
import subprocess
import sys

import numpy as np
import pytest

from espkit.bin.tts_evaluate import evaluate, example_uids, get_parser, main, num_letters
from espkit.fileio.sound_scp import write_wav

FS = 8000
EMOTIONS = {"neutral": (150.0, 0.3, 1.0), "happy": (260.0, 0.5, 0.8), "sad": (100.0, 0.1, 1.4)}
ARGS = ["--fs", str(FS), "--n_fft", "256", "--n_shift", "64", "--mcep_order", "16"]


def tone(f0: float, amplitude: float, seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(FS * seconds)) / FS
    vibrato = f0 * (1 + 0.03 * rng.standard_normal()) * (1 + 0.02 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(vibrato) / FS
    wave = sum(np.sin(k * phase) / k for k in range(1, 6))
    return (amplitude * wave / np.abs(wave).max()).astype(np.float32)


def make_set(root, sentences, seed):
    """A data dir with every sentence in every emotion (uids <emotion>_<index>)."""
    root.mkdir(parents=True)
    wav_scp, text, utt2emo = [], [], []
    for i, sentence in enumerate(sentences):
        for j, (emotion, (f0, amp, seconds)) in enumerate(EMOTIONS.items()):
            uid = f"{emotion}_{i:04d}"
            path = root / "wav" / f"{uid}.wav"
            write_wav(path, FS, tone(f0, amp, seconds, seed + 10 * i + j))
            wav_scp.append(f"{uid} {path}\n")
            text.append(f"{uid} {sentence}\n")
            utt2emo.append(f"{uid} {emotion}\n")
    (root / "wav.scp").write_text("".join(wav_scp))
    (root / "text").write_text("".join(text))
    (root / "utt2emo").write_text("".join(utt2emo))
    return root


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    train = make_set(root / "train", ["a b c", "d e f", "g h i", "j k l"], seed=0)
    ref = make_set(root / "ref", ["m n o"], seed=100)
    # the "synthesized" audio is the reference itself, with inference side files
    syn = root / "syn"
    (syn / "wav").mkdir(parents=True)
    (syn / "wav" / "wav.scp").write_text((ref / "wav.scp").read_text())
    uids = [line.split()[0] for line in (ref / "wav.scp").read_text().splitlines()]
    (syn / "focus_rates").mkdir()
    (syn / "focus_rates" / "focus_rates").write_text("".join(f"{u} {0.2 if u.startswith('sad') else 0.9}\n" for u in uids))
    (syn / "durations").mkdir()
    (syn / "durations" / "durations").write_text("".join(f"{u} 3 3 3 3\n" for u in uids))  # 4 tokens
    (syn / "speech_shape").mkdir()
    # maxlenratio 10, reduction factor 1: 40 frames is the limit -> happy did not stop
    (syn / "speech_shape" / "speech_shape").write_text("".join(f"{u} {40 if u.startswith('happy') else 20},80\n" for u in uids))
    cross = {}
    for emotion in EMOTIONS:  # neutral text decoded as each emotion: again the matching reference
        d = root / f"syn_as_{emotion}"
        (d / "wav").mkdir(parents=True)
        (d / "wav" / "wav.scp").write_text(f"neutral_0000 {ref / 'wav' / f'{emotion}_0000.wav'}\n")
        cross[emotion] = d
    return {"train": train, "ref": ref, "syn": syn, "cross": cross, "root": root}


def test_evaluate_identical_audio(dirs, tmp_path):
    out = tmp_path / "eval"
    cross = [arg for e, d in dirs["cross"].items() for arg in ("--cross_emotion_dir", f"{e}={d}")]
    main(["--ref_dir", str(dirs["ref"]), "--syn_dir", str(dirs["syn"]), "--train_dir", str(dirs["train"]),
          "--output_dir", str(out), "--maxlenratio", "10", *cross, *ARGS])
    results = json.loads((out / "results.json").read_text())
    for key in ["mcd_db", "f0_rmse_cents", "vuv_error", "duration_ratio", "attention_failures", "emotion_accuracy",
                "emotion_confusion", "all_emotions_accuracy", "all_emotions_confusion", "emotion_labels"]:
        assert key in results, key
    assert results["num_utts"] == 3 and results["num_missing"] == 0
    assert results["mcd_db"] == pytest.approx(0.0, abs=1e-9)
    assert results["f0_rmse_cents"] == pytest.approx(0.0, abs=1e-6)
    assert results["duration_ratio"] == pytest.approx(1.0)
    failures = results["attention_failures"]
    assert failures["count"] == 2 and failures["low_focus_rate"] == 1 and failures["not_stopped"] == 1
    assert sorted(failures["uids"]) == ["happy_0000", "sad_0000"]
    assert results["emotion_accuracy"] == pytest.approx(1.0)
    assert results["all_emotions_accuracy"] == pytest.approx(1.0)
    assert np.trace(np.array(results["all_emotions_confusion"])) == 3
    assert (out / "emotion_confusion.png").stat().st_size > 0
    assert (out / "all_emotions_confusion.png").exists()
    md = (out / "results.md").read_text()
    assert "| MCD (dB, DTW, c1-c24) | 0.00 |" in md and "Attention failures: happy_0000, sad_0000" in md
    assert len((out / "per_utt.tsv").read_text().splitlines()) == 4


def write_syn_dir(root, lines):
    (root / "wav").mkdir(parents=True)
    (root / "wav" / "wav.scp").write_text("".join(line + "\n" for line in lines))
    return root


def test_missing_synthesis_is_reported_apart_from_attention_failures(dirs, tmp_path, caplog):
    ref_lines = (dirs["ref"] / "wav.scp").read_text().splitlines()
    extra_wav = ref_lines[0].split()[1]
    syn = write_syn_dir(tmp_path / "syn", [ref_lines[0], f"other_0000 {extra_wav}", f"other_0001 {extra_wav}"])
    with caplog.at_level(logging.WARNING, logger="espkit.bin.tts_evaluate"):
        main(["--ref_dir", str(dirs["ref"]), "--syn_dir", str(syn), "--output_dir", str(tmp_path / "out"), *ARGS])
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    evaluated = ref_lines[0].split()[0]
    missing = sorted(line.split()[0] for line in ref_lines[1:])
    assert results["num_utts"] == 3 and results["num_missing"] == 2 and results["missing_uids"] == missing
    assert results["num_not_in_reference"] == 2
    assert results["attention_failures"]["count"] == 0 and results["attention_failures"]["uids"] == []
    assert results["mcd_db"] == pytest.approx(0.0, abs=1e-9)  # the one matched pair is identical
    assert results["emotion_accuracy"] is None  # no --train_dir: no classifier
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("2 of the 3 reference utterances" in w and all(u in w for u in missing) for w in warnings), warnings
    assert any("2 synthesized utterances are not in" in w and "other_0000, other_0001" in w for w in warnings), warnings
    md = (tmp_path / "out" / "results.md").read_text()
    assert "| utterances | 3 (missing: 2, synthesized but not in the reference: 2) |" in md
    assert "| attention failures | 0 (" in md and "Attention failures:" not in md
    assert "Missing (no synthesized utterance): " + ", ".join(missing) in md
    rows = {line.split("\t")[0]: line.split("\t") for line in (tmp_path / "out" / "per_utt.tsv").read_text().splitlines()}
    assert rows["uid"][-2:] == ["attention_failure", "missing"]
    assert rows[evaluated][-2:] == ["False", "False"] and rows[missing[0]][-2:] == ["n/a", "True"]
    assert "other_0000" not in rows


def test_no_shared_uid_is_an_error(dirs, tmp_path):
    ref_lines = (dirs["ref"] / "wav.scp").read_text().splitlines()
    renamed = write_syn_dir(tmp_path / "renamed", ["X" + line for line in ref_lines])
    out = subprocess.run([sys.executable, "-m", "espkit.bin.tts_evaluate", "--ref_dir", str(dirs["ref"]),
                          "--syn_dir", str(renamed), "--output_dir", str(tmp_path / "o"), *ARGS],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    error = out.stderr.strip().splitlines()[-1]
    assert error.startswith("tts_evaluate: error: ") and "share no utterance id" in error
    assert f"{renamed / 'wav' / 'wav.scp'} and {dirs['ref'] / 'wav.scp'}" in error
    assert "synthesized: Xhappy_0000, Xneutral_0000, Xsad_0000" in error
    assert "reference: happy_0000, neutral_0000, sad_0000" in error
    assert not (tmp_path / "o").exists()  # refused before anything is written


def test_cross_emotion_dir_uids_are_checked(dirs, tmp_path, caplog):
    happy_wav = dirs["ref"] / "wav" / "happy_0000.wav"
    common = ["--ref_dir", str(dirs["ref"]), "--syn_dir", str(dirs["syn"]), "--train_dir", str(dirs["train"]),
              "--maxlenratio", "10", *ARGS]
    unrelated = write_syn_dir(tmp_path / "unrelated", [f"Xneutral_0000 {happy_wav}"])
    with pytest.raises(ValueError, match=r"unrelated/wav/wav.scp and .*ref/wav.scp share no utterance id"):
        evaluate(get_parser().parse_args([*common, "--cross_emotion_dir", f"happy={unrelated}",
                                          "--output_dir", str(tmp_path / "o1")]))
    partly = write_syn_dir(tmp_path / "partly", [f"neutral_0000 {happy_wav}", f"Xneutral_0000 {happy_wav}"])
    with caplog.at_level(logging.WARNING, logger="espkit.bin.tts_evaluate"):
        main([*common, "--cross_emotion_dir", f"happy={partly}", "--output_dir", str(tmp_path / "o2")])
    assert any("partly/wav/wav.scp: 1 synthesized utterances are not in" in r.getMessage() and
               "Xneutral_0000" in r.getMessage() for r in caplog.records)
    results = json.loads((tmp_path / "o2" / "results.json").read_text())
    assert np.array(results["all_emotions_confusion"]).sum() == 1  # only neutral_0000 was classified
    assert results["all_emotions_accuracy"] == pytest.approx(1.0)


def test_user_errors(dirs, tmp_path):
    out = subprocess.run([sys.executable, "-m", "espkit.bin.tts_evaluate", "--ref_dir", str(dirs["ref"]),
                          "--syn_dir", str(tmp_path / "nowhere"), "--output_dir", str(tmp_path / "o")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "nowhere/wav/wav.scp: not found" in out.stderr and "Traceback" not in out.stderr
    with pytest.raises(SystemExit):
        main(["--ref_dir", str(dirs["ref"]), "--syn_dir", str(dirs["syn"]), "--train_dir", str(dirs["train"]),
              "--cross_emotion_dir", "angry=x", "--output_dir", str(tmp_path / "o2"), *ARGS])


def test_num_letters():
    assert num_letters("It's 5 o'clock!") == 9 and num_letters("") == 1


def test_example_uids():
    assert example_uids([]) == "none"
    assert example_uids(["b", "a"]) == "a, b"
    assert example_uids(["d", "c", "b", "a"], limit=2) == "a, b, ... (4 in all)"
