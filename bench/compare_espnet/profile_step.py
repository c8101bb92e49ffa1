"""Where the time of one espkit Tacotron2 training step goes (torch profiler), and its step efficiency.

    python profile_step.py --config exp/espkit_run1/config.yaml --batch_order espnet_batches.json \
        --out profile.json --markdown profile.md

Builds the model, Adam and the train data of the benchmark run from its ``config.yaml`` (seed 0), takes the
median-sized batch of ESPnet2's order, runs 3 warm-up steps, times 5 steps (forward + backward + clip +
Adam, as the trainer does them), then profiles one step with ``record_shapes`` and ``with_flops``. Reports
the operators by self CPU time, a grouping of them into parts of the model, the profiler's FLOP count
(matmul/conv only: a lower bound) over the step time, and that over the machine's fp32 matmul rate at
the same thread count (1024^3 matmul, median of 20): the step efficiency.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/

from step_efficiency import matmul_flops_per_second, step_flops  # noqa: E402

from espkit.tasks.tts import TTSTask
from espkit.torch_utils.seeding import set_all_random_seed

# Operator-name substrings -> a part of the step (first match wins; the rest is "other").
GROUPS = [
    ("decoder recurrence nodes' own time (LocationLSTMRecurrence: interpreter, views)", ("locationlstmrecurrence",)),
    ("LSTM / LSTM cell (encoder BLSTM, decoder LSTMCell)", ("lstm", "rnn", "_thnn_fused_lstm_cell")),
    (
        "matmul / linear (projections, attention, prenet)",
        ("addmm", "aten::mm", "aten::bmm", "aten::matmul", "aten::linear"),
    ),
    ("convolution (encoder, attention location, postnet)", ("conv", "mkldnn_convolution", "thnn_conv")),
    ("STFT / fbank (feature extraction)", ("stft", "fft", "_fft_r2c", "abs")),
    ("dropout / zoneout masks (random numbers)", ("bernoulli", "rand", "uniform", "dropout")),
    ("batch norm", ("batch_norm",)),
    ("optimizer (Adam) / grad clip", ("adam", "_foreach", "clip_grad", "norm")),
    (
        "elementwise / activations / dropout",
        (
            "tanh",
            "sigmoid",
            "relu",
            "dropout",
            "mul",
            "add",
            "sub",
            "div",
            "softmax",
            "exp",
            "log",
            "pow",
            "sqrt",
            "where",
            "masked",
            "bernoulli",
        ),
    ),
    (
        "copies / indexing / shape ops",
        (
            "copy",
            "cat",
            "stack",
            "index",
            "select",
            "slice",
            "view",
            "reshape",
            "transpose",
            "contiguous",
            "clone",
            "fill",
            "zero",
            "empty",
            "pad",
            "expand",
        ),
    ),
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--batch_order", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--markdown", type=Path, required=True)
    p.add_argument("--top", type=int, default=15)
    a = p.parse_args()

    args = TTSTask.load_config_args(a.config)
    TTSTask.resolve_args(args)
    TTSTask.prepare_stats(args)
    set_all_random_seed(args.seed)
    model = TTSTask.build_model(args)
    optimizer = TTSTask.build_optimizers(args, model)[0]
    factory = TTSTask.build_iter_factory(args, distributed=False, mode="train")
    batches = json.loads(a.batch_order.read_text())["batches"]
    uids = sorted(batches, key=len)[len(batches) // 2]
    _, batch = factory.collate_fn([factory.dataset[uid] for uid in uids])  # as the DataLoader does
    model.train()

    def step() -> None:
        loss, _, _ = model(**batch)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()

    for _ in range(3):
        step()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    step_s = statistics.median(times)

    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True, with_flops=True) as prof:
        step()
    events = prof.key_averages()
    total_self = sum(e.self_cpu_time_total for e in events)
    fused_flops = float(sum(e.flops or 0 for e in events))
    flops = step_flops(model, batch)  # the same work, counted on the step-by-step decoder loop
    rate = matmul_flops_per_second()
    groups: dict = {}
    for e in events:
        name = e.key.lower()
        group = next((g for g, keys in GROUPS if any(k in name for k in keys)), "other")
        groups[group] = groups.get(group, 0.0) + e.self_cpu_time_total
    other = sorted(
        (
            e
            for e in events
            if next((g for g, keys in GROUPS if any(k in e.key.lower() for k in keys)), "other") == "other"
        ),
        key=lambda e: e.self_cpu_time_total,
        reverse=True,
    )[:8]
    top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[: a.top]
    res = dict(
        batch_uids=len(uids),
        speech_shape=list(batch["speech"].shape),
        text_shape=list(batch["text"].shape),
        threads=torch.get_num_threads(),
        step_s=step_s,
        step_times=times,
        flops=flops,
        flops_counted_on_fused_path=fused_flops,
        matmul_rate=rate,
        achieved_flops_per_s=flops / step_s,
        efficiency=flops / step_s / rate,
        profiled_self_cpu_s=total_self / 1e6,
        groups={g: v / total_self for g, v in sorted(groups.items(), key=lambda kv: -kv[1])},
        other_ops=[dict(op=e.key, self_cpu_share=e.self_cpu_time_total / total_self, calls=e.count) for e in other],
        top=[
            dict(
                op=e.key,
                self_cpu_share=e.self_cpu_time_total / total_self,
                calls=e.count,
                self_cpu_ms=e.self_cpu_time_total / 1e3,
            )
            for e in top
        ],
    )
    a.out.write_text(json.dumps(res, indent=1))
    lines = [
        f"Batch of {len(uids)} utterances (speech {tuple(batch['speech'].shape)}, text {tuple(batch['text'].shape)}), "
        f"{torch.get_num_threads()} threads: step {step_s:.3f} s (median of 5 after 3 warm-up; the profiled step "
        f"itself is slower by the profiler's overhead). Profiler FLOPs of the step {flops / 1e9:.2f} GFLOP (matmul/conv "
        f"only, counted on the step-by-step decoder loop; {fused_flops / 1e9:.2f} GFLOP as counted on the fused path) -> "
        f"{flops / step_s / 1e9:.1f} GFLOP/s over a measured fp32 matmul rate of {rate / 1e9:.1f} GFLOP/s: "
        f"step efficiency {flops / step_s / rate:.1%}.",
        "",
        "| part of the step (operator groups) | share of self CPU time |",
        "|---|---|",
        *[f"| {g} | {v:.1%} |" for g, v in res["groups"].items()],
        "",
        'Largest operators in "other": '
        + ", ".join(f"`{o['op']}` {o['self_cpu_share']:.1%} ({o['calls']} calls)" for o in res["other_ops"])
        + ".",
        "",
        f"| top {a.top} operators by self CPU time | calls | self ms | share |",
        "|---|---|---|---|",
        *[f"| `{t['op']}` | {t['calls']} | {t['self_cpu_ms']:.1f} | {t['self_cpu_share']:.1%} |" for t in res["top"]],
        "",
    ]
    a.markdown.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
