from collections import namedtuple

import torch

from espkit.torch_utils.device import to_device


def test_to_device_recurses_and_casts_only_floating_tensors():
    Pair = namedtuple("Pair", ["a", "b"])
    data = {
        "speech": torch.zeros(2, 3),
        "text": torch.tensor([[1, 2]]),
        "nested": [torch.ones(1), (torch.tensor([True]), "uid")],
        "pair": Pair(torch.zeros(1), 5),
        "none": None,
    }
    moved = to_device(data, "cpu", dtype=torch.float64)
    assert moved["speech"].dtype == torch.float64 and moved["text"].dtype == torch.int64
    assert moved["nested"][0].dtype == torch.float64
    assert moved["nested"][1][0].dtype == torch.bool and moved["nested"][1][1] == "uid"
    assert isinstance(moved["nested"][1], tuple) and isinstance(moved["pair"], Pair)
    assert moved["pair"].a.dtype == torch.float64 and moved["pair"].b == 5 and moved["none"] is None
    same = to_device(data, torch.device("cpu"))
    assert same["speech"].dtype == torch.float32 and torch.equal(same["text"], data["text"])
