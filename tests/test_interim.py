"""Interim looks: Lan-DeMets boundaries against gsDesign, and which look a data cut is."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from trial.errors import TrialError
from trial.interim import (
    boundaries,
    classical_obrien_fleming,
    decide,
    information_fraction,
    look_for,
    months_between,
    repeated_interval,
    spent_alpha,
)
from trial.protocol import load_protocol

ROOT = Path(__file__).resolve().parents[1]
BC16 = load_protocol(ROOT / "protocols" / "bc16-jobmatch.toml")
DJU = load_protocol(ROOT / "protocols" / "digital-jobunivers.toml")


def test_lan_demets_obrien_fleming_matches_gsdesign() -> None:
    # gsDesign(k = 2, test.type = 1, alpha = 0.025, sfu = sfLDOF, timing = c(0.5, 1)): upper bounds 2.963, 1.969.
    b = boundaries([0.5, 1.0], alpha=0.025, spending="obrien-fleming")
    assert [round(x.z, 3) for x in b] == [2.963, 1.969]
    assert b[-1].alpha_spent == pytest.approx(0.025, abs=1e-9)
    # Four equally spaced looks (gsDesign sfLDOF): 4.333, 2.963, 2.359, 2.014.
    four = boundaries([0.25, 0.5, 0.75, 1.0], alpha=0.025)
    assert [round(x.z, 3) for x in four] == [4.333, 2.963, 2.359, 2.014]


def test_classical_obrien_fleming_differs_from_the_spending_version() -> None:
    # The classical design (O'Brien & Fleming 1979), c/sqrt(t): 2.797 and 1.977 for two looks.
    assert [round(z, 3) for z in classical_obrien_fleming([0.5, 1.0], 0.025)] == [2.797, 1.977]


def test_pocock_spending_matches_gsdesign() -> None:
    # gsDesign sfLDPocock, two equally spaced looks, one-sided 0.025: 2.157, 2.201.
    assert [round(x.z, 3) for x in boundaries([0.5, 1.0], 0.025, "pocock")] == [2.157, 2.201]


def test_spending_functions_spend_all_alpha_and_nothing_at_zero() -> None:
    t = np.linspace(0, 1, 11)
    for kind in ("obrien-fleming", "pocock"):
        spent = spent_alpha(t, 0.025, kind)
        assert spent[0] == 0 and spent[-1] == pytest.approx(0.025)
        assert np.all(np.diff(spent) > 0)


def test_boundaries_hold_the_overall_type_one_error_by_simulation() -> None:
    # Under the null, sequential Z statistics are partial sums of independent normal increments.
    rng = np.random.default_rng(11)
    fractions = np.array([1 / 3, 2 / 3, 1.0])
    z_bounds = np.array([b.z for b in boundaries(list(fractions), 0.025)])
    increments = rng.standard_normal((400_000, 3)) * np.sqrt(np.diff(np.concatenate([[0], fractions])))
    z = np.cumsum(increments, axis=1) / np.sqrt(fractions)
    rejected = np.any(z >= z_bounds, axis=1).mean()
    assert rejected == pytest.approx(0.025, abs=0.001)


def test_bad_fractions_are_refused() -> None:
    with pytest.raises(TrialError):
        boundaries([0.6, 0.5])
    with pytest.raises(TrialError):
        boundaries([0.5, 1.2])


def test_months_between_is_calendar_months() -> None:
    assert months_between(date(2024, 1, 15), date(2024, 7, 15)) == 6
    assert months_between(date(2024, 1, 31), date(2024, 2, 29)) == 1  # clipped to the month's end
    assert months_between(date(2024, 1, 15), date(2024, 2, 1)) == pytest.approx(17 / 31)


def test_look_for_bc16_first_and_final_look() -> None:
    start = date(2024, 1, 15)
    before = look_for(BC16, start, date(2024, 5, 1))
    assert before["look"] == 0 and before["z_boundary"] is None
    first = look_for(BC16, start, date(2024, 7, 15))
    assert (first["look"], first["of"], first["final"]) == (1, 2, False)
    assert first["information_fraction"] == 0.5
    assert first["z_boundary"] == pytest.approx(2.963, abs=5e-4)
    # BC16 is two-sided at 0.05: alpha/2 per side, and the two-sided p boundary doubles the one-sided one.
    assert first["alpha_per_side"] == 0.025
    assert first["p_boundary_two_sided"] == pytest.approx(2 * norm.sf(first["z_boundary"]), rel=1e-3)
    final = look_for(BC16, start, date(2025, 2, 1))
    assert (final["look"], final["final"], final["information_fraction"]) == (2, True, 1.0)
    assert final["z_boundary"] == pytest.approx(1.969, abs=5e-4)
    assert final["alpha_spent"] == pytest.approx(0.025, abs=1e-9)


def test_a_late_first_look_spends_more_alpha() -> None:
    late = look_for(BC16, date(2024, 1, 15), date(2024, 10, 15))  # 9 months: still look 1, fraction 0.75
    assert late["look"] == 1 and late["information_fraction"] == 0.75
    assert late["z_boundary"] == pytest.approx(norm.isf(spent_alpha(0.75, 0.025, "obrien-fleming")), abs=1e-4)
    assert late["z_boundary"] < 2.963


def test_look_for_dju_looks_at_12_and_24_months() -> None:
    r = look_for(DJU, date(2026, 3, 1), date(2027, 3, 1))
    assert (r["look"], r["of"], r["planned_months"]) == (1, 2, [12, 24])
    assert r["z_boundary"] == pytest.approx(2.963, abs=5e-4)
    assert "Analyse 1 af 2" in r["note_da"] and "Look 1 of 2" in r["note_en"]


def test_no_planned_looks_means_one_final_analysis() -> None:
    single = BC16.model_copy(update={"analysis": BC16.analysis.model_copy(update={"looks_months": []})})
    r = look_for(single, date(2024, 1, 1), date(2024, 7, 1))
    assert r["final"] and r["z_boundary"] == pytest.approx(norm.isf(0.025))


def test_two_looks_two_sided_and_an_events_based_fraction() -> None:
    """BC16 (two-sided 0.05, looks at 6 and 12 months): 2.963 and 1.969 as gsDesign; with information by events the
    first look's fraction is observed events / planned events and its boundary the spending function's there."""
    start = date(2024, 1, 15)
    assert round(look_for(BC16, start, date(2024, 7, 15))["z_boundary"], 3) == 2.963
    assert round(look_for(BC16, start, date(2025, 1, 15))["z_boundary"], 3) == 1.969
    by_events = BC16.model_copy(update={"analysis": BC16.analysis.model_copy(
        update={"information": "events", "planned_events": 1000})})  # fmt: skip
    fraction = information_fraction(by_events, events=412)
    assert fraction == 0.412
    look = look_for(by_events, start, date(2024, 7, 15), fraction=fraction)
    assert look["information_fraction"] == 0.412
    assert look["z_boundary"] == pytest.approx(norm.isf(spent_alpha(0.412, 0.025, "obrien-fleming")), abs=1e-9)
    assert information_fraction(by_events, events=1300) == 1.0  # capped
    # The final look spends what is left, whatever the events.
    assert look_for(by_events, start, date(2025, 1, 15), fraction=0.8)["information_fraction"] == 1.0
    # Calendar time: no fraction from the data.
    assert information_fraction(BC16, events=412) is None


def test_information_by_variance_is_planned_over_observed_variance() -> None:
    by_variance = BC16.model_copy(update={"analysis": BC16.analysis.model_copy(
        update={"information": "variance", "planned_final_se": 2.0})})  # fmt: skip
    assert information_fraction(by_variance, se=4.0) == 0.25
    assert information_fraction(by_variance, se=1.5) == 1.0


@pytest.mark.parametrize(
    ("z", "sided", "final", "expected"),
    [
        (3.1, 2, False, (True, "stop_for_benefit")),
        (-3.1, 2, False, (True, "stop_for_harm")),
        (-3.1, 1, False, (False, "continue")),  # one-sided: no harm boundary
        (2.1, 2, False, (False, "continue")),
        (2.1, 2, True, (False, "final")),
        (None, 2, False, (None, "continue")),
    ],
)
def test_a_look_decides_on_z_against_its_boundary(z, sided: int, final: bool, expected: tuple) -> None:  # type: ignore[no-untyped-def]
    assert decide(z, 2.963, sided, final) == expected


def test_repeated_intervals_on_the_difference_and_the_log_scale() -> None:
    assert repeated_interval(7.0, 3.0, 2.963) == pytest.approx((7.0 - 8.889, 7.0 + 8.889))
    low, high = repeated_interval(1.2, 0.1, 2.963, log=True)
    assert (np.log(low), np.log(high)) == pytest.approx((np.log(1.2) - 0.2963, np.log(1.2) + 0.2963))
    assert repeated_interval(7.0, None, 2.963) is None and repeated_interval(7.0, 3.0, None) is None
