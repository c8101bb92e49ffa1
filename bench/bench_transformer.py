"""Transformer-TTS speed: acoustic RTF of free-running decoding with and without the key/value cache, and
the training step time, for the recipe's configuration (``egs/espeak_emo/tts1/conf/tuning/train_transformer.yaml``).

    python bench/bench_transformer.py [--num_threads 2] [--tokens 20 40 80] [--frames_per_token 7]

The model is built UNTRAINED from the config's ``tts_conf`` (60 tokens, 80-bin log-mel at 22.05 kHz,
hop 256, 4 emotion labels). An untrained model never emits its stop token, so every utterance is
decoded to a FIXED length of ``--frames_per_token`` frames per input token (stop threshold > 1): the times
are those of real-length utterances (about 12 characters a second at 7 frames a token), the audio is noise.
Both paths run the prenet once per frame, so they compute the same frames (checked here); the uncached
path recomputes every decoder layer over the whole prefix at each step.

The training step is forward + backward + Adam on a random batch of ``--batch_size`` utterances of
``--tokens[-1]`` tokens and as many frames as decoding makes for them (median of ``--steps`` steps after
one warm-up step).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from pathlib import Path

import torch
import yaml

from espkit.tts.transformer.transformer import Transformer

ROOT = Path(__file__).resolve().parents[1]
FS, HOP = 22050, 256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=ROOT / "egs/espeak_emo/tts1/conf/tuning/train_transformer.yaml")
    parser.add_argument("--num_threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, nargs="+", default=[20, 40, 80])
    parser.add_argument("--frames_per_token", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="Runs per length (the median is reported)")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.num_threads)
    logging.getLogger("espkit.tts.transformer.transformer").setLevel(logging.ERROR)  # "reached maxlen" is intended
    torch.manual_seed(0)
    conf = yaml.safe_load(args.config.read_text())["tts_conf"]
    model = Transformer(idim=60, odim=80, num_emotions=4, **conf)

    model.eval()
    print(f"# {args.config.name}, untrained, {args.num_threads} threads, torch {torch.__version__}")
    print("| tokens | frames | RTF cached | RTF uncached | uncached / cached |")
    print("|---|---|---|---|---|")
    for num_tokens in args.tokens:
        text = torch.randint(1, 59, (num_tokens,))
        maxlenratio = args.frames_per_token * num_tokens / (num_tokens + 1)
        times = {}
        for use_cache in (True, False):
            runs = []
            for _ in range(args.repeats):
                torch.manual_seed(1)
                start = time.perf_counter()
                out = model.inference(text, emo_labs=1, threshold=1.1, maxlenratio=maxlenratio, use_cache=use_cache)
                runs.append(time.perf_counter() - start)
            times[use_cache] = (statistics.median(runs), out["feat_gen"])
        frames = times[True][1].size(0)
        assert torch.allclose(times[True][1], times[False][1], atol=1e-4), "cached and uncached frames differ"
        seconds = frames * HOP / FS
        cached, uncached = times[True][0] / seconds, times[False][0] / seconds
        print(f"| {num_tokens} | {frames} | {cached:.3f} | {uncached:.3f} | {uncached / cached:.1f} |")

    model.train()
    num_tokens = args.tokens[-1]
    num_frames = args.frames_per_token * num_tokens
    batch = dict(
        text=torch.randint(1, 59, (args.batch_size, num_tokens)),
        text_lengths=torch.full((args.batch_size,), num_tokens),
        feats=torch.randn(args.batch_size, num_frames, 80),
        feats_lengths=torch.full((args.batch_size,), num_frames),
        emo_labs=torch.randint(0, 4, (args.batch_size,)),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    step_times = []
    for step in range(args.steps + 1):
        start = time.perf_counter()
        loss, _, _ = model(**batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step > 0:
            step_times.append(time.perf_counter() - start)
    print(
        f"\ntraining step ({args.batch_size} x {num_tokens} tokens x {num_frames} frames): "
        f"{statistics.median(step_times) * 1000:.0f} ms (median of {args.steps}); "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )


if __name__ == "__main__":
    main()
