"""Finance from a two-stage analysis (issue 15): the net effect multiplied, gross and net side by side; an individual
design's savings said to be gross."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.two_stage import ROLLOUT, small_protocol, synthetic_trial
from trial.analysis import analyse
from trial.cli import app
from trial.protocol import load_protocol

ROOT = Path(__file__).resolve().parents[1]
BC16 = ROOT / "protocols" / "bc16-jobmatch.toml"
runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def two_stage_analysis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("savings")
    protocol = load_protocol(small_protocol(folder))
    allocations, spells, _ = synthetic_trial(21, job_factor=1.5, displaced=0.7)
    path = folder / "analysis.json"
    path.write_text(analyse(protocol, allocations, spells, "2026-12-31", bootstrap=300, seed=3).to_json(),
                    encoding="utf-8")
    return path


def test_the_net_effect_is_multiplied_and_the_gross_shown_beside_it(two_stage_analysis: Path, tmp_path: Path) -> None:
    spill = json.loads(two_stage_analysis.read_text(encoding="utf-8"))["effects"]["spillover"]
    out = tmp_path / "savings.json"
    result = runner.invoke(app, ["savings", "--protocol", str(ROLLOUT), "--analysis", str(two_stage_analysis),
                                 "--json", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    found = json.loads(out.read_text(encoding="utf-8"))
    net, direct = spill["net_per_person"], spill["direct"]
    assert found["effect"]["name"] == "spillover.net_per_person"
    assert (found["effect"]["estimate"], found["effect"]["ci"]) == (net["estimate"], net["ci"])
    shown = found["displacement"]
    assert shown["design"] == "two_stage"
    assert (shown["gross"]["name"], shown["gross"]["estimate"], shown["gross"]["ci"]) == (
        "spillover.direct", direct["estimate"], direct["ci"])
    assert shown["net_per_year"] == found["trial_population"]["per_year"]
    # Kroner are linear in days (rounded to what each interval supports).
    per_day = found["trial_population"]["per_day_saved"]
    assert shown["gross_per_year"]["estimate"] == pytest.approx(direct["estimate"] * per_day, rel=0.05)
    assert "Gross and net: displacement" in result.output
    assert ("Two-stage design: net = everyone in jobcentres with recommendations against jobcentres without, "
            "displacement included (what a roll-out saves); gross = the direct effect, treated against untreated in "
            "the same jobcentres.") in result.output


def test_an_individual_analysis_says_its_savings_are_gross(tmp_path: Path) -> None:
    out = tmp_path / "savings.json"
    analysis = ROOT / "tests" / "data" / "analysis-0.1.0.json"
    result = runner.invoke(app, ["savings", "--protocol", str(BC16), "--analysis", str(analysis), "--json", str(out),
                                 "--lang", "en"])
    assert result.exit_code == 0, result.output
    shown = json.loads(out.read_text(encoding="utf-8"))["displacement"]
    assert shown["design"] == "individual" and shown["net"] is None
    line = ("Individual randomisation: these savings are gross. The trial cannot exclude that the treated took jobs "
            "other job seekers would have got (displacement); only a two-stage design measures it.")
    assert shown["note_en"] == line and line in result.output
    given = runner.invoke(app, ["savings", "--protocol", str(BC16), "--days-saved", "1", "--json", "-"])
    assert json.loads(given.output)["displacement"] is None
