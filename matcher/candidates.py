"""Candidate generation: per batch of citizens, score all postings with sparse products and keep the top K."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from matcher.baseline import combine
from matcher.features import CitizenSide, FeatureSpace, PostingSide
from matcher.market import MARKET_COLUMNS, Searches, Transitions, market_columns
from matcher.progress import OnProgress, report
from matcher.schema import DEFAULT_CANDIDATES


@dataclass
class CandidateBatch:
    """Pairs of one batch: citizen `rows[local]` with posting `cols`, and their feature rows."""

    rows: np.ndarray
    local: np.ndarray
    cols: np.ndarray
    features: np.ndarray


@dataclass
class CandidatePairs:
    """Every batch's pairs together, sorted by citizen: citizen `search` with posting `posting`, and feature rows."""

    search: np.ndarray
    posting: np.ndarray
    features: np.ndarray

    def places(self, shown: np.ndarray, score: np.ndarray) -> np.ndarray:
        """Each shown pair's 1-based place in its citizen's list by descending score (ties: lower posting index
        first); 0 where not shown.
        """
        idx = np.flatnonzero(shown)
        order = idx[np.lexsort((self.posting[idx], -score[idx], self.search[idx]))]
        search = self.search[order]
        place = np.zeros(self.search.size, dtype=np.int64)
        place[order] = np.arange(order.size) - np.searchsorted(search, search, side="left") + 1
        return place


def collect(batches: Iterable[CandidateBatch], total: int, verb: str,
            progress: OnProgress | None = None) -> CandidatePairs:
    """Gather the batches' pairs (the market features need every search's candidates), telling `progress`
    "<verb> <done>/<total> citizens" after each batch.
    """
    search, posting, features = [], [], []
    for batch in batches:
        search.append(batch.rows[batch.local])
        posting.append(batch.cols)
        features.append(batch.features)
        done = min(int(batch.rows[-1]) + 1, total)
        report(progress, f"{verb} {done}/{total} citizens", done, total)
    if not search:
        return CandidatePairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 0), np.float32))
    return CandidatePairs(np.concatenate(search), np.concatenate(posting), np.vstack(features))


def add_market(space: FeatureSpace, pairs: CandidatePairs, cit: CitizenSide, post: PostingSide, ref_day: np.ndarray,
               *, window_days: int, transitions: Transitions | None = None) -> None:
    """Fill the pairs' market columns in place. Training passes its hires as `transitions` (each search sees those
    before its day); evaluation and serving use the space's totals, the hires the model was trained on.
    """
    if pairs.posting.size == 0:
        return

    def learned(_day: int) -> tuple[np.ndarray, np.ndarray]:
        return space.transition_pairs, space.transition_hired

    searches = Searches(ref_day, cit.desired_occupations, pairs.search, pairs.posting)
    pairs.features[:, MARKET_COLUMNS] = market_columns(
        searches, post.occupation, post.published, post.deadline, window_days=window_days,
        transitions=transitions.before if transitions is not None else learned)


def retrieval_score(mats: dict[str, np.ndarray], post: PostingSide) -> np.ndarray:
    """A cheap first-stage score: text, title and occupation similarity, a little less for long commutes."""
    # Weights are applied on the small per-title/occupation/place matrices before gathering (np.take is the
    # fast gather along columns); each full-width pass over the batch costs time, so the first gather is the
    # new array that the rest is added to in place.
    score = np.take(0.5 * mats["title_by_unique"], post.title_id, axis=1)
    score += mats["text_similarity"]
    score += np.take(0.7 * mats["occupation_fit"], post.occupation, axis=1)
    score -= np.take(mats["retrieval_penalty_by_place"], post.place, axis=1)
    return score


def automatch_matrix(mats: dict[str, np.ndarray], post: PostingSide) -> np.ndarray:
    """Jobnet automatch's score of every posting for the batch (for the candidate union in evaluation)."""
    return combine(np.take(mats["title_by_unique"], post.title_id, axis=1),
                   np.take(mats["near_by_place"], post.place, axis=1),
                   np.take(mats["automatch_penalty_by_place"], post.place, axis=1), post.requires[None, :])


def smallest(values: np.ndarray, k: int) -> np.ndarray:
    """Column indices (ascending) of each row's `k` smallest values; ties at the cut go to the lower columns, so a
    citizen's candidates do not depend on who else is in the batch (np.argpartition breaks ties by position).
    """
    cut = np.partition(values, k - 1, axis=1)[:, k - 1 : k]
    below = values < cut
    keep = below | (values == cut)
    extra = np.flatnonzero(keep.sum(axis=1) > k)
    if extra.size:
        tied = values[extra] == cut[extra]
        wanted = k - below[extra].sum(axis=1, keepdims=True)
        keep[extra] = below[extra] | (tied & (np.cumsum(tied, axis=1) <= wanted))
    return np.nonzero(keep)[1].reshape(values.shape[0], k)


def generate(
    space: FeatureSpace,
    cit: CitizenSide,
    post: PostingSide,
    ref_day: np.ndarray,
    *,
    k: int = DEFAULT_CANDIDATES,
    k_baseline: int = 0,
    window_days: int | None = None,
    batch_size: int = 256,
) -> Iterator[CandidateBatch]:
    """Yield candidate pairs batch by batch: the top `k` by retrieval score, including automatch's top
    `k_baseline` when evaluating (so model and baseline rank the same rows). With `window_days`, only postings
    open within that many days of the citizen's reference day are eligible (training and evaluation on past hires).
    """
    n = len(cit)
    if len(post) == 0:
        return
    for start in range(0, n, batch_size):
        rows = np.arange(start, min(start + batch_size, n))
        view, columns = post, None
        if window_days is not None:
            # Callers pass citizens in date order, so a batch needs only the postings open around its dates.
            ref_rows = ref_day[rows]
            columns = np.flatnonzero((post.published <= ref_rows.max() + window_days)
                                     & (post.deadline >= ref_rows.min() - window_days))
            if columns.size == 0:
                continue
            view = post.subset(columns)
        p = len(view)
        mats = space.batch(cit, view, rows)
        score = retrieval_score(mats, view)
        auto = automatch_matrix(mats, view) if k_baseline > 0 else None
        if window_days is not None:
            ref = ref_day[rows][:, None]
            closed = (view.published[None, :] > ref + window_days) | (view.deadline[None, :] < ref - window_days)
            score[closed] = -np.inf
            if auto is not None:
                auto[closed] = -np.inf
        kb = min(k_baseline, p)
        if auto is not None and kb > 0:
            np.negative(auto, out=auto)
            top_auto = smallest(auto, kb)
            np.negative(auto, out=auto)
            forced = np.take_along_axis(auto, top_auto, axis=1) > -np.inf
            np.put_along_axis(score, top_auto, np.where(forced, 1e6, np.take_along_axis(score, top_auto, 1)), 1)
        kk = min(k, p)
        np.negative(score, out=score)  # the K smallest of the negated score, without another full-width copy
        idx = smallest(score, kk)
        valid = (np.take_along_axis(score, idx, axis=1) < np.inf).ravel()
        local = np.repeat(np.arange(rows.size), kk)[valid]
        cols = idx.ravel()[valid]
        features = space.pair_features(cit, view, mats, rows, local, cols, ref_day[rows])
        if columns is not None:
            cols = columns[cols]
        yield CandidateBatch(rows, local, cols, features)
