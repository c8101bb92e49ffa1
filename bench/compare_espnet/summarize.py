"""Turn the results of ``bench/compare_espnet.sh`` into the side-by-side table (markdown).

    python summarize.py --work $ESPKIT_BENCH_DIR/compare [--write docs/benchmarks.md]

Reads ``<work>/results/*.json`` and the training logs, prints the section and appends it to ``--write``.
Every ratio is espkit / ESPnet2 from the same run of the harness (lower is better for all of them).
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import re
import statistics
from pathlib import Path

TARGETS = {"step": 0.6, "rss": 0.8, "rtf": 0.3, "print_config": 0.2, "size": 0.2, "install_time": 0.5}
STEP_LINE = re.compile(r"^\S*\s*(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*?(\d+)epoch:train:(\d+)-(\d+)batch: (.*)$")
RESULTS_LINE = re.compile(r"(\d+)epoch results: (.*)$")
KV = re.compile(r"(?:^|[ ,])([A-Za-z_0-9]+)=([-+0-9.eE]+|nan|inf)")


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def kv(text: str) -> dict:
    # ESPnet2 sometimes glues a key to the previous value ("forward_time=0.289l1_loss=1.9", "1.000e-03train_time=0.6")
    text = re.sub(r"(?<=[0-9])(?=[a-z_][a-z0-9_]*=)", " ", text)
    return {k: float(v) for k, v in KV.findall(text)}


def phase_values(results: str, phase: str) -> dict:
    m = re.search(r"\[" + phase + r"\](.*?)(?=\[\w+\]|$)", results)
    return kv(m.group(1)) if m else {}


def parse_espnet_log(log: Path) -> dict:
    steps, epochs, first_step_unix = [], {}, None
    for line in log.read_text(errors="replace").splitlines():
        m = STEP_LINE.search(line)
        if m:
            values = kv(m.group(5))
            steps.append(
                dict(
                    epoch=int(m.group(2)),
                    step=int(m.group(3)),
                    train_time=values.get("train_time"),
                    loss=values.get("loss"),
                )
            )
            if first_step_unix is None:
                first_step_unix = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            continue
        m = RESULTS_LINE.search(line)
        if m:
            epochs[int(m.group(1))] = dict(
                train=phase_values(m.group(2), "train"), valid=phase_values(m.group(2), "valid")
            )
    return dict(steps=steps, epochs=epochs, first_step_unix=first_step_unix)


def parse_espkit_run(log: Path, step_log: Path) -> dict:
    data = load(step_log)
    epochs, first_loss = {}, None
    for line in log.read_text(errors="replace").splitlines():
        if first_loss is None and re.search(r"1epoch:train:1/\d+batch:", line):
            first_loss = kv(line.split("batch:", 1)[1]).get("loss")
        m = RESULTS_LINE.search(line)
        if m:
            epochs[int(m.group(1))] = dict(
                train=phase_values(m.group(2), "train"), valid=phase_values(m.group(2), "valid")
            )
    steps = data["steps"]
    if steps and first_loss is not None:
        steps[0]["loss"] = first_loss
    return dict(steps=steps, epochs=epochs, first_step_unix=steps[0]["end_unix"] if steps else None)


def train_figures(toolkit: str, work: Path) -> list:
    runs = []
    for guard_file in sorted(glob.glob(str(work / "results" / f"train_{toolkit}_run*.json"))):
        guard = load(Path(guard_file))
        run = Path(guard_file).stem.split("_")[-1]
        log = work / "logs" / f"train_{toolkit}_{run}.log"
        if toolkit == "espnet":
            parsed = parse_espnet_log(log)
        else:
            parsed = parse_espkit_run(log, work / "results" / f"steps_espkit_{run}.json")
        times = [s["train_time"] for s in parsed["steps"]]
        n = len(times)
        epochs = parsed["epochs"]
        last = max(epochs) if epochs else None
        runs.append(
            dict(
                steps=n,
                step_median=statistics.median(times[1:]) if n > 1 else float("nan"),
                step_mean=statistics.mean(times[1:]) if n > 1 else float("nan"),
                step1=times[0] if times else float("nan"),
                wall_s=guard["wall_s"],
                per_step_wall=guard["wall_s"] / max(n, 1),
                maxrss=guard["maxrss_MiB"],
                cpu_s=guard["cpu_s"],
                foreign=guard["foreign_cores"],
                contended=guard["contended"],
                tries=guard["tries"],
                first_step_s=(parsed["first_step_unix"] - guard["start_unix"])
                if parsed["first_step_unix"]
                else float("nan"),
                loss_step1=parsed["steps"][0].get("loss") if parsed["steps"] else None,
                train_loss_last=epochs[last]["train"].get("loss") if last else None,
                valid_loss_last=epochs[last]["valid"].get("loss") if last else None,
                uids_ok=all(s.get("uids_ok", True) for s in parsed["steps"]),
            )
        )
    return runs


def med(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def fmt(v, spec=".3f") -> str:
    return "n/a" if v is None or v != v else format(v, spec)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--write", type=Path, default=None)
    a = p.parse_args()
    work, res = a.work, a.work / "results"
    env = load(res / "env.json")
    rows = []  # (measure, espkit, espnet, target key or None, value format)

    def row(name, ek, en, target=None, spec=".3f", unit=""):
        ratio = ek / en if ek is not None and en and ek == ek and en == en else None
        goal = ""
        if target:
            goal = f"≤ {TARGETS[target]}" + (" ✓" if ratio is not None and ratio <= TARGETS[target] else " ✗")
        rows.append(f"| {name} | {fmt(ek, spec)}{unit} | {fmt(en, spec)}{unit} | {fmt(ratio, '.2f')} | {goal} |")

    tr = {tk: train_figures(tk, work) for tk in ("espkit", "espnet")}
    if tr["espkit"] and tr["espnet"]:
        g = {
            tk: {k: med([r[k] for r in runs]) for k in runs[0] if k not in ("contended", "uids_ok")}
            for tk, runs in tr.items()
        }
        row(
            "training step, median s (steps 2-50; median of runs)",
            g["espkit"]["step_median"],
            g["espnet"]["step_median"],
            "step",
        )
        row("training step, mean s (steps 2-50)", g["espkit"]["step_mean"], g["espnet"]["step_mean"])
        row("first step s (warm-up)", g["espkit"]["step1"], g["espnet"]["step1"])
        row("whole training process wall s / 50 steps", g["espkit"]["per_step_wall"], g["espnet"]["per_step_wall"])
        row(
            "time to first step s (process start -> end of step 1)",
            g["espkit"]["first_step_s"],
            g["espnet"]["first_step_s"],
        )
        row("peak RSS of the training process, MiB", g["espkit"]["maxrss"], g["espnet"]["maxrss"], "rss", ".0f")
        row("training process CPU s (user+sys)", g["espkit"]["cpu_s"], g["espnet"]["cpu_s"], None, ".1f")
    prep = {tk: load(res / f"prep_{tk}.json") for tk in ("espkit", "espnet") if (res / f"prep_{tk}.json").exists()}
    if len(prep) == 2:
        row("collect-stats + aggregate wall s (nj=1)", prep["espkit"]["wall_s"], prep["espnet"]["wall_s"], None, ".2f")
    names = [
        ("import_torch", "`python -c 'import torch'` s", None),
        ("import_task", "`import <toolkit>.tasks.tts` s (fresh process)", None),
        ("help", "`tts_train --help` s", None),
        ("print_config", "`tts_train --print_config` s", "print_config"),
    ]
    for key, label, target in names:
        f = {tk: res / f"startup_{tk}_{key}.json" for tk in ("espkit", "espnet")}
        if all(x.exists() for x in f.values()):
            row(label, load(f["espkit"])["median_wall_s"], load(f["espnet"])["median_wall_s"], target)
    inf = {
        tk: [load(Path(x)) for x in sorted(glob.glob(str(res / f"infer_{tk}_run*.out.json")))]
        for tk in ("espkit", "espnet")
    }
    if inf["espkit"] and inf["espnet"]:

        def ig(tk, f):
            return med([f(r) for r in inf[tk]])

        row(
            "Text2Speech import s (torch + module, in process)",
            ig("espkit", lambda r: r["import_s"]),
            ig("espnet", lambda r: r["import_s"]),
        )
        row("Text2Speech model load s", ig("espkit", lambda r: r["load_s"]), ig("espnet", lambda r: r["load_s"]))
        row(
            "RTF acoustic + Griffin-Lim 32, warm (pass 2)",
            ig("espkit", lambda r: r["passes"][-1]["rtf"]),
            ig("espnet", lambda r: r["passes"][-1]["rtf"]),
            "rtf",
            ".4f",
        )
        row(
            "RTF acoustic model, warm",
            ig("espkit", lambda r: r["passes"][-1]["rtf_acoustic"]),
            ig("espnet", lambda r: r["passes"][-1]["rtf_acoustic"]),
            None,
            ".4f",
        )
        row(
            "RTF Griffin-Lim 32 iterations, warm",
            ig("espkit", lambda r: r["passes"][-1]["rtf_vocoder"]),
            ig("espnet", lambda r: r["passes"][-1]["rtf_vocoder"]),
            None,
            ".4f",
        )
        row(
            "RTF total, cold (pass 1)",
            ig("espkit", lambda r: r["passes"][0]["rtf"]),
            ig("espnet", lambda r: r["passes"][0]["rtf"]),
            None,
            ".4f",
        )
        row(
            "ms per generated frame, warm",
            ig("espkit", lambda r: r["passes"][-1]["ms_per_frame"]),
            ig("espnet", lambda r: r["passes"][-1]["ms_per_frame"]),
            None,
            ".2f",
        )
        row(
            "inference process peak RSS, MiB",
            ig("espkit", lambda r: r["maxrss_MiB"]),
            ig("espnet", lambda r: r["maxrss_MiB"]),
            None,
            ".0f",
        )
    inst = {
        tk: load(res / f"install_{tk}.json") for tk in ("espkit", "espnet") if (res / f"install_{tk}.json").exists()
    }
    if len(inst) == 2:
        row(
            "install size without torch, MiB",
            inst["espkit"]["size_without_torch_MiB"],
            inst["espnet"]["size_without_torch_MiB"],
            "size",
            ".0f",
        )
        row(
            "install size without torch and torch's own requirements, MiB",
            inst["espkit"].get("size_without_torch_and_deps_MiB"),
            inst["espnet"].get("size_without_torch_and_deps_MiB"),
            None,
            ".0f",
        )
        row(
            "venv size incl. torch, MiB",
            inst["espkit"]["size_total_MiB"],
            inst["espnet"]["size_total_MiB"],
            None,
            ".0f",
        )
        row(
            "install time without torch, s (torch already in, warm pip cache)",
            inst["espkit"]["install_s"],
            inst["espnet"]["install_s"],
            "install_time",
            ".1f",
        )

    # same-work checks
    notes = []
    batch = load(res / "batch_check.json") if (res / "batch_check.json").exists() else None
    if batch:
        notes.append(
            f"Batches: ESPnet2's numel sampler on its shape files (text_shape.char, speech_shape), batch_bins "
            f"{env.get('batch_bins')}: {len(batch['espnet_batch_sizes'])} batches of {min(batch['espnet_batch_sizes'])}-"
            f"{max(batch['espnet_batch_sizes'])} utterances. espkit's own numel sampler on the same files gives "
            + (
                "the same batches"
                if batch["same_batches"]
                else f"DIFFERENT batches ({len(batch['espkit_batch_sizes'])} of {min(batch['espkit_batch_sizes'])}-"
                f"{max(batch['espkit_batch_sizes'])}: ESPnet2 counts N x the lengths of the utterance just added and keeps "
                "the one that crosses batch_bins in the batch; espkit counts N x each file's batch maximum and closes "
                "the batch before crossing)"
            )
            + "; its epoch order "
            + (
                "is the same."
                if batch["same_order"]
                else f"differs from step {batch['first_differing_step']} on (different shuffling seed per pass), so the "
                "timed espkit run is fed ESPnet2's exact 50-batch order."
            )
        )
    for tk, runs in tr.items():
        for i, r in enumerate(runs, 1):
            flag = " CONTENDED" if r["contended"] else ""
            notes.append(
                f"{tk} run {i}: {r['steps']} steps, wall {r['wall_s']:.1f} s, foreign load {r['foreign']:.2f} cores "
                f"(tries: {r['tries']}){flag}; loss step 1 {fmt(r['loss_step1'])}, last-epoch train loss "
                f"{fmt(r['train_loss_last'])}, valid loss {fmt(r['valid_loss_last'])}"
                + ("" if r["uids_ok"] else "; BATCH ORDER MISMATCH")
            )
    if inf["espkit"] and inf["espnet"]:
        fr = {tk: inf[tk][0]["passes"][-1]["frames"] for tk in inf}
        au = {tk: inf[tk][0]["passes"][-1]["audio_s"] for tk in inf}
        notes.append(
            f"Inference work: espkit generated {fr['espkit']} frames ({au['espkit']:.1f} s of audio), ESPnet2 "
            f"{fr['espnet']} frames ({au['espnet']:.1f} s) over the 20 eval sentences"
            + (
                " (the same)."
                if fr["espkit"] == fr["espnet"]
                else " (different: a stop token fired in one of them; RTF is per generated second)."
            )
        )
    if len(inst) == 2:
        notes.append(f"Install: ESPnet2 = {inst['espnet']['what']}; espkit = {inst['espkit']['what']}.")
    for extra in env.get("divergences", []):
        notes.append(extra)

    date = datetime.date.today().isoformat()
    lines = [
        f"## Side by side with ESPnet2 ({date}, `bench/compare_espnet.sh`)",
        "",
        f"Machine: {env['machine']}; {env['threads']} threads (OMP/MKL_NUM_THREADS); Python {env['python']}; "
        f"torch {env['torch']} in both venvs; ESPnet2 `espnet` {env['espnet']}; espkit {env['espkit']}. "
        f"{env['runs']} alternating runs (ESPnet2, espkit, ESPnet2, espkit) of each timed process; corpus: 330 "
        "espeak-ng Harvard sentences (300 train / 10 dev / 20 eval); the anchor's small Tacotron2 "
        f"({env.get('params', '?')} parameters), 2 epochs x 25 = 50 steps, Adam 1e-3, grad clip 1.0, seed 0.",
        "",
        "| measure | espkit | ESPnet2 | espkit / ESPnet2 | target |",
        "|---|---|---|---|---|",
        *rows,
        "",
        *[f"- {n}" for n in notes],
        "",
    ]
    prof = work / "results" / "profile.md"
    if prof.exists():
        lines += ["### Profile of one espkit training step (torch profiler)", "", prof.read_text().strip(), ""]
        findings = work / "results" / "profile_findings.md"
        if findings.exists():
            lines += [findings.read_text().strip(), ""]
    text = "\n".join(lines)
    print(text)
    (work / "results" / "summary.md").write_text(text + "\n")
    if a.write is not None:
        with a.write.open("a", encoding="utf-8") as f:
            f.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
