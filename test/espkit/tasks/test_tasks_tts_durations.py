"""TTSTask with teacher durations: data checks (one-line errors naming uid/file/option), token-level
statistics and a tiny FastSpeech2 trained a step through the task's own data pipeline."""

import numpy as np
import pytest
from tiny_corpus import make_tiny_corpus, tiny_train_args

from espkit.fileio.read_text import DataFormatError
from espkit.fileio.sound_scp import SoundScpReader
from espkit.tasks.tts import TTSTask
from espkit.train.preprocessor import TTSPreprocessor
from espkit.utils.errors import ConfigError

FASTSPEECH2 = [
    "--tts",
    "fastspeech2",
    "--tts_conf",
    "{adim: 8, aheads: 2, elayers: 1, eunits: 16, dlayers: 1, dunits: 16, postnet_layers: 1, postnet_chans: 8,"
    " duration_predictor_chans: 8, pitch_predictor_chans: 8, energy_predictor_chans: 8, emo_embed_dim: 4}",
    "--pitch_extract",
    "pitch",
    "--pitch_extract_conf",
    "{use_token_averaged_f0: true}",
    "--energy_extract",
    "energy",
    "--energy_extract_conf",
    "{use_token_averaged_energy: true}",
    "--normalize",
    "none",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_tiny_corpus(tmp_path_factory.mktemp("corpus"))


def token_ids(corpus):
    prep = TTSPreprocessor(token_type="char", token_list=str(corpus["tokens"]), cleaner="none")
    texts = dict(line.split(" ", 1) for line in corpus["text"].read_text().splitlines())
    return {uid: prep.text_to_ids(text) for uid, text in texts.items()}


def write_durations(corpus, path, change=None):
    """Durations that fit each utterance (frames = samples // 64 + 1) spread over T_text + 1 tokens."""
    lines = []
    reader = SoundScpReader(str(corpus["wav.scp"]))
    for uid, ids in token_ids(corpus).items():
        frames = len(reader[uid][1]) // 64 + 1
        durations = np.full(len(ids) + 1, frames // (len(ids) + 1))
        durations[-1] += frames - durations.sum()
        if change is not None and uid == change[0]:
            durations = change[1](durations)
        lines.append(f"{uid} {' '.join(map(str, durations))}\n")
    path.write_text("".join(lines))
    return path


def fastspeech2_argv(corpus, output_dir, extra=()):
    """:func:`tiny_train_args` with its Tacotron2 options replaced by a tiny FastSpeech2."""
    argv = tiny_train_args(corpus, output_dir)
    for option in ("--tts", "--tts_conf"):
        i = argv.index(option)
        del argv[i : i + 2]
    return argv + FASTSPEECH2 + list(extra)


def args_with_durations(corpus, tmp_path, durations, extra=()):
    argv = fastspeech2_argv(corpus, tmp_path, extra)
    for option in ("--train_data_path_and_name_and_type", "--valid_data_path_and_name_and_type"):
        argv += [option, f"{durations},durations,text_int"]
    return TTSTask.resolve_args(TTSTask.get_parser().parse_args(argv))


def test_a_fastspeech2_config_without_durations_data_is_refused(corpus, tmp_path):
    args = TTSTask.resolve_args(TTSTask.get_parser().parse_args(fastspeech2_argv(corpus, tmp_path)))
    with pytest.raises(ConfigError, match=r"^--train_data_path_and_name_and_type: --tts FastSpeech2 needs token "):
        TTSTask.build_model(args)


def test_fastspeech2_trains_on_teacher_durations_through_the_task(corpus, tmp_path):
    args = args_with_durations(corpus, tmp_path, write_durations(corpus, tmp_path / "durations"))
    model = TTSTask.build_model(args)
    uids, batch = next(iter(TTSTask.build_iter_factory(args, distributed=False, mode="train").build_iter(0)))
    assert batch["durations"].shape[1] == batch["text"].shape[1] + 1
    loss, stats, _ = model(**batch)
    loss.backward()
    assert np.isfinite(float(loss.detach())) and {"duration_loss", "pitch_loss", "energy_loss"} <= set(stats)


def test_statistics_of_pitch_and_energy_are_per_token(corpus, tmp_path):
    durations = write_durations(corpus, tmp_path / "durations")
    argv = fastspeech2_argv(corpus, tmp_path / "stats", ["--collect_stats", "true"])
    for option in ("--train_data_path_and_name_and_type", "--valid_data_path_and_name_and_type"):
        argv += [option, f"{durations},durations,text_int"]
    TTSTask.main(cmd=argv)
    num_tokens = sum(len(ids) + 1 for ids in token_ids(corpus).values())
    for name in ("pitch_stats.npz", "energy_stats.npz"):
        with np.load(tmp_path / "stats" / "train" / name) as stats:
            assert int(stats["count"]) == num_tokens, name


@pytest.mark.parametrize(
    "change, message",
    [
        (
            (lambda d: np.concatenate([d[:-1], [-1, d[-1] + 1]])),
            r"uid 'neutral_0000' \(durations\): negative duration -1",
        ),
        ((lambda d: d[:-1]), r"uid 'neutral_0000' \(durations\): 5 durations for 5 tokens; .*<sos/eos>"),
        (
            (lambda d: d + 1),
            r"uid 'neutral_0000' \(durations\): durations sum to \d+ frames but speech's \d+ samples give",
        ),
    ],
)
def test_durations_that_do_not_fit_name_the_uid(corpus, tmp_path, change, message):
    durations = write_durations(corpus, tmp_path / "durations", change=("neutral_0000", change))
    args = args_with_durations(corpus, tmp_path, durations)
    dataset = TTSTask.build_iter_factory(args, distributed=False, mode="plot_att").dataset
    with pytest.raises(DataFormatError, match=message):
        dataset["neutral_0000"]
    dataset["happy_0001"]  # the others are fine


def test_a_durations_file_missing_a_uid_names_the_file(corpus, tmp_path):
    durations = write_durations(corpus, tmp_path / "durations")
    lines = durations.read_text().splitlines(keepends=True)
    durations.write_text("".join(lines[1:]))
    args = args_with_durations(corpus, tmp_path, durations)
    with pytest.raises(
        DataFormatError, match=rf"{durations} and .*wav.scp cover different uids: 1 uid\(s\) .* missing"
    ):
        TTSTask.build_iter_factory(args, distributed=False, mode="train")
