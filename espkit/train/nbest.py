"""Epoch model files and n-best averaging (``<phase>.<stat>.ave_<n>best.pth``)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Collection, Dict, List, Optional, Sequence, Union

from espkit.train.checkpoint import average_model_files, copy_atomic, save_atomic
from espkit.train.reporter import Reporter

logger = logging.getLogger(__name__)

_EPOCH_FILE = re.compile(r"^(\d+)epoch\.pth$")


def epoch_files(output_dir: Union[str, Path]) -> Dict[int, Path]:
    """``{epoch: path}`` of the ``<N>epoch.pth`` files in ``output_dir``."""
    files = {}
    for path in Path(output_dir).iterdir():
        match = _EPOCH_FILE.match(path.name)
        if match:
            files[int(match.group(1))] = path
    return files


def average_nbest_models(
    output_dir: Union[str, Path],
    reporter: Reporter,
    best_model_criterion: Sequence[Sequence[str]],
    nbest: Union[int, Collection[int]],
    suffix: Optional[str] = None,
) -> List[Path]:
    """Write ``<phase>.<stat>.ave_<n>best<suffix>.pth`` for each criterion and each n in ``nbest``.

    ESPnet2's signature: ``nbest`` is one n or several (``--keep_nbest_models``), ``suffix``
    None means "". Each file is the mean of the ``<N>epoch.pth`` of the n best epochs (fewer
    when fewer epochs were reported); ``<phase>.<stat>.ave<suffix>.pth`` is a copy of the
    largest n. Returns the files written.
    """
    output_dir = Path(output_dir)
    keep_nbest_models = [nbest] if isinstance(nbest, int) else list(nbest)
    suffix = "" if suffix is None else suffix
    written = []
    for phase, key, mode in best_model_criterion:
        pairs = reporter.sort_epochs_and_values(phase, key, mode)
        if not pairs:
            continue
        largest = None
        for n in sorted({n for n in keep_nbest_models if n > 0}):
            epochs = [epoch for epoch, _ in pairs[:n]]
            paths = [output_dir / f"{epoch}epoch.pth" for epoch in epochs]
            missing = [str(path) for path in paths if not path.is_file()]
            if missing:
                logger.warning("Not averaging the %d best %s.%s models: missing %s", n, phase, key, ", ".join(missing))
                continue
            destination = output_dir / f"{phase}.{key}.ave_{n}best{suffix}.pth"
            save_atomic(average_model_files(paths), destination)
            logger.info("Averaged epochs %s (%s.%s %s) into %s", epochs, phase, key, mode, destination)
            written.append(destination)
            largest = destination
        if largest is not None:
            alias = output_dir / f"{phase}.{key}.ave{suffix}.pth"
            copy_atomic(largest, alias)
            written.append(alias)
    return written
