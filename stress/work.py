"""How much work a job is, and the two things that decides: whether a kernel runs on numba's
threads, and whether a run shows a progress bar. One place for both rules.

Work is counted in inner-loop iterations (cashflows x scenarios, positions x scenarios, ...).
"""

from __future__ import annotations

#: Handing a job to numba's (started) thread pool costs about 3 us, as much as 4,000 or so
#: iterations; jobs below five times that run the serial variant of a kernel, where threads
#: could not win much. (The pool itself starts once per process, on the first threaded job.)
THREADED_MIN_WORK = 20_000
#: Runs above this many iterations take long enough (~1 s) to deserve a progress bar.
PROGRESS_MIN_WORK = 100_000_000


def threaded(work: int, parts: int = 2) -> bool:
    """Whether a job of ``work`` iterations, split into ``parts`` independent pieces, is worth
    running on threads."""
    return parts > 1 and work >= THREADED_MIN_WORK


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
