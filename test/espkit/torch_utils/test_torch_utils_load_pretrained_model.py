import logging

import pytest
import torch

from espkit.torch_utils.load_pretrained_model import freeze_parameters, load_pretrained_model, parse_init_param


class Net(torch.nn.Module):
    def __init__(self, hidden=4):
        super().__init__()
        self.encoder = torch.nn.Sequential(torch.nn.Linear(3, hidden), torch.nn.Linear(hidden, hidden))
        self.decoder = torch.nn.Linear(hidden, 2)


class Wrapper(torch.nn.Module):
    def __init__(self, hidden=4):
        super().__init__()
        self.tts = Net(hidden)
        self.postnet = torch.nn.Linear(2, 2)


def test_parse_init_param():
    assert parse_init_param("a.pth") == ("a.pth", "", "", [])
    assert parse_init_param("a.pth:enc:tts.enc:enc.0,enc.1") == ("a.pth", "enc", "tts.enc", ["enc.0", "enc.1"])
    with pytest.raises(ValueError, match="path\\[:src_key"):
        parse_init_param("a:b:c:d:e")


def test_whole_model_and_checkpoint_dict(tmp_path):
    torch.manual_seed(0)
    source = Net()
    torch.save({"model": source.state_dict(), "epoch": 3}, tmp_path / "ckpt.pth")
    target = Net()
    loaded = load_pretrained_model(str(tmp_path / "ckpt.pth"), target)
    assert len(loaded) == 6
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value)


def test_src_dst_and_exclude_prefixes(tmp_path, caplog):
    torch.manual_seed(0)
    source = Net()
    torch.save(source.state_dict(), tmp_path / "net.pth")
    target = Wrapper()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with caplog.at_level(logging.INFO, logger="espkit.torch_utils.load_pretrained_model"):
        loaded = load_pretrained_model(f"{tmp_path}/net.pth:encoder:tts.encoder:encoder.1", target)
    assert loaded == ["tts.encoder.0.bias", "tts.encoder.0.weight"]
    assert torch.equal(target.tts.encoder[0].weight, source.encoder[0].weight)
    assert torch.equal(target.tts.encoder[1].weight, before["tts.encoder.1.weight"])  # excluded
    assert torch.equal(target.postnet.weight, before["postnet.weight"])
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "Initialised 2 tensor(s)" in messages
    assert (
        "2 tensor(s) under 'tts.encoder.' keep their initial values: tts.encoder.1.weight, tts.encoder.1.bias"
        in messages
    )


def test_mismatch_errors_or_skips_with_warning(tmp_path, caplog):
    torch.manual_seed(0)
    torch.save(Net(hidden=5).state_dict(), tmp_path / "wide.pth")
    with pytest.raises(ValueError) as info:
        load_pretrained_model(f"{tmp_path}/wide.pth", Net(hidden=4))
    message = str(info.value)
    assert "encoder.0.weight: (5, 3) in" in message and "vs (4, 3) in the model" in message
    assert "--ignore_init_mismatch true" in message
    target = Net(hidden=4)
    with caplog.at_level(logging.WARNING):
        loaded = load_pretrained_model(f"{tmp_path}/wide.pth", target, ignore_init_mismatch=True)
    assert loaded == ["decoder.bias"]
    assert any("decoder.weight: (2, 5)" in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)

    torch.save(Wrapper().state_dict(), tmp_path / "wrapper.pth")
    with pytest.raises(ValueError, match="key\\(s\\) not in the model:\n  postnet.bias"):
        load_pretrained_model(f"{tmp_path}/wrapper.pth", Net())
    with pytest.raises(ValueError, match="has no tensors under 'missing.'"):
        load_pretrained_model(f"{tmp_path}/wrapper.pth:missing", Net())
    with pytest.raises(
        ValueError, match="the model has no parameters under 'nothing.'; top-level modules: \\['decoder', 'encoder'\\]"
    ):
        load_pretrained_model(f"{tmp_path}/wrapper.pth:tts:nothing", Net())


def test_freeze_parameters():
    model = Wrapper()
    frozen = freeze_parameters(model, ["tts.encoder", "postnet.weight"])
    assert frozen == [
        "tts.encoder.0.weight",
        "tts.encoder.0.bias",
        "tts.encoder.1.weight",
        "tts.encoder.1.bias",
        "postnet.weight",
    ]
    assert not model.tts.encoder[0].weight.requires_grad and model.tts.decoder.weight.requires_grad
    assert model.postnet.bias.requires_grad
    with pytest.raises(
        ValueError, match="--freeze_param 'tts.enc' matches no parameter; top-level modules: \\['postnet', 'tts'\\]"
    ):
        freeze_parameters(model, ["tts.enc"])
