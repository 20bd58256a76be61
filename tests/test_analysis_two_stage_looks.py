"""A two-stage design at a group-sequential look (issues 14 and 15): the look decides on the direct effect, a t on the
clusters' degrees of freedom, and its repeated interval uses the t with the boundary's tail."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from tests.two_stage import small_protocol, synthetic_trial
from trial.analysis import analyse
from trial.protocol import load_protocol


def _analysed(folder: Path, looks: str):
    path = small_protocol(folder)
    path.write_text(path.read_text(encoding="utf-8").replace("looks_months = [12]", f"looks_months = {looks}"),
                    encoding="utf-8")
    allocations, spells, _ = synthetic_trial(31, job_factor=1.5, displaced=0.6)
    # seven months after the first randomisation: past a first look at six months, before one at 24
    as_of = (allocations["randomised_on"].min() + pd.DateOffset(months=7)).strftime("%Y-%m-%d")
    return analyse(load_protocol(path), allocations, spells, as_of, bootstrap=200, seed=4)


def test_an_interim_look_decides_on_the_direct_effect_with_its_t(tmp_path: Path) -> None:
    result = _analysed(tmp_path, "[6, 24]")
    interim, direct = result.interim, result.effects.spillover.direct
    assert result.primary.name == interim.test == "spillover.direct"
    assert interim.look == 1 and interim.of == 2 and not interim.final
    t = direct.estimate / direct.se
    # the z that has the t's two-sided p on the clusters' degrees of freedom
    assert 2 * stats.norm.sf(abs(interim.z)) == pytest.approx(2 * stats.t.sf(abs(t), direct.df), rel=1e-9)
    assert math.copysign(1, interim.z) == math.copysign(1, t)
    critical = stats.t.ppf(1 - interim.p_boundary_two_sided / 2, direct.df)
    assert direct.rci == pytest.approx((direct.estimate - critical * direct.se, direct.estimate + critical * direct.se),
                                       abs=1e-9)
    assert result.primary.rci == direct.rci
    assert interim.crossed == (abs(interim.z) >= interim.z_boundary)
    assert interim.decision == ("continue" if not interim.crossed else "stop_for_benefit" if interim.z > 0
                                else "stop_for_harm")


def test_without_planned_looks_the_cluster_bootstrap_interval_is_of_record(tmp_path: Path) -> None:
    result = _analysed(tmp_path, "[]")
    direct = result.effects.spillover.direct
    assert direct.rci == direct.ci and result.primary.rci == direct.ci
    assert result.interim.decision == "final"
