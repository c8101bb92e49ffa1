"""Throughput of espkit's data pipeline against one training step of the small Tacotron2.

    python bench/bench_data.py [--num_sentences 300] [--corpus_dir /tmp/espkit_bench_corpus]
                               [--write docs/benchmarks.md]

On an espeak-ng corpus (``bench/espeak_corpus.py``: N Harvard sentences x 4 emotions) it measures

- utterances/s through the full iterator (``ESPnetDataset`` -> ``TTSPreprocessor`` (phn) -> ``numel``
  sampler with ~16 utterances a batch -> ``SequenceIterFactory`` -> ``CommonCollateFn``) with
  ``num_workers`` 0 and 2, one epoch each after ``TTSTask.prepare_dataset`` warmed the g2p cache;
- the padding ratio of each batch type, (padded - real) / real samples of speech over all batches;
- the median time of a forward + backward + Adam step of the default small Tacotron2 on one of
  those batches, and the ratio (batches/s the loader delivers) / (batches/s training consumes),
  target >= 10.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from espeak_corpus import FS, make_corpus  # noqa: E402

from espkit.iterators.sequence_iter_factory import SequenceIterFactory  # noqa: E402
from espkit.samplers.build_batch_sampler import BATCH_TYPES, build_batch_sampler  # noqa: E402
from espkit.samplers.shape_file import load_shape_file  # noqa: E402
from espkit.tasks.iter_factory_builder import ensure_shape_files  # noqa: E402
from espkit.tasks.tts import TTSTask  # noqa: E402
from espkit.train.dataset import ESPnetDataset  # noqa: E402

THREADS = 2
TARGET_BATCH_SIZE = 16
FOLD_LENGTHS = [150000, 150]  # speech samples, text tokens (the order of TTSTask.shape_data_names())
TTS_CONF = (
    "{embed_dim: 128, elayers: 1, eunits: 256, econv_layers: 2, econv_chans: 256, adim: 128, aconv_chans: 32,"
    " dlayers: 1, dunits: 256, prenet_units: 128, postnet_layers: 3, postnet_chans: 256, reduction_factor: 2,"
    " use_guided_attn_loss: true}"
)
FEATS_CONF = f"{{fs: {FS}, n_fft: 1024, hop_length: 256, n_mels: 80, fmin: 80, fmax: 7600}}"


def write_token_list(text_file: Path, path: Path) -> list:
    """Phoneme token list of the corpus: ``<blank>``, ``<unk>``, sorted tokens (``<space>`` among them), ``<sos/eos>``."""
    from espkit.text.build_tokenizer import build_tokenizer
    from espkit.text.cleaner import TextCleaner

    tokenizer = build_tokenizer("phn", g2p_type="espeak_ng_english")
    cleaner = TextCleaner("english")
    texts = [line.split(maxsplit=1)[1] for line in text_file.open(encoding="utf-8") if line.strip()]
    tokens = {token for line in tokenizer.text2tokens_batch([cleaner(t) for t in texts]) for token in line}
    tokens |= {"<space>"}
    tokens -= {"<blank>", "<unk>", "<sos/eos>"}
    token_list = ["<blank>", "<unk>", *sorted(tokens), "<sos/eos>"]
    path.write_text("\n".join(token_list) + "\n", encoding="utf-8")
    return token_list


def padding_ratio(batches, lengths: dict) -> float:
    """(padded - real) / real elements of ``lengths`` over ``batches``."""
    real = sum(lengths[uid] for batch in batches for uid in batch)
    padded = sum(len(batch) * max(lengths[uid] for uid in batch) for batch in batches)
    return (padded - real) / real


def choose_batch_bins(shape_files: list, target: int) -> int:
    """``batch_bins`` for which ``numel`` batches hold ``target`` utterances on average."""
    totals = [sum(shape[0] for shape in load_shape_file(path).values()) for path in shape_files]
    num_utts = len(load_shape_file(shape_files[0]))
    bins = int(target * sum(totals) / num_utts)
    best = None
    for _ in range(8):
        sampler = build_batch_sampler("numel", None, bins, shape_files)
        mean_size = num_utts / len(sampler)
        if best is None or abs(mean_size - target) < abs(best[1] - target):
            best = (bins, mean_size)
        if abs(mean_size - target) < 0.25:
            break
        bins = int(bins * target / mean_size)
    return best[0]


def loader_epoch(dataset, batches, collate_fn, num_workers: int) -> tuple:
    """Seconds and utterances of one shuffled epoch through ``SequenceIterFactory``."""
    factory = SequenceIterFactory(
        dataset, batches, seed=0, shuffle=True, collate_fn=collate_fn, num_workers=num_workers
    )
    start = time.perf_counter()
    num_utts = 0
    for uids, batch in factory.build_iter(epoch=1):
        num_utts += len(uids)
        assert batch["speech"].shape[0] == len(uids)
    return time.perf_counter() - start, num_utts


def train_step_seconds(model, optimizer, batch: dict, warmup: int = 2, repeats: int = 5) -> float:
    """Median seconds of forward + backward + Adam step on ``batch``."""
    model.train()
    times = []
    for i in range(warmup + repeats):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss, _, _ = model(**batch)
        loss.backward()
        optimizer.step()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus_dir", type=Path, default=Path("/tmp/espkit_bench_corpus"))
    parser.add_argument("--num_sentences", type=int, default=300, help="Harvard sentences (x 4 emotions)")
    parser.add_argument("--write", type=Path, default=None, help="Append a section to this markdown file")
    args_cli = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)

    t0 = time.perf_counter()
    corpus_dir = args_cli.corpus_dir / f"harvard{args_cli.num_sentences}"
    corpus = make_corpus(corpus_dir, args_cli.num_sentences)
    corpus_s = time.perf_counter() - t0
    work_dir = Path(tempfile.mkdtemp(prefix="espkit_bench_data_"))
    token_list = write_token_list(corpus["text"], work_dir / "tokens.txt")

    cmd = [
        "--output_dir",
        str(work_dir / "exp"),
        "--token_list",
        str(work_dir / "tokens.txt"),
        "--token_type",
        "phn",
        "--g2p",
        "espeak_ng_english",
        "--cleaner",
        "english",
        "--tts",
        "tacotron2",
        "--tts_conf",
        TTS_CONF,
        "--feats_extract",
        "fbank",
        "--feats_extract_conf",
        FEATS_CONF,
        "--normalize",
        "none",
        "--optim",
        "adam",
        "--train_data_path_and_name_and_type",
        f"{corpus['wav.scp']},speech,sound",
        "--train_data_path_and_name_and_type",
        f"{corpus['text']},text,text",
    ]
    args = TTSTask.resolve_args(TTSTask.get_parser().parse_args(cmd))

    dataset = ESPnetDataset(
        [("%s" % corpus["wav.scp"], "speech", "sound"), ("%s" % corpus["text"], "text", "text")],
        preprocess=TTSTask.build_preprocess_fn(args, train=True),
        fs=TTSTask.expected_fs(args),
    )
    t0 = time.perf_counter()
    TTSTask.prepare_dataset(args, dataset)  # one batched g2p call; later lookups hit the cache
    warmup_s = time.perf_counter() - t0
    shape_files = ensure_shape_files([], dataset, TTSTask.shape_data_names(), work_dir / "shapes")
    assert [Path(f).name for f in shape_files] == ["speech_shape", "text_shape"], shape_files
    speech_lengths = {uid: shape[0] for uid, shape in load_shape_file(shape_files[0]).items()}
    collate_fn = TTSTask.build_collate_fn(args, train=True)

    batch_bins = choose_batch_bins(shape_files, TARGET_BATCH_SIZE)
    samplers = {
        batch_type: build_batch_sampler(
            batch_type, TARGET_BATCH_SIZE, batch_bins, shape_files, fold_lengths=FOLD_LENGTHS
        )
        for batch_type in BATCH_TYPES
    }
    batches = list(samplers["numel"])
    # The same batch types sorting by text length instead (text shape file first, as ESPnet's tts.sh).
    text_first = [shape_files[1], shape_files[0]]
    text_sorted = {
        batch_type: build_batch_sampler(
            batch_type, TARGET_BATCH_SIZE, batch_bins, text_first, fold_lengths=FOLD_LENGTHS[::-1]
        )
        for batch_type in BATCH_TYPES
        if batch_type != "unsorted"
    }

    loader = {}
    for num_workers in (0, 2):
        seconds, num_utts = loader_epoch(dataset, batches, collate_fn, num_workers)
        loader[num_workers] = (num_utts / seconds, len(batches) / seconds)

    # Training step on the batch of median padded speech length.
    by_size = sorted(batches, key=lambda b: len(b) * max(speech_lengths[u] for u in b))
    step_batch_uids = by_size[len(by_size) // 2]
    _, step_batch = collate_fn([dataset[uid] for uid in step_batch_uids])
    model = TTSTask.build_model(args)
    optimizer = TTSTask.build_optimizers(args, model)[0]
    step_s = train_step_seconds(model, optimizer, step_batch)
    train_batches_per_s = 1.0 / step_s

    num_utts = len(dataset)
    hours = sum(speech_lengths.values()) / FS / 3600
    lines = [
        f"## Data pipeline ({time.strftime('%Y-%m-%d')}, {platform.machine()} {platform.processor() or ''}".rstrip()
        + f", {platform.system()} {platform.release()}, Python {platform.python_version()}, torch {torch.__version__}, "
        f"{THREADS} threads, load average {os.getloadavg()[0]:.1f} at the end)",
        "",
        f"Corpus: {num_utts} utterances ({args_cli.num_sentences} Harvard sentences x 4 emotions, espeak-ng, "
        f"{FS} Hz, {hours * 60:.1f} min of speech; made or reused in {corpus_s:.1f} s), {len(token_list)} phoneme tokens; "
        f"g2p warm-up (`TTSTask.prepare_dataset`) {warmup_s:.2f} s. "
        f"`numel` batch_bins {batch_bins} -> {len(batches)} batches, {num_utts / len(batches):.1f} utterances each.",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    for num_workers, (utts_per_s, batches_per_s) in loader.items():
        lines.append(f"| loader, num_workers={num_workers} | {utts_per_s:.0f} utt/s ({batches_per_s:.1f} batches/s) |")
    for batch_type, sampler in samplers.items():
        option = (
            f"batch_size {TARGET_BATCH_SIZE}"
            if batch_type in ("unsorted", "sorted", "folded")
            else f"batch_bins {batch_bins}"
        )
        if batch_type == "folded":
            option += f", fold_length {FOLD_LENGTHS}"
        value = f"{padding_ratio(list(sampler), speech_lengths):.3f}"
        if batch_type in text_sorted:
            value += f" / {padding_ratio(list(text_sorted[batch_type]), speech_lengths):.3f}"
        lines.append(f"| padding ratio, `{batch_type}` ({option}; {len(sampler)} batches) | {value} |")
    lines.append(
        f"| Tacotron2 train step, batch of {len(step_batch_uids)} (speech {tuple(step_batch['speech'].shape)}), "
        f"median of 5 | {step_s:.3f} s ({train_batches_per_s:.2f} batches/s) |"
    )
    for num_workers, (_, batches_per_s) in loader.items():
        ratio = batches_per_s / train_batches_per_s
        verdict = "meets" if ratio >= 10 else "misses"
        lines.append(
            f"| loader / training batches/s, num_workers={num_workers} | {ratio:.1f} ({verdict} target >= 10) |"
        )
    lines += [
        "",
        "Padding ratio = (padded - real) / real speech samples over all batches. `unsorted` keeps uid order "
        "(utterances of one emotion together); the others sort by their first shape file: speech_shape first "
        "(as `TTSTask` passes them) / text_shape first (as ESPnet's tts.sh does). The emotions change the speaking rate (espeak-ng "
        "-s 125..205), so text length predicts speech length poorly.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args_cli.write is not None:
        args_cli.write.parent.mkdir(parents=True, exist_ok=True)
        with args_cli.write.open("a", encoding="utf-8") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
