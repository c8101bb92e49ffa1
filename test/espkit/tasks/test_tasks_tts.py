import numpy as np
import pytest
import torch
import yaml
from tiny_corpus import make_tiny_corpus, tiny_train_args

from espkit.tasks.tts import TTSTask
from espkit.utils.errors import ConfigError


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_tiny_corpus(tmp_path_factory.mktemp("corpus"))


def parse(argv):
    args = TTSTask.get_parser().parse_args(argv)
    return TTSTask.resolve_args(args)


def test_build_model_from_args_fills_sizes_from_data_config(corpus, tmp_path):
    args = parse(tiny_train_args(corpus, tmp_path, ["--normalize", "none"]))
    model = TTSTask.build_model(args)
    assert model.feats_extract.output_size() == 8
    assert model.tts.num_emotions() == 4
    assert args.token_list[:3] == ["<blank>", "<unk>", "<space>"]  # file read into the config
    assert args.emo_list == ["neutral", "happy", "sad", "angry"]


def test_collect_stats_writes_npz_equal_to_numpy_and_shape_files(corpus, tmp_path):
    stats_dir = tmp_path / "stats"
    TTSTask.main(
        cmd=tiny_train_args(
            corpus, stats_dir, ["--normalize", "none", "--collect_stats", "true", "--batch_bins", "3000"]
        )
    )
    with np.load(stats_dir / "train" / "feats_stats.npz") as stats:
        count, total, total_sq = stats["count"], stats["sum"], stats["sum_square"]
    # Recompute with numpy on the same features, utterance by utterance.
    args = parse(tiny_train_args(corpus, tmp_path, ["--normalize", "none"]))
    model = TTSTask.build_model(args)
    from espkit.train.dataset import ESPnetDataset

    dataset = ESPnetDataset([(str(corpus["wav.scp"]), "speech", "sound")])
    frames = []
    for uid in dataset:
        wav = torch.from_numpy(dataset[uid][1]["speech"])[None]
        feats, lengths = model.feats_extract(wav, torch.tensor([wav.shape[1]]))
        frames.append(feats[0, : lengths[0]].double().numpy())
    frames = np.concatenate(frames)
    assert count == frames.shape[0]
    np.testing.assert_allclose(total, frames.sum(0), rtol=1e-5)
    np.testing.assert_allclose(total_sq, (frames**2).sum(0), rtol=1e-5)
    shape_lines = (stats_dir / "train" / "feats_shape").read_text().splitlines()
    assert len(shape_lines) == 8 and shape_lines[0].split()[1].endswith(",8")
    assert (stats_dir / "train" / "text_shape").exists() and (stats_dir / "valid" / "speech_shape").exists()
    config = yaml.safe_load((stats_dir / "config.yaml").read_text())
    assert config["collect_stats"] is True


def test_unknown_emotion_and_missing_token_list_are_clear(corpus, tmp_path):
    argv = tiny_train_args(corpus, tmp_path)
    argv[argv.index("--token_list") + 1] = str(tmp_path / "missing_tokens.txt")
    with pytest.raises(ConfigError, match="--token_list: file not found"):
        parse(argv)
    args = parse(tiny_train_args(corpus, tmp_path, ["--emo_list", "happy,sad"]))
    from espkit.train.dataset import ESPnetDataset

    dataset = ESPnetDataset(
        [(str(corpus["utt2emo"]), "emo_labs", "text")], preprocess=TTSTask.build_preprocess_fn(args, True)
    )
    with pytest.raises(ValueError, match="neutral.*happy, sad|happy, sad.*neutral"):
        dataset["neutral_0000"]


CLASSIFIER = [
    "--normalize",
    "none",
    "--emo_extract",
    "reference_encoder",
    "--emo_extract_conf",
    "{conv_layers: 1, conv_chans_list: [4]}",
]


def test_linear_emotion_classifier_is_linear_and_older_configs_load(corpus, tmp_path, caplog):
    args = parse(tiny_train_args(corpus, tmp_path, CLASSIFIER + ["--emo_classifier", "linear"]))
    assert args.emo_classifier_conf == {"loss_weight": 1.0, "label_smoothing": 0.0}
    assert isinstance(TTSTask.build_model(args).emo_classifier.net, torch.nn.Linear)
    mlp = parse(tiny_train_args(corpus, tmp_path, CLASSIFIER + ["--emo_classifier", "mlp"]))
    assert isinstance(TTSTask.build_model(mlp).emo_classifier.net, torch.nn.Sequential)
    # config.yaml of a run from when 'linear' built EmotionClassifier (conf resolved with its defaults)
    old = {"hidden_units": 0, "dropout_rate": 0.1, "loss_weight": 1.0, "label_smoothing": 0.0}
    was_linear = parse(
        tiny_train_args(
            corpus, tmp_path, CLASSIFIER + ["--emo_classifier", "linear", "--emo_classifier_conf", yaml.safe_dump(old)]
        )
    )
    assert was_linear.emo_classifier == "linear" and was_linear.emo_classifier_conf == args.emo_classifier_conf
    old["hidden_units"] = 128
    was_mlp = parse(
        tiny_train_args(
            corpus, tmp_path, CLASSIFIER + ["--emo_classifier", "linear", "--emo_classifier_conf", yaml.safe_dump(old)]
        )
    )
    assert was_mlp.emo_classifier == "mlp" and was_mlp.emo_classifier_conf == old
    assert "is the MLP that 'linear' built" in caplog.text
    with pytest.raises(ConfigError, match="LinearEmotionClassifier does not accept dropout_rate"):
        parse(
            tiny_train_args(
                corpus,
                tmp_path,
                CLASSIFIER + ["--emo_classifier", "linear", "--emo_classifier_conf", "dropout_rate=0.2"],
            )
        )


def test_collect_stats_mode_builds_no_normaliser_even_without_stats(corpus, tmp_path):
    args = parse(tiny_train_args(corpus, tmp_path, ["--collect_stats", "true"]))  # global_mvn, no stats file
    model = TTSTask.build_model(args)
    assert model.normalize is None


def test_collect_stats_reads_every_utterance_once_even_with_num_iters_per_epoch(corpus, tmp_path):
    stats_dir = tmp_path / "stats"
    TTSTask.main(
        cmd=tiny_train_args(
            corpus,
            stats_dir,
            ["--normalize", "none", "--collect_stats", "true", "--batch_bins", "3000", "--num_iters_per_epoch", "7"],
        )
    )
    shape_lines = (stats_dir / "train" / "feats_shape").read_text().splitlines()
    assert len(shape_lines) == 8
    with np.load(stats_dir / "train" / "feats_stats.npz") as stats:
        assert int(stats["count"]) == sum(int(line.split()[1].split(",")[0]) for line in shape_lines)


def test_a_token_list_must_end_with_sos_eos(corpus, tmp_path):
    tokens = [t for t in corpus["tokens"].read_text().splitlines() if t != "<sos/eos>"]
    no_eos = tmp_path / "tokens.txt"
    no_eos.write_text("\n".join(tokens) + "\n")
    argv = tiny_train_args(corpus, tmp_path, ["--normalize", "none"])
    argv[argv.index("--token_list") + 1] = str(no_eos)
    with pytest.raises(ConfigError, match=f"last token must be '<sos/eos>'.*got {tokens[-1]!r}"):
        TTSTask.build_model(parse(argv))


def test_speech_given_as_features_is_not_checked_as_a_waveform(corpus, tmp_path):
    features = np.zeros((6, 8), dtype=np.float32)
    argv = tiny_train_args(corpus, tmp_path, ["--feats_extract", "none", "--odim", "8", "--normalize", "none"])
    index = argv.index("--feats_extract_conf")
    args = parse(argv[:index] + argv[index + 2 :])
    assert TTSTask.build_preprocess_fn(args, True)("u1", {"speech": features})["speech"].shape == (6, 8)
    args = parse(tiny_train_args(corpus, tmp_path))
    with pytest.raises(ValueError, match="audio has 8 channels but TTS needs mono"):
        TTSTask.build_preprocess_fn(args, True)("u1", {"speech": features})
