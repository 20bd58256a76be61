"""Shared helpers of the report tests (no tests here): trial inputs, the real CLI, and reading figures off the HTML."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from typer.testing import CliRunner

from tests import rossi
from trial.cli import app

ROSSI_AS_OF = rossi.AS_OF

ROSSI_PROTOCOL = """
id = "rossi-1980"
title = "Rossi, Berk & Lenihan (1980) as a trial"
version = "1"

[eligibility]

[[arms]]
name = "aid"
role = "treatment"
label_da = "Økonomisk støtte"
label_en = "Financial support"

[[arms]]
name = "no_aid"
role = "control"
label_da = "Ingen støtte"
label_en = "No support"

[randomisation]
block_sizes = [2]

[outcomes]
event_exits = ["employment"]
competing_exits = []
horizon_days = 364
landmarks_days = [91, 182]

[analysis]
covariates = ["age", "wexp", "mar", "paro", "prio"]
subgroups = ["wexp", "paro"]
bootstrap = 200

[report]
language = "da"
min_cell = 5
"""


def write_rossi(folder: Path) -> dict[str, Path]:
    """Rossi as a trial for the report: arrest plays the event ("employment"), 364 days."""
    return rossi.write_rossi(folder, ROSSI_PROTOCOL, exit_name="employment")


def run(*args: str, env: dict[str, str] | None = None, expect: int = 0) -> Any:
    """Invoke the real `trial` CLI in-process and check its exit code."""
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == expect, (result.output, result.exception)
    return result


def analyse_json(folder: Path, *source: str, seed: int = 7) -> dict[str, Any]:
    """The analysis JSON of `trial analyse` for the same inputs the report gets."""
    out = folder / "analysis.json"
    run("analyse", *source, "--seed", str(seed), "--json", str(out))
    return json.loads(out.read_text(encoding="utf-8"))


def soup_of(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def number(text: str, lang: str) -> float:
    """A figure as printed in the report (Danish 1.234,5 or English 1,234.5; U+2212 minus; optional % or <)."""
    text = text.strip().replace("\u2212", "-").replace("%", "").replace("<", "").strip()
    if lang == "da":
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    return float(text)


def figure(soup: BeautifulSoup, key: str, lang: str) -> float:
    """The number shown in the element marked data-key=KEY (exactly one such element)."""
    found = soup.select(f'[data-key="{key}"]')
    assert len(found) == 1, f"{key}: {len(found)} elements"
    return number(found[0].get_text(), lang)


def shown(soup: BeautifulSoup, key: str) -> str:
    found = soup.select(f'[data-key="{key}"]')
    assert len(found) == 1, f"{key}: {len(found)} elements"
    return found[0].get_text().strip()


def close(displayed: float, value: float, digits: int) -> bool:
    """The displayed figure is the value rounded to `digits` decimals."""
    return math.isclose(displayed, value, abs_tol=0.5 * 10**-digits + 1e-9)


def check_headline_figures(soup: BeautifulSoup, analysis: dict[str, Any], order: list[str], lang: str) -> int:
    """Compare every headline figure of the report with the analysis JSON; returns how many were compared.

    `order` gives the arm shown in slot 1 and slot 2 (treatment, control unless blinded).
    """
    checked = 0
    effects = analysis["effects"]

    def same(key: str, value: float | None, digits: int, scale: float = 1.0) -> None:
        nonlocal checked
        assert value is not None, key
        got = figure(soup, key, lang)
        assert close(got, value * scale, digits), f"{key}: report {got}, analysis {value * scale}"
        checked += 1

    # The headline is the primary effect with its interval of record: the repeated interval at a planned look.
    primary = analysis["primary"]
    interim = analysis["interim"]
    record = primary["rci"] if interim is not None else primary["ci"]
    same("primary", primary["estimate"], 1)
    if record is not None:
        same("primary.lo", record[0], 1)
        same("primary.hi", record[1], 1)
    same(f"effect.{primary['name']}", primary["estimate"], 1)
    hr = effects["hazard_ratio"]
    hr_record = hr["ci"] if interim is None or interim["look"] == 0 or not interim["planned_months"] else hr["rci"]
    same("hazard_ratio", hr["estimate"], 2)
    same("hazard_ratio.lo", hr_record[0], 2)
    same("hazard_ratio.hi", hr_record[1], 2)
    if effects["logrank"]["p"] >= 0.001:
        same("effect.logrank.p", effects["logrank"]["p"], 3)
    if effects["ph_test"]["p"] >= 0.001:
        same("ph.p", effects["ph_test"]["p"], 3)
    for slot, arm in enumerate(order, start=1):
        node = analysis["arms"][arm]
        same(f"employment_rate.{slot}", node["employment_rate"], 1, 100)
        same(f"n.{slot}", node["n"], 0)
        same(f"events.{slot}", node["events"], 0)
        same(f"censored.{slot}", node["censored"], 0)
        same(f"rmst.{slot}", node["rmst_days"], 1)
        same(f"unemployed_share.{slot}", node["unemployed_share"], 1, 100)
        for day, value in node["still_unemployed_at"].items():
            same(f"still.{day}.{slot}", value, 1, 100)
        if node["median_days"] is not None:
            same(f"median.{slot}", node["median_days"], 0)
        same(f"consort.analysed.{slot}", node["n"], 0)
        if node.get("benefit_days") is not None:
            same(f"benefit_days.{slot}", node["benefit_days"]["estimate"], 1)
            same(f"n_benefit.{slot}", analysis["counts"]["analysed_benefit"][arm], 0)
            same(f"consort.analysed_benefit.{slot}", analysis["counts"]["analysed_benefit"][arm], 0)
        same(f"consort.allocated.{slot}", analysis["counts"]["allocated"][arm], 0)
    # Numbers at risk: the table under the KM figure, row by row.
    rows = soup.select("table.at-risk tbody tr")
    assert len(rows) == 2
    for row, arm in zip(rows, order, strict=True):
        cells = [td.get_text().strip() for td in row.select("td")]
        expected = analysis["at_risk"]["by_arm"][arm]
        assert len(cells) == len(expected)
        for text, value in zip(cells, expected, strict=True):
            assert text == "<5" if 0 < value < 5 else number(text, lang) == value
            checked += 1
    assert shown(soup, "fingerprint") == analysis["meta"]["protocol"]["fingerprint"]
    assert shown(soup, "as_of") == analysis["meta"]["as_of"]
    assert shown(soup, "bootstrap_seed") == str(analysis["meta"]["bootstrap"]["seed"])
    return checked + 3


def count_texts(soup: BeautifulSoup) -> list[str]:
    """Every count printed in the report (CONSORT, baseline, at risk, outcomes, subgroups), as shown."""
    return [span.get_text().strip() for span in soup.select("span.count")]


def small_numbers(texts: list[str], min_cell: int, lang: str) -> list[str]:
    """The counts among `texts` that show a number of 1 to min_cell - 1 people (must be none)."""
    bad = []
    for text in texts:
        if text.startswith("<") or not re.search(r"\d", text):
            continue
        value = number(text, lang)
        if 0 < value < min_cell:
            bad.append(text)
    return bad
