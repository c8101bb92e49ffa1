import json
import logging
import subprocess
import sys

import numpy as np
import pytest
from tiny_vocoder import make_tiny_vocoder

from espkit.bin.tts_evaluate import evaluate, example_uids, get_parser, load_audio, main, num_letters
from espkit.fileio.sound_scp import write_wav

FS = 8000
EMOTIONS = {"neutral": (150.0, 0.3, 1.0), "happy": (260.0, 0.5, 0.8), "sad": (100.0, 0.1, 1.4)}
ARGS = ["--fs", str(FS), "--n_fft", "256", "--n_shift", "64", "--mcep_order", "16"]
TRAIN_CONFIG = """
tts_conf: {reduction_factor: 1}
feats_extract: fbank
feats_extract_conf: {fs: 8000, n_fft: 256, hop_length: 64, n_mels: 40, fmin: 0, fmax: 4000}
emo_list: [neutral, happy, sad]
"""


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
    (syn / "focus_rates" / "focus_rates").write_text(
        "".join(f"{u} {0.2 if u.startswith('sad') else 0.9}\n" for u in uids)
    )
    (syn / "durations").mkdir()
    (syn / "durations" / "durations").write_text("".join(f"{u} 3 3 3 3\n" for u in uids))  # 4 tokens
    (syn / "speech_shape").mkdir()
    # maxlenratio 10, reduction factor 1: 40 frames is the limit -> happy did not stop
    (syn / "speech_shape" / "speech_shape").write_text(
        "".join(f"{u} {40 if u.startswith('happy') else 20},80\n" for u in uids)
    )
    cross, driven = {}, {}
    for emotion in EMOTIONS:  # neutral text decoded as each emotion: again the matching reference
        d = root / f"syn_as_{emotion}"
        (d / "wav").mkdir(parents=True)
        (d / "wav" / "wav.scp").write_text(f"neutral_0000 {ref / 'wav' / f'{emotion}_0000.wav'}\n")
        cross[emotion] = d
        # "driven by a reference of this emotion": a sad rendering whatever the reference (a model that
        # ignores its reference), so only the sad one is right
        d = root / f"syn_ref_{emotion}"
        (d / "wav").mkdir(parents=True)
        (d / "wav" / "wav.scp").write_text(f"neutral_0000 {ref / 'wav' / 'sad_0000.wav'}\n")
        driven[emotion] = d
    config = root / "config.yaml"
    config.write_text(TRAIN_CONFIG)
    return {"train": train, "ref": ref, "syn": syn, "cross": cross, "driven": driven, "config": config, "root": root}


def test_evaluate_identical_audio(dirs, tmp_path):
    out = tmp_path / "eval"
    cross = [arg for e, d in dirs["cross"].items() for arg in ("--cross_emotion_dir", f"{e}={d}")]
    driven = [arg for e, d in dirs["driven"].items() for arg in ("--ref_emotion_dir", f"{e}={d}")]
    main(
        [
            "--ref_dir",
            str(dirs["ref"]),
            "--syn_dir",
            str(dirs["syn"]),
            "--train_dir",
            str(dirs["train"]),
            "--output_dir",
            str(out),
            "--maxlenratio",
            "10",
            "--train_config",
            str(dirs["config"]),
            *cross,
            *driven,
            *ARGS,
        ]
    )
    results = json.loads((out / "results.json").read_text())
    assert results["num_utts"] == 3 and results["num_missing"] == 0
    system, reference, copy = results["system"], results["reference"], results["copy_synthesis"]
    for key in [
        "mcd_db",
        "f0_rmse_cents",
        "fpe_cents",
        "f0_rmse_coverage",
        "vuv_error",
        "gpe",
        "ffe",
        "voiced_ratio",
        "periodicity",
        "duration_ratio",
        "emotion_accuracy",
        "emotion_confusion",
    ]:
        assert key in system and key in copy, key
    assert system["mcd_db"] == pytest.approx(0.0, abs=1e-9)
    assert system["f0_rmse_cents"] == pytest.approx(0.0, abs=1e-6) and system["f0_rmse_coverage"] == 1.0
    assert system["ffe"] == 0.0 and system["gpe"] == 0.0 and system["vuv_error"] == 0.0
    assert system["duration_ratio"] == pytest.approx(1.0)
    assert system["voiced_ratio"] == pytest.approx(reference["voiced_ratio"]) and reference["voiced_ratio"] > 0.9
    assert system["periodicity"] == reference["periodicity"] and reference["periodicity"]["p50"] > 0.9
    # the copy-synthesis row: Griffin-Lim of the references' own features, computed in this run
    assert copy["num_utts"] == 3 and copy["mcd_db"] > 0.0 and copy["ffe"] is not None
    assert len((out / "copy_synthesis" / "wav" / "wav.scp").read_text().splitlines()) == 3
    assert len((out / "per_utt_copy_synthesis.tsv").read_text().splitlines()) == 4
    failures = results["attention_failures"]
    assert failures["count"] == 2 and failures["low_focus_rate"] == 1 and failures["not_stopped"] == 1
    assert sorted(failures["uids"]) == ["happy_0000", "sad_0000"]
    assert system["emotion_accuracy"] == pytest.approx(1.0) and reference["emotion_accuracy"] == pytest.approx(1.0)
    assert results["all_emotions_accuracy"] == pytest.approx(1.0)
    assert np.trace(np.array(results["all_emotions_confusion"])) == 3
    assert results["reference_driven_accuracy"] == pytest.approx(1 / 3)  # only "sad" was right
    assert results["f0_tracker"]["yin_threshold"] == 0.45
    for name in ("emotion_confusion", "all_emotions_confusion", "reference_driven_confusion", "periodicity"):
        assert (out / f"{name}.png").stat().st_size > 0, name
    md = (out / "results.md").read_text()
    assert "| metric | reference | copy-synthesis (Griffin-Lim, 32 iterations) | system |" in md
    assert results["copy_synthesis_griffin_lim"] is None and results["vocoder_vs_griffin_lim"] is None
    assert "| MCD (dB, DTW, c1-c24) | — | " in md and md.count(" | 0.00 |") >= 1
    assert "| driven by a reference utterance of each emotion from another sentence | 0.333 |" in md
    assert "Attention failures: happy_0000, sad_0000" in md and "barely voiced" not in md
    assert len((out / "per_utt.tsv").read_text().splitlines()) == 4


def test_unvoiced_synthesis_is_reported_as_such(dirs, tmp_path):
    """A system whose speech has no voiced frame: coverage 0, FFE = the reference's voiced share, no NaN."""
    rng = np.random.default_rng(0)
    lines = []
    for line in (dirs["ref"] / "wav.scp").read_text().splitlines():
        uid = line.split()[0]
        path = tmp_path / "noise" / f"{uid}.wav"
        write_wav(path, FS, (0.3 * rng.standard_normal(FS)).astype(np.float32))
        lines.append(f"{uid} {path}")
    syn = write_syn_dir(tmp_path / "syn", lines)
    out = tmp_path / "out"
    main(
        [
            "--ref_dir",
            str(dirs["ref"]),
            "--syn_dir",
            str(syn),
            "--output_dir",
            str(out),
            "--copy_synthesis",
            "false",
            *ARGS,
        ]
    )
    text = (out / "results.json").read_text()
    assert "NaN" not in text
    system = json.loads(text)["system"]
    assert system["voiced_ratio"] < 0.05 and system["f0_rmse_coverage"] < 0.05
    if system["f0_rmse_coverage"] == 0:
        assert system["f0_rmse_cents"] is None and "coverage 0" in system["null_reasons"]["f0_rmse_cents"]
    assert system["ffe"] == pytest.approx(system["ref_voiced_share"], abs=0.05)
    md = (out / "results.md").read_text()
    assert "**The system's speech is barely voiced**" in md
    assert "copy-synthesis (not computed)" in md


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
    assert results["system"]["mcd_db"] == pytest.approx(0.0, abs=1e-9)  # the one matched pair is identical
    assert "emotion_accuracy" not in results["system"]  # no --train_dir: no classifier
    assert results["copy_synthesis"] is None  # no --train_config
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("2 of the 3 reference utterances" in w and all(u in w for u in missing) for w in warnings), warnings
    assert any("2 synthesized utterances are not in" in w and "other_0000, other_0001" in w for w in warnings), warnings
    md = (tmp_path / "out" / "results.md").read_text()
    assert "Utterances: 3 (missing: 2, synthesized but not in the reference: 2)" in md
    assert "| attention failures | 0 (" in md and "Attention failures:" not in md
    assert "Missing (no synthesized utterance): " + ", ".join(missing) in md
    rows = {
        line.split("\t")[0]: line.split("\t") for line in (tmp_path / "out" / "per_utt.tsv").read_text().splitlines()
    }
    assert rows["uid"][-2:] == ["attention_failure", "missing"]
    assert rows[evaluated][-2:] == ["False", "False"] and rows[missing[0]][-2:] == ["n/a", "True"]
    assert "other_0000" not in rows


def test_no_shared_uid_is_an_error(dirs, tmp_path):
    ref_lines = (dirs["ref"] / "wav.scp").read_text().splitlines()
    renamed = write_syn_dir(tmp_path / "renamed", ["X" + line for line in ref_lines])
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "espkit.bin.tts_evaluate",
            "--ref_dir",
            str(dirs["ref"]),
            "--syn_dir",
            str(renamed),
            "--output_dir",
            str(tmp_path / "o"),
            *ARGS,
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    error = out.stderr.strip().splitlines()[-1]
    assert error.startswith("tts_evaluate: error: ") and "share no utterance id" in error
    assert f"{renamed / 'wav' / 'wav.scp'} and {dirs['ref'] / 'wav.scp'}" in error
    assert "synthesized: Xhappy_0000, Xneutral_0000, Xsad_0000" in error
    assert "reference: happy_0000, neutral_0000, sad_0000" in error
    assert not (tmp_path / "o").exists()  # refused before anything is written


def test_cross_emotion_dir_uids_are_checked(dirs, tmp_path, caplog):
    happy_wav = dirs["ref"] / "wav" / "happy_0000.wav"
    common = [
        "--ref_dir",
        str(dirs["ref"]),
        "--syn_dir",
        str(dirs["syn"]),
        "--train_dir",
        str(dirs["train"]),
        "--maxlenratio",
        "10",
        *ARGS,
    ]
    unrelated = write_syn_dir(tmp_path / "unrelated", [f"Xneutral_0000 {happy_wav}"])
    with pytest.raises(ValueError, match=r"unrelated/wav/wav.scp and .*ref/wav.scp share no utterance id"):
        evaluate(
            get_parser().parse_args(
                [*common, "--cross_emotion_dir", f"happy={unrelated}", "--output_dir", str(tmp_path / "o1")]
            )
        )
    partly = write_syn_dir(tmp_path / "partly", [f"neutral_0000 {happy_wav}", f"Xneutral_0000 {happy_wav}"])
    with caplog.at_level(logging.WARNING, logger="espkit.bin.tts_evaluate"):
        main([*common, "--cross_emotion_dir", f"happy={partly}", "--output_dir", str(tmp_path / "o2")])
    assert any(
        "partly/wav/wav.scp: 1 synthesized utterances are not in" in r.getMessage()
        and "Xneutral_0000" in r.getMessage()
        for r in caplog.records
    )
    results = json.loads((tmp_path / "o2" / "results.json").read_text())
    assert np.array(results["all_emotions_confusion"]).sum() == 1  # only neutral_0000 was classified
    assert results["all_emotions_accuracy"] == pytest.approx(1.0)


def test_user_errors(dirs, tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "espkit.bin.tts_evaluate",
            "--ref_dir",
            str(dirs["ref"]),
            "--syn_dir",
            str(tmp_path / "nowhere"),
            "--output_dir",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "nowhere/wav/wav.scp: not found" in out.stderr and "Traceback" not in out.stderr
    with pytest.raises(SystemExit):
        main(
            [
                "--ref_dir",
                str(dirs["ref"]),
                "--syn_dir",
                str(dirs["syn"]),
                "--train_dir",
                str(dirs["train"]),
                "--cross_emotion_dir",
                "angry=x",
                "--output_dir",
                str(tmp_path / "o2"),
                *ARGS,
            ]
        )
    with pytest.raises(ValueError, match="--ref_emotion_dir 'happy': expected EMOTION=DIR"):
        evaluate(
            get_parser().parse_args(
                [
                    "--ref_dir",
                    str(dirs["ref"]),
                    "--syn_dir",
                    str(dirs["syn"]),
                    "--train_dir",
                    str(dirs["train"]),
                    "--ref_emotion_dir",
                    "happy",
                    "--output_dir",
                    str(tmp_path / "o3"),
                    *ARGS,
                ]
            )
        )
    wrong_rate = tmp_path / "config16k.yaml"
    wrong_rate.write_text(TRAIN_CONFIG.replace("fs: 8000", "fs: 16000"))
    with pytest.raises(ValueError, match="the features are at 16000 Hz but --fs is 8000"):
        evaluate(
            get_parser().parse_args(
                [
                    "--ref_dir",
                    str(dirs["ref"]),
                    "--syn_dir",
                    str(dirs["syn"]),
                    "--train_config",
                    str(wrong_rate),
                    "--output_dir",
                    str(tmp_path / "o4"),
                    *ARGS,
                ]
            )
        )


def test_num_letters():
    assert num_letters("It's 5 o'clock!") == 9 and num_letters("") == 1


def test_example_uids():
    assert example_uids([]) == "none"
    assert example_uids(["b", "a"]) == "a, b"
    assert example_uids(["d", "c", "b", "a"], limit=2) == "a, b, ... (4 in all)"


def test_copy_synthesis_through_a_trained_vocoder_keeps_a_griffin_lim_row(dirs, tmp_path, capsys):
    """With --vocoder_file: the vocoder's copy-synthesis row, Griffin-Lim's beside it, both named in results.md."""
    _, weights = make_tiny_vocoder(tmp_path / "vocoder", feats={"n_mels": 40})
    out = tmp_path / "eval"
    common = ["--ref_dir", str(dirs["ref"]), "--syn_dir", str(dirs["syn"]), "--train_config", str(dirs["config"])]
    main([*common, "--output_dir", str(out), "--vocoder_file", str(weights), *ARGS])
    results = json.loads((out / "results.json").read_text())
    vocoder, griffin_lim = results["copy_synthesis"], results["copy_synthesis_griffin_lim"]
    assert vocoder["vocoder"] == f"HiFiGANGenerator, {weights}"
    assert griffin_lim["vocoder"] == "Griffin-Lim, 32 iterations"
    assert vocoder["num_utts"] == griffin_lim["num_utts"] == 3 and vocoder["mcd_db"] != griffin_lim["mcd_db"]
    gain = results["vocoder_vs_griffin_lim"]
    assert gain["mcd_db"] == pytest.approx(1 - vocoder["mcd_db"] / griffin_lim["mcd_db"])
    for name in ("copy_synthesis", "copy_synthesis_griffin_lim"):
        assert len((out / name / "wav" / "wav.scp").read_text().splitlines()) == 3
        assert len((out / f"per_utt_{name}.tsv").read_text().splitlines()) == 4
    ref_wav = dict(line.split() for line in (dirs["ref"] / "wav.scp").read_text().splitlines())["happy_0000"]
    copy_scp = (out / "copy_synthesis" / "wav" / "wav.scp").read_text().splitlines()
    copy_wav = dict(line.split() for line in copy_scp)["happy_0000"]
    ref_len, copy_len = len(load_audio(ref_wav, FS)), len(load_audio(copy_wav, FS))
    assert copy_len == (ref_len // 64 + 1) * 64  # frames x hop: the vocoder's, not Griffin-Lim's length
    md = (out / "results.md").read_text()
    assert (
        f"| metric | reference | copy-synthesis (Griffin-Lim, 32 iterations) | copy-synthesis (HiFiGANGenerator, "
        f"{weights}) | system |" in md
    )
    assert "The trained vocoder against Griffin-Lim, both on the references' own features" in md
    _, other = make_tiny_vocoder(tmp_path / "other")  # 8 mel bands, the model's are 40
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main([*common, "--output_dir", str(tmp_path / "o2"), "--vocoder_file", str(other), *ARGS])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 1
    assert f"--train_config {dirs['config']}: n_mels 40 vs 8 (TTS vs vocoder)" in err[0]
