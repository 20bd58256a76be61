"""The report's displacement section (issue 15): the three groups' curves by saturation, the four estimands, one
plain sentence in Danish and English; left out of blinded reports and of individual designs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from reports.render import render_html
from tests.two_stage import small_protocol, synthetic_trial
from trial.analysis import analyse
from trial.evaluation import blind_order
from trial.protocol import load_protocol
from trial.results import ReportInputs


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> ReportInputs:
    protocol = load_protocol(small_protocol(tmp_path_factory.mktemp("report")))
    # Displacement strong enough that the spillover's interval lies clear of zero (-27.6 to -2.7 days).
    allocations, spells, _ = synthetic_trial(7, job_factor=2.0, displaced=0.8)
    result = analyse(protocol, allocations, spells, "2026-12-31", bootstrap=200, seed=4)
    return ReportInputs(protocol=protocol, result=result)


def _section(html: str) -> BeautifulSoup | None:
    return BeautifulSoup(html, "html.parser").find("section", id="displacement")


def test_a_spillover_whose_interval_includes_zero_is_not_read_as_displacement(tmp_path: Path) -> None:
    """A point estimate of displacement with an interval across zero licenses no share "taken from others"."""
    protocol = load_protocol(small_protocol(tmp_path))
    allocations, spells, _ = synthetic_trial(31, job_factor=1.5, displaced=0.6)
    result = analyse(protocol, allocations, spells, "2026-12-31", bootstrap=200, seed=4)
    spill = result.effects.spillover.spillover_on_untreated
    later, low, high = -spill.estimate, -spill.ci[1], -spill.ci[0]
    assert later > 0 and low < 0 < high
    english = _section(render_html(ReportInputs(protocol=protocol, result=result), lang="en"))
    sentence = english.find(attrs={"data-key": "displacement.sentence"}).get_text()
    assert sentence == (f"The untreated in jobcentres with recommendations left benefit {later:.1f} days later than "
                        f"job seekers in jobcentres without recommendations, but the 95% interval of record "
                        f"({low:.1f} to {high:.1f} days later) includes no difference: the trial cannot yet tell "
                        "displacement from none.").replace("-", "−")
    assert "taken from others" not in sentence


def test_the_section_shows_curves_the_four_estimands_and_one_sentence(inputs: ReportInputs) -> None:
    found = inputs.result.effects.spillover
    later = -found.spillover_on_untreated.estimate
    share = found.displaced_share.estimate
    assert later > 0 and 0 < share < 1
    english = _section(render_html(inputs, lang="en"))
    sentence = english.find(attrs={"data-key": "displacement.sentence"}).get_text()
    assert sentence == (f"The untreated in jobcentres with recommendations left benefit {later:.1f} days later than "
                        "job seekers in jobcentres without recommendations: about "
                        f"{round(share * 100)}% of the treated's gain was taken from others.")
    danish = _section(render_html(inputs, lang="da"))
    sentence = danish.find(attrs={"data-key": "displacement.sentence"}).get_text()
    assert sentence == (f"De ledige uden anbefalinger i jobcentre med anbefalinger forlod ydelsen "
                        f"{later:.1f}".replace(".", ",") + " dage senere end ledige i jobcentre uden anbefalinger: "
                        f"omkring {round(share * 100)} % af indsatsgruppens gevinst blev taget fra andre.")
    rows = english.find_all("tr", attrs={"data-effect": re.compile("^spillover[.]")})
    assert [r["data-effect"] for r in rows] == ["spillover.direct", "spillover.total_on_treated",
                                                "spillover.spillover_on_untreated", "spillover.net_per_person"]
    direct = rows[0].find_all("td")
    assert direct[1].get_text(" ").split()[0] == f"{found.direct.estimate:.1f}"
    assert len(direct) == 4  # label, all treated clusters, 50%, 80%
    assert english.find("figure", attrs={"data-figure": "displacement"}).find("svg") is not None
    headline = english.find(attrs={"data-key": "displacement.headline"}).get_text()
    assert headline.startswith("In this two-stage design the headline effect is the direct one: the treated spent "
                               f"{found.direct.estimate:.1f} fewer days on benefit")


def test_a_blinded_report_leaves_the_section_out(inputs: ReportInputs) -> None:
    blinded = inputs.model_copy(update={"blind_order": blind_order(inputs.protocol, b"a blind seed")})
    assert _section(render_html(blinded, lang="en", blind=True)) is None


def test_a_report_of_an_individual_design_has_no_displacement_section(inputs: ReportInputs) -> None:
    individual = inputs.model_copy(update={"result": inputs.result.model_copy(update={
        "effects": inputs.result.effects.model_copy(update={"spillover": None})})})
    assert _section(render_html(individual, lang="en")) is None
