"""What the treated are shown under each serving policy, and what those lists are worth in the simulated market.

The lists come from the real matcher: the model trained on the simulated hires (uncapped and under caps, allocated
day by day as `trial match recommend` allocates them) and Jobnet's automatch, each citizen served on the day of
their consultant meeting. A list is valued by the market's own utility (`jobs.Utility`, the one hires were drawn
from), never by the model's score: a shown job leads to a hire with chance q = σ((u − U0)/s) if nobody else is
shown it; each job hires one person, so when several treated citizens are shown the same job, the chance that any
of them gets it is 1 − Π(1 − q) and it is shared in proportion to q. A citizen's list is worth the expected hires
it brings (`value`); showing one job to many lowers each one's share — crowding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from matcher.baseline import AutomatchRanker
from matcher.candidates import add_market, collect, generate
from matcher.exposure import Cap, Exposure, Shows, capped_lists, measure, uncapped_lists
from matcher.features import day_numbers
from matcher.model import MatchModel
from matcher.postings import dedupe
from matcher.schema import BASELINE_CANDIDATES, DEFAULT_CANDIDATES, EXPOSURE_WINDOW_DAYS, FEATURE_COLUMN
from trial.simulate.jobs import JobsData, Utility
from trial.simulate.market import MarketModel, World, days_saved, make_seekers, policy_worlds
from trial.simulate.spells import effect_factor

TOP = 10
# A shown job with utility U0 leads to a hire half the time when nobody else is shown it; the slope is the hire
# model's taste-shock scale. U0 sits above the utility of a typical job the model shows (about 4.7), so a posting shown
# to one citizen alone leads to a hire about one time in five.
HIRE_MIDPOINT = 6.0
HIRE_SLOPE = 0.8
RELATIVE_CAP = 1.5  # issue 16's cap: 1.5 × the uncapped model's mean exposure per shown posting


@dataclass(frozen=True)
class ShownLists:
    """One policy's lists: citizen (row of the served), job behind the posting (the market's job number), day."""

    citizen: np.ndarray
    job: np.ndarray
    exposure: Exposure
    alternative_share: float  # shown postings outside the citizen's desired titles


@dataclass(frozen=True)
class Served:
    """The citizens served (person_id, their utility row, meeting day) and each policy's lists for them."""

    people: pd.DataFrame  # person_id, row (into the utility's people), day (datetime)
    lists: dict[str, ShownLists]
    mean_exposure: float  # the uncapped model's citizens per shown posting and window


def serve(model: MatchModel, cvs: pd.DataFrame, postings: pd.DataFrame, people: pd.DataFrame,
          posting_job: pd.Series, *, caps: tuple[int, ...] = (), relative_cap: float | None = RELATIVE_CAP,
          window_days: int = EXPOSURE_WINDOW_DAYS) -> Served:
    """The lists of the model (uncapped and under each of `caps`), of the model under a cap of `relative_cap` × the
    uncapped model's mean exposure per shown posting (rounded), and of the automatch, for `people` (person_id, row,
    day) as the matcher serves them on their day.

    The citizens are each other's market (crowding, tightness features), as in one serving run; capped lists are
    allocated one day at a time in the room the window's earlier days leave (`matcher.exposure.capped_lists`).
    """
    people = people.sort_values(["day", "person_id"], kind="stable").reset_index(drop=True)
    if people.empty:
        return Served(people, {}, 0.0)
    kept, _ = dedupe(postings)
    space = model.space
    post = space.prepare_postings(kept)
    cit = space.prepare_citizens(cvs.set_index("person_id").loc[people["person_id"]].reset_index())
    ref = day_numbers(people["day"])
    k = int(model.meta.get("candidates_k", DEFAULT_CANDIDATES))
    # window_days=0: only the postings open on the citizen's day, as `recommend` serves them.
    pairs = collect(generate(space, cit, post, ref, k=k, k_baseline=BASELINE_CANDIDATES, window_days=0), len(cit),
                    "served")
    add_market(space, pairs, cit, post, ref, window_days=0)
    scores = {"model": model.ranker.score(pairs.features), "automatch": AutomatchRanker().score(pairs.features)}
    person = people["person_id"].to_numpy()
    job = posting_job.reindex(post.frame["posting_id"]).to_numpy()
    open_postings = int(((post.published <= ref.max()) & (post.deadline >= ref.min())).sum())
    outside = pairs.features[:, FEATURE_COLUMN["outside_desired"]] >= 0.5

    def lists_of(ranker: str, cap: Cap | None) -> ShownLists:
        score = scores[ranker]
        if cap is None:
            shown = uncapped_lists(pairs.search, pairs.posting, score, TOP)
        else:
            shown = capped_lists(person, ref, pairs.search, pairs.posting, score, top=TOP, cap=cap,
                                 n_postings=len(post))
        shows = Shows(person[pairs.search[shown]], pairs.posting[shown], ref[pairs.search[shown]])
        return ShownLists(
            citizen=pairs.search[shown], job=job[pairs.posting[shown]].astype(np.int64),
            exposure=measure(shows, open_postings=open_postings, window_days=window_days),
            alternative_share=float(outside[shown].mean()) if shown.any() else 0.0,
        )

    lists = {"model": lists_of("model", None)}
    mean = lists["model"].exposure.mean_per_posting
    wanted = list(caps)
    if relative_cap is not None:
        wanted.append(max(1, round(relative_cap * mean)))
    for cap in sorted(set(wanted)):
        lists[f"model_cap_{cap}"] = lists_of("model", Cap(cap, window_days))
    lists["automatch"] = lists_of("automatch", None)
    return Served(people, lists, mean)


def hire_chance(utility: np.ndarray, midpoint: float = HIRE_MIDPOINT) -> np.ndarray:
    """The chance that a shown job leads to a hire when nobody else is shown it: σ((u − U0)/s), U0 = `midpoint`."""
    return 1.0 / (1.0 + np.exp(-(utility - midpoint) / HIRE_SLOPE))


def value(chance: np.ndarray, citizen: np.ndarray, job: np.ndarray, citizens: int) -> np.ndarray:
    """Expected hires per citizen from the jobs shown: each job's one hire, which any of those shown it may get
    (1 − Π(1 − q)), shared in proportion to their chances.
    """
    if chance.size == 0:
        return np.zeros(citizens)
    jobs, of = np.unique(job, return_inverse=True)
    total = np.bincount(of, weights=chance, minlength=jobs.size)
    nobody = np.exp(np.bincount(of, weights=np.log1p(-chance), minlength=jobs.size))
    share = chance * (1.0 - nobody)[of] / total[of]
    return np.bincount(citizen, weights=share, minlength=citizens)


@dataclass(frozen=True)
class ListValue:
    """What a policy's lists are worth: expected hires per citizen with and without crowding, and their sources."""

    hires: np.ndarray  # per citizen served: expected hires from the list, crowding included
    uncrowded: np.ndarray  # the same if nobody else were shown the citizen's postings: Σ q
    mean_utility: float  # the market's utility of the shown jobs, on average
    mean_crowding: float  # treated citizens shown the same job, on average over slots


def list_value(utility: Utility, served: Served, name: str, midpoint: float = HIRE_MIDPOINT) -> ListValue:
    """The market's value of policy `name`'s lists for the citizens served (`hire_chance` with `midpoint`)."""
    shown = served.lists[name]
    rows = served.people["row"].to_numpy()[shown.citizen]
    u = utility.value(rows, shown.job)
    chance = hire_chance(u, midpoint)
    n = len(served.people)
    per_job = np.bincount(shown.job, minlength=int(shown.job.max()) + 1 if shown.job.size else 0)
    return ListValue(
        hires=value(chance, shown.citizen, shown.job, n),
        uncrowded=np.bincount(shown.citizen, weights=chance, minlength=n),
        mean_utility=float(u.mean()) if u.size else 0.0,
        mean_crowding=float(per_job[shown.job].mean()) if shown.job.size else 0.0,
    )


def policy_truth(rng: np.random.Generator, people: pd.DataFrame, arms: pd.Series, person_id: pd.Series,
                 jobs: JobsData, model: MatchModel, cvs: pd.DataFrame, postings: pd.DataFrame, *,
                 market: MarketModel, first_day: pd.Timestamp, days: int, horizon: int, treatment_arm: str,
                 caps: tuple[int, ...] = (), window_days: int = EXPOSURE_WINDOW_DAYS,
                 hire_midpoint: float = HIRE_MIDPOINT) -> dict[str, object]:
    """The true effect of each serving policy when the effect runs through what was shown.

    The claimants (`people`, their pseudonyms `person_id`) enter the market of `trial.simulate.market`; the treated
    who meet a consultant while still on benefit are served each policy's lists (`serve`, the matcher `model` on the
    pseudonymised `cvs` and `postings`); a treated person's boost saves `market.effect_days` × (their list's expected
    hires, crowding included) / (the uncapped model's mean expected hires without crowding) days to a job in a market
    without competition. So `effect_days` is what the uncapped model's lists would save if nobody else were shown the
    same postings; crowding, a cap and a weaker ranker move each policy away from it. A lower `hire_midpoint`
    makes each shown posting likelier to hire, so crowding bites harder (and a cap is worth more).
    """
    if jobs.utility is None or jobs.posting_job is None:
        raise ValueError("the job market's utility is needed to value what was shown")
    utility, posting_job = jobs.utility, jobs.posting_job
    seekers, facts = make_seekers(rng, people, arms, first_day=first_day, treatment_arm=treatment_arm,
                                  horizon=horizon, model=market)
    delay = facts["met_delay"]
    row = people["cpr"].astype(str).map(pd.Series(np.arange(len(jobs.cvs)), index=jobs.cvs["cpr"].to_numpy()))
    treated = facts["met"] & (facts["arm"] == treatment_arm) & row.notna().to_numpy() & (seekers.origin + delay < days)
    found: dict[str, dict[str, object]] = {}
    runs: list[Served] = []  # the one serving run, kept for the truth's counts

    def boosts_of(untreated: World) -> dict[str, np.ndarray]:
        # Only those still on benefit at their meeting are served (and take up room under a cap).
        who = np.flatnonzero(treated & (untreated.duration > delay))
        origin = pd.to_datetime(people["extract_on"]).to_numpy()[who]
        served_people = pd.DataFrame({"person_id": person_id.to_numpy()[who], "row": row.to_numpy()[who].astype(int),
                                      "day": origin + delay[who].astype("timedelta64[D]"), "seeker": who})
        served = serve(model, cvs, postings, served_people, posting_job, caps=caps, window_days=window_days)
        values = {name: list_value(utility, served, name, hire_midpoint) for name in served.lists}
        reference = float(values["model"].uncrowded.mean()) if len(served.people) else 0.0
        seeker = served.people["seeker"].to_numpy()
        boosts = {}
        for name, worth in values.items():
            saved_days = market.effect_days * worth.hires / reference if reference > 0 else np.zeros(seeker.size)
            boost = np.ones(len(seekers))
            gets = saved_days > 0
            factor = effect_factor(seekers.scale[seeker[gets]], market.spells.shape, horizon, saved_days[gets])
            boost[seeker[gets]] = factor ** -market.spells.shape
            boosts[name] = boost
            found[name] = {
                "exposure": served.lists[name].exposure.to_dict(),
                "alternative_share": served.lists[name].alternative_share,
                "mean_utility": worth.mean_utility,
                "mean_crowding": worth.mean_crowding,
                "expected_hires_per_served": float(worth.hires.mean()) if worth.hires.size else 0.0,
                "expected_hires_without_crowding": float(worth.uncrowded.mean()) if worth.uncrowded.size else 0.0,
                "days_to_job_saved_without_competition": float(saved_days.mean()) if saved_days.size else 0.0,
            }
        runs.append(served)
        return boosts

    untreated, worlds = policy_worlds(seekers, boosts_of, market, days)
    arm = facts["arm"]
    policies = {name: {"days_on_benefit_saved": days_saved(arm, treatment_arm, untreated, world, horizon),
                       **found[name]} for name, world in worlds.items()}
    return {
        "served": len(runs[0].people),
        "uncapped_mean_exposure": runs[0].mean_exposure,
        "displacement": market.displacement,
        "effect_days": market.effect_days,
        "hire_midpoint": hire_midpoint,
        "window_days": window_days,
        "protocol_caps": list(caps),
        "relative_cap": RELATIVE_CAP,
        "policies": policies,
        "notes": ["each policy's days on benefit saved: mean days on benefit to the horizon in the world without "
                  "treatment minus the world where the treated who met were served that policy's lists (common "
                  "random numbers); a list's worth is its expected hires under the market's own utility, one hire "
                  "per posting shared among those shown it"],
    }
