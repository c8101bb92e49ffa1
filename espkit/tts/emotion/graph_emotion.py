"""Emotion parts described by graph YAMLs (docs/graphs.md): ``--emo_extract graph`` (a reference
encoder) and ``--emo_classifier graph``, each with ``architecture: <file.yaml>`` (or the graph
inline) in its ``_conf``.

- The reference encoder's component reads ``feats`` ``(B, T_feats, idim)`` (normalised mel, frames
  first) and, if it declares ``lengths: feats_lengths``, the frame counts ``(B,)``; it returns one
  embedding per utterance ``(B, D)``. Padding must not change an item's embedding: use the
  length-aware layers (``MaskedConv1d``, ``MaskedGRU``, ``LastFrame``, ``MaskedMean``...).
- The classifier's component reads ``emo_embed`` ``(B, idim)`` and returns logits
  ``(B, num_emotions)``; the loss and accuracy are :class:`EmotionClassifier`'s.
"""

from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import nn

from espkit.nets.graph.adapter import dry_run_one_output, load_component, require_architecture
from espkit.nets.graph.component import GraphComponent
from espkit.nets.graph.conf import ArchitectureConf
from espkit.tts.emotion.abs_emo_extract import AbsEmoExtract
from espkit.tts.emotion.emo_classifier import EmotionClassifier
from espkit.utils.typecheck import typechecked

EXTRACT_INPUT = "feats"
EXTRACT_LENGTHS = "feats_lengths"
CLASSIFIER_INPUT = "emo_embed"
_DRY_RUN_FRAMES = (16, 11)


class GraphReferenceEncoder(AbsEmoExtract, ArchitectureConf):
    """A reference encoder built from a graph: mel ``(B, T_feats, idim)`` -> embeddings ``(B, D)``.

    Args:
        idim: mel dimension (set by the task from the features).
        architecture: the graph: a YAML file path or its mapping.
        component: which of the file's components is the encoder (None: the only one).
    """

    @typechecked
    def __init__(self, idim: int = 80, architecture: str | dict | None = None, component: Optional[str] = None):
        super().__init__()
        self.graph = load_component(
            require_architecture(architecture, "emo_extract"),
            "architecture",
            component,
            "reference encoder",
            [EXTRACT_INPUT],
            EXTRACT_LENGTHS,
        )
        self.input_key = EXTRACT_INPUT
        self.lengths_key = self.graph.lengths_key
        feats = torch.randn(
            len(_DRY_RUN_FRAMES), max(_DRY_RUN_FRAMES), idim, generator=torch.Generator().manual_seed(0)
        )
        example = {EXTRACT_INPUT: feats, EXTRACT_LENGTHS: torch.tensor(_DRY_RUN_FRAMES)}
        output = dry_run_one_output(
            self.graph,
            example,
            EXTRACT_INPUT,
            "a reference encoder input",
            "the reference encoder must return one embedding per utterance (B, D)",
            lambda shape: len(shape) == 2 and shape[0] == feats.size(0),
        )
        self._output_size = int(output.size(1))

    def output_size(self) -> int:
        return self._output_size

    def forward(
        self,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        pitch: Optional[torch.Tensor] = None,
        energy: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Embedding ``(B, output_size())`` of mel ``feats`` ``(B, T_feats, idim)``; ``pitch`` and
        ``energy`` are not used."""
        inputs: Dict[str, torch.Tensor] = {self.input_key: feats}
        if self.lengths_key != "":
            inputs[self.lengths_key] = feats_lengths
        return self.graph(inputs)[0]


class _EmbeddingGraph(nn.Module):
    """``forward(emo_embed (B, idim)) -> logits (B, num_emotions)`` of a graph component."""

    def __init__(self, graph: GraphComponent):
        super().__init__()
        self.graph = graph
        self.input_key = CLASSIFIER_INPUT

    def forward(self, emo_embed: torch.Tensor) -> torch.Tensor:
        inputs: Dict[str, torch.Tensor] = {self.input_key: emo_embed}
        return self.graph(inputs)[0]


class GraphEmotionClassifier(EmotionClassifier, ArchitectureConf):
    """An emotion classifier whose logits ``(B, num_emotions)`` come from a graph of the embedding
    ``(B, idim)``; loss, accuracy and :meth:`predict` are :class:`EmotionClassifier`'s.

    Args:
        idim, num_emotions: set by the task (the extractor's output size, the emotion list's size).
        architecture: the graph: a YAML file path or its mapping.
        component: which of the file's components is the classifier (None: the only one).
        loss_weight, label_smoothing: as for :class:`EmotionClassifier`.
    """

    @typechecked
    def __init__(
        self,
        idim: int,
        num_emotions: int,
        architecture: str | dict | None = None,
        component: Optional[str] = None,
        loss_weight: float = 1.0,
        label_smoothing: float = 0.0,
    ):
        require_architecture(architecture, "emo_classifier")
        super().__init__(idim, num_emotions, hidden_units=0, loss_weight=loss_weight, label_smoothing=label_smoothing)
        graph = load_component(architecture, "architecture", component, "emotion classifier", [CLASSIFIER_INPUT], None)
        embed = torch.randn(2, idim, generator=torch.Generator().manual_seed(0))
        dry_run_one_output(
            graph,
            {CLASSIFIER_INPUT: embed},
            CLASSIFIER_INPUT,
            "an emotion embedding",
            f"the classifier must return logits (B, num_emotions={num_emotions})",
            lambda shape: shape == (2, num_emotions),
        )
        self.net = _EmbeddingGraph(graph)  # replaces the linear layer EmotionClassifier made
