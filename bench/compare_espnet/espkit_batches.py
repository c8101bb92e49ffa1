"""Does espkit form the same training batches, in the same order, as ESPnet2 on the benchmark's shape files?

    python espkit_batches.py --espnet_batches espnet_batches.json --out batch_check.json

Builds espkit's ``numel`` sampler on the shape files and ``batch_bins`` recorded in ``espnet_batches.json``
(written by ``espnet_batches.py`` with ESPnet2's own sampler and iterator factory), and espkit's
``SequenceIterFactory`` epoch order (seed 0, ``num_iters_per_epoch`` as there). Writes JSON with
``same_batches`` (the sampler's batch list, order included), ``same_order`` (the uid batches of every
epoch, in order) and the first differences. Either way the timed espkit run is fed ESPnet2's exact
order (``espkit_train.py --batch_order``), so a difference here is a finding, not a divergence in work.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from espkit.iterators.sequence_iter_factory import SequenceIterFactory
from espkit.samplers.build_batch_sampler import build_batch_sampler


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--espnet_batches", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    ref = json.loads(a.espnet_batches.read_text())
    sampler = build_batch_sampler(
        type="numel",
        batch_size=None,
        batch_bins=ref["batch_bins"],
        shape_files=ref["shape_files"],
        sort_in_batch="descending",
        sort_batch="descending",
        drop_last=False,
        min_batch_size=1,
    )
    batches = [list(b) for b in sampler]
    num_iters = len(ref["epochs"][0])
    factory = SequenceIterFactory(
        dataset=None, batches=batches, num_iters_per_epoch=num_iters, seed=a.seed, shuffle=True
    )
    epochs = [[list(b) for b in factory.epoch_batches(e)] for e in range(1, len(ref["epochs"]) + 1)]
    same_batches = batches == ref["batches"]
    same_order = epochs == ref["epochs"]
    flat_ref = [b for e in ref["epochs"] for b in e]
    flat = [b for e in epochs for b in e]
    first_diff = next((i for i, (x, y) in enumerate(zip(flat, flat_ref)) if x != y), None)
    res = dict(
        same_batches=same_batches,
        same_order=same_order,
        espkit_batch_sizes=[len(b) for b in batches],
        espnet_batch_sizes=[len(b) for b in ref["batches"]],
        first_differing_step=None if first_diff is None else first_diff + 1,
        same_multiset_of_steps=sorted(map(tuple, flat)) == sorted(map(tuple, flat_ref)),
    )
    a.out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
