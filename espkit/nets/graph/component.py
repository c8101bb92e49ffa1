"""Build the modules of an architecture YAML: :class:`GraphComponent` (one model component) and
:class:`LayerGraph` (every component of a file).

A component runs its layers in execution order. Each layer's input is the previous layer's output
(the first layer of a submodel: its ``submodel_inputs``, combined by ``input_connection``), then
each skip connection into it is combined in: ``add``, ``mul`` (the skip must broadcast to the
input's shape) or ``concat`` (along ``concat_dim``, 1 by default: the channels of ``(B, C, T)``).

The modules are ordinary ``nn.Module`` s: state dicts (``layers.<layer name>.<parameter>``),
``torch.jit.script`` and ``torch.jit.trace`` (equal to eager), DDP. Building checks shapes by a
dry run (eval mode, no grad, no use of the global RNG) on the component's ``example_inputs`` when
the YAML declares them; a layer or connection that fails is named by its YAML path.
"""

import logging
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Mapping, Optional

import torch
from torch import nn

from espkit.nets.graph.spec import ComponentSpec, GraphSpec, GraphSpecError, Incoming, load_architecture

logger = logging.getLogger(__name__)


def combine(x: torch.Tensor, y: torch.Tensor, connection: str, concat_dim: int) -> torch.Tensor:
    """``x + y``, ``x * y`` or ``cat([x, y], concat_dim)`` for ``connection`` ``add``, ``mul``, ``concat``."""
    if connection == "add":
        return x + y
    if connection == "mul":
        return x * y
    return torch.cat([x, y], dim=concat_dim)


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """``module`` in eval mode without grad for the block; each submodule's mode is restored after."""
    modes = [(sub, sub.training) for sub in module.modules()]
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for sub, training in modes:
            sub.training = training


def example_tensors(example_inputs: Mapping[str, Any], seed: int = 0) -> Dict[str, torch.Tensor]:
    """Tensors of ``example_inputs``: a shape gives standard normal values (from a local generator,
    so the global RNG is untouched), ``{values: [...]}`` the values (e.g. lengths)."""
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for key, item in example_inputs.items():
        if isinstance(item, Mapping):
            tensors[key] = torch.tensor(item["values"])
        else:
            tensors[key] = torch.randn(*item, generator=generator)
    return tensors


def _shape(x: torch.Tensor) -> str:
    return str(tuple(x.shape))


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


class GraphComponent(nn.Module):
    """One model component: ``forward(inputs: Dict[str, Tensor]) -> List[Tensor]`` (its ``outputs``).

    ``inputs`` maps the component's batch keys (:attr:`input_names`) to tensors, plus optionally its
    lengths key (:attr:`lengths_key`) to ``(B,)`` lengths for the length-aware layers.

    Args:
        spec: the component, as :func:`espkit.nets.graph.spec.load_architecture` checked it.
        source: how messages name the file (its path, or the config option of an inline graph).
        dry_run: run the declared ``example_inputs`` through the built module.

    Raises:
        GraphSpecError: a layer's kwargs do not build it, or the dry run fails (naming the YAML path).
    """

    input_names: List[str]
    #: per layer: the value slots combined into its input, how, and along which axis (concat)
    sources: List[List[int]]
    connections: List[List[str]]
    concat_dims: List[List[int]]
    #: per layer: its YAML path, then the YAML path of each incoming value (for messages)
    step_paths: List[List[str]]
    output_slots: List[int]

    def __init__(self, spec: ComponentSpec, source: str, dry_run: bool = True):
        super().__init__()
        self.source = source
        self.component_path = spec.path
        self.input_names = list(spec.inputs)
        self.lengths_key = spec.lengths_key
        slots = {name: i for i, name in enumerate(spec.inputs)}
        layers: Dict[str, nn.Module] = {}
        self.sources = []
        self.connections = []
        self.concat_dims = []
        self.step_paths = []
        for submodel in spec.submodels:
            for k, layer in enumerate(submodel.layers):
                if k == 0:
                    incoming = list(submodel.inputs)
                else:
                    previous = submodel.layers[k - 1]
                    incoming = [Incoming(previous.name, False, "concat", 1, previous.path)]
                incoming += submodel.skips_into.get(layer.name, [])
                self.sources.append([slots[item.source] for item in incoming])
                self.connections.append([item.connection for item in incoming])
                self.concat_dims.append([item.concat_dim for item in incoming])
                self.step_paths.append([layer.path] + [item.path for item in incoming])
                layers[layer.name] = self._build_layer(layer.cls, layer.kwargs, layer.path)
                slots[layer.name] = len(slots)
        self.layers = nn.ModuleDict(layers)
        self.output_slots = [slots[name] for name in spec.outputs]
        if dry_run and spec.example_inputs:
            self.dry_run(example_tensors(spec.example_inputs), "example_inputs")

    def _build_layer(self, cls: type, kwargs: Dict[str, Any], path: str) -> nn.Module:
        try:
            return cls(**kwargs)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise GraphSpecError(f"{self.source}: {path}: {_one_line(exc)}") from None

    def error(self, path: str, message: str) -> GraphSpecError:
        return GraphSpecError(f"{self.source}: {path}: {message}")

    def _layer_input(self, step: int, values: List[torch.Tensor]) -> torch.Tensor:
        sources = self.sources[step]
        x = values[sources[0]]
        for j in range(1, len(sources)):
            x = combine(x, values[sources[j]], self.connections[step][j], self.concat_dims[step][j])
        return x

    def forward(self, inputs: Dict[str, torch.Tensor]) -> List[torch.Tensor]:
        """Outputs of the component for ``inputs`` (see the class docstring)."""
        values: List[torch.Tensor] = []
        for name in self.input_names:
            if name not in inputs:
                raise ValueError("graph component input missing: " + name)
            values.append(inputs[name])
        lengths: Optional[torch.Tensor] = None
        if self.lengths_key != "" and self.lengths_key in inputs:
            lengths = inputs[self.lengths_key]
        step = 0
        for layer in self.layers.values():
            x = self._layer_input(step, values)
            if hasattr(layer, "takes_lengths"):
                x = layer(x, lengths)
            else:
                x = layer(x)
            values.append(x)
            step += 1
        return [values[slot] for slot in self.output_slots]

    @torch.jit.unused
    def dry_run(self, inputs: Dict[str, torch.Tensor], description: str) -> List[torch.Tensor]:
        """:meth:`forward` step by step (eval mode, no grad); the first layer or connection that fails
        raises :class:`GraphSpecError` naming its YAML path, the shapes and ``description``.

        Connections ``add`` and ``mul`` must keep the layer input's shape (a skip may broadcast)."""
        missing = [name for name in self.input_names if name not in inputs]
        if missing:
            raise self.error(self.component_path, f"the dry run on {description} lacks the inputs {', '.join(missing)}")
        values = [inputs[name] for name in self.input_names]
        lengths = inputs.get(self.lengths_key) if self.lengths_key else None
        where = f"in the dry run on {description}"
        with eval_mode(self):
            for step, (name, layer) in enumerate(self.layers.items()):
                paths = self.step_paths[step]
                x = values[self.sources[step][0]]
                for j in range(1, len(self.sources[step])):
                    y = values[self.sources[step][j]]
                    connection = self.connections[step][j]
                    try:
                        combined = combine(x, y, connection, self.concat_dims[step][j])
                    except (RuntimeError, IndexError) as exc:
                        raise self.error(
                            paths[j + 1],
                            f"shape mismatch {where}: cannot {connection} {_shape(y)} into {_shape(x)} (the input of "
                            f"{name}): {_one_line(exc)}",
                        ) from None
                    if connection != "concat" and combined.shape != x.shape:
                        raise self.error(
                            paths[j + 1],
                            f"shape mismatch {where}: {connection} of {_shape(y)} into {_shape(x)} (the input of "
                            f"{name}) gives {_shape(combined)}",
                        )
                    x = combined
                try:
                    out = layer(x, lengths) if hasattr(layer, "takes_lengths") else layer(x)
                except Exception as exc:  # any failure of a layer on its input is reported at its YAML path
                    raise self.error(paths[0], f"shape mismatch {where}: input {_shape(x)}: {_one_line(exc)}") from None
                if not isinstance(out, torch.Tensor):
                    raise self.error(
                        paths[0], f"returned {type(out).__name__}, not a tensor: graph layers map a tensor to a tensor"
                    )
                values.append(out)
        return [values[slot] for slot in self.output_slots]


class LayerGraph(nn.Module):
    """Every component of an architecture: ``forward(inputs) -> {component: [outputs]}``.

    Args:
        architecture: a YAML file path, its mapping (inline) or a checked :class:`GraphSpec`.
        source: how messages name an inline mapping.
        dry_run: run each component's ``example_inputs`` through it.
    """

    def __init__(self, architecture: Any, source: Optional[str] = None, dry_run: bool = True):
        super().__init__()
        spec = architecture if isinstance(architecture, GraphSpec) else load_architecture(architecture, source)
        self.components = nn.ModuleDict(
            {name: GraphComponent(component, spec.source, dry_run) for name, component in spec.components.items()}
        )

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, List[torch.Tensor]]:
        outputs: Dict[str, List[torch.Tensor]] = {}
        for name, component in self.components.items():
            outputs[name] = component(inputs)
        return outputs


def build_component(spec: GraphSpec, component: Optional[str], role: str, dry_run: bool = True) -> GraphComponent:
    """The :class:`GraphComponent` named ``component`` of ``spec`` (the only one when None).

    Args:
        role: what the component will be, for messages (``postnet``, ``generator``...).
    """
    names = list(spec.components)
    if component is None:
        if len(names) != 1:
            raise spec.error(
                "model_components",
                f"{len(names)} components ({', '.join(names)}); say which is the {role} with component: <name>",
            )
        component = names[0]
    if component not in spec.components:
        raise spec.error(
            "model_components", f"no component {component!r} for the {role} (components: {', '.join(names)})"
        )
    return GraphComponent(spec.components[component], spec.source, dry_run)


def check_inputs(graph: GraphComponent, role: str, inputs: List[str], lengths_key: Optional[str]) -> None:
    """GraphSpecError unless ``graph`` reads exactly the batch keys ``inputs`` and, if it declares
    lengths, calls them ``lengths_key`` (None: the role has no lengths)."""
    if sorted(graph.input_names) != sorted(inputs):
        raise graph.error(
            graph.component_path,
            f"the {role} reads {', '.join(inputs)}, but the submodel_inputs name {', '.join(graph.input_names)}",
        )
    if graph.lengths_key and graph.lengths_key != lengths_key:
        offered = f"call them {lengths_key}" if lengths_key else "it has none"
        raise graph.error(
            f"{graph.component_path}.lengths", f"the {role} gets no lengths named {graph.lengths_key!r} ({offered})"
        )


def check_architecture(spec: GraphSpec) -> None:
    """Build every component of ``spec`` once (with its dry run) to report mistakes while the file's
    name is known; the built modules are dropped and the global RNG is left as it was."""
    with torch.random.fork_rng(devices=[]):
        for component in spec.components.values():
            GraphComponent(component, spec.source)
