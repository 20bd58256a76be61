"""The intention-to-treat analysis of a trial: a short orchestrator over named steps that each return a typed piece.

lifelines, statsmodels and scipy compute every estimator they provide; `trial.rmst` adds what they lack (the survRM2
variance of RMST, tie-exact Aalen-Johansen, a vectorised bootstrap) and `trial.cox` the vectorised Schoenfeld
residuals. The result is a `trial.results.AnalysisResult`, the JSON of `trial analyse`.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from trial.cox import cox_fit, design_matrix, level_hazard_ratios, ph_test
from trial.errors import InputError, ParameterError
from trial.exposure_analysis import RECEIPT, Display, by_consultant, caps_in_force, consultants, displayed, log_exposure
from trial.outcomes import COMPETING, EVENT, OutcomeRules, OutcomeTable, build_outcomes, shorten
from trial.results import (
    CACE_ASSUMPTIONS,
    NO_INTERVAL,
    AdjustedDaysSaved,
    AnalysisResult,
    ArmDays,
    ArmRoles,
    ArmSummary,
    AtRisk,
    BinaryArm,
    BinaryOutcome,
    BootstrapInfo,
    Cace,
    Counts,
    Curve,
    Curves,
    DaysSaved,
    Effect,
    Effects,
    ExposureAnalysis,
    FollowUpArm,
    HazardRatio,
    IncidenceCurve,
    InputStamp,
    Interim,
    Meta,
    PHTest,
    PrimaryEffect,
    ProtocolRef,
    ReceiptArm,
    Spillover,
    SpilloverEffect,
    SpilloverEffects,
    Subgroup,
    Test,
    WindowArmDays,
    WindowEffect,
)
from trial.rmst import (
    Cells,
    LifeTable,
    aalen_johansen,
    bootstrap_rmst,
    resample_counts,
    rmst,
    rmst_from_counts,
    value_at,
)

DEFAULT_SEED = 20190601
AT_RISK_STEP_DAYS = 28
MAX_SUBGROUP_LEVELS = 12
_PACKAGES = ("jobmatch-trial", "numpy", "pandas", "scipy", "statsmodels", "lifelines")
Progress = Callable[[str, int, int], None]
STEPS = (
    "outcomes",
    "per-arm estimates",
    "bootstrap",
    "days on benefit",
    "strata adjustment",
    "hazard ratios",
    "log-rank",
    "subgroups",
    "receipt",
    "exposure",
    "decision",
)


def _p_normal(z: float) -> float | None:
    return 2 * stats.norm.sf(abs(z)) if math.isfinite(z) else None


def _wald(estimate: float, se: float, z: float) -> Effect:
    """Estimate, standard error, normal-approximation interval and two-sided p."""
    ok = math.isfinite(estimate) and math.isfinite(se) and se > 0
    return Effect(
        estimate=estimate,
        se=se,
        ci=(estimate - z * se, estimate + z * se) if ok else NO_INTERVAL,
        p=_p_normal(estimate / se) if ok else None,
    )


@dataclass(frozen=True)
class Setting:
    """What every step needs to know: the arms by role, alpha and its normal quantile, the outcome rules."""

    control: str
    treatment: str
    alpha: float
    rules: OutcomeRules

    @property
    def z(self) -> float:
        return float(stats.norm.ppf(1 - self.alpha / 2))

    @property
    def horizon(self) -> int:
        return self.rules.horizon_days


# --- per-arm estimates --------------------------------------------------------------------------------------------


def _km_curve(time: np.ndarray, event: np.ndarray, alpha: float) -> tuple[Curve, float, tuple[float, float]]:
    """lifelines Kaplan-Meier with its (log-log) pointwise band; the median with its interval."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter(alpha=alpha).fit(time, event)
    band = kmf.confidence_interval_survival_function_
    median_ci = median_survival_times(band)
    curve = Curve(
        time=kmf.survival_function_.index.to_numpy(dtype=float),
        survival=kmf.survival_function_.iloc[:, 0].to_numpy(),
        lower=band.iloc[:, 0].to_numpy(),
        upper=band.iloc[:, 1].to_numpy(),
    )
    return curve, kmf.median_survival_time_, (median_ci.iloc[0, 0], median_ci.iloc[0, 1])


def _incidence_at(time: np.ndarray, status: np.ndarray, cause: int, t: float, z: float) -> Effect:
    """Cumulative incidence of a cause at t with a log(-log) interval (as lifelines' Aalen-Johansen)."""
    inc = aalen_johansen(time, status, cause)
    value = value_at(inc.time, inc.cif, t, 0.0)
    variance = value_at(inc.time, inc.variance, t, 0.0)
    if 0 < value < 1 and variance > 0:
        se_t = math.sqrt(variance) / (value * abs(math.log(value)))
        log_log = math.log(-math.log(value))
        ci = (math.exp(-math.exp(log_log + z * se_t)), math.exp(-math.exp(log_log - z * se_t)))
    else:
        ci = (value, value)
    return Effect(estimate=value, se=math.sqrt(variance), ci=ci)


def _arm_summary(group: pd.DataFrame, setting: Setting, landmarks: list[int]) -> tuple[ArmSummary, Curve]:
    """Counts, Kaplan-Meier, RMST, employment rate and unemployed share of one arm."""
    z, horizon = setting.z, setting.horizon
    time, status = group["time"].to_numpy(float), group["status"].to_numpy()
    event = status == EVENT
    curve, median, median_ci = _km_curve(time, event, setting.alpha)
    restricted = rmst(LifeTable.from_data(time, event), horizon)
    any_exit = rmst(LifeTable.from_data(time, status != 0), horizon)
    employment = _incidence_at(time, status, EVENT, horizon, z)
    km_time = np.asarray(curve.time)
    summary = ArmSummary(
        n=len(group),
        events=int(event.sum()),
        competing=int((status == COMPETING).sum()),
        censored=int((status == 0).sum()),
        median_days=median,
        median_ci=median_ci,
        rmst_days=restricted.estimate,
        rmst_se=restricted.se,
        rmst_ci=(restricted.estimate - z * restricted.se, restricted.estimate + z * restricted.se),
        employment_rate=employment.estimate,
        employment_rate_se=employment.se,
        employment_rate_ci=employment.ci,
        unemployed_share=any_exit.estimate / horizon,
        unemployed_share_se=any_exit.se / horizon,
        still_unemployed_at={str(t): value_at(km_time, np.asarray(curve.survival), t, 1.0) for t in landmarks},
        still_unemployed_ci={
            str(t): (
                value_at(km_time, np.asarray(curve.lower, dtype=float), t, 1.0),
                value_at(km_time, np.asarray(curve.upper, dtype=float), t, 1.0),
            )
            for t in landmarks
        },
        max_follow_up_days=time.max() if len(time) else None,
    )
    return summary, curve


def _cif_curves(group: pd.DataFrame, exits: list[str]) -> dict[str, IncidenceCurve]:
    """Aalen-Johansen cumulative incidence per exit type, every other exit competing."""
    time = group["time"].to_numpy(float)
    out: dict[str, IncidenceCurve] = {}
    for name in exits:
        status = np.where(group["exit"].to_numpy() == name, 1, np.where(group["status"].to_numpy() != 0, 2, 0))
        inc = aalen_johansen(time, status, 1)
        out[name] = IncidenceCurve(time=[0.0, *inc.time.tolist()], cif=[0.0, *inc.cif.tolist()])
    return out


def arm_estimates(
    frame: pd.DataFrame, setting: Setting, landmarks: list[int]
) -> tuple[dict[str, ArmSummary], Curves, list[str]]:
    """Step: every per-arm estimate and curve, with a note where follow-up ends before the horizon."""
    arms: dict[str, ArmSummary] = {}
    km: dict[str, Curve] = {}
    cif: dict[str, dict[str, IncidenceCurve]] = {}
    notes: list[str] = []
    exits = [*setting.rules.event_exits, *setting.rules.competing_exits]
    for arm in (setting.control, setting.treatment):
        group = frame[frame["arm"] == arm]
        if group.empty:
            raise InputError(f"no participant of arm '{arm}' has an outcome; nothing to compare")
        arms[arm], km[arm] = _arm_summary(group, setting, landmarks)
        cif[arm] = _cif_curves(group, exits)
        last = arms[arm].max_follow_up_days
        if last is not None and last < setting.horizon:
            notes.append(
                f"follow-up in arm '{arm}' ends at day {last:g}, before the horizon ({setting.horizon}); "
                "RMST treats the last value as flat"
            )
    return arms, Curves(km=km, cif=cif), notes


def at_risk(frame: pd.DataFrame, setting: Setting) -> AtRisk:
    """Step: numbers at risk (observed time >= t) every four weeks to the horizon, as printed under KM curves."""
    times = [*range(0, setting.horizon, AT_RISK_STEP_DAYS), setting.horizon]
    by_arm: dict[str, list[int]] = {}
    for arm in (setting.control, setting.treatment):
        observed = np.sort(frame.loc[frame["arm"] == arm, "time"].to_numpy(float))
        by_arm[arm] = [int(len(observed) - np.searchsorted(observed, t, side="left")) for t in times]
    return AtRisk(times=times, by_arm=by_arm)


# --- comparisons --------------------------------------------------------------------------------------------------


def days_saved(
    frame: pd.DataFrame,
    arms: dict[str, ArmSummary],
    setting: Setting,
    replicates: int,
    seed: int,
) -> DaysSaved:
    """Step: RMST(control) − RMST(treatment) with the survRM2 interval and a bootstrap resampling within arms."""
    control, treated = arms[setting.control], arms[setting.treatment]
    analytic = _wald(
        control.rmst_days - treated.rmst_days, math.hypot(control.rmst_se, treated.rmst_se), setting.z
    )
    rng = np.random.default_rng(seed)
    draws = []
    for arm in (setting.control, setting.treatment):
        group = frame[frame["arm"] == arm]
        draws.append(bootstrap_rmst(group["time"].to_numpy(), group["event"].to_numpy(), setting.horizon,
                                    replicates, rng))
    differences = draws[0] - draws[1]
    if replicates < 2:
        return DaysSaved(**analytic.model_dump())
    a = setting.alpha
    return DaysSaved(
        **analytic.model_dump(),
        ci_bootstrap=tuple(np.quantile(differences, [a / 2, 1 - a / 2])),
        se_bootstrap=differences.std(ddof=1),
    )


def days_saved_between(control: pd.DataFrame, treated: pd.DataFrame, horizon: int, z: float) -> Effect:
    """RMST(control) − RMST(treatment) of the cause-specific Kaplan-Meier curves, with its analytic interval."""
    a = rmst(LifeTable.from_data(control["time"].to_numpy(float), control["event"].to_numpy()), horizon)
    b = rmst(LifeTable.from_data(treated["time"].to_numpy(float), treated["event"].to_numpy()), horizon)
    return _wald(a.estimate - b.estimate, math.hypot(a.se, b.se), z)


# --- days on benefit (issue 13) -----------------------------------------------------------------------------------


def _percentile(values: np.ndarray, alpha: float) -> tuple[float, float]:
    return tuple(np.quantile(values, [alpha / 2, 1 - alpha / 2]))  # type: ignore[return-value]


def _arm_days(estimate: float | None, se: float | None, n: int, z: float, **more: Any) -> Any:
    """One arm's mean days with its normal interval (a WindowArmDays when `more` carries window fields)."""
    ci = NO_INTERVAL if estimate is None or se is None else (estimate - z * se, estimate + z * se)
    return (WindowArmDays if more else ArmDays)(estimate=estimate, se=se, ci=ci, n=n, **more)


def benefit_days(
    benefit: pd.DataFrame, setting: Setting, replicates: int, seed: int
) -> tuple[dict[str, ArmDays], DaysSaved]:
    """Step: restricted mean days in the index spell (time to any exit) per arm and control − treatment.

    Everyone randomised by the data cut counts (no index spell: 0 days); survRM2 interval and a bootstrap within arms.
    """
    rng = np.random.default_rng([seed, 13, 1])
    per_arm: dict[str, ArmDays] = {}
    estimates, draws = [], []
    for arm in (setting.control, setting.treatment):
        group = benefit[benefit["arm"] == arm]
        time, ended = group["benefit_time"].to_numpy(float), group["benefit_ended"].to_numpy()
        fit = rmst(LifeTable.from_data(time, ended), setting.horizon)
        per_arm[arm] = _arm_days(fit.estimate, fit.se, len(group), setting.z)
        estimates.append(fit)
        draws.append(bootstrap_rmst(time, ended, setting.horizon, replicates, rng))
    control, treated = estimates
    analytic = _wald(control.estimate - treated.estimate, math.hypot(control.se, treated.se), setting.z)
    if replicates < 2:
        return per_arm, DaysSaved(**analytic.model_dump())
    differences = draws[0] - draws[1]
    return per_arm, DaysSaved(
        **analytic.model_dump(),
        ci_bootstrap=_percentile(differences, setting.alpha),
        se_bootstrap=differences.std(ddof=1),
    )


def window_effects(
    table: OutcomeTable, setting: Setting, windows: list[int]
) -> tuple[dict[str, dict[str, WindowArmDays]], dict[str, WindowEffect], list[str]]:
    """Step: mean days on any benefit spell in [0, W) per arm and window, control − treatment (returns counted).

    Day t of a window is estimated among the people observed on it (randomised at least t days before the cut).
    """
    from trial.windows import window_days

    arm_of = table.benefit["arm"].to_numpy()
    observed = table.benefit["observed_days"].to_numpy()
    per_arm: dict[str, dict[str, WindowArmDays]] = {setting.control: {}, setting.treatment: {}}
    effects: dict[str, WindowEffect] = {}
    notes: list[str] = []
    for window in windows:
        fits = {arm: window_days(table.spans, observed, np.flatnonzero(arm_of == arm), window) for arm in per_arm}
        for arm, fit in fits.items():
            per_arm[arm][str(window)] = _arm_days(fit.estimate, fit.se, fit.n, setting.z, n_complete=fit.n_complete)
        control, treated = fits[setting.control], fits[setting.treatment]
        complete = control.n_complete + treated.n_complete
        if control.estimate is None or treated.estimate is None:
            last = int(observed.max()) - 1 if len(observed) else 0
            notes.append(
                f"days on any benefit in the first {window} days: not yet estimable; nobody is followed to day "
                f"{window - 1} (the longest follow-up ends at day {last})"
            )
            effects[str(window)] = WindowEffect(estimate=None, window_days=window, n_complete=complete)
            continue
        difference = _wald(control.estimate - treated.estimate, math.hypot(control.se, treated.se), setting.z)
        effects[str(window)] = WindowEffect(**difference.model_dump(), window_days=window, n_complete=complete)
        if complete < control.n + treated.n:
            notes.append(
                f"days on any benefit in the first {window} days: {complete} of {control.n + treated.n} people are "
                f"observed for the whole window; day t is estimated among those randomised at least t days before "
                "the data cut"
            )
    return per_arm, effects, notes


def with_benefit_days(
    arms: dict[str, ArmSummary],
    on_benefit: dict[str, ArmDays],
    windows: dict[str, dict[str, WindowArmDays]],
    setting: Setting,
) -> dict[str, ArmSummary]:
    """Each arm's summary with its days on benefit; the share of the horizon in the index spell follows from them."""
    out = {}
    for arm, summary in arms.items():
        days = on_benefit[arm]
        out[arm] = summary.model_copy(
            update={
                "benefit_days": days,
                "benefit_days_all_spells": windows.get(arm) or None,
                "unemployed_share": days.estimate / setting.horizon,
                "unemployed_share_se": days.se / setting.horizon,
            }
        )
    return out


def strata_columns(frame: pd.DataFrame, protocol: Any) -> list[str]:
    """The randomisation strata as columns of the allocations; the combined 'stratum' column when they are absent."""
    named = [c for c in protocol.randomisation.strata if c in frame.columns]
    if named:
        return named
    return ["stratum"] if "stratum" in frame.columns else []


def adjusted_effects(
    frame: pd.DataFrame, benefit: pd.DataFrame, protocol: Any, setting: Setting, replicates: int, seed: int
) -> tuple[AdjustedDaysSaved | None, AdjustedDaysSaved | None, list[str]]:
    """Step: days on benefit saved and days saved adjusted for the randomisation strata (pseudo-observations).

    Both get the robust interval; the bootstrap within strata, which draws every stratum × arm apart, runs for the
    primary family only (days saved when the primary outcome is time to the event, else days on benefit saved).
    """
    from trial.adjusted import adjusted_rmst_difference

    columns = strata_columns(benefit, protocol)
    if not columns:
        return None, None, ["allocations carry no strata; the strata-adjusted estimates are left out"]
    primary_family = "days_saved" if protocol.outcomes.primary == "time_to_event" else "benefit_days_saved"
    out = []
    for stream, (name, data, time, event) in enumerate(
        (("benefit_days_saved", benefit, "benefit_time", "benefit_ended"), ("days_saved", frame, "time", "event")),
        start=2,
    ):
        draws = replicates if name == primary_family else 0
        fit = adjusted_rmst_difference(
            data[time].to_numpy(float), data[event].to_numpy(), data["treated"].to_numpy(), data[columns],
            setting.horizon, draws, np.random.default_rng([seed, 13, stream]),
        )  # fmt: skip
        # The regression estimates treatment − control; days saved are control − treatment.
        effect = _wald(-fit.estimate, fit.se, setting.z)
        boot = -fit.replicates
        method = "pseudo-observations of the pooled Kaplan-Meier RMST, OLS on arm × centred strata, HC0 SE"
        out.append(
            AdjustedDaysSaved(
                **effect.model_dump(),
                ci_bootstrap=_percentile(boot, setting.alpha) if len(boot) >= 2 else NO_INTERVAL,
                se_bootstrap=boot.std(ddof=1) if len(boot) >= 2 else None,
                covariates=fit.covariates,
                method=method + ("; bootstrap within strata and arms" if len(boot) >= 2 else ""),
            )
        )
    return out[0], out[1], []


def primary_effect_name(protocol: Any) -> str:
    """The key under `effects` of the protocol's primary effect ('binary.difference' for a binary primary outcome)."""
    if protocol.outcomes.primary == "binary":
        return "binary.difference"
    return days_effect_name(protocol)


def days_effect_name(protocol: Any) -> str:
    """The days estimand finance multiplies: the primary one, or days on benefit saved for a binary primary outcome."""
    base = "days_saved" if protocol.outcomes.primary == "time_to_event" else "benefit_days_saved"
    return base + ("_adjusted" if protocol.analysis.adjust_for_strata else "")


def primary(effects: Effects, protocol: Any) -> tuple[PrimaryEffect | None, list[str]]:
    """Step: the primary effect named by the protocol; the unadjusted one when the adjusted cannot be estimated."""
    name = primary_effect_name(protocol)
    if name == "binary.difference":
        found = effects.binary.difference if effects.binary is not None else None
    else:
        found = getattr(effects, name)
    notes = []
    if found is None and name.endswith("_adjusted"):
        notes.append(f"the primary effect {name} could not be estimated; the unadjusted one is reported instead")
        name = name.removesuffix("_adjusted")
        found = getattr(effects, name)
    if found is None:
        return None, notes
    return PrimaryEffect(
        name=name, adjusted=name.endswith("_adjusted"), estimate=found.estimate, se=found.se, ci=found.ci, p=found.p
    ), notes


# What lifelines and statsmodels raise when a model cannot be fitted to the data (no events, separation, singular).
_UNFIT = (ValueError, ArithmeticError, np.linalg.LinAlgError)
NO_PH_TEST = PHTest(statistic=None, p=None, transform="km", per_covariate={})


def without_events(frame: pd.DataFrame, setting: Setting) -> list[str]:
    """The arms in which nobody's event exit is observed (no exit to a job: time to a job cannot be compared)."""
    events = frame.groupby("arm")["event"].sum()
    return [arm for arm in (setting.control, setting.treatment) if events.get(arm, 0) == 0]


def two_stage_effects(
    effects: Effects, benefit: pd.DataFrame, frame: pd.DataFrame, setting: Setting, replicates: int, seed: int
) -> tuple[Effects, PrimaryEffect | None, list[str]]:
    """Step: a two-stage design's four estimands (`trial.spillover`); the headline is the direct effect of days on
    benefit saved within treated clusters, with its cluster-bootstrap interval."""
    from trial.spillover import spillover_effects

    found, notes = spillover_effects(
        benefit, frame, treatment_arm=setting.treatment, horizon=setting.horizon, as_of=setting.rules.as_of,
        alpha=setting.alpha, replicates=replicates, seed=seed, event=EVENT,
    )  # fmt: skip
    notes.append(
        "two-stage design: the primary effect is spillover.direct, days on benefit saved by the treated against the "
        "untreated of the same clusters, with a cluster-bootstrap interval; the individual-level effects pool the "
        "untreated of every cluster and their intervals ignore the clusters"
    )
    direct = found.direct
    headline = None if direct is None else PrimaryEffect(
        name="spillover.direct", adjusted=False, estimate=direct.estimate, se=direct.se, ci=direct.ci, p=direct.p,
    )  # fmt: skip
    return effects.model_copy(update={"spillover": found}), headline, notes


def hazard_ratios(
    frame: pd.DataFrame, covariates: list[str], setting: Setting
) -> tuple[HazardRatio, HazardRatio, PHTest, list[str]]:
    """Step: the unadjusted and covariate-adjusted Cox hazard ratios and their proportional-hazards tests.

    An arm without events, or a model lifelines cannot fit, leaves the ratio empty with a note saying why.
    """
    empty = HazardRatio(estimate=None, n=len(frame), events=int(frame["event"].sum()))
    missing = without_events(frame, setting)
    if missing:
        exits = " or ".join(setting.rules.event_exits)
        note = (f"no exit to {exits} is observed in arm '{missing[0]}': the hazard ratios and the "
                "proportional-hazards test cannot be estimated")
        return empty, empty.model_copy(update={"covariates": []}), NO_PH_TEST, [note]
    try:
        model, hazard = cox_fit(frame, None, setting.alpha)
        check = ph_test(model, frame, None)
    except _UNFIT as exc:
        note = f"the Cox model cannot be fitted ({type(exc).__name__}): no hazard ratio or proportional-hazards test"
        return empty, empty.model_copy(update={"covariates": []}), NO_PH_TEST, [note]
    design, notes = design_matrix(frame, covariates)
    if not design.shape[1]:
        return hazard, hazard.model_copy(update={"covariates": []}), check, notes
    try:
        adjusted_model, adjusted = cox_fit(frame, design, setting.alpha)
        adjusted_check = ph_test(adjusted_model, frame, design)
    except _UNFIT as exc:
        note = f"the adjusted Cox model cannot be fitted ({type(exc).__name__}); only the unadjusted ratio is reported"
        return hazard, empty.model_copy(update={"covariates": list(design.columns)}), check, [*notes, note]
    return hazard, adjusted, check.model_copy(update={"adjusted": adjusted_check}), notes


def logrank_tests(frame: pd.DataFrame) -> tuple[Test, Test | None, list[str]]:
    """Step: statsmodels' survdiff (R's survdiff), plain and stratified by randomisation stratum."""
    from statsmodels.duration.survfunc import survdiff

    args = (frame["time"].to_numpy(float), frame["event"].to_numpy(), frame["treated"].to_numpy())
    empty = Test(statistic=None, df=1, p=None)
    try:
        statistic, p = survdiff(*args)
        plain = Test(statistic=statistic, df=1, p=p)
    except _UNFIT:
        return empty, None, ["no events to compare: the log-rank tests cannot be computed"]
    if "stratum" not in frame.columns:
        return plain, None, ["allocations have no 'stratum' column; the stratified log-rank test is left out"]
    try:
        statistic, p = survdiff(*args, strata=pd.factorize(frame["stratum"])[0])
    except _UNFIT:
        return plain, empty, ["a randomisation stratum without events: the stratified log-rank test cannot be computed"]
    return plain, Test(statistic=statistic, df=1, p=p), []


def rate_effects(arms: dict[str, ArmSummary], setting: Setting) -> tuple[Effect, Effect, Effect]:
    """Step: employment by the horizon (difference and ratio, treatment vs control) and the unemployed share."""
    t, c, z = arms[setting.treatment], arms[setting.control], setting.z
    difference = _wald(
        t.employment_rate - c.employment_rate, math.hypot(t.employment_rate_se, c.employment_rate_se), z
    )
    if t.employment_rate and c.employment_rate:
        log_ratio = math.log(t.employment_rate / c.employment_rate)
        log_se = math.hypot(t.employment_rate_se / t.employment_rate, c.employment_rate_se / c.employment_rate)
        ratio = Effect(
            estimate=math.exp(log_ratio),
            ci=(math.exp(log_ratio - z * log_se), math.exp(log_ratio + z * log_se)),
            p=_p_normal(log_ratio / log_se) if log_se > 0 else None,
            se=log_se,
        )
    else:
        ratio = Effect(estimate=None)
    share = _wald(
        t.unemployed_share - c.unemployed_share, math.hypot(t.unemployed_share_se, c.unemployed_share_se), z
    )
    return difference, ratio, share


def homogeneity(estimates: list[float], ses: list[float]) -> Test:
    """Cochran's Q (statsmodels): are the estimates of the levels equal? k − 1 degrees of freedom; empty below two."""
    from statsmodels.stats.meta_analysis import combine_effects

    if len(estimates) < 2:
        return Test(statistic=None, df=0, p=None)
    q = combine_effects(np.asarray(estimates, dtype=float), np.asarray(ses, dtype=float) ** 2).test_homogeneity()
    return Test(statistic=float(q.statistic), df=int(q.df), p=q.pvalue)


def subgroups(
    frame: pd.DataFrame, variables: list[str], setting: Setting
) -> tuple[list[Subgroup], dict[str, Test], dict[str, Test], list[str]]:
    """Step: effects within each level of each subgroup variable (hazard ratio, days saved) and the interaction
    tests of each (are the levels' hazard ratios equal; are their days saved equal). Exploratory by design."""
    rows: list[Subgroup] = []
    interaction: dict[str, Test] = {}
    interaction_days: dict[str, Test] = {}
    notes: list[str] = []
    base = frame[["time", "event", "treated"]]
    event = frame["event"].to_numpy()
    in_control = frame["arm"].to_numpy() == setting.control
    in_treated = frame["arm"].to_numpy() == setting.treatment
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
        counts = np.stack([np.bincount(codes[m], minlength=len(names)) for m in (in_control, in_treated)], axis=1)
        events = np.stack(
            [np.bincount(codes[m], weights=event[m], minlength=len(names)) for m in (in_control, in_treated)], 1
        )
        usable = [i for i in range(len(names)) if counts[i].min() > 0 and events[i].min() > 0]
        notes += [f"subgroup '{variable}' = '{names[i]}': no exit to a job in an arm; its hazard ratio cannot be "
                  "estimated" for i in range(len(names)) if counts[i].min() > 0 and events[i].min() == 0]
        try:
            ratios, interaction[variable] = level_hazard_ratios(base, codes, usable, names, setting.alpha)
        except _UNFIT as exc:
            notes.append(f"subgroup '{variable}': a level's Cox model cannot be fitted ({type(exc).__name__}); "
                         "its hazard ratios are left out")
            ratios, interaction[variable] = {}, Test(statistic=None, df=0, p=None)
        level_days: list[Effect] = []
        for i, level in enumerate(names):
            part = codes == i
            days = (
                days_saved_between(frame[part & in_control], frame[part & in_treated], setting.horizon, setting.z)
                if counts[i].min() > 0
                else Effect(estimate=None)
            )
            level_days.append(days)
            rows.append(
                Subgroup(
                    variable=variable,
                    level=level,
                    n_by_arm={setting.control: int(counts[i, 0]), setting.treatment: int(counts[i, 1])},
                    hazard_ratio=ratios.get(level, Effect(estimate=None)),
                    days_saved=days,
                )
            )
        estimable = [d for d in level_days if d.estimate is not None and d.se]
        interaction_days[variable] = homogeneity([d.estimate for d in estimable], [d.se for d in estimable])
    return rows, interaction, interaction_days, notes


_TRUE = {"1", "true", "ja", "yes", "j", "y", "sand", "1.0"}
_FALSE = {"0", "false", "nej", "no", "n", "falsk", "0.0"}


def binary_outcome(
    frame: pd.DataFrame, allocations: pd.DataFrame, protocol: Any, setting: Setting
) -> BinaryOutcome | None:
    """Step: a protocol's binary outcome: proportion per arm (Wilson), difference treatment − control (Newcombe)."""
    spec = protocol.outcomes.binary
    if spec is None:
        return None
    from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, test_proportions_2indep

    column = spec.column.lower()
    if column in frame.columns:
        values, arm = frame[column], frame["arm"]
    elif column in allocations.columns:
        values, arm = allocations[column], allocations["arm"]
    else:
        raise InputError(
            f"the binary outcome column '{column}' is in neither the outcomes nor the allocations "
            f"(protocol outcomes.binary.column)"
        )
    text = values.fillna("").astype(str).str.strip().str.lower()
    truthy, falsy = text.isin(_TRUE), text.isin(_FALSE)
    per_arm: dict[str, BinaryArm] = {}
    for name in (setting.control, setting.treatment):
        mine = (arm == name) & (truthy | falsy)
        k, n = int((truthy & mine).sum()), int(mine.sum())
        low, high = proportion_confint(k, n, alpha=setting.alpha, method="wilson") if n else (None, None)
        per_arm[name] = BinaryArm(n=n, yes=k, proportion=k / n if n else None, ci=(low, high))
    treated, control = per_arm[setting.treatment], per_arm[setting.control]
    difference = None
    if treated.n and control.n:
        k1, n1, k0, n0 = treated.yes, treated.n, control.yes, control.n
        low, high = confint_proportions_2indep(k1, n1, k0, n0, compare="diff", method="newcomb", alpha=setting.alpha)
        test = test_proportions_2indep(k1, n1, k0, n0, compare="diff", method="wald")
        p1, p0 = k1 / n1, k0 / n0
        se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        difference = Effect(estimate=p1 - p0, ci=(low, high), p=test.pvalue, se=se)
    missing = int((~(truthy | falsy)).sum())
    return BinaryOutcome(name=spec.name, column=column, arms=per_arm, missing=missing, difference=difference)


def shown_in_spell(
    benefit: pd.DataFrame, recommendations: pd.DataFrame, as_of: pd.Timestamp
) -> tuple[np.ndarray, dict[str, int]]:
    """Who received the intervention: a recommendation shown by the data cut while they were in the index spell.

    A recommendation logged after the person left benefit (or before randomisation, or after the cut) cannot have
    shortened their spell; such log rows are counted, not used.
    """
    shown = pd.to_datetime(recommendations["shown_at"].astype(str), format="ISO8601")
    if shown.dt.tz is not None:
        shown = shown.dt.tz_localize(None)
    day = shown.dt.normalize().to_numpy()
    after_cut = day > as_of.to_datetime64()
    position = pd.Index(benefit["person_id"].astype(str)).get_indexer(recommendations["person_id"].astype(str))
    known = position >= 0
    origin = pd.to_datetime(benefit["randomised_on"]).dt.normalize().to_numpy()
    since = np.full(len(day), -1.0)
    since[known] = (day[known] - origin[position[known]]) / np.timedelta64(1, "D")
    until = np.where(known, benefit["index_end_days"].to_numpy(float)[np.maximum(position, 0)], 0.0)
    counted = known & ~after_cut & (since >= 0) & (since < until)
    received = np.zeros(len(benefit), dtype=bool)
    received[position[counted]] = True
    quality = {
        "recommendations_after_data_cut": int(after_cut.sum()),
        "recommendations_outside_index_spell": int((~after_cut & ~counted).sum()),
    }
    return received, quality


def complier_effect(
    data: pd.DataFrame, time: str, event: str, received: np.ndarray, itt: Effect, setting: Setting,
    replicates: int, rng: np.random.Generator, outcome: str,
) -> Cace:  # fmt: skip
    """The complier effect ITT / receipt gap, with a percentile bootstrap drawing effect and receipt from the same
    resampled people (multinomial over time × event × received cells within each arm)."""
    treated = data["arm"].to_numpy() == setting.treatment
    shares, rmsts = [], []
    for mask in (~treated, treated):
        cells = Cells.of(data[time].to_numpy(float)[mask], data[event].to_numpy()[mask], setting.horizon)
        counts = np.zeros((2, len(cells.time), 2), dtype=np.int64)
        np.add.at(counts, (received[mask].astype(int), cells.cell // 2, cells.cell % 2), 1)
        draws = resample_counts(counts, replicates, rng) if replicates >= 2 else counts[None]
        shares.append(draws[:, 1].sum(axis=(1, 2)) / max(int(mask.sum()), 1))
        rmsts.append(rmst_from_counts(draws.sum(axis=1), cells.gaps))
    n = {False: int((~treated).sum()), True: int(treated.sum())}
    gap = float(received[treated].sum() / max(n[True], 1) - received[~treated].sum() / max(n[False], 1))
    common = {"receipt_difference": gap, "outcome": outcome, "assumptions": list(CACE_ASSUMPTIONS)}
    if gap <= 0 or itt.estimate is None:
        return Cace(estimate=None, **common)
    estimate = itt.estimate / gap
    if replicates < 2:
        return Cace(estimate=estimate, p=itt.p, method="no bootstrap replicates: no interval", **common)
    ratio = (rmsts[0] - rmsts[1]) / (shares[1] - shares[0])
    return Cace(
        estimate=estimate,
        se=float(np.std(ratio, ddof=1)),
        ci=_percentile(ratio, setting.alpha),
        p=itt.p,
        method="percentile bootstrap of ITT / receipt gap, both from the same resampled people",
        **common,
    )


def receipt(
    frame: pd.DataFrame,
    benefit: pd.DataFrame,
    recommendations: pd.DataFrame,
    setting: Setting,
    itt: tuple[DaysSaved, DaysSaved],
    replicates: int,
    seed: int,
    confirmations: pd.DataFrame | None = None,
) -> tuple[dict[str, ReceiptArm], Cace, Cace, dict[str, int], Display, np.ndarray]:
    """Step: share of each arm who received recommendations, and the complier effects for days saved and days on
    benefit saved (Wald instrumental variable: ITT / receipt gap; assumptions in `Cace.assumptions`).

    Receipt means confirmed as shown once any consultant has confirmed a list (`trial match shown`), else generated;
    the display and who received are returned for the exposure step.
    """
    display = displayed(recommendations, confirmations)
    received, quality = shown_in_spell(benefit, display.rows, setting.rules.as_of)
    if display.basis == "shown":
        quality["recommendations_without_confirmation"] = display.unconfirmed
    out: dict[str, ReceiptArm] = {}
    for arm in (setting.control, setting.treatment):
        mine = benefit["arm"].to_numpy() == arm
        k, n = int(received[mine].sum()), int(mine.sum())
        out[arm] = ReceiptArm(n=n, received=k, share=k / n if n else None)
    rng = np.random.default_rng([seed, 13, 4])
    got = set(benefit.loc[received, "person_id"])
    in_frame = frame["person_id"].isin(got).to_numpy()
    days = complier_effect(frame, "time", "event", in_frame, itt[0], setting, replicates, rng, "days_saved")
    on_benefit = complier_effect(
        benefit, "benefit_time", "benefit_ended", received, itt[1], setting, replicates, rng, "benefit_days_saved"
    )
    assumptions = [*CACE_ASSUMPTIONS[:-1], RECEIPT[display.basis]]
    days, on_benefit = (c.model_copy(update={"assumptions": assumptions}) for c in (days, on_benefit))
    return out, days, on_benefit, quality, display, received


def exposure(
    display: Display,
    recommendations: pd.DataFrame,
    benefit: pd.DataFrame,
    frame: pd.DataFrame,
    received: np.ndarray,
    protocol: Any,
    setting: Setting,
) -> ExposureAnalysis:
    """Step: exposure of what the treatment arm was generated and (when confirmed) shown, beside receipt, and the
    intention-to-treat and complier effects with standard errors clustered by consultant (`trial.exposure_analysis`).
    """
    caps, window = caps_in_force(recommendations)
    window = window or protocol.matching.window_days
    generated = displayed(recommendations, None).rows
    return ExposureAnalysis(
        receipt_basis=display.basis,
        receipt_definition=RECEIPT[display.basis],
        generated=log_exposure(generated, "generated", window, caps),
        shown=log_exposure(display.rows, "shown", window, caps) if display.basis == "shown" else None,
        confirmed_not_shown=display.confirmed_not_shown,
        unconfirmed=display.unconfirmed,
        by_consultant=by_consultant(benefit, frame, setting.treatment, received,
                                    consultants(display, recommendations), setting.horizon, setting.alpha),
    )


# --- accounting and provenance ------------------------------------------------------------------------------------


def counts(
    allocations: pd.DataFrame, table: OutcomeTable, withdrawals: pd.DataFrame | None, setting: Setting
) -> Counts:
    """Step: participants by arm — allocated, analysed, without an outcome (by reason), withdrawn."""
    arms = (setting.control, setting.treatment)
    allocated = allocations["arm"].value_counts()
    analysed = table.frame["arm"].value_counts()
    without = table.without_outcome
    withdrawn = None
    if withdrawals is not None:
        arm_of = allocations.set_index("person_id")["arm"]
        known = withdrawals.loc[withdrawals["person_id"].isin(allocations["person_id"]), "person_id"]
        by_arm = known.map(arm_of).value_counts()
        withdrawn = {arm: int(by_arm.get(arm, 0)) for arm in arms}
    on_benefit = table.benefit["arm"].value_counts() if len(table.benefit) else pd.Series(dtype=int)
    return Counts(
        allocated={arm: int(allocated.get(arm, 0)) for arm in arms} | {"total": len(allocations)},
        analysed={arm: int(analysed.get(arm, 0)) for arm in arms} | {"total": len(table.frame)},
        analysed_benefit={arm: int(on_benefit.get(arm, 0)) for arm in arms} | {"total": len(table.benefit)},
        without_outcome={
            arm: {
                reason: int(((without["arm"] == arm) & (without["reason"] == reason)).sum())
                for reason in ("no_index_spell", "randomised_after_data_cut")
            }
            for arm in arms
        },
        withdrawn=withdrawn,
    )


# --- what this look decides (issue 14) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PrimaryTest:
    """The statistic a look decides on: its name, z (benefit positive) and the SE the information is measured by."""

    name: str | None
    z: float | None
    se: float | None


def primary_test(effects: Effects, headline: PrimaryEffect | None, protocol: Any) -> PrimaryTest:
    """The protocol's primary test: the primary estimand's z = estimate / SE (days saved and differences: benefit
    positive), the Cox z = log HR / SE (a faster job: HR > 1), or the log-rank z = ±√χ² signed like the log HR."""
    kind = protocol.analysis.primary_test
    if kind == "primary_estimand":
        if headline is None or headline.estimate is None or not headline.se:
            return PrimaryTest(None if headline is None else headline.name, None, None)
        statistic = headline.estimate / headline.se
        direct = effects.spillover.direct if effects.spillover is not None else None
        if headline.name == "spillover.direct" and direct is not None and direct.df:
            # A two-stage design's direct effect is a t on the clusters' degrees of freedom; the look compares the
            # normal z with the same two-sided p against its boundary, so few clusters do not cross too easily.
            same_p = stats.norm.isf(stats.t.sf(abs(statistic), direct.df))
            statistic = math.copysign(float(same_p), statistic)
        return PrimaryTest(headline.name, statistic, headline.se)
    hazard = effects.hazard_ratio
    se = hazard.se if hazard.se else None
    if kind == "hazard_ratio":
        return PrimaryTest("hazard_ratio", hazard.coef / se if hazard.coef is not None and se else None, se)
    direction = hazard.coef if hazard.coef is not None else effects.days_saved.estimate
    statistic = effects.logrank.statistic
    if statistic is None or direction is None:
        return PrimaryTest("logrank", None, se)
    return PrimaryTest("logrank", math.copysign(math.sqrt(statistic), direction), se)


def primary_events(protocol: Any, frame: pd.DataFrame, benefit: pd.DataFrame, binary: BinaryOutcome | None) -> int:
    """Observed events of the primary test: exits to a job (time to the event, log-rank, Cox), index spells ended
    by the horizon (days on benefit), or people with the binary outcome recorded."""
    if protocol.analysis.primary_test != "primary_estimand" or protocol.outcomes.primary == "time_to_event":
        return int(frame["event"].sum())
    if protocol.outcomes.primary == "binary":
        return 0 if binary is None else sum(arm.n for arm in binary.arms.values())
    return int((benefit["has_index_spell"] & benefit["benefit_ended"].astype(bool)).sum())


_RATIOS = frozenset({"hazard_ratio", "hazard_ratio_adjusted", "employment_rate_ratio"})


def with_repeated_intervals(effects: Effects, z_boundary: float | None, planned: bool) -> Effects:
    """Every effect with a standard error gets its repeated interval at the look's boundary (log scale for ratios);
    with no planned looks it is the ordinary interval; before the first look there is none."""
    from trial.interim import repeated_interval

    def turn(effect: Any, ratio: bool = False) -> Any:
        if effect is None:
            return None
        if not planned:
            both = effect.ci[0] is not None and effect.ci[1] is not None
            return effect.model_copy(update={"rci": effect.ci if both else None})
        return effect.model_copy(update={"rci": repeated_interval(effect.estimate, effect.se, z_boundary, log=ratio)})

    update: dict[str, Any] = {}
    for name in Effects.model_fields:
        value = getattr(effects, name)
        if isinstance(value, Effect) and not isinstance(value, Cace):
            update[name] = turn(value, name in _RATIOS)
        elif isinstance(value, dict) and value and all(isinstance(v, Effect) for v in value.values()):
            update[name] = {key: turn(v) for key, v in value.items()}
    if effects.binary is not None and effects.binary.difference is not None:
        update["binary"] = effects.binary.model_copy(update={"difference": turn(effects.binary.difference)})
    if effects.spillover is not None:
        update["spillover"] = spillover_repeated(effects.spillover, z_boundary, planned)
    return effects.model_copy(update=update)


def spillover_repeated(found: Spillover, z_boundary: float | None, planned: bool) -> Spillover:
    """The four pooled spillover estimands' repeated intervals: their t interval on the clusters' degrees of freedom
    at the boundary's nominal level (estimate ± t × SE, the t with the boundary's tail), the ordinary interval
    with no planned looks; the estimates by saturation are exploratory and keep their nominal intervals."""
    from trial.interim import repeated_interval

    def turn(effect: SpilloverEffect | None) -> SpilloverEffect | None:
        if effect is None:
            return None
        if not planned:
            both = effect.ci[0] is not None and effect.ci[1] is not None
            return effect.model_copy(update={"rci": effect.ci if both else None})
        critical = z_boundary
        if z_boundary is not None and effect.df:
            critical = float(stats.t.isf(stats.norm.sf(z_boundary), effect.df))
        return effect.model_copy(update={"rci": repeated_interval(effect.estimate, effect.se, critical)})

    return found.model_copy(update={name: turn(getattr(found, name)) for name in SpilloverEffects.model_fields})


def interim_decision(
    protocol: Any,
    allocations: pd.DataFrame,
    as_of: pd.Timestamp,
    effects: Effects,
    headline: PrimaryEffect | None,
    events: int,
) -> tuple[Interim | None, Effects, PrimaryEffect | None, list[str]]:
    """Step: which planned look this data cut is, its boundary (Lan-DeMets), whether the primary test crossed it and
    what the look decides; every effect's repeated interval at that boundary."""
    from trial.interim import decide, information_fraction, look_for

    first = pd.to_datetime(allocations["randomised_on"]).min()
    if pd.isna(first):
        return None, effects, headline, []
    a = protocol.analysis
    test = primary_test(effects, headline, protocol)
    fraction = information_fraction(protocol, events=events, se=test.se)
    look = look_for(protocol, first.date(), as_of.date(), fraction=fraction)
    crossed, decision = decide(test.z, look["z_boundary"], a.sided, look["final"])
    interim = Interim.model_validate(
        look | {"information": a.information, "events": events, "planned_events": a.planned_events,
                "planned_final_se": a.planned_final_se, "test": test.name, "z": test.z, "crossed": crossed,
                "decision": decision}
    )  # fmt: skip
    effects = with_repeated_intervals(effects, interim.z_boundary, planned=bool(a.looks_months))
    if headline is not None:
        found = effects.binary.difference if headline.name == "binary.difference" and effects.binary else None
        if headline.name == "spillover.direct":
            found = effects.spillover.direct if effects.spillover is not None else None
        found = found or getattr(effects, headline.name, None)
        headline = headline.model_copy(update={"rci": None if found is None else found.rci})
    return interim, effects, headline, decision_notes(interim, fraction)


def decision_notes(interim: Interim, fraction: float | None) -> list[str]:
    """What the look decided, in one sentence, and how its information was measured when not by calendar time."""
    notes = []
    if interim.information != "calendar":
        measured = (f"{interim.events:,} of {interim.planned_events:,} planned events"
                    if interim.information == "events" else "the primary estimate's variance against the planned")
        if fraction is None:
            notes.append(f"information by {interim.information} could not be measured; calendar time is used")
        else:
            notes.append(f"information fraction {fraction:.3f} by {interim.information}: {measured}")
    if interim.look == 0:
        notes.append("the data cut lies before the first planned look: no formal test; the trial continues")
    elif interim.z is None:
        notes.append(f"the primary test ({interim.test}) cannot be computed at this data cut: no decision")
    else:
        where = f"look {interim.look}/{interim.of}" if interim.of > 1 or not interim.final else "the analysis"
        verdict = {"continue": "not crossed; the trial continues", "stop_for_benefit": "crossed for benefit",
                   "stop_for_harm": "crossed for harm",
                   "final": "crossed at the final analysis" if interim.crossed else "not crossed at the final analysis"}
        notes.append(f"{where}: the primary test ({interim.test}) has z = {interim.z:.3f} against the boundary "
                     f"±{interim.z_boundary:.3f}: {verdict[interim.decision or 'continue']}")
    return notes


# --- follow-up and exits (issue 14) -------------------------------------------------------------------------------


def follow_up(
    benefit: pd.DataFrame, setting: Setting, minimum: float
) -> tuple[dict[str, FollowUpArm], bool, list[str]]:
    """Step: per arm, days from randomisation to the data cut (quartiles), who is followed to the horizon and who is
    still at risk there; the horizon is not supported where fewer than `minimum` of an arm are followed to it."""
    horizon = setting.horizon
    out: dict[str, FollowUpArm] = {}
    notes: list[str] = []
    for arm in (setting.control, setting.treatment):
        group = benefit[benefit["arm"] == arm]
        days = group["observed_days"].to_numpy(float) - 1
        quartiles = np.quantile(days, [0, 0.25, 0.5, 0.75, 1]) if len(days) else [None] * 5
        followed = int((days >= horizon).sum())
        at_risk = int(((group["benefit_time"] >= horizon) & (group["benefit_ended"] == 0)).sum())
        share = followed / len(group) if len(group) else None
        out[arm] = FollowUpArm(
            n=len(group), min_days=quartiles[0], quartile_1_days=quartiles[1], median_days=quartiles[2],
            quartile_3_days=quartiles[3], max_days=quartiles[4], followed_to_horizon=followed,
            share_followed_to_horizon=share, at_risk_at_horizon=at_risk,
        )  # fmt: skip
        if share is not None and share < minimum:
            notes.append(
                f"only {followed} of {len(group)} in arm '{arm}' ({share:.1%}) are followed to the horizon "
                f"({horizon} days), fewer than the protocol's minimum ({minimum:.0%}): estimates to day {horizon} "
                "rest on the few followed longest"
            )
    supported = all(f.share_followed_to_horizon is not None and f.share_followed_to_horizon >= minimum
                    for f in out.values())
    return out, supported, notes


def exit_notes(table: OutcomeTable) -> list[str]:
    """What the spells' exit codes leave out: no exit codes at all, or codes that are none of the analysis' exits."""
    if not table.exit_column:
        return ["the spells carry no known exit codes: days on benefit count every end of the index spell, but time "
                "to a job and the exits cannot be told apart"]
    if not table.unknown_exit_codes:
        return []
    listed = ", ".join(f"'{shorten(code)}' ({n:,})" for code, n in list(table.unknown_exit_codes.items())[:8])
    return [f"exit codes that are none of the analysis' exits, counted as unknown (censored): {listed}; map them "
            "in the protocol's outcomes.exit_codes"]


def exit_shares(
    frame: pd.DataFrame, arms: dict[str, ArmSummary], setting: Setting
) -> tuple[dict[str, ArmSummary], dict[str, Effect]]:
    """Step: each exit's cumulative incidence by the horizon per arm (Aalen-Johansen, every other exit competing)
    and its difference treatment − control, so a shift between exits is stated, not only drawn."""
    by_arm: dict[str, dict[str, Effect]] = {}
    for arm in (setting.control, setting.treatment):
        group = frame[frame["arm"] == arm]
        time, exits, ended = group["time"].to_numpy(float), group["exit"].to_numpy(), group["status"].to_numpy() != 0
        by_arm[arm] = {
            name: _incidence_at(time, np.where(exits == name, 1, np.where(ended, 2, 0)), 1, setting.horizon, setting.z)
            for name in setting.rules.exits
        }
    control, treated = by_arm[setting.control], by_arm[setting.treatment]
    differences = {
        name: _wald(treated[name].estimate - control[name].estimate, math.hypot(treated[name].se, control[name].se),
                    setting.z)
        for name in setting.rules.exits
    }  # fmt: skip
    shares = {
        arm: summary.model_copy(update={"exits_by_horizon": {k: v.estimate for k, v in by_arm[arm].items()}})
        for arm, summary in arms.items()
    }
    return shares, differences


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def meta(protocol: Any, setting: Setting, inputs: dict[str, Any], replicates: int, seed: int) -> Meta:
    """Step: the provenance stamp — protocol, inputs' SHA-256, package versions and the settings of every figure."""
    rules = setting.rules
    return Meta(
        protocol=ProtocolRef(id=protocol.id, version=protocol.version, fingerprint=protocol.fingerprint),
        arms=ArmRoles(control=setting.control, treatment=setting.treatment),
        inputs={name: InputStamp.model_validate(stamp) for name, stamp in inputs.items()},
        packages=_versions(),
        as_of=rules.as_of.date(),
        horizon_days=rules.horizon_days,
        index_window_days=rules.index_window_days,
        event_exits=list(rules.event_exits),
        competing_exits=list(rules.competing_exits),
        bootstrap=BootstrapInfo(replicates=replicates, seed=seed, method="percentile, resampling within arms"),
        alpha=setting.alpha,
        confidence_level=1 - setting.alpha,
        km_interval="log(-log) (Greenwood), as lifelines",
        benefit_windows_days=list(protocol.outcomes.benefit_windows_days),
    )


def check_allocations(allocations: pd.DataFrame, protocol: Any) -> pd.DataFrame:
    """The allocations with arms as text, refused in one line when they cannot be analysed under the protocol."""
    if allocations.empty:
        raise InputError("nobody is allocated yet: there is nothing to analyse")
    allocations = allocations.copy()
    allocations["arm"] = allocations["arm"].astype(str)
    unknown = sorted(set(allocations["arm"]) - set(protocol.arm_names))
    if unknown:
        first = unknown[0]
        row = int(np.flatnonzero(allocations["arm"].to_numpy() == first)[0]) + 2
        raise InputError(
            f"arm '{first}' (first at row {row}) is not one of the protocol's arms: {', '.join(protocol.arm_names)}"
        )
    repeated = allocations["person_id"].duplicated()
    if repeated.any():
        row = int(np.flatnonzero(repeated.to_numpy())[0]) + 2
        raise InputError(
            f"allocations list {int(repeated.sum())} people twice, first at row {row}; each person is allocated once"
        )
    return allocations


# --- the analysis -------------------------------------------------------------------------------------------------


def _stepper(progress: Progress | None, steps: tuple[str, ...] = STEPS) -> Callable[[str], None]:
    """A callback that reports each named step of the analysis as `progress(name, done, total)`."""
    done = iter(range(len(steps)))

    def step(name: str) -> None:
        if progress is not None:
            progress(f"analyse: {name}", next(done), len(steps))

    return step


def analyse(
    protocol: Any,
    allocations: pd.DataFrame,
    spells: pd.DataFrame,
    as_of: Any,
    *,
    horizon_days: int | None = None,
    event_exits: list[str] | None = None,
    competing_exits: list[str] | None = None,
    bootstrap: int | None = None,
    seed: int | None = None,
    withdrawals: pd.DataFrame | None = None,
    recommendations: pd.DataFrame | None = None,
    inputs: dict[str, Any] | None = None,
    progress: Progress | None = None,
    confirmations: pd.DataFrame | None = None,
) -> AnalysisResult:
    """The intention-to-treat analysis of a trial (the result of `trial analyse`).

    `allocations` needs person_id, arm, randomised_on (and stratum and the protocol's covariates for the stratified
    and adjusted estimates); `spells` needs person_id, start, end, exit; `recommendations` and `confirmations` are
    the ledger's logs (`Ledger.recommendations`, `Ledger.confirmations`). Nothing here reads files or the ledger.
    """
    if bootstrap is not None and bootstrap < 0:
        raise ParameterError("bootstrap", f"replicates must be 0 or more; got {bootstrap}")
    rules = OutcomeRules.from_protocol(
        protocol, as_of, horizon_days=horizon_days, event_exits=event_exits, competing_exits=competing_exits
    )
    setting = Setting(protocol.control_arm, protocol.treatment_arm, float(protocol.analysis.alpha), rules)
    replicates = int(protocol.analysis.bootstrap if bootstrap is None else bootstrap)
    seed = DEFAULT_SEED if seed is None else int(seed)
    allocations = check_allocations(allocations, protocol)
    two_stage = protocol.randomisation.two_stage
    step = _stepper(progress, (*STEPS, "spillover") if two_stage else STEPS)

    step("outcomes")
    table = build_outcomes(allocations, spells, rules)
    frame = table.frame
    frame["treated"] = (frame["arm"] == setting.treatment).astype(int)
    step("per-arm estimates")
    arms, curves, notes = arm_estimates(frame, setting, list(protocol.outcomes.landmarks_days))
    step("bootstrap")
    saved = days_saved(frame, arms, setting, replicates, seed)
    step("days on benefit")
    benefit = table.benefit.assign(treated=(table.benefit["arm"] == setting.treatment).astype(int))
    on_benefit, benefit_saved = benefit_days(benefit, setting, replicates, seed)
    windows, window_saved, window_notes = window_effects(table, setting, list(protocol.outcomes.benefit_windows_days))
    arms = with_benefit_days(arms, on_benefit, windows, setting)
    arms, exit_differences = exit_shares(frame, arms, setting)
    followed, supported, follow_notes = follow_up(benefit, setting, protocol.analysis.min_followed_share)
    step("strata adjustment")
    benefit_adjusted, saved_adjusted, adjust_notes = adjusted_effects(
        frame, benefit, protocol, setting, replicates, seed
    )
    step("hazard ratios")
    hazard, adjusted, check, cox_notes = hazard_ratios(frame, list(protocol.analysis.covariates), setting)
    step("log-rank")
    logrank, logrank_stratified, logrank_notes = logrank_tests(frame)
    employment_difference, employment_ratio, unemployed_difference = rate_effects(arms, setting)
    binary = binary_outcome(frame, allocations, protocol, setting)
    step("subgroups")
    levels, interactions, interactions_days, subgroup_notes = subgroups(
        frame, list(protocol.analysis.subgroups), setting
    )
    step("receipt")
    received = cace = cace_benefit = exposed = None
    quality = dict(table.data_quality)
    if recommendations is not None:
        received, cace, cace_benefit, receipt_quality, display, who = receipt(
            frame, benefit, recommendations, setting, (saved, benefit_saved), replicates, seed, confirmations
        )
        quality |= receipt_quality
        step("exposure")
        exposed = exposure(display, recommendations, benefit, frame, who, protocol, setting)

    if binary is not None:
        quality["binary_outcome_missing"] = binary.missing
    effects = Effects(
        days_saved=saved,
        hazard_ratio=hazard,
        hazard_ratio_adjusted=adjusted,
        logrank=logrank,
        logrank_stratified=logrank_stratified,
        employment_rate_difference=employment_difference,
        employment_rate_ratio=employment_ratio,
        unemployed_share_difference=unemployed_difference,
        ph_test=check,
        binary=binary,
        cace_days_saved=cace,
        benefit_days_saved=benefit_saved,
        benefit_days_saved_adjusted=benefit_adjusted,
        days_saved_adjusted=saved_adjusted,
        benefit_days_all_spells_saved=window_saved or None,
        cace_benefit_days_saved=cace_benefit,
        exit_share_difference=exit_differences,
    )
    headline, primary_notes = primary(effects, protocol)
    if two_stage:
        step("spillover")
        effects, headline, primary_notes = two_stage_effects(effects, benefit, frame, setting, replicates, seed)
    step("decision")
    interim, effects, headline, decision = interim_decision(
        protocol, allocations, rules.as_of, effects, headline, primary_events(protocol, frame, benefit, binary)
    )
    return AnalysisResult(
        arms=arms,
        curves=curves,
        at_risk=at_risk(frame, setting),
        effects=effects,
        subgroups=levels,
        subgroup_interactions=interactions,
        subgroup_interactions_days=interactions_days,
        receipt=received,
        data_quality=quality,
        data_quality_rows=table.examples,
        counts=counts(allocations, table, withdrawals, setting),
        interim=interim,
        notes=[*decision, *notes, *follow_notes, *window_notes, *adjust_notes, *cox_notes, *logrank_notes,
               *subgroup_notes, *primary_notes, *exit_notes(table)],
        primary=headline,
        follow_up=followed,
        horizon_supported=supported,
        meta=meta(protocol, setting, inputs or {}, replicates, seed),
        exposure=exposed,
    )
