"""Small claimant extracts for the enrolment tests: valid-in-form fictitious CPR numbers and known eligibility."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

FIELDS = ["humaniora", "samfundsvidenskab", "naturvidenskab", "teknisk", "sundhed", "erhvervsøkonomi"]
HEADER = ["cpr", "registered_on", "education_level", "benefit", "has_cv", "education_field", "postcode"]


def fake_cpr(rng: np.random.Generator, born: date, female: bool, serial_hint: int) -> str:
    """A CPR number valid in form for someone born 1937-1999 (7th digit 0-3), with the sex digit right."""
    head = born.strftime("%d%m%y")
    tail = int(rng.integers(0, 400)) * 10 + (serial_hint % 5) * 2 + (0 if female else 1)
    tail = tail % 4000
    return f"{head}-{tail:04d}"


def claimant_rows(
    n: int, *, seed: int, as_of: date, eligible_share: float = 0.7, start: int = 0
) -> list[dict[str, str]]:
    """n claimants with unique CPR numbers; about `eligible_share` meet the BC16 rules on `as_of`."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, str]] = []
    used: set[str] = set()
    i = start
    while len(rows) < n:
        i += 1
        born = date(1970, 1, 1) + timedelta(days=int(rng.integers(0, 365 * 29)))
        female = bool(rng.integers(0, 2))
        cpr = fake_cpr(rng, born, female, i)
        if cpr in used:
            continue
        used.add(cpr)
        ok = rng.random() < eligible_share
        rows.append({
            "cpr": cpr,
            "registered_on": (as_of - timedelta(days=int(rng.integers(0, 28 if ok else 60)))).isoformat(),
            "education_level": "LVU" if ok or rng.random() < 0.5 else "KVU",
            "benefit": "dagpenge" if ok or rng.random() < 0.5 else "kontanthjaelp",
            "has_cv": "ja" if ok or rng.random() < 0.5 else "nej",
            "education_field": FIELDS[int(rng.integers(0, len(FIELDS)))],
            "postcode": str(int(rng.choice([1000, 2100, 2200, 2300, 2400, 2500, 2600, 2800]))),
        })
    return rows


def write_claimants(path: Path, rows: list[dict[str, str]], *, delimiter: str = ",", encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else HEADER, delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def job_cohort(
    rng: np.random.Generator,
    ids: list[str],
    first: date,
    days: int,
    postcodes: Sequence[str],
    age_days: tuple[int, int] = (9000, 15000),
) -> pd.DataFrame:
    """Newly unemployed graduates as the simulator passes them to the job market (ids stand in for CPR numbers)."""
    n = len(ids)
    registered = [first + pd.Timedelta(days=int(d)) for d in rng.integers(0, days, n)]
    sex = rng.choice(["K", "M"], n)
    born = [r - pd.Timedelta(days=int(d)) for r, d in zip(registered, rng.integers(*age_days, n), strict=True)]
    return pd.DataFrame(
        {
            "cpr": ids,
            "sex": sex,
            "birth_date": born,
            "education_level": "LVU",
            "education_field": rng.choice(FIELDS, n),
            "postcode": rng.choice(list(postcodes), n),
            "registered_on": registered,
        }
    )


def sequential_trial(folder: Path, seed: int, n: int = 900, speed_up: float = 1.25) -> dict[str, Path]:
    """A trial randomised over six months (from 2025-01-06) as an allocation file and registry spells, for looks at
    6 months (2025-07-06, look 1 of BC16's 2) and 12 months (2026-01-06, the final look).

    Exponential spells (mean 60 days on control, `speed_up` times faster with the intervention), exits to a job,
    education or other in 75:15:10; spells start up to 9 days before randomisation.
    """
    rng = np.random.default_rng(seed)
    first = pd.Timestamp("2025-01-06")
    randomised = first + pd.to_timedelta(rng.integers(0, 182, n), unit="D")
    arm = np.where(rng.random(n) < 0.5, "treatment", "control")
    sex = rng.choice(["K", "M"], n)
    mean_days = np.where(arm == "treatment", 60 / speed_up, 60)
    days = np.ceil(rng.exponential(mean_days)).astype(int) + 1
    exits = rng.choice(["employment", "education", "other"], n, p=[0.75, 0.15, 0.10])
    start = randomised - pd.to_timedelta(rng.integers(0, 10, n), unit="D")
    ids = [f"p{i:04d}" for i in range(n)]
    allocations = pd.DataFrame({"person_id": ids, "arm": arm, "stratum": sex, "sex": sex, "randomised_on": randomised})
    spells = pd.DataFrame({
        "person_id": ids, "start": start, "end": randomised + pd.to_timedelta(days, unit="D"), "exit": exits,
    })  # fmt: skip
    paths = {"allocations": folder / "allocations.csv", "spells": folder / "spells.csv"}
    allocations.assign(randomised_on=allocations["randomised_on"].dt.date).to_csv(paths["allocations"], index=False)
    spells.assign(start=spells["start"].dt.date, end=spells["end"].dt.date).to_csv(paths["spells"], index=False)
    return paths
