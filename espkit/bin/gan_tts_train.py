"""Train a neural vocoder adversarially (or collect its feature statistics).

python -m espkit.bin.gan_tts_train --config conf/tuning/train_vocoder_hifigan.yaml --output_dir exp/vocoder \
    --normalize_conf stats_file=exp/tts_stats/train/feats_stats.npz ...
python -m espkit.bin.gan_tts_train --print_config --generator nsf
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

from espkit.torch_utils.host_allocator import use_jemalloc

if __name__ == "__main__" and not {"-h", "--help", "--print_config"} & set(sys.argv[1:]):
    use_jemalloc()  # before torch is imported: re-executes this command on jemalloc when installed

from espkit.tasks.gan_tts import GANTTSTask  # noqa: E402


def get_parser():
    return GANTTSTask.get_parser()


def main(cmd: Optional[Sequence[str]] = None) -> None:
    GANTTSTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
