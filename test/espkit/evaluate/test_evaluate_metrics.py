import math

import numpy as np
import pytest

from espkit.evaluate.dtw import dtw_path, euclidean_cost
from espkit.evaluate.emotion_accuracy import ProsodyEmotionClassifier, accuracy, confusion_matrix
from espkit.evaluate.mel_cepstrum import mel_cepstrum
from espkit.evaluate.spectral_metrics import FrameConfig, compare_waveforms, mcd_of_path

FS = 8000
CONFIG = FrameConfig(fs=FS, n_fft=256, hop_length=64, order=16)


def harmonic_tone(f0: float, seconds: float, formant: float = 800.0, seed: int = 0) -> np.ndarray:
    t = np.arange(int(FS * seconds)) / FS
    wave = np.zeros_like(t)
    for k in range(1, int(3500 / f0)):
        gain = np.exp(-((((k * f0) - formant) / 500.0) ** 2)) + 0.05
        wave += gain * np.sin(2 * np.pi * k * f0 * t)
    return 0.5 * wave / np.abs(wave).max() + 1e-4 * np.random.default_rng(seed).standard_normal(len(t))


def vowel_sequence(durations: list[float]) -> np.ndarray:
    """Segments with different spectral envelopes (formants), the same F0."""
    formants = [400.0, 1200.0, 2400.0, 800.0]
    return np.concatenate([harmonic_tone(150.0, d, f, seed=i) for i, (d, f) in enumerate(zip(durations, formants))])


def test_mcd_of_identical_and_scaled_signals_is_zero():
    wav = vowel_sequence([0.2, 0.2, 0.2, 0.2])
    assert compare_waveforms(wav, wav, CONFIG)["mcd_db"] == pytest.approx(0.0, abs=1e-9)
    # a gain only changes c0, which MCD leaves out
    ref, louder = mel_cepstrum(wav, FS, 256, 64, 16), mel_cepstrum(0.5 * wav, FS, 256, 64, 16)
    np.testing.assert_allclose(ref[:, 0] - louder[:, 0], math.log(2.0), atol=1e-2)  # exact but for floored bins
    path = np.stack([np.arange(len(ref))] * 2, axis=1)
    assert mcd_of_path(ref, louder, path) < 0.05


def test_mcd_formula_on_known_cepstra():
    ref = np.zeros((3, 4))
    syn = np.zeros((3, 4))
    syn[:, 0] = 5.0  # c0 ignored
    syn[:, 1] = 0.1
    path = np.array([[0, 0], [1, 1], [2, 2]])
    assert mcd_of_path(ref, syn, path) == pytest.approx(10 / math.log(10) * math.sqrt(2 * 0.01))


def test_dtw_aligns_a_time_stretched_copy():
    ref = vowel_sequence([0.2, 0.2, 0.2, 0.2])
    stretched = vowel_sequence([0.3, 0.15, 0.3, 0.2])
    metrics = compare_waveforms(ref, stretched, CONFIG)
    # without warping, frames are compared at proportional positions
    ref_c, syn_c = mel_cepstrum(ref, FS, 256, 64, 16), mel_cepstrum(stretched, FS, 256, 64, 16)
    linear = np.stack([np.arange(len(ref_c)), np.round(np.linspace(0, len(syn_c) - 1, len(ref_c))).astype(int)], 1)
    assert metrics["mcd_db"] < 1.5
    assert metrics["mcd_db"] < 0.5 * mcd_of_path(ref_c, syn_c, linear)
    assert metrics["duration_ratio"] == pytest.approx(len(stretched) / len(ref))


def test_dtw_path_on_a_known_cost_matrix():
    cost = np.array([[0, 5, 5], [5, 0, 5], [5, 0, 5], [5, 5, 0]], dtype=float)
    path = dtw_path(cost)
    assert path.tolist() == [[0, 0], [1, 1], [2, 1], [3, 2]]
    with pytest.raises(ValueError, match="non-empty"):
        dtw_path(np.zeros((0, 3)))
    np.testing.assert_allclose(euclidean_cost(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])), [[5.0]])


def test_f0_rmse_of_a_five_percent_shifted_tone():
    ref = harmonic_tone(200.0, 0.6)
    syn = harmonic_tone(210.0, 0.6)
    metrics = compare_waveforms(ref, syn, CONFIG)
    assert metrics["f0_rmse_cents"] == pytest.approx(1200 * math.log2(1.05), abs=6.0)
    assert metrics["vuv_error"] < 0.05 and metrics["both_voiced"] > 50
    assert metrics["f0_rmse_coverage"] > 0.95 and metrics["gpe"] == 0.0  # 5 % is no gross error
    assert metrics["ffe"] == pytest.approx(metrics["vuv_error"])


def test_confusion_matrix_counts_and_accuracy():
    labels = ["neutral", "happy", "sad"]
    matrix = confusion_matrix(["happy", "happy", "sad", "neutral"], ["happy", "sad", "sad", "happy"], labels)
    assert matrix.tolist() == [[0, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert accuracy(matrix) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="'angry' is not in"):
        confusion_matrix(["angry"], ["sad"], labels)


def test_classifier_separates_clusters_and_checks_labels():
    rng = np.random.default_rng(0)
    centres = {"neutral": [0.0, 0.0], "happy": [5.0, 0.0], "sad": [0.0, 5.0]}
    features = np.concatenate([rng.normal(c, 0.5, size=(20, 2)) for c in centres.values()])
    labels = [name for name in centres for _ in range(20)]
    clf = ProsodyEmotionClassifier(list(centres)).fit(features, labels)
    assert clf.predict(np.array([[5.0, 0.2], [0.1, 4.8], [0.0, 0.0]])) == ["happy", "sad", "neutral"]
    np.testing.assert_allclose(clf.predict_proba(features).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match=r"\['angry'\] are not in"):
        ProsodyEmotionClassifier(list(centres)).fit(features[:1], ["angry"])
