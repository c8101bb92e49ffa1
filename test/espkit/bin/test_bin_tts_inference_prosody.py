"""tts_inference with duration models (tiny untrained FastSpeech2 / FastSpeech) and the prosody
options: what is written, the override files, and the one-line refusals."""

import numpy as np
import pytest
from tiny_corpus import make_tiny_corpus
from tiny_fastspeech import make_tiny_fastspeech

from espkit.bin.tts_inference import main, read_token_values
from espkit.fileio.npy_scp import NpyScpReader
from espkit.fileio.read_text import read_2columns_text
from espkit.utils.errors import ConfigError

UIDS = ["happy_0001", "sad_0002"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_prosody")
    data = make_tiny_corpus(root / "data")
    (root / "keys").write_text("".join(f"{u}\n" for u in UIDS))
    exps = {
        name: make_tiny_fastspeech(root / name, name)
        for name in ("fastspeech2", "fastspeech", "tacotron2_controllable")
    }
    return data, exps, root / "keys"


def _cmd(setup, model, out_dir, *extra):
    data, exps, keys = setup
    return [
        "--train_config",
        str(exps[model]["config"]),
        "--model_file",
        str(exps[model]["model"]),
        "--output_dir",
        str(out_dir),
        "--key_file",
        str(keys),
        "--data_path_and_name_and_type",
        f"{data['text']},text,text",
        "--data_path_and_name_and_type",
        f"{data['utt2emo']},emo_labs,text",
        "--log_level",
        "ERROR",
        *extra,
    ]


def _exit_message(capsys, cmd):
    with pytest.raises(SystemExit) as exit_info:
        main(cmd)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert len(error_lines) == 1, err
    return error_lines[0].strip()


def _table(path):
    return {uid: [float(v) for v in values.split()] for uid, values in read_2columns_text(path).items()}


@pytest.fixture(scope="module")
def decoded(setup, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("fs2_decode")
    main(_cmd(setup, "fastspeech2", out_dir, "--maxlenratio", "1.5", "--threshold", "0.9"))
    return out_dir


def test_fastspeech2_writes_durations_pitch_energy_and_no_attention_outputs(setup, decoded):
    data, _, _ = setup
    texts = read_2columns_text(data["text"])
    denorm = NpyScpReader(decoded / "denorm/feats.scp")
    durations, pitch, energy = (_table(decoded / f"{k}/{k}") for k in ("durations", "pitch", "energy"))
    for uid in UIDS:
        num_tokens = len(texts[uid].replace(" ", "_"))  # char tokens, <space> included
        assert len(durations[uid]) == len(pitch[uid]) == len(energy[uid]) == num_tokens + 1
        assert sum(durations[uid]) == denorm[uid].shape[0]  # reduction_factor 1
        assert min(pitch[uid]) >= 0 and min(energy[uid]) >= 0
    for absent in ("probs", "att_ws", "focus_rates"):
        assert not (decoded / absent).exists(), absent
    assert sorted(read_2columns_text(decoded / "wav/wav.scp")) == UIDS


def test_speed_control_alpha_and_a_durations_file(setup, decoded, tmp_path):
    base = _table(decoded / "durations/durations")
    main(_cmd(setup, "fastspeech2", tmp_path / "slow", "--speed_control_alpha", "2"))
    slow = _table(tmp_path / "slow/durations/durations")
    assert all(slow[uid] == [2 * d for d in base[uid]] for uid in UIDS)
    # the durations an earlier run wrote, read back: alpha does not apply to given durations
    main(
        _cmd(
            setup,
            "fastspeech2",
            tmp_path / "given",
            "--alpha",
            "3",
            "--durations_file",
            str(decoded / "durations/durations"),
        )
    )
    assert _table(tmp_path / "given/durations/durations") == base
    ours, theirs = NpyScpReader(tmp_path / "given/norm/feats.scp"), NpyScpReader(decoded / "norm/feats.scp")
    for uid in UIDS:
        np.testing.assert_allclose(ours[uid], theirs[uid], atol=1e-5)


def test_pitch_and_energy_files_replace_the_prediction(setup, decoded, tmp_path):
    pitch = tmp_path / "pitch"
    lengths = {uid: len(v) for uid, v in _table(decoded / "durations/durations").items()}
    pitch.write_text("".join(f"{uid} " + " ".join(["150"] * n) + "\n" for uid, n in lengths.items()))
    energy = tmp_path / "energy"
    energy.write_text(f"{UIDS[0]} " + " ".join(["0.5"] * lengths[UIDS[0]]) + "\n")  # one uid: the other predicted
    main(_cmd(setup, "fastspeech2", tmp_path / "o", "--pitch_file", str(pitch), "--energy_file", str(energy)))
    written = _table(tmp_path / "o/pitch/pitch")
    assert all(v == pytest.approx([150.0] * lengths[u], rel=1e-4) for u, v in written.items())
    energies = _table(tmp_path / "o/energy/energy")
    assert energies[UIDS[0]] == pytest.approx([0.5] * lengths[UIDS[0]], abs=1e-5)
    assert energies[UIDS[1]] == pytest.approx(_table(decoded / "energy/energy")[UIDS[1]], abs=1e-5)


def test_override_file_with_a_wrong_count_names_file_line_and_uid(setup, tmp_path, capsys):
    bad = tmp_path / "durations"
    bad.write_text(f"{UIDS[0]} 1 2 3\n")
    err = _exit_message(capsys, _cmd(setup, "fastspeech", tmp_path / "o", "--durations_file", str(bad)))
    assert (
        f"error: --durations_file {bad}:1: uid '{UIDS[0]}' has 3 values but its text has 3 tokens: give T_text + 1 = 4"
        in err
    )
    assert not (tmp_path / "o" / "wav" / "wav.scp").exists() or not (tmp_path / "o/wav/wav.scp").read_text()


@pytest.mark.parametrize(
    "content, message",
    [
        ("happy_0001 1 x 2\n", "values must be numbers, got '1 x 2'"),
        ("happy_0001 1 -2 2\n", "values must be finite and >= 0"),
        ("happy_0001 1 2.5 2\n", "durations must be whole frame counts"),
        ("happy_0001 1 2 2\nhappy_0001 1 2 2\n", "is given twice"),
    ],
)
def test_read_token_values_rejects_bad_lines(tmp_path, content, message):
    path = tmp_path / "d"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        read_token_values(path, "durations_file", integer=True)


def test_an_unknown_uid_in_an_override_file_is_an_error(setup, tmp_path, capsys):
    bad = tmp_path / "pitch"
    bad.write_text("nobody 100 100\n")
    err = _exit_message(capsys, _cmd(setup, "fastspeech2", tmp_path / "o", "--pitch_file", str(bad)))
    assert err.endswith(f"--pitch_file {bad}: 1 uid(s) not in the data, e.g. ['nobody']")


@pytest.mark.parametrize(
    "model, option, value, expected",
    [
        (
            "tacotron2_controllable",
            "--pitch_shift_cents",
            "200",
            "pitch_shift_cents needs a model with pitch and energy predictors (fastspeech2); this model is tacotron2_controllable",
        ),
        (
            "tacotron2_controllable",
            "--speed_control_alpha",
            "1.2",
            "alpha needs a model with a duration predictor (fastspeech2, fastspeech); this model is tacotron2_controllable",
        ),
        (
            "fastspeech",
            "--energy_scale",
            "2",
            "energy_scale needs a model with pitch and energy predictors (fastspeech2); this model is fastspeech",
        ),
        ("fastspeech2", "--alpha", "0", "decoding option alpha must be > 0"),
    ],
)
def test_controls_a_model_cannot_honour_are_one_line_errors(setup, tmp_path, capsys, model, option, value, expected):
    err = _exit_message(capsys, _cmd(setup, model, tmp_path / "o", option, value))
    assert expected in err


@pytest.mark.parametrize(
    "model, option", [("tacotron2_controllable", "--durations_file"), ("fastspeech", "--pitch_file")]
)
def test_override_files_a_model_cannot_honour_are_refused_before_decoding(
    setup, decoded, tmp_path, capsys, model, option
):
    source = decoded / ("durations/durations" if option == "--durations_file" else "pitch/pitch")
    err = _exit_message(capsys, _cmd(setup, model, tmp_path / "o", option, str(source)))
    keyword = option[2:].replace("_file", "")
    assert f"error: {keyword} needs a model with" in err and f"this model is {model}" in err
    assert not (tmp_path / "o/norm/feats.scp").exists() or not (tmp_path / "o/norm/feats.scp").read_text()
