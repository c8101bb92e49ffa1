"""Read and check an architecture YAML (docs/graphs.md): what to build, in which order, from what.

:func:`load_architecture` reads a file (``yaml.safe_load``) or takes the mapping given inline in a
config and returns a :class:`GraphSpec`. Every mistake found here is one :class:`GraphSpecError`
line naming the file (or the config option of an inline graph) and the YAML path, e.g.
``arch.yaml: model_components.postnet.submodels[0].layers[2].Conv1d: unknown kwarg 'kernal_size'
(valid: ...)``. Shapes are checked later, by a dry run of the built module
(:mod:`espkit.nets.graph.component`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from espkit.nets.graph.layers import ESPKIT_LAYERS, REFUSED_TORCH_LAYERS, layer_class, layer_kwargs, torch_layer_names
from espkit.utils.errors import ConfigError

CONNECTION_TYPES = ("add", "concat", "mul")
TOP_KEYS = ("model_components", "description")
COMPONENT_KEYS = ("submodels", "outputs", "lengths", "example_inputs")
SUBMODEL_KEYS = (
    "name",
    "submodel_inputs",
    "layer_name_prefix",
    "layers",
    "skip_connections",
    "input_connection",
    "concat_dim",
)
SKIP_KEYS = ("future_layers", "connection_types", "concat_dim")
#: ``{submodel: output}``: the output of the submodel's last layer.
SUBMODEL_OUTPUT = "output"


class GraphSpecError(ConfigError):
    """A mistake in an architecture YAML: one line naming the file and the YAML path."""


@dataclass(frozen=True)
class LayerSpec:
    """One layer: its graph name (``<layer_name_prefix><index>``), YAML name, class and kwargs."""

    name: str
    type_name: str
    cls: type
    kwargs: Dict[str, Any]
    path: str


@dataclass(frozen=True)
class Incoming:
    """A value combined into a layer's input: the output of ``layer`` (or component input ``key``)."""

    source: str
    is_input: bool
    connection: str
    concat_dim: int
    path: str


@dataclass
class SubmodelSpec:
    name: str
    path: str
    inputs: List[Incoming]
    layers: List[LayerSpec]
    #: per layer name: the skip connections into it, in the order they are declared
    skips_into: Dict[str, List[Incoming]] = field(default_factory=dict)


@dataclass
class ComponentSpec:
    """One model component: its submodels in execution order and what it takes and returns."""

    name: str
    path: str
    submodels: List[SubmodelSpec]
    #: the batch keys the submodels read, in order of first use
    inputs: List[str]
    #: layer names whose outputs the component returns, in order
    outputs: List[str]
    #: batch key of the lengths ``(B,)`` that length-aware layers get ("" for none)
    lengths_key: str
    #: ``{key: shape list or {"values": [...]}}`` for the dry run (empty: none declared)
    example_inputs: Dict[str, Any]

    def layers(self) -> List[LayerSpec]:
        """Every layer, in execution order."""
        return [layer for submodel in self.submodels for layer in submodel.layers]


@dataclass
class GraphSpec:
    """A checked architecture: ``source`` names it in messages, ``data`` is the YAML mapping."""

    source: str
    data: Dict[str, Any]
    components: Dict[str, ComponentSpec]

    def error(self, path: str, message: str) -> GraphSpecError:
        return GraphSpecError(f"{self.source}: {path}: {message}")


def load_architecture(architecture: str | Path | Mapping[str, Any], source: Optional[str] = None) -> GraphSpec:
    """Read and check an architecture: a YAML file path, or its mapping given inline.

    Args:
        architecture: path of the YAML file, or the mapping it holds.
        source: how messages name an inline mapping (e.g. ``--tts_conf postnet_architecture``);
            a file is named by its path.

    Raises:
        GraphSpecError: the file is missing or malformed, or the graph is wrong (one line each).
    """
    if isinstance(architecture, Mapping):
        return parse_architecture(architecture, source or "architecture")
    path = Path(architecture)
    if not path.is_file():
        raise GraphSpecError(f"{path}: architecture file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise GraphSpecError(f"{path}: malformed YAML: {_yaml_problem(exc)}") from None
    return parse_architecture(data, str(path))


def parse_architecture(data: Any, source: str) -> GraphSpec:
    """Check the mapping of an architecture file (see :func:`load_architecture`)."""
    return _Parser(source).graph(data)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """``line L, column C: <problem> (<context>)`` of a YAML error, or its text on one line."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or problem is None:
        return _one_line(str(exc))
    context = getattr(exc, "context", None)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" + (f" ({context})" if context else "")


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _listed(names: List[str]) -> str:
    return ", ".join(names) if names else "none"


def _did_you_mean(name: str, valid: List[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=3)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


class _Parser:
    def __init__(self, source: str):
        self.source = source

    def error(self, path: str, message: str) -> GraphSpecError:
        return GraphSpecError(f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}")

    def mapping(self, value: Any, path: str, what: str) -> Dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(path, f"expected {what} (a mapping), got {type(value).__name__}")
        return dict(value)

    def check_keys(self, value: Mapping[str, Any], valid: Tuple[str, ...], path: str) -> None:
        for key in value:
            if key not in valid:
                raise self.error(
                    f"{path}.{key}" if path else str(key),
                    f"unknown key{_did_you_mean(str(key), list(valid))} (valid: {_listed(list(valid))})",
                )

    # --- top level ------------------------------------------------------------------------------
    def graph(self, data: Any) -> GraphSpec:
        if data is None:
            raise self.error("", "the architecture is empty; it needs model_components")
        data = self.mapping(data, "", "the architecture")
        self.check_keys(data, TOP_KEYS, "")
        if "model_components" not in data:
            raise self.error("", "no model_components")
        components = self.mapping(data["model_components"], "model_components", "model_components")
        if not components:
            raise self.error("model_components", "empty; give at least one component")
        specs = {str(name): self.component(str(name), value) for name, value in components.items()}
        return GraphSpec(self.source, data, specs)

    # --- components -----------------------------------------------------------------------------
    def component(self, name: str, value: Any) -> ComponentSpec:
        path = f"model_components.{name}"
        if not name or "." in name:
            raise self.error(path, "a component name must be non-empty and cannot contain '.'")
        value = self.mapping(value, path, "a component")
        self.check_keys(value, COMPONENT_KEYS, path)
        submodels_value = value.get("submodels")
        if not isinstance(submodels_value, list) or not submodels_value:
            raise self.error(f"{path}.submodels", "expected a non-empty list of submodels")
        raw = [self.submodel_header(item, f"{path}.submodels[{i}]") for i, item in enumerate(submodels_value)]
        names = [item[0] for item in raw]
        for i, sub_name in enumerate(names):
            if sub_name in names[:i]:
                raise self.error(f"{path}.submodels[{i}].name", f"submodel name {sub_name!r} is used twice")
        # layers (and their names) first: inputs and skips refer to them
        layer_owner: Dict[str, int] = {}
        submodels: List[SubmodelSpec] = []
        for i, (sub_name, sub_value, sub_path) in enumerate(raw):
            layers = self.layers(sub_name, sub_value, sub_path)
            for layer in layers:
                if layer.name in layer_owner:
                    other = raw[layer_owner[layer.name]][2]
                    raise self.error(
                        layer.path,
                        f"layer name {layer.name!r} is also a layer of {other}: give the submodels different "
                        "layer_name_prefix values",
                    )
                layer_owner[layer.name] = i
            submodels.append(SubmodelSpec(sub_name, sub_path, [], layers))
        by_name = {sub.name: sub for sub in submodels}
        # edges[i] = {j: path}: submodel j runs before submodel i because of the YAML at path
        edges: List[Dict[int, str]] = [{} for _ in submodels]
        used: Dict[int, bool] = {i: False for i in range(len(submodels))}
        for i, (_, sub_value, sub_path) in enumerate(raw):
            sub = submodels[i]
            sub.inputs = self.submodel_inputs(sub_value, sub_path, by_name, names)
            for incoming in sub.inputs:
                if not incoming.is_input:
                    j = layer_owner[incoming.source]
                    edges[i].setdefault(j, incoming.path)
                    if j != i:
                        used[j] = True
            for target, incoming in self.skip_connections(sub_value, sub, layer_owner, submodels):
                j = layer_owner[target]
                submodels[j].skips_into.setdefault(target, []).append(incoming)
                if j != i:
                    edges[j].setdefault(i, incoming.path)
                    used[i] = True
        order = self.execution_order(path, submodels, edges)
        outputs = self.outputs(value, path, by_name, layer_owner, submodels)
        for layer_name in outputs:
            used[layer_owner[layer_name]] = True
        for i, sub in enumerate(submodels):
            if not used[i]:
                raise self.error(
                    sub.path,
                    f"submodel {sub.name!r} is unused: no submodel_inputs, skip_connections or outputs of "
                    f"{path} refer to it (outputs: {_listed(outputs)})",
                )
        inputs: List[str] = []
        for sub in (submodels[i] for i in order):
            for incoming in sub.inputs:
                if incoming.is_input and incoming.source not in inputs:
                    inputs.append(incoming.source)
        lengths_key = value.get("lengths") or ""
        if not isinstance(lengths_key, str):
            raise self.error(f"{path}.lengths", f"expected the name of a batch key, got {lengths_key!r}")
        if lengths_key in inputs:
            raise self.error(
                f"{path}.lengths", f"{lengths_key!r} is also a submodel input; lengths are not layer inputs"
            )
        example_inputs = self.example_inputs(value.get("example_inputs"), f"{path}.example_inputs", inputs, lengths_key)
        return ComponentSpec(
            name=name,
            path=path,
            submodels=[submodels[i] for i in order],
            inputs=inputs,
            outputs=outputs,
            lengths_key=lengths_key,
            example_inputs=example_inputs,
        )

    def execution_order(self, path: str, submodels: List[SubmodelSpec], edges: List[Dict[int, str]]) -> List[int]:
        """Submodels in an order where each runs after those it reads (list order where free)."""
        for i, before in enumerate(edges):
            if i in before:
                raise self.error(before[i], f"cycle: submodel {submodels[i].name!r} reads its own output")
        order: List[int] = []
        done = set()
        while len(order) < len(submodels):
            ready = [i for i in range(len(submodels)) if i not in done and all(j in done for j in edges[i])]
            if not ready:
                cycle = self.cycle_path(edges, done)
                raise self.error(edges[cycle[0]][cycle[1]], self.cycle_message(submodels, cycle))
            order.append(ready[0])
            done.add(ready[0])
        return order

    def cycle_path(self, edges: List[Dict[int, str]], done: set) -> List[int]:
        """Submodels ``[i, j, ..., i]`` on a cycle (each needs the next) among those not in ``done``."""
        start = min(i for i in range(len(edges)) if i not in done)
        seen: List[int] = [start]
        current = start
        while True:
            current = min(j for j in edges[current] if j not in done)
            if current in seen:
                return seen[seen.index(current) :] + [current]
            seen.append(current)

    def cycle_message(self, submodels: List[SubmodelSpec], path: List[int]) -> str:
        # edges point from a submodel to those it needs first: reverse for data flow
        names = " -> ".join(submodels[i].name for i in reversed(path))
        return f"cycle between submodels: {names} (through submodel_inputs or skip_connections)"

    # --- submodels ------------------------------------------------------------------------------
    def submodel_header(self, value: Any, path: str) -> Tuple[str, Dict[str, Any], str]:
        value = self.mapping(value, path, "a submodel")
        self.check_keys(value, SUBMODEL_KEYS, path)
        name = value.get("name")
        if not isinstance(name, str) or not name:
            raise self.error(f"{path}.name", "every submodel needs a name (submodel_inputs refer to it)")
        return name, value, path

    def layers(self, sub_name: str, value: Dict[str, Any], path: str) -> List[LayerSpec]:
        prefix = value.get("layer_name_prefix", f"{sub_name}_")
        if not isinstance(prefix, str):
            raise self.error(f"{path}.layer_name_prefix", f"expected a string, got {prefix!r}")
        items = value.get("layers")
        if not isinstance(items, list) or not items:
            raise self.error(f"{path}.layers", "expected a non-empty list of {LayerName: {kwargs}}")
        if "." in prefix:
            raise self.error(f"{path}.layer_name_prefix", f"{prefix!r}: layer names cannot contain '.'")
        return [self.layer(item, f"{path}.layers[{i}]", f"{prefix}{i}") for i, item in enumerate(items)]

    def layer(self, item: Any, path: str, name: str) -> LayerSpec:
        if isinstance(item, str):
            item = {item: None}
        if not isinstance(item, Mapping) or len(item) != 1:
            raise self.error(path, f"expected one {{LayerName: {{kwargs}}}}, got {item!r}")
        type_name, kwargs = next(iter(item.items()))
        type_name = str(type_name)
        cls = layer_class(type_name)
        if cls is None:
            if type_name in REFUSED_TORCH_LAYERS:
                raise self.error(
                    path, f"torch.nn.{type_name} cannot be a graph layer: {REFUSED_TORCH_LAYERS[type_name]}"
                )
            valid = list(ESPKIT_LAYERS) + torch_layer_names()
            raise self.error(
                path,
                f"unknown layer {type_name!r}{_did_you_mean(type_name, valid)} (valid: espkit layers "
                f"{_listed(sorted(ESPKIT_LAYERS))}; torch.nn layers {_listed(torch_layer_names())})",
            )
        layer_path = f"{path}.{type_name}"
        kwargs = {} if kwargs is None else self.mapping(kwargs, layer_path, "keyword arguments")
        names, required, takes_any = layer_kwargs(cls)
        if not takes_any:
            for key in kwargs:
                if key not in names:
                    raise self.error(
                        layer_path, f"unknown kwarg {key!r}{_did_you_mean(str(key), names)} (valid: {_listed(names)})"
                    )
        missing = [key for key in required if key not in kwargs]
        if missing:
            raise self.error(
                layer_path,
                f"missing kwarg{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
                f"(required: {_listed(required)})",
            )
        return LayerSpec(name, type_name, cls, kwargs, layer_path)

    def submodel_inputs(
        self, value: Dict[str, Any], path: str, by_name: Dict[str, SubmodelSpec], names: List[str]
    ) -> List[Incoming]:
        items = value.get("submodel_inputs")
        path_inputs = f"{path}.submodel_inputs"
        if isinstance(items, (str, Mapping)):
            items = [items]
        if not isinstance(items, list) or not items:
            raise self.error(path_inputs, "expected a non-empty list of batch keys or {submodel: output}")
        connection = value.get("input_connection", "concat")
        if connection not in CONNECTION_TYPES:
            raise self.error(
                f"{path}.input_connection",
                f"unknown connection {connection!r} (valid: {_listed(list(CONNECTION_TYPES))})",
            )
        concat_dim = self.concat_dim(value.get("concat_dim", 1), f"{path}.concat_dim")
        incoming = []
        for k, item in enumerate(items):
            item_path = f"{path_inputs}[{k}]"
            if isinstance(item, str):
                if item in by_name:
                    raise self.error(
                        item_path, f"{item!r} is a submodel: write {{{item}: {SUBMODEL_OUTPUT}}} to read its output"
                    )
                incoming.append(Incoming(item, True, connection, concat_dim, item_path))
                continue
            if not isinstance(item, Mapping) or len(item) != 1:
                raise self.error(item_path, f"expected a batch key or {{submodel: {SUBMODEL_OUTPUT}}}, got {item!r}")
            sub_name, output = next(iter(item.items()))
            if sub_name not in by_name:
                raise self.error(item_path, f"no submodel {sub_name!r} in this component (submodels: {_listed(names)})")
            layer_names = [layer.name for layer in by_name[sub_name].layers]
            if output == SUBMODEL_OUTPUT:
                source = layer_names[-1]
            elif output in layer_names:
                source = output
            else:
                raise self.error(
                    item_path,
                    f"submodel {sub_name!r} has no output {output!r} "
                    f"(valid: {SUBMODEL_OUTPUT}, {_listed(layer_names)})",
                )
            incoming.append(Incoming(source, False, connection, concat_dim, item_path))
        return incoming

    def concat_dim(self, value: Any, path: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(path, f"expected an integer axis, got {value!r}")
        return value

    def skip_connections(
        self, value: Dict[str, Any], sub: SubmodelSpec, layer_owner: Dict[str, int], submodels: List[SubmodelSpec]
    ) -> List[Tuple[str, Incoming]]:
        """``(target layer, incoming)`` of each skip connection of ``sub``."""
        path = f"{sub.path}.skip_connections"
        skips = value.get("skip_connections")
        if skips is None:
            return []
        skips = self.mapping(skips, path, "skip connections {layer: {future_layers: [...], connection_types: [...]}}")
        own = [layer.name for layer in sub.layers]
        found = []
        for source, spec in skips.items():
            skip_path = f"{path}.{source}"
            if source not in own:
                raise self.error(
                    skip_path, f"{source!r} is not a layer of submodel {sub.name!r} (its layers: {_listed(own)})"
                )
            spec = self.mapping(spec, skip_path, "{future_layers: [...], connection_types: [...]}")
            self.check_keys(spec, SKIP_KEYS, skip_path)
            targets = spec.get("future_layers")
            if isinstance(targets, str):
                targets = [targets]
            if not isinstance(targets, list) or not targets:
                raise self.error(f"{skip_path}.future_layers", "expected a non-empty list of layer names")
            types = spec.get("connection_types", ["add"])
            if isinstance(types, str):
                types = [types]
            if not isinstance(types, list) or len(types) not in (1, len(targets)):
                raise self.error(
                    f"{skip_path}.connection_types",
                    f"expected one connection type, or one per future layer ({len(targets)}), got {types!r}",
                )
            for k, connection in enumerate(types):
                if connection not in CONNECTION_TYPES:
                    raise self.error(
                        f"{skip_path}.connection_types[{k}]",
                        f"unknown connection {connection!r} (valid: {_listed(list(CONNECTION_TYPES))})",
                    )
            if len(types) == 1:
                types = types * len(targets)
            concat_dim = self.concat_dim(spec.get("concat_dim", 1), f"{skip_path}.concat_dim")
            source_index = own.index(source)
            for k, (target, connection) in enumerate(zip(targets, types)):
                target_path = f"{skip_path}.future_layers[{k}]"
                if target not in layer_owner:
                    raise self.error(
                        target_path,
                        f"no layer {target!r} in this component{_did_you_mean(str(target), list(layer_owner))} "
                        f"(layers: {_listed(list(layer_owner))})",
                    )
                if layer_owner[target] == layer_owner[source] and own.index(target) <= source_index:
                    where = "is the layer itself" if target == source else f"comes earlier than {source!r}"
                    raise self.error(
                        target_path, f"skip connection to {target!r}, which {where}: a skip must go to a later layer"
                    )
                found.append((target, Incoming(source, False, connection, concat_dim, target_path)))
        return found

    # --- component outputs and example inputs ---------------------------------------------------
    def outputs(
        self,
        value: Dict[str, Any],
        path: str,
        by_name: Dict[str, SubmodelSpec],
        layer_owner: Dict[str, int],
        submodels: List[SubmodelSpec],
    ) -> List[str]:
        items = value.get("outputs")
        if items is None:
            return [submodels[-1].layers[-1].name]
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list) or not items:
            raise self.error(f"{path}.outputs", "expected a non-empty list of submodel or layer names")
        outputs = []
        for k, item in enumerate(items):
            if item in by_name:
                outputs.append(by_name[item].layers[-1].name)
            elif item in layer_owner:
                outputs.append(item)
            else:
                raise self.error(
                    f"{path}.outputs[{k}]",
                    f"no submodel or layer {item!r} (submodels: {_listed(list(by_name))}; "
                    f"layers: {_listed(list(layer_owner))})",
                )
        return outputs

    def example_inputs(self, value: Any, path: str, inputs: List[str], lengths_key: str) -> Dict[str, Any]:
        if value is None:
            return {}
        value = self.mapping(value, path, "{batch key: shape or {values: [...]}}")
        valid = inputs + ([lengths_key] if lengths_key else [])
        for key, item in value.items():
            item_path = f"{path}.{key}"
            if key not in valid:
                raise self.error(item_path, f"{key!r} is not an input of this component (inputs: {_listed(valid)})")
            if isinstance(item, Mapping):
                values = item.get("values")
                if set(item) != {"values"} or not isinstance(values, list) or not values:
                    raise self.error(item_path, "expected a shape [B, ...] or {values: [...]} (e.g. lengths)")
            elif not (isinstance(item, list) and item and all(isinstance(n, int) and n > 0 for n in item)):
                raise self.error(item_path, f"expected a shape (a list of positive integers), got {item!r}")
        missing = [key for key in inputs if key not in value]
        if missing:
            raise self.error(path, f"no example for {_listed(missing)} (every input needs one for the dry run)")
        return value
