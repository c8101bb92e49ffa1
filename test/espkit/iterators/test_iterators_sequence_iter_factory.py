import numpy as np
import pytest
import torch

from espkit.iterators.abs_iter_factory import AbsIterFactory
from espkit.iterators.sequence_iter_factory import SequenceIterFactory

UIDS = [f"utt{i:02d}" for i in range(14)]
BATCHES = [tuple(UIDS[i : i + 2]) for i in range(0, len(UIDS), 2)]  # 7 batches of 2


class TinyDataset:
    """uid -> (uid, float32 array of length 1 + index); records which uids were loaded."""

    def __init__(self, draw_random: bool = False) -> None:
        self.loaded: list[str] = []
        self.draw_random = draw_random

    def __getitem__(self, uid: str):
        self.loaded.append(uid)
        index = UIDS.index(uid)
        values = np.full(1 + index, index, dtype=np.float32)
        if self.draw_random:
            values = values + np.random.rand()
        return uid, values


def collate(items):
    """Pad to the longest item: returns (uids, (B, T_max) array)."""
    uids = tuple(uid for uid, _ in items)
    longest = max(len(values) for _, values in items)
    padded = np.zeros((len(items), longest), dtype=np.float32)
    for row, (_, values) in enumerate(items):
        padded[row, : len(values)] = values
    return uids, padded


def uids_of(iterator):
    return [uids for uids, _ in iterator]


def make_factory(**kwargs) -> SequenceIterFactory:
    kwargs.setdefault("collate_fn", collate)
    return SequenceIterFactory(kwargs.pop("dataset", TinyDataset()), BATCHES, **kwargs)


def test_yields_collated_batches_in_order_without_shuffle():
    factory = make_factory()
    assert isinstance(factory, AbsIterFactory)
    batches = list(factory.build_iter(1))
    assert [uids for uids, _ in batches] == BATCHES
    uids, padded = batches[1]
    assert uids == ("utt02", "utt03")
    assert padded.shape == (2, 4)
    np.testing.assert_array_equal(padded[0], [2, 2, 2, 0])
    assert factory.num_batches(5) == len(factory) == 7


def test_shuffle_is_deterministic_per_seed_and_epoch():
    factory = make_factory(seed=3, shuffle=True)
    epoch2 = uids_of(factory.build_iter(2))
    assert epoch2 == uids_of(make_factory(seed=3, shuffle=True).build_iter(2))
    assert sorted(epoch2) == sorted(BATCHES)
    assert epoch2 != uids_of(factory.build_iter(3))
    assert epoch2 != uids_of(make_factory(seed=4, shuffle=True).build_iter(2))
    # ESPnet-compatible: RandomState(seed + epoch) shuffles the list of batches
    expected = list(BATCHES)
    np.random.RandomState(3 + 2).shuffle(expected)
    assert epoch2 == expected
    # shuffle=False at build time overrides the factory setting
    assert uids_of(factory.build_iter(2, shuffle=False)) == BATCHES
    # the global RNG is left alone
    np.random.seed(123)
    before = np.random.rand()
    np.random.seed(123)
    factory.build_iter(2)
    assert np.random.rand() == before


def test_start_batch_skips_without_loading():
    dataset = TinyDataset()
    factory = make_factory(dataset=dataset, seed=1, shuffle=True)
    full = uids_of(factory.build_iter(4))
    dataset.loaded.clear()
    resumed = uids_of(factory.build_iter(4, start_batch=5))
    assert resumed == full[5:]
    assert sorted(dataset.loaded) == sorted(uid for batch in full[5:] for uid in batch)
    assert uids_of(factory.build_iter(4, start_batch=7)) == []
    with pytest.raises(ValueError, match=r"start_batch must be in \[0, 7\]"):
        factory.build_iter(4, start_batch=8)


def test_num_iters_per_epoch_continues_the_stream():
    num_iters = 3
    factory = make_factory(seed=5, shuffle=True, num_iters_per_epoch=num_iters)
    assert factory.num_batches(1) == len(factory) == num_iters
    epochs = [uids_of(factory.build_iter(epoch)) for epoch in range(1, 8)]
    assert all(len(batches) == num_iters for batches in epochs)
    stream = [batch for batches in epochs for batch in batches]  # 21 = 3 real epochs of 7
    # epoch 1 + epoch 2 are the first 2N batches of the stream, continuing without a gap
    assert epochs[0] + epochs[1] == stream[: 2 * num_iters]
    real_epochs = [stream[0:7], stream[7:14], stream[14:21]]
    for real_epoch, batches in enumerate(real_epochs, start=1):
        assert sorted(batches) == sorted(BATCHES)  # each real epoch is one full pass
        expected = list(BATCHES)
        np.random.RandomState(5 + real_epoch).shuffle(expected)
        assert batches == expected
    assert real_epochs[0] != real_epochs[1] != real_epochs[2]
    # resuming mid-epoch within the stream
    assert uids_of(factory.build_iter(3, start_batch=2)) == epochs[2][2:]
    with pytest.raises(ValueError, match="epochs count from 1"):
        factory.build_iter(0)


def test_num_iters_per_epoch_larger_than_corpus():
    factory = make_factory(seed=0, shuffle=True, num_iters_per_epoch=10)
    epoch1 = uids_of(factory.build_iter(1))
    epoch2 = uids_of(factory.build_iter(2))
    stream = []
    for real_epoch in (1, 2, 3):
        expected = list(BATCHES)
        np.random.RandomState(real_epoch).shuffle(expected)
        stream += expected
    assert epoch1 + epoch2 == stream[:20]


def test_num_iters_equal_to_corpus_matches_plain_epochs():
    plain = make_factory(seed=2, shuffle=True)
    streamed = make_factory(seed=2, shuffle=True, num_iters_per_epoch=len(BATCHES))
    for epoch in (1, 2, 3):
        assert uids_of(plain.build_iter(epoch)) == uids_of(streamed.build_iter(epoch))


def test_multiple_workers_give_the_same_batches():
    torch.set_num_threads(1)
    single = list(make_factory(seed=1, shuffle=True).build_iter(2))
    multi = list(make_factory(seed=1, shuffle=True, num_workers=2).build_iter(2, start_batch=1))
    assert [uids for uids, _ in multi] == [uids for uids, _ in single[1:]]
    for (_, a), (_, b) in zip(multi, single[1:]):
        np.testing.assert_array_equal(a, b)


def test_worker_seeding_is_deterministic_per_epoch():
    def draws(epoch):
        factory = make_factory(dataset=TinyDataset(draw_random=True), num_workers=2)
        return np.concatenate([padded[:, 0] for _, padded in factory.build_iter(epoch)])

    first = draws(1)
    np.testing.assert_array_equal(first, draws(1))
    assert not np.array_equal(first, draws(2))


@pytest.fixture
def fake_distributed(monkeypatch):
    def set_rank(rank: int, world_size: int) -> None:
        monkeypatch.setattr(torch.distributed, "is_available", lambda: True)
        monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
        monkeypatch.setattr(torch.distributed, "get_rank", lambda group=None: rank)
        monkeypatch.setattr(torch.distributed, "get_world_size", lambda group=None: world_size)

    return set_rank


def test_distributed_split(fake_distributed):
    batches = [tuple(UIDS[i : i + 4]) for i in range(0, 12, 4)]  # 3 batches of 4
    shares = {}
    for rank in (0, 1):
        fake_distributed(rank, 2)
        factory = SequenceIterFactory(
            TinyDataset(), batches, seed=0, shuffle=True, collate_fn=collate, distributed=True
        )
        shares[rank] = uids_of(factory.build_iter(1))
    full = SequenceIterFactory(TinyDataset(), batches, seed=0, shuffle=True).epoch_batches(1)
    assert shares[0] == [batch[0::2] for batch in full]
    assert shares[1] == [batch[1::2] for batch in full]
    # resuming skips whole (global) batches on each rank
    fake_distributed(1, 2)
    factory = SequenceIterFactory(TinyDataset(), batches, seed=0, shuffle=True, collate_fn=collate, distributed=True)
    assert uids_of(factory.build_iter(1, start_batch=2)) == shares[1][2:]


def test_distributed_batch_smaller_than_world_size(fake_distributed):
    fake_distributed(0, 3)
    factory = SequenceIterFactory(TinyDataset(), BATCHES, collate_fn=collate, distributed=True)
    with pytest.raises(ValueError, match="fewer uids than world_size=3.*raise batch_bins/"):
        factory.build_iter(1)


def test_distributed_requires_initialised_process_group(monkeypatch):
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: False)
    factory = SequenceIterFactory(TinyDataset(), BATCHES, collate_fn=collate, distributed=True)
    with pytest.raises(RuntimeError, match="init_process_group"):
        factory.build_iter(1)


def test_constructor_errors():
    with pytest.raises(ValueError, match="at least one batch"):
        SequenceIterFactory(TinyDataset(), [])
    with pytest.raises(ValueError, match="num_iters_per_epoch must be >= 1"):
        SequenceIterFactory(TinyDataset(), BATCHES, num_iters_per_epoch=0)
