"""Power of a two-stage (randomised saturation) design: the direct, spillover and net effects it can detect.

Baird, Bohren, McIntosh & Özler (2018, "Optimal design of experiments in the presence of interference", REStat) give
the variances of these estimators under a random cluster effect: with K clusters of M people, an intra-cluster
correlation ρ of the outcome (variance σ², between-cluster part τ² = ρσ²) and G_s clusters at saturation s,

    Var(ȳ of a group of n people in G clusters) = τ²/G + (σ² − τ²)/n          (the design effect 1 + (n/G − 1)ρ)
    direct_s   = ȳ(untreated, s) − ȳ(treated, s):  the cluster effect cancels: (σ² − τ²)(1/n_T + 1/n_U)
    total_s, spillover_s, net_s = ȳ(pure control) − ȳ(group, s):  Var(ȳ_0) + Var(ȳ_group)

and pooled estimands weight the levels by their people, as the analysis does (`trial.spillover`). The outcome is
days on benefit to the horizon, min(T, h), of the control curve of `trial.power` (complete follow-up: the final
analysis), a group's own σ² following from its hazard ratio; employment by the horizon is the same with σ² = p(1 − p).
Tests are t tests on clusters − levels degrees of freedom, as the analysis's intervals; power is the noncentral t's.
`simulate_power` checks the formulas: trials of the same design drawn from the control curve through a Gaussian
copula with the cluster correlation that gives the outcome this ICC, analysed by cluster-level t tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy import stats
from scipy.optimize import brentq

from trial.clusters import level_counts
from trial.errors import ParameterError
from trial.power import (
    ControlCurve,
    days_saved,
    employment_frequency,
    rmst,
    rmst_variance,
)
from trial.protocol import Protocol

ESTIMANDS = ("direct", "total_on_treated", "spillover_on_untreated", "net_per_person")
_HR_RANGE = (1 / 50, 50.0)


@dataclass(frozen=True)
class TwoStageDesign:
    """K clusters of M people, the ICC, the saturations (0 = pure control) and the tests' alpha, sides and power."""

    clusters: int
    cluster_size: int
    icc: float
    saturations: tuple[float, ...]
    alpha: float = 0.05
    sided: int = 2
    power: float = 0.8

    def __post_init__(self) -> None:
        if self.clusters < 2 * len(self.saturations):
            raise ParameterError("clusters", f"must give each of the {len(self.saturations)} saturations two clusters "
                                             f"(at least {2 * len(self.saturations)}); got {self.clusters}")
        if self.cluster_size < 2:
            raise ParameterError("cluster_size", f"must be at least 2 people; got {self.cluster_size}")
        if not 0 <= self.icc < 1:
            raise ParameterError("icc", f"must lie in [0, 1); got {self.icc:g}")
        levels = list(self.saturations)
        if 0.0 not in levels or not any(0 < s < 1 for s in levels) or any(not 0 <= s <= 1 for s in levels) \
                or len(set(levels)) != len(levels):
            raise ParameterError("saturations", "distinct shares in [0, 1] with 0 (pure control) and one between 0 "
                                                f"and 1; got {', '.join(f'{s:g}' for s in levels)}")
        if not 0 < self.power < 1:
            raise ParameterError("power", f"must lie between 0 and 1; got {self.power:g}")

    @classmethod
    def of(cls, protocol: Protocol, clusters: int, cluster_size: int, icc: float,
           saturations: list[float] | None = None, power: float = 0.8) -> TwoStageDesign:  # fmt: skip
        """The design with the protocol's alpha and sides (and saturations, when it is a two-stage protocol)."""
        levels = saturations or list(protocol.randomisation.saturations) or [0.0, 0.5]
        return cls(clusters, cluster_size, icc, tuple(sorted(levels)), protocol.analysis.alpha,
                   protocol.analysis.sided, power)

    @property
    def counts(self) -> dict[float, int]:
        """Clusters per saturation as the randomiser balances them: equal, the extra ones to the first shares."""
        counts, _ = level_counts(self.clusters, len(self.saturations), list(range(len(self.saturations))), 0)
        return dict(zip(self.saturations, counts, strict=True))

    @property
    def treated_levels(self) -> list[float]:
        return [s for s in self.saturations if s > 0]

    def levels_of(self, estimand: str) -> list[float]:
        """The levels where an estimand exists: the direct effect and the spillover need a share below 1."""
        return [s for s in self.treated_levels if not (estimand in ("direct", "spillover_on_untreated") and s >= 1)]

    def weights(self, estimand: str) -> dict[float, float]:
        """Pooled weights: each level's share of the people in the levels where the estimand exists."""
        levels = self.levels_of(estimand)
        total = sum(self.counts[s] for s in levels)
        return {s: self.counts[s] / total for s in levels}

    def df(self, estimand: str, level: float | None) -> int:
        """Degrees of freedom of the analysis's t interval: clusters minus levels involved."""
        levels = self.levels_of(estimand) if level is None else [level]
        involved = levels if estimand == "direct" else [0.0, *levels]
        return sum(self.counts[s] for s in involved) - len(involved)


@dataclass(frozen=True)
class Spread:
    """The outcome's variance per group: the control's σ² and the treated's and untreated's own; the ICC ρ is taken
    to hold in every group, so a group's between-cluster variance is τ² = ρσ² of its own σ²."""

    control: float
    treated: float
    untreated: float
    icc: float

    def total(self, group: str) -> float:
        return {"pure": self.control, "treated": self.treated, "untreated": self.untreated}[group]

    def between(self, group: str) -> float:
        return self.icc * self.total(group)

    def within(self, group: str) -> float:
        return (1 - self.icc) * self.total(group)


def _mean_variance(spread: Spread, group: str, people: float, clusters: int) -> float:
    """Var of a group's mean over `people` in `clusters`: τ²/G + (σ² − τ²)/n."""
    return spread.between(group) / clusters + spread.within(group) / people


def variance(design: TwoStageDesign, spread: Spread, estimand: str, level: float | None) -> float:
    """The variance of an estimand's estimator at one level, or pooled (`level` None)."""
    if level is None:
        weights = design.weights(estimand)
        if estimand == "direct":
            return sum(w**2 * variance(design, spread, estimand, s) for s, w in weights.items())
        pure = _mean_variance(spread, "pure", design.cluster_size * design.counts[0.0], design.counts[0.0])
        return pure + sum(w**2 * (variance(design, spread, estimand, s) - pure) for s, w in weights.items())
    g, m = design.counts[level], design.cluster_size
    n_t, n_u = level * m * g, (1 - level) * m * g
    tau_t, tau_u = math.sqrt(spread.between("treated")), math.sqrt(spread.between("untreated"))
    if estimand == "direct":
        # The cluster effect cancels, but for the part by which the groups' effects differ in size.
        return spread.within("treated") / n_t + spread.within("untreated") / n_u + (tau_t - tau_u) ** 2 / g
    pure = _mean_variance(spread, "pure", m * design.counts[0.0], design.counts[0.0])
    if estimand == "total_on_treated":
        return pure + _mean_variance(spread, "treated", n_t, g)
    if estimand == "spillover_on_untreated":
        return pure + _mean_variance(spread, "untreated", n_u, g)
    mixed = level * spread.within("treated") + (1 - level) * spread.within("untreated")
    return pure + (level * tau_t + (1 - level) * tau_u) ** 2 / g + mixed / (m * g)


def t_power(effect: float, se: float, df: int, alpha: float, sided: int) -> float:
    """Power of a t test of an effect with standard error `se` on `df` degrees of freedom (noncentral t)."""
    if df < 1 or not se > 0:
        return math.nan
    critical = float(stats.t.isf(alpha / sided, df))
    shift = abs(effect) / se
    upper = float(stats.nct.sf(critical, df, shift))
    # scipy's noncentral t gives NaN for the far tail of a large shift; that tail is 0.
    lower = float(np.nan_to_num(stats.nct.cdf(-critical, df, shift))) if sided == 2 else 0.0
    return upper + lower


def _solve(power_of: Any, target: float, top: float) -> float | None:
    """The smallest effect in (0, top) whose power reaches the target; None when none does."""
    if not power_of(top) >= target:
        return None
    return float(brentq(lambda d: power_of(d) - target, 1e-9, top, xtol=1e-7))


def hazard_ratio_for(curve: ControlCurve, days: float) -> float:
    """The hazard ratio of employment that saves `days` days on benefit (negative days: a slower job, HR < 1)."""
    return float(brentq(lambda hr: days_saved(curve, hr, "benefit_days") - days, *_HR_RANGE, xtol=1e-10))


def _roles(estimand: str) -> tuple[str, str]:
    """Which group carries an estimand's effect in the power model (the other groups keep the control's curve)."""
    return {"direct": ("treated", "treated"), "total_on_treated": ("treated", "treated"),
            "spillover_on_untreated": ("untreated", "untreated"), "net_per_person": ("all", "all")}[estimand]


def _spread(curve: ControlCurve, icc: float, estimand: str, days: float) -> Spread:
    """The groups' variances of days on benefit when the estimand's group saves `days` (others as control)."""
    control = rmst_variance(curve, 1.0, "benefit_days")
    sign = -1.0 if estimand == "spillover_on_untreated" else 1.0
    moved = rmst_variance(curve, hazard_ratio_for(curve, sign * days), "benefit_days")
    group = _roles(estimand)[0]
    return Spread(control, moved if group in ("treated", "all") else control,
                  moved if group in ("untreated", "all") else control, icc)


def detectable_days(design: TwoStageDesign, curve: ControlCurve, estimand: str, level: float | None) -> float | None:
    """The smallest days on benefit saved (in size; the spillover as a loss) the design detects with its power."""
    df = design.df(estimand, level)
    # Beyond half the control's days on benefit a "detectable" effect means nothing; the curve allows more either way.
    top = 0.5 * rmst(curve, 1.0, "benefit_days")
    # Nor beyond what a hazard ratio within _HR_RANGE reaches: a loss (the spillover) is bounded by the horizon minus
    # the control's days on benefit, which a long control median makes small.
    sign = -1.0 if estimand == "spillover_on_untreated" else 1.0
    reach = sign * days_saved(curve, _HR_RANGE[0] if sign < 0 else _HR_RANGE[1], "benefit_days")
    top = min(top, 0.999 * reach)

    def power_of(days: float) -> float:
        se = math.sqrt(variance(design, _spread(curve, design.icc, estimand, days), estimand, level))
        return t_power(days, se, df, design.alpha, design.sided)

    return _solve(power_of, design.power, top)


def detectable_points(design: TwoStageDesign, curve: ControlCurve, estimand: str, level: float | None
                      ) -> float | None:  # fmt: skip
    """The smallest change in employment by the horizon (a share) the design detects, σ² = p(1 − p) per group."""
    p0 = employment_frequency(curve)
    df = design.df(estimand, level)

    def power_of(points: float) -> float:
        moved = min(p0 + points, 1.0) if estimand != "spillover_on_untreated" else max(p0 - points, 0.0)
        group = _roles(estimand)[0]
        spread = Spread(p0 * (1 - p0), moved * (1 - moved) if group in ("treated", "all") else p0 * (1 - p0),
                        moved * (1 - moved) if group in ("untreated", "all") else p0 * (1 - p0), design.icc)
        return t_power(points, math.sqrt(variance(design, spread, estimand, level)), df, design.alpha, design.sided)

    return _solve(power_of, design.power, 0.999 * min(p0, 1 - p0))


def plan(design: TwoStageDesign, curve: ControlCurve) -> dict[str, Any]:
    """Detectable effects of every estimand, pooled and by saturation, in days on benefit and employment points."""
    p0 = employment_frequency(curve)
    sizes = {f"{s}": {"clusters": n, "people": n * design.cluster_size} for s, n in design.counts.items()}

    def row(estimand: str, level: float | None) -> dict[str, Any]:
        days = detectable_days(design, curve, estimand, level)
        points = detectable_points(design, curve, estimand, level)
        hr = None if days is None else hazard_ratio_for(curve, -days if estimand == "spillover_on_untreated" else days)
        return {
            "days": days,
            "hazard_ratio": hr,
            "employment_points": points,
            "df": design.df(estimand, level),
            "se_at_detectable": None if days is None else math.sqrt(
                variance(design, _spread(curve, design.icc, estimand, days), estimand, level)),
        }

    return {
        "design": {
            "clusters": design.clusters, "cluster_size": design.cluster_size, "icc": design.icc,
            "saturations": list(design.saturations), "alpha": design.alpha, "sided": design.sided,
            "power": design.power, "by_saturation": sizes,
            "design_effect": 1 + (design.cluster_size - 1) * design.icc,
        },
        "control": {
            "source": curve.source, "median_days": curve.median_days, "horizon_days": curve.horizon,
            "days_on_benefit": rmst(curve, 1.0, "benefit_days"),
            "sd_days_on_benefit": math.sqrt(rmst_variance(curve, 1.0, "benefit_days")),
            "employed_by_horizon": p0,
        },
        "detectable": {
            name: {"pooled": row(name, None),
                   "by_saturation": {f"{s}": row(name, s) for s in design.levels_of(name)}}
            for name in ESTIMANDS
        },
        "method": "Baird et al. (2018) variances with a random cluster effect; t tests on clusters − levels df; "
                  "complete follow-up to the horizon",
    }


# --- the Monte-Carlo check ----------------------------------------------------------------------------------------


def _quantiles(curve: ControlCurve, hazard_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """min(T, h) as a function of the uniform u = 1 − S(T): the grid of u and the days."""
    survival = curve.benefit * curve.survival ** (hazard_ratio - 1.0)
    u = 1.0 - survival
    u, index = np.unique(u, return_index=True)
    return u, curve.grid[index]


def _days_of(u: np.ndarray, table: tuple[np.ndarray, np.ndarray], horizon: float) -> np.ndarray:
    grid_u, days = table
    return np.where(u >= grid_u[-1], horizon, np.interp(u, grid_u, days))


def latent_correlation(curve: ControlCurve, icc: float) -> float:
    """The normal copula's cluster correlation that gives min(T, h) under the control curve the ICC `icc`."""
    if icc == 0:
        return 0.0
    nodes, weights = hermegauss(60)
    weights = weights / weights.sum()
    table = _quantiles(curve, 1.0)
    values = _days_of(stats.norm.cdf(nodes), table, curve.horizon)
    var = weights @ (values - weights @ values) ** 2

    def icc_of(r: float) -> float:
        # Two people of one cluster: Z = √r·u + √(1 − r)·e; their covariance is Var_u(E[Y | u]) (centred on its own
        # quadrature mean: a difference of squared means would swamp a small ICC in quadrature error).
        given = _days_of(stats.norm.cdf(math.sqrt(r) * nodes[:, None] + math.sqrt(1 - r) * nodes[None, :]),
                         table, curve.horizon) @ weights
        return float(weights @ (given - weights @ given) ** 2 / var)

    return float(brentq(lambda r: icc_of(r) - icc, 1e-9, 0.999))


def simulate_power(design: TwoStageDesign, curve: ControlCurve, estimand: str, level: float | None, days: float,
                   trials: int = 2000, seed: int = 1) -> float:  # fmt: skip
    """Share of simulated trials of the design in which the estimand's cluster-level t test rejects, when its group
    saves `days` (the spillover: loses). People are drawn from the curve through a Gaussian copula whose cluster
    correlation gives the ICC; every other group keeps the control curve."""
    rng = np.random.default_rng(seed)
    r = latent_correlation(curve, design.icc)
    m = design.cluster_size
    control = _quantiles(curve, 1.0)
    sign = -1.0 if estimand == "spillover_on_untreated" else 1.0
    moved = _quantiles(curve, hazard_ratio_for(curve, sign * days))
    group = _roles(estimand)[0]

    def draw(clusters: int) -> np.ndarray:
        z = math.sqrt(r) * rng.standard_normal((trials, clusters, 1)) + math.sqrt(1 - r) * rng.standard_normal(
            (trials, clusters, m))
        return stats.norm.cdf(z)

    pure = _days_of(draw(design.counts[0.0]), control, curve.horizon).mean(axis=2)
    estimates, variances, dfs = [], [], []
    weights = design.weights(estimand) if level is None else {level: 1.0}
    for s, w in weights.items():
        u = draw(design.counts[s])
        k = round(s * m)
        treated_u, untreated_u = u[:, :, :k], u[:, :, k:]
        treated = _days_of(treated_u, moved if group in ("treated", "all") else control, curve.horizon)
        untreated = _days_of(untreated_u, moved if group in ("untreated", "all") else control, curve.horizon)
        if estimand == "direct":
            per_cluster = untreated.mean(axis=2) - treated.mean(axis=2)
            estimates.append(w * per_cluster.mean(axis=1))
            variances.append(w**2 * per_cluster.var(axis=1, ddof=1) / design.counts[s])
            continue
        chosen = {"total_on_treated": treated.mean(axis=2), "spillover_on_untreated": untreated.mean(axis=2),
                  "net_per_person": np.concatenate([treated, untreated], axis=2).mean(axis=2)}[estimand]
        estimates.append(-w * chosen.mean(axis=1))
        variances.append(w**2 * chosen.var(axis=1, ddof=1) / design.counts[s])
    if estimand != "direct":
        estimates.append(pure.mean(axis=1))
        variances.append(pure.var(axis=1, ddof=1) / design.counts[0.0])
    dfs = design.df(estimand, level)
    statistic = sum(estimates) / np.sqrt(sum(variances))
    critical = float(stats.t.isf(design.alpha / design.sided, dfs))
    rejected = statistic > critical if design.sided == 1 else np.abs(statistic) > critical
    return float(rejected.mean())
