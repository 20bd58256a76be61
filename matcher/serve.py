"""Serving: recommendations for the treatment arm only, with reasons, optionally under an exposure cap, and the
log of what was shown.

Anyone the ledger does not have in the treatment arm (control, not enrolled, withdrawn) is refused before any
scoring and only counted, so the control arm can never receive the intervention. Under a cap, the lists are
allocated exactly (matcher.allocation) in the room that the ledger's log of the last `window_days` leaves.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from datetime import time as time_of_day
from typing import Any

import numpy as np
import pandas as pd

from matcher.baseline import AutomatchRanker
from matcher.candidates import CandidatePairs, add_market, collect, generate
from matcher.exposure import Cap, Exposure, Shows, capped_lists, measure, uncapped_lists
from matcher.features import CitizenSide, PostingSide, day_numbers
from matcher.model import MatchModel
from matcher.postings import active_on, dedupe
from matcher.progress import OnProgress
from matcher.reasons import ReasonContext, explain
from matcher.schema import (
    BASELINE_CANDIDATES,
    DEFAULT_CANDIDATES,
    EXPOSURE_WINDOW_DAYS,
    FEATURE_COLUMN,
    FEATURES,
)
from trial.errors import InputError, ParameterError
from trial.ledger import RECOMMENDATION_FIELDS, Ledger

COLUMNS = ["person_id", "rank", "posting_id", "title", "employer", "postcode", "distance_km", "sources",
           "published_on", "deadline", "outside_desired", "score", "reason_1", "reason_2", "reason_3",
           "reason_features", "served_on", "model_version", "max_per_posting", "window_days", "consultant_id"]


@dataclass(frozen=True)
class RunSummary:
    """What one run showed: exposure of the lists served, of the model's lists without the cap (when capped) and
    of Jobnet's automatch for the same citizens, and how the cap held with the log's earlier shows counted.
    """

    citizens: int
    cap: Cap | None
    model: Exposure
    model_uncapped: Exposure | None
    automatch: Exposure
    window_max_per_posting: int  # the most treated citizens one posting reached in the window, earlier runs counted
    alternative_share: float  # shown postings outside the desired titles (model)
    automatch_alternative_share: float
    changed_slots: float  # share of slots the cap gave to another posting than the uncapped list
    short_lists: int  # citizens shown fewer postings than asked for

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Scored:
    """The table shown to the consultant and, aligned with its rows, the feature rows the model scored."""

    table: pd.DataFrame
    features: np.ndarray
    summary: RunSummary | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # per step: candidates, market, ranking, lists, reasons


@dataclass
class Recommendations:
    """The top postings per served citizen (one row each), who was refused and why, the run's summary, timings."""

    table: pd.DataFrame
    features: np.ndarray
    served: int
    refused: dict[str, int]
    on: date
    summary: RunSummary | None = None
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

    def recommend_for(self, cvs: pd.DataFrame, *, top: int = 10, cap: Cap | None = None, earlier: Shows | None = None,
                      batch_size: int = 256, progress: OnProgress | None = None) -> Scored:
        """Top `top` postings for every citizen in `cvs`, with reasons; the caller decides who may be scored.

        The citizens scored together are each other's market (crowding, tightness). With `cap`, the lists are
        allocated under it, counting `earlier` shows (postings indexed as this scorer's) within its window.
        """
        space, ranker, post = self.model.space, self.model.ranker, self.post
        watch = _Stopwatch()
        cit = space.prepare_citizens(cvs)
        today = int(day_numbers([self.on])[0])
        ref = np.full(len(cit), today)
        # Automatch's own best postings join the candidates, as in evaluation, so its lists can be compared.
        pairs = collect(generate(space, cit, post, ref, k=self.k, k_baseline=BASELINE_CANDIDATES,
                                 batch_size=batch_size), len(cit), "scored", progress)
        if pairs.search.size == 0:
            return Scored(pd.DataFrame(columns=COLUMNS), np.zeros((0, len(FEATURES)), dtype=np.float32))
        watch.lap("candidates")
        add_market(space, pairs, cit, post, ref, window_days=0)
        watch.lap("market")
        score = ranker.score(pairs.features)
        watch.lap("ranking")
        best = uncapped_lists(pairs.search, pairs.posting, score, top)
        shown = best if cap is None else capped_lists(cit.frame["person_id"].to_numpy(), ref, pairs.search,
                                                      pairs.posting, score, top=top, cap=cap, n_postings=len(post),
                                                      earlier=earlier)
        watch.lap("lists")
        place = pairs.places(shown, score)
        order = np.flatnonzero(shown)[np.lexsort((place[shown], pairs.search[shown]))]
        feats = pairs.features[order]
        # Explanations only for what is shown: pred_contrib is far slower than predict.
        contributions = ranker.contributions(feats)
        table = _table(self.model, cit, post, pairs.search[order], pairs.posting[order], score[order], feats,
                       contributions).assign(**self._run_columns(cit, pairs.search[order], cap))
        watch.lap("reasons")
        summary = self._summary(pairs, cit, shown, best, top, cap, earlier, today)
        watch.lap("summary")
        return Scored(table[COLUMNS], feats, summary, watch.laps)

    def _run_columns(self, cit: CitizenSide, who: np.ndarray, cap: Cap | None) -> dict[str, Any]:
        """What each row records of its run: the day, the model, the cap in force and the citizen's consultant."""
        frame = cit.frame
        consultant = frame["consultant_id"] if "consultant_id" in frame else pd.Series("", index=frame.index)
        return {
            "served_on": self.on.isoformat(),
            "model_version": self.model.version,
            "max_per_posting": pd.array([cap.max_per_posting if cap else None] * who.size, dtype="Int64"),
            "window_days": pd.array([cap.window_days if cap else None] * who.size, dtype="Int64"),
            "consultant_id": consultant.fillna("").to_numpy()[who],
        }

    def _summary(self, pairs: CandidatePairs, cit: CitizenSide, shown: np.ndarray, best: np.ndarray, top: int,
                 cap: Cap | None, earlier: Shows | None, today: int) -> RunSummary:
        """Exposure of the served, uncapped and automatch lists of this run; the window's maximum with `earlier`."""
        person = cit.frame["person_id"].to_numpy()
        auto = uncapped_lists(pairs.search, pairs.posting, AutomatchRanker().score(pairs.features), top)
        window = cap.window_days if cap is not None else EXPOSURE_WINDOW_DAYS
        outside = pairs.features[:, FEATURE_COLUMN["outside_desired"]] >= 0.5

        def shows(mask: np.ndarray) -> Shows:
            return Shows(person[pairs.search[mask]], pairs.posting[mask], np.full(int(mask.sum()), today))

        def exposure(mask: np.ndarray) -> Exposure:
            return measure(shows(mask), open_postings=len(self.post), window_days=window)

        before = earlier.near(today, window) if earlier is not None else Shows.empty()
        per_citizen = np.bincount(pairs.search[shown], minlength=len(cit))
        return RunSummary(
            citizens=len(cit), cap=cap, model=exposure(shown),
            model_uncapped=exposure(best) if cap is not None else None, automatch=exposure(auto),
            window_max_per_posting=measure(before + shows(shown), open_postings=len(self.post),
                                           window_days=window).max_per_posting,
            alternative_share=float(outside[shown].mean()) if shown.any() else 0.0,
            automatch_alternative_share=float(outside[auto].mean()) if auto.any() else 0.0,
            changed_slots=float((shown & ~best).sum() / max(int(shown.sum()), 1)),
            short_lists=int((per_citizen < top).sum()),
        )


class _Stopwatch:
    """Seconds per named step, each measured from the end of the one before."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now


def score_citizens(model: MatchModel, cvs: pd.DataFrame, postings: pd.DataFrame, *, on: date, top: int = 10,
                   k: int | None = None, cap: Cap | None = None, earlier: Shows | None = None, batch_size: int = 256,
                   progress: OnProgress | None = None) -> Scored:
    """Top `top` of the given (deduplicated, active) postings for every citizen in `cvs`, with reasons.

    The caller decides who may be scored; `recommend` is the gate that checks the ledger.
    """
    return Scorer(model, postings, on=on, k=k).recommend_for(cvs, top=top, cap=cap, earlier=earlier,
                                                             batch_size=batch_size, progress=progress)


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


def protocol_cap(ledger: Ledger, max_per_posting: int | None = None, window_days: int | None = None) -> Cap | None:
    """The cap in force: the arguments where given, else the protocol's `[matching]` (no cap when neither sets one)."""
    matching = ledger.protocol().matching
    limit = max_per_posting if max_per_posting is not None else matching.max_per_posting
    if limit is None:
        return None
    return Cap(limit, window_days if window_days is not None else matching.window_days)


def earlier_shows(ledger: Ledger, mapping: dict[str, str], active: pd.DataFrame, on: date, window_days: int) -> Shows:
    """The ledger's logged shows within `window_days` of `on` of the postings open now (a copy on another portal
    counts as its kept posting), indexed as `active`.
    """
    log = ledger.recommendations()
    if log.empty:
        return Shows.empty()
    index = pd.Series(np.arange(len(active)), index=active["posting_id"].to_numpy())
    posting = log["posting_id"].astype(str).map(mapping).fillna(log["posting_id"].astype(str)).map(index)
    day = day_numbers(pd.to_datetime(log["shown_at"], utc=True).dt.tz_localize(None).dt.normalize())
    keep = (posting.notna() & (np.abs(day - day_numbers([on])[0]) < window_days)).to_numpy()
    return Shows(log["person_id"].to_numpy()[keep], posting.to_numpy()[keep].astype(np.int64), day[keep])


def recommend(model: MatchModel, ledger: Ledger, cvs: pd.DataFrame, postings: pd.DataFrame, *, on: date,
              top: int = 10, k: int | None = None, max_per_posting: int | None = None,
              window_days: int | None = None, progress: OnProgress | None = None) -> Recommendations:
    """Recommendations for the citizens the ledger has in the treatment arm; everyone else is refused unscored.

    Under the cap in force (`protocol_cap`), no posting reaches more treated citizens within the window than the
    cap, counting the shows the ledger has logged.
    """
    if top < 1:
        raise ParameterError("top", f"must be at least 1; got {top}")
    started = time.perf_counter()
    cap = protocol_cap(ledger, max_per_posting, window_days)
    serve, refused = split_by_arm(ledger, cvs["person_id"])
    kept, mapping = dedupe(postings)
    active = active_on(kept, on)
    if active.empty:
        raise ParameterError("on", f"no posting is open on {on} (published on or before it, deadline not passed)")
    earlier = earlier_shows(ledger, mapping, active, on, cap.window_days) if cap is not None else None
    prepared = time.perf_counter()
    eligible = cvs[serve].reset_index(drop=True)
    scored = score_citizens(model, eligible, active, on=on, top=top, k=k, cap=cap, earlier=earlier,
                            progress=progress) if len(eligible) \
        else Scored(pd.DataFrame(columns=COLUMNS), np.zeros((0, len(FEATURES)), dtype=np.float32))
    finished = time.perf_counter()
    return Recommendations(scored.table, scored.features, served=len(eligible), refused=refused, on=on,
                           summary=scored.summary,
                           seconds={"postings": round(prepared - started, 3), "scoring": round(finished - prepared, 3)})


def shown_time(on: date) -> datetime:
    """When a run for `on` is logged as shown: now if `on` is today, else noon of that day (a run for another day,
    e.g. a re-run, must count in that day's exposure window).
    """
    now = datetime.now(UTC).replace(microsecond=0)
    return now if on == now.date() else datetime.combine(on, time_of_day(12, 0), UTC)


def log_shown(ledger: Ledger, recommendations: Recommendations, shown_at: datetime | None = None) -> int:
    """Append every generated row to the ledger's recommendation log with its place, score, day, model version, cap
    in force and consultant (status 'generated'); `trial match shown` later records what was actually shown.
    """
    table = recommendations.table
    if not len(table):
        return 0
    logged = ["person_id", "posting_id", "rank", *RECOMMENDATION_FIELDS]
    rows = table[logged].astype(object).where(table[logged].notna(), None).to_dict("records")
    return ledger.log_recommendations(rows, shown_at or shown_time(recommendations.on))


@dataclass(frozen=True)
class Recorded:
    """What `record_shown` appended: confirmations by answer, those already recorded alike or changed, and people."""

    shown: int
    not_shown: int
    unchanged: int
    changed: int
    citizens: int


def record_shown(ledger: Ledger, lists: list[pd.DataFrame], *, consultant: str | None = None,
                 confirmed_at: datetime | None = None) -> Recorded:
    """Record consultants' ticked lists (`matcher.inputs.read_confirmations`) in the ledger, after checking that
    every row names a recommendation the log holds; a bad row in any list records nothing.

    A row's consultant is `consultant` when given, else its file's `consultant_id`, else the one it was generated for.
    """
    if consultant is not None and (not re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", consultant)
                                   or re.fullmatch(r"\d{10}", consultant.replace("-", ""))):
        raise ParameterError("consultant", "not a consultant pseudonym (up to 64 letters, digits or ._:-, never a CPR "
                                           "number)")
    log = ledger.recommendations()
    generated = log.drop_duplicates(["person_id", "posting_id", "served_on"], keep="last").set_index(
        ["person_id", "posting_id", "served_on"])["consultant_id"]
    rows: list[dict[str, Any]] = []
    for table in lists:
        keys = pd.MultiIndex.from_frame(table[["person_id", "posting_id", "served_on"]])
        found = keys.isin(generated.index)
        if not found.all():
            first = int(np.flatnonzero(~found)[0])
            raise InputError(f"posting {table['posting_id'].iat[first]} was not recommended to this person on "
                             f"{table['served_on'].iat[first]} according to the ledger's log",
                             file=table.attrs.get("file"), row=int(table["_row"].iat[first]), column="posting_id")
        given = table["consultant_id"].to_numpy()
        who = np.where(given != "", given, generated.reindex(keys).fillna("").to_numpy())
        rows += pd.DataFrame({
            "person_id": table["person_id"].to_numpy(), "posting_id": table["posting_id"].to_numpy(),
            "served_on": table["served_on"].to_numpy(), "shown": table["shown"].to_numpy(),
            "consultant_id": who if consultant is None else consultant,
        }).to_dict("records")
    counts = ledger.confirm_shown(rows, confirmed_at or datetime.now(UTC).replace(microsecond=0))
    return Recorded(**counts, citizens=len({r["person_id"] for r in rows}))
