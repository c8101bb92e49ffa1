"""ESPnet2's path for n-best model averaging; the implementation is :mod:`espkit.train.nbest`."""

from espkit.train.nbest import average_nbest_models

__all__ = ["average_nbest_models"]
