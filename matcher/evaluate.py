"""Offline evaluation on hires held out by time: the model against Jobnet's automatch on the same candidates."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from matcher.baseline import AutomatchRanker
from matcher.candidates import add_market, collect, generate
from matcher.model import MatchModel
from matcher.postings import dedupe
from matcher.progress import OnProgress
from matcher.schema import BASELINE_CANDIDATES, DEFAULT_CANDIDATES, FEATURE_COLUMN
from matcher.train import WINDOW_DAYS, hire_queries, link_hires
from trial.errors import TrialError

TOP = 10
_OUTSIDE = FEATURE_COLUMN["outside_desired"]


def _summary(rank: np.ndarray, outside: np.ndarray) -> dict[str, float]:
    """Mean NDCG@10, Recall@10, MRR (rank 0 = hire not among the candidates) and the alternative share."""
    found = rank > 0
    safe = np.where(found, rank, 1)
    in_top = found & (rank <= TOP)
    return {
        "ndcg_at_10": float(np.mean(np.where(in_top, 1.0 / np.log2(safe + 1.0), 0.0))) if rank.size else 0.0,
        "recall_at_10": float(np.mean(in_top)) if rank.size else 0.0,
        "mrr": float(np.mean(np.where(found, 1.0 / safe, 0.0))) if rank.size else 0.0,
        "alternative_share": float(np.mean(outside)) if outside.size else 0.0,
    }


def evaluate(model: MatchModel, cvs: pd.DataFrame, postings: pd.DataFrame, hires: pd.DataFrame, *,
             since: date | None = None, k: int | None = None,
             progress: OnProgress | None = None) -> dict[str, Any]:
    """Metrics for hires after `since` (default: the model's last training hire), model and baseline alike."""
    cutoff = pd.Timestamp(since if since is not None else model.meta["trained_until"])
    kept, mapping = dedupe(postings)
    linked = link_hires(hires, mapping, cvs).hires
    test = linked[linked["hired_on"] > cutoff].reset_index(drop=True)
    if test.empty:
        raise TrialError(f"no hires after {cutoff.date()} to evaluate on (the model was trained until "
                         f"{model.meta.get('trained_until')}); pass --since or newer hires")
    space = model.space
    post, cit, target, ref = hire_queries(space, cvs, kept, test)
    rankers = {"model": model.ranker, "baseline": AutomatchRanker()}
    ranks = {name: np.zeros(len(test), dtype=np.int64) for name in rankers}
    outside = {name: np.zeros((len(test), TOP), dtype=float) for name in rankers}
    shown = {name: np.zeros((len(test), TOP), dtype=np.int64) - 1 for name in rankers}
    k = k or int(model.meta.get("candidates_k", DEFAULT_CANDIDATES))
    batches = generate(space, cit, post, ref, k=k, window_days=WINDOW_DAYS, k_baseline=BASELINE_CANDIDATES)
    pairs = collect(batches, len(cit), "evaluated", progress)
    add_market(space, pairs, cit, post, ref, window_days=WINDOW_DAYS)
    everything = np.ones(pairs.search.size, dtype=bool)
    for name, ranker in rankers.items():
        score = ranker.score(pairs.features)
        place = pairs.places(everything, score)  # within each citizen by score, ties by posting
        hit = pairs.posting == target[pairs.search]
        ranks[name][pairs.search[hit]] = place[hit]
        top = place <= TOP
        outside[name][pairs.search[top], place[top] - 1] = pairs.features[top, _OUTSIDE]
        shown[name][pairs.search[top], place[top] - 1] = pairs.posting[top]
    pool_size = np.bincount(pairs.search, minlength=len(test))
    filled = shown["model"] >= 0
    # Coverage: the share of postings open during the test period that some citizen was shown.
    open_in_period = int(((post.published <= ref.max() + WINDOW_DAYS) & (post.deadline >= ref.min() - WINDOW_DAYS))
                         .sum())
    result: dict[str, Any] = {}
    for name in rankers:
        result[name] = _summary(ranks[name], outside[name][shown[name] >= 0])
        distinct = np.unique(shown[name][shown[name] >= 0])
        result[name]["coverage"] = float(distinct.size / max(open_in_period, 1))
    result["ndcg_ratio"] = (result["model"]["ndcg_at_10"] / result["baseline"]["ndcg_at_10"]
                            if result["baseline"]["ndcg_at_10"] > 0 else None)
    result["test"] = {
        "hires": len(test),
        "since": str(cutoff.date()),
        "hire_among_candidates": float(np.mean(ranks["model"] > 0)),
        "mean_candidates": float(pool_size.mean()),
        "postings_after_dedupe": len(kept),
        "shown_per_citizen": float(filled.sum(1).mean()),
    }
    result["groups"] = _by_group(cit.frame, test, ranks, outside, shown)
    return result


def _by_group(people: pd.DataFrame, test: pd.DataFrame, ranks: dict[str, np.ndarray],
              outside: dict[str, np.ndarray], shown: dict[str, np.ndarray]) -> dict[str, Any]:
    """The same metrics by sex and age band (under 30 / 30 and over at the hire), where the CVs say so."""
    labels: dict[str, pd.Series] = {}
    if "sex" in people:
        labels["sex"] = people["sex"].astype(str).str.upper().replace({"F": "K"})
    if "birth_date" in people:
        age = (pd.to_datetime(test["hired_on"]) - pd.to_datetime(people["birth_date"])).dt.days / 365.25
        labels["age_band"] = pd.Series(np.where(age.isna(), "", np.where(age < 30, "under_30", "30_plus")))
    out: dict[str, Any] = {}
    for variable, values in labels.items():
        out[variable] = {}
        for value in sorted(set(values) - {"", "NAN", "NONE"}):
            mask = (values == value).to_numpy()
            out[variable][value] = {"citizens": int(mask.sum())}
            for name in ranks:
                sub_outside = outside[name][mask][shown[name][mask] >= 0]
                out[variable][value][name] = _summary(ranks[name][mask], sub_outside)
    return out
