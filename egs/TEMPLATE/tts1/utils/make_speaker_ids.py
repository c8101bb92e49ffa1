#!/usr/bin/env python3
"""Speaker ids of a multi-speaker recipe (``tts.sh --use_sid true``): ``utt2spk`` -> ``spk_list`` + ``utt2sid``.

    utils/make_speaker_ids.py --train_utt2spk data/train/utt2spk --spk_list dump/raw/train/spk_list \\
        --set data/train/utt2spk,dump/raw/train/wav.scp,dump/raw/train/utt2sid \\
        --set data/dev/utt2spk,dump/raw/dev/wav.scp,dump/raw/dev/utt2sid

``--spk_list`` gets the training set's speakers, sorted (byte order), one per line: a speaker's id
is its line number - 1 (the list goes into the model's config as ``--spk_list`` and sets its
``spks``). Each ``--set UTT2SPK,WAV_SCP,OUTPUT`` writes ``OUTPUT`` with a ``<uid> <speaker id>``
line (ESPnet2's ``utt2sid``, read as ``sids,text_int``) for every uid of ``WAV_SCP``, in its order.

Unlike ESPnet2 (which maps unknown speakers to a reserved ``<unk>`` id 0) a speaker of another set
that the training set lacks is an error: a speaker-id model knows only the speakers it was trained
on. Every problem (a malformed line, a uid without a speaker, an unknown speaker, a speaker name
that a speaker list cannot hold) is one ``error:`` line naming the file and line; exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from espkit.fileio.read_text import read_lines_with_numbers
from espkit.tts.speaker.spk_list import load_spk_list


def read_utt2spk(path: Path) -> dict[str, tuple[int, str]]:
    """``uid -> (line number, speaker)``; ValueError naming ``path:line`` for a malformed line."""
    table: dict[str, tuple[int, str]] = {}
    for lineno, uid, speaker in read_lines_with_numbers(path):
        if not speaker or len(speaker.split()) != 1:
            raise ValueError(f"{path}:{lineno}: expected '<uid> <speaker>', got {uid} {speaker}".rstrip())
        if uid in table:
            raise ValueError(f"{path}:{lineno}: uid {uid} is given twice (also line {table[uid][0]})")
        table[uid] = (lineno, speaker)
    return table


def speaker_list(train_utt2spk: Path) -> list[str]:
    """The sorted speakers of the training set (checked to be valid speaker-list names)."""
    speakers = sorted({speaker for _, speaker in read_utt2spk(train_utt2spk).values()}, key=lambda s: s.encode())
    if not speakers:
        raise ValueError(f"{train_utt2spk}: no speaker (the file is empty)")
    try:
        return load_spk_list(speakers)
    except ValueError as exc:
        raise ValueError(f"{train_utt2spk}: {exc}") from None


def speaker_ids(utt2spk: Path, wav_scp: Path, speakers: list[str], spk_list: Path) -> list[str]:
    """``<uid> <id>`` lines for the uids of ``wav_scp`` (see the module doc)."""
    table = read_utt2spk(utt2spk)
    ids = {speaker: i for i, speaker in enumerate(speakers)}
    uids = [uid for _, uid, _ in read_lines_with_numbers(wav_scp)]
    missing = [uid for uid in uids if uid not in table]
    if missing:
        raise ValueError(
            f"{utt2spk}: {len(missing)} utterance(s) of {wav_scp} have no speaker, e.g. {', '.join(missing[:3])}"
        )
    lines = []
    for uid in uids:
        lineno, speaker = table[uid]
        if speaker not in ids:
            raise ValueError(
                f"{utt2spk}:{lineno}: uid {uid}: speaker {speaker} is not a speaker of the training set "
                f"({spk_list}); a speaker-id model knows only the speakers it was trained on"
            )
        lines.append(f"{uid} {ids[speaker]}\n")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train_utt2spk", type=Path, required=True, help="utt2spk of the training set")
    parser.add_argument("--spk_list", type=Path, required=True, help="Output: the training set's speakers")
    parser.add_argument(
        "--set", action="append", default=[], metavar="UTT2SPK,WAV_SCP,OUTPUT", help="A set to write utt2sid of"
    )
    args = parser.parse_args()
    try:
        speakers = speaker_list(args.train_utt2spk)
        outputs = []
        for spec in args.set:
            parts = spec.split(",")
            if len(parts) != 3:
                raise ValueError(f"--set {spec}: give UTT2SPK,WAV_SCP,OUTPUT")
            utt2spk, wav_scp, output = map(Path, parts)
            outputs.append((output, speaker_ids(utt2spk, wav_scp, speakers, args.spk_list)))
    except (ValueError, FileNotFoundError) as exc:
        print(f"make_speaker_ids.py: error: {exc}", file=sys.stderr)
        sys.exit(1)
    args.spk_list.parent.mkdir(parents=True, exist_ok=True)
    args.spk_list.write_text("".join(f"{speaker}\n" for speaker in speakers), encoding="utf-8")
    for output, lines in outputs:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text("".join(lines), encoding="utf-8")
    print(f"{len(speakers)} speakers -> {args.spk_list}; utt2sid of {len(outputs)} set(s)")


if __name__ == "__main__":
    main()
