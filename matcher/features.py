"""Features of a (citizen, posting) pair, and the learned lookup tables they need (the feature space).

The space is learned from postings and hires only (never from CV words), so a saved model holds no citizen's data.
Matrices are built per batch of citizens against all postings, so features are a few vectorised gathers.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from matcher.geo import haversine_km
from matcher.market import MARKET_COLUMNS, Transitions
from matcher.schema import FEATURES, distance_parts
from matcher.text import DanishAnalyzer, TfidfModel

_EPOCH = np.datetime64("1970-01-01", "D")


def day_numbers(values: Any) -> np.ndarray:
    """Dates as integer day numbers, for vectorised date arithmetic."""
    return (np.asarray(pd.to_datetime(values), dtype="datetime64[D]") - _EPOCH).astype(np.int64)


@dataclass
class PostingSide:
    """Postings prepared once per run: their text, skill and title vectors and per-posting values."""

    frame: pd.DataFrame
    text: sp.csr_matrix
    text_t: sp.csr_matrix  # transposed once, so each batch's product needs no conversion
    skill_rows: sp.csr_matrix
    titles: sp.csr_matrix  # unique titles x character n-grams
    titles_t: sp.csr_matrix
    title_id: np.ndarray
    occupation: np.ndarray
    place: np.ndarray  # index into the distinct workplace locations (distances are computed per location)
    place_lat: np.ndarray
    place_lon: np.ndarray
    published: np.ndarray
    deadline: np.ndarray
    requires: np.ndarray
    jobnet: np.ndarray
    portal_count: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)

    def subset(self, idx: np.ndarray) -> PostingSide:
        """The postings at `idx` only (e.g. those open around a batch's dates), sharing the title matrix."""
        text = self.text[idx]
        skills = self.skill_rows[idx]
        return replace(
            self, frame=self.frame.iloc[idx], text=text, text_t=text.T.tocsr(), skill_rows=skills,
            title_id=self.title_id[idx], occupation=self.occupation[idx], place=self.place[idx],
            published=self.published[idx], deadline=self.deadline[idx],
            requires=self.requires[idx], jobnet=self.jobnet[idx], portal_count=self.portal_count[idx],
        )


@dataclass
class CitizenSide:
    """Citizens prepared once per run: CV vectors, desired titles and their occupations, home and background."""

    frame: pd.DataFrame
    text: sp.csr_matrix
    skills: sp.csr_matrix
    desired: sp.csr_matrix  # one row per desired title
    desired_owner: np.ndarray  # citizen index of each desired-title row
    desired_occupations: np.ndarray  # citizens x (occupations + unknown), True where a desired title lies
    occupation_fit: np.ndarray  # citizens x (occupations + unknown)
    field: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    experience: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)


class FeatureSpace:
    """Vocabularies, occupation profiles and the field/occupation tables learned from postings and hires, with the
    hires' occupation transitions (sought -> hired) that serving's `transition_share` reads.
    """

    def __init__(self, words: TfidfModel, titles: TfidfModel, occupations: list[str], fields: list[str],
                 centroids: np.ndarray, title_centroids: np.ndarray, affinity: np.ndarray, hire_rate: np.ndarray,
                 skill_terms: list[str], skill_labels: dict[str, str], occupation_labels: dict[str, str],
                 transition_pairs: np.ndarray | None = None, transition_hired: np.ndarray | None = None) -> None:
        self.words = words
        self.titles = titles
        self.occupations = occupations
        self.fields = fields
        self.centroids = centroids.astype(np.float32)
        self.title_centroids = title_centroids.astype(np.float32)
        self.affinity = affinity.astype(np.float32)
        self.hire_rate = hire_rate.astype(np.float32)
        self.skill_terms = skill_terms
        self.skill_labels = skill_labels
        self.occupation_labels = occupation_labels
        self._occ_index = {c: i for i, c in enumerate(occupations)}
        self._field_index = {f: i for i, f in enumerate(fields)}
        self.skill_columns = np.array([words.vocabulary[t] for t in skill_terms], dtype=np.int64)
        n = len(occupations) + 1
        self.transition_pairs = np.zeros((n, n)) if transition_pairs is None else transition_pairs
        self.transition_hired = np.zeros(n) if transition_hired is None else transition_hired

    # -- learning ------------------------------------------------------------------------------------------
    @classmethod
    def fit(cls, cvs: pd.DataFrame, postings: pd.DataFrame, hires: pd.DataFrame) -> FeatureSpace:
        """Learn from (deduplicated) postings and hires joined to the CVs' education field."""
        texts = (postings["title"] + ". " + postings["text"]).tolist()
        words = TfidfModel.fit("words", texts)
        titles = TfidfModel.fit("chars", postings["title"].str.lower().tolist(), min_df=1)
        occupations = sorted(set(postings["occupation_code"]) - {""})
        occ_index = {c: i for i, c in enumerate(occupations)}
        occ = postings["occupation_code"].map(occ_index).fillna(len(occupations)).to_numpy(dtype=np.int64)
        onehot = sp.csr_matrix((np.ones(len(occ)), (occ, np.arange(len(occ)))), shape=(len(occupations) + 1, len(occ)))
        x = words.transform(texts)
        centroids = normalize(np.asarray((onehot @ x).todense())[: len(occupations)])
        t = titles.transform(postings["title"].tolist())
        title_centroids = normalize(np.asarray((onehot @ t).todense())[: len(occupations)])
        skill_terms = _skill_terms(words, x, occ, len(occupations))
        skill_labels = _surface_forms(words, texts, set(skill_terms))
        labels = postings.assign(_t=postings["title"].str.lower()).groupby("occupation_code")["_t"]
        occupation_labels = {code: s.value_counts().index[0] for code, s in labels if code}

        fields = sorted(set(cvs["education_field"]) - {""})
        field_index = {f: i for i, f in enumerate(fields)}
        joined = hires.merge(cvs[["person_id", "education_field"]], on="person_id").merge(
            postings[["posting_id", "occupation_code"]], on="posting_id")
        counts = np.zeros((len(fields) + 1, len(occupations) + 1))
        f_idx = joined["education_field"].map(field_index).fillna(len(fields)).to_numpy(dtype=np.int64)
        o_idx = joined["occupation_code"].map(occ_index).fillna(len(occupations)).to_numpy(dtype=np.int64)
        np.add.at(counts, (f_idx, o_idx), 1.0)
        # Lift of the field-occupation pair over independence, smoothed so rare pairs stay near zero.
        expected = counts.sum(1, keepdims=True) * (counts.sum(0, keepdims=True) + 1) / max(counts.sum(), 1.0)
        affinity = np.log((counts + 1.0) / (expected + 1.0))
        per_occ_postings = np.bincount(occ, minlength=len(occupations) + 1)
        hire_rate = np.log((counts.sum(0) + 1.0) / (per_occ_postings + 10.0))
        space = cls(words, titles, occupations, fields, centroids, title_centroids, affinity, hire_rate,
                    skill_terms, skill_labels, occupation_labels)
        titles_of = cvs.set_index("person_id")["desired_titles"]
        hired = hires.merge(postings[["posting_id", "occupation_code"]], on="posting_id")
        sought = space.desired_occupations(titles_of.reindex(hired["person_id"]).tolist())
        hired_occ = hired["occupation_code"].map(space._occ_index).fillna(len(occupations)).to_numpy(dtype=np.int64)
        every = Transitions(sought, hired_occ, day_numbers(hired["hired_on"]))
        space.transition_pairs, space.transition_hired = every.before(np.inf)
        return space

    # -- preparing both sides ------------------------------------------------------------------------------
    def prepare_postings(self, postings: pd.DataFrame) -> PostingSide:
        """Vectorise postings (deduplicated and, for serving, active ones)."""
        frame = postings.reset_index(drop=True)
        texts = (frame["title"] + ". " + frame["text"]).tolist()
        text = self.words.transform(texts)
        skills = (text[:, self.skill_columns] > 0).astype(np.float32).tocsr()
        lowered = frame["title"].str.lower()
        unique, title_id = np.unique(lowered.to_numpy(dtype=str), return_inverse=True)
        titles = self.titles.transform(unique.tolist())
        occupation = frame["occupation_code"].map(self._occ_index).fillna(len(self.occupations))
        portal_count = frame["portal_count"] if "portal_count" in frame else pd.Series(1, index=frame.index)
        lat, lon = frame["latitude"].to_numpy(dtype=float), frame["longitude"].to_numpy(dtype=float)
        # Postcodes give a few hundred distinct workplaces: distances per place, then gathered per posting.
        places, place = np.unique(np.c_[np.round(lat, 3), np.round(lon, 3)], axis=0, return_inverse=True)
        return PostingSide(
            frame=frame,
            text=text,
            text_t=text.T.tocsr(),
            skill_rows=skills,
            titles=titles,
            titles_t=titles.T.tocsr(),
            title_id=title_id.astype(np.int64),
            occupation=occupation.to_numpy(dtype=np.int64),
            place=place.ravel().astype(np.int64),
            place_lat=places[:, 0],
            place_lon=places[:, 1],
            published=day_numbers(frame["published_on"]),
            deadline=day_numbers(frame["deadline"]),
            requires=frame["requires_qualifications"].to_numpy(dtype=np.float32),
            jobnet=(frame["source"] == "jobnet").to_numpy(dtype=np.float32),
            portal_count=portal_count.to_numpy(dtype=np.float32),
        )

    def _desired(self, titles: list[list[str]]) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """Desired-title vectors, the citizen owning each, and citizens x (occupations + unknown): True where one of
        the citizen's titles is most like the occupation's typical title.
        """
        owner = np.repeat(np.arange(len(titles)), [len(t) if isinstance(t, list) else 0 for t in titles])
        flat = [t.lower() for each in titles if isinstance(each, list) for t in each]
        desired = self.titles.transform(flat) if flat else sp.csr_matrix((0, len(self.titles.vocabulary)))
        occupations = np.zeros((len(titles), len(self.occupations) + 1), dtype=bool)
        if flat:
            sims = np.asarray(desired @ self.title_centroids.T)
            best = sims.max(axis=1, keepdims=True)
            hit = (sims >= np.maximum(0.3, 0.85 * best)) & (best >= 0.3)
            rows, cols = np.nonzero(hit)
            occupations[owner[rows], cols] = True
        return desired, owner, occupations

    def desired_occupations(self, titles: list[list[str]]) -> np.ndarray:
        """Citizens x (occupations + unknown), True where the citizen's desired titles name the occupation."""
        return self._desired(titles)[2]

    def prepare_citizens(self, cvs: pd.DataFrame) -> CitizenSide:
        """Vectorise CVs and find the occupations their desired titles name."""
        frame = cvs.reset_index(drop=True)
        text = self.words.transform(frame["cv_text"].tolist())
        skills = (text[:, self.skill_columns] > 0).astype(np.float32).tocsr()
        desired, owner, desired_occ = self._desired(frame["desired_titles"].tolist())
        n_occ = len(self.occupations)
        fit = np.zeros((len(frame), n_occ + 1), dtype=np.float32)
        fit[:, :n_occ] = np.asarray(text @ self.centroids.T)
        field = frame["education_field"].map(self._field_index).fillna(len(self.fields))
        return CitizenSide(
            frame=frame, text=text, skills=skills, desired=desired, desired_owner=owner,
            desired_occupations=desired_occ, occupation_fit=fit, field=field.to_numpy(dtype=np.int64),
            lat=frame["latitude"].to_numpy(dtype=float), lon=frame["longitude"].to_numpy(dtype=float),
            experience=frame["experience_years"].to_numpy(dtype=np.float32),
        )

    # -- per batch ----------------------------------------------------------------------------------------
    def batch(self, cit: CitizenSide, post: PostingSide, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Per batch of citizens: the dense text similarity to every posting, and small matrices per distinct
        title and workplace that are gathered per posting only where needed (each full pass costs time).
        """
        text = (cit.text[rows] @ post.text_t).toarray()
        title_by_unique = np.zeros((rows.size, post.titles.shape[0]), dtype=np.float32)
        in_batch = (cit.desired_owner >= rows[0]) & (cit.desired_owner <= rows[-1])
        if in_batch.any():
            sims = (cit.desired[np.flatnonzero(in_batch)] @ post.titles_t).toarray()
            local = np.searchsorted(rows, cit.desired_owner[in_batch])  # rows are sorted
            np.maximum.at(title_by_unique, local, sims)
        by_place = haversine_km(cit.lat[rows][:, None], cit.lon[rows][:, None], post.place_lat[None, :],
                                post.place_lon[None, :]).astype(np.float32)
        near, penalty = distance_parts(by_place)
        return {
            "text_similarity": text.astype(np.float32, copy=False),
            "title_by_unique": title_by_unique,
            "distance_by_place": by_place,
            "near_by_place": near,
            "automatch_penalty_by_place": penalty,
            "retrieval_penalty_by_place": (0.05 * np.log1p(np.nan_to_num(by_place, nan=20.0))).astype(np.float32),
            "occupation_fit": cit.occupation_fit[rows],
        }

    def pair_features(self, cit: CitizenSide, post: PostingSide, mats: dict[str, np.ndarray], rows: np.ndarray,
                      local: np.ndarray, cols: np.ndarray, ref_day: np.ndarray) -> np.ndarray:
        """Feature rows (in FEATURES order) for pairs: citizen `rows[local]` with posting `cols`."""
        who = rows[local]
        occ = post.occupation[cols]
        skill = np.asarray(cit.skills[who].multiply(post.skill_rows[cols]).sum(axis=1)).ravel()
        out = np.empty((cols.size, len(FEATURES)), dtype=np.float32)
        out[:, 0] = mats["text_similarity"][local, cols]
        out[:, 1] = mats["title_by_unique"][local, post.title_id[cols]]
        out[:, 2] = mats["occupation_fit"][local, occ]
        out[:, 3] = self.affinity[cit.field[who], occ]
        out[:, 4] = skill
        out[:, 5] = mats["distance_by_place"][local, post.place[cols]]
        out[:, 6] = np.maximum(ref_day[local] - post.published[cols], 0)
        out[:, 7] = np.maximum(post.deadline[cols] - ref_day[local], 0)
        out[:, 8] = post.requires[cols]
        out[:, 9] = post.jobnet[cols]
        out[:, 10] = ~cit.desired_occupations[who, occ]
        out[:, 11] = self.hire_rate[occ]
        out[:, 12] = cit.experience[who]
        out[:, 13] = post.portal_count[cols]
        out[:, MARKET_COLUMNS] = 0.0  # filled by matcher.market once every search's candidates are known
        return out

    # -- saving --------------------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        data = {
            "words": self.words.to_dict(), "titles": self.titles.to_dict(), "occupations": self.occupations,
            "fields": self.fields, "skill_terms": self.skill_terms, "skill_labels": self.skill_labels,
            "occupation_labels": self.occupation_labels,
        }
        (directory / "space.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        np.savez_compressed(directory / "space.npz", centroids=self.centroids, title_centroids=self.title_centroids,
                            affinity=self.affinity, hire_rate=self.hire_rate, transition_pairs=self.transition_pairs,
                            transition_hired=self.transition_hired)

    @classmethod
    def load(cls, directory: Path) -> FeatureSpace:
        data = json.loads((directory / "space.json").read_text(encoding="utf-8"))
        arrays = np.load(directory / "space.npz")
        return cls(TfidfModel.from_dict(data["words"]), TfidfModel.from_dict(data["titles"]), data["occupations"],
                   data["fields"], arrays["centroids"], arrays["title_centroids"], arrays["affinity"],
                   arrays["hire_rate"], data["skill_terms"], data["skill_labels"], data["occupation_labels"],
                   arrays["transition_pairs"], arrays["transition_hired"])


def _skill_terms(words: TfidfModel, x: sp.csr_matrix, occ: np.ndarray, n_occ: int) -> list[str]:
    """Terms concentrated in few occupations (P(occupation | term) high) and neither rare nor everywhere."""
    present = (x > 0).astype(np.float32).tocsc()
    onehot = sp.csr_matrix((np.ones(len(occ)), (np.arange(len(occ)), occ)), shape=(len(occ), n_occ + 1))
    by_occ = np.asarray((present.T @ onehot).todense())[:, :n_occ]
    df = by_occ.sum(1)
    share = by_occ.max(1) / np.maximum(df, 1)
    keep = (df >= 5) & (df <= 0.15 * len(occ)) & (share >= 0.25)
    inverse = {i: t for t, i in words.vocabulary.items()}
    return sorted(inverse[i] for i in np.flatnonzero(keep) if len(inverse[i]) >= 2 and not inverse[i].isdigit())


def _surface_forms(words: TfidfModel, texts: list[str], stems: set[str], sample: int = 3000) -> dict[str, str]:
    """The most frequent written word behind each stem, so reasons read 'projektledelse', not 'projektled'."""
    analyzer = DanishAnalyzer(words.lexicon)
    written: Counter[str] = Counter()
    step = max(1, len(texts) // sample)
    for text in texts[::step]:
        written.update(analyzer.words(text))
    # Each distinct word is stemmed once; in first-seen order, so ties in frequency resolve as before.
    seen: dict[str, Counter[str]] = {}
    for word, n in written.items():
        stem = analyzer.stem(word)
        if stem in stems:
            seen.setdefault(stem, Counter())[word] += n
    return {stem: counts.most_common(1)[0][0] for stem, counts in seen.items()}
