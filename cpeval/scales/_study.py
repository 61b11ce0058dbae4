"""Score a loaded study with the definitions its codebook names."""

from __future__ import annotations

from dataclasses import replace

from ..io import Study, participant_flow
from ._instrument import Instrument, get_instrument, load_instrument
from ._score import score

__all__ = ["scale_directions", "score_study"]


def score_study(study: Study) -> Study:
    """Add every instrument's scale scores to a study, and recount the flow.

    Parameters
    ----------
    study : Study
        From :func:`cpeval.io.load_study`. Instruments whose codebook entry has
        ``definition = "NAME"`` (a built-in) or ``definition = "file.toml"`` are
        scored from their item columns.

    Returns
    -------
    Study
        A new study whose ``data`` has columns ``<instrument>_<scale>`` (with
        ``_missing`` and ``_prorated``) and whose flow counts a participant as
        analysed for an instrument when all its scale scores are present at the
        first and last wave. Instruments without a definition keep the
        complete-items rule.

    Examples
    --------
    >>> from cpeval.io import load_study
    >>> from cpeval.scales import score_study
    >>> study = score_study(load_study("data/synthetic/example/codebook.toml"))
    >>> "wemwbs_total" in study.data.columns
    True
    """
    book = study.codebook
    data = study.data
    outcomes = {name: list(items) for name, items in book.instruments.items()}
    for name, ref in book.definitions.items():
        inst = _definition(ref)
        scored = score(data, inst, items=list(book.instruments[name]))
        data = data.join(scored.add_prefix(f"{name}_"))
        outcomes[name] = [f"{name}_{s.name}" for s in inst.scales]
    scored_study = replace(study, data=data)
    return replace(scored_study, flow=participant_flow(scored_study, outcomes=outcomes))


def _definition(ref: str) -> Instrument:
    return load_instrument(ref) if ref.endswith(".toml") else get_instrument(ref)


def scale_directions(study: Study) -> dict[str, str | None]:
    """What a higher score means for every scored column of a study.

    Parameters
    ----------
    study : Study
        A loaded study; its codebook names each instrument's definition.

    Returns
    -------
    dict
        ``<instrument>_<scale>`` -> ``"better"``, ``"worse"`` or ``None`` (the
        definition does not say), as each scale's ``higher`` key declares.

    Examples
    --------
    >>> from cpeval.io import load_study
    >>> from cpeval.scales import scale_directions
    >>> scale_directions(load_study("data/synthetic/example/codebook.toml"))
    {'wemwbs_total': 'better'}
    """
    out: dict[str, str | None] = {}
    for name, ref in study.codebook.definitions.items():
        for scale in _definition(ref).scales:
            out[f"{name}_{scale.name}"] = scale.higher
    return out
