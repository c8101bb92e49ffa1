"""A small emotional TTS corpus synthesised with the Debian ``espeak-ng`` program.

The first N Harvard sentences, each spoken in four "emotions" (espeak-ng pitch, speed, amplitude
and SSML prosody range), written as a Kaldi-style data directory::

    <out_dir>/wav/<uid>.wav   22050 Hz mono 16-bit PCM
    <out_dir>/wav.scp         <uid> <path of the wav>
    <out_dir>/text            <uid> <sentence>
    <out_dir>/utt2emo         <uid> <emotion>

Utterance ids are ``<emotion>_<sentence index, 4 digits>`` (e.g. ``happy_0007``); every file is in
sorted uid order. WAV files already present are not synthesised again.

    python bench/espeak_corpus.py /tmp/corpus --num_sentences 20
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
from multiprocessing.pool import ThreadPool
from pathlib import Path
from typing import Dict, List, Sequence, Tuple
from xml.sax.saxutils import escape

import numpy as np

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
FS = 22050
VOICE = "en-us"

#: emotion -> (espeak-ng options, SSML prosody range or None)
EMOTION_SETTINGS: Dict[str, Tuple[Tuple[str, ...], str | None]] = {
    "neutral": (("-p", "50", "-s", "165", "-a", "100"), None),
    "happy": (("-p", "72", "-s", "195", "-a", "130"), "x-high"),
    "sad": (("-p", "28", "-s", "125", "-a", "70"), "x-low"),
    "angry": (("-p", "58", "-s", "205", "-a", "190"), "high"),
}


def sentences_path() -> Path:
    """``$ESPKIT_SENTENCES``, else ``../shared/data/harvard_sentences.txt`` from the repo root."""
    return Path(os.environ.get("ESPKIT_SENTENCES", REPO_ROOT / ".." / "shared" / "data" / "harvard_sentences.txt"))


def load_sentences(num_sentences: int, path: Path | None = None) -> List[str]:
    """The first ``num_sentences`` non-empty lines of the sentence file."""
    path = sentences_path() if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: sentence file not found (set ESPKIT_SENTENCES to a file, one sentence a line)")
    sentences = [line.strip() for line in path.open(encoding="utf-8") if line.strip()]
    if num_sentences > len(sentences):
        raise ValueError(f"{path} holds {len(sentences)} sentences, {num_sentences} were asked for")
    return sentences[:num_sentences]


def ssml(sentence: str, prosody_range: str | None) -> str:
    """The SSML document espeak-ng reads with ``-m`` (sentence text XML-escaped)."""
    body = escape(sentence)
    if prosody_range is not None:
        body = f'<prosody range="{prosody_range}">{body}</prosody>'
    return f"<speak>{body}</speak>"


def synthesise(sentence: str, emotion: str, wav_path: Path) -> None:
    """Speak ``sentence`` in ``emotion`` into ``wav_path`` (22050 Hz mono 16-bit PCM)."""
    import scipy.io.wavfile

    options, prosody_range = EMOTION_SETTINGS[emotion]
    tmp_path = wav_path.with_name(f".{wav_path.name}.tmp.wav")
    cmd = ["espeak-ng", "-v", VOICE, "-m", *options, "-w", str(tmp_path), ssml(sentence, prosody_range)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not tmp_path.exists():
        raise RuntimeError(f"espeak-ng failed for {wav_path.name} (exit {result.returncode}): {result.stderr.strip()}")
    fs, samples = scipy.io.wavfile.read(tmp_path)
    if samples.ndim != 1 or samples.dtype != np.int16 or fs != FS:
        from math import gcd

        from scipy.signal import resample_poly

        from espkit.fileio.sound_scp import write_wav

        logger.warning("%s: espeak-ng wrote %d Hz %s %s; converting to %d Hz mono 16-bit",
                       wav_path.name, fs, samples.dtype, samples.shape, FS)
        audio = samples.astype(np.float64)
        if samples.dtype == np.int16:
            audio /= 32768.0
        if audio.ndim == 2:
            audio = audio.mean(axis=1)
        if fs != FS:
            g = gcd(fs, FS)
            audio = resample_poly(audio, FS // g, fs // g)
        write_wav(tmp_path, FS, audio.astype(np.float32), subtype="PCM_16")
    os.replace(tmp_path, wav_path)


def make_corpus(
    out_dir: str | Path,
    num_sentences: int,
    emotions: Sequence[str] = ("neutral", "happy", "sad", "angry"),
    nj: int = 2,
) -> Dict[str, Path]:
    """Synthesise (or reuse) the corpus under ``out_dir``; returns the paths of its files.

    Args:
        out_dir: data directory to write.
        num_sentences: how many Harvard sentences (from the start of the file).
        emotions: names among :data:`EMOTION_SETTINGS`.
        nj: espeak-ng processes run at once.

    Returns:
        ``{"wav.scp": ..., "text": ..., "utt2emo": ..., "wav": ...}``.
    """
    unknown = [e for e in emotions if e not in EMOTION_SETTINGS]
    if unknown:
        raise ValueError(f"unknown emotion(s) {unknown}; valid: {', '.join(EMOTION_SETTINGS)}")
    if shutil.which("espeak-ng") is None:
        raise FileNotFoundError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    out_dir = Path(out_dir)
    wav_dir = out_dir / "wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    sentences = load_sentences(num_sentences)
    jobs = {}
    for emotion in emotions:
        for index, sentence in enumerate(sentences):
            jobs[f"{emotion}_{index:04d}"] = (sentence, emotion)
    uids = sorted(jobs)
    todo = [uid for uid in uids if not (wav_dir / f"{uid}.wav").exists()]
    logger.info("%s: %d utterances, %d to synthesise with %d job(s)", out_dir, len(uids), len(todo), nj)
    if todo:
        with ThreadPool(max(1, nj)) as pool:
            pool.map(lambda uid: synthesise(*jobs[uid], wav_dir / f"{uid}.wav"), todo)
    paths = {"wav.scp": out_dir / "wav.scp", "text": out_dir / "text", "utt2emo": out_dir / "utt2emo", "wav": wav_dir}
    paths["wav.scp"].write_text("".join(f"{uid} {(wav_dir / f'{uid}.wav').resolve()}\n" for uid in uids), encoding="utf-8")
    paths["text"].write_text("".join(f"{uid} {jobs[uid][0]}\n" for uid in uids), encoding="utf-8")
    paths["utt2emo"].write_text("".join(f"{uid} {jobs[uid][1]}\n" for uid in uids), encoding="utf-8")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--num_sentences", type=int, default=100)
    parser.add_argument("--nj", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    make_corpus(args.out_dir, args.num_sentences, nj=args.nj)


if __name__ == "__main__":
    main()
