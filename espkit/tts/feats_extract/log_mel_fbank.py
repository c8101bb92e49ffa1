"""ESPnet2's path for the log-mel filterbank extractor; the implementation is :mod:`.fbank`."""

from espkit.tts.feats_extract.fbank import LogMelFbank

__all__ = ["LogMelFbank"]
