#!/usr/bin/env python3
"""Pair each target utterance with a reference utterance of one emotion taken from another sentence.

    utils/make_reference_pairs.py --data_dir dump/raw/eval --emotion happy --target_emotion neutral \\
        --output exp/tts/decode/eval_ref_happy.scp

Writes ``<target uid> <wav of the reference>`` lines (a ``speech,sound`` scp for tts_inference):
the targets are the ``--target_emotion`` utterances of ``--data_dir`` (their texts are decoded),
the references its ``--emotion`` utterances. Both lists are sorted by uid; target ``k`` takes
reference ``k + 1`` (round robin), moving on while the reference's text equals the target's, so
no target is driven by a recording of its own sentence. Also writes ``<output>.pairs``
(``<target uid> <reference uid>``) for the record. Exit 1 with a message when the data dir has no
utterance of either emotion or only one sentence.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def read_table(path: Path) -> dict:
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        key, _, value = line.partition(" ")
        table[key] = value.strip()
    return table


def make_pairs(utt2emo: dict, texts: dict, emotion: str, target_emotion: str) -> list[tuple[str, str]]:
    """``[(target uid, reference uid)]`` (see the module docstring); ValueError when impossible."""
    targets = sorted(u for u, e in utt2emo.items() if e == target_emotion)
    references = sorted(u for u, e in utt2emo.items() if e == emotion)
    if not targets or not references:
        which = target_emotion if not targets else emotion
        raise ValueError(f"no utterance with emotion {which!r} in utt2emo")
    pairs = []
    for k, target in enumerate(targets):
        for step in range(1, len(references) + 1):
            reference = references[(k + step) % len(references)]
            if texts.get(reference) != texts.get(target):
                pairs.append((target, reference))
                break
        else:
            raise ValueError(f"every {emotion!r} utterance has the text of {target} (one sentence only?)")
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", type=Path, required=True, help="Data dir with wav.scp, text, utt2emo")
    parser.add_argument("--emotion", required=True, help="Emotion of the references")
    parser.add_argument("--target_emotion", default="neutral", help="Emotion label of the target utterances")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    try:
        wavs = read_table(args.data_dir / "wav.scp")
        pairs = make_pairs(
            read_table(args.data_dir / "utt2emo"), read_table(args.data_dir / "text"), args.emotion, args.target_emotion
        )
    except (OSError, ValueError) as exc:
        print(f"{Path(sys.argv[0]).name}: error: {args.data_dir}: {exc}", file=sys.stderr)
        sys.exit(1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("".join(f"{target} {wavs[reference]}\n" for target, reference in pairs))
    Path(f"{args.output}.pairs").write_text("".join(f"{target} {reference}\n" for target, reference in pairs))


if __name__ == "__main__":
    main()
