"""Every estimate of the intention-to-treat analysis plan, returned as one plain, JSON-ready dict.

lifelines, statsmodels and scipy compute every estimator they provide; `trial.rmst` adds what they lack (the survRM2
variance of RMST, tie-exact Aalen-Johansen, a vectorised bootstrap) and this file adds vectorised Schoenfeld
residuals, because lifelines' per-row loop takes minutes at municipal scale.
"""

from __future__ import annotations

import math
import platform
import warnings
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from trial.errors import InputError
from trial.outcomes import COMPETING, EVENT, OutcomeRules, OutcomeTable, build_outcomes
from trial.rmst import LifeTable, aalen_johansen, bootstrap_rmst, rmst, value_at
from trial.tables import numeric_or_none

DEFAULT_SEED = 20190601
AT_RISK_STEP_DAYS = 28
MAX_SUBGROUP_LEVELS = 12
_PACKAGES = ("jobmatch-trial", "numpy", "pandas", "scipy", "statsmodels", "lifelines")


def _num(value: Any) -> float | None:
    """A float for JSON, or None for NaN/inf (JSON has neither)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _interval(low: Any, high: Any) -> list[float | None]:
    return [_num(low), _num(high)]


def _p_normal(z: float) -> float | None:
    return _num(2 * stats.norm.sf(abs(z))) if math.isfinite(z) else None


def _wald(estimate: float, se: float, z: float) -> dict[str, Any]:
    """Estimate, standard error, normal-approximation interval and two-sided p."""
    ok = math.isfinite(estimate) and math.isfinite(se) and se > 0
    return {
        "estimate": _num(estimate),
        "se": _num(se),
        "ci": _interval(estimate - z * se, estimate + z * se) if ok else [None, None],
        "p": _p_normal(estimate / se) if ok else None,
    }


# --- per-arm estimates --------------------------------------------------------------------------------------------


def _km_curve(time: np.ndarray, event: np.ndarray, alpha: float) -> dict[str, Any]:
    """lifelines Kaplan-Meier with its (log-log) pointwise band, the median with its interval."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter(alpha=alpha).fit(time, event)
    band = kmf.confidence_interval_survival_function_
    median_ci = median_survival_times(band)
    return {
        "time": kmf.survival_function_.index.to_numpy(dtype=float),
        "survival": kmf.survival_function_.iloc[:, 0].to_numpy(),
        "lower": band.iloc[:, 0].to_numpy(),
        "upper": band.iloc[:, 1].to_numpy(),
        "median": kmf.median_survival_time_,
        "median_ci": (median_ci.iloc[0, 0], median_ci.iloc[0, 1]),
    }


def _incidence_at(time: np.ndarray, status: np.ndarray, cause: int, t: float, z: float) -> dict[str, Any]:
    """Cumulative incidence of a cause at t with a log(-log) interval (as lifelines' Aalen-Johansen)."""
    inc = aalen_johansen(time, status, cause)
    value = value_at(inc.time, inc.cif, t, 0.0)
    variance = value_at(inc.time, inc.variance, t, 0.0)
    if 0 < value < 1 and variance > 0:
        se_t = math.sqrt(variance) / (value * abs(math.log(value)))
        log_log = math.log(-math.log(value))
        ci = _interval(math.exp(-math.exp(log_log + z * se_t)), math.exp(-math.exp(log_log - z * se_t)))
    else:
        ci = [_num(value), _num(value)]
    return {"estimate": value, "se": math.sqrt(variance), "ci": ci}


def _arm_summary(group: pd.DataFrame, rules: OutcomeRules, landmarks: list[int], alpha: float) -> dict[str, Any]:
    """Counts, Kaplan-Meier, RMST, employment rate and unemployed share of one arm."""
    z = stats.norm.ppf(1 - alpha / 2)
    horizon = rules.horizon_days
    time, status = group["time"].to_numpy(float), group["status"].to_numpy()
    event = status == EVENT
    km = _km_curve(time, event, alpha)
    restricted = rmst(LifeTable.from_data(time, event), horizon)
    any_exit = rmst(LifeTable.from_data(time, status != 0), horizon)
    employment = _incidence_at(time, status, EVENT, horizon, z)
    still = {str(t): _num(value_at(km["time"], km["survival"], t, 1.0)) for t in landmarks}
    still_ci = {
        str(t): _interval(value_at(km["time"], km["lower"], t, 1.0), value_at(km["time"], km["upper"], t, 1.0))
        for t in landmarks
    }
    summary = {
        "n": len(group),
        "events": int(event.sum()),
        "competing": int((status == COMPETING).sum()),
        "censored": int((status == 0).sum()),
        "median_days": _num(km["median"]),
        "median_ci": _interval(*km["median_ci"]),
        "rmst_days": restricted.estimate,
        "rmst_se": restricted.se,
        "rmst_ci": _interval(restricted.estimate - z * restricted.se, restricted.estimate + z * restricted.se),
        "employment_rate": employment["estimate"],
        "employment_rate_se": employment["se"],
        "employment_rate_ci": employment["ci"],
        "unemployed_share": any_exit.estimate / horizon,
        "unemployed_share_se": any_exit.se / horizon,
        "still_unemployed_at": still,
        "still_unemployed_ci": still_ci,
        "max_follow_up_days": _num(time.max()) if len(time) else None,
    }
    curve = {k: km[k] for k in ("time", "survival", "lower", "upper")}
    return {"summary": summary, "km": curve}


def _cif_curves(group: pd.DataFrame, exits: list[str]) -> dict[str, dict[str, list[float]]]:
    """Aalen-Johansen cumulative incidence per exit type, every other exit competing."""
    time = group["time"].to_numpy(float)
    out: dict[str, dict[str, list[float]]] = {}
    for name in exits:
        status = np.where(group["exit"].to_numpy() == name, 1, np.where(group["status"].to_numpy() != 0, 2, 0))
        inc = aalen_johansen(time, status, 1)
        out[name] = {"time": [0.0, *inc.time.tolist()], "cif": [0.0, *inc.cif.tolist()]}
    return out


# --- comparisons --------------------------------------------------------------------------------------------------


def _logrank(frame: pd.DataFrame, strata: pd.Series | None) -> dict[str, Any]:
    """statsmodels' survdiff (R's survdiff), optionally stratified by randomisation stratum."""
    from statsmodels.duration.survfunc import survdiff

    args = (frame["time"].to_numpy(float), frame["event"].to_numpy(), frame["treated"].to_numpy())
    if strata is None:
        statistic, p = survdiff(*args)
    else:
        statistic, p = survdiff(*args, strata=pd.factorize(strata)[0])
    return {"statistic": _num(statistic), "df": 1, "p": _num(p)}


def _design(frame: pd.DataFrame, covariates: list[str]) -> tuple[pd.DataFrame, list[str]]:
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


def _cox(frame: pd.DataFrame, design: pd.DataFrame | None, alpha: float) -> tuple[Any, dict[str, Any]]:
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
    result: dict[str, Any] = {
        "estimate": _num(row["exp(coef)"]),
        "ci": _interval(*bounds),
        "p": _num(row["p"]),
        "coef": _num(row["coef"]),
        "se": _num(row["se(coef)"]),
        "n": len(data),
        "events": int(data["event"].sum()),
    }
    if design is not None:
        result["coefficients"] = {
            name: {"coef": _num(r["coef"]), "se": _num(r["se(coef)"]), "p": _num(r["p"])}
            for name, r in summary.iterrows()
        }
    return model, result


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


def _ph_test(model: Any, frame: pd.DataFrame, design: pd.DataFrame | None) -> dict[str, Any]:
    """Grambsch-Therneau test on scaled Schoenfeld residuals with the KM time transform (lifelines' statistic)."""
    from lifelines.statistics import proportional_hazard_test

    names = list(model.params_.index)
    x = frame[["treated"]].to_numpy(float) if design is None else np.column_stack([frame["treated"], design[names[1:]]])
    residuals = schoenfeld_residuals(frame["time"].to_numpy(), frame["event"].to_numpy(), x, model.params_.to_numpy())
    scaled = pd.DataFrame(residuals.dot(model.variance_matrix_.to_numpy()) * frame["event"].sum(), columns=names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = proportional_hazard_test(model, None, time_transform="km", precomputed_residuals=scaled)
    table = result.summary
    per = {
        str(name[0] if isinstance(name, tuple) else name): {"statistic": _num(r["test_statistic"]), "p": _num(r["p"])}
        for name, r in table.iterrows()
    }
    top = per.get("treated", {"statistic": None, "p": None})
    return {"statistic": top["statistic"], "p": top["p"], "transform": "km", "per_covariate": per}


def _days_saved(
    control: tuple[np.ndarray, np.ndarray], treated: tuple[np.ndarray, np.ndarray], horizon: int, z: float
) -> dict[str, Any]:
    """RMST(control) - RMST(treatment) of the cause-specific Kaplan-Meier curves, with its analytic interval."""
    a = rmst(LifeTable.from_data(*control), horizon)
    b = rmst(LifeTable.from_data(*treated), horizon)
    return _wald(a.estimate - b.estimate, math.hypot(a.se, b.se), z)


def _level_hazard_ratios(
    base: pd.DataFrame, codes: np.ndarray, usable: list[int], names: list[str], alpha: float
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Hazard ratio within each level from a Cox fit on that level's people, and the interaction test.

    This equals one model stratified by level with an arm effect per level (the partial likelihood factorises over
    strata, so the per-level estimates are independent), at a fraction of the cost of lifelines' stratified fit.
    The interaction test is the Wald test that all per-level log hazard ratios are equal (Cochran's Q:
    Σ (b_i − b̄)² / se_i², b̄ the inverse-variance weighted mean, k − 1 degrees of freedom), from statsmodels.
    """
    from statsmodels.stats.meta_analysis import combine_effects

    by_level: dict[str, dict[str, Any]] = {}
    beta, se = [], []
    for level in usable:
        _, hazard = _cox(base[codes == level], None, alpha)
        by_level[names[level]] = {"estimate": hazard["estimate"], "ci": hazard["ci"], "p": hazard["p"]}
        beta.append(hazard["coef"])
        se.append(hazard["se"])
    if len(usable) < 2:
        return by_level, {"statistic": None, "df": 0, "p": None}
    q = combine_effects(np.asarray(beta, dtype=float), np.asarray(se, dtype=float) ** 2).test_homogeneity()
    return by_level, {"statistic": float(q.statistic), "df": int(q.df), "p": _num(q.pvalue)}


def _subgroups(
    frame: pd.DataFrame, variables: list[str], arms: tuple[str, str], horizon: int, alpha: float
) -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
    """Effects within each level of each subgroup variable (hazard ratio, days saved) and an interaction test."""
    z = stats.norm.ppf(1 - alpha / 2)
    rows: list[dict[str, Any]] = []
    interaction: dict[str, Any] = {}
    notes: list[str] = []
    empty_hr = {"estimate": None, "ci": [None, None], "p": None}
    no_days = {"estimate": None, "ci": [None, None], "se": None, "p": None}
    base = frame[["time", "event", "treated"]]
    time, event = frame["time"].to_numpy(float), frame["event"].to_numpy()
    arm_of = frame["arm"].to_numpy()
    in_arm = [arm_of == arm for arm in arms]
    for variable in variables:
        if variable not in frame.columns:
            notes.append(f"subgroup '{variable}' is not in the allocations; skipped")
            continue
        codes, uniques = pd.factorize(frame[variable].fillna("").astype(str), sort=True)
        names = [str(u) for u in uniques]
        if len(names) > MAX_SUBGROUP_LEVELS:
            notes.append(f"subgroup '{variable}' has {len(names)} levels (more than {MAX_SUBGROUP_LEVELS}); skipped")
            continue
        # A hazard ratio needs people and events in both arms of the level.
        counts = np.stack([np.bincount(codes[mine], minlength=len(names)) for mine in in_arm], axis=1)
        events = np.stack([np.bincount(codes[mine], weights=event[mine], minlength=len(names)) for mine in in_arm], 1)
        usable = [i for i in range(len(names)) if counts[i].min() > 0 and events[i].min() > 0]
        ratios, interaction[variable] = _level_hazard_ratios(base, codes, usable, names, alpha)
        for i, level in enumerate(names):
            part = codes == i
            control, treated = part & in_arm[0], part & in_arm[1]
            days = (
                _days_saved((time[control], event[control]), (time[treated], event[treated]), horizon, z)
                if counts[i].min() > 0
                else no_days
            )
            rows.append(
                {
                    "variable": variable,
                    "level": level,
                    "n_by_arm": {arm: int(counts[i, j]) for j, arm in enumerate(arms)},
                    "hazard_ratio": ratios.get(level, empty_hr),
                    "days_saved": days,
                }
            )
    return rows, interaction, notes


def _binary(
    frame: pd.DataFrame, allocations: pd.DataFrame, protocol: Any, arms: tuple[str, str], alpha: float
) -> tuple[dict[str, Any] | None, int]:
    """A protocol's binary outcome: proportion per arm (Wilson) and difference treatment - control (Newcombe)."""
    spec = protocol.outcomes.binary
    if spec is None:
        return None, 0
    from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, test_proportions_2indep

    column = spec.column.lower()
    if column in frame.columns:
        values, arm = frame[column], frame["arm"]
    elif column in allocations.columns:
        values, arm = allocations[column], allocations["arm"]
    else:
        raise InputError(f"the binary outcome column '{column}' is in neither the outcomes nor the allocations")
    text = values.fillna("").astype(str).str.strip().str.lower()
    truthy = text.isin({"1", "true", "ja", "yes", "j", "y", "sand", "1.0"})
    falsy = text.isin({"0", "false", "nej", "no", "n", "falsk", "0.0"})
    missing = int((~(truthy | falsy)).sum())
    per_arm: dict[str, Any] = {}
    counts: dict[str, tuple[int, int]] = {}
    for name in arms:
        mine = (arm == name) & (truthy | falsy)
        k, n = int((truthy & mine).sum()), int(mine.sum())
        counts[name] = (k, n)
        low, high = proportion_confint(k, n, alpha=alpha, method="wilson") if n else (np.nan, np.nan)
        per_arm[name] = {"n": n, "yes": k, "proportion": _num(k / n) if n else None, "ci": _interval(low, high)}
    (k1, n1), (k0, n0) = counts[arms[1]], counts[arms[0]]
    result: dict[str, Any] = {"name": spec.name, "column": column, "arms": per_arm, "missing": missing}
    if n1 and n0:
        low, high = confint_proportions_2indep(k1, n1, k0, n0, compare="diff", method="newcomb", alpha=alpha)
        test = test_proportions_2indep(k1, n1, k0, n0, compare="diff", method="wald")
        result["difference"] = {"estimate": _num(k1 / n1 - k0 / n0), "ci": _interval(low, high), "p": _num(test.pvalue)}
    return result, missing


def _at_risk(frame: pd.DataFrame, arms: tuple[str, str], horizon: int) -> dict[str, list[int]]:
    """Numbers at risk (observed time >= t) every four weeks to the horizon, as printed under KM curves."""
    times = [*range(0, horizon, AT_RISK_STEP_DAYS), horizon]
    out: dict[str, list[int]] = {"times": times}
    for arm in arms:
        observed = np.sort(frame.loc[frame["arm"] == arm, "time"].to_numpy(float))
        out[arm] = [int(len(observed) - np.searchsorted(observed, t, side="left")) for t in times]
    return out


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


# --- the analysis -------------------------------------------------------------------------------------------------


def analyse(
    protocol: Any,
    allocations: pd.DataFrame,
    spells: pd.DataFrame,
    as_of: Any,
    *,
    horizon_days: int | None = None,
    event_exits: list[str] | None = None,
    bootstrap: int | None = None,
    seed: int | None = None,
    withdrawals: pd.DataFrame | None = None,
    recommendations: pd.DataFrame | None = None,
    inputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The intention-to-treat analysis of a trial as a JSON-ready dict (the output of `trial analyse --json`).

    `allocations` needs person_id, arm, randomised_on (and stratum and the protocol's covariates for the stratified
    and adjusted estimates); `spells` needs person_id, start, end, exit. Nothing here reads files or the ledger.
    """
    rules = OutcomeRules.from_protocol(protocol, as_of, horizon_days=horizon_days, event_exits=event_exits)
    arms = (protocol.control_arm, protocol.treatment_arm)
    alpha = float(protocol.analysis.alpha)
    z = float(stats.norm.ppf(1 - alpha / 2))
    replicates = int(protocol.analysis.bootstrap if bootstrap is None else bootstrap)
    seed = DEFAULT_SEED if seed is None else int(seed)
    allocations = allocations.copy()
    allocations["arm"] = allocations["arm"].astype(str)
    unknown = sorted(set(allocations["arm"]) - set(arms))
    if unknown:
        raise InputError(f"allocations name arm(s) {', '.join(unknown)} that the protocol does not have")
    if allocations["person_id"].duplicated().any():
        raise InputError("allocations list a person more than once")
    if allocations.empty:
        raise InputError("nobody is allocated yet: there is nothing to analyse")

    table: OutcomeTable = build_outcomes(allocations, spells, rules)
    frame = table.frame
    frame["treated"] = (frame["arm"] == protocol.treatment_arm).astype(int)
    notes: list[str] = []
    horizon = rules.horizon_days

    per_arm: dict[str, Any] = {}
    km_curves: dict[str, Any] = {}
    cif_curves: dict[str, Any] = {}
    exits = [*rules.event_exits, *rules.competing_exits]
    for arm in arms:
        group = frame[frame["arm"] == arm]
        if group.empty:
            raise InputError(f"no participant of arm '{arm}' has an outcome; nothing to compare")
        summary = _arm_summary(group, rules, list(protocol.outcomes.landmarks_days), alpha)
        per_arm[arm] = summary["summary"]
        km_curves[arm] = {k: [float(v) for v in values] for k, values in summary["km"].items()}
        cif_curves[arm] = _cif_curves(group, exits)
        if summary["summary"]["max_follow_up_days"] < horizon:
            notes.append(
                f"follow-up in arm '{arm}' ends at day {summary['summary']['max_follow_up_days']:g}, "
                f"before the horizon ({horizon}); RMST treats the last value as flat"
            )

    control, treated = frame[frame["arm"] == arms[0]], frame[frame["arm"] == arms[1]]
    effects: dict[str, Any] = {}
    rmst_c, rmst_t = per_arm[arms[0]], per_arm[arms[1]]
    days = _wald(rmst_c["rmst_days"] - rmst_t["rmst_days"], math.hypot(rmst_c["rmst_se"], rmst_t["rmst_se"]), z)
    rng = np.random.default_rng(seed)
    boot_c = bootstrap_rmst(control["time"].to_numpy(), control["event"].to_numpy(), horizon, replicates, rng)
    boot_t = bootstrap_rmst(treated["time"].to_numpy(), treated["event"].to_numpy(), horizon, replicates, rng)
    differences = boot_c - boot_t
    if replicates >= 2:
        days["ci_bootstrap"] = _interval(*np.quantile(differences, [alpha / 2, 1 - alpha / 2]))
        days["se_bootstrap"] = _num(differences.std(ddof=1))
    else:
        days["ci_bootstrap"], days["se_bootstrap"] = [None, None], None
    effects["days_saved"] = days

    model, hazard = _cox(frame, None, alpha)
    effects["hazard_ratio"] = hazard
    design, covariate_notes = _design(frame, list(protocol.analysis.covariates))
    notes.extend(covariate_notes)
    adjusted_model = None
    if design.shape[1]:
        adjusted_model, effects["hazard_ratio_adjusted"] = _cox(frame, design, alpha)
        effects["hazard_ratio_adjusted"]["covariates"] = list(design.columns)
    else:
        effects["hazard_ratio_adjusted"] = {**hazard, "covariates": []}
    effects["logrank"] = _logrank(frame, None)
    strata = frame["stratum"] if "stratum" in frame.columns else None
    effects["logrank_stratified"] = _logrank(frame, strata) if strata is not None else None
    if strata is None:
        notes.append("allocations have no 'stratum' column; the stratified log-rank test is left out")

    rate_t, rate_c = per_arm[arms[1]], per_arm[arms[0]]
    effects["employment_rate_difference"] = _wald(
        rate_t["employment_rate"] - rate_c["employment_rate"],
        math.hypot(rate_t["employment_rate_se"], rate_c["employment_rate_se"]),
        z,
    )
    if rate_t["employment_rate"] > 0 and rate_c["employment_rate"] > 0:
        log_ratio = math.log(rate_t["employment_rate"] / rate_c["employment_rate"])
        log_se = math.hypot(
            rate_t["employment_rate_se"] / rate_t["employment_rate"],
            rate_c["employment_rate_se"] / rate_c["employment_rate"],
        )
        effects["employment_rate_ratio"] = {
            "estimate": _num(math.exp(log_ratio)),
            "ci": _interval(math.exp(log_ratio - z * log_se), math.exp(log_ratio + z * log_se)),
            "p": _p_normal(log_ratio / log_se) if log_se > 0 else None,
        }
    else:
        effects["employment_rate_ratio"] = {"estimate": None, "ci": [None, None], "p": None}
    effects["unemployed_share_difference"] = _wald(
        rate_t["unemployed_share"] - rate_c["unemployed_share"],
        math.hypot(rate_t["unemployed_share_se"], rate_c["unemployed_share_se"]),
        z,
    )
    effects["ph_test"] = _ph_test(model, frame, None)
    if adjusted_model is not None:
        effects["ph_test"]["adjusted"] = _ph_test(adjusted_model, frame, design)
    binary, binary_missing = _binary(frame, allocations, protocol, arms, alpha)
    if binary is not None:
        effects["binary"] = binary

    subgroups, interaction, subgroup_notes = _subgroups(frame, list(protocol.analysis.subgroups), arms, horizon, alpha)
    notes.extend(subgroup_notes)

    quality = dict(table.data_quality)
    if binary is not None:
        quality["binary_outcome_missing"] = binary_missing
    allocated = allocations["arm"].value_counts()
    without = table.without_outcome
    withdrawn = withdrawals["person_id"].isin(allocations["person_id"]) if withdrawals is not None else None
    counts = {
        "allocated": {arm: int(allocated.get(arm, 0)) for arm in arms} | {"total": len(allocations)},
        "analysed": {arm: per_arm[arm]["n"] for arm in arms} | {"total": len(frame)},
        "without_outcome": {
            arm: {
                reason: int(((without["arm"] == arm) & (without["reason"] == reason)).sum())
                for reason in ("no_index_spell", "randomised_after_data_cut")
            }
            for arm in arms
        },
        "withdrawn": (
            {
                arm: int(
                    withdrawals.loc[withdrawn, "person_id"].map(allocations.set_index("person_id")["arm"]).eq(arm).sum()
                )
                for arm in arms
            }
            if withdrawals is not None
            else None
        ),
    }

    result: dict[str, Any] = {
        "arms": per_arm,
        "curves": {"km": km_curves, "cif": cif_curves},
        "at_risk": _at_risk(frame, arms, horizon),
        "effects": effects,
        "subgroups": subgroups,
        "subgroup_interactions": interaction,
        "data_quality": quality,
        "data_quality_rows": table.examples,
        "counts": counts,
        "interim": _interim(protocol, allocations, rules.as_of),
        "notes": notes,
    }
    if recommendations is not None:
        result["receipt"], effects["cace_days_saved"] = _receipt(frame, recommendations, arms, days, z)
    result["meta"] = {
        "protocol": {"id": protocol.id, "version": protocol.version, "fingerprint": protocol.fingerprint},
        "arms": {"control": arms[0], "treatment": arms[1]},
        "inputs": inputs or {},
        "packages": _versions(),
        "as_of": rules.as_of.date().isoformat(),
        "horizon_days": horizon,
        "index_window_days": rules.index_window_days,
        "event_exits": list(rules.event_exits),
        "competing_exits": list(rules.competing_exits),
        "bootstrap": {"replicates": replicates, "seed": seed, "method": "percentile, resampling within arms"},
        "alpha": alpha,
        "confidence_level": 1 - alpha,
        "km_interval": "log(-log) (Greenwood), as lifelines",
    }
    return to_json_ready(result)


def _interim(protocol: Any, allocations: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, Any] | None:
    """Which planned look this data cut is and the efficacy boundary that applies (Lan-DeMets spending)."""
    from trial.interim import look_for

    first = pd.to_datetime(allocations["randomised_on"]).min()
    if pd.isna(first):
        return None
    return look_for(protocol, first.date(), as_of.date())


def _receipt(
    frame: pd.DataFrame, recommendations: pd.DataFrame, arms: tuple[str, str], days: dict[str, Any], z: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Share of each arm with at least one logged recommendation, and the complier effect (ITT / receipt gap).

    The CACE interval is the delta method for a ratio of independent estimates (Wald IV estimator).
    """
    received_ids = set(recommendations["person_id"].astype(str))
    receipt: dict[str, Any] = {}
    shares: dict[str, tuple[float, int]] = {}
    for arm in arms:
        ids = frame.loc[frame["arm"] == arm, "person_id"].astype(str)
        k, n = int(ids.isin(received_ids).sum()), len(ids)
        shares[arm] = (k / n if n else 0.0, n)
        receipt[arm] = {"n": n, "received": k, "share": _num(k / n) if n else None}
    (p1, n1), (p0, n0) = shares[arms[1]], shares[arms[0]]
    gap = p1 - p0
    if gap <= 0 or days["estimate"] is None:
        return receipt, {"estimate": None, "ci": [None, None], "se": None, "receipt_difference": _num(gap)}
    var_gap = p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0
    cace = days["estimate"] / gap
    se = math.sqrt(days["se"] ** 2 / gap**2 + cace**2 * var_gap / gap**2)
    return receipt, {**_wald(cace, se, z), "receipt_difference": _num(gap)}


def to_json_ready(value: Any) -> Any:
    """Plain Python data for `json.dumps`: numpy scalars become numbers, NaN and infinities become null."""
    if isinstance(value, dict):
        return {str(k): to_json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_json_ready(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _num(value)
    return value
