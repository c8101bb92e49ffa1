"""Audio input: read speed per format, the removed own WAV parser beside soundfile, and the resamplers.

    python bench/bench_audio_io.py [--num_files 200] [--baseline_commit 9172674] [--write docs/benchmarks.md]

Reading: ``--num_files`` synthetic utterances of 6.6 s (LJSpeech's mean) at 22050 Hz, 16-bit, written
as WAV, FLAC, 24-bit WAV and OGG Vorbis in a temporary directory (in the page cache: decoding, not
the disk, is measured); each read as float32 by ``espkit.fileio.sound_scp.read_wav``, median of 5
passes. ``--baseline_commit`` loads ``espkit/fileio/wav_format.py`` of that commit (the own RIFF
parser espkit used before soundfile) with ``git show`` and times it on the same WAV files, with the
same int16 -> float32 conversion. ``soundfile.read(dtype="float32")`` (libsndfile converting) is
timed too.

Resampling 48 kHz -> 22.05 kHz (VCTK -> the recipes' rate): soxr's HQ preset (espkit's choice) and
``scipy.signal.resample_poly`` (the previous one): speed on 10 s of noise, the level left of tones
above the new Nyquist frequency (15 kHz and 12 kHz: what aliases), and the gain at 9 kHz (passband).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import soxr

from espkit.fileio.sound_scp import read_wav

REPO = Path(__file__).resolve().parents[1]
FS = 22050
SECONDS = 6.6


def median_pass_ms(files: list[Path], read, repeats: int = 5) -> float:
    """Median over ``repeats`` passes of the milliseconds per file of ``read``."""
    for path in files:  # warm the page cache and the code
        read(path)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for path in files:
            read(path)
        times.append((time.perf_counter() - start) * 1000 / len(files))
    return statistics.median(times)


def load_baseline_parser(commit: str):
    """``parse_wav`` of espkit/fileio/wav_format.py at ``commit`` (None when git cannot show it)."""
    out = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{commit}:espkit/fileio/wav_format.py"], capture_output=True, text=True
    )
    if out.returncode != 0:
        return None
    path = Path(tempfile.mkdtemp()) / "wav_format_baseline.py"
    path.write_text(out.stdout)
    spec = importlib.util.spec_from_file_location("wav_format_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parse_wav


def level_db(x: np.ndarray) -> float:
    """Peak-equivalent level of ``x`` in dB (a full-scale sine is 0 dB)."""
    return float(20 * np.log10(np.sqrt(np.mean(x**2)) * np.sqrt(2) + 1e-30))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num_files", type=int, default=200)
    parser.add_argument("--baseline_commit", default="9172674", help="A commit that still has the own WAV parser")
    parser.add_argument("--write", type=Path, default=None, help="Append a section to this markdown file")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    tmp = Path(tempfile.mkdtemp(prefix="bench_audio_io_"))
    kinds = {"WAV 16-bit": ("wav", "PCM_16"), "FLAC 16-bit": ("flac", "PCM_16"), "WAV 24-bit": ("wav24", "PCM_24")}
    kinds["OGG Vorbis"] = ("ogg", "VORBIS")
    files: dict[str, list[Path]] = {name: [] for name in kinds}
    t = np.arange(int(FS * SECONDS)) / FS
    for i in range(args.num_files):
        wave = 0.4 * np.sin(2 * np.pi * (110 + i) * t) + 0.05 * rng.standard_normal(t.size)
        for name, (suffix, subtype) in kinds.items():
            path = tmp / f"{i}.{suffix}"
            fmt = {"wav24": "WAV", "ogg": "OGG"}.get(suffix, suffix.upper())
            soundfile.write(path, wave, FS, format=fmt, subtype=subtype)
            files[name].append(path)

    rows = []
    for name, paths in files.items():
        rows.append(
            (f'`read_wav(dtype="float32")`, {name}', median_pass_ms(paths, lambda p: read_wav(p, dtype="float32")))
        )
    wavs = files["WAV 16-bit"]
    rows.append(
        (
            '`soundfile.read(dtype="float32")`, WAV 16-bit',
            median_pass_ms(wavs, lambda p: soundfile.read(p, dtype="float32")),
        )
    )
    parse_wav = load_baseline_parser(args.baseline_commit)
    if parse_wav is not None:
        rows.append(
            (
                f"own RIFF parser of {args.baseline_commit} + int16 -> float32, WAV 16-bit",
                median_pass_ms(wavs, lambda p: (parse_wav(p)[1] / 32768.0).astype(np.float32)),
            )
        )

    fs_in, fs_out = 48000, 22050
    noise = rng.standard_normal(fs_in * 10) * 0.1
    t48 = np.arange(fs_in * 2) / fs_in
    resamplers = {
        "soxr HQ (espkit)": lambda x: soxr.resample(x, fs_in, fs_out, "HQ"),
    }
    try:
        from scipy.signal import resample_poly

        resamplers["scipy resample_poly (Kaiser, default)"] = lambda x: resample_poly(x, 147, 320)
    except ImportError:
        pass
    resample_rows = []
    for name, fn in resamplers.items():
        fn(noise)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            fn(noise)
            times.append(time.perf_counter() - start)
        speed = 10.0 / statistics.median(times)
        trim = slice(2000, -2000)
        leaks = [level_db(fn(np.sin(2 * np.pi * f * t48))[trim]) for f in (15000, 12000)]
        passband = level_db(fn(np.sin(2 * np.pi * 9000 * t48))[trim])
        resample_rows.append((name, speed, *leaks, passband))

    lines = [
        f"## Audio input (issue 19; {time.strftime('%Y-%m-%d')}, {platform.machine()}, Python "
        f"{platform.python_version()}, soundfile {soundfile.__version__} / libsndfile "
        f"{soundfile.__libsndfile_version__}, soxr {soxr.__version__}, load average {os.getloadavg()[0]:.1f} "
        "at the end, `bench/bench_audio_io.py`)",
        "",
        f"Reading {args.num_files} files of {SECONDS} s at {FS} Hz (page cache), milliseconds per file, median of 5 passes:",
        "",
        "| reader, format | ms per file | x real time |",
        "|---|---|---|",
    ]
    for name, ms in rows:
        lines.append(f"| {name} | {ms:.3f} | {SECONDS * 1000 / ms:,.0f} |")
    lines += [
        "",
        f"Resampling {fs_in} -> {fs_out} Hz:",
        "",
        "| resampler | x real time (10 s of noise) | 15 kHz tone left (dB) | 12 kHz tone left (dB) | 9 kHz tone (dB) |",
        "|---|---|---|---|---|",
    ]
    for name, speed, leak15, leak12, passband in resample_rows:
        lines.append(f"| {name} | {speed:,.0f} | {leak15:.1f} | {leak12:.1f} | {passband:+.2f} |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.write is not None:
        with args.write.open("a", encoding="utf-8") as f:
            f.write("\n" + text)
    return None


if __name__ == "__main__":
    sys.exit(main())
