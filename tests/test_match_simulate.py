"""The simulated job market: deterministic, in the agreed file formats, and with hires outside desired titles."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from tests.factory import job_cohort
from trial.simulate.jobs import FIELDS, OCCUPATIONS, simulate_jobs

POSTCODES = ["1000", "2100", "2300", "2800", "4000", "8000"]


@pytest.fixture(scope="module")
def market() -> tuple[pd.DataFrame, pd.DataFrame, object]:
    rng = np.random.default_rng(0)
    people = job_cohort(rng, [f"010190{i:04d}" for i in range(200)], date(2025, 1, 1), 60, POSTCODES, (9000, 14000))
    history = job_cohort(rng, [f"020190{i:04d}" for i in range(1200)], date(2024, 1, 1), 300, POSTCODES, (9000, 14000))
    data = simulate_jobs(np.random.default_rng(9), people, history, n_postings=5000, start=date(2023, 12, 1),
                         end=date(2025, 3, 1))
    return people, history, data


def test_same_seed_same_files(market: tuple) -> None:
    people, history, data = market
    again = simulate_jobs(np.random.default_rng(9), people, history, n_postings=5000, start=date(2023, 12, 1),
                          end=date(2025, 3, 1))
    for name in ("cvs", "postings", "hires"):
        pd.testing.assert_frame_equal(getattr(data, name), getattr(again, name))


def test_files_have_the_agreed_columns_and_values(market: tuple) -> None:
    people, history, data = market
    assert list(data.cvs.columns) == ["cpr", "cv_text", "desired_titles", "education_level", "education_field",
                                      "experience_years", "postcode"]
    assert list(data.postings.columns) == ["posting_id", "source", "title", "text", "employer", "postcode",
                                           "occupation_code", "requires_qualifications", "published_on", "deadline"]
    assert list(data.hires.columns) == ["cpr", "posting_id", "hired_on"]
    assert set(data.cvs["cpr"]) == set(people["cpr"]) | set(history["cpr"])
    assert set(data.cvs["education_field"]) <= set(FIELDS)
    assert data.postings["occupation_code"].str.fullmatch(r"\d{4}").all()
    assert set(data.postings["source"]) == {"jobnet", "jobindex"}
    assert (data.postings["deadline"] >= data.postings["published_on"]).all()
    assert data.postings["posting_id"].is_unique
    assert (data.cvs["experience_years"] >= 0).all()
    # Only the historical cohort has hires, each of an existing posting open around the hire.
    assert set(data.hires["cpr"]) <= set(history["cpr"])
    assert 0.6 * len(history) < len(data.hires) <= len(history)
    joined = data.hires.merge(data.postings, on="posting_id")
    assert len(joined) == len(data.hires)
    hired, published, deadline = (pd.to_datetime(joined[c]) for c in ("hired_on", "published_on", "deadline"))
    assert (published <= hired).all()
    # The choice is made while the posting is open; the hire follows within about three weeks.
    assert (deadline >= hired - pd.Timedelta(days=24)).all()


def test_many_hires_lie_outside_the_desired_titles(market: tuple) -> None:
    _, _, data = market
    code_of_title = {t: o.code for o in OCCUPATIONS for t in o.titles}
    wanted = data.cvs.set_index("cpr")["desired_titles"].str.split(";").map(
        lambda titles: {code_of_title[t] for t in titles})
    hired_code = data.hires.merge(data.postings, on="posting_id").set_index("cpr")["occupation_code"]
    outside = np.mean([code not in wanted[cpr] for cpr, code in hired_code.items()])
    inside = 1 - outside
    # The hidden preferences reward skills that fit another occupation, yet desired titles still matter.
    assert 0.3 <= outside <= 0.75 and inside >= 0.25


def test_cv_texts_vary_the_words_for_one_skill(market: tuple) -> None:
    _, _, data = market
    text = " ".join(data.cvs["cv_text"]).lower()
    variants = ["projektledelse", "projektstyring", "ledelse af projekter"]
    assert all(v in text for v in variants)
