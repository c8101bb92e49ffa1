"""espkit.torch_utils.profiling: parameter counts, percentiles and timing, CPU peak memory, both FLOP
counters on known layers, TorchScript by script, by trace, and a trace that froze a size."""

import pytest
import torch
from torch import nn

from espkit.torch_utils.profiling import (
    count_flops,
    count_parameters,
    flatten_tensors,
    has_parametrizations,
    peak_memory,
    percentile,
    time_calls,
    to_torchscript,
)


class Tied(nn.Module):
    """Two children sharing one weight, and a frozen one."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.embed.weight
        self.frozen = nn.Linear(4, 3)
        self.frozen.requires_grad_(False)


def test_count_parameters_counts_shared_ones_once():
    counts = count_parameters(Tied())
    assert counts["total"] == 40 + 15 and counts["trainable"] == 40
    assert counts["children"] == {
        "embed": {"total": 40, "trainable": 40},
        "out": {"total": 40, "trainable": 40},
        "frozen": {"total": 15, "trainable": 0},
    }
    assert count_parameters(nn.ReLU()) == {"total": 0, "trainable": 0, "children": {}}


def test_percentile_and_time_calls():
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile(list(range(11)), 90) == pytest.approx(9.0)
    calls = []
    timing = time_calls(lambda: calls.append(1), warmup=2, repeats=5)
    assert len(calls) == 7 and timing["repeats"] == 5
    assert 0 <= timing["min_ms"] <= timing["median_ms"] <= timing["p90_ms"] <= timing["max_ms"]
    with pytest.raises(ValueError, match="repeats >= 1"):
        time_calls(lambda: None, repeats=0)


def test_cpu_peak_memory_is_what_the_call_holds_at_once():
    def two_at_once():
        a = torch.ones(1_000_000)  # 4 MB
        b = torch.ones(1_000_000)
        return (a + b).sum()  # a third 4 MB tensor while a and b live

    def one_after_another():
        for _ in range(3):
            torch.ones(1_000_000).sum()

    held = peak_memory(two_at_once)
    assert 12_000_000 <= held < 13_000_000
    assert 4_000_000 <= peak_memory(one_after_another) < 5_000_000


def test_flop_counters_on_a_linear_and_a_1d_convolution():
    linear, x = nn.Linear(80, 256), torch.randn(1, 200, 80)
    flops = count_flops(lambda: linear(x))
    assert flops["profiler"] == flops["flop_counter"] == 2 * 200 * 80 * 256
    conv, c = nn.Conv1d(8, 16, 3, padding=1), torch.randn(1, 8, 50)
    flops = count_flops(lambda: conv(c))
    assert flops["flop_counter"] == 2 * 16 * 8 * 3 * 50 and flops["flop_counter_by_op"] == {
        "aten.convolution": 2 * 16 * 8 * 3 * 50
    }
    assert flops["profiler"] == 0  # torch's profiler has no formula for 1-D convolutions


def test_flop_counter_follows_weight_norm():
    conv = nn.utils.parametrizations.weight_norm(nn.Conv1d(8, 8, 3))
    assert has_parametrizations(conv) and not has_parametrizations(nn.Conv1d(8, 8, 3))
    with torch.inference_mode():  # how profile_model calls it: count_flops leaves inference mode
        flops = count_flops(lambda: conv(torch.randn(1, 8, 20)))
    assert flops["flop_counter"] == 2 * 8 * 8 * 3 * 18 and "flop_counter_error" not in flops


class VarArgs(nn.Module):
    """Scripting refuses ``*args``; a trace works and is exact at every size."""

    def forward(self, x, *rest):
        return torch.relu(x) * 2


class FrozenSize(nn.Module):
    """Scripting refuses ``*args``; a trace freezes the Python int of the size."""

    def forward(self, x, *rest):
        return x + torch.arange(int(x.size(1)), dtype=x.dtype)[: x.size(1)].flip(0)


def test_to_torchscript_script_trace_and_a_frozen_trace():
    scripted, report = to_torchscript(nn.Linear(3, 2).eval(), (torch.randn(4, 3),), check_args=[(torch.randn(7, 3),)])
    assert report["method"] == "script" and report["checked_cases"] == 2 and report["max_abs_diff"] == 0
    assert isinstance(scripted, torch.jit.ScriptModule)

    traced, report = to_torchscript(VarArgs(), (torch.randn(2, 5),), check_args=[(torch.randn(3, 9),)])
    assert report["method"] == "trace" and report["script_error"].startswith("NotSupportedError")
    assert torch.equal(traced(torch.ones(2, 2)), torch.full((2, 2), 2.0))

    exported, report = to_torchscript(FrozenSize(), (torch.randn(1, 5),), check_args=[(torch.randn(1, 9),)])
    assert exported is None and report["method"] is None
    assert "on input 2 of 2" in report["trace_error"]


def test_flatten_tensors_order():
    a, b, c = torch.zeros(1), torch.ones(2), torch.zeros(3)
    assert [t.shape[0] for t in flatten_tensors({"z": a, "b": (b, [c]), "n": None})] == [2, 3, 1]
