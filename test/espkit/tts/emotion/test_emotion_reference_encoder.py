import pytest
import torch

from espkit.tts.emotion.abs_emo_extract import AbsEmoExtract
from espkit.tts.emotion.masked_batch_norm import MaskedBatchNorm2d
from espkit.tts.emotion.reference_encoder import ReferenceEncoder

IDIM = 16
SMALL = dict(idim=IDIM, conv_layers=3, conv_chans_list=(4, 4, 8), gru_units=8)


def make_encoder(**kwargs) -> ReferenceEncoder:
    torch.manual_seed(0)
    return ReferenceEncoder(**{**SMALL, **kwargs})


def padded(lengths, num_frames=None, pad_value=3.0, seed=1):
    gen = torch.Generator().manual_seed(seed)
    num_frames = num_frames or max(lengths)
    feats = torch.full((len(lengths), num_frames, IDIM), pad_value)
    items = [torch.randn(n, IDIM, generator=gen) for n in lengths]
    for b, item in enumerate(items):
        feats[b, : len(item)] = item
    return feats, torch.tensor(lengths), items


@pytest.mark.parametrize(
    "kwargs, size",
    [
        ({}, 8),
        ({"use_gst": True, "gst_tokens": 5, "gst_heads": 2, "gst_token_dim": 12}, 12),
        ({"use_gst": True, "gst_token_dim": 12, "output_dim": 6}, 6),
        ({"output_dim": 3, "gru_layers": 2}, 3),
    ],
)
def test_shapes(kwargs, size):
    encoder = make_encoder(**kwargs)
    assert isinstance(encoder, AbsEmoExtract)
    assert encoder.needs_pitch_energy() is False
    assert encoder.output_size() == size
    feats, lengths, _ = padded([23, 9, 1])
    out = encoder(feats, lengths)
    assert out.shape == (3, size)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("use_gst", [False, True])
def test_padding_never_changes_real_items_in_eval(use_gst):
    encoder = make_encoder(use_gst=use_gst, gst_token_dim=8, gst_heads=2)
    # Give batch norm non-trivial running statistics first.
    encoder.train()
    for seed in range(3):
        encoder(*padded([20, 13], seed=seed)[:2])
    encoder.eval()
    lengths = [29, 7, 16, 1]
    feats, feats_lengths, items = padded(lengths, num_frames=40, pad_value=50.0)
    with torch.no_grad():
        batch = encoder(feats, feats_lengths)
        for b, item in enumerate(items):
            single = encoder(item[None], torch.tensor([len(item)]))
            torch.testing.assert_close(batch[b : b + 1], single, rtol=1e-5, atol=1e-5)
        # Garbage in the padding changes nothing either.
        noisy = feats.clone()
        for b, n in enumerate(lengths):
            noisy[b, n:] = torch.randn(40 - n, IDIM) * 100
        torch.testing.assert_close(encoder(noisy, feats_lengths), batch)
        # Sanity check that the comparison can fail: a shorter length changes the output.
        shorter = encoder(items[0][None], torch.tensor([len(items[0]) - 6]))
        assert not torch.allclose(shorter, batch[:1], atol=1e-4)


def test_amount_of_padding_does_not_change_training_outputs():
    encoder = make_encoder()
    encoder.train()
    feats, lengths, _ = padded([17, 11])
    longer, _, _ = padded([17, 11], num_frames=45, pad_value=-9.0)
    out = encoder(feats, lengths)
    running = [norm.running_mean.clone() for norm in encoder.norms]
    encoder2 = make_encoder()
    encoder2.train()
    out_longer = encoder2(longer, lengths)
    torch.testing.assert_close(out, out_longer, rtol=1e-5, atol=1e-5)
    for norm, expected in zip(encoder2.norms, running):
        torch.testing.assert_close(norm.running_mean, expected, rtol=1e-5, atol=1e-6)


def test_masked_batch_norm_matches_batch_norm_on_real_positions():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 6, 4)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])[:, None, :, None]
    masked = MaskedBatchNorm2d(3)
    out = masked(x, mask)
    # Reference: BatchNorm over the real positions only, gathered as one long "image".
    real = torch.cat([x[0], x[1, :, :4]], dim=1)[None]  # (1, C, 10, F)
    plain = torch.nn.BatchNorm2d(3)
    expected = plain(real)[0]
    torch.testing.assert_close(torch.cat([out[0], out[1, :, :4]], dim=1), expected)
    torch.testing.assert_close(masked.running_mean, plain.running_mean)
    torch.testing.assert_close(masked.running_var, plain.running_var)
    masked.eval()
    plain.eval()
    torch.testing.assert_close(masked(x, mask), plain(x))


@pytest.mark.parametrize("use_gst", [False, True])
def test_gradients_reach_all_parameters(use_gst):
    encoder = make_encoder(use_gst=use_gst, gst_token_dim=8, gst_heads=2, output_dim=4)
    encoder.train()
    feats, lengths, _ = padded([19, 12, 5])
    out = encoder(feats, lengths)
    (out * torch.randn_like(out)).sum().backward()
    for name, param in encoder.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name
    if use_gst:
        assert encoder.stl.style_tokens.grad.abs().sum() > 0


def test_style_from_token_weights():
    encoder = make_encoder(use_gst=True, gst_tokens=5, gst_heads=2, gst_token_dim=8, output_dim=3)
    encoder.eval()
    weights = torch.eye(5)[[0, 3]]
    out = encoder.style_from_token_weights(weights)
    assert out.shape == (2, 3)
    assert not torch.allclose(out[0], out[1])
    per_head = weights[:, None, :].expand(-1, 2, -1)
    torch.testing.assert_close(encoder.style_from_token_weights(per_head), out)
    with pytest.raises(ValueError, match=r"\(B, 2, 5\) or \(B, 5\)"):
        encoder.style_from_token_weights(torch.ones(2, 4))
    with pytest.raises(ValueError, match="use_gst"):
        make_encoder().style_from_token_weights(weights)


def test_config_errors():
    with pytest.raises(ValueError, match="conv_chans_list has 2 entries but conv_layers=3"):
        ReferenceEncoder(idim=IDIM, conv_layers=3, conv_chans_list=(4, 4))
    with pytest.raises(ValueError, match="divisible by gst_heads"):
        ReferenceEncoder(**SMALL, use_gst=True, gst_token_dim=10, gst_heads=4)
    encoder = make_encoder()
    with pytest.raises(ValueError, match=r"\(B, T_feats, 16\)"):
        encoder(torch.zeros(1, 5, 80), torch.tensor([5]))
