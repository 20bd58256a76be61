"""The competition and market features of a (search, posting) pair, from what was known on the search's day.

- crowding: other job seekers whose candidates hold the posting, relative to the average open posting (1 = average);
- tightness: open postings per job seeker in the posting's occupation against the whole market (log ratio);
- transition_share: of the earlier hires of people seeking the citizen's titles, the (smoothed) share that went to
  the posting's occupation, the largest over the citizen's desired occupations: a graded distance from the
  desired titles where `outside_desired` is only yes or no.

A search on day t sees the searches begun within SEARCH_DAYS up to and including t, the postings published by t
(and, in training and evaluation, those the retrieval window lets in) and the hires before t. Training on past
hires therefore learns nothing from the future (tests/test_match_market.py). In serving, the searches are the
citizens served together and the hires those the model was trained on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from matcher.schema import FEATURE_COLUMN, SEARCH_DAYS

MARKET_FEATURES = ["crowding", "tightness", "transition_share"]
MARKET_COLUMNS = [FEATURE_COLUMN[name] for name in MARKET_FEATURES]
_SMOOTHING = 5.0  # pseudo-hires that pull a desired occupation's rare transitions towards the overall hire shares


@dataclass
class Searches:
    """Searches and their candidates: each search's day and desired occupations; pairs sorted by search."""

    day: np.ndarray  # per search
    desired: np.ndarray  # searches x (occupations + unknown), True where a desired title lies
    pair_search: np.ndarray
    pair_posting: np.ndarray


class Transitions:
    """Hires as transitions from the occupations a person sought to the one they were hired into, countable up to
    any day; a saved model keeps only the totals.
    """

    def __init__(self, desired: np.ndarray, occupation: np.ndarray, day: np.ndarray) -> None:
        n_occ = desired.shape[1]
        self.days, day_of = np.unique(day, return_inverse=True)
        pair = np.zeros((self.days.size, n_occ, n_occ))
        rows, sought = np.nonzero(desired)
        np.add.at(pair, (day_of[rows], sought, occupation[rows]), 1.0)
        hired = np.zeros((self.days.size, n_occ))
        np.add.at(hired, (day_of, occupation), 1.0)
        # Running totals by day, so the counts before any day are one lookup.
        self._pairs = np.concatenate([np.zeros((1, n_occ, n_occ)), np.cumsum(pair, axis=0)])
        self._hired = np.concatenate([np.zeros((1, n_occ)), np.cumsum(hired, axis=0)])

    def before(self, day: float) -> tuple[np.ndarray, np.ndarray]:
        """(sought x hired occupation counts, hires per occupation) of the hires strictly before `day`."""
        k = int(np.searchsorted(self.days, day, side="left"))
        return self._pairs[k], self._hired[k]


CountsOn = Callable[[int], tuple[np.ndarray, np.ndarray]]


def transition_shares(pairs: np.ndarray, hired: np.ndarray) -> np.ndarray:
    """P(hired occupation | sought occupation), smoothed towards the overall hire shares; one extra last row holds
    the overall shares themselves, for citizens whose titles name no known occupation.
    """
    overall = (hired + 1.0) / (hired.sum() + hired.size)
    shares = (pairs + _SMOOTHING * overall[None, :]) / (pairs.sum(axis=1, keepdims=True) + _SMOOTHING)
    return np.vstack([shares, overall[None, :]]).astype(np.float32)


def market_columns(searches: Searches, occupation: np.ndarray, published: np.ndarray, deadline: np.ndarray, *,
                   window_days: int, transitions: CountsOn) -> np.ndarray:
    """The MARKET_FEATURES columns for every pair, day by day in date order.

    `occupation`, `published` and `deadline` describe the postings the pairs point into; a posting counts as open
    on day t from `window_days` before its publication to `window_days` after its deadline (the retrieval window).
    `transitions(t)` gives the transition counts known on day t.
    """
    out = np.zeros((searches.pair_posting.size, len(MARKET_FEATURES)), dtype=np.float32)
    n_post, n_occ = occupation.size, searches.desired.shape[1]
    pair_day = searches.day[searches.pair_search]
    by_day = np.argsort(pair_day, kind="stable")
    sorted_days = pair_day[by_day]
    slots_of = np.bincount(searches.pair_search, minlength=searches.day.size)
    search_order = np.argsort(searches.day, kind="stable")
    search_days = searches.day[search_order]
    for today in np.unique(searches.day):
        # The market: searches begun within SEARCH_DAYS up to today, and the postings open today.
        lo, hi = np.searchsorted(sorted_days, [today - SEARCH_DAYS + 1, today + 1], side="left")
        in_market = by_day[lo:hi]
        crowd = np.bincount(searches.pair_posting[in_market], minlength=n_post)
        s_lo, s_hi = np.searchsorted(search_days, [today - SEARCH_DAYS + 1, today + 1], side="left")
        seekers = searches.desired[search_order[s_lo:s_hi]].sum(axis=0)
        is_open = (published <= today + window_days) & (deadline >= today - window_days)
        vacancies = np.bincount(occupation[is_open], minlength=n_occ)
        tightness = (np.log((vacancies + 1.0) / (vacancies.sum() + n_occ))
                     - np.log((seekers + 1.0) / (seekers.sum() + n_occ))).astype(np.float32)
        shares = transition_shares(*transitions(int(today)))
        # Today's pairs: each search is in its own market, so its own candidates are taken out of the crowd.
        t_lo, t_hi = np.searchsorted(sorted_days, [today, today + 1], side="left")
        pairs = by_day[t_lo:t_hi]
        search, posting = searches.pair_search[pairs], searches.pair_posting[pairs]
        others = crowd[posting] - 1
        others_per_posting = (in_market.size - slots_of[search]) / max(int(is_open.sum()), 1)
        out[pairs, 0] = (others + 1.0) / (others_per_posting + 1.0)
        out[pairs, 1] = tightness[occupation[posting]]
        out[pairs, 2] = _closest_share(searches.desired, shares, search, occupation[posting])
    return out


def _closest_share(desired: np.ndarray, shares: np.ndarray, search: np.ndarray, occupation: np.ndarray) -> np.ndarray:
    """For each pair, the largest transition share into the posting's occupation over the search's desired
    occupations (the overall share when none is known).
    """
    searches, local = np.unique(search, return_inverse=True)
    wants = desired[searches]
    best = np.empty((searches.size, shares.shape[1]), dtype=np.float32)
    for start in range(0, searches.size, 2048):
        block = wants[start:start + 2048]
        best[start:start + 2048] = np.where(block[:, :, None], shares[None, :-1, :], -1.0).max(axis=1)
    nothing = ~wants.any(axis=1)
    best[nothing] = shares[-1]
    return best[local, occupation]
