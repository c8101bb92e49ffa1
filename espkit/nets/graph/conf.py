"""Graph architectures in a ``_conf``: a YAML file path, read into the config when it is resolved.

A registered class that takes an architecture (the ``graph`` choices, the Tacotron2 postnet)
derives from :class:`ArchitectureConf`: ``--print_config`` and ``config.yaml`` then hold the
graph itself, checked (and its components built once, with their dry runs) while the file's name
can still be given in a message; a run is rebuilt from its ``config.yaml`` alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

from espkit.nets.graph.component import check_architecture
from espkit.nets.graph.spec import GraphSpec, load_architecture
from espkit.train.class_choices import ResolvesConf
from espkit.utils.errors import ConfigError


def read_architecture(value: Any, source: str) -> GraphSpec:
    """The checked graph of an architecture option's ``value``: a YAML file path or the mapping inline
    (``source`` names the option in messages)."""
    if isinstance(value, (str, Path, Mapping)):
        return load_architecture(value, source)
    raise ConfigError(f"{source}: expected a YAML file path or the graph as a mapping, got {type(value).__name__}")


class ArchitectureConf(ResolvesConf):
    """Reads each ``_conf`` value of :attr:`architecture_options` that names a YAML file into the config."""

    #: the constructor arguments that take an architecture
    architecture_options: Tuple[str, ...] = ("architecture",)

    @classmethod
    def resolve_own_conf(cls, conf: Dict[str, Any], option: str) -> Dict[str, Any]:
        conf = dict(conf)
        for key in cls.architecture_options:
            value = conf.get(key)
            if value is None:
                continue
            spec = read_architecture(value, f"{option} {key}")
            if not isinstance(value, Mapping):
                check_architecture(spec)  # inline graphs are dry-run when the model is built
                conf[key] = spec.data
        return conf
