"""Initialise (a part of) a model from a pretrained file (``--init_param``), and freeze parameters.

``--init_param`` is ``path[:src_key[:dst_key[:exclude_keys]]]``:

- ``path``: a model file (``<N>epoch.pth``, ``valid.loss.ave.pth``...) or a training checkpoint;
- ``src_key``: only the tensors under ``<src_key>.`` in the file (empty: all of them);
- ``dst_key``: loaded under ``<dst_key>.`` of our model (empty: at the top);
- ``exclude_keys``: comma-separated prefixes of the file's (full) key names to leave out.

>>> load_pretrained_model("exp/tts/valid.loss.best.pth:tts.encoder:tts.encoder", model)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Sequence

import torch

from espkit.train.checkpoint import extract_model_state, load_checkpoint

logger = logging.getLogger(__name__)


def parse_init_param(init_param: str) -> tuple[str, str, str, List[str]]:
    """``"path:src:dst:ex1,ex2"`` -> ``(path, src_key, dst_key, [ex1, ex2])``."""
    parts = init_param.split(":")
    if len(parts) > 4 or parts[0] == "":
        raise ValueError(
            f"--init_param {init_param!r}: expected path[:src_key[:dst_key[:exclude_keys]]] "
            "(at most 3 colons, non-empty path)"
        )
    parts += [""] * (4 - len(parts))
    path, src_key, dst_key, excludes = parts
    return path, src_key, dst_key, [prefix for prefix in excludes.split(",") if prefix]


def _under(key: str, prefix: str) -> bool:
    return key == prefix or key.startswith(prefix + ".")


def load_pretrained_model(
    init_param: str,
    model: torch.nn.Module,
    ignore_init_mismatch: bool = False,
    map_location: Any = "cpu",
) -> List[str]:
    """Copy tensors of a pretrained file into ``model`` as described by ``init_param``.

    Shape mismatches and file keys with no counterpart in the model raise a ``ValueError``
    listing them, unless ``ignore_init_mismatch`` (then they are skipped with a warning that
    lists them). The number of loaded tensors and the model keys left at their initial values
    (under ``dst_key``) are logged.

    Returns:
        The model state keys that were loaded.
    """
    path, src_key, dst_key, excludes = parse_init_param(init_param)
    source = extract_model_state(load_checkpoint(path, map_location=map_location), path)
    source = {k: v for k, v in source.items() if not any(_under(k, prefix) for prefix in excludes)}
    if src_key:
        source = {k[len(src_key) + 1 :]: v for k, v in source.items() if k.startswith(src_key + ".")}
        if not source:
            raise ValueError(f"--init_param {init_param!r}: {path} has no tensors under '{src_key}.'")
    if dst_key:
        source = {f"{dst_key}.{k}": v for k, v in source.items()}

    model_state = model.state_dict()
    if dst_key and not any(_under(k, dst_key) for k in model_state):
        raise ValueError(
            f"--init_param {init_param!r}: the model has no parameters under '{dst_key}.'; "
            f"top-level modules: {sorted({k.split('.')[0] for k in model_state})}"
        )
    unexpected = sorted(k for k in source if k not in model_state)
    mismatched = sorted(
        f"{k}: {tuple(v.shape)} in {path} vs {tuple(model_state[k].shape)} in the model"
        for k, v in source.items()
        if k in model_state and v.shape != model_state[k].shape
    )
    if unexpected or mismatched:
        details = []
        if mismatched:
            details.append(f"{len(mismatched)} shape mismatch(es):\n  " + "\n  ".join(mismatched))
        if unexpected:
            details.append(f"{len(unexpected)} key(s) not in the model:\n  " + "\n  ".join(unexpected))
        message = f"--init_param {init_param!r} does not fit the model:\n" + "\n".join(details)
        if not ignore_init_mismatch:
            raise ValueError(message + "\n(set --ignore_init_mismatch true to skip these tensors)")
        logger.warning("%s\nThese tensors are skipped (--ignore_init_mismatch true)", message)
    loadable: Dict[str, torch.Tensor] = {
        k: v for k, v in source.items() if k in model_state and v.shape == model_state[k].shape
    }
    model.load_state_dict(loadable, strict=False)
    scope = [k for k in model_state if not dst_key or _under(k, dst_key)]
    untouched = [k for k in scope if k not in loadable]
    logger.info(
        "Initialised %d tensor(s) of %s from %s%s%s",
        len(loadable),
        type(model).__name__,
        path,
        f" ('{src_key}.' -> '{dst_key or '<model>'}.')" if src_key or dst_key else "",
        f", excluding {excludes}" if excludes else "",
    )
    if untouched:
        logger.info(
            "%d tensor(s)%s keep their initial values: %s",
            len(untouched),
            f" under '{dst_key}.'" if dst_key else "",
            ", ".join(untouched),
        )
    return sorted(loadable)


def freeze_parameters(model: torch.nn.Module, prefixes: Sequence[str]) -> List[str]:
    """Set ``requires_grad=False`` on the parameters under each prefix; returns their names.

    Raises:
        ValueError: a prefix matches no parameter (the message lists the top-level modules).
    """
    named = dict(model.named_parameters())
    frozen: List[str] = []
    for prefix in prefixes:
        matched = [name for name in named if _under(name, prefix)]
        if not matched:
            raise ValueError(
                f"--freeze_param {prefix!r} matches no parameter; top-level modules: "
                f"{sorted({name.split('.')[0] for name in named})}"
            )
        for name in matched:
            named[name].requires_grad_(False)
        frozen.extend(name for name in matched if name not in frozen)
    if frozen:
        logger.info("Froze %d parameter tensor(s): %s", len(frozen), ", ".join(frozen))
    return frozen
