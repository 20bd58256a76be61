"""Read the matcher's three input tables (CVs, postings, hires) into typed frames keyed by pseudonym.

A file with `cpr` instead of `person_id` is pseudonymised with the trial secret at once, so CPR numbers go no
further than this module; errors name the file, row and column, never a CPR number.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from trial.errors import InputError
from trial.secret import load_secret, pseudonymise
from trial.tables import ROW, read_table, to_bools, to_dates, to_numbers

CV_COLUMNS = ["cv_text", "desired_titles", "education_level", "education_field", "experience_years", "postcode"]
POSTING_COLUMNS = ["posting_id", "source", "title", "text", "employer", "postcode", "occupation_code",
                   "requires_qualifications", "published_on", "deadline"]
# Derives birth_date and sex from a frame with a `cpr` column (trial.cpr.parse_cprs), injected by the caller.
Demographics = Callable[[pd.DataFrame], pd.DataFrame]


def _person_ids(table: pd.DataFrame, secret: bytes | None, secret_file: str | Path | None) -> pd.Series:
    if "person_id" in table and (table["person_id"] != "").all():
        return table["person_id"].str.strip()
    if "cpr" not in table:
        empty = (table["person_id"] == "").to_numpy()
        row = int(table[ROW].to_numpy()[empty][0])
        raise InputError("person_id is missing", file=table.attrs.get("file"), row=row, column="person_id")
    key = secret if secret is not None else load_secret(secret_file)
    return pseudonymise(table["cpr"], key, file=table.attrs.get("file"), rows=table[ROW])


# A CV or a posting runs to a few thousand characters; a cell far beyond that is a broken export, and text features of
# megabytes would take the matcher hours.
MAX_CELL = 100_000


def _require_text(table: pd.DataFrame, column: str) -> None:
    # Every reader calls this first, so a table without rows or with an outsized cell stops here, in one line.
    if table.empty:
        raise InputError("has a header but no rows: nothing to read", file=table.attrs.get("file"))
    for name in table.columns.drop(ROW, errors="ignore"):
        lengths = table[name].str.len().to_numpy()
        if lengths.max() > MAX_CELL:
            at = int(lengths.argmax())
            raise InputError(f"a cell of {int(lengths[at]):,} characters; at most {MAX_CELL:,} are read",
                             file=table.attrs.get("file"), row=int(table[ROW].iloc[at]), column=name)
    empty = (table[column].str.strip() == "").to_numpy()
    if empty.any():
        row = int(table[ROW].to_numpy()[empty][0])
        raise InputError(f"{column} is empty", file=table.attrs.get("file"), row=row, column=column)


def _unique(table: pd.DataFrame, column: str, values: pd.Series) -> None:
    dup = values.duplicated().to_numpy()
    if dup.any():
        row = int(table[ROW].to_numpy()[dup][0])
        raise InputError(f"{column} appears twice", file=table.attrs.get("file"), row=row, column=column)


def read_cvs(path: str | Path, *, secret: bytes | None = None, secret_file: str | Path | None = None,
             demographics: Demographics | None = None) -> pd.DataFrame:
    """One row per citizen: person_id, cv_text, desired_titles (list), education, experience, home coordinates.

    Optional `sex` and `birth_date` columns (or `demographics` applied to the CPR numbers) feed the evaluation's
    subgroups; an optional `consultant_id` (the consultant's pseudonym, never a CPR number) is carried into the
    recommendations.
    """
    from matcher.geo import coordinates

    optional = ["latitude", "longitude", "sex", "birth_date", "consultant_id"]
    table = read_table(path, required=CV_COLUMNS, optional=optional, one_of=[("person_id", "cpr")])
    _require_text(table, "cv_text")
    person_id = _person_ids(table, secret, secret_file)
    _unique(table, "person_id" if "person_id" in table else "cpr", person_id)
    frame = pd.DataFrame({
        "person_id": person_id.to_numpy(),
        "cv_text": table["cv_text"].to_numpy(),
        "desired_titles": [[t.strip() for t in s.split(";") if t.strip()] for s in table["desired_titles"]],
        "education_level": table["education_level"].str.strip().to_numpy(),
        "education_field": table["education_field"].str.strip().str.lower().to_numpy(),
        "experience_years": to_numbers(table, "experience_years", allow_empty=True).to_numpy(),
        "_row": table[ROW].to_numpy(),
    })
    frame["latitude"], frame["longitude"] = coordinates(table)
    if "consultant_id" in table:
        frame["consultant_id"] = _consultants(table)
    if demographics is not None and "cpr" in table and "person_id" not in table:
        extra = demographics(table)
        frame["sex"] = extra["sex"].to_numpy()
        frame["birth_date"] = pd.to_datetime(extra["birth_date"]).to_numpy()
    else:
        if "sex" in table:
            frame["sex"] = table["sex"].str.strip().str.upper().to_numpy()
        if "birth_date" in table:
            frame["birth_date"] = to_dates(table, "birth_date", allow_empty=True).to_numpy()
    frame.attrs["file"] = str(path)
    return frame


def _consultants(table: pd.DataFrame) -> np.ndarray:
    """Consultant pseudonyms: short codes of letters, digits and `._:-`; anything that looks like a CPR number is
    refused, so a person's identity never reaches the recommendations or the log.
    """
    value = table["consultant_id"].str.strip()
    digits = value.str.replace("-", "", regex=False)
    bad = (value != "") & (~value.str.fullmatch(r"[A-Za-z0-9._:-]{1,64}") | digits.str.fullmatch(r"\d{10}"))
    if bad.any():
        row = int(table[ROW].to_numpy()[bad.to_numpy()][0])
        raise InputError("not a consultant pseudonym (up to 64 letters, digits or ._:-, never a CPR number)",
                         file=table.attrs.get("file"), row=row, column="consultant_id")
    return value.to_numpy()


# What a consultant may write in the tick column of a list: shown, or not shown (an empty cell is not shown).
TICKED = frozenset({"x", "ja", "j", "yes", "y", "1", "true", "sand", "✓", "✔", "☑", "☒"})
NOT_TICKED = frozenset({"", "nej", "n", "no", "0", "false", "falsk"})
TICK_COLUMNS = ("vist", "shown")


def read_confirmations(path: str | Path) -> pd.DataFrame:
    """A consultant's ticked list (`lists/<person_id>.csv` of `trial match recommend`, or recommendations.csv with
    a tick column): person_id, posting_id, served_on, shown (bool), consultant_id ("" when the file has none).

    The tick column is `vist` or `shown`; x, ja, 1 or ✓ mean shown, an empty cell, nej or 0 not shown.
    """
    table = read_table(path, required=["person_id", "posting_id", "served_on"], optional=["consultant_id"],
                       one_of=[TICK_COLUMNS])
    file = table.attrs.get("file")
    ticks = [c for c in TICK_COLUMNS if c in table]
    if len(ticks) > 1:
        raise InputError("columns 'vist' and 'shown' both say whether a posting was shown; keep one", file=file,
                         row=int(table.attrs.get("header_row", 1)))
    tick = ticks[0]
    not_pseudonym = ~table["person_id"].str.fullmatch(r"[0-9a-f]{32}").to_numpy()
    if not_pseudonym.any():
        # Never echoed: a CPR number typed into the list must not be printed back.
        row = int(table[ROW].to_numpy()[not_pseudonym][0])
        raise InputError("not a pseudonym (32 hexadecimal characters, as the list was written)", file=file, row=row,
                         column="person_id")
    _require_text(table, "posting_id")
    text = table[tick].str.strip().str.lower()
    unknown = ~(text.isin(TICKED) | text.isin(NOT_TICKED)).to_numpy()
    if unknown.any():
        row = int(table[ROW].to_numpy()[unknown][0])
        raise InputError("not a tick (x, ja, 1 or ✓ for shown; empty, nej or 0 for not shown)", file=file, row=row,
                         column=tick)
    frame = pd.DataFrame({
        "person_id": table["person_id"].to_numpy(),
        "posting_id": table["posting_id"].to_numpy(),
        "served_on": to_dates(table, "served_on").dt.strftime("%Y-%m-%d").to_numpy(),
        "shown": text.isin(TICKED).to_numpy(),
        "consultant_id": _consultants(table) if "consultant_id" in table else np.full(len(table), ""),
        "_row": table[ROW].to_numpy(),
    })
    frame.attrs["file"] = str(path)
    return frame


def read_postings(path: str | Path) -> pd.DataFrame:
    """One row per posting as given (duplicates across portals are merged later by `matcher.postings`)."""
    from matcher.geo import coordinates

    table = read_table(path, required=POSTING_COLUMNS, optional=["latitude", "longitude"])
    for column in ("posting_id", "title", "text", "source"):
        _require_text(table, column)
    _unique(table, "posting_id", table["posting_id"].str.strip())
    code = table["occupation_code"].str.strip()
    bad = ~code.str.fullmatch(r"\d{4}") & (code != "")
    if bad.any():
        row = int(table[ROW].to_numpy()[bad.to_numpy()][0])
        raise InputError("not a DISCO-08 code (4 digits)", file=table.attrs.get("file"), row=row,
                         column="occupation_code")
    published = to_dates(table, "published_on")
    deadline = to_dates(table, "deadline", allow_empty=True)
    early = (deadline < published).to_numpy()
    if early.any():
        row = int(table[ROW].to_numpy()[early][0])
        raise InputError("deadline is before published_on", file=table.attrs.get("file"), row=row, column="deadline")
    frame = pd.DataFrame({
        "posting_id": table["posting_id"].str.strip().to_numpy(),
        "source": table["source"].str.strip().str.lower().to_numpy(),
        "title": table["title"].to_numpy(),
        "text": table["text"].to_numpy(),
        "employer": table["employer"].to_numpy(),
        "postcode": table["postcode"].str.strip().to_numpy(),
        "occupation_code": code.to_numpy(),
        "requires_qualifications": to_bools(table, "requires_qualifications").to_numpy(),
        "published_on": published.to_numpy(),
        # An open-ended posting stays active for the usual 60 days.
        "deadline": deadline.fillna(published + pd.Timedelta(days=60)).to_numpy(),
        "_row": table[ROW].to_numpy(),
    })
    frame["latitude"], frame["longitude"] = coordinates(table)
    frame.attrs["file"] = str(path)
    return frame


def read_hires(path: str | Path, *, secret: bytes | None = None,
               secret_file: str | Path | None = None) -> pd.DataFrame:
    """Training labels: person_id, posting_id, hired_on."""
    table = read_table(path, required=["posting_id", "hired_on"], one_of=[("person_id", "cpr")])
    _require_text(table, "posting_id")
    hired_on = to_dates(table, "hired_on")
    future = (hired_on > pd.Timestamp.today().normalize()).to_numpy()
    if future.any():  # a label from the future would also move the model's "trained until" past today
        raise InputError("lies after today: a hire cannot be in the future", file=table.attrs.get("file"),
                         row=int(table[ROW].to_numpy()[future][0]), column="hired_on")
    person_id = _person_ids(table, secret, secret_file)
    twice = pd.Series(list(zip(person_id, table["posting_id"].str.strip(), strict=True))).duplicated().to_numpy()
    if twice.any():  # one hire counted twice would weigh double as a label
        raise InputError("the same hire (person and posting) appears twice", file=table.attrs.get("file"),
                         row=int(table[ROW].to_numpy()[twice][0]), column="posting_id")
    frame = pd.DataFrame({
        "person_id": person_id.to_numpy(),
        "posting_id": table["posting_id"].str.strip().to_numpy(),
        "hired_on": hired_on.to_numpy(),
        "_row": table[ROW].to_numpy(),
    })
    frame.attrs["file"] = str(path)
    return frame


def frame_hash(*frames: pd.DataFrame) -> str:
    """SHA-256 over the content of frames (not row numbers): the training data's fingerprint in a model."""
    import hashlib

    digest = hashlib.sha256()
    for frame in frames:
        body = frame.drop(columns=[c for c in frame.columns if c.startswith("_")])
        body = body.map(lambda v: ";".join(v) if isinstance(v, list) else v)
        digest.update(np.asarray(pd.util.hash_pandas_object(body, index=False)).tobytes())
        digest.update(",".join(body.columns).encode())
    return digest.hexdigest()
