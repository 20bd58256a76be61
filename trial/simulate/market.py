"""The two-stage job market: job seekers in each cluster compete for its postings, and treatment can displace others.

A market cell is a cluster × education group (LVU or other) × field: the seekers who compete for the same postings.
Each day a cell receives postings, each with one hire; the day's expected hires follow a matching function of the
cell's total search effectiveness E (the sum of its seekers' daily job hazards),

    hires(E) = Ē · (1 − exp(−x·E/Ē)) / (1 − exp(−x)),

calibrated so that at the effectiveness Ē of the market without the trial (a 29-day moving average of a reference
run, per cell) each seeker's chance is their own duration-model hazard. Each seeker gets the share of the hires
their effectiveness earns: daily hazard θ·e with θ = hires(E)/E (mean field: the capacity binds in expectation).
Treatment raises the treated's effectiveness from their consultant meeting on, by the factor that would save them
`effect_days` days to a job in a market without competition. The tightness x sets the displacement D: at Ē the
market's hires grow by the share 1 − D of extra effort, x/(eˣ − 1) = 1 − D, so a share D of the treated's gain comes
from postings that other seekers of the cell would have filled. D = 0 is no congestion (θ = 1 always); D = 1 fixes
the hires, so every extra hire of the treated is taken from someone else.

Each seeker's job comes when their accumulated hazard Σ θ·e passes an exponential threshold drawn once (with θ = 1
this is exactly the Weibull duration model of `spells.py`); education and other exits are drawn once too. The same
draws serve every world — common random numbers — so truth.json holds each estimand as the mean difference between
the world without anyone treated and the world with the design's assignment.

What the treated were shown can drive the effect instead of a fixed factor (`trial.simulate.shown`): each serving
policy's lists, valued by the market's own utility with one hire per posting, set each treated person's boost, and
`policy_worlds` runs the market once per policy on the same draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from trial.simulate.spells import (
    RETURN_GAP_DAYS,
    RETURN_GAP_P,
    RETURN_LENGTH_DAYS,
    RETURN_LENGTH_SCALE,
    RETURN_LENGTH_SHAPE,
    SpellModel,
    effect_factor,
    employment_scale,
)

SMOOTHING_DAYS = 29


def tightness(displacement: float) -> float:
    """The matching function's x for a displacement share D: x/(eˣ − 1) = 1 − D (0 for D = 0, ∞ for D = 1)."""
    if not 0 <= displacement <= 1:
        raise ValueError(f"displacement must be a share between 0 and 1; got {displacement:g}")
    if displacement == 0:
        return 0.0
    if displacement == 1:
        return math.inf
    return float(brentq(lambda x: x / math.expm1(x) - (1 - displacement), 1e-12, 700.0))


@dataclass(frozen=True)
class MarketModel:
    """Parameters of the market: displacement, how much clusters differ, the individual duration model."""

    displacement: float = 0.5
    cluster_sd: float = 0.25  # sd of the log job-finding rate between clusters: local labour markets differ
    effect_days: float = 10.0  # days to a job saved by a treated person who met, without competition
    uptake: float = 0.7  # share of the enrolled who meet a consultant using the recommendations
    spells: SpellModel = field(default_factory=SpellModel)

    @property
    def tightness(self) -> float:
        return tightness(self.displacement)


@dataclass(frozen=True)
class Seekers:
    """Everyone in the market, one entry per person: when they start, their cell, and the draws every world shares."""

    origin: np.ndarray  # day (from day 0) the person enters the market: their first extract
    cell: np.ndarray  # market cell code
    scale: np.ndarray  # Weibull scale of the time to a job (days), frailty and cluster strength included
    threshold: np.ndarray  # the accumulated job hazard at which the job comes: Exp(1)
    competing_day: np.ndarray  # duration (whole days) at which education or another exit ends the spell
    competing_exit: np.ndarray  # 'education' or 'other'
    boost: np.ndarray  # factor on the job hazard once treated and met (1 for everyone else)
    boost_from: np.ndarray  # duration from which the boost applies (the meeting), a large number if never

    def __len__(self) -> int:
        return len(self.origin)


@dataclass(frozen=True)
class World:
    """One run of the market: each person's duration (whole days to the end of the spell) and exit."""

    duration: np.ndarray  # np.inf where the spell outlasts the simulated days
    exit: np.ndarray
    effectiveness: np.ndarray  # (days, cells): the cells' total search effectiveness each day


class JobMarket:
    """The market cells of a set of seekers, run day by day under a shape of the duration model."""

    def __init__(self, seekers: Seekers, shape: float, days: int, tightness_x: float) -> None:
        self.seekers = seekers
        self.shape = shape
        self.days = days
        self.x = tightness_x
        self.cells = int(seekers.cell.max()) + 1 if len(seekers) else 0

    def run(self, *, treated: bool, reference: np.ndarray | None) -> World:
        """One world: everyone from their origin, the treated boosted if `treated`; hires shared by the matching
        function around the smoothed `reference` effectiveness (None: every seeker keeps their own hazard)."""
        s = self.seekers
        n = len(s)
        accumulated = np.zeros(n)
        duration = np.full(n, np.inf)
        exits = np.full(n, "", dtype=object)
        done = np.zeros(n, dtype=bool)
        order = np.argsort(s.origin, kind="stable")
        starts = np.searchsorted(s.origin[order], np.arange(self.days + 1))
        active = np.zeros(0, dtype=np.int64)
        totals = np.zeros((self.days, self.cells))
        for day in range(self.days):
            active = np.concatenate([active[~done[active]], order[starts[day] : starts[day + 1]]])
            t = day - s.origin[active]
            gone = s.competing_day[active] <= t + 1
            hazard = ((t + 1) / s.scale[active]) ** self.shape - (t / s.scale[active]) ** self.shape
            if treated:
                hazard = hazard * np.where(t >= s.boost_from[active], s.boost[active], 1.0)
            cells = s.cell[active]
            total = np.bincount(cells, weights=hazard, minlength=self.cells)
            totals[day] = total
            theta = self.day(total, None if reference is None else reference[day])
            accumulated[active] += theta[cells] * hazard
            hired = ~gone & (accumulated[active] >= s.threshold[active])
            ended = active[gone | hired]
            duration[ended] = (t[gone | hired] + 1).astype(float)
            exits[active[gone]] = s.competing_exit[active[gone]]
            exits[active[hired]] = "employment"
            done[ended] = True
        return World(duration, exits, totals)

    def day(self, total: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
        """θ per cell: the day's expected hires hires(E) over the effectiveness E that competes for them."""
        if reference is None or self.x == 0:
            return np.ones_like(total)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(reference > 0, total / reference, 1.0)
            if math.isinf(self.x):
                hires = reference
            else:
                hires = reference * -np.expm1(-self.x * ratio) / -math.expm1(-self.x)
            theta = np.where((total > 0) & (reference > 0), hires / total, 1.0)
        return theta


def smoothed(totals: np.ndarray, window: int = SMOOTHING_DAYS) -> np.ndarray:
    """A centred moving average over days of each cell's effectiveness: the market's level without noise."""
    padded = np.concatenate([np.zeros((1, totals.shape[1])), np.cumsum(totals, axis=0)])
    half = window // 2
    days = np.arange(len(totals))
    low, high = np.maximum(days - half, 0), np.minimum(days + half + 1, len(totals))
    return (padded[high] - padded[low]) / (high - low)[:, None]


def make_seekers(
    rng: np.random.Generator,
    people: pd.DataFrame,
    arms: pd.Series,
    *,
    first_day: pd.Timestamp,
    treatment_arm: str,
    horizon: int,
    model: MarketModel,
) -> tuple[Seekers, dict[str, np.ndarray]]:
    """Seekers from the claimants (cpr, extract_on, jobcenter_unit and the duration model's columns).

    Every draw is made for every person in order, whatever their arm; returns also the per-person facts the spells
    and meetings need (arm, met, meeting delay, return draws).
    """
    n = len(people)
    spell = model.spells
    origin_date = pd.to_datetime(people["extract_on"]).reset_index(drop=True)
    cluster_codes, clusters = pd.factorize(people["jobcenter_unit"].astype(str), sort=True)
    strength = np.exp(model.cluster_sd * rng.standard_normal(len(clusters)))
    scale = employment_scale(people.reset_index(drop=True), origin_date, spell)
    scale = scale * np.exp(spell.frailty_sd * rng.standard_normal(n)) / strength[cluster_codes] ** (1 / spell.shape)
    threshold = -np.log(rng.random(n))
    education = rng.exponential(1 / spell.education_rate, n)
    other = rng.exponential(1 / spell.other_rate, n)
    met_draw = rng.random(n)
    met_delay = rng.integers(0, 8, size=n)
    return_draw = rng.random(n)
    return_gap = RETURN_GAP_DAYS + rng.geometric(RETURN_GAP_P, size=n)
    return_length = RETURN_LENGTH_DAYS + np.round(rng.gamma(RETURN_LENGTH_SHAPE, RETURN_LENGTH_SCALE, size=n))
    arm = people["cpr"].map(arms).fillna("").to_numpy()
    met = (arm != "") & (met_draw < model.uptake)
    treated = met & (arm == treatment_arm)
    boost = np.ones(n)
    if treated.any() and model.effect_days > 0:
        boost[treated] = effect_factor(scale[treated], spell.shape, horizon, model.effect_days) ** -spell.shape
    group = np.where(people["education_level"].to_numpy() == "LVU", "LVU", "other")
    cell = pd.factorize(pd.Series(cluster_codes).astype(str) + "|" + group + "|"
                        + people["education_field"].astype(str).to_numpy())[0]
    seekers = Seekers(
        origin=((origin_date - first_day).dt.days).to_numpy(),
        cell=cell,
        scale=scale,
        threshold=threshold,
        competing_day=np.maximum(1, np.ceil(np.minimum(education, other))).astype(int),
        competing_exit=np.where(education < other, "education", "other").astype(object),
        boost=boost,
        boost_from=np.where(treated, met_delay, np.iinfo(np.int32).max),
    )
    facts = {"arm": arm, "met": met, "met_delay": met_delay, "return_draw": return_draw, "return_gap": return_gap,
             "return_length": return_length.astype(int)}
    return seekers, facts


@dataclass(frozen=True)
class MarketRun:
    """The worlds of one simulated two-stage trial: nobody treated, and the design's assignment."""

    untreated: World
    assigned: World
    tightness: float


def run_worlds(seekers: Seekers, model: MarketModel, days: int) -> MarketRun:
    """The reference run fixes each cell's postings; then the world without treatment and the assigned one."""
    market = JobMarket(seekers, model.spells.shape, days, model.tightness)
    reference = smoothed(market.run(treated=False, reference=None).effectiveness)
    return MarketRun(
        untreated=market.run(treated=False, reference=reference),
        assigned=market.run(treated=True, reference=reference),
        tightness=model.tightness,
    )


def policy_worlds(seekers: Seekers, boosts_of: Callable[[World], dict[str, np.ndarray]], model: MarketModel,
                  days: int) -> tuple[World, dict[str, World]]:
    """The world without treatment and one world per serving policy, in which each treated person's job hazard is
    raised by that policy's boost (`boosts_of` the untreated world: who is still on benefit at their meeting) from
    their meeting on; every world has the same draws (common random numbers) and the same postings per cell (the
    reference run's), so differences between them are the policies' doing.
    """
    market = JobMarket(seekers, model.spells.shape, days, model.tightness)
    reference = smoothed(market.run(treated=False, reference=None).effectiveness)
    untreated = market.run(treated=False, reference=reference)
    worlds = {}
    for name, boost in boosts_of(untreated).items():
        served = JobMarket(replace(seekers, boost=boost), model.spells.shape, days, model.tightness)
        worlds[name] = served.run(treated=True, reference=reference)
    return untreated, worlds


def days_saved(arm: np.ndarray, treatment_arm: str, untreated: World, world: World, horizon: int
               ) -> dict[str, float | None]:  # fmt: skip
    """Days on benefit to the horizon saved by a world against the one without treatment: per treatment-arm member
    (the intention-to-treat effect), per control-arm member (negative: jobs taken from them) and, net of everyone's
    loss in the market, per treatment-arm member.
    """
    saved = np.minimum(untreated.duration, horizon) - np.minimum(world.duration, horizon)
    treatment = arm == treatment_arm
    control = (arm != "") & ~treatment
    return {
        "treatment_arm": float(saved[treatment].mean()) if treatment.any() else None,
        "control_arm": float(saved[control].mean()) if control.any() else None,
        "net_per_treatment_arm_member": float(saved.sum() / treatment.sum()) if treatment.any() else None,
    }


def spells_of(people: pd.DataFrame, world: World, facts: dict[str, np.ndarray], data_cut: pd.Timestamp
              ) -> pd.DataFrame:  # fmt: skip
    """The registry's benefit spells of the assigned world: the index spell and, after a tenth of the jobs, a return."""
    origin = pd.to_datetime(people["extract_on"]).reset_index(drop=True)
    ended = np.isfinite(world.duration)
    end = origin + pd.to_timedelta(np.where(ended, world.duration, 0), unit="D")
    end = end.where(ended)
    index = pd.DataFrame({"cpr": people["cpr"].to_numpy(), "start": pd.to_datetime(people["registered_on"]).to_numpy(),
                          "end": end, "exit": world.exit})
    back = ended & (world.exit == "employment") & (facts["return_draw"] < SpellModel().return_share)
    start_again = end + pd.to_timedelta(facts["return_gap"], unit="D")
    returns = pd.DataFrame({"cpr": people["cpr"].to_numpy(), "start": start_again,
                            "end": start_again + pd.to_timedelta(facts["return_length"], unit="D"),
                            "exit": "employment"})[back]
    spells = pd.concat([index, returns], ignore_index=True)
    spells = spells[spells["start"] <= data_cut].copy()
    still_open = spells["end"].isna() | (spells["end"] > data_cut)
    spells["end"] = spells["end"].dt.strftime("%Y-%m-%d").where(~still_open, "")
    spells["exit"] = spells["exit"].where(~still_open, "")
    spells["start"] = spells["start"].dt.strftime("%Y-%m-%d")
    return spells.sort_values(["cpr", "start"], kind="stable").reset_index(drop=True)


def estimand_truth(
    persons: pd.DataFrame, treatment_arm: str, horizon: int, *, randomised_by: pd.Timestamp | None = None
) -> dict[str, object]:
    """Each estimand's true value: mean days on benefit to the horizon without anyone treated minus as assigned.

    `persons` has arm, saturation, origin and the two worlds' durations (duration_untreated, duration_assigned) of
    everyone enrolled. total_s and spillover_s average over the treated and the untreated of level s, net_s over
    both; direct_s = total_s − spillover_s. Pooled values weight the levels by their people, as the analysis does.
    """
    chosen = persons[persons["arm"] != ""]
    if randomised_by is not None:
        chosen = chosen[pd.to_datetime(chosen["origin"]) <= randomised_by]
    saved = (np.minimum(chosen["duration_untreated"], horizon) - np.minimum(chosen["duration_assigned"], horizon))
    treated = (chosen["arm"] == treatment_arm).to_numpy()
    level = chosen["saturation"].to_numpy()
    levels = sorted(s for s in set(level) if s > 0)
    by: dict[str, dict[str, float | None]] = {}
    people: dict[float, int] = {}
    for s in levels:
        at = level == s
        people[s] = int(at.sum())
        total = float(saved[at & treated].mean()) if (at & treated).any() else None
        spill = float(saved[at & ~treated].mean()) if (at & ~treated).any() and s < 1 else None
        by[f"{float(s)}"] = {
            "total_on_treated": total,
            "spillover_on_untreated": spill,
            "direct": None if total is None or spill is None else total - spill,
            "net_per_person": float(saved[at].mean()) if at.any() else None,
            "treated": int((at & treated).sum()),
            "untreated": int((at & ~treated).sum()),
        }
    pooled: dict[str, float | None] = {}
    for name in ("direct", "total_on_treated", "spillover_on_untreated", "net_per_person"):
        values = {s: by[f"{float(s)}"][name] for s in levels if by[f"{float(s)}"][name] is not None}
        weight = sum(people[s] for s in values)
        pooled[name] = sum(v * people[s] / weight for s, v in values.items()) if values else None
    lost = sum(-(by[f"{float(s)}"]["spillover_on_untreated"] or 0.0) * by[f"{float(s)}"]["untreated"]
               for s in levels if s < 1)
    gained = sum((by[f"{float(s)}"]["total_on_treated"] or 0.0) * by[f"{float(s)}"]["treated"] for s in levels if s < 1)
    return {
        **pooled,
        "by_saturation": by,
        "displaced_share": lost / gained if gained else None,
        "enrolled": len(chosen),
        "pure_control": int((level == 0).sum()),
    }


@dataclass(frozen=True)
class MarketTrial:
    """A simulated two-stage trial: registry spells and meetings of the assigned world, and each person's two worlds."""

    spells: pd.DataFrame  # cpr, start, end, exit (text dates; end and exit empty while open at the cut)
    meetings: pd.DataFrame  # cpr, met_on (datetime)
    persons: pd.DataFrame  # arm, origin, saturation, duration_untreated, duration_assigned (for estimand_truth)
    worlds: MarketRun


def market_trial(
    rng: np.random.Generator,
    people: pd.DataFrame,
    arms: pd.Series,
    saturations: dict[str, float],
    model: MarketModel,
    *,
    first_day: pd.Timestamp,
    days: int,
    treatment_arm: str,
    horizon: int,
    data_cut: pd.Timestamp,
) -> MarketTrial:
    """Run the market for claimants (`people`, with extract_on and jobcenter_unit) under the arms `arms` (CPR → arm)
    and the clusters' `saturations`; the spells, meetings and both worlds of everyone."""
    seekers, facts = make_seekers(rng, people, arms, first_day=first_day, treatment_arm=treatment_arm,
                                  horizon=horizon, model=model)
    worlds = run_worlds(seekers, model, days)
    origin = pd.to_datetime(people["extract_on"]).reset_index(drop=True)
    # A meeting a few days after randomisation, or on the day itself if the spell ends before that.
    met_on = origin + pd.to_timedelta(facts["met_delay"], unit="D")
    met_on = met_on.where(worlds.assigned.duration > facts["met_delay"], origin)
    meetings = pd.DataFrame({"cpr": people["cpr"].to_numpy(), "met_on": met_on})[
        facts["met"] & (met_on <= data_cut).to_numpy()
    ].sort_values(["met_on", "cpr"], kind="stable").reset_index(drop=True)
    persons = pd.DataFrame({
        "arm": facts["arm"], "origin": origin,
        "saturation": people["jobcenter_unit"].map(saturations).to_numpy(),
        "duration_untreated": worlds.untreated.duration, "duration_assigned": worlds.assigned.duration,
    })
    return MarketTrial(spells_of(people, worlds.assigned, facts, data_cut), meetings, persons, worlds)
