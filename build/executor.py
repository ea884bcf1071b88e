"""Sweeps on Dask (DESIGN.md 7.1): every synthesis and training job a task on a ``distributed``
client, a :class:`~distributed.LocalCluster` sized to this machine by default, an existing
cluster with ``scheduler="tcp://HOST:8786"``.

A job is a plain, importable function and its arguments (a worker imports pezo, so the job
function must live in an installed module). Its result comes back to this process as soon as it
is done, and the caller files it (in the result cache) before waiting for the next: an
interrupted sweep loses no finished job, and a rerun submits only what is not filed. A worker
that dies is replaced (LocalCluster) and its running jobs are run again elsewhere; a job that
kills its workers :data:`ALLOWED_FAILURES` times, or raises, is reported as failed with a
one-line reason while the other jobs go on.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pezo.errors import PezoError

__all__ = ["ALLOWED_FAILURES", "Done", "Executor", "Job", "default_workers"]

#: Worker deaths a job may cause before it is reported as failed (Dask's allowed-failures).
ALLOWED_FAILURES = 2
#: Seconds to wait for a scheduler given with ``scheduler=``.
CONNECT_TIMEOUT = 10


def default_workers() -> int:
    """One single-threaded worker per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                              # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Job:
    """One task: ``fn(*args)`` under a unique ``key``; ``label`` is what progress lines show."""

    key: str
    label: str
    fn: Callable[..., Any]
    args: tuple = ()


@dataclass
class Done:
    """A finished job: its result, or the one-line reason it failed."""

    job: Job
    result: Any = None
    error: str | None = None
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


class Executor:
    """A Dask client for one sweep (a context manager).

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://HOST:8786``); default: a LocalCluster.
    workers : int, optional
        Workers of the LocalCluster (default :func:`default_workers`), one thread each: a job is
        a process that uses one core (yosys, nextpnr, Icarus or torch with one thread).
    """

    def __init__(self, scheduler: str | None = None, workers: int | None = None):
        if workers is not None and workers < 1:
            raise PezoError(f"--workers must be at least 1, got {workers}")
        if scheduler is not None and workers is not None:
            raise PezoError("--workers sizes the local cluster; a cluster given with --scheduler has its own")
        self.scheduler, self.workers = scheduler, workers or default_workers()
        self.client = self.cluster = None

    def __enter__(self) -> "Executor":
        import dask
        from distributed import Client, LocalCluster

        # A job that kills workers this often is failed instead of retried forever; a worker
        # holds only the job it runs (saturation 1), so a job that kills it does not count
        # against the jobs queued behind it.
        dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                         "distributed.scheduler.worker-saturation": 1.0,
                         "distributed.worker.daemon": False})    # jobs start subprocesses (yosys)
        for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.worker",
                     "distributed.core", "distributed.comm"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        if self.scheduler is None:
            # Ctrl-C reaches every process of the group: the workers ignore it (from their start,
            # as an ignored signal survives the spawn, and again after a restart by the preload)
            # and this process stops the cluster
            dask.config.set({"distributed.worker.preload": ["pezo.build.worker_setup"]})
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=logging.CRITICAL)
            finally:
                signal.signal(signal.SIGINT, previous)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError, ValueError) as exc:
                raise PezoError(f"cannot reach the Dask scheduler at {self.scheduler} "
                                f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                                "start one with `dask scheduler` (docs/explore.md)") from None
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def describe(self) -> str:
        n = len(self.client.scheduler_info().get("workers", {})) if self.client else 0
        where = "a local cluster" if self.cluster is not None else f"the cluster at {self.scheduler}"
        return f"{n} worker{'s' * (n != 1)} on {where}"

    def running(self) -> list[str]:
        """Keys of the jobs the workers are executing now (asked of each worker)."""
        try:
            return sorted(str(k) for keys in self.client.run(_executing).values() for k in keys)
        except Exception:                                # a report, never a reason to stop
            return []

    def run(self, jobs: Iterable[Job]) -> Iterator[Done]:
        """Submit every job and yield each as it finishes (in completion order)."""
        from distributed import as_completed
        from distributed.client import FutureCancelledError

        jobs = list(jobs)
        if len({j.key for j in jobs}) != len(jobs):
            raise PezoError("two jobs of one sweep have the same key")
        started = time.perf_counter()
        futures = {self.client.submit(j.fn, *j.args, key=j.key, pure=False): j for j in jobs}
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                yield Done(job, result=fut.result(), seconds=time.perf_counter() - started)
            except (KeyboardInterrupt, GeneratorExit):
                raise
            except FutureCancelledError:
                yield Done(job, error="cancelled (the cluster went away)")
            except Exception as exc:                     # the job's own error, or KilledWorker
                yield Done(job, error=_one_line(exc))
            finally:
                fut.release()


def _executing(dask_worker) -> list:
    return [ts.key for ts in dask_worker.state.executing]


def _one_line(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "KilledWorker":
        return f"its worker died {ALLOWED_FAILURES + 1} times running it (out of memory, or killed)"
    text = str(exc).strip().splitlines()
    return text[0] if text and isinstance(exc, PezoError) else f"{name}: {text[0] if text else ''}".rstrip(": ")
