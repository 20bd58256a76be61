"""A large BC16-like trial as allocation and spells files, shared by the analysis and report benchmarks.

Strata covariates, staggered enrolment over a year, competing exits (education, other), open spells at the data
cut, and an earlier finished spell for a third of the people, in whole days.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ORIGIN = pd.Timestamp("2020-01-06")
AS_OF = (ORIGIN + pd.Timedelta(days=365 + 182)).date().isoformat()


def write_trial(folder: Path, people: int, seed: int = 1) -> dict[str, Path]:
    """Write `allocations.csv` and `spells.csv` into `folder`; the data cut is `AS_OF`."""
    rng = np.random.default_rng(seed)
    treated = rng.integers(0, 2, people)
    sex = rng.choice(["K", "M"], people)
    age_band = rng.choice(["<30", "30+"], people)
    field = rng.choice(["samfundsvidenskab", "humaniora", "naturvidenskab", "teknisk", "sundhed"], people)
    entry = ORIGIN + pd.to_timedelta(rng.integers(0, 365, people), unit="D")
    to_job = rng.exponential(120 / np.where(treated == 1, 1.1, 1.0))
    to_education = rng.exponential(900, people)
    to_other = rng.exponential(1200, people)
    first = np.minimum(to_job, np.minimum(to_education, to_other))
    exit_name = np.where(to_job == first, "employment", np.where(to_education == first, "education", "other"))
    end = entry + pd.to_timedelta(np.ceil(first).astype(int), unit="D")
    closed = end <= pd.Timestamp(AS_OF)
    ids = [f"{i:032x}" for i in rng.integers(0, 2**62, people)]
    allocations = pd.DataFrame(
        {
            "person_id": ids,
            "arm": np.where(treated == 1, "treatment", "control"),
            "stratum": [f"{a}|{b}|{c}" for a, b, c in zip(sex, age_band, field, strict=True)],
            "randomised_on": entry.strftime("%Y-%m-%d"),
            "sex": sex,
            "age_band": age_band,
            "education_field": field,
            "age": rng.integers(24, 60, people),
        }
    )
    index = pd.DataFrame(
        {
            "person_id": ids,
            "start": (entry - pd.to_timedelta(rng.integers(0, 10, people), unit="D")).strftime("%Y-%m-%d"),
            "end": np.where(closed, end.strftime("%Y-%m-%d"), ""),
            "exit": np.where(closed, exit_name, ""),
        }
    )
    past = rng.random(people) < 1 / 3
    earlier = pd.DataFrame(
        {
            "person_id": np.array(ids)[past],
            "start": (entry[past] - pd.Timedelta(days=400)).strftime("%Y-%m-%d"),
            "end": (entry[past] - pd.Timedelta(days=300)).strftime("%Y-%m-%d"),
            "exit": "employment",
        }
    )
    spells = pd.concat([earlier, index]).sample(frac=1, random_state=seed)
    paths = {"allocations": folder / "allocations.csv", "spells": folder / "spells.csv"}
    allocations.to_csv(paths["allocations"], index=False)
    spells.to_csv(paths["spells"], index=False)
    return paths
