"""parse_options.sh and recipe_options.sh (in a bash subprocess), utils/run_jobs.py, make_reference_pairs.py and merge_yaml.py of
egs/TEMPLATE/tts1."""

import subprocess
import sys
from pathlib import Path

import pytest

UTILS = Path(__file__).resolve().parents[2] / "egs" / "TEMPLATE" / "tts1" / "utils"


def run_bash(tmp_path, name, body, args):
    """Write ``body`` as the bash script ``tmp_path/name`` and run it with ``args``."""
    script = tmp_path / name
    script.write_text("#!/usr/bin/env bash\n" + body)
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True)


def run_script(tmp_path, args):
    return run_bash(
        tmp_path,
        "script.sh",
        "set -e\nnj=4\ntrain_config=conf/train.yaml\nuse_thing=false\n"
        'help_message="Usage: script.sh [options] <dir>"\n'
        f". {UTILS / 'parse_options.sh'}\n"
        'echo "nj=${nj} train_config=${train_config} use_thing=${use_thing} rest=$*"\n',
        args,
    )


def test_parse_options_sets_existing_variables(tmp_path):
    out = run_script(tmp_path, ["--nj", "8", "--train-config=a b.yaml", "--use_thing", "true", "positional", "--x"])
    assert out.returncode == 0, out.stderr
    assert out.stdout == "nj=8 train_config=a b.yaml use_thing=true rest=positional --x\n"
    out = run_script(tmp_path, ["--nj=2", "--", "--nj", "5"])
    assert out.stdout == "nj=2 train_config=conf/train.yaml use_thing=false rest=--nj 5\n"


def test_parse_options_errors_and_help(tmp_path):
    out = run_script(tmp_path, ["--bogus", "1"])
    assert out.returncode == 1 and "unknown option --bogus" in out.stderr and out.stdout == ""
    out = run_script(tmp_path, ["--nj"])
    assert out.returncode == 1 and "option --nj needs a value" in out.stderr
    out = run_script(tmp_path, ["--nj", "3", "--help"])
    assert out.returncode == 0
    assert out.stdout.startswith("Usage: script.sh [options] <dir>\n")
    assert '--nj                     "3"' in out.stdout and '--train_config           "conf/train.yaml"' in out.stdout


def run_recipe_options(tmp_path, args):
    return run_bash(
        tmp_path,
        "run.sh",
        "set -euo pipefail\nsmoke=false\ncorpus_dir=downloads/c\n"
        f". {UTILS / 'recipe_options.sh'}\n"
        'recipe_parse_options "smoke corpus_dir" "$@"\n'
        "recipe_check_bool smoke\nrecipe_check_no_space corpus_dir\n"
        'echo "smoke=${smoke} corpus_dir=${corpus_dir}"\n'
        'printf "<%s>" ${args[@]+"${args[@]}"}; echo\n',
        args,
    )


def test_recipe_options_sets_own_options_and_passes_on_the_rest(tmp_path):
    out = run_recipe_options(tmp_path, ["--nj", "2", "--smoke", "true", "--corpus_dir=/d/x", "--stage=3", "a b"])
    assert out.returncode == 0, out.stderr
    assert out.stdout == "smoke=true corpus_dir=/d/x\n<--nj><2><--stage=3><a b>\n"
    out = run_recipe_options(tmp_path, [])
    assert out.returncode == 0 and out.stdout == "smoke=false corpus_dir=downloads/c\n<>\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--smoke"], "option --smoke needs a value"),
        (["--smoke=True"], "--smoke True: must be true or false"),
        (["--corpus_dir", "/a b"], "--corpus_dir '/a b': a path without spaces is needed"),
    ],
)
def test_recipe_options_errors(tmp_path, args, message):
    out = run_recipe_options(tmp_path, args)
    assert out.returncode == 1 and message in out.stderr and out.stdout == "", out.stderr


def run_jobs(*args, cwd=None):
    return subprocess.run(
        [sys.executable, str(UTILS / "run_jobs.py"), *map(str, args)], capture_output=True, text=True, cwd=cwd
    )


def test_run_jobs_splits_runs_in_parallel_and_merges(tmp_path):
    keys = [f"utt{i}" for i in range(7)]
    (tmp_path / "wav.scp").write_text("".join(f"{k} /x/{k}.wav\n" for k in keys))
    (tmp_path / "text").write_text("".join(f"{k} text of {k}\n" for k in reversed(keys)))
    out = run_jobs(
        "--nj",
        3,
        "--keys",
        tmp_path / "wav.scp",
        "--split",
        f"{tmp_path}/text:{tmp_path}/split/text.JOB",
        "--log",
        f"{tmp_path}/log/job.JOB.log",
        "--merge",
        f"{tmp_path}/out.JOB:{tmp_path}/merged",
        "--",
        "awk '{print $1, toupper($2)}'",
        f"{tmp_path}/split/text.JOB",
        ">",
        f"{tmp_path}/out.JOB",
    )
    assert out.returncode == 0, out.stderr
    parts = [(tmp_path / "split" / f"text.{j}").read_text().split("\n")[:-1] for j in (1, 2, 3)]
    assert [[line.split()[0] for line in part] for part in parts] == [keys[0:3], keys[3:5], keys[5:7]]
    assert (tmp_path / "merged").read_text() == "".join(f"{k} TEXT\n" for k in keys)
    assert "awk" in (tmp_path / "log" / "job.2.log").read_text()
    assert run_jobs("--nj", 50, "--keys", tmp_path / "wav.scp", "--print_nj").stdout == "7\n"


def test_run_jobs_reports_the_failed_job_and_its_log(tmp_path):
    out = run_jobs(
        "--nj",
        3,
        "--log",
        f"{tmp_path}/job.JOB.log",
        "--merge",
        f"{tmp_path}/out.JOB:{tmp_path}/merged",
        "--",
        f'if [ JOB = 2 ]; then echo "bad input in part JOB" >&2; exit 3; fi; echo ok JOB > {tmp_path}/out.JOB',
    )
    assert out.returncode == 1
    assert f"job 2/3 failed; log: {tmp_path}/job.2.log" in out.stderr and "bad input in part 2" in out.stderr
    assert "1 of 3 jobs failed" in out.stderr
    assert not (tmp_path / "merged").exists()  # nothing merged after a failure
    assert "exit code 3" in (tmp_path / "job.2.log").read_text()


def test_run_jobs_input_errors(tmp_path):
    (tmp_path / "keys").write_text("a x\nb y\n")
    (tmp_path / "other").write_text("a 1\n")
    out = run_jobs("--nj", 2, "--keys", tmp_path / "keys", "--split", f"{tmp_path}/other:{tmp_path}/o.JOB")
    assert out.returncode == 1 and "no line for key(s) ['b']" in out.stderr
    out = run_jobs("--nj", 2, "--split", f"{tmp_path}/keys:{tmp_path}/no_job_marker")
    assert out.returncode == 1 and "DST must contain JOB" in out.stderr
    (tmp_path / "o.1").write_text("a 1\n")
    out = run_jobs("--nj", 2, "--merge", f"{tmp_path}/o.JOB:{tmp_path}/m")
    assert out.returncode == 1 and "o.2" in out.stderr


@pytest.mark.parametrize("nj, sizes", [(1, [5]), (2, [3, 2]), (5, [1, 1, 1, 1, 1])])
def test_partition_sizes(nj, sizes):
    sys.path.insert(0, str(UTILS))
    try:
        from run_jobs import partition
    finally:
        sys.path.remove(str(UTILS))
    assert [len(p) for p in partition(list("abcde"), nj)] == sizes


def write_data_dir(root: Path, rows: list) -> Path:
    """``rows``: ``(uid, emotion, text)``; wav paths are made up (only copied into the output)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "wav.scp").write_text("".join(f"{uid} /wavs/{uid}.wav\n" for uid, _, _ in rows))
    (root / "utt2emo").write_text("".join(f"{uid} {emo}\n" for uid, emo, _ in rows))
    (root / "text").write_text("".join(f"{uid} {text}\n" for uid, _, text in rows))
    return root


def test_reference_pairs_come_from_another_sentence(tmp_path):
    rows = [(f"{emo}_{i}", emo, f"sentence {i}") for emo in ("neutral", "happy") for i in range(3)]
    rows.append(("happy_3", "happy", "sentence 2"))  # a second recording of sentence 2: skipped for neutral_2
    data = write_data_dir(tmp_path / "data", rows)
    out = tmp_path / "pairs" / "ref_happy.scp"
    done = subprocess.run(
        [
            sys.executable,
            str(UTILS / "make_reference_pairs.py"),
            "--data_dir",
            str(data),
            "--emotion",
            "happy",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    pairs = dict(line.split() for line in Path(f"{out}.pairs").read_text().splitlines())
    assert pairs == {"neutral_0": "happy_1", "neutral_1": "happy_2", "neutral_2": "happy_0"}
    texts = {uid: text for uid, _, text in rows}
    assert all(texts[t] != texts[r] for t, r in pairs.items())
    assert out.read_text().splitlines()[0] == "neutral_0 /wavs/happy_1.wav"


def test_reference_pairs_errors(tmp_path):
    one_sentence = write_data_dir(tmp_path / "one", [("neutral_0", "neutral", "a"), ("sad_0", "sad", "a")])
    for emotion, message in (
        ("sad", "every 'sad' utterance has the text of neutral_0"),
        ("angry", "no utterance with emotion 'angry'"),
    ):
        done = subprocess.run(
            [
                sys.executable,
                str(UTILS / "make_reference_pairs.py"),
                "--data_dir",
                str(one_sentence),
                "--emotion",
                emotion,
                "--output",
                str(tmp_path / "o.scp"),
            ],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr
        assert not (tmp_path / "o.scp").exists()


def test_merge_yaml_puts_overrides_over_the_base(tmp_path):
    import yaml

    (tmp_path / "base.yaml").write_text(
        "generator: nsf\noptim_conf:\n    lr: 0.001\n    betas: [0.8, 0.99]\nmax_epoch: 10\nperiods: [2, 3, 5]\n"
    )
    (tmp_path / "ft.yaml").write_text(
        "# comment only keys below\noptim_conf:\n    lr: 0.0003\nperiods: [7]\nmax_epoch: 2\n"
    )
    out = subprocess.run(
        [sys.executable, str(UTILS / "merge_yaml.py"), tmp_path / "base.yaml", tmp_path / "ft.yaml"]
        + ["--output", tmp_path / "out" / "merged.yaml"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    merged = yaml.safe_load((tmp_path / "out" / "merged.yaml").read_text())
    # mappings merged key by key, lists and scalars replaced, order of the base kept
    assert merged == {
        "generator": "nsf",
        "optim_conf": {"lr": 0.0003, "betas": [0.8, 0.99]},
        "max_epoch": 2,
        "periods": [7],
    }
    assert list(merged) == ["generator", "optim_conf", "max_epoch", "periods"]


def test_merge_yaml_errors_name_the_file(tmp_path):
    (tmp_path / "base.yaml").write_text("a: 1\n")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    (tmp_path / "broken.yaml").write_text("a: [1\n")
    for name, message in (
        ("list.yaml", "the top level must be a mapping"),
        ("broken.yaml", "broken.yaml"),
        ("missing.yaml", "missing.yaml"),
    ):
        out = subprocess.run(
            [sys.executable, str(UTILS / "merge_yaml.py"), tmp_path / "base.yaml", tmp_path / name]
            + ["--output", tmp_path / "merged.yaml"],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 1 and message in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert not (tmp_path / "merged.yaml").exists()
