"""The competition and market features learn nothing from the future: a search's values are the same whether or not
anything after its day exists (later searches, later hires, postings published later)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matcher.candidates import add_market, collect, generate
from matcher.features import FeatureSpace
from matcher.inputs import read_cvs, read_hires, read_postings
from matcher.market import MARKET_COLUMNS, Searches, Transitions, market_columns
from matcher.postings import dedupe
from matcher.train import HIRE_LAG_DAYS, WINDOW_DAYS, build_pairs, hire_queries, link_hires
from tests.factory import job_cohort
from trial.simulate.jobs import simulate_jobs

SECRET = b"test-secret-market-0123456789"


def _market(rng: np.random.Generator, n: int = 300) -> tuple[Searches, dict[str, np.ndarray], tuple[np.ndarray, ...]]:
    """Searches over 120 days whose candidates are postings open around their day (as retrieval picks them), the
    postings, and hires (sought occupations, hired occupation, day) spread over the same days.
    """
    n_post, n_occ = 400, 6
    published = rng.integers(-60, 120, size=n_post)
    deadline = published + rng.integers(14, 61, size=n_post)
    occupation = rng.integers(0, n_occ + 1, size=n_post)
    day = np.sort(rng.integers(0, 120, size=n))
    search, posting = [], []
    for s in range(n):
        eligible = np.flatnonzero((published <= day[s] + 14) & (deadline >= day[s] - 14))
        picked = rng.choice(eligible, size=min(25, eligible.size), replace=False)
        search.append(np.full(picked.size, s))
        posting.append(np.sort(picked))
    desired = rng.random((n, n_occ + 1)) < 0.25
    desired[:, -1] = False
    hires = (rng.random((200, n_occ + 1)) < 0.3, rng.integers(0, n_occ + 1, size=200), rng.integers(-30, 140, size=200))
    postings = {"occupation": occupation, "published": published, "deadline": deadline}
    return Searches(day, desired, np.concatenate(search), np.concatenate(posting)), postings, hires


@pytest.mark.parametrize("cut", [30, 61, 100])
def test_market_values_ignore_later_searches_hires_and_postings(cut: int) -> None:
    rng = np.random.default_rng(cut)
    searches, postings, (sought, hired, hired_on) = _market(rng)
    full = market_columns(searches, **postings, window_days=14,
                          transitions=Transitions(sought, hired, hired_on).before)
    # What day `cut` knew: the searches begun by then, the hires made by then, and no posting published later than
    # a search of that day could see (those are rewritten here: reading them would change the values).
    kept = searches.day <= cut
    renumber = np.cumsum(kept) - 1
    pairs = kept[searches.pair_search]
    past = Searches(searches.day[kept], searches.desired[kept], renumber[searches.pair_search[pairs]],
                    searches.pair_posting[pairs])
    made = hired_on <= cut
    later = postings["published"] > cut + 14
    rewritten = {**postings, "occupation": np.where(later, 0, postings["occupation"]),
                 "deadline": np.where(later, postings["deadline"] + 500, postings["deadline"])}
    truncated = market_columns(past, **rewritten, window_days=14,
                               transitions=Transitions(sought[made], hired[made], hired_on[made]).before)
    np.testing.assert_array_equal(truncated, full[pairs])
    assert np.isfinite(full).all() and (full[:, 0] > 0).all()


def test_crowding_counts_the_other_searches_of_the_market() -> None:
    """Three searches on one day; posting 0 is a candidate of all three, posting 1 of one only.

    Slots of the others per open posting (2 open): search 0's others hold 2 pairs -> 1.0 per posting. Posting 0 has
    2 others: (2 + 1) / (1 + 1) = 1.5; posting 1 has none: (0 + 1) / (1 + 1) = 0.5.
    """
    searches = Searches(np.zeros(3, dtype=np.int64), np.zeros((3, 2), dtype=bool), np.array([0, 0, 1, 2]),
                        np.array([0, 1, 0, 0]))
    no_hires = Transitions(np.zeros((0, 2), dtype=bool), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    out = market_columns(searches, np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.int64),
                         np.full(2, 30), window_days=0, transitions=no_hires.before)
    assert out[:2, 0].tolist() == [1.5, 0.5]


def _frames(tmp: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A small simulated market written to files and read back as `trial match train` reads them."""
    rng = np.random.default_rng(2)
    history = job_cohort(rng, [f"030180{i:04d}" for i in range(700)],
                         date(2024, 1, 1), 200, ["1000", "2100", "2200", "2300", "2800"])
    data = simulate_jobs(np.random.default_rng(3), history.iloc[:0], history, n_postings=2500,
                         start=date(2023, 12, 1), end=date(2024, 11, 1))
    for name in ("cvs", "postings", "hires"):
        getattr(data, name).to_csv(tmp / f"{name}.csv", index=False)
    return (read_cvs(tmp / "cvs.csv", secret=SECRET), read_postings(tmp / "postings.csv"),
            read_hires(tmp / "hires.csv", secret=SECRET))


def test_training_features_of_a_hire_do_not_change_when_later_hires_are_removed(tmp_path: Path) -> None:
    """Every feature of the training pairs of a hire on or before the cut is the same with the later hires gone:
    their searches, their crowding and the transitions they add all lie after it.
    """
    cvs, postings, hires = _frames(tmp_path)
    kept, mapping = dedupe(postings)
    linked = link_hires(hires, mapping, cvs).hires
    space = FeatureSpace.fit(cvs, kept, linked)  # one space for both, so only the market can differ
    cut = linked["hired_on"].quantile(0.6)
    everything = build_pairs(space, cvs, kept, linked, k=60)
    until_cut = build_pairs(space, cvs, kept, linked[linked["hired_on"] <= cut], k=60)
    assert until_cut.groups.size >= 200
    rows = {p: (s, n) for p, s, n in zip(everything.person_ids, np.cumsum(everything.groups) - everything.groups,
                                         everything.groups, strict=True)}
    start, compared = 0, []
    for person, n in zip(until_cut.person_ids, until_cut.groups, strict=True):
        s, m = rows[person]
        assert m == n
        np.testing.assert_array_equal(until_cut.features[start:start + n], everything.features[s:s + n])
        compared.append(np.arange(s, s + n))
        start += n
    # The comparison has teeth: the market columns vary, and the transitions the finished model knows (all hires,
    # later ones included) would have given these searches other values than the hires before each of them.
    market = everything.features[np.concatenate(compared)][:, MARKET_COLUMNS]
    assert (market.std(axis=0) > 0).all()
    post, cit, target, ref = hire_queries(space, cvs, kept, linked)
    pairs = collect(generate(space, cit, post, ref, k=60, window_days=WINDOW_DAYS), len(cit), "candidates for")
    add_market(space, pairs, cit, post, ref, window_days=WINDOW_DAYS)  # the model's totals: every hire
    hindsight = pairs.features[:, MARKET_COLUMNS[2]].copy()
    add_market(space, pairs, cit, post, ref, window_days=WINDOW_DAYS,
               transitions=Transitions(cit.desired_occupations, post.occupation[target], ref + HIRE_LAG_DAYS))
    assert np.mean(hindsight != pairs.features[:, MARKET_COLUMNS[2]]) > 0.5
