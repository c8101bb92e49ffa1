"""The extractors give the same numbers on an accelerator as on the CPU (skipped without CUDA)."""

import math

import numpy as np
import pytest
import torch

from espkit.layers.global_mvn import GlobalMVN
from espkit.tts.feats_extract.energy import Energy
from espkit.tts.feats_extract.fbank import LogMelFbank
from espkit.tts.feats_extract.pitch import Pitch
from espkit.tts.vocoder.griffin_lim import GriffinLim

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def test_cuda_matches_cpu(tmp_path):
    fs = 16000
    t = torch.arange(6000) / fs
    x = torch.stack([torch.sin(2 * math.pi * 180 * t), torch.sin(2 * math.pi * 260 * t)])
    lengths = torch.tensor([6000, 4100])
    np.savez(tmp_path / "s.npz", count=np.array(10), sum=np.ones(20), sum_square=np.full(20, 3.0))
    extractors = [
        LogMelFbank(fs=fs, n_fft=512, hop_length=128, n_mels=20, fmin=0, fmax=8000),
        Pitch(fs=fs, n_fft=512, hop_length=128),
        Energy(fs=fs, n_fft=512, hop_length=128),
    ]
    for extractor in extractors:
        cpu, cpu_lengths = extractor(x, lengths)
        gpu, gpu_lengths = extractor.to("cuda")(x.cuda(), lengths.cuda())
        assert gpu.is_cuda and gpu_lengths.tolist() == cpu_lengths.tolist()
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-3, atol=1e-3)
    feats, feats_lengths = extractors[0](x.cuda(), lengths.cuda())
    normalized, _ = GlobalMVN(tmp_path / "s.npz").to("cuda")(feats, feats_lengths)
    assert normalized.is_cuda
    vocoder = GriffinLim(fs, 512, 128, n_mels=20, fmin=0, fmax=8000, griffin_lim_iters=4).cuda()
    wav = vocoder(feats[0])
    assert wav.is_cuda and wav.shape == ((feats.shape[1] - 1) * 128,)
