"""pack_model / unpack_model round trip (with and without a vocoder), from_pretrained and the CLI with a zip,
zip-slip rejection."""

import zipfile
from pathlib import Path

import pytest
import torch
import yaml
from tiny_corpus import make_tiny_corpus, tiny_train_args
from tiny_vocoder import make_tiny_vocoder

from espkit.bin.pack_model import main as pack_main
from espkit.bin.tts_inference import Text2Speech
from espkit.bin.tts_inference import main as inference_main
from espkit.bin.tts_train import main as train_main
from espkit.fileio.read_text import read_2columns_text
from espkit.tts.vocoder.gan_vocoder import GANVocoder
from espkit.utils.model_pack import PackError, pack_model, unpack_model

DECODE = dict(minlenratio=2.0, maxlenratio=3.0, always_fix_seed=True, seed=5)


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("pack")
    data = make_tiny_corpus(root / "data")
    train_main(tiny_train_args(data, root / "exp", ["--max_epoch", "1"]))
    extra = root / "notes.txt"
    extra.write_text("hello\n")
    pack_main(
        [
            "--train_config",
            str(root / "exp/config.yaml"),
            "--model_file",
            str(root / "exp/valid.loss.best.pth"),
            "--option",
            str(extra),
            "--outpath",
            str(root / "packed.zip"),
            "--log_level",
            "WARNING",
        ]
    )
    return data, root


def test_zip_holds_relative_config_model_stats_and_meta(packed):
    _, root = packed
    with zipfile.ZipFile(root / "packed.zip") as archive:
        names = set(archive.namelist())
        config = yaml.safe_load(archive.read("config.yaml"))
        meta = yaml.safe_load(archive.read("meta.yaml"))
    assert names == {
        "config.yaml",
        "meta.yaml",
        "model/valid.loss.best.pth",
        "stats/feats_stats.npz",
        "files/notes.txt",
    }
    assert config["normalize_conf"]["stats_file"] == "stats/feats_stats.npz"
    assert config["token_list"][:3] == ["<blank>", "<unk>", "<space>"] and config["emo_list"][1] == "happy"
    assert meta["files"]["model_file"] == "model/valid.loss.best.pth"
    assert meta["espkit_version"] and meta["torch_version"].startswith(torch.__version__.split("+")[0])
    assert "timestamp" in meta


def test_packed_model_gives_the_same_output_as_the_unpacked_one(packed, tmp_path):
    _, root = packed
    original = Text2Speech(root / "exp/config.yaml", root / "exp/valid.loss.best.pth", **DECODE)
    from_zip = Text2Speech.from_pretrained(root / "packed.zip", unpack_dir=tmp_path / "unpacked", **DECODE)
    config = yaml.safe_load((tmp_path / "unpacked/config.yaml").read_text())
    assert config["normalize_conf"]["stats_file"] == str((tmp_path / "unpacked/stats/feats_stats.npz").resolve())
    for emotion in ["happy", {"sad": 0.5, "angry": 0.5}]:
        a, b = original("ab ba", emo_labs=emotion), from_zip("ab ba", emo_labs=emotion)
        assert torch.equal(a["feat_gen"], b["feat_gen"]) and torch.equal(a["wav"], b["wav"])


def test_cli_accepts_a_packed_model(packed, tmp_path, monkeypatch):
    data, root = packed
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    inference_main(
        [
            "--model_file",
            str(root / "packed.zip"),
            "--output_dir",
            str(tmp_path / "out"),
            "--data_path_and_name_and_type",
            f"{data['text']},text,text",
            "--emo_labs",
            "happy",
            "--maxlenratio",
            "3",
            "--plot_att_ws",
            "false",
            "--log_level",
            "WARNING",
        ]
    )
    assert len(read_2columns_text(tmp_path / "out/wav/wav.scp")) == 8
    assert len(list((tmp_path / "cache/espkit/packed").glob("packed-*/config.yaml"))) == 1


def _write_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.yaml", "a: 1\n")
        archive.writestr("meta.yaml", "files: {model_file: model.pth}\n")
        archive.writestr("model.pth", b"x")
        for name in members:
            archive.writestr(name, b"evil")


@pytest.mark.parametrize("member", ["../evil.txt", "model/../../evil.txt", "/tmp/evil_abs.txt", "C:/evil.txt"])
def test_zip_slip_is_rejected_before_anything_is_written(tmp_path, member):
    _write_zip(tmp_path / "bad.zip", [member])
    target = tmp_path / "a" / "target"
    with pytest.raises(PackError, match="refusing to unpack"):
        unpack_model(tmp_path / "bad.zip", target)
    assert not target.exists() and not (tmp_path / "a" / "evil.txt").exists()


def test_pack_and_unpack_errors_name_the_file(packed, tmp_path):
    _, root = packed
    config = yaml.safe_load((root / "exp/config.yaml").read_text())
    config["normalize_conf"]["stats_file"] = str(tmp_path / "gone.npz")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(FileNotFoundError, match="gone.npz"):
        pack_model(tmp_path / "config.yaml", root / "exp/valid.loss.best.pth", tmp_path / "x.zip")
    (tmp_path / "plain.zip").write_text("not a zip")
    with pytest.raises(PackError, match="not a zip file"):
        unpack_model(tmp_path / "plain.zip", tmp_path / "t")
    with zipfile.ZipFile(tmp_path / "nometa.zip", "w") as archive:
        archive.writestr("config.yaml", "a: 1\n")
    with pytest.raises(PackError, match="has no meta.yaml"):
        unpack_model(tmp_path / "nometa.zip", tmp_path / "t")


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir())


def test_corrupt_or_foreign_weights_are_refused_before_writing(packed, tmp_path):
    _, root = packed
    config, weights = root / "exp/config.yaml", root / "exp/valid.loss.best.pth"
    out = tmp_path / "out"
    out.mkdir()
    truncated = tmp_path / "trunc.pth"
    truncated.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(PackError, match=r"^--model_file: .*trunc.pth is corrupt or truncated"):
        pack_model(config, truncated, out / "m.zip")
    pickled = tmp_path / "pickled.pth"
    torch.save({"model": torch.nn.Linear(2, 2)}, pickled)  # a module object, not weights
    with pytest.raises(PackError, match=r"pickled.pth holds objects other than tensors and plain data"):
        pack_model(config, pickled, out / "m.zip")
    not_state = tmp_path / "not_state.pth"
    torch.save({"epoch": 3}, not_state)
    with pytest.raises(PackError, match=r"not_state.pth is neither a model state_dict"):
        pack_model(config, not_state, out / "m.zip")
    other = yaml.safe_load(config.read_text())
    other["tts_conf"]["adim"] = 12
    other_config = tmp_path / "other.yaml"
    other_config.write_text(yaml.safe_dump(other))
    with pytest.raises(PackError, match=r"valid.loss.best.pth does not fit the model .*\n.*mismatched shapes"):
        pack_model(other_config, weights, out / "m.zip")
    assert _leftovers(out) == []  # no zip, no temporary file


def test_config_errors_name_the_file_and_line(packed, tmp_path, capsys):
    _, root = packed
    weights = root / "exp/valid.loss.best.pth"
    broken = tmp_path / "broken.yaml"
    broken.write_text("tts_conf:\n  adim: 8\n   dunits: 3\n")
    with pytest.raises(SystemExit) as exit_info:
        pack_main(["--train_config", str(broken), "--model_file", str(weights), "--outpath", str(tmp_path / "m.zip")])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1, err
    assert f"error: --train_config: {broken}:3: invalid YAML: mapping values are not allowed here" in err[0]
    wrong_type = tmp_path / "wrong_type.yaml"
    wrong_type.write_text("max_epoch: two\n")
    with pytest.raises(PackError, match=r"^--train_config: .*wrong_type.yaml: bad value for 'max_epoch'"):
        pack_model(wrong_type, weights, tmp_path / "m.zip")
    assert not (tmp_path / "m.zip").exists()


def test_outpath_problems_leave_no_file(packed, tmp_path, monkeypatch):
    _, root = packed
    config, weights = root / "exp/config.yaml", root / "exp/valid.loss.best.pth"
    (tmp_path / "packed").mkdir()
    with pytest.raises(PackError, match=r"--outpath .*packed is a directory; give the zip file to write"):
        pack_model(config, weights, tmp_path / "packed")
    assert _leftovers(tmp_path) == ["packed"] and _leftovers(tmp_path / "packed") == []

    def failing_write(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "write", failing_write)
    with pytest.raises(PackError, match=r"--outpath .*m.zip: cannot write the zip \(.*No space left on device"):
        pack_model(config, weights, tmp_path / "m.zip")
    assert _leftovers(tmp_path) == ["packed"]  # the partial temporary zip was removed


# --- a packed vocoder --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def packed_vocoder(packed):
    """The model packed with a tiny random-weight vocoder of its own statistics file (``vocoder.zip``)."""
    _, root = packed
    config, weights = make_tiny_vocoder(root / "vocoder")
    pack_main(
        [
            "--train_config",
            str(root / "exp/config.yaml"),
            "--model_file",
            str(root / "exp/valid.loss.best.pth"),
            "--vocoder_file",
            str(weights),
            "--outpath",
            str(root / "vocoder.zip"),
            "--log_level",
            "WARNING",
        ]
    )
    return config, weights, root / "vocoder.zip"


def test_zip_carries_the_vocoder_its_config_and_statistics(packed_vocoder, tmp_path):
    config, weights, zip_path = packed_vocoder
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        meta = yaml.safe_load(archive.read("meta.yaml"))
        vocoder_config = yaml.safe_load(archive.read("vocoder/config.yaml"))
    assert {"vocoder/config.yaml", "vocoder/model/model.pth", "vocoder/stats/feats_stats.npz"} <= names
    assert meta["yaml_files"] == {"train_config": "config.yaml", "vocoder_config": "vocoder/config.yaml"}
    assert meta["files"] == {"model_file": "model/valid.loss.best.pth", "vocoder_file": "vocoder/model/model.pth"}
    assert vocoder_config["normalize_conf"]["stats_file"] == "vocoder/stats/feats_stats.npz"
    unpacked = unpack_model(zip_path, tmp_path / "u")
    assert unpacked["vocoder_file"] == str((tmp_path / "u/vocoder/model/model.pth").resolve())
    assert yaml.safe_load(Path(unpacked["vocoder_config"]).read_text())["normalize_conf"]["stats_file"] == str(
        (tmp_path / "u/vocoder/stats/feats_stats.npz").resolve()
    )


def test_from_pretrained_uses_the_packed_vocoder_unless_told_otherwise(packed, packed_vocoder, tmp_path):
    _, root = packed
    _, weights, zip_path = packed_vocoder
    original = Text2Speech(root / "exp/config.yaml", root / "exp/valid.loss.best.pth", vocoder_file=weights, **DECODE)
    from_zip = Text2Speech.from_pretrained(zip_path, unpack_dir=tmp_path / "u", **DECODE)
    assert isinstance(from_zip.vocoder, GANVocoder)
    a, b = original("ab ba", emo_labs="happy"), from_zip("ab ba", emo_labs="happy")
    assert torch.equal(a["wav"], b["wav"]) and a["wav"].shape == (a["feat_gen"].shape[0] * 64,)
    as_model_file = Text2Speech(model_file=zip_path, **DECODE)  # a zip given as model_file: the same
    assert isinstance(as_model_file.vocoder, GANVocoder)
    griffin_lim = tmp_path / "griffin_lim.yaml"
    griffin_lim.write_text("griffin_lim_iters: 4\n")
    chosen = Text2Speech.from_pretrained(zip_path, unpack_dir=tmp_path / "u", vocoder_config=griffin_lim, **DECODE)
    assert chosen.vocoder.griffin_lim_iters == 4


def test_a_vocoder_that_does_not_fit_is_refused_before_writing(packed, tmp_path, capsys):
    _, root = packed
    config, weights = root / "exp/config.yaml", root / "exp/valid.loss.best.pth"
    _, other = make_tiny_vocoder(tmp_path / "other", feats={"n_mels": 10})
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(PackError, match=r"^--vocoder_file: the vocoder .* trained on other features .*n_mels 8 vs 10"):
        pack_model(config, weights, out / "m.zip", vocoder_file=other)
    with pytest.raises(PackError, match=r"^--vocoder_file: .*valid.loss.best.pth holds a TTS \(acoustic\) model's"):
        pack_model(config, weights, out / "m.zip", vocoder_file=weights)
    vocoder_config, vocoder_weights = make_tiny_vocoder(tmp_path / "fits")
    with pytest.raises(PackError, match=r"^--model_file: .*model.pth holds a vocoder's weights"):
        pack_model(config, vocoder_weights, out / "m.zip")
    with pytest.raises(PackError, match=r"^--train_config: .*config.yaml is a vocoder config"):
        pack_model(vocoder_config, vocoder_weights, out / "m.zip")
    assert _leftovers(out) == []
