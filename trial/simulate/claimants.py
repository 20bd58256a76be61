"""Simulated claimants: fictitious people of Copenhagen's job centre and the weekly extracts that list them.

The mix is BC16's: about 60% with a long higher education (LVU), dagpenge and job-ready kontanthjælp, with and
without a CV, registered a few days to a few months before each extract, so that about 22% are eligible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

FIELDS = ("humaniora", "samfundsvidenskab", "naturvidenskab", "teknisk", "sundhed", "erhvervsøkonomi")
LEVELS = ("LVU", "MVU", "KVU", "EUD")
BENEFITS = ("dagpenge", "kontanthjaelp")
EXTRACT_COLUMNS = [
    "cpr",
    "registered_on",
    "education_level",
    "benefit",
    "has_cv",
    "birth_date",
    "sex",
    "education_field",
    "postcode",
    "jobcenter_unit",
]
PERSON_COLUMNS = ["cpr", "sex", "birth_date", "education_level", "education_field", "postcode", "registered_on"]

# Copenhagen graduates by field (LVU) and the other levels' fields; shares of women per field.
_FIELD_SHARES_LVU = np.array([0.22, 0.25, 0.14, 0.13, 0.10, 0.16])
_FIELD_SHARES_OTHER = np.array([0.08, 0.20, 0.05, 0.25, 0.22, 0.20])
_FEMALE_SHARE = np.array([0.66, 0.58, 0.50, 0.30, 0.74, 0.45])

# Home postcodes: the municipality itself dominates, Greater Copenhagen makes up the rest.
_POSTCODES = np.array(
    [1050, 1150, 1260, 1360, 1452, 1552, 1620, 1664, 1711, 1799, 1850, 1900, 2000, 2100, 2150, 2200, 2300, 2400,
     2450, 2500, 2700, 2720, 2770, 2605, 2610, 2650, 2730, 2750, 2800, 2820, 2860, 2900, 2600, 2630]
)  # fmt: skip
_POSTCODE_WEIGHTS = np.array(
    [1, 1, 1, 1, 1, 1, 2, 2, 1, 1, 2, 2, 6, 8, 1, 10, 9, 6, 4, 5, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    dtype=float,
)
_UNITS = np.array(
    ["Jobcenter København Centrum", "Jobcenter København Nord", "Jobcenter København Syd",
     "Jobcenter København Vest", "Akademikerindsatsen"]
)  # fmt: skip

# Modulus-11 weights: every number issued before 2007 passes this check, so numbers that fail it are
# (for people born long before 2007) not real people's numbers.
_MOD11 = np.array([4, 3, 2, 7, 6, 5, 4, 3, 2, 1])


@dataclass(frozen=True)
class ClaimantMix:
    """The shares that shape a cohort of claimants; the product of the four eligibility shares is about 0.22."""

    lvu: float = 0.60
    dagpenge_lvu: float = 0.78
    dagpenge_other: float = 0.60
    cv_dagpenge: float = 0.72
    cv_kontanthjaelp: float = 0.45
    recent: float = 0.66  # registered at most 28 days before the extract
    repeated: float = 0.04  # listed again in the next week's extract
    new_graduate_lvu: float = 0.55

    @property
    def eligible_share(self) -> float:
        """The expected share of people eligible under BC16 (LVU, dagpenge, CV, registered ≤ 28 days)."""
        return self.lvu * self.dagpenge_lvu * self.cv_dagpenge * self.recent


def extract_dates(start: date, weeks: int = 52) -> list[date]:
    """The dates of the weekly extracts (one a week from the Monday of `start`'s week)."""
    monday = start - timedelta(days=start.weekday())
    return [monday + timedelta(weeks=w) for w in range(weeks)]


def extract_name(day: date) -> str:
    """The file name of the extract dated `day`: week-YYYY-WW.csv in ISO weeks."""
    year, week, _ = day.isocalendar()
    return f"week-{year}-{week:02d}.csv"


def _choice(rng: np.random.Generator, options: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    return options[rng.choice(len(options), size=n, p=weights / weights.sum())]


def fictitious_cprs(rng: np.random.Generator, birth: pd.Series, female: np.ndarray, taken: set[str]) -> np.ndarray:
    """Distinct CPR numbers DDMMYY-SSSS carrying birth date and sex, obeying the century rule, failing modulus 11.

    Numbers in `taken` are avoided and the new ones are added to it, so cohorts drawn in turn never share one.
    """
    n = len(birth)
    year = birth.dt.year.to_numpy().astype(np.int64)
    year2 = year % 100
    # DDMMYY as a 64-bit integer: pandas gives 32-bit day numbers, too small for the ten-digit number below.
    date_digits = (
        birth.dt.day.to_numpy().astype(np.int64) * 10_000 + birth.dt.month.to_numpy().astype(np.int64) * 100 + year2
    )
    # The 7th digit that gives the right century: 0-3 for the 1900s; 4-9 for 2000-2036 (the people born after 2000).
    digit7 = np.where(year < 2000, rng.integers(0, 4, size=n), rng.integers(4, 10, size=n))
    result = np.empty(n, dtype="U11")
    todo = np.arange(n)
    while len(todo):
        middle = rng.integers(0, 100, size=len(todo))
        last = rng.integers(0, 5, size=len(todo)) * 2 + np.where(female[todo], 0, 1)
        serial = digit7[todo] * 1000 + middle * 10 + last
        number = date_digits[todo] * 10_000 + serial
        digits = np.stack([(number // 10 ** (9 - i)) % 10 for i in range(10)], axis=1)
        passes = (digits @ _MOD11) % 11 == 0
        # Moving the last digit by 2 keeps the sex and changes the weighted sum by 2, so the check then fails.
        last = np.where(passes, (last + 2) % 10, last)
        serial = digit7[todo] * 1000 + middle * 10 + last
        texts = np.char.add(np.char.add(np.char.zfill(date_digits[todo].astype("U6"), 6), "-"),
                            np.char.zfill(serial.astype("U4"), 4))
        retry = []
        for position, text in zip(todo, texts, strict=True):
            if text in taken:
                retry.append(position)
            else:
                taken.add(text)
                result[position] = text
        todo = np.array(retry, dtype=int)
    return result


def _ages(rng: np.random.Generator, lvu: np.ndarray, graduate: np.ndarray) -> np.ndarray:
    """Ages in years at registration: new graduates near 27, experienced academics and others spread wider."""
    n = len(lvu)
    fresh = np.clip(rng.normal(27.3, 2.0, n), 23.5, 34)
    experienced = np.clip(29 + rng.gamma(2.0, 6.0, n), 29, 64)
    others = np.clip(rng.normal(38, 11, n), 20, 64)
    return np.where(lvu, np.where(graduate, fresh, experienced), others)


def make_people(
    rng: np.random.Generator,
    n: int,
    registered_on: pd.Series,
    mix: ClaimantMix = ClaimantMix(),
    *,
    lvu_share: float | None = None,
    taken: set[str] | None = None,
) -> pd.DataFrame:
    """Fictitious people with sex, birth date, education, benefit, CV, home postcode and registration date."""
    lvu = rng.random(n) < (mix.lvu if lvu_share is None else lvu_share)
    level = np.where(lvu, "LVU", _choice(rng, np.array(LEVELS[1:]), np.array([0.45, 0.20, 0.35]), n))
    field_index = np.where(
        lvu,
        rng.choice(len(FIELDS), size=n, p=_FIELD_SHARES_LVU),
        rng.choice(len(FIELDS), size=n, p=_FIELD_SHARES_OTHER),
    )
    female = rng.random(n) < _FEMALE_SHARE[field_index]
    graduate = rng.random(n) < mix.new_graduate_lvu
    age_days = np.round(_ages(rng, lvu, graduate) * 365.25).astype(int)
    registered = pd.to_datetime(registered_on).reset_index(drop=True)
    birth = registered - pd.to_timedelta(age_days, unit="D")
    dagpenge = rng.random(n) < np.where(lvu, mix.dagpenge_lvu, mix.dagpenge_other)
    has_cv = rng.random(n) < np.where(dagpenge, mix.cv_dagpenge, mix.cv_kontanthjaelp)
    cprs = fictitious_cprs(rng, birth, female, set() if taken is None else taken)
    return pd.DataFrame(
        {
            "cpr": cprs,
            "sex": np.where(female, "K", "M"),
            "birth_date": birth.dt.date,
            "education_level": level,
            "education_field": np.array(FIELDS)[field_index],
            "postcode": _choice(rng, _POSTCODES, _POSTCODE_WEIGHTS, n).astype(str),
            "registered_on": registered.dt.date,
            "benefit": np.where(dagpenge, "dagpenge", "kontanthjaelp"),
            "has_cv": has_cv,
            "jobcenter_unit": np.where(
                lvu & (rng.random(n) < 0.7), _UNITS[-1], _UNITS[rng.integers(0, len(_UNITS) - 1, size=n)]
            ),
        }
    )


def _week_weights(dates: list[date]) -> np.ndarray:
    """Inflow by week: academics graduate in summer and winter, so July-September and February run high."""
    day_of_year = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
    summer = np.exp(-0.5 * ((day_of_year - 220) / 25) ** 2)
    winter = np.exp(-0.5 * ((day_of_year - 45) / 18) ** 2)
    return 1.0 + 1.2 * summer + 0.4 * winter


def make_claimants(
    rng: np.random.Generator,
    n: int,
    start: date,
    *,
    weeks: int = 52,
    mix: ClaimantMix = ClaimantMix(),
    taken: set[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """N distinct claimants spread over weekly extracts; returns (people with first extract date, extract rows).

    The extract rows carry `extract_on` and are in file order; about `mix.repeated` of people are listed again in
    the following week's extract, as the case system's overlapping exports do.
    """
    dates = extract_dates(start, weeks)
    weights = _week_weights(dates)
    week = np.sort(rng.choice(weeks, size=n, p=weights / weights.sum()))
    first_extract = pd.to_datetime(np.array(dates, dtype="datetime64[D]")[week])
    recent = rng.random(n) < mix.recent
    # Days registered at the first extract: 1-28 for the recent ones (eligible), 29 days to months for the rest.
    days = np.where(recent, rng.integers(1, 29, size=n), 29 + np.minimum(rng.geometric(1 / 45, size=n) - 1, 300))
    registered = pd.Series(first_extract - pd.to_timedelta(days, unit="D"))
    people = make_people(rng, n, registered, mix, taken=taken)
    people["extract_on"] = first_extract.date
    people["week"] = week
    again = (rng.random(n) < mix.repeated) & (week < weeks - 1)
    repeats = people[again].copy()
    repeats["week"] = repeats["week"] + 1
    repeats["extract_on"] = np.array(dates, dtype="datetime64[D]")[repeats["week"].to_numpy()].astype(object)
    rows = pd.concat([people, repeats], ignore_index=True)
    # Within a week's file the case system lists people in no particular order.
    rows["_order"] = rng.random(len(rows))
    rows = rows.sort_values(["week", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)
    return people.drop(columns="week"), rows


def make_history(
    rng: np.random.Generator, n: int, start: date, mix: ClaimantMix = ClaimantMix(), *, taken: set[str] | None = None
) -> pd.DataFrame:
    """The historical cohort: people with a CV registered in the two years before the trial (the matcher's data)."""
    days_before = rng.integers(30, 730, size=n)
    registered = pd.Series(pd.Timestamp(start) - pd.to_timedelta(days_before, unit="D"))
    people = make_people(rng, n, registered, mix, lvu_share=0.8, taken=taken)
    return people[PERSON_COLUMNS].sort_values("registered_on", kind="stable").reset_index(drop=True)


def extract_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of one weekly extract in the case system's columns and formats (ISO dates, has_cv ja/nej)."""
    out = rows[EXTRACT_COLUMNS].copy()
    out["registered_on"] = pd.to_datetime(out["registered_on"]).dt.strftime("%Y-%m-%d")
    out["birth_date"] = pd.to_datetime(out["birth_date"]).dt.strftime("%Y-%m-%d")
    out["has_cv"] = np.where(out["has_cv"].astype(bool), "ja", "nej")
    return out
