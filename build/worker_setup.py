"""Run in every Dask worker of a local cluster as it starts (``distributed.worker.preload``).

A Ctrl-C in the terminal reaches the whole process group; the client (``pezo explore`` or a
benchmark) stops the cluster itself, so the workers ignore SIGINT instead of each printing a
traceback of the interrupted job.
"""

import signal


def dask_setup(worker) -> None:  # noqa: ARG001 - the preload protocol passes the worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
