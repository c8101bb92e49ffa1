"""Speaker conditioning of the acoustic models: speaker ids, language ids and speaker embeddings.

One implementation, used by Tacotron2, the emotion-controllable Tacotron2, FastSpeech and
FastSpeech2 (ESPnet2's option names and places):

* ``spks`` > 0: a table ``sid_emb`` ``(spks, D)``; the row of each utterance's speaker id
  (``sids`` ``(B, 1)`` or ``(B,)``, long) is added to every encoder state ``(B, T_text, D)``;
* ``langs`` > 0: the same for language ids ``lids`` (table ``lid_emb``);
* ``spk_embed_dim``: given speaker vectors ``spembs`` ``(B, spk_embed_dim)`` (x-vectors and the
  like, read from a ``*.npy`` scp), L2-normalised, then with ``spk_embed_integration_type``
  ``add`` projected to ``D`` (``spk_projection``) and added to every state, or with ``concat``
  appended to every state: Tacotron2 keeps the wider states (its attention reads
  ``D + spk_embed_dim``), the FastSpeech family projects the concatenation back to ``D``
  (``spk_projection`` ``(D + spk_embed_dim) -> D``).

In that order, right after the text encoder and before the model's emotion conditioning. The
models own the modules as their attributes ``sid_emb``, ``lid_emb`` and ``spk_projection`` (the
state-dict keys), built by :meth:`SpeakerConditioning.build_speaker_conditioning`.
"""

from __future__ import annotations

import numbers

import torch
from torch import nn
from torch.nn import functional as F

from espkit.utils.errors import ConfigError

SPK_EMBED_INTEGRATION_TYPES = ("add", "concat")


def _table_size(value: int | None) -> int:
    """``spks`` / ``langs`` as a table size: None or <= 0 (ESPnet2's "none") -> 0."""
    if value is None or value <= 0:
        return 0
    return int(value)


def _ids(ids: torch.Tensor | None, table: nn.Embedding, batch: int, name: str, option: str, model: str) -> torch.Tensor:
    """``ids`` ``(B, 1)`` / ``(B,)`` as ``(B,)`` long on the table's device; ValueError when absent,
    of the wrong size or type, or out of ``[0, table size)``."""
    size = table.num_embeddings
    if ids is None:
        data = "utt2sid,sids,text_int" if name == "sids" else "utt2lid,lids,text_int"
        raise ValueError(f"this {model} has {option}={size}: pass {name} ({batch}, 1) (data: {data})")
    if ids.is_floating_point() or ids.dtype == torch.bool:
        raise ValueError(f"{name} must be integer ids, got {ids.dtype}")
    ids = ids.reshape(-1)
    if ids.numel() != batch:
        raise ValueError(f"{name} has {ids.numel()} ids for a batch of {batch}: give ({batch}, 1)")
    if ids.numel() > 0 and (int(ids.min()) < 0 or int(ids.max()) >= size):
        bad = int(ids.min()) if int(ids.min()) < 0 else int(ids.max())
        raise ValueError(f"{name} must be in [0, {size}) ({option}={size}), got {bad}")
    return ids.to(table.weight.device)


def speaker_batch_of_one(
    sids: int | torch.Tensor | None,
    lids: int | torch.Tensor | None,
    spembs: torch.Tensor | None,
    device: torch.device,
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """One utterance's speaker inputs as a batch of one: ids (an int, or a tensor of one id)
    as ``(1, 1)`` long, ``spembs`` ``(spk_embed_dim,)`` as ``(1, spk_embed_dim)``."""

    def one_id(value):
        if value is None:
            return None
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return torch.tensor([[int(value)]], dtype=torch.long, device=device)
        return torch.as_tensor(value, device=device).reshape(1, -1)

    return one_id(sids), one_id(lids), None if spembs is None else spembs.to(device).reshape(1, -1)


def refuse_speaker_conditioning(tts: nn.Module) -> None:
    """ConfigError for the TorchScript export of a model conditioned on speakers or languages
    (the exported modules take text and an emotion only; Text2Speech synthesises such models)."""
    given = [
        f"{option}={value}"
        for option, value in (
            ("spks", tts.num_speakers()),
            ("langs", tts.num_languages()),
            ("spk_embed_dim", tts.spembs_dim() or 0),
        )
        if value
    ]
    if given:
        raise ConfigError(
            f"export does not support multi-speaker models (this {type(tts).__name__} has {', '.join(given)}): "
            "its scripted module takes no sids/lids/spembs; synthesise with Text2Speech / tts_inference"
        )


class SpeakerConditioning:
    """Mixin of the acoustic models: builds and applies the speaker conditioning (module doc).

    A model calls :meth:`build_speaker_conditioning` in its constructor (after ``nn.Module``'s)
    and :meth:`condition_on_speaker` on its encoder states; :meth:`num_speakers`,
    :meth:`num_languages` and :meth:`spembs_dim` implement :class:`~espkit.tts.abs_tts.AbsTTS`'s.
    """

    sid_emb: nn.Embedding | None
    lid_emb: nn.Embedding | None
    spk_projection: nn.Linear | None
    spk_embed_dim: int | None
    spk_embed_integration_type: str

    def build_speaker_conditioning(
        self,
        hidden_dim: int,
        spks: int | None,
        langs: int | None,
        spk_embed_dim: int | None,
        spk_embed_integration_type: str,
        project_concat: bool,
    ) -> int:
        """Build ``sid_emb``, ``lid_emb`` and ``spk_projection`` (each None when unused).

        Args:
            hidden_dim: size ``D`` of the encoder states.
            spks, langs: table sizes (None or <= 0: none).
            spk_embed_dim: size of ``spembs`` (None: none).
            spk_embed_integration_type: ``add`` or ``concat``.
            project_concat: ``concat`` projects back to ``D`` (the FastSpeech family) instead of
                widening the states (Tacotron2).

        Returns:
            the size of the conditioned states.
        """
        if spk_embed_integration_type not in SPK_EMBED_INTEGRATION_TYPES:
            raise ValueError(
                f"spk_embed_integration_type must be one of {SPK_EMBED_INTEGRATION_TYPES}, "
                f"got {spk_embed_integration_type!r}"
            )
        if spk_embed_dim is not None and spk_embed_dim < 1:
            raise ValueError(f"spk_embed_dim must be >= 1 or None, got {spk_embed_dim}")
        num_spks, num_langs = _table_size(spks), _table_size(langs)
        self.spk_embed_dim = spk_embed_dim
        self.spk_embed_integration_type = spk_embed_integration_type
        self.sid_emb = nn.Embedding(num_spks, hidden_dim) if num_spks else None
        self.lid_emb = nn.Embedding(num_langs, hidden_dim) if num_langs else None
        self.spk_projection = None
        if spk_embed_dim is None:
            return hidden_dim
        if spk_embed_integration_type == "add":
            self.spk_projection = nn.Linear(spk_embed_dim, hidden_dim)
            return hidden_dim
        if project_concat:
            self.spk_projection = nn.Linear(hidden_dim + spk_embed_dim, hidden_dim)
            return hidden_dim
        return hidden_dim + spk_embed_dim

    def num_speakers(self) -> int:
        """Rows of the speaker-id table (``spks``; 0: the model takes no ``sids``)."""
        return 0 if self.sid_emb is None else self.sid_emb.num_embeddings

    def num_languages(self) -> int:
        """Rows of the language-id table (``langs``; 0: the model takes no ``lids``)."""
        return 0 if self.lid_emb is None else self.lid_emb.num_embeddings

    def spembs_dim(self) -> int | None:
        """Size of the speaker embeddings ``spembs`` the model takes (None: none)."""
        return self.spk_embed_dim

    def condition_on_speaker(
        self,
        hs: torch.Tensor,
        sids: torch.Tensor | None = None,
        lids: torch.Tensor | None = None,
        spembs: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Encoder states ``(B, T_text, D)`` conditioned on the speaker inputs: ``(B, T_text, D)``,
        or ``(B, T_text, D + spk_embed_dim)`` for Tacotron2's ``concat``.

        Args:
            hs: encoder states.
            sids, lids: ``(B, 1)`` or ``(B,)`` long ids, required when the model has the table.
            spembs: ``(B, spk_embed_dim)``, required when the model has ``spk_embed_dim``.

        Raises:
            ValueError: an input the model needs is missing, or one it has no place for is
                given, or ids are out of range / shapes do not fit (the message says which).
        """
        model = type(self).__name__
        batch = hs.size(0)
        for name, table, option, value in (
            ("sids", self.sid_emb, "spks", sids),
            ("lids", self.lid_emb, "langs", lids),
        ):
            if table is not None:
                hs = hs + table(_ids(value, table, batch, name, option, model)).to(hs.dtype).unsqueeze(1)
            elif value is not None:
                what = "speaker" if name == "sids" else "language"
                raise ValueError(
                    f"{name} given but this {model} has no {what}-id table ({option}): train it with "
                    + ("--spk_list (or tts_conf spks)" if name == "sids" else "tts_conf langs")
                )
        if self.spk_embed_dim is None:
            if spembs is not None:
                raise ValueError(f"spembs given but this {model} has spk_embed_dim=None: set spk_embed_dim in tts_conf")
            return hs
        dim = self.spk_embed_dim
        if spembs is None:
            raise ValueError(f"this {model} has spk_embed_dim={dim}: pass spembs ({batch}, {dim}) (data: spembs,npy)")
        if spembs.dim() != 2 or spembs.size(0) != batch or spembs.size(1) != dim:
            raise ValueError(f"spembs must be ({batch}, {dim}), got {tuple(spembs.shape)}")
        spembs = F.normalize(spembs.to(hs.device, hs.dtype), dim=-1)
        if self.spk_embed_integration_type == "add":
            return hs + self.spk_projection(spembs).unsqueeze(1)
        hs = torch.cat([hs, spembs.unsqueeze(1).expand(-1, hs.size(1), -1)], dim=-1)
        return hs if self.spk_projection is None else self.spk_projection(hs)
