"""``--<name>_conf`` values: YAML/JSON text or repeated ``key=value`` pairs, merged in order."""

from __future__ import annotations

import argparse
import copy
import re
from typing import Any, Dict

import yaml


class SafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads ``1e-3`` (no dot) as a float, as people write it."""


SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def safe_load(text):
    """``yaml.safe_load`` with :class:`SafeLoader` (never instantiates arbitrary objects)."""
    return yaml.load(text, Loader=SafeLoader)


def merge_dict(base: Dict[str, Any], update: Dict[str, Any]) -> Dict[str, Any]:
    """Recursively merge ``update`` into a copy of ``base`` (``update`` wins)."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_dict(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def parse_nested_dict(text: str, option: str = "") -> Dict[str, Any]:
    """Parse one ``--X_conf`` value.

    >>> parse_nested_dict("lr=0.01")
    {'lr': 0.01}
    >>> parse_nested_dict("a.b=true")
    {'a': {'b': True}}
    >>> parse_nested_dict("{n_fft: 512, hop_length: 128}")
    {'n_fft': 512, 'hop_length': 128}
    """
    where = f"{option}: " if option else ""
    stripped = text.strip()
    if "=" in stripped and not stripped.startswith("{"):
        key, _, raw_value = stripped.partition("=")
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise argparse.ArgumentTypeError(f"{where}bad key in {text!r}; expected key=value")
        try:
            value = safe_load(raw_value) if raw_value.strip() else None
        except yaml.YAMLError as exc:
            raise argparse.ArgumentTypeError(f"{where}cannot parse the value in {text!r}: {exc}") from None
        nested: Dict[str, Any] = {}
        cursor = nested
        *parents, leaf = key.split(".")
        for part in parents:
            cursor = cursor.setdefault(part, {})
        cursor[leaf] = value
        return nested
    try:
        value = safe_load(stripped) if stripped else {}
    except yaml.YAMLError as exc:
        raise argparse.ArgumentTypeError(f"{where}cannot parse {text!r} as YAML/JSON: {exc}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{where}expected a mapping ('{{key: value}}') or key=value, got {text!r}")
    return value


class NestedDictAction(argparse.Action):
    """Argparse action that merges each occurrence into the dict gathered so far.

    ``--optim_conf lr=0.1 --optim_conf betas=[0.9,0.98]`` gives
    ``{"lr": 0.1, "betas": [0.9, 0.98]}``, on top of any value from ``--config``.
    """

    def __init__(self, option_strings, dest, default=None, **kwargs):
        super().__init__(option_strings, dest, default={} if default is None else default, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            update = parse_nested_dict(values, option_string or self.dest)
        except argparse.ArgumentTypeError as exc:
            parser.error(str(exc))
        current = getattr(namespace, self.dest, None)
        if not isinstance(current, dict):  # no default or a non-mapping one (ESPnet2: start empty)
            current = {}
        setattr(namespace, self.dest, merge_dict(current, update))
