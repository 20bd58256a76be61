"""Postings from two portals: the same job is merged, different jobs are not, expired ones are not served."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from matcher.postings import active_on, dedupe

TEXT = ("Novo Nordisk søger en data scientist til vores analyseafdeling. Du skal bygge prædiktive modeller og "
        "analysere store datamængder. Vi forventer erfaring med Python, SQL og statistik. Stillingen er på 37 timer.")
OTHER = ("Novo Nordisk søger en kemiker til kvalitetskontrol. Du skal validere analysemetoder og dokumentere "
         "resultater. Vi forventer erfaring med HPLC og GMP. Stillingen er på 37 timer.")


def _posting(pid: str, source: str, title: str, text: str, employer: str, published: str,
             postcode: str = "2880") -> dict[str, object]:
    return {"posting_id": pid, "source": source, "title": title, "text": text, "employer": employer,
            "postcode": postcode, "occupation_code": "2120", "requires_qualifications": True,
            "published_on": pd.Timestamp(published), "deadline": pd.Timestamp(published) + pd.Timedelta(days=30),
            "latitude": 55.7, "longitude": 12.4}


def test_same_job_on_two_portals_is_merged_and_jobnet_copy_kept() -> None:
    # The Jobindex copy: sentences swapped, a link line added, retyped title, employer without "A/S".
    sentences = TEXT.split(". ")
    sentences[1], sentences[2] = sentences[2], sentences[1]
    copy = ". ".join(sentences) + " Søg via linket."
    frame = pd.DataFrame([
        _posting("J1", "jobindex", "DATA SCIENTIST", copy, "NOVO NORDISK", "2025-01-03"),
        _posting("N1", "jobnet", "Data scientist", TEXT, "Novo Nordisk A/S", "2025-01-02"),
        _posting("N2", "jobnet", "Kemiker", OTHER, "Novo Nordisk A/S", "2025-01-02"),
        # Same text at another workplace of the employer: a different job.
        _posting("N3", "jobnet", "Data scientist", TEXT, "Novo Nordisk A/S", "2025-01-02", postcode="8000"),
    ])
    kept, mapping = dedupe(frame)
    assert sorted(kept["posting_id"]) == ["N1", "N2", "N3"]
    assert mapping == {"J1": "N1", "N1": "N1", "N2": "N2", "N3": "N3"}
    row = kept.set_index("posting_id").loc["N1"]
    assert row["sources"] == "jobindex;jobnet" and row["portal_count"] == 2
    assert kept.set_index("posting_id").loc["N2", "portal_count"] == 1


def test_simulated_duplicates_are_found_without_false_merges() -> None:
    from trial.simulate.jobs import simulate_jobs

    people = pd.DataFrame({"cpr": ["0101901234"], "sex": ["M"], "birth_date": [date(1990, 1, 1)],
                           "education_level": ["LVU"], "education_field": ["teknisk"], "postcode": ["2100"],
                           "registered_on": [date(2024, 3, 1)]})
    data = simulate_jobs(np.random.default_rng(2), people.iloc[:0], people, n_postings=3000,
                         start=date(2024, 1, 1), end=date(2024, 12, 31))
    postings = data.postings.assign(published_on=pd.to_datetime(data.postings["published_on"]),
                                    deadline=pd.to_datetime(data.postings["deadline"]))
    kept, mapping = dedupe(postings)
    job = data.posting_job
    truth_groups = job.nunique()
    merged = {k: v for k, v in mapping.items() if k != v}
    assert all(job[k] == job[v] for k, v in merged.items())  # never two different jobs
    assert len(kept) <= truth_groups * 1.01  # nearly every copy found
    share = 1 - truth_groups / len(postings)
    assert 0.12 <= share <= 0.2  # the simulator's cross-posted share (20% of jobs -> ~17% of rows)


def test_only_open_postings_are_served() -> None:
    frame = pd.DataFrame([
        _posting("A", "jobnet", "Jurist", OTHER, "X", "2025-01-01"),
        _posting("B", "jobnet", "Jurist", OTHER, "Y", "2025-03-01"),
    ])
    frame.loc[0, "deadline"] = pd.Timestamp("2025-01-31")
    assert active_on(frame, date(2025, 1, 31))["posting_id"].tolist() == ["A"]
    assert active_on(frame, date(2025, 2, 1)).empty
    assert active_on(frame, date(2025, 3, 1))["posting_id"].tolist() == ["B"]
