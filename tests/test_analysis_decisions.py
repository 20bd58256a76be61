"""Each planned look decides on the protocol's primary test against its Lan-DeMets boundary, every effect with a
standard error gets its repeated confidence interval (Jennison & Turnbull), and the report says only what the look
can show: through the real CLI on a trial randomised over six months and looked at after 6 and 12 months."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from scipy.stats import norm

from tests.factory import sequential_trial
from tests.test_report_support import analyse_json, figure, run, soup_of
from trial.interim import boundaries, spent_alpha

ROOT = Path(__file__).resolve().parents[1]
BC16 = ROOT / "protocols" / "bc16-jobmatch.toml"
LOOK_1, FINAL = "2025-07-06", "2026-01-06"  # 6 and 12 months after the first randomisation (2025-01-06)
NO_SECRET = {"TRIAL_SECRET": None, "TRIAL_SECRET_FILE": None}
# Effects with a standard error on the difference scale, and the ratio whose SE is on the log scale.
DIFFERENCES = ("benefit_days_saved", "benefit_days_saved_adjusted", "days_saved", "employment_rate_difference")


def _protocol(folder: Path, extra: str = "", report: str = "") -> Path:
    """BC16 with lines added to its analysis and report sections."""
    text = BC16.read_text(encoding="utf-8")
    text = text.replace("adjust_for_strata = true", f"adjust_for_strata = true\n{extra}")
    text = text.replace("min_cell = 5", f"min_cell = 5\n{report}")
    path = folder / "protocol.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _source(protocol: Path, paths: dict[str, Path], as_of: str) -> list[str]:
    return ["--protocol", str(protocol), "--allocations", str(paths["allocations"]),
            "--outcomes", str(paths["spells"]), "--as-of", as_of, "--bootstrap", "0"]  # fmt: skip


@pytest.fixture(scope="module")
def continuing(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Seed 1: at look 1 the primary's nominal p (0.019) lies between the boundary's (0.003) and 0.05."""
    folder = tmp_path_factory.mktemp("continuing")
    paths = sequential_trial(folder, seed=1)
    protocol = _protocol(folder, report='blind_seed = "kept apart from the evaluators"')
    out: dict[str, Any] = {"folder": folder, "paths": paths, "protocol": protocol}
    for name, as_of in (("look1", LOOK_1), ("final", FINAL)):
        (folder / name).mkdir()
        out[name] = analyse_json(folder / name, *_source(protocol, paths, as_of))
    html = {}
    for name, extra in (("da", []), ("en", ["--lang", "en"]), ("blind_da", ["--blind"]),
                        ("blind_en", ["--blind", "--lang", "en"])):  # fmt: skip
        html[name] = folder / f"{name}.html"
        run("report", *_source(protocol, paths, LOOK_1), "--out", str(html[name]), *extra)
    out["html"] = html
    return out


def test_a_look_that_does_not_cross_continues(continuing: dict[str, Any]) -> None:
    result = continuing["look1"]
    interim, primary = result["interim"], result["primary"]
    assert (interim["look"], interim["of"], interim["final"]) == (1, 2, False)
    assert interim["z_boundary"] == pytest.approx(boundaries([0.5, 1.0], alpha=0.025)[0].z, abs=1e-6)
    assert round(interim["z_boundary"], 3) == 2.963
    # The nominal p would pass 0.05 but not the boundary's p.
    assert interim["p_boundary_two_sided"] < primary["p"] < 0.05
    assert interim["test"] == primary["name"] == "benefit_days_saved_adjusted"
    assert interim["z"] == pytest.approx(primary["estimate"] / primary["se"], abs=1e-12)
    assert (interim["crossed"], interim["decision"]) == (False, "continue")
    assert any(note.startswith("look 1/2: the primary test") and "not crossed" in note for note in result["notes"])


def _check_repeated(result: dict[str, Any]) -> None:
    zb = result["interim"]["z_boundary"]
    effects = result["effects"]
    for name in DIFFERENCES:
        effect = effects[name]
        assert effect["rci"][0] == pytest.approx(effect["estimate"] - zb * effect["se"], abs=1e-9), name
        assert effect["rci"][1] == pytest.approx(effect["estimate"] + zb * effect["se"], abs=1e-9), name
    hr = effects["hazard_ratio"]
    for end, sign in zip(hr["rci"], (-1, 1), strict=True):
        assert math.log(end) == pytest.approx(hr["coef"] + sign * zb * hr["se"], abs=1e-9)
    primary = result["primary"]
    assert primary["rci"] == effects[primary["name"]]["rci"]


def test_every_effect_with_a_standard_error_has_its_repeated_interval(continuing: dict[str, Any]) -> None:
    """Estimate ± z_boundary × SE at the look's boundary, on the log scale for the hazard ratio."""
    _check_repeated(continuing["look1"])
    # Wider than the nominal interval at an interim look.
    primary = continuing["look1"]["primary"]
    assert primary["rci"][0] < primary["ci"][0] and primary["rci"][1] > primary["ci"][1]


def test_the_same_data_at_the_final_look_decides_final(continuing: dict[str, Any]) -> None:
    result = continuing["final"]
    interim = result["interim"]
    assert (interim["look"], interim["final"], interim["information_fraction"]) == (2, True, 1.0)
    assert round(interim["z_boundary"], 3) == 1.969
    assert interim["decision"] == "final"
    assert interim["crossed"] == (interim["z"] >= interim["z_boundary"])
    _check_repeated(result)  # at the final boundary


def _summary(path: Path) -> str:
    return " ".join(soup_of(path).select_one("#summary").get_text(" ").split())


@pytest.mark.parametrize("lang", ["da", "en"])
def test_the_summary_gives_the_repeated_interval_and_never_the_nominal_one(continuing: dict, lang: str) -> None:
    primary = continuing["look1"]["primary"]
    soup = soup_of(continuing["html"][lang])
    assert figure(soup, "primary", lang) == pytest.approx(primary["estimate"], abs=0.051)
    assert figure(soup, "primary.lo", lang) == pytest.approx(primary["rci"][0], abs=0.051)
    assert figure(soup, "primary.hi", lang) == pytest.approx(primary["rci"][1], abs=0.051)
    summary = _summary(continuing["html"][lang]).replace("−", "-")

    def shown(x: float) -> str:
        text = f"{x:.1f}"
        return text.replace(".", ",") if lang == "da" else text

    def present(x: float) -> bool:
        return re.search(rf"(?<![\d.,-]){re.escape(shown(x))}(?![\d])", summary) is not None

    assert present(primary["rci"][0]) and present(primary["rci"][1])
    assert not present(primary["ci"][0]) and not present(primary["ci"][1])
    page = soup_of(continuing["html"][lang]).get_text()
    assert "sikkerhed" not in page and "certainty" not in page
    if lang == "en":
        assert "not crossed" in summary and "the trial continues" in summary
        assert "does not establish an effect" in summary
    else:
        assert "grænsen er ikke krydset" in summary and "forsøget fortsætter" in summary
    # The nominal interval stays in the effects table, labelled nominal, beside the repeated one.
    row = soup_of(continuing["html"][lang]).select_one('tr[data-effect="benefit_days_saved_adjusted"]').get_text()
    assert shown(primary["ci"][0]).replace("-", "−") in row and shown(primary["rci"][0]).replace("-", "−") in row


def test_savings_in_the_summary_rest_on_the_repeated_interval(continuing: dict[str, Any]) -> None:
    soup = soup_of(continuing["html"]["en"])
    primary = continuing["look1"]["primary"]
    sentence = soup.select_one('[data-key="savings-sentence"]').get_text()
    assert "repeated 95% confidence interval" in sentence and "not a figure to budget on" in sentence
    per_year = figure(soup, "savings.trial", "en")
    # The kroner a year scale the estimate; the interval of the card is the repeated interval scaled alike.
    low, high = (float(x.replace(",", "").replace("−", "-"))
                 for x in soup.select_one('[data-key="savings.trial.ci"]').get_text().split(" – "))  # fmt: skip
    per_day = per_year / primary["estimate"]
    assert low == pytest.approx(per_day * primary["rci"][0], rel=0.15, abs=200_000)
    assert high == pytest.approx(per_day * primary["rci"][1], rel=0.15, abs=200_000)


@pytest.mark.parametrize("lang", ["da", "en"])
def test_blinded_reports_carry_the_repeated_interval_and_agree_on_which_arm_is_a(continuing: dict, lang: str) -> None:
    primary = continuing["look1"]["primary"]
    soup = soup_of(continuing["html"][f"blind_{lang}"])
    shown = figure(soup, "primary", lang)
    sign = 1 if shown == pytest.approx(primary["estimate"], abs=0.051) else -1
    assert shown == pytest.approx(sign * primary["estimate"], abs=0.051)
    rci = sorted(sign * x for x in primary["rci"])
    assert (figure(soup, "primary.lo", lang), figure(soup, "primary.hi", lang)) == pytest.approx(rci, abs=0.051)
    assert "|z| = " in _summary(continuing["html"][f"blind_{lang}"])
    # The Danish and the English blinded report call the same arm A.
    other = soup_of(continuing["html"]["blind_en" if lang == "da" else "blind_da"])
    lang_other = "en" if lang == "da" else "da"
    assert figure(other, "n.1", lang_other) == figure(soup, "n.1", lang)
    assert figure(other, "primary", lang_other) == pytest.approx(shown, abs=0.051)


def test_blind_without_a_key_is_refused_in_one_line(continuing: dict[str, Any], tmp_path: Path) -> None:
    """An allocation file, no blind_seed in the protocol and no secret: nothing decides which arm is A."""
    paths = continuing["paths"]
    source = _source(BC16, paths, LOOK_1)
    result = run("report", *source, "--out", str(tmp_path / "b.html"), "--blind", env=NO_SECRET, expect=2)
    assert result.output == (
        "error: --blind: an allocation file does not say which arm a blinded report calls A; give the trial secret "
        "(--secret-file or $TRIAL_SECRET_FILE) or set the protocol's report.blind_seed\n"
    )
    assert not (tmp_path / "b.html").exists()


def test_a_look_that_crosses_says_so_and_names_its_boundary(tmp_path: Path) -> None:
    """Seed 2: the primary's z passes 2.963 at look 1: stop for benefit, said in the summary with the boundary."""
    paths = sequential_trial(tmp_path, seed=2)
    result = analyse_json(tmp_path, *_source(BC16, paths, LOOK_1))
    interim = result["interim"]
    assert interim["z"] > interim["z_boundary"]
    assert (interim["crossed"], interim["decision"]) == (True, "stop_for_benefit")
    html = tmp_path / "r.html"
    run("report", *_source(BC16, paths, LOOK_1), "--out", str(html), "--lang", "en")
    summary = _summary(html)
    assert "crossed its obrien-fleming boundary |z| ≥ 2.963" in summary
    assert "the design supports stopping the trial for benefit" in summary


def test_information_by_events(tmp_path: Path) -> None:
    """fraction = observed primary events (index spells ended by the horizon) / planned_events; the boundary is the
    Lan-DeMets one at that fraction."""
    paths = sequential_trial(tmp_path, seed=1)
    protocol = _protocol(tmp_path, 'information = "events"\nplanned_events = 1500')
    result = analyse_json(tmp_path, *_source(protocol, paths, LOOK_1))
    interim = result["interim"]
    assert interim["information"] == "events" and interim["planned_events"] == 1500
    # Everyone of seed 1 has an index spell; those ended by the horizon (182 days) and the cut are the events.
    fraction = interim["events"] / 1500
    assert 0.2 < fraction < 0.5
    assert interim["information_fraction"] == pytest.approx(fraction, abs=1e-4)
    assert interim["z_boundary"] == pytest.approx(norm.isf(spent_alpha(fraction, 0.025, "obrien-fleming")), abs=1e-6)
    _check_repeated(result)
    assert any(f"{interim['events']:,} of 1,500 planned events" in note for note in result["notes"])


def test_information_by_variance(tmp_path: Path) -> None:
    """fraction = (planned final SE / observed SE of the primary estimate)², capped at 1."""
    paths = sequential_trial(tmp_path, seed=1)
    protocol = _protocol(tmp_path, "information = \"variance\"\nplanned_final_se = 2.0")
    result = analyse_json(tmp_path, *_source(protocol, paths, LOOK_1))
    fraction = (2.0 / result["primary"]["se"]) ** 2
    assert result["interim"]["information_fraction"] == pytest.approx(fraction, abs=1e-4)
    assert result["interim"]["z_boundary"] == pytest.approx(norm.isf(spent_alpha(fraction, 0.025, "obrien-fleming")))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('information = "events"', "analysis.planned_events: required when analysis.information = 'events'"),
        ('primary_test = "wilcoxon"', "key 'analysis.primary_test'"),
        ("planned_final_se = -1.0", "key 'analysis.planned_final_se'"),
    ],
)
def test_decision_settings_are_validated_like_every_protocol_field(tmp_path: Path, extra: str, message: str) -> None:
    result = run("protocol", "check", str(_protocol(tmp_path, extra)), expect=2)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith(f"error: {tmp_path / 'protocol.toml'}")


def test_the_decision_can_rest_on_the_log_rank_test(tmp_path: Path) -> None:
    """primary_test = "logrank": z = ±√χ², signed like the log hazard ratio (a faster job is positive)."""
    paths = sequential_trial(tmp_path, seed=1)
    result = analyse_json(tmp_path, *_source(_protocol(tmp_path, 'primary_test = "logrank"'), paths, LOOK_1))
    effects, interim = result["effects"], result["interim"]
    assert interim["test"] == "logrank"
    expected = math.copysign(math.sqrt(effects["logrank"]["statistic"]), effects["hazard_ratio"]["coef"])
    assert interim["z"] == pytest.approx(expected, abs=1e-12)
    html = tmp_path / "r.html"
    run("report", *_source(_protocol(tmp_path, 'primary_test = "logrank"'), paths, LOOK_1), "--out", str(html))
    row = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser").select_one('tr[data-effect="logrank"]')
    assert row["data-role"] == "primary" and re.search("Primær test", row.get_text())


@pytest.mark.parametrize("lang", ["da", "en"])
def test_the_report_shows_every_note_and_count_and_is_honest_about_its_horizon(continuing: dict, lang: str) -> None:
    """At look 1 (six months after the first randomisation) nobody is followed the 182 days of the horizon."""
    result = continuing["look1"]
    soup = soup_of(continuing["html"][lang])
    assert [li.get_text() for li in soup.select("#quality ul.notes li")] == result["notes"]
    counts = {tr["data-reason"]: int(tr.select("td")[1].get_text()) for tr in soup.select("#quality tr[data-reason]")}
    assert counts == result["data_quality"]
    assert result["horizon_supported"] is False
    assert all(arm["followed_to_horizon"] == 0 for arm in result["follow_up"].values())
    cover = soup.select_one('[data-key="cover"]').get_text(" ", strip=True)
    if lang == "da":
        assert "opfølgning 182 dage" not in cover and "den længste opfølgning er 181 dage" in cover
    else:
        assert "follow-up 182 days" not in cover and "the longest follow-up is 181 days" in cover
    assert soup.select_one('[data-key="horizon-warning"]') is not None
    for slot, arm in (("1", "treatment"), ("2", "control")):
        assert figure(soup, f"at_risk_horizon.{slot}", lang) == result["follow_up"][arm]["at_risk_at_horizon"]
    methods = soup.select_one("#methods").get_text(" ", strip=True)
    assert "bc16-jobmatch v1.1" in methods
    assert soup.select_one('[data-key="registration"]').get_text() == ("ikke registreret" if lang == "da"
                                                                       else "not registered")


def test_the_report_words_what_a_reviewer_checks(continuing: dict[str, Any]) -> None:
    """Competing exits in sentences, subgroups exploratory with both interaction tests, the PH test not read as
    proof; the figures are the analysis' own."""
    result = continuing["look1"]
    soup = soup_of(continuing["html"]["en"])
    education = result["effects"]["exit_share_difference"]["education"]
    sentence = soup.select_one('[data-key="competing"] li[data-exit="education"]').get_text(" ", strip=True)
    assert f"difference {education['estimate'] * 100:.1f} percentage points" in sentence
    assert f"{education['ci'][0] * 100:.1f} to {education['ci'][1] * 100:.1f}" in sentence
    assert education["ci"][0] > 0 and sentence.endswith("more exits to education with the intervention.")
    assert "exploratory" in soup.select_one("#subgroups h2").get_text()
    group = soup.select_one("#subgroups tr.group").select("td")
    assert float(group[-1].get_text()) == pytest.approx(result["subgroup_interactions_days"]["sex"]["p"], abs=5e-4)
    assert float(group[-2].get_text()) == pytest.approx(result["subgroup_interactions"]["sex"]["p"], abs=5e-4)
    ph = soup.select_one("#ph").get_text(" ", strip=True)
    assert result["effects"]["ph_test"]["p"] >= 0.05
    assert "No sign of a violation" in ph and "does not prove" in ph


@pytest.mark.parametrize("lang", ["da", "en"])
def test_the_final_summary_states_the_final_boundary(continuing: dict[str, Any], tmp_path: Path, lang: str) -> None:
    interim = continuing["final"]["interim"]
    page = tmp_path / "final.html"
    run("report", *_source(continuing["protocol"], continuing["paths"], FINAL), "--out", str(page), "--lang", lang)
    summary = _summary(page)
    boundary = f"{interim['z_boundary']:.3f}"
    if lang == "da":
        boundary = boundary.replace(".", ",")
        crossed = "krydset" if interim["crossed"] else "ikke krydset"
        assert f"Endelig analyse (analyse 2 af 2): den endelige grænse er |z| ≥ {boundary}" in summary
        assert f"er grænsen {crossed}" in summary
    else:
        crossed = "crossed" if interim["crossed"] else "not crossed"
        assert f"Final analysis (look 2 of 2): the final boundary is |z| ≥ {boundary}" in summary
        assert f"the boundary was {crossed}" in summary


def test_trial_savings_multiplies_the_interval_of_record(continuing: dict[str, Any], tmp_path: Path) -> None:
    """Finance reads the analysis file: at look 1 its kroner rest on the repeated interval, at the final look on
    the interval at the final boundary; the note says which."""
    for name, words in (("look1", "the repeated 95% interval at look 1 of 2 (boundary ±2.963)"),
                        ("final", "the 95% interval at the final boundary (±1.969)")):
        out = tmp_path / f"{name}.json"
        run("savings", "--protocol", str(continuing["protocol"]), "--analysis",
            str(continuing["folder"] / name / "analysis.json"), "--json", str(out))
        found = json.loads(out.read_text(encoding="utf-8"))
        primary = continuing[name]["primary"]
        assert found["effect"]["ci"] == pytest.approx(primary["rci"], abs=1e-9)
        assert found["effect"]["ci"] != pytest.approx(primary["ci"], abs=1e-3)
        assert words in found["effect"]["note"]
