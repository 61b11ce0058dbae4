"""Diagnostics a reader must know, in words: singular fits, few clusters, a
cluster of one, an optimiser that did not converge."""

from __future__ import annotations

import pandas as pd

__all__ = ["diagnostics"]

FEW_CLUSTERS = 10  # below this, cluster-robust and mixed-model intervals rest on few


def diagnostics(analyses, data: pd.DataFrame, book, economics=None) -> list[str]:
    """Sentences for the report's diagnostics (empty when nothing needs saying).

    ``economics`` is the config's ``[economics]`` section, if any: a bootstrap
    that resamples participants although the codebook has clusters is named.
    """
    lines = []
    singular = sorted({r["outcome"] for r in analyses.rows if r.get("singular")})
    if singular:
        lines.append(
            "Boundary (singular) mixed-model fits for "
            f"{', '.join(singular)}: a variance between clusters or participants "
            "was estimated as zero; the intervals stand, but that level adds nothing "
            "to the model."
        )
    stuck = sorted({r["outcome"] for r in analyses.rows if r.get("converged") is False})
    if stuck:
        lines.append(
            f"The mixed-model optimiser did not report convergence for "
            f"{', '.join(stuck)}: treat those estimates with caution."
        )
    if book.clusters:
        cluster = book.clusters[-1]
        sizes = data[data["time"] == 0].groupby(cluster)[book.id].nunique()
        if len(sizes) < FEW_CLUSTERS:
            lines.append(
                f"There are {len(sizes)} {cluster}s: with fewer than {FEW_CLUSTERS} "
                "clusters the intervals depend on small-sample corrections "
                "(Satterthwaite or CR2 degrees of freedom) and are less certain "
                "than their width suggests."
            )
        if economics is not None and economics.cluster is None:
            lines.append(
                f"The cost-effectiveness bootstrap resampled participants, not "
                f"{cluster}s ([economics] cluster is not set): if costs or QALYs "
                f"are alike within a {cluster}, its intervals and probabilities "
                "of cost-effectiveness are too narrow and too sure."
            )
        single = sorted(str(k) for k in sizes.index[sizes == 1])
        if single:
            lines.append(
                f"{len(single)} {cluster}{'s' if len(single) > 1 else ''} had a "
                f"single participant ({', '.join(single)}): such a {cluster} says "
                "nothing about variation within it."
            )
    return lines
