"""An ``ArgumentParser`` whose ``--config file.yaml`` supplies defaults the command line overrides.

Every key of the YAML file must be an option of the parser; values are checked with the option's
own type and choices, and mistakes name the key and the file instead of raising a traceback. Keys
of options that were removed (``retired_options``) are ignored with a log line, so a
``config.yaml`` written before still loads.
"""

from __future__ import annotations

import argparse
import difflib
import logging
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

import yaml

from espkit.utils.errors import ConfigError
from espkit.utils.nested_dict_action import NestedDictAction, safe_load

logger = logging.getLogger(__name__)


def load_yaml_config(path: str | Path) -> Dict[str, Any]:
    """Read a YAML mapping safely (``yaml.safe_load``); errors name the file (and line)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        with path.open(encoding="utf-8") as f:
            data = safe_load(f)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of option: value at the top level")
    return data


def _coerce(action: argparse.Action, key: str, value: Any, source: str) -> Any:
    """Check/convert one config value with the option's type and choices."""
    if value is None:
        return None
    if isinstance(action, NestedDictAction):
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: '{key}' must be a mapping, got {value!r}")
        return value
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: '{key}' must be true or false, got {value!r}")
        return value
    if isinstance(action, argparse._CountAction):  # ``-vvv`` given as its count
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{source}: '{key}' counts repetitions: a whole number >= 0, got {value!r}")
        return value
    if action.nargs not in (None, "?") or isinstance(action, argparse._AppendAction):
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if isinstance(action.nargs, int) and len(items) != action.nargs:
            raise ConfigError(f"{source}: '{key}' takes {action.nargs} values, got {value!r}")
        return [_coerce_scalar(action, key, item, source) for item in items]
    return _coerce_scalar(action, key, value, source)


def _coerce_scalar(action: argparse.Action, key: str, value: Any, source: str) -> Any:
    convert = action.type
    if convert is not None and (isinstance(value, str) or getattr(convert, "accepts_sequence", False)):
        try:
            value = convert(value)
        except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
            raise ConfigError(f"{source}: bad value for '{key}': {exc}") from None
    elif convert in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: '{key}' must be a number, got {value!r}")
        if convert is int and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{source}: '{key}' must be an integer, got {value!r}")
        value = convert(value)
    elif getattr(convert, "__name__", "") == "str2bool" and not isinstance(value, bool):
        raise ConfigError(f"{source}: '{key}' must be true or false, got {value!r}")
    if action.choices is not None and value not in action.choices:
        valid = ", ".join(str(c) for c in action.choices)
        raise ConfigError(f"{source}: invalid choice for '{key}': {value!r} (choose from {valid})")
    return value


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with ``--config``: YAML defaults, command line wins.

    ``retired_options``: ``{name: why}`` of options that no longer exist; a config file key of
    that name is ignored (logged), while ``--<name>`` on the command line is unknown.
    ``config_check``: ``fn(config, path)`` run on a ``--config`` file's mapping before its keys are
    read (e.g. :func:`espkit.utils.model_kind.check_config_kind`); raises ``ConfigError``.
    """

    def __init__(
        self,
        *args,
        retired_options: Optional[Mapping[str, str]] = None,
        config_check: Optional[Callable[[Dict[str, Any], str], Any]] = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.retired_options = dict(retired_options or {})
        self.config_check = config_check
        self.add_argument("--config", default=None, help="YAML file giving defaults for any option below")

    def options_by_dest(self) -> Dict[str, argparse.Action]:
        return {a.dest: a for a in self._actions if a.dest not in ("help", argparse.SUPPRESS)}

    def config_to_defaults(self, config: Dict[str, Any], source: str) -> Dict[str, Any]:
        """Validate a config mapping against this parser; return converted defaults."""
        actions = self.options_by_dest()
        defaults = {}
        for key, value in config.items():
            if key == "config":
                continue
            if key in self.retired_options and key not in actions:
                logger.info(
                    "%s: ignoring '%s', an option that no longer exists (%s)", source, key, self.retired_options[key]
                )
                continue
            if key not in actions:
                close = difflib.get_close_matches(str(key), list(actions), n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise ConfigError(f"{source}: unknown key '{key}'{hint}")
            defaults[key] = _coerce(actions[key], key, value, source)
        return defaults

    def parse_known_args(self, args: Optional[Sequence[str]] = None, namespace=None):
        pre = argparse.ArgumentParser(add_help=False)
        pre.add_argument("--config", default=None)
        pre_args, _ = pre.parse_known_args(args)
        if pre_args.config is not None:
            try:
                config = load_yaml_config(pre_args.config)
                if self.config_check is not None:
                    self.config_check(config, pre_args.config)
                self.set_defaults(**self.config_to_defaults(config, pre_args.config))
            except ConfigError as exc:  # one line naming the file and key; the usage would bury it
                self.exit(2, f"{self.prog}: error: {exc}\n")
        return super().parse_known_args(args, namespace)
