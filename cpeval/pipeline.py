"""One analysis config (TOML) to tables, figures, report and provenance.

Composes the stages: io -> scales -> models -> economics -> tables/report. Nothing
here computes a statistic itself.
"""

from __future__ import annotations

import io
import json
import platform
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from ._files import sha256, write_atomic
from ._toml import check_keys, read_toml
from .economics import bootstrap_cea, cost_service_use, cost_totals, qalys
from .exceptions import DataError
from .io import load_study
from .models import ancova, fit_lmm, treatment_effect
from .report import write_report
from .scales import eq5d_index, score_study
from .tables import baseline_table, render_table

__all__ = ["AnalysisConfig", "load_config", "run"]

_TOP = {"analysis": dict, "outcomes": dict, "model": dict, "economics": dict}
_ANALYSIS = {"name": str, "codebook": str, "seed": int, "formats": list}
_MODEL = {"kind": str, "groups": list, "covariates": list}
_ECONOMICS = {
    "value_set": dict,
    "services": dict,
    "price_year": str,
    "wtp": list,
    "n_boot": int,
    "cluster": str,
}
_PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "linearmodels",
    "matplotlib",
    "pyreadstat",
    "openpyxl",
)


@dataclass(frozen=True)
class AnalysisConfig:
    """A parsed analysis config. Build it with :func:`load_config`."""

    path: Path
    name: str
    codebook: Path
    seed: int
    outcomes: dict[str, str]
    model: dict[str, Any]
    economics: dict[str, Any] = field(default_factory=dict)
    formats: tuple[str, ...] = ("csv", "md", "html", "tex", "xlsx")


def load_config(path: str | Path) -> AnalysisConfig:
    """Read an analysis config (see ``analysis/implementation_study.toml``).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    AnalysisConfig

    Examples
    --------
    >>> from cpeval.pipeline import load_config
    >>> load_config("analysis/implementation_study.toml").model["kind"]
    'lmm'
    """
    path = Path(path)
    raw = read_toml(path, "analysis config")
    check_keys(raw, _TOP, path, "")
    head = raw.get("analysis", {})
    check_keys(head, _ANALYSIS, path, "analysis.")
    check_keys(raw.get("model", {}), _MODEL, path, "model.")
    check_keys(raw.get("economics", {}), _ECONOMICS, path, "economics.")
    for key in ("name", "codebook", "seed"):
        if key not in head:
            raise DataError(f"{path}: '[analysis] {key}' is missing")
    if raw.get("model", {}).get("kind") not in ("lmm", "ancova"):
        raise DataError(f"{path}: 'model.kind' must be 'lmm' or 'ancova'")
    if not raw.get("outcomes"):
        raise DataError(f"{path}: the config names no [outcomes]")
    return AnalysisConfig(
        path=path,
        name=head["name"],
        codebook=path.parent / head["codebook"],
        seed=head["seed"],
        outcomes=dict(raw["outcomes"]),
        model=dict(raw["model"]),
        economics=dict(raw.get("economics", {})),
        formats=tuple(head.get("formats", _default_formats())),
    )


def _default_formats() -> tuple[str, ...]:
    """Every format; DOCX only when python-docx is installed (the 'docx' extra)."""
    import importlib.util

    extra = ("docx",) if importlib.util.find_spec("docx") else ()
    return (*AnalysisConfig.formats, *extra)


def run(config: str | Path | AnalysisConfig, out: str | Path, *, say=print) -> Path:
    """Run a whole analysis and write tables, figures, report and provenance.

    Parameters
    ----------
    config : str, Path or AnalysisConfig
    out : str or Path
        Output folder (created; files are replaced atomically).
    say : callable
        Progress messages (``print`` by default).

    Returns
    -------
    Path
        The report.
    """
    cfg = config if isinstance(config, AnalysisConfig) else load_config(config)
    out = Path(out)
    say(f"reading and validating {cfg.codebook}")
    study = score_study(load_study(cfg.codebook))
    book = study.codebook
    data = _analysis_data(study)
    tables: dict[str, pd.DataFrame] = {"participant_flow": study.flow.table}
    baseline = data[data["time"] == 0]
    tables["baseline"] = baseline_table(
        baseline, list(book.covariates) + list(cfg.outcomes.values()), book.group
    )
    say("fitting outcome models")
    tables["outcomes"] = _outcome_table(cfg, data, study)
    cea = None
    if cfg.economics:
        n_boot = cfg.economics.get("n_boot", 2000)
        say(f"economic evaluation ({n_boot} bootstrap replicates)")
        tables["economics"], cea = _economics(cfg, data, study)
    say("drawing figures")
    figures = _figures(cfg, tables, data, cea, out, book.group)
    for name, table in tables.items():
        for fmt in cfg.formats:
            write_atomic(
                out / "tables" / f"{name}.{fmt}",
                render_table(table, fmt, title=name.replace("_", " ")),
            )
    provenance = _provenance(cfg, study)
    write_atomic(out / "provenance.json", json.dumps(provenance, indent=2) + "\n")
    report = write_report(
        out / "report.html",
        cfg.name,
        tables,
        figures,
        provenance,
        _findings(cfg, tables, study, cea),
    )
    say(f"wrote {report}")
    return report


# ---------------------------------------------------------------- steps


def _analysis_data(study) -> pd.DataFrame:
    book = study.codebook
    data = study.data.copy()
    data["time"] = data[book.wave].cat.codes.astype(int)
    intervention = (
        book.groups[-1] if book.groups else sorted(data[book.group].unique())[-1]
    )
    data["treated"] = (data[book.group] == intervention).astype(int)
    base = data[data["time"] == 0].set_index(book.id)
    for covariate in book.covariates:  # baseline covariates on every row
        data[covariate] = data[book.id].map(base[covariate])
    return data


def _outcome_table(cfg: AnalysisConfig, data: pd.DataFrame, study) -> pd.DataFrame:
    book = study.codebook
    covariates = [c for c in cfg.model.get("covariates", []) if c in data.columns]
    rows = []
    for label, column in cfg.outcomes.items():
        if column not in data.columns:
            raise DataError(
                f"outcome '{label}': the scored data have no column '{column}'"
            )
        means = data.groupby(["treated", "time"])[column].mean()
        row = {
            "outcome": label,
            "baseline_control": means.get((0, 0)),
            "baseline_intervention": means.get((1, 0)),
            "followup_control": means.get((0, 1)),
            "followup_intervention": means.get((1, 1)),
        }
        if cfg.model["kind"] == "lmm":
            row.update(_lmm_effect(cfg, data, column, covariates))
        else:
            row.update(_ancova_effect(data, column, book, covariates))
        rows.append(row)
    return pd.DataFrame(rows)


def _lmm_effect(cfg, data, column, covariates) -> dict:
    formula = f"{column} ~ time * treated" + "".join(f" + {c}" for c in covariates)
    fit = fit_lmm(data, formula, cfg.model["groups"])
    effect = fit.tidy().set_index("term").loc["time:treated"]
    icc = fit.icc
    return {
        "difference": effect["estimate"],
        "ci_low": effect["ci_low"],
        "ci_high": effect["ci_high"],
        "p_val": effect["p_val"],
        "df": effect["df"],
        "df_method": "Satterthwaite",
        "model": "mixed model (REML)",
        "icc_team": icc.get("team", np.nan),
        "n_obs": fit.n_obs,
        "singular": fit.singular,
    }


def _ancova_effect(data, column, book, covariates) -> dict:
    wide = data[data["time"] == 0][
        [book.id, "treated", column, *book.clusters, *covariates]
    ].rename(columns={column: "baseline"})
    follow = data[data["time"] == 1][[book.id, column]].rename(
        columns={column: "followup"}
    )
    merged = wide.merge(follow, on=book.id)
    cluster = book.clusters[-1] if book.clusters else None
    fit = ancova(
        merged,
        outcome="followup",
        baseline="baseline",
        group="treated",
        covariates=[c for c in covariates if c in merged.columns],
        cluster=cluster,
    )
    effect = treatment_effect(fit, merged, "followup").iloc[0]
    return {
        "difference": effect["difference"],
        "ci_low": effect["ci_low"],
        "ci_high": effect["ci_high"],
        "p_val": effect["p_val"],
        "df": effect["df"],
        "df_method": "CR2 Satterthwaite" if cluster else "OLS",
        "model": "ANCOVA",
        "partial_eta2": effect["partial_eta2"],
        "hedges_g": effect["hedges_g"],
        "n_obs": fit.n,
    }


def _economics(cfg: AnalysisConfig, data: pd.DataFrame, study):
    econ, book = cfg.economics, study.codebook
    value_set = econ.get(
        "value_set", {"version": "5L", "type": "VT", "country": "England"}
    )
    dims = data[["eq5d_mo", "eq5d_sc", "eq5d_ua", "eq5d_pd", "eq5d_ad"]].set_axis(
        ["MO", "SC", "UA", "PD", "AD"], axis=1
    )
    data = data.assign(
        utility=eq5d_index(dims, errors="coerce", **value_set).to_numpy()
    )
    if not book.date:
        raise DataError(
            "QALYs need interview dates: name the date column in the codebook"
        )
    first = data.groupby(book.id)[book.date].transform("min")
    data["years"] = (data[book.date] - first).dt.days / 365.25  # time since baseline
    effect = qalys(data, id=book.id, time="years", utility="utility").set_index(book.id)
    services = econ.get("services", {})
    follow = data[data["time"] == 1]
    use = follow.melt(
        id_vars=[book.id],
        value_vars=list(services),
        var_name="column",
        value_name="quantity",
    )
    use["item"] = use["column"].map(services)
    costed = cost_service_use(
        use.rename(columns={book.id: "id"}),
        price_year=econ.get("price_year", "2022/23"),
    )
    costs = cost_totals(costed).set_index("id")["total"]
    people = data[data["time"] == 0][[book.id, "treated", *book.clusters]].set_index(
        book.id
    )
    people = people.assign(cost=costs, qaly=effect["qalys"])
    complete = people.dropna(subset=["cost", "qaly"])
    cea = bootstrap_cea(
        complete.reset_index(),
        cost="cost",
        effect="qaly",
        group="treated",
        n_boot=int(econ.get("n_boot", 2000)),
        seed=cfg.seed,
        cluster=econ.get("cluster"),
    )
    wtp = [float(w) for w in econ.get("wtp", [20000, 30000])]
    inmb = cea.inmb(wtp).set_index("wtp")
    ceac = cea.ceac(wtp).set_index("wtp")["p_cost_effective"]
    rows = [
        {
            "quantity": "participants analysed (intervention)",
            "value": int(complete["treated"].sum()),
        },
        {
            "quantity": "participants analysed (control)",
            "value": int((1 - complete["treated"]).sum()),
        },
        {
            "quantity": "excluded: cost or QALYs missing",
            "value": int(len(people) - len(complete)),
        },
        {
            "quantity": "mean cost, intervention (£)",
            "value": complete.loc[complete.treated == 1, "cost"].mean(),
        },
        {
            "quantity": "mean cost, control (£)",
            "value": complete.loc[complete.treated == 0, "cost"].mean(),
        },
        {
            "quantity": "mean QALYs, intervention",
            "value": complete.loc[complete.treated == 1, "qaly"].mean(),
        },
        {
            "quantity": "mean QALYs, control",
            "value": complete.loc[complete.treated == 0, "qaly"].mean(),
        },
        {"quantity": "incremental cost (£)", "value": cea.delta_cost},
        {
            "quantity": "incremental cost, 95% CI low",
            "value": cea.interval("delta_cost")[0],
        },
        {
            "quantity": "incremental cost, 95% CI high",
            "value": cea.interval("delta_cost")[1],
        },
        {"quantity": "incremental QALYs", "value": cea.delta_effect},
        {
            "quantity": "incremental QALYs, 95% CI low",
            "value": cea.interval("delta_effect")[0],
        },
        {
            "quantity": "incremental QALYs, 95% CI high",
            "value": cea.interval("delta_effect")[1],
        },
        {"quantity": "ICER (£ per QALY)", "value": cea.icer},
    ]
    for w in wtp:
        rows += [
            {"quantity": f"INMB at £{w:,.0f} (£)", "value": inmb.loc[w, "inmb"]},
            {
                "quantity": f"probability cost-effective at £{w:,.0f}",
                "value": ceac.loc[w],
            },
        ]
    table = pd.DataFrame(
        {
            "quantity": [r["quantity"] for r in rows],
            "value": pd.Series([r["value"] for r in rows], dtype=object),
        }
    )
    return table, cea


def _figures(cfg, tables, data, cea, out: Path, group: str) -> dict[str, str]:
    """Draw every figure, save each as PNG and SVG, and return the SVG text."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "cpeval"
    import matplotlib.pyplot as plt

    from .economics import plot_ce_plane, plot_ceac

    figures = {
        "trajectories": _trajectories(cfg, data, group),
        "forest_plot": _forest(tables["outcomes"]),
    }
    if cea is not None:
        wtp = cfg.economics.get("wtp", [20000, 30000])
        figures["ce_plane"] = plot_ce_plane(cea, wtp=float(wtp[0])).figure
        figures["ceac"] = plot_ceac(cea, np.linspace(0, 50_000, 51)).figure
    rendered = {}
    for name, fig in figures.items():
        fig.tight_layout()
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=100)
        write_atomic(out / "figures" / f"{name}.png", png.getvalue())
        rendered[name] = _svg(fig)
        write_atomic(out / "figures" / f"{name}.svg", rendered[name])
        plt.close(fig)
    return rendered


def _trajectories(cfg, data, group: str):
    import matplotlib.pyplot as plt

    labels = data.groupby("treated")[group].first()
    names = list(cfg.outcomes)
    fig, axes = plt.subplots(
        1, len(names), figsize=(4 * len(names), 3.2), squeeze=False
    )
    for ax, label in zip(axes[0], names, strict=True):
        column = cfg.outcomes[label]
        stats = (
            data.groupby(["treated", "time"])[column].agg(["mean", "sem"]).reset_index()
        )
        for treated, part in stats.groupby("treated"):
            ax.errorbar(
                part["time"],
                part["mean"],
                yerr=1.96 * part["sem"],
                capsize=3,
                marker="o",
                label=str(labels[treated]),
            )
        ax.set_xticks([0, 1], ["baseline", "follow-up"])
        ax.set_title(label, fontsize=8)
    axes[0][0].set_ylabel("observed mean (95% CI)")
    axes[0][0].legend(fontsize="small")
    return fig


def _forest(outcomes: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 0.6 * len(outcomes) + 1.2))
    positions = np.arange(len(outcomes))[::-1]
    ax.errorbar(
        outcomes["difference"],
        positions,
        xerr=[
            outcomes["difference"] - outcomes["ci_low"],
            outcomes["ci_high"] - outcomes["difference"],
        ],
        fmt="s",
        capsize=3,
    )
    ax.axvline(0, color="grey", linestyle="--")
    ax.set_yticks(positions, outcomes["outcome"], fontsize=7)
    ax.set_xlabel("adjusted difference (95% CI)")
    return fig


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _findings(cfg, tables, study, cea) -> list[str]:
    book = study.codebook
    lines = []
    flow = study.flow.table.set_index("stage")
    lines.append(
        f"{int(flow.loc['recruited', 'total'])} people were recruited; "
        f"{int(flow.loc[f'interviewed at {book.waves[-1]}', 'total'])} were "
        f"interviewed at {book.waves[-1]}."
    )
    for row in tables["outcomes"].itertuples():
        direction = "higher" if row.difference > 0 else "lower"
        certain = (
            "the 95% interval excludes zero, a difference unlikely to be chance alone"
            if row.ci_low > 0 or row.ci_high < 0
            else "the 95% interval includes no difference, so chance could explain it"
        )
        lines.append(
            f"{row.outcome}: {abs(row.difference):.2f} points {direction} in the "
            f"{book.groups[-1] if book.groups else 'intervention'} group "
            f"(95% CI {row.ci_low:.2f} to {row.ci_high:.2f}); {certain}."
        )
    if cea is not None:
        low, high = cea.interval("delta_cost")
        p = cea.ceac([20000])["p_cost_effective"].iloc[0]
        lines.append(
            f"Costs were £{abs(cea.delta_cost):,.0f} per person "
            f"{'lower' if cea.delta_cost < 0 else 'higher'} in the intervention group "
            f"(95% CI {low:,.0f} to {high:,.0f}); the probability that the "
            f"intervention is cost-effective at £20,000 per QALY is {p:.0%}."
        )
    return lines


def _provenance(cfg: AnalysisConfig, study) -> dict:
    inputs = [
        {"path": f.path, "sha256": f.sha256, "rows": f.n_rows}
        for f in study.report.files
    ]
    return {
        "analysis": cfg.name,
        "formats": list(cfg.formats),
        "config": {"path": str(cfg.path), "sha256": sha256(cfg.path)},
        "codebook": {"path": str(cfg.codebook), "sha256": sha256(cfg.codebook)},
        "inputs": inputs,
        "seed": cfg.seed,
        "model": cfg.model,
        "df_method": "Satterthwaite (lmerTest)"
        if cfg.model["kind"] == "lmm"
        else "CR2 with Satterthwaite df (clubSandwich)",
        "economics": cfg.economics,
        "instruments": {name: ref for name, ref in study.codebook.definitions.items()},
        "cpeval": __version__,
        "python": platform.python_version(),
        "packages": {name: _installed(name) for name in _PACKAGES},
        "diagnostics": list(study.report.to_frame()["message"]),
    }


def _installed(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None
