"""The simulated market where the effect flows through what was shown: lists valued by the market's own utility,
one hire per posting shared among those shown it, and each serving policy's truth from the same draws."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from trial.cli import app
from trial.simulate.market import MarketModel, Seekers, days_saved, policy_worlds
from trial.simulate.shown import HIRE_MIDPOINT, hire_chance, value

runner = CliRunner()


def test_a_posting_shown_to_one_citizen_alone_is_worth_its_hire_chance() -> None:
    chance = np.array([0.2, 0.5, 0.7])
    assert value(chance, np.array([0, 0, 1]), np.array([10, 11, 12]), 2) == pytest.approx([0.7, 0.7])


def test_a_posting_shown_to_many_hires_once_and_shares_its_hire_by_chance() -> None:
    """Two citizens shown the same job with chances 0.6 and 0.2: someone is hired with 1 − 0.4·0.8 = 0.68, shared
    3 : 1, so 0.51 and 0.17 — each less than alone (crowding), and never more than one hire in all."""
    got = value(np.array([0.6, 0.2]), np.array([0, 1]), np.array([7, 7]), 2)
    assert got == pytest.approx([0.51, 0.17])
    assert got.sum() <= 1.0
    alone = value(np.array([0.6]), np.array([0]), np.array([7]), 1)
    assert got[0] < alone[0]


def test_a_more_relevant_list_is_worth_more() -> None:
    """By the market's utility, not a score: higher utility, higher chance, more expected hires."""
    worse, better = hire_chance(np.array([HIRE_MIDPOINT - 2] * 10)), hire_chance(np.array([HIRE_MIDPOINT] * 10))
    jobs = np.arange(10)
    assert value(better, np.zeros(10, dtype=int), jobs, 1)[0] > value(worse, np.zeros(10, dtype=int), jobs, 1)[0]
    assert hire_chance(np.array([HIRE_MIDPOINT]))[0] == pytest.approx(0.5)


def test_crowding_bites_harder_the_likelier_a_shown_posting_is_to_hire() -> None:
    """Five citizens shown the same job: with q = 0.1 each keeps 0.41/0.5 = 82% of what it would be alone
    (1 − 0.9⁵ = 0.41 shared), with q = 0.6 only 0.99/3 = 33% (1 − 0.4⁵ = 0.99 shared)."""
    citizens, job = np.arange(5), np.zeros(5, dtype=int)
    for q, kept in ((0.1, (1 - 0.9**5) / 0.5), (0.6, (1 - 0.4**5) / 3.0)):
        got = value(np.full(5, q), citizens, job, 5)
        assert got.sum() / (5 * q) == pytest.approx(kept)
    assert hire_chance(np.array([5.0]), midpoint=4.0)[0] > hire_chance(np.array([5.0]), midpoint=6.0)[0]


def _seekers(n: int, seed: int = 5) -> Seekers:
    """n seekers in one cell, all from day 0, the first half treated from day 3."""
    rng = np.random.default_rng(seed)
    return Seekers(origin=np.zeros(n, dtype=int), cell=np.zeros(n, dtype=int), scale=np.full(n, 80.0),
                   threshold=-np.log(rng.random(n)), competing_day=np.full(n, 10_000),
                   competing_exit=np.full(n, "other", dtype=object), boost=np.ones(n),
                   boost_from=np.where(np.arange(n) < n // 2, 3, np.iinfo(np.int32).max))


def _boosts(n: int, strengths: dict[str, float]) -> dict[str, np.ndarray]:
    return {name: np.where(np.arange(n) < n // 2, s, 1.0) for name, s in strengths.items()}


def test_a_policy_that_changes_nothing_is_the_world_without_treatment() -> None:
    seekers = _seekers(400)
    untreated, worlds = policy_worlds(seekers, lambda _w: _boosts(400, {"nothing": 1.0}), MarketModel(), 300)
    assert np.array_equal(untreated.duration, worlds["nothing"].duration)


def test_without_congestion_a_stronger_list_shortens_every_treated_spell_and_touches_nobody_else() -> None:
    """D = 0: each seeker keeps their own hazard, so with the same draws a larger boost can only end a spell sooner."""
    seekers = _seekers(400)
    untreated, worlds = policy_worlds(seekers, lambda _w: _boosts(400, {"weak": 1.5, "strong": 3.0}),
                                      MarketModel(displacement=0.0), 300)
    treated = np.arange(400) < 200
    assert (worlds["strong"].duration <= worlds["weak"].duration).all()
    assert (worlds["weak"].duration[treated] <= untreated.duration[treated]).all()
    assert np.array_equal(worlds["strong"].duration[~treated], untreated.duration[~treated])


def test_with_congestion_the_treated_take_jobs_from_others() -> None:
    seekers = _seekers(2000)
    arm = np.where(np.arange(2000) < 1000, "treatment", "control")
    untreated, worlds = policy_worlds(seekers, lambda _w: _boosts(2000, {"strong": 3.0}), MarketModel(displacement=0.8),
                                      300)
    saved = days_saved(arm, "treatment", untreated, worlds["strong"], 182)
    assert saved["treatment_arm"] > 0
    assert saved["control_arm"] < 0
    assert saved["net_per_treatment_arm_member"] < saved["treatment_arm"]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """The same small trial simulated with and without --policies."""
    root = tmp_path_factory.mktemp("shown")
    args = ["simulate", "--claimants", "2500", "--seed", "3"]
    plain = runner.invoke(app, [*args, "--out", str(root / "plain")])
    assert plain.exit_code == 0, plain.output
    shown = runner.invoke(app, [*args, "--out", str(root / "shown"), "--policies"])
    assert shown.exit_code == 0, shown.output
    return root / "plain", root / "shown", shown.output


def _truth(folder: Path) -> dict:
    return json.loads((folder / "truth.json").read_text(encoding="utf-8"))


def test_the_policy_study_leaves_every_file_of_the_trial_as_it_was(simulated: tuple[Path, Path, str]) -> None:
    plain, shown, _ = simulated
    files = sorted(p.relative_to(plain) for p in plain.rglob("*") if p.is_file())
    assert {p for p in files} == {p.relative_to(shown) for p in shown.rglob("*") if p.is_file()
                                  and "model" not in p.relative_to(shown).parts}
    for name in files:
        if name.name != "truth.json":
            assert (plain / name).read_bytes() == (shown / name).read_bytes(), name
    before, after = _truth(plain), _truth(shown)
    assert {k: v for k, v in after.items() if k != "shown"} == before
    assert (shown / "model" / "model.json").is_file()


def test_each_cap_holds_and_lowers_concentration_and_crowding(simulated: tuple[Path, Path, str]) -> None:
    study = _truth(simulated[1])["shown"]
    policies = study["policies"]
    uncapped = policies["model"]
    relative = max(1, round(1.5 * study["uncapped_mean_exposure"]))
    assert f"model_cap_{relative}" in policies and "model_cap_10" in policies
    for name, policy in policies.items():
        if name.startswith("model_cap_"):
            cap = int(name.removeprefix("model_cap_"))
            assert policy["exposure"]["max_per_posting"] <= cap
            assert policy["mean_crowding"] <= uncapped["mean_crowding"] + 1e-9
            assert policy["exposure"]["top1pct_share"] <= uncapped["exposure"]["top1pct_share"] + 1e-9
    binding = policies[f"model_cap_{relative}"]
    assert binding["mean_crowding"] < uncapped["mean_crowding"]
    assert binding["exposure"]["gini"] < uncapped["exposure"]["gini"]


def test_the_policies_truths_are_ordered_as_their_lists_are_worth(simulated: tuple[Path, Path, str]) -> None:
    """The model's lists are worth more hires in the market than the automatch's, so it saves more days; every
    policy takes some jobs from the control arm (displacement)."""
    policies = _truth(simulated[1])["shown"]["policies"]
    model, auto = policies["model"], policies["automatch"]
    assert model["mean_utility"] > auto["mean_utility"]
    assert model["expected_hires_per_served"] > auto["expected_hires_per_served"]
    assert model["days_on_benefit_saved"]["treatment_arm"] > auto["days_on_benefit_saved"]["treatment_arm"] > 0
    for policy in policies.values():
        assert policy["days_on_benefit_saved"]["control_arm"] <= 0
        assert policy["expected_hires_per_served"] < policy["expected_hires_without_crowding"]


def test_simulate_prints_each_policy(simulated: tuple[Path, Path, str]) -> None:
    _, shown, output = simulated
    policies = _truth(shown)["shown"]["policies"]
    saved = policies["automatch"]["days_on_benefit_saved"]["treatment_arm"]
    assert f"Jobnet automatch: {saved:.2f} days" in output
    assert "model, cap 10 (the protocol's)" in output
    assert "model, no cap" in output


def test_the_demo_reuses_the_simulators_model_only_for_the_same_files(simulated: tuple[Path, Path, str]) -> None:
    """Same CVs, postings and hires: the saved model (training is deterministic); one hire fewer: trained anew."""
    from matcher.inputs import read_cvs, read_hires, read_postings
    from trial.demo import _trained
    from trial.secret import load_secret

    data = simulated[1]
    secret = load_secret(data / "secret.key")
    cvs, postings = read_cvs(data / "cvs.csv", secret=secret), read_postings(data / "postings.csv")
    hires = read_hires(data / "hires.csv", secret=secret)
    saved = json.loads((data / "model" / "model.json").read_text(encoding="utf-8"))["model_id"]
    assert _trained(data, cvs, postings, hires, lambda *_: None).meta["model_id"] == saved
    fresh = _trained(data, cvs, postings, hires.iloc[1:].reset_index(drop=True), lambda *_: None)
    assert "model_id" not in fresh.meta
    assert fresh.meta["metrics"]["hires_linked"] == len(hires) - 1
