"""Step efficiency = FLOPs of a training step / its time / the machine's measured fp32 matmul rate."""

from __future__ import annotations

import statistics
import time

import torch


def matmul_flops_per_second(size: int = 1024, repeats: int = 20) -> float:
    """Median FLOP/s of a ``size``^3 fp32 matmul at the current torch thread count."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times)


def step_flops(model: torch.nn.Module, batch: dict) -> float:
    """The profiler's FLOPs (matmul/conv only) of one forward + backward of ``model`` on ``batch``,
    counted on the step-by-step decoder loop: the same work whichever implementation runs it (the
    fused node's in-place GEMMs and folded weights are counted differently by the profiler's
    formulas). Leaves gradients in ``model``."""
    from torch.profiler import ProfilerActivity, profile

    from espkit.tts.tacotron2.decoder import Decoder

    decoders = [m for m in model.modules() if isinstance(m, Decoder)]
    settings = [(decoder.decoder_impl, decoder.torchscript) for decoder in decoders]
    for decoder in decoders:
        decoder.set_impl("stepwise")
    try:
        with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
            loss, _, _ = model(**batch)
            loss.backward()
    finally:
        for decoder, (impl, torchscript) in zip(decoders, settings):
            decoder.set_impl(impl, torchscript)
    return float(sum(event.flops or 0 for event in prof.key_averages()))
