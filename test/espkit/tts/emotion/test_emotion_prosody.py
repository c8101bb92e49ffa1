import numpy as np
import pytest
import torch

from espkit.tts.emotion.abs_emo_extract import AbsEmoExtract
from espkit.tts.emotion.prosody import (
    ENERGY_FLOOR,
    ProsodyEmoExtract,
    batch_prosody_statistics,
    prosody_component_names,
    prosody_from_frames,
)

FS = 16000
HOP = 200


def synthetic_track(num_frames: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """F0 in Hz with unvoiced gaps (0) and positive linear energy (some frames exactly 0)."""
    rng = np.random.default_rng(seed)
    f0 = 120.0 + 40.0 * np.sin(np.arange(num_frames) / 5.0) + rng.normal(0, 5, num_frames)
    f0[rng.random(num_frames) < 0.3] = 0.0
    energy = np.exp(rng.normal(0.0, 1.0, num_frames))
    energy[0] = 0.0
    return f0, energy


def by_hand(f0: np.ndarray, energy: np.ndarray, num_tokens: int | None) -> np.ndarray:
    voiced = f0 > 0
    log_f0 = np.log(f0[voiced])
    log_energy = np.log(np.maximum(energy, ENERGY_FLOOR))
    duration_s = len(f0) * HOP / FS
    return np.array(
        [
            log_f0.mean(),
            log_f0.std(),
            log_energy.mean(),
            log_energy.std(),
            np.diff(log_energy).std(),
            voiced.mean(),
            duration_s,
            0.0 if num_tokens is None else num_tokens / duration_s,
            np.percentile(log_f0, 95) - np.percentile(log_f0, 5),
        ]
    )


def padded_batch(tracks, pad_value: float, dtype=torch.float32):
    lengths = [len(f0) for f0, _ in tracks]
    num_frames = max(lengths)
    pitch = torch.full((len(tracks), num_frames, 1), pad_value, dtype=dtype)
    energy = torch.full((len(tracks), num_frames, 1), pad_value, dtype=dtype)
    for b, (f0, en) in enumerate(tracks):
        pitch[b, : len(f0), 0] = torch.from_numpy(f0)
        energy[b, : len(en), 0] = torch.from_numpy(en)
    feats = torch.randn(len(tracks), num_frames, 5)
    return feats, torch.tensor(lengths), pitch, energy


def test_prosody_from_frames_matches_numpy_by_hand():
    f0, energy = synthetic_track(57, seed=0)
    stats = prosody_from_frames(f0, energy, num_tokens=12, fs=FS, hop_length=HOP)
    assert stats.shape == (9,)
    np.testing.assert_allclose(stats, by_hand(f0, energy, 12), rtol=1e-10, atol=1e-12)
    assert prosody_component_names() == [
        "logf0_mean",
        "logf0_std",
        "log_energy_mean",
        "log_energy_std",
        "delta_log_energy_std",
        "voiced_ratio",
        "duration_s",
        "tokens_per_s",
        "logf0_range",
    ]


def test_prosody_from_frames_log_pitch_and_no_range():
    f0, energy = synthetic_track(40, seed=1)
    log_pitch = np.where(f0 > 0, np.log(np.where(f0 > 0, f0, 1.0)), 0.0)
    stats = prosody_from_frames(log_pitch, energy, None, fs=FS, hop_length=HOP, use_f0_range=False, pitch_is_log=True)
    np.testing.assert_allclose(stats, by_hand(f0, energy, None)[:8], rtol=1e-10, atol=1e-12)
    assert stats[7] == 0.0


def test_prosody_unvoiced_utterance_gives_zero_f0_stats():
    stats = prosody_from_frames(np.zeros(10), np.ones(10), 3, fs=FS, hop_length=HOP)
    np.testing.assert_array_equal(stats[[0, 1, 5, 8]], [0.0, 0.0, 0.0, 0.0])
    assert stats[2] == 0.0  # log(1)


def test_batch_statistics_ignore_padding_and_match_single():
    tracks = [synthetic_track(n, seed=n) for n in (31, 50, 12)]
    _, lengths, pitch, energy = padded_batch(tracks, pad_value=777.0, dtype=torch.float64)
    text_lengths = torch.tensor([5, 9, 2])
    batch = batch_prosody_statistics(pitch, energy, lengths, text_lengths, fs=FS, hop_length=HOP)
    assert batch.shape == (3, 9)
    for b, (f0, en) in enumerate(tracks):
        single = prosody_from_frames(f0, en, int(text_lengths[b]), fs=FS, hop_length=HOP)
        np.testing.assert_allclose(batch[b].numpy(), single, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(single, by_hand(f0, en, int(text_lengths[b])), rtol=1e-10)


def test_negative_linear_energy_is_rejected():
    with pytest.raises(ValueError, match="energy_is_log"):
        prosody_from_frames(np.full(5, 100.0), np.full(5, -1.0), None, fs=FS, hop_length=HOP)
    # Log energy may be negative.
    stats = prosody_from_frames(np.full(5, 100.0), np.full(5, -1.0), None, fs=FS, hop_length=HOP, energy_is_log=True)
    assert stats[2] == -1.0


def test_extractor_shapes_masking_and_interface():
    extract = ProsodyEmoExtract(fs=FS, hop_length=HOP, normalize=False)
    assert isinstance(extract, AbsEmoExtract)
    assert extract.needs_pitch_energy() is True
    assert extract.output_size() == 9
    assert ProsodyEmoExtract(use_f0_range=False).output_size() == 8
    tracks = [synthetic_track(n, seed=n) for n in (20, 33)]
    feats, lengths, pitch, energy = padded_batch(tracks, pad_value=-5.0)
    out = extract(feats, lengths, pitch, energy, text_lengths=torch.tensor([4, 7]))
    assert out.shape == (2, 9) and out.dtype == torch.float32
    for b, (f0, en) in enumerate(tracks):
        f, lens, p, e = padded_batch([(f0, en)], pad_value=0.0)
        single = extract(f, lens, p, e, text_lengths=torch.tensor([[4, 7][b]]))
        torch.testing.assert_close(out[b : b + 1], single, rtol=1e-5, atol=1e-5)


def test_extractor_requires_pitch_and_energy():
    extract = ProsodyEmoExtract()
    with pytest.raises(ValueError, match="needs_pitch_energy"):
        extract(torch.zeros(1, 4, 80), torch.tensor([4]))


def test_running_normalisation_updates_in_train_mode_only():
    torch.manual_seed(0)
    extract = ProsodyEmoExtract(fs=FS, hop_length=HOP, normalize=True)
    tracks = [synthetic_track(n, seed=n) for n in (20, 33, 41, 25)]
    feats, lengths, pitch, energy = padded_batch(tracks, pad_value=0.0)
    raw = batch_prosody_statistics(pitch, energy, lengths, fs=FS, hop_length=HOP).double()

    extract.eval()
    out_eval = extract(feats, lengths, pitch, energy)
    assert int(extract.num_items_tracked) == 0
    torch.testing.assert_close(extract.running_mean, torch.zeros(9, dtype=torch.float64))
    # Untrained buffers: identity up to the variance floor.
    expected = raw / (1 + extract.eps) ** 0.5
    torch.testing.assert_close(out_eval.double(), expected, rtol=1e-5, atol=1e-6)

    extract.train()
    extract(feats[:2], lengths[:2], pitch[:2], energy[:2])
    extract(feats[2:], lengths[2:], pitch[2:], energy[2:])
    assert int(extract.num_items_tracked) == 4
    # Merging two batches gives the population statistics of all four items.
    torch.testing.assert_close(extract.running_mean, raw.mean(0), rtol=1e-5, atol=1e-6)
    expected_var = raw.var(0, unbiased=False)
    torch.testing.assert_close(extract.running_var, expected_var, rtol=1e-4, atol=1e-6)

    extract.eval()
    before = extract.running_mean.clone()
    out = extract(feats, lengths, pitch, energy)
    torch.testing.assert_close(extract.running_mean, before)
    assert int(extract.num_items_tracked) == 4
    # Unit scale on the components that vary (tokens_per_s is constant 0 here).
    varying = raw.std(0) > 1e-6
    torch.testing.assert_close(
        out.double()[:, varying].mean(0),
        torch.zeros(int(varying.sum()), dtype=torch.float64),
        atol=1e-4,
        rtol=0,
    )
    torch.testing.assert_close(
        out.double()[:, varying].std(0, unbiased=False),
        torch.ones(int(varying.sum()), dtype=torch.float64),
        atol=1e-2,
        rtol=0,
    )
    state = extract.state_dict()
    assert set(state) == {"running_mean", "running_var", "num_items_tracked"}
