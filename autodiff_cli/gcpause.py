"""paused_gc(): no cyclic garbage collection while a big acyclic structure is built.

Parsing, lowering and compiling a 10^5-operation expression allocate millions of tuples and
nodes that never form cycles; the collector's passes over the growing heap cost a third of
the time and free nothing. The previous state is restored afterwards (also when nested)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
