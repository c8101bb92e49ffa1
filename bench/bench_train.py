"""Training-step cost of the recipe's configs, their step efficiency, and the trainer's overhead.

    python bench/bench_train.py [--config CONFIG [CONFIG ...]] [--steps 12] [--write docs/benchmarks.md]

By default the recipe's Tacotron2 (``egs/espeak_emo/tts1/conf/train.yaml``) and Transformer-TTS
(``conf/tuning/train_transformer.yaml``) configs, one section each, each in its own process.
On the espeak-ng emotional corpus (bench/espeak_corpus.py, 100 sentences x 4 emotions by default) with
the config's batch type and bins, on 2 threads, it prints:

- median seconds per training step (forward + backward + clip + Adam, after 2 warm-up steps) and feature
  frames per second; peak RSS of the process;
- FLOPs of one step counted by the torch profiler (``with_flops``: matmuls and convolutions, forward and
  backward) divided by the step time, over the machine's measured fp32 matmul FLOP rate at 2 threads;
- the overhead of ``Trainer`` itself: the same batches through ``Trainer.run`` (1 epoch, no validation
  plots) versus a bare loop doing the same work (target under 5%).
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_data import write_token_list  # noqa: E402
from espeak_corpus import make_corpus  # noqa: E402
from step_efficiency import matmul_flops_per_second, step_flops  # noqa: E402

from espkit.tasks.tts import TTSTask  # noqa: E402
from espkit.torch_utils.host_allocator import keep_freed_memory  # noqa: E402
from espkit.torch_utils.seeding import set_all_random_seed  # noqa: E402
from espkit.train.distributed import DistributedOption  # noqa: E402

THREADS = 2
RECIPE = ROOT / "egs" / "espeak_emo" / "tts1"


def build_args(config: Path, corpus: dict, work: Path, steps: int) -> argparse.Namespace:
    tokens = work / "tokens.txt"
    write_token_list(corpus["text"], tokens)
    data = []
    for key, name, kind in (("wav.scp", "speech", "sound"), ("text", "text", "text"), ("utt2emo", "emo_labs", "text")):
        data += [
            "--train_data_path_and_name_and_type",
            f"{corpus[key]},{name},{kind}",
            "--valid_data_path_and_name_and_type",
            f"{corpus[key]},{name},{kind}",
        ]
    argv = [
        "--config",
        str(config),
        "--output_dir",
        str(work / "exp"),
        "--token_list",
        str(tokens),
        "--emo_list",
        "neutral,happy,sad,angry",
        "--num_iters_per_epoch",
        str(steps),
        "--max_epoch",
        "1",
        "--num_att_plot",
        "0",
        "--num_workers",
        "0",
        "--valid_batch_type",
        "unsorted",
        "--valid_batch_size",
        "1",
        *data,
    ]
    args = TTSTask.get_parser().parse_args(argv)
    TTSTask.resolve_args(args)
    TTSTask.prepare_stats(args)
    return args


def bare_loop(model, optimizer, batches, grad_clip: float) -> list:
    times = []
    model.train()
    for _, batch in batches:
        start = time.perf_counter()
        loss, _, _ = model(**batch)
        optimizer.zero_grad()
        loss.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--config",
        type=Path,
        nargs="+",
        default=[RECIPE / "conf/train.yaml", RECIPE / "conf/tuning/train_transformer.yaml"],
        help="Training configs to time, one section each",
    )
    parser.add_argument("--corpus_dir", type=Path, default=Path("/tmp/espkit_bench_corpus"))
    parser.add_argument("--num_sentences", type=int, default=100)
    parser.add_argument("--steps", type=int, default=12, help="Timed steps (after 2 warm-up steps)")
    parser.add_argument("--write", type=Path, default=None)
    options = parser.parse_args()
    torch.set_num_threads(THREADS)
    keep_freed_memory()  # as a training run does (espkit.train.launch)

    if len(options.config) > 1:  # one process per config, so that each peak RSS is its own
        for config in options.config:
            argv = [sys.executable, __file__, "--config", str(config), "--corpus_dir", str(options.corpus_dir)]
            argv += ["--num_sentences", str(options.num_sentences), "--steps", str(options.steps)]
            subprocess.run(argv + (["--write", str(options.write)] if options.write else []), check=True)
        return
    corpus = make_corpus(options.corpus_dir / f"harvard{options.num_sentences}", options.num_sentences)
    text = bench_config(options.config[0], corpus, options.steps)
    print(text)
    if options.write is not None:
        with options.write.open("a", encoding="utf-8") as f:
            f.write(text + "\n")


def bench_config(config: Path, corpus: dict, steps: int) -> str:
    """Time the training of ``config`` on ``corpus``; return its markdown section."""
    work = Path(tempfile.mkdtemp(prefix="espkit_bench_train_"))
    args = build_args(config, corpus, work, steps + 2)
    set_all_random_seed(args.seed)
    model = TTSTask.build_model(args)
    optimizer = TTSTask.build_optimizers(args, model)[0]
    train_factory = TTSTask.build_iter_factory(args, distributed=False, mode="train")
    batches = list(train_factory.build_iter(1))
    num_params = sum(p.numel() for p in model.parameters())

    step_times = bare_loop(model, optimizer, batches, args.grad_clip)[2:]
    step_s = statistics.median(step_times)
    frames = [int(b["speech_lengths"].sum()) // args.feats_extract_conf["hop_length"] for _, b in batches[2:]]
    frames_per_s = sum(frames) / sum(step_times)
    flops = step_flops(model, batches[len(batches) // 2][1])
    model.zero_grad()
    matmul_rate = matmul_flops_per_second()
    efficiency = flops / step_s / matmul_rate

    # Trainer overhead, in steady state: epochs 2-4 of a 4-epoch Trainer.run versus a bare loop over
    # the same batches of epochs 2-4 (after a bare warm-up epoch), both on a freshly seeded model.
    # (Three epochs, because one epoch of ~12 steps of ~0.1 s moves by several percent run to run.)
    timed_epochs = (2, 3, 4)
    args.max_epoch = timed_epochs[-1]
    args.keep_nbest_models = [1]
    set_all_random_seed(args.seed)
    model2 = TTSTask.build_model(args)
    optimizers2 = TTSTask.build_optimizers(args, model2)
    valid_factory = TTSTask.build_iter_factory(args, distributed=False, mode="valid")
    valid_factory.batches = valid_factory.batches[:1]
    start = time.perf_counter()
    trainer = TTSTask.trainer(
        model2, optimizers2, [None], TTSTask.trainer.build_options(args), DistributedOption.from_args(args)
    )
    reporter = trainer.run(train_factory, valid_factory)
    trainer_wall = time.perf_counter() - start
    trainer_train_s = sum(reporter.get_value("train", "time", epoch) for epoch in timed_epochs)
    set_all_random_seed(args.seed)
    model3 = TTSTask.build_model(args)
    optimizer3 = TTSTask.build_optimizers(args, model3)[0]
    bare_loop(model3, optimizer3, list(train_factory.build_iter(1)), args.grad_clip)
    bare_train_s = 0.0
    for epoch in timed_epochs:
        iterator = train_factory.build_iter(epoch)
        start = time.perf_counter()
        bare_loop(model3, optimizer3, iterator, args.grad_clip)  # loads its batches as it goes, like the trainer
        bare_train_s += time.perf_counter() - start
    overhead = trainer_train_s / bare_train_s - 1.0
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    batch_sizes = [len(uids) for uids, _ in batches]
    lines = [
        f"## Training step ({time.strftime('%Y-%m-%d')}, {platform.machine()}, Python {platform.python_version()}, "
        f"torch {torch.__version__}, {THREADS} threads)",
        "",
        f"Config `{config.relative_to(ROOT) if config.is_relative_to(ROOT) else config}` "
        f"({num_params / 1e6:.2f} M parameters, batch_type {args.batch_type}, batch_bins {args.batch_bins}); "
        f"corpus {len(train_factory.dataset)} utterances; {len(batches)} batches of "
        f"{min(batch_sizes)}-{max(batch_sizes)} utterances.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| seconds per training step (median of {len(step_times)}, after 2 warm-up) | {step_s:.3f} |",
        f"| feature frames per second | {frames_per_s:.0f} |",
        f"| peak RSS of the process | {peak_rss_mib:.0f} MiB |",
        f"| profiler FLOPs of one step (forward + backward) | {flops / 1e9:.2f} GFLOP |",
        f"| measured fp32 matmul rate (1024^3, {THREADS} threads) | {matmul_rate / 1e9:.1f} GFLOP/s |",
        f"| step efficiency (FLOPs / step time / matmul rate) | {efficiency:.1%} |",
        f"| trainer: train phases of epochs 2-4 {trainer_train_s:.2f} s vs bare loop {bare_train_s:.2f} s (same batches) | overhead {overhead:+.1%} (target < 5%) |",
        "",
        f"Step times (s): {', '.join(f'{t:.2f}' for t in step_times)}; whole {timed_epochs[-1]}-epoch Trainer.run incl. validation, plots and "
        f"checkpoints: {trainer_wall:.1f} s. The FLOP count is torch's operator estimate (mm, addmm, bmm, conv); "
        "elementwise and recurrent-cell work is not counted, so the efficiency is a lower bound; it is counted on the "
        "step-by-step decoder loop for Tacotron2, the same work as its fused one.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
