"""CPR numbers: the century rule of the 7th digit, real calendar dates (leap years), sex from the last digit."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from trial.cpr import parse_cprs
from trial.errors import InputError


def parse(*numbers: str) -> pd.DataFrame:
    return parse_cprs(pd.DataFrame({"cpr": list(numbers), "_row": range(2, 2 + len(numbers))}))


@pytest.mark.parametrize(
    ("number", "born", "sex"),
    [
        ("010190-1231", date(1990, 1, 1), "M"),   # 7th digit 0-3: 1900s
        ("290292-4122", date(1992, 2, 29), "K"),  # 4 with year > 36: 1900s; a leap day
        ("010136-4000", date(2036, 1, 1), "K"),   # 4 with year <= 36: 2000s
        ("010157-5001", date(2057, 1, 1), "M"),   # 5-8 with year <= 57: 2000s
        ("010158-8001", date(1858, 1, 1), "M"),   # 5-8 with year >= 58: 1800s
        ("311299-9999", date(1999, 12, 31), "M"), # 9 with year > 36: 1900s
        ("0101201234", date(1920, 1, 1), "K"),    # no hyphen
        ("290200-4000", date(2000, 2, 29), "K"),  # 2000 is a leap year; 1900 (7th digit 0-3) is not
    ],
)
def test_birth_date_century_and_sex(number: str, born: date, sex: str) -> None:
    row = parse(number).iloc[0]
    assert row["birth_date"].date() == born and row["sex"] == sex
    assert row["cpr"] == number.replace("-", "")


@pytest.mark.parametrize("number", ["290290-1234", "311190-1234", "011390-1234", "000190-1234", "290200-1234"])
def test_impossible_dates_are_refused_by_row(number: str) -> None:
    with pytest.raises(InputError, match=r"row 3, column 'cpr': CPR number has no valid birth date"):
        parse("010190-1231", number)
