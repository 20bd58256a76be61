"""Enrolment: read a claimant extract, pseudonymise, screen, randomise and append it to the ledger at once.

The whole file is checked before anything is written; the append happens in one transaction under SQLite's
write lock, so concurrent runs enrol each person once and keep block balance, and a killed run leaves the
ledger as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from trial.cpr import parse_cprs
from trial.errors import InputError, LedgerError
from trial.ledger import Entry, Ledger
from trial.protocol import Protocol
from trial.randomise import BlockRandomiser
from trial.screening import age_band, age_in_years, screen, screening_people
from trial.secret import pseudonyms_and_tokens
from trial.tables import ROW, read_table, to_bools, to_dates

REQUIRED = ["cpr", "registered_on", "education_level", "benefit", "has_cv"]
OPTIONAL = ["birth_date", "sex", "education_field", "postcode", "jobcenter_unit"]
_SEX = {"k": "K", "kvinde": "K", "f": "K", "female": "K", "m": "M", "mand": "M", "male": "M"}
UNKNOWN = "ukendt"
# Header names of the job centre's own exports, beside the English ones (matched in any case, with spaces, hyphens
# or dots for underscores). A column found under neither is listed with the columns the file has.
DANISH_ALIASES: dict[str, list[str]] = {
    "cpr": ["CPR-nr", "CPR-nummer", "Personnummer"],
    "registered_on": ["Tilmeldt dato", "Tilmeldingsdato", "Ledig fra", "Ledighedsdato"],
    "education_level": ["Uddannelsesniveau", "Udd. niveau", "Uddannelsesgruppe"],
    "benefit": ["Ydelse", "Ydelsestype", "Ydelsesgruppe"],
    "has_cv": ["CV i Min plan", "CV i Jobnet", "Har CV"],
    "birth_date": ["Fødselsdato", "Foedselsdato"],
    "sex": ["Køn", "Koen"],
    "education_field": ["Uddannelsesområde", "Fagområde", "Uddannelsesretning"],
    "postcode": ["Postnummer", "Postnr"],
    "jobcenter_unit": ["Jobcenterenhed", "Jobcenter-enhed"],
}


@dataclass
class EnrolResult:
    """What one run did: counts for the terminal and the roster (CPR, arm) for the analyst's list."""

    file: str
    as_of: date
    read: int
    duplicate_rows: int
    already_enrolled: int
    excluded: dict[str, int]
    enrolled: dict[str, int]
    roster: pd.DataFrame = field(repr=False)
    treatment_arm: str = ""
    blank_rows: int = 0

    @property
    def newly_enrolled(self) -> int:
        return sum(self.enrolled.values())

    @property
    def treatment_roster(self) -> pd.DataFrame:
        """The roster's treatment arm only: the list for the consultants, who must not see the control arm."""
        return self.roster[self.roster["arm"] == self.treatment_arm].reset_index(drop=True)


def read_claimants(path: str | Path, protocol: Protocol, as_of: date) -> pd.DataFrame:
    """Read and type a claimant file; any bad cell raises InputError naming file, row and column."""
    extra = [c for c in protocol.eligibility.require if c not in REQUIRED + OPTIONAL]
    extra += [c for c in protocol.analysis.covariates if c not in REQUIRED + OPTIONAL + extra + ["age", "age_band"]]
    # A two-stage design needs every claimant's cluster (an optional column such as jobcenter_unit becomes required).
    cluster = protocol.randomisation.cluster if protocol.randomisation.two_stage else None
    if cluster is not None and cluster not in REQUIRED + OPTIONAL + extra:
        extra.append(cluster)
    required = REQUIRED + extra + ([cluster] if cluster in OPTIONAL else [])
    optional = [c for c in OPTIONAL if c != cluster]
    frame = read_table(path, required=required, optional=optional, aliases=DANISH_ALIASES)
    file = frame.attrs["file"]
    ids = parse_cprs(frame)
    typed = pd.DataFrame({"cpr": ids["cpr"], ROW: frame[ROW]})
    typed["registered_on"] = to_dates(frame, "registered_on")
    when = pd.Timestamp(as_of)
    late = (typed["registered_on"] > when).to_numpy()
    if late.any():
        first = int(np.flatnonzero(late)[0])
        raise InputError(
            f"registered after the enrolment date {as_of.isoformat()}", file=file, row=int(frame[ROW].iloc[first]),
            column="registered_on",
        )
    for column in ("education_level", "benefit"):
        empty = (frame[column] == "").to_numpy()
        if empty.any():
            raise InputError("value is missing", file=file, row=int(frame[ROW].iloc[np.flatnonzero(empty)[0]]),
                             column=column)
        typed[column] = frame[column]
    typed["has_cv"] = to_bools(frame, "has_cv")
    born = ids["birth_date"]
    if "birth_date" in frame.columns:
        given = to_dates(frame, "birth_date", allow_empty=True)
        born = given.where(given.notna(), born)
    typed["birth_date"] = born
    sex = ids["sex"]
    if "sex" in frame.columns:
        text = frame["sex"].str.lower()
        mapped = text.map(_SEX)
        bad = (text != "") & mapped.isna()
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError("sex must be K/M (kvinde/mand)", file=file, row=int(frame[ROW].iloc[first]), column="sex")
        sex = mapped.where(text != "", sex)
    typed["sex"] = sex
    field_text = frame["education_field"].str.lower() if "education_field" in frame.columns else ""
    typed["education_field"] = pd.Series(field_text, index=frame.index).replace("", UNKNOWN)
    for column in ("postcode", "jobcenter_unit"):
        typed[column] = frame[column] if column in frame.columns else ""
    for column in extra:
        wanted = protocol.eligibility.require.get(column)
        typed[column] = to_bools(frame, column) if isinstance(wanted, bool) else frame[column]
    typed["age"] = age_in_years(typed["birth_date"], when)
    typed["age_band"] = age_band(typed["age"], protocol.randomisation.age_band_cuts)
    typed.attrs["file"] = file
    typed.attrs["sha256"] = frame.attrs["sha256"]
    typed.attrs["blank_rows"] = frame.attrs["blank_rows"]
    return _drop_duplicates(typed)


def _drop_duplicates(typed: pd.DataFrame) -> pd.DataFrame:
    """The same person twice: identical rows collapse to one, conflicting rows are an error."""
    repeated = typed["cpr"].duplicated(keep=False)
    if not repeated.any():
        typed.attrs["duplicate_rows"] = 0
        return typed
    content = [c for c in typed.columns if c != ROW]
    # Identical rows collapse (drop_duplicates treats missing values as equal); a CPR number left twice conflicts.
    # The first such row in file order is the first that differs from its number's first row.
    distinct = typed.drop_duplicates(content)
    conflicting = distinct["cpr"].duplicated().to_numpy()
    if conflicting.any():
        row = distinct.iloc[int(np.flatnonzero(conflicting)[0])]
        original = typed[typed["cpr"] == row["cpr"]].iloc[0]
        same = [original[c] == row[c] or (pd.isna(original[c]) and pd.isna(row[c])) for c in content]
        column = next(c for c, equal in zip(content, same, strict=True) if not equal)
        raise InputError(
            f"the same CPR number as row {int(original[ROW])} with a different value",
            file=typed.attrs["file"], row=int(row[ROW]), column=column,
        )
    deduped = typed.drop_duplicates("cpr").copy()
    deduped.attrs.update(typed.attrs)
    deduped.attrs["duplicate_rows"] = len(typed) - len(deduped)
    return deduped


def stratum_keys(frame: pd.DataFrame, strata: list[str]) -> pd.Series:
    """Readable stratum labels such as 'sex=K|age_band=<30|education_field=humaniora'."""
    if not strata:
        return pd.Series("all", index=frame.index)
    parts = [f"{name}=" + frame[name].astype(str) for name in strata]
    key = parts[0]
    for part in parts[1:]:
        key = key + "|" + part
    return key


def enrol_file(
    ledger: Ledger,
    path: str | Path,
    *,
    secret: bytes,
    as_of: date,
    protocol: Protocol | None = None,
    progress: Callable[..., None] | None = None,
) -> EnrolResult:
    """Enrol one claimant file into the ledger; idempotent for people enrolled before.

    A secret other than the ledger's is refused before the file is read, and again under the write lock.
    `progress(message, done, total)` hears of each of the four phases (read, pseudonymise, screen and randomise,
    append), for a bar on a large extract.
    """
    step = progress or (lambda *_: None)
    ledger.check_secret(secret)
    active = ledger.protocol()
    if protocol is not None and protocol.fingerprint != active.fingerprint:
        raise LedgerError(
            f"protocol {protocol.id} {protocol.version} (fingerprint {protocol.fingerprint[:12]}…) differs from the "
            f"one frozen in the ledger ({active.fingerprint[:12]}…); record it first with: trial amend"
        )
    step("enrol: reading the extract", 0, 4)
    claimants = read_claimants(path, active, as_of)
    step(f"enrol: pseudonymising {len(claimants):,} claimants", 1, 4)
    claimants["person_id"], tokens = pseudonyms_and_tokens(claimants["cpr"], secret)
    claimants["screening_token"] = tokens
    when = pd.Timestamp(as_of)
    randomiser = BlockRandomiser.for_protocol(active, secret)
    strata = active.randomisation.strata
    saturation_of = ledger.cluster_saturations() if active.randomisation.two_stage else None
    recorded = datetime.now(UTC).isoformat(timespec="seconds")
    covariates = [c for c in active.analysis.covariates if c in claimants.columns and c not in strata]

    step("enrol: screening and randomising", 2, 4)
    with ledger.transaction():
        ledger.check_secret(secret)
        known = ledger.arms_of(claimants["person_id"])
        already = claimants["person_id"].isin(known.keys())
        assessed = claimants[~already]
        reasons = screen(assessed, active, when)
        if saturation_of is not None:
            reasons = _screen_cluster(assessed, reasons, active, saturation_of)
        eligible = assessed[reasons == ""].copy()
        levels: list[Fraction | None] = [None] * len(eligible)
        if saturation_of is not None:
            eligible = _with_cluster(eligible, active, saturation_of)
            strata = [str(active.randomisation.cluster), *strata]
            levels = [active.randomisation.saturation_fraction(s) for s in eligible["saturation"]]
        eligible["stratum"] = stratum_keys(eligible, strata)
        positions = ledger.stratum_counts()
        assignments = []
        for stratum, level in zip(eligible["stratum"], levels, strict=True):
            position = positions.get(stratum, 0)
            positions[stratum] = position + 1
            assignments.append(randomiser.assign(stratum, position, level))
        arms = [a.arm for a in assignments]
        bodies = _enrolment_bodies(eligible, assignments, covariates, recorded, two_stage=saturation_of is not None)
        at = as_of.isoformat()
        entries: list[Entry] = [
            Entry("enrolment", at, body, person, arm, stratum)
            for body, person, arm, stratum in zip(bodies, eligible["person_id"], arms, eligible["stratum"], strict=True)
        ]
        excluded = reasons[reasons != ""].value_counts().sort_index()
        enrolled = {arm: arms.count(arm) for arm in active.arm_names}
        summary = {
            "file": Path(path).name,
            "file_sha256": claimants.attrs["sha256"],
            "read": len(claimants) + claimants.attrs["duplicate_rows"],
            "blank_rows": claimants.attrs["blank_rows"],
            "duplicate_rows": claimants.attrs["duplicate_rows"],
            "already_enrolled": int(already.sum()),
            "eligible": len(eligible) + int(already.sum()),
            "excluded": {str(k): int(v) for k, v in excluded.items()},
            "enrolled": enrolled,
            "protocol_fingerprint": active.fingerprint,
            "people": screening_people(assessed["screening_token"], reasons),
        }
        entries.append(Entry("screening", as_of.isoformat(), summary))
        step(f"enrol: appending {len(entries):,} rows to the ledger", 3, 4)
        ledger._append(entries)

    arm_by_person = dict(known) | dict(zip(eligible["person_id"], arms, strict=True))
    in_trial = claimants[claimants["person_id"].isin(arm_by_person.keys())]
    readable = in_trial["cpr"].str.slice(0, 6) + "-" + in_trial["cpr"].str.slice(6)
    roster = pd.DataFrame({"cpr": readable, "arm": in_trial["person_id"].map(arm_by_person)})
    return EnrolResult(
        file=str(path),
        as_of=as_of,
        read=summary["read"],
        duplicate_rows=summary["duplicate_rows"],
        already_enrolled=summary["already_enrolled"],
        excluded=summary["excluded"],
        enrolled=enrolled,
        roster=roster.reset_index(drop=True),
        treatment_arm=active.treatment_arm,
        blank_rows=summary["blank_rows"],
    )


CLUSTER_REASON = "cluster"  # the claimant's cluster is not one of a two-stage protocol's clusters


def _cluster_names(claimants: pd.DataFrame, protocol: Protocol) -> pd.Series:
    """Each claimant's cluster in the protocol's spelling (matched ignoring case and spaces), or None if not listed."""
    canonical = {" ".join(c.split()).casefold(): c.strip() for c in protocol.randomisation.clusters}
    given = claimants[str(protocol.randomisation.cluster)].fillna("").astype(str)
    return given.map(lambda value: canonical.get(" ".join(value.split()).casefold()))


def _screen_cluster(
    claimants: pd.DataFrame, reasons: pd.Series, protocol: Protocol, saturation_of: dict[str, float]
) -> pd.Series:
    """Those eligible by the rules but of a cluster outside the protocol are excluded with the reason 'cluster'."""
    outside = _cluster_names(claimants, protocol).map(lambda c: c not in saturation_of)
    return reasons.where(~((reasons == "") & outside), CLUSTER_REASON)


def _with_cluster(eligible: pd.DataFrame, protocol: Protocol, saturation_of: dict[str, float]) -> pd.DataFrame:
    """The eligible with their cluster (in the protocol's spelling) and the saturation frozen for it."""
    names = _cluster_names(eligible, protocol)
    eligible[str(protocol.randomisation.cluster)] = names
    eligible["cluster"] = names
    eligible["saturation"] = names.map(saturation_of).astype(float)
    return eligible


def _enrolment_bodies(
    eligible: pd.DataFrame, assignments: list, covariates: list[str], recorded: str, *, two_stage: bool = False
) -> list[str]:
    """Baseline covariates and block details of each enrolment as JSON text, serialised in one vectorised call."""
    body = pd.DataFrame({
        "sex": eligible["sex"],
        "age": eligible["age"].astype(int),
        "age_band": eligible["age_band"],
        "education_field": eligible["education_field"],
        "education_level": eligible["education_level"],
        "benefit": eligible["benefit"],
        "postcode": eligible["postcode"],
        "jobcenter_unit": eligible["jobcenter_unit"],
        "registered_on": eligible["registered_on"].dt.strftime("%Y-%m-%d"),
        "block": [a.block for a in assignments],
        "block_size": [a.block_size for a in assignments],
        "position": [a.position for a in assignments],
        "recorded_at": recorded,
    })
    for column in covariates:
        body[column] = eligible[column].map(_plain)
    if two_stage:
        body["cluster"] = eligible["cluster"]
        body["saturation"] = eligible["saturation"]
    if body.empty:
        return []
    body = body[sorted(body.columns)]
    return body.to_json(orient="records", lines=True, force_ascii=False).splitlines()


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return value


def write_roster(roster: pd.DataFrame, path: str | Path) -> Path:
    """Write the analyst's (cpr, arm) list with mode 0600: the only file where a CPR number meets an arm."""
    path = Path(path)
    if not path.parent.exists():
        raise InputError("folder does not exist", file=path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".roster-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            roster.to_csv(handle, index=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def check_roster_target(path: str | Path | None) -> None:
    """Fail before enrolling, not after, when the roster cannot be written."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise InputError("is a directory; --out needs a file name", file=target)
    if not target.parent.exists():
        raise InputError("folder does not exist", file=target.parent)
