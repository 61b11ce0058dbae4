"""Running independent tasks in parallel on joblib, locally or on a Dask cluster.

Every caller gives each task its own random stream spawned from one seed
(``numpy.random.SeedSequence(seed).spawn``) and cuts the work into tasks that do
not depend on the number of workers, so results are identical for any ``n_jobs``
or backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .exceptions import DataError

__all__ = ["parallel_map", "spawn_seeds"]


def parallel_map(
    function: Callable[..., Any],
    tasks: Iterable[tuple],
    *,
    n_jobs: int = 1,
    client: Any = None,
) -> list:
    """``[function(*task) for task in tasks]``, in order, possibly in parallel.

    Parameters
    ----------
    function : callable
        A module-level function (it is pickled for other processes).
    tasks : iterable of tuple
        Positional arguments of each call.
    n_jobs : int
        Local worker processes (joblib's loky backend); 1 runs in this process,
        -1 uses every core.
    client : dask.distributed.Client, optional
        Run the tasks on this Dask cluster instead (joblib's dask backend).

    Returns
    -------
    list
        One result per task, in the order of ``tasks``.
    """
    tasks = list(tasks)
    if client is not None:
        from joblib import Parallel, delayed, parallel_config

        with parallel_config(backend="dask", client=client):
            return Parallel()(delayed(function)(*task) for task in tasks)
    if n_jobs == 1 or len(tasks) < 2:
        return [function(*task) for task in tasks]
    if not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise DataError(f"n_jobs must be a positive integer or -1; got {n_jobs!r}")
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs)(delayed(function)(*task) for task in tasks)


def spawn_seeds(seed: int | np.random.SeedSequence, n: int) -> list:
    """``n`` independent child seed sequences of ``seed``."""
    parent = (
        seed
        if isinstance(seed, np.random.SeedSequence)
        else np.random.SeedSequence(seed)
    )
    return parent.spawn(n)


def chunks(items: Sequence, size: int) -> list:
    """``items`` cut into consecutive pieces of ``size`` (the last may be shorter)."""
    return [items[i : i + size] for i in range(0, len(items), size)]
