"""Text2Speech's input checks (device, decoding options, token ids, emotion weights), its loading
of a moved experiment and its own random stream, on a tiny trained controllable Tacotron2."""

import logging
import random
import shutil

import numpy as np
import pytest
import torch
import yaml
from tiny_corpus import make_tiny_corpus, tiny_train_args

from espkit.bin.tts_train import main as train_main
from espkit.torch_utils.seeding import set_all_random_seed
from espkit.train.checkpoint import CheckpointError
from espkit.tts.decode_options import check_decode_conf
from espkit.tts.inference_model import build_model_for_inference
from espkit.tts.text2speech import Text2Speech, check_device

DECODE = dict(minlenratio=2.0, maxlenratio=4.0)


@pytest.fixture(scope="module")
def exp(tmp_path_factory):
    root = tmp_path_factory.mktemp("t2s")
    data = make_tiny_corpus(root / "data")
    train_main(tiny_train_args(data, root / "exp", ["--max_epoch", "1"]))
    return root / "exp"


@pytest.fixture(scope="module")
def tts(exp):
    return Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", always_fix_seed=True, **DECODE)


def _moved_config(exp, tmp_path, stats_file):
    """A copy of the experiment under ``tmp_path`` whose config points ``normalize`` at ``stats_file``
    (None: no stats_file entry)."""
    moved = tmp_path / "moved"
    moved.mkdir(parents=True)
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["normalize"] == "global_mvn"
    if stats_file is None:
        del config["normalize_conf"]["stats_file"]
    else:
        config["normalize_conf"]["stats_file"] = str(stats_file)
    (moved / "config.yaml").write_text(yaml.safe_dump(config))
    shutil.copy(exp / "valid.loss.best.pth", moved / "valid.loss.best.pth")
    return moved


# --- device ---------------------------------------------------------------------------------------
def test_cuda_without_gpu_is_reported_before_the_model_file_is_read(exp, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes((exp / "valid.loss.best.pth").read_bytes()[:100])
    with pytest.raises(
        ValueError,
        match=r"device='cuda': CUDA is not available on this machine; use device='cpu' "
        r"\(tts_inference: --ngpu 0\)",
    ):
        Text2Speech(exp / "config.yaml", truncated, device="cuda")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):  # on the CPU the file itself is the problem
        Text2Speech(exp / "config.yaml", truncated, device="cpu")


def test_check_device_names_valid_devices(monkeypatch):
    assert check_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device='gpu0' is not a device; use 'cpu' or 'cuda"):
        check_device("gpu0")
    with pytest.raises(ValueError, match="runs on 'cpu' or 'cuda\\[:N\\]', not meta"):
        check_device("meta")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert check_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(ValueError, match=r"device='cuda:2': this machine has 2 CUDA device\(s\) \(cuda:0 to cuda:1\)"):
        check_device("cuda:2")


# --- decoding options -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options, message",
    [
        ({"threshold": 0.0}, r"threshold must be > 0 \(a stop probability\), got 0.0"),
        ({"threshold": -0.5}, r"threshold must be > 0"),
        ({"maxlenratio": -3.0}, "maxlenratio must be > 0 .*got -3.0"),
        ({"maxlenratio": 0.0}, "maxlenratio must be > 0"),
        ({"minlenratio": -1.0}, "minlenratio must be >= 0 .*got -1.0"),
        ({"minlenratio": 5.0, "maxlenratio": 4.0}, "minlenratio 5.0 is above maxlenratio 4.0"),
        ({"maxlenratio": float("nan")}, "maxlenratio must be a finite number, got nan"),
        ({"backward_window": -1}, "backward_window must be an integer >= 0"),
    ],
)
def test_constructor_rejects_decoding_options_out_of_range(exp, options, message):
    with pytest.raises(ValueError, match=f"decoding option.*{message}"):
        Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", **options)


def test_call_checks_decode_conf_overrides(tts):
    with pytest.raises(ValueError, match="decoding option threshold must be a finite number, got 'x'"):
        tts("ab", emo_labs=0, decode_conf={"threshold": "x"})
    with pytest.raises(ValueError, match="minlenratio 5.0 is above maxlenratio 4.0"):  # against the constructor's max
        tts("ab", emo_labs=0, decode_conf={"minlenratio": 5})
    with pytest.raises(ValueError, match="use_teacher_forcing must be true or false, got 'yes'"):
        tts("ab", emo_labs=0, decode_conf={"use_teacher_forcing": "yes"})


def test_a_threshold_of_1_or_more_decodes_to_maxlenratio(tts, caplog):
    assert check_decode_conf({"threshold": 1.01}) == {"threshold": 1.01}  # bench/bench_infer.py's fixed length
    with caplog.at_level(logging.INFO):
        out = tts("ab", emo_labs=0, decode_conf={"threshold": 2.0, "maxlenratio": 3.0})
    assert "stop token never fires" in caplog.text
    text_len = len(tts.token_ids("ab")) + 1  # the model appends <sos/eos>
    r = tts.model.tts.reduction_factor
    steps = -(-3 * text_len // r)  # decoder steps of r frames until maxlen (3 x text_len frames)
    assert out["feat_gen"].shape[0] == steps * r  # the stop token never ended it


def test_check_decode_conf_keeps_valid_values():
    conf = check_decode_conf(
        {
            "threshold": 0.5,
            "minlenratio": 0,
            "maxlenratio": 10,
            "forward_window": 3,
            "use_att_constraint": np.bool_(True),
        }
    )
    assert conf == {
        "threshold": 0.5,
        "minlenratio": 0.0,
        "maxlenratio": 10.0,
        "forward_window": 3,
        "use_att_constraint": True,
    }
    assert isinstance(conf["use_att_constraint"], bool)
    with pytest.raises(ValueError, match="unknown option 'beam'; valid: threshold"):
        check_decode_conf({"beam": 3})


# --- text -----------------------------------------------------------------------------------------
def test_token_ids_out_of_range_name_the_vocabulary(tts):
    assert tts.vocab_size == 7
    assert tts.token_ids([3, 4, 6]).tolist() == [3, 4, 6]
    for ids, bad in ((torch.tensor([3, 99]), 99), (torch.tensor([3, -1]), -1), (np.array([7]), 7)):
        with pytest.raises(
            ValueError,
            match=f"token id {bad} is out of range: valid ids are 0 to 6 "
            r"\(the model's token list has 7 tokens\)",
        ):
            tts(ids, emo_labs=0)


def test_text_of_another_type_is_a_type_error(tts):
    with pytest.raises(TypeError, match="text must be a string or token ids .* got NoneType"):
        tts(None, emo_labs=0)
    with pytest.raises(TypeError, match="got dict"):
        tts({"text": "ab"}, emo_labs=0)
    with pytest.raises(ValueError, match="of integers, got \\(2,\\) <U1"):
        tts(np.array(["a", "b"]), emo_labs=0)
    with pytest.raises(ValueError, match="of integers, got \\(2,\\) bool"):
        tts(torch.tensor([True, False]), emo_labs=0)


# --- emotion weights ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "weights, message",
    [
        ([1.0, 0.0], r"must have one value per emotion, 4 \(neutral, happy, sad, angry\), got 2"),
        ([0.0, 1.0, 0.0, 0.0, 5.0, 5.0], r"must have one value per emotion, 4 \(neutral, happy, sad, angry\), got 6"),
        ([np.nan, 1.0, 0.0, 0.0], r"must be finite, got \[nan, 1.0, 0.0, 0.0\]"),
        ([np.inf, 1.0, 0.0, 0.0], "must be finite, got \\[inf"),
        ([-1.0, 2.0, 0.0, 0.0], r"must be >= 0, got \[-1.0, 2.0, 0.0, 0.0\] \(emotions: neutral, happy, sad, angry\)"),
        ([0.0, 0.0, 0.0, 0.0], "must have a positive sum"),
    ],
)
def test_emotion_weights_are_checked_like_the_mapping_form(tts, weights, message):
    with pytest.raises(ValueError, match=f"emo_labs weights {message}"):
        tts("ab", emo_labs=np.array(weights))


def test_valid_emotion_weights_are_normalised(tts):
    out = tts("ab", emo_labs=np.array([0.0, 3.0, 1.0, 0.0]))
    assert out["emotion"]["label"] == {"happy": 0.75, "sad": 0.25}
    assert out["emotion"]["weights"].tolist() == [0.0, 0.75, 0.25, 0.0]


# --- a moved experiment ---------------------------------------------------------------------------
@pytest.mark.parametrize("gone", ["old_place/stats/train/feats_stats.npz", None])
def test_missing_stats_file_takes_the_statistics_from_the_model_file(exp, tts, tmp_path, gone):
    gone = None if gone is None else tmp_path / gone
    moved = _moved_config(exp, tmp_path, gone)
    moved_tts = Text2Speech(moved / "config.yaml", moved / "valid.loss.best.pth", always_fix_seed=True, **DECODE)
    assert torch.equal(moved_tts.model.normalize.mean, tts.model.normalize.mean)
    assert torch.equal(moved_tts.model.normalize.std, tts.model.normalize.std)
    assert not torch.equal(moved_tts.model.normalize.std, torch.ones_like(moved_tts.model.normalize.std))
    assert moved_tts.model.normalize.stats_file == gone
    assert moved_tts.train_args.normalize_conf["stats_file"] == (gone if gone is None else str(gone))  # as it was
    out, expected = moved_tts("ab ba", emo_labs="sad"), tts("ab ba", emo_labs="sad")
    assert torch.equal(out["feat_gen_denorm"], expected["feat_gen_denorm"])


def test_missing_stats_file_without_the_buffers_is_still_an_error(exp, tmp_path):
    gone = tmp_path / "gone/feats_stats.npz"
    moved = _moved_config(exp, tmp_path, gone)
    state = torch.load(moved / "valid.loss.best.pth", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("normalize.")}
    torch.save(state, moved / "no_stats.pth")
    with pytest.raises(
        FileNotFoundError,
        match=f"normalize_conf stats_file {gone} does not exist and "
        ".*no_stats.pth holds no normalize.mean / normalize.std",
    ):
        Text2Speech(moved / "config.yaml", moved / "no_stats.pth")
    with pytest.raises(FileNotFoundError, match="does not exist and no model_file was given"):
        build_model_for_inference(moved / "config.yaml", None)
    unset = _moved_config(exp, tmp_path / "unset", None)
    shutil.copy(moved / "no_stats.pth", unset / "no_stats.pth")
    with pytest.raises(FileNotFoundError, match="normalize_conf stats_file is not set and .*no_stats.pth holds no"):
        Text2Speech(unset / "config.yaml", unset / "no_stats.pth")


def test_existing_stats_file_is_used_as_before(exp):
    model, args = build_model_for_inference(exp / "config.yaml", None)
    stats = np.load(args.normalize_conf["stats_file"])
    mean = stats["sum"] / stats["count"]
    assert torch.allclose(model.normalize.mean, torch.from_numpy(mean).float())


# --- a config of another run ----------------------------------------------------------------------
@pytest.mark.parametrize("key, swap", [("token_list", (3, 4)), ("emo_list", (0, 1))])
def test_a_config_whose_lists_differ_from_the_model_files_run_is_refused(exp, tmp_path, key, swap):
    config = yaml.safe_load((exp / "config.yaml").read_text())
    i, j = swap
    config[key][i], config[key][j] = config[key][j], config[key][i]  # same size, another order
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(config))
    with pytest.raises(
        ValueError,
        match=rf"trained with .*config.yaml, whose {key} differs .*index {i}.*"
        rf"use --train_config",
    ):
        Text2Speech(other, exp / "valid.loss.best.pth", **DECODE)
    config[key][i], config[key][j] = config[key][j], config[key][i]
    other.write_text(yaml.safe_dump(config))  # the same lists in another file: accepted
    assert Text2Speech(other, exp / "valid.loss.best.pth", **DECODE).vocab_size == len(config["token_list"])


# --- random state ---------------------------------------------------------------------------------
TEXTS = ("ab ba", "ab ba", "cab")


def _global_rng_states():
    """The process's python, numpy and torch RNG states, comparable with ``==``."""
    _, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    return random.getstate(), (np_keys.tobytes(), np_pos, np_has_gauss, np_gauss), torch.get_rng_state().tolist()


def _decode(tts):
    return [tts(text, emo_labs="sad")["feat_gen"] for text in TEXTS]


def test_construction_and_calls_leave_the_global_rng_alone(exp):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    before = _global_rng_states()
    tts = Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", seed=5, **DECODE)
    _decode(tts)
    tts.always_fix_seed = True
    _decode(tts)
    assert _global_rng_states() == before


def test_calls_continue_one_stream_that_callers_draws_do_not_move(exp):
    alone = _decode(Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", seed=5, **DECODE))
    assert not torch.equal(alone[0], alone[1])  # the prenet dropout draws on: the same text, the next draws
    first, second = (Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", seed=5, **DECODE) for _ in range(2))
    for text, expected in zip(TEXTS, alone):  # interleaved, with the caller drawing in between
        assert torch.equal(first(text, emo_labs="sad")["feat_gen"], expected)
        torch.rand(100)
        assert torch.equal(second(text, emo_labs="sad")["feat_gen"], expected)


def test_outputs_are_those_of_the_globally_seeded_stream(exp):
    """What Text2Speech gave when it seeded the process's RNG (set_all_random_seed, then the model's
    construction, then every call drawing from the global RNG), it gives now from its own stream."""
    tts = Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", seed=11, **DECODE)
    fixed = Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", seed=11, always_fix_seed=True, **DECODE)
    outs, fixed_outs = _decode(tts), _decode(fixed)
    conf = {k: v for k, v in tts.decode_conf.items() if k != "use_teacher_forcing"}
    sad = torch.tensor(2)
    with torch.random.fork_rng(devices=[]), torch.inference_mode():
        set_all_random_seed(11)
        build_model_for_inference(exp / "config.yaml", exp / "valid.loss.best.pth")  # draws its initial weights
        old = [tts.model.inference(tts.token_ids(text), emo_labs=sad, **conf)["feat_gen"] for text in TEXTS]
        old_fixed = []
        for text in TEXTS:
            set_all_random_seed(11)
            old_fixed.append(tts.model.inference(tts.token_ids(text), emo_labs=sad, **conf)["feat_gen"])
    assert all(torch.equal(a, b) for a, b in zip(outs, old))
    assert all(torch.equal(a, b) for a, b in zip(fixed_outs, old_fixed))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_decoding_keeps_the_global_cuda_rng_and_its_stream(exp):
    torch.cuda.manual_seed(4)
    before = torch.cuda.get_rng_state()
    tts = Text2Speech(exp / "config.yaml", exp / "valid.loss.best.pth", seed=11, device="cuda", **DECODE)
    outs = _decode(tts)
    assert torch.equal(torch.cuda.get_rng_state(), before)
    conf = {k: v for k, v in tts.decode_conf.items() if k != "use_teacher_forcing"}
    with torch.random.fork_rng(devices=[torch.cuda.current_device()]), torch.inference_mode():
        set_all_random_seed(11)
        build_model_for_inference(exp / "config.yaml", exp / "valid.loss.best.pth")
        old = [
            tts.model.inference(tts.token_ids(text), emo_labs=torch.tensor(2, device="cuda"), **conf)["feat_gen"]
            for text in TEXTS
        ]
    assert all(torch.equal(a, b) for a, b in zip(outs, old))
