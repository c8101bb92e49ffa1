"""Does the synthesized speech sound like the emotion asked for? A prosody classifier.

Features: :data:`CLASSIFIER_FEATURES` of the :func:`espkit.tts.emotion.prosody.prosody_from_frames`
statistics of each waveform (log-F0 mean, log-energy mean, letters per second), from the
evaluation's F0 tracker (:mod:`espkit.evaluate.f0_metrics`, the one setting
of every F0 figure) and STFT energy. Classifier: multinomial logistic regression on
standardized features with L2 regularisation, fitted by full-batch gradient descent (numpy).
It is fitted on the *reference* recordings of the training set and applied to synthesized
eval utterances; accuracy counts how often its decision equals the emotion asked for.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from espkit.evaluate.f0_metrics import track_f0
from espkit.tts.emotion.prosody import prosody_component_names, prosody_from_frames
from espkit.tts.feats_extract.energy import Energy

if TYPE_CHECKING:
    from espkit.evaluate.f0_metrics import F0Track
    from espkit.evaluate.spectral_metrics import FrameConfig

logger = logging.getLogger(__name__)


#: The statistics the classifier reads: the utterance's pitch level, loudness and speaking rate.
#: Chosen on dev references and their copy-synthesis (``bench/validate_emotion_classifier.py``,
#: docs/design.md): the spread statistics and the voiced ratio move with the vocoder, not the emotion.
CLASSIFIER_FEATURES = ("logf0_mean", "log_energy_mean", "tokens_per_s")


def prosody_features(
    wav: np.ndarray,
    num_tokens: int | None,
    config: "FrameConfig",
    track: "F0Track | None" = None,
    components: Sequence[str] | None = CLASSIFIER_FEATURES,
) -> np.ndarray:
    """Prosody statistics ``(D,)`` of one waveform ``(T,)`` (see the module docstring).

    F0 comes from the evaluation's one tracker (:func:`espkit.evaluate.f0_metrics.track_f0` with
    ``config``, the setting of every other F0 figure); pass ``track`` when it is already computed.
    ``components``: the statistics returned, in this order (names of
    :func:`espkit.tts.emotion.prosody.prosody_component_names`; None: all of them).
    """

    wav = np.asarray(wav, dtype=np.float64).reshape(-1)
    if track is None:
        track = track_f0(wav, config)
    energy, _ = Energy(fs=config.fs, n_fft=config.n_fft, hop_length=config.hop_length)(torch.from_numpy(wav)[None])
    num_frames = min(len(track.f0), energy.size(1))
    stats = prosody_from_frames(
        track.f0[:num_frames], energy[0, :num_frames, 0].numpy(), num_tokens, config.fs, config.hop_length
    )
    if components is None:
        return stats
    names = prosody_component_names()
    unknown = sorted(set(components) - set(names))
    if unknown:
        raise ValueError(f"unknown prosody statistics {unknown}; valid: {', '.join(names)}")
    return stats[[names.index(name) for name in components]]


class ProsodyEmotionClassifier:
    """Standardize, then multinomial logistic regression.

    >>> clf = ProsodyEmotionClassifier(["a", "b"]).fit(np.array([[0.0], [1.0]]), ["a", "b"])
    >>> clf.predict(np.array([[-1.0], [2.0]]))
    ['a', 'b']
    """

    def __init__(self, labels: Sequence[str], l2: float = 1e-3, learning_rate: float = 0.5, num_iters: int = 2000):
        if len(labels) < 2:
            raise ValueError(f"need at least two emotion labels, got {list(labels)}")
        self.labels = list(labels)
        self.l2 = l2
        self.learning_rate = learning_rate
        self.num_iters = num_iters
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None
        self.weight: np.ndarray | None = None  # (D + 1, L), last row = bias

    def _design(self, features: np.ndarray) -> np.ndarray:
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        return np.concatenate([z, np.ones((z.shape[0], 1))], axis=1)

    def fit(self, features: np.ndarray, labels: Sequence[str]) -> "ProsodyEmotionClassifier":
        """Fit on ``features`` ``(N, D)`` with one label per row."""
        features = np.asarray(features, dtype=np.float64)
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ValueError(f"labels {unknown} are not in the label list {self.labels}")
        target = np.zeros((len(labels), len(self.labels)))
        target[np.arange(len(labels)), [self.labels.index(label) for label in labels]] = 1.0
        self.mean = features.mean(axis=0)
        std = features.std(axis=0)
        self.scale = np.where(std > 1e-12, std, 1.0)
        design = self._design(features)
        weight = np.zeros((design.shape[1], len(self.labels)))
        for _ in range(self.num_iters):
            probs = self._softmax(design @ weight)
            grad = design.T @ (probs - target) / len(design)
            grad[:-1] += self.l2 * weight[:-1]
            weight -= self.learning_rate * grad
        self.weight = weight
        return self

    @staticmethod
    def _softmax(logits: np.ndarray) -> np.ndarray:
        logits = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, L)`` in the order of ``labels``."""
        if self.weight is None:
            raise RuntimeError("ProsodyEmotionClassifier.fit must be called first")
        return self._softmax(self._design(np.atleast_2d(features)) @ self.weight)

    def predict(self, features: np.ndarray) -> list[str]:
        """Most probable label per row of ``features`` ``(N, D)``."""
        return [self.labels[i] for i in self.predict_proba(features).argmax(axis=1)]


def confusion_matrix(asked: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Counts ``(L, L)``: row = emotion asked (true), column = emotion recognised."""
    if len(asked) != len(predicted):
        raise ValueError(f"{len(asked)} true labels but {len(predicted)} predictions")
    labels = list(labels)
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for true, pred in zip(asked, predicted):
        for label in (true, pred):
            if label not in labels:
                raise ValueError(f"label {label!r} is not in {labels}")
        matrix[labels.index(true), labels.index(pred)] += 1
    return matrix


def accuracy(matrix: np.ndarray) -> float:
    """Trace / total of a confusion matrix (NaN when empty)."""
    total = matrix.sum()
    return float(np.trace(matrix) / total) if total else float("nan")


def plot_confusion_matrix(matrix: np.ndarray, labels: Sequence[str], path, title: str) -> None:
    """Write the confusion matrix as a PNG (matplotlib imported here, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("recognised")
    ax.set_ylabel("asked")
    ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                str(matrix[i, j]),
                ha="center",
                va="center",
                color="white" if matrix[i, j] > matrix.max() / 2 else "black",
            )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
