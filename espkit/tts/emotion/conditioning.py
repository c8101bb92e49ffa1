"""One emotion vector per utterance, shared by the emotion-conditioned TTS models.

The vector ``emo`` ``(B, emo_embed_dim)`` comes from

* ``emo_labs`` ``(B,)`` long: a row of the label embedding table ``emo_embed``;
* ``emo_labs`` ``(B, num_emotions)`` float: the weighted sum of the table's rows (e.g.
  0.7 happy + 0.3 neutral at inference);
* ``emo_feats`` ``(B, emo_feat_dim)``: a linear projection ``emo_feat_proj`` of given
  features (from an emotion extractor); used whenever given.

The models own the two modules as their attributes ``emo_embed`` / ``emo_feat_proj`` (so
their state-dict keys are those names); this module builds them and turns inputs into
vectors. How the vector conditions a model (``emo_integration``) is the model's business.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from espkit.utils.errors import ConfigError

logger = logging.getLogger(__name__)

EMO_INTEGRATION_TYPES = ("add", "concat", "none")


def check_emotion_options(
    num_emotions: int,
    emo_embed_dim: int,
    emo_feat_dim: int | None,
    emo_integration: str,
    required: bool,
) -> None:
    """Raise ValueError on inconsistent emotion options.

    Args:
        required: the model must be conditioned on an emotion (labels or features);
            otherwise ``num_emotions=0`` and ``emo_feat_dim=None`` mean no emotion.
    """
    if emo_integration not in EMO_INTEGRATION_TYPES:
        raise ValueError(f"emo_integration must be one of {EMO_INTEGRATION_TYPES}, got {emo_integration!r}")
    if num_emotions < 0:
        raise ValueError(f"num_emotions must be >= 0, got {num_emotions}")
    if required and num_emotions == 0 and emo_feat_dim is None:
        raise ValueError(
            f"need num_emotions > 0 (labels) or emo_feat_dim (features), got "
            f"num_emotions={num_emotions}, emo_feat_dim={emo_feat_dim}"
        )
    if emo_embed_dim < 1:
        raise ValueError(f"emo_embed_dim must be >= 1, got {emo_embed_dim}")
    if emo_feat_dim is not None and emo_feat_dim < 1:
        raise ValueError(f"emo_feat_dim must be >= 1 or None, got {emo_feat_dim}")


def build_emotion_tables(
    num_emotions: int, emo_embed_dim: int, emo_feat_dim: int | None
) -> tuple[nn.Embedding | None, nn.Linear | None]:
    """The label table ``(num_emotions, emo_embed_dim)`` (None if 0 labels) and the feature
    projection ``emo_feat_dim -> emo_embed_dim`` (None without ``emo_feat_dim``)."""
    emo_embed = nn.Embedding(num_emotions, emo_embed_dim) if num_emotions > 0 else None
    emo_feat_proj = nn.Linear(emo_feat_dim, emo_embed_dim) if emo_feat_dim is not None else None
    return emo_embed, emo_feat_proj


def build_emotion_projection(emo_integration: str, emo_embed_dim: int, dim: int) -> nn.Linear | None:
    """The projection that conditions ``dim``-sized states on the emotion vector, for models
    that keep their state size (FastSpeech, Transformer): ``add``: ``emo_embed_dim -> dim``
    (added to every state); ``concat``: ``dim + emo_embed_dim -> dim`` (appended, then
    projected back); ``none``: None (a warning: the emotion conditions nothing)."""
    if emo_integration == "add":
        return nn.Linear(emo_embed_dim, dim)
    if emo_integration == "concat":
        return nn.Linear(dim + emo_embed_dim, dim)
    logger.warning("emo_integration=none: the emotion inputs condition nothing")
    return None


def project_emotion(hs: torch.Tensor, emo: torch.Tensor, proj: nn.Linear | None, emo_integration: str) -> torch.Tensor:
    """States ``(B, T, dim)`` conditioned on ``emo`` ``(B, emo_embed_dim)`` through ``proj``
    (:func:`build_emotion_projection`); same shape."""
    if emo.size(0) != hs.size(0):
        raise ValueError(f"emotion batch size {emo.size(0)} != text batch size {hs.size(0)}")
    emo = emo.to(hs.dtype).unsqueeze(1)
    if proj is None:
        return hs
    if emo_integration == "add":
        return hs + proj(emo)
    return proj(torch.cat([hs, emo.expand(-1, hs.size(1), -1)], dim=-1))


def emotion_vector(
    emo_embed: nn.Embedding | None,
    emo_feat_proj: nn.Linear | None,
    emo_labs: torch.Tensor | None = None,
    emo_feats: torch.Tensor | None = None,
    model_name: str = "this model",
) -> torch.Tensor:
    """Emotion vectors ``(B, emo_embed_dim)`` from batched inputs (see the module doc).

    Args:
        emo_embed: the model's label table (None: no labels).
        emo_feat_proj: the model's feature projection (None: no features).
        emo_labs: ``(B,)`` / ``(B, 1)`` long ids or ``(B, num_emotions)`` float weights.
        emo_feats: ``(B, emo_feat_dim)``; takes precedence over ``emo_labs``.
        model_name: named in the error when neither input is given.
    """
    num_emotions = 0 if emo_embed is None else emo_embed.num_embeddings
    emo_feat_dim = None if emo_feat_proj is None else emo_feat_proj.in_features
    if emo_feats is not None:
        if emo_feat_proj is None:
            raise ValueError(
                "emo_feats given but this model has emo_feat_dim=None: set emo_feat_dim in tts_conf or pass emo_labs"
            )
        if emo_feats.dim() != 2 or emo_feats.size(1) != emo_feat_dim:
            raise ValueError(f"emo_feats must be (B, {emo_feat_dim}), got {tuple(emo_feats.shape)}")
        return emo_feat_proj(emo_feats.to(emo_feat_proj.weight.dtype))
    if emo_labs is None:
        raise ValueError(
            f"{model_name} needs an emotion: pass emo_labs ((B,) ids or "
            f"(B, {num_emotions}) weights) or emo_feats (B, {emo_feat_dim})"
        )
    if emo_embed is None:
        raise ValueError("emo_labs given but this model has num_emotions=0: pass emo_feats")
    if emo_labs.is_floating_point():
        if emo_labs.dim() != 2 or emo_labs.size(1) != num_emotions:
            raise ValueError(f"float emo_labs are label weights (B, {num_emotions}), got {tuple(emo_labs.shape)}")
        return emo_labs.to(emo_embed.weight.dtype) @ emo_embed.weight
    if emo_labs.dim() == 2 and emo_labs.size(1) == 1:
        emo_labs = emo_labs.squeeze(1)
    if emo_labs.dim() != 1:
        raise ValueError(f"integer emo_labs must be (B,) ids, got {tuple(emo_labs.shape)}")
    if emo_labs.numel() > 0 and (emo_labs.min() < 0 or emo_labs.max() >= num_emotions):
        raise ValueError(f"emo_labs must be in [0, {num_emotions}), got {emo_labs.tolist()}")
    return emo_embed(emo_labs)


def batch_of_one(
    emo_labs: int | torch.Tensor | None,
    emo_feats: torch.Tensor | None,
    device: torch.device,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """One utterance's emotion inputs as a batch of one for :func:`emotion_vector`.

    Args:
        emo_labs: an id (int or 0-d / 1-element long tensor) or weights ``(num_emotions,)`` (float).
        emo_feats: ``(emo_feat_dim,)``.

    Returns:
        ``emo_labs`` as ``(1,)`` long or ``(1, num_emotions)`` float, ``emo_feats`` as ``(1, emo_feat_dim)``.
    """
    if isinstance(emo_labs, int):
        emo_labs = torch.tensor([emo_labs], dtype=torch.long, device=device)
    elif emo_labs is not None:
        emo_labs = emo_labs.to(device).reshape(1, -1)
        if not emo_labs.is_floating_point():
            emo_labs = emo_labs.reshape(-1)
    if emo_feats is not None:
        emo_feats = emo_feats.to(device).reshape(1, -1)
    return emo_labs, emo_feats


#: How the emotion input of an exported model is read (:class:`ExportedEmotion`).
EXPORT_EMOTION_INPUTS = ("none", "weights", "feats")


class ExportedEmotion(nn.Module):
    """TorchScript-able emotion conditioning of the states of a model built with
    :func:`build_emotion_projection` (FastSpeech, Transformer): ``forward(hs (1, T, dim), emotion (D,))``.

    Args:
        tts: the model (its ``emo_embed``, ``emo_feat_proj``, ``emo_memory_proj``, ``emo_integration``).
        emotion_input: ``weights`` (``(num_emotions,)`` label weights; a one-hot row is one label),
            ``feats`` (``(emo_feat_dim,)`` emotion features) or ``none`` (no emotion).

    Raises:
        ConfigError: ``emotion_input`` does not fit the model.
    """

    def __init__(self, tts: nn.Module, emotion_input: str):
        super().__init__()
        if emotion_input not in EXPORT_EMOTION_INPUTS:
            raise ConfigError(f"emotion_input must be one of {EXPORT_EMOTION_INPUTS}, got {emotion_input!r}")
        self.emotion_input: str = emotion_input
        self.emo_table = nn.Parameter(torch.zeros(1, 1), requires_grad=False)
        self.emo_feat_proj: nn.Module = nn.Identity()
        self.emo_memory_proj: nn.Module = nn.Identity()
        self.emo_integration: str = "none"
        if emotion_input == "none":
            if tts.has_emotion:
                raise ConfigError(f"emotion_input='none' but the {type(tts).__name__} is conditioned on an emotion")
            return
        if emotion_input == "weights":
            if tts.emo_embed is None:
                raise ConfigError("emotion_input=weights but the model has no label table (num_emotions=0)")
            self.emo_table = nn.Parameter(tts.emo_embed.weight.detach(), requires_grad=False)
        elif tts.emo_feat_proj is None:
            raise ConfigError("emotion_input=feats but the model has no emo_feat_dim")
        else:
            self.emo_feat_proj = tts.emo_feat_proj
        if tts.emo_memory_proj is not None:
            self.emo_memory_proj = tts.emo_memory_proj
        self.emo_integration = tts.emo_integration

    def forward(self, hs: torch.Tensor, emotion: torch.Tensor) -> torch.Tensor:
        """States ``(1, T, dim)`` with the emotion ``(D,)`` added or concatenated (as :func:`project_emotion`)."""
        if self.emotion_input == "none":
            return hs
        if self.emotion_input == "weights":
            emo = emotion.unsqueeze(0).to(self.emo_table.dtype) @ self.emo_table
        else:
            emo = self.emo_feat_proj(emotion.unsqueeze(0))
        emo = emo.to(hs.dtype).unsqueeze(1)
        if self.emo_integration == "add":
            return hs + self.emo_memory_proj(emo)
        if self.emo_integration == "concat":
            return self.emo_memory_proj(torch.cat([hs, emo.expand(-1, hs.size(1), -1)], dim=-1))
        return hs
