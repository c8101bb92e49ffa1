"""tts_evaluate on the decoding of a model without attention (durations but no focus rates): length
failures from the duration ratio instead of attention failures."""

import json

import numpy as np
import pytest

from espkit.bin.tts_evaluate import has_attention, length_failure, main
from espkit.fileio.sound_scp import write_wav

FS = 8000
ARGS = ["--fs", str(FS), "--n_fft", "256", "--n_shift", "64", "--mcep_order", "16", "--copy_synthesis", "false"]
#: uid -> synthesized length / reference length
RATIOS = {"utt_ok": 1.0, "utt_long": 4.0, "utt_short": 0.25, "utt_edge": 2.9}


def tone(seconds: float, f0: float = 150.0) -> np.ndarray:
    t = np.arange(int(FS * seconds)) / FS
    return (0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval_length")
    ref, syn = root / "ref", root / "syn"
    for d in (ref, syn):
        (d / "wav").mkdir(parents=True)
    ref_scp, syn_scp, text = [], [], []
    for uid, ratio in RATIOS.items():
        write_wav(ref / "wav" / f"{uid}.wav", FS, tone(0.4))
        write_wav(syn / "wav" / f"{uid}.wav", FS, tone(0.4 * ratio))
        ref_scp.append(f"{uid} {ref / 'wav' / f'{uid}.wav'}\n")
        syn_scp.append(f"{uid} {syn / 'wav' / f'{uid}.wav'}\n")
        text.append(f"{uid} a b\n")
    (ref / "wav.scp").write_text("".join(ref_scp))
    (ref / "text").write_text("".join(text))
    (syn / "wav" / "wav.scp").write_text("".join(syn_scp))
    (syn / "durations").mkdir()
    # what tts_inference writes for a duration model: durations, speech_shape, no focus_rates; a
    # decoding "at maxlenratio" by Tacotron2's rule (4 tokens x 10 frames) that must not count here
    (syn / "durations" / "durations").write_text("".join(f"{u} 10 10 10 10\n" for u in RATIOS))
    (syn / "speech_shape").mkdir()
    (syn / "speech_shape" / "speech_shape").write_text("".join(f"{u} 40,8\n" for u in RATIOS))
    return ref, syn


def test_length_failure_bounds():
    assert length_failure(1.0, 3.0) is None and length_failure(2.99, 3.0) is None
    assert length_failure(3.01, 3.0) == "too_long" and length_failure(0.3, 3.0) == "too_short"
    assert length_failure(1 / 3.0, 3.0) is None


def test_has_attention_reads_the_side_files():
    assert has_attention({"focus_rate": {"u": "0.9"}, "durations": {"u": "1 2"}})
    assert not has_attention({"focus_rate": {}, "durations": {"u": "1 2"}})
    assert has_attention({"focus_rate": {}, "durations": {}})  # nothing known: judged as before


def test_a_model_without_attention_gets_length_failures(dirs, tmp_path):
    ref, syn = dirs
    out = tmp_path / "eval"
    main(["--ref_dir", str(ref), "--syn_dir", str(syn), "--output_dir", str(out), "--maxlenratio", "10", *ARGS])
    results = json.loads((out / "results.json").read_text())
    assert results["attention_failures"] is None
    length = results["length_failures"]
    assert length["count"] == 2 and length["too_long"] == 1 and length["too_short"] == 1
    assert length["uids"] == ["utt_long", "utt_short"]
    assert length["max_duration_ratio"] == 3.0 and length["min_duration_ratio"] == pytest.approx(1 / 3)
    md = (out / "results.md").read_text()
    assert "| length failures | 2 (duration ratio > 3: 1, < 0.333: 1) |" in md
    assert "Length failures: utt_long, utt_short" in md
    assert "attention failures" not in md.lower() and "focus rate" not in md
    rows = [line.split("\t") for line in (out / "per_utt.tsv").read_text().splitlines()]
    header = rows[0]
    assert header[-2:] == ["length_failure", "missing"] and "focus_rate" not in header
    flagged = {row[0]: row[header.index("length_failure")] for row in rows[1:]}
    assert flagged == {"utt_edge": "False", "utt_long": "True", "utt_ok": "False", "utt_short": "True"}


def test_the_same_audio_with_focus_rates_is_judged_as_before(dirs, tmp_path):
    ref, syn = dirs
    with_att = tmp_path / "syn_att"
    with_att.mkdir()
    for sub in ("wav", "durations", "speech_shape"):
        (with_att / sub).symlink_to(syn / sub)
    (with_att / "focus_rates").mkdir()
    (with_att / "focus_rates" / "focus_rates").write_text("".join(f"{u} 0.9\n" for u in RATIOS))
    out = tmp_path / "eval"
    main(["--ref_dir", str(ref), "--syn_dir", str(with_att), "--output_dir", str(out), "--maxlenratio", "10", *ARGS])
    results = json.loads((out / "results.json").read_text())
    assert "length_failures" not in results
    att = results["attention_failures"]
    assert att["not_stopped"] == 4 and att["low_focus_rate"] == 0  # 40 frames = 4 tokens x maxlenratio 10
    assert "| attention failures | 4 (" in (out / "results.md").read_text()
