"""tts_server's command line: model names, vocoders per model, one-line errors, the server it builds."""

import re

import pytest
from tiny_server import make_packed_models

from espkit.bin.tts_server import build_server, get_parser, main, named_paths


def test_named_paths_name_models_after_their_zip_or_the_given_name():
    assert named_paths(["a/b/model.zip", "fs2=x/y.zip"], "--model_file") == {"model": "a/b/model.zip", "fs2": "x/y.zip"}
    with pytest.raises(ValueError, match="the name 'model' is given twice; name them NAME=PATH"):
        named_paths(["a/model.zip", "b/model.zip"], "--model_file")
    with pytest.raises(ValueError, match="give PATH or NAME=PATH"):
        named_paths(["=x.zip"], "--model_file")


def test_defaults_bind_to_this_machine_only():
    args = get_parser().parse_args(["--model_file", "m.zip"])
    assert (args.host, args.port, args.num_workers, args.max_queue) == ("127.0.0.1", 8080, 1, 4)


def test_user_mistakes_are_one_error_line(tmp_path, capsys):
    for argv, message in [
        (["--model_file", str(tmp_path / "gone.zip")], "--model_file gone=.*gone.zip: no such file"),
        (["--model_file", f"m={tmp_path}/a.zip", "--vocoder_file", "x=v.pth"], "no model named 'x'; models: m"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert ": error: --" in last and re.search(message, last), last


def test_build_server_loads_each_named_model_with_its_limits(tmp_path):
    zips = make_packed_models(tmp_path)
    args = get_parser().parse_args(
        ["--model_file", f"a={zips['fs2']}", "--model_file", str(zips["taco"]), "--max_text_chars", "50"]
        + ["--max_queue", "2", "--maxlenratio", "4"]
    )
    server = build_server(args)
    assert list(server.models) == ["a", "taco"]
    assert server.limits.max_text_chars == 50 and server.pool.capacity == 3
    assert server.models["taco"].decode_conf["maxlenratio"] == 4.0
    assert [d["architecture"] for d in server.descriptions] == ["fastspeech2", "tacotron2_controllable"]
    server.pool.close()
