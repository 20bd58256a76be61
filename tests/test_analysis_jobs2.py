"""JOBS II (Vinokur & Schul 1997): employment at follow-up, as a binary primary outcome and as employment frequency.

Reference: employed at follow-up 86/299 = 28.8% (booklet, control) and 207/600 = 34.5% (workshop, treatment).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trial.analysis import analyse
from trial.protocol import parse_protocol
from trial.results import AnalysisResult

DATA = Path(__file__).parent / "data"
ORIGIN = pd.Timestamp("2020-03-02")
FOLLOW_UP = pd.Timestamp("2020-08-31")

PROTOCOL = """
id = "jobs-ii"
title = "JOBS II job-search workshop"
version = "1"
[eligibility]
[[arms]]
name = "workshop"
role = "treatment"
[[arms]]
name = "booklet"
role = "control"
[randomisation]
block_sizes = [2]
[outcomes]
primary = "binary"
horizon_days = 182
[outcomes.binary]
name = "employed at follow-up"
column = "employed"
[analysis]
covariates = ["sex", "age"]
subgroups = ["sex"]
bootstrap = 200
"""


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Allocations, and one spell a person: employed people leave unemployment for a job before follow-up."""
    data = pd.read_csv(DATA / "jobs2.csv")
    ids = [f"j{i:03d}" for i in range(len(data))]
    employed = data["work1"] == "psyemp"
    allocations = pd.DataFrame(
        {
            "person_id": ids,
            "arm": np.where(data["treat"] == 1, "workshop", "booklet"),
            "randomised_on": ORIGIN,
            "sex": data["sex"],
            "age": data["age"],
        }
    )
    spells = pd.DataFrame(
        {
            "person_id": ids,
            "start": ORIGIN,
            "end": pd.Series(ORIGIN + pd.Timedelta(days=120), index=data.index).where(employed),
            "exit": np.where(employed, "employment", ""),
            "employed": np.where(employed, "ja", "nej"),
        }
    )
    return allocations, spells


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    allocations, spells = frames()
    return analyse(parse_protocol(PROTOCOL), allocations, spells, FOLLOW_UP, seed=3)


def test_binary_outcome_proportions(result: AnalysisResult) -> None:
    """R: with(mediation::jobs, table(treat, work1)) gives 86 of 299 employed with the booklet, 207 of 600 with the
    workshop (28.8% and 34.5%)."""
    binary = result.effects.binary
    assert binary.arms["booklet"].yes == 86 and binary.arms["booklet"].n == 299
    assert binary.arms["workshop"].yes == 207 and binary.arms["workshop"].n == 600
    assert binary.arms["booklet"].proportion == pytest.approx(0.2876, abs=5e-5)
    assert binary.arms["workshop"].proportion == pytest.approx(0.3450, abs=5e-5)
    assert binary.difference.estimate == pytest.approx(207 / 600 - 86 / 299)
    low, high = binary.difference.ci
    assert low < binary.difference.estimate < high
    assert binary.missing == 0


def test_employment_frequency_equals_the_proportions(result: AnalysisResult) -> None:
    """With no censoring before the horizon, Aalen-Johansen is the plain proportion and its variance p(1-p)/n."""
    for arm, (k, n) in {"booklet": (86, 299), "workshop": (207, 600)}.items():
        summary = result.arms[arm]
        p = k / n
        assert summary.employment_rate == pytest.approx(p, rel=1e-12)
        assert summary.employment_rate_se == pytest.approx(np.sqrt(p * (1 - p) / n), rel=1e-9)
    difference = result.effects.employment_rate_difference
    se = np.hypot(np.sqrt(0.345 * 0.655 / 600), np.sqrt((86 / 299) * (1 - 86 / 299) / 299))
    assert difference.estimate == pytest.approx(207 / 600 - 86 / 299)
    assert difference.se == pytest.approx(se, rel=1e-9)
    ratio = result.effects.employment_rate_ratio
    assert ratio.estimate == pytest.approx((207 / 600) / (86 / 299))


def test_days_saved_from_the_step_of_employment(result: AnalysisResult) -> None:
    """Everyone employed leaves at day 120, so RMST = 120 p + 182 (1 - p) exactly, per arm."""
    for arm, (k, n) in {"booklet": (86, 299), "workshop": (207, 600)}.items():
        p = k / n
        assert result.arms[arm].rmst_days == pytest.approx(120 * p + 182 * (1 - p), rel=1e-12)
    expected = 62 * (207 / 600 - 86 / 299)
    assert result.effects.days_saved.estimate == pytest.approx(expected, rel=1e-12)


def test_missing_binary_values_are_counted() -> None:
    allocations, spells = frames()
    spells.loc[:9, "employed"] = ""
    result = analyse(parse_protocol(PROTOCOL), allocations, spells, FOLLOW_UP, bootstrap=0)
    assert result.data_quality["binary_outcome_missing"] == 10
    binary = result.effects.binary
    assert binary.arms["booklet"].n + binary.arms["workshop"].n == 899 - 10
