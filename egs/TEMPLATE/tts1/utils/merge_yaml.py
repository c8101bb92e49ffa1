#!/usr/bin/env python3
"""Write BASE yaml with the keys of OVERRIDE yaml put over it (mappings merged key by key, other values
replaced), e.g. a vocoder fine-tune config = the vocoder's training config + a few changed options.

    utils/merge_yaml.py conf/tuning/train_vocoder_nsf.yaml conf/tuning/finetune_vocoder_nsf.yaml \
        --output exp/vocoder_nsf_ft_tts_train/finetune.yaml
"""

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml


def merge(base: Any, override: Any) -> Any:
    """``override`` over ``base``: dicts merged recursively, anything else (lists included) replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return override


def load_mapping(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            conf = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        raise SystemExit(f"merge_yaml.py: error: {path}: {e}".splitlines()[0]) from None
    if conf is None:
        return {}
    if not isinstance(conf, dict):
        raise SystemExit(f"merge_yaml.py: error: {path}: the top level must be a mapping of options")
    return conf


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the yaml the others change")
    parser.add_argument("overrides", nargs="+", help="yaml(s) put over it, in order")
    parser.add_argument("--output", required=True, help="merged yaml written here")
    args = parser.parse_args(argv)
    conf = load_mapping(args.base)
    for path in args.overrides:
        conf = merge(conf, load_mapping(path))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        names = ", ".join(Path(p).name for p in args.overrides)
        f.write(f"# {Path(args.base).name} with {names} over it (utils/merge_yaml.py)\n")
        yaml.safe_dump(conf, f, sort_keys=False, default_flow_style=None)


if __name__ == "__main__":
    main(sys.argv[1:])
