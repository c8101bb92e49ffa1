"""Start-up cost of espkit's entry points beside torch's own import (median of N fresh processes).

    python bench/bench_startup.py [--repeats 5] [--write docs/benchmarks.md]

Target: ``import espkit.tasks.tts`` adds under 0.5 s to ``import torch``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "python -c 'import espkit.tasks.tts'": [sys.executable, "-c", "import espkit.tasks.tts"],
    "python -m espkit.bin.tts_train --help": [sys.executable, "-m", "espkit.bin.tts_train", "--help"],
    "python -m espkit.bin.tts_train --print_config": [sys.executable, "-m", "espkit.bin.tts_train", "--print_config"],
}


def median_seconds(cmd: list, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", type=Path, default=None, help="Append a section to this markdown file")
    args = parser.parse_args()
    median_seconds(COMMANDS["python -c 'import torch'"], 1)  # warm the file cache
    results = {name: median_seconds(cmd, args.repeats) for name, cmd in COMMANDS.items()}
    torch_s = results["python -c 'import torch'"]
    lines = [
        f"## Start-up ({time.strftime('%Y-%m-%d')}, {platform.machine()}, {platform.python_version()}, "
        f"median of {args.repeats})",
        "",
        "| command | seconds | over `import torch` |",
        "|---|---|---|",
    ]
    for name, seconds in results.items():
        lines.append(f"| `{name}` | {seconds:.3f} | {seconds - torch_s:+.3f} |")
    added = results["python -c 'import espkit.tasks.tts'"] - torch_s
    lines += ["", f"`import espkit.tasks.tts` adds {added:.3f} s to `import torch` (target < 0.5 s).", ""]
    text = "\n".join(lines)
    print(text)
    if args.write is not None:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        with args.write.open("a", encoding="utf-8") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
