"""Incremental cost-effectiveness: point estimates and the stratified bootstrap."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._parallel import parallel_map, spawn_seeds
from .._results import DescriptiveResults, EstimateResults
from ..exceptions import DataError

__all__ = ["BootstrapCEA", "Incremental", "bootstrap_cea", "incremental", "quadrant"]

QUADRANTS = {
    "NE": "more costly, more effective",
    "SE": "less costly, more effective (dominant)",
    "NW": "more costly, less effective (dominated)",
    "SW": "less costly, less effective",
}


def quadrant(delta_cost: float, delta_effect: float) -> str:
    """The cost-effectiveness plane quadrant (NE, SE, NW, SW) of a difference.

    Parameters
    ----------
    delta_cost, delta_effect : float

    Returns
    -------
    str
        Ties on an axis go to the east (effect) and north (cost) sides.

    Examples
    --------
    >>> from cpeval.economics import quadrant
    >>> quadrant(-1331.0, 0.02)
    'SE'
    """
    north = delta_cost >= 0
    east = delta_effect >= 0
    return ("N" if north else "S") + ("E" if east else "W")


@dataclass(frozen=True, repr=False)
class Incremental(DescriptiveResults):
    """Mean costs and effects by arm and their differences (treated - reference).

    Parameters
    ----------
    mean_cost, mean_effect : mapping
        By arm.
    n : mapping
        Participants by arm.
    delta_cost, delta_effect : float
    icer : float
        ``delta_cost / delta_effect`` (infinite when ``delta_effect`` is 0).
    quadrant : str
    label : str
        "dominant", "dominated", or "ICER" (north-east or south-west).
    """

    mean_cost: dict
    mean_effect: dict
    n: dict
    delta_cost: float
    delta_effect: float
    icer: float
    quadrant: str
    label: str

    _title = "Incremental cost and effect"

    def _header(self) -> list[tuple[str, object]]:
        return [
            ("delta_cost", self.delta_cost),
            ("delta_effect", self.delta_effect),
            ("icer", self.icer),
            ("quadrant", f"{self.quadrant} ({self.label})"),
        ]

    def to_frame(self) -> pd.DataFrame:
        """One row per arm: ``arm``, ``n``, ``mean_cost``, ``mean_effect``."""
        return pd.DataFrame(
            {
                "arm": [str(a) for a in self.mean_cost],
                "n": [int(self.n.get(a, 0)) for a in self.mean_cost],
                "mean_cost": [float(v) for v in self.mean_cost.values()],
                "mean_effect": [float(self.mean_effect[a]) for a in self.mean_cost],
            }
        )

    def inmb(self, wtp: float | Sequence[float]) -> np.ndarray:
        """Incremental net monetary benefit ``wtp * delta_effect - delta_cost``."""
        return np.asarray(wtp, float) * self.delta_effect - self.delta_cost


def incremental(
    data: pd.DataFrame, *, cost: str, effect: str, group: str, treated=1, reference=None
) -> Incremental:
    """Raw incremental costs and effects, the ICER and its quadrant.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant.
    cost, effect, group : str
        Columns: total cost, effect (e.g. QALYs), arm.
    treated
        The intervention arm's value.
    reference, optional
        The comparator's value; needed when there are more than two arms.

    Returns
    -------
    Incremental

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.economics import incremental
    >>> d = pd.DataFrame({"arm": [1, 1, 0, 0], "cost": [100, 300, 400, 400],
    ...                   "qaly": [0.5, 0.7, 0.4, 0.6]})
    >>> res = incremental(d, cost="cost", effect="qaly", group="arm")
    >>> res.delta_cost, round(res.delta_effect, 6), res.label
    (-200.0, 0.1, 'dominant')
    """
    arms, rows = _two_arms(data, cost, effect, group, treated, reference)
    means = rows.groupby(group)[[cost, effect]].mean()
    dc = float(means.loc[arms[0], cost] - means.loc[arms[1], cost])
    de = float(means.loc[arms[0], effect] - means.loc[arms[1], effect])
    quad = quadrant(dc, de)
    label = {"SE": "dominant", "NW": "dominated"}.get(quad, "ICER")
    return Incremental(
        mean_cost=means[cost].to_dict(),
        mean_effect=means[effect].to_dict(),
        n=rows[group].value_counts().to_dict(),
        delta_cost=dc,
        delta_effect=de,
        icer=dc / de if de != 0 else np.copysign(np.inf, dc),
        quadrant=quad,
        label=label,
    )


@dataclass(frozen=True, repr=False)
class BootstrapCEA(EstimateResults):
    """Bootstrap replicates of the incremental cost and effect.

    ``params`` are the two differences (``delta_cost``, ``delta_effect``),
    ``se`` their bootstrap standard errors and ``cov`` the covariance of the
    replicates. ``conf_int(level)`` is the bootstrap **percentile** interval
    (quantiles of the replicates, not ``params -/+ z se``); ``interval()`` also
    gives BCa. There is no bootstrap test: ``pvalues`` are NaN and ``df`` is
    infinite.

    Parameters
    ----------
    delta_cost, delta_effect, icer : float
        Point estimates from the data.
    replicates : pandas.DataFrame
        Columns ``delta_cost`` and ``delta_effect``, one row per replicate.
    seed : int
        The seed used (drawn and recorded when none was given).
    level : float
        Interval level.
    jackknife : pandas.DataFrame, optional
        Leave-one-out (or leave-one-cluster-out) estimates of the two
        differences, for the BCa acceleration.
    influence : pandas.DataFrame, optional
        Each participant's empirical influence on the two differences as R
        ``boot.ci`` finds them for a stratified bootstrap (``y - mean of its
        arm``, negated in the comparator arm), for its BCa acceleration; None
        for a cluster or covariate-adjusted bootstrap.
    """

    delta_cost: float
    delta_effect: float
    icer: float
    replicates: pd.DataFrame
    seed: int | None
    level: float = 0.95
    jackknife: pd.DataFrame | None = None
    influence: pd.DataFrame | None = None

    _title = "Incremental cost and effect, bootstrap"
    _term_label = "quantity"
    df = float("inf")
    n_obs = None

    @property
    def params(self) -> pd.Series:
        """The two differences, ``delta_cost`` and ``delta_effect``."""
        return pd.Series(
            {"delta_cost": self.delta_cost, "delta_effect": self.delta_effect}
        )

    @property
    def pvalues(self) -> pd.Series:
        """NaN: the bootstrap gives intervals, not tests."""
        return pd.Series(np.nan, index=self.params.index)

    @property
    def cov(self) -> pd.DataFrame:
        """Covariance of the replicates."""
        return self.replicates[["delta_cost", "delta_effect"]].cov()

    @property
    def cov_type(self) -> str:
        """``"bootstrap (N replicates)"``."""
        return f"bootstrap ({len(self.replicates)} replicates)"

    def _df_description(self) -> str:
        return "none (percentile interval)"

    def _interval(self, level: float) -> pd.DataFrame:
        limits = [
            self.interval(q, "percentile", level=level) for q in self.params.index
        ]
        return pd.DataFrame(limits, columns=["ci_low", "ci_high"])

    def _interval_note(self) -> str:
        return "Intervals: bootstrap percentile (quantiles of the replicates)"

    def _header(self) -> list[tuple[str, object]]:
        return [
            *super()._header(),
            ("icer", self.icer),
            ("quadrant", self.quadrant),
            ("seed", self.seed),
        ]

    @classmethod
    def from_replicates(
        cls,
        delta_cost: float,
        delta_effect: float,
        replicates: pd.DataFrame,
        level: float = 0.95,
    ) -> BootstrapCEA:
        """Build from given draws (e.g. from another program), for CEAC and EVPI."""
        frame = pd.DataFrame(replicates)[["delta_cost", "delta_effect"]].astype(float)
        icer = (
            delta_cost / delta_effect
            if delta_effect
            else np.copysign(np.inf, delta_cost)
        )
        return cls(float(delta_cost), float(delta_effect), icer, frame, None, level)

    @property
    def quadrant(self) -> str:
        """NE, SE, NW or SW: where the point estimate lies on the CE plane."""
        return quadrant(self.delta_cost, self.delta_effect)

    @property
    def icer_if_meaningful(self) -> float | None:
        """The ICER where it means something (NE: cost per QALY gained; SW:
        saving per QALY lost), ``None`` where one arm dominates (SE, NW) or the
        effect difference is zero.

        Examples
        --------
        >>> from cpeval.economics import BootstrapCEA
        >>> BootstrapCEA.from_replicates(-100.0, 0.1, {"delta_cost": [0.0],
        ...     "delta_effect": [0.0]}).icer_if_meaningful is None
        True
        """
        if self.quadrant in ("SE", "NW") or self.delta_effect == 0:
            return None
        return self.delta_cost / self.delta_effect

    @property
    def se(self) -> pd.Series:
        """Bootstrap standard errors of the two differences (by name)."""
        return self.replicates[["delta_cost", "delta_effect"]].std(ddof=1)

    def inmb(self, wtp: float | Sequence[float]) -> pd.DataFrame:
        """INMB at each willingness to pay, with its percentile interval.

        Parameters
        ----------
        wtp : float or sequence of float

        Returns
        -------
        pandas.DataFrame
            Columns wtp, inmb, ci_low, ci_high.
        """
        grid = _grid(wtp)
        draws = self._inmb_draws(grid)
        tail = (1 - self.level) / 2
        return pd.DataFrame(
            {
                "wtp": grid,
                "inmb": grid * self.delta_effect - self.delta_cost,
                "ci_low": np.quantile(draws, tail, axis=0),
                "ci_high": np.quantile(draws, 1 - tail, axis=0),
            }
        )

    def ceac(self, wtp: float | Sequence[float]) -> pd.DataFrame:
        """Probability that the intervention is cost-effective at each wtp.

        Parameters
        ----------
        wtp : float or sequence of float

        Returns
        -------
        pandas.DataFrame
            Columns ``wtp`` and ``p_cost_effective`` (share of replicates with
            INMB > 0).
        """
        grid = _grid(wtp)
        share = (self._inmb_draws(grid) > 0).mean(axis=0)
        return pd.DataFrame({"wtp": grid, "p_cost_effective": share})

    def ceaf(self, wtp: float | Sequence[float]) -> pd.DataFrame:
        """The acceptability frontier: the option with the higher expected net
        benefit at each wtp, and the probability that it is cost-effective.

        Parameters
        ----------
        wtp : float or sequence of float

        Returns
        -------
        pandas.DataFrame
            Columns ``wtp``, ``optimal`` ("intervention" or "comparator") and
            ``p_optimal``.
        """
        curve = self.ceac(wtp)
        best = _grid(wtp) * self.replicates["delta_effect"].mean()
        intervention = best - self.replicates["delta_cost"].mean() > 0
        return pd.DataFrame(
            {
                "wtp": curve["wtp"],
                "optimal": np.where(intervention, "intervention", "comparator"),
                "p_optimal": np.where(
                    intervention,
                    curve["p_cost_effective"],
                    1 - curve["p_cost_effective"],
                ),
            }
        )

    def evpi(self, wtp: float | Sequence[float]) -> pd.DataFrame:
        """Per-person expected value of perfect information at each wtp.

        Parameters
        ----------
        wtp : float or sequence of float

        Returns
        -------
        pandas.DataFrame
            ``wtp`` and ``evpi = mean(max(INMB, 0)) - max(mean(INMB), 0)`` over the
            replicates (two options; equal to BCEA's definition).
        """
        grid = _grid(wtp)
        draws = self._inmb_draws(grid)
        value = np.maximum(draws, 0).mean(axis=0) - np.maximum(draws.mean(axis=0), 0)
        return pd.DataFrame({"wtp": grid, "evpi": value})

    def evppi(
        self,
        wtp: float | Sequence[float],
        parameters: Sequence[str] = ("delta_effect",),
    ) -> pd.DataFrame:
        """Per-person expected value of partial perfect information about
        ``parameters`` (``"delta_effect"``, ``"delta_cost"`` or both) at each
        wtp, by regression on the replicates (Strong, Oakley and Brennan 2014;
        :func:`~cpeval.economics.evppi_regression`).

        Parameters
        ----------
        wtp : float or sequence of float
        parameters : sequence of str
            One or two of ``delta_effect`` and ``delta_cost``.

        Returns
        -------
        pandas.DataFrame
            ``wtp`` and ``evppi``.

        Examples
        --------
        >>> import pandas as pd
        >>> from cpeval.economics import bootstrap_cea
        >>> d = pd.read_csv("tests/reference/cea/trial.csv")
        >>> res = bootstrap_cea(d, cost="cost", effect="qaly", group="arm",
        ...                     n_boot=1000, seed=1)
        >>> bool((res.evppi([20000])["evppi"] <= res.evpi([20000])["evpi"]).all())
        True
        """
        from ._voi import evppi_regression

        if isinstance(parameters, str):
            parameters = [parameters]
        parameters = list(dict.fromkeys(parameters))
        unknown = [p for p in parameters if p not in ("delta_effect", "delta_cost")]
        if unknown or not parameters:
            raise DataError(
                "parameters must be one or both of 'delta_effect' and 'delta_cost'; "
                f"got {list(parameters)!r}"
            )
        grid = _grid(wtp)
        draws = self._inmb_draws(grid)
        known = self.replicates[parameters]
        value = [evppi_regression(draws[:, k], known) for k in range(len(grid))]
        return pd.DataFrame({"wtp": grid, "evppi": value})

    def quadrants(self) -> pd.DataFrame:
        """Share of replicates in each quadrant of the cost-effectiveness plane."""
        north = self.replicates["delta_cost"] >= 0
        east = self.replicates["delta_effect"] >= 0
        labels = np.where(north, "N", "S").astype(object) + np.where(east, "E", "W")
        shares = pd.Series(labels).value_counts(normalize=True)
        return pd.DataFrame(
            {
                "quadrant": list(QUADRANTS),
                "meaning": list(QUADRANTS.values()),
                "share": [float(shares.get(q, 0.0)) for q in QUADRANTS],
            }
        )

    def interval(
        self,
        quantity: str = "delta_cost",
        method: str = "percentile",
        wtp: float | None = None,
        level: float | None = None,
        acceleration: str = "stratified",
    ) -> tuple[float, float]:
        """Interval of ``delta_cost``, ``delta_effect`` or ``inmb`` (at ``wtp``).

        Parameters
        ----------
        quantity : {"delta_cost", "delta_effect", "inmb"}
        method : {"percentile", "bca"}
            BCa (Efron 1987): bias ``z0 = Phi^-1(share of replicates below the
            estimate)`` and acceleration ``a = sum d^3 / (6 (sum d^2)^1.5)``.
        wtp : float
            Willingness to pay, for ``inmb`` (required there, one number; never
            assumed).
        level : float, optional
            Defaults to the result's ``level``.
        acceleration : {"stratified", "boot.ci"}
            For BCa. ``"stratified"`` (the default): ``d`` are the jackknife
            deviations, leaving out one participant (or cluster) within its
            arm, so each arm's influence is scaled by its size, as a stratified
            resample needs (Davison and Hinkley 1997, section 3.2.1); limits are
            quantiles of the replicates (numpy's default interpolation).
            ``"boot.ci"``: R ``boot.ci(type = "bca")`` exactly: ``d`` are the
            empirical influence values of every participant, unscaled (R's
            regression estimates, ``empinf``, which for a difference of means
            are ``y - mean of its arm``), and limits interpolate the order
            statistics on the normal scale (``norm.inter``). The two agree when
            the arms are the same size; with arms of 140 and 60 the limits
            differ by a few percent of the interval. Not for a cluster or
            covariate-adjusted bootstrap (R has no such ``boot.ci``).

        Returns
        -------
        tuple of float

        Examples
        --------
        >>> import pandas as pd
        >>> from cpeval.economics import bootstrap_cea
        >>> d = pd.read_csv("tests/reference/cea/trial.csv")
        >>> res = bootstrap_cea(d, cost="cost", effect="qaly", group="arm",
        ...                     n_boot=500, seed=1)
        >>> low, high = res.interval("delta_cost", "bca", acceleration="boot.ci")
        >>> bool(low < res.delta_cost < high)
        True
        """
        values, estimate, jack = self._quantity(quantity, wtp)
        tail = (1 - self._level(level)) / 2
        if acceleration not in ("stratified", "boot.ci"):
            raise DataError(
                f"acceleration must be 'stratified' or 'boot.ci'; got {acceleration!r}"
            )
        if method == "percentile":
            return float(np.quantile(values, tail)), float(
                np.quantile(values, 1 - tail)
            )
        if method != "bca":
            raise DataError(f"method must be 'percentile' or 'bca'; got {method!r}")
        from scipy import stats  # here, so that bootstrap workers do not load it

        if acceleration == "boot.ci":
            deviations = self._influence(quantity, wtp)
        elif jack is None:
            raise DataError(
                "BCa needs the jackknife estimates, which this bootstrap does not "
                "have (a covariate-adjusted or pooled bootstrap): use "
                "method='percentile'"
            )
        else:
            deviations = jack.mean() - jack
        z0 = stats.norm.ppf(np.mean(values < estimate))
        accel = bca_acceleration(deviations)
        adjusted = [
            stats.norm.cdf(z0 + z / (1 - accel * z))
            for z in (z0 + stats.norm.ppf(tail), z0 + stats.norm.ppf(1 - tail))
        ]
        if acceleration == "boot.ci":
            low, high = normal_interpolated_quantiles(values, adjusted)
            return low, high
        return float(np.quantile(values, adjusted[0])), float(
            np.quantile(values, adjusted[1])
        )

    def _influence(self, quantity: str, wtp: float) -> np.ndarray:
        if self.influence is None:
            raise DataError(
                "acceleration='boot.ci' needs each participant's influence, which "
                "bootstrap_cea keeps for a stratified participant bootstrap only "
                "(not with cluster= or covariates=): use acceleration='stratified'"
            )
        if quantity == "inmb":
            return (
                wtp * self.influence["delta_effect"] - self.influence["delta_cost"]
            ).to_numpy()
        return self.influence[quantity].to_numpy()

    def _quantity(self, quantity: str, wtp: float | None):
        jack = self.jackknife
        if quantity == "inmb":
            wtp = _one_wtp(wtp)
            values = self._inmb_draws(np.array([wtp]))[:, 0]
            estimate = wtp * self.delta_effect - self.delta_cost
            if jack is not None:
                jack = wtp * jack["delta_effect"] - jack["delta_cost"]
            return values, estimate, None if jack is None else jack.to_numpy()
        if quantity not in ("delta_cost", "delta_effect"):
            raise DataError(
                f"quantity must be delta_cost, delta_effect or inmb; got {quantity!r}"
            )
        values = self.replicates[quantity].to_numpy()
        return (
            values,
            getattr(self, quantity),
            None if jack is None else jack[quantity].to_numpy(),
        )

    def _inmb_draws(self, grid: np.ndarray) -> np.ndarray:
        de = self.replicates["delta_effect"].to_numpy()[:, None]
        dc = self.replicates["delta_cost"].to_numpy()[:, None]
        return grid[None, :] * de - dc


def _one_wtp(wtp) -> float:
    """The willingness to pay of an INMB interval: one finite number, given."""
    if wtp is None:
        raise DataError(
            "the INMB interval needs the willingness to pay per unit of effect: "
            "give wtp= (e.g. wtp=20000)"
        )
    if isinstance(wtp, str | bytes) or np.ndim(wtp) != 0:
        raise DataError(f"wtp must be one number for an interval; got {wtp!r}")
    try:
        value = float(wtp)
    except (TypeError, ValueError):
        raise DataError(f"wtp must be a number; got {wtp!r}") from None
    if not np.isfinite(value):
        raise DataError(f"wtp must be a finite number; got {wtp!r}")
    return value


def bca_acceleration(deviations: np.ndarray) -> float:
    """``sum d^3 / (6 (sum d^2)^1.5)``: the BCa acceleration from jackknife
    deviations or empirical influence values ``d`` (Efron 1987; R boot's
    ``bca.ci``)."""
    d = np.asarray(deviations, float)
    return float((d**3).sum() / (6 * ((d**2).sum()) ** 1.5))


def normal_interpolated_quantiles(values: np.ndarray, probs) -> tuple[float, ...]:
    """Quantiles as R boot's ``norm.inter``: order statistic ``k = trunc((R + 1)
    p)``, interpolated between ``k`` and ``k + 1`` on the normal scale (the
    extreme order statistic where ``k`` is 0 or R)."""
    from scipy import stats

    t = np.sort(np.asarray(values, float)[np.isfinite(values)])
    n = len(t)
    out = []
    for p in probs:
        rank = (n + 1) * p
        k = int(np.trunc(rank))
        if k == rank and 0 < k <= n:
            out.append(float(t[k - 1]))
        elif k <= 0:
            out.append(float(t[0]))
        elif k >= n:
            out.append(float(t[-1]))
        else:
            lo, hi = stats.norm.ppf(k / (n + 1)), stats.norm.ppf((k + 1) / (n + 1))
            share = (stats.norm.ppf(p) - lo) / (hi - lo)
            out.append(float(t[k - 1] + share * (t[k] - t[k - 1])))
    return tuple(out)


def _grid(wtp) -> np.ndarray:
    """Willingness-to-pay values as a 1-d float array; negative values refused."""
    grid = np.atleast_1d(np.asarray(wtp, float))
    if (grid < 0).any():
        raise DataError(
            f"willingness to pay must be 0 or more; got {grid[grid < 0][0]}"
        )
    return grid


def bootstrap_cea(
    data: pd.DataFrame,
    *,
    cost: str,
    effect: str,
    group: str,
    treated=1,
    reference=None,
    n_boot: int = 5000,
    seed: int | None = None,
    cluster: str | None = None,
    covariates: Sequence[str] | None = None,
    level: float = 0.95,
    n_jobs: int = 1,
    client=None,
) -> BootstrapCEA:
    """Non-parametric bootstrap of participants (or clusters), stratified by arm.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant with complete cost and effect.
    cost, effect, group : str
    treated
        The intervention arm's value.
    reference, optional
        The comparator (needed with more than two arms).
    n_boot : int
        Replicates (5000 by default; the anchors' defaults range from 50 to 9999).
    seed : int, optional
        Seed of numpy's default generator; drawn from the OS and recorded in the
        result when not given, so that every run can be repeated.
    cluster : str, optional
        Cluster column: a two-stage bootstrap (clusters with replacement within
        each arm, then participants with replacement within each drawn cluster).
    covariates : sequence of str, optional
        Regression-adjusted differences: each replicate (and the point estimate)
        is the arm coefficient of OLS of cost, and of effect, on the arm and these
        covariates (e.g. baseline utility for QALYs). Not with ``cluster``.
    level : float
        Interval level.
    n_jobs : int
        Worker processes (joblib); -1 for every core.
    client : dask.distributed.Client, optional
        Run on this Dask cluster. The replicates come in blocks of 1,000, each
        from its own stream spawned from ``seed``, so they are the same for any
        ``n_jobs`` or backend.

    Returns
    -------
    BootstrapCEA

    Notes
    -----
    Each replicate draws, within each arm, as many participants as it has, with
    replacement, and takes the difference of the arms' mean costs and effects.
    Standard errors and CEAC agree with R ``boot(..., strata = arm)`` within Monte
    Carlo error (``tests/reference/cea``). The two-stage cluster bootstrap
    (Davison & Hinkley 1997, section 3.8; Bachmann et al. 2007) is used without a
    shrinkage correction: its variance slightly exceeds the target when the
    within-cluster variance dominates, and with few clusters (under about 24 per
    arm, Flynn & Peters 2004) its intervals can be too narrow.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.economics import bootstrap_cea
    >>> d = pd.read_csv("tests/reference/cea/trial.csv")
    >>> res = bootstrap_cea(d, cost="cost", effect="qaly", group="arm",
    ...                     n_boot=200, seed=1)
    >>> len(res.replicates)
    200
    """
    if n_boot < 2:
        raise DataError(f"n_boot must be 2 or more; got {n_boot}")
    arms, rows = _two_arms(data, cost, effect, group, treated, reference)
    point = incremental(
        rows, cost=cost, effect=effect, group=group, treated=arms[0], reference=arms[1]
    )
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**32))
    if covariates:
        if cluster is not None:
            raise DataError(
                "covariates and cluster cannot be combined in one bootstrap"
            )
        return _adjusted_bootstrap(
            rows,
            cost,
            effect,
            group,
            arms,
            list(covariates),
            n_boot,
            seed,
            level,
            n_jobs,
            client,
        )
    parts = []
    for arm in arms:
        in_arm = rows[rows[group] == arm]
        values = in_arm[[cost, effect]].to_numpy(float)
        parts.append((values, None if cluster is None else in_arm[cluster].to_numpy()))
    if cluster is not None and min(len(np.unique(c)) for _, c in parts) < 2:
        raise DataError("a cluster bootstrap needs two or more clusters in each arm")
    blocks = _blocks(n_boot, seed)
    tasks = [(parts, size, stream) for size, stream in blocks]
    means = np.vstack(parallel_map(_block_means, tasks, n_jobs=n_jobs, client=client))
    replicates = pd.DataFrame(means, columns=["delta_cost", "delta_effect"])
    jack = _jackknife(rows, cost, effect, group, arms, cluster)
    influence = None if cluster else _influence(rows, cost, effect, group, arms)
    return BootstrapCEA(
        point.delta_cost,
        point.delta_effect,
        point.icer,
        replicates,
        seed,
        level,
        jack,
        influence,
    )


def _adjusted_bootstrap(
    rows,
    cost,
    effect,
    group,
    arms,
    covariates,
    n_boot,
    seed,
    level,
    n_jobs=1,
    client=None,
) -> BootstrapCEA:
    """Arm coefficients of OLS per replicate, by batched weighted normal equations."""
    absent = [c for c in covariates if c not in rows.columns]
    if absent:
        raise DataError(f"the data have no covariates {absent}")
    if rows[covariates].isna().any().any():
        raise DataError("covariates have missing values; impute them first")
    order = np.concatenate([np.flatnonzero(rows[group].to_numpy() == a) for a in arms])
    x = np.column_stack(
        [
            np.ones(len(rows)),
            (rows[group] == arms[0]).astype(float),
            rows[covariates].to_numpy(float),
        ]
    )[order]
    y = rows[[cost, effect]].to_numpy(float)[order]
    point = np.linalg.lstsq(x, y, rcond=None)[0][1]
    sizes = [int((rows[group] == a).sum()) for a in arms]
    tasks = [(x, y, sizes, size, stream) for size, stream in _blocks(n_boot, seed)]
    out = np.vstack(parallel_map(_adjusted_block, tasks, n_jobs=n_jobs, client=client))
    replicates = pd.DataFrame(out, columns=["delta_cost", "delta_effect"])
    icer = point[0] / point[1] if point[1] else np.copysign(np.inf, point[0])
    return BootstrapCEA(float(point[0]), float(point[1]), icer, replicates, seed, level)


BLOCK = 1000  # replicates per random stream, whatever the number of workers


def _blocks(n_boot: int, seed: int) -> list[tuple[int, np.random.SeedSequence]]:
    """Block sizes with their own streams, spawned from ``seed``."""
    sizes = [min(BLOCK, n_boot - start) for start in range(0, n_boot, BLOCK)]
    return list(zip(sizes, spawn_seeds(seed, len(sizes)), strict=True))


def _block_means(parts, size: int, stream) -> np.ndarray:
    """``size`` replicates of the difference in (cost, effect) means between the
    two arms; ``parts`` holds each arm's values and clusters (or None)."""
    rng = np.random.default_rng(stream)
    means = [
        _resampled_means(values, size, rng)
        if clusters is None
        else _two_stage_means(values, clusters, size, rng)
        for values, clusters in parts
    ]
    return means[0] - means[1]


CELLS = 1 << 23  # resampled cells held at once (working memory stays bounded)
#: Resampled cells per chunk of a participant bootstrap: indices (4 bytes) and
#: gathered values (16) fit in a core's L2 cache.
CACHE_CELLS = 1 << 16


def _adjusted_block(x, y, sizes, size: int, stream) -> np.ndarray:
    """``size`` replicates of the arm coefficients, by weighted normal equations
    (the weights count how often each row is drawn)."""
    rng = np.random.default_rng(stream)
    starts = np.cumsum([0, *sizes[:-1]])
    n = len(x)
    out = []
    step = max(1, min(size, CELLS // n))
    for done in range(0, size, step):
        part = min(step, size - done)
        idx = np.concatenate(
            [
                start + rng.integers(0, m, size=(part, m))
                for start, m in zip(starts, sizes, strict=True)
            ],
            axis=1,
        )
        flat = (idx + np.arange(part)[:, None] * n).ravel()
        w = np.bincount(flat, minlength=part * n).reshape(part, n).astype(float)
        xtwx = np.einsum("bi,ij,ik->bjk", w, x, x)
        xtwy = np.einsum("bi,ij,ik->bjk", w, x, y)
        out.append(np.linalg.solve(xtwx, xtwy)[:, 1, :])
    return np.vstack(out)


def _jackknife(rows, cost, effect, group, arms, cluster) -> pd.DataFrame:
    """Leave one participant (or cluster) out, within its arm; closed form for means."""
    parts = []
    sums = {}
    for arm in arms:
        in_arm = rows[rows[group] == arm]
        if not cluster:  # each participant is a unit: its sums are its values
            values = in_arm[[cost, effect]].to_numpy()
            sums[arm] = (values, np.ones(len(values), dtype=np.int64))
            continue
        grouped = in_arm.groupby(in_arm[cluster].to_numpy())[[cost, effect]]
        sums[arm] = (grouped.sum().to_numpy(), grouped.size().to_numpy())
    means = {a: s.sum(axis=0) / n.sum() for a, (s, n) in sums.items()}
    for k, arm in enumerate(arms):
        unit_sums, unit_sizes = sums[arm]
        left = (unit_sums.sum(axis=0) - unit_sums) / (unit_sizes.sum() - unit_sizes)[
            :, None
        ]
        other = means[arms[1 - k]]
        parts.append(left - other if k == 0 else means[arms[0]] - left)
    return pd.DataFrame(np.vstack(parts), columns=["delta_cost", "delta_effect"])


def _influence(rows, cost, effect, group, arms) -> pd.DataFrame:
    """Each participant's empirical influence on the two differences of means,
    as R boot's ``empinf`` (regression) finds it for a stratified bootstrap:
    ``y - mean of its arm``, negated in the comparator arm (arms in order)."""
    parts = []
    for sign, arm in zip((1.0, -1.0), arms, strict=True):
        values = rows.loc[rows[group] == arm, [cost, effect]].to_numpy(float)
        parts.append(sign * (values - values.mean(axis=0)))
    return pd.DataFrame(np.vstack(parts), columns=["delta_cost", "delta_effect"])


def _resampled_means(values: np.ndarray, n_boot: int, rng) -> np.ndarray:
    """Means of n_boot resamples (with replacement) of the rows of ``values``.

    The two columns (cost, effect) travel together as one complex number, so each
    resample needs one gather. Resamples come a few at a time (``CACHE_CELLS``),
    so that the indices, the gathered values and their sums stay in the CPU
    cache; the draws are one stream whatever the chunk, and each resample's sum
    is numpy's over its own row, so the means do not depend on the chunk.
    """
    n = len(values)
    chunk = max(1, min(n_boot, CACHE_CELLS // n))
    packed = values[:, 0] + 1j * values[:, 1]
    gathered = np.empty((chunk, n), dtype=complex)
    sums = np.empty(n_boot, dtype=complex)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        rows = rng.integers(0, n, size=(size, n), dtype=np.int32)
        # Every index is drawn inside [0, n), so no bounds check is needed;
        # mode="clip" skips numpy's checked path (more than twice as fast).
        np.take(packed, rows, out=gathered[:size], mode="clip")
        gathered[:size].sum(axis=1, out=sums[start : start + size])
    out = np.empty((n_boot, 2))
    np.divide(sums.real, n, out=out[:, 0])
    np.divide(sums.imag, n, out=out[:, 1])
    return out


def _two_stage_means(
    values: np.ndarray, clusters: np.ndarray, n_boot: int, rng
) -> np.ndarray:
    """Means of two-stage resamples: clusters, then participants within them."""
    order = np.argsort(clusters, kind="stable")
    packed = (values[:, 0] + 1j * values[:, 1])[order]
    _, starts, sizes = np.unique(clusters[order], return_index=True, return_counts=True)
    n_clusters, widest = len(sizes), int(sizes.max())
    if n_clusters < 2:
        raise DataError("a cluster bootstrap needs two or more clusters in each arm")
    slots = np.arange(widest)
    chunk = max(1, min(500, CELLS // (n_clusters * widest)))
    out = np.empty((n_boot, 2))
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        chosen = rng.integers(0, n_clusters, size=(size, n_clusters))
        width = sizes[chosen][..., None]
        draws = np.floor(rng.random((size, n_clusters, widest)) * width).astype(
            np.int64
        )
        used = slots[None, None, :] < width
        rows = np.where(used, starts[chosen][..., None] + draws, 0)
        sums = np.where(used, np.take(packed, rows, mode="clip"), 0).sum(axis=(1, 2))
        counts = sizes[chosen].sum(axis=1)
        out[start : start + size, 0] = sums.real / counts
        out[start : start + size, 1] = sums.imag / counts
    return out


def _two_arms(data, cost, effect, group, treated, reference):
    absent = [c for c in (cost, effect, group) if c not in data.columns]
    if absent:
        raise DataError(f"the data have no columns {absent}")
    arms = list(pd.unique(data[group].dropna()))
    if treated not in arms:
        shown = ", ".join(repr(a) for a in sorted(arms, key=str)[:6])
        raise DataError(
            f"no participants in the intervention arm {treated!r} of '{group}' "
            f"(it holds {shown}): give the intervention's value as treated="
        )
    if reference is None:
        if len(arms) != 2:
            raise DataError(
                f"{len(arms)} arms found ({arms}); name the comparator with reference="
            )
        reference = next(a for a in arms if a != treated)
    elif reference not in arms:
        raise DataError(f"no participants in the reference arm {reference!r}")
    rows = data[data[group].isin([treated, reference])]
    if rows[[cost, effect]].isna().any().any():
        raise DataError(
            "costs or effects are missing for some participants: impute them "
            "(cpeval.missing) or restrict to complete cases explicitly"
        )
    return (treated, reference), rows
