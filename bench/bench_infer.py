"""Inference speed: model load time, real-time factors of the acoustic model, of Griffin-Lim and of a trained
vocoder, time to first audio.

    python bench/bench_infer.py [--num_sentences 20] [--num_threads 2] [--write docs/benchmarks.md]
    python bench/bench_infer.py --train_config exp/tts/config.yaml --model_file exp/tts/valid.loss.best.pth \
        [--vocoder_file exp/vocoder/train.total_count.best.pth [--vocoder_config exp/vocoder/config.yaml]]

With ``--train_config``/``--model_file`` it times that model (decoding stops at its stop token).
Without them it builds the anchor-sized Tacotron2 UNTRAINED (random weights; embed_dim 128, eunits 256,
econv_layers 2, econv_chans 256, adim 128, dunits 256, dlayers 1, prenet_units 128, postnet_layers 3,
postnet_chans 256, r 2; 80-bin log-mel at 22.05 kHz, hop 256; char tokens) and, since an untrained model
never emits its stop token, decodes every sentence to a FIXED length of ``--frames_per_token`` (7) frames
per input token (``maxlenratio``, stop threshold > 1): about 12 characters a second, a realistic speaking
rate. The times are then those of real-length utterances, but the audio itself is noise.

Measured on ``--num_threads`` threads over the first N recipe eval sentences (Harvard sentences,
``$ESPKIT_SENTENCES``): load time of ``Text2Speech`` (config + weights + Griffin-Lim), the median over
sentences of (acoustic model time / audio duration) and of (Griffin-Lim time, 32 iterations / audio
duration), and the time to first audio (first sentence after loading: text to waveform, acoustic + vocoder).

With ``--vocoder_file`` (and ``--vocoder_config``, as for tts_inference; its feature settings must be the
model's) the trained vocoder is timed beside Griffin-Lim, on the same machine, threads and sentences: on
each sentence the acoustic model's features are vocoded by Griffin-Lim (inside ``Text2Speech``) and then
by the vocoder, and the table gains its load time, the median over sentences of (vocoder time / duration
of its audio) and the total RTF with it. Its weights do not change its speed: an untrained vocoder of the
same configuration gives the same figure.

With ``--fastspeech2_config``/``--fastspeech2_model_file`` (a trained FastSpeech2 or FastSpeech, e.g.
``exp/tts_fastspeech2/config.yaml`` and its ``valid.loss.best.pth``) that model is timed too, on the same
machine, threads and sentences, after the Tacotron2 one: the table gains its load time and the median
over sentences of its acoustic model time / duration of its audio (the audio of its own durations;
Griffin-Lim is run as for Tacotron2, only the acoustic time counts), beside Tacotron2's acoustic RTF.
Its prosody controls are the defaults (alpha 1).

Transformer-TTS lines: with ``--transformer_config``/``--transformer_model_file`` (a trained
``tts: transformer``) that model, otherwise an UNTRAINED one built from the recipe's
``egs/espeak_emo/tts1/conf/tuning/train_transformer.yaml`` (same token list and features as the anchor
Tacotron2, decoded to the same fixed length; ``--no_transformer`` leaves it out), is timed on the same
sentences twice: with its key/value cache (``use_cache``, the default of ``Text2Speech``) and without
(every decoder layer recomputed over the whole prefix at each step). Both runs are seeded alike and must
give the same features (checked; the script stops if they differ). The table gains both acoustic RTFs
and their ratio.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
ANCHOR_TTS_CONF = (
    "{embed_dim: 128, eunits: 256, econv_layers: 2, econv_chans: 256, adim: 128, dunits: 256, dlayers: 1, "
    "prenet_units: 128, postnet_layers: 3, postnet_chans: 256, reduction_factor: 2}"
)
ANCHOR_FEATS_CONF = "{fs: 22050, n_fft: 1024, hop_length: 256, n_mels: 80, fmin: 80, fmax: 7600}"
RECIPE_TRANSFORMER = REPO_ROOT / "egs" / "espeak_emo" / "tts1" / "conf" / "tuning" / "train_transformer.yaml"


def sentences_file() -> Path:
    return Path(os.environ.get("ESPKIT_SENTENCES", REPO_ROOT / ".." / "shared" / "data" / "harvard_sentences.txt"))


def build_untrained_model(work_dir: Path, tts: str = "tacotron2_controllable", tts_conf: str = ANCHOR_TTS_CONF):
    """Write config.yaml and random weights of an untrained ``tts`` model (default: the anchor-sized
    controllable Tacotron2) with char tokens and the anchor's features into ``work_dir``; return their paths."""
    from espkit.tasks.tts import TTSTask

    work_dir.mkdir(parents=True, exist_ok=True)
    tokens = ["<blank>", "<unk>", "<space>", *string.ascii_lowercase, *".,'?!-", "<sos/eos>"]
    (work_dir / "tokens.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    args = TTSTask.get_parser().parse_args(
        [
            "--output_dir",
            str(work_dir),
            "--token_list",
            str(work_dir / "tokens.txt"),
            "--token_type",
            "char",
            "--cleaner",
            "english",
            "--emo_list",
            "neutral,happy,sad,angry",
            "--tts",
            tts,
            "--feats_extract_conf",
            ANCHOR_FEATS_CONF,
            "--normalize",
            "none",
            "--tts_conf",
            tts_conf,
        ]
    )
    TTSTask.resolve_args(args)
    torch.manual_seed(0)
    model = TTSTask.build_model(args)
    config = TTSTask.dump_config(args, work_dir)
    torch.save(model.state_dict(), work_dir / "model.pth")
    return config, work_dir / "model.pth"


def acoustic_rtfs(tts, sentences: list[str]) -> tuple[list[float], list[torch.Tensor]]:
    """Per sentence (after one warm-up sentence): acoustic model time / audio duration, and the features."""
    emotion = tts.emotions.emo_list[0] if tts.emotions is not None else None
    tts(sentences[0], emo_labs=emotion)
    rtfs, feats = [], []
    for sentence in sentences:
        out = tts(sentence, emo_labs=emotion)
        rtfs.append(tts.last_timing["acoustic_s"] / tts.last_timing["audio_s"])
        feats.append(out["feat_gen"])
    return rtfs, feats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train_config", type=Path, default=None, help="A trained model's config.yaml")
    parser.add_argument("--model_file", type=Path, default=None, help="Its weights (or a packed .zip)")
    parser.add_argument("--num_sentences", type=int, default=20)
    parser.add_argument("--num_threads", type=int, default=2)
    parser.add_argument("--frames_per_token", type=float, default=7.0, help="Fixed length of untrained decoding")
    parser.add_argument("--griffin_lim_iters", type=int, default=32)
    parser.add_argument("--vocoder_file", type=Path, default=None, help="A trained vocoder to time beside Griffin-Lim")
    parser.add_argument(
        "--vocoder_config", type=Path, default=None, help="Its config.yaml (default: the one beside --vocoder_file)"
    )
    parser.add_argument(
        "--fastspeech2_config", type=Path, default=None, help="A trained FastSpeech2/FastSpeech config.yaml to time too"
    )
    parser.add_argument("--fastspeech2_model_file", type=Path, default=None, help="Its weights (or a packed .zip)")
    parser.add_argument(
        "--transformer_config", type=Path, default=None, help="A trained Transformer-TTS config.yaml to time too"
    )
    parser.add_argument("--transformer_model_file", type=Path, default=None, help="Its weights (or a packed .zip)")
    parser.add_argument(
        "--no_transformer", action="store_true", help="Without a trained one, leave the untrained Transformer out"
    )
    parser.add_argument("--write", type=Path, default=None, help="Append a section to this markdown file")
    cli = parser.parse_args()
    if cli.fastspeech2_config is not None and cli.fastspeech2_model_file is None:
        parser.error("--fastspeech2_config needs --fastspeech2_model_file")
    if (cli.transformer_config is None) != (cli.transformer_model_file is None):
        parser.error("--transformer_config and --transformer_model_file go together")
    logging.basicConfig(level=logging.WARNING)
    for name in ("espkit.tts.tacotron2.decoder", "espkit.tts.transformer.transformer"):
        logging.getLogger(name).setLevel(logging.ERROR)  # "reached maxlen" is intended in fixed-length decoding
    torch.set_num_threads(cli.num_threads)
    from espkit.bin.tts_inference import Text2Speech
    from espkit.torch_utils.host_allocator import keep_freed_memory
    from espkit.tts.vocoder.build_vocoder import build_vocoder

    keep_freed_memory()  # as the tts_inference command does

    sentences = [s.strip() for s in sentences_file().read_text(encoding="utf-8").splitlines() if s.strip()]
    sentences = sentences[: cli.num_sentences]
    with tempfile.TemporaryDirectory() as tmp:
        vocoder_config = Path(tmp) / "vocoder.yaml"
        vocoder_config.write_text(f"griffin_lim_iters: {cli.griffin_lim_iters}\n")
        if cli.model_file is None:
            config, model_file = build_untrained_model(Path(tmp))
            decode = dict(threshold=1.01, minlenratio=0.0, maxlenratio=cli.frames_per_token)
            what = (
                f"anchor-sized Tacotron2, UNTRAINED, fixed length {cli.frames_per_token:g} frames per token "
                "(maxlenratio; it never stops on its own)"
            )
        else:
            config, model_file = cli.train_config, cli.model_file
            decode = {}
            what = f"trained model {model_file}"
        start = time.perf_counter()
        tts = Text2Speech(config, model_file, vocoder_config=vocoder_config, **decode)
        load_s = time.perf_counter() - start
        vocoder = None
        if cli.vocoder_file is not None:
            start = time.perf_counter()
            vocoder = build_vocoder(
                tts.model.feats_extract.get_parameters(),
                cli.vocoder_config,
                cli.vocoder_file,
                feats_source=f"{model_file} ({config})",
            ).eval()
            vocoder_load_s = time.perf_counter() - start
            vocoder_name = f"{vocoder.generator_name}, {cli.vocoder_file}"
            with torch.inference_mode():  # warm-up, as the first sentence warms Griffin-Lim up below
                vocoder(torch.zeros(8, tts.model.feats_extract.get_parameters()["n_mels"]))
        emotion = tts.emotions.emo_list[0] if tts.emotions is not None else None
        start = time.perf_counter()
        tts(sentences[0], emo_labs=emotion)
        first_audio_s = time.perf_counter() - start
        acoustic_rtf, vocoder_rtf, audio_s, frames, trained_rtf = [], [], [], [], []
        for sentence in sentences:
            out = tts(sentence, emo_labs=emotion)
            timing = tts.last_timing
            acoustic_rtf.append(timing["acoustic_s"] / timing["audio_s"])
            vocoder_rtf.append(timing["vocoder_s"] / timing["audio_s"])
            audio_s.append(timing["audio_s"])
            frames.append(out["feat_gen"].shape[0])
            if vocoder is not None:
                with torch.inference_mode():
                    start = time.perf_counter()
                    wav = vocoder(out["feat_gen_denorm"])
                    trained_rtf.append((time.perf_counter() - start) / (wav.numel() / vocoder.fs))
        fs2_rtf: list[float] = []
        if cli.fastspeech2_model_file is not None:
            start = time.perf_counter()
            fs2 = Text2Speech(cli.fastspeech2_config, cli.fastspeech2_model_file, vocoder_config=vocoder_config)
            fs2_load_s = time.perf_counter() - start
            fs2_name = f"{fs2.model_name}, {cli.fastspeech2_model_file}"
            fs2_rtf, _ = acoustic_rtfs(fs2, sentences)
        transformer_rtf: dict[bool, list[float]] = {}
        if cli.transformer_model_file is not None or (cli.model_file is None and not cli.no_transformer):
            if cli.transformer_model_file is not None:
                t_config, t_model_file, t_decode = cli.transformer_config, cli.transformer_model_file, {}
                transformer_name = f"trained Transformer, {t_model_file}"
            else:
                tts_conf = yaml.safe_load(RECIPE_TRANSFORMER.read_text(encoding="utf-8"))["tts_conf"]
                t_config, t_model_file = build_untrained_model(
                    Path(tmp) / "transformer", "transformer", json.dumps(tts_conf)
                )
                t_decode = decode
                transformer_name = (
                    f"Transformer of {RECIPE_TRANSFORMER.relative_to(REPO_ROOT)}, UNTRAINED, fixed length"
                )
            transformer_feats = {}
            for use_cache in (True, False):
                transformer = Text2Speech(
                    t_config,
                    t_model_file,
                    vocoder_config=vocoder_config,
                    use_cache=use_cache,
                    always_fix_seed=True,
                    **t_decode,
                )
                transformer_rtf[use_cache], transformer_feats[use_cache] = acoustic_rtfs(transformer, sentences)
            for cached, uncached in zip(transformer_feats[True], transformer_feats[False]):
                if cached.shape != uncached.shape or not torch.allclose(cached, uncached, atol=1e-4):
                    raise SystemExit("Transformer: cached and uncached decoding gave different features")
    rows = [
        ("model load (Text2Speech: config, weights, Griffin-Lim)", f"{load_s:.2f} s"),
        ("RTF acoustic model (median over sentences)", f"{statistics.median(acoustic_rtf):.3f}"),
        ("RTF Griffin-Lim (median over sentences)", f"{statistics.median(vocoder_rtf):.3f}"),
        ("RTF total", f"{statistics.median([a + v for a, v in zip(acoustic_rtf, vocoder_rtf)]):.3f}"),
        ("time to first audio (first sentence after load)", f"{first_audio_s:.2f} s"),
    ]
    if trained_rtf:  # beside Griffin-Lim's rows
        total = statistics.median([a + v for a, v in zip(acoustic_rtf, trained_rtf)])
        rows.insert(1, (f"vocoder load ({vocoder_name})", f"{vocoder_load_s:.2f} s"))
        rows.insert(
            4, (f"RTF vocoder ({vocoder_name}; median over sentences)", f"{statistics.median(trained_rtf):.3f}")
        )
        rows.insert(6, ("RTF total with the vocoder", f"{total:.3f}"))
    if fs2_rtf:  # after Tacotron2's acoustic RTF row
        at = next(i for i, (name, _) in enumerate(rows) if name.startswith("RTF acoustic model")) + 1
        rows.insert(
            at, (f"RTF acoustic model, {fs2_name} (median over sentences)", f"{statistics.median(fs2_rtf):.3f}")
        )
        rows.insert(at + 1, (f"model load ({fs2_name})", f"{fs2_load_s:.2f} s"))
    if transformer_rtf:  # after the acoustic RTF rows
        at = max(i for i, (name, _) in enumerate(rows) if name.startswith("RTF acoustic model")) + 1
        cached, uncached = (statistics.median(transformer_rtf[flag]) for flag in (True, False))
        rows[at:at] = [
            (f"RTF acoustic model, {transformer_name}, key/value cache (median over sentences)", f"{cached:.3f}"),
            (f"RTF acoustic model, {transformer_name}, no cache (median over sentences)", f"{uncached:.3f}"),
            ("Transformer: no cache / cache", f"{uncached / cached:.1f}x (same features, checked)"),
        ]
    lines = [
        f"## Inference speed ({time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, {cli.num_threads} threads)",
        "",
        f"Model: {what}. {len(sentences)} Harvard sentences, {statistics.median(audio_s):.2f} s of audio each "
        f"(median; {statistics.median(frames):.0f} frames); Griffin-Lim {cli.griffin_lim_iters} iterations.",
        "",
        "| measure | value |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in rows],
    ]
    lines += [
        "",
        "RTF = synthesis time / audio duration (below 1 is faster than real time).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if cli.write is not None:
        cli.write.parent.mkdir(parents=True, exist_ok=True)
        with cli.write.open("a", encoding="utf-8") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
