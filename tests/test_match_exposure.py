"""Exposure: the metrics on hand-made shows, and the cap holding in every window when runs follow one another."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.exposure import Cap, Shows, capped_lists, measure
from trial.errors import ParameterError


def _shows(rows: list[tuple[str, int, int]]) -> Shows:
    person, posting, day = zip(*rows, strict=True)
    return Shows(np.array(person, dtype=object), np.array(posting), np.array(day))


def test_metrics_on_a_hand_made_example() -> None:
    """Posting 0 reaches a, b, c on day 0 (a again on day 5: still 3 citizens) and d on day 20; posting 1 reaches a.

    Windows of 14 days from day 0: cells (0, first) = 3, (1, first) = 1, (0, second) = 1.
    Gini of [1, 1, 3] = 2 * (1 + 2 + 9) / (3 * 5) - 4 / 3 = 0.2667; the top 1% is one cell: 3 of 5.
    """
    shows = _shows([("a", 0, 0), ("b", 0, 0), ("c", 0, 0), ("a", 0, 5), ("d", 0, 20), ("a", 1, 0)])
    e = measure(shows, open_postings=4, window_days=14)
    assert e.slots == 6
    assert e.max_per_posting == 3
    assert e.mean_per_posting == pytest.approx(5 / 3)
    assert e.gini == pytest.approx(2 * 12 / 15 - 4 / 3)
    assert e.top1pct_share == pytest.approx(3 / 5)
    assert e.coverage == pytest.approx(2 / 4)


def test_the_maximum_is_over_every_run_of_window_days_not_fixed_windows() -> None:
    """Two citizens on day 12 and two on day 15: fixed windows [0, 13] and [14, 27] see 2 each, days 12-25 see 4."""
    shows = _shows([("a", 0, 12), ("b", 0, 12), ("c", 0, 15), ("d", 0, 15), ("e", 0, 26)])
    assert measure(shows, open_postings=1, window_days=14).max_per_posting == 4
    # Day 26 is 14 days after day 12: a and b have left the window that holds e.
    assert measure(_shows([("a", 0, 12), ("e", 0, 26)]), open_postings=1, window_days=14).max_per_posting == 1


def _windows_hold(shows: Shows, cap: int, window: int) -> bool:
    """Brute force: distinct citizens per posting in every run of `window` consecutive days."""
    for posting in np.unique(shows.posting):
        mine = shows.posting == posting
        for start in range(int(shows.day.min()) - window, int(shows.day.max()) + 1):
            inside = mine & (shows.day >= start) & (shows.day < start + window)
            if np.unique(shows.person[inside]).size > cap:
                return False
    return True


@pytest.mark.parametrize("seed", range(4))
def test_the_cap_holds_in_every_window_across_daily_runs(seed: int) -> None:
    """Searches on 40 days, some citizens searching twice; earlier shows from a log count too."""
    rng = np.random.default_rng(seed)
    n, postings, per = 120, 30, 12
    person = np.array([f"p{i % 90}" for i in range(n)], dtype=object)  # 30 citizens search twice
    day = rng.integers(0, 40, size=n)
    search = np.repeat(np.arange(n), per)
    posting = np.concatenate([rng.choice(postings, size=per, replace=False, p=_popular(postings)) for _ in range(n)])
    score = rng.normal(size=search.size) + 2 * np.log(_popular(postings)[posting] * postings)
    earlier = _shows([(f"old{i}", 0, d) for i, d in enumerate([-3, -3, -1, 2])])  # posting 0 full on days -3..2
    cap = Cap(max_per_posting=4, window_days=7)
    chosen = capped_lists(person, day, search, posting, score, top=3, cap=cap, n_postings=postings, earlier=earlier)
    shown = Shows(person[search[chosen]], posting[chosen], day[search[chosen]])
    assert _windows_hold(earlier + shown, 4, 7)
    assert (np.bincount(search[chosen], minlength=n) == 3).all()  # room enough: every list is full
    # Without the cap the popular postings go far beyond it.
    best = np.zeros(search.size, dtype=bool)
    for s in range(n):
        mine = np.flatnonzero(search == s)
        best[mine[np.argsort(-score[mine])[:3]]] = True
    assert not _windows_hold(Shows(person[search[best]], posting[best], day[search[best]]), 4, 7)


def _popular(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()


def test_a_citizen_shown_a_full_posting_again_counts_once() -> None:
    """Posting 0 has reached its cap of 2 (a and b); a searches again and may see it again, c may not."""
    earlier = _shows([("a", 0, 0), ("b", 0, 1)])
    person = np.array(["a", "c"], dtype=object)
    search = np.array([0, 0, 1, 1])
    posting = np.array([0, 1, 0, 1])
    score = np.array([3.0, 1.0, 3.0, 1.0])
    chosen = capped_lists(person, np.array([3, 3]), search, posting, score, top=1, cap=Cap(2, 14), n_postings=2,
                          earlier=earlier)
    assert chosen.tolist() == [True, False, False, True]


def test_a_run_for_an_earlier_day_counts_shows_after_it_within_the_window() -> None:
    """A re-run for day 5 after a run on day 10 must not overfill the window that holds both."""
    later = _shows([("a", 0, 10), ("b", 0, 10)])
    chosen = capped_lists(np.array(["c"], dtype=object), np.array([5]), np.array([0, 0]), np.array([0, 1]),
                          np.array([2.0, 1.0]), top=1, cap=Cap(2, 14), n_postings=2, earlier=later)
    assert chosen.tolist() == [False, True]


def test_a_cap_below_one_is_refused_naming_the_parameter() -> None:
    with pytest.raises(ParameterError, match="max_per_posting"):
        Cap(0)
    with pytest.raises(ParameterError, match="window_days"):
        Cap(3, 0)
