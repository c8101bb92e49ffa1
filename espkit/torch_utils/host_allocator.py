"""Keep freed host memory in the process instead of handing it back to the kernel.

A TTS training step allocates and frees the same few hundred tensors every step, many of
them larger than glibc's ``mmap`` threshold (128 KiB to 32 MiB, adaptive). Those come from
fresh ``mmap`` pages each time, so every step pays for page faults and for zeroing memory
again (measured in docs/benchmarks.md, from bench/compare_espnet.sh's profile section).
Serving them from the heap, and not trimming the heap, makes a step reuse the previous
step's pages. The peak resident size is the same (what a step needs at its peak stays
resident either way); memory freed at the end of a phase stays with the process.

glibc only (``mallopt``); elsewhere, or with ``ESPKIT_KEEP_FREED_MEMORY=0``, nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

logger = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # mallopt parameter numbers from glibc's malloc.h
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_SETTINGS = (
    (_M_MMAP_THRESHOLD, 32 << 20),  # allocations below 32 MiB (glibc's largest threshold) from the heap
    (_M_TRIM_THRESHOLD, (1 << 31) - 1),  # never give the heap's top back (int max)
    (_M_TOP_PAD, 64 << 20),  # grow the heap in 64 MiB steps (address space; pages count once touched)
)


def keep_freed_memory() -> bool:
    """Tune glibc's allocator as described in the module docstring; True if it was applied."""
    if os.environ.get("ESPKIT_KEEP_FREED_MEMORY", "1") == "0":
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return False
    applied = all([bool(mallopt(param, value)) for param, value in _SETTINGS])
    logger.debug("glibc allocator keeps freed memory: %s", applied)
    return applied


#: Where Debian/Ubuntu (libjemalloc2) and Fedora (jemalloc) put jemalloc.
JEMALLOC_PATHS = (
    "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
    "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2",
    "/usr/lib64/libjemalloc.so.2",
    "/usr/lib/libjemalloc.so.2",
)
#: jemalloc returns freed pages after 10 s unused (its own default, written out). Never ``-1`` (no
#: decay): jemalloc coalesces neighbouring freed extents only when it purges them, so without decay
#: the differently sized tensors of a Transformer-TTS training run (attention maps) keep mapping
#: fresh pages and the resident size grows every step without bound.
JEMALLOC_CONF = "dirty_decay_ms:10000,muzzy_decay_ms:0"


def find_jemalloc() -> str | None:
    """The path of an installed jemalloc shared library, or None."""
    return next((path for path in JEMALLOC_PATHS if os.path.exists(path)), None)


def use_jemalloc() -> None:
    """Run this process on jemalloc: re-execute it (same interpreter, same command line) with
    jemalloc preloaded, unless it already is, jemalloc is not installed (``tools/install.sh``
    installs Debian's libjemalloc2), or ``ESPKIT_JEMALLOC=0``.

    Call it first thing in an entry point, before torch is imported (the re-executed process
    starts from scratch). Why: glibc's heap fragments across the differently sized batches of a
    training run (the benchmark's heap high-water mark is far above what is in use between steps);
    jemalloc's size classes keep the peak RSS of training lower and its steps faster (figures in
    docs/benchmarks.md). ``MALLOC_CONF`` is set to :data:`JEMALLOC_CONF` unless given.
    """
    if os.environ.get("ESPKIT_JEMALLOC", "1") == "0":
        return
    preload = os.environ.get("LD_PRELOAD", "")
    if "jemalloc" in preload:
        return
    library = find_jemalloc()
    if library is None:
        return
    import sys

    env = dict(os.environ, LD_PRELOAD=":".join(p for p in (library, preload) if p))
    env.setdefault("MALLOC_CONF", JEMALLOC_CONF)
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
