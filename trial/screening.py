"""Eligibility screening: every claimant gets the first rule they fail as a reason code, or none."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd

from trial.protocol import Protocol
from trial.results import ExclusionReason, Screening

# Reason codes and their meaning, for the terminal summary and the CONSORT diagram.
REASONS: dict[str, tuple[str, str]] = {
    "education_level": ("Uddannelsesniveau uden for målgruppen", "Education level outside the target group"),
    "benefit": ("Ydelse uden for målgruppen", "Benefit outside the target group"),
    "no_cv": ("Intet CV i Min plan", "No CV in Min plan"),
    "registered_too_early": ("Tilmeldt for længe før lodtrækningen", "Registered too long before randomisation"),
    "age_below": ("Under aldersgrænsen", "Below the age limit"),
    "age_above": ("Over aldersgrænsen", "Above the age limit"),
    "cluster": ("Jobcenter (klynge) uden for forsøget", "Cluster (jobcentre) not in the trial"),
}


def reason_label(code: str, language: str = "en") -> str:
    """A human label for a reason code (requirement reasons name their column)."""
    if code.startswith("require_"):
        column = code.removeprefix("require_")
        return f"Opfylder ikke krav: {column}" if language == "da" else f"Does not meet requirement: {column}"
    da, en = REASONS.get(code, (code, code))
    return da if language == "da" else en


def age_in_years(birth: pd.Series, on: pd.Timestamp) -> pd.Series:
    """Completed years of age on a date."""
    years = on.year - birth.dt.year
    before_birthday = (birth.dt.month > on.month) | ((birth.dt.month == on.month) & (birth.dt.day > on.day))
    return (years - before_birthday.astype(int)).astype(int)


def age_band(age: pd.Series, cuts: list[int]) -> pd.Series:
    """Bands like '<30' and '30+' (or '<25', '25-29', '30+') from the protocol's cut points."""
    edges = sorted(cuts)
    labels = [f"<{edges[0]}"]
    labels += [f"{lo}-{hi - 1}" for lo, hi in pairwise(edges)]
    labels.append(f"{edges[-1]}+")
    index = np.searchsorted(np.asarray(edges), age.to_numpy(), side="right")
    return pd.Series(np.asarray(labels, dtype=object)[index], index=age.index)


def screen(claimants: pd.DataFrame, protocol: Protocol, as_of: pd.Timestamp) -> pd.Series:
    """Reason code per claimant ('' when eligible); claimants need the typed columns of `enrol.read_claimants`."""
    rules = protocol.eligibility
    reason = pd.Series("", index=claimants.index, dtype=object)

    def fail(mask: pd.Series, code: str) -> None:
        reason[(reason == "") & mask] = code

    if rules.education_level is not None:
        allowed = {v.lower() for v in rules.education_level}
        fail(~claimants["education_level"].str.lower().isin(allowed), "education_level")
    if rules.benefit is not None:
        allowed = {v.lower() for v in rules.benefit}
        fail(~claimants["benefit"].str.lower().isin(allowed), "benefit")
    if rules.has_cv is not None:
        fail(claimants["has_cv"] != rules.has_cv, "no_cv")
    if rules.max_days_registered is not None:
        days = (as_of - claimants["registered_on"]).dt.days
        fail(days > rules.max_days_registered, "registered_too_early")
    if rules.min_age is not None:
        fail(claimants["age"] < rules.min_age, "age_below")
    if rules.max_age is not None:
        fail(claimants["age"] > rules.max_age, "age_above")
    for column, wanted in rules.require.items():
        values = claimants[column]
        if isinstance(wanted, bool):
            ok = values == wanted
        else:
            options = {w.lower() for w in ([wanted] if isinstance(wanted, str) else wanted)}
            ok = values.astype(str).str.lower().isin(options)
        fail(~ok, f"require_{column}")
    return reason


ELIGIBLE = "eligible"  # the outcome of a person screened eligible, beside the reason codes


def screening_people(tokens: pd.Series, reasons: pd.Series) -> dict[str, list[str]]:
    """One run's screening tokens by outcome ('eligible' or the reason code), each list sorted.

    Sorted, the tokens keep no trace of the file's order, which the order of the enrolment rows could otherwise match.
    """
    outcome = reasons.where(reasons != "", ELIGIBLE)
    return {str(code): sorted(group.tolist()) for code, group in tokens.groupby(outcome.to_numpy(), sort=True)}


def consort_screening(runs: pd.DataFrame | None) -> Screening | None:
    """The screening part of the CONSORT flow from the ledger's enrolment runs (`Ledger.screening()`); None if none.

    Each person counts once, across any number of runs and re-runs: at their first eligible assessment or, if never
    eligible, under the reason of their last. Runs recorded before screening tokens count their rows.
    """
    if runs is None or not len(runs):
        return None
    tokened = runs["people"].notna() if "people" in runs.columns else pd.Series(False, index=runs.index)
    old = runs[~tokened.to_numpy()]
    sums = old.drop(columns=[c for c in old.columns if old[c].dtype == object]).sum()
    excluded_n = {c.removeprefix("excluded_"): int(sums[c]) for c in sums.index if c.startswith("excluded_")}
    eligible = int(sum(sums[c] for c in sums.index if c.startswith("enrolled_")))
    people = _outcomes(runs.loc[tokened.to_numpy(), "people"] if "people" in runs.columns else pd.Series([]))
    ever_eligible = set(people["token"][people["outcome"] == ELIGIBLE])
    never = people[~people["token"].isin(ever_eligible)].drop_duplicates("token", keep="last")
    for code, n in never["outcome"].value_counts().items():
        excluded_n[str(code)] = excluded_n.get(str(code), 0) + int(n)
    eligible += len(ever_eligible)
    excluded = [
        ExclusionReason(code=code, label_da=reason_label(code, "da"), label_en=reason_label(code, "en"), n=n)
        for code, n in sorted(excluded_n.items()) if n
    ]
    totals = runs.drop(columns=[c for c in runs.columns if runs[c].dtype == object]).sum()
    return Screening(
        rows_read=int(totals.get("read", 0)),
        duplicate_rows=int(totals.get("duplicate_rows", 0)),
        already_enrolled=int(totals.get("already_enrolled", 0)),
        assessed=eligible + sum(reason.n for reason in excluded),
        eligible=eligible,
        excluded=excluded,
        enrolled=int(sum(totals[c] for c in totals.index if c.startswith("enrolled_"))),
    )


def _outcomes(people: pd.Series) -> pd.DataFrame:
    """Every (token, outcome) of the runs with tokens, in ledger order."""
    tokens: list[str] = []
    outcomes: list[str] = []
    for run in people:
        for outcome, group in run.items():
            tokens.extend(group)
            outcomes.extend([outcome] * len(group))
    return pd.DataFrame({"token": tokens, "outcome": outcomes}, dtype=object)


def data_handling(runs: pd.DataFrame | None) -> dict[str, int]:
    """What the enrolment runs handled apart from people: runs, re-runs of a file, rows read, blank and duplicate rows.

    `already_enrolled` counts rows of people enrolled in an earlier run; `runs_counted_as_rows` the runs recorded
    before screening tokens, whose people may be counted again in later runs.
    """
    if runs is None or not len(runs):
        return {"runs": 0, "reruns": 0, "rows_read": 0, "blank_rows": 0, "duplicate_rows": 0, "already_enrolled": 0,
                "runs_counted_as_rows": 0}
    return {
        "runs": len(runs),
        "reruns": int(runs["file_sha256"].duplicated().sum()),
        "rows_read": int(runs["read"].sum()),
        "blank_rows": int(runs["blank_rows"].sum()) if "blank_rows" in runs.columns else 0,
        "duplicate_rows": int(runs["duplicate_rows"].sum()),
        "already_enrolled": int(runs["already_enrolled"].sum()),
        "runs_counted_as_rows": int(runs["people"].isna().sum()) if "people" in runs.columns else len(runs),
    }
