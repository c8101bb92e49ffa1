"""keep_freed_memory: a freed large tensor's pages are reused without new page faults."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import resource, sys, torch
from espkit.torch_utils.host_allocator import keep_freed_memory
applied = keep_freed_memory()
def faults_of_one_step():  # tensors of 256 KiB .. 8 MiB made and freed as a training step does
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    kept = []
    for i in range(40):
        kept.append(torch.empty((1 + i % 8) * 2**16 * (1 + i % 4)).fill_(1.0))
        if i % 3 == 2:
            del kept[0]
    del kept
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
for _ in range(2):
    faults_of_one_step()
print(applied, sum(faults_of_one_step() for _ in range(4)))
"""


def _probe(env_value: str) -> tuple[bool, int]:
    env = dict(os.environ, ESPKIT_KEEP_FREED_MEMORY=env_value)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    applied, faults = out.stdout.split()
    return applied == "True", int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_pages_are_reused_only_when_applied():
    applied, faults = _probe("1")
    assert applied
    assert faults < 5000  # steps 3-6 reuse the pages of the first two (about 100 MiB each step)
    applied, faults = _probe("0")
    assert not applied
    assert faults > 15000  # mmap'ed afresh: about one fault per 4 KiB page


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
    off = subprocess.run([sys.executable, "-c", JEMALLOC_PROBE], env=dict(env, ESPKIT_JEMALLOC="0"),
                         capture_output=True, text=True, check=True)
    assert off.stdout.split() == ["not-loaded", "-"]
