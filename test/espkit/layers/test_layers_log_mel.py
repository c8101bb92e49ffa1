import math

import torch

from espkit.layers.log_mel import LogMel, hz_to_mel, mel_filterbank, mel_to_hz

torch.set_num_threads(1)


def test_mel_scales_known_values_and_inverse():
    hz = torch.tensor([0.0, 500.0, 1000.0, 2000.0, 6400.0], dtype=torch.float64)
    slaney = hz_to_mel(hz)
    step = math.log(6.4) / 27.0
    expected = [0.0, 7.5, 15.0, 15.0 + math.log(2.0) / step, 15.0 + 27.0]
    torch.testing.assert_close(slaney, torch.tensor(expected, dtype=torch.float64))
    torch.testing.assert_close(
        hz_to_mel(torch.tensor([700.0], dtype=torch.float64), htk=True),
        torch.tensor([2595.0 * math.log10(2.0)], dtype=torch.float64),
    )
    for htk in (False, True):
        torch.testing.assert_close(mel_to_hz(hz_to_mel(hz, htk), htk), hz)


def _direct_weight(fs, n_fft, n_mels, fmin, fmax, band, bin_index):
    """Slaney-normalised triangle weight computed from scratch with the math module."""

    def to_mel(f):
        return f * 3.0 / 200.0 if f < 1000 else 15.0 + math.log(f / 1000.0) * 27.0 / math.log(6.4)

    def to_hz(m):
        return m * 200.0 / 3.0 if m < 15 else 1000.0 * math.exp((m - 15.0) * math.log(6.4) / 27.0)

    lo_mel, hi_mel = to_mel(fmin), to_mel(fmax)
    edges = [to_hz(lo_mel + (hi_mel - lo_mel) * i / (n_mels + 1)) for i in range(n_mels + 2)]
    f = bin_index * fs / n_fft
    lower, centre, upper = edges[band], edges[band + 1], edges[band + 2]
    tri = max(0.0, min((f - lower) / (centre - lower), (upper - f) / (upper - centre)))
    return tri * 2.0 / (upper - lower)


def test_filterbank_matches_direct_formula_and_has_unit_area():
    fs, n_fft, n_mels = 22050, 1024, 80
    basis = mel_filterbank(fs, n_fft, n_mels, 80.0, 7600.0)
    assert basis.shape == (n_mels, n_fft // 2 + 1)
    assert basis.min() >= 0
    for band, bin_index in [(10, 10), (40, 110), (79, 345), (79, 350)]:
        direct = _direct_weight(fs, n_fft, n_mels, 80.0, 7600.0, band, bin_index)
        assert abs(float(basis[band, bin_index]) - direct) < 1e-12
    assert basis[79, 360:].abs().max() == 0  # above fmax
    # every filter has area ~1 in Hz (where it spans enough bins to integrate numerically)
    areas = basis.sum(dim=1) * fs / n_fft
    torch.testing.assert_close(areas[30:], torch.ones(50, dtype=torch.float64), atol=0.05, rtol=0)


def test_log_mel_bases_clamp_and_padding_mask():
    spec = torch.rand(2, 7, 257) + 0.1
    spec[:, 0] = 0.0
    lengths = torch.tensor([7, 4])
    log10, out_lengths = LogMel(fs=16000, n_fft=512, n_mels=20)(spec, lengths)
    natural, _ = LogMel(fs=16000, n_fft=512, n_mels=20, log_base=None)(spec, lengths)
    assert log10.shape == (2, 7, 20) and out_lengths is lengths
    torch.testing.assert_close(natural[0], log10[0] * math.log(10.0), rtol=1e-5, atol=1e-5)
    assert torch.all(log10[:, 0] == -10.0)  # log10(1e-10)
    assert log10[1, 4:].abs().max() == 0
    module = LogMel(fs=16000, n_fft=512, n_mels=20)
    expected = torch.log10(spec[0, 3] @ module.mel_basis.T)
    torch.testing.assert_close(log10[0, 3], expected)
    assert "mel_basis" not in module.state_dict()
