"""Restricted mean survival time with the survRM2 standard error, Aalen-Johansen incidence, and a vectorised bootstrap.

Everything works on a life table (distinct times with event and censoring counts), so the bootstrap can resample
counts per (time, status) cell with multinomial draws and evaluate Kaplan-Meier and RMST for all replicates at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Bootstrap replicates are evaluated in chunks so that a chunk holds at most this many (replicate, time) cells.
_CELLS_PER_CHUNK = 4_000_000


@dataclass(frozen=True)
class LifeTable:
    """Counts at the distinct observed times of one group: at risk, events of the cause of interest, all exits."""

    time: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray

    @classmethod
    def from_data(cls, time: np.ndarray, event: np.ndarray) -> LifeTable:
        """Build the table from one row per person: time and a 0/1 event flag."""
        time = np.asarray(time, dtype=float)
        distinct, index = np.unique(time, return_inverse=True)
        removed = np.bincount(index, minlength=len(distinct)).astype(float)
        events = np.bincount(index, weights=np.asarray(event, dtype=bool).astype(float), minlength=len(distinct))
        at_risk = removed[::-1].cumsum()[::-1]
        return cls(distinct, at_risk, events)


@dataclass(frozen=True)
class RMST:
    """Restricted mean survival time to tau and the standard error of the estimator (survRM2)."""

    estimate: float
    se: float
    tau: float


def kaplan_meier(table: LifeTable) -> np.ndarray:
    """Kaplan-Meier survival just after each distinct time of the table."""
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(table.at_risk > 0, 1.0 - table.events / table.at_risk, 1.0)
    return np.cumprod(factor)


def rmst(table: LifeTable, tau: float) -> RMST:
    """RMST to tau with the variance of the estimator as R's survRM2::rmst2 computes it (Greenwood-type).

    Var = sum over event times t_j <= tau of A_j^2 d_j / (n_j (n_j - d_j)), where A_j is the area under the curve
    from t_j to tau; lifelines' `return_variance` gives the variance of min(T, tau) instead, not of its estimate.
    """
    keep = table.time <= tau
    times, surv = table.time[keep], kaplan_meier(table)[keep]
    d, n = table.events[keep], table.at_risk[keep]
    grid = np.concatenate([[0.0], times, [tau]])
    height = np.concatenate([[1.0], surv])
    areas = np.diff(grid) * height
    estimate = float(areas.sum())
    # Area from t_j to tau: all interval areas after the j-th time point.
    after = areas[::-1].cumsum()[::-1][1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(n - d > 0, d / (n * (n - d)), 0.0)
    variance = float(np.sum(after**2 * term))
    return RMST(estimate, float(np.sqrt(variance)), float(tau))


@dataclass(frozen=True)
class Incidence:
    """Aalen-Johansen cumulative incidence of one cause at the distinct times, with Collett's delta-method variance."""

    time: np.ndarray
    cif: np.ndarray
    variance: np.ndarray


def aalen_johansen(time: np.ndarray, status: np.ndarray, cause: int) -> Incidence:
    """Cumulative incidence of `cause` when other non-zero statuses compete (0 = censored), exact with tied times.

    lifelines' AalenJohansenFitter breaks ties by random jitter, and statsmodels' CumIncidenceRight returns a NaN
    standard error when everyone still at risk exits at the last time (0 times infinity), which small subgroups
    hit. This is the same estimator with the variance of Collett p. 411 (lifelines' formula) taking that limit as 0;
    tests compare it with both libraries.
    """
    time = np.asarray(time, dtype=float)
    status = np.asarray(status)
    distinct, index = np.unique(time, return_inverse=True)
    removed = np.bincount(index, minlength=len(distinct)).astype(float)
    d_all = np.bincount(index, weights=(status != 0).astype(float), minlength=len(distinct))
    d_k = np.bincount(index, weights=(status == cause).astype(float), minlength=len(distinct))
    n = removed[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(np.where(n > 0, 1.0 - d_all / n, 1.0))
        lag_surv = np.concatenate([[1.0], surv[:-1]])
        jump = lag_surv * np.where(n > 0, d_k / n, 0.0)
        cif = np.cumsum(jump)
        a = np.where(n - d_all > 0, d_all / (n * (n - d_all)), 0.0)
        b = np.where(n > 0, lag_surv**2 * d_k * (n - d_k) / n**3, 0.0)
        c = np.where(n > 0, lag_surv * d_k / n**2, 0.0)
    # Expand (F(t) - F(t_i))^2 and (F(t) - F(t_i)) into prefix sums so all times are done at once.
    variance = (
        cif**2 * np.cumsum(a)
        - 2 * cif * np.cumsum(a * cif)
        + np.cumsum(a * cif**2)
        + np.cumsum(b)
        - 2 * (cif * np.cumsum(c) - np.cumsum(c * cif))
    )
    return Incidence(distinct, cif, np.maximum(variance, 0.0))


def value_at(times: np.ndarray, values: np.ndarray, t: float, start: float) -> float:
    """The step function's value at t (right-continuous), `start` before the first time."""
    position = np.searchsorted(times, t, side="right") - 1
    return float(values[position]) if position >= 0 else float(start)


def bootstrap_rmst(
    time: np.ndarray, event: np.ndarray, tau: float, replicates: int, rng: np.random.Generator
) -> np.ndarray:
    """RMST to tau of the Kaplan-Meier curve in `replicates` resamples of the rows (with replacement), vectorised.

    A resample of n rows is a multinomial draw of n over the distinct (time, event) cells with the cells' shares as
    probabilities, so each replicate's life table is drawn directly and no row is copied.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool) & (time <= tau)  # an exit after tau is censored at tau
    time = np.minimum(time, tau)
    n = len(time)
    if n == 0 or replicates == 0:
        return np.full(replicates, np.nan)
    distinct, index = np.unique(time, return_inverse=True)
    cell = index * 2 + event.astype(int)
    shares = np.bincount(cell, minlength=2 * len(distinct)) / n
    gaps = np.diff(np.concatenate([[0.0], distinct, [tau]]))
    out = np.empty(replicates)
    chunk = max(1, _CELLS_PER_CHUNK // (2 * len(distinct)))
    for start in range(0, replicates, chunk):
        size = min(chunk, replicates - start)
        counts = rng.multinomial(n, shares, size=size).reshape(size, len(distinct), 2)
        events = counts[:, :, 1]
        removed = counts.sum(axis=2)
        at_risk = n - np.cumsum(removed, axis=1) + removed
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(at_risk > 0, 1.0 - events / at_risk, 1.0)
        surv = np.cumprod(factor, axis=1)
        heights = np.concatenate([np.ones((size, 1)), surv], axis=1)
        out[start : start + size] = heights @ gaps
    return out


# --- pseudo-observations and resampled cells ----------------------------------------------------------------------


@dataclass(frozen=True)
class Cells:
    """One row per person mapped onto (time, event) cells of a life table cut at tau, for jackknife and bootstrap."""

    time: np.ndarray
    gaps: np.ndarray
    cell: np.ndarray

    @classmethod
    def of(cls, time: np.ndarray, event: np.ndarray, tau: float) -> Cells:
        """Distinct times up to tau (an exit after tau is censored at tau) and each person's cell: 2 × time + event."""
        time = np.asarray(time, dtype=float)
        event = np.asarray(event, dtype=bool) & (time <= tau)
        distinct, index = np.unique(np.minimum(time, tau), return_inverse=True)
        gaps = np.diff(np.concatenate([[0.0], distinct, [tau]]))
        return cls(distinct, gaps, index * 2 + event.astype(np.int64))

    def counts(self, weights: np.ndarray | None = None) -> np.ndarray:
        """People (or summed weights) per cell, shaped (times, 2): censored, event."""
        return np.bincount(self.cell, weights=weights, minlength=2 * len(self.time)).reshape(-1, 2)


def rmst_from_counts(counts: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """Kaplan-Meier RMST from (time, event) cell counts `counts[..., j, e]`, for any leading replicate axes."""
    counts = np.asarray(counts, dtype=float)
    removed = counts.sum(axis=-1)
    n = removed.sum(axis=-1, keepdims=True) - np.cumsum(removed, axis=-1) + removed
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 0, 1.0 - counts[..., 1] / n, 1.0)
    return gaps[0] + (np.cumprod(factor, axis=-1) * gaps[1:]).sum(axis=-1)


def rmst_jackknife(counts: np.ndarray, gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier RMST and the RMST without one person of each (time, event) cell, from cell counts.

    `counts[..., j, e]` are the people with time t_j and event flag e (any leading replicate axes); `gaps` the widths
    between 0, the times and tau. Leaving one person out lowers the number at risk by one up to their time and the
    events at it by their flag, so every leave-one-out curve is the full one with modified factors: O(times) per
    replicate instead of one Kaplan-Meier fit per person. Returns (RMST, leave-one-out RMST shaped like counts).
    """
    counts = np.asarray(counts, dtype=float)
    d = counts[..., 1]
    removed = counts.sum(axis=-1)
    n = removed.sum(axis=-1, keepdims=True) - np.cumsum(removed, axis=-1) + removed
    with np.errstate(divide="ignore", invalid="ignore"):
        full_factor = np.where(n > 0, 1.0 - d / n, 1.0)
        fewer = np.where(n > 1, 1.0 - d / (n - 1), 1.0)  # one fewer at risk, same events
        fewer_event = np.where(n > 1, 1.0 - (d - 1) / (n - 1), 1.0)  # one fewer at risk and one fewer event
    estimate = rmst_from_counts(counts, gaps)
    before = np.cumprod(fewer, axis=-1)
    before_k = np.concatenate([np.ones_like(before[..., :1]), before[..., :-1]], axis=-1)
    # Area up to t_k of the curve with one fewer at risk throughout.
    head = gaps[0] + np.concatenate(
        [np.zeros_like(before[..., :1]), np.cumsum(before * gaps[1:], axis=-1)[..., :-1]], axis=-1
    )
    # Area from t_k to tau of the full curve's factors after t_k, per unit of the curve's height at t_k.
    tail = np.empty_like(full_factor)
    tail[..., -1] = gaps[-1]
    for k in range(full_factor.shape[-1] - 2, -1, -1):
        tail[..., k] = gaps[k + 1] + full_factor[..., k + 1] * tail[..., k + 1]
    leave_out = np.stack([head + before_k * fewer * tail, head + before_k * fewer_event * tail], axis=-1)
    return estimate, leave_out


def pseudo_observations(counts: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """Jackknife pseudo-observations of the RMST per (time, event) cell: n·RMST − (n − 1)·RMST without the person.

    Andersen, Hansen & Klein (2004): regressing them on covariates estimates covariate effects on the RMST.
    """
    estimate, leave_out = rmst_jackknife(counts, gaps)
    n = np.asarray(counts, dtype=float).sum(axis=(-2, -1))
    return (n * estimate)[..., None, None] - (n - 1)[..., None, None] * leave_out


def resample_counts(counts: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` bootstrap resamples of a group's people as cell counts, shaped (size, *counts.shape).

    A resample of n people is a multinomial draw of n over the group's occupied cells; empty cells stay empty.
    """
    flat = np.asarray(counts).reshape(-1)
    occupied = np.flatnonzero(flat)
    n = int(flat.sum())
    draws = np.zeros((size, flat.size), dtype=np.int64)
    if n:
        draws[:, occupied] = rng.multinomial(n, flat[occupied] / n, size=size)
    return draws.reshape(size, *np.shape(counts))
