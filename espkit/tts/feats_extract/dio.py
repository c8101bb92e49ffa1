"""ESPnet2's path and name for the pitch extractor (``--pitch_extract dio``).

ESPnet2's ``Dio`` runs WORLD's DIO through pyworld; espkit has no pyworld and tracks F0 with
YIN (:class:`espkit.tts.feats_extract.pitch.Pitch`), which takes the same arguments (``fs``,
``n_fft``, ``hop_length``, ``f0min``, ``f0max``, ``use_token_averaged_f0``,
``use_continuous_f0``, ``use_log_f0``, ``reduction_factor``) and returns the same shapes.
The F0 values differ from DIO's (docs/espnet_compat.md).
"""

from espkit.tts.feats_extract.pitch import Pitch

Dio = Pitch

__all__ = ["Dio"]
