"""keep_freed_memory: a freed large tensor's pages are reused without new page faults.

The probe counts minor page faults, one per page touched afresh, over the steady steps of a
loop that makes and frees tensors of 256 KiB .. 8 MiB as a training step does. Two things
of the machine would change the counts and are fixed by the probe for itself:

- transparent huge pages (``/sys/kernel/mm/transparent_hugepage/enabled`` = ``always``, or
  glibc's ``glibc.malloc.hugetlb`` tunable): one fault maps 2 MiB instead of 4 KiB, so the
  probe turns them off (``prctl(PR_SET_THP_DISABLE)``) and drops the caller's allocator settings;
- glibc's adaptive mmap threshold: freeing an mmap'ed chunk raises the threshold to its size,
  so what ``import torch`` freed on a given CPU decides whether the baseline mmaps at all. The
  baseline pins glibc's default threshold (128 KiB, which also stops the adapting): the path
  keep_freed_memory() exists to avoid.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import ctypes, resource, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(41, 1, 0, 0, 0) != 0:  # PR_SET_THP_DISABLE
    sys.exit("prctl(PR_SET_THP_DISABLE) failed: errno %d" % ctypes.get_errno())
import torch
from espkit.torch_utils.host_allocator import keep_freed_memory
applied = keep_freed_memory()
if not applied and libc.mallopt(-3, 128 << 10) != 1:  # M_MMAP_THRESHOLD: glibc's default, fixed
    sys.exit("mallopt(M_MMAP_THRESHOLD) failed")
def faults_of_one_step():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    kept = []
    for i in range(40):
        kept.append(torch.empty((1 + i % 8) * 2**16 * (1 + i % 4)).fill_(1.0))
        if i % 3 == 2:
            del kept[0]
    del kept
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
fresh = sum(faults_of_one_step() for _ in range(2))
print(applied, fresh, sum(faults_of_one_step() for _ in range(4)))
"""


def _probe(env_value: str) -> tuple[bool, int, int]:
    """(applied, faults of the first two steps, faults of the next four)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES", "LD_PRELOAD"))}
    env["ESPKIT_KEEP_FREED_MEMORY"] = env_value
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    applied, fresh, steady = out.stdout.split()
    return applied == "True", int(fresh), int(steady)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt, Linux's prctl")
def test_freed_pages_are_reused_only_when_applied():
    applied, fresh, steady = _probe("1")
    assert applied
    assert fresh > 15000  # the first steps touch ~100 MiB afresh: one fault per 4 KiB page
    assert steady < 5000  # steps 3-6 reuse the pages of the first two
    applied, fresh, steady = _probe("0")
    assert not applied
    assert steady > 15000  # mmap'ed and unmapped again: every step faults its pages afresh


JEMALLOC_PROBE = """
from espkit.torch_utils.host_allocator import use_jemalloc
use_jemalloc()
import os
maps = open("/proc/self/maps").read()
print("loaded" if "jemalloc" in maps else "not-loaded", os.environ.get("MALLOC_CONF", "-"))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="LD_PRELOAD and /proc are Linux's")
def test_use_jemalloc_reexecutes_on_jemalloc_when_installed():
    from espkit.torch_utils.host_allocator import JEMALLOC_CONF, find_jemalloc

    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF", "ESPKIT_JEMALLOC")}
    out = subprocess.run([sys.executable, "-c", JEMALLOC_PROBE], env=env, capture_output=True, text=True, check=True)
    if find_jemalloc() is not None:
        assert out.stdout.split() == ["loaded", JEMALLOC_CONF]
    else:  # nothing to preload: the process goes on unchanged
        assert out.stdout.split() == ["not-loaded", "-"]
    off = subprocess.run(
        [sys.executable, "-c", JEMALLOC_PROBE],
        env=dict(env, ESPKIT_JEMALLOC="0"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert off.stdout.split() == ["not-loaded", "-"]


def test_jemalloc_conf_keeps_decay_on():
    """No decay (``-1``) made jemalloc map fresh pages every Transformer-TTS step (unbounded RSS)."""
    from espkit.torch_utils.host_allocator import JEMALLOC_CONF

    options = dict(item.split(":") for item in JEMALLOC_CONF.split(","))
    assert set(options) == {"dirty_decay_ms", "muzzy_decay_ms"}
    assert all(int(value) >= 0 for value in options.values())
    assert int(options["dirty_decay_ms"]) > 0
