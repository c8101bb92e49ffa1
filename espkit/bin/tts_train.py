"""Train a TTS model (or collect its feature statistics).

python -m espkit.bin.tts_train --config conf/train.yaml --output_dir exp/tts_train ...
python -m espkit.bin.tts_train --print_config --tts tacotron2_controllable
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

from espkit.torch_utils.host_allocator import use_jemalloc

if __name__ == "__main__" and not {"-h", "--help", "--print_config"} & set(sys.argv[1:]):
    use_jemalloc()  # before torch is imported: re-executes this command on jemalloc when installed

from espkit.tasks.tts import TTSTask  # noqa: E402


def get_parser():
    return TTSTask.get_parser()


def main(cmd: Optional[Sequence[str]] = None) -> None:
    TTSTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
