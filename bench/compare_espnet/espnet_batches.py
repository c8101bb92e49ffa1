"""The training batches ESPnet2 itself forms for the benchmark, in the order its trainer consumes them.

    <espnet venv>/bin/python espnet_batches.py --shape_file text_shape.char --shape_file speech_shape \
        --batch_bins 933000 --num_iters_per_epoch 25 --max_epoch 2 --seed 0 --out espnet_batches.json

Runs in the ESPnet2 venv and uses ESPnet2's own ``NumElementsBatchSampler`` (as ``build_batch_sampler``
builds it for ``batch_type: numel``) and ``SequenceIterFactory`` (with a dataset that returns the uid), so
the output is exactly what ``espnet2.bin.tts_train`` iterates. Writes JSON: ``batches`` (the sampler's
list), ``epochs`` (per epoch, the uid batches in iteration order).
"""

import argparse
import json

from espnet2.iterators.sequence_iter_factory import SequenceIterFactory
from espnet2.samplers.build_batch_sampler import build_batch_sampler

p = argparse.ArgumentParser()
p.add_argument("--shape_file", action="append", required=True)
p.add_argument("--batch_bins", type=int, required=True)
p.add_argument("--num_iters_per_epoch", type=int, required=True)
p.add_argument("--max_epoch", type=int, required=True)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--out", required=True)
args = p.parse_args()

sampler = build_batch_sampler(
    type="numel",
    batch_size=1,
    batch_bins=args.batch_bins,
    shape_files=args.shape_file,
    sort_in_batch="descending",
    sort_batch="descending",
    drop_last=False,
    min_batch_size=1,
)
batches = [list(b) for b in sampler]


class UidDataset:
    def __getitem__(self, uid):
        return uid


factory = SequenceIterFactory(
    dataset=UidDataset(),
    batches=sampler,
    num_iters_per_epoch=args.num_iters_per_epoch,
    seed=args.seed,
    shuffle=True,
    num_workers=0,
    collate_fn=list,
)
epochs = [[list(b) for b in factory.build_iter(epoch)] for epoch in range(1, args.max_epoch + 1)]
with open(args.out, "w") as f:
    json.dump(dict(batch_bins=args.batch_bins, shape_files=args.shape_file, batches=batches, epochs=epochs), f)
sizes = [len(b) for b in batches]
print(json.dumps(dict(n_batches=len(batches), sizes=sizes, steps=sum(len(e) for e in epochs))))
