"""Random-effect terms in lme4's formulation: the formula, ``Z`` and ``Lambda(theta)``.

``y ~ time * arm + (1 + time | team) + (1 | team:wave) + (1 | id)`` is read as in
lme4 (Bates, Maechler, Bolker and Walker 2015, *J Stat Softw* 67(1), section 2):

- each bar term ``(expr | g)`` has a model matrix ``X_i`` of ``expr`` (``k``
  columns; ``1 + time``, ``time`` or ``0 + time``, patsy syntax) and a grouping
  factor ``g`` (a column, ``a:b`` for combinations, ``a/b`` for ``a`` and ``b``
  within ``a``, lme4's ``(1 | a) + (1 | b:a)``);
- ``(expr || g)`` is one term for each term of ``expr`` (uncorrelated), as lme4's
  ``expandDoubleVerts``;
- ``Z_i`` is ``n x (levels k)``, its columns level-major (for each level, its
  ``k`` columns), and ``Lambda_i`` is block-diagonal with one lower-triangular
  ``k x k`` block ``T_i`` per level; ``theta`` holds the lower triangles
  column by column (lme4's ``theta``), and the terms are ordered by decreasing
  number of levels (lme4's ``mkReTrms``).

The covariance of the observations is ``sigma^2 (I + Z Lambda Lambda' Z')``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..exceptions import DataError
from ._formula import patsy_matrices

__all__ = [
    "RandomTerm",
    "RandomTerms",
    "build_terms",
    "complete_rows",
    "split_formula",
    "varcorr",
]

_QUOTED = re.compile(r"""^Q\((["'])(.+)\1\)$""")


def lower_pairs(k: int) -> list[tuple[int, int]]:
    """Positions ``(row, column)`` of a ``k x k`` lower triangle, column by
    column: the order of a term's elements of ``theta`` (lme4)."""
    return [(i, j) for j in range(k) for i in range(j, k)]


@dataclass(frozen=True)
class BarTerm:
    """One ``(expr | group)`` term as written, before expansion."""

    expr: str
    group: str
    correlated: bool


def split_formula(formula: str) -> tuple[str, list[BarTerm]]:
    """The fixed-effects formula and the bar terms of an lme4 formula.

    Parameters
    ----------
    formula : str
        ``"y ~ x + (1 + x | g) + (1 | h)"``.

    Returns
    -------
    fixed : str
        ``"y ~ x"`` (``"y ~ 1"`` when only bar terms are on the right).
    bars : list of BarTerm

    Raises
    ------
    DataError
        No ``~``, unbalanced parentheses, or a bar term without an expression
        or a group.

    Examples
    --------
    >>> fixed, bars = split_formula("Reaction ~ Days + (Days || Subject)")
    >>> fixed, [(b.expr, b.group, b.correlated) for b in bars]
    ('Reaction ~ Days', [('Days', 'Subject', False)])
    """
    if formula.count("~") != 1:
        raise DataError(f"the model {formula!r} needs one '~' (outcome ~ terms)")
    lhs, rhs = formula.split("~")
    pieces = _top_level_terms(rhs, formula)
    fixed, bars = [], []
    for sign, piece in pieces:
        bar = _bar(piece, formula)
        if bar is None:
            fixed.append(f"{sign} {piece}" if fixed or sign == "-" else piece)
        elif sign == "-":
            raise DataError(f"the model {formula!r} subtracts a random term: {piece}")
        else:
            bars.append(bar)
    right = " ".join(fixed) if fixed else "1"
    if right.startswith("- "):
        right = "1 " + right
    return f"{lhs.strip()} ~ {right}", bars


def _top_level_terms(rhs: str, formula: str) -> list[tuple[str, str]]:
    """Split at ``+``/``-`` outside parentheses and quotes: (sign, text) pairs."""
    pieces: list[tuple[str, str]] = []
    depth, quote, start, sign = 0, "", 0, "+"
    for i, ch in enumerate(rhs):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise DataError(f"the model {formula!r} has an unmatched ')'")
        elif depth == 0 and ch in "+-":
            if rhs[start:i].strip():
                pieces.append((sign, rhs[start:i].strip()))
            sign, start = ch, i + 1
    if depth or quote:
        raise DataError(f"the model {formula!r} has an unclosed '(' or quote")
    if rhs[start:].strip():
        pieces.append((sign, rhs[start:].strip()))
    return pieces


def _bar(piece: str, formula: str) -> BarTerm | None:
    """A bar term ``(expr | g)`` or ``(expr || g)``, or None for a fixed term."""
    if not (piece.startswith("(") and piece.endswith(")")):
        return None
    inner = piece[1:-1]
    depth, quote = 0, ""
    for i, ch in enumerate(inner):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif ch == "|" and depth == 0:
            double = inner[i + 1 : i + 2] == "|"
            expr = inner[:i].strip()
            group = inner[i + (2 if double else 1) :].strip()
            if not expr or not group:
                raise DataError(
                    f"the random term {piece!r} in {formula!r} needs an expression "
                    "and a group, as (1 | team) or (1 + time | id)"
                )
            return BarTerm(expr, group, correlated=not double)
    return None


def _group_columns(group: str, formula: str) -> list[list[str]]:
    """Grouping factors of ``a``, ``a:b``, ``a/b`` (lme4: ``a`` and ``b:a``)."""
    nests = [part.strip() for part in group.split("/")]
    factors = []
    for depth in range(1, len(nests) + 1):
        names = []
        for part in reversed(nests[:depth]):
            for name in part.split(":"):
                name = name.strip()
                quoted = _QUOTED.match(name)
                names.append(quoted.group(2) if quoted else name)
        if any(not n for n in names):
            raise DataError(f"cannot read the group {group!r} in {formula!r}")
        factors.append(names)
    return factors


@dataclass(frozen=True)
class RandomTerm:
    """One expanded random-effect term.

    Parameters
    ----------
    group : str
        The grouping factor's name as lme4 prints it (``"team"``, ``"cask:batch"``).
    columns : tuple of str
        Names of the ``k`` random effects per level (``"(Intercept)"``, ``"time"``).
    levels : int
        Levels of the grouping factor among the rows used.
    codes : numpy.ndarray
        Level of each row, ``0 .. levels - 1``.
    matrix : numpy.ndarray
        ``n x k``: the term's model matrix.
    """

    group: str
    columns: tuple[str, ...]
    levels: int
    codes: np.ndarray
    matrix: np.ndarray

    @property
    def k(self) -> int:
        return len(self.columns)

    @property
    def n_theta(self) -> int:
        return self.k * (self.k + 1) // 2

    def z(self) -> sp.csc_matrix:
        """``Z_i``: ``n x (levels k)``, level-major columns."""
        n, k = self.matrix.shape
        rows = np.repeat(np.arange(n), k)
        cols = (self.codes[:, None] * k + np.arange(k)).ravel()
        shape = (n, self.levels * k)
        return sp.csc_matrix((self.matrix.ravel(), (rows, cols)), shape=shape)

    def theta_names(self) -> list[str]:
        """lme4's names: ``group.col`` on the diagonal, ``group.col2.col1`` below."""
        names = []
        for i, j in lower_pairs(self.k):
            tail = self.columns[i] if i == j else f"{self.columns[i]}.{self.columns[j]}"
            names.append(f"{self.group}.{tail}")
        return names


@dataclass(frozen=True)
class RandomTerms:
    """All random-effect terms of a model, in lme4's order.

    ``theta`` is the concatenation of each term's lower triangle (column-major);
    ``lower`` is 0 for standard deviations (diagonals) and ``-inf`` for
    off-diagonals, and ``start`` is lme4's (1 on diagonals, 0 below).
    """

    terms: tuple[RandomTerm, ...]
    n: int

    @cached_property
    def z(self) -> sp.csc_matrix:
        return sp.hstack([t.z() for t in self.terms], format="csc")

    @property
    def q(self) -> int:
        return sum(t.levels * t.k for t in self.terms)

    @cached_property
    def diagonal(self) -> np.ndarray:
        """True for the theta elements on a diagonal (standard deviations)."""
        flags = []
        for t in self.terms:
            flags += [i == j for i, j in lower_pairs(t.k)]
        return np.array(flags)

    @property
    def lower(self) -> np.ndarray:
        return np.where(self.diagonal, 0.0, -np.inf)

    @property
    def start(self) -> np.ndarray:
        return self.diagonal.astype(float)

    @property
    def scalar(self) -> bool:
        """Every term a single random intercept or slope (``k = 1``)."""
        return all(t.k == 1 for t in self.terms)

    def theta_names(self) -> list[str]:
        return [name for t in self.terms for name in t.theta_names()]

    @cached_property
    def _lambda_template(self) -> tuple[sp.csc_matrix, np.ndarray]:
        """The sparsity pattern of ``Lambda`` and, for each stored value, the
        index of the theta element it holds (lme4's ``Lind``)."""
        rows, cols, index = [], [], []
        offset, start = 0, 0
        for t in self.terms:
            k = t.k
            lower = lower_pairs(k)
            base = np.arange(t.levels) * k + offset
            for position, (i, j) in enumerate(lower):
                rows.append(base + i)
                cols.append(base + j)
                index.append(np.full(t.levels, start + position))
            offset += t.levels * k
            start += t.n_theta
        r, c, ix = (np.concatenate(v) for v in (rows, cols, index))
        order = np.lexsort((r, c))  # column-major, as CSC stores values
        template = sp.csc_matrix(
            (np.ones(len(r)), (r[order], c[order])), shape=(self.q, self.q)
        )
        template.sort_indices()
        return template, ix[order]

    def lambda_(self, theta: np.ndarray) -> sp.csc_matrix:
        """``Lambda(theta)``, ``q x q`` lower-triangular, block-diagonal."""
        template, lind = self._lambda_template
        out = template.copy()
        out.data = np.asarray(theta, float)[lind]
        return out


def build_terms(
    data: pd.DataFrame, bars: list[BarTerm], formula: str, *, allow_n: bool = False
) -> RandomTerms:
    """Expand the bar terms on the rows of ``data`` (all complete).

    ``allow_n`` allows as many random effects as observations (an
    observation-level random effect), as lme4's ``glmer`` does
    (``allow.n = TRUE``); ``lmer`` refuses it (the default here).

    Raises
    ------
    DataError
        A grouping column is missing, a grouping factor has one level, or a
        term has more random effects per level than observations.
    """
    terms: list[RandomTerm] = []
    for bar in bars:
        for columns in _group_columns(bar.group, formula):
            codes = group_codes(data, columns)
            name = ":".join(columns)
            for expr_columns, matrix in _expr_blocks(data, bar, formula):
                terms.append(
                    RandomTerm(name, expr_columns, int(codes.max()) + 1, codes, matrix)
                )
    _check_terms(terms, len(data), formula, allow_n)
    levels = np.array([t.levels for t in terms])
    order = np.arange(len(terms))
    if np.any(np.diff(levels) > 0):  # lme4's mkReTrms: rev(order(nl)) only then
        order = np.argsort(levels, kind="stable")[::-1]
    return RandomTerms(tuple(terms[i] for i in order), n=len(data))


def group_codes(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The number of each row's combination of ``columns`` (no missing
    values), as a sorted ``data.groupby(columns, observed=True).ngroup()``
    numbers them, from one sorted factorisation per column.

    Examples
    --------
    >>> d = pd.DataFrame({"site": ["b", "a", "b"], "team": [2, 1, 1]})
    >>> group_codes(d, ["site", "team"]).tolist()
    [2, 0, 1]
    """
    combined = np.zeros(len(data), dtype=np.int64)
    for column in columns:
        own, labels = pd.factorize(data[column], sort=True)
        combined = combined * len(labels) + own
        combined = np.unique(combined, return_inverse=True)[1].astype(np.int64)
    return combined


def complete_rows(data: pd.DataFrame, bars: list[BarTerm], formula: str) -> pd.Index:
    """Rows with every grouping column and random-effect variable present
    (``data``'s index is unique), in ``data``'s order."""
    keep = np.ones(len(data), dtype=bool)
    for bar in bars:
        for columns in _group_columns(bar.group, formula):
            absent = [c for c in columns if c not in data.columns]
            if absent:
                raise DataError(
                    f"the model {formula!r} groups by a column the data do not "
                    f"have: {absent[0]!r}"
                )
            keep &= data[columns].notna().all(axis=1).to_numpy()
        if bar.expr == "1":  # a random intercept uses no variable
            continue
        matrix = patsy_matrices(bar.expr, data, formula=formula)
        keep &= data.index.isin(matrix.index)
    return data.index[keep]


def _expr_blocks(data: pd.DataFrame, bar: BarTerm, formula: str):
    """(column names, n x k matrix) of each term of the expression: one block
    for ``|``, one per patsy term (the intercept its own) for ``||``."""
    if bar.expr == "1":  # the common case, without patsy's overhead
        return [(("(Intercept)",), np.ones((len(data), 1)))]
    matrix = patsy_matrices(bar.expr, data, formula=formula, na_action="raise")
    names = [_lme4_name(c) for c in matrix.columns]
    values = matrix.to_numpy(float)
    if bar.correlated:
        return [(tuple(names), values)]
    blocks = []
    for term_slice in matrix.design_info.term_slices.values():
        blocks.append((tuple(names[term_slice]), values[:, term_slice]))
    return blocks


def _lme4_name(column: str) -> str:
    return "(Intercept)" if column == "Intercept" else column


def _check_terms(
    terms: list[RandomTerm], n: int, formula: str, allow_n: bool = False
) -> None:
    for t in terms:
        if t.levels < 2:
            raise DataError(
                f"the grouping factor '{t.group}' in {formula!r} has one level among "
                "the rows used: a random effect needs two or more (lme4 refuses it "
                "too: grouping factors must have > 1 sampled level)"
            )
        if t.levels * t.k > n or (t.levels * t.k == n and not allow_n):
            raise DataError(
                f"the random term ({' + '.join(t.columns)} | {t.group}) in "
                f"{formula!r} has {t.levels * t.k} random effects for {n} rows: "
                "its variance cannot be told from the residual (lme4 refuses it "
                "too: number of observations <= number of random effects); drop "
                "the term, or a slope"
            )


def varcorr(
    blocks: Sequence[tuple[str, Sequence[str]]],
    theta: np.ndarray,
    sigma: float = 1.0,
    residual: bool = True,
) -> pd.DataFrame:
    """lme4's ``as.data.frame(VarCorr(fit))``: ``grp``, ``var1``, ``var2``,
    ``vcov`` (variance or covariance), ``sdcor`` (SD or correlation).

    Parameters
    ----------
    blocks : sequence of (group, columns)
        Each term's grouping factor and random effects, in theta's order.
    theta : numpy.ndarray
        The relative Cholesky factors, each term's lower triangle by column.
    sigma : float
        The residual SD (1 for a GLMM).
    residual : bool
        Add the ``Residual`` row (linear mixed models).

    Examples
    --------
    >>> varcorr([("g", ["(Intercept)"])], np.array([0.5]), 2.0)["vcov"].tolist()
    [1.0, 4.0]
    """
    rows, start = [], 0
    for group, columns in blocks:
        k = len(columns)
        tri = np.zeros((k, k))
        for position, (i, j) in enumerate(lower_pairs(k)):
            tri[i, j] = theta[start + position]
        start += k * (k + 1) // 2
        cov = sigma**2 * tri @ tri.T
        sd = np.sqrt(np.diag(cov))
        rows += [(group, columns[i], None, cov[i, i], sd[i]) for i in range(k)]
        for j in range(k):
            for i in range(j + 1, k):
                denom = sd[i] * sd[j]
                corr = cov[i, j] / denom if denom > 0 else np.nan
                rows.append((group, columns[j], columns[i], cov[i, j], corr))
    if residual:
        rows.append(("Residual", None, None, sigma**2, sigma))
    return pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])
