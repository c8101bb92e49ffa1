"""LocalRandomState: a torch random stream of its own, continued across blocks, apart from the global one."""

import pytest
import torch

from espkit.torch_utils.seeding import LocalRandomState


def test_blocks_continue_the_stream_of_a_global_seeding():
    torch.manual_seed(7)
    expected = torch.rand(5), torch.randn(3), torch.rand(2)
    state = LocalRandomState(7)
    torch.manual_seed(0)
    drawn = []
    for draw in (lambda: torch.rand(5), lambda: torch.randn(3), lambda: torch.rand(2)):
        with state.activate():
            drawn.append(draw())
        torch.rand(10)  # the caller's draws between blocks do not move the stream
    assert all(torch.equal(a, b) for a, b in zip(drawn, expected))


def test_reseed_restarts_and_an_exception_keeps_the_draws():
    state = LocalRandomState(3)
    with state.activate():
        first = torch.rand(4)
    state.reseed(3)
    with pytest.raises(RuntimeError):
        with state.activate():
            assert torch.equal(torch.rand(4), first)
            raise RuntimeError("stop")
    with state.activate():
        after = torch.rand(4)
    torch.manual_seed(3)
    torch.rand(4)
    assert torch.equal(after, torch.rand(4))


def test_the_caller_state_is_restored():
    torch.manual_seed(1)
    before = torch.get_rng_state()
    with LocalRandomState(2).activate():
        torch.rand(100)
    assert torch.equal(torch.get_rng_state(), before)
