"""Train a TTS model (or collect its feature statistics).

    python -m espkit.bin.tts_train --config conf/train.yaml --output_dir exp/tts_train ...
    python -m espkit.bin.tts_train --print_config --tts tacotron2_controllable
"""

from __future__ import annotations

from typing import Optional, Sequence

from espkit.tasks.tts import TTSTask


def get_parser():
    return TTSTask.get_parser()


def main(cmd: Optional[Sequence[str]] = None) -> None:
    TTSTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
