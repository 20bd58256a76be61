"""Danish CPR numbers: normalise, check the date part and century rule, derive birth date and sex.

The old modulus-11 check is deliberately not applied: numbers without it have been issued since 2007.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trial.errors import InputError
from trial.tables import ROW, matches

_SHAPE = r"^\d{6}-?\d{4}$"


def century(digit7: np.ndarray, year2: np.ndarray) -> np.ndarray:
    """The century of birth from the 7th digit and the two-digit year (CPR office rules)."""
    return np.select(
        [
            digit7 <= 3,
            (digit7 == 4) | (digit7 == 9),
            (digit7 >= 5) & (digit7 <= 8) & (year2 <= 57),
        ],
        [
            np.full_like(year2, 1900),
            np.where(year2 <= 36, 2000, 1900),
            np.full_like(year2, 2000),
        ],
        default=1800,
    )


def excel_hint(value: str) -> str:
    """A hint for a malformed CPR number that is nine digits: a spreadsheet dropped its leading zero."""
    digits = value.replace("-", "").replace(" ", "")
    if len(digits) == 9 and digits.isascii() and digits.isdigit():
        return "; it has 9 digits: leading zero lost by Excel? Format the column as text and export again"
    return ""


def parse_cprs(df: pd.DataFrame, column: str = "cpr") -> pd.DataFrame:
    """Normalise a column of CPR numbers to 10 digits; return cpr, birth_date and sex ('K'/'M') per row.

    Raises InputError naming the row of the first malformed number, never the number itself.
    """
    text = df[column]
    if matches(text, " ").any():
        text = text.str.replace(" ", "", regex=False)
    shaped = matches(text, _SHAPE)
    if not shaped.all():
        first = text.iloc[int(np.flatnonzero(~shaped)[0])]
        _fail(df, ~shaped, column, "not a CPR number (10 digits, optionally DDMMYY-SSSS)" + excel_hint(first))
    digits = text.str.replace("-", "", regex=False) if matches(text, "-").any() else text
    # ASCII digits as bytes minus '0': a vectorised parse of all ten digits at once.
    as_int = (np.asarray(digits.to_numpy(), dtype="S10").view(np.uint8).reshape(-1, 10) - 48).astype(np.int64)
    day = as_int[:, 0] * 10 + as_int[:, 1]
    month = as_int[:, 2] * 10 + as_int[:, 3]
    year2 = as_int[:, 4] * 10 + as_int[:, 5]
    year = century(as_int[:, 6], year2) + year2
    # Calendar arithmetic in numpy: a day is valid when it falls before the first day of the next month.
    valid_month = (month >= 1) & (month <= 12)
    months = (year - 1970) * 12 + np.where(valid_month, month - 1, 0)
    first = months.astype("datetime64[M]").astype("datetime64[D]")
    following = (months + 1).astype("datetime64[M]").astype("datetime64[D]")
    born_days = first + (day - 1)
    valid = valid_month & (day >= 1) & (born_days < following)
    _fail(df, ~valid, column, "CPR number has no valid birth date in its first six digits")
    born = pd.Series(born_days.astype("datetime64[ns]"), index=df.index)
    sex = np.where(as_int[:, 9] % 2 == 1, "M", "K")
    return pd.DataFrame({"cpr": digits.to_numpy(), "birth_date": born.to_numpy(), "sex": sex}, index=df.index)


def _fail(df: pd.DataFrame, mask: np.ndarray, column: str, message: str) -> None:
    if len(mask) and mask.any():
        first = int(np.flatnonzero(mask)[0])
        row = int(df[ROW].iloc[first]) if ROW in df.columns else first + 2
        raise InputError(message, file=df.attrs.get("file"), row=row, column=column)
