"""The PNG figures of the training report (matplotlib's Agg canvas: no display needed).

Each ``plot_*`` function draws one figure of a :class:`~espkit.train.training_run.TrainingRun`
into a file and returns its path, or None when the run has nothing to draw for it. The stats of
a run fall into groups by name: the learning rates ``optim<i>_lr<j>``, the gradient norms
``*grad_norm``, ``skipped_steps``, the bookkeeping ``time``/``batches``/``utts``, and the rest:
the loss terms and other model stats.

matplotlib is the ``plot`` extra (``pip install 'espkit[plot]'``); :func:`require_matplotlib`
says so when it is missing.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from espkit.train.training_run import TrainingRun

BOOKKEEPING = ("time", "batches", "utts")
_LR = re.compile(r"^optim\d+_lr\d+$")
_PHASE_STYLE = {"train": {"color": "tab:blue"}, "valid": {"color": "tab:orange"}}


def require_matplotlib() -> None:
    """Raise ImportError with the install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(
            "the training report draws with matplotlib, which is not installed: pip install 'espkit[plot]'"
        ) from None


def is_learning_rate(key: str) -> bool:
    return _LR.match(key) is not None


def is_grad_norm(key: str) -> bool:
    return key.endswith("grad_norm")


def model_stat_keys(run: TrainingRun) -> List[str]:
    """The loss terms and other model stats (not lr, grad norm, skipped steps or bookkeeping)."""
    return [
        key
        for key in run.stat_keys()
        if key not in BOOKKEEPING and key != "skipped_steps" and not is_learning_rate(key) and not is_grad_norm(key)
    ]


def _figure(num_panels: int, columns: int, panel_size: Tuple[float, float] = (4.2, 3.0)) -> Tuple[Any, List[Any]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = max(1, min(columns, num_panels))
    rows = math.ceil(num_panels / columns)
    figure = Figure(figsize=(panel_size[0] * columns, panel_size[1] * rows))
    FigureCanvasAgg(figure)
    axes = [figure.add_subplot(rows, columns, index + 1) for index in range(num_panels)]
    return figure, axes


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    return path


def _scale_for(axes: Any, values: Sequence[float]) -> None:
    """Log scale when positive values span more than two decades."""
    finite = [value for value in values if math.isfinite(value)]
    if finite and min(finite) > 0 and max(finite) / min(finite) > 100:
        axes.set_yscale("log")


def _curve(axes: Any, points: Sequence[Tuple[int, float]], label: str, **style: Any) -> None:
    if points:
        axes.plot([e for e, _ in points], [v for _, v in points], marker="o", markersize=3, label=label, **style)


def _train_valid_curves(axes: Any, run: TrainingRun, key: str) -> List[float]:
    """The train and valid curves of stat ``key`` on ``axes``; returns their values (for the scale)."""
    values: List[float] = []
    for phase in ("train", "valid"):
        points = run.series(phase, key)
        _curve(axes, points, phase, **_PHASE_STYLE[phase])
        values += [v for _, v in points]
    return values


def _epoch_axes(axes: Any, title: str) -> None:
    axes.set_title(title, fontsize=10)
    axes.set_xlabel("epoch")
    axes.grid(True, alpha=0.3)
    axes.xaxis.get_major_locator().set_params(integer=True)


def plot_criteria(run: TrainingRun, path: Path) -> Optional[Path]:
    """One panel per best-model stat (train and valid curves): the best epoch of each criterion
    starred, the epochs of its n-best average ringed."""
    keys: List[str] = []
    for criterion in run.criteria:
        if criterion.ranking and criterion.key not in keys:
            keys.append(criterion.key)
    if not keys and "loss" in run.stat_keys():
        keys = ["loss"]
    if not keys:
        return None
    figure, axes_list = _figure(len(keys), columns=2, panel_size=(6.0, 4.0))
    for axes, key in zip(axes_list, keys):
        values = _train_valid_curves(axes, run, key)
        for criterion in run.criteria:
            if criterion.key != key or not criterion.ranking:
                continue
            color = _PHASE_STYLE.get(criterion.phase, {}).get("color", "black")
            ranked = dict(criterion.ranking)
            nbest = criterion.nbest_epochs
            axes.scatter(
                nbest,
                [ranked[e] for e in nbest],
                s=120,
                facecolors="none",
                edgecolors=color,
                linewidths=1.5,
                label=f"{criterion.phase} {len(nbest)} best (averaged): {', '.join(map(str, sorted(nbest)))}",
            )
            best_epoch, best_value = criterion.ranking[0]
            axes.scatter(
                [best_epoch],
                [best_value],
                marker="*",
                s=220,
                color=color,
                edgecolors="black",
                zorder=5,
                label=f"{criterion.phase} best: epoch {best_epoch} ({best_value:.4g})",
            )
        _scale_for(axes, values)
        _epoch_axes(axes, f"{key} per epoch")
        axes.set_ylabel(key)
        axes.legend(fontsize=8)
    return _save(figure, path)


def plot_model_stats(run: TrainingRun, path: Path, exclude: Sequence[str] = ()) -> Optional[Path]:
    """Every loss term and model stat, one small panel each (train and valid); the best epoch
    of the first criterion as a dotted line."""
    keys = [key for key in model_stat_keys(run) if key not in exclude]
    if not keys:
        return None
    best = next((c.best_epoch for c in run.criteria if c.best_epoch is not None), None)
    figure, axes_list = _figure(len(keys), columns=4)
    for axes, key in zip(axes_list, keys):
        values = _train_valid_curves(axes, run, key)
        if best is not None:
            axes.axvline(best, color="gray", linestyle=":", linewidth=1)
        _scale_for(axes, values)
        _epoch_axes(axes, key)
    axes_list[0].legend(fontsize=8)
    return _save(figure, path)


def plot_optimization(run: TrainingRun, path: Path) -> Optional[Path]:
    """Learning rate(s), gradient norm(s) and skipped steps per epoch (train averages)."""
    train_keys = run.stat_keys("train")
    lr_keys = [key for key in train_keys if is_learning_rate(key)]
    norm_keys = [key for key in train_keys if is_grad_norm(key)]
    panels = []
    if lr_keys:
        panels.append(("learning rate (epoch mean)", lr_keys))
    if norm_keys:
        panels.append(("gradient norm (epoch mean)", norm_keys))
    if not panels:
        return None
    figure, axes_list = _figure(len(panels) + 1, columns=3)
    for axes, (title, keys) in zip(axes_list, panels):
        values: List[float] = []
        for key in keys:
            points = run.series("train", key)
            _curve(axes, points, key)
            values += [v for _, v in points]
        _scale_for(axes, values)
        _epoch_axes(axes, title)
        axes.legend(fontsize=8)
    axes = axes_list[-1]
    skipped = dict(run.series("train", "skipped_steps"))
    axes.bar(run.epochs, [skipped.get(epoch, 0.0) for epoch in run.epochs], color="tab:red")
    _epoch_axes(axes, f"skipped steps (non-finite), total {sum(skipped.values()):.0f}")
    axes.set_ylim(bottom=0, top=max([1.0, *skipped.values()]) * 1.1)
    return _save(figure, path)


def plot_speed(run: TrainingRun, path: Path) -> Optional[Path]:
    """Seconds per epoch (train, valid), seconds per batch and utterances per second."""
    times = {phase: run.series(phase, "time") for phase in ("train", "valid")}
    per_batch = run.timing_series("s_per_batch")
    throughput = run.timing_series("utts_per_s")
    panels = []
    if any(times.values()):
        panels.append("time")
    if per_batch:
        panels.append("s_per_batch")
    if throughput:
        panels.append("utts_per_s")
    if not panels:
        return None
    figure, axes_list = _figure(len(panels), columns=3)
    for axes, panel in zip(axes_list, panels):
        if panel == "time":
            for phase, points in times.items():
                _curve(axes, points, phase, **_PHASE_STYLE[phase])
            _epoch_axes(axes, "seconds per epoch")
            axes.legend(fontsize=8)
        elif panel == "s_per_batch":
            _curve(axes, per_batch, "train")
            _epoch_axes(axes, "seconds per training batch")
        else:
            _curve(axes, throughput, "train")
            _epoch_axes(axes, "training utterances per second")
        axes.set_ylim(bottom=0)
    return _save(figure, path)


def pick_epochs(available: Sequence[int], count: int, must: Sequence[int] = ()) -> List[int]:
    """About ``count`` epochs of ``available`` spread evenly (first and last included), plus ``must``.

    >>> pick_epochs(range(1, 26), 5)
    [1, 7, 13, 19, 25]
    """
    available = sorted(available)
    if not available:
        return []
    if len(available) <= count:
        chosen = set(available)
    else:
        step = (len(available) - 1) / (count - 1) if count > 1 else 0
        chosen = {available[round(i * step)] for i in range(count)}
    chosen.update(epoch for epoch in must if epoch in available)
    return sorted(chosen)


def plot_attention_strip(
    images: Dict[int, Path], epochs: Sequence[int], path: Path, title: str, best_epoch: Optional[int] = None
) -> Optional[Path]:
    """The attention maps (``images``: epoch -> png written by the trainer) of ``epochs`` side by side."""
    from matplotlib.image import imread

    epochs = [epoch for epoch in epochs if epoch in images]
    if not epochs:
        return None
    figure, axes_list = _figure(len(epochs), columns=len(epochs), panel_size=(3.0, 3.0))
    for axes, epoch in zip(axes_list, epochs):
        axes.imshow(imread(images[epoch]))
        axes.set_axis_off()
        axes.set_title(f"epoch {epoch}" + (" (best)" if epoch == best_epoch else ""), fontsize=10)
    figure.suptitle(title, fontsize=11)
    return _save(figure, path)
