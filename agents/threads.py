# SPDX-License-Identifier: GPL-2.0-only
"""How many threads torch may use while slicebridge trains and evaluates.

slicebridge's networks are small (two hidden layers of 64 by default) and its batched engines give
torch a few hundred rows at a time, so torch's intra-op threads have little to split and much to
synchronise: an OpenMP barrier per operation. On an idle machine two threads are no faster than one;
on a loaded one a thread that waits at the barrier for a descheduled peer makes every small operation
take milliseconds (the README main job's training: 308 s of CPU on torch's default two threads
under a load of 10, 16 s on one; docs/BENCHMARKS.md). The command line and the recipes therefore
run torch on one thread unless ``SLICEBRIDGE_TORCH_THREADS`` asks for more (larger networks may).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch

#: environment variable that overrides the thread count of the command line and the recipes
TORCH_THREADS_ENV = "SLICEBRIDGE_TORCH_THREADS"
DEFAULT_TORCH_THREADS = 1


def configured_torch_threads() -> int:
    """``SLICEBRIDGE_TORCH_THREADS`` when set (a positive integer), else :data:`DEFAULT_TORCH_THREADS`."""
    text = os.environ.get(TORCH_THREADS_ENV, "").strip()
    if not text:
        return DEFAULT_TORCH_THREADS
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{TORCH_THREADS_ENV}={text!r} is not a positive integer; unset it for one torch thread "
                         f"or set it to the number of threads torch may use")
    return n


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with torch on ``n`` intra-op threads, and restore the process's count after it.

    The thread count also fixes the order of some float sums (and the orthogonal initialisation's QR),
    so runs that must give the same numbers (a client process and its in-process reference) use the
    same count.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
