"""Pseudonyms are HMAC-SHA256 of the normalised CPR number under the secret, whatever the key length."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from trial.errors import InputError
from trial.secret import PSEUDONYM_HEX, pseudonym, pseudonymise, pseudonymise_many


@pytest.mark.parametrize("key", [b"k" * 16, b"exactly-sixty-four-bytes-long-key".ljust(64, b"!"), b"long" * 40])
def test_fast_pseudonyms_equal_the_standard_hmac(key: bytes) -> None:
    cprs = ["0101901234", "3112991239", "0505951277"]
    expected = [hmac.new(key, c.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX] for c in cprs]
    assert pseudonymise_many(cprs, key) == expected
    assert [pseudonym(c, key) for c in cprs] == expected
    # The hyphen is not part of the number: both spellings give one pseudonym.
    assert pseudonymise(pd.Series(["010190-1234", "0101901234"]), key).nunique() == 1


def test_malformed_number_is_named_by_row_not_by_value() -> None:
    with pytest.raises(InputError) as caught:
        pseudonymise(pd.Series(["0101901234", "01019O1234"]), b"k" * 16, file="spells.csv")
    assert str(caught.value) == "spells.csv, row 3, column 'cpr': not a CPR number (10 digits)"


def test_non_ascii_digits_are_a_located_error_not_a_crash() -> None:
    full_width = "０１０１９０１２３４"  # str.isdigit() is true for these, ASCII encoding fails
    with pytest.raises(InputError) as caught:
        pseudonymise(pd.Series(["0101901234", full_width]), b"k" * 16, file="cvs.csv", rows=pd.Series([7, 9]))
    assert str(caught.value) == "cvs.csv, row 9, column 'cpr': not a CPR number (10 digits)"
