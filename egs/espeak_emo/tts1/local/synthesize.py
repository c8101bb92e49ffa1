#!/usr/bin/env python3
"""Synthesize the espeak_emo corpus with Debian espeak-ng into Kaldi-style data directories.

    local/synthesize.py --out_dir data --nj 2 [--train_sentences 540 --dev_sentences 30 --eval_sentences 30]

Every sentence of ``local/harvard_sentences.txt`` (600, one per line) is spoken in four emotions
with voice ``en-us`` at 22050 Hz mono 16-bit, the text wrapped in SSML (``-m``):

======== ==== ===== ===== ============================
emotion   -p   -s    -a   SSML ``<prosody range=...>``
======== ==== ===== ===== ============================
neutral   50   165   100  (none)
happy     72   195   130  x-high
sad       28   125    70  x-low
angry     58   205   190  high
======== ==== ===== ===== ============================

Sentences 1-540 are ``train``, 541-570 ``dev``, 571-600 ``eval`` (no sentence is shared across
sets; each set has all four emotions). ``--*_sentences`` take the first N of each range (smoke
runs). Utterance ids are ``<emotion>_<sentence index, 1-based, 4 digits>``; each set gets
``wav.scp text utt2spk spk2utt utt2emo`` (one speaker, ``espeak``). WAVs already present are
not synthesized again; synthesis runs ``--nj`` espeak-ng processes at once.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.sax.saxutils import escape

logger = logging.getLogger("synthesize")

FS = 22050
VOICE = "en-us"
SPEAKER = "espeak"
EMOTIONS = {
    "neutral": (("-p", "50", "-s", "165", "-a", "100"), None),
    "happy": (("-p", "72", "-s", "195", "-a", "130"), "x-high"),
    "sad": (("-p", "28", "-s", "125", "-a", "70"), "x-low"),
    "angry": (("-p", "58", "-s", "205", "-a", "190"), "high"),
}
#: set name -> (first, last) sentence index, 1-based inclusive
SPLITS = {"train": (1, 540), "dev": (541, 570), "eval": (571, 600)}


def ssml_document(sentence: str, prosody_range: str | None) -> str:
    body = escape(sentence)
    if prosody_range is not None:
        body = f'<prosody range="{prosody_range}">{body}</prosody>'
    return f"<speak>{body}</speak>"


def synthesize_one(sentence: str, emotion: str, wav_path: Path) -> None:
    """espeak-ng -> a temporary file -> checked (22050 Hz mono 16-bit) -> renamed into place."""
    import numpy as np

    from espkit.fileio.sound_scp import read_wav, write_wav

    options, prosody_range = EMOTIONS[emotion]
    tmp = wav_path.with_name(f".{wav_path.name}.tmp")
    cmd = ["espeak-ng", "-v", VOICE, "-m", *options, "-w", str(tmp), ssml_document(sentence, prosody_range)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not tmp.exists():
        raise RuntimeError(f"espeak-ng failed for {wav_path.name} (exit {result.returncode}): {result.stderr.strip()}")
    fs, samples = read_wav(tmp)
    if fs != FS or samples.dtype != np.int16 or samples.ndim != 1:
        from espkit.fileio.resample import resample  # only when espeak-ng's output is not 22.05 kHz mono

        _, audio = read_wav(tmp, dtype="float64", always_2d=True)
        write_wav(tmp, FS, resample(audio.mean(axis=1), fs, FS))
    os.replace(tmp, wav_path)


def write_table(path: Path, table: dict) -> None:
    path.write_text("".join(f"{k} {v}\n" for k, v in sorted(table.items())), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out_dir", type=Path, default=Path("data"))
    parser.add_argument("--wav_dir", type=Path, default=None, help="Where WAVs go (default: <out_dir>/wav)")
    parser.add_argument("--sentences", type=Path, default=Path(__file__).parent / "harvard_sentences.txt")
    parser.add_argument("--nj", type=int, default=2)
    for name, (first, last) in SPLITS.items():
        parser.add_argument(
            f"--{name}_sentences",
            type=int,
            default=last - first + 1,
            help=f"Sentences of {name} (the first N of {first}-{last})",
        )
    args = parser.parse_args()
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s: %(message)s")
    if shutil.which("espeak-ng") is None:
        print("synthesize.py: error: espeak-ng is not installed (Debian: apt-get install espeak-ng)", file=sys.stderr)
        return 1
    sentences = [line.strip() for line in args.sentences.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(sentences) < 600:
        print(f"synthesize.py: error: {args.sentences} has {len(sentences)} sentences, 600 are needed", file=sys.stderr)
        return 1
    wav_dir = (args.wav_dir or args.out_dir / "wav").resolve()
    wav_dir.mkdir(parents=True, exist_ok=True)
    jobs = {}
    for name, (first, last) in SPLITS.items():
        count = getattr(args, f"{name}_sentences")
        if not 1 <= count <= last - first + 1:
            print(
                f"synthesize.py: error: --{name}_sentences {count}: must be in 1..{last - first + 1}", file=sys.stderr
            )
            return 1
        wav_scp, text, utt2spk, utt2emo = {}, {}, {}, {}
        for index in range(first, first + count):
            for emotion in EMOTIONS:
                uid = f"{emotion}_{index:04d}"
                wav_scp[uid] = str(wav_dir / f"{uid}.wav")
                text[uid] = sentences[index - 1]
                utt2spk[uid] = SPEAKER
                utt2emo[uid] = emotion
                jobs[uid] = (sentences[index - 1], emotion)
        set_dir = args.out_dir / name
        set_dir.mkdir(parents=True, exist_ok=True)
        write_table(set_dir / "wav.scp", wav_scp)
        write_table(set_dir / "text", text)
        write_table(set_dir / "utt2spk", utt2spk)
        write_table(set_dir / "utt2emo", utt2emo)
        (set_dir / "spk2utt").write_text(f"{SPEAKER} {' '.join(sorted(wav_scp))}\n", encoding="utf-8")
        logger.info("%s: %d utterances (%d sentences x %d emotions)", set_dir, len(wav_scp), count, len(EMOTIONS))
    # WAVs made by another corpus definition (this script, the sentences) are made again
    stamp = wav_dir / ".corpus_definition"
    definition = hashlib.sha256(Path(__file__).read_bytes() + args.sentences.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() != definition:
        logger.info("%s: the corpus definition changed since these WAVs were made; synthesizing all again", wav_dir)
        todo = sorted(jobs)
    else:
        todo = sorted(uid for uid in jobs if not (wav_dir / f"{uid}.wav").exists())
    stamp.unlink(missing_ok=True)  # written again once every WAV of this definition exists
    logger.info("%d of %d WAVs to synthesize with %d espeak-ng job(s) into %s", len(todo), len(jobs), args.nj, wav_dir)
    pool = ThreadPoolExecutor(max(1, args.nj))
    try:
        for future in [pool.submit(synthesize_one, *jobs[uid], wav_dir / f"{uid}.wav") for uid in todo]:
            future.result()
    except BaseException:  # Ctrl-C or a failed job: drop the queued jobs instead of finishing them
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    stamp.write_text(definition + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the WAVs written so far are complete (each is renamed into place)
        print("synthesize.py: interrupted; a re-run synthesizes only the missing WAVs", file=sys.stderr)
        sys.exit(130)
