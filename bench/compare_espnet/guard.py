"""Run one benchmark command on an idle machine and record its wall time, CPU time, peak RSS and contention.

    python guard.py run --out result.json [--log cmd.log] [--tries 3] [--max_wait 300] [--fresh_dir DIR] -- CMD ARGS...
    python guard.py repeat --out result.json --repeats 5 [--tries 2] [--max_wait 120] -- CMD ARGS...

Standard library only, so it runs under any interpreter. The idle-machine rule is the anchor's
(``cpu_guard.py`` in ``$ESPNET_ANCHORS``, imported from there): before each try wait until the whole
machine uses < 0.15 cores for 3 consecutive 2-s windows (at most ``--max_wait`` s); a try whose mean
"foreign" load (machine busy CPU minus the command's own CPU, over its wall time) exceeds 0.10 cores is
contended and is re-run (up to ``--tries``); its log is kept as ``<log>.contended_tryN``. The accepted try
is the first uncontended one, else the least contended (flagged ``contended: true``).

``run`` writes ``{"wall_s", "cpu_s", "maxrss_MiB", "foreign_cores", "contended", "rc", "tries", "attempts"}``;
``start_unix`` is the wall clock just before the command started (for time-to-first-step).
``repeat`` does that ``--repeats`` times (each try guarded) and adds the median ``wall_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ANCHORS = Path(os.environ.get("ESPNET_ANCHORS", Path(__file__).resolve().parents[3] / "shared/anchors/espnet"))
sys.path.insert(0, str(ANCHORS))
import cpu_guard  # noqa: E402  (the anchor's idle-machine guard: wait(), stat_total())


def one_try(cmd: list[str], log: Path | None, max_wait: float) -> dict:
    """Wait for quiet, run ``cmd`` once; the child's rusage is isolated by running it under a fresh fork."""
    waited = cpu_guard.wait(max_wait)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # intermediate child: runs cmd and reports its own RUSAGE_CHILDREN
        os.close(read_end)
        out = open(log, "w") if log is not None else subprocess.DEVNULL
        start_unix = time.time()
        start = time.perf_counter()
        rc = subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT)
        wall = time.perf_counter() - start
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        os.write(
            write_end,
            json.dumps(
                dict(
                    rc=rc, wall=wall, start_unix=start_unix, cpu=usage.ru_utime + usage.ru_stime, maxrss=usage.ru_maxrss
                )
            ).encode(),
        )
        os._exit(0)
    os.close(write_end)
    busy0 = cpu_guard.stat_total()
    chunks = []
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.waitpid(pid, 0)
    busy1 = cpu_guard.stat_total()
    os.close(read_end)
    r = json.loads(b"".join(chunks))
    foreign = max((busy1 - busy0) / cpu_guard.HZ - r["cpu"], 0.0) / max(r["wall"], 1e-9)
    return dict(
        wall_s=round(r["wall"], 4),
        cpu_s=round(r["cpu"], 3),
        maxrss_MiB=round(r["maxrss"] / 1024, 1),
        foreign_cores=round(foreign, 3),
        contended=foreign > 0.10,
        rc=r["rc"],
        start_unix=r["start_unix"],
        waited_s=waited["waited_s"],
        waited_quiet=waited["quiet"],
    )


def guarded(cmd: list[str], log: Path | None, tries: int, max_wait: float, fresh_dir: Path | None = None) -> dict:
    """Run ``cmd`` until a try is not contended (at most ``tries``); ``fresh_dir`` is removed before each."""
    attempts = []
    for n in range(1, tries + 1):
        if fresh_dir is not None:
            shutil.rmtree(fresh_dir, ignore_errors=True)
        a = one_try(cmd, log, max_wait)
        attempts.append(a)
        if a["rc"] != 0 or not a["contended"]:
            break
        if log is not None and n < tries:
            log.replace(log.with_name(f"{log.name}.contended_try{n}"))
    best = next((a for a in attempts if not a["contended"]), min(attempts, key=lambda a: a["foreign_cores"]))
    if log is not None and best is not attempts[-1]:  # keep the accepted try's log under the plain name
        log.replace(log.with_name(f"{log.name}.contended_try{len(attempts)}"))
        log.with_name(f"{log.name}.contended_try{attempts.index(best) + 1}").replace(log)
    return dict(best, tries=len(attempts), attempts=attempts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["run", "repeat"])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--log", type=Path, default=None)
    p.add_argument("--tries", type=int, default=3)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--max_wait", type=float, default=300.0)
    p.add_argument(
        "--fresh_dir",
        type=Path,
        default=None,
        help="removed before each try (a training output directory: each try starts afresh)",
    )
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    a = p.parse_args(argv[:split])
    cmd = argv[split + 1 :]
    if not cmd:
        p.error("no command given after --")
    if a.mode == "run":
        res = guarded(cmd, a.log, a.tries, a.max_wait, a.fresh_dir)
    else:
        reps = [guarded(cmd, None, a.tries, a.max_wait) for _ in range(a.repeats)]
        res = dict(
            cmd=cmd,
            median_wall_s=round(statistics.median(r["wall_s"] for r in reps), 4),
            contended=any(r["contended"] for r in reps),
            rc=max(r["rc"] for r in reps),
            repeats=reps,
        )
    res["cmd"] = cmd
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1))
    print(json.dumps({k: v for k, v in res.items() if k not in ("attempts", "repeats", "cmd")}))
    if res["rc"] != 0:
        sys.exit(
            f"guard.py: command failed with exit code {res['rc']}: {' '.join(cmd)}"
            + (f" (log: {a.log})" if a.log else "")
        )


if __name__ == "__main__":
    main()
