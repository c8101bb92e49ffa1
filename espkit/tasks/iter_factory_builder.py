"""Build the data iterators of a run: dataset -> shape files -> batch sampler -> iterator factory."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import List, Optional, Sequence

from espkit.iterators.sequence_iter_factory import SequenceIterFactory
from espkit.samplers.build_batch_sampler import build_batch_sampler
from espkit.samplers.shape_file import load_shape_file, write_shape_file
from espkit.train.dataset import ESPnetDataset
from espkit.utils.errors import ConfigError

logger = logging.getLogger(__name__)


def check_data_names(task, dataset: ESPnetDataset, train: bool, option: str, allow_variable: bool) -> None:
    """Required names must be present; others must be known unless ``--allow_variable_data_keys``."""
    names = set(dataset.names())
    required = set(task.required_data_names(train=train))
    missing = sorted(required - names)
    if missing:
        raise ConfigError(f"{option}: data {missing} is required but only {sorted(names)} is given")
    if not allow_variable:
        known = required | set(task.optional_data_names(train=train))
        unknown = sorted(names - known)
        if unknown:
            raise ConfigError(
                f"{option}: unknown data name(s) {unknown}; the task accepts {sorted(known)} "
                "(or set --allow_variable_data_keys true)"
            )


def ensure_shape_files(
    shape_files: Sequence[str], dataset: ESPnetDataset, names: Sequence[str], cache_dir: Optional[Path]
) -> List[str]:
    """Shape files for the sampler; missing ones are computed once from the data and cached.

    With no ``shape_files`` given, one per name in ``names`` is cached under ``cache_dir``.
    A cached file whose uids differ from the data is an error (delete it to rescan).
    """
    if not shape_files:
        if cache_dir is None:
            raise ConfigError("no shape files are given and there is no --output_dir to cache them in")
        shape_files = [str(cache_dir / f"{name}_shape") for name in names if dataset.has_name(name)]
        if not shape_files:
            raise ConfigError(f"cannot derive shape files: the data has none of {list(names)}")
    missing = [path for path in shape_files if not Path(path).exists()]
    if missing:
        wanted = {Path(path).name.split("_shape")[0]: path for path in missing}
        unknown = sorted(set(wanted) - set(dataset.names()))
        if unknown:
            raise ConfigError(
                f"shape file(s) {[wanted[n] for n in unknown]} do not exist and their names do not "
                f"match any data name {list(dataset.names())}; run stats collection or fix the path"
            )
        logger.info("scanning %d utterances once to write %s", len(dataset), ", ".join(missing))
        shapes = {name: {} for name in wanted}
        for uid in dataset:
            _, data = dataset[uid]
            for name in wanted:
                shapes[name][uid] = data[name].shape
        for name, path in wanted.items():
            write_shape_file(path, shapes[name])
    uids = set(dataset.uids)
    for path in shape_files:
        shape_uids = set(load_shape_file(path))
        if shape_uids != uids:
            raise ConfigError(
                f"shape file {path} lists {len(shape_uids)} uids but the data has {len(uids)} "
                f"({len(uids - shape_uids)} missing); delete it to rescan"
            )
    return list(shape_files)


def build_dataset(task, args: argparse.Namespace, mode: str) -> ESPnetDataset:
    train = mode == "train"
    option = "--train_data_path_and_name_and_type" if train else "--valid_data_path_and_name_and_type"
    entries = args.train_data_path_and_name_and_type if train else args.valid_data_path_and_name_and_type
    if not entries:
        raise ConfigError(f"{option} is required")
    cache_size = args.max_cache_size if train or args.valid_max_cache_size is None else args.valid_max_cache_size
    dataset = ESPnetDataset(
        [tuple(entry) for entry in entries],
        preprocess=task.build_preprocess_fn(args, train=train),
        max_cache_size=cache_size or 0.0,
        fs=task.expected_fs(args),
    )
    check_data_names(task, dataset, train, option, args.allow_variable_data_keys)
    task.prepare_dataset(args, dataset)
    return dataset


def build_sequence_iter_factory(task, args: argparse.Namespace, distributed: bool, mode: str) -> SequenceIterFactory:
    """Iterator factory for ``mode`` in ``train``, ``valid`` or ``plot_att``."""
    if mode not in ("train", "valid", "plot_att"):
        raise ValueError(f"mode must be train, valid or plot_att, got {mode!r}")
    train = mode == "train"
    dataset = build_dataset(task, args, "train" if train else "valid")
    collate_fn = task.build_collate_fn(args, train=train)
    if mode == "plot_att":
        uids = list(dataset.uids)[: max(args.num_att_plot, 0)]
        return SequenceIterFactory(dataset, [(uid,) for uid in uids] or [(dataset.uids[0],)], collate_fn=collate_fn)

    output_dir = Path(args.output_dir) if args.output_dir else None
    cache_dir = output_dir / "shapes" / mode if output_dir else None
    shape_files = ensure_shape_files(
        args.train_shape_file if train else args.valid_shape_file,
        dataset,
        task.shape_data_names(),
        cache_dir,
    )
    batch_type = args.batch_type if train or args.valid_batch_type is None else args.valid_batch_type
    batch_size = args.batch_size if train or args.valid_batch_size is None else args.valid_batch_size
    batch_bins = args.batch_bins if train or args.valid_batch_bins is None else args.valid_batch_bins
    try:
        sampler = build_batch_sampler(
            type=batch_type,
            batch_size=batch_size,
            batch_bins=batch_bins,
            shape_files=shape_files,
            sort_in_batch=args.sort_in_batch,
            sort_batch=args.sort_batch,
            drop_last=args.drop_last_iter if train else False,
            min_batch_size=args.min_batch_size,
            fold_lengths=args.fold_length or [],
            packing=args.batch_packing,
        )
    except ValueError as exc:
        raise ConfigError(f"batch sampler ({mode}): {exc}") from None
    batches = list(sampler)
    logger.info("%s: %d utterances in %d batches (%s)", mode, len(dataset), len(batches), batch_type)
    return SequenceIterFactory(
        dataset,
        batches,
        num_iters_per_epoch=args.num_iters_per_epoch if train else None,
        seed=args.seed,
        shuffle=train,
        collate_fn=collate_fn,
        num_workers=args.num_workers,
        pin_memory=args.ngpu > 0,
        distributed=distributed,
    )
