#!/usr/bin/env python3
"""Run one command per part of a split key file, in parallel, like Kaldi's ``run.pl``.

    utils/run_jobs.py --nj 4 --keys dump/raw/eval/text \\
        --split dump/raw/eval/text:exp/decode/split/keys.JOB \\
        --log exp/decode/logs/inference.JOB.log \\
        --merge exp/decode/output.JOB/wav/wav.scp:exp/decode/wav/wav.scp \\
        -- python -m espkit.bin.tts_inference --key_file exp/decode/split/keys.JOB ...

- The first field of each line of ``--keys`` (an scp/text/key file) gives the keys, in file
  order; they are cut into ``nj`` contiguous, near-equal parts (``nj`` is lowered to the number
  of keys). Every ``--split SRC:DST`` writes the lines of SRC whose key is in part JOB to DST
  (``JOB`` in DST replaced by 1..nj). Without ``--keys`` the first ``--split`` SRC gives the keys.
- The command (everything after ``--``, joined by spaces and run by bash) runs once per part with
  every ``JOB`` replaced by the part number; its output goes to ``--log`` (``JOB`` replaced too).
  With no command the files are only split.
- When every job succeeded, each ``--merge SRC:DST`` concatenates the jobs' SRC files (``JOB``
  replaced) into DST, sorted by key. A job output missing from some jobs only is an error; one
  missing from all jobs is skipped with a warning.
- Exit status 1 when a job fails, naming each failed job's log and printing its last lines.
  ``--print_nj`` prints the number of parts that would be used and exits.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence


def read_keys(path: Path) -> List[str]:
    keys = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            keys.append(line.split(maxsplit=1)[0])
    return keys


def partition(keys: Sequence[str], nj: int) -> List[List[str]]:
    """``keys`` in ``min(nj, len(keys))`` contiguous parts whose sizes differ by at most one."""
    if nj < 1:
        raise ValueError(f"--nj must be >= 1, got {nj}")
    if not keys:
        raise ValueError("no keys to split")
    nj = min(nj, len(keys))
    size, extra = divmod(len(keys), nj)
    parts, start = [], 0
    for job in range(nj):
        end = start + size + (1 if job < extra else 0)
        parts.append(list(keys[start:end]))
        start = end
    return parts


def split_file(src: Path, dst_pattern: str, parts: List[List[str]]) -> None:
    """Write the lines of ``src`` of each part to ``dst_pattern`` with JOB = 1..len(parts)."""
    lines: Dict[str, str] = {}
    for line in src.read_text(encoding="utf-8").splitlines():
        if line.strip():
            lines[line.split(maxsplit=1)[0]] = line
    for job, keys in enumerate(parts, start=1):
        missing = [k for k in keys if k not in lines]
        if missing:
            raise ValueError(f"{src}: no line for key(s) {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        dst = Path(dst_pattern.replace("JOB", str(job)))
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text("".join(lines[k] + "\n" for k in keys), encoding="utf-8")


def merge_files(src_pattern: str, dst: Path, nj: int) -> bool:
    """Concatenate the jobs' files (sorted by key) into ``dst``; False when no job wrote one."""
    sources = [Path(src_pattern.replace("JOB", str(job))) for job in range(1, nj + 1)]
    present = [p for p in sources if p.exists()]
    if not present:
        return False
    if len(present) != len(sources):
        missing = [str(p) for p in sources if not p.exists()]
        raise FileNotFoundError(f"job output(s) missing: {', '.join(missing)}")
    lines = []
    for path in sources:
        lines += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines.sort(key=lambda line: line.split(maxsplit=1)[0])
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return True


def run_parallel(command: str, nj: int, log_pattern: str) -> List[int]:
    """Run ``command`` (JOB replaced) for JOB = 1..nj at once; return the failed job numbers."""
    procs = []
    for job in range(1, nj + 1):
        log = Path(log_pattern.replace("JOB", str(job)))
        log.parent.mkdir(parents=True, exist_ok=True)
        job_command = command.replace("JOB", str(job))
        f = log.open("w", encoding="utf-8")
        f.write(f"# {job_command}\n# started at {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        f.flush()
        procs.append((job, f, subprocess.Popen(["bash", "-c", job_command], stdout=f, stderr=subprocess.STDOUT)))
    failed = []
    for job, f, proc in procs:
        code = proc.wait()
        f.write(f"# ended at {time.strftime('%Y-%m-%d %H:%M:%S')} with exit code {code}\n")
        f.close()
        if code != 0:
            failed.append(job)
    return failed


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nj", type=int, required=True, help="Number of parallel jobs (at most one per key)")
    parser.add_argument("--keys", type=Path, default=None, help="File whose first column gives the keys to split")
    parser.add_argument("--split", action="append", default=[], metavar="SRC:DST", help="Split SRC into DST (with JOB)")
    parser.add_argument(
        "--merge", action="append", default=[], metavar="SRC:DST", help="Merge jobs' SRC (with JOB) into DST"
    )
    parser.add_argument("--log", default=None, help="Log file per job, with JOB (required with a command)")
    parser.add_argument("--print_nj", action="store_true", help="Print the number of parts and exit")
    return parser


def pair(value: str, option: str) -> tuple:
    src, sep, dst = value.partition(":")
    if not sep or not src or not dst:
        raise ValueError(f"{option} {value!r}: expected SRC:DST")
    return src, dst


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command_args: List[str] = []
    if "--" in argv:
        index = argv.index("--")
        argv, command_args = argv[:index], argv[index + 1 :]
    args = get_parser().parse_args(argv)
    try:
        splits = [pair(v, "--split") for v in args.split]
        merges = [pair(v, "--merge") for v in args.merge]
        key_file = args.keys if args.keys is not None else (Path(splits[0][0]) if splits else None)
        if key_file is not None:
            if not key_file.exists():
                raise FileNotFoundError(f"key file {key_file} not found")
            parts = partition(read_keys(key_file), args.nj)
            nj = len(parts)
            if args.print_nj:
                print(nj)
                return 0
            for src, dst in splits:
                if "JOB" not in dst:
                    raise ValueError(f"--split {src}:{dst}: DST must contain JOB")
                split_file(Path(src), dst, parts)
        else:
            nj = args.nj
        if command_args:
            if args.log is None or "JOB" not in args.log:
                raise ValueError("--log with JOB in it is required to run a command")
            command = " ".join(command_args)
            failed = run_parallel(command, nj, args.log)
            if failed:
                for job in failed:
                    log = args.log.replace("JOB", str(job))
                    tail = Path(log).read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
                    print(
                        f"run_jobs.py: job {job}/{nj} failed; log: {log}\n" + "\n".join("    " + t for t in tail),
                        file=sys.stderr,
                    )
                print(
                    f"run_jobs.py: {len(failed)} of {nj} jobs failed "
                    f"(logs: {', '.join(args.log.replace('JOB', str(j)) for j in failed)})",
                    file=sys.stderr,
                )
                return 1
        for src, dst in merges:
            if not merge_files(src, Path(dst), nj):
                print(f"run_jobs.py: warning: no job wrote {src}; {dst} not made", file=sys.stderr)
    except (ValueError, FileNotFoundError) as exc:
        print(f"run_jobs.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
