"""ESPnet2's ``train.distributed_utils`` path for :class:`~espkit.train.distributed.DistributedOption`."""

from espkit.train.distributed import DistributedOption

__all__ = ["DistributedOption"]
