#!/usr/bin/env python3
"""Convert LJSpeech 1.1 into Kaldi data directories with ESPnet2's splits.

    local/prepare_ljspeech.py --ljspeech_dir downloads/LJSpeech-1.1 --out_dir data [--num_dev 250 --num_eval 250]
        [--max_utts N]   (the first N utterances by id only: smoke runs)

The corpus (https://keithito.com/LJ-Speech-Dataset/, LJSpeech-1.1.tar.bz2) holds ``metadata.csv``
(``<id>|<raw text>|<normalized text>``, one line per utterance, UTF-8) and ``wavs/<id>.wav``
(22050 Hz, 16-bit, mono). The normalized text (numbers and abbreviations spelled out) is used.

Splits, as ESPnet2's LJSpeech recipe makes them: utterances sorted by id; the last
``num_dev + num_eval`` are held out, the first ``num_dev`` of those are ``dev``, the rest
``eval1``; everything before them is ``tr_no_dev``. Each set gets ``wav.scp`` (absolute paths),
``text``, ``utt2spk`` and ``spk2utt`` (one speaker, ``LJ``).

A missing or malformed corpus is one error line naming what was expected and where: a missing
directory, ``metadata.csv`` or ``wavs/``, a line without three ``|``-separated fields
(``metadata.csv:<line>``), an empty text, a duplicate id, a listed WAV that is not there.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

logger = logging.getLogger("prepare_ljspeech")

SPEAKER = "LJ"
WHERE_TO_GET = "get LJSpeech-1.1.tar.bz2 from https://keithito.com/LJ-Speech-Dataset/ and unpack it"


class CorpusError(Exception):
    """The corpus directory is not LJSpeech 1.1 as expected (the message says what and where)."""


def read_metadata(corpus: Path) -> dict[str, str]:
    """``id -> normalized text`` of ``corpus/metadata.csv``, checking each line and its WAV."""
    if not corpus.is_dir():
        raise CorpusError(f"--ljspeech_dir {corpus}: no such directory; {WHERE_TO_GET}")
    metadata, wavs = corpus / "metadata.csv", corpus / "wavs"
    if not metadata.is_file() or not wavs.is_dir():
        nested = corpus / "LJSpeech-1.1"
        hint = f" (did you mean --ljspeech_dir {nested}?)" if (nested / "metadata.csv").is_file() else ""
        missing = "metadata.csv" if not metadata.is_file() else "wavs/"
        raise CorpusError(
            f"--ljspeech_dir {corpus}: no {missing}; expected LJSpeech 1.1 (metadata.csv with "
            f"'id|raw text|normalized text' lines and wavs/<id>.wav){hint}; {WHERE_TO_GET}"
        )
    texts: dict[str, str] = {}
    first_line: dict[str, int] = {}
    with metadata.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            fields = line.split("|")
            if len(fields) != 3:
                raise CorpusError(
                    f"{metadata}:{lineno}: expected 3 '|'-separated fields 'id|raw text|normalized text', "
                    f"got {len(fields)}: {line[:80]!r}"
                )
            uid, _, normalized = (field.strip() for field in fields)
            if not uid or any(c.isspace() for c in uid):
                raise CorpusError(f"{metadata}:{lineno}: invalid id {uid!r}")
            if not normalized:
                raise CorpusError(f"{metadata}:{lineno}: id {uid}: the normalized text (third field) is empty")
            if uid in texts:
                raise CorpusError(f"{metadata}:{lineno}: id {uid} again (first at line {first_line[uid]})")
            if not (wavs / f"{uid}.wav").is_file():
                raise CorpusError(f"{metadata}:{lineno}: id {uid}: {wavs / uid}.wav is missing (incomplete download?)")
            texts[uid] = " ".join(normalized.split())
            first_line[uid] = lineno
    if not texts:
        raise CorpusError(f"{metadata}: no utterances; expected 'id|raw text|normalized text' lines")
    return texts


def split(uids: list[str], num_dev: int, num_eval: int) -> dict[str, list[str]]:
    """ESPnet2's LJSpeech split of the sorted ``uids``: the held-out tail is dev, then eval1."""
    held_out = num_dev + num_eval
    if len(uids) <= held_out:
        raise CorpusError(
            f"{len(uids)} utterances are too few for --num_dev {num_dev} + --num_eval {num_eval} "
            "and a training set (LJSpeech 1.1 has 13,100)"
        )
    train_end = len(uids) - held_out
    return {
        "tr_no_dev": uids[:train_end],
        "dev": uids[train_end : train_end + num_dev],
        "eval1": uids[train_end + num_dev :],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ljspeech_dir", type=Path, required=True, help="The LJSpeech-1.1 directory")
    parser.add_argument("--out_dir", type=Path, default=Path("data"))
    parser.add_argument("--num_dev", type=int, default=250)
    parser.add_argument("--num_eval", type=int, default=250)
    parser.add_argument("--max_utts", type=int, default=0, help="Use the first N utterances by id only (0: all)")
    args = parser.parse_args()
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s: %(message)s")
    from espkit.fileio.datadir_writer import write_speech_data_sets

    try:
        if args.num_dev < 1 or args.num_eval < 1:
            raise CorpusError(f"--num_dev {args.num_dev} --num_eval {args.num_eval}: each must be >= 1")
        corpus = args.ljspeech_dir.resolve()
        texts = read_metadata(corpus)
        chosen = sorted(texts)[: args.max_utts or None]
        sets = split(chosen, args.num_dev, args.num_eval)
    except CorpusError as e:
        print(f"prepare_ljspeech.py: error: {e}", file=sys.stderr)
        return 1
    write_speech_data_sets(
        args.out_dir, sets, {uid: (str(corpus / "wavs" / f"{uid}.wav"), texts[uid], SPEAKER) for uid in chosen}
    )
    logger.info(
        "LJSpeech %s: %d of %d utterances -> %s",
        corpus,
        len(chosen),
        len(texts),
        ", ".join(f"{k} {len(v)}" for k, v in sets.items()),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
