"""Compare the two ``--batch_packing`` rules of the length/numel samplers on real shape files.

    python bench/batch_packing.py --batch_type numel --batch_bins 600000 \
        --shape_file exp/tts_stats_raw_phn_espeak_ng_english/train/speech_shape \
        --shape_file exp/tts_stats_raw_phn_espeak_ng_english/train/text_shape

For each rule (``espnet``: ESPnet2's batches; ``within_bins``: espkit's stricter rule) prints the
number of batches, their sizes, the padded elements per batch (largest and mean: the memory a step
needs) and the padding share (padded elements that are padding, summed over the shape files).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence

from espkit.samplers.bin_packing import PACKINGS
from espkit.samplers.build_batch_sampler import build_batch_sampler
from espkit.samplers.shape_file import load_shape_file


def batch_elements(batch: Sequence[str], shapes: list[dict]) -> tuple[int, int]:
    """``(padded, actual)`` elements of ``batch`` summed over the shape files."""
    padded = actual = 0
    for shape in shapes:
        rows = [shape[uid] for uid in batch]
        dim = max(int(_prod(row[1:])) for row in rows)
        padded += len(batch) * max(row[0] for row in rows) * dim
        actual += sum(row[0] * int(_prod(row[1:])) for row in rows)
    return padded, actual


def _prod(values: Sequence[int]) -> int:
    result = 1
    for value in values:
        result *= value
    return result


def measure(batch_type: str, batch_bins: int, shape_files: list[str], packing: str) -> dict:
    sampler = build_batch_sampler(batch_type, None, batch_bins, shape_files, packing=packing)
    shapes = [load_shape_file(path) for path in shape_files]
    batches = list(sampler)
    elements = [batch_elements(batch, shapes) for batch in batches]
    padded = [p for p, _ in elements]
    sizes = [len(batch) for batch in batches]
    return dict(
        packing=packing,
        batches=len(batches),
        size_min=min(sizes),
        size_max=max(sizes),
        size_mean=round(statistics.mean(sizes), 2),
        padded_elements_max=max(padded),
        padded_elements_mean=round(statistics.mean(padded)),
        batches_over_batch_bins=sum(p > batch_bins for p in padded),
        padding_share=round(1 - sum(a for _, a in elements) / sum(padded), 4),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch_type", choices=("numel", "length"), default="numel")
    parser.add_argument("--batch_bins", type=int, required=True)
    parser.add_argument("--shape_file", action="append", required=True, help="first = sort key, as in training")
    args = parser.parse_args()
    for packing in PACKINGS:
        print(json.dumps(measure(args.batch_type, args.batch_bins, args.shape_file, packing)))


if __name__ == "__main__":
    main()
