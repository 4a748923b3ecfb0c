"""How much work a job is, and the two things that decides: whether a kernel runs on numba's
threads, and whether a run shows a progress bar. One place for both rules.

Work is counted in inner-loop iterations (cashflows x scenarios, positions x scenarios, ...).
"""

from __future__ import annotations

import os

#: A kernel's threaded variant is compiled apart from its serial one (the first run on a
#: machine: the pass over positions takes 30 s to compile threaded, 16 s serial), loaded
#: from numba's cache by every process that uses it, and starts the thread pool: jobs below
#: this many iterations run the serial variant, unless the threaded one is loaded already.
THREADED_MIN_WORK = 200_000
#: Once the threaded variant is loaded, handing it a job costs about 3 us, as much as 4,000
#: or so iterations: from five times that, threads win (a one-trade what-if's sums over 1,000
#: scenarios took 175 us on two threads, 360 us serial).
LOADED_THREADED_MIN_WORK = 20_000
#: Runs above this many iterations take long enough (~1 s) to deserve a progress bar.
PROGRESS_MIN_WORK = 100_000_000


def threaded(work: int, parts: int = 2, *, loaded: bool = False) -> bool:
    """Whether a job of ``work`` iterations, split into ``parts`` independent pieces, is worth
    running on threads; ``loaded``: the kernel's threaded variant is compiled in this process
    already (a numba dispatcher's ``overloads`` are not empty: a test of a dict, where its
    ``signatures`` lists them, 35 us for a loaded parallel kernel)."""
    return parts > 1 and work >= (LOADED_THREADED_MIN_WORK if loaded else THREADED_MIN_WORK)


def run_work(n_cashflows: int, n_positions: int, n_scenarios: int) -> int:
    """Iterations of a stress run: every cashflow and position under every scenario."""
    return (n_cashflows + n_positions) * n_scenarios


def sums_work(n_entries: int, n_nodes: int, n_scenarios: int) -> int:
    """Iterations of the group sums (``group_sums``): every node and its weight entries under
    every scenario."""
    return (n_entries + n_nodes) * n_scenarios


def shows_progress(work: int) -> bool:
    """Whether a run of ``work`` iterations shows a progress bar."""
    return work >= PROGRESS_MIN_WORK


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the system has one: a container
    or a job pinned to 4 of 64 CPUs has 4), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
