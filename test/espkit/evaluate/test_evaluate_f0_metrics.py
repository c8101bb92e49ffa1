"""The evaluation's F0 tracker and the frame-level F0 figures (FFE, GPE, coverage, voicing)."""

import json
import math

import numpy as np
import pytest

from espkit.evaluate.f0_metrics import (
    YIN_THRESHOLD,
    F0Track,
    f0_frame_errors,
    pooled_f0_figures,
    track_f0,
    voicing_figures,
)
from espkit.evaluate.report import clean_for_json
from espkit.evaluate.spectral_metrics import FrameConfig

FS = 16000
CONFIG = FrameConfig(fs=FS, n_fft=1024, hop_length=160)


def harmonic_signal(f0: float, seconds: float = 0.5, snr_db: float = 30.0, seed: int = 0) -> np.ndarray:
    """A vowel-like harmonic signal at a known F0, with white noise at ``snr_db``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(FS * seconds)) / FS
    wave = sum(
        (np.exp(-((((k * f0) - 700.0) / 500.0) ** 2)) + 0.1 / k) * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6))
        for k in range(1, int(0.45 * FS / f0))
    )
    noise = rng.standard_normal(len(t))
    wave = wave + noise * np.sqrt(np.mean(wave**2) / np.mean(noise**2)) * 10 ** (-snr_db / 20)
    return 0.5 * wave / np.abs(wave).max()


def test_hand_made_tracks_give_ffe_gpe_and_coverage():
    #             voiced both, 3 of them   | ref voiced, syn not | syn voiced, ref not | unvoiced both
    ref = np.array([100.0, 200.0, 150.0, 120.0, 130.0, 0.0, 0.0, 0.0])
    syn = np.array([100.0, 260.0, 75.0, 0.0, 0.0, 90.0, 0.0, 0.0])
    # pairs 1 (+30 %) and 2 (-50 %) are gross errors, pair 0 is exact
    out = f0_frame_errors(ref, syn)
    assert out["num_pairs"] == 8 and out["ref_voiced"] == 5 and out["both_voiced"] == 3
    assert out["vuv_error"] == pytest.approx(3 / 8)
    assert out["gpe"] == pytest.approx(2 / 3)
    assert out["ffe"] == pytest.approx((3 + 2) / 8)
    assert out["f0_rmse_coverage"] == pytest.approx(3 / 5)
    cents = 1200 * np.log2(np.array([1.0, 1.3, 0.5]))
    assert out["f0_rmse_cents"] == pytest.approx(math.sqrt(np.mean(cents**2)))
    assert out["fpe_cents"] == pytest.approx(0.0)  # the one pair without a gross error is exact
    assert out["null_reasons"] == {}


def test_twenty_percent_is_the_gross_error_boundary():
    out = f0_frame_errors(np.array([100.0, 100.0]), np.array([119.0, 121.0]))
    assert out["gross_errors"] == 1 and out["gpe"] == pytest.approx(0.5) and out["ffe"] == pytest.approx(0.5)
    assert out["fpe_cents"] == pytest.approx(1200 * math.log2(1.19))
    octave = f0_frame_errors(np.array([100.0]), np.array([200.0]))
    assert (
        octave["fpe_cents"] is None
        and octave["null_reasons"]["fpe_cents"] == "every pair voiced in both is a gross error"
    )


def test_all_unvoiced_synthesis_has_coverage_0_and_ffe_equal_to_the_voiced_share():
    ref = np.array([110.0, 120.0, 0.0, 130.0, 0.0])
    out = f0_frame_errors(ref, np.zeros(5))
    assert out["f0_rmse_coverage"] == 0.0
    assert out["ffe"] == pytest.approx(3 / 5) == pytest.approx(out["ref_voiced_share"])
    assert out["f0_rmse_cents"] is None and out["gpe"] is None and out["fpe_cents"] is None
    assert "coverage 0" in out["null_reasons"]["f0_rmse_cents"] and "gpe" in out["null_reasons"]
    text = json.dumps(clean_for_json(out), allow_nan=False)  # would raise on a NaN
    assert '"f0_rmse_cents": null' in text


def test_pooling_weights_utterances_by_their_frames():
    a = f0_frame_errors(np.full(10, 100.0), np.full(10, 100.0))  # perfect, 10 pairs
    b = f0_frame_errors(np.full(30, 100.0), np.zeros(30))  # all missed, 30 pairs
    pooled = pooled_f0_figures([a, b])
    assert pooled["ffe"] == pytest.approx(30 / 40) and pooled["f0_rmse_coverage"] == pytest.approx(10 / 40)
    assert pooled["f0_rmse_cents"] == pytest.approx(0.0) and pooled["gpe"] == 0.0
    with pytest.raises(ValueError, match="one length"):
        f0_frame_errors(np.zeros(3), np.zeros(4))


@pytest.mark.parametrize("f0", [70.0, 110.0, 180.0, 260.0, 390.0])
def test_tracker_finds_a_known_f0(f0):
    track = track_f0(harmonic_signal(f0, seed=int(f0)), CONFIG)
    inner = track.f0[3:-3]  # frames whose analysis window lies inside the signal
    assert (inner > 0).mean() > 0.95
    np.testing.assert_allclose(inner[inner > 0], f0, rtol=0.01)
    assert np.median(track.periodicity[3:-3]) > 0.9


def test_tracker_calls_noise_unvoiced():
    rng = np.random.default_rng(1)
    noise = 0.3 * rng.standard_normal(FS)
    track = track_f0(noise, CONFIG)
    assert track.active.all() and track.voiced.mean() < 0.05
    assert np.median(track.periodicity) < 0.6


def test_trough_margin_keeps_a_weak_fundamental_from_an_octave_jump():
    from espkit.evaluate.f0_metrics import YIN_TROUGH_MARGIN

    t = np.arange(FS // 2) / FS
    f0 = 120.0
    wave = (
        0.2 * np.sin(2 * np.pi * f0 * t) + np.sin(2 * np.pi * 2 * f0 * t + 0.3) + 0.5 * np.sin(2 * np.pi * 3 * f0 * t)
    )
    plain = track_f0(wave, FrameConfig(fs=FS, n_fft=1024, hop_length=160, yin_trough_margin=None))
    assert np.median(plain.f0[3:-3]) > 1.8 * f0  # plain YIN at this threshold goes an octave up
    chosen = track_f0(wave, CONFIG)
    assert YIN_TROUGH_MARGIN is not None and CONFIG.yin_threshold == YIN_THRESHOLD
    np.testing.assert_allclose(np.median(chosen.f0[3:-3]), f0, rtol=0.01)


def test_voicing_figures_pool_active_frames():
    tracks = [
        F0Track(
            f0=np.array([100.0, 0.0, 0.0, 100.0]),
            periodicity=np.array([0.9, 0.2, 0.1, 0.95]),
            active=np.array([True, True, False, True]),
        ),
        F0Track(f0=np.zeros(2), periodicity=np.array([0.3, 0.4]), active=np.array([True, True])),
    ]
    out = voicing_figures(tracks)
    assert out["voiced_ratio"] == pytest.approx(2 / 5)
    assert out["periodicity"]["p50"] == pytest.approx(0.4)
    silent = voicing_figures([F0Track(np.zeros(2), np.zeros(2), np.zeros(2, bool))])
    assert silent["voiced_ratio"] is None and silent["null_reasons"]["voiced_ratio"] == "no active frame"
