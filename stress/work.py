"""How much work a job is, and the two things that decides: whether a kernel runs on numba's
threads, and whether a run shows a progress bar. One place for both rules.

Work is counted in inner-loop iterations (cashflows x scenarios, positions x scenarios, ...).
"""

from __future__ import annotations

#: Starting the thread pool and splitting the work costs about as much as this many
#: iterations, so smaller jobs run the serial variant of a kernel.
THREADED_MIN_WORK = 200_000
#: Runs above this many iterations take long enough (~1 s) to deserve a progress bar.
PROGRESS_MIN_WORK = 100_000_000


def threaded(work: int, parts: int = 2) -> bool:
    """Whether a job of ``work`` iterations, split into ``parts`` independent pieces, is worth
    running on threads."""
    return parts > 1 and work >= THREADED_MIN_WORK


def run_work(n_cashflows: int, n_positions: int, n_scenarios: int) -> int:
    """Iterations of a stress run: every cashflow and position under every scenario."""
    return (n_cashflows + n_positions) * n_scenarios


def shows_progress(work: int) -> bool:
    """Whether a run of ``work`` iterations shows a progress bar."""
    return work >= PROGRESS_MIN_WORK
