"""Sample size, detectable effect and months of enrolment for days on benefit saved, days saved, the log-rank test
and employment frequency.

One effect model links the tests: proportional hazards of employment, S_treatment(t) = S_control(t) ** HR, with
HR > 1 meaning faster employment, and other exits (education, other) unchanged, as in the simulator. Days on benefit
saved is the RMST difference of time to any exit; days saved that of time to employment with other exits censored.
Their variances are the asymptotic variance of the Kaplan-Meier RMST (the survRM2 formula) on a fine grid of the
control curve, with the censoring each analysis meets: the data cut (staggered enrolment) for days on benefit, the
data cut and the other exits for days saved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from trial.errors import InputError, ParameterError
from trial.interim import boundaries, one_sided_alpha, prob_all_below
from trial.protocol import Protocol

DAYS_PER_MONTH = 365.25 / 12
# Grid step in days for the integrals: 0.25 days keeps the RMST and its variance exact to 1e-4 relative.
_STEP = 0.25
_HR_MAX = 50.0


@dataclass(frozen=True)
class ControlCurve:
    """The control arm on a grid 0..horizon: time to employment S(t), the other exits, days on benefit, follow-up.

    `competing` is the survival of the other exits (education, other; 1 when there are none); `any_exit` the
    survival of time to any exit (days on benefit; S × competing when not given); `admin` the chance of still being
    followed at t under the data cut (1 with complete follow-up).
    """

    grid: np.ndarray
    survival: np.ndarray
    competing: np.ndarray
    source: str
    median_days: float | None = None
    any_exit: np.ndarray | None = None
    admin: np.ndarray | None = None

    @property
    def horizon(self) -> float:
        return float(self.grid[-1])

    @property
    def followed(self) -> np.ndarray:
        """Chance of still being followed at t under the data cut."""
        return np.ones_like(self.grid) if self.admin is None else self.admin

    @property
    def censoring(self) -> np.ndarray:
        """What censors time to employment: the other exits and the data cut."""
        return self.competing * self.followed

    @property
    def benefit(self) -> np.ndarray:
        """Survival of time to any exit: still on benefit at t."""
        return self.survival * self.competing if self.any_exit is None else self.any_exit

    def with_follow_up(self, enrolment_days: float, cut_days: float) -> ControlCurve:
        """The curve under uniform enrolment over `enrolment_days` and a data cut `cut_days` after the first one.

        Follow-up is uniform between cut − enrolment and cut (everyone enrolled before the cut is analysed).
        """
        if not cut_days > self.horizon:
            raise ParameterError(
                "analysis_month",
                f"the data cut ({cut_days / DAYS_PER_MONTH:.1f} months after the first enrolment) must lie beyond the "
                f"horizon ({self.horizon:g} days), or nobody is followed to it",
            )
        span = min(enrolment_days, cut_days)
        admin = np.clip((cut_days - self.grid) / span, 0.0, 1.0)
        return ControlCurve(self.grid, self.survival, self.competing, self.source, self.median_days, self.any_exit,
                            admin)  # fmt: skip


def _weibull_with_exits(median_days: float, shape: float, share: float, grid: np.ndarray) -> tuple[float, float]:
    """Weibull scale of time to employment and the daily rate of other exits giving this median time to any exit
    and this share of other exits among the exits within the grid."""

    def scale_for(rate: float) -> float:
        # S_any(m) = exp(−(m/σ)^k − rate·m) = 1/2.
        return median_days / (math.log(2.0) - rate * median_days) ** (1.0 / shape)

    def other_share(rate: float) -> float:
        s_any = np.exp(-((grid / scale_for(rate)) ** shape) - rate * grid)
        return float(np.trapezoid(rate * s_any, grid) / (1.0 - s_any[-1]))

    if share == 0:
        return scale_for(0.0), 0.0
    top = math.log(2.0) / median_days * (1 - 1e-9)
    rate = float(brentq(lambda r: other_share(r) - share, 1e-12, top, xtol=1e-14))
    return scale_for(rate), rate


def parametric_control(median_days: float, horizon_days: int, shape: float = 1.0, competing_share: float = 0.0
                       ) -> ControlCurve:  # fmt: skip
    """Weibull time to employment (shape 1 = exponential) and exponential other exits, from the median time on
    benefit (time to any exit) and the share of exits within the horizon that are not to employment."""
    if not median_days > 0:
        raise ParameterError("control_median", f"must be a positive number of days; got {median_days:g}")
    if not shape > 0:
        raise ParameterError("weibull_shape", f"must be positive; got {shape:g}")
    if not 0 <= competing_share < 1:
        raise ParameterError("competing_share", f"must lie in [0, 1); got {competing_share:g}")
    grid = np.linspace(0.0, horizon_days, round(horizon_days / _STEP) + 1)
    scale, rate = _weibull_with_exits(median_days, shape, competing_share, grid)
    survival = np.exp(-((grid / scale) ** shape))
    name = "exponential" if shape == 1 else f"Weibull (shape {shape:g})"
    if competing_share:
        name += f" to a job, {competing_share:.0%} of exits to education or other"
    return ControlCurve(grid, survival, np.exp(-rate * grid), f"{name}, median {median_days:g} days on benefit",
                        median_days)  # fmt: skip


def history_control(path: str | Path, protocol: Protocol) -> ControlCurve:
    """Kaplan-Meier curves from a historical spells file (start, end, exit): time to employment (other exits and
    open spells censored), time to any exit (days on benefit) and the other exits (employment censored).

    Open spells (empty end) are censored at the latest date in the file; the data cut of the planned analysis is
    applied separately (`ControlCurve.with_follow_up`).
    """
    from lifelines import KaplanMeierFitter

    from trial.tables import read_table, to_dates

    table = read_table(path, required=["start", "end", "exit"])
    start = to_dates(table, "start")
    end = to_dates(table, "end", allow_empty=True)
    cut = max(start.max(), end.max()) if end.notna().any() else start.max()
    duration = (end.fillna(cut) - start).dt.days.to_numpy(dtype=float)
    if (duration < 0).any():
        row = int(table["_row"].to_numpy()[np.argmax(duration < 0)])
        raise InputError("the spell ends before it starts", file=path, row=row, column="end")
    exits = table["exit"].str.strip().str.lower().to_numpy()
    closed = end.notna().to_numpy()
    unknown = closed & ~np.isin(exits, protocol.outcomes.known_exits)
    if unknown.any():
        i = int(np.argmax(unknown))
        raise InputError(
            f"unknown exit '{exits[i]}' (the protocol knows {', '.join(protocol.outcomes.known_exits)})",
            file=path,
            row=int(table["_row"].to_numpy()[i]),
            column="exit",
        )
    event = closed & np.isin(exits, protocol.outcomes.event_exits)
    if event.sum() < 20:
        raise InputError(f"only {int(event.sum())} exits to employment: too few to estimate a control curve", file=path)
    horizon = protocol.outcomes.horizon_days
    grid = np.linspace(0.0, horizon, round(horizon / _STEP) + 1)

    def km(flag: np.ndarray) -> Any:
        return KaplanMeierFitter().fit(duration, flag)

    employment = km(event)
    median = float(employment.median_survival_time_)
    return ControlCurve(
        grid,
        employment.survival_function_at_times(grid).to_numpy(),
        km(closed & ~event).survival_function_at_times(grid).to_numpy(),
        f"Kaplan-Meier of {len(duration):,} historical spells ({int(event.sum()):,} to employment)",
        median if math.isfinite(median) else None,
        any_exit=km(closed).survival_function_at_times(grid).to_numpy(),
    )


def _arm(curve: ControlCurve, hazard_ratio: float, estimand: str) -> tuple[np.ndarray, np.ndarray]:
    """The arm's survival for the estimand and the censoring its analysis meets."""
    if estimand == "benefit_days":
        # Faster jobs, other exits unchanged: S_any · S_job^(HR − 1).
        return curve.benefit * curve.survival ** (hazard_ratio - 1.0), curve.followed
    return curve.survival**hazard_ratio, curve.censoring


def rmst(curve: ControlCurve, hazard_ratio: float = 1.0, estimand: str = "days_saved") -> float:
    """Restricted mean to the horizon of time to employment ("days_saved") or to any exit ("benefit_days")."""
    s, _ = _arm(curve, hazard_ratio, estimand)
    return float(np.trapezoid(s, curve.grid))


def rmst_variance(curve: ControlCurve, hazard_ratio: float = 1.0, estimand: str = "days_saved") -> float:
    """Per-person asymptotic variance of the Kaplan-Meier RMST: n·Var ≈ ∫ A(t)² dF(t) / (S(t-) S(t) G(t-)).

    A(t) is the area under S from t to the horizon, G the censoring survival. Without censoring this equals
    Var(min(T, horizon)).
    """
    s, g = _arm(curve, hazard_ratio, estimand)
    widths = np.diff(curve.grid)
    areas = widths * (s[:-1] + s[1:]) / 2.0
    after = areas[::-1].cumsum()[::-1]  # area from grid[i] to the horizon
    drop = s[:-1] - s[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(s[1:] > 0, drop / (s[:-1] * s[1:] * g[:-1]), 0.0)
    # The area after a drop at (grid[i], grid[i+1]] is measured from the drop's midpoint.
    a_mid = after - areas / 2.0
    return float(np.sum(a_mid**2 * term))


def employment_frequency(curve: ControlCurve, hazard_ratio: float = 1.0) -> float:
    """Share employed by the horizon: the cumulative incidence of employment, ∫ S_other(t-) dF(t)."""
    s = curve.survival**hazard_ratio
    return float(np.sum(curve.competing[:-1] * (s[:-1] - s[1:])))


def other_exit_frequency(curve: ControlCurve) -> float:
    """Share who leave benefit for another reason (education, other) by the horizon, ∫ S(t-) dF_other(t)."""
    return float(np.sum(curve.survival[:-1] * (curve.competing[:-1] - curve.competing[1:])))


def observed_employment(curve: ControlCurve, hazard_ratio: float = 1.0) -> float:
    """Share whose exit to employment is seen within the horizon and the data cut: ∫ G(t-) dF(t)."""
    s = curve.survival**hazard_ratio
    return float(np.sum(curve.censoring[:-1] * (s[:-1] - s[1:])))


def days_saved(curve: ControlCurve, hazard_ratio: float, estimand: str = "days_saved") -> float:
    """RMST(control) − RMST(treatment) for a hazard ratio of employment."""
    return rmst(curve, 1.0, estimand) - rmst(curve, hazard_ratio, estimand)


def hazard_ratio_for_days(curve: ControlCurve, days: float, estimand: str = "days_saved") -> float:
    """The hazard ratio of employment that saves this many days (of the estimand) on average within the horizon."""
    most = days_saved(curve, _HR_MAX, estimand)
    if not 0 < days < most:
        raise ParameterError(
            "days_saved",
            f"must lie between 0 and {most:.1f} (the control arm's {rmst(curve, 1.0, estimand):.1f} days of restricted "
            f"mean time cannot shrink further by faster jobs); got {days:g}",
        )
    return float(brentq(lambda hr: days_saved(curve, hr, estimand) - days, 1.0, _HR_MAX, xtol=1e-10))


@dataclass(frozen=True)
class Design:
    """Test settings: alpha per side, power and the share of participants in the treatment arm."""

    alpha: float
    sided: int
    power: float
    treatment_share: float = 0.5

    @classmethod
    def of(cls, protocol: Protocol, power: float = 0.8) -> Design:
        if not 0 < power < 1:
            raise ParameterError("power", f"must lie between 0 and 1; got {power:g}")
        ratios = {a.role: a.ratio for a in protocol.arms}
        share = ratios["treatment"] / (ratios["treatment"] + ratios["control"])
        return cls(protocol.analysis.alpha, protocol.analysis.sided, power, share)

    @property
    def z_alpha(self) -> float:
        return float(norm.isf(self.alpha / self.sided))

    @property
    def z_sum(self) -> float:
        return self.z_alpha + float(norm.ppf(self.power))

    @property
    def weights(self) -> tuple[float, float]:
        return self.treatment_share, 1.0 - self.treatment_share


# --- days saved (RMST) --------------------------------------------------------------------------------------------


def rmst_total_n(curve: ControlCurve, design: Design, hazard_ratio: float, estimand: str = "days_saved") -> float:
    """Participants in all (fractional) for the RMST difference test to reach the design's power."""
    w_t, w_c = design.weights
    delta = days_saved(curve, hazard_ratio, estimand)
    spread = rmst_variance(curve, 1.0, estimand) / w_c + rmst_variance(curve, hazard_ratio, estimand) / w_t
    return design.z_sum**2 * spread / delta**2


def rmst_power(
    curve: ControlCurve, design: Design, hazard_ratio: float, n_total: float, estimand: str = "days_saved"
) -> float:
    """Analytic power of the z-test of the RMST difference with n_total participants."""
    w_t, w_c = design.weights
    spread = rmst_variance(curve, 1.0, estimand) / w_c + rmst_variance(curve, hazard_ratio, estimand) / w_t
    return _normal_power(days_saved(curve, hazard_ratio, estimand) / math.sqrt(spread / n_total), design)


# --- log-rank (Schoenfeld) ----------------------------------------------------------------------------------------


def schoenfeld_events(
    hazard_ratio: float, alpha: float, power: float, sided: int = 2, treatment_share: float = 0.5
) -> float:
    """Events needed by the log-rank test: (z_alpha + z_beta)² / (w_t w_c log(HR)²) (Schoenfeld 1983)."""
    z = float(norm.isf(alpha / sided)) + float(norm.ppf(power))
    return z**2 / (treatment_share * (1 - treatment_share) * math.log(hazard_ratio) ** 2)


def event_share(curve: ControlCurve, design: Design, hazard_ratio: float) -> float:
    """Share of all participants whose exit to employment is observed within the horizon and the data cut."""
    w_t, w_c = design.weights
    return w_c * observed_employment(curve) + w_t * observed_employment(curve, hazard_ratio)


def logrank_total_n(curve: ControlCurve, design: Design, hazard_ratio: float) -> tuple[float, float]:
    """Events and participants the log-rank test needs for this hazard ratio."""
    events = schoenfeld_events(hazard_ratio, design.alpha, design.power, design.sided, design.treatment_share)
    return events, events / event_share(curve, design, hazard_ratio)


def logrank_power(curve: ControlCurve, design: Design, hazard_ratio: float, n_total: float) -> float:
    """Analytic (Schoenfeld) power of the log-rank test with n_total participants."""
    w_t, w_c = design.weights
    events = n_total * event_share(curve, design, hazard_ratio)
    return _normal_power(math.sqrt(events * w_t * w_c) * abs(math.log(hazard_ratio)), design)


# --- employment frequency (two proportions) -----------------------------------------------------------------------


def _alternative(design: Design) -> str:
    return "two-sided" if design.sided == 2 else "larger"


def proportions_total_n(p_control: float, p_treatment: float, design: Design) -> float:
    """Participants in all for two proportions (Cohen's h, statsmodels' NormalIndPower)."""
    w_t, w_c = design.weights
    effect = proportion_effectsize(p_treatment, p_control)
    n_treatment = NormalIndPower().solve_power(
        effect_size=effect,
        nobs1=None,
        alpha=design.alpha,
        power=design.power,
        ratio=w_c / w_t,
        alternative=_alternative(design),
    )
    return float(n_treatment) / w_t


def proportions_power(p_control: float, p_treatment: float, design: Design, n_total: float) -> float:
    """Analytic power of the two-proportion test (arcsine scale) with n_total participants."""
    w_t, w_c = design.weights
    effect = proportion_effectsize(p_treatment, p_control)
    return float(
        NormalIndPower().power(
            effect_size=effect,
            nobs1=n_total * w_t,
            alpha=design.alpha,
            ratio=w_c / w_t,
            alternative=_alternative(design),
        )
    )


def detectable_proportion(p_control: float, design: Design, n_total: float) -> float:
    """The treatment-arm proportion (above control) that n_total participants detect with the design's power."""
    w_t, w_c = design.weights
    effect = NormalIndPower().solve_power(
        effect_size=None,
        nobs1=n_total * w_t,
        alpha=design.alpha,
        power=design.power,
        ratio=w_c / w_t,
        alternative=_alternative(design),
    )
    # Invert Cohen's h = 2 asin(sqrt(p_t)) − 2 asin(sqrt(p_c)).
    angle = min(math.asin(math.sqrt(p_control)) + float(effect) / 2.0, math.pi / 2)
    return math.sin(angle) ** 2


def frequency_total_n(curve: ControlCurve, design: Design, hazard_ratio: float) -> float:
    """Participants in all to detect the change in employment frequency at the horizon that this hazard ratio gives."""
    return proportions_total_n(employment_frequency(curve), employment_frequency(curve, hazard_ratio), design)


def frequency_power(curve: ControlCurve, design: Design, hazard_ratio: float, n_total: float) -> float:
    """Analytic power of the employment-frequency comparison with n_total participants."""
    return proportions_power(employment_frequency(curve), employment_frequency(curve, hazard_ratio), design, n_total)


def _normal_power(drift: float, design: Design) -> float:
    """Power of a z-test whose statistic has mean `drift` under the alternative."""
    upper = float(norm.sf(design.z_alpha - drift))
    return upper + (float(norm.cdf(-design.z_alpha - drift)) if design.sided == 2 else 0.0)


# --- plans --------------------------------------------------------------------------------------------------------

_TESTS = ("benefit_days", "rmst", "logrank", "employment_frequency")


def _total_n(test: str, curve: ControlCurve, design: Design, hazard_ratio: float) -> float:
    if test == "benefit_days":
        return rmst_total_n(curve, design, hazard_ratio, "benefit_days")
    if test == "rmst":
        return rmst_total_n(curve, design, hazard_ratio)
    if test == "logrank":
        return logrank_total_n(curve, design, hazard_ratio)[1]
    return frequency_total_n(curve, design, hazard_ratio)


def detectable_hazard_ratio(test: str, curve: ControlCurve, design: Design, n_total: float) -> float | None:
    """The smallest hazard ratio of employment the test detects with the design's power; None if none can be."""

    def gap(hr: float) -> float:
        return _total_n(test, curve, design, hr) - n_total

    if gap(_HR_MAX) > 0:
        return None
    return float(brentq(gap, 1.0 + 1e-6, _HR_MAX, xtol=1e-9))


def _effect(curve: ControlCurve, hazard_ratio: float) -> dict[str, float]:
    return {
        "hazard_ratio": hazard_ratio,
        "benefit_days_saved": days_saved(curve, hazard_ratio, "benefit_days"),
        "days_saved": days_saved(curve, hazard_ratio),
        "employment_frequency_control": employment_frequency(curve),
        "employment_frequency_treatment": employment_frequency(curve, hazard_ratio),
    }


def _per_arm(n_total: float, design: Design) -> int:
    """Participants in the larger arm, rounded up (both arms for 1:1)."""
    return math.ceil(n_total * max(design.weights) - 1e-9)


def _months(n_total: float, inflow: float | None) -> float | None:
    return None if not inflow else n_total / inflow


def _interim(protocol: Protocol, design: Design) -> dict[str, Any] | None:
    """Boundaries for the planned looks (fractions by calendar months) and the sample-size inflation they cost."""
    looks = sorted(protocol.analysis.looks_months)
    if len(looks) < 2:
        return None
    fractions = [m / looks[-1] for m in looks]
    alpha_side = one_sided_alpha(protocol)
    bounds = boundaries(fractions, alpha_side, protocol.analysis.spending)
    inflation = _inflation(fractions, [b.z for b in bounds], design)
    return {
        "spending": protocol.analysis.spending,
        "alpha_per_side": alpha_side,
        "looks_months": looks,
        "information_fractions": fractions,
        "z_boundaries": [b.z for b in bounds],
        "inflation_factor": inflation,
    }


def _look_needs(
    protocol: Protocol, design: Design, curve: ControlCurve, estimand: str, result: dict[str, Any],
    n_given: float | None,
) -> dict[str, Any]:
    """What each planned look needs and can show: for the required effect, the primary estimate's SE and the log-rank
    events at each look (the final ones inflated for the looks); for the given size, the smallest estimate of the
    primary estimand that crosses each look's boundary (SE under no effect)."""
    from trial.interim import planned_looks

    key = "days_saved" if estimand == "days_saved" else "benefit_days_saved"
    required = result.get("required") or result["one_day"]
    inflation = result["interim"]["inflation_factor"]
    se_needed = required[key] / (design.z_sum * math.sqrt(inflation))
    events = next(t["events"] for t in required["tests"] if t["test"] == "logrank") * inflation
    out: dict[str, Any] = {
        "days": required[key],
        "required": planned_looks(protocol, final_se=se_needed, final_events=events),
        "given": None,
        "n_per_arm": None,
    }
    if n_given is not None:
        w_t, w_c = design.weights
        spread = rmst_variance(curve, 1.0, estimand) * (1 / w_c + 1 / w_t)
        out["given"] = planned_looks(protocol, final_se=math.sqrt(spread / n_given))
        out["n_per_arm"] = _per_arm(n_given, design)
    return out


def _inflation(fractions: list[float], bounds: list[float], design: Design) -> float:
    """How much more information the group-sequential design needs for the same power as a single analysis."""
    t = np.asarray(fractions)

    def power_gap(drift: float) -> float:
        # Z_k has mean drift·sqrt(t_k) under the alternative; power = P(some Z_k crosses its boundary).
        below = prob_all_below(list(np.asarray(bounds) - drift * np.sqrt(t)), fractions)
        return (1.0 - below) - design.power

    drift = float(brentq(power_gap, 0.0, 20.0, xtol=1e-8))
    return (drift / design.z_sum) ** 2


def plan(
    protocol: Protocol,
    curve: ControlCurve,
    *,
    days: float | None = None,
    per_arm: int | None = None,
    inflow_per_month: float | None = None,
    enrolment_months: float = 12.0,
    power: float = 0.8,
    analysis_month: float | None = None,
) -> dict[str, Any]:
    """Everything `trial power` reports, as plain data: required sizes for `days` saved of the primary estimand,
    detectable effects for `per_arm` participants (or the inflow over `enrolment_months`), a one-day benchmark and
    interim inflation.

    Follow-up is cut at `analysis_month` after the first enrolment (default: the protocol's last planned look, else
    enrolment plus the horizon), with uniform enrolment over `enrolment_months` until then: the staggered follow-up
    censors the analysis as the real data cut does.
    """
    design = Design.of(protocol, power)
    if per_arm is not None and per_arm < 2:
        raise ParameterError("per_arm", f"must be at least 2; got {per_arm}")
    if inflow_per_month is not None and not inflow_per_month > 0:
        raise ParameterError("inflow_per_month", f"must be positive; got {inflow_per_month:g}")
    if not enrolment_months > 0:
        raise ParameterError("enrolment_months", f"must be positive; got {enrolment_months:g}")
    horizon_months = protocol.outcomes.horizon_days / DAYS_PER_MONTH
    looks = protocol.analysis.looks_months
    cut = analysis_month if analysis_month is not None else (max(looks) if looks else enrolment_months + horizon_months)
    curve = curve.with_follow_up(enrolment_months * DAYS_PER_MONTH, cut * DAYS_PER_MONTH)
    primary = "rmst" if protocol.outcomes.primary == "time_to_event" else "benefit_days"
    estimand = "days_saved" if primary == "rmst" else "benefit_days"
    result: dict[str, Any] = {
        "protocol": {"id": protocol.id, "version": protocol.version, "fingerprint": protocol.fingerprint},
        "alpha": design.alpha,
        "sided": design.sided,
        "power": design.power,
        "treatment_share": design.treatment_share,
        "horizon_days": protocol.outcomes.horizon_days,
        "inflow_per_month": inflow_per_month,
        "primary_test": primary,
        "follow_up": {
            "enrolment_months": enrolment_months,
            "analysis_month": cut,
            "followed_to_horizon": float(curve.followed[-1]),
        },
        "control": {
            "source": curve.source,
            "median_days": curve.median_days,
            "benefit_days": rmst(curve, 1.0, "benefit_days"),
            "benefit_days_sd_per_person": math.sqrt(rmst_variance(curve, 1.0, "benefit_days")),
            "rmst_days": rmst(curve),
            "rmst_sd_per_person": math.sqrt(rmst_variance(curve)),
            "employment_frequency": employment_frequency(curve),
            "other_exits_by_horizon": other_exit_frequency(curve),
        },
        "interim": _interim(protocol, design),
    }

    def requirement(d: float) -> dict[str, Any]:
        hr = hazard_ratio_for_days(curve, d, estimand)
        tests = []
        for test in _TESTS:
            n_total = _total_n(test, curve, design, hr)
            row: dict[str, Any] = {
                "test": test,
                "n_per_arm": _per_arm(n_total, design),
                "n_total": math.ceil(n_total - 1e-9),
                "enrolment_months": _months(n_total, inflow_per_month),
            }
            if test == "logrank":
                row["events"] = math.ceil(logrank_total_n(curve, design, hr)[0] - 1e-9)
            tests.append(row)
        return {**_effect(curve, hr), "tests": tests}

    if days is not None or per_arm is None:
        result["required"] = requirement(1.0 if days is None else days)
    result["one_day"] = result["required"] if days in (None, 1.0) and "required" in result else requirement(1.0)

    n_given = None
    if per_arm is not None:
        n_given, origin = per_arm / max(design.weights), "given"
    elif inflow_per_month is not None:
        n_given, origin = inflow_per_month * enrolment_months, "inflow"
    if n_given is not None:
        rows = []
        for test in _TESTS:
            hr = detectable_hazard_ratio(test, curve, design, n_given)
            rows.append({"test": test, **(_effect(curve, hr) if hr is not None else {"hazard_ratio": None})})
        result["detectable"] = {
            "n_per_arm": _per_arm(n_given, design),
            "n_total": round(n_given),
            "origin": origin,
            "enrolment_months": enrolment_months if origin == "inflow" else _months(n_given, inflow_per_month),
            "tests": rows,
        }
    if result["interim"] is not None:
        result["interim"]["looks"] = _look_needs(protocol, design, curve, estimand, result, n_given)
    binary = protocol.outcomes.binary
    if binary is not None and binary.hypothesis_control is not None and binary.hypothesis_treatment is not None:
        n_bin = proportions_total_n(binary.hypothesis_control, binary.hypothesis_treatment, design)
        entry: dict[str, Any] = {
            "name": binary.name,
            "label_da": binary.label_da,
            "label_en": binary.label_en,
            "control": binary.hypothesis_control,
            "treatment": binary.hypothesis_treatment,
            "n_per_arm": _per_arm(n_bin, design),
            "n_total": math.ceil(n_bin - 1e-9),
            "enrolment_months": _months(n_bin, inflow_per_month),
        }
        if n_given is not None:
            entry["detectable_treatment"] = detectable_proportion(binary.hypothesis_control, design, n_given)
        result["binary"] = entry
    result["follow_up_months"] = horizon_months
    return result
