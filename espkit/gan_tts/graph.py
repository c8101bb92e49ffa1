"""GAN vocoder parts described by graph YAMLs: ``--generator graph`` and ``--discriminator graph``
(docs/graphs.md), each with ``architecture: <file.yaml>`` (or the graph inline) in its ``_conf``.

- The generator's component reads ``feats`` ``(B, in_channels, T_feats)`` (the normalised log-mel) and
  returns the waveform ``(B, 1, T_feats * hop_length)``: the task checks by a dry run that it
  upsamples by the features' hop.
- Each component of the discriminator's file is one sub-discriminator: it reads ``wav``
  ``(B, 1, T_wav)`` and returns its ``outputs``, the feature maps that feature matching compares,
  then the final output (the last) that the adversarial losses score.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import torch
from torch import nn

from espkit.gan_tts.layers import remove_weight_norm
from espkit.nets.graph.adapter import dry_run_one_output, load_component, output_shapes, require_architecture
from espkit.nets.graph.component import GraphComponent, check_inputs, example_tensors
from espkit.nets.graph.conf import ArchitectureConf, read_architecture
from espkit.utils.typecheck import typechecked

GENERATOR_INPUT = "feats"
DISCRIMINATOR_INPUT = "wav"
_DRY_RUN_FRAMES = 8
#: samples of the discriminator's dry run when its file declares no example_inputs
DRY_RUN_SAMPLES = 8192


class GraphGenerator(nn.Module, ArchitectureConf):
    """A vocoder generator built from a graph: ``(B, in_channels, T_feats)`` -> ``(B, 1, T_feats * hop)``.

    Args:
        in_channels: feature size (set by the task from the features).
        upsample_factor: samples per frame (the features' ``hop_length``, set by the task).
        architecture: the graph: a YAML file path or its mapping.
        component: which of the file's components is the generator (None: the only one).

    Use weight-normalised layers (``WeightNormConv1d``...) as HiFi-GAN does; :meth:`remove_weight_norm`
    folds them for synthesis and export.
    """

    requires_f0: bool = False

    @typechecked
    def __init__(
        self,
        in_channels: int,
        upsample_factor: int,
        architecture: str | dict | None = None,
        component: Optional[str] = None,
    ):
        super().__init__()
        self.graph = load_component(
            require_architecture(architecture, "generator"),
            "architecture",
            component,
            "generator",
            [GENERATOR_INPUT],
            None,
        )
        self.input_key = GENERATOR_INPUT
        self.upsample_factor = upsample_factor
        c = torch.randn(1, in_channels, _DRY_RUN_FRAMES, generator=torch.Generator().manual_seed(0))
        expected = (1, 1, _DRY_RUN_FRAMES * upsample_factor)
        dry_run_one_output(
            self.graph,
            {GENERATOR_INPUT: c},
            GENERATOR_INPUT,
            "a generator input",
            "the generator must return one waveform (B, 1, T_feats * hop_length)",
            lambda shape: shape == expected,
            f", expected {expected} (the features' hop_length is {upsample_factor})",
        )

    def forward(self, c: torch.Tensor, f0: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Waveform ``(B, 1, T_feats * upsample_factor)`` of ``c`` ``(B, in_channels, T_feats)``; ``f0`` is
        not used (accepted for the generator contract)."""
        inputs: Dict[str, torch.Tensor] = {self.input_key: c}
        return self.graph(inputs)[0]

    @torch.jit.export
    def inference(self, c: torch.Tensor, f0: Optional[torch.Tensor] = None) -> torch.Tensor:
        """One utterance: ``c`` ``(T_feats, in_channels)`` -> ``(T_feats * upsample_factor, 1)``."""
        return self.forward(c.transpose(0, 1).unsqueeze(0), None).squeeze(0).transpose(0, 1)

    def remove_weight_norm(self) -> None:
        """Fold weight norm into plain weights (outputs unchanged up to rounding)."""
        remove_weight_norm(self)


class GraphDiscriminator(nn.Module, ArchitectureConf):
    """Sub-discriminators built from a graph: ``forward(x (B, 1, T_wav)) -> List[List[Tensor]]``, per
    component its ``outputs`` (feature maps, then the final output).

    Args:
        architecture: the graph: a YAML file path or its mapping (every component is a sub-discriminator).
    """

    @typechecked
    def __init__(self, architecture: str | dict | None = None):
        super().__init__()
        spec = read_architecture(require_architecture(architecture, "discriminator"), "architecture")
        components = {}
        for name, component_spec in spec.components.items():
            component = GraphComponent(component_spec, spec.source)
            check_inputs(component, "discriminator", [DISCRIMINATOR_INPUT], None)
            if component_spec.example_inputs:
                example = example_tensors(component_spec.example_inputs)
            else:
                example = {
                    DISCRIMINATOR_INPUT: torch.randn(1, 1, DRY_RUN_SAMPLES, generator=torch.Generator().manual_seed(0))
                }
            batch = example[DISCRIMINATOR_INPUT].size(0)
            outputs = component.dry_run(example, f"a discriminator input {tuple(example[DISCRIMINATOR_INPUT].shape)}")
            if any(out.dim() < 2 or out.size(0) != batch for out in outputs):
                raise component.error(
                    f"{component_spec.path}.outputs",
                    f"every output of a sub-discriminator must keep the batch axis ({batch}, ...), "
                    f"got {output_shapes(outputs)}",
                )
            components[name] = component
        self.components = nn.ModuleDict(components)
        self.input_key = DISCRIMINATOR_INPUT

    def forward(self, x: torch.Tensor) -> List[List[torch.Tensor]]:
        inputs: Dict[str, torch.Tensor] = {self.input_key: x}
        outputs: List[List[torch.Tensor]] = []
        for component in self.components.values():
            outputs.append(component(inputs))
        return outputs


__all__ = ["GraphDiscriminator", "GraphGenerator"]
