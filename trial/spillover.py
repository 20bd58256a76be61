"""A two-stage design's effects: direct, total on the treated, spillover on the untreated and net per person.

Each estimand is a difference of restricted mean days on benefit (time to any end of the index spell, to the horizon)
between two groups, reference minus group, like `effects.benefit_days_saved`: in the clusters of a saturation level s,
the treated and the untreated; in the pure-control clusters (s = 0) everyone. Pooled estimands average the levels'
with weights proportional to their people (levels where the estimand exists: the direct effect and the spillover
need a share below 1). They are not adjusted for the strata: in a two-stage design the clusters, not the strata,
dominate the variance, and the cluster bootstrap then stays a matter of cell counts.

Intervals respect the clusters: a cluster bootstrap that resamples whole clusters within each saturation level (the
design fixes how many clusters each level has), vectorised as cell counts of a common life table: a replicate is a
matrix of cluster weights times the clusters' (time, event) counts. With few clusters per level a bootstrap variance
is too small by (G − 1)/G, so the interval is a t interval on the bootstrap standard error with that factor undone
(the CR1 correction of cluster-robust variances) and clusters − levels degrees of freedom; the plain percentile
interval is kept beside it. statsmodels' cluster-robust (CR1) standard error of the jackknife pseudo-observations is
reported as a cross-check, and computes the employment-rate versions (a linear probability model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from trial.errors import InputError
from trial.results import (
    BootstrapInfo,
    Effect,
    EmploymentSpillover,
    GroupCurve,
    Icc,
    SaturationEffects,
    Spillover,
    SpilloverEffect,
)
from trial.rmst import Cells, LifeTable, kaplan_meier, pseudo_observations, rmst_from_counts

ESTIMANDS = ("direct", "total_on_treated", "spillover_on_untreated", "net_per_person")
# reference, group: which of a level's groups each estimand compares ('pure' = the pure-control clusters).
CONTRASTS = {
    "direct": ("untreated", "treated"),
    "total_on_treated": ("pure", "treated"),
    "spillover_on_untreated": ("pure", "untreated"),
    "net_per_person": ("pure", "all"),
}
_NAMES = {"pure": "pure_control", "untreated": "untreated", "treated": "treated", "all": "all"}
_CHUNK = 500  # bootstrap replicates per chunk


def level_key(saturation: float) -> str:
    """The key of a saturation level in the result: '0.0', '0.5', '1.0'."""
    return f"{float(saturation)}"


@dataclass(frozen=True)
class Design:
    """Who is where: each person's cluster code and treatment, each cluster's saturation, the levels."""

    cluster: np.ndarray  # person → cluster code
    treated: np.ndarray  # person → 0/1
    names: list[str]  # cluster code → name
    saturation: np.ndarray  # cluster code → saturation
    levels: list[float]  # the saturations > 0 present, sorted

    @classmethod
    def of(cls, data: pd.DataFrame, treatment_arm: str) -> Design:
        """The design of the people in `data` (columns cluster, saturation, arm)."""
        missing = [c for c in ("cluster", "saturation") if c not in data.columns]
        if missing:
            raise InputError(
                "a two-stage design's analysis needs each person's cluster and its saturation, but the allocations "
                f"lack {' and '.join(repr(c) for c in missing)} (trial export writes them; an allocation file needs "
                "the columns cluster and saturation)"
            )
        codes, names = pd.factorize(data["cluster"].astype(str), sort=True)
        saturation = pd.Series(data["saturation"].astype(float).to_numpy()).groupby(codes).first().to_numpy()
        levels = sorted(float(s) for s in set(saturation) if s > 0)
        return cls(codes, (data["arm"] == treatment_arm).to_numpy().astype(int), [str(n) for n in names],
                   saturation, levels)

    def clusters_at(self, level: float) -> np.ndarray:
        return np.flatnonzero(self.saturation == level)


def _defined(estimand: str, level: float) -> bool:
    """The direct effect and the spillover need untreated people in treated clusters: a share below 1."""
    return not (estimand in ("direct", "spillover_on_untreated") and level >= 1)


@dataclass(frozen=True)
class _Frame:
    """Every figure the estimands are made of, for the observed data or a batch of bootstrap replicates."""

    rmst: dict[tuple[float, str], np.ndarray]  # (level, group) → RMST; level 0.0 with group 'all' is pure control

    def value(self, estimand: str, level: float) -> np.ndarray:
        reference, group = CONTRASTS[estimand]
        ref = self.rmst[(0.0, "all")] if reference == "pure" else self.rmst[(level, reference)]
        return ref - self.rmst[(level, group)]


def _rmsts(counts: np.ndarray, design: Design, gaps: np.ndarray, weights: np.ndarray | None = None) -> _Frame:
    """RMST of every group from the clusters' counts (clusters, 2 treated-flags, cells), each cluster counted once or
    `weights[b, cluster]` times in replicate b."""

    def group(level: float, part: str) -> np.ndarray:
        at = design.clusters_at(level)
        mine = counts[at]
        mine = mine[:, 1] if part == "treated" else mine[:, 0] if part == "untreated" else mine.sum(axis=1)
        return mine.sum(axis=0) if weights is None else weights[:, at] @ mine

    out = {(0.0, "all"): _rmst(group(0.0, "all"), gaps)}
    for level in design.levels:
        for part in ("treated", "untreated", "all"):
            out[(level, part)] = _rmst(group(level, part), gaps)
    return _Frame(out)


def _rmst(cell_counts: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    shaped = cell_counts.reshape(*cell_counts.shape[:-1], -1, 2)
    with np.errstate(invalid="ignore"):
        value = rmst_from_counts(shaped, gaps)
    empty = shaped.sum(axis=(-2, -1)) == 0
    return np.where(empty, np.nan, value)


def cluster_bootstrap_weights(design: Design, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """How often each cluster is drawn in each replicate: G_l draws with replacement within each level's G_l."""
    weights = np.zeros((replicates, len(design.names)))
    for level in sorted(set(design.saturation)):
        at = design.clusters_at(level)
        weights[:, at] = rng.multinomial(len(at), np.full(len(at), 1 / len(at)), size=replicates)
    return weights


def spillover_effects(
    benefit: pd.DataFrame,
    frame: pd.DataFrame,
    *,
    treatment_arm: str,
    horizon: float,
    as_of: pd.Timestamp,
    alpha: float,
    replicates: int,
    seed: int,
    event: int = 1,
) -> tuple[Spillover, list[str]]:
    """The four estimands pooled and by saturation, their employment-rate versions, the ICC and the curves.

    `benefit` holds everyone randomised by the cut (benefit_time, benefit_ended), `frame` those with an index spell
    (time, status) for time to a job and employment; both with cluster, saturation and arm.
    """
    design = Design.of(benefit, treatment_arm)
    notes: list[str] = []
    cells = Cells.of(benefit["benefit_time"].to_numpy(float), benefit["benefit_ended"].to_numpy(), horizon)
    counts = np.zeros((len(design.names), 2, 2 * len(cells.time)))
    np.add.at(counts, (design.cluster, design.treated, cells.cell), 1)
    observed = _rmsts(counts, design, cells.gaps)
    clusters = {level_key(s): int((design.saturation == s).sum()) for s in sorted(set(design.saturation))}
    if 0.0 not in set(design.saturation) or not design.levels:
        notes.append("two-stage analysis: no pure-control cluster or no treated cluster has anyone randomised yet; "
                     "the spillover estimands are left out")
        return Spillover(outcome="benefit_days_saved", by_saturation={}, clusters=clusters,
                         people=_people(design)), notes

    rng = np.random.default_rng([seed, 15, 1])
    draws = _bootstrap(counts, design, cells.gaps, replicates, rng)
    robust = _cluster_robust(benefit, design, cells)
    weights = _weights(design)
    by_level: dict[str, SaturationEffects] = {}
    pooled: dict[str, SpilloverEffect | None] = {}
    for estimand in ESTIMANDS:
        levels = [s for s in design.levels if _defined(estimand, s)]
        w = _normalised(weights, levels)
        estimate = sum(w[s] * float(observed.value(estimand, s)) for s in levels) if levels else math.nan
        boot = sum(w[s] * draws.value(estimand, s) for s in levels) if draws is not None and levels else None
        se_robust = robust.get((estimand, None)) if levels else None
        pooled[estimand] = _effect(estimand, estimate, boot, design, levels, alpha, se_robust) if levels else None
    employment = _employment(frame, treatment_arm, horizon, as_of, alpha, event)
    for level in design.levels:
        effects = {}
        for estimand in ESTIMANDS:
            if not _defined(estimand, level):
                effects[estimand] = None
                continue
            boot = draws.value(estimand, level) if draws is not None else None
            effects[estimand] = _effect(estimand, float(observed.value(estimand, level)), boot, design, [level],
                                        alpha, robust.get((estimand, level)))
        people = {"treated": int(design.treated[design.saturation[design.cluster] == level].sum()),
                  "untreated": int((1 - design.treated)[design.saturation[design.cluster] == level].sum())}
        by_level[level_key(level)] = SaturationEffects(
            saturation=level, clusters=clusters[level_key(level)], people=people,
            weight=weights[level] / sum(weights.values()),
            employment=employment.get(level), **effects,
        )
    if draws is None:
        notes.append("two-stage analysis without bootstrap replicates: the estimands carry no interval")
    return Spillover(
        outcome="benefit_days_saved",
        by_saturation=by_level,
        employment=employment.get(None),
        icc=icc_of(benefit, design, cells),
        clusters=clusters,
        people=_people(design),
        displaced_share=_displaced_share(observed, draws, design, alpha),
        curves=_curves(frame, treatment_arm, event, horizon),
        bootstrap=BootstrapInfo(replicates=replicates, seed=seed,
                                method="clusters resampled within saturation levels; t interval on the bootstrap SE "
                                       "with the factor G/(G − 1), df = clusters − levels"),
        method="restricted mean days on benefit to the horizon (Kaplan-Meier of time to any end of the index spell), "
               "reference minus group; levels pooled with weights proportional to their people",
        **pooled,
    ), notes


def _people(design: Design) -> dict[str, int]:
    pure = design.saturation[design.cluster] == 0
    return {"pure_control": int(pure.sum()), "treated": int(design.treated.sum()),
            "untreated": int(((1 - design.treated) * ~pure).sum())}


def _weights(design: Design) -> dict[float, float]:
    """Each treated level's share of the people in treated clusters."""
    level_of = design.saturation[design.cluster]
    return {s: float((level_of == s).sum()) for s in design.levels}


def _normalised(weights: dict[float, float], levels: list[float]) -> dict[float, float]:
    total = sum(weights[s] for s in levels)
    return {s: weights[s] / total for s in levels}


def _bootstrap(
    counts: np.ndarray, design: Design, gaps: np.ndarray, replicates: int, rng: np.random.Generator
) -> _Frame | None:
    """Every group's RMST in `replicates` cluster-bootstrap resamples (None without replicates)."""
    if replicates < 2:
        return None
    parts: list[_Frame] = []
    for start in range(0, replicates, _CHUNK):
        size = min(_CHUNK, replicates - start)
        parts.append(_rmsts(counts, design, gaps, cluster_bootstrap_weights(design, size, rng)))
    keys = parts[0].rmst.keys()
    return _Frame({k: np.concatenate([p.rmst[k] for p in parts]) for k in keys})


def _involved(estimand: str, levels: list[float]) -> list[float]:
    """The saturation levels whose clusters an estimand draws on (the pure-control ones unless it is direct)."""
    return levels if estimand == "direct" else [0.0, *levels]


def _effect(
    estimand: str,
    estimate: float,
    boot: np.ndarray | None,
    design: Design,
    levels: list[float],
    alpha: float,
    se_robust: float | None,
) -> SpilloverEffect:
    """Estimate with the corrected cluster-bootstrap t interval, the percentile interval and the CR1 cross-check."""
    reference, group = CONTRASTS[estimand]
    common = {"reference": _NAMES[reference], "group": _NAMES[group], "se_cluster_robust": se_robust}
    involved = _involved(estimand, levels)
    g = [int((design.saturation == s).sum()) for s in involved]
    df = sum(g) - len(g)
    if boot is None or not math.isfinite(estimate) or min(g) < 2 or df < 1:
        return SpilloverEffect(estimate=estimate, **common)
    finite = boot[np.isfinite(boot)]
    se = float(np.std(finite, ddof=1)) * math.sqrt(min(g) / (min(g) - 1))
    quantile = float(stats.t.ppf(1 - alpha / 2, df))
    p = float(2 * stats.t.sf(abs(estimate) / se, df)) if se > 0 else None
    return SpilloverEffect(
        estimate=estimate, se=se, ci=(estimate - quantile * se, estimate + quantile * se), p=p, df=df,
        ci_percentile=tuple(np.quantile(finite, [alpha / 2, 1 - alpha / 2])), **common,
    )


def _contrast(design: Design, estimand: str, level: float, columns: list[tuple[float, str]],
              sizes: dict[tuple[float, str], float]) -> np.ndarray:  # fmt: skip
    """The contrast vector over group means (columns) of one estimand at one level, reference minus group."""
    vector = np.zeros(len(columns))
    reference, group = CONTRASTS[estimand]

    def add(which: str, sign: float) -> None:
        if which == "pure":
            vector[columns.index((0.0, "all"))] += sign
        elif which == "all":
            total = sizes[(level, "treated")] + sizes[(level, "untreated")]
            for part in ("treated", "untreated"):
                if (level, part) in columns:
                    vector[columns.index((level, part))] += sign * sizes[(level, part)] / total
        else:
            vector[columns.index((level, which))] += sign

    add(reference, 1.0)
    add(group, -1.0)
    return vector


def _group_columns(design: Design) -> tuple[np.ndarray, list[tuple[float, str]], dict[tuple[float, str], float]]:
    """Each person's group (pure control, or a level's treated or untreated) as a code, the groups and their sizes."""
    level_of = design.saturation[design.cluster]
    columns: list[tuple[float, str]] = [(0.0, "all")]
    code = np.zeros(len(level_of), dtype=int)
    sizes: dict[tuple[float, str], float] = {(0.0, "all"): float((level_of == 0).sum())}
    for level in design.levels:
        for flag, part in ((1, "treated"), (0, "untreated")):
            mine = (level_of == level) & (design.treated == flag)
            sizes[(level, part)] = float(mine.sum())
            if mine.any():
                code[mine] = len(columns)
                columns.append((level, part))
    return code, columns, sizes


def _pooled_contrast(design: Design, estimand: str, columns: list[tuple[float, str]],
                     sizes: dict[tuple[float, str], float]) -> np.ndarray | None:  # fmt: skip
    levels = [s for s in design.levels if _defined(estimand, s)]
    if not levels:
        return None
    w = _normalised(_weights(design), levels)
    return sum(w[s] * _contrast(design, estimand, s, columns, sizes) for s in levels)


def _cluster_robust(benefit: pd.DataFrame, design: Design, cells: Cells) -> dict[tuple[str, float | None], float]:
    """statsmodels' cluster-robust (CR1) SE of each estimand from the groups' jackknife pseudo-observations."""
    from statsmodels.regression.linear_model import OLS

    code, columns, sizes = _group_columns(design)
    pseudo = np.zeros(len(code))
    for k in range(len(columns)):
        mine = code == k
        group_counts = np.bincount(cells.cell[mine], minlength=2 * len(cells.time)).reshape(-1, 2)
        pseudo[mine] = pseudo_observations(group_counts, cells.gaps).reshape(-1)[cells.cell[mine]]
    x = np.zeros((len(code), len(columns)))
    x[np.arange(len(code)), code] = 1.0
    fit = OLS(pseudo, x).fit(cov_type="cluster", cov_kwds={"groups": design.cluster})
    out: dict[tuple[str, float | None], float] = {}
    for estimand in ESTIMANDS:
        for level in [None, *design.levels]:
            if level is None:
                vector = _pooled_contrast(design, estimand, columns, sizes)
            elif _defined(estimand, level):
                vector = _contrast(design, estimand, level, columns, sizes)
            else:
                vector = None
            if vector is not None:
                out[(estimand, level)] = float(np.sqrt(vector @ fit.cov_params() @ vector))
    return out


def _employment(
    frame: pd.DataFrame, treatment_arm: str, horizon: float, as_of: pd.Timestamp, alpha: float, event: int,
) -> dict[float | None, EmploymentSpillover]:  # fmt: skip
    """Employment by the horizon (share), group minus reference, by level and pooled: a linear probability model
    among the people followed for the whole horizon, statsmodels' cluster-robust (CR1) errors, t on G − 1 df."""
    from statsmodels.regression.linear_model import OLS

    followed = (as_of - pd.to_datetime(frame["randomised_on"])).dt.days.to_numpy() >= horizon
    data = frame[followed]
    if data.empty:
        return {}
    design = Design.of(data, treatment_arm)
    if 0.0 not in set(design.saturation) or not design.levels:
        return {}
    employed = ((data["status"].to_numpy() == event) & (data["time"].to_numpy(float) <= horizon)).astype(float)
    code, columns, sizes = _group_columns(design)
    x = np.zeros((len(code), len(columns)))
    x[np.arange(len(code)), code] = 1.0
    fit = OLS(employed, x).fit(cov_type="cluster", cov_kwds={"groups": design.cluster}, use_t=True)
    out: dict[float | None, EmploymentSpillover] = {}
    for level in [None, *design.levels]:
        effects: dict[str, Effect | None] = {}
        for estimand in ESTIMANDS:
            if level is None:
                vector = _pooled_contrast(design, estimand, columns, sizes)
            else:
                vector = _contrast(design, estimand, level, columns, sizes) if _defined(estimand, level) else None
            if vector is None or not np.any(vector):
                effects[estimand] = None
                continue
            test = fit.t_test(-vector)  # group minus reference: more employed is positive
            low, high = np.asarray(test.conf_int(alpha=alpha)).reshape(-1)
            effects[estimand] = Effect(estimate=float(np.asarray(test.effect).reshape(-1)[0]), ci=(low, high),
                                       p=float(np.asarray(test.pvalue).reshape(-1)[0]),
                                       se=float(np.asarray(test.sd).reshape(-1)[0]))
        out[level] = EmploymentSpillover(n_complete=len(data), **effects)
    return out


def icc_of(benefit: pd.DataFrame, design: Design, cells: Cells) -> Icc:
    """ICC of days on benefit: one-way ANOVA estimator over clusters of the pseudo-observations less group means.

    With equal clusters it equals the REML variance-component estimate of a random-intercept model (statsmodels
    MixedLM; tested); n₀ = (N − Σ nⱼ²/N)/(G − 1) is the usual size for unequal clusters.
    """
    code, columns, _ = _group_columns(design)
    values = np.zeros(len(code))
    for k in range(len(columns)):
        mine = code == k
        group_counts = np.bincount(cells.cell[mine], minlength=2 * len(cells.time)).reshape(-1, 2)
        pseudo = pseudo_observations(group_counts, cells.gaps).reshape(-1)[cells.cell[mine]]
        values[mine] = pseudo - pseudo.mean()
    return Icc(estimate=anova_icc(values, design.cluster), outcome="days on benefit to the horizon "
               "(pseudo-observations less their group's mean)", method="one-way ANOVA estimator over clusters",
               clusters=len(design.names))


def anova_icc(values: np.ndarray, groups: np.ndarray) -> float | None:
    """The ANOVA estimator of the intra-class correlation, (MSB − MSW) / (MSB + (n₀ − 1) MSW), floored at 0."""
    codes, _ = pd.factorize(pd.Series(groups))
    sizes = np.bincount(codes).astype(float)
    g, n = len(sizes), float(len(values))
    if g < 2 or n <= g:
        return None
    means = np.bincount(codes, weights=values) / sizes
    grand = values.mean()
    msb = float((sizes * (means - grand) ** 2).sum() / (g - 1))
    msw = float(((values - means[codes]) ** 2).sum() / (n - g))
    n0 = (n - (sizes**2).sum() / n) / (g - 1)
    denominator = msb + (n0 - 1) * msw
    return max(0.0, (msb - msw) / denominator) if denominator > 0 else None


def _displaced_share(observed: _Frame, draws: _Frame | None, design: Design, alpha: float) -> Effect | None:
    """Days lost by the untreated in treated clusters over days gained by the treated there (shares below 1).

    Σ −spillover_s × untreated_s / Σ total_s × treated_s: the share of the treated's gain taken from others.
    """
    levels = [s for s in design.levels if s < 1]
    level_of = design.saturation[design.cluster]
    treated = {s: float(design.treated[level_of == s].sum()) for s in levels}
    untreated = {s: float((level_of == s).sum()) - treated[s] for s in levels}

    def share(frame: _Frame) -> np.ndarray:
        lost = sum(-frame.value("spillover_on_untreated", s) * untreated[s] for s in levels)
        gained = sum(frame.value("total_on_treated", s) * treated[s] for s in levels)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(lost / gained, dtype=float)

    if not levels:
        return None
    estimate = float(share(observed))
    if not math.isfinite(estimate) or draws is None:
        return Effect(estimate=estimate)
    boot = share(draws)
    boot = boot[np.isfinite(boot)]
    interval = tuple(np.quantile(boot, [alpha / 2, 1 - alpha / 2])) if len(boot) > 1 else (None, None)
    return Effect(estimate=estimate, ci=interval)


def _curves(frame: pd.DataFrame, treatment_arm: str, event: int, horizon: float) -> dict[str, dict[str, GroupCurve]]:
    """Kaplan-Meier of time to a job per saturation for the treated and the untreated; pure control under '0.0'."""
    design = Design.of(frame, treatment_arm)
    level_of = design.saturation[design.cluster]
    time, hit = frame["time"].to_numpy(float), frame["status"].to_numpy() == event
    out: dict[str, dict[str, GroupCurve]] = {}
    for level in sorted(set(level_of)):
        parts = {"pure_control": level_of == 0} if level == 0 else {
            "treated": (level_of == level) & (design.treated == 1),
            "untreated": (level_of == level) & (design.treated == 0),
        }
        out[level_key(level)] = {name: _km(time[mask], hit[mask], horizon) for name, mask in parts.items()
                                 if mask.any()}
    return out


def _km(time: np.ndarray, event: np.ndarray, horizon: float) -> GroupCurve:
    table = LifeTable.from_data(np.minimum(time, horizon), event & (time <= horizon))
    return GroupCurve(time=[0.0, *table.time.tolist()], survival=[1.0, *kaplan_meier(table).tolist()],
                      at_risk=[int(table.at_risk[0]) if len(table.at_risk) else 0, *table.at_risk.astype(int).tolist()])
