"""`trial demo --design two-stage` end to end through the real CLI: each spillover estimate beside its truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from typer.testing import CliRunner

from trial.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo2") / "demo-two-stage"
    result = runner.invoke(app, ["demo", "--out", str(out), "--design", "two-stage", "--clusters", "12",
                                 "--claimants", "3000", "--seed", "3"])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_the_two_stage_demo_prints_each_estimate_beside_its_truth(demo: tuple[Path, str]) -> None:
    out, output = demo
    found = json.loads((out / "analysis.json").read_text(encoding="utf-8"))["effects"]["spillover"]
    truth = json.loads((out / "data" / "truth.json").read_text(encoding="utf-8"))["six_month"]["spillover"]
    for name, label in (("direct", "direct effect (treated vs untreated, same jobcentres) [primary]"),
                        ("spillover_on_untreated", "spillover on the untreated (negative = displacement)"),
                        ("net_per_person", "net effect per person in treated jobcentres (what finance multiplies)")):
        effect = found[name]
        assert (f"  {label}: {effect['estimate']:.1f} (95% CI {effect['ci'][0]:.1f} to {effect['ci'][1]:.1f}); "
                f"truth {truth[name]:.1f}") in output
    assert "2/7 trial init --protocol protocol.toml" in output


def test_the_two_stage_demo_shows_gross_and_net_and_the_report_its_displacement(demo: tuple[Path, str]) -> None:
    out, output = demo
    savings = json.loads((out / "savings.json").read_text(encoding="utf-8"))
    assert savings["effect"]["name"] == "spillover.net_per_person"
    assert savings["displacement"]["design"] == "two_stage"
    assert "  gross (the direct effect, " in output and "; net (displacement included, " in output
    report = BeautifulSoup((out / "report.html").read_text(encoding="utf-8"), "html.parser")
    assert report.find("section", id="displacement") is not None
