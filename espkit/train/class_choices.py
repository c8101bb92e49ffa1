"""``ClassChoices``: a named registry of swappable classes that adds ``--<name>`` and ``--<name>_conf``.

>>> from torch.optim import SGD, Adam
>>> optim_choices = ClassChoices("optim", {"adam": Adam, "sgd": SGD}, default="adam")
>>> optim_choices.get_class("Adam") is Adam
True
"""

from __future__ import annotations

import argparse
import inspect
from typing import Any, Dict, Iterable, Mapping, Optional

from typeguard import TypeCheckError

from espkit.utils.errors import ConfigError
from espkit.utils.nested_dict_action import NestedDictAction

NONE_NAMES = ("none", "null", "nil")


class ResolvesConf:
    """Base of a registered class whose ``_conf`` resolves to more than defaults plus given values.

    :meth:`ClassChoices.resolve_conf` passes the resolved ``_conf`` of such a class through
    :meth:`resolve_own_conf`, e.g. to read a file a value names into the config (a graph
    ``architecture``: :class:`espkit.nets.graph.conf.ArchitectureConf`), so that ``--print_config``
    and ``config.yaml`` hold what the model is built from.
    """

    @classmethod
    def resolve_own_conf(cls, conf: Dict[str, Any], option: str) -> Dict[str, Any]:
        """The resolved ``conf`` (``option`` names it in messages, e.g. ``--tts_conf``)."""
        return conf


class ClassChoices:
    """Registry of classes selectable by name from the command line or a config file.

    Args:
        name: Option name; adds ``--<name>`` and ``--<name>_conf``.
        classes: ``{choice_name: class}``; several names may map to one class (aliases).
        type_check: Base class every registered class must subclass.
        default: Default choice name (``None`` for no default).
        optional: Whether ``none`` is an accepted choice (the part is then left out).
    """

    def __init__(
        self,
        name: str,
        classes: Mapping[str, type],
        type_check: Optional[type] = None,
        default: Optional[str] = None,
        optional: bool = False,
    ):
        self.name = name
        self.type_check = type_check
        self.optional = optional
        self.classes: Dict[str, type] = {}
        for key, cls in classes.items():
            self.register(key, cls)
        if default is not None:
            default = default.lower()
            if default not in self.classes:
                raise ValueError(f"ClassChoices '{name}': default {default!r} is not one of {self.choices()}")
        self.default = default

    def register(self, key: str, cls: type) -> None:
        """Add one class; duplicate names and classes of the wrong base fail loudly."""
        key = key.lower()
        if key in NONE_NAMES:
            raise ValueError(f"ClassChoices '{self.name}': {key!r} is reserved (use optional=True)")
        if key in self.classes:
            raise ValueError(
                f"ClassChoices '{self.name}': {key!r} is already registered to {self.classes[key].__name__}"
            )
        if not inspect.isclass(cls):
            raise TypeError(f"ClassChoices '{self.name}': {key!r} must map to a class, got {cls!r}")
        if self.type_check is not None and not issubclass(cls, self.type_check):
            raise TypeError(
                f"ClassChoices '{self.name}': {cls.__name__} (for {key!r}) must subclass {self.type_check.__name__}"
            )
        self.classes[key] = cls

    def choices(self) -> list:
        """Valid names, ``none`` included when optional."""
        names = list(self.classes)
        return names + ["none"] if self.optional else names

    def normalize_name(self, name: Optional[str]) -> Optional[str]:
        """Case-fold a choice name; ``none`` -> None when optional. Unknown names raise."""
        if name is None or str(name).lower() in NONE_NAMES:
            if self.optional or name is None:
                return None
            raise argparse.ArgumentTypeError(f"--{self.name} is required here; choose from {', '.join(self.choices())}")
        lowered = str(name).lower()
        if lowered not in self.classes:
            raise argparse.ArgumentTypeError(
                f"unknown --{self.name} {name!r}; valid choices: {', '.join(self.choices())}"
            )
        return lowered

    def get_class(self, name: Optional[str]) -> Optional[type]:
        """Class registered under ``name`` (case-insensitive); None for ``none`` when optional."""
        try:
            key = self.normalize_name(name)
        except argparse.ArgumentTypeError as exc:
            raise ConfigError(str(exc)) from None
        return None if key is None else self.classes[key]

    def add_arguments(self, group: argparse._ActionsContainer) -> None:
        """Add ``--<name>`` and ``--<name>_conf`` to a parser or argument group."""
        group.add_argument(
            f"--{self.name}",
            type=self._parse_choice,
            default=self.default,
            help=f"The {self.name} to use. Choices: {', '.join(self.choices())}",
        )
        group.add_argument(
            f"--{self.name}_conf",
            action=NestedDictAction,
            default={},
            help=f"Keyword arguments for the chosen {self.name} (YAML/JSON text or key=value, repeatable)",
        )

    def _parse_choice(self, value: str) -> Optional[str]:
        return self.normalize_name(value)

    # --- configuration of the chosen class -----------------------------------------------------
    def default_conf(self, name: Optional[str], exclude: Iterable[str] = ()) -> Dict[str, Any]:
        """Every keyword argument with a default of the chosen class's constructor."""
        cls = self.get_class(name)
        if cls is None:
            return {}
        exclude = set(exclude)
        defaults = {}
        for param in _init_parameters(cls):
            if param.name in exclude or param.default is inspect.Parameter.empty:
                continue
            defaults[param.name] = _yaml_friendly(param.default)
        return defaults

    def resolve_conf(
        self, name: Optional[str], conf: Optional[Mapping[str, Any]], exclude: Iterable[str] = ()
    ) -> Dict[str, Any]:
        """Defaults of the chosen class updated by ``conf``; unknown keys raise ``ConfigError``."""
        cls = self.get_class(name)
        conf = dict(conf or {})
        if cls is None:
            if conf:
                raise ConfigError(f"--{self.name}_conf is given but --{self.name} is none")
            return {}
        accepted = {p.name for p in _init_parameters(cls)} - set(exclude)
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values())
        unknown = sorted(set(conf) - accepted)
        if unknown and not takes_kwargs:
            raise ConfigError(
                f"--{self.name}_conf: {cls.__name__} does not accept {', '.join(unknown)}; "
                f"accepted parameters: {', '.join(sorted(accepted))}"
            )
        resolved = self.default_conf(name, exclude)
        resolved.update(conf)
        if issubclass(cls, ResolvesConf):
            resolved = cls.resolve_own_conf(resolved, f"--{self.name}_conf")
        return resolved

    def build(self, name: Optional[str], conf: Optional[Mapping[str, Any]], **task_kwargs: Any) -> Any:
        """Instantiate the chosen class with ``conf`` plus arguments the task supplies (``idim``...).

        Task arguments the chosen class does not take are left out (a task may offer ``idim`` to
        every choice of a registry while only some use it). Type errors (typeguard) and bad values
        surface as ``ConfigError`` naming ``--<name>_conf``.
        """
        cls = self.get_class(name)
        if cls is None:
            return None
        kwargs = self.resolve_conf(name, conf, exclude=task_kwargs)
        accepted = {p.name for p in _init_parameters(cls)}
        task_kwargs = {k: v for k, v in task_kwargs.items() if k in accepted}
        try:
            return cls(**task_kwargs, **kwargs)
        except TypeCheckError as exc:
            raise ConfigError(f"--{self.name}_conf ({cls.__name__}): {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"--{self.name}_conf ({cls.__name__}): {exc}") from None


def _init_parameters(cls: type) -> list:
    """Named constructor parameters (``self``, ``*args`` and ``**kwargs`` left out)."""
    params = inspect.signature(cls.__init__).parameters.values()
    return [p for p in params if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _yaml_friendly(value: Any) -> Any:
    """Tuples -> lists and read-only mappings (``MappingProxyType`` defaults) -> dicts, recursively, so
    defaults dump as plain YAML."""
    if isinstance(value, (tuple, list)):
        return [_yaml_friendly(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _yaml_friendly(v) for k, v in value.items()}
    return value
