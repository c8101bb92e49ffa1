import argparse

import pytest
import torch
import torch.distributed

from espkit.tasks import argument_groups
from espkit.train.distributed import (
    DistributedOption,
    all_gather_objects,
    all_reduce_flag,
    all_reduce_stats,
    barrier,
    is_initialized,
    shutdown,
)


def parse(argv=()):
    parser = argparse.ArgumentParser()
    argument_groups.add_common_arguments(parser)
    argument_groups.add_distributed_arguments(parser)
    return parser.parse_args(list(argv))


def test_single_process_defaults():
    option = DistributedOption.from_args(parse(), environ={})
    assert (option.distributed, option.world_size, option.rank, option.is_main) == (False, 1, 0, True)
    assert option.resolved_backend == "gloo" and option.device == torch.device("cpu")
    option.init()  # a no-op
    assert not torch.distributed.is_initialized()


def test_torchrun_environment_is_detected():
    environ = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "h", "MASTER_PORT": "1234"}
    option = DistributedOption.from_args(parse(["--ngpu", "1"]), environ=environ)
    assert (option.distributed, option.world_size, option.rank, option.local_rank) == (True, 4, 3, 1)
    assert option.resolved_backend == "nccl" and not option.is_main
    assert option.device == torch.device("cuda", 1)
    explicit = DistributedOption.from_args(parse(["--dist_rank", "0", "--dist_backend", "gloo"]), environ=environ)
    assert explicit.rank == 0 and explicit.is_main and explicit.resolved_backend == "gloo"


def test_errors_name_the_option():
    with pytest.raises(RuntimeError, match="MASTER_ADDR, MASTER_PORT"):
        DistributedOption.from_args(parse(["--dist_world_size", "2"]), environ={})
    with pytest.raises(ValueError, match="--dist_rank must be in \\[0, 2\\)"):
        DistributedOption(distributed=True, world_size=2, rank=2)
    with pytest.raises(ValueError, match="--dist_backend must be one of"):
        DistributedOption(backend="mpi")


def test_helpers_without_a_process_group():
    stats, weight = all_reduce_stats({"loss": torch.tensor(2.0), "acc": None}, torch.tensor(3))
    assert stats == {"acc": None, "loss": 2.0} and weight == 3.0
    assert all_reduce_flag(torch.tensor(True)) is True and all_reduce_flag(False) is False
    assert all_gather_objects({"a": 1}) == [{"a": 1}]
    barrier()
    shutdown()  # nothing to shut down


def test_helpers_in_a_one_process_gloo_group(tmp_path):
    option = DistributedOption(
        distributed=True, backend="auto", init_method=f"file://{tmp_path}/store", world_size=1, rank=0
    )
    option.init()
    try:
        assert torch.distributed.get_backend() == "gloo"
        stats, weight = all_reduce_stats({"loss": torch.tensor(0.5), "b": 1.5, "none": None}, 4)
        assert stats == {"b": 1.5, "loss": 0.5, "none": None} and weight == 4.0
        assert all_reduce_flag(True) is True and all_reduce_flag(False) is False
        assert all_gather_objects({"rng": torch.arange(3)})[0]["rng"].tolist() == [0, 1, 2]
        barrier()
    finally:
        shutdown()
    assert not is_initialized()
