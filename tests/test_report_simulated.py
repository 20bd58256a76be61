"""`trial report` on a simulated BC16 trial run through the real ledger: figures, CONSORT, savings, blinding."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from reports.render import render_html
from tests.test_report_support import (
    analyse_json,
    check_headline_figures,
    count_texts,
    figure,
    run,
    shown,
    small_numbers,
    soup_of,
)
from trial.demo import demo_evaluation, init_and_enrol, weekly_files
from trial.ledger import Ledger
from trial.results import AnalysisResult
from trial.savings import savings
from trial.simulate import default_protocol_path, simulate, six_month_cut


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("sim")
    data = folder / "data"
    simulate(data, claimants=5000, postings=400, effect_days=12.0, uptake=0.7, seed=11)
    cut = six_month_cut()
    db = folder / "trial.db"
    init_and_enrol(data, db, cut, default_protocol_path())
    source = ["--db", str(db), "--outcomes", str(data / "spells.csv"), "--as-of", cut.isoformat()]
    source += ["--secret-file", str(data / "secret.key")]
    analysis = analyse_json(folder, *source)
    html = {"da": folder / "report.html", "blind": folder / "blind.html", "blind_en": folder / "blind-en.html"}
    run("report", *source, "--seed", "7", "--out", str(html["da"]))
    run("report", *source, "--seed", "7", "--out", str(html["blind"]), "--blind")
    run("report", *source, "--seed", "7", "--out", str(html["blind_en"]), "--blind", "--lang", "en")
    inputs = demo_evaluation(data, db).report_inputs(AnalysisResult.load(folder / "analysis.json"))
    with Ledger.open(db) as ledger:
        protocol = ledger.protocol()
        screening = ledger.screening()
    files = [path for path, _ in weekly_files(data, cut)]
    return {"analysis": analysis, "html": html, "protocol": protocol, "inputs": inputs, "screening": screening,
            "files": files}


def test_headline_figures_equal_the_analysis(trial: dict) -> None:
    soup = soup_of(trial["html"]["da"])
    assert check_headline_figures(soup, trial["analysis"], ["treatment", "control"], "da") > 40


def test_consort_counts_people_not_rows(trial: dict) -> None:
    """The flow counts each person once: the distinct CPR numbers of the weekly files enrolled, read independently."""
    soup = soup_of(trial["html"]["da"])
    sums = trial["screening"].sum(numeric_only=True)
    people = pd.concat([pd.read_csv(path, dtype=str)["cpr"] for path in trial["files"]]).nunique()
    assert figure(soup, "consort.read", "da") == sums["read"] > people  # people recur in later weeks
    assert figure(soup, "consort.assessed", "da") == people
    randomised = figure(soup, "consort.randomised", "da")
    assert randomised == trial["analysis"]["counts"]["allocated"]["total"]
    assert figure(soup, "consort.excluded", "da") == people - randomised
    reasons = soup.select("#consort li")
    assert len(reasons) == len(trial["inputs"].screening.excluded)


def test_savings_box_uses_the_finance_model(trial: dict) -> None:
    """Kroner of the primary effect for the trial's population, with the interval of record, and the seed's groups
    as scenarios without one."""
    soup = soup_of(trial["html"]["da"])
    primary = trial["analysis"]["primary"]
    eligible = trial["inputs"].savings.trial_population
    assert eligible.persons_source == "ledger"
    record = tuple(primary["rci"]) if trial["analysis"]["interim"]["planned_months"] else tuple(primary["ci"])
    from trial.savings import EligiblePerYear

    expected = savings(trial["protocol"], primary["estimate"], record,
                       eligible=EligiblePerYear(eligible.persons_per_year, "ledger"))
    assert figure(soup, "savings.trial", "da") == pytest.approx(expected.trial_population.per_year.estimate, abs=0.5)
    for i, group in enumerate(expected.target_groups):
        assert figure(soup, f"savings.group.{i}", "da") == pytest.approx(group.per_year.estimate, abs=0.5)
    rows = soup.select("#savings table.scenarios tbody tr")
    assert len(rows) == len(trial["protocol"].finance.target_groups)


def test_reproducibility_stamp(trial: dict) -> None:
    soup = soup_of(trial["html"]["da"])
    meta = trial["analysis"]["meta"]
    assert shown(soup, "ledger_head") == trial["inputs"].ledger_head
    stamp = soup.select_one("dl.stamp").get_text()
    for node in meta["inputs"].values():
        assert node["sha256"] in stamp
    assert f"numpy {meta['packages']['numpy']}" in stamp


def test_no_small_count_is_shown(trial: dict) -> None:
    soup = soup_of(trial["html"]["da"])
    texts = count_texts(soup)
    assert len(texts) > 50
    assert small_numbers(texts, trial["protocol"].report.min_cell, "da") == []


# --- blinding ---------------------------------------------------------------------------------------------------


def _forbidden(protocol) -> list[str]:  # type: ignore[no-untyped-def]
    """Everything that names an arm: names, Danish and English labels, and role words."""
    words = [w for a in protocol.arms for w in (a.name, a.label_da, a.label_en) if w]
    return [*words, "behandlingsgruppe", "kontrolgruppe", "indsatsgruppe", "sædvanlig indsats", "usual practice"]


@pytest.mark.parametrize("which", ["blind", "blind_en"])
def test_blind_report_names_no_arm(trial: dict, which: str) -> None:
    text = trial["html"][which].read_text(encoding="utf-8").lower()
    for word in _forbidden(trial["protocol"]):
        assert word.lower() not in text, word
    soup = soup_of(trial["html"][which])
    assert {s.get_text().strip() for s in soup.select("table.at-risk tbody th")} == {"Gruppe A", "Gruppe B"} or {
        s.get_text().strip() for s in soup.select("table.at-risk tbody th")
    } == {"Group A", "Group B"}
    # Neither the use of the recommendations (only one arm can have it) nor savings (a direction) is shown.
    assert soup.select_one("#use") is None and soup.select_one("#savings") is None


def _as(inputs, first: str):  # type: ignore[no-untyped-def]
    """The report's inputs with `first` as arm A."""
    other = "control" if first == "treatment" else "treatment"
    return inputs.model_copy(update={"blind_order": (first, other)})


def test_blind_reports_look_the_same_whichever_arm_is_a(trial: dict) -> None:
    """Rendered with A = treatment and with A = control, the two reports differ only in their numbers."""
    pages = {}
    for first in ("treatment", "control"):
        html = render_html(_as(trial["inputs"], first), lang="en", blind=True)
        # Figures: the same legend in both; their axes follow the data, so the rest is compared without them.
        legend = [t.get_text() for t in BeautifulSoup(html, "html.parser").select('figure[data-figure="km"] text')]
        assert "Group A" in legend and "Group B" in legend
        text = re.sub(r"<svg.*?</svg>", "<svg/>", html, flags=re.S)
        text = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", "", text)  # the time of rendering
        text = re.sub(r"[0-9a-f]{64}", "", text)  # hashes: the same in both
        pages[first] = re.sub(r"[\d.,−-]+", "#", text)
    assert pages["treatment"] == pages["control"]


def test_blind_sign_convention_follows_the_letters(trial: dict, tmp_path: Path) -> None:
    """Blinded, effects read "A minus B" (days) and "B relative to A" (HR), whichever arm A is."""
    effects = trial["analysis"]["effects"]
    days, hr = trial["analysis"]["primary"], effects["hazard_ratio"]
    arms = trial["analysis"]["arms"]
    for first in ("treatment", "control"):
        soup = BeautifulSoup(
            render_html(_as(trial["inputs"], first), lang="en", blind=True), "html.parser"
        )
        a, b = (first, "control" if first == "treatment" else "treatment")
        shown_days = figure(soup, "primary", "en")
        sign = 1 if a == "control" else -1
        assert shown_days == pytest.approx(sign * days["estimate"], abs=0.06)
        # A minus B of the restricted mean days on benefit (the unadjusted table row).
        on_benefit = arms[a]["benefit_days"]["estimate"] - arms[b]["benefit_days"]["estimate"]
        assert figure(soup, "effect.benefit_days_saved", "en") == pytest.approx(on_benefit, abs=0.06)
        # The repeated interval turns with the estimate.
        low, high = (figure(soup, f"primary.{end}", "en") for end in ("lo", "hi"))
        rci = [sign * x for x in days["rci"]]
        assert (low, high) == pytest.approx((min(rci), max(rci)), abs=0.06)
        expected_hr = hr["estimate"] if a == "control" else 1 / hr["estimate"]
        assert figure(soup, "hazard_ratio", "en") == pytest.approx(expected_hr, abs=0.006)
        assert figure(soup, "employment_rate.1", "en") == pytest.approx(100 * arms[a]["employment_rate"], abs=0.06)


def test_blinded_reports_of_a_ledger_agree_on_which_arm_is_a(trial: dict) -> None:
    """Two runs (Danish, English) of `trial report --blind` on one ledger call the same arm A: the one the ledger's
    first enrolled pseudonym decides, never printed in the report."""
    from trial.evaluation import blind_order

    analysis = trial["analysis"]
    with Ledger.open(trial["html"]["da"].parent / "trial.db") as ledger:
        first = str(ledger.allocations()["person_id"].iloc[0])
    a, _ = blind_order(trial["protocol"], first.encode())
    assert trial["inputs"].blind_order[0] == a
    for which, lang in (("blind", "da"), ("blind_en", "en")):
        soup = soup_of(trial["html"][which])
        assert figure(soup, "n.1", lang) == analysis["arms"][a]["n"]
        assert figure(soup, "employment_rate.1", lang) == pytest.approx(100 * analysis["arms"][a]["employment_rate"],
                                                                        abs=0.06)
        assert first not in trial["html"][which].read_text(encoding="utf-8")
