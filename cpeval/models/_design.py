"""Design quantities for clustered studies."""

from __future__ import annotations

from ..exceptions import DataError

__all__ = ["design_effect"]


def design_effect(icc: float, mean_cluster_size: float, cv: float = 0.0) -> float:
    """Variance inflation of a cluster design with unequal cluster sizes.

    Parameters
    ----------
    icc : float
        Intracluster correlation (0 to 1).
    mean_cluster_size : float
        Mean number of participants per cluster (at least 1).
    cv : float
        Coefficient of variation of the cluster sizes (SD / mean); 0 for equal
        sizes.

    Returns
    -------
    float
        ``1 + ((cv^2 + 1) m - 1) icc`` (Eldridge, Ashby & Kerry 2006, Int J
        Epidemiol 35:1292-1300); with ``cv = 0`` the usual ``1 + (m - 1) icc``.

    Examples
    --------
    >>> from cpeval.models import design_effect
    >>> design_effect(0.05, 16)
    1.75
    >>> round(design_effect(0.05, 16, cv=0.5), 4)
    1.95
    """
    if not 0 <= icc <= 1:
        raise DataError(f"icc must be between 0 and 1; got {icc}")
    if mean_cluster_size < 1 or cv < 0:
        raise DataError(
            f"need mean_cluster_size >= 1 and cv >= 0; got {mean_cluster_size}, {cv}"
        )
    return 1 + ((cv**2 + 1) * mean_cluster_size - 1) * icc
