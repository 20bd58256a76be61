"""Days on any benefit in a fixed window after randomisation (DREAM-style), returns to benefit counted.

The mean over people of the days covered by any benefit spell in [0, W) is the sum over days t < W of the share on
benefit on day t. Staggered enrolment means that day t is observed only for people randomised at least t days before
the data cut; the share on day t is taken among them (the same independent administrative censoring Kaplan-Meier
assumes). The estimator is linear in each person's days, so its variance is the sum of squared influence values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trial.outcomes import BenefitSpans


@dataclass(frozen=True)
class WindowDays:
    """Mean days on benefit in [0, window) for one group; None when some day of the window is observed for nobody."""

    window: int
    estimate: float | None
    se: float | None
    n: int
    n_complete: int


def window_days(spans: BenefitSpans, observed_days: np.ndarray, members: np.ndarray, window: int) -> WindowDays:
    """Mean days on any benefit in [0, window) among `members` (row positions of the benefit table).

    `observed_days[i]` is how many days from randomisation person i is observed (the cut day included).
    """
    members = np.asarray(members, dtype=np.int64)
    seen = np.minimum(np.asarray(observed_days, dtype=np.int64)[members], window)
    n = len(members)
    complete = int((seen >= window).sum())
    # People observed on day t: seen > t.
    at_day = n - np.cumsum(np.bincount(seen, minlength=window + 1))[:window]
    if n == 0 or at_day[-1] == 0:
        return WindowDays(window, None, None, n, complete)
    position = np.full(len(observed_days), -1)
    position[members] = np.arange(n)
    mine = position[spans.person] >= 0
    who = position[spans.person[mine]]
    start = spans.start[mine]
    end = np.minimum(spans.end[mine], seen[who])
    keep = end > start
    who, start, end = who[keep], start[keep], end[keep]
    on = np.cumsum(np.bincount(start, minlength=window + 1) - np.bincount(end, minlength=window + 1))[:window]
    share = on / at_day
    estimate = float(share.sum())
    # Influence of person i: sum over their observed days t of (on_i(t) − share(t)) / at_day(t).
    per_day = np.concatenate([[0.0], np.cumsum(1.0 / at_day)])
    expected = np.concatenate([[0.0], np.cumsum(share / at_day)])
    influence = np.bincount(who, weights=per_day[end] - per_day[start], minlength=n) - expected[seen]
    return WindowDays(window, estimate, float(np.sqrt(np.sum(influence**2))), n, complete)
