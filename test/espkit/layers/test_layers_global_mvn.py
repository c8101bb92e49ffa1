import numpy as np
import pytest
import torch

from espkit.layers.global_mvn import GlobalMVN
from espkit.layers.utterance_mvn import UtteranceMVN

torch.set_num_threads(1)


def _write_stats(path, feats):
    np.savez(path, count=np.array(feats.shape[0]), sum=feats.sum(0), sum_square=(feats**2).sum(0))


def test_global_mvn_standardises_and_inverts(tmp_path):
    rng = np.random.default_rng(0)
    feats = rng.normal(loc=[3.0, -2.0, 0.5], scale=[2.0, 0.5, 1.0], size=(400, 3))
    _write_stats(tmp_path / "feats_stats.npz", feats)
    mvn = GlobalMVN(str(tmp_path / "feats_stats.npz"))
    x = torch.from_numpy(feats).float().reshape(4, 100, 3)
    normalized, lengths = mvn(x, torch.tensor([100, 100, 100, 100]))
    flat = normalized.reshape(-1, 3).double()
    torch.testing.assert_close(flat.mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(flat.std(0, unbiased=False), torch.ones(3, dtype=torch.float64), atol=1e-5, rtol=0)
    restored, _ = mvn.inverse(normalized, lengths)
    torch.testing.assert_close(restored, x, atol=1e-5, rtol=1e-5)
    assert set(mvn.state_dict()) == {"mean", "std"}


def test_global_mvn_padding_is_zero_and_options(tmp_path):
    feats = np.arange(12.0).reshape(4, 3)
    _write_stats(tmp_path / "s.npz", feats)
    x = torch.ones(2, 5, 3)
    out, _ = GlobalMVN(tmp_path / "s.npz")(x, torch.tensor([5, 2]))
    assert out[1, 2:].abs().max() == 0 and out[1, :2].abs().min() > 0
    means_only, _ = GlobalMVN(tmp_path / "s.npz", norm_vars=False)(x)
    torch.testing.assert_close(means_only[0, 0], torch.tensor([1.0 - 4.5, 1.0 - 5.5, 1.0 - 6.5]))


def test_global_mvn_missing_file_says_how_to_make_it(tmp_path):
    missing = tmp_path / "nope" / "feats_stats.npz"
    with pytest.raises(FileNotFoundError, match="collect_stats") as info:
        GlobalMVN(missing)
    assert str(missing) in str(info.value)


def test_global_mvn_missing_keys(tmp_path):
    np.savez(tmp_path / "bad.npz", count=np.array(3), sum=np.zeros(2))
    with pytest.raises(ValueError, match="sum_square"):
        GlobalMVN(tmp_path / "bad.npz")


def test_utterance_mvn_masks_padding():
    torch.manual_seed(0)
    short = torch.randn(1, 6, 4) * 3 + 2
    batch = torch.full((2, 10, 4), 100.0)
    batch[0] = torch.randn(10, 4)
    batch[1, :6] = short[0]
    mvn = UtteranceMVN(norm_means=True, norm_vars=True)
    out, lengths = mvn(batch, torch.tensor([10, 6]))
    alone, _ = mvn(short)
    torch.testing.assert_close(out[1, :6], alone[0])
    assert out[1, 6:].abs().max() == 0
    torch.testing.assert_close(out[1, :6].mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(out[1, :6].std(0, unbiased=False), torch.ones(4), atol=1e-5, rtol=0)
    means_only, _ = UtteranceMVN()(batch, torch.tensor([10, 6]))
    torch.testing.assert_close(means_only[1, :6], short[0] - short[0].mean(0))
    with pytest.raises(NotImplementedError, match="global_mvn"):
        mvn.inverse(out, lengths)
