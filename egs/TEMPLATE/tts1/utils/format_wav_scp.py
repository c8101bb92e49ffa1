#!/usr/bin/env python3
"""Check (or convert) the audio of a wav.scp for the dump stage.

    utils/format_wav_scp.py --fs 22050 data/train/wav.scp dump/raw/train/wav.scp dump/raw/train/data

Mono 16-bit/float WAV files at ``--fs`` are referenced as they are (absolute path); anything else
(another rate, more channels) is resampled/downmixed and written as 16-bit PCM to
``<out_dir>/<uid>.wav``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from math import gcd
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fs", type=int, required=True)
    parser.add_argument("in_scp", type=Path)
    parser.add_argument("out_scp", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s: %(message)s")
    from espkit.fileio.read_text import read_2columns_text
    from espkit.fileio.sound_scp import read_wav, write_wav

    lines = []
    converted = 0
    for uid, value in read_2columns_text(args.in_scp).items():
        path = Path(value)
        if not path.is_absolute():
            path = path.resolve()
        if not path.exists():
            print(f"format_wav_scp.py: error: {args.in_scp}: {uid}: {path} not found", file=sys.stderr)
            return 1
        rate, audio = read_wav(path, dtype="float64", always_2d=True)
        if rate == args.fs and audio.shape[1] == 1:
            lines.append(f"{uid} {path}\n")
            continue
        audio = audio.mean(axis=1)
        if rate != args.fs:
            try:
                from scipy.signal import resample_poly
            except ImportError:
                print(
                    f"format_wav_scp.py: error: {path} is {rate} Hz, not {args.fs} Hz: resampling needs "
                    "scipy (pip install 'espkit[recipe]', as tools/install.sh does)",
                    file=sys.stderr,
                )
                return 1
            g = gcd(rate, args.fs)
            audio = resample_poly(audio, args.fs // g, rate // g)
        out = (args.out_dir / f"{uid}.wav").resolve()
        write_wav(out, args.fs, audio.astype("float32"), subtype="PCM_16")
        lines.append(f"{uid} {out}\n")
        converted += 1
    args.out_scp.parent.mkdir(parents=True, exist_ok=True)
    args.out_scp.write_text("".join(lines), encoding="utf-8")
    logging.info("%s: %d utterances, %d converted to %d Hz mono", args.out_scp, len(lines), converted, args.fs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
