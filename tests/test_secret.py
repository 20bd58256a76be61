"""Pseudonyms are HMAC-SHA256 of the normalised CPR number under the secret; where the secret comes from."""

from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path

import pandas as pd
import pytest

from trial.errors import InputError, SecretError
from trial.secret import (
    PSEUDONYM_HEX,
    key_check,
    keygen,
    load_secret,
    pseudonym,
    pseudonymise,
    pseudonymise_many,
    screening_tokens,
)


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


@pytest.fixture
def no_secret_variables(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("TRIAL_SECRET", raising=False)
    monkeypatch.delenv("TRIAL_SECRET_FILE", raising=False)
    return monkeypatch


def test_trial_secret_file_names_a_path_and_trial_secret_holds_the_secret(
    no_secret_variables: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = keygen(tmp_path / "new" / "deeper" / "bc16.key")
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    no_secret_variables.setenv("TRIAL_SECRET_FILE", str(key))
    assert load_secret() == key.read_bytes().strip()
    no_secret_variables.setenv("TRIAL_SECRET", "the-secret-itself-0123")
    with pytest.raises(SecretError, match=r"^both TRIAL_SECRET_FILE and TRIAL_SECRET are set; set only one of them$"):
        load_secret()
    assert load_secret(key) == key.read_bytes().strip()  # --secret-file wins over both
    no_secret_variables.delenv("TRIAL_SECRET_FILE")
    assert load_secret() == b"the-secret-itself-0123"
    no_secret_variables.setenv("TRIAL_SECRET", str(key))
    with pytest.raises(SecretError, match="its value is the name of a file") as caught:
        load_secret()
    assert str(key) not in str(caught.value)


def test_a_missing_secret_file_does_not_suggest_a_new_secret(no_secret_variables: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    with pytest.raises(SecretError) as caught:
        load_secret(tmp_path / "bc16.key")
    assert str(caught.value) == (
        f"secret file {tmp_path / 'bc16.key'} not found; give the file this trial's secret was kept in "
        "(a new one from trial keygen suits only a new ledger)"
    )


def test_key_check_and_screening_tokens_are_other_bits_than_the_pseudonyms() -> None:
    secret = b"k" * 32
    assert key_check(secret, "salt") == hmac.new(secret, b"jobmatch-trial/key-check/salt", hashlib.sha256).hexdigest()
    assert key_check(secret, "salt") != key_check(b"j" * 32, "salt") != key_check(secret, "other")
    full = hmac.new(secret, b"0101901234", hashlib.sha256).hexdigest()
    assert (pseudonym("0101901234", secret), screening_tokens(["0101901234"], secret)[0]) == (full[:32], full[32:48])
