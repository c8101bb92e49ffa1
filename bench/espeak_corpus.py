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
import importlib.util
import logging
import os
import shutil
from multiprocessing.pool import ThreadPool
from pathlib import Path
from typing import Dict, List, Sequence

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent

# The recipe's synthesis is the one definition of the corpus (espeak-ng options per emotion, SSML,
# 22050 Hz mono 16-bit checks); the benchmarks reuse it.
_spec = importlib.util.spec_from_file_location(
    "espeak_emo_synthesize", REPO_ROOT / "egs" / "espeak_emo" / "tts1" / "local" / "synthesize.py"
)
_recipe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_recipe)
FS = _recipe.FS
EMOTION_SETTINGS = _recipe.EMOTIONS
synthesise = _recipe.synthesize_one


def sentences_path() -> Path:
    """``$ESPKIT_SENTENCES``, else ``../shared/data/harvard_sentences.txt`` from the repo root."""
    return Path(os.environ.get("ESPKIT_SENTENCES", REPO_ROOT / ".." / "shared" / "data" / "harvard_sentences.txt"))


def load_sentences(num_sentences: int, path: Path | None = None) -> List[str]:
    """The first ``num_sentences`` non-empty lines of the sentence file."""
    path = sentences_path() if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: sentence file not found (set ESPKIT_SENTENCES to a file, one sentence a line)"
        )
    sentences = [line.strip() for line in path.open(encoding="utf-8") if line.strip()]
    if num_sentences > len(sentences):
        raise ValueError(f"{path} holds {len(sentences)} sentences, {num_sentences} were asked for")
    return sentences[:num_sentences]


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
    paths["wav.scp"].write_text(
        "".join(f"{uid} {(wav_dir / f'{uid}.wav').resolve()}\n" for uid in uids), encoding="utf-8"
    )
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
