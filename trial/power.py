"""Sample size, detectable effect and months of enrolment for days saved, the log-rank test and employment frequency.

One effect model links the three tests: proportional hazards of employment, S_treatment(t) = S_control(t) ** HR,
with HR > 1 meaning faster employment. Days saved is the RMST difference to the horizon; its variance is the
asymptotic variance of the Kaplan-Meier RMST (the survRM2 formula) evaluated on a fine grid of the control curve.
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
    """The control arm's survival of time to employment S(t) on a grid 0..horizon, and the censoring survival G(t).

    G(t) is the chance of not yet having left for a competing reason (education, other) or being censored; 1 when
    the assumed distribution has no competing exits.
    """

    grid: np.ndarray
    survival: np.ndarray
    censoring: np.ndarray
    source: str
    median_days: float | None = None

    @property
    def horizon(self) -> float:
        return float(self.grid[-1])


def parametric_control(median_days: float, horizon_days: int, shape: float = 1.0) -> ControlCurve:
    """Weibull survival (shape 1 = exponential) with the given median time to employment, no competing exits."""
    if not median_days > 0:
        raise ParameterError("control_median", f"must be a positive number of days; got {median_days:g}")
    if not shape > 0:
        raise ParameterError("weibull_shape", f"must be positive; got {shape:g}")
    grid = np.linspace(0.0, horizon_days, round(horizon_days / _STEP) + 1)
    scale = median_days / math.log(2.0) ** (1.0 / shape)
    survival = np.exp(-((grid / scale) ** shape))
    name = "exponential" if shape == 1 else f"Weibull (shape {shape:g})"
    return ControlCurve(grid, survival, np.ones_like(grid), f"{name}, median {median_days:g} days", median_days)


def history_control(path: str | Path, protocol: Protocol) -> ControlCurve:
    """Kaplan-Meier of time to employment from a historical spells file (start, end, exit), competing exits censored.

    Open spells (empty end) are censored at the latest date in the file; the competing exits and open spells also
    give the censoring curve G(t), so the variance reflects the information the real analysis will have.
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
    km = KaplanMeierFitter().fit(duration, event)
    survival = km.survival_function_at_times(grid).to_numpy()
    # The censoring curve is the Kaplan-Meier of the non-events; the analysis sees the same mechanism.
    gm = KaplanMeierFitter().fit(duration, ~event)
    censoring = gm.survival_function_at_times(grid).to_numpy()
    median = float(km.median_survival_time_)
    return ControlCurve(
        grid,
        survival,
        censoring,
        f"Kaplan-Meier of {len(duration):,} historical spells ({int(event.sum()):,} to employment)",
        median if math.isfinite(median) else None,
    )


def rmst(curve: ControlCurve, hazard_ratio: float = 1.0) -> float:
    """Restricted mean time unemployed to the horizon for the arm with this hazard ratio of employment."""
    s = curve.survival**hazard_ratio
    return float(np.trapezoid(s, curve.grid))


def rmst_variance(curve: ControlCurve, hazard_ratio: float = 1.0) -> float:
    """Per-person asymptotic variance of the Kaplan-Meier RMST: n·Var ≈ ∫ A(t)² dF(t) / (S(t-) S(t) G(t-)).

    A(t) is the area under S from t to the horizon. Without censoring this equals Var(min(T, horizon)).
    """
    s = curve.survival**hazard_ratio
    widths = np.diff(curve.grid)
    areas = widths * (s[:-1] + s[1:]) / 2.0
    after = areas[::-1].cumsum()[::-1]  # area from grid[i] to the horizon
    drop = s[:-1] - s[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(s[1:] > 0, drop / (s[:-1] * s[1:] * curve.censoring[:-1]), 0.0)
    # The area after a drop at (grid[i], grid[i+1]] is measured from the drop's midpoint.
    a_mid = after - areas / 2.0
    return float(np.sum(a_mid**2 * term))


def employment_frequency(curve: ControlCurve, hazard_ratio: float = 1.0) -> float:
    """Share employed by the horizon: the cumulative incidence of employment, ∫ G(t-) dF(t)."""
    s = curve.survival**hazard_ratio
    return float(np.sum(curve.censoring[:-1] * (s[:-1] - s[1:])))


def days_saved(curve: ControlCurve, hazard_ratio: float) -> float:
    """RMST(control) − RMST(treatment) for a hazard ratio of employment."""
    return rmst(curve) - rmst(curve, hazard_ratio)


def hazard_ratio_for_days(curve: ControlCurve, days: float) -> float:
    """The hazard ratio of employment that saves this many days on average within the horizon."""
    most = days_saved(curve, _HR_MAX)
    if not 0 < days < most:
        raise ParameterError(
            "days_saved",
            f"must lie between 0 and {most:.1f} (the control arm's {rmst(curve):.1f} days of restricted mean time "
            f"unemployed cannot shrink further); got {days:g}",
        )
    return float(brentq(lambda hr: days_saved(curve, hr) - days, 1.0, _HR_MAX, xtol=1e-10))


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


def rmst_total_n(curve: ControlCurve, design: Design, hazard_ratio: float) -> float:
    """Participants in all (fractional) for the RMST difference test to reach the design's power."""
    w_t, w_c = design.weights
    delta = days_saved(curve, hazard_ratio)
    spread = rmst_variance(curve) / w_c + rmst_variance(curve, hazard_ratio) / w_t
    return design.z_sum**2 * spread / delta**2


def rmst_power(curve: ControlCurve, design: Design, hazard_ratio: float, n_total: float) -> float:
    """Analytic power of the z-test of days saved with n_total participants."""
    w_t, w_c = design.weights
    se = math.sqrt(rmst_variance(curve) / (w_c * n_total) + rmst_variance(curve, hazard_ratio) / (w_t * n_total))
    return _normal_power(days_saved(curve, hazard_ratio) / se, design)


# --- log-rank (Schoenfeld) ----------------------------------------------------------------------------------------


def schoenfeld_events(
    hazard_ratio: float, alpha: float, power: float, sided: int = 2, treatment_share: float = 0.5
) -> float:
    """Events needed by the log-rank test: (z_alpha + z_beta)² / (w_t w_c log(HR)²) (Schoenfeld 1983)."""
    z = float(norm.isf(alpha / sided)) + float(norm.ppf(power))
    return z**2 / (treatment_share * (1 - treatment_share) * math.log(hazard_ratio) ** 2)


def event_share(curve: ControlCurve, design: Design, hazard_ratio: float) -> float:
    """Share of all participants whose exit to employment is observed within the horizon."""
    w_t, w_c = design.weights
    return w_c * employment_frequency(curve) + w_t * employment_frequency(curve, hazard_ratio)


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

_TESTS = ("rmst", "logrank", "employment_frequency")


def _total_n(test: str, curve: ControlCurve, design: Design, hazard_ratio: float) -> float:
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
) -> dict[str, Any]:
    """Everything `trial power` reports, as plain data: required sizes for `days` saved, detectable effects for
    `per_arm` participants (or the inflow over `enrolment_months`), a one-day benchmark and interim inflation."""
    design = Design.of(protocol, power)
    if per_arm is not None and per_arm < 2:
        raise ParameterError("per_arm", f"must be at least 2; got {per_arm}")
    if inflow_per_month is not None and not inflow_per_month > 0:
        raise ParameterError("inflow_per_month", f"must be positive; got {inflow_per_month:g}")
    if not enrolment_months > 0:
        raise ParameterError("enrolment_months", f"must be positive; got {enrolment_months:g}")
    horizon_months = protocol.outcomes.horizon_days / DAYS_PER_MONTH
    result: dict[str, Any] = {
        "protocol": {"id": protocol.id, "version": protocol.version, "fingerprint": protocol.fingerprint},
        "alpha": design.alpha,
        "sided": design.sided,
        "power": design.power,
        "treatment_share": design.treatment_share,
        "horizon_days": protocol.outcomes.horizon_days,
        "inflow_per_month": inflow_per_month,
        "control": {
            "source": curve.source,
            "median_days": curve.median_days,
            "rmst_days": rmst(curve),
            "rmst_sd_per_person": math.sqrt(rmst_variance(curve)),
            "employment_frequency": employment_frequency(curve),
        },
        "interim": _interim(protocol, design),
    }

    def requirement(d: float) -> dict[str, Any]:
        hr = hazard_ratio_for_days(curve, d)
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
