"""tts_inference with a multi-speaker model (tiny untrained FastSpeech2 with a speaker list): the speaker
from ``utt2sid`` / ``utt2spk`` data or ``--sids``, equal to Text2Speech's, and bad speakers refused
before anything is decoded; tts_export refuses the model in one line."""

import pytest
from tiny_corpus import make_tiny_corpus
from tiny_fastspeech import make_tiny_fastspeech

from espkit.bin.tts_export import main as export_main
from espkit.bin.tts_inference import main
from espkit.fileio.npy_scp import NpyScpReader
from espkit.tts.text2speech import Text2Speech

SPEAKERS = ["p225", "p226", "p227"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_speakers")
    data = make_tiny_corpus(root / "data", num_utts=4)
    uids = [line.split()[0] for line in data["text"].read_text().splitlines()]
    (root / "utt2sid").write_text("".join(f"{uid} {i % 3}\n" for i, uid in enumerate(uids)))
    (root / "utt2spk").write_text("".join(f"{uid} {SPEAKERS[i % 3]}\n" for i, uid in enumerate(uids)))
    exp = make_tiny_fastspeech(root / "exp", "fastspeech2", emotions=False, extra=["--spk_list", ",".join(SPEAKERS)])
    return {"root": root, "data": data, "uids": uids, "exp": exp}


def _cmd(setup, out_dir, *extra):
    return [
        "--train_config", str(setup["exp"]["config"]), "--model_file", str(setup["exp"]["model"]),
        "--output_dir", str(out_dir), "--data_path_and_name_and_type", f"{setup['data']['text']},text,text",
        "--write_wav", "false", "--plot_att_ws", "false", "--log_level", "ERROR", *extra,
    ]  # fmt: skip


def _feats(out_dir):
    return dict(NpyScpReader(out_dir / "norm" / "feats.scp").items())


def _error_line(capsys, cmd):
    with pytest.raises(SystemExit) as exit_info:
        main(cmd)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_speakers_from_data_and_from_the_option(setup, tmp_path):
    tts = Text2Speech(setup["exp"]["config"], setup["exp"]["model"], vocoder=None)
    texts = dict(line.split(maxsplit=1) for line in setup["data"]["text"].read_text().splitlines())
    main(_cmd(setup, tmp_path / "ids", "--data_path_and_name_and_type", f"{setup['root'] / 'utt2sid'},sids,text_int"))
    main(_cmd(setup, tmp_path / "names", "--data_path_and_name_and_type", f"{setup['root'] / 'utt2spk'},sids,text"))
    main(_cmd(setup, tmp_path / "one", "--sids", "p227"))
    by_id, by_name, one = _feats(tmp_path / "ids"), _feats(tmp_path / "names"), _feats(tmp_path / "one")
    assert sorted(by_id) == sorted(setup["uids"])
    for i, uid in enumerate(setup["uids"]):
        expected = tts(texts[uid], sids=SPEAKERS[i % 3])["feat_gen"].numpy()
        assert (by_id[uid] == expected).all() and (by_name[uid] == expected).all(), uid
        assert (one[uid] == tts(texts[uid], sids="p227")["feat_gen"].numpy()).all(), uid


def test_bad_speakers_are_one_error_line_before_decoding(setup, tmp_path, capsys):
    bad = tmp_path / "utt2sid"
    bad.write_text("".join(f"{uid} {5 if i == 2 else 0}\n" for i, uid in enumerate(setup["uids"])))
    line = _error_line(capsys, _cmd(setup, tmp_path / "a", "--data_path_and_name_and_type", f"{bad},sids,text_int"))
    assert f"uid '{setup['uids'][2]}' (sids): id 5 is out of range [0, 3) (spks=3)" in line
    assert str(bad) in line and "nothing was decoded" in line
    assert not (tmp_path / "a" / "norm" / "feats.scp").exists()
    names = tmp_path / "utt2spk"
    names.write_text("".join(f"{uid} {'bob' if i == 1 else 'p225'}\n" for i, uid in enumerate(setup["uids"])))
    line = _error_line(capsys, _cmd(setup, tmp_path / "b", "--data_path_and_name_and_type", f"{names},sids,text"))
    assert f"uid '{setup['uids'][1]}' (sids): unknown speaker 'bob'; known speakers: p225, p226, p227" in line
    line = _error_line(capsys, _cmd(setup, tmp_path / "c", "--sids", "nobody"))
    assert "--sids nobody: unknown speaker 'nobody'" in line
    line = _error_line(capsys, _cmd(setup, tmp_path / "d"))
    assert "the model has 3 speakers (p225, p226, p227): give --sids NAME|ID or the speakers as data" in line


def test_tts_export_refuses_the_multi_speaker_model_in_one_line(setup, tmp_path, capsys):
    cmd = ["--train_config", str(setup["exp"]["config"]), "--model_file", str(setup["exp"]["model"]),
           "--outpath", str(tmp_path / "model.pt"), "--log_level", "ERROR"]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        export_main(cmd)
    assert exit_info.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(lines) == 1 and "export does not support multi-speaker models (this FastSpeech2 has spks=3)" in lines[0]
    assert not (tmp_path / "model.pt").exists()
