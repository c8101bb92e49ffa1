"""soxr resampling of data preparation: lengths, shapes, what passes and what is removed."""

import numpy as np
import pytest

from espkit.fileio.resample import resample


def level_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(x**2)) * np.sqrt(2) + 1e-30)


def test_48k_to_22050_keeps_the_passband_and_removes_what_would_alias():
    t = np.arange(48000) / 48000
    kept = resample(np.sin(2 * np.pi * 1000 * t), 48000, 22050)
    assert kept.shape == (22050,) and kept.dtype == np.float64
    t_out = np.arange(22050) / 22050
    middle = slice(500, -500)  # away from the filter's edges
    np.testing.assert_allclose(kept[middle], np.sin(2 * np.pi * 1000 * t_out)[middle], atol=1e-3)
    above_nyquist = resample(np.sin(2 * np.pi * 12000 * t), 48000, 22050)  # would fold to 10050 Hz
    assert level_db(above_nyquist[middle]) < -90


def test_shapes_rates_and_errors():
    stereo = np.zeros((1001, 2))
    assert resample(stereo, 48000, 22050).shape == (460, 2)
    same = np.arange(5, dtype=np.int16)
    out = resample(same, 16000, 16000)
    assert out.dtype == np.float64 and out.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="fs_out must be a positive int, got 0"):
        resample(np.zeros(4), 16000, 0)
    with pytest.raises(ValueError, match="fs_in must be a positive int, got 16000.0"):
        resample(np.zeros(4), 16000.0, 8000)
    with pytest.raises(ValueError, match=r"must be \(T,\) or \(T, C\)"):
        resample(np.zeros((2, 2, 2)), 16000, 8000)
