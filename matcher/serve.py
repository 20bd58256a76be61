"""Serving: recommendations for the treatment arm only, with reasons, and the log of what was shown.

Anyone the ledger does not have in the treatment arm (control, not enrolled, withdrawn) is refused before any
scoring and only counted, so the control arm can never receive the intervention.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from matcher.candidates import add_market, collect, generate
from matcher.exposure import uncapped_lists
from matcher.features import CitizenSide, PostingSide, day_numbers
from matcher.model import MatchModel
from matcher.postings import active_on, dedupe
from matcher.progress import OnProgress
from matcher.reasons import ReasonContext, explain
from matcher.schema import DEFAULT_CANDIDATES, FEATURE_COLUMN, FEATURES
from trial.errors import ParameterError
from trial.ledger import Ledger

COLUMNS = ["person_id", "rank", "posting_id", "title", "employer", "postcode", "distance_km", "sources",
           "published_on", "deadline", "outside_desired", "score", "reason_1", "reason_2", "reason_3",
           "reason_features"]


@dataclass
class Scored:
    """The table shown to the consultant and, aligned with its rows, the feature rows the model scored."""

    table: pd.DataFrame
    features: np.ndarray


@dataclass
class Recommendations:
    """The top postings per served citizen (one row each), who was refused and why, and timings."""

    table: pd.DataFrame
    features: np.ndarray
    served: int
    refused: dict[str, int]
    on: date
    seconds: dict[str, float] = field(default_factory=dict)


def split_by_arm(ledger: Ledger, person_ids: pd.Series) -> tuple[np.ndarray, dict[str, int]]:
    """Mask of citizens in the treatment arm and not withdrawn; counts of the refused by reason."""
    treatment = ledger.protocol().treatment_arm
    arms = ledger.arms_of(person_ids.tolist())
    withdrawn = set(ledger.withdrawals()["person_id"])
    arm = person_ids.map(arms)
    is_withdrawn = person_ids.isin(withdrawn).to_numpy()
    serve = (arm == treatment).to_numpy() & ~is_withdrawn
    refused = {
        "not_enrolled": int(arm.isna().sum()),
        "other_arm": int(((arm != treatment) & arm.notna()).sum()),
        "withdrawn": int(((arm == treatment).to_numpy() & is_withdrawn).sum()),
    }
    return serve, refused


class Scorer:
    """Open postings prepared once (vectorised, indexed), then any number of citizens scored against them."""

    def __init__(self, model: MatchModel, postings: pd.DataFrame, *, on: date, k: int | None = None) -> None:
        self.model = model
        self.on = on
        self.k = k or int(model.meta.get("candidates_k", DEFAULT_CANDIDATES))
        self.post = model.space.prepare_postings(postings)

    def recommend_for(self, cvs: pd.DataFrame, *, top: int = 10, batch_size: int = 256,
                      progress: OnProgress | None = None) -> Scored:
        """Top `top` postings for every citizen in `cvs`, with reasons; the caller decides who may be scored."""
        space, ranker, post = self.model.space, self.model.ranker, self.post
        cit = space.prepare_citizens(cvs)
        ref = np.full(len(cit), day_numbers([self.on])[0])
        pairs = collect(generate(space, cit, post, ref, k=self.k, batch_size=batch_size), len(cit), "scored",
                        progress)
        if pairs.search.size == 0:
            return Scored(pd.DataFrame(columns=COLUMNS), np.zeros((0, len(FEATURES)), dtype=np.float32))
        # The citizens scored together are each other's market (crowding, tightness).
        add_market(space, pairs, cit, post, ref, window_days=0)
        score = ranker.score(pairs.features)
        shown = uncapped_lists(pairs.search, pairs.posting, score, top)
        place = pairs.places(shown, score)
        order = np.flatnonzero(shown)[np.lexsort((place[shown], pairs.search[shown]))]
        feats = pairs.features[order]
        # Explanations only for what is shown: pred_contrib is far slower than predict.
        contributions = ranker.contributions(feats)
        return Scored(_table(self.model, cit, post, pairs.search[order], pairs.posting[order], score[order], feats,
                             contributions), feats)


def score_citizens(model: MatchModel, cvs: pd.DataFrame, postings: pd.DataFrame, *, on: date, top: int = 10,
                   k: int | None = None, batch_size: int = 256,
                   progress: OnProgress | None = None) -> Scored:
    """Top `top` of the given (deduplicated, active) postings for every citizen in `cvs`, with reasons.

    The caller decides who may be scored; `recommend` is the gate that checks the ledger.
    """
    return Scorer(model, postings, on=on, k=k).recommend_for(cvs, top=top, batch_size=batch_size, progress=progress)


def _table(model: MatchModel, cit: CitizenSide, post: PostingSide, who: np.ndarray, cols: np.ndarray,
           scores: np.ndarray, feats: np.ndarray, contributions: np.ndarray) -> pd.DataFrame:
    space = model.space
    frame = post.frame
    rank = np.ones(len(who), dtype=np.int64)
    if len(who) > 1:
        new = np.r_[True, who[1:] != who[:-1]]
        group_start = np.maximum.accumulate(np.where(new, np.arange(len(who)), 0))
        rank = np.arange(len(who)) - group_start + 1
    labels = space.skill_terms
    # Plain arrays: per-row pandas or scipy indexing would dominate the run time.
    # Object arrays as stored (no per-call conversion of all postings' strings).
    fields = cit.frame["education_field"].to_numpy()
    titles = frame["title"].to_numpy()
    sources = (frame["sources"] if "sources" in frame else frame["source"]).to_numpy()
    top_features = np.argsort(-contributions[:, : len(FEATURES)], axis=1)[:, :4]
    skill_columns = [FEATURE_COLUMN["skill_overlap"], FEATURE_COLUMN["text_similarity"]]
    wants_skills = np.isin(top_features, skill_columns).any(axis=1)
    wants_title = (top_features == FEATURE_COLUMN["title_similarity"]).any(axis=1)
    shared = _shared_skills(cit, post, who, cols, wants_skills)
    best_titles = _best_titles(cit, post, who, cols, wants_title)
    reasons: list[list[tuple[str, str]]] = []
    for i in range(len(who)):
        c, p = int(who[i]), int(cols[i])
        ctx = ReasonContext(shared_skills=[space.skill_labels.get(labels[j], labels[j]) for j in shared[i]],
                            best_title=best_titles[i], education_field=str(fields[c]),
                            occupation_label=str(titles[p]).lower(), source=str(sources[p]).replace(";", " og "))
        reasons.append(explain(feats[i], contributions[i], ctx))
    texts = [[text for _, text in r] + [""] * (3 - len(r)) for r in reasons]
    return pd.DataFrame({
        "person_id": cit.frame["person_id"].to_numpy()[who],
        "rank": rank,
        "posting_id": frame["posting_id"].to_numpy()[cols],
        "title": titles[cols],
        "employer": frame["employer"].to_numpy()[cols],
        "postcode": frame["postcode"].to_numpy()[cols],
        "distance_km": np.round(feats[:, FEATURE_COLUMN["distance_km"]].astype(float), 1),
        "sources": sources[cols],
        "published_on": _dates(post.published[cols]),
        "deadline": _dates(post.deadline[cols]),
        "outside_desired": np.where(feats[:, FEATURE_COLUMN["outside_desired"]] >= 0.5, "ja", "nej"),
        "score": np.round(scores, 4),
        "reason_1": [t[0] for t in texts],
        "reason_2": [t[1] for t in texts],
        "reason_3": [t[2] for t in texts],
        "reason_features": [";".join(f for f, _ in r) for r in reasons],
    }, columns=COLUMNS)


def _shared_skills(cit: CitizenSide, post: PostingSide, who: np.ndarray, cols: np.ndarray,
                   wanted: np.ndarray, limit: int = 3) -> list[np.ndarray]:
    """For each pair, up to `limit` skill terms (column numbers, ascending) in both the CV and the posting."""
    both = cit.skills[who].multiply(post.skill_rows[cols]).tocsr()
    both.sort_indices()
    return [both.indices[both.indptr[i]:min(both.indptr[i] + limit, both.indptr[i + 1])] if wanted[i]
            else both.indices[:0] for i in range(len(who))]


def _best_titles(cit: CitizenSide, post: PostingSide, who: np.ndarray, cols: np.ndarray,
                 wanted: np.ndarray) -> list[str]:
    """For each wanted pair, the citizen's desired title most like the posting's title (the first of equals)."""
    out = [""] * len(who)
    pairs = np.flatnonzero(wanted)
    # One row per (pair, desired title of its citizen); desired-title rows are sorted by citizen.
    first = np.searchsorted(cit.desired_owner, who[pairs])
    count = np.searchsorted(cit.desired_owner, who[pairs], side="right") - first
    if not count.any():
        return out
    pair = np.repeat(np.arange(pairs.size), count)
    within = np.arange(pair.size) - np.repeat(np.cumsum(count) - count, count)
    desired_row = first[pair] + within
    title_row = post.title_id[cols[pairs[pair]]]
    sims = np.asarray(cit.desired[desired_row].multiply(post.titles[title_row]).sum(axis=1)).ravel()
    best = pd.Series(sims).groupby(pair).idxmax().to_numpy()  # idxmax: the first maximum, as np.argmax
    desired = cit.frame["desired_titles"].to_numpy()
    for row, j in zip(pairs[pair[best]], within[best], strict=True):
        out[row] = desired[who[row]][j]
    return out


def _dates(day_numbers: np.ndarray) -> np.ndarray:
    """ISO dates of day numbers, converted only for the rows shown."""
    return np.datetime_as_string(day_numbers.astype("datetime64[D]"), unit="D")


def recommend(model: MatchModel, ledger: Ledger, cvs: pd.DataFrame, postings: pd.DataFrame, *, on: date,
              top: int = 10, k: int | None = None, progress: OnProgress | None = None) -> Recommendations:
    """Recommendations for the citizens the ledger has in the treatment arm; everyone else is refused unscored."""
    if top < 1:
        raise ParameterError("top", f"must be at least 1; got {top}")
    started = time.perf_counter()
    serve, refused = split_by_arm(ledger, cvs["person_id"])
    kept, _ = dedupe(postings)
    active = active_on(kept, on)
    if active.empty:
        raise ParameterError("on", f"no posting is open on {on} (published on or before it, deadline not passed)")
    prepared = time.perf_counter()
    eligible = cvs[serve].reset_index(drop=True)
    scored = score_citizens(model, eligible, active, on=on, top=top, k=k, progress=progress) if len(eligible) \
        else Scored(pd.DataFrame(columns=COLUMNS), np.zeros((0, len(FEATURES)), dtype=np.float32))
    finished = time.perf_counter()
    return Recommendations(scored.table, scored.features, served=len(eligible), refused=refused, on=on,
                           seconds={"postings": round(prepared - started, 3), "scoring": round(finished - prepared, 3)})


def log_shown(ledger: Ledger, recommendations: Recommendations, shown_at: datetime | None = None) -> int:
    """Append what is shown to the ledger's recommendation log (the analysis reads receipt from it)."""
    table = recommendations.table
    rows = zip(table["person_id"], table["posting_id"], table["rank"].astype(int), strict=True)
    when = shown_at or datetime.now(UTC).replace(microsecond=0)
    return ledger.log_recommendations(list(rows), when) if len(table) else 0
