"""Item-level imputation (``[imputation] level = "items"``): the questionnaire
items of every outcome are imputed at every wave, and each outcome score is then
derived from the completed items by its instrument's own scoring (passive
imputation; Eekhout et al. 2014, J Clin Epidemiol 67:335; van Buuren, Flexible
Imputation of Missing Data, 2nd ed., section 6.4).

Each item is predicted by the other items of its questionnaire at the same wave,
the questionnaire's totals at the other waves, the other questionnaires' totals
and any outcome that is not a questionnaire score (totals are passive sums of
the current items, recomputed after each draw), so a regression has tens of
predictors, not every item of every wave."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..exceptions import DataError
from ..scales import score
from ..scales._study import _definition

__all__ = ["ItemPlan", "item_plan"]


@dataclass(frozen=True)
class ItemPlan:
    """Which outcome scores come from which instrument's items.

    Parameters
    ----------
    instruments : dict
        Instrument name -> (definition, item columns in order).
    scores : dict
        Outcome column -> (instrument name, scale name).
    plain : list of str
        Outcomes that are not instrument scores: imputed as they are.
    """

    instruments: dict
    scores: dict
    plain: list

    @property
    def columns(self) -> list[str]:
        """The data columns imputed: every item, and the plain outcomes."""
        items = [c for _, columns in self.instruments.values() for c in columns]
        return [*items, *self.plain]

    def options(self, imputed: list[str], waves: int) -> dict:
        """``predictor_sets`` and ``passive`` for :func:`cpeval.missing.impute`."""
        total = {
            (name, t): f"_total_{name}@{t}"
            for name in self.instruments
            for t in range(waves)
        }
        passive = {
            total[name, t]: [f"{c}@{t}" for c in columns]
            for name, (_, columns) in self.instruments.items()
            for t in range(waves)
        }
        plain = [f"{c}@{t}" for c in self.plain for t in range(waves)]
        sets = {}
        for name, (_, columns) in self.instruments.items():
            for t in range(waves):
                context = [v for (n, s), v in total.items() if (n, s) != (name, t)]
                for c in columns:
                    own = [f"{o}@{t}" for o in columns if o != c]
                    sets[f"{c}@{t}"] = [*own, *context, *plain]
        summary = list(total.values())
        for column in imputed:
            if column not in sets:  # plain outcomes and incomplete covariates
                sets[column] = [*summary, *(p for p in plain if p != column)]
        return {"predictor_sets": sets, "passive": passive}

    def rescore(self, completed: pd.DataFrame, waves: int) -> pd.DataFrame:
        """Each outcome score at every wave, ``column@t``, from the completed
        items, by the instrument's scoring."""
        scored = {}
        for name, (definition, columns) in self.instruments.items():
            for t in range(waves):
                items = [f"{c}@{t}" for c in columns]
                scales = score(completed, definition, items=items)
                for column, (owner, scale) in self.scores.items():
                    if owner == name:
                        scored[f"{column}@{t}"] = scales[scale].to_numpy()
        return pd.concat(
            [completed, pd.DataFrame(scored, index=completed.index)], axis=1
        )


def item_plan(cfg, book, columns: list[str]) -> ItemPlan:
    """The instruments behind the outcome columns (``<instrument>_<scale>`` of a
    codebook instrument with a scoring definition)."""
    definitions = {name: _definition(ref) for name, ref in book.definitions.items()}
    instruments, scores, plain = {}, {}, []
    for column in columns:
        found = [
            (name, scale.name)
            for name, definition in definitions.items()
            for scale in definition.scales
            if column == f"{name}_{scale.name}"
        ]
        if not found:
            plain.append(column)
            continue
        name, scale = found[0]
        scores[column] = (name, scale)
        instruments.setdefault(name, (definitions[name], list(book.instruments[name])))
    if not instruments:
        raise DataError(
            f"{cfg.path}: [imputation] level = 'items' imputes questionnaire items, "
            "and no outcome is the score of a codebook instrument with a scoring "
            "definition: leave level out (scores are imputed)"
        )
    return ItemPlan(instruments, scores, plain)
