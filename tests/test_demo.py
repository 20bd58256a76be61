"""`trial demo` end to end through the real CLI on a small simulated trial."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from trial.cli import app
from trial.ledger import Ledger

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "demo-output"
    result = runner.invoke(app, ["demo", "--out", str(out), "--claimants", "3000", "--seed", "3"])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_demo_tells_every_step(demo: tuple[Path, str]) -> None:
    out, output = demo
    for step in range(1, 8):
        assert f"{step}/7 " in output
    assert output.rstrip().splitlines()[-1].endswith((str(out), "report.html"))
    assert (out / "trial.db").is_file()
    assert (out / "data" / "truth.json").is_file()


def test_demo_enrols_the_arms_the_simulation_assumed(demo: tuple[Path, str]) -> None:
    out, _ = demo
    truth = json.loads((out / "data" / "truth.json").read_text(encoding="utf-8"))
    with Ledger.open(out / "trial.db") as ledger:
        assert ledger.verify_chain().ok
        allocations = ledger.allocations()
    counts = allocations["arm"].value_counts().to_dict()
    assert counts == truth["six_month"]["arms"]
    assert pd.to_datetime(allocations["randomised_on"]).max() <= pd.Timestamp(truth["six_month"]["as_of"])


def test_demo_estimates_days_saved_at_the_six_month_cut(demo: tuple[Path, str]) -> None:
    out, _ = demo
    result = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    truth = json.loads((out / "data" / "truth.json").read_text(encoding="utf-8"))
    days = result["effects"]["days_saved"]
    assert result["meta"]["as_of"] == truth["six_month"]["as_of"]
    assert days["ci"][0] < days["estimate"] < days["ci"][1]
    assert abs(days["estimate"] - truth["six_month"]["itt_days_saved"]) < 5 * days["se"]


def test_demo_prints_each_estimand_beside_its_truth(demo: tuple[Path, str]) -> None:
    out, output = demo
    result = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    six = json.loads((out / "data" / "truth.json").read_text(encoding="utf-8"))["six_month"]
    effects = result["effects"]
    assert result["primary"]["name"] == "benefit_days_saved_adjusted"
    for name, truth in (
        ("benefit_days_saved_adjusted", six["itt_benefit_days_saved"]),
        ("benefit_days_saved", six["itt_benefit_days_saved"]),
        ("days_saved", six["itt_days_saved"]),
    ):
        assert abs(effects[name]["estimate"] - truth) < 5 * effects[name]["se"], name
    flat = " ".join(output.split())
    assert "days on benefit saved, adjusted for the strata [primary]:" in flat
    assert f"truth {six['itt_benefit_days_saved']:.1f}" in flat and f"truth {six['itt_days_saved']:.1f}" in flat
    savings = json.loads((out / "savings.json").read_text(encoding="utf-8"))
    assert savings["effect"]["name"] == "benefit_days_saved_adjusted"
    assert savings["effect"]["estimate"] == effects["benefit_days_saved_adjusted"]["estimate"]
    assert savings["trial_population"]["persons_source"] == "ledger"


def test_no_cpr_number_leaves_the_data_folder(demo: tuple[Path, str]) -> None:
    out, output = demo
    # Ten digits, not the decimals of a figure (2947752.4276170703 is a present value, not a CPR number).
    cpr = re.compile(r"(?<![.\w])\d{6}-?\d{4}(?!\w)")
    assert not cpr.search(output)
    # Everything outside the simulated registry folder: outputs, the ledger's bytes, the model.
    checked = 0
    for path in out.rglob("*"):
        if path.is_file() and path.relative_to(out).parts[0] != "data":
            assert not cpr.search(path.read_bytes().decode("utf-8", errors="replace")), path.name
            checked += 1
    assert checked >= 5 and (out / "trial.db").exists()


def test_demo_replaces_its_own_folder_but_refuses_others(demo: tuple[Path, str], tmp_path: Path) -> None:
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "mine.txt").write_text("keep me")
    result = runner.invoke(app, ["demo", "--out", str(foreign), "--claimants", "300"])
    assert result.exit_code == 2
    assert result.output == f"error: {foreign} is not empty and was not made by trial demo; choose a new folder\n"
    assert (foreign / "mine.txt").read_text() == "keep me"


def test_an_earlier_demo_folder_is_replaced(tmp_path: Path) -> None:
    from trial.demo import MARKER, prepare_folder

    old = tmp_path / "demo-output"
    old.mkdir()
    (old / MARKER).write_text("made by trial demo")
    (old / "report.html").write_text("old report")
    prepare_folder(old)
    assert sorted(p.name for p in old.iterdir()) == [MARKER]


def test_only_the_treatment_arm_received_recommendations(demo: tuple[Path, str]) -> None:
    out, output = demo
    with Ledger.open(out / "trial.db") as ledger:
        shown = ledger.recommendations()
        allocations = ledger.allocations()
    assert len(shown) > 0
    arm = shown["person_id"].map(allocations.set_index("person_id")["arm"])
    assert (arm == "treatment").all()
    meetings = pd.read_csv(out / "data" / "meetings.csv", dtype=str)
    refused = int(re.search(r"(\d+) refused", output).group(1))
    assert refused > 0
    assert shown["person_id"].nunique() + refused == len(meetings)


def test_demo_says_what_its_look_decides_and_budgets_on_the_repeated_interval(demo: tuple[Path, str]) -> None:
    """The six-month cut is look 1 of BC16's 2: the demo prints the look's decision, the repeated interval beside
    the nominal one, and its savings rest on the repeated interval."""
    out, output = demo
    result = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    interim, primary = result["interim"], result["primary"]
    assert (interim["look"], interim["of"]) == (1, 2)
    flat = " ".join(output.split())
    verdict = {"continue": "not crossed; the trial continues", "stop_for_benefit": "crossed for benefit",
               "stop_for_harm": "crossed for harm"}[interim["decision"]]
    assert (f"look 1/2: the primary test (benefit_days_saved_adjusted) has z = {interim['z']:.3f} against the "
            f"boundary ±{interim['z_boundary']:.3f}: {verdict}") in flat
    assert (f"[primary]: {primary['estimate']:.1f} (repeated 95% CI {primary['rci'][0]:.1f} to "
            f"{primary['rci'][1]:.1f}; nominal 95% CI {primary['ci'][0]:.1f} to {primary['ci'][1]:.1f})") in flat
    savings = json.loads((out / "savings.json").read_text(encoding="utf-8"))
    assert savings["effect"]["ci"] == primary["rci"]
    assert "repeated 95% interval at look 1 of 2" in savings["effect"]["note"]


def test_demo_prints_each_policys_truth_through_what_was_shown(demo: tuple[Path, str]) -> None:
    """The model with and without a cap and the automatch: days on benefit saved and exposure, as in truth.json."""
    out, output = demo
    shown = json.loads((out / "data" / "truth.json").read_text(encoding="utf-8"))["shown"]
    labels = {"model": "model, no cap", "model_cap_10": "model, cap 10 (the protocol's)",
              "automatch": "Jobnet automatch"}
    for name, label in labels.items():
        policy = shown["policies"][name]
        exposure = policy["exposure"]
        line = next(line for line in output.splitlines() if line.strip().startswith(label + ":"))
        assert f"{policy['days_on_benefit_saved']['treatment_arm']:.2f} days" in line
        assert f"max {exposure['max_per_posting']} per posting" in line
        assert f"Gini {exposure['gini']:.2f}, top-1% share {exposure['top1pct_share']:.1%}" in line
    assert shown["policies"]["model_cap_10"]["exposure"]["max_per_posting"] <= 10
