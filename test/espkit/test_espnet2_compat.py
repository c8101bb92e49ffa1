"""ESPnet2 drop-in compatibility: ESPnet2's module paths, public names and argument contracts.

Every ``espnet2.X.Y`` module espkit re-implements must import as ``espkit.X.Y`` with ESPnet2's
public names, each the one espkit implementation (aliases, never copies), and accept what
ESPnet2's documented interfaces accept. docs/espnet_compat.md lists the deliberate differences.
"""

from __future__ import annotations

import argparse
import importlib
import wave

import numpy as np
import pytest
import torch

# espnet2 module (renamed to espkit) -> public names ESPnet2 defines there
ESPNET2_NAMES = {
    "espkit.tasks.abs_task": ["AbsTask"],
    "espkit.tasks.tts": [
        "TTSTask",
        "feats_extractor_choices",
        "pitch_extractor_choices",
        "energy_extractor_choices",
        "normalize_choices",
        "pitch_normalize_choices",
        "energy_normalize_choices",
        "tts_choices",
    ],
    "espkit.train.class_choices": ["ClassChoices"],
    "espkit.train.dataset": ["ESPnetDataset", "DATA_TYPES"],
    "espkit.train.collate_fn": ["CommonCollateFn", "common_collate_fn"],
    "espkit.train.reporter": ["Reporter", "SubReporter"],
    "espkit.train.trainer": ["Trainer"],
    "espkit.train.abs_espnet_model": ["AbsESPnetModel"],
    "espkit.iterators.abs_iter_factory": ["AbsIterFactory"],
    "espkit.iterators.sequence_iter_factory": ["SequenceIterFactory"],
    "espkit.samplers.abs_sampler": ["AbsSampler"],
    "espkit.samplers.build_batch_sampler": ["build_batch_sampler", "BATCH_TYPES"],
    "espkit.samplers.folded_batch_sampler": ["FoldedBatchSampler"],
    "espkit.samplers.length_batch_sampler": ["LengthBatchSampler"],
    "espkit.samplers.num_elements_batch_sampler": ["NumElementsBatchSampler"],
    "espkit.samplers.sorted_batch_sampler": ["SortedBatchSampler"],
    "espkit.samplers.unsorted_batch_sampler": ["UnsortedBatchSampler"],
    "espkit.fileio.read_text": ["read_2columns_text", "read_multi_columns_text", "load_num_sequence_text"],
    "espkit.fileio.sound_scp": ["SoundScpReader", "SoundScpWriter"],
    "espkit.fileio.npy_scp": ["NpyScpReader", "NpyScpWriter"],
    "espkit.fileio.datadir_writer": ["DatadirWriter"],
    "espkit.text.abs_tokenizer": ["AbsTokenizer"],
    "espkit.text.build_tokenizer": ["build_tokenizer"],
    "espkit.text.char_tokenizer": ["CharTokenizer"],
    "espkit.text.word_tokenizer": ["WordTokenizer"],
    "espkit.text.phoneme_tokenizer": ["PhonemeTokenizer"],
    "espkit.text.cleaner": ["TextCleaner"],
    "espkit.text.token_id_converter": ["TokenIDConverter"],
    "espkit.layers.abs_normalize": ["AbsNormalize"],
    "espkit.layers.global_mvn": ["GlobalMVN"],
    "espkit.layers.utterance_mvn": ["UtteranceMVN"],
    "espkit.layers.stft": ["Stft"],
    "espkit.layers.log_mel": ["LogMel"],
    "espkit.tts.abs_tts": ["AbsTTS"],
    "espkit.tts.espnet_model": ["ESPnetTTSModel"],
    "espkit.tts.tacotron2": ["Tacotron2"],
    "espkit.tts.tacotron2.tacotron2": ["Tacotron2"],
    "espkit.tts.fastspeech": ["FastSpeech"],
    "espkit.tts.fastspeech2": ["FastSpeech2"],
    "espkit.tts.transformer": ["Transformer"],
    "espkit.tts.transformer.transformer": ["Transformer"],
    "espkit.tts.feats_extract.abs_feats_extract": ["AbsFeatsExtract"],
    "espkit.tts.feats_extract.log_mel_fbank": ["LogMelFbank"],
    "espkit.tts.feats_extract.linear_spectrogram": ["LinearSpectrogram"],
    "espkit.tts.feats_extract.energy": ["Energy"],
    "espkit.tts.feats_extract.dio": ["Dio"],
    "espkit.main_funcs.average_nbest_models": ["average_nbest_models"],
    "espkit.utils.config_argparse": ["ArgumentParser"],
    "espkit.utils.nested_dict_action": ["NestedDictAction"],
    "espkit.utils.types": [
        "str2bool",
        "int_or_none",
        "float_or_none",
        "str_or_none",
        "str_or_int",
        "humanfriendly_parse_size_or_none",
        "str2pair_str",
        "str2triple_str",
        "remove_parenthesis",
        "remove_quotes",
    ],
    "espkit.bin.tts_train": ["get_parser", "main"],
    "espkit.bin.tts_inference": ["Text2Speech", "get_parser", "inference", "main"],
}

# ESPnet2 path -> espkit's own name for the same object (one implementation)
ALIASES = [
    ("espkit.tts.feats_extract.log_mel_fbank", "LogMelFbank", "espkit.tts.feats_extract.fbank", "LogMelFbank"),
    ("espkit.tts.feats_extract.dio", "Dio", "espkit.tts.feats_extract.pitch", "Pitch"),
    ("espkit.main_funcs.average_nbest_models", "average_nbest_models", "espkit.train.nbest", "average_nbest_models"),
    ("espkit.tts.tacotron2", "Tacotron2", "espkit.tts.tacotron2.tacotron2", "Tacotron2"),
    ("espkit.tts.fastspeech2", "FastSpeech2", "espkit.tts.fastspeech2.fastspeech2", "FastSpeech2"),
    ("espkit.tts.transformer", "Transformer", "espkit.tts.transformer.transformer", "Transformer"),
    ("espkit.tasks.tts", "feats_extractor_choices", "espkit.tasks.tts", "feats_extract_choices"),
    ("espkit.tasks.tts", "pitch_extractor_choices", "espkit.tasks.tts", "pitch_extract_choices"),
]


@pytest.mark.parametrize("module_name", sorted(ESPNET2_NAMES))
def test_espnet2_module_path_exports_its_names(module_name):
    module = importlib.import_module(module_name)
    missing = [name for name in ESPNET2_NAMES[module_name] if not hasattr(module, name)]
    assert missing == [], f"{module_name} lacks {missing}"


@pytest.mark.parametrize("path, name, own_path, own_name", ALIASES)
def test_espnet2_names_are_aliases_of_the_one_implementation(path, name, own_path, own_name):
    alias = getattr(importlib.import_module(path), name)
    assert alias is getattr(importlib.import_module(own_path), own_name)


def test_class_choices_accept_espnet2_names():
    from espkit.tasks.tts import feats_extractor_choices, pitch_extractor_choices
    from espkit.tts.feats_extract.fbank import LogMelFbank
    from espkit.tts.feats_extract.pitch import Pitch

    assert feats_extractor_choices.get_class("fbank") is LogMelFbank
    assert pitch_extractor_choices.get_class("dio") is Pitch


# --- constructors with ESPnet2's defaults ---------------------------------------------------------
def test_feature_extractors_with_espnet2_defaults_and_humanfriendly_fs():
    from espkit.layers.log_mel import LogMel
    from espkit.layers.stft import Stft
    from espkit.tts.feats_extract.dio import Dio
    from espkit.tts.feats_extract.energy import Energy
    from espkit.tts.feats_extract.linear_spectrogram import LinearSpectrogram
    from espkit.tts.feats_extract.log_mel_fbank import LogMelFbank

    wav = torch.randn(2, 4000)
    lengths = torch.tensor([4000, 3000])
    fbank = LogMelFbank(fs="16k")
    assert fbank.fs == 16000 and fbank.output_size() == 80
    feats, feats_lengths = fbank(wav, lengths)
    assert feats.shape == (2, 4000 // 256 + 1, 80) and feats_lengths.tolist() == [16, 12]
    assert LinearSpectrogram()(wav, lengths)[0].shape == (2, 16, 513)
    assert Stft()(wav, lengths)[0].shape[:2] == (2, 16)
    assert LogMel(fs="22.05k").fs == 22050
    assert Energy(fs="22.05k", reduction_factor=None).fs == 22050
    dio = Dio(fs="22.05k", f0min=80, f0max=400, use_token_averaged_f0=False, reduction_factor=None)
    assert dio.fs == 22050 and dio.reduction_factor == 1
    with pytest.raises(ValueError, match="fs: not a sampling rate: 'fast'"):
        LogMelFbank(fs="fast")


def test_normalizers_read_the_espnet2_stats_npz(tmp_path):
    from espkit.layers.global_mvn import GlobalMVN
    from espkit.layers.utterance_mvn import UtteranceMVN

    feats = np.arange(12, dtype=np.float64).reshape(6, 2)
    stats = tmp_path / "feats_stats.npz"
    np.savez(stats, count=np.array(6), sum=feats.sum(0), sum_square=(feats**2).sum(0))
    mvn = GlobalMVN(stats_file=str(stats))  # ESPnet2's defaults: norm_means=True, norm_vars=True
    x, x_lengths = mvn(torch.tensor(feats, dtype=torch.float32)[None], torch.tensor([6]))
    assert torch.allclose(x.mean(dim=1), torch.zeros(1, 2), atol=1e-6)
    assert torch.allclose(x.std(dim=1, unbiased=False), torch.ones(1, 2), atol=1e-5)
    assert torch.allclose(mvn.inverse(x, x_lengths)[0][0], torch.tensor(feats, dtype=torch.float32), atol=1e-4)
    kaldi = tmp_path / "stats.npy"  # Kaldi's layout, which ESPnet2 also reads
    np.save(kaldi, np.stack([np.append(feats.sum(0), 6), np.append((feats**2).sum(0), 0)]))
    assert torch.allclose(GlobalMVN(kaldi).mean, mvn.mean) and torch.allclose(GlobalMVN(kaldi).std, mvn.std)
    y, _ = UtteranceMVN()(torch.tensor(feats, dtype=torch.float32)[None], torch.tensor([6]))
    assert torch.allclose(y.mean(dim=1), torch.zeros(1, 2), atol=1e-6)
    # ESPnet2 also normalises (B, T) inputs, e.g. waveforms
    wav, wav_lengths = UtteranceMVN(norm_vars=True)(
        torch.tensor([[1.0, 3.0, 9.0], [2.0, 4.0, 0.0]]), torch.tensor([3, 2])
    )
    assert wav_lengths.tolist() == [3, 2] and wav[1].tolist() == [-1.0, 1.0, 0.0]
    assert torch.allclose(wav[0].std(unbiased=False), torch.tensor(1.0))


def test_tokenizers_and_converter_with_espnet2_defaults(tmp_path):
    from espkit.text.build_tokenizer import build_tokenizer
    from espkit.text.char_tokenizer import CharTokenizer
    from espkit.text.token_id_converter import TokenIDConverter
    from espkit.text.word_tokenizer import WordTokenizer

    assert CharTokenizer().text2tokens("a b") == ["a", "<space>", "b"]
    assert WordTokenizer().text2tokens("a b") == ["a", "b"]
    assert build_tokenizer("char").text2tokens("ab") == ["a", "b"]
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("<blank>\n<unk>\na\nb\n<sos/eos>\n")
    converter = TokenIDConverter(token_list=str(tokens))  # ESPnet2's default unk_symbol "<unk>"
    assert converter.tokens2ids(["a", "z", "b"]) == [2, 1, 3]
    assert converter.get_num_vocabulary_size() == 5


# --- argument contracts ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "function, value, expected",
    [
        ("str2bool", "True", True),
        ("str2bool", "false", False),
        ("int_or_none", "3 ", 3),
        ("int_or_none", "nil", None),
        ("float_or_none", "3.5", 3.5),
        ("str_or_none", "null", None),
        ("str_or_int", "7", 7),
        ("str_or_int", "cpu", "cpu"),
        ("humanfriendly_parse_size_or_none", "16k", 16000.0),
        ("str2pair_str", "a, b", ("a", "b")),
        ("str2pair_str", "('a', 'b')", ("a", "b")),
        ("str2triple_str", "a,b, c", ("a", "b", "c")),
        ("str2triple_str", "['x.scp', 'speech', 'sound']", ("x.scp", "speech", "sound")),
        ("remove_parenthesis", " [a, b] ", "a, b"),
        ("remove_quotes", "'a'", "a"),
    ],
)
def test_types_converters_as_espnet2(function, value, expected):
    from espkit.utils import types

    assert getattr(types, function)(value) == expected


@pytest.mark.parametrize(
    "function, value",
    [("str2bool", "aa"), ("int_or_none", "aa"), ("float_or_none", "aa"), ("str2pair_str", "a,b,c"),
     ("str2pair_str", "a"), ("str2triple_str", "a,b"), ("humanfriendly_parse_size_or_none", "many")],
)  # fmt: skip
def test_types_converters_raise_value_error_like_espnet2(function, value):
    from espkit.utils import types

    with pytest.raises(ValueError):
        getattr(types, function)(value)
    if function not in ("int_or_none", "float_or_none"):  # int()/float()'s own ValueError there
        with pytest.raises(argparse.ArgumentTypeError):  # and argparse prints espkit's message
            getattr(types, function)(value)


def test_read_text_signatures(tmp_path):
    from espkit.fileio.read_text import load_num_sequence_text, read_2columns_text, read_multi_columns_text

    table = tmp_path / "wav.scp"
    table.write_text("abc /a.wav /a2.wav\ndef /b.wav\n")
    assert read_2columns_text(table) == {"abc": "/a.wav /a2.wav", "def": "/b.wav"}
    columns, unsplit = read_multi_columns_text(table, return_unsplit=True)
    assert columns == {"abc": ["/a.wav", "/a2.wav"], "def": ["/b.wav"]}
    assert unsplit == {"abc": "/a.wav /a2.wav", "def": "/b.wav"}
    assert read_multi_columns_text(table)[1] is None
    numbers = tmp_path / "shape"
    numbers.write_text("u1 3,80\nu2 5,80\n")
    loaded = load_num_sequence_text(numbers, loader_type="csv_int")
    np.testing.assert_array_equal(loaded["u2"], [5, 80])
    numbers.write_text("u1 3,80\nu1 5,80\n")
    with pytest.raises(RuntimeError, match="duplicate uid 'u1'"):
        load_num_sequence_text(numbers)
    with pytest.raises(ValueError):
        load_num_sequence_text(numbers, loader_type="dummy")


def _write_wav(path, samples: np.ndarray, fs: int = 16000) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(fs)
        w.writeframes(samples.astype("<i2").tobytes())


def test_sound_scp_reader_and_writer_options(tmp_path):
    from espkit.fileio.sound_scp import SoundScpReader, SoundScpWriter

    _write_wav(tmp_path / "a.wav", np.array([0, 100, -100, 200]))
    _write_wav(tmp_path / "b.wav", np.array([1, 2, 3, 4]))
    scp = tmp_path / "wav.scp"
    scp.write_text(f"u1 {tmp_path / 'a.wav'}\n")
    fs, array = SoundScpReader(scp)["u1"]  # ESPnet2's defaults: stored dtype, 1-d
    assert fs == 16000 and array.dtype == np.int16 and array.tolist() == [0, 100, -100, 200]
    assert SoundScpReader(scp, dtype="float32", always_2d=True)["u1"][1].shape == (4, 1)
    scp.write_text(f"u1 {tmp_path / 'a.wav'} {tmp_path / 'b.wav'}\n")
    fs, array = SoundScpReader(scp, multi_columns=True)["u1"]
    assert array.shape == (4, 2) and array[:, 1].tolist() == [1, 2, 3, 4]
    # older ESPnet2: numpy dtypes, normalize=True for float in [-1, 1]
    assert SoundScpReader(scp, dtype=np.int16, multi_columns=True)["u1"][1].dtype == np.int16
    scp.write_text(f"u1 {tmp_path / 'a.wav'}\n")
    np.testing.assert_allclose(SoundScpReader(scp, normalize=True)["u1"][1], np.array([0, 100, -100, 200]) / 32768)
    with SoundScpWriter(tmp_path / "out32", tmp_path / "out32.scp", dtype=np.int32) as writer:
        writer["u1"] = (16000, np.array([0, 1 << 20], np.int32))
    assert SoundScpReader(tmp_path / "out32.scp")["u1"][1].tolist() == [0, 1 << 20]
    with SoundScpWriter(tmp_path / "out", tmp_path / "out.scp") as writer:  # ESPnet2's subtype=None
        writer["u1"] = (16000, array[:, 0])
    assert SoundScpReader(tmp_path / "out.scp")["u1"][1].tolist() == [0, 100, -100, 200]
    with pytest.raises(ValueError, match="multi_columns=True"):
        SoundScpWriter(tmp_path / "out2", tmp_path / "out2.scp", multi_columns=True)


def test_sequence_iter_factory_takes_lists_tuples_and_samplers(tmp_path):
    from espkit.iterators.sequence_iter_factory import SequenceIterFactory
    from espkit.samplers.num_elements_batch_sampler import NumElementsBatchSampler
    from espkit.samplers.shape_file import write_shape_file

    class Dataset:
        def __getitem__(self, item):
            return item

    batches = [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    factory = SequenceIterFactory(dataset=Dataset(), batches=batches, num_iters_per_epoch=3)
    epochs = [[b.tolist() for b in factory.build_iter(epoch)] for epoch in (1, 2)]
    assert epochs == [[[0, 1], [2, 3], [4, 5]], [[6, 7], [8, 9], [0, 1]]]
    as_tuples = SequenceIterFactory(dataset=Dataset(), batches=tuple(tuple(b) for b in batches), collate_fn=list)
    assert list(as_tuples.build_iter(1)) == batches
    shape = tmp_path / "shape"
    write_shape_file(shape, {"a": (3,), "b": (4,)})
    sampler = NumElementsBatchSampler(batch_bins=100, shape_files=[shape])
    from_sampler = SequenceIterFactory(dataset=Dataset(), batches=sampler, collate_fn=list)
    assert list(from_sampler.build_iter(1)) == [["b", "a"]]


def test_common_collate_fn_defaults_as_espnet2():
    from espkit.train.collate_fn import CommonCollateFn, common_collate_fn

    data = [("a", {"x": np.array([1, 2]), "y": np.ones(2, np.float32)}), ("b", {"x": np.array([3]), "y": np.ones(1)})]
    data[1][1]["y"] = np.ones(1, np.float32)
    uids, batch = CommonCollateFn()(data)
    assert uids == ["a", "b"] and batch["x"].tolist() == [[1, 2], [3, -32768]]
    assert batch["y"].tolist() == [[1.0, 1.0], [1.0, 0.0]] and batch["x_lengths"].tolist() == [2, 1]
    uids, batch = common_collate_fn(data, float_pad_value=-1.0, int_pad_value=0)
    assert batch["x"].tolist() == [[1, 2], [3, 0]] and batch["y"][1, 1].item() == -1.0


def test_reporter_espnet2_api():
    from espkit.train.reporter import Reporter

    reporter = Reporter()
    assert reporter.get_epoch() == 0
    for epoch, loss in [(1, 3.0), (2, 1.0), (3, 2.0)]:
        reporter.set_epoch(epoch)
        with reporter.observe("valid") as sub:
            sub.register({"loss": loss, "acc": None}, weight=1)
            sub.next()
            sub.register({"loss": loss + 2}, weight=3)  # weighted: (l + 3 (l + 2)) / 4
            with pytest.raises(ValueError, match="'loss' was registered with a weight"):
                sub.register({"loss": 0.0})  # ESPnet2: one kind (weighted or not) per stat
    assert reporter.get_value("valid", "loss", epoch=2) == pytest.approx(2.5)
    assert reporter.sort_epochs("valid", "loss", "min") == [2, 3, 1]
    assert reporter.sort_values("valid", "loss", "min") == pytest.approx([2.5, 3.5, 4.5])
    assert reporter.get_best_epoch("valid", "loss", "min", nbest=1) == 3
    assert reporter.get_keys() == ("valid",) and reporter.get_keys2("valid") == ("loss",)
    assert reporter.has("valid", "loss") and not reporter.has("train", "loss")
    assert reporter.log_message().startswith("3epoch results: [valid] loss=3.5")
    assert not reporter.check_early_stopping(1, "valid", "loss", "min")  # ESPnet2: 3 - 2 > patience
    assert reporter.check_early_stopping(0, "valid", "loss", "min")


def test_average_nbest_models_espnet2_signature(tmp_path):
    from espkit.main_funcs.average_nbest_models import average_nbest_models
    from espkit.train.reporter import Reporter

    reporter = Reporter()
    for epoch, loss in [(1, 3.0), (2, 1.0), (3, 2.0)]:
        with reporter.observe("valid", epoch) as sub:
            sub.register({"loss": loss})
        torch.save({"w": torch.tensor([float(epoch)])}, tmp_path / f"{epoch}epoch.pth")
    average_nbest_models(
        output_dir=tmp_path, reporter=reporter, best_model_criterion=[["valid", "loss", "min"]], nbest=2
    )
    averaged = torch.load(tmp_path / "valid.loss.ave_2best.pth", weights_only=True)
    assert averaged["w"].item() == pytest.approx(2.5)  # epochs 2 and 3
    assert torch.load(tmp_path / "valid.loss.ave.pth", weights_only=True)["w"].item() == pytest.approx(2.5)
    average_nbest_models(tmp_path, reporter, [("valid", "loss", "min")], [1, 3], suffix=".till3epoch")
    assert torch.load(tmp_path / "valid.loss.ave_3best.till3epoch.pth", weights_only=True)["w"].item() == 2.0


# --- TTSTask ----------------------------------------------------------------------------------------
def _tts_args(tmp_path, *extra: str) -> argparse.Namespace:
    from espkit.tasks.tts import TTSTask

    return TTSTask.get_parser().parse_args(
        [
            "--feats_extract_conf",
            "{fs: 8k, n_fft: 256, hop_length: 64, n_mels: 8, fmin: 0, fmax: 4000}",
            "--normalize",
            "none",
            "--tts_conf",
            "{embed_dim: 8, eunits: 8, econv_layers: 1, econv_chans: 8, adim: 8, aconv_chans: 4, aconv_filts: 3,"
            " dlayers: 1, dunits: 16, prenet_units: 8, postnet_layers: 1, postnet_chans: 8}",
            *extra,
        ]
    )


def test_tts_task_build_model_with_token_list_path(tmp_path):
    from espkit.tasks.tts import TTSTask

    tokens = tmp_path / "tokens.txt"
    tokens.write_text("<blank>\n<unk>\na\nt\n<sos/eos>\n")
    args = _tts_args(tmp_path, "--token_list", str(tokens))
    args = TTSTask.resolve_args(args)
    args.token_list = str(tokens)  # ESPnet2 scripts pass the path straight to build_model
    model = TTSTask.build_model(args)
    assert args.token_list == ["<blank>", "<unk>", "a", "t", "<sos/eos>"]
    assert model.tts.idim == 5 and model.feats_extract.fs == 8000
    assert TTSTask.expected_fs(args) == 8000


def test_tts_task_refuses_utterance_mvn_at_configuration(tmp_path):
    from espkit.tasks.tts import TTSTask
    from espkit.utils.errors import ConfigError

    args = _tts_args(tmp_path, "--token_list", "a,b")
    args.normalize = "utterance_mvn"
    with pytest.raises(ConfigError, match=r"^--normalize utterance_mvn: .*global_mvn") as info:
        TTSTask.resolve_args(args)
    assert "\n" not in str(info.value)


def test_tacotron_cleaner_is_espnet2s():
    from espkit.text.cleaner import TextCleaner

    cleaner = TextCleaner(["tacotron"])
    assert cleaner("(Hello-World);   &  jr. & dr.") == "HELLO WORLD, AND JUNIOR AND DOCTOR"
    assert cleaner("The birch canoe slid on the smooth planks.") == "THE BIRCH CANOE SLID ON THE SMOOTH PLANKS."


def test_espnet2_device_funcs_and_distributed_utils_paths():
    import numpy as np

    from espkit.torch_utils.device import to_device
    from espkit.torch_utils.device_funcs import force_gatherable
    from espkit.torch_utils.device_funcs import to_device as to_device_alias
    from espkit.train.distributed import DistributedOption
    from espkit.train.distributed_utils import DistributedOption as DistributedOptionAlias

    assert to_device_alias is to_device and DistributedOptionAlias is DistributedOption
    out = force_gatherable(
        {"loss": torch.tensor(2.0), "stats": {"n": 3, "x": 0.5, "a": np.ones(2)}, "w": [torch.ones(2)], "s": "k"},
        "cpu",
    )
    assert out["loss"].shape == (1,) and out["stats"]["n"].dtype == torch.long and out["stats"]["n"].tolist() == [3]
    assert out["stats"]["x"].dtype == torch.float32 and out["stats"]["a"].tolist() == [1.0, 1.0]
    assert out["w"][0].shape == (2,) and out["s"] == "k"
