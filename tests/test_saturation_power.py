"""Power of a two-stage design (issue 15): the formulas against a Monte-Carlo simulation of the same design, against
the individual design's power where they must agree, and `trial power --design two-stage` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trial.cli import app
from trial.power import Design, parametric_control, rmst_total_n
from trial.saturation_power import TwoStageDesign, detectable_days, hazard_ratio_for, plan, simulate_power

ROOT = Path(__file__).resolve().parents[1]
ROLLOUT = ROOT / "protocols" / "bc16-rollout.toml"
CURVE = parametric_control(49.0, 182, 1.0, 0.2)
runner = CliRunner()


@pytest.mark.parametrize(
    "design",
    [
        TwoStageDesign(30, 40, 0.02, (0.0, 0.5, 0.8)),
        TwoStageDesign(45, 25, 0.05, (0.0, 0.5, 0.8)),
        TwoStageDesign(60, 40, 0.01, (0.0, 0.25, 0.5, 0.75)),
    ],
    ids=["30x40-icc0.02", "45x25-icc0.05", "60x40-icc0.01-four-shares"],
)
def test_the_formula_agrees_with_simulation_within_two_points(design: TwoStageDesign) -> None:
    """At the detectable effect the formula promises 80% power; 4,000 simulated trials of the same design, analysed
    by cluster-level t tests, give it within 2 percentage points (Monte-Carlo error about 0.6 points)."""
    for estimand in ("direct", "spillover_on_untreated", "net_per_person"):
        days = detectable_days(design, CURVE, estimand, None)
        simulated = simulate_power(design, CURVE, estimand, None, days, trials=4000, seed=11)
        assert simulated == pytest.approx(0.8, abs=0.02), (estimand, days, simulated)


def test_without_clustering_the_direct_effect_needs_what_an_individual_trial_needs() -> None:
    """ICC 0 and many clusters at 50%: the direct effect is an individual 1:1 comparison of the same people."""
    design = TwoStageDesign(800, 20, 0.0, (0.0, 0.5))
    days = detectable_days(design, CURVE, "direct", 0.5)
    hr = hazard_ratio_for(CURVE, days)
    people = 400 * 20  # the 50% clusters' people, half treated
    assert rmst_total_n(CURVE, Design(0.05, 2, 0.8), hr, "benefit_days") == pytest.approx(people, rel=0.01)


def test_clustering_costs_the_between_cluster_estimands_more_than_the_direct_effect() -> None:
    loose, tight = (plan(TwoStageDesign(45, 60, icc, (0.0, 0.5, 0.8)), CURVE)["detectable"] for icc in (0.0, 0.05))
    for name in ("total_on_treated", "spillover_on_untreated", "net_per_person"):
        assert tight[name]["pooled"]["days"] > 1.5 * loose[name]["pooled"]["days"]
    assert tight["direct"]["pooled"]["days"] < 1.05 * loose["direct"]["pooled"]["days"]


def test_trial_power_two_stage_on_the_command_line() -> None:
    result = runner.invoke(app, ["power", "--protocol", str(ROLLOUT), "--design", "two-stage", "--clusters", "45",
                                 "--cluster-size", "60", "--icc", "0,02", "--saturations", "0;0,5;0,8", "--json", "-"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["design"]["by_saturation"] == {s: {"clusters": 15, "people": 900} for s in ("0.0", "0.5", "0.8")}
    assert found["design"]["design_effect"] == pytest.approx(1 + 59 * 0.02)
    direct = found["detectable"]["direct"]
    assert set(direct["by_saturation"]) == {"0.5", "0.8"} and direct["pooled"]["df"] == 28
    assert 0 < direct["pooled"]["employment_points"] < 0.2 and direct["pooled"]["hazard_ratio"] > 1
    assert found["detectable"]["spillover_on_untreated"]["pooled"]["hazard_ratio"] < 1
    shown = runner.invoke(app, ["power", "--protocol", str(ROLLOUT), "--design", "two-stage", "--clusters", "45",
                                "--cluster-size", "60", "--icc", "0.02", "--lang", "en"])
    assert "Two-stage design: 45 clusters of 60 participants, ICC 0.020 (design effect 2.18)" in shown.output


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--design", "two-stage", "--clusters", "45"], "error: --design two-stage needs --cluster-size, --icc"),
        (["--clusters", "45"], "error: --clusters belongs to --design two-stage"),
        (["--design", "two-stage", "--clusters", "45", "--cluster-size", "60", "--icc", "1.2"],
         "error: --icc: must lie in [0, 1); got 1.2"),
        (["--design", "two-stage", "--clusters", "45", "--cluster-size", "60", "--icc", "0.02", "--saturations",
          "0.5,0.8"], "error: --saturations: distinct shares in [0, 1] with 0 (pure control) and one between 0 and 1; "
                      "got 0.5, 0.8"),
        (["--design", "two-stage", "--clusters", "5", "--cluster-size", "60", "--icc", "0.02"],
         "error: --clusters: must give each of the 3 saturations two clusters (at least 6); got 5"),
        (["--design", "three-stage"], "error: Invalid value for '--design': 'three-stage' is not a design; use "
                                      "individual or two-stage (see 'trial power --help')"),
    ],
)
def test_two_stage_power_options_are_refused_in_one_line(args: list[str], line: str) -> None:
    result = runner.invoke(app, ["power", "--protocol", str(ROLLOUT), *args])
    assert result.exit_code == 2
    assert result.output == line + "\n"


@pytest.mark.parametrize("median", [250, 300])
def test_a_long_control_median_bounds_the_detectable_loss_by_the_horizon(median: int) -> None:
    """With most of the horizon already on benefit, the untreated can lose at most what is left of it: the search
    for a detectable spillover stays inside that (it was a brentq ValueError, an internal error on the CLI)."""
    curve = parametric_control(median, 365, 1, 0.3)
    planned = plan(TwoStageDesign(20, 30, 0.05, (0, 0.5)), curve)
    found = planned["detectable"]["spillover_on_untreated"]["pooled"]
    assert found["days"] is None or 0 < found["days"] < 365 - planned["control"]["days_on_benefit"]
