#!/usr/bin/env python3
"""Choose and validate the evaluation's F0 tracker setting on references and copy-synthesis only.

    python bench/validate_f0_tracker.py --ref_dir egs/espeak_emo/tts1/dump/raw/dev \\
        --train_config egs/espeak_emo/tts1/conf/train.yaml --output bench/results/f0_tracker.json

For each YIN threshold of ``--thresholds`` it measures the in-house YIN
(:func:`espkit.evaluate.f0_metrics.track_f0`) on

1. synthetic signals with known truth: harmonic tones (random F0 70-400 Hz with vibrato, a
   formant-shaped spectrum, white noise at 20 dB SNR) -> gross pitch error and voiced recall;
   white, brown and fricative-like band noise -> the share of frames falsely called voiced;
2. the reference recordings of ``--ref_dir``, against Praat's autocorrelation tracker
   (praat-parselmouth, ``To Pitch (ac)`` with its standard settings and the same 60-500 Hz range)
   as an independent tracker -> voicing decision error, GPE and FFE over the active frames;
3. the Griffin-Lim copy-synthesis of the same references (the recipe's feature extractor and
   vocoder, :class:`espkit.evaluate.copy_synthesis.CopySynthesis`), against Praat on the
   *reference* (the copy is time-aligned with it) -> FFE, GPE and the voiced ratio; Praat's voiced
   ratio of the copy-synthesis is printed as an independent view of how voiced it is.

Selection rule, fixed before looking at any figure: the threshold with the lowest FFE against
Praat on the references, among those with synthetic GPE below 2 % and noise false voicing below
5 %. No output of a trained system is read. Needs ``pip install -e '.[validation]'``
(praat-parselmouth: a validation tool only; espkit does not depend on it). The figures and the
choice are in docs/design.md, "Objective evaluation".
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from espkit.evaluate.copy_synthesis import CopySynthesis  # noqa: E402
from espkit.evaluate.f0_metrics import GROSS_ERROR, f0_frame_errors, pooled_f0_figures, track_f0  # noqa: E402
from espkit.evaluate.spectral_metrics import FrameConfig  # noqa: E402
from espkit.fileio.read_text import read_2columns_text  # noqa: E402
from espkit.fileio.sound_scp import read_wav  # noqa: E402
from espkit.utils.config_argparse import load_yaml_config  # noqa: E402

logger = logging.getLogger("validate_f0_tracker")


def synthetic_set(fs: int, hop: int, seed: int = 0, num_tones: int = 40, num_noises: int = 30):
    """``[(wav, true_f0 per frame)]`` of tones and noises (true F0 0 = unvoiced)."""
    rng = np.random.default_rng(seed)
    seconds = 0.6
    t = np.arange(int(fs * seconds)) / fs
    frames = np.arange(1 + len(t) // hop) * hop
    signals = []
    for _ in range(num_tones):
        f0 = float(np.exp(rng.uniform(np.log(70.0), np.log(400.0))))
        inst = f0 * (1.0 + 0.03 * np.sin(2 * np.pi * rng.uniform(3, 6) * t + rng.uniform(0, 6.3)))
        phase = 2 * np.pi * np.cumsum(inst) / fs
        formant = rng.uniform(400.0, 1500.0)
        wave = np.zeros_like(t)
        for k in range(1, int(0.45 * fs / f0)):
            wave += (np.exp(-((((k * f0) - formant) / 600.0) ** 2)) + 0.1 / k) * np.sin(k * phase)
        wave /= np.abs(wave).max()
        noise = rng.standard_normal(len(t))
        wave = wave + noise * np.sqrt(np.mean(wave**2) / np.mean(noise**2)) * 10 ** (-20 / 20)
        truth = inst[np.minimum(frames, len(t) - 1)]
        signals.append(("tone", 0.5 * wave / np.abs(wave).max(), truth))
    for i in range(num_noises):
        noise = rng.standard_normal(len(t))
        if i % 3 == 1:  # brown noise: most energy at low frequencies
            noise = np.cumsum(noise)
            noise -= np.convolve(noise, np.ones(64) / 64, mode="same")
        elif i % 3 == 2:  # fricative-like band noise, 500 Hz wide somewhere in 1.5-6 kHz
            spec = np.fft.rfft(noise)
            freqs = np.fft.rfftfreq(len(noise), 1 / fs)
            centre = rng.uniform(1500.0, 6000.0)
            spec[np.abs(freqs - centre) > 250.0] = 0.0
            noise = np.fft.irfft(spec, len(noise))
        signals.append(("noise", 0.5 * noise / np.abs(noise).max(), np.zeros(len(frames))))
    return signals


def praat_track(wav: np.ndarray, fs: int, hop: int, num_frames: int, f0min: float, f0max: float) -> np.ndarray:
    """Praat's ``To Pitch (ac)`` F0 (0 = unvoiced) at the frame times ``t * hop / fs``."""
    try:
        import parselmouth
    except ImportError:
        raise SystemExit("validate_f0_tracker.py needs Praat's tracker: pip install -e '.[validation]'") from None

    pitch = parselmouth.Sound(wav, sampling_frequency=fs).to_pitch_ac(
        time_step=hop / fs, pitch_floor=f0min, pitch_ceiling=f0max
    )
    values = pitch.selected_array["frequency"]
    times = pitch.xs()
    wanted = np.arange(num_frames) * hop / fs
    nearest = np.clip(np.searchsorted(times, wanted), 0, len(times) - 1)
    better_left = (nearest > 0) & (np.abs(times[np.maximum(nearest - 1, 0)] - wanted) < np.abs(times[nearest] - wanted))
    nearest = np.where(better_left, nearest - 1, nearest)
    inside = (wanted >= times[0] - hop / fs) & (wanted <= times[-1] + hop / fs)
    return np.where(inside, values[nearest], 0.0)


def compare(truth: np.ndarray, est: np.ndarray, mask: np.ndarray) -> dict:
    """The evaluation's own frame counts (:func:`espkit.evaluate.f0_metrics.f0_frame_errors`) of an
    estimated track against a true one, on the frames of ``mask``."""
    return f0_frame_errors(truth[mask], est[mask])


def summarise(counts: list) -> dict:
    """Pooled figures of :func:`compare` counts, named for a tracker against a truth."""
    pooled = pooled_f0_figures(counts)
    frames = max(sum(c["num_pairs"] for c in counts), 1)
    return {
        "vde": pooled["vuv_error"],
        "gpe": pooled["gpe"],
        "ffe": pooled["ffe"],
        "truth_voiced_ratio": pooled["ref_voiced_share"],
        "est_voiced_ratio": sum(c["syn_voiced"] for c in counts) / frames,
        "recall": pooled["f0_rmse_coverage"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref_dir", type=Path, required=True, help="Data dir of references (wav.scp)")
    parser.add_argument("--train_config", type=Path, required=True, help="Training yaml (feature settings)")
    parser.add_argument("--thresholds", default="0.05,0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.45,0.6")
    parser.add_argument(
        "--margins", default="none,0.1", help="Trough margins to try with each threshold (none: plain YIN)"
    )
    parser.add_argument("--max_utts", type=int, default=0, help="0: every utterance of --ref_dir")
    parser.add_argument("--output", type=Path, default=None, help="JSON of every figure")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s: %(message)s")

    conf = load_yaml_config(args.train_config)
    feats = conf.get("feats_extract_conf") or {}
    fs, n_fft, hop = int(feats.get("fs", 22050)), int(feats.get("n_fft", 1024)), int(feats.get("hop_length", 256))
    thresholds = [float(v) for v in args.thresholds.split(",")]
    scp = args.ref_dir / "wav.scp"
    entries = sorted(read_2columns_text(scp).items())
    if args.max_utts:
        entries = entries[:: max(1, len(entries) // args.max_utts)][: args.max_utts]
    start = time.time()
    copy = CopySynthesis(conf)
    refs, copies, praat_ref, praat_copy = {}, {}, {}, {}
    base = FrameConfig(fs=fs, n_fft=n_fft, hop_length=hop)
    for uid, path in entries:
        _, wav = read_wav(
            path if Path(path).is_absolute() or Path(path).exists() else scp.parent / path,
            expected_fs=fs,
            dtype="float64",
        )
        refs[uid] = wav
        copies[uid] = copy(wav).astype(np.float64)
        num_frames = 1 + len(wav) // hop
        praat_ref[uid] = praat_track(wav, fs, hop, num_frames, base.f0min, base.f0max)
        praat_copy[uid] = praat_track(copies[uid], fs, hop, num_frames, base.f0min, base.f0max)
    logger.info(
        "%d references and their copy-synthesis read and tracked by Praat in %.0f s", len(refs), time.time() - start
    )
    synthetic = synthetic_set(fs, hop)

    results = {
        "fs": fs,
        "n_fft": n_fft,
        "hop_length": hop,
        "num_utts": len(refs),
        "gross_error": GROSS_ERROR,
        "by_setting": {},
    }
    margins = [None if v == "none" else float(v) for v in args.margins.split(",")]
    for threshold, margin in [(t, m) for m in margins for t in thresholds]:
        config = FrameConfig(fs=fs, n_fft=n_fft, hop_length=hop, yin_threshold=threshold, yin_trough_margin=margin)
        tones, noises = [], []
        for kind, wav, truth in synthetic:
            track = track_f0(wav, config)
            n = min(len(truth), len(track.f0))
            (tones if kind == "tone" else noises).append(compare(truth[:n], track.f0[:n], np.ones(n, bool)))
        ref_counts, copy_counts, active_frames, praat_copy_voiced = [], [], 0, 0
        for uid, wav in refs.items():
            ref_track = track_f0(wav, config)
            copy_track = track_f0(copies[uid], config)
            n = min(len(ref_track.f0), len(copy_track.f0), len(praat_ref[uid]))
            active = ref_track.active[:n]
            ref_counts.append(compare(praat_ref[uid][:n], ref_track.f0[:n], active))
            copy_counts.append(compare(praat_ref[uid][:n], copy_track.f0[:n], active))
            active_frames += int(active.sum())
            praat_copy_voiced += int((praat_copy[uid][:n][active] > 0).sum())
        tone_summary, noise_summary = summarise(tones), summarise(noises)
        row = {
            "synthetic_gpe": tone_summary["gpe"],
            "synthetic_voiced_recall": tone_summary["recall"],
            "noise_false_voicing": noise_summary["est_voiced_ratio"],
            "references_vs_praat": summarise(ref_counts),
            "copy_synthesis_vs_praat_on_references": summarise(copy_counts),
            "praat_voiced_ratio_of_copy_synthesis": praat_copy_voiced / max(active_frames, 1),
        }
        setting = f"threshold={threshold},margin={margin}"
        results["by_setting"][setting] = row
        ref, cpy = row["references_vs_praat"], row["copy_synthesis_vs_praat_on_references"]
        logger.info(
            "%s: synthetic GPE %.3f recall %.3f, noise false voicing %.3f | references vs "
            "Praat: VDE %.3f GPE %.3f FFE %.3f (voiced: YIN %.3f, Praat %.3f) | copy-synthesis vs Praat on "
            "references: FFE %.3f GPE %.3f voiced %.3f (Praat on the copy: %.3f)",
            setting,
            row["synthetic_gpe"],
            row["synthetic_voiced_recall"],
            row["noise_false_voicing"],
            ref["vde"],
            ref["gpe"],
            ref["ffe"],
            ref["est_voiced_ratio"],
            ref["truth_voiced_ratio"],
            cpy["ffe"],
            cpy["gpe"],
            cpy["est_voiced_ratio"],
            row["praat_voiced_ratio_of_copy_synthesis"],
        )
    eligible = {
        t: r for t, r in results["by_setting"].items() if r["synthetic_gpe"] < 0.02 and r["noise_false_voicing"] < 0.05
    }
    if not eligible:
        raise SystemExit("no threshold meets the synthetic constraints (GPE < 2 %, false voicing < 5 %)")
    chosen = min(eligible, key=lambda t: eligible[t]["references_vs_praat"]["ffe"])
    results["chosen"] = chosen
    results["elapsed_s"] = round(time.time() - start, 1)
    logger.info("chosen: YIN %s (lowest FFE against Praat on the references among the eligible)", chosen)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2) + "\n")
        logger.info("wrote %s", args.output)


if __name__ == "__main__":
    main()
