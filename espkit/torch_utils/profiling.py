"""What a module costs: parameters, TorchScript, latency, peak memory and FLOPs of a call.

The command around it is :mod:`espkit.bin.profile_model`; each function here measures one thing of
a call ``fn()`` (or of a module) and returns plain numbers, so that a report can be printed or
written as JSON:

>>> layer = torch.nn.Linear(80, 256)
>>> count_parameters(layer)["total"]
20736
>>> x = torch.randn(1, 200, 80)
>>> timing = time_calls(lambda: layer(x), warmup=1, repeats=5)
>>> sorted(timing)
['max_ms', 'mean_ms', 'median_ms', 'min_ms', 'p90_ms', 'repeats']
>>> flops = count_flops(lambda: layer(x))
>>> flops["profiler"], flops["flop_counter"]  # 2 * 200 * 80 * 256 multiply-adds, by each counter
(8192000, 8192000)

What the numbers mean:

- **latency**: wall-clock time of ``fn()`` (``time.perf_counter``; on CUDA after
  ``torch.cuda.synchronize()`` on both sides), ``warmup`` untimed calls first; the median and the
  90th percentile (linear interpolation) of ``repeats`` calls.
- **peak memory**: the most bytes that tensors allocated by the call held at once, above what was
  allocated before it (so the weights and inputs are not counted, activations and workspaces are).
  CUDA: ``torch.cuda.max_memory_allocated()`` after ``reset_peak_memory_stats()``, minus
  ``memory_allocated()`` before. CPU: the running sum of the allocation and free events that
  ``torch.profiler`` (``profile_memory=True``) records for torch's CPU allocator, in time order.
  Neither counts memory outside torch's allocators (numpy arrays, Python objects, the CUDA
  context, cuDNN/oneDNN caches) nor the caching allocator's reserved-but-free blocks.
- **FLOPs**, by two counters of torch that count different operators (neither counts recurrent
  layers, ``aten::lstm``/``aten::gru``, nor FFTs):

  - ``profiler``: ``torch.profiler`` with ``with_flops=True``: ``aten::mm``, ``aten::addmm``,
    ``aten::bmm``, ``aten::baddbmm``, ``aten::conv2d``, ``aten::mul`` and ``aten::add`` (one FLOP per
    output element for the last two); 1-D and transposed convolutions are not counted, which
    leaves most of a convolutional vocoder out.
  - ``flop_counter``: ``torch.utils.flop_counter.FlopCounterMode``: matrix products and every
    convolution (1-, 2-, 3-D, transposed) and attention kernels, no element-wise operators.

  A multiply-add counts as 2 FLOPs in both.
- **TorchScript** (:func:`to_torchscript`): ``torch.jit.script`` first (it keeps control flow),
  else ``torch.jit.trace`` on the example input (it records one run); either only counts as
  working when the result gives the eager outputs on the example (same seed before each run).
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections import defaultdict
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.utils.parametrize
import torch.utils.flop_counter

logger = logging.getLogger(__name__)


# ==================================================================================================
# Parameters
# ==================================================================================================
def count_parameters(module: torch.nn.Module) -> Dict[str, Any]:
    """``{"total", "trainable", "children": {name: {"total", "trainable"}}}`` of ``module``.

    A parameter shared by several submodules counts once in ``total``; ``children`` are the direct
    submodules (``named_children``) with parameters of their own, each counted on its own.
    """

    def counts(mod: torch.nn.Module) -> Dict[str, int]:
        params = list(mod.parameters())
        return {
            "total": sum(p.numel() for p in params),
            "trainable": sum(p.numel() for p in params if p.requires_grad),
        }

    children = {name: counts(child) for name, child in module.named_children()}
    return {**counts(module), "children": {name: c for name, c in children.items() if c["total"] > 0}}


# ==================================================================================================
# Latency
# ==================================================================================================
def _synchronize(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linearly interpolated between the closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def time_calls(
    fn: Callable[[], Any], warmup: int = 2, repeats: int = 10, device: torch.device | str = "cpu"
) -> Dict[str, float]:
    """Time ``fn()``: ``warmup`` untimed calls, then ``repeats`` timed ones.

    Returns:
        ``{"median_ms", "p90_ms", "mean_ms", "min_ms", "max_ms", "repeats"}`` (wall clock; on CUDA
        the device is synchronised before and after each call).
    """
    if warmup < 0 or repeats < 1:
        raise ValueError(f"warmup must be >= 0 and repeats >= 1, got {warmup} and {repeats}")
    for _ in range(warmup):
        fn()
    times_ms: List[float] = []
    for _ in range(repeats):
        _synchronize(device)
        start = time.perf_counter()
        fn()
        _synchronize(device)
        times_ms.append(1000.0 * (time.perf_counter() - start))
    return {
        "median_ms": percentile(times_ms, 50),
        "p90_ms": percentile(times_ms, 90),
        "mean_ms": float(np.mean(times_ms)),
        "min_ms": min(times_ms),
        "max_ms": max(times_ms),
        "repeats": repeats,
    }


# ==================================================================================================
# Peak memory and FLOPs
# ==================================================================================================
def _cpu_peak_from_profiler(prof: torch.profiler.profile) -> Optional[int]:
    """Peak of the running sum of the CPU allocator's allocation (+) and free (-) events of ``prof``,
    in time order; None when this torch's profiler does not expose them."""
    try:
        events = prof.profiler.kineto_results.events()
    except AttributeError:
        logger.warning("this torch's profiler exposes no memory events: CPU peak memory not measured")
        return None
    steps = sorted(
        (event.start_ns(), event.nbytes())
        for event in events
        if event.name() == "[memory]" and event.device_type() == torch.autograd.DeviceType.CPU
    )
    held = peak = 0
    for _, nbytes in steps:
        held += nbytes
        peak = max(peak, held)
    return peak


def peak_memory(fn: Callable[[], Any], device: torch.device | str = "cpu") -> Optional[int]:
    """The most bytes the tensors allocated by one call of ``fn()`` held at once, above what was
    allocated before it (see the module docstring for how, per device); None when not measurable."""
    device = torch.device(device)
    if device.type == "cuda":
        _synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        _synchronize(device)
        return int(torch.cuda.max_memory_allocated(device) - before)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    return _cpu_peak_from_profiler(prof)


def count_flops(fn: Callable[[], Any]) -> Dict[str, Any]:
    """FLOPs of one call of ``fn()`` by torch's two counters (see the module docstring for what each counts).

    ``fn`` runs under ``torch.no_grad()``, out of ``torch.inference_mode()``: ``FlopCounterMode``
    cannot follow a weight-norm parametrisation in inference mode. A counter that fails gives None
    and its error.

    Returns:
        ``{"profiler": int, "profiler_by_op": {op: int}, "flop_counter": int, "flop_counter_by_op":
        {op: int}}`` (ops without FLOPs are left out of the ``_by_op`` dicts), and
        ``"<counter>_error"`` (first line) for a counter that failed.
    """
    report: Dict[str, Any] = {}
    try:
        activities = [torch.profiler.ProfilerActivity.CPU]
        with (
            warnings.catch_warnings(),
            torch.inference_mode(False),
            torch.no_grad(),
            torch.profiler.profile(activities=activities, with_flops=True, record_shapes=True) as prof,
        ):
            # an op whose first input is no tensor (a scalar in TorchScript code) gets no FLOPs; the docs say so
            warnings.filterwarnings("ignore", message="Failed to save extra arguments for flops computation")
            fn()
        by_op: Dict[str, int] = defaultdict(int)
        for average in prof.key_averages():
            if average.flops:
                by_op[average.key] += int(average.flops)
        report["profiler"] = sum(by_op.values())
        report["profiler_by_op"] = dict(sorted(by_op.items(), key=lambda kv: -kv[1]))
    except Exception as exc:  # noqa: BLE001 - reported: the other numbers are still worth having
        report.update(profiler=None, profiler_by_op={}, profiler_error=error_line(exc))
    try:
        counter = torch.utils.flop_counter.FlopCounterMode(display=False)
        with torch.inference_mode(False), torch.no_grad(), counter:
            fn()
        counted = {str(op): int(n) for op, n in counter.get_flop_counts().get("Global", {}).items() if n}
        report["flop_counter"] = int(counter.get_total_flops())
        report["flop_counter_by_op"] = dict(sorted(counted.items(), key=lambda kv: -kv[1]))
    except Exception as exc:  # noqa: BLE001 - reported
        report.update(flop_counter=None, flop_counter_by_op={}, flop_counter_error=error_line(exc))
    return report


# ==================================================================================================
# TorchScript
# ==================================================================================================
def flatten_tensors(value: Any) -> List[torch.Tensor]:
    """The tensors in ``value`` (nested tuples, lists, dicts by sorted key), in order."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for key in sorted(value, key=str) for t in flatten_tensors(value[key])]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in flatten_tensors(item)]
    return []


def output_shapes(value: Any) -> List[List[int]]:
    """Shapes of the tensors of an output (:func:`flatten_tensors` order)."""
    return [list(t.shape) for t in flatten_tensors(value)]


def _max_abs_diff(ours: Any, reference: Any) -> float:
    """Largest absolute difference of two outputs; ValueError when their tensors differ in number or shape."""
    ours_t, ref_t = flatten_tensors(ours), flatten_tensors(reference)
    if len(ours_t) != len(ref_t):
        raise ValueError(f"gives {len(ours_t)} tensors, eager {len(ref_t)}")
    diff = 0.0
    for a, b in zip(ours_t, ref_t):
        if a.shape != b.shape:
            raise ValueError(f"gives shape {tuple(a.shape)}, eager {tuple(b.shape)}")
        if a.numel():
            diff = max(diff, float((a.double() - b.double()).abs().max()))
    return diff


def error_line(exc: BaseException) -> str:
    """``Type: message`` of ``exc`` on one line: the first line of the message, or for an error raised
    inside the TorchScript interpreter the last one (the first only says where it happened)."""
    lines = [part.strip() for part in str(exc).splitlines() if part.strip()]
    if not lines:
        return type(exc).__name__
    if "Traceback of TorchScript" in str(exc):
        last = lines[-1].removeprefix("builtins.")
        if last.endswith(":"):  # no message: say where
            where = [line for line in lines if line.startswith('File "')]
            last += f" in TorchScript code, {where[-1]}" if where else " in TorchScript code"
        return last
    first = lines[0] if not lines[0].endswith(":") or len(lines) < 2 else f"{lines[0]} {lines[1]}"
    return f"{type(exc).__name__}: {first}"


def has_parametrizations(module: torch.nn.Module) -> bool:
    """Whether ``module`` or a submodule has a parametrisation (e.g. ``parametrizations.weight_norm``)."""
    return any(torch.nn.utils.parametrize.is_parametrized(sub) for sub in module.modules())


@contextlib.contextmanager
def _quiet_torchscript() -> Iterator[List[str]]:
    """Silence TorchScript's deprecation warning (torch >= 2.9) and collect tracer warnings' messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("always", torch.jit.TracerWarning)
        messages: List[str] = []
        yield messages
        messages.extend(
            str(w.message).splitlines()[0] for w in caught if issubclass(w.category, torch.jit.TracerWarning)
        )


def to_torchscript(
    module: torch.nn.Module,
    example_args: Tuple[Any, ...],
    method: str = "forward",
    seed: int = 0,
    atol: float = 1e-4,
    check_args: Sequence[Tuple[Any, ...]] = (),
) -> Tuple[Optional[torch.jit.ScriptModule], Dict[str, Any]]:
    """Script ``module`` (else trace it on ``example_args``) and check it against eager on ``example_args``
    and each of ``check_args`` (other input sizes: what a trace froze shows there).

    Args:
        module: the module (in the mode to export, normally ``eval()``).
        example_args: positional inputs of ``module.<method>``.
        method: the method to export (``forward`` or another; scripting needs it ``@torch.jit.export``-ed).
        seed: ``torch.manual_seed`` before each eager and exported run (for modules that draw random numbers).
        atol: largest allowed absolute difference from eager.
        check_args: more inputs to check the exported module on.

    Returns:
        The TorchScript module (None when neither way works) and ``{"method": "script" | "trace" | None,
        "script_error", "trace_error" (first line of why each failed, None when it worked or was not
        tried), "trace_warnings" (the tracer's warnings: what a trace may have frozen),
        "max_abs_diff" (over the checked inputs), "checked_cases", "note" (a hint when neither worked)}``.
    """
    report: Dict[str, Any] = {
        "method": None,
        "script_error": None,
        "trace_error": None,
        "trace_warnings": [],
        "max_abs_diff": None,
        "checked_cases": 1 + len(check_args),
        "note": None,
    }
    all_args = [tuple(example_args), *(tuple(a) for a in check_args)]
    with torch.no_grad():
        references = []
        for args in all_args:
            torch.manual_seed(seed)
            references.append(getattr(module, method)(*args))

        def checked(exported: torch.jit.ScriptModule) -> float:
            diff = 0.0
            for number, (args, reference) in enumerate(zip(all_args, references)):
                torch.manual_seed(seed)
                try:
                    diff = max(diff, _max_abs_diff(getattr(exported, method)(*args), reference))
                except ValueError as exc:
                    raise ValueError(f"on input {number + 1} of {len(all_args)}: {exc}") from None
                except Exception as exc:  # noqa: BLE001 - e.g. a trace that froze a size fails on another
                    raise ValueError(f"on input {number + 1} of {len(all_args)}: {error_line(exc)}") from None
                if diff > atol:
                    raise ValueError(
                        f"on input {number + 1} of {len(all_args)}: differs from eager by {diff:.3g} > {atol}"
                    )
            return diff

        try:
            with _quiet_torchscript():
                scripted = torch.jit.script(module)
                if not hasattr(scripted, method):
                    raise AttributeError(f"the scripted module has no {method!r} (not @torch.jit.export-ed)")
                report["max_abs_diff"] = checked(scripted)
            report["method"] = "script"
            return scripted, report
        except Exception as exc:  # noqa: BLE001 - any failure of scripting is reported, then tracing is tried
            report["script_error"] = error_line(exc)
        try:
            with _quiet_torchscript() as tracer_warnings:
                traced = torch.jit.trace_module(module, {method: example_args}, check_trace=False)
                report["max_abs_diff"] = checked(traced)
            report["trace_warnings"] = sorted(set(tracer_warnings))
            report["method"] = "trace"
            return traced, report
        except Exception as exc:  # noqa: BLE001 - reported
            report["trace_error"] = error_line(exc)
    if has_parametrizations(module):
        report["note"] = (
            "the module has parametrisations (weight norm...), which TorchScript does not export: "
            "fold them first (e.g. remove_weight_norm)"
        )
    return None, report


def save_torchscript(module: torch.jit.ScriptModule, path: str) -> None:
    """``torch.jit.save`` without TorchScript's deprecation warning (torch >= 2.9)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(module, path)
