"""The Digital Jobunivers pilot as a second trial: it loads, enrols, is powered and costed from the file alone."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trial.cli import app
from trial.ledger import Ledger
from trial.protocol import load_protocol
from trial.savings import savings

ROOT = Path(__file__).resolve().parents[1]
DJU_FILE = ROOT / "protocols" / "digital-jobunivers.toml"
# A fixed, wide terminal: the tests read figures from the tables, whatever $COLUMNS the CI sets.
runner = CliRunner(env={"COLUMNS": "200"})


def test_protocol_loads_with_the_seed_design() -> None:
    p = load_protocol(DJU_FILE)
    assert p.id == "digital-jobunivers"
    assert (p.treatment_arm, p.control_arm) == ("digital", "usual")
    assert p.eligibility.benefit == ["dagpenge"]
    assert p.eligibility.require == {"uncomplicated_work_history": True, "clarified_job_goal": True}
    assert p.outcomes.primary == "binary" and p.outcomes.binary is not None
    assert p.outcomes.binary.hypothesis_treatment == 0.30  # the seed's "op mod 30%"
    assert "time_to_employment" in p.outcomes.secondary and "conversations_avoided" in p.outcomes.secondary
    assert p.finance.investment == 2_000_000  # 1.000 t.kr. a year for 24 months
    assert p.finance.haircut == 0.5  # the suppliers' figures halved


def test_every_figure_without_a_seed_source_is_labelled_an_assumption() -> None:
    lines = DJU_FILE.read_text(encoding="utf-8").splitlines()
    for key in (
        "cost_per_conversation",
        "hours_per_conversation",
        "hours_per_fte",
        "hypothesis_control",
        "eligible_per_year",
        "conversations_per_citizen",
        "spells_per_year",
        "daily_cost",
    ):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{key} ="))
        # The comment lines right above the key (up to the previous key) say where the figure comes from.
        above = []
        for line in reversed(lines[:at]):
            if not line.startswith("#") and "=" in line:
                break
            above.append(line)
        assert any(re.match(r"# (ASSUMPTION|DERIVED)", line) for line in above), key


def test_conversations_model_reproduces_the_seed() -> None:
    conv = savings(load_protocol(DJU_FILE), None).model_dump(mode="json")["conversations"]
    assert conv["share_source"] == "hypothesis" and conv["share"] == 0.30
    # Seed: 30% self-reliant ≈ 19.000 dagpenge conversations in the first year.
    assert conv["conversations_avoided"]["estimate"] == pytest.approx(19_000, rel=0.01)
    # Seed: suppliers' 20-35 mio. kr., reduced by 50%.
    assert (conv["suppliers"]["low_after_haircut"], conv["suppliers"]["high_after_haircut"]) == (10e6, 17.5e6)
    # Independent arithmetic: conversations × cost × haircut; hours / hours per FTE × haircut.
    n = 36_000 * 1.76 * 0.30
    assert conv["per_year"]["estimate"] == pytest.approx(n * 300 * 0.5)
    assert conv["fte_freed"]["estimate"] == pytest.approx(n * 1.0 / 1_924 * 0.5)
    # The halved FTE figure sits inside the seed's halved range of 6-20 årsværk (3-10).
    assert 3 <= conv["fte_freed"]["estimate"] <= 10
    assert conv["break_even_share"] == pytest.approx(2_000_000 / (36_000 * 1.76 * 300 * 0.5))


def test_measured_share_with_interval_is_carried_through() -> None:
    conv = savings(load_protocol(DJU_FILE), None, share=0.12, share_ci=(0.05, 0.19)).model_dump(mode="json")
    conv = conv["conversations"]
    per_share = 36_000 * 1.76
    assert conv["conversations_avoided"]["ci"] == pytest.approx([0.05 * per_share, 0.19 * per_share])
    assert conv["share_source"] == "given"


def test_cli_check_power_and_savings_work_on_the_dju_protocol(tmp_path: Path) -> None:
    check = runner.invoke(app, ["protocol", "check", str(DJU_FILE)])
    assert check.exit_code == 0, check.output
    assert load_protocol(DJU_FILE).fingerprint in check.output

    out = tmp_path / "power.json"
    power = runner.invoke(app, ["power", "--protocol", str(DJU_FILE), "--inflow-per-month", "300", "--json", str(out)])
    assert power.exit_code == 0, power.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["binary"]["n_per_arm"] < data["detectable"]["n_per_arm"]  # the pilot is powered for its primary
    assert data["interim"]["looks_months"] == [12, 24]

    out = tmp_path / "savings.json"
    cost = runner.invoke(
        app,
        [
            "savings",
            "--protocol",
            str(DJU_FILE),
            "--days-saved",
            "2",
            "--share",
            "0.2",
            "--json",
            str(out),
            "--lang",
            "en",
        ],
    )
    assert cost.exit_code == 0, cost.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["target_groups"][0]["per_year"]["estimate"] == pytest.approx(2 * 36_000 * 360 * 0.5)
    assert data["conversations"]["conversations_avoided"]["estimate"] == pytest.approx(0.2 * 36_000 * 1.76)
    assert "Full-time equivalents freed" in cost.output


def test_dju_analysis_json_supplies_the_share(tmp_path: Path) -> None:
    # A real analysis file (release 0.1.0's demo) carrying the pilot's binary outcome.
    data = json.loads((ROOT / "tests" / "data" / "analysis-0.1.0.json").read_text(encoding="utf-8"))
    data["effects"]["days_saved"].update(estimate=1.5, ci=[-0.5, 3.5])
    data["effects"]["binary"] = {
        "name": "self_reliant", "column": "self_reliant", "missing": 0,
        "arms": {"digital": {"n": 100, "yes": 41, "proportion": 0.41, "ci": [0.32, 0.51]},
                 "usual": {"n": 100, "yes": 20, "proportion": 0.20, "ci": [0.13, 0.29]}},
        "difference": {"estimate": 0.21, "ci": [0.15, 0.27], "p": 0.001},
    }  # fmt: skip
    analysis = tmp_path / "analysis.json"
    analysis.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "s.json"
    result = runner.invoke(
        app, ["savings", "--protocol", str(DJU_FILE), "--analysis", str(analysis), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    conv = json.loads(out.read_text(encoding="utf-8"))["conversations"]
    assert conv["share"] == 0.21 and conv["share_ci"] == [0.15, 0.27] and conv["share_source"] == "given"


def _cpr(born: date, serial: int) -> str:
    return f"{born:%d%m%y}-{serial:04d}"


def test_enrolment_screens_on_the_dju_requirements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAL_SECRET", "dju-test-secret-" + "x" * 40)
    db = tmp_path / "dju.db"
    init = runner.invoke(app, ["init", "--protocol", str(DJU_FILE), "--db", str(db)])
    assert init.exit_code == 0, init.output
    as_of = date(2026, 3, 2)
    header = "cpr,registered_on,education_level,benefit,has_cv,uncomplicated_work_history,clarified_job_goal\n"
    rows = []
    for i in range(40):
        born = date(1980, 1, 1) + timedelta(days=97 * i)
        history = "ja" if i % 4 != 0 else "nej"  # every 4th has a complicated work history
        goal = "true" if i % 5 != 0 else "false"  # every 5th has no clarified job goal
        benefit = "dagpenge" if i != 7 else "kontanthjaelp"
        rows.append(f"{_cpr(born, 1000 + i)},{as_of - timedelta(days=3)},LVU,{benefit},true,{history},{goal}")
    claimants = tmp_path / "claimants.csv"
    claimants.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    enrol = runner.invoke(app, ["enrol", str(claimants), "--db", str(db), "--as-of", as_of.isoformat()])
    assert enrol.exit_code == 0, enrol.output
    eligible = sum(1 for i in range(40) if i % 4 != 0 and i % 5 != 0 and i != 7)
    with Ledger.open(db) as ledger:
        allocations = ledger.allocations()
    assert len(allocations) == eligible
    assert set(allocations["arm"]) == {"digital", "usual"}
