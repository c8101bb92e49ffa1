"""Make a tiny TTS data directory with synthetic audio (fast; no espeak-ng needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from espkit.fileio.sound_scp import SoundScpWriter

TEXTS = ["ab ba", "abc", "cab ab", "bca cb", "a b c", "cc aa", "bab", "acab ba"]
EMOTIONS = ["neutral", "happy", "sad", "angry"]
TOKENS = ["<blank>", "<unk>", "<space>", "a", "b", "c", "<sos/eos>"]


def make_tiny_corpus(root: Path, fs: int = 8000, num_utts: int = 8, seed: int = 0) -> dict:
    """Write ``wav.scp``, ``text``, ``utt2emo`` and ``tokens.txt`` under ``root``; return their paths."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    texts, emos = {}, {}
    with SoundScpWriter(root / "wav", root / "wav.scp") as writer:
        for i in range(num_utts):
            uid = f"{EMOTIONS[i % 4]}_{i:04d}"
            text = TEXTS[i % len(TEXTS)]
            num_samples = int(fs * (0.15 + 0.03 * len(text)))
            t = np.arange(num_samples) / fs
            f0 = 120.0 + 40.0 * (i % 4)
            wave = 0.3 * np.sin(2 * np.pi * f0 * t) + 0.01 * rng.standard_normal(num_samples)
            writer[uid] = (fs, wave.astype(np.float32))
            texts[uid] = text
            emos[uid] = EMOTIONS[i % 4]
    (root / "text").write_text("".join(f"{u} {t}\n" for u, t in texts.items()))
    (root / "utt2emo").write_text("".join(f"{u} {e}\n" for u, e in emos.items()))
    (root / "tokens.txt").write_text("\n".join(TOKENS) + "\n")
    return {
        "wav.scp": root / "wav.scp",
        "text": root / "text",
        "utt2emo": root / "utt2emo",
        "tokens": root / "tokens.txt",
    }


def tiny_train_args(data: dict, output_dir: Path, extra: list | None = None) -> list:
    """Command-line arguments for a very small controllable Tacotron2 run on :func:`make_tiny_corpus`."""
    d = [f"{data['wav.scp']},speech,sound", f"{data['text']},text,text", f"{data['utt2emo']},emo_labs,text"]
    args = [
        "--output_dir",
        str(output_dir),
        "--token_list",
        str(data["tokens"]),
        "--token_type",
        "char",
        "--cleaner",
        "none",
        "--emo_list",
        ",".join(EMOTIONS),
        "--tts",
        "tacotron2_controllable",
        "--feats_extract_conf",
        "{fs: 8000, n_fft: 256, hop_length: 64, n_mels: 8, fmin: 0, fmax: 4000}",
        "--tts_conf",
        "{embed_dim: 8, eunits: 8, econv_layers: 1, econv_chans: 8, adim: 8, aconv_chans: 4,"
        " aconv_filts: 3, dlayers: 1, dunits: 16, prenet_units: 8, postnet_layers: 1, postnet_chans: 8,"
        " reduction_factor: 2, emo_embed_dim: 4}",
        "--batch_type",
        "numel",
        "--batch_bins",
        "20000",
        "--num_workers",
        "0",
        "--seed",
        "0",
        "--max_epoch",
        "2",
        "--num_att_plot",
        "0",
    ]
    for entry in d:
        args += ["--train_data_path_and_name_and_type", entry, "--valid_data_path_and_name_and_type", entry]
    return args + (extra or [])
