"""``<run>/report/report.html``: a training run as pictures and tables (``espkit.bin.training_report``).

>>> write_training_report("exp/tts_train")  # doctest: +SKIP
PosixPath('exp/tts_train/report/report.html')

The page holds the run's status, the best epochs and the n-best average per best-model
criterion (with the model files present), the figures of :mod:`espkit.train.training_plots`
(the criteria's stats with the best and averaged epochs marked, every loss term, learning rate,
gradient norm and skipped steps, step time and throughput), a strip of attention maps over the
epochs for one utterance (attention models), a table of the stats at the last and the best epoch,
and the metrics of each evaluation directory (``eval*/results.json``, the recipe's stage 8).
The PNGs sit next to ``report.html``, which links them by relative paths; the page can be
copied or served with its folder.

It reads what the run has (:func:`espkit.train.training_run.read_training_run`), so it works on
a finished run, on one that is still going (the epochs finished so far) and on a killed one.
"""

from __future__ import annotations

import datetime
import html
import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from espkit.fileio.atomic_file import atomic_write
from espkit.train.history import HISTORY_NAME
from espkit.train.training_plots import (
    model_stat_keys,
    pick_epochs,
    plot_attention_strip,
    plot_criteria,
    plot_model_stats,
    plot_optimization,
    plot_speed,
    require_matplotlib,
)
from espkit.train.training_run import EvalResult, TrainingRun, read_training_run

logger = logging.getLogger(__name__)

REPORT_DIR = "report"
REPORT_NAME = "report.html"
FIGURE_NAMES = ("criteria.png", "stats.png", "optimization.png", "speed.png")  # and attention_<key>.png
_MODEL_OPTIONS = ("tts", "generator", "discriminator", "optim", "scheduler", "optim2", "scheduler2")
# evaluation metrics shown first (espkit.bin.tts_evaluate's names), the rest alphabetically
_EVAL_ORDER = (
    "num_utts",
    "mcd_db",
    "ffe",
    "vuv_error",
    "gpe",
    "f0_rmse_cents",
    "fpe_cents",
    "duration_ratio",
    "voiced_ratio",
    "periodicity.p50",
    "emotion_accuracy",
)
_CSS = """
body { font-family: sans-serif; margin: 2em; max-width: 1400px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; font-size: 14px; }
th { background: #f3f3f3; }
td.num { text-align: right; font-family: monospace; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.3em 0; }
.note { color: #8a5a00; }
.caption { color: #555; font-size: 13px; margin-bottom: 1.5em; }
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return html.escape(str(value))
    return f"{value:.4g}"


def _duration(seconds: float) -> str:
    return str(datetime.timedelta(seconds=round(seconds)))


def _epoch_ranges(epochs: Sequence[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``"1-3, 5"``."""
    parts: List[str] = []
    for epoch in sorted(epochs):
        if parts and int(parts[-1].split("-")[-1]) == epoch - 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{epoch}"
        else:
            parts.append(str(epoch))
    return ", ".join(parts) or "none"


def _table(header: Optional[Sequence[str]], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    """An HTML table of already-escaped cells; columns from ``numeric_from`` on are right-aligned."""
    lines = ["<table>"]
    if header is not None:
        lines.append("<tr>" + "".join(f"<th>{cell}</th>" for cell in header) + "</tr>")
    for row in rows:
        cells = [
            f'<td class="num">{cell}</td>' if index >= numeric_from else f"<td>{cell}</td>"
            for index, cell in enumerate(row)
        ]
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _figure_html(path: Optional[Path], output_dir: Path, title: str, caption: str) -> str:
    if path is None:
        return ""
    source = html.escape(os.path.relpath(path, output_dir))
    title = html.escape(title)
    return f'<h2>{title}</h2>\n<img src="{source}" alt="{title}">\n<div class="caption">{caption}</div>'


def _summary(run: TrainingRun) -> str:
    rows = [
        ("run directory", html.escape(str(run.run_dir))),
        ("status", html.escape(run.status)),
        ("finished epochs", html.escape(_epoch_ranges(run.epochs))),
        ("read from", html.escape(run.source or "nothing (no finished epoch found)")),
    ]
    if run.records:
        elapsed = run.records[-1].get("timing", {}).get("elapsed_s")
        if elapsed is not None:
            rows.append(("training + validation time", _duration(elapsed)))
        world_size = run.records[-1].get("timing", {}).get("world_size")
        if world_size and run.source == HISTORY_NAME:
            rows.append(("processes", str(world_size)))
    for option in _MODEL_OPTIONS:
        if option in run.config:
            rows.append((option, html.escape(str(run.config[option]))))
    rows.append(("report written", datetime.datetime.now().isoformat(timespec="seconds")))
    return _table(None, rows, numeric_from=2)


def _best_epochs(run: TrainingRun, output_dir: Path) -> str:
    if not run.criteria:
        return "<p>No best-model criterion.</p>"
    rows = []
    for criterion in run.criteria:
        if criterion.ranking:
            best_epoch, best_value = criterion.ranking[0]
            best = f"{best_epoch} ({_fmt(best_value)})"
            nbest = ", ".join(str(e) for e in criterion.nbest_epochs)
        else:
            best, nbest = "not reported", "—"
        files = []
        for path in [criterion.best_file, *criterion.average_files.values()]:
            if path is not None:
                files.append(html.escape(os.path.relpath(path, run.run_dir)))
        rows.append(
            [
                html.escape(f"{criterion.name} ({criterion.mode})"),
                best,
                html.escape(f"{nbest}"),
                "<br>".join(files) or "none yet (written at the end of training)",
            ]
        )
    table = _table(
        ["criterion", "best epoch (value)", f"{run.criteria[0].nbest} best epochs (averaged)", "model files"],
        rows,
        numeric_from=4,
    )
    kept = html.escape(_epoch_ranges(run.epoch_files))
    return table + f"<p>Epoch files kept (<code>&lt;N&gt;epoch.pth</code>): {kept}.</p>"


def _stats_table(run: TrainingRun) -> str:
    if not run.records:
        return ""
    last = run.records[-1]
    best_epoch = next((c.best_epoch for c in run.criteria if c.best_epoch is not None), None)
    best = next((r for r in run.records if r["epoch"] == best_epoch and r is not last), None)
    suffix = "last and best" if best_epoch == last["epoch"] else "last"
    header = ["stat", f"train, epoch {last['epoch']} ({suffix})", f"valid, epoch {last['epoch']} ({suffix})"]
    if best is not None:
        header += [f"train, epoch {best_epoch} (best)", f"valid, epoch {best_epoch} (best)"]
    rows = []
    for key in run.stat_keys():
        row = [html.escape(key)]
        for record in [last] + ([best] if best is not None else []):
            row += [_fmt(record["stats"].get(phase, {}).get(key)) for phase in ("train", "valid")]
        rows.append(row)
    return "<h2>Stats at the last and the best epoch</h2>\n" + _table(header, rows)


def _flatten_metrics(values: Dict[str, Any]) -> Dict[str, float]:
    """Numbers of a results column, one level of nesting as ``<key>.<sub>`` (e.g. ``periodicity.p50``)."""
    flat: Dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[key] = value
        elif isinstance(value, dict):
            for sub, sub_value in value.items():
                if isinstance(sub_value, (int, float)) and not isinstance(sub_value, bool):
                    flat[f"{key}.{sub}"] = sub_value
    return flat


def _eval_section(evaluation: EvalResult, output_dir: Path) -> str:
    results = evaluation.results
    columns = [name for name, value in results.items() if isinstance(value, dict) and "num_utts" in value]
    columns.sort(key=lambda name: (name != "reference", name == "system", name))  # reference first, system last
    flat = {name: _flatten_metrics(results[name]) for name in columns}
    keys = sorted(
        {key for values in flat.values() for key in values},
        key=lambda k: (k not in _EVAL_ORDER, _EVAL_ORDER.index(k) if k in _EVAL_ORDER else 0, k),
    )
    parts = [f"<h3>{html.escape(evaluation.name)}</h3>"]
    if columns:
        header = ["metric"]
        for name in columns:
            vocoder = results[name].get("vocoder")
            header.append(html.escape(name if vocoder is None else f"{name} ({vocoder})"))
        rows = [[html.escape(key)] + [_fmt(flat[name].get(key)) for name in columns] for key in keys]
        parts.append(_table(header, rows))
    others = {}
    for name, value in results.items():
        if name in columns or name in ("f0_tracker", "emotion_classifier"):
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            others[name] = value
        elif isinstance(value, dict):
            others.update({f"{name}.{key}": v for key, v in _flatten_metrics(value).items()})
    if others:
        parts.append(_table(["other figure", "value"], [[html.escape(k), _fmt(v)] for k, v in others.items()]))
    if evaluation.markdown is not None:
        link = html.escape(os.path.relpath(evaluation.markdown, output_dir))
        parts.append(f'<p>What each figure means: <a href="{link}">{html.escape(evaluation.name)}/results.md</a>.</p>')
    return "\n".join(parts)


def _attention_section(run: TrainingRun, output_dir: Path, num_epochs: int) -> str:
    if not run.attention:
        return ""
    uid = sorted(run.attention)[0]
    best_epoch = next((c.best_epoch for c in run.criteria if c.best_epoch is not None), None)
    parts = [f"<h2>Attention over the epochs: {html.escape(uid)}</h2>"]
    for key, images in sorted(run.attention[uid].items())[:4]:
        epochs = pick_epochs(list(images), num_epochs, must=[best_epoch] if best_epoch else [])
        path = plot_attention_strip(
            images, epochs, output_dir / f"attention_{key}.png", f"{uid}: {key}", best_epoch=best_epoch
        )
        if path is not None:
            parts.append(f'<img src="{html.escape(path.name)}" alt="attention {html.escape(key)}">')
    every = html.escape(os.path.relpath(run.run_dir / "images" / "att_ws", output_dir))
    parts.append(f'<div class="caption">Every epoch of {len(run.attention)} utterance(s): <code>{every}/</code>.</div>')
    return "\n".join(parts)


def write_training_report(
    run_dir: Union[str, os.PathLike], output_dir: Optional[Union[str, os.PathLike]] = None, attention_epochs: int = 6
) -> Path:
    """Write ``report.html`` and its PNGs into ``output_dir`` (default ``<run_dir>/report``).

    Args:
        run_dir: a training run (``--output_dir`` of ``tts_train`` / ``gan_tts_train``).
        output_dir: where the page and the figures go.
        attention_epochs: about how many epochs the attention strip shows (the best one added).

    Returns:
        The path of ``report.html``.

    Raises:
        ImportError: matplotlib is missing (the ``plot`` extra).
        FileNotFoundError, ConfigError, DataFormatError: see :func:`read_training_run`.
    """
    require_matplotlib()
    run = read_training_run(run_dir)
    output_dir = Path(output_dir) if output_dir is not None else run.run_dir / REPORT_DIR
    output_dir.mkdir(parents=True, exist_ok=True)
    for stale in [*(output_dir / name for name in FIGURE_NAMES), *output_dir.glob("attention_*.png")]:
        stale.unlink(missing_ok=True)  # an earlier report's figures, which this one may not draw
    criteria_keys = [c.key for c in run.criteria if c.ranking]
    criteria_png = plot_criteria(run, output_dir / FIGURE_NAMES[0])
    stats_png = plot_model_stats(run, output_dir / FIGURE_NAMES[1], exclude=criteria_keys if criteria_png else ())
    optimization_png = plot_optimization(run, output_dir / FIGURE_NAMES[2])
    speed_png = plot_speed(run, output_dir / FIGURE_NAMES[3])

    name = html.escape(run.run_dir.resolve().name)
    body = [f"<h1>Training report: {name}</h1>", _summary(run)]
    if run.notes:
        body.append("<ul>" + "".join(f'<li class="note">{html.escape(note)}</li>' for note in run.notes) + "</ul>")
    body.append("<h2>Best epochs and the n-best average</h2>")
    body.append(_best_epochs(run, output_dir))
    criteria_caption = (
        "Train and valid per epoch. Star: the best epoch of a criterion; rings: the epochs its n-best "
        "average (<code>&lt;phase&gt;.&lt;stat&gt;.ave_&lt;n&gt;best.pth</code>) is made of."
    )
    body.append(_figure_html(criteria_png, output_dir, "Best-model criteria", criteria_caption))
    body.append(
        _figure_html(
            stats_png,
            output_dir,
            "Loss terms and other stats",
            f"Train and valid epoch averages of every stat the model reports ({len(model_stat_keys(run))}); "
            "dotted: the best epoch.",
        )
    )
    body.append(
        _figure_html(
            optimization_png,
            output_dir,
            "Optimisation",
            "Epoch means of the learning rate and of the gradient norm (before clipping) over the optimizer "
            "steps taken; steps skipped for a non-finite loss or gradient norm.",
        )
    )
    speed_caption = (
        "Wall-clock seconds per epoch; seconds per training batch and training utterances per second (all processes)."
    )
    if not run.timing_series("s_per_batch"):
        speed_caption += " This run has no batch counts (made before history.jsonl), so only the epoch times are shown."
    body.append(_figure_html(speed_png, output_dir, "Step time and throughput", speed_caption))
    body.append(_attention_section(run, output_dir, attention_epochs))
    body.append(_stats_table(run))
    if run.evals:
        body.append("<h2>Evaluation</h2>")
        body.extend(_eval_section(evaluation, output_dir) for evaluation in run.evals)
    body.append(
        '<p class="caption">Written by <code>python -m espkit.bin.training_report '
        f"{html.escape(str(run.run_dir))}</code>.</p>"
    )
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>Training report: {name}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body></html>\n"
    )
    path = output_dir / REPORT_NAME
    with atomic_write(path, "w", encoding="utf-8") as handle:
        handle.write(page)
    path.chmod(0o644)  # a page to be read by others (atomic_write's temporary file is private)
    logger.info("Training report of %s: %s", run.run_dir, path)
    return path
