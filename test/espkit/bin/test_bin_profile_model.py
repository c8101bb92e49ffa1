"""profile_model on tiny untrained models: the JSON report, latency and FLOPs growing with the input,
random weights from a config alone (with task options), a packed model's whole path, one-line errors."""

import json
from pathlib import Path

import pytest
import torch
import yaml
from tiny_corpus import TOKENS
from tiny_fastspeech import make_tiny_fastspeech
from tiny_vocoder import HOP, make_tiny_vocoder

from espkit.bin.profile_model import main
from espkit.utils.model_pack import pack_model

QUICK = ["--warmup", "1", "--repeats", "3"]
CASE_KEYS = {"input", "shape", "dtype", "output", "latency", "peak_memory_bytes", "flops"}
REPORT_KEYS = {
    "espkit_version",
    "torch_version",
    "date",
    "device",
    "device_name",
    "num_threads",
    "warmup",
    "repeats",
    "seed",
    "model",
    "part",
    "module",
    "method",
    "filled_arguments",
    "parameters",
    "peak_memory_measure",
    "cases",
    "torchscript",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("profile")
    vocoder_config, vocoder_model = make_tiny_vocoder(root / "vocoder")
    fs2 = make_tiny_fastspeech(root / "fs2", "fastspeech2")
    packed = pack_model(fs2["config"], fs2["model"], root / "fs2.zip", vocoder_file=vocoder_model)
    return {"root": root, "vocoder": (vocoder_config, vocoder_model), "fs2": fs2, "packed": packed}


def run_json(args, tmp_path: Path) -> dict:
    out = tmp_path / "report.json"
    main([*QUICK, "--output_json", str(out), "--log_level", "ERROR", *args])  # args may end with -- ...
    return json.loads(out.read_text())


def test_json_report_of_a_part(tiny, tmp_path, capsys):
    config, model = tiny["vocoder"]
    report = run_json(
        ["--config", str(config), "--model_file", str(model), "--part", "generator", "-i", "1", "8", "20"], tmp_path
    )
    assert set(report) == REPORT_KEYS
    assert report["model"]["weights"] == "trained" and report["model"]["kind"] == "vocoder"
    assert report["module"] == "HiFiGANGenerator" and report["method"] == "forward"
    params = report["parameters"]
    state = torch.load(model, weights_only=True)
    assert params["total"] == sum(v.numel() for k, v in state.items() if k.startswith("generator."))
    assert params["trainable"] == params["total"]
    assert sum(child["total"] for child in params["children"].values()) == params["total"]
    (case,) = report["cases"]
    assert set(case) == CASE_KEYS
    assert case["shape"] == [1, 8, 20] and case["output"]["shapes"] == [[1, 1, 20 * HOP]]
    latency = case["latency"]
    assert latency["repeats"] == 3 and 0 < latency["min_ms"] <= latency["median_ms"] <= latency["p90_ms"]
    assert latency["p90_ms"] <= latency["max_ms"]
    assert case["peak_memory_bytes"] > 0
    # the generator is convolutions: the profiler counts none of the 1-D ones, FlopCounterMode all
    assert case["flops"]["flop_counter"] > 0 and "aten.convolution" in case["flops"]["flop_counter_by_op"]
    assert "aten::conv1d" not in case["flops"]["profiler_by_op"]
    # weight norm (a parametrisation) is not exported by TorchScript: said, with what to do
    torchscript = report["torchscript"]
    assert torchscript["method"] is None and torchscript["script_error"] and torchscript["trace_error"]
    assert "remove_weight_norm" in torchscript["note"]
    table = capsys.readouterr().out
    assert "median ms" in table and "HiFiGANGenerator" in table and "failed: script" in table


def test_torchscript_that_cannot_be_saved_is_an_error_after_the_report(tiny, tmp_path, capsys):
    config, model = tiny["vocoder"]
    saved = tmp_path / "generator.pt"
    args = ["--config", str(config), "--model_file", str(model), "--part", "generator", "-i", "1", "8", "5"]
    with pytest.raises(SystemExit) as exc:
        main([*QUICK, "--log_level", "ERROR", *args, "--save_torchscript", str(saved)])
    assert exc.value.code == 1 and not saved.exists()
    captured = capsys.readouterr()
    assert "torchscript  failed" in captured.out
    err = captured.err.strip()
    assert len(err.splitlines()) == 1
    expected = f"error: --save_torchscript {saved}: not written, TorchScript export failed"
    assert err.endswith(f"{expected} (see 'torchscript' in the report)")


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_latency_and_flops_grow_with_input_size(tiny, tmp_path):
    config, model = tiny["vocoder"]
    saved = tmp_path / "vocoder.pt"
    args = ["--config", str(config), "--model_file", str(model), "-i", "10", "8", "-i", "2000", "8"]
    report = run_json([*args, "--save_torchscript", str(saved)], tmp_path)
    assert report["module"] == "GANVocoder"  # the whole path: weight norm folded, no discriminator
    small, large = report["cases"]
    assert small["output"]["shapes"] == [[10 * HOP]] and large["output"]["shapes"] == [[2000 * HOP]]
    assert large["latency"]["median_ms"] > small["latency"]["median_ms"]  # 200x the frames
    assert large["flops"]["flop_counter"] > 100 * small["flops"]["flop_counter"]
    assert large["peak_memory_bytes"] > small["peak_memory_bytes"]
    assert small["output"]["audio_s"] == pytest.approx(10 * HOP / 8000) and small["rtf"] > 0
    # traced (scripting fails), checked against eager on both sizes, saved and loadable
    torchscript = report["torchscript"]
    assert torchscript["method"] == "trace" and torchscript["checked_cases"] == 2
    assert torchscript["max_abs_diff"] <= 1e-4 and torchscript["saved_to"] == str(saved)
    feats = torch.randn(30, 8)
    assert torch.jit.load(str(saved))(feats).shape == (30 * HOP,)


def test_config_alone_gives_random_weights_with_task_options(tiny, tmp_path):
    fs2 = tiny["fs2"]
    args = ["--config", str(fs2["config"]), "--part", "tts.encoder", "--input_dtype", "long", "-i", "1", "12"]
    trained = run_json([*args[:2], "--model_file", str(fs2["model"]), *args[2:]], tmp_path)
    random = run_json(args, tmp_path)
    assert random["model"]["weights"] == "random" and trained["model"]["weights"] == "trained"
    assert random["parameters"] == trained["parameters"]
    assert random["filled_arguments"] == {"masks": "None"}
    # two more tokens after --: two more rows of the text embedding (adim 16)
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("\n".join(TOKENS[:-1] + ["d", "e", TOKENS[-1]]) + "\n")
    bigger = run_json([*args, "--", "--token_list", str(tokens)], tmp_path)
    assert bigger["model"]["task_options"] == ["--token_list", str(tokens)]
    assert bigger["parameters"]["total"] == trained["parameters"]["total"] + 2 * 16


def test_config_alone_with_missing_statistics_uses_an_identity(tiny, tmp_path):
    config, _ = tiny["vocoder"]
    data = yaml.safe_load(Path(config).read_text())
    data["normalize_conf"]["stats_file"] = str(tmp_path / "gone.npz")
    moved = tmp_path / "config.yaml"
    moved.write_text(yaml.safe_dump(data))
    report = run_json(["--config", str(moved), "-i", "16", "8", "--torchscript", "false"], tmp_path)
    assert report["model"]["weights"] == "random" and report["torchscript"] is None
    assert report["cases"][0]["output"]["shapes"] == [[16 * HOP]]


def test_packed_model_whole_path(tiny, tmp_path):
    saved = tmp_path / "tts.pt"
    args = ["--model_file", str(tiny["packed"]), "--text", "ab ba", "-i", "5", "--save_torchscript", str(saved)]
    report = run_json(args, tmp_path)
    assert report["module"] == "Text2Speech" and report["model"]["kind"] == "tts"
    assert set(report["parameters"]["children"]) == {"model", "vocoder"}
    random_ids, text = report["cases"]
    assert random_ids["T_text"] == 5 and text["T_text"] == 5  # 'ab ba': a b <space> b a
    for case in (random_ids, text):
        frames = case["output"]["frames"]
        assert frames > 0 and case["output"]["samples"] == frames * HOP and case["rtf"] > 0
    torchscript = report["torchscript"]
    assert torchscript["method"] == "script" and torchscript["vocoder"]["method"] == "trace"
    assert saved.is_file() and (tmp_path / "tts_vocoder.pt").is_file()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--part", "tts.nope", "-i", "1", "5"], "--part tts.nope: no such part of this tts model; valid: inference, "),
        (["--part", "tts.postnet", "-i", "1", "a", "5"], "-i/--input_shape 1 a 5: give positive integer sizes"),
        (["--part", "tts.postnet", "-i", "1", "0"], "-i/--input_shape 1 0: give positive integer sizes"),
        (["-i", "1", "5"], "-i 1 5: the whole TTS path takes one size, T_text"),
        (["--part", "tts", "-i", "1", "5"], "--part tts: forward() also needs feats"),
        (["--part", "tts.postnet", "--method", "nope", "-i", "1", "8", "5"], "--method nope: part tts.postnet"),
        (["--part", "tts.postnet"], "give the input sizes to profile: -i/--input_shape"),
        (["--part", "tts.postnet", "-i", "1", "3", "5"], "--part tts.postnet fails on 1x3x5: RuntimeError: "),
        (["--part", "tts.encoder", "-i", "1", "5"], "'indices' to have one of the following scalar types"),
        (["--text", "ab", "--", "--token_list", "x"], "options after -- (--token_list x) change the model of --config"),
        (["--part", "tts.postnet", "-i", "1", "8", "5", "--input_dtype", "long"], "--input_dtype long: part"),
    ],
)
def test_bad_input_is_one_line_naming_the_option(tiny, capsys, args, expected):
    fs2 = tiny["fs2"]
    with pytest.raises(SystemExit) as exc:
        main(["--config", str(fs2["config"]), "--model_file", str(fs2["model"]), "--log_level", "ERROR", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err


def test_missing_files_and_absent_cuda(tiny, tmp_path, capsys):
    config, model = tiny["vocoder"]
    cases = [
        (
            ["--config", str(config), "--model_file", str(tmp_path / "no.pth"), "-i", "5", "8"],
            "--model_file: no such file",
        ),
        (["--config", str(tmp_path / "no.yaml"), "-i", "5", "8"], "--config: no such file"),
        (["--model_file", str(model), "-i", "5", "8"], f"--config is required: --model_file {model} is not a packed"),
    ]
    if not torch.cuda.is_available():
        cases.append(
            (["--config", str(config), "-i", "5", "8", "--device", "cuda"], "--device cuda: CUDA is not available")
        )
    for args, expected in cases:
        with pytest.raises(SystemExit):
            main(args)
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and expected in err, err


def test_list_parts(tiny, capsys):
    fs2 = tiny["packed"]
    main(["--model_file", str(fs2), "--list_parts", "--log_level", "ERROR"])
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names[0] == "inference" and {"tts.encoder", "tts.postnet", "vocoder", "vocoder.model.generator"} <= set(
        names
    )
