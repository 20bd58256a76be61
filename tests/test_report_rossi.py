"""`trial report` on Rossi et al. (1980) run as a trial: every headline figure equals the analysis JSON."""

from __future__ import annotations

import re

import pytest

from tests.test_report_support import (
    ROSSI_AS_OF,
    analyse_json,
    check_headline_figures,
    figure,
    run,
    shown,
    soup_of,
    write_rossi,
)

ORDER = ["aid", "no_aid"]  # unblinded reports show the treatment arm first


@pytest.fixture(scope="module")
def rossi(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("rossi")
    paths = write_rossi(folder)
    source = ["--protocol", str(paths["protocol"]), "--allocations", str(paths["allocations"])]
    source += ["--outcomes", str(paths["spells"]), "--as-of", ROSSI_AS_OF]
    analysis = analyse_json(folder, *source)
    html = {}
    for lang in ("da", "en"):
        html[lang] = folder / f"report-{lang}.html"
        extra = [] if lang == "da" else ["--lang", "en"]  # Danish is the protocol's language, hence the default
        run("report", *source, "--seed", "7", "--out", str(html[lang]), *extra)
    return {"analysis": analysis, "html": html, "paths": paths}


@pytest.mark.parametrize("lang", ["da", "en"])
def test_headline_figures_equal_the_analysis(rossi: dict, lang: str) -> None:
    soup = soup_of(rossi["html"][lang])
    checked = check_headline_figures(soup, rossi["analysis"], ORDER, lang)
    assert checked > 40


def test_rossi_reference_figures(rossi: dict) -> None:
    """Independent figures (tests/data/README.md): RMST difference 2.042 weeks; log-rank chi2 3.838."""
    soup = soup_of(rossi["html"]["en"])
    # Days saved = RMST(control) - RMST(treatment) = -(46.875 - 44.833) weeks x 7: aid delays the event.
    assert figure(soup, "primary", "en") == pytest.approx(-2.042 * 7, abs=0.06)
    row = soup.select_one('tr[data-effect="logrank"]').get_text()
    assert "3.84" in row


def test_danish_by_default_english_on_request(rossi: dict) -> None:
    da, en = soup_of(rossi["html"]["da"]), soup_of(rossi["html"]["en"])
    assert da.html["lang"] == "da" and en.html["lang"] == "en"
    assert da.select_one("#summary h2").get_text() == "1. Resumé for beslutningstagere"
    assert en.select_one("#summary h2").get_text() == "1. Summary for decision makers"
    # Danish numbers: decimal comma and the minus sign.
    assert re.fullmatch(r"−\d+,\d", shown(da, "primary"))
    assert re.fullmatch(r"−\d+\.\d", shown(en, "primary"))
    assert "Økonomisk støtte" in da.get_text() and "Financial support" in en.get_text()


def test_uncertainty_sentence_says_what_the_interval_is_and_what_the_trial_cannot_tell(rossi: dict) -> None:
    """A single planned analysis: the interval of record is the ordinary one, said for what it is (not as a
    probability), and as it includes zero, the sentence names the saving the trial cannot tell from none."""
    analysis = rossi["analysis"]
    assert analysis["interim"]["planned_months"] == [] and analysis["interim"]["decision"] == "final"
    lo, hi = analysis["effects"]["days_saved"]["ci"]
    assert analysis["effects"]["days_saved"]["rci"] == [lo, hi]
    assert lo < 0 < hi
    sentence = " ".join(shown(soup_of(rossi["html"]["en"]), "uncertainty").split()).replace("−", "-")
    assert sentence.startswith(f"The 95% confidence interval runs from {lo:.1f} to {hi:.1f} days: the effects")
    assert f"The trial cannot tell a saving of {hi:.1f} days from no saving (or from {-lo:.1f} days more)." in sentence
    danish = soup_of(rossi["html"]["da"]).get_text()
    assert "sikkerhed" not in danish and "certainty" not in soup_of(rossi["html"]["en"]).get_text()


def test_one_self_contained_file(rossi: dict) -> None:
    text = rossi["html"]["en"].read_text(encoding="utf-8")
    soup = soup_of(rossi["html"]["en"])
    assert not soup.select("script, link, img, iframe, object")
    assert not re.search(r'(src|href)="(https?:)?//', text), "no request leaves the file"
    assert "@media print" in text and "size: A4" in text and 'name="viewport"' in text
    km = soup.select_one('figure[data-figure="km"] svg')
    assert km is not None and km.find("text") is not None, "inline SVG with text kept as text"
    # Figures carry no fixed size, so they scale down on a phone.
    assert all(svg.get("width") is None for svg in soup.select("figure svg"))
    # Element ids of the three figures never collide on the page.
    ids = [tag["id"] for tag in soup.select("[id]")]
    assert len(ids) == len(set(ids))
    assert len(text) < 1_500_000


def test_sections_in_the_issue_order(rossi: dict) -> None:
    """Rossi's protocol has no finance section and no recommendation log: those two sections are left out, and the
    sections shown are numbered in order."""
    soup = soup_of(rossi["html"]["en"])
    sections = [s["id"] for s in soup.select("main > section")]
    assert sections == [
        "summary", "consort", "baseline", "follow-up", "km", "outcomes", "cif", "subgroups", "ph", "quality", "methods"
    ]
    numbers = [h.get_text().split(".")[0] for h in soup.select("main > section > h2")]
    assert numbers == [str(i) for i in range(1, len(sections) + 1)]


def test_subgroup_figures_equal_the_analysis(rossi: dict) -> None:
    soup = soup_of(rossi["html"]["en"])
    rows = {r["level"]: r for r in rossi["analysis"]["subgroups"] if r["variable"] == "wexp"}
    table = soup.select("#subgroups table tbody tr")
    texts = [[td.get_text().strip() for td in tr.select("td")] for tr in table]
    for level, row in rows.items():
        line = next(t for t in texts if t[0] == level)
        assert line[1] == str(row["n_by_arm"]["aid"]) and line[2] == str(row["n_by_arm"]["no_aid"])
        hr = row["hazard_ratio"]
        assert line[3] == f"{hr['estimate']:.2f} ({hr['ci'][0]:.2f}–{hr['ci'][1]:.2f})"
    assert soup.select_one('figure[data-figure="forest"] svg') is not None


def test_help_and_one_line_errors(rossi: dict, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert "Example: trial report" in run("report", "--help").output
    paths = rossi["paths"]
    source = ["--protocol", str(paths["protocol"]), "--allocations", str(paths["allocations"])]
    source += ["--outcomes", str(paths["spells"]), "--as-of", ROSSI_AS_OF]
    for extra, words in [
        (["--out", str(tmp_path / "r.html"), "--lang", "fr"], "--lang"),
        (["--out", str(tmp_path)], "directory"),
    ]:
        result = run("report", *source, *extra, expect=2)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in result.output
