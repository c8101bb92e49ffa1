#!/usr/bin/env python3
"""Check (or convert) the audio of a wav.scp for the dump stage (tts.sh stage 2).

    utils/format_wav_scp.py --fs 22050 data/train/wav.scp dump/raw/train/wav.scp dump/raw/train/data
    utils/format_wav_scp.py --fs 22050 --segments data/train/segments data/train/wav.scp out.scp out_dir

Every entry is decoded (so a truncated or unreadable file fails here, naming its uid, not in
training). A mono WAV file at ``--fs`` is referenced as it is (absolute path). Anything else is
written as 16-bit PCM WAV to ``<out_dir>/<uid>.wav``: a pipe entry (``<command> |``, run once
here: espkit.fileio.pipe_command says how and its trust model), a ``--segments`` stretch of a
recording, compressed audio (FLAC, OGG: training then decodes WAV only, 10x faster), another
rate (resampled with soxr, espkit.fileio.resample), more channels (averaged to mono).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path

#: libsndfile formats referenced as they are when mono at --fs (others are written as WAV)
UNCOMPRESSED_FORMATS = ("WAV", "WAVEX", "RF64")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fs", type=int, required=True, help="Sampling rate of the output (Hz)")
    parser.add_argument("--segments", type=Path, default=None, help="Kaldi segments: uid recording start_s end_s")
    parser.add_argument("in_scp", type=Path)
    parser.add_argument("out_scp", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s: %(message)s")
    if args.fs <= 0:
        print(f"format_wav_scp.py: error: --fs {args.fs}: must be a positive number of Hz", file=sys.stderr)
        return 1
    import soundfile

    from espkit.fileio.pipe_command import is_pipe_entry
    from espkit.fileio.resample import resample
    from espkit.fileio.sound_scp import SoundScpReader, write_wav

    try:
        reader = SoundScpReader(args.in_scp, dtype="float64", always_2d=True, segments=args.segments)
    except (OSError, ValueError) as e:
        print(f"format_wav_scp.py: error: {e}", file=sys.stderr)
        return 1
    lines = []
    reasons: Counter = Counter()
    for uid in reader:
        value = reader.get_path(uid)
        try:
            rate, audio = reader[uid]
        except (OSError, ValueError) as e:  # the message names the file/uid (and a pipe's stderr)
            print(f"format_wav_scp.py: error: {e}", file=sys.stderr)
            return 1
        if is_pipe_entry(value):
            reasons["pipe"] += 1
        elif args.segments is not None:
            reasons["segment"] += 1
        elif soundfile.info(value).format not in UNCOMPRESSED_FORMATS:
            reasons[f"from {soundfile.info(value).format}"] += 1
        elif rate == args.fs and audio.shape[1] == 1:
            lines.append(f"{uid} {Path(value).resolve()}\n")
            continue
        if audio.shape[1] > 1:
            reasons["downmixed"] += 1
        audio = audio.mean(axis=1)
        if rate != args.fs:
            reasons[f"resampled from {rate} Hz"] += 1
            try:
                audio = resample(audio, rate, args.fs)
            except ImportError as e:
                print(f"format_wav_scp.py: error: {e}", file=sys.stderr)
                return 1
        out = (args.out_dir / f"{uid}.wav").resolve()
        write_wav(out, args.fs, audio, subtype="PCM_16")
        lines.append(f"{uid} {out}\n")
        reasons["written"] += 1
    args.out_scp.parent.mkdir(parents=True, exist_ok=True)
    args.out_scp.write_text("".join(lines), encoding="utf-8")
    written = reasons.pop("written", 0)
    detail = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items()))
    logging.info(
        "%s: %d utterances, %d referenced as they are, %d written as %d Hz mono WAV%s",
        args.out_scp,
        len(lines),
        len(lines) - written,
        written,
        args.fs,
        f" ({detail})" if detail else "",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
