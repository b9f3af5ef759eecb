"""Executors: run independent tasks serially, on local cores or on a Dask cluster, behind one interface.

An executor has one method that matters, ``map_unordered(fn, tasks)``: it calls ``fn(task)`` for every task
and yields the results as they finish (in any order; a result should identify its task). The first task
that raises stops the iteration with that exception and cancels the tasks not yet started. Executors are
context managers; ``close()`` releases workers. ``fn`` and the tasks must be picklable (module-level
functions and plain data) for :class:`LocalExecutor` and :class:`DaskExecutor`.

Dask is optional (``pip install 'devicelab[dask]'``); :class:`DaskExecutor` raises
:class:`~devicelab.errors.MissingDependencyError` when it is absent.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from typing import Callable, Iterable, Iterator, Protocol, runtime_checkable

from devicelab.errors import ConfigError, SimulationError, require


@runtime_checkable
class Executor(Protocol):
    """Anything that maps a function over tasks and yields results as they complete."""

    def map_unordered(self, fn: Callable, tasks: Iterable) -> Iterator:
        """Yield ``fn(task)`` for every task, in completion order."""

    def close(self) -> None:
        """Release the workers."""


class _ContextExecutor:
    """Context-manager plumbing shared by the executors."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Release the workers (nothing to do by default)."""


class SerialExecutor(_ContextExecutor):
    """Runs tasks one after the other in this process (debugging, tiny sweeps, deterministic order)."""

    def map_unordered(self, fn: Callable, tasks: Iterable) -> Iterator:
        """Yield ``fn(task)`` for each task in order."""
        for task in tasks:
            yield fn(task)


class LocalExecutor(_ContextExecutor):
    """A process pool on this machine (``concurrent.futures``), ``jobs`` worker processes.

    Workers are started with the "spawn" method: each imports devicelab afresh, so no simulator state
    (e.g. a loaded ngspice library) is shared with the parent.
    """

    def __init__(self, jobs: int | None = None):
        jobs = (os.cpu_count() or 1) if jobs is None else jobs
        if not isinstance(jobs, int) or jobs < 1:
            raise ConfigError(f"jobs must be a positive integer, got {jobs!r}")
        from devicelab.spice import runner

        runner.check_spawn_main("the local worker processes")
        self.jobs = jobs
        self._pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
        # A worker whose start-up (re-importing the main script) fails or hangs would stall the whole sweep:
        # one small task must come back within the start-up limit.
        try:
            self._pool.submit(os.getpid).result(timeout=runner.START_TIMEOUT)
        except (cf.TimeoutError, cf.process.BrokenProcessPool) as exc:
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in list((getattr(self._pool, "_processes", None) or {}).values()):
                process.kill()
            what = ("failed to start" if isinstance(exc, cf.process.BrokenProcessPool)
                    else f"did not start within {runner.START_TIMEOUT:g} s")
            raise SimulationError(
                f"the local worker processes {what}: a 'spawn' worker first re-imports the main script, so a "
                f"script that fails, does its work or waits at import (no `if __name__ == \"__main__\":` guard) "
                f"cannot start one") from None

    def map_unordered(self, fn: Callable, tasks: Iterable) -> Iterator:
        """Submit every task; yield results as they complete; cancel the rest on the first error."""
        futures = [self._pool.submit(fn, task) for task in tasks]
        try:
            for future in cf.as_completed(futures):
                try:
                    result = future.result()
                except cf.process.BrokenProcessPool as exc:
                    raise SimulationError(f"a worker process of the local pool ({self.jobs} jobs) died: {exc} "
                                          f"(its traceback, if any, is printed above on stderr; a crash or the "
                                          f"machine running out of memory are the usual causes)") from exc
                yield result
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        """Shut the pool down, cancelling tasks not yet started."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(_ContextExecutor):
    """Tasks on a Dask cluster: ``address`` "tcp://host:8786" of a running scheduler, or "local".

    "local" starts a :class:`distributed.LocalCluster` with ``jobs`` workers of one thread each
    (``processes=False`` keeps them as threads of this process: quick to start, for tests and tasks
    that release the GIL); its scheduler (with processes) and HTTP server listen on free ports, never on the
    well-known 8786/8787 another cluster may hold. ``connect_timeout`` (s) bounds connecting to a remote
    scheduler. Workers of a remote cluster need devicelab installed and the files the sweep references at the
    same paths, and must not be daemonic, because ngspice runs in a child process of the worker: start them with
    ``DASK_DISTRIBUTED__WORKER__DAEMON=False`` (set automatically for "local").
    """

    def __init__(self, address: str = "local", jobs: int | None = None, processes: bool = True,
                 connect_timeout: float = 10.0):
        distributed = require("distributed", "running sweeps on a Dask cluster", "dask")
        self.address = address
        self._cluster = None
        if address == "local":
            n_workers = jobs or os.cpu_count() or 1
            # ngspice runs in a child process of the worker; daemonic workers may not have children.
            with require("dask", "running sweeps on a Dask cluster", "dask").config.set(
                    {"distributed.worker.daemon": False}):
                # No dashboard, and the scheduler's HTTP server (health/metrics routes, which it starts even
                # without a dashboard, by default on 8787) on a free local port: another Dask cluster on the
                # machine must not make this one fail or warn.
                self._cluster = distributed.LocalCluster(
                    n_workers=n_workers, threads_per_worker=1, processes=processes, scheduler_port=0,
                    dashboard_address=None,
                    scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
            self._client = distributed.Client(self._cluster)
        else:
            if not address.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
                raise ConfigError(f"--dask expects 'local' or a scheduler address like tcp://host:8786, "
                                  f"got {address!r}")
            try:
                self._client = distributed.Client(address, timeout=f"{connect_timeout}s")
            except (OSError, TimeoutError) as exc:
                raise ConfigError(f"cannot connect to the Dask scheduler at {address} within {connect_timeout:g} s "
                                  f"({exc})") from exc
        self._distributed = distributed

    def map_unordered(self, fn: Callable, tasks: Iterable) -> Iterator:
        """Submit every task to the cluster; yield results as they complete; cancel the rest on error."""
        futures = self._client.map(fn, list(tasks), pure=False)
        try:
            for _future, result in self._distributed.as_completed(futures, with_results=True):
                yield result
        finally:
            self._client.cancel(futures)

    def close(self) -> None:
        """Close the client and, for "local", the cluster it started."""
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(jobs: int | None = None, dask: str | None = None) -> _ContextExecutor:
    """The executor the CLI options ask for: Dask when ``dask`` is given, else local with ``jobs``
    processes (serial when ``jobs`` is None or 1)."""
    if dask:
        return DaskExecutor(dask, jobs=jobs)
    if jobs is None or jobs == 1:
        return SerialExecutor()
    return LocalExecutor(jobs)
