"""BLAS threads: one thread around small dense algebra.

On small matrices (a mixed model's fixed effects, a Schur complement of a few
hundred random effects, a per-replicate regression) a second OpenBLAS thread
costs more than it saves: measured on a 2-core machine, a 160 x 160 Cholesky
took 14 ms on two busy threads and 0.6 ms on one, and the implementation study's
outcome analyses 15.5 s against 11.3 s (scipy issues 22438, 23191).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cache

__all__ = ["one_blas_thread"]

#: BLAS threads inside :func:`one_blas_thread`.
BLAS_THREADS = 1


@cache
def _controller():
    """The loaded BLAS libraries, found once (a search costs 25 ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread() -> AbstractContextManager:
    """A context in which BLAS uses ``BLAS_THREADS`` thread(s); nested uses are
    harmless and the previous limits come back on exit.

    Examples
    --------
    >>> import numpy as np
    >>> with one_blas_thread():
    ...     float(np.linalg.det(np.eye(3)))
    1.0
    """
    return _controller().limit(limits=BLAS_THREADS, user_api="blas")
