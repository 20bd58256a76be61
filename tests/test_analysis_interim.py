"""The analysis states which planned look a data cut is and the boundary that applies (Lan-DeMets, gsDesign)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trial.analysis import analyse
from trial.protocol import load_protocol

BC16 = load_protocol(Path(__file__).resolve().parents[1] / "protocols" / "bc16-jobmatch.toml")


def _trial(first: str, n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(4)
    start = pd.Timestamp(first)
    randomised = start + pd.to_timedelta(rng.integers(0, 60, n), unit="D")
    allocations = pd.DataFrame({
        "person_id": [f"p{i}" for i in range(n)],
        "arm": np.where(np.arange(n) % 2, "treatment", "control"),
        "stratum": "all",
        "randomised_on": randomised,
    })
    length = pd.to_timedelta(rng.integers(5, 150, n), unit="D")
    spells = pd.DataFrame({
        "person_id": allocations["person_id"],
        "start": randomised,
        "end": randomised + length,
        "exit": "employment",
    })
    return allocations, spells


@pytest.mark.parametrize(("as_of", "look", "z"), [("2026-07-05", 1, 2.963), ("2027-01-05", 2, 1.969)])
def test_interim_look_and_boundary(as_of: str, look: int, z: float) -> None:
    allocations, spells = _trial("2026-01-05")
    result = analyse(BC16, allocations, spells, pd.Timestamp(as_of), bootstrap=0)
    interim = result.interim
    assert (interim.look, interim.of) == (look, 2)
    # Two equally spaced looks, one-sided 0.025 (BC16: two-sided 0.05), O'Brien-Fleming-type spending.
    assert interim.z_boundary == pytest.approx(z, abs=5e-4)
    assert interim.first_randomised == allocations["randomised_on"].min().date()
