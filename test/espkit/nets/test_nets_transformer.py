"""Tests of the shared Transformer blocks (espkit/nets/transformer) and padding helpers."""

from __future__ import annotations

import math

import pytest
import torch

from espkit.nets.initialize import initialize
from espkit.nets.masks import make_non_pad_mask, make_pad_mask, masked_mean
from espkit.nets.transformer.attention import MultiHeadedAttention
from espkit.nets.transformer.embedding import PositionalEncoding, ScaledPositionalEncoding
from espkit.nets.transformer.encoder import Encoder
from espkit.nets.transformer.positionwise import (
    Conv1dLinear,
    MultiLayeredConv1d,
    PositionwiseFeedForward,
    build_positionwise,
)


def _encoder(**kwargs) -> Encoder:
    torch.manual_seed(0)
    options = dict(
        idim=11,
        attention_dim=8,
        attention_heads=2,
        linear_units=12,
        num_blocks=2,
        positionwise_layer_type="conv1d",
        positionwise_conv_kernel_size=3,
    )
    options.update(kwargs)
    return Encoder(**options).eval()


def test_masks_from_lengths():
    lengths = torch.tensor([3, 1])
    assert make_pad_mask(lengths).tolist() == [[False, False, False], [False, True, True]]
    assert make_non_pad_mask(lengths, 4).tolist() == [[True, True, True, False], [True, False, False, False]]


def test_masked_mean_elementwise_and_per_utterance():
    values = torch.tensor([[1.0, 3.0, 100.0], [5.0, 100.0, 100.0]])
    keep = make_non_pad_mask(torch.tensor([2, 1]), 3)
    assert masked_mean(values, keep).item() == pytest.approx((1 + 3 + 5) / 3)
    assert masked_mean(values, keep, per_utterance=True).item() == pytest.approx((2.0 + 5.0) / 2)


@pytest.mark.parametrize(
    "input_layer, xs",
    [("embed", torch.randint(1, 11, (2, 5))), ("linear", torch.randn(2, 5, 11)), (None, torch.randn(2, 5, 8))],
)
def test_encoder_output_shape(input_layer, xs):
    encoder = _encoder(input_layer=input_layer)
    out, masks = encoder(xs, make_non_pad_mask(torch.tensor([5, 3])).unsqueeze(1))
    assert out.shape == (2, 5, 8)
    assert masks.shape == (2, 1, 5)


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(normalize_before=False),
        dict(concat_after=True),
        dict(positionwise_layer_type="conv1d-linear"),
        dict(positionwise_layer_type="linear", positionwise_conv_kernel_size=1),
        dict(pos_enc_class=ScaledPositionalEncoding),
    ],
)
def test_padding_does_not_change_real_outputs(options):
    encoder = _encoder(**options)
    xs = torch.randint(1, 11, (2, 6))
    xs[1, 4:] = 7  # junk in the padding
    masks = make_non_pad_mask(torch.tensor([6, 4])).unsqueeze(1)
    batched, _ = encoder(xs, masks)
    alone, _ = encoder(xs[1:, :4], None)
    torch.testing.assert_close(batched[1, :4], alone[0], atol=1e-5, rtol=1e-5)
    junk = xs.clone()
    junk[1, 4:] = 2
    batched_other_junk, _ = encoder(junk, masks)
    torch.testing.assert_close(batched[1, :4], batched_other_junk[1, :4], atol=1e-6, rtol=1e-6)


def test_attention_rows_sum_to_one_over_unmasked_keys():
    torch.manual_seed(0)
    attention = MultiHeadedAttention(n_head=2, n_feat=8, dropout_rate=0.0)
    x = torch.randn(2, 5, 8)
    mask = make_non_pad_mask(torch.tensor([5, 3])).unsqueeze(1)
    weights = attention.weights(x, x, mask)
    assert weights.shape == (2, 2, 5, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 2, 5))
    assert torch.all(weights[1, :, :, 3:] == 0)
    assert torch.all(weights[1, :, :, :3] > 0)
    assert attention(x, x, x, mask).shape == (2, 5, 8)


def test_attention_rejects_indivisible_heads():
    with pytest.raises(ValueError, match="not divisible"):
        MultiHeadedAttention(3, 8)


def test_positional_encoding_values():
    encoding = PositionalEncoding(4, dropout_rate=0.0)
    out = encoding(torch.zeros(1, 3, 4))
    # position 2: sin(2), cos(2) at rate 1 and sin/cos(2 / 100) at rate 10000^(-2/4)
    expected = torch.tensor([math.sin(2.0), math.cos(2.0), math.sin(0.02), math.cos(0.02)])
    torch.testing.assert_close(out[0, 2], expected)
    torch.testing.assert_close(encoding(torch.ones(1, 1, 4))[0, 0], torch.tensor([2.0, 3.0, 2.0, 3.0]))


def test_scaled_positional_encoding_has_a_learnable_alpha():
    encoding = ScaledPositionalEncoding(4, dropout_rate=0.0, init_alpha=2.0)
    plain = PositionalEncoding(4)(torch.zeros(1, 3, 4))
    torch.testing.assert_close(encoding(torch.ones(1, 3, 4)), 1.0 + 2.0 * plain)
    assert [name for name, _ in encoding.named_parameters()] == ["alpha"]
    encoding(torch.ones(1, 3, 4)).sum().backward()
    assert encoding.alpha.grad is not None and encoding.alpha.grad.abs() > 0
    encoding.reset_parameters(0.5)
    assert encoding.alpha.item() == 0.5


def test_positionwise_types_and_errors():
    assert isinstance(build_positionwise("linear", 4, 6, 1, 0.0), PositionwiseFeedForward)
    assert isinstance(build_positionwise("conv1d", 4, 6, 3, 0.0), MultiLayeredConv1d)
    assert isinstance(build_positionwise("conv1d-linear", 4, 6, 3, 0.0), Conv1dLinear)
    for layer_type in ("linear", "conv1d", "conv1d-linear"):
        assert build_positionwise(layer_type, 4, 6, 3, 0.0)(torch.randn(2, 5, 4)).shape == (2, 5, 4)
    with pytest.raises(ValueError, match="positionwise_layer_type must be one of"):
        build_positionwise("lstm", 4, 6, 3, 0.0)
    with pytest.raises(ValueError, match="must be odd"):
        build_positionwise("conv1d", 4, 6, 2, 0.0)


def test_encoder_rejects_unknown_input_layer():
    with pytest.raises(ValueError, match="input_layer must be one of"):
        _encoder(input_layer="conv2d")


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_encoder_is_scriptable():
    encoder = _encoder(pos_enc_class=ScaledPositionalEncoding, concat_after=True)
    scripted = torch.jit.script(encoder)
    xs = torch.randint(1, 11, (2, 6))
    masks = make_non_pad_mask(torch.tensor([6, 4])).unsqueeze(1)
    torch.testing.assert_close(scripted(xs, masks)[0], encoder(xs, masks)[0])


def test_initialize_xavier_keeps_norms_and_padding_row():
    encoder = _encoder()
    initialize(encoder, "xavier_uniform")
    embedding = encoder.embed[0]
    assert torch.all(embedding.weight[0] == 0)  # padding_idx row
    layer = encoder.encoders[0]
    assert torch.all(layer.norm1.weight == 1) and torch.all(layer.norm1.bias == 0)
    assert torch.all(layer.self_attn.linear_q.bias == 0)
    bound = math.sqrt(6.0 / (8 + 8))
    assert layer.self_attn.linear_q.weight.abs().max() <= bound
    with pytest.raises(ValueError, match="init_type must be one of"):
        initialize(encoder, "orthogonal")
