"""Attention-map images: ``images/att_ws/<uid>/<key>.ep<epoch>.png`` (matplotlib, Agg, lazy import)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import torch

logger = logging.getLogger(__name__)


def save_attention_map(weights: torch.Tensor, path: Path, title: str = "") -> Optional[Path]:
    """Draw ``(T_out, T_in)`` or ``(H, T_out, T_in)`` attention weights into ``path``.

    Returns the path, or None (logged once per call) when matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        logger.info("matplotlib is not installed: skipping the attention plots")
        return None
    heads = weights if weights.dim() == 3 else weights.unsqueeze(0)
    figure = Figure(figsize=(4 * len(heads), 4))
    FigureCanvasAgg(figure)
    for h, head in enumerate(heads):
        axes = figure.add_subplot(1, len(heads), h + 1)
        axes.imshow(head.float().cpu().numpy(), aspect="auto", origin="lower", interpolation="none")
        axes.set_xlabel("input")
        axes.set_ylabel("output")
        axes.set_title(title if len(heads) == 1 else f"{title} head {h}", fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path
