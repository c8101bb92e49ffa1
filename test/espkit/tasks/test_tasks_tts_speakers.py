"""TTSTask with speakers: ``--spk_list`` sets ``spks`` and is saved in config.yaml, ``sids`` / ``spembs``
data reach the batch (``(B, 1)`` / ``(B, spk_embed_dim)``), and bad speaker data is one error naming
the uid."""

import numpy as np
import pytest
import torch
import yaml
from tiny_corpus import make_tiny_corpus, tiny_train_args

from espkit.fileio.read_text import DataFormatError
from espkit.tasks.tts import TTSTask
from espkit.train.dataset import ESPnetDataset
from espkit.utils.errors import ConfigError

SPEAKERS = ["p225", "p226", "p227"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    data = make_tiny_corpus(root)
    uids = [line.split()[0] for line in data["text"].read_text().splitlines()]
    data["uids"] = uids
    data["utt2sid"] = root / "utt2sid"
    data["utt2sid"].write_text("".join(f"{uid} {i % 3}\n" for i, uid in enumerate(uids)))
    data["utt2spk"] = root / "utt2spk"
    data["utt2spk"].write_text("".join(f"{uid} {SPEAKERS[i % 3]}\n" for i, uid in enumerate(uids)))
    data["spk_list"] = root / "spk_list"
    data["spk_list"].write_text("\n".join(SPEAKERS) + "\n")
    scp = []
    for i, uid in enumerate(uids):
        np.save(root / f"{uid}.npy", np.full(6, i + 1.0, dtype=np.float32))
        scp.append(f"{uid} {root / f'{uid}.npy'}\n")
    data["spembs.scp"] = root / "spembs.scp"
    data["spembs.scp"].write_text("".join(scp))
    return data


def data_args(path, name, kind):
    triple = f"{path},{name},{kind}"
    return ["--train_data_path_and_name_and_type", triple, "--valid_data_path_and_name_and_type", triple]


def parse(argv):
    return TTSTask.resolve_args(TTSTask.get_parser().parse_args(argv))


def speaker_args(corpus, tmp_path, *extra):
    return tiny_train_args(
        corpus,
        tmp_path,
        [
            "--normalize",
            "none",
            "--spk_list",
            str(corpus["spk_list"]),
            *data_args(corpus["utt2sid"], "sids", "text_int"),
        ]
        + list(extra),
    )


def batch_of(args, triples):
    dataset = ESPnetDataset(triples, preprocess=TTSTask.build_preprocess_fn(args, train=True))
    return TTSTask.build_collate_fn(args, train=True)([dataset[uid] for uid in dataset.uids])


def test_spk_list_sets_spks_and_is_saved_in_the_config(corpus, tmp_path):
    args = parse(speaker_args(corpus, tmp_path))
    assert args.spk_list == SPEAKERS and args.tts_conf["spks"] == 3
    model = TTSTask.build_model(args)
    assert model.tts.num_speakers() == 3
    config = yaml.safe_load(TTSTask.dump_config(args, tmp_path).read_text())
    assert config["spk_list"] == SPEAKERS and config["tts_conf"]["spks"] == 3
    again = TTSTask.load_config_args(tmp_path / "config.yaml")
    assert TTSTask.build_model(again).tts.num_speakers() == 3


def test_spk_list_errors_are_config_errors(corpus, tmp_path):
    with pytest.raises(ConfigError, match="--tts_conf spks=5 but --spk_list has 3 speakers"):
        parse(speaker_args(corpus, tmp_path, "--tts_conf", "spks=5"))
    with pytest.raises(ConfigError, match="--spk_list: .*duplicate speaker label 'P225'"):
        parse(speaker_args(corpus, tmp_path, "--spk_list", "p225,P225"))
    assert parse(speaker_args(corpus, tmp_path, "--tts_conf", "spks=3")).tts_conf["spks"] == 3  # agreeing is fine


def test_speaker_data_and_model_must_agree(corpus, tmp_path):
    without_list = tiny_train_args(
        corpus, tmp_path, ["--normalize", "none", *data_args(corpus["utt2sid"], "sids", "text_int")]
    )
    with pytest.raises(ConfigError, match="sids data given but the model takes no sids: set --spk_list"):
        TTSTask.build_model(parse(without_list))
    without_data = tiny_train_args(corpus, tmp_path, ["--normalize", "none", "--spk_list", "p225,p226,p227"])
    with pytest.raises(ConfigError, match="the model takes sids but the data has none: add utt2sid,sids,text_int"):
        TTSTask.build_model(parse(without_data))
    spembs_only = tiny_train_args(
        corpus, tmp_path, ["--normalize", "none", *data_args(corpus["spembs.scp"], "spembs", "npy")]
    )
    with pytest.raises(
        ConfigError, match="spembs data given but the model takes no spembs: set tts_conf spk_embed_dim"
    ):
        TTSTask.build_model(parse(spembs_only))


def test_batches_carry_sids_from_ids_or_names_and_spembs(corpus, tmp_path):
    args = parse(
        speaker_args(
            corpus, tmp_path, "--tts_conf", "spk_embed_dim=6", *data_args(corpus["spembs.scp"], "spembs", "npy")
        )
    )
    text = (str(corpus["text"]), "text", "text")
    uids, by_id = batch_of(args, [text, (str(corpus["utt2sid"]), "sids", "text_int")])
    _, by_name = batch_of(args, [text, (str(corpus["utt2spk"]), "sids", "text")])
    assert by_id["sids"].dtype == torch.long and by_id["sids"].shape == (8, 1) and "sids_lengths" not in by_id
    assert by_id["sids"][:, 0].tolist() == [corpus["uids"].index(uid) % 3 for uid in uids]
    assert torch.equal(by_name["sids"], by_id["sids"])
    _, with_spembs = batch_of(args, [text, (str(corpus["spembs.scp"]), "spembs", "npy")])
    assert with_spembs["spembs"].shape == (8, 6) and with_spembs["spembs"].dtype == torch.float32
    # the whole model takes such a batch
    model = TTSTask.build_model(args)
    _, batch = batch_of(args, [(str(corpus["wav.scp"]), "speech", "sound"), text, (str(corpus["utt2emo"]), "emo_labs", "text"),
                               (str(corpus["utt2sid"]), "sids", "text_int"), (str(corpus["spembs.scp"]), "spembs", "npy")])  # fmt: skip
    loss, _, _ = model(**batch)
    assert torch.isfinite(loss)


def test_bad_speaker_data_names_the_uid(corpus, tmp_path):
    args = parse(speaker_args(corpus, tmp_path, "--tts_conf", "spk_embed_dim=6"))
    preprocess = TTSTask.build_preprocess_fn(args, train=True)
    with pytest.raises(DataFormatError, match=r"uid 'sad_0002' \(sids\): id 3 is out of range \[0, 3\) \(spks=3\)"):
        preprocess("sad_0002", {"sids": np.array([3])})
    with pytest.raises(
        DataFormatError, match="uid 'u1' .sids.: unknown speaker 'bob'; known speakers: p225, p226, p227"
    ):
        preprocess("u1", {"sids": "bob"})
    with pytest.raises(DataFormatError, match="uid 'u1' .sids.: need one integer id"):
        preprocess("u1", {"sids": np.array([1, 2])})
    with pytest.raises(DataFormatError, match=r"uid 'u2' \(spembs\): speaker embedding must be \(6,\), got \(5,\)"):
        preprocess("u2", {"spembs": np.zeros(5, dtype=np.float32)})
    assert preprocess("u3", {"sids": "P227"})["sids"].tolist() == [2]
    bad = tmp_path / "utt2sid"
    bad.write_text("".join(f"{uid} {7 if uid == 'happy_0001' else 0}\n" for uid in corpus["uids"]))
    dataset = ESPnetDataset([(str(bad), "sids", "text_int")], preprocess=preprocess)
    with pytest.raises(DataFormatError, match=r"uid 'happy_0001' \(sids\): id 7 is out of range"):
        dataset["happy_0001"]
