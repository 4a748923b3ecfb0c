"""Sharded runs on a Dask cluster (``pip install "stress[cluster]"``).

Only this module imports Dask, and only runs given a cluster import it: a single-process run
never does. Tasks are the functions of ``stress.shards``, shipped by reference (workers run
the installed ``stress`` package); their inputs are plain data the client read and checked
(frames, the market, arrays), so nothing found in an input file is ever executed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from distributed import Client, LocalCluster, as_completed, get_worker

from stress.shards import forget
from stress.work import usable_cpus

#: Times Dask retries a task that raised (a worker that dies is handled by the scheduler,
#: which reruns its tasks elsewhere, up to ``distributed.scheduler.allowed-failures`` times).
RETRIES = 2


def _hold(obj: Any) -> Any:
    """A task whose result is ``obj``: the scheduler keeps ``obj`` in the task's spec, so a
    worker that dies holding it is no loss (it runs again elsewhere), unlike scattered
    data."""
    return obj


def _located(fn: Callable[..., Any], *args: Any) -> tuple[Any, str]:
    """Run a task on a worker; its result and the worker's address. Numba's threads follow
    the worker's ``NUMBA_NUM_THREADS`` (a worker process may have read numba's configuration
    before its environment was set)."""
    threads = os.environ.get("NUMBA_NUM_THREADS", "")
    if threads.isdigit() and int(threads) >= 1:
        import numba

        numba.set_num_threads(min(int(threads), getattr(numba.config, "NUMBA_NUM_THREADS", 1)))
    return fn(*args), get_worker().address


class DaskExecutor:
    """Runs a sharded run's tasks on the cluster of ``client``."""

    def __init__(self, client: Client, retries: int = RETRIES) -> None:
        self.client = client
        self.retries = retries

    def share(self, obj: Any) -> Any:
        return self._held(obj)

    def scatter(self, objs: Sequence[Any]) -> list[Any]:
        return [self._held(obj) for obj in objs]

    def _held(self, obj: Any) -> Any:
        with warnings.catch_warnings():
            # A block of shards rides in the graph on purpose (``_hold``): Dask's advice for
            # a graph over 10 MB, to scatter the data instead, would lose it with its worker.
            warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
            return self.client.submit(_hold, obj, pure=False)

    def run(
        self,
        fn: Callable[..., Any],
        calls: Sequence[tuple[Any, ...]],
        hints: Sequence[Any] | None = None,
    ) -> Iterator[tuple[int, Any, Any]]:
        futures = []
        for i, call in enumerate(calls):
            # A task of the second pass prefers the worker that laid its shard out (and may
            # still hold the layout), but runs anywhere if that worker is gone or busy.
            hint = hints[i] if hints is not None else None
            where: dict[str, Any] = (
                {"workers": [hint], "allow_other_workers": True} if hint else {}
            )
            # Keys named after the task's function (shown so on Dask's dashboard).
            name = getattr(fn, "__name__", "task")
            futures.append(
                self.client.submit(
                    _located,
                    fn,
                    *call,
                    key=f"{name}-{uuid.uuid4().hex}",
                    retries=self.retries,
                    **where,
                )
            )
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for future in as_completed(futures, loop=self.client.loop):
                if future.status != "finished":
                    # The task's own error (after its retries), raised here as it was raised
                    # there; or a task the cluster gave up on.
                    exc = future.exception()
                    raise exc if isinstance(exc, BaseException) else RuntimeError(
                        f"a task of the run ended as {future.status!r}"
                    )
                result, address = future.result()
                yield index[future.key], result, address
        finally:
            # An error, Ctrl-C or the caller stopping early: the rest is not needed.
            self.client.cancel(futures)

    def forget(self, key: str) -> None:
        with contextlib.suppress(Exception):
            self.client.run(forget, key)

    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))


def local_cluster(n_workers: int, **kwargs: Any) -> LocalCluster:
    """A cluster of ``n_workers`` processes on this machine, one task at a time each, bound
    to the loopback interface, without a dashboard. Numba's threads are shared out so that
    the workers together use the machine's cores once."""
    threads = max(1, usable_cpus() // n_workers)
    options: dict[str, Any] = {
        "n_workers": n_workers,
        "threads_per_worker": 1,
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": None,
        "env": {"NUMBA_NUM_THREADS": str(threads)},
        # Each worker runs ``dask_setup`` below when it starts (and when its nanny restarts it).
        "preload": [__name__],
    }
    options.update(kwargs)
    return LocalCluster(**options)


def dask_setup(worker: object) -> None:
    """A local cluster's worker leaves Ctrl-C to the process that started the cluster: the
    terminal sends it to every process of the job, and each worker printed its own tracebacks;
    that process stops the workers when it stops the cluster."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def connect(address: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A client of the scheduler at ``address`` (``tcp://host:8786``, or ``tls://...`` with
    the certificates of Dask's configuration, ``distributed.comm.tls.*``), or of a local
    cluster of ``workers`` processes started here and stopped on leaving."""
    if address is not None:
        with Client(address, set_as_default=False) as client:
            yield client
        return
    if workers is None:
        raise ValueError("connect: give a scheduler address or a number of workers")
    with local_cluster(workers) as cluster, Client(cluster, set_as_default=False) as client:
        yield client
