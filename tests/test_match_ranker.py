"""Early stopping of the ranker: the kept round is the peak of the smoothed validation curve, never a lucky start."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matcher.ranker import _SMOOTHING, _best_round


def test_a_high_first_round_does_not_win() -> None:
    curve = [0.9] + [0.5] * 40
    assert _best_round(curve) >= _SMOOTHING - 1


def test_best_round_is_the_peak_of_the_full_window_rolling_mean() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        curve = list(np.cumsum(rng.normal(0.01, 0.05, 120)))
        rolling = pd.Series(curve).rolling(_SMOOTHING).mean()  # NaN until a full window: never chosen
        assert _best_round(curve) == int(rolling.idxmax())


def test_short_training_keeps_its_last_round() -> None:
    assert _best_round([0.1, 0.3, 0.2]) == 2
