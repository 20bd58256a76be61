"""Simulated benefit spells with a known treatment effect, and the consultant meetings that carry it.

Each person has independent latent times to employment (Weibull, scale by field, age, benefit and a frailty) and
to a competing exit (education or other, exponential). For treatment-arm members who met a consultant using the
recommendations, the time to employment is shrunk by a scale factor solved so that its expected value restricted
to the horizon falls by exactly D days; `truth` reports the resulting intention-to-treat effect on each estimand of
the analysis: time to employment with other exits removed (days saved), days in the index spell to the horizon
(days on benefit saved: faster jobs pre-empt exits to education), and days on any benefit spell in each window
after randomisation (returns to benefit counted).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from scipy.special import gamma as gamma_function
from scipy.special import gammainc
from scipy.stats import gamma as gamma_distribution

from trial.simulate.claimants import FIELDS


@dataclass(frozen=True)
class SpellModel:
    """Parameters of the duration model; defaults give young academics a median spell of about ten weeks."""

    shape: float = 1.25  # Weibull shape of the latent time to employment (rising hazard after registration)
    scale_days: float = 90.0  # scale for a 28-year-old LVU dagpenge recipient in social science
    frailty_sd: float = 0.55  # log-normal heterogeneity between people: the long tail past 26 weeks
    field_factor: dict[str, float] = field(
        default_factory=lambda: {
            "humaniora": 1.35,
            "samfundsvidenskab": 1.0,
            "naturvidenskab": 1.05,
            "teknisk": 0.8,
            "sundhed": 0.75,
            "erhvervsøkonomi": 0.9,
        }
    )
    age_slope: float = 0.015  # log scale per year of age above 28
    kontanthjaelp_factor: float = 2.6
    other_level_factor: float = 1.1
    late_registration_factor: float = 1.25  # people already registered for a month or more at the extract
    education_rate: float = 0.0015  # per day: leaving benefit to study
    other_rate: float = 0.0011  # per day: sickness, moving away, leaving the labour force
    previous_spell_share: float = 0.2
    return_share: float = 0.1  # of exits to employment: back on benefit after a short job

    @property
    def competing_rate(self) -> float:
        """Daily rate of all exits other than employment."""
        return self.education_rate + self.other_rate


# A return to benefit starts 20 + Geometric(1/120) days after the index spell ends and lasts 10 + round(Gamma) days.
RETURN_GAP_DAYS, RETURN_GAP_P = 20, 1 / 120
RETURN_LENGTH_DAYS, RETURN_LENGTH_SHAPE, RETURN_LENGTH_SCALE = 10, 1.6, 45.0


@dataclass
class SpellsData:
    """The simulated registry extract, the meetings file and the true effect."""

    spells: pd.DataFrame  # cpr, start, end, exit (end and exit empty while open at the data cut)
    meetings: pd.DataFrame  # cpr, met_on
    truth: dict[str, object]
    persons: pd.DataFrame  # one row per person: cpr, origin, arm, met, time, exit, effect_days (for checks)


def restricted_mean_days(scale: np.ndarray, shape: float, horizon: int, rate: float = 0.0) -> np.ndarray:
    """E[min(T, h)] for T in whole days (T = ceil of a Weibull time), i.e. the sum of S(j) for j < h.

    With `rate`, T is the first of the Weibull time and an exponential one (all exits): the days in the spell.
    """
    days = np.arange(horizon, dtype=float)
    return np.exp(-((days[None, :] / scale[:, None]) ** shape) - rate * days[None, :]).sum(axis=1)


def employment_exit_by_day(scale: np.ndarray, shape: float, rate: float, days: int) -> np.ndarray:
    """P(the spell lasts d whole days and ends in a job), d = 1..days, per person (rows).

    ∫ f_E(t) e^(−rate t) dt over (d−1, d] = [S(d−1) − S(d)] − rate ∫ S_E(t) e^(−rate t) dt (by parts; Simpson).
    """
    steps = 8
    grid = np.linspace(0.0, days, days * steps + 1)
    weibull = np.exp(-((grid[None, :] / scale[:, None]) ** shape))
    both = weibull * np.exp(-rate * grid)[None, :]
    simpson = np.array([1.0] + [4.0, 2.0] * (steps // 2 - 1) + [4.0, 1.0]) / (3 * steps)
    windows = both[:, : days * steps].reshape(len(scale), days, steps)
    ends = both[:, steps::steps][:, :, None]
    integral = (np.concatenate([windows, ends], axis=2) * simpson).sum(axis=2)
    return (both[:, 0:-1:steps] - both[:, steps::steps]) - rate * integral


def return_days_in_window(window: int) -> np.ndarray:
    """Expected days of a return spell inside [0, window) when the index spell lasted d days, d = 1..window."""
    tail = np.arange(window, dtype=float)
    # P(length > j): 1 below the fixed part, then the gamma's survival at the rounding boundary.
    longer = np.where(
        tail < RETURN_LENGTH_DAYS,
        1.0,
        gamma_distribution.sf(tail - RETURN_LENGTH_DAYS + 0.5, RETURN_LENGTH_SHAPE, scale=RETURN_LENGTH_SCALE),
    )
    within = np.concatenate([[0.0], np.cumsum(longer)])  # E[min(length, m)] for m = 0..window
    gap = RETURN_GAP_DAYS + np.arange(1, window + 1)
    gap_p = (1 - RETURN_GAP_P) ** (gap - RETURN_GAP_DAYS - 1) * RETURN_GAP_P
    room = window - np.arange(1, window + 1)[:, None] - gap[None, :]
    return (within[np.clip(room, 0, window)] * gap_p[None, :]).sum(axis=1)


def window_mean_days(scale: np.ndarray, model: SpellModel, window: int) -> np.ndarray:
    """Expected days on any benefit spell in [0, window) after randomisation: the index spell plus a return."""
    index = restricted_mean_days(scale, model.shape, window, model.competing_rate)
    to_job = employment_exit_by_day(scale, model.shape, model.competing_rate, window)
    return index + model.return_share * to_job @ return_days_in_window(window)


def _restricted_mean_continuous(scale: np.ndarray, shape: float, horizon: float) -> np.ndarray:
    return scale * gamma_function(1 + 1 / shape) * gammainc(1 / shape, (horizon / scale) ** shape)


def effect_factor(scale: np.ndarray, shape: float, horizon: int, days: float) -> np.ndarray:
    """The factor on the time to employment that lowers its restricted mean by `days` (bisection on log scale).

    Someone so quick that `days` cannot be saved gets the smallest factor tried (0.001).
    """
    target = _restricted_mean_continuous(scale, shape, horizon) - days
    low = np.full(len(scale), np.log(1e-3))
    high = np.zeros(len(scale))
    for _ in range(60):
        middle = (low + high) / 2
        too_long = _restricted_mean_continuous(scale * np.exp(middle), shape, horizon) > target
        high = np.where(too_long, middle, high)
        low = np.where(too_long, low, middle)
    return np.exp((low + high) / 2)


def employment_scale(people: pd.DataFrame, origin: pd.Series, model: SpellModel) -> np.ndarray:
    """The Weibull scale (days) of each person's latent time to employment, before frailty."""
    born = pd.to_datetime(people["birth_date"])
    age = ((origin - born).dt.days / 365.25).to_numpy()
    registered_days = (origin - pd.to_datetime(people["registered_on"])).dt.days.to_numpy()
    field_factor = people["education_field"].map(model.field_factor).fillna(1.0).to_numpy()
    log_scale = (
        np.log(model.scale_days)
        + np.log(field_factor)
        + model.age_slope * (age - 28)
        + np.where(age >= 50, np.log(1.3), 0.0)
        + np.where(people["sex"].to_numpy() == "K", np.log(1.03), 0.0)
        + np.where(people["benefit"].to_numpy() == "kontanthjaelp", np.log(model.kontanthjaelp_factor), 0.0)
        + np.where(people["education_level"].to_numpy() != "LVU", np.log(model.other_level_factor), 0.0)
        + np.where(registered_days > 28, np.log(model.late_registration_factor), 0.0)
    )
    return np.exp(log_scale)


def _pick(rng: np.random.Generator, options: list[str], weights: list[float], n: int) -> np.ndarray:
    return np.array(options)[rng.choice(len(options), size=n, p=np.array(weights) / sum(weights))]


def simulate_spells(
    rng: np.random.Generator,
    people: pd.DataFrame,
    arms: pd.Series,
    *,
    treatment_arm: str,
    effect_days: float,
    uptake: float,
    horizon: int,
    data_cut: date,
    model: SpellModel = SpellModel(),
    windows: tuple[int, ...] = (),
) -> SpellsData:
    """Spells for every person (origin = `extract_on`, their first extract) and meetings for the enrolled.

    `arms` maps CPR number to arm for those enrolled; everyone else gets spells without any effect.
    Every random draw is made for every person in order, so the arms change only what the effect touches.
    """
    n = len(people)
    origin = pd.to_datetime(people["extract_on"]).reset_index(drop=True)
    people = people.reset_index(drop=True)
    cut = pd.Timestamp(data_cut)

    scale = employment_scale(people, origin, model) * np.exp(model.frailty_sd * rng.standard_normal(n))
    t_employment = scale * (-np.log(rng.random(n))) ** (1 / model.shape)
    t_education = rng.exponential(1 / model.education_rate, n)
    t_other = rng.exponential(1 / model.other_rate, n)
    met_draw = rng.random(n)
    met_delay = rng.integers(0, 8, size=n)
    previous_draw = rng.random(n)
    previous_gap = 30 + rng.geometric(1 / 300, size=n)
    previous_length = 20 + np.round(rng.gamma(1.5, 50, size=n)).astype(int)
    previous_exit = _pick(rng, ["employment", "education", "other"], [0.8, 0.1, 0.1], n)
    return_draw = rng.random(n)
    return_gap = RETURN_GAP_DAYS + rng.geometric(RETURN_GAP_P, size=n)
    return_length = RETURN_LENGTH_DAYS + np.round(
        rng.gamma(RETURN_LENGTH_SHAPE, RETURN_LENGTH_SCALE, size=n)
    ).astype(int)
    return_exit = _pick(rng, ["employment", "education", "other"], [0.85, 0.05, 0.1], n)

    arm = people["cpr"].map(arms).fillna("").to_numpy()
    enrolled = arm != ""
    met = enrolled & (met_draw < uptake)
    treated = met & (arm == treatment_arm)
    factor = np.ones(n)
    if treated.any():
        factor[treated] = effect_factor(scale[treated], model.shape, horizon, effect_days)
    t_employment_assigned = t_employment * factor

    latent = np.stack([t_employment_assigned, t_education, t_other], axis=1)
    first = latent.argmin(axis=1)
    duration = np.maximum(1, np.ceil(latent.min(axis=1))).astype(int)
    exits = np.array(["employment", "education", "other"])[first]
    end = origin + pd.to_timedelta(duration, unit="D")
    registered = pd.to_datetime(people["registered_on"])

    index = pd.DataFrame({"cpr": people["cpr"], "start": registered, "end": end, "exit": exits})
    age = ((origin - pd.to_datetime(people["birth_date"])).dt.days / 365.25).to_numpy()
    has_previous = previous_draw < np.clip(model.previous_spell_share + 0.01 * (age - 28), 0.05, 0.5)
    previous_end = registered - pd.to_timedelta(previous_gap, unit="D")
    previous = pd.DataFrame(
        {
            "cpr": people["cpr"],
            "start": previous_end - pd.to_timedelta(previous_length, unit="D"),
            "end": previous_end,
            "exit": previous_exit,
        }
    )[has_previous]
    returns = (return_draw < model.return_share) & (exits == "employment")
    return_start = end + pd.to_timedelta(return_gap, unit="D")
    later = pd.DataFrame(
        {
            "cpr": people["cpr"],
            "start": return_start,
            "end": return_start + pd.to_timedelta(return_length, unit="D"),
            "exit": return_exit,
        }
    )[returns]
    spells = pd.concat([previous, index, later], ignore_index=True)
    spells = spells[spells["start"] <= cut].copy()
    still_open = spells["end"] > cut
    spells["end"] = spells["end"].dt.strftime("%Y-%m-%d").where(~still_open, "")
    spells["exit"] = spells["exit"].where(~still_open, "")
    spells["start"] = spells["start"].dt.strftime("%Y-%m-%d")
    spells = spells.sort_values(["cpr", "start"], kind="stable").reset_index(drop=True)

    # A meeting a few days after randomisation, or on the day itself if the person leaves benefit before that.
    met_on = origin + pd.to_timedelta(met_delay, unit="D")
    met_on = met_on.where(met_on < end, origin)
    meetings = pd.DataFrame({"cpr": people["cpr"], "met_on": met_on})[met & (met_on <= cut).to_numpy()]
    meetings = meetings.sort_values(["met_on", "cpr"], kind="stable").reset_index(drop=True)
    meetings["met_on"] = meetings["met_on"].dt.strftime("%Y-%m-%d")

    # The truth: each estimand's expected value under control minus under the arm as assigned, per person.
    saved = np.zeros(n)
    saved_benefit = np.zeros(n)
    saved_windows = {w: np.zeros(n) for w in windows}
    if treated.any():
        control, assigned = scale[treated], scale[treated] * factor[treated]
        saved[treated] = restricted_mean_days(control, model.shape, horizon) - restricted_mean_days(
            assigned, model.shape, horizon
        )
        saved_benefit[treated] = restricted_mean_days(
            control, model.shape, horizon, model.competing_rate
        ) - restricted_mean_days(assigned, model.shape, horizon, model.competing_rate)
        for w in windows:
            saved_windows[w][treated] = window_mean_days(control, model, w) - window_mean_days(assigned, model, w)
    persons = pd.DataFrame(
        {
            "cpr": people["cpr"],
            "origin": origin.dt.date,
            "arm": arm,
            "met": met,
            "time": duration,
            "exit": exits,
            "effect_days": saved,
            "sample_days": np.minimum(np.ceil(t_employment), horizon)
            - np.minimum(np.ceil(t_employment_assigned), horizon),
            "benefit_effect_days": saved_benefit,
            **{f"window_effect_days_{w}": v for w, v in saved_windows.items()},
        }
    )
    truth = {
        "effect_days": effect_days,
        "uptake": uptake,
        "horizon_days": horizon,
        "data_cut": cut.date().isoformat(),
        "model": asdict(model),
        **cohort_truth(persons, treatment_arm, scale, model, horizon),
    }
    return SpellsData(spells=spells, meetings=meetings, truth=truth, persons=persons)


def cohort_truth(
    persons: pd.DataFrame,
    treatment_arm: str,
    scale: np.ndarray | None = None,
    model: SpellModel | None = None,
    horizon: int = 182,
    *,
    randomised_by: date | None = None,
) -> dict[str, object]:
    """The true intention-to-treat effects over the enrolled (optionally those randomised by a date).

    Each is the mean over the treatment arm of a person's expected days under control minus as assigned: days saved
    (time to employment, other exits removed), days on benefit saved (index spell to the horizon) and days on any
    benefit saved in each window after randomisation.
    """
    chosen = persons["arm"].to_numpy() != ""
    if randomised_by is not None:
        chosen &= (pd.to_datetime(persons["origin"]) <= pd.Timestamp(randomised_by)).to_numpy()
    cohort = persons[chosen]
    treatment = cohort[cohort["arm"] == treatment_arm]
    result: dict[str, object] = {
        "enrolled": len(cohort),
        "arms": {str(k): int(v) for k, v in cohort["arm"].value_counts().sort_index().items()},
        "met_share_treatment": float(treatment["met"].mean()) if len(treatment) else 0.0,
        "itt_days_saved": float(treatment["effect_days"].mean()) if len(treatment) else 0.0,
        "itt_days_saved_sample": float(treatment["sample_days"].mean()) if len(treatment) else 0.0,
        "itt_benefit_days_saved": float(treatment["benefit_effect_days"].mean()) if len(treatment) else 0.0,
        "itt_benefit_days_all_spells_saved": {
            column.removeprefix("window_effect_days_"): float(treatment[column].mean()) if len(treatment) else 0.0
            for column in persons.columns
            if column.startswith("window_effect_days_")
        },
    }
    if scale is not None and model is not None:
        control = chosen & (persons["arm"].to_numpy() != treatment_arm)
        result["rmst_employment_control"] = (
            float(restricted_mean_days(scale[control], model.shape, horizon).mean()) if control.any() else None
        )
    return result


__all__ = ["FIELDS", "SpellModel", "SpellsData", "effect_factor", "restricted_mean_days", "simulate_spells"]
