"""The LightGBM lambdarank model: one query group per citizen, graded labels, early stopping on NDCG@10."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from matcher.schema import FEATURES

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "max_bin": 63,
    "feature_fraction": 0.9,
    # Only the first page matters to a consultant: pairs beyond rank 10 hardly change NDCG@10 and cost time.
    "lambdarank_truncation_level": 10,
    "num_threads": 2,
    "deterministic": True,
    "force_row_wise": True,
    "seed": 7,
    "verbosity": -1,
}


def _threads(features: np.ndarray) -> int:
    # Starting the thread pool costs more than a single citizen's few hundred rows take on one core.
    return 1 if len(features) < 5000 else 2


_SMOOTHING = 10  # rounds: validation NDCG of a few hundred citizens is too noisy to stop on round by round


def _moving_average(values: np.ndarray) -> np.ndarray:
    """Trailing mean over up to `_SMOOTHING` rounds."""
    if values.size == 0:
        return values
    cumulative = np.cumsum(np.r_[0.0, values])
    width = np.minimum(np.arange(1, values.size + 1), _SMOOTHING)
    return (cumulative[1:] - cumulative[np.arange(values.size) + 1 - width]) / width


def _best_round(curve: list[float]) -> int:
    """0-based round whose smoothed validation NDCG is highest, among rounds with a full smoothing window.

    Before round `_SMOOTHING` the average covers fewer rounds and one lucky round can win (a 1-tree model was kept).
    """
    smooth = _moving_average(np.array(curve))
    first = min(_SMOOTHING, len(curve)) - 1
    return first + int(np.argmax(smooth[first:]))


def _smoothed_early_stopping(curve: list[float], patience: int) -> Any:
    """Record validation NDCG@10 and stop once its moving average has not improved for `patience` rounds.

    Raw NDCG plateaus and wobbles for dozens of rounds before climbing again, so stopping on it picks tiny models.
    """
    import lightgbm as lgb

    def callback(env: Any) -> None:
        curve.append(float(env.evaluation_result_list[0][2]))
        best = _best_round(curve)
        if len(curve) - 1 - best >= patience:
            raise lgb.callback.EarlyStopException(best, env.evaluation_result_list)

    callback.order = 30  # type: ignore[attr-defined]
    return callback


class LambdaRanker:
    """Learns to order a citizen's candidate postings; `score` and `contributions` take FEATURES-ordered rows."""

    name = "lightgbm"

    def __init__(self, params: dict[str, Any] | None = None, num_boost_round: int = 400,
                 early_stopping_rounds: int = 50) -> None:
        self.params = {**DEFAULT_PARAMS, **(params or {})}
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds
        self.booster: Any = None
        self.best_iteration = 0
        self.validation_ndcg: float | None = None

    def fit(self, features: np.ndarray, labels: np.ndarray, groups: np.ndarray, valid_features: np.ndarray,
            valid_labels: np.ndarray, valid_groups: np.ndarray) -> LambdaRanker:
        """Train with early stopping on the validation citizens' NDCG@10; returns self.

        The best round is the peak of the validation NDCG's moving average, which is steadier than its raw peak.
        """
        import lightgbm as lgb

        train = lgb.Dataset(features, labels, group=groups, feature_name=FEATURES, free_raw_data=True)
        valid = lgb.Dataset(valid_features, valid_labels, group=valid_groups, reference=train)
        curve: list[float] = []
        self.booster = lgb.train(
            self.params, train, num_boost_round=self.num_boost_round, valid_sets=[valid], valid_names=["valid"],
            callbacks=[_smoothed_early_stopping(curve, self.early_stopping_rounds)],
        )
        self.best_iteration = _best_round(curve) + 1 if curve else self.booster.current_iteration()
        self.validation_ndcg = float(curve[self.best_iteration - 1]) if curve else None
        return self

    def score(self, features: np.ndarray) -> np.ndarray:
        return self.booster.predict(features, num_iteration=self.best_iteration, num_threads=_threads(features))

    def contributions(self, features: np.ndarray) -> np.ndarray:
        """Per-feature contributions to each row's score (SHAP values; the last column is the bias)."""
        return self.booster.predict(features, num_iteration=self.best_iteration, pred_contrib=True,
                                    num_threads=_threads(features))

    def save(self, directory: Path) -> None:
        self.booster.save_model(str(directory / "booster.txt"), num_iteration=self.best_iteration)

    @classmethod
    def load(cls, directory: Path, params: dict[str, Any], best_iteration: int) -> LambdaRanker:
        import lightgbm as lgb

        ranker = cls(params)
        ranker.booster = lgb.Booster(model_file=str(directory / "booster.txt"))
        ranker.best_iteration = best_iteration
        return ranker
