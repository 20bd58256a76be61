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


def consort_screening(runs: pd.DataFrame) -> Screening | None:
    """The screening part of the CONSORT flow from the ledger's enrolment runs (`Ledger.screening()`); None if none.

    Today's counts add up every run's rows; rows read, duplicates and people already enrolled are data handling.
    """
    if runs is None or not len(runs):
        return None
    sums = runs.drop(columns=[c for c in runs.columns if runs[c].dtype == object]).sum()
    read = int(sums.get("read", 0))
    duplicates = int(sums.get("duplicate_rows", 0))
    already = int(sums.get("already_enrolled", 0))
    codes = sorted(c.removeprefix("excluded_") for c in sums.index if c.startswith("excluded_"))
    excluded = [
        ExclusionReason(code=code, label_da=reason_label(code, "da"), label_en=reason_label(code, "en"),
                        n=int(sums[f"excluded_{code}"]))
        for code in codes
    ]
    assessed = read - duplicates - already
    enrolled = int(sum(sums[c] for c in sums.index if c.startswith("enrolled_")))
    return Screening(
        rows_read=read,
        duplicate_rows=duplicates,
        already_enrolled=already,
        assessed=assessed,
        eligible=assessed - sum(reason.n for reason in excluded),
        excluded=excluded,
        enrolled=enrolled,
    )
