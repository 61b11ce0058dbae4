"""Value of information: the expected value of partial perfect information
(EVPPI) by nonparametric regression on probabilistic draws (Strong, Oakley and
Brennan 2014, Med Decis Making 34:311-326)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import DataError

__all__ = ["evppi_regression"]

#: Degrees of freedom of each parameter's natural cubic regression spline (a
#: tensor product of two for a pair). Strong et al. fit a GAM; an unpenalised
#: spline of this size is as flexible for the smooth relations of a trial's
#: bootstrap and does not need a smoothing parameter chosen.
SPLINE_DF = 6
PAIR_DF = 4


def evppi_regression(
    net_benefit: np.ndarray | pd.Series,
    parameters: pd.DataFrame,
) -> float:
    """Per-person EVPPI of a group of one or two parameters for a choice between
    two options, from their probabilistic draws.

    Parameters
    ----------
    net_benefit : array-like
        Each draw's incremental net benefit of the intervention over the
        comparator (e.g. ``wtp * delta_effect - delta_cost``).
    parameters : pandas.DataFrame
        The same draws of the parameters whose value of information is wanted,
        one column each (one or two columns).

    Returns
    -------
    float
        ``mean(max(g, 0)) - max(mean(g), 0)``, where ``g`` are the fitted values
        of a regression of the net benefit on the parameters: a natural cubic
        regression spline of each (``SPLINE_DF`` degrees of freedom; a
        tensor product of ``PAIR_DF`` each for two), by least squares.

    Raises
    ------
    DataError
        Draws of different lengths, missing or infinite values, fewer draws than
        twice the spline's columns, or more than two parameters.

    Notes
    -----
    Strong, Oakley and Brennan (2014): the conditional expectation of the net
    benefit given the parameters is estimated by regressing the draws of the
    net benefit on the draws of the parameters, so no inner Monte Carlo loop is
    needed. Checked against the closed form of a normal model
    (``tests/test_voi.py``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from cpeval.economics import evppi_regression
    >>> rng = np.random.default_rng(1)
    >>> theta = pd.DataFrame({"effect": rng.normal(0, 1, 5000)})
    >>> inb = 2 * theta["effect"] + rng.normal(0, 1, 5000)
    >>> round(evppi_regression(inb, theta), 1)  # exact: 2 phi(0) = 0.8
    0.8
    """
    from patsy import dmatrix

    frame = pd.DataFrame(parameters)
    try:
        y = np.asarray(net_benefit, dtype=float)
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise DataError(
            "the net benefit and the parameters must be numbers (draws)"
        ) from None
    if len(frame) != len(y):
        raise DataError(
            f"{len(y)} net-benefit draws but {len(frame)} parameter draws: they "
            "must be the same draws"
        )
    if not (np.isfinite(y).all() and np.isfinite(values).all()):
        raise DataError("the draws hold missing or infinite values")
    if frame.shape[1] not in (1, 2):
        raise DataError(
            f"EVPPI here is for groups of one or two parameters; got {frame.shape[1]}"
        )
    data = {f"x{k}": values[:, k] for k in range(values.shape[1])}
    if values.shape[1] == 1:
        spec = f"cr(x0, df={SPLINE_DF}) - 1"
    else:
        spec = f"te(cr(x0, df={PAIR_DF}), cr(x1, df={PAIR_DF})) - 1"
    if any(np.ptp(column) == 0 for column in data.values()):
        return 0.0  # a parameter that does not vary carries no information
    basis = np.asarray(dmatrix(spec, data))
    if len(y) < 2 * basis.shape[1]:
        raise DataError(
            f"{len(y)} draws are too few for the regression ({basis.shape[1]} "
            "columns): use more bootstrap replicates"
        )
    coefficients, *_ = np.linalg.lstsq(basis, y, rcond=None)
    fitted = basis @ coefficients
    return float(np.maximum(fitted, 0).mean() - max(fitted.mean(), 0.0))
