"""How often postings are shown: the cap on exposure per window, lists allocated under it run by run, and the
exposure metrics of `evaluate` and of each `recommend` run.

The cap counts treated citizens, not slots: a citizen shown the same posting again within the window counts once,
so re-serving someone their list uses no room. A run on day t counts every show within `window_days` of t (before
it and, should an earlier day be re-run, after it), so no run of `window_days` consecutive days holds more than the
cap (tests/test_match_exposure.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from matcher.allocation import allocate, best_per_citizen
from matcher.schema import EXPOSURE_WINDOW_DAYS, POOL_PER_SLOT


@dataclass(frozen=True)
class Cap:
    """No posting is shown to more than `max_per_posting` treated citizens within `window_days` days."""

    max_per_posting: int
    window_days: int = EXPOSURE_WINDOW_DAYS

    def __post_init__(self) -> None:
        from trial.errors import ParameterError

        if self.max_per_posting < 1:
            raise ParameterError("max_per_posting", f"must be at least 1; got {self.max_per_posting}")
        if self.window_days < 1:
            raise ParameterError("window_days", f"must be at least 1; got {self.window_days}")


@dataclass
class Shows:
    """Postings shown: who saw (person_id), which posting (index into the run's postings) and on which day."""

    person: np.ndarray
    posting: np.ndarray
    day: np.ndarray

    @classmethod
    def empty(cls) -> Shows:
        return cls(np.array([], dtype=object), np.array([], dtype=np.int64), np.array([], dtype=np.int64))

    def __len__(self) -> int:
        return int(self.posting.size)

    def near(self, day: int, window_days: int) -> Shows:
        """The shows less than `window_days` days from `day`, either side."""
        keep = np.abs(self.day - day) < window_days
        return Shows(self.person[keep], self.posting[keep], self.day[keep])

    def __add__(self, other: Shows) -> Shows:
        return Shows(np.r_[self.person, other.person], np.r_[self.posting, other.posting], np.r_[self.day, other.day])


def room_left(shows: Shows, person: np.ndarray, posting: np.ndarray, cap: int,
              n_postings: int) -> tuple[np.ndarray, np.ndarray]:
    """Room per posting (the cap less the distinct citizens in `shows`), and which (person, posting) pairs were
    already shown and so use none.
    """
    seen = pd.MultiIndex.from_arrays([shows.person, shows.posting]).unique()
    counted = np.bincount(seen.get_level_values(1).to_numpy(dtype=np.int64), minlength=n_postings)
    free = pd.MultiIndex.from_arrays([person, posting]).isin(seen) if len(seen) else np.zeros(posting.size, bool)
    return np.maximum(cap - counted, 0), np.asarray(free)


def capped_lists(person: np.ndarray, day: np.ndarray, pair_search: np.ndarray, pair_posting: np.ndarray,
                 score: np.ndarray, *, top: int, cap: Cap, n_postings: int, earlier: Shows | None = None,
                 pool: int | None = None) -> np.ndarray:
    """Mask of the pairs shown when searches are served in day order, one run per day, each run allocated exactly
    (`allocation.allocate`) in the room its window leaves after `earlier` shows and the runs before it.

    Each list is chosen from the citizen's best `pool` postings (default POOL_PER_SLOT x top); a citizen whose pool
    the caps leave short is allocated again from all their candidates.
    """
    pool = pool or POOL_PER_SLOT * top
    log = earlier if earlier is not None else Shows.empty()
    chosen = np.zeros(pair_search.size, dtype=bool)
    pair_day = day[pair_search]
    for today in np.unique(pair_day):
        pairs = np.flatnonzero(pair_day == today)
        search, posting = pair_search[pairs], pair_posting[pairs]
        room, free = room_left(log.near(int(today), cap.window_days), person[search], posting, cap.max_per_posting,
                               n_postings)
        candidates = best_per_citizen(search, posting, score[pairs], pool)
        for _attempt in range(2):
            sub = np.flatnonzero(candidates)
            picked = sub[allocate(search[sub], posting[sub], score[pairs][sub], top=top, room=room, free=free[sub])]
            got = np.bincount(search[picked], minlength=int(search.max()) + 1)
            wanted = np.minimum(np.bincount(search, minlength=got.size), top)
            short = got < wanted
            if not short.any() or candidates[short[search]].all():
                break
            candidates |= short[search]
        chosen[pairs[picked]] = True
        log = log + Shows(person[search[picked]], posting[picked], np.full(picked.size, today))
    return chosen


def uncapped_lists(pair_search: np.ndarray, pair_posting: np.ndarray, score: np.ndarray, top: int) -> np.ndarray:
    """Mask of each search's best `top` pairs: today's behaviour without a cap."""
    return best_per_citizen(pair_search, pair_posting, score, top)


@dataclass(frozen=True)
class Exposure:
    """How concentrated the shown lists are. Counts are distinct citizens per posting within a window (windows of
    `window_days` from the first day); `max_per_posting` is the largest over every run of `window_days` days.
    """

    slots: int  # postings shown, all lists together
    max_per_posting: int  # the most citizens one posting was shown to within one window
    mean_per_posting: float  # citizens per shown posting and window, on average
    gini: float  # Gini coefficient of the citizens per shown posting and window
    top1pct_share: float  # share of all slots taken by the most-shown 1% of (posting, window) pairs
    coverage: float  # share of the open postings shown at least once

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def measure(shows: Shows, *, open_postings: int, window_days: int = EXPOSURE_WINDOW_DAYS) -> Exposure:
    """Exposure metrics of the shows; `open_postings` is how many postings could have been shown."""
    if len(shows) == 0:
        return Exposure(0, 0, 0.0, 0.0, 0.0, 0.0)
    person = np.unique(shows.person, return_inverse=True)[1].astype(np.int64).ravel()
    day = shows.day.astype(np.int64) - int(shows.day.min())
    window = day // window_days
    cell = shows.posting.astype(np.int64) * (int(window.max()) + 1) + window
    # Distinct citizens per (posting, window): unique (cell, person) pairs, then counted per cell.
    distinct = np.unique(cell * (int(person.max()) + 1) + person) // (int(person.max()) + 1)
    counts = np.sort(np.unique(distinct, return_counts=True)[1])
    n = counts.size
    gini = float(2 * np.sum(np.arange(1, n + 1) * counts) / (n * counts.sum()) - (n + 1) / n)
    top = max(1, int(np.ceil(0.01 * n)))
    return Exposure(
        slots=len(shows),
        max_per_posting=_max_within(shows.posting.astype(np.int64), person, day, window_days),
        mean_per_posting=float(counts.mean()),
        gini=gini,
        top1pct_share=float(counts[-top:].sum() / counts.sum()),
        coverage=float(np.unique(shows.posting).size / max(open_postings, 1)),
    )


def _max_within(posting: np.ndarray, person: np.ndarray, day: np.ndarray, window_days: int) -> int:
    """The most distinct citizens any posting was shown to within any `window_days` consecutive days.

    Each citizen's shows of a posting cover the window ends [day, day + window) and are merged where they
    overlap; the answer is the deepest overlap of these intervals (a sweep over starts and ends).
    """
    order = np.lexsort((day, person, posting))
    posting, person, day = posting[order], person[order], day[order]
    new = np.r_[True, (posting[1:] != posting[:-1]) | (person[1:] != person[:-1]) | (np.diff(day) >= window_days)]
    run = np.cumsum(new) - 1
    start = day[new]
    end = np.zeros(start.size, dtype=np.int64)
    np.maximum.at(end, run, day)
    end += window_days
    owner = posting[new]
    # Events sorted by posting, day and kind (an end before a start on the same day: that window has closed). Each
    # posting's steps sum to zero, so the running total over all events is the depth within the current posting.
    span = int(end.max()) + 1
    key = np.r_[owner * span + start, owner * span + end] * 2 + np.r_[np.ones(start.size, np.int64),
                                                                      np.zeros(end.size, np.int64)]
    steps = np.r_[np.ones(start.size, np.int64), -np.ones(end.size, np.int64)][np.argsort(key, kind="stable")]
    return int(np.cumsum(steps).max())
