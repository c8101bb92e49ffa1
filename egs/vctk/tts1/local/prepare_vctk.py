#!/usr/bin/env python3
"""Convert VCTK 0.92 into Kaldi data directories with ESPnet2's per-speaker splits.

    local/prepare_vctk.py --vctk_dir downloads/VCTK-Corpus-0.92 --out_dir data [--num_dev 5 --num_eval 5]
        [--max_speakers N --max_utts_per_speaker M]   (the first N speakers, M utterances each: smoke runs)

The corpus (https://datashare.ed.ac.uk/handle/10283/3443, VCTK-Corpus-0.92.zip) holds
``wav48_silence_trimmed/<spk>/<spk>_<nnn>_mic1.flac`` (and ``_mic2``; 48 kHz FLAC) and
``txt/<spk>/<spk>_<nnn>.txt`` (one sentence). espkit uses microphone 1; utterance ids are
``<spk>_<nnn>``, speakers the folder names. tts.sh stage 2 resamples to the recipe's ``--fs``.

Splits, as ESPnet2's VCTK recipe makes them: per speaker, utterances sorted by id; the last
``num_dev + num_eval`` are held out, the first ``num_eval`` of those are ``eval1``, the rest
``dev``; everything before them is ``tr_no_dev``. So every speaker is in every set. Each set gets
``wav.scp`` (absolute paths), ``text``, ``utt2spk`` and ``spk2utt``.

Gaps of the published corpus are skipped and counted in one log line: utterances whose text file
is missing, and p315, whose texts were lost (VCTK's README). Anything else is one error line:
a missing directory or sub-directory, a speaker folder without texts, a speaker folder without
mic1 FLAC files, an empty text file, a speaker with too few utterances for the split.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

logger = logging.getLogger("prepare_vctk")

WHERE_TO_GET = "get VCTK-Corpus-0.92.zip from https://datashare.ed.ac.uk/handle/10283/3443 and unzip it"
LAYOUT = "wav48_silence_trimmed/<spk>/<spk>_<nnn>_mic1.flac and txt/<spk>/<spk>_<nnn>.txt"
#: speakers of VCTK 0.92 published without texts (skipped, not an error)
SPEAKERS_WITHOUT_TEXTS = ("p315",)
MIC_SUFFIX = "_mic1.flac"


class CorpusError(Exception):
    """The corpus directory is not VCTK 0.92 as expected (the message says what and where)."""


def read_corpus(corpus: Path) -> tuple[dict[str, tuple[Path, str, str]], dict[str, list[str]]]:
    """``uid -> (flac, text, speaker)`` of every mic1 utterance with a text, and what was skipped
    (``{"no text file": [uid, ...], "speaker without texts": [spk, ...]}``)."""
    if not corpus.is_dir():
        raise CorpusError(f"--vctk_dir {corpus}: no such directory; {WHERE_TO_GET}")
    audio_root, text_root = corpus / "wav48_silence_trimmed", corpus / "txt"
    for sub in (audio_root, text_root):
        if not sub.is_dir():
            nested = corpus / "VCTK-Corpus-0.92"
            hint = f" (did you mean --vctk_dir {nested}?)" if (nested / sub.name).is_dir() else ""
            raise CorpusError(
                f"--vctk_dir {corpus}: no {sub.name}/; expected VCTK 0.92 ({LAYOUT}){hint}; {WHERE_TO_GET}"
            )
    speakers = sorted(p.name for p in audio_root.iterdir() if p.is_dir())
    if not speakers:
        raise CorpusError(f"{audio_root}: no speaker folders; expected {LAYOUT}")
    utterances: dict[str, tuple[Path, str, str]] = {}
    skipped: dict[str, list[str]] = {"no text file": [], "speaker without texts": []}
    for speaker in speakers:
        flacs = sorted((audio_root / speaker).glob(f"{speaker}_*{MIC_SUFFIX}"))
        if not flacs:
            raise CorpusError(f"{audio_root / speaker}: no {speaker}_<nnn>{MIC_SUFFIX} files; expected {LAYOUT}")
        texts_dir = text_root / speaker
        if not texts_dir.is_dir() or not any(texts_dir.glob("*.txt")):
            if speaker in SPEAKERS_WITHOUT_TEXTS:
                skipped["speaker without texts"].append(speaker)
                continue
            raise CorpusError(
                f"{audio_root / speaker}: speaker {speaker} has no texts ({texts_dir}/{speaker}_<nnn>.txt); "
                f"VCTK 0.92 lacks texts only for {', '.join(SPEAKERS_WITHOUT_TEXTS)}: the corpus is incomplete"
            )
        for flac in flacs:
            uid = flac.name[: -len(MIC_SUFFIX)]
            text_file = texts_dir / f"{uid}.txt"
            if not text_file.is_file():
                skipped["no text file"].append(uid)
                continue
            text = " ".join(text_file.read_text(encoding="utf-8", errors="replace").split())
            if not text:
                raise CorpusError(f"{text_file}: empty text")
            utterances[uid] = (flac, text, speaker)
    return utterances, skipped


def by_speaker(
    utterances: dict[str, tuple[Path, str, str]], max_speakers: int = 0, max_utts_per_speaker: int = 0
) -> dict[str, list[str]]:
    """``speaker -> sorted uids``: the first ``max_speakers`` speakers, the first ``max_utts_per_speaker``
    utterances of each (0: all)."""
    speakers: dict[str, list[str]] = {}
    for uid in sorted(utterances):
        speakers.setdefault(utterances[uid][2], []).append(uid)
    chosen = sorted(speakers)[: max_speakers or None]
    return {speaker: speakers[speaker][: max_utts_per_speaker or None] for speaker in chosen}


def split(by_speaker: dict[str, list[str]], num_dev: int, num_eval: int) -> dict[str, list[str]]:
    """ESPnet2's VCTK split: per speaker, of the sorted held-out tail, eval1 first, then dev."""
    sets: dict[str, list[str]] = {"tr_no_dev": [], "dev": [], "eval1": []}
    held_out = num_dev + num_eval
    for speaker, uids in sorted(by_speaker.items()):
        if len(uids) <= held_out:
            raise CorpusError(
                f"speaker {speaker} has {len(uids)} utterances with text, too few for --num_dev {num_dev} + "
                f"--num_eval {num_eval} and a training set"
            )
        train_end = len(uids) - held_out
        sets["tr_no_dev"] += uids[:train_end]
        sets["eval1"] += uids[train_end : train_end + num_eval]
        sets["dev"] += uids[train_end + num_eval :]
    return sets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vctk_dir", type=Path, required=True, help="The VCTK-Corpus-0.92 directory")
    parser.add_argument("--out_dir", type=Path, default=Path("data"))
    parser.add_argument("--num_dev", type=int, default=5, help="Held-out utterances per speaker for dev")
    parser.add_argument("--num_eval", type=int, default=5, help="Held-out utterances per speaker for eval1")
    parser.add_argument("--max_speakers", type=int, default=0, help="Use the first N speakers only (0: all)")
    parser.add_argument("--max_utts_per_speaker", type=int, default=0, help="... and their first M utterances (0: all)")
    args = parser.parse_args()
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s: %(message)s")
    from espkit.fileio.datadir_writer import write_speech_data_sets

    try:
        if args.num_dev < 1 or args.num_eval < 1:
            raise CorpusError(f"--num_dev {args.num_dev} --num_eval {args.num_eval}: each must be >= 1")
        corpus = args.vctk_dir.resolve()
        utterances, skipped = read_corpus(corpus)
        speakers = by_speaker(utterances, args.max_speakers, args.max_utts_per_speaker)
        sets = split(speakers, args.num_dev, args.num_eval)
    except CorpusError as e:
        print(f"prepare_vctk.py: error: {e}", file=sys.stderr)
        return 1
    write_speech_data_sets(
        args.out_dir, sets, {uid: (str(flac), text, speaker) for uid, (flac, text, speaker) in utterances.items()}
    )
    no_text, no_speaker = skipped["no text file"], skipped["speaker without texts"]
    logger.info(
        "VCTK %s: %d speakers, %d utterances (%d used) -> %s; skipped %d utterance(s) without a text file%s and %d "
        "speaker(s) without texts%s",
        corpus,
        len({speaker for _, _, speaker in utterances.values()}),
        len(utterances),
        sum(len(uids) for uids in sets.values()),
        ", ".join(f"{k} {len(v)}" for k, v in sets.items()),
        len(no_text),
        f" ({', '.join(no_text[:5])}{' ...' if len(no_text) > 5 else ''})" if no_text else "",
        len(no_speaker),
        f" ({', '.join(no_speaker)})" if no_speaker else "",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
