"""The files of ``espkit.bin.tts_evaluate``: ``results.json``, ``results.md``, per-utterance TSVs, plots.

``results.md`` puts the rows side by side (reference, copy-synthesis, system; with a trained vocoder
a Griffin-Lim copy-synthesis column before the vocoder's, each copy-synthesis column naming its
vocoder) so that every system figure stands beside its ceiling, says which figures bound which, and
states in words what the figures show when the system's speech is barely voiced or a figure rests
on few frames, and what the trained vocoder gains over Griffin-Lim.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from espkit.evaluate.emotion_accuracy import plot_confusion_matrix

#: Below this share of the reference's voiced frames, a figure computed on frames voiced in both
#: rests on too little to stand alone: ``results.md`` says so beside it.
LOW_COVERAGE = 0.2
#: A system voiced-frame ratio below this fraction of the references' is called "barely voiced".
BARELY_VOICED = 0.5


def clean_for_json(value: Any) -> Any:
    """NaN -> None, recursively (JSON has no NaN; each None of a figure has its reason beside it)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: clean_for_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_for_json(v) for v in value]
    return value


def fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _periodicity(row: Optional[dict]) -> str:
    if not row or not row.get("periodicity"):
        return "n/a"
    p = row["periodicity"]
    return f"{p['p10']:.2f} / {p['p50']:.2f} / {p['p90']:.2f}"


def _with_coverage(row: Optional[dict], key: str, digits: int) -> str:
    """A figure computed on frames voiced in both, with the coverage beside it."""
    if not row:
        return "n/a"
    value, coverage = row.get(key), row.get("f0_rmse_coverage")
    if value is None:
        reason = (row.get("null_reasons") or {}).get(key, "undefined")
        return f"n/a ({reason})"
    text = f"{value:.{digits}f} (on {fmt(coverage, 2)} of ref-voiced frames"
    return text + (", too few to stand alone)" if coverage is not None and coverage < LOW_COVERAGE else ")")


def copy_synthesis_label(row: Optional[dict]) -> str:
    """``copy-synthesis (<vocoder>)`` (``copy-synthesis`` when the row names none)."""
    vocoder = (row or {}).get("vocoder")
    return f"copy-synthesis ({vocoder})" if vocoder else "copy-synthesis"


def results_table(results: dict) -> List[str]:
    """The reference / copy-synthesis (Griffin-Lim, when a trained vocoder is in use) / copy-synthesis / system
    table of ``results.md``."""
    ref, copy, system = results["reference"], results.get("copy_synthesis"), results["system"]
    griffin_lim = results.get("copy_synthesis_griffin_lim")
    rows = [("reference", ref)]
    if griffin_lim:
        rows.append((copy_synthesis_label(griffin_lim), griffin_lim))
    rows += [(copy_synthesis_label(copy), copy), ("system", system)]
    dash = "—"

    def line(name: str, cells: Sequence[str]) -> str:
        return f"| {name} | " + " | ".join(cells) + " |"

    def each(key: str, digits: int = 3, on_reference: Optional[str] = None) -> List[str]:
        cells = []
        for label, row in rows:
            if label == "reference" and on_reference is not None:
                cells.append(on_reference)
            else:
                cells.append(fmt(row.get(key), digits) if row else "n/a")
        return cells

    header = [label if row or label == "system" else f"{label} (not computed)" for label, row in rows]
    return [
        "| metric | " + " | ".join(header) + " |",
        "|---" * (len(rows) + 1) + "|",
        line("utterances", each("num_utts")),
        line("voiced-frame ratio (active frames)", each("voiced_ratio")),
        line("periodicity p10 / p50 / p90 (active frames)", [_periodicity(r) for _, r in rows]),
        line("V/UV error", each("vuv_error", on_reference=dash)),
        line("F0 frame error (FFE)", each("ffe", on_reference=dash)),
        line("gross pitch error (GPE, > 20 %)", [dash] + [_with_coverage(r, "gpe", 3) for _, r in rows[1:]]),
        line(
            "log-F0 RMSE (cents, gross errors included)",
            [dash] + [_with_coverage(r, "f0_rmse_cents", 1) for _, r in rows[1:]],
        ),
        line(
            "fine pitch error (cents, RMSE without gross errors)",
            [dash] + [_with_coverage(r, "fpe_cents", 1) for _, r in rows[1:]],
        ),
        line("MCD (dB, DTW, c1-c24)", each("mcd_db", 2, on_reference=dash)),
        line("duration ratio (synth/ref)", each("duration_ratio", on_reference=dash)),
        line("emotion accuracy (as asked)", each("emotion_accuracy")),
    ]


def what_it_shows(results: dict) -> List[str]:
    """Sentences on what the figures show, and what they cannot."""
    ref, copy, system = results["reference"], results.get("copy_synthesis"), results["system"]
    lines = [
        "Which figure bounds which: the reference column describes the recordings (errors against themselves "
        "are 0 by definition) and bounds the voiced-frame ratio, periodicity and emotion accuracy of both "
        "synthesized columns. The copy-synthesis column is each reference through the model's feature extractor "
        "and the same vocoder: no acoustic model can carry more of the reference through this vocoder than the "
        "reference's own features do, so it bounds the system's MCD, V/UV error, FFE, GPE and log-F0 RMSE, and its "
        "gap to the reference is the loss of analysis and vocoding alone. Errors are measured against the "
        "references on the DTW path; the voiced-frame ratio and the periodicity need no reference (periodicity: "
        "1 - YIN's minimum normalised difference, no voicing threshold; about 1 for a periodic frame)."
    ]
    ref_voiced, sys_voiced = ref.get("voiced_ratio"), system.get("voiced_ratio")
    if ref_voiced and sys_voiced is not None and sys_voiced < BARELY_VOICED * ref_voiced:
        copy_text = ""
        if copy and copy.get("voiced_ratio") is not None:
            copy_text = f" (copy-synthesis: {copy['voiced_ratio']:.3f})"
        lines.append(
            f"**The system's speech is barely voiced**: {sys_voiced:.3f} of its active frames are voiced against "
            f"{ref_voiced:.3f} in the references{copy_text}. Its F0 errors are then mostly voicing errors (FFE), "
            "and the pitch figures (GPE, log-F0 RMSE, FPE) describe only the frames voiced in both."
        )
    coverage = system.get("f0_rmse_coverage")
    if coverage is not None and coverage < LOW_COVERAGE:
        lines.append(
            f"The system's GPE, log-F0 RMSE and FPE rest on {coverage:.2f} of the reference's voiced frames: "
            "read them with the FFE, not alone."
        )
    griffin_lim, gain = results.get("copy_synthesis_griffin_lim"), results.get("vocoder_vs_griffin_lim")
    if copy and griffin_lim and gain:

        def change(value: Optional[float]) -> str:
            if value is None:
                return ""
            return f" ({abs(100 * value):.0f} % {'lower' if value >= 0 else 'higher'})"

        figures = [
            f"{what} {fmt(copy.get(key), digits)} against Griffin-Lim's {fmt(griffin_lim.get(key), digits)}"
            + change(gain.get(key))
            for key, what, digits in (("mcd_db", "MCD (dB)", 2), ("ffe", "FFE", 3))
        ]
        lines.append(
            f"The trained vocoder against Griffin-Lim, both on the references' own features (the acoustic model "
            f"left out): {'; '.join(figures)}. The {copy_synthesis_label(copy)} column is the ceiling of a system "
            "decoded with that vocoder; the Griffin-Lim column only measures what the vocoder gains."
        )
    listen = "`copy_synthesis_griffin_lim/wav/`, " if griffin_lim else ""
    lines.append(
        "Objective figures cannot say how natural or pleasant the speech sounds; listen to "
        f"{listen}`copy_synthesis/wav/` and the system's `wav/` side by side."
    )
    return lines


def write_outputs(
    results: dict,
    per_utt: Sequence[dict],
    copy_rows: Sequence[dict],
    output_dir: Path,
    griffin_lim_rows: Sequence[dict] = (),
) -> None:
    """``results.json``, ``results.md``, ``per_utt.tsv``, ``per_utt_copy_synthesis.tsv`` and (with
    ``griffin_lim_rows``) ``per_utt_copy_synthesis_griffin_lim.tsv``."""
    output_dir = Path(output_dir)
    (output_dir / "results.json").write_text(json.dumps(clean_for_json(results), indent=2) + "\n")
    keys = [
        "uid",
        "emotion",
        "recognised",
        "mcd_db",
        "voiced_ratio",
        "vuv_error",
        "gpe",
        "ffe",
        "f0_rmse_cents",
        "fpe_cents",
        "f0_rmse_coverage",
        "duration_ratio",
    ]
    att = results["attention_failures"]
    # models without attention (no focus rate) are judged on their length instead
    system_keys = ["focus_rate", "attention_failure"] if att is not None else ["length_failure"]
    for name, rows, columns in (
        ("per_utt.tsv", per_utt, keys + system_keys + ["missing"]),
        ("per_utt_copy_synthesis.tsv", copy_rows, keys),
        ("per_utt_copy_synthesis_griffin_lim.tsv", griffin_lim_rows, keys),
    ):
        if name != "per_utt.tsv" and not rows:
            continue
        with (output_dir / name).open("w") as f:
            f.write("\t".join(columns) + "\n")
            for row in rows:
                f.write("\t".join(fmt(row.get(k)) for k in columns) + "\n")
    tracker = results["f0_tracker"]
    lines = [
        "# Objective evaluation",
        "",
        f"Utterances: {results['num_utts']} (missing: {results['num_missing']}, synthesized but not in the "
        f"reference: {results['num_not_in_reference']}). F0 tracker for every F0 figure and the emotion "
        f"classifier: YIN, threshold {tracker['yin_threshold']}, trough margin {tracker['yin_trough_margin']}, "
        f"{tracker['f0min']:g}-{tracker['f0max']:g} Hz; active frames within {tracker['silence_db']:g} dB of the "
        "loudest.",
        "",
        *results_table(results),
        "",
        *[f"{text}\n" for text in what_it_shows(results)],
        "| emotion control (system) | accuracy |",
        "|---|---|",
        f"| as asked (eval labels) | {fmt(results['system'].get('emotion_accuracy'))} |",
        f"| every eval sentence in all emotions, from its neutral text | {fmt(results['all_emotions_accuracy'])} |",
        f"| driven by a reference utterance of each emotion from another sentence | "
        f"{fmt(results['reference_driven_accuracy'])} |",
        "",
        *failure_table(results),
    ]
    labels = results["emotion_labels"]
    confusions = [
        (results["system"].get("emotion_confusion"), "system, as asked"),
        (results["all_emotions_confusion"], "system, every sentence in all emotions"),
        (results["reference_driven_confusion"], "system, reference-driven"),
    ]
    for matrix, title in confusions:
        if matrix:
            lines += [
                "",
                f"Confusion ({title}; rows asked, columns recognised):",
                "",
                "| | " + " | ".join(labels) + " |",
                "|---" * (len(labels) + 1) + "|",
            ]
            lines += [f"| {label} | " + " | ".join(str(v) for v in row) + " |" for label, row in zip(labels, matrix)]
    failures = att if att is not None else results["length_failures"]
    if failures["uids"]:
        what = "Attention failures" if att is not None else "Length failures"
        lines += ["", f"{what}: " + ", ".join(failures["uids"])]
    if results["missing_uids"]:
        lines += ["", "Missing (no synthesized utterance): " + ", ".join(results["missing_uids"])]
    (output_dir / "results.md").write_text("\n".join(lines) + "\n")
    _plot_confusions(results, output_dir)


def failure_table(results: dict) -> List[str]:
    """The markdown rows of the system's failures: attention failures (focus rate, not stopping) of an
    attention model, or length failures (duration ratio out of bounds) of a model without attention."""
    att = results["attention_failures"]
    if att is not None:
        return [
            "| attention | value |",
            "|---|---|",
            f"| attention failures | {att['count']} (focus rate < {att['focus_rate_threshold']}: "
            f"{att['low_focus_rate']}, not stopped: {att['not_stopped']}) |",
            f"| mean focus rate | {fmt(att['mean_focus_rate'])} |",
        ]
    length = results["length_failures"]
    return [
        "| length (no attention) | value |",
        "|---|---|",
        f"| length failures | {length['count']} (duration ratio > {length['max_duration_ratio']:g}: "
        f"{length['too_long']}, < {length['min_duration_ratio']:.3g}: {length['too_short']}) |",
    ]


def _plot_confusions(results: dict, output_dir: Path) -> None:

    labels = results["emotion_labels"]
    for matrix, name, title in (
        (results["system"].get("emotion_confusion"), "emotion_confusion", "eval: emotion asked"),
        (results["all_emotions_confusion"], "all_emotions_confusion", "eval sentences in every emotion"),
        (results["reference_driven_confusion"], "reference_driven_confusion", "eval sentences driven by a reference"),
    ):
        if matrix:
            plot_confusion_matrix(np.array(matrix), labels, output_dir / f"{name}.png", title)


def plot_periodicity(tracks: Dict[str, list], path: Path) -> None:
    """Histograms of the per-frame periodicity over the active frames of each row's waveforms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.linspace(0.0, 1.0, 41)
    for name, row_tracks in tracks.items():
        if not row_tracks:
            continue
        values = np.concatenate([t.periodicity[t.active] for t in row_tracks])
        if len(values):
            ax.hist(
                values, bins=bins, density=True, histtype="step", linewidth=1.5, label=f"{name} ({len(values)} frames)"
            )
    ax.set_xlabel("periodicity (1 - min normalised difference)")
    ax.set_ylabel("density of active frames")
    ax.set_title("How periodic is the speech? (no voicing threshold)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
