"""The steps shared by the model parts built from a graph YAML (the Tacotron2 postnet, the GAN
vocoder's generator and discriminator, the emotion reference encoder and classifier): the
architecture option is required, the component is built and must read the part's batch keys, and
a dry run must give the part's one output.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from espkit.nets.graph.component import GraphComponent, build_component, check_inputs
from espkit.nets.graph.conf import read_architecture
from espkit.utils.errors import ConfigError


def require_architecture(architecture: Any, option: str, choice: str = "graph") -> Any:
    """``architecture`` unless None: then the one-line :class:`ConfigError` of ``--<option> <choice>``
    without ``--<option>_conf architecture``."""
    if architecture is None:
        raise ConfigError(f"--{option}_conf architecture is required with --{option} {choice} (a graph YAML file)")
    return architecture


def load_component(
    architecture: Any,
    source: str,
    component: Optional[str],
    role: str,
    inputs: List[str],
    lengths_key: Optional[str],
) -> GraphComponent:
    """The component ``component`` (None: the only one) of ``architecture`` (a YAML file path or the
    graph as a mapping; ``source`` names it in messages), built and dry-run as the graph declares,
    reading exactly the batch keys ``inputs`` and, if it declares lengths, calling them ``lengths_key``
    (None: the ``role`` has no lengths).

    Raises:
        GraphSpecError: the graph is wrong or reads other inputs (the message names the YAML path).
    """
    graph = build_component(read_architecture(architecture, source), component, role)
    check_inputs(graph, role, inputs, lengths_key)
    return graph


def output_shapes(outputs: Sequence[torch.Tensor]) -> str:
    """``"(2, 3), (2, 1)"``: the shapes of ``outputs``, for messages."""
    return ", ".join(str(tuple(out.shape)) for out in outputs)


def dry_run_one_output(
    graph: GraphComponent,
    inputs: Dict[str, torch.Tensor],
    input_key: str,
    what: str,
    requirement: str,
    accept: Callable[[Tuple[int, ...]], bool],
    note: str = "",
) -> torch.Tensor:
    """The one output of ``graph`` on ``inputs`` (a dry run: eval mode, no grad), whose shape ``accept``
    must return True for.

    Args:
        input_key: the input whose shape messages show (``"<what> <its shape>"``).
        requirement: what the part must return, e.g. ``"the postnet must return one residual ..."``.
        note: appended to the message of a wrong output.

    Raises:
        GraphSpecError: a layer fails (see :meth:`GraphComponent.dry_run`), or the outputs are not one
            tensor of an accepted shape: ``"<requirement>: <input shape> gave <output shapes><note>"``.
    """
    shape = tuple(inputs[input_key].shape)
    outputs = graph.dry_run(inputs, f"{what} {shape}")
    if len(outputs) != 1 or not accept(tuple(outputs[0].shape)):
        raise graph.error(graph.component_path, f"{requirement}: {shape} gave {output_shapes(outputs)}{note}")
    return outputs[0]
