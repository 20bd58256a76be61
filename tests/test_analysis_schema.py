"""End to end on a real ledger: enrol with the CLI, log recommendations, analyse; the JSON is the typed contract."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.factory import claimant_rows, write_claimants
from trial.cli import app
from trial.errors import InputError
from trial.ledger import Ledger
from trial.results import AnalysisResult, analysis_schema
from trial.secret import pseudonymise

ROOT = Path(__file__).parents[1]
SECRET = "schema-test-secret-0123456789"
ENROLLED_ON = date(2020, 1, 15)


@pytest.fixture(scope="module")
def trial_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("ledger")
    env = {"TRIAL_SECRET": SECRET}
    runner = CliRunner()
    db = folder / "bc16.db"
    assert runner.invoke(app, ["init", "--protocol", str(ROOT / "protocols/bc16-jobmatch.toml"), "--db", str(db)],
                         env=env).exit_code == 0  # fmt: skip
    rows = claimant_rows(400, seed=5, as_of=ENROLLED_ON)
    claimants = write_claimants(folder / "claimants.csv", rows)
    run = runner.invoke(app, ["enrol", str(claimants), "--db", str(db), "--as-of", ENROLLED_ON.isoformat()], env=env)
    assert run.exit_code == 0, run.output

    rng = np.random.default_rng(3)
    cprs = pd.Series([r["cpr"] for r in rows])
    ids = pseudonymise(cprs, SECRET.encode())
    with Ledger.open(db) as ledger:
        allocations = ledger.allocations()
        arm = dict(zip(allocations["person_id"], allocations["arm"], strict=True))
        treated = [p for p in ids if arm.get(p) == "treatment"]
        shown = treated[: int(0.8 * len(treated))]
        ledger.log_recommendations([(p, f"post-{i}", 1) for i, p in enumerate(shown)], datetime(2020, 1, 20, 10))
        ledger.withdraw(treated[0], "ønsker ikke at deltage", date(2020, 2, 1))
    days = np.ceil(rng.exponential([80 if arm.get(p) == "treatment" else 100 for p in ids])).astype(int)
    end = pd.Timestamp(ENROLLED_ON) + pd.to_timedelta(days, unit="D")
    # Shown on 20 January, 5 days after randomisation: received only by those whose spell lasted beyond day 5.
    on_benefit = {p for p, d in zip(ids, days, strict=True) if d > 5}
    as_of = pd.Timestamp("2020-09-30")
    spells = pd.DataFrame(
        {
            "cpr": cprs,
            "start": [r["registered_on"] for r in rows],
            "end": np.where(end <= as_of, end.strftime("%Y-%m-%d"), ""),
            "exit": np.where(end <= as_of, rng.choice(["employment", "employment", "education"], len(rows)), ""),
        }
    )
    spells.to_csv(folder / "spells.csv", index=False)
    out = folder / "analysis.json"
    run = runner.invoke(app, ["analyse", "--db", str(db), "--outcomes", str(folder / "spells.csv"),
                              "--as-of", "2020-09-30", "--bootstrap", "200", "--json", str(out)], env=env)  # fmt: skip
    assert run.exit_code == 0, run.output
    return {"result": json.loads(out.read_text(encoding="utf-8")), "allocations": allocations, "shown": len(shown),
            "shown_on_benefit": len(on_benefit.intersection(shown)),
            "rows": len(rows), "output": run.output, "path": out}  # fmt: skip


def test_output_loads_as_the_model(trial_run: dict[str, Any]) -> None:
    """The file `trial analyse --json` writes is read back by the one validator, unchanged."""
    loaded = AnalysisResult.load(trial_run["path"])
    assert loaded.model_dump(mode="json") == trial_run["result"]
    assert loaded.control.n == trial_run["result"]["arms"]["control"]["n"]


def test_committed_schema_is_the_generated_one() -> None:
    """docs/analysis.schema.json is generated from the model (python -m trial.results); it may not drift."""
    assert (ROOT / "docs" / "analysis.schema.json").read_text(encoding="utf-8") == analysis_schema()


def test_a_file_of_the_first_release_still_loads() -> None:
    """tests/data/analysis-0.1.0.json was written by release 0.1.0 (`make demo`, seed 1): figures unchanged."""
    old = AnalysisResult.load(ROOT / "tests" / "data" / "analysis-0.1.0.json")
    assert old.effects.days_saved.estimate == pytest.approx(9.803505992165839, rel=1e-15)
    assert old.effects.days_saved.ci_bootstrap[0] is not None
    # The flat at-risk shape of 0.1.0 ({"times", "control", "treatment"}) is read into by_arm.
    assert old.at_risk.by_arm["control"][:2] == [826, 506] and old.at_risk.at("control", 30) == 506
    assert old.treatment.n == 832 and old.interim is not None and old.interim.look == 1


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (lambda d: d["arms"]["control"].update(n="many"),
         "analysis.json: not the JSON of `trial analyse`: key 'arms.control.n': Input should be a valid integer, "
         "unable to parse string as an integer (got 'many')"),
        (lambda d: d["effects"]["days_saved"].pop("estimate"),
         "analysis.json: not the JSON of `trial analyse`: missing field 'effects.days_saved.estimate'"),
        (lambda d: d["effects"].update(days_safed={}),
         "analysis.json: not the JSON of `trial analyse`: unknown key 'effects.days_safed'"),
    ],
    ids=["wrong type", "missing", "misspelt"],
)
def test_a_broken_file_gets_one_line_naming_the_field(
    trial_run: dict[str, Any], tmp_path: Path, change: Any, line: str
) -> None:
    broken = json.loads(json.dumps(trial_run["result"]))
    change(broken)
    path = tmp_path / "analysis.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        AnalysisResult.load(path)
    assert str(caught.value) == str(tmp_path / line)


def test_not_json_at_all(tmp_path: Path) -> None:
    path = tmp_path / "analysis.json"
    path.write_text("{ not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"analysis.json: not the JSON of `trial analyse`: invalid JSON"):
        AnalysisResult.load(path)


def test_everyone_is_accounted_for(trial_run: dict[str, Any]) -> None:
    result, allocations = trial_run["result"], trial_run["allocations"]
    counts = result["counts"]
    assert counts["allocated"]["total"] == len(allocations)
    assert counts["analysed"]["total"] + sum(sum(v.values()) for v in counts["without_outcome"].values()) == len(
        allocations
    )
    # Claimants screened out have spells but no allocation: counted, not silently dropped.
    assert result["data_quality"]["spell_of_person_not_allocated"] == trial_run["rows"] - len(allocations)
    assert counts["withdrawn"] == {"treatment": 1, "control": 0}
    assert result["meta"]["inputs"]["ledger"]["head_hash"]
    assert result["meta"]["protocol"]["id"] == "bc16-jobmatch"


def test_receipt_and_complier_effect(trial_run: dict[str, Any]) -> None:
    """Receipt counts recommendations shown while the person was still in the index spell; the rest are counted."""
    result = trial_run["result"]
    receipt = result["receipt"]
    assert trial_run["shown_on_benefit"] < trial_run["shown"]  # some had left benefit by the day of showing
    assert receipt["treatment"]["received"] == trial_run["shown_on_benefit"]
    assert result["data_quality"]["recommendations_outside_index_spell"] == trial_run["shown"] - receipt["treatment"][
        "received"
    ]
    assert receipt["control"]["received"] == 0  # the ledger refuses to log recommendations for the control arm
    gap = receipt["treatment"]["share"] - receipt["control"]["share"]
    for name, itt in (("cace_days_saved", "days_saved"), ("cace_benefit_days_saved", "benefit_days_saved")):
        cace = result["effects"][name]
        assert cace["receipt_difference"] == pytest.approx(gap) and cace["outcome"] == itt
        assert cace["estimate"] == pytest.approx(result["effects"][itt]["estimate"] / gap)
        assert cace["ci"][0] < cace["estimate"] < cace["ci"][1] and "same resampled people" in cace["method"]
        assert any("exclusion restriction" in a for a in cace["assumptions"])


def test_summary_is_printed_without_json(trial_run: dict[str, Any]) -> None:
    assert "Primært effektmål [benefit_days_saved_adjusted]" in trial_run["output"]
    assert "Dage sparet (tid til job, andre afgange censureret):" in trial_run["output"]
    assert "Hazard ratio" in trial_run["output"]
