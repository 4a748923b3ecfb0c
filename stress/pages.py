"""Memory for a positions run's detail: private pages, kept a few seconds after the result that
used them is dropped so that the next run of about the same size writes into pages the kernel
has already supplied.

Supplying fresh pages is most of what a positions run costs beyond its arithmetic: at 10k
positions x 1k scenarios the detail is 1.6 GB, and Linux takes about 0.5 s to fault and zero
it however it is asked (first touch, MAP_POPULATE, MADV_POPULATE_WRITE). A process that runs
positions mode again and again (a trading tool, a notebook) pays that once. The pages go back
to the system KEEP_SECONDS after they were last freed, as jemalloc's decay returns the dirty
pages of polars' own allocator, so an idle process holds nothing for long. Numpy's advice to
back large arrays by huge pages is not asked for: where the kernel compacts memory on that
advice (THP ``defrag`` set to ``madvise``) every other run stalled 1.4 to 2.5 s.
"""

from __future__ import annotations

import errno
import mmap
import os
import threading
import time
import weakref

import numpy as np
import numpy.typing as npt

#: Seconds a freed detail's pages stay mapped for the next run before they are returned.
KEEP_SECONDS = 10.0

# Reentrant: a garbage collection inside a locked section may end an array and give its
# pages back on the same thread.
_lock = threading.RLock()
_kept: list[tuple[float, mmap.mmap]] = []  # (when freed, pages), oldest first
_sweeper: threading.Timer | None = None


def float_pages(shape: tuple[int, int]) -> npt.NDArray[np.float64]:
    """An uninitialised float64 array of ``shape`` in private pages (kept ones when a freed
    mapping of the size or up to twice it is at hand). Raises MemoryError when the system has
    no memory for it, as numpy would."""
    n = shape[0] * shape[1]
    if n == 0 or not hasattr(mmap, "MAP_PRIVATE"):  # no private mappings on Windows
        return np.empty(shape)
    pages = _take(8 * n)
    if pages is None:
        try:
            pages = mmap.mmap(-1, 8 * n, flags=mmap.MAP_PRIVATE)
        except OSError as exc:
            if exc.errno == errno.ENOMEM:
                raise MemoryError(f"no memory for {n:,} values") from exc
            raise
    array = np.frombuffer(pages, dtype=np.float64, count=n)
    # Every view of the array (the result's columns, polars' series over them) holds it, so
    # its end is the moment nothing reads the pages any more.
    weakref.finalize(array, _give_back, pages).atexit = False
    return array.reshape(shape)


def kept_bytes() -> int:
    """The bytes of freed pages held for reuse now."""
    with _lock:
        return sum(len(p) for _, p in _kept)


def release() -> None:
    """Return every kept page to the system now."""
    global _sweeper
    with _lock:
        _kept.clear()
        if _sweeper is not None:
            _sweeper.cancel()
            _sweeper = None


def _take(nbytes: int) -> mmap.mmap | None:
    with _lock:
        fits = [k for k, (_, p) in enumerate(_kept) if nbytes <= len(p) <= 2 * nbytes]
        if not fits:
            return None
        k = min(fits, key=lambda k: len(_kept[k][1]))
        return _kept.pop(k)[1]


def _give_back(pages: mmap.mmap) -> None:
    global _sweeper
    with _lock:
        _kept.append((time.monotonic(), pages))
        if _sweeper is None:
            _sweeper = _timer(KEEP_SECONDS)


def _timer(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, _sweep)
    timer.daemon = True  # a process may end with pages still kept
    timer.start()
    return timer


def _sweep() -> None:
    """Drop the pages freed KEEP_SECONDS ago or more (unmapped when their last reference goes);
    come back for the rest."""
    global _sweeper
    with _lock:
        now = time.monotonic()
        _kept[:] = [(t, p) for t, p in _kept if now - t < KEEP_SECONDS]
        _sweeper = _timer(KEEP_SECONDS - (now - _kept[0][0])) if _kept else None


def _forget_after_fork() -> None:
    """A forked child has no sweeper thread: it starts with nothing kept."""
    global _sweeper, _lock
    _lock = threading.RLock()
    _kept.clear()
    _sweeper = None


os.register_at_fork(after_in_child=_forget_after_fork)
