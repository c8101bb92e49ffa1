#!/usr/bin/env python3
"""Choose the evaluation's emotion-classifier features on references and copy-synthesis only.

    python bench/validate_emotion_classifier.py --train_dir egs/espeak_emo/tts1/dump/raw/train \\
        --dev_dir egs/espeak_emo/tts1/dump/raw/dev --train_config egs/espeak_emo/tts1/conf/train.yaml

The prosody classifier of ``espkit.bin.tts_evaluate`` is fitted on training references and then
reads synthesized speech, whose vocoder changes some statistics without changing the emotion
(Griffin-Lim lowers the voicing, for one). For each candidate feature set it fits the classifier
on (up to 400) training references and reports its accuracy on the dev references and on their
copy-synthesis (:class:`espkit.evaluate.copy_synthesis.CopySynthesis`, the recipe's features and
vocoder), all with the evaluation's one F0 tracker setting.

Selection rule, fixed before looking at any figure: the set with the highest copy-synthesis
accuracy among those whose reference accuracy is at least 0.95 (ties: the smaller set). No output
of a trained system is read.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from espkit.evaluate.copy_synthesis import CopySynthesis  # noqa: E402
from espkit.evaluate.emotion_accuracy import ProsodyEmotionClassifier, prosody_features  # noqa: E402
from espkit.evaluate.spectral_metrics import FrameConfig  # noqa: E402
from espkit.fileio.read_text import read_2columns_text  # noqa: E402
from espkit.fileio.sound_scp import read_wav  # noqa: E402
from espkit.tts.emotion.prosody import prosody_component_names  # noqa: E402
from espkit.utils.config_argparse import load_yaml_config  # noqa: E402

logger = logging.getLogger("validate_emotion_classifier")

CANDIDATES = {
    "all": prosody_component_names(),
    "all but voiced_ratio": [n for n in prosody_component_names() if n != "voiced_ratio"],
    "pitch, energy and rate": [
        "logf0_mean",
        "logf0_std",
        "logf0_range",
        "log_energy_mean",
        "log_energy_std",
        "tokens_per_s",
    ],
    "level only": ["logf0_mean", "log_energy_mean", "tokens_per_s"],
}


def letters(text: str) -> int:
    return max(1, sum(ch.isalpha() for ch in text))


def load_set(data_dir: Path, max_utts: int, copy: CopySynthesis | None, config: FrameConfig):
    scp, texts, emos = (read_2columns_text(data_dir / name) for name in ("wav.scp", "text", "utt2emo"))
    uids = sorted(set(scp) & set(emos))
    if max_utts and len(uids) > max_utts:
        uids = [uids[i] for i in sorted(set(np.linspace(0, len(uids) - 1, max_utts).round().astype(int)))]
    refs, copies = [], []
    for uid in uids:
        _, wav = read_wav(scp[uid], dtype="float64")
        refs.append(prosody_features(wav, letters(texts[uid]), config, components=None))
        if copy is not None:
            copies.append(prosody_features(copy(wav).astype(np.float64), letters(texts[uid]), config, components=None))
    return np.stack(refs), (np.stack(copies) if copies else None), [emos[u] for u in uids]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train_dir", type=Path, required=True)
    parser.add_argument("--dev_dir", type=Path, required=True)
    parser.add_argument("--train_config", type=Path, required=True, help="Training yaml (features, vocoder)")
    parser.add_argument("--max_train_utts", type=int, default=400)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s: %(message)s")
    conf = load_yaml_config(args.train_config)
    feats = conf.get("feats_extract_conf") or {}
    config = FrameConfig(
        fs=int(feats.get("fs", 22050)),
        n_fft=int(feats.get("n_fft", 1024)),
        hop_length=int(feats.get("hop_length", 256)),
    )
    train_x, _, train_y = load_set(args.train_dir, args.max_train_utts, None, config)
    dev_ref, dev_copy, dev_y = load_set(args.dev_dir, 0, CopySynthesis(conf), config)
    names = prosody_component_names()
    labels = sorted(set(train_y))
    results = {}
    for key, subset in CANDIDATES.items():
        columns = [names.index(n) for n in subset]
        clf = ProsodyEmotionClassifier(labels).fit(train_x[:, columns], train_y)
        ref_acc = float(np.mean(np.array(clf.predict(dev_ref[:, columns])) == np.array(dev_y)))
        copy_acc = float(np.mean(np.array(clf.predict(dev_copy[:, columns])) == np.array(dev_y)))
        results[key] = {"features": subset, "dev_reference_accuracy": ref_acc, "dev_copy_synthesis_accuracy": copy_acc}
        logger.info("%-24s dev references %.3f, dev copy-synthesis %.3f", key, ref_acc, copy_acc)
    eligible = {k: r for k, r in results.items() if r["dev_reference_accuracy"] >= 0.95}
    chosen = max(eligible, key=lambda k: (eligible[k]["dev_copy_synthesis_accuracy"], -len(eligible[k]["features"])))
    logger.info("chosen: %s %s", chosen, results[chosen]["features"])
    if args.output is not None:
        args.output.write_text(json.dumps({"chosen": chosen, "candidates": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
