"""Statistical disclosure control: no count of 1-4 people, no estimate for a small group, no recovery by subtraction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.disclosure import Hidden, protect_counts, protect_share, protect_table
from tests.test_report_support import count_texts, run, small_numbers, soup_of

PROTOCOL = """
id = "tiny-strata"
title = "A small trial with tiny strata"
version = "1"

[eligibility]

[[arms]]
name = "treatment"
role = "treatment"
label_da = "Anbefalinger"
label_en = "Recommendations"

[[arms]]
name = "control"
role = "control"
label_da = "Sædvanlig indsats"
label_en = "Usual practice"

[randomisation]
block_sizes = [2]
strata = ["education_field"]

[outcomes]
event_exits = ["employment"]
competing_exits = ["education", "other"]
horizon_days = 182

[analysis]
covariates = ["education_field"]
subgroups = ["education_field", "sex"]
bootstrap = 50

[report]
language = "da"
min_cell = 5
"""

AS_OF = "2021-03-01"


def _trial(folder: Path, sizes: dict[str, tuple[int, int]], seed: int = 3) -> list[str]:
    """An allocation file and spells: `sizes` gives (treatment, control) people per field of education."""
    rng = np.random.default_rng(seed)
    rows, spells = [], []
    for field, (n_t, n_c) in sizes.items():
        for arm, n in (("treatment", n_t), ("control", n_c)):
            for _ in range(n):
                pid = f"p{len(rows):04d}"
                start = pd.Timestamp("2020-06-01") + pd.Timedelta(days=int(rng.integers(0, 60)))
                rows.append(
                    {
                        "person_id": pid,
                        "arm": arm,
                        "stratum": field,
                        "randomised_on": start.date().isoformat(),
                        "education_field": field,
                        "sex": "K" if rng.random() < 0.5 else "M",
                    }
                )
                length = int(rng.exponential(120 if arm == "control" else 100))
                exit_name = rng.choice(["employment", "employment", "employment", "education", "other"])
                end = start + pd.Timedelta(days=length)
                open_spell = end > pd.Timestamp(AS_OF)
                spells.append(
                    {
                        "person_id": pid,
                        "start": start.date().isoformat(),
                        "end": "" if open_spell else end.date().isoformat(),
                        "exit": "" if open_spell else exit_name,
                    }
                )
    (folder / "protocol.toml").write_text(PROTOCOL, encoding="utf-8")
    pd.DataFrame(rows).to_csv(folder / "alloc.csv", index=False)
    pd.DataFrame(spells).to_csv(folder / "spells.csv", index=False)
    return ["--protocol", str(folder / "protocol.toml"), "--allocations", str(folder / "alloc.csv"),
            "--outcomes", str(folder / "spells.csv"), "--as-of", AS_OF]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("tiny")
    source = _trial(folder, {"humaniora": (2, 1), "teknisk": (4, 4), "samfundsvidenskab": (30, 31)})
    pages = {}
    for lang in ("da", "en"):
        pages[lang] = folder / f"{lang}.html"
        run("report", *source, "--out", str(pages[lang]), "--lang", lang)
    return {"pages": pages, "folder": folder}


@pytest.mark.parametrize("lang", ["da", "en"])
def test_tiny_strata_show_no_count_under_five(tiny: dict, lang: str) -> None:
    soup = soup_of(tiny["pages"][lang])
    texts = count_texts(soup)
    assert len(texts) > 30
    assert small_numbers(texts, 5, lang) == []
    assert "<5" in texts, "the tiny strata are there, hidden"
    # The at-risk table and every count cell show only the suppression mark for small numbers.
    for cell in soup.select("table.at-risk td"):
        text = cell.get_text().strip()
        assert text == "<5" or int(text.replace(".", "").replace(",", "")) == 0 or int(
            text.replace(".", "").replace(",", "")
        ) >= 5


def test_tiny_subgroups_have_no_estimates_and_cannot_be_subtracted(tiny: dict) -> None:
    soup = soup_of(tiny["pages"]["en"])
    rows = {}
    for tr in soup.select("#subgroups tbody tr"):
        cells = [td.get_text().strip() for td in tr.select("td")]
        rows[cells[0]] = cells
    for level in ("humaniora", "teknisk"):
        n_t, n_c, hr, days = rows[level][1:5]
        assert n_t.startswith("<") and n_c.startswith("<")
        assert hr == "–*" and days == "–*", "no estimate for a group resting on fewer than 5 people"
    # Both small levels of each arm are hidden, so neither follows from the arm total minus the large level.
    baseline = {}
    for tr in soup.select("#baseline tbody tr"):
        cells = tr.select("td")
        if cells and "level" in cells[0].get("class", []):
            baseline[cells[0].get_text().strip()] = [td.get_text().strip() for td in cells]
    assert baseline["humaniora"][1].startswith("<") and baseline["teknisk"][1].startswith("<")


def test_an_arm_too_small_shows_no_estimate(tmp_path: Path) -> None:
    source = _trial(tmp_path, {"samfundsvidenskab": (4, 30)}, seed=5)
    page = tmp_path / "small-arm.html"
    run("report", *source, "--out", str(page), "--lang", "en")
    soup = soup_of(page)
    assert soup.select_one('[data-key="primary"]') is None and soup.select_one('[data-key="primary.lo"]') is None
    assert soup.select_one("#summary .card.primary .card-value").get_text().strip() == "–*"
    assert soup.select_one('[data-key="n.1"]').get_text().strip() == "<5"
    assert soup.select_one('[data-key="employment_rate.1"]').get_text().strip() == "–*"
    assert small_numbers(count_texts(soup), 5, "en") == []
    # The small arm's Kaplan-Meier curve is not drawn at all: only one step line in the figure.
    km = str(soup.select_one('figure[data-figure="km"] svg'))
    assert km.count("stroke: #d55e00") >= 1 and km.count("stroke: #0072b2") == 0


# --- the rules themselves ----------------------------------------------------------------------------------------


def test_complementary_suppression_in_a_two_part_total() -> None:
    cells = protect_counts({"total": 20, "a": 3, "b": 17}, [("total", ["a", "b"])], 5)
    assert cells == {"total": 20, "a": Hidden(5, primary=True), "b": Hidden(5, primary=False)}


def test_zero_is_shown_and_forces_nothing() -> None:
    cells = protect_counts({"total": 20, "a": 0, "b": 20}, [("total", ["a", "b"])], 5)
    assert cells == {"total": 20, "a": 0, "b": 20}


def test_share_hidden_when_it_reveals_a_small_count() -> None:
    assert isinstance(protect_share(0.97, 97, 100, 5), Hidden)  # 3 people without
    assert isinstance(protect_share(0.02, 2, 100, 5), Hidden)  # 2 people with
    assert isinstance(protect_share(0.5, 2, 4, 5), Hidden)  # a group of 4
    assert protect_share(0.5, 50, 100, 5) == 0.5


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 40), min_size=1, max_size=6), min_size=1, max_size=3),
    st.integers(2, 10),
)
def test_no_hidden_cell_is_alone_in_an_identity(table: list[list[int]], min_cell: int) -> None:
    """In every column total = sum(levels), either no cell is hidden or at least two are (total included)."""
    counts = {f"c{i}": {f"l{j}": v for j, v in enumerate(col)} for i, col in enumerate(table)}
    protected = protect_table(counts, min_cell)
    for column, levels in protected.items():
        hidden = [k for k, v in levels.items() if isinstance(v, Hidden)]
        for level, value in counts[column].items():
            if 0 < value < min_cell:
                assert level in hidden
        total = sum(counts[column].values())
        total_hidden = 0 < total < min_cell  # the total is hidden where it is shown (the arm's n)
        assert len(hidden) + total_hidden != 1
        # A hidden zero beside a small count would give the count away by subtraction.
        assert all(counts[column][k] > 0 for k in hidden)


def test_a_zero_is_never_the_complementary_cell() -> None:
    cells = protect_counts({"total": 23, "a": 3, "b": 0, "c": 20}, [("total", ["a", "b", "c"])], 5)
    assert isinstance(cells["a"], Hidden) and cells["b"] == 0 and isinstance(cells["c"], Hidden)
