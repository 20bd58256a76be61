"""Rossi et al. (1980) analysed as a trial through the real CLI: financial aid = treatment, arrest = event, 364 days.

Reference figures are those of tests/data/README.md (lifelines 0.30.3, agreeing with R's survival and survRM2).
"""

from __future__ import annotations

import json
from importlib import metadata

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.rossi import DATA, ORIGIN, write_rossi
from trial.cli import app

PROTOCOL = """
id = "rossi-1980"
title = "Financial aid for released prisoners (Rossi, Berk & Lenihan 1980)"
version = "1"

[eligibility]

[[arms]]
name = "aid"
role = "treatment"

[[arms]]
name = "no_aid"
role = "control"

[randomisation]
block_sizes = [2]

[outcomes]
event_exits = ["arrest"]
competing_exits = []
horizon_days = 364
landmarks_days = [91, 182]

[analysis]
covariates = ["age", "race", "wexp", "mar", "paro", "prio"]
subgroups = ["wexp"]
bootstrap = 500
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("rossi")
    paths = write_rossi(folder, PROTOCOL, exit_name="arrest")
    out = folder / "analysis.json"
    as_of = (ORIGIN + pd.Timedelta(days=364)).date().isoformat()
    run = CliRunner().invoke(
        app,
        [
            "analyse", "--protocol", str(paths["protocol"]), "--allocations", str(paths["allocations"]),
            "--outcomes", str(paths["spells"]), "--as-of", as_of, "--json", str(out), "--seed", "7",
        ],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    # One language per output: the protocol's (Danish), never a "Dage sparet / days saved" mix.
    assert "Dage sparet (tid til job" in run.output and "days saved" not in run.output.lower()
    return json.loads(out.read_text(encoding="utf-8"))


def test_cox_matches_reference(result: dict) -> None:
    """R survival: coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = carData::Rossi,
    ties = "efron") gives fin -0.3794 (se 0.1914, p 0.047), age -0.0574, prio 0.0915 (tests/data/README.md)."""
    adjusted = result["effects"]["hazard_ratio_adjusted"]
    coefficients = adjusted["coefficients"]
    assert coefficients["treated"]["coef"] == pytest.approx(-0.3794, abs=5e-5)
    assert coefficients["treated"]["se"] == pytest.approx(0.1914, abs=5e-5)
    assert adjusted["p"] == pytest.approx(0.047, abs=5e-4)
    assert adjusted["estimate"] == pytest.approx(np.exp(-0.3794), rel=1e-4)
    assert coefficients["age"]["coef"] == pytest.approx(-0.0574, abs=5e-5)
    assert coefficients["prio"]["coef"] == pytest.approx(0.0915, abs=5e-5)
    assert coefficients["wexp=yes"]["coef"] == pytest.approx(-0.1498, abs=5e-5)
    assert coefficients["paro=yes"]["coef"] == pytest.approx(-0.0849, abs=5e-5)
    # The reference codes race black = 1 and married = 1; indicators against the first level flip the sign.
    assert coefficients["race=other"]["coef"] == pytest.approx(-0.3139, abs=5e-5)
    assert coefficients["race=other"]["se"] == pytest.approx(0.3080, abs=5e-5)
    assert coefficients["mar=not married"]["coef"] == pytest.approx(0.4337, abs=5e-5)


def test_logrank_matches_reference(result: dict) -> None:
    """R survival: survdiff(Surv(week, arrest) ~ fin, data = carData::Rossi) gives Chisq = 3.838 on 1 df, p = 0.0501."""
    assert result["effects"]["logrank"]["statistic"] == pytest.approx(3.838, abs=5e-4)
    assert result["effects"]["logrank"]["p"] == pytest.approx(0.0501, abs=5e-5)


def test_rmst_matches_survrm2(result: dict) -> None:
    """R survRM2: rmst2(Rossi$week, Rossi$arrest, Rossi$fin == "yes", tau = 52) gives RMST 46.875 (se 0.7933) with aid
    and 44.833 (se 0.9177) without, in weeks (the data README lists the variances 0.6294 and 0.8421)."""
    aid, no_aid = result["arms"]["aid"], result["arms"]["no_aid"]
    assert aid["rmst_days"] / 7 == pytest.approx(46.875, abs=5e-4)
    assert no_aid["rmst_days"] / 7 == pytest.approx(44.833, abs=5e-4)
    # survRM2's standard errors in weeks; their squares are the figures listed in the data README.
    assert (aid["rmst_se"] / 7) ** 2 == pytest.approx(0.6294, abs=5e-5)
    assert (no_aid["rmst_se"] / 7) ** 2 == pytest.approx(0.8421, abs=5e-5)
    days = result["effects"]["days_saved"]
    assert days["estimate"] / 7 == pytest.approx(44.833 - 46.875, abs=5e-4)
    se = np.hypot(aid["rmst_se"], no_aid["rmst_se"])
    assert days["ci"] == pytest.approx([days["estimate"] - 1.959964 * se, days["estimate"] + 1.959964 * se])


def test_bootstrap_agrees_with_analytic_se(result: dict) -> None:
    days = result["effects"]["days_saved"]
    assert days["se_bootstrap"] == pytest.approx(days["se"], rel=0.15)
    low, high = days["ci_bootstrap"]
    assert low < days["estimate"] < high
    assert result["meta"]["bootstrap"] == {"replicates": 500, "seed": 7, "method": "percentile, resampling within arms"}


def test_counts_and_provenance(result: dict) -> None:
    assert result["counts"]["allocated"] == {"aid": 216, "no_aid": 216, "total": 432}
    assert result["arms"]["aid"]["events"] == 48
    assert result["arms"]["no_aid"]["events"] == 66
    assert sum(result["data_quality"].values()) == 0
    assert len(result["meta"]["inputs"]["outcomes"]["sha256"]) == 64
    assert result["meta"]["packages"]["lifelines"] == metadata.version("lifelines")
    # Nobody is at risk beyond their own time: the first count is everyone, counts never rise.
    at_risk = result["at_risk"]["by_arm"]["aid"]
    assert at_risk[0] == 216 and np.all(np.diff(at_risk) <= 0)


def test_km_curve_agrees_with_rmst(result: dict) -> None:
    """The area under the published KM step curve to the horizon is the RMST (an independent integration)."""
    curve = result["curves"]["km"]["aid"]
    time = np.array([*curve["time"], 364.0])
    area = float(np.sum(np.diff(time) * np.array(curve["survival"])))
    assert area == pytest.approx(result["arms"]["aid"]["rmst_days"], rel=1e-9)


def test_ph_test_equals_lifelines_own() -> None:
    """The vectorised Schoenfeld residuals give lifelines' own proportional-hazards test on Rossi."""
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    from trial.cox import ph_test

    rossi = pd.read_csv(DATA / "rossi.csv")
    frame = pd.DataFrame(
        {"time": rossi["week"] * 7.0, "event": rossi["arrest"], "treated": (rossi["fin"] == "yes").astype(int)}
    )
    design = pd.DataFrame({"age": rossi["age"].astype(float), "prio": rossi["prio"].astype(float)})
    data = pd.concat([frame, design], axis=1)
    model = CoxPHFitter().fit(data, "time", "event")
    theirs = proportional_hazard_test(model, data, time_transform="km").summary
    ours = ph_test(model, frame, design).per_covariate
    for name in ("treated", "age", "prio"):
        assert ours[name].statistic == pytest.approx(theirs.loc[name, "test_statistic"], rel=1e-9)


def test_subgroup_hazard_ratios_equal_separate_fits(result: dict) -> None:
    """Each level's hazard ratio is that of a separate lifelines fit within the level."""
    from lifelines import CoxPHFitter

    rossi = pd.read_csv(DATA / "rossi.csv")
    for row in result["subgroups"]:
        part = rossi[rossi["wexp"] == row["level"]]
        data = pd.DataFrame({"time": part["week"] * 7, "event": part["arrest"], "aid": (part["fin"] == "yes") * 1})
        model = CoxPHFitter().fit(data, "time", "event")
        assert row["hazard_ratio"]["estimate"] == pytest.approx(float(np.exp(model.params_["aid"])), rel=1e-6)
        assert row["n_by_arm"]["aid"] == int((part["fin"] == "yes").sum())


def test_interaction_test_equals_the_stratified_model_with_an_arm_effect_per_level(result: dict) -> None:
    """The Wald interaction test equals the one of a single Cox model stratified by level (lifelines)."""
    from lifelines import CoxPHFitter
    from scipy.stats import chi2

    rossi = pd.read_csv(DATA / "rossi.csv")
    aid = (rossi["fin"] == "yes").astype(float)
    data = pd.DataFrame({
        "time": rossi["week"] * 7,
        "event": rossi["arrest"],
        "level": rossi["wexp"],
        "aid_no": aid * (rossi["wexp"] == "no"),
        "aid_yes": aid * (rossi["wexp"] == "yes"),
    })
    model = CoxPHFitter().fit(data, "time", "event", strata=["level"])
    difference = model.params_["aid_yes"] - model.params_["aid_no"]
    cov = model.variance_matrix_
    variance = cov.loc["aid_yes", "aid_yes"] + cov.loc["aid_no", "aid_no"] - 2 * cov.loc["aid_yes", "aid_no"]
    statistic = difference**2 / variance
    ours = result["subgroup_interactions"]["wexp"]
    assert ours["statistic"] == pytest.approx(statistic, rel=1e-5)
    assert ours["p"] == pytest.approx(chi2.sf(statistic, 1), rel=1e-5) and ours["df"] == 1
