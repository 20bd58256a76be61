"""Cox models of time to employment: lifelines' fit, the covariate design, and the proportional-hazards check.

lifelines computes the models; this file adds vectorised Schoenfeld residuals, because lifelines' per-row loop takes
minutes at municipal scale (tested equal to lifelines' own test on Rossi).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from trial.results import Coefficient, Effect, HazardRatio, PHTest, Statistic, Test
from trial.tables import numeric_or_none


def design_matrix(frame: pd.DataFrame, covariates: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Covariate columns for Cox: numbers as they are, anything else as indicators against its first level."""
    columns: dict[str, np.ndarray] = {}
    notes: list[str] = []
    for name in covariates:
        if name not in frame.columns:
            notes.append(f"covariate '{name}' is not in the allocations; left out of the adjusted model")
            continue
        values = frame[name]
        numeric = None if pd.api.types.is_bool_dtype(values) else numeric_or_none(values)
        if pd.api.types.is_bool_dtype(values):
            columns[name] = values.astype(float).to_numpy()
        elif numeric is not None:
            columns[name] = numeric.to_numpy(float)
        else:
            text = values.fillna("").astype(str)
            for level in sorted(text.unique())[1:]:
                columns[f"{name}={level}"] = (text == level).to_numpy(float)
    design = pd.DataFrame(columns, index=frame.index)
    constant = [c for c in design.columns if design[c].nunique() < 2]
    return design.drop(columns=constant), notes


def cox_fit(frame: pd.DataFrame, design: pd.DataFrame | None, alpha: float) -> tuple[Any, HazardRatio]:
    """lifelines Cox model (Efron ties, as R's coxph) of the treatment indicator, optionally with covariates."""
    from lifelines import CoxPHFitter

    data = frame[["time", "event", "treated"]].copy()
    if design is not None:
        data = pd.concat([data, design], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CoxPHFitter(alpha=alpha).fit(data, "time", "event")
    summary = model.summary
    row = summary.loc["treated"]
    with np.errstate(over="ignore"):  # a degenerate arm gives an infinite bound, reported as missing
        bounds = np.exp(model.confidence_intervals_.loc["treated"].to_numpy())
    coefficients = None
    if design is not None:
        coefficients = {
            str(name): Coefficient(coef=r["coef"], se=r["se(coef)"], p=r["p"]) for name, r in summary.iterrows()
        }
    return model, HazardRatio(
        estimate=row["exp(coef)"],
        ci=(bounds[0], bounds[1]),
        p=row["p"],
        coef=row["coef"],
        se=row["se(coef)"],
        n=len(data),
        events=int(data["event"].sum()),
        coefficients=coefficients,
        covariates=list(design.columns) if design is not None else None,
    )


def schoenfeld_residuals(time: np.ndarray, event: np.ndarray, covariates: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Schoenfeld residuals (Efron ties, as lifelines) of the event rows, in ascending time order; vectorised.

    At a time with m tied events the expected covariate is the mean over l = 0..m-1 of
    (S1 - l/m D1) / (S0 - l/m D0), where S are risk-set and D tied-event sums of exp(x beta) and exp(x beta) x.
    """
    order = np.argsort(time, kind="stable")
    time, event, x = (
        np.asarray(time, float)[order],
        np.asarray(event, bool)[order],
        np.asarray(covariates, float)[order],
    )
    x = x.reshape(len(time), -1)
    phi = np.exp(x @ np.asarray(beta, float))
    distinct, first, inverse = np.unique(time, return_index=True, return_inverse=True)
    # Risk-set sums over everyone with time >= t: reverse cumulative sums read at each time's first row.
    s0 = np.cumsum(phi[::-1])[::-1][first]
    s1 = np.cumsum((phi[:, None] * x)[::-1], axis=0)[::-1][first]
    k = len(distinct)
    m = np.bincount(inverse, weights=event, minlength=k)
    d0 = np.bincount(inverse, weights=phi * event, minlength=k)
    d1 = np.stack([np.bincount(inverse, weights=phi * event * x[:, j], minlength=k) for j in range(x.shape[1])], 1)
    which = np.repeat(np.arange(k), m.astype(int))
    # l = position of each tied event within its time: 0..m-1.
    starts = np.repeat(np.cumsum(m) - m, m.astype(int))
    ell = np.arange(len(which)) - starts
    frac = (ell / m[which])[:, None]
    terms = (s1[which] - frac * d1[which]) / (s0[which] - frac[:, 0] * d0[which])[:, None]
    expected = np.zeros_like(s1)
    np.add.at(expected, which, terms)
    expected /= np.maximum(m, 1)[:, None]
    rows = np.flatnonzero(event)
    return x[rows] - expected[inverse[rows]]


def ph_test(model: Any, frame: pd.DataFrame, design: pd.DataFrame | None) -> PHTest:
    """Grambsch-Therneau test on scaled Schoenfeld residuals with the KM time transform (lifelines' statistic)."""
    from lifelines.statistics import proportional_hazard_test

    names = list(model.params_.index)
    x = frame[["treated"]].to_numpy(float) if design is None else np.column_stack([frame["treated"], design[names[1:]]])
    residuals = schoenfeld_residuals(frame["time"].to_numpy(), frame["event"].to_numpy(), x, model.params_.to_numpy())
    scaled = pd.DataFrame(residuals.dot(model.variance_matrix_.to_numpy()) * frame["event"].sum(), columns=names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = proportional_hazard_test(model, None, time_transform="km", precomputed_residuals=scaled)
    per = {
        str(name[0] if isinstance(name, tuple) else name): Statistic(statistic=r["test_statistic"], p=r["p"])
        for name, r in result.summary.iterrows()
    }
    top = per.get("treated", Statistic(statistic=None, p=None))
    return PHTest(statistic=top.statistic, p=top.p, transform="km", per_covariate=per)


def level_hazard_ratios(
    base: pd.DataFrame, codes: np.ndarray, usable: list[int], names: list[str], alpha: float
) -> tuple[dict[str, Effect], Test]:
    """Hazard ratio within each level from a Cox fit on that level's people, and the interaction test.

    This equals one model stratified by level with an arm effect per level (the partial likelihood factorises over
    strata, so the per-level estimates are independent), at a fraction of the cost of lifelines' stratified fit.
    The interaction test is the Wald test that all per-level log hazard ratios are equal (Cochran's Q:
    Σ (b_i − b̄)² / se_i², b̄ the inverse-variance weighted mean, k − 1 degrees of freedom), from statsmodels.
    """
    from statsmodels.stats.meta_analysis import combine_effects

    by_level: dict[str, Effect] = {}
    beta, se = [], []
    for level in usable:
        _, hazard = cox_fit(base[codes == level], None, alpha)
        by_level[names[level]] = Effect(estimate=hazard.estimate, ci=hazard.ci, p=hazard.p)
        beta.append(hazard.coef)
        se.append(hazard.se)
    if len(usable) < 2:
        return by_level, Test(statistic=None, df=0, p=None)
    q = combine_effects(np.asarray(beta, dtype=float), np.asarray(se, dtype=float) ** 2).test_homogeneity()
    return by_level, Test(statistic=float(q.statistic), df=int(q.df), p=q.pvalue)
