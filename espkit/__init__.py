"""espkit: a compact ESPnet2-style text-to-speech toolkit."""

from pathlib import Path

__version__ = (Path(__file__).parent / "version.txt").read_text().strip()
