import logging
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from espkit.samplers.abs_sampler import AbsSampler
from espkit.samplers.build_batch_sampler import BATCH_TYPES, build_batch_sampler
from espkit.samplers.folded_batch_sampler import FoldedBatchSampler
from espkit.samplers.length_batch_sampler import LengthBatchSampler
from espkit.samplers.num_elements_batch_sampler import NumElementsBatchSampler
from espkit.samplers.shape_file import load_shape_file, write_shape_file
from espkit.samplers.sorted_batch_sampler import SortedBatchSampler
from espkit.samplers.unsorted_batch_sampler import UnsortedBatchSampler

NUM_UTTS = 300
FEATS_DIM = 80


@pytest.fixture(scope="module")
def shape_files(tmp_path_factory) -> tuple[Path, Path]:
    """A realistic corpus: log-normal speech lengths (frames x 80), text ~ frames / 6."""
    root = tmp_path_factory.mktemp("shapes")
    rng = np.random.RandomState(0)
    frames = np.clip(rng.lognormal(mean=6.0, sigma=0.4, size=NUM_UTTS), 50, 2000).astype(int)
    text_lengths = np.maximum(frames // 6 + rng.randint(-5, 6, size=NUM_UTTS), 1)
    uids = [f"utt{i:03d}" for i in range(NUM_UTTS)]
    text_shape = root / "text_shape"
    feats_shape = root / "feats_shape"
    write_shape_file(text_shape, {u: (int(t),) for u, t in zip(uids, text_lengths)})
    write_shape_file(feats_shape, {u: (int(f), FEATS_DIM) for u, f in zip(uids, frames)})
    return text_shape, feats_shape


def assert_exact_cover(batches, shape_file: Path) -> None:
    counts = Counter(uid for batch in batches for uid in batch)
    assert set(counts) == set(load_shape_file(shape_file))
    assert max(counts.values()) == 1


def padded_numel(batch, shapes_list) -> int:
    total = 0
    for shapes in shapes_list:
        max_length = max(shapes[uid][0] for uid in batch)
        dim = max(math.prod(shapes[uid][1:]) for uid in batch)
        total += len(batch) * max_length * dim
    return total


@pytest.mark.parametrize("batch_type", BATCH_TYPES)
def test_every_type_covers_every_uid_once(shape_files, batch_type):
    text_shape, feats_shape = shape_files
    sampler = build_batch_sampler(
        batch_type,
        batch_size=8,
        batch_bins=200000,
        shape_files=[feats_shape, text_shape],
        fold_lengths=[800, 150],
    )
    assert isinstance(sampler, AbsSampler)
    batches = list(sampler)
    assert len(sampler) == len(batches) > 1
    assert all(isinstance(batch, tuple) and len(batch) > 0 for batch in batches)
    assert_exact_cover(batches, feats_shape)


def test_unsorted_keeps_file_order_and_fixed_size(shape_files):
    _, feats_shape = shape_files
    uids = list(load_shape_file(feats_shape))
    batches = list(UnsortedBatchSampler(batch_size=7, key_file=feats_shape))
    assert [uid for batch in batches for uid in batch] == uids
    assert [len(b) for b in batches] == [7] * (NUM_UTTS // 7) + [NUM_UTTS % 7]


def test_unsorted_drop_last_and_any_key_file(tmp_path):
    key_file = tmp_path / "wav.scp"
    key_file.write_text("a /x/a.wav\nb /x/b.wav\nc /x/c.wav\n\nd /x/d.wav\ne /x/e.wav\n")
    assert list(UnsortedBatchSampler(2, key_file)) == [("a", "b"), ("c", "d"), ("e",)]
    assert list(UnsortedBatchSampler(2, key_file, drop_last=True)) == [("a", "b"), ("c", "d")]
    # drop_last never drops the only batch
    assert list(UnsortedBatchSampler(10, key_file, drop_last=True)) == [("a", "b", "c", "d", "e")]


def test_sorted_sizes_and_orders(shape_files):
    _, feats_shape = shape_files
    shapes = load_shape_file(feats_shape)
    sampler = SortedBatchSampler(16, feats_shape)
    batches = list(sampler)
    assert [len(b) for b in batches[:-1]] == [16] * (len(batches) - 1)
    assert len(batches[-1]) == NUM_UTTS % 16
    lengths = [[shapes[u][0] for u in b] for b in batches]
    assert all(ls == sorted(ls, reverse=True) for ls in lengths)  # descending in batch
    maxima = [max(ls) for ls in lengths]
    assert maxima == sorted(maxima)  # batches ascending
    assert_exact_cover(batches, feats_shape)

    reordered = list(SortedBatchSampler(16, feats_shape, "ascending", "descending"))
    assert reordered == [b[::-1] for b in batches[::-1]]

    dropped = list(SortedBatchSampler(16, feats_shape, drop_last=True))
    assert dropped == batches[:-1]


def test_folded_batch_size_shrinks_with_length(shape_files):
    text_shape, feats_shape = shape_files
    feats = load_shape_file(feats_shape)
    text = load_shape_file(text_shape)
    sampler = FoldedBatchSampler(
        batch_size=32,
        shape_files=[feats_shape, text_shape],
        fold_lengths=[300, 60],
        sort_in_batch="ascending",
    )
    batches = list(sampler)
    assert_exact_cover(batches, feats_shape)
    sizes = []
    for batch in batches[:-1]:
        first = batch[0]  # the shortest: batches are sorted ascending inside
        factor = max(feats[first][0] // 300, text[first][0] // 60)
        expected = max(1, 32 // (1 + factor))
        assert len(batch) == expected
        sizes.append(expected)
    last_first = batches[-1][0]
    assert len(batches[-1]) <= sampler.folded_batch_size([feats[last_first][0], text[last_first][0]])
    # the corpus spans several fold factors, so the size really shrinks
    assert sizes[0] == 32 and min(sizes) < 32 // 2


def test_folded_min_batch_size_and_drop_last(tmp_path):
    shape = tmp_path / "shape"
    write_shape_file(shape, {f"u{i}": (100 * (i + 1),) for i in range(10)})
    # lengths 100..1000, fold 100: factors 1..10 -> batch_size 8 shrinks to 8//2=4 then less
    sampler = FoldedBatchSampler(8, [shape], [100], min_batch_size=2)
    assert [len(b) for b in sampler] == [4, 2, 2, 2]
    dropped = FoldedBatchSampler(8, [shape], [100], min_batch_size=3, drop_last=True)
    # sizes 4, 3 (8//4=2 -> min 3), then 3 uids left of size 3 -> kept
    assert [len(b) for b in dropped] == [4, 3, 3]
    dropped = FoldedBatchSampler(8, [shape], [100], min_batch_size=4, drop_last=True)
    assert [len(b) for b in dropped] == [4, 4]
    merged = FoldedBatchSampler(8, [shape], [100], min_batch_size=4)
    assert [len(b) for b in merged] == [4, 6]


def test_folded_fold_lengths_must_match(shape_files):
    text_shape, feats_shape = shape_files
    with pytest.raises(ValueError, match="one length per shape file.*1 fold length"):
        FoldedBatchSampler(8, [feats_shape, text_shape], [800])


@pytest.mark.parametrize("padding", [True, False])
def test_length_bins_respected(shape_files, padding):
    text_shape, feats_shape = shape_files
    feats = load_shape_file(feats_shape)
    text = load_shape_file(text_shape)
    batch_bins = 8000
    batches = list(LengthBatchSampler(batch_bins, [feats_shape, text_shape], padding=padding, packing="within_bins"))
    assert_exact_cover(batches, feats_shape)
    for batch in batches:
        if padding:
            bins = len(batch) * (max(feats[u][0] for u in batch) + max(text[u][0] for u in batch))
        else:
            bins = sum(feats[u][0] + text[u][0] for u in batch)
        assert bins <= batch_bins
    # greedy packing fills batches: on average more than half of the budget
    if padding:
        assert len(batches) < 2 * sum(feats[u][0] + text[u][0] for u in feats) / batch_bins


def test_numel_bins_respected_and_small_padding(shape_files):
    text_shape, feats_shape = shape_files
    shapes_list = [load_shape_file(feats_shape), load_shape_file(text_shape)]
    batch_bins = 400000
    sampler = NumElementsBatchSampler(batch_bins, [feats_shape, text_shape], packing="within_bins")
    batches = list(sampler)
    assert_exact_cover(batches, feats_shape)
    assert all(padded_numel(batch, shapes_list) <= batch_bins for batch in batches)
    feats = shapes_list[0]
    actual = sum(feats[u][0] * FEATS_DIM for batch in batches for u in batch)
    padded = sum(len(b) * max(feats[u][0] for u in b) * FEATS_DIM for b in batches)
    assert actual / padded > 0.9
    # the same corpus in random order would need far more padding
    unsorted = list(UnsortedBatchSampler(8, feats_shape))
    unsorted_padded = sum(len(b) * max(feats[u][0] for u in b) * FEATS_DIM for b in unsorted)
    assert actual / unsorted_padded < 0.8


def test_numel_counts_feature_dims(tmp_path):
    shape = tmp_path / "shape"
    write_shape_file(shape, {"a": (10, 4), "b": (10, 4), "c": (10, 4), "d": (10, 4)})
    # each utterance is 40 elements: 2 fit in 80, 4 would fit by length only
    assert [len(b) for b in NumElementsBatchSampler(80, [shape], packing="within_bins")] == [2, 2]
    assert [len(b) for b in LengthBatchSampler(80, [shape], packing="within_bins")] == [4]


def test_numel_padding_false_counts_actual_elements(tmp_path):
    shape = tmp_path / "shape"
    write_shape_file(shape, {"a": (1, 10), "b": (1, 10), "c": (9, 10)})
    # padded: (a, b, c) would be 3 * 90 = 270; actual 10 + 10 + 90 = 110
    assert [len(b) for b in NumElementsBatchSampler(110, [shape], padding=False, packing="within_bins")] == [3]
    assert [len(b) for b in NumElementsBatchSampler(110, [shape], padding=True, packing="within_bins")] == [2, 1]


def test_bins_smaller_than_one_utterance_warns_once(tmp_path, caplog):
    shape = tmp_path / "shape"
    write_shape_file(shape, {"a": (5,), "b": (50,), "c": (60,), "d": (70,)})
    with caplog.at_level(logging.WARNING):
        batches = list(LengthBatchSampler(20, [shape], packing="within_bins"))
    assert batches == [("a",), ("b",), ("c",), ("d",)]
    warnings = [r for r in caplog.records if "batch_bins=20" in r.getMessage()]
    assert len(warnings) == 1
    assert "3 utterance(s)" in warnings[0].getMessage()


def test_min_batch_size_and_drop_last_for_bins(tmp_path):
    shape = tmp_path / "shape"
    write_shape_file(shape, {f"u{i}": (10,) for i in range(7)})
    assert [len(b) for b in LengthBatchSampler(30, [shape], packing="within_bins")] == [3, 3, 1]
    # the last batch has room for more -> dropped
    assert [len(b) for b in LengthBatchSampler(30, [shape], drop_last=True, packing="within_bins")] == [3, 3]
    # a too-small last batch is merged into the previous one
    assert [len(b) for b in LengthBatchSampler(30, [shape], min_batch_size=2, packing="within_bins")] == [3, 4]
    # min_batch_size may exceed the bins
    assert [len(b) for b in LengthBatchSampler(30, [shape], min_batch_size=4, packing="within_bins")] == [7]
    # a full last batch is kept with drop_last
    write_shape_file(shape, {f"u{i}": (10,) for i in range(6)})
    assert [len(b) for b in LengthBatchSampler(30, [shape], drop_last=True, packing="within_bins")] == [3, 3]


def test_sort_options_for_bins_samplers(shape_files):
    _, feats_shape = shape_files
    feats = load_shape_file(feats_shape)
    for sampler_class in (LengthBatchSampler, NumElementsBatchSampler):
        batches = list(sampler_class(200000, [feats_shape], sort_in_batch="ascending", sort_batch="descending"))
        lengths = [[feats[u][0] for u in b] for b in batches]
        assert all(ls == sorted(ls) for ls in lengths)
        assert [max(ls) for ls in lengths] == sorted((max(ls) for ls in lengths), reverse=True)


def test_invalid_sort_option(shape_files):
    _, feats_shape = shape_files
    with pytest.raises(ValueError, match="sort_batch must be one of ascending, descending"):
        NumElementsBatchSampler(1000, [feats_shape], sort_batch="random")
    with pytest.raises(ValueError, match="sort_in_batch must be one of"):
        SortedBatchSampler(4, feats_shape, sort_in_batch="up")


def test_missing_uid_in_secondary_shape_file(tmp_path, shape_files):
    _, feats_shape = shape_files
    partial = tmp_path / "text_shape"
    write_shape_file(partial, {"utt000": (3,), "utt001": (4,)})
    for sampler_class in (LengthBatchSampler, NumElementsBatchSampler):
        with pytest.raises(ValueError, match=r"text_shape: 298 uid\(s\).*utt002.*and 293 more"):
            sampler_class(1000, [feats_shape, partial])


def test_build_batch_sampler_errors(shape_files):
    text_shape, feats_shape = shape_files
    with pytest.raises(
        ValueError, match="unknown batch_type 'bucket'; valid types: unsorted, sorted, folded, length, numel"
    ):
        build_batch_sampler("bucket", 8, None, [feats_shape])
    with pytest.raises(ValueError, match="'numel' needs batch_bins"):
        build_batch_sampler("numel", 8, None, [feats_shape])
    with pytest.raises(ValueError, match="'sorted' needs batch_size"):
        build_batch_sampler("sorted", None, 1000, [feats_shape])
    with pytest.raises(ValueError, match="at least one shape file"):
        build_batch_sampler("length", None, 1000, [])
    with pytest.raises(TypeError, match="must be a list of paths"):
        build_batch_sampler("sorted", 8, None, str(feats_shape))
    for sampler_class in (LengthBatchSampler, NumElementsBatchSampler):
        with pytest.raises(TypeError, match="must be a list of paths"):
            sampler_class(1000, str(feats_shape))
    with pytest.raises(TypeError, match="must be a list of paths"):
        FoldedBatchSampler(8, str(feats_shape), [100])


def test_build_batch_sampler_passes_options(shape_files):
    text_shape, feats_shape = shape_files
    sampler = build_batch_sampler(
        "length", None, 5000, [feats_shape, text_shape], padding=False, sort_batch="descending"
    )
    assert isinstance(sampler, LengthBatchSampler)
    assert sampler.padding is False and sampler.sort_batch == "descending"
    direct = LengthBatchSampler(5000, [feats_shape, text_shape], padding=False, sort_batch="descending")
    assert list(sampler) == list(direct)


# ESPnet2's packing (the default): a batch is closed once its bins exceed batch_bins, with the
# utterance that crossed; padded bins count the length of the utterance just added.


def test_espnet_packing_closes_after_crossing(tmp_path):
    shape = tmp_path / "shape"
    write_shape_file(shape, {f"u{i}": (10,) for i in range(7)})
    # 4 x 10 = 40 is the first size over 30: batches of 4, then the rest
    assert [len(b) for b in LengthBatchSampler(30, [shape])] == [4, 3]
    assert [len(b) for b in LengthBatchSampler(30, [shape], drop_last=True)] == [4]
    # a last batch under min_batch_size is dealt out to the batches before it
    assert [len(b) for b in LengthBatchSampler(30, [shape], min_batch_size=4)] == [7]
    assert [len(b) for b in LengthBatchSampler(30, [shape], packing="within_bins")] == [3, 3, 1]


def test_espnet_packing_numel_dims_and_unpadded(tmp_path):
    shape = tmp_path / "shape"
    write_shape_file(shape, {"a": (10, 4), "b": (10, 4), "c": (10, 4), "d": (10, 4)})
    # 40 elements each: 2 x 40 = 80 is not over 80, 3 x 40 is
    assert [len(b) for b in NumElementsBatchSampler(80, [shape])] == [3, 1]
    write_shape_file(shape, {"a": (1, 10), "b": (1, 10), "c": (9, 10)})
    assert [len(b) for b in NumElementsBatchSampler(109, [shape], padding=False)] == [3]
    assert [len(b) for b in NumElementsBatchSampler(110, [shape], padding=False)] == [3]


def test_espnet_packing_counts_the_added_utterance_not_the_batch_maximum(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    write_shape_file(first, {"a": (1,), "b": (2,), "c": (3,)})
    write_shape_file(second, {"a": (10,), "b": (1,), "c": (1,)})
    # ESPnet2: b adds 2 x (2 + 1) = 6, c adds 3 x (3 + 1) = 12, never over 20
    assert list(LengthBatchSampler(20, [first, second], sort_in_batch="ascending")) == [("a", "b", "c")]
    # within_bins: (a, b) padded is 2 x (2 + 10) = 24 > 20
    within = LengthBatchSampler(20, [first, second], sort_in_batch="ascending", packing="within_bins")
    assert list(within) == [("a",), ("b", "c")]


def test_build_batch_sampler_packing_option(tmp_path):
    shape = tmp_path / "shape"
    write_shape_file(shape, {f"u{i}": (10,) for i in range(7)})
    assert [len(b) for b in build_batch_sampler("numel", None, 30, [shape])] == [4, 3]
    assert [len(b) for b in build_batch_sampler("numel", None, 30, [shape], packing="within_bins")] == [3, 3, 1]
    with pytest.raises(ValueError, match="unknown packing 'tight'; valid: espnet, within_bins"):
        build_batch_sampler("length", None, 30, [shape], packing="tight")
