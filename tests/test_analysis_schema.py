"""End to end on a real ledger: enrol with the CLI, log recommendations, analyse; the JSON must satisfy its schema."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.factory import claimant_rows, write_claimants
from trial.cli import app
from trial.ledger import Ledger
from trial.secret import pseudonymise

ROOT = Path(__file__).parents[1]
SCHEMA = json.loads((ROOT / "docs" / "analysis.schema.json").read_text(encoding="utf-8"))
SECRET = "schema-test-secret-0123456789"
ENROLLED_ON = date(2020, 1, 15)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMA["$defs"][schema["$ref"].split("/")[-1]]
    return schema


def violations(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """The subset of JSON Schema the document uses: $ref, type, required, properties, additionalProperties, items,
    allOf, oneOf, pattern, minItems, maxItems (jsonschema is not a dependency of the project)."""
    schema = _resolve(schema)
    found: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        checks = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "null": lambda v: v is None,
        }
        if not any(checks[k](value) for k in kinds):
            return [f"{where}: {value!r:.60} is not {kinds}"]
    for part in schema.get("allOf", []):
        found += violations(value, part, where)
    if "oneOf" in schema and sum(not violations(value, s, where) for s in schema["oneOf"]) != 1:
        found.append(f"{where}: matches not exactly one of oneOf")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        found.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 10**9):
            found.append(f"{where}: wrong length {len(value)}")
        if "items" in schema:
            for i, item in enumerate(value):
                found += violations(item, schema["items"], f"{where}[{i}]")
    if isinstance(value, dict):
        found += [f"{where}: missing '{key}'" for key in schema.get("required", []) if key not in value]
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                found += violations(item, properties[key], f"{where}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                found += violations(item, schema["additionalProperties"], f"{where}.{key}")
    return found


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
            "rows": len(rows), "output": run.output}  # fmt: skip


def test_output_satisfies_schema(trial_run: dict[str, Any]) -> None:
    assert violations(trial_run["result"], SCHEMA) == []


def test_validator_catches_a_broken_result(trial_run: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(trial_run["result"]))
    del broken["effects"]["days_saved"]["ci_bootstrap"]
    broken["arms"]["control"]["n"] = "many"
    problems = violations(broken, SCHEMA)
    assert any("ci_bootstrap" in p for p in problems) and any("arms.control.n" in p for p in problems)


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
    result = trial_run["result"]
    receipt = result["receipt"]
    assert receipt["treatment"]["received"] == trial_run["shown"]
    assert receipt["control"]["received"] == 0  # the ledger refuses to log recommendations for the control arm
    gap = receipt["treatment"]["share"] - receipt["control"]["share"]
    cace = result["effects"]["cace_days_saved"]
    assert cace["receipt_difference"] == pytest.approx(gap)
    assert cace["estimate"] == pytest.approx(result["effects"]["days_saved"]["estimate"] / gap)
    assert abs(cace["se"]) >= abs(result["effects"]["days_saved"]["se"] / gap)


def test_summary_is_printed_without_json(trial_run: dict[str, Any]) -> None:
    assert "Dage sparet / days saved" in trial_run["output"]
    assert "Hazard ratio" in trial_run["output"]
