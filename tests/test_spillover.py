"""The four estimands of a two-stage design (issue 15): exact identities, intervals that respect the clusters, the ICC
against statsmodels' mixed model, and the headline of a two-stage analysis."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.polynomial.hermite_e import hermegauss

from tests.two_stage import small_protocol, synthetic_trial
from trial.analysis import analyse
from trial.outcomes import OutcomeRules, build_outcomes
from trial.protocol import load_protocol
from trial.results import AnalysisResult
from trial.rmst import LifeTable, rmst
from trial.spillover import anova_icc, spillover_effects

HORIZON = 182
AS_OF = "2026-12-31"
OTHER_RATE = 0.003  # tests.two_stage.synthetic_trial's other exits


@pytest.fixture(scope="module")
def protocol(tmp_path_factory: pytest.TempPathFactory):
    return load_protocol(small_protocol(tmp_path_factory.mktemp("p")))


def estimands(protocol, seed: int, replicates: int = 200, **trial: float):
    """The spillover estimands of one synthetic trial, and its outcome table."""
    allocations, spells, _ = synthetic_trial(seed, **trial)
    table = build_outcomes(allocations, spells, OutcomeRules.from_protocol(protocol, AS_OF))
    found, _ = spillover_effects(table.benefit, table.frame, treatment_arm="treatment", horizon=HORIZON,
                                 as_of=pd.Timestamp(AS_OF), alpha=0.05, replicates=replicates, seed=seed)
    return found, table


def expected_days(rate: float, cluster_sd: float) -> float:
    """E[min(⌈T⌉, h)] of the time to any exit, T exponential (job `rate` × a log-normal cluster effect, other exits)."""
    nodes, weights = hermegauss(40)
    days = np.arange(HORIZON)
    strength = np.exp(cluster_sd * nodes)[:, None]
    return float((weights / weights.sum()) @ np.exp(-(rate * strength + OTHER_RATE) * days).sum(axis=1))


def test_the_estimands_add_up_exactly_without_censoring(protocol) -> None:
    """Without censoring each RMST is a mean, so direct = total − spillover and net is the people-weighted mix."""
    found, table = estimands(protocol, 3, replicates=0, job_factor=1.4, displaced=0.8)
    benefit = table.benefit
    assert ((benefit["benefit_ended"] == 1) | (benefit["benefit_time"] == HORIZON)).all()  # censored at h only
    for level in found.by_saturation.values():
        assert level.direct.estimate == pytest.approx(level.total_on_treated.estimate
                                                      - level.spillover_on_untreated.estimate, abs=1e-9)
        n_t, n_u = level.people["treated"], level.people["untreated"]
        mix = (n_t * level.total_on_treated.estimate + n_u * level.spillover_on_untreated.estimate) / (n_t + n_u)
        assert level.net_per_person.estimate == pytest.approx(mix, abs=1e-9)
    # Pooled: the levels' estimates weighted by their people (equal here).
    for name in ("direct", "total_on_treated", "spillover_on_untreated", "net_per_person"):
        levels = [getattr(b, name).estimate for b in found.by_saturation.values()]
        assert getattr(found, name).estimate == pytest.approx(np.mean(levels), abs=1e-9)
    assert found.clusters == {"0.0": 10, "0.5": 10, "0.8": 10}
    assert found.people == {"pure_control": 600, "treated": 780, "untreated": 420}


def test_an_individual_interval_is_too_narrow_when_clusters_differ(protocol) -> None:
    """Clusters that differ in job chances (ICC ≈ 0.1): the survRM2 interval, which treats people as independent,
    misses the truth of the total effect at 50% far more often than the cluster-bootstrap interval (40 trials: 22 and
    39 covered, the cluster interval 2.4 times as wide)."""
    sd, factor = 0.5, 1.3
    truth = expected_days(1 / 70, sd) - expected_days(factor / 70, sd)
    cluster_hits = naive_hits = 0
    widths = []
    for seed in range(40):
        found, table = estimands(protocol, 100 + seed, cluster_sd=sd, job_factor=factor, displaced=1.0)
        effect = found.by_saturation["0.5"].total_on_treated
        cluster_hits += effect.ci[0] <= truth <= effect.ci[1]
        benefit = table.benefit
        groups = [benefit[benefit["saturation"] == 0], benefit[(benefit["saturation"] == 0.5)
                                                              & (benefit["arm"] == "treatment")]]
        fits = [rmst(LifeTable.from_data(g["benefit_time"], g["benefit_ended"]), HORIZON) for g in groups]
        naive_se = np.hypot(fits[0].se, fits[1].se)
        naive_hits += abs(fits[0].estimate - fits[1].estimate - truth) <= 1.96 * naive_se
        widths.append(effect.se / naive_se)
    assert found.icc.estimate > 0.03
    assert np.median(widths) > 1.6
    assert cluster_hits >= 36 and naive_hits <= 30, (cluster_hits, naive_hits)


def test_the_bootstrap_agrees_with_statsmodels_cluster_robust_errors(protocol) -> None:
    found, _ = estimands(protocol, 7, replicates=1000, cluster_sd=0.4, job_factor=1.4, displaced=0.8)
    for name in ("direct", "total_on_treated", "spillover_on_untreated", "net_per_person"):
        effect = getattr(found, name)
        assert effect.se == pytest.approx(effect.se_cluster_robust, rel=0.2), name
        assert effect.df == (18 if name == "direct" else 27)
        for level in found.by_saturation.values():
            one = getattr(level, name)
            assert one.se == pytest.approx(one.se_cluster_robust, rel=0.25), name


def test_the_icc_is_the_variance_component_of_statsmodels_mixed_model() -> None:
    """With equal clusters the ANOVA estimator is the REML estimate of a random-intercept model (when positive)."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(40), 25)
    values = 2.0 * rng.standard_normal(40)[groups] + 5.0 * rng.standard_normal(len(groups))
    fit = MixedLM(values, np.ones((len(values), 1)), groups).fit(reml=True)
    between, within = float(np.asarray(fit.cov_re)[0, 0]), float(fit.scale)
    assert anova_icc(values, groups) == pytest.approx(between / (between + within), rel=1e-4)
    assert anova_icc(5.0 * rng.standard_normal(1000), groups) == pytest.approx(0.0, abs=0.03)


def test_a_two_stage_analysis_headlines_the_direct_effect_and_its_file_loads(protocol, tmp_path: Path) -> None:
    allocations, spells, _ = synthetic_trial(11, job_factor=1.4, displaced=0.8)
    result = analyse(protocol, allocations, spells, AS_OF, bootstrap=200, seed=2)
    direct = result.effects.spillover.direct
    assert result.primary.name == "spillover.direct" and result.primary.estimate == direct.estimate
    assert result.primary.ci == direct.ci and result.primary.adjusted is False
    assert any(note.startswith("two-stage design: the primary effect is spillover.direct") for note in result.notes)
    path = tmp_path / "analysis.json"
    path.write_text(result.to_json(), encoding="utf-8")
    again = AnalysisResult.load(path)
    assert again.effects.spillover == result.effects.spillover
    data = json.loads(path.read_text(encoding="utf-8"))["effects"]["spillover"]
    assert set(data["by_saturation"]) == {"0.5", "0.8"}
    assert set(data["by_saturation"]["0.5"]["employment"]) >= {"direct", "net_per_person", "n_complete"}
    assert {"estimate", "ci", "p"} <= set(data["spillover_on_untreated"])
    assert data["curves"]["0.0"]["pure_control"]["survival"][0] == 1.0


def test_allocations_without_clusters_are_refused_in_one_line(protocol) -> None:
    allocations, spells, _ = synthetic_trial(1, clusters_per_level=2, people=10)
    with pytest.raises(Exception) as caught:
        analyse(protocol, allocations.drop(columns=["saturation"]), spells, AS_OF, bootstrap=0)
    assert str(caught.value) == (
        "a two-stage design's analysis needs each person's cluster and its saturation, but the allocations lack "
        "'saturation' (trial export writes them; an allocation file needs the columns cluster and saturation)"
    )
