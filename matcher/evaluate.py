"""Offline evaluation on hires held out by time: the model against Jobnet's automatch on the same candidates, and
the model under an exposure cap, with ranking quality, alternatives and exposure for each list."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from matcher.baseline import AutomatchRanker
from matcher.candidates import CandidatePairs, add_market, collect, generate
from matcher.exposure import Cap, Shows, capped_lists, measure
from matcher.model import MatchModel
from matcher.postings import dedupe
from matcher.progress import OnProgress
from matcher.schema import BASELINE_CANDIDATES, DEFAULT_CANDIDATES, EXPOSURE_WINDOW_DAYS, FEATURE_COLUMN
from matcher.train import WINDOW_DAYS, hire_queries, link_hires
from trial.errors import TrialError

TOP = 10
_OUTSIDE = FEATURE_COLUMN["outside_desired"]


def _per_citizen(pairs: CandidatePairs, place: np.ndarray, target: np.ndarray, n: int,
                 ranked: bool) -> pd.DataFrame:
    """Per held-out hire: the hired posting's place (0 = not in the list), shown slots and alternatives among them.

    `ranked` lists place every candidate, so the reciprocal rank is known beyond the first page.
    """
    hit = (pairs.posting == target[pairs.search]) & (place > 0)
    rank = np.zeros(n, dtype=np.int64)
    rank[pairs.search[hit]] = place[hit]
    top = (place > 0) & (place <= TOP)
    found = rank > 0
    in_top = found & (rank <= TOP)
    safe = np.where(found, rank, 1)
    return pd.DataFrame({
        "ndcg_at_10": np.where(in_top, 1.0 / np.log2(safe + 1.0), 0.0),
        "recall_at_10": in_top.astype(float),
        "mrr": np.where(found, 1.0 / safe, 0.0) if ranked else np.nan,
        "shown": np.bincount(pairs.search[top], minlength=n),
        "outside": np.bincount(pairs.search[top], weights=pairs.features[top, _OUTSIDE], minlength=n),
    })


def _summary(frame: pd.DataFrame) -> dict[str, float | None]:
    """Mean NDCG@10, Recall@10 and MRR (None for capped lists, which end at the first page) and the share of shown
    postings outside the desired titles.
    """
    if frame.empty:
        return {"ndcg_at_10": 0.0, "recall_at_10": 0.0, "mrr": None, "alternative_share": 0.0}
    mrr = frame["mrr"].mean()
    return {
        "ndcg_at_10": float(frame["ndcg_at_10"].mean()),
        "recall_at_10": float(frame["recall_at_10"].mean()),
        "mrr": None if np.isnan(mrr) else float(mrr),
        "alternative_share": float(frame["outside"].sum() / max(frame["shown"].sum(), 1)),
    }


def evaluate(model: MatchModel, cvs: pd.DataFrame, postings: pd.DataFrame, hires: pd.DataFrame, *,
             since: date | None = None, k: int | None = None, cap: Cap | None = None,
             progress: OnProgress | None = None) -> dict[str, Any]:
    """Metrics for hires after `since` (default: the model's last training hire), model and baseline alike; with
    `cap`, also the model's lists served day by day under it (`model_capped`), so the cap's cost is measured.
    """
    cutoff = pd.Timestamp(since if since is not None else model.meta["trained_until"])
    kept, mapping = dedupe(postings)
    linked = link_hires(hires, mapping, cvs).hires
    test = linked[linked["hired_on"] > cutoff].reset_index(drop=True)
    if test.empty:
        raise TrialError(f"no hires after {cutoff.date()} to evaluate on (the model was trained until "
                         f"{model.meta.get('trained_until')}); pass --since or newer hires")
    space = model.space
    post, cit, target, ref = hire_queries(space, cvs, kept, test)
    k = k or int(model.meta.get("candidates_k", DEFAULT_CANDIDATES))
    batches = generate(space, cit, post, ref, k=k, window_days=WINDOW_DAYS, k_baseline=BASELINE_CANDIDATES)
    pairs = collect(batches, len(cit), "evaluated", progress)
    add_market(space, pairs, cit, post, ref, window_days=WINDOW_DAYS)
    n = len(cit)
    scores = {"model": model.ranker.score(pairs.features), "baseline": AutomatchRanker().score(pairs.features)}
    everything = np.ones(pairs.search.size, dtype=bool)
    places = {name: pairs.places(everything, score) for name, score in scores.items()}
    person = cit.frame["person_id"].to_numpy()
    if cap is not None:
        shown = capped_lists(person, ref, pairs.search, pairs.posting, scores["model"], top=TOP, cap=cap,
                             n_postings=len(post))
        places["model_capped"] = pairs.places(shown, scores["model"])
    frames = {name: _per_citizen(pairs, place, target, n, ranked=name != "model_capped")
              for name, place in places.items()}
    # Coverage: the share of postings open during the test period that some citizen was shown.
    open_in_period = int(((post.published <= ref.max() + WINDOW_DAYS) & (post.deadline >= ref.min() - WINDOW_DAYS))
                         .sum())
    window = cap.window_days if cap is not None else EXPOSURE_WINDOW_DAYS
    result: dict[str, Any] = {}
    for name, place in places.items():
        top = (place > 0) & (place <= TOP)
        shows = Shows(person[pairs.search[top]], pairs.posting[top], ref[pairs.search[top]])
        result[name] = _summary(frames[name]) | {
            "exposure": measure(shows, open_postings=open_in_period, window_days=window).to_dict()}
    result["ndcg_ratio"] = _ratio(result["model"]["ndcg_at_10"], result["baseline"]["ndcg_at_10"])
    result["cap"] = None if cap is None else {
        "max_per_posting": cap.max_per_posting, "window_days": cap.window_days,
        "ndcg_kept": _ratio(result["model_capped"]["ndcg_at_10"], result["model"]["ndcg_at_10"]),
        "ndcg_ratio": _ratio(result["model_capped"]["ndcg_at_10"], result["baseline"]["ndcg_at_10"]),
    }
    result["test"] = {
        "hires": len(test),
        "since": str(cutoff.date()),
        "hire_among_candidates": float(np.mean(frames["model"]["mrr"] > 0)),
        "mean_candidates": float(np.bincount(pairs.search, minlength=n).mean()),
        "postings_after_dedupe": len(kept),
        "postings_open": open_in_period,
        "shown_per_citizen": float(frames["model"]["shown"].mean()),
    }
    result["groups"] = _by_group(cit.frame, test, frames)
    return result


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _by_group(people: pd.DataFrame, test: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The same metrics by sex and age band (under 30 / 30 and over at the hire), where the CVs say so."""
    labels: dict[str, pd.Series] = {}
    if "sex" in people:
        labels["sex"] = people["sex"].astype(str).str.upper().replace({"F": "K"})
    if "birth_date" in people:
        age = (pd.to_datetime(test["hired_on"]) - pd.to_datetime(people["birth_date"])).dt.days / 365.25
        labels["age_band"] = pd.Series(np.where(age.isna(), "", np.where(age < 30, "under_30", "30_plus")))
    out: dict[str, Any] = {}
    for variable, values in labels.items():
        known = ~values.isin(["", "NAN", "NONE"]).to_numpy()
        out[variable] = {}
        for value, rows in pd.Series(np.arange(len(values))[known]).groupby(values.to_numpy()[known]):
            out[variable][str(value)] = {"citizens": len(rows)} | {
                name: _summary(frame.iloc[rows.to_numpy()]) for name, frame in frames.items()}
    return out
