"""The two-stage job market (issue 15): its mechanics, the truth of each estimand, intervals that cover it, and
`trial simulate --design two-stage` on real files through the real enrolment."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.two_stage import market_trial_in_memory
from trial.cli import app
from trial.demo import analyse_trial, init_and_enrol
from trial.outcomes import OutcomeRules, build_outcomes
from trial.protocol import load_protocol
from trial.simulate.market import JobMarket, Seekers, smoothed, tightness
from trial.spillover import spillover_effects

ROOT = Path(__file__).resolve().parents[1]
ROLLOUT = ROOT / "protocols" / "bc16-rollout.toml"
ESTIMANDS = ("direct", "total_on_treated", "spillover_on_untreated", "net_per_person")
runner = CliRunner()


def covered(seeds: range, displacement: float) -> tuple[dict[str, int], list[dict[str, float]]]:
    """How often each estimand's interval covers its truth over simulated trials of 45 jobcentres (~2,000 people)."""
    protocol = load_protocol(ROLLOUT)
    hits = dict.fromkeys(ESTIMANDS, 0)
    truths = []
    for seed in seeds:
        allocations, spells, truth, cut = market_trial_in_memory(seed, claimants=9000, clusters=45,
                                                                 displacement=displacement)
        table = build_outcomes(allocations, spells, OutcomeRules.from_protocol(protocol, cut))
        found, _ = spillover_effects(table.benefit, table.frame, treatment_arm="treatment", horizon=182,
                                     as_of=pd.Timestamp(cut), alpha=0.05, replicates=400, seed=seed)
        for name in ESTIMANDS:
            low, high = getattr(found, name).ci
            hits[name] += low <= truth[name] <= high
        truths.append(truth)
    return hits, truths


def test_the_four_intervals_cover_the_truth_in_at_least_18_of_20_trials() -> None:
    """Displacement 0.5: each estimand's cluster-bootstrap interval against its truth from the two worlds."""
    hits, truths = covered(range(20), 0.5)
    assert all(n >= 18 for n in hits.values()), hits
    # The market displaces: the untreated in treated clusters lose days, so the direct effect exceeds the total.
    assert all(t["spillover_on_untreated"] < 0 and t["direct"] > t["total_on_treated"] > 0 for t in truths)


def test_without_displacement_the_spillover_interval_covers_zero() -> None:
    hits, truths = covered(range(100, 120), 0.0)
    assert all(t["spillover_on_untreated"] == 0 for t in truths)  # common random numbers: exactly no spillover
    assert hits["spillover_on_untreated"] >= 18, hits


def _seekers(n: int, rng: np.random.Generator, *, cells: int = 3, boosted: float = 0.0) -> Seekers:
    return Seekers(
        origin=rng.integers(0, 60, n), cell=rng.integers(0, cells, n), scale=rng.uniform(40, 120, n),
        threshold=-np.log(rng.random(n)), competing_day=rng.integers(20, 400, n),
        competing_exit=np.array(["education"] * n, dtype=object),
        boost=np.where(rng.random(n) < boosted, 2.0, 1.0), boost_from=np.zeros(n, dtype=int),
    )


def test_a_market_without_competition_is_the_duration_model() -> None:
    """θ = 1: a job comes when the Weibull cumulative hazard passes the person's threshold, i.e. at ⌈σ·ξ^(1/k)⌉."""
    rng = np.random.default_rng(1)
    s = _seekers(500, rng)
    world = JobMarket(s, 1.25, 600, tightness(0.0)).run(treated=False, reference=None)
    job_day = np.ceil(s.scale * s.threshold ** (1 / 1.25))
    expected = np.minimum(np.maximum(job_day, 1), s.competing_day)
    finite = np.isfinite(world.duration)
    assert np.array_equal(world.duration[finite], expected[finite])
    assert ((world.exit == "employment") == (job_day < s.competing_day))[finite].all()


def test_the_tightness_takes_the_displacement_share_from_others_at_the_margin() -> None:
    """At the reference effectiveness Ē, extra effort ε adds (1 − D)·ε hires: the rest is taken from others."""
    for d in (0.2, 0.5, 0.9):
        x = tightness(d)
        assert x / math.expm1(x) == pytest.approx(1 - d)
        market = JobMarket(_seekers(3, np.random.default_rng(0)), 1.0, 1, x)
        reference, eps = np.array([10.0]), 1e-6
        hires = [market.day(np.array([e]), reference)[0] * e for e in (10.0, 10.0 + eps)]
        assert (hires[1] - hires[0]) / eps == pytest.approx(1 - d, rel=1e-4)
    assert tightness(0.0) == 0 and math.isinf(tightness(1.0))
    assert smoothed(np.ones((40, 2))).tolist() == np.ones((40, 2)).tolist()


def test_trial_simulate_two_stage_makes_a_trial_the_toolkit_enrols_and_analyses(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = runner.invoke(app, ["simulate", "--out", str(out), "--design", "two-stage", "--clusters", "12",
                                 "--displacement", "1", "--claimants", "3000", "--effect-days", "25", "--seed", "4"])
    assert result.exit_code == 0, result.output
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert truth["design"] == "two_stage" and truth["clusters"] == 12 and truth["displacement"] == 1
    assert sorted(set(truth["saturations"].values())) == [0.0, 0.5, 0.8]
    spill = truth["spillover"]
    assert spill["spillover_on_untreated"] < 0 < spill["total_on_treated"] < spill["direct"]
    assert f"true spillover_on_untreated: {spill['spillover_on_untreated']:.2f} days" in result.output
    assert load_protocol(out / "protocol.toml").randomisation.clusters == [f"Jobcenter {k:02d}" for k in range(1, 13)]
    # The real init and enrolment under protocol.toml with secret.key give the arms the market was run with.
    db = tmp_path / "trial.db"
    cut = date.fromisoformat(truth["data_cut"])
    totals = init_and_enrol(out, db, cut, out / "protocol.toml")
    assert totals["enrolled"] == truth["arms"]
    analysis = analyse_trial(out, db, cut, bootstrap=200, seed=1)
    found = analysis.effects.spillover
    assert analysis.primary.name == "spillover.direct"
    assert found.clusters == {"0.0": 4, "0.5": 4, "0.8": 4}
    assert found.people["pure_control"] + found.people["treated"] + found.people["untreated"] == truth["enrolled"]


def test_simulate_options_belong_to_the_two_stage_design(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path / "s"), "--displacement", "0.3"])
    assert result.exit_code == 2
    assert result.output == "error: --clusters and --displacement belong to --design two-stage\n"
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path / "s"), "--design", "two-stage", "--displacement",
                                 "1.5"])
    assert result.output == "error: --displacement: must be a share between 0 and 1; got 1.5\n"
