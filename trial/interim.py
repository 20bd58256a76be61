"""Group-sequential boundaries by Lan-DeMets alpha spending, which planned look a data cut is, and what it decides.

Boundaries are on the one-sided standardised statistic Z (efficacy only). A two-sided protocol alpha
is split evenly, alpha/2 per side, as is usual for symmetric designs: a look crosses for benefit when
Z ≥ b and, two-sided, for harm when Z ≤ −b. Z = estimate / SE with benefit positive. Repeated confidence
intervals (Jennison & Turnbull 2000, ch. 9) are estimate ± b × SE: they keep their coverage whatever is
decided at each look.
"""

from __future__ import annotations

import calendar
import functools
import itertools
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
from scipy.optimize import brentq
from scipy.stats import multivariate_normal, norm

from trial.errors import ParameterError
from trial.protocol import Protocol

Spending = Literal["obrien-fleming", "pocock"]

# Genz's QMC algorithm behind scipy's multivariate normal CDF: this accuracy gives boundaries to 1e-4 in z.
_ABSEPS = 1e-8
_RELEPS = 1e-8


@dataclass(frozen=True)
class Boundary:
    """One look: its information fraction, efficacy boundary on Z, nominal p and the alpha spent so far."""

    look: int
    information_fraction: float
    z: float
    p_one_sided: float
    alpha_spent: float
    alpha_increment: float


def spent_alpha(fraction: float | np.ndarray, alpha: float, spending: Spending) -> float | np.ndarray:
    """Cumulative one-sided alpha spent at information fraction t (Lan & DeMets 1983 spending functions)."""
    t = np.clip(np.asarray(fraction, dtype=float), 0.0, 1.0)
    if spending == "obrien-fleming":
        with np.errstate(divide="ignore"):
            out = np.where(t > 0, 2.0 * (1.0 - norm.cdf(norm.ppf(1.0 - alpha / 2.0) / np.sqrt(t))), 0.0)
    elif spending == "pocock":
        out = alpha * np.log1p((np.e - 1.0) * t)
    else:
        raise ParameterError("spending", f"'{spending}' is not a spending function; use obrien-fleming or pocock")
    return float(out) if np.ndim(out) == 0 else out


def _correlation(fractions: list[float]) -> np.ndarray:
    """Corr(Z_i, Z_j) = sqrt(t_i / t_j) for i <= j under the canonical joint distribution of sequential Z."""
    t = np.asarray(fractions, dtype=float)
    return np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))


def prob_all_below(bounds: list[float], fractions: list[float]) -> float:
    """P(Z_1 < b_1, ..., Z_k < b_k) for sequential z statistics with mean 0 (shift b for an alternative)."""
    if len(bounds) == 1:
        return float(norm.cdf(bounds[0]))
    return float(
        multivariate_normal.cdf(
            np.asarray(bounds),
            mean=np.zeros(len(bounds)),
            cov=_correlation(fractions),
            maxpts=100_000 * len(bounds),
            abseps=_ABSEPS,
            releps=_RELEPS,
            rng=np.random.default_rng(0),  # fixed: the same boundaries on every run
        )
    )


def boundaries(fractions: list[float], alpha: float = 0.025, spending: Spending = "obrien-fleming") -> list[Boundary]:
    """Efficacy boundaries for looks at the given increasing information fractions, spending one-sided alpha.

    Each boundary solves P(no earlier crossing, cross now) = alpha(t_k) - alpha(t_{k-1}), recursively. Remembered:
    four looks take seconds of multivariate-normal integrals, and `trial power` asks for the same ones three times.
    """
    return list(_boundaries(tuple(float(x) for x in fractions), float(alpha), spending))


@functools.lru_cache(maxsize=64)
def _boundaries(t: tuple[float, ...], alpha: float, spending: Spending) -> tuple[Boundary, ...]:
    """`boundaries` for hashable arguments, so that a repeated question is answered from memory."""
    if not t or any(b <= a for a, b in itertools.pairwise(t)) or t[0] <= 0 or t[-1] > 1:
        raise ParameterError("fractions", f"information fractions must increase within (0, 1]; got {list(t)}")
    if not 0 < alpha < 0.5:
        raise ParameterError("alpha", f"one-sided alpha must lie in (0, 0.5); got {alpha:g}")
    out: list[Boundary] = []
    previous_spent = 0.0
    zs: list[float] = []
    for k, tk in enumerate(t):
        spent = float(spent_alpha(tk, alpha, spending))
        increment = spent - previous_spent
        if k == 0:
            z = float(norm.isf(increment))
        else:
            below_before = prob_all_below(zs, t[:k])

            def excess(zk: float, k: int = k, below: float = below_before, target: float = increment) -> float:
                # P(no earlier crossing) - P(no crossing up to now) = P(first crossing at look k).
                return below - prob_all_below([*zs, zk], t[: k + 1]) - target

            z = float(brentq(excess, -1.0, 12.0, xtol=1e-7)) if increment > 1e-14 else float("inf")
        zs.append(z)
        out.append(Boundary(k + 1, tk, z, float(norm.sf(z)), spent, increment))
        previous_spent = spent
    return tuple(out)


def classical_obrien_fleming(fractions: list[float], alpha: float = 0.025) -> list[float]:
    """The classical O'Brien-Fleming boundaries c/sqrt(t_k), with c chosen so the total crossing chance is alpha."""
    t = [float(x) for x in fractions]

    def excess(c: float) -> float:
        return (1.0 - prob_all_below([c / np.sqrt(x) for x in t], t)) - alpha

    c = float(brentq(excess, 0.5, 10.0, xtol=1e-8))
    return [c / float(np.sqrt(x)) for x in t]


def planned_looks(
    protocol: Protocol, *, final_se: float | None = None, final_events: float | None = None
) -> list[dict[str, Any]]:
    """The protocol's planned looks before enrolment: month, information fraction (calendar months / the last
    look's), boundary and two-sided p, and what each look needs: events (a share of `final_events`, default the
    protocol's planned events), the primary estimate's SE (`final_se` / √fraction, default the planned final SE)
    and the smallest estimate that crosses there (boundary × that SE)."""
    a = protocol.analysis
    looks = sorted(a.looks_months)
    if not looks:
        return []
    final_se = a.planned_final_se if final_se is None else final_se
    final_events = a.planned_events if final_events is None else final_events
    fractions = [m / looks[-1] for m in looks]
    out = []
    for month, bound in zip(looks, boundaries(fractions, one_sided_alpha(protocol), a.spending), strict=True):
        se = None if final_se is None else final_se / float(np.sqrt(bound.information_fraction))
        out.append({
            "look": bound.look, "month": month, "information_fraction": bound.information_fraction,
            "z_boundary": bound.z, "p_boundary_two_sided": min(1.0, bound.p_one_sided * a.sided),
            "alpha_spent": bound.alpha_spent,
            "events": None if final_events is None else final_events * bound.information_fraction,
            "se": se, "smallest_crossing": None if se is None else bound.z * se,
        })  # fmt: skip
    return out


def one_sided_alpha(protocol: Protocol) -> float:
    """The alpha per side that the boundaries spend: alpha/2 for a two-sided protocol."""
    return protocol.analysis.alpha / protocol.analysis.sided


def _add_months(start: date, months: int) -> date:
    """The same day of the month `months` later, clipped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def months_between(start: date, end: date) -> float:
    """Calendar months from start to end: whole months, plus the remaining days as a share of the next month."""
    if end < start:
        return -months_between(end, start)
    whole = (end.year - start.year) * 12 + (end.month - start.month)
    if _add_months(start, whole) > end:
        whole -= 1
    anchor = _add_months(start, whole)
    span = (_add_months(start, whole + 1) - anchor).days
    return whole + (end - anchor).days / span


def information_fraction(protocol: Protocol, *, events: int | None = None, se: float | None = None) -> float | None:
    """The information of an interim look as the protocol measures it; None for calendar time (see `look_for`).

    Events: observed events of the primary test / `analysis.planned_events`. Variance: (planned final SE / observed
    SE)², the SE on the scale of the primary test (days, or the log hazard ratio). Both are capped at 1.
    """
    a = protocol.analysis
    if a.information == "events" and a.planned_events and events is not None:
        return min(events / a.planned_events, 1.0)
    if a.information == "variance" and a.planned_final_se and se:
        return min((a.planned_final_se / se) ** 2, 1.0)
    return None


def decide(z: float | None, z_boundary: float | None, sided: int, final: bool) -> tuple[bool | None, str]:
    """Whether a look's z crossed its boundary and what the look decides (benefit positive).

    Crossing for benefit: z ≥ b; two-sided, for harm: z ≤ −b. A final look decides "final" whatever z is; before
    the first planned look (no boundary) and without a z nothing is crossed and the trial continues.
    """
    if z is None or z_boundary is None:
        return (None if z_boundary is not None else False), "final" if final else "continue"
    benefit = z >= z_boundary
    harm = sided == 2 and z <= -z_boundary
    if final:
        return benefit or harm, "final"
    return benefit or harm, "stop_for_benefit" if benefit else "stop_for_harm" if harm else "continue"


def repeated_interval(
    estimate: float | None, se: float | None, z_boundary: float | None, *, log: bool = False
) -> tuple[float, float] | None:
    """estimate ± z_boundary × se; for a ratio on the log scale (`log`), exponentiated back. None when undefined."""
    if estimate is None or se is None or z_boundary is None or not np.isfinite(z_boundary) or not se > 0:
        return None
    if log:
        if not estimate > 0:
            return None
        centre = float(np.log(estimate))
        return float(np.exp(centre - z_boundary * se)), float(np.exp(centre + z_boundary * se))
    return estimate - z_boundary * se, estimate + z_boundary * se


def look_for(
    protocol: Protocol, first_randomised: date, as_of: date, *, fraction: float | None = None
) -> dict[str, Any]:
    """Which planned look a data cut is, its information fraction and the boundary that applies.

    The look is the last planned month reached since the first randomisation. Its information is `fraction` when
    given (events or variance, `information_fraction`), else calendar time: months since the first randomisation /
    the last planned look's month (capped at 1). Earlier looks keep their planned fractions; Lan-DeMets spending
    allows the current look to fall later than planned; a final look spends what is left. With no planned looks the
    analysis is a single final one at full alpha.
    """
    a = protocol.analysis
    alpha_side = one_sided_alpha(protocol)
    months = months_between(first_randomised, as_of)
    looks = sorted(a.looks_months)
    by_calendar = min(months / looks[-1], 1.0) if looks else 1.0
    measured = by_calendar if fraction is None else min(max(float(fraction), 0.0), 1.0)
    base: dict[str, Any] = {
        "spending": a.spending,
        "alpha": a.alpha,
        "sided": a.sided,
        "alpha_per_side": alpha_side,
        "planned_months": looks,
        "first_randomised": first_randomised.isoformat(),
        "as_of": as_of.isoformat(),
        "months_since_first_randomised": round(months, 3),
    }
    if not looks:
        z = float(norm.isf(alpha_side))
        return {
            **base,
            "look": 1,
            "of": 1,
            "final": True,
            "information_fraction": 1.0,
            "z_boundary": z,
            "p_boundary_one_sided": alpha_side,
            "p_boundary_two_sided": alpha_side * a.sided,
            "alpha_spent": alpha_side,
            "boundaries": [],
            "note_en": "No interim looks planned: a single final analysis at the full alpha.",
            "note_da": "Ingen planlagte mellemanalyser: én endelig analyse med fuld alpha.",
        }
    reached = [m for m in looks if _add_months(first_randomised, m) <= as_of]
    if not reached:
        return {
            **base,
            "look": 0,
            "of": len(looks),
            "final": False,
            "information_fraction": round(measured, 4),
            "z_boundary": None,
            "p_boundary_one_sided": None,
            "p_boundary_two_sided": None,
            "alpha_spent": 0.0,
            "boundaries": [],
            "note_en": f"Before the first planned look ({looks[0]} months): no formal test; figures are descriptive.",
            "note_da": f"Før første planlagte analyse ({looks[0]} måneder): ingen formel test; tallene er beskrivende.",
        }
    k = len(reached)
    final = k == len(looks)
    current = 1.0 if final else measured
    planned = [m / looks[-1] for m in looks[: k - 1]]
    # A late look can overtake a later planned fraction, and little information can fall below an earlier planned
    # one; keep fractions strictly increasing and positive.
    current = max(current, planned[-1] + 1e-6) if planned else max(current, 1e-6)
    if not final:
        current = min(current, 1.0)
    bounds = boundaries([*planned, current], alpha_side, a.spending)
    now = bounds[-1]
    p_two = min(1.0, now.p_one_sided * a.sided)
    kind_en = "final analysis" if final else "interim look"
    kind_da = "endelig analyse" if final else "mellemanalyse"
    return {
        **base,
        "look": k,
        "of": len(looks),
        "final": final,
        "information_fraction": round(current, 4),
        "z_boundary": now.z,
        "p_boundary_one_sided": now.p_one_sided,
        "p_boundary_two_sided": p_two,
        "alpha_spent": now.alpha_spent,
        "boundaries": [asdict(b) for b in bounds],
        "note_en": (
            f"Look {k} of {len(looks)} ({kind_en}, {looks[k - 1]} months): the effect is significant only if "
            f"|z| ≥ {now.z:.3f} (two-sided p ≤ {p_two:.4f}), {a.spending} spending."
        ),
        "note_da": (
            f"Analyse {k} af {len(looks)} ({kind_da}, {looks[k - 1]} måneder): effekten er kun signifikant hvis "
            f"|z| ≥ {now.z:.3f} (tosidet p ≤ {p_two:.4f}), {a.spending}-forbrug af alpha."
        ),
    }
