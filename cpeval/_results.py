"""One small base for every result object: text summary, HTML, tidy frame, intervals.

Every result cpeval returns reads the same way in a notebook or a console:

- ``summary()`` returns a :class:`Summary`, whose ``str`` is a fixed-width text
  table (a header block, then the coefficient table), as statsmodels and
  linearmodels print;
- ``repr(result)`` is one short line, never a dump of arrays;
- ``_repr_html_()`` is an HTML table (every string escaped) for Jupyter;
- ``to_frame()`` is a tidy :class:`pandas.DataFrame`.

Estimate results (:class:`EstimateResults`) also share one vocabulary:
``params``, ``se``, ``df``, ``pvalues``, ``cov``, ``n_obs``, ``cov_type``, and
``conf_int(level=)`` computed at call time. Older names stay for one release as
:func:`deprecated_alias` properties that warn.

Intervals and p-values come from :mod:`cpeval.models._intervals` only.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import DataError

__all__ = [
    "DescriptiveResults",
    "EstimateResults",
    "Results",
    "Summary",
    "deprecated_alias",
]

MIN_WIDTH = 64
REPR_LIMIT = 240  # characters of repr(result)
ESTIMATE_COLUMNS = ["params", "se", "df", "statistic", "pvalues", "ci_low", "ci_high"]


def deprecated_alias(new: str, old: str) -> property:
    """A read-only property ``old`` that warns and returns attribute ``new``.

    Parameters
    ----------
    new : str
        The attribute in the current vocabulary.
    old : str
        The previous name, kept for one release.

    Returns
    -------
    property
        Its getter emits :class:`DeprecationWarning` ("``old`` is deprecated; use
        ``new``; the alias goes in the next release") and returns ``new``.

    Examples
    --------
    >>> import warnings
    >>> class Fit:
    ...     se = 0.5
    ...     bse = deprecated_alias("se", "bse")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     Fit().bse, caught[0].category.__name__
    (0.5, 'DeprecationWarning')
    """

    def getter(self: Any) -> Any:
        warnings.warn(
            f"{type(self).__name__}.{old} is deprecated; use {new}; the alias goes "
            "in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(self, new)

    return property(getter, doc=f"Deprecated alias of ``{new}`` (one more release).")


def check_level(level: float) -> float:
    """``level`` as a float strictly between 0 and 1, or a :class:`DataError`.

    Examples
    --------
    >>> check_level(0.9)
    0.9
    """
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise DataError(
            f"level must be a number between 0 and 1; got {level!r}"
        ) from None
    if not 0 < value < 1:
        raise DataError(f"level must be between 0 and 1 (e.g. 0.95); got {level!r}")
    return value


# ------------------------------------------------------------------ formatting


def format_number(value: Any) -> str:
    """A cell of the text table: 4 decimals, scientific when very large or small.

    Examples
    --------
    >>> format_number(2.4261), format_number(1.5e-7), format_number(float("inf"))
    ('2.4261', '1.5000e-07', 'inf')
    """
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return ""
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        if number != 0 and not 1e-4 <= abs(number) < 1e6:
            return f"{number:.4e}"
        return f"{number:.4f}"
    return str(value)


def _cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    """Headers, formatted rows and which columns are numeric (right-aligned)."""
    headers = [str(c) for c in frame.columns]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    rows = [[format_number(v) for v in row] for row in frame.itertuples(index=False)]
    return headers, rows, numeric


def _text_table(frame: pd.DataFrame) -> list[str]:
    headers, rows, numeric = _cells(frame)
    widths = [max([len(h), *(len(r[k]) for r in rows)]) for k, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def _html_table(frame: pd.DataFrame, caption: str = "") -> str:
    headers, rows, numeric = _cells(frame)
    out = ['<table class="cpeval-table">']
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append(
        "<thead><tr>"
        + "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        + "</tr></thead><tbody>"
    )
    for row in rows:
        out.append(
            "<tr>"
            + "".join(
                f'<td style="text-align:{"right" if num else "left"}">'
                f"{html.escape(cell)}</td>"
                for cell, num in zip(row, numeric, strict=True)
            )
            + "</tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


@dataclass(frozen=True)
class Summary:
    """A result written out: a title, a header block and one or more tables.

    ``str(summary)`` is the fixed-width text; in a notebook it shows as HTML.

    Parameters
    ----------
    title : str
    header : tuple of (str, str)
        Key-value pairs shown above the tables (model, n_obs, cov_type, ...).
    tables : tuple of (str, pandas.DataFrame)
        Captioned tables, already in display order.
    notes : tuple of str
        Lines printed under the tables (how intervals were computed, warnings).

    Examples
    --------
    >>> from cpeval.missing import pool
    >>> text = str(pool([1.0, 1.2, 0.9], [0.04, 0.05, 0.04]).summary())
    >>> text.splitlines()[1].strip()
    "Pooled estimate (Rubin's rules)"
    """

    title: str
    header: tuple[tuple[str, str], ...] = ()
    tables: tuple[tuple[str, pd.DataFrame], ...] = ()
    notes: tuple[str, ...] = field(default=())

    def as_text(self) -> str:
        """The fixed-width text table (the same as ``str(summary)``)."""
        blocks = [(caption, _text_table(frame)) for caption, frame in self.tables]
        pairs = [f"{k}: {v}" for k, v in self.header]
        longest = max((len(p) for p in pairs), default=0)
        two = longest + 2 <= MIN_WIDTH * 5 // 8  # two pairs a line when they fit
        half = max(MIN_WIDTH // 2, longest + 2)
        width = max(
            [MIN_WIDTH, len(self.title), 2 * half - 2 if two else longest]
            + [len(line) for _, lines in blocks for line in lines]
            + [len(caption) for caption, _ in blocks]
        )
        out = ["=" * width, self.title.center(width).rstrip(), "=" * width]
        step = 2 if two else 1
        for k in range(0, len(pairs), step):
            right = pairs[k + 1] if two and k + 1 < len(pairs) else ""
            out.append((pairs[k].ljust(half) + right).rstrip() if two else pairs[k])
        for caption, lines in blocks:
            out.append("-" * width)
            if caption:
                out.append(caption)
            out.extend(lines)
        out.append("=" * width)
        out.extend(self.notes)
        return "\n".join(out)

    def as_html(self) -> str:
        """The same content as HTML; every string is escaped."""
        title = html.escape(self.title)
        parts = [f'<div class="cpeval-result"><strong>{title}</strong>']
        if self.header:
            parts.append(
                '<table class="cpeval-header"><tbody>'
                + "".join(
                    f"<tr><th>{html.escape(str(k))}</th>"
                    f"<td>{html.escape(str(v))}</td></tr>"
                    for k, v in self.header
                )
                + "</tbody></table>"
            )
        parts.extend(_html_table(frame, caption) for caption, frame in self.tables)
        parts.extend(f"<p>{html.escape(note)}</p>" for note in self.notes)
        parts.append("</div>")
        return "".join(parts)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()


def percent(level: float) -> str:
    """A confidence level as text: ``0.95`` is ``"95%"``.

    Examples
    --------
    >>> percent(0.9), percent(0.975)
    ('90%', '97.5%')
    """
    return f"{level * 100:g}%"


def _short(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    return format_number(value)


# ------------------------------------------------------------------ the bases


class Results:
    """The base of every cpeval result: ``summary()``, a short ``repr``,
    ``_repr_html_`` and ``to_frame()``.

    A subclass sets ``_title`` and implements :meth:`to_frame` and
    :meth:`_header` (key-value pairs for the header block and the ``repr``).
    Dataclass subclasses pass ``repr=False`` so this ``__repr__`` is kept.

    Examples
    --------
    >>> from cpeval.models import partial_eta_squared
    >>> repr(partial_eta_squared(4.0, 1, 100))
    "EffectSize(estimate=0.0385, ci_low=0.0000, ci_high=0.1364, level='95%')"
    """

    __slots__ = ()
    _title = "Result"

    def _header(self) -> list[tuple[str, Any]]:
        return []

    def _notes(self) -> list[str]:
        return []

    def _tables(self) -> list[tuple[str, pd.DataFrame]]:
        return [("", self.to_frame())]

    def to_frame(self) -> pd.DataFrame:
        """The result as a tidy table."""
        raise NotImplementedError

    def summary(self) -> Summary:
        """The result as a text table (``print(result.summary())``).

        Returns
        -------
        Summary
            ``str()`` gives fixed-width text; notebooks show it as HTML.
        """
        return Summary(
            title=self._title,
            header=tuple(
                (str(k), format_number(v)) for k, v in self._header() if v is not None
            ),
            tables=tuple(self._tables()),
            notes=tuple(self._notes()),
        )

    def _repr_items(self) -> Iterable[tuple[str, Any]]:
        return self._header()

    def __repr__(self) -> str:
        items = ", ".join(
            f"{k}={_short(v)}" for k, v in self._repr_items() if v is not None
        )
        text = f"{type(self).__name__}({items})"
        if len(text) > REPR_LIMIT:
            text = text[: REPR_LIMIT - 4] + " ...)"
        return text

    def _repr_html_(self) -> str:
        """HTML for Jupyter: the summary, every string escaped."""
        return self.summary().as_html()


class DescriptiveResults(Results):
    """A result without standard errors (a score, weights, a table of counts)."""

    __slots__ = ()


class EstimateResults(Results):
    """A result with estimates and standard errors.

    A subclass provides ``params``, ``se``, ``df``, ``pvalues``, ``cov``,
    ``n_obs`` and ``cov_type`` (fields or properties). ``params`` and ``se`` may
    be Series (indexed by term), arrays (named by :meth:`_terms`) or scalars;
    ``df`` is infinite for normal (z) inference. Intervals are
    ``params -/+ t_{df, (1 + level)/2} se`` unless a subclass overrides
    :meth:`_interval` (bootstrap percentiles) and says so in its docstring.

    Examples
    --------
    >>> from cpeval.missing import pool
    >>> res = pool([1.0, 1.2, 0.9, 1.1, 1.0], [0.04, 0.05, 0.04, 0.05, 0.045],
    ...            df_complete=98)
    >>> list(res.to_frame().columns)[:8]
    ['term', 'params', 'se', 'df', 'statistic', 'pvalues', 'ci_low', 'ci_high']
    >>> ci = res.conf_int(level=0.9)
    >>> bool(ci["ci_low"].iloc[0] < res.params[0] < ci["ci_high"].iloc[0])
    True
    """

    __slots__ = ()
    _title = "Estimates"
    _term_label = "term"

    # --------------------------------------------------------- the vocabulary
    def _terms(self) -> pd.Index:
        params = self.params  # type: ignore[attr-defined]
        if isinstance(params, pd.Series):
            return params.index
        return pd.RangeIndex(np.size(params))

    def _vector(self, name: str) -> pd.Series:
        """Attribute ``name`` as a float Series on the terms."""
        terms = self._terms()
        value = getattr(self, name)
        if isinstance(value, pd.Series):
            return value.reindex(terms).astype(float)
        if isinstance(value, dict):
            return pd.Series(value).reindex(terms).astype(float)
        array = np.asarray(value, dtype=float)
        if array.ndim == 0:
            array = np.full(len(terms), float(array))
        return pd.Series(array, index=terms)

    def _level(self, level: float | None) -> float:
        if level is None:
            level = getattr(self, "level", 0.95)
        return check_level(level)

    def _interval(self, level: float) -> pd.DataFrame:
        from .models._intervals import t_interval  # models import this module

        return t_interval(
            self._vector("params"), self._vector("se"), self._vector("df"), level
        )

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Confidence limits computed now, at ``level``.

        Parameters
        ----------
        level : float, optional
            Two-sided level; defaults to the level the result was made with
            (0.95 unless given).

        Returns
        -------
        pandas.DataFrame
            ``ci_low`` and ``ci_high``, one row per term: ``params -/+ t se``
            with the result's ``df`` (the normal quantile where ``df`` is
            infinite), unless the result's docstring names another rule.

        Examples
        --------
        >>> from cpeval.missing import pool
        >>> res = pool([1.0, 1.2, 0.9], [0.04, 0.05, 0.04])
        >>> wide, narrow = res.conf_int(0.95), res.conf_int(level=0.9)
        >>> bool((narrow["ci_high"] < wide["ci_high"]).all())
        True
        """
        frame = self._interval(self._level(level))
        frame.index = pd.Index(self._terms(), name=self._term_label)
        return frame

    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """One row per term: ``params``, ``se``, ``df``, ``statistic``,
        ``pvalues``, ``ci_low``, ``ci_high`` (then result-specific columns).

        Parameters
        ----------
        level : float, optional
            Level of the interval (as :meth:`conf_int`).

        Returns
        -------
        pandas.DataFrame
            The term (or wave, or quantity) is the first column.

        Examples
        --------
        >>> from cpeval.missing import pool
        >>> pool([1.0, 1.2, 0.9], [0.04, 0.05, 0.04]).to_frame()["term"].tolist()
        ['q']
        """
        params, se = self._vector("params"), self._vector("se")
        frame = pd.DataFrame(
            {
                "params": params,
                "se": se,
                "df": self._vector("df"),
                "statistic": params / se,
                "pvalues": self._vector("pvalues"),
            }
        )
        limits = self.conf_int(level)
        frame["ci_low"] = limits["ci_low"].to_numpy()
        frame["ci_high"] = limits["ci_high"].to_numpy()
        frame = self._extend_frame(frame)
        return frame.rename_axis(self._term_label).reset_index()

    def _extend_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame

    # --------------------------------------------------------------- display
    def _statistic_name(self) -> str:
        df = self._vector("df").to_numpy()
        return "z" if np.all(np.isinf(df)) else "t"

    def _df_description(self) -> str:
        method = getattr(self, "df_method", None)
        if method:
            return str(method)
        return "normal (z)" if self._statistic_name() == "z" else "t"

    def _header(self) -> list[tuple[str, Any]]:
        return [
            ("n_obs", getattr(self, "n_obs", None)),
            ("cov_type", getattr(self, "cov_type", None)),
            ("df", self._df_description()),
            ("level", percent(self._level(None))),
        ]

    def _interval_note(self) -> str:
        return (
            "Intervals: params -/+ t(df) * se"
            if self._statistic_name() == "t"
            else "Intervals: params -/+ z * se (normal)"
        )

    def _notes(self) -> list[str]:
        return [self._interval_note()]

    def _tables(self) -> list[tuple[str, pd.DataFrame]]:
        level = self._level(None)
        full = self.to_frame()
        frame = full[[self._term_label, *ESTIMATE_COLUMNS]]
        low, high = (1 - level) / 2, 1 - (1 - level) / 2
        names = {
            "params": "estimate",
            "se": "SE",
            "statistic": self._statistic_name(),
            "pvalues": "p",
            "ci_low": f"[{low:.3g}",
            "ci_high": f"{high:.3g}]",
        }
        tables = [("", frame.rename(columns=names))]
        extra = [
            c
            for c in full.columns[len(ESTIMATE_COLUMNS) + 1 :]
            if pd.api.types.is_numeric_dtype(full[c])
            and not pd.api.types.is_bool_dtype(full[c])
        ]
        if extra:
            tables.append(("", full[[self._term_label, *extra]]))
        return tables

    def __repr__(self) -> str:
        params, se = self._vector("params"), self._vector("se")
        parts = [
            f"{term}: {format_number(params[term])} (SE {format_number(se[term])})"
            for term in list(params.index)[:3]
        ]
        if len(params) > 3:
            parts.append(f"... {len(params) - 3} more")
        for key in ("n_obs", "cov_type"):
            value = getattr(self, key, None)
            if value is not None and not isinstance(value, pd.Series):
                parts.append(f"{key}={_short(value)}")
        text = f"{type(self).__name__}({', '.join(parts)})"
        if len(text) > REPR_LIMIT:
            text = text[: REPR_LIMIT - 4] + " ...)"
        return text
