"""A trained GAN vocoder (``espkit.bin.gan_tts_train``) as the vocoder of synthesis and copy-synthesis.

>>> vocoder = load_gan_vocoder("exp/vocoder/train.total_count.best.pth")  # doctest: +SKIP
>>> vocoder(feats).shape  # feats (T_feats, n_mels): log-mel as the feature extractor outputs it  # doctest: +SKIP
torch.Size([T_feats * hop_length])

Which file is which: a training ``config.yaml`` with a ``generator`` key is a vocoder's, one with a
``tts`` key an acoustic model's (:mod:`espkit.utils.model_kind`); weights are told apart the same way
by their top-level modules (``generator.*`` or ``tts.*``, :func:`weights_kind`). Both are checked
where a model is loaded (:func:`espkit.tts.inference_model.build_model_for_inference`), so that a
vocoder given as the TTS model, or the reverse, is one line naming the file and where it belongs.

A vocoder only fits an acoustic model whose features it was trained on: :func:`check_feats_match`
compares the feature settings (:data:`FEATS_KEYS`) of both and names every one that differs.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import torch

from espkit.gan_tts.espnet_model import FEATS_PARAM_KEYS
from espkit.tts.vocoder.abs_vocoder import AbsVocoder
from espkit.utils.config_argparse import load_yaml_config
from espkit.utils.errors import ConfigError
from espkit.utils.model_kind import KIND_KEYS, config_kind

logger = logging.getLogger(__name__)

#: The feature settings an acoustic model and its vocoder must share.
FEATS_KEYS = FEATS_PARAM_KEYS
#: The module prefix of the weights of each kind (the top-level key of its training config).
WEIGHT_PREFIXES = KIND_KEYS
#: How the kinds are named in messages.
KIND_NAMES = {"tts": "a TTS (acoustic) model", "vocoder": "a vocoder"}


def weights_kind(state: Mapping[str, Any]) -> Optional[str]:
    """``"tts"`` or ``"vocoder"`` for a model state whose keys start with ``tts.`` or ``generator.``;
    None when neither (or both) do."""
    kinds = {kind for kind, key in WEIGHT_PREFIXES.items() if any(name.startswith(f"{key}.") for name in state)}
    return kinds.pop() if len(kinds) == 1 else None


def swapped_weights_message(path: str | Path, found: str, expected: str, how: Optional[str] = None) -> str:
    """The one-line message for weights ``path`` of kind ``found`` given where ``expected`` ones belong;
    ``how`` says how that was told (default: their top-level modules)."""
    if how is None:
        how = f"its modules are {WEIGHT_PREFIXES[found]}.*"
    if found == "vocoder":
        where = "give it as vocoder_file / --vocoder_file, and the acoustic model's weights as model_file"
    else:
        where = "give it as model_file / --model_file, and the vocoder's weights as vocoder_file"
    return f"{path} holds {KIND_NAMES[found]}'s weights ({how}), not {KIND_NAMES[expected]}'s: {where}"


def check_weights_kind(state: Mapping[str, Any], path: str | Path, expected: str) -> None:
    """ConfigError when the model state ``state`` (read from ``path``) is of the other kind."""
    found = weights_kind(state)
    if found is not None and found != expected:
        raise ConfigError(swapped_weights_message(path, found, expected))


def _canonical(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The :data:`FEATS_KEYS` of ``params`` with the defaults spelt out (``win_length`` None = ``n_fft``,
    ``fmin`` None = 0, ``fmax`` None = ``fs / 2``) and numbers as floats, so that equal settings compare equal."""
    out = {key: params.get(key) for key in FEATS_KEYS}
    if out["win_length"] is None:
        out["win_length"] = out["n_fft"]
    if out["fmin"] is None and out["n_mels"] is not None:
        out["fmin"] = 0.0
    if out["fmax"] is None and out["n_mels"] is not None and out["fs"] is not None:
        out["fmax"] = out["fs"] / 2
    return {k: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for k, v in out.items()}


def feats_differences(tts_params: Mapping[str, Any], vocoder_params: Mapping[str, Any]) -> Dict[str, tuple]:
    """``{setting: (TTS value, vocoder value)}`` of the :data:`FEATS_KEYS` that differ."""
    ours, theirs = _canonical(tts_params), _canonical(vocoder_params)
    differ = {}
    for key in FEATS_KEYS:
        a, b = ours[key], theirs[key]
        same = math.isclose(a, b, rel_tol=1e-9) if isinstance(a, float) and isinstance(b, float) else a == b
        if not same:
            differ[key] = (tts_params.get(key), vocoder_params.get(key))
    return differ


def _show(value: Any) -> str:
    """A setting's value for a message: numbers without a needless ``.0``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)


def check_feats_match(
    tts_params: Mapping[str, Any], vocoder_params: Mapping[str, Any], tts_files: str, vocoder_files: str
) -> None:
    """ConfigError (one line, naming both sides' files and each differing setting) unless a vocoder
    trained on features ``vocoder_params`` can vocode the features ``tts_params`` of an acoustic model.

    Both are ``get_parameters()`` dicts of a feature extractor (``feats_params()`` of the vocoder model).
    """
    differ = feats_differences(tts_params, vocoder_params)
    if differ:
        listed = ", ".join(f"{key} {_show(a)} vs {_show(b)}" for key, (a, b) in differ.items())
        raise ConfigError(
            f"the vocoder {vocoder_files} was trained on other features than the TTS model {tts_files}: "
            f"{listed} (TTS vs vocoder); use a vocoder trained with the TTS model's feats_extract_conf"
        )


class GANVocoder(AbsVocoder):
    """The generator path of a trained vocoder model (``ESPnetGANVocoderModel``) as an :class:`AbsVocoder`.

    ``forward(feats (T_feats, n_mels))`` takes the log-mel the acoustic model outputs (de-normalised,
    as the feature extractor computes it; the vocoder model applies its own normalisation) and
    returns ``wav (T_feats * hop_length,)``. A generator that needs F0 (``nsf``) takes it from its own
    F0 predictor, which reads the same features, unless ``f0`` is given (a duration model's predicted
    pitch: :func:`espkit.tts.vocoder.token_f0.frame_f0_from_token_pitch`).

    The model is prepared for inference here: the generator's weight norm is folded into plain
    weights (``remove_weight_norm``; the same outputs up to rounding, faster) and the
    discriminator, which synthesis never runs, is dropped.

    Args:
        model: the vocoder model (put in eval mode).
        name: how messages and reports name it (the weights file by default).
    """

    def __init__(self, model: torch.nn.Module, name: str = "vocoder"):
        super().__init__()
        generator = model.generator
        if hasattr(generator, "remove_weight_norm"):
            generator.remove_weight_norm()
        model.discriminator = None
        self.model = model.eval()
        self.name = name
        self.feats_params: Dict[str, Any] = dict(model.feats_params())
        #: the generator's class name (``HiFiGANGenerator``...), for reports
        self.generator_name: str = type(generator).__name__
        self.hop_length: int = int(self.feats_params["hop_length"])

    @property
    def fs(self) -> int:
        return int(self.feats_params["fs"])

    def extra_repr(self) -> str:
        return f"name={self.name}, generator={self.generator_name}, fs={self.fs}, hop_length={self.hop_length}"

    @property
    def requires_f0(self) -> bool:
        """Whether the generator is driven by F0 (then :meth:`forward` takes one, or predicts it)."""
        return self.model.requires_f0

    def predict_f0(self, feats: torch.Tensor) -> torch.Tensor:
        """The F0 ``(T_feats,)`` in Hz (0 unvoiced) the generator's predictor reads from ``feats``."""
        return self.model.predict_f0(feats.float())

    def forward(self, feats: torch.Tensor, f0: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``feats`` ``(T_feats, n_mels)`` (and, for a generator driven by F0, optionally ``f0``
        ``(T_feats,)`` in Hz, 0 unvoiced, instead of its own prediction) -> ``wav`` ``(T_feats * hop_length,)``."""
        with torch.no_grad():
            return self.model.inference(feats.float(), f0=None if f0 is None else f0.float())["wav"].reshape(-1)


def default_vocoder_config(vocoder_file: str | Path) -> Path:
    """The ``config.yaml`` beside ``vocoder_file`` (where training wrote it)."""
    return Path(vocoder_file).parent / "config.yaml"


def load_gan_vocoder(
    vocoder_file: str | Path, vocoder_config: Optional[str | Path] = None, device: str = "cpu"
) -> GANVocoder:
    """Load a trained vocoder: ``vocoder_config`` is its training ``config.yaml`` (default: the one
    beside ``vocoder_file``).

    Raises:
        FileNotFoundError: ``vocoder_file`` or the config is missing.
        ConfigError: a file is a TTS model's (config or weights), the config is not a vocoder's, or
            ``vocoder_file`` is a packed model zip.
        CheckpointError: the weights are unreadable or do not fit the config's model.
    """
    from espkit.tts.inference_model import build_model_for_inference

    vocoder_file = Path(vocoder_file)
    if not vocoder_file.is_file():
        raise FileNotFoundError(f"vocoder_file: no such file: {vocoder_file}")
    if vocoder_file.suffix == ".zip":
        raise ConfigError(
            f"vocoder_file {vocoder_file} is a zip: give the vocoder's weights (.pth); a packed TTS model "
            "carries its vocoder itself (pack_model --vocoder_file), pass the zip as model_file"
        )
    if vocoder_config is None:
        vocoder_config = default_vocoder_config(vocoder_file)
        if not vocoder_config.is_file():
            raise FileNotFoundError(
                f"vocoder_config not given and there is no config.yaml beside vocoder_file {vocoder_file}: "
                "give the vocoder's training config.yaml as vocoder_config"
            )
        if config_kind(load_yaml_config(vocoder_config)) == "tts":
            how = f"the config.yaml beside it, {vocoder_config}, has a `tts` key"
            raise ConfigError(swapped_weights_message(vocoder_file, "tts", "vocoder", how))
    elif config_kind(load_yaml_config(vocoder_config)) is None:
        raise ConfigError(
            f"vocoder_config {vocoder_config} is not a vocoder's training config: it has no `generator` key "
            "(a YAML of Griffin-Lim options is given as vocoder_config without vocoder_file)"
        )
    model, _ = build_model_for_inference(vocoder_config, vocoder_file, device, kind="vocoder")
    logger.info("loaded the vocoder %s (%s)", vocoder_file, type(model.generator).__name__)
    return GANVocoder(model, name=str(vocoder_file))
