"""Postings from several portals: normalise, merge the same job posted on more than one portal, keep active ones."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import HashingVectorizer

# Legal-form suffixes and punctuation differ between portals for the same employer.
_LEGAL_FORM = re.compile(r"\b(a/s|aps|i/s|p/s|k/s|amba|a\.m\.b\.a\.)\s*$")
_NON_WORD = re.compile(r"[^\wæøå]+")
# Portals in order of preference for the copy that is kept: Jobnet is the public one the job centre links to.
PORTAL_PRIORITY = {"jobnet": 0}


def _key(text: pd.Series) -> pd.Series:
    lowered = text.astype(str).str.lower().str.strip().str.replace(_LEGAL_FORM, "", regex=True)
    return lowered.str.replace(_NON_WORD, " ", regex=True).str.strip()


def normalise(postings: pd.DataFrame) -> pd.DataFrame:
    """Tidy whitespace in titles and texts and add the employer key used to find the same job across portals."""
    out = postings.copy()
    # Texts are tokenised later, so only the short fields need tidying here.
    for column in ("title", "employer"):
        out[column] = out[column].astype(str).str.replace(r"\s+", " ", regex=True).str.strip()
    out["employer_key"] = _key(out["employer"])
    return out


def find_duplicates(
    postings: pd.DataFrame, *, threshold: float = 0.8, max_days_apart: int = 14, window: int = 20
) -> pd.Series:
    """For each posting the id of the copy kept: near-identical text from the same employer at the same postcode.

    Texts are compared as hashed word uni- and bigrams (cosine) with the next `window` postings of the same
    employer and postcode in order of publication, so the work grows linearly with the number of postings.
    """
    frame = normalise(postings) if "employer_key" not in postings else postings
    n = len(frame)
    keep = frame["posting_id"].to_numpy().copy()
    block = frame.groupby(["employer_key", "postcode"], sort=False).ngroup().to_numpy()
    published = frame["published_on"].to_numpy().astype("datetime64[D]").astype(np.int64)
    order = np.lexsort((published, block))
    firsts, seconds = [], []
    for step in range(1, min(window, n - 1) + 1):
        a, b = order[:-step], order[step:]
        near = (block[a] == block[b]) & (published[b] - published[a] <= max_days_apart)
        firsts.append(a[near])
        seconds.append(b[near])
    first = np.concatenate(firsts) if firsts else np.empty(0, dtype=int)
    second = np.concatenate(seconds) if seconds else np.empty(0, dtype=int)
    if first.size == 0:
        return pd.Series(keep, index=frame.index, name="kept_id")
    involved = np.unique(np.r_[first, second])
    hasher = HashingVectorizer(ngram_range=(1, 2), n_features=2**20, alternate_sign=False, norm="l2")
    text = (frame["title"].iloc[involved] + " " + frame["text"].iloc[involved]).str.lower()
    vectors = hasher.transform(text).tocsr()
    position = np.full(n, -1)
    position[involved] = np.arange(involved.size)
    cosine = np.asarray(vectors[position[first]].multiply(vectors[position[second]]).sum(axis=1)).ravel()
    same = cosine >= threshold
    graph = sp.coo_matrix((np.ones(int(same.sum())), (first[same], second[same])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    # The kept copy: Jobnet first, then the earliest published, then the smallest id (deterministic).
    rank = pd.DataFrame({
        "group": component,
        "portal": frame["source"].map(PORTAL_PRIORITY).fillna(1).to_numpy(),
        "published": published,
        "posting_id": keep,
    }).sort_values(["group", "portal", "published", "posting_id"])
    chosen = rank.groupby("group")["posting_id"].first()
    return pd.Series(chosen.reindex(component).to_numpy(), index=frame.index, name="kept_id")


def dedupe(postings: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """One row per job (with `sources` and `portal_count`), and the map from every posting id to its kept copy."""
    frame = normalise(postings)
    kept_id = find_duplicates(frame)
    frame["kept_id"] = kept_id.to_numpy()
    kept = frame[frame["posting_id"] == frame["kept_id"]].copy()
    # The portals a job was seen on, e.g. "jobindex;jobnet".
    portals = frame[["kept_id", "source"]].drop_duplicates().sort_values("source")
    several = portals[portals["kept_id"].duplicated(keep=False)]
    joined = several.groupby("kept_id", sort=False)["source"].agg(";".join)  # only the few merged jobs
    kept["sources"] = kept["posting_id"].map(joined).fillna(kept["source"]).to_numpy()
    kept["portal_count"] = kept["sources"].str.count(";") + 1
    mapping = dict(zip(frame["posting_id"], frame["kept_id"], strict=True))
    return kept.drop(columns=["kept_id"]).reset_index(drop=True), mapping


def active_on(postings: pd.DataFrame, on: date | pd.Timestamp) -> pd.DataFrame:
    """Postings open on the day: published on or before it and the deadline not passed."""
    day = pd.Timestamp(on)
    mask = (postings["published_on"] <= day) & (postings["deadline"] >= day)
    return postings[mask.to_numpy()].reset_index(drop=True)


