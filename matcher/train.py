"""Training: from CVs, postings and hires to a saved LightGBM ranker, with a validation split by citizen."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from matcher.candidates import add_market, collect, generate
from matcher.features import CitizenSide, FeatureSpace, PostingSide, day_numbers
from matcher.inputs import frame_hash
from matcher.market import Transitions
from matcher.model import MatchModel
from matcher.postings import dedupe
from matcher.progress import OnProgress, report
from matcher.ranker import LambdaRanker
from matcher.schema import DEFAULT_CANDIDATES
from trial.errors import TrialError

# Hires happen some weeks after the citizen found the posting: the reference day for features and the pool.
HIRE_LAG_DAYS = 14
WINDOW_DAYS = 14


@dataclass
class LinkedHires:
    """Hires joined to the kept copy of their posting and to a CV; what could not be linked is counted."""

    hires: pd.DataFrame  # person_id, posting_id (kept copy), hired_on; first hire per person
    unknown_posting: int
    without_cv: int


def link_hires(hires: pd.DataFrame, mapping: dict[str, str], cvs: pd.DataFrame) -> LinkedHires:
    """Map hires to deduplicated postings, keep each citizen's first hire, and drop those without a CV."""
    kept = hires["posting_id"].map(mapping)
    unknown = int(kept.isna().sum())
    linked = hires.assign(posting_id=kept)[kept.notna().to_numpy()]
    has_cv = linked["person_id"].isin(set(cvs["person_id"]))
    without = int((~has_cv).sum())
    linked = linked[has_cv.to_numpy()].sort_values(["hired_on", "posting_id"]).drop_duplicates("person_id")
    return LinkedHires(linked[["person_id", "posting_id", "hired_on"]].reset_index(drop=True), unknown, without)


def _in_validation(person_ids: pd.Series, share: float) -> np.ndarray:
    """A fixed split by citizen from a hash of the pseudonym, so the split does not depend on row order."""
    cut = int(share * 2**32)
    return np.array([int(hashlib.sha256(p.encode()).hexdigest()[:8], 16) < cut for p in person_ids])


@dataclass
class TrainingPairs:
    """Candidate rows with graded labels, grouped by citizen (one query each)."""

    features: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    person_ids: np.ndarray
    queries_without_hire: int


def hire_queries(
    space: FeatureSpace, cvs: pd.DataFrame, postings: pd.DataFrame, hires: pd.DataFrame
) -> tuple[PostingSide, CitizenSide, np.ndarray, np.ndarray]:
    """One query per hire: the postings, the hired citizens, the hired posting's index and the day the search began."""
    post = space.prepare_postings(postings)
    people = cvs.set_index("person_id").loc[hires["person_id"]].reset_index()
    cit = space.prepare_citizens(people)
    target = pd.Series(np.arange(len(post)), index=post.frame["posting_id"]).loc[hires["posting_id"]].to_numpy()
    return post, cit, target, day_numbers(hires["hired_on"]) - HIRE_LAG_DAYS


def build_pairs(space: FeatureSpace, cvs: pd.DataFrame, postings: pd.DataFrame, hires: pd.DataFrame, *,
                k: int, progress: OnProgress | None = None) -> TrainingPairs:
    """Labels: the hired posting 2, others of the same occupation 1, the rest 0; citizens whose hire was not
    retrieved are left out (their forced-in positive would teach the model to prefer poor retrieval scores), but
    their searches still count in everyone's market features.
    """
    post, cit, target, ref = hire_queries(space, cvs, postings, hires)
    pairs = collect(generate(space, cit, post, ref, k=k, window_days=WINDOW_DAYS), len(cit), "candidates for",
                    progress)
    # Each search's market sees only the hires before its day (its own comes HIRE_LAG_DAYS after it).
    earlier = Transitions(cit.desired_occupations, post.occupation[target], ref + HIRE_LAG_DAYS)
    add_market(space, pairs, cit, post, ref, window_days=WINDOW_DAYS, transitions=earlier)
    hired = target[pairs.search]
    label = np.where(pairs.posting == hired, 2, np.where(post.occupation[pairs.posting] == post.occupation[hired], 1, 0)
                     ).astype(np.float32)
    retrieved = np.zeros(len(cit), dtype=bool)
    retrieved[pairs.search[label == 2]] = True
    if not retrieved.any():
        raise TrialError("no hired posting was among any citizen's candidates; check that hires match postings")
    keep = retrieved[pairs.search]
    groups = np.bincount(pairs.search[keep], minlength=len(cit))[retrieved]
    return TrainingPairs(pairs.features[keep], label[keep], groups, cit.frame["person_id"].to_numpy()[retrieved],
                         int(len(cit) - retrieved.sum()))


def train(cvs: pd.DataFrame, postings: pd.DataFrame, hires: pd.DataFrame, *, until: date | None = None,
          k: int = DEFAULT_CANDIDATES, validation_share: float = 0.2, params: dict | None = None,
          progress: OnProgress | None = None) -> MatchModel:
    """Learn the feature space and the ranker from hires up to `until` (default: all)."""
    started = time.perf_counter()
    kept, mapping = dedupe(postings)
    linked = link_hires(hires, mapping, cvs)
    train_hires = linked.hires
    if until is not None:
        train_hires = train_hires[train_hires["hired_on"] <= pd.Timestamp(until)].reset_index(drop=True)
    if len(train_hires) < 20:
        raise TrialError(f"only {len(train_hires)} hires can be linked to a CV and a posting; at least 20 are needed")
    report(progress, f"learning the feature space from {len(kept)} postings and {len(train_hires)} hires")
    space = FeatureSpace.fit(cvs, kept, train_hires)
    pairs = build_pairs(space, cvs, kept, train_hires, k=k, progress=progress)
    valid = _in_validation(pd.Series(pairs.person_ids), validation_share)
    if valid.all() or not valid.any():
        valid = np.arange(valid.size) % 5 == 0
    row_valid = np.repeat(valid, pairs.groups)
    ranker = LambdaRanker(params)
    report(progress, f"fitting the ranker on {int(pairs.labels.size):,} candidate pairs")
    fit_started = time.perf_counter()
    ranker.fit(pairs.features[~row_valid], pairs.labels[~row_valid], pairs.groups[~valid],
               pairs.features[row_valid], pairs.labels[row_valid], pairs.groups[valid])
    finished = time.perf_counter()
    meta = {
        "trained_until": str(train_hires["hired_on"].max().date()),
        "training_data_sha256": frame_hash(cvs, postings, hires),
        "metrics": {
            "validation_ndcg_at_10": ranker.validation_ndcg,
            "queries": int(pairs.groups.size),
            "validation_queries": int(valid.sum()),
            "candidate_pairs": int(pairs.labels.size),
            "hires_linked": len(train_hires),
            "hires_not_retrieved": pairs.queries_without_hire,
            "hires_unknown_posting": linked.unknown_posting,
            "hires_without_cv": linked.without_cv,
            "postings": len(postings),
            "postings_after_dedupe": len(kept),
            "seconds_total": round(finished - started, 2),
            "seconds_lightgbm": round(finished - fit_started, 2),
        },
        "candidates_k": k,
    }
    return MatchModel(space, ranker, meta)
