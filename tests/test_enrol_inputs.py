"""A corpus of malformed and unusual claimant files: each bad one gives one located line, exit 2, no change."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from trial.cli import app
from trial.ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "protocols" / "bc16-jobmatch.toml"
SECRET = "corpus-secret-0123456789"
AS_OF = "2026-03-02"
runner = CliRunner()

HEADER = "cpr,registered_on,education_level,benefit,has_cv,education_field,postcode"
GOOD1 = "010190-1235,2026-02-20,LVU,dagpenge,ja,humaniora,2200"
GOOD2 = "020291-1244,2026-02-25,LVU,dagpenge,true,teknisk,2300"
CPRS = ["010190-1235", "020291-1244"]


def lines(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


# name -> (content, the one-line error after "error: <file>"; where it ends in ": " the reader library's own words
# follow, which vary by version)
BAD: dict[str, tuple[bytes | str, str]] = {
    "empty.csv": (b"", ": file is empty"),
    "missing_column.csv": (
        "cpr,registered_on,education_level,benefit\n010190-1235,2026-02-20,LVU,dagpenge\n",
        ", row 1: missing column has_cv (or 'CV i Min plan' or 'CV i Jobnet'); columns found: cpr, "
        "registered_on, education_level, benefit",
    ),
    "cpr_letters.csv": (
        lines(GOOD1, "0202AB-1244,2026-02-25,LVU,dagpenge,ja,teknisk,2300"),
        ", row 3, column 'cpr': not a CPR number (10 digits, optionally DDMMYY-SSSS)",
    ),
    "cpr_short.csv": (
        lines("01019-1235,2026-02-20,LVU,dagpenge,ja,humaniora,2200"),
        ", row 2, column 'cpr': not a CPR number (10 digits, optionally DDMMYY-SSSS); it has 9 digits: leading "
        "zero lost by Excel? Format the column as text and export again",
    ),
    "cpr_bad_date.csv": (
        lines(GOOD1, "320191-1244,2026-02-25,LVU,dagpenge,ja,teknisk,2300"),
        ", row 3, column 'cpr': CPR number has no valid birth date in its first six digits",
    ),
    "date_impossible.csv": (
        lines(GOOD1, "020291-1244,2026-02-30,LVU,dagpenge,ja,teknisk,2300"),
        ", row 3, column 'registered_on': not a valid calendar date",
    ),
    "date_shape.csv": (
        lines("010190-1235,20/2/26,LVU,dagpenge,ja,humaniora,2200"),
        ", row 2, column 'registered_on': not a date (use yyyy-mm-dd or dd-mm-yyyy)",
    ),
    "date_missing.csv": (
        lines("010190-1235,,LVU,dagpenge,ja,humaniora,2200"),
        ", row 2, column 'registered_on': date is missing",
    ),
    "registered_after.csv": (
        lines(GOOD1, "020291-1244,2026-03-05,LVU,dagpenge,ja,teknisk,2300"),
        ", row 3, column 'registered_on': registered after the enrolment date 2026-03-02",
    ),
    "conflicting_duplicate.csv": (
        lines(GOOD1, GOOD2, "010190-1235,2026-02-20,LVU,kontanthjaelp,ja,humaniora,2200"),
        ", row 4, column 'benefit': the same CPR number as row 2 with a different value",
    ),
    "conflict_after_identical.csv": (
        lines(GOOD2, GOOD1, GOOD2, "010190-1235,2026-02-20,LVU,dagpenge,ja,teknisk,2200", GOOD1),
        ", row 5, column 'education_field': the same CPR number as row 3 with a different value",
    ),
    "formula_equals.csv": (
        lines(GOOD1, '020291-1244,2026-02-25,LVU,dagpenge,ja,"=HYPERLINK(""x"")",2300'),
        ", row 3, column 'education_field': cell looks like a spreadsheet formula",
    ),
    "formula_plus.csv": (
        lines("010190-1235,2026-02-20,LVU,+cmd|' /C calc'!A0,ja,humaniora,2200"),
        ", row 2, column 'benefit': cell looks like a spreadsheet formula",
    ),
    "formula_at.csv": (
        lines("010190-1235,2026-02-20,LVU,dagpenge,ja,humaniora,@SUM(1+1)"),
        ", row 2, column 'postcode': cell looks like a spreadsheet formula",
    ),
    "nul_byte.csv": (
        lines(GOOD1, GOOD2).replace("teknisk", "tek\x00nisk"),
        ", row 3: contains a NUL byte (binary file, or UTF-16 text; save as UTF-8 CSV)",
    ),
    "utf16.csv": (
        lines(GOOD1).encode("utf-16"),
        ", row 1: contains a NUL byte (binary file, or UTF-16 text; save as UTF-8 CSV)",
    ),
    "binary.csv": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        ", row 3: contains a NUL byte (binary file, or UTF-16 text; save as UTF-8 CSV)",
    ),
    "ragged_long.csv": (lines(GOOD1, GOOD2 + ",extra"), ", row 3: has 8 fields but the header has 7 (ragged row)"),
    "ragged_short.csv": (
        lines(GOOD1, "020291-1244,2026-02-25,LVU"),
        ", row 3: has 3 fields but the header has 7 (ragged row)",
    ),
    "bad_bool.csv": (
        lines("010190-1235,2026-02-20,LVU,dagpenge,måske,humaniora,2200"),
        ", row 2, column 'has_cv': not a yes/no value (use true/false, 1/0 or ja/nej)",
    ),
    "bad_sex.csv": (HEADER + ",sex\n" + GOOD1 + ",X\n", ", row 2, column 'sex': sex must be K/M (kvinde/mand)"),
    "missing_benefit.csv": (
        lines("010190-1235,2026-02-20,LVU,,ja,humaniora,2200"),
        ", row 2, column 'benefit': value is missing",
    ),
    "duplicate_header.csv": (
        HEADER + ",CPR\n" + GOOD1 + ",x\n",
        ", row 1, column 'cpr': column appears twice in the header",
    ),
    "sep_unusable.csv": (
        b"sep=\xff\n" + lines(GOOD1).encode("utf-8"),
        ", row 1: the sep= line names '\u00ff', which is no delimiter a table uses; use ; , | or a tab",
    ),
    "old_excel.xls": (
        b"\xd0\xcf\x11\xe0 not really",
        ": old Excel .xls files are not supported; save the sheet as .xlsx or CSV",
    ),
    "corrupt.xlsx": ("this is not a zip file", ": cannot be read as Excel: "),
    "corrupt.parquet": ("PAR1 not really", ": cannot be read as Parquet: "),
}


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    db = tmp_path / "trial.db"
    assert runner.invoke(app, ["init", "--protocol", str(PROTOCOL), "--db", str(db)]).exit_code == 0
    # Something already stored, which a bad file must not disturb.
    first = tmp_path / "first.csv"
    first.write_text(lines(GOOD1, GOOD2), encoding="utf-8")
    assert enrol(db, first).exit_code == 0
    return db


def enrol(db: Path, file: Path):
    return runner.invoke(
        app, ["enrol", str(file), "--db", str(db), "--as-of", AS_OF, "--lang", "en"], env={"TRIAL_SECRET": SECRET}
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_gives_one_located_line_and_changes_nothing(ledger: Path, tmp_path: Path, name: str) -> None:
    content, expected = BAD[name]
    file = tmp_path / name
    file.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    before = digest(ledger)
    result = enrol(ledger, file)
    assert result.exit_code == 2
    message = result.output.strip()
    assert message.count("\n") == 0, message
    if expected.endswith(": "):
        assert message.startswith(f"error: {file}{expected}") and len(message) > len(f"error: {file}{expected}")
    else:
        assert message == f"error: {file}{expected}"
    assert "Traceback" not in message
    for cpr in CPRS:
        assert cpr not in message and cpr.replace("-", "") not in message
    assert digest(ledger) == before


def test_directory_and_missing_file(ledger: Path, tmp_path: Path) -> None:
    before = digest(ledger)
    for target, expected in ((tmp_path, "is a directory, not a data file"), (tmp_path / "nope.csv", "file not found")):
        result = enrol(ledger, target)
        assert result.exit_code == 2 and result.output == f"error: {target}: {expected}\n"
    assert digest(ledger) == before


def _enrolled(db: Path) -> int:
    with Ledger.open(db) as led:
        return led.count("enrolment")


def test_unusual_but_valid_files_are_read(ledger: Path, tmp_path: Path) -> None:
    base = _enrolled(ledger)
    # Danish Excel export: semicolon, decimal comma, Latin-1, CRLF, dd-mm-yyyy dates, ja/nej, upper-case headers.
    danish = tmp_path / "danish.csv"
    danish.write_bytes(
        ("CPR;Registered_On;Education_Level;Benefit;Has_CV;Education_Field;Postcode;Score\r\n"
         "030392-1255;20-02-2026;LVU;dagpenge;ja;erhvervsøkonomi;2100;3,5\r\n"
         "040493-1266;21.02.2026;LVU;dagpenge;Nej;sundhed;2100;1,0\r\n").encode("latin-1")
    )
    result = enrol(ledger, danish)
    assert result.exit_code == 0, result.output
    assert "newly enrolled: 1" in result.output and "No CV in Min plan [no_cv]: 1" in result.output
    # UTF-8 with BOM, extra columns, a CPR without hyphen failing the old modulus-11 check (issued since 2007),
    # and an identical duplicate row.
    bom = tmp_path / "bom.csv"
    row = "0505951277,2026-02-26,LVU,dagpenge,1,teknisk,2400,Nørrebro,ignored"
    bom.write_bytes(("\ufeff" + HEADER + ",jobcenter_unit,note\n" + row + "\n" + row + "\n").encode("utf-8"))
    weights = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1]
    assert sum(int(d) * w for d, w in zip("0505951277", weights, strict=True)) % 11 != 0
    result = enrol(ledger, bom)
    assert result.exit_code == 0, result.output
    assert "identical duplicate rows ignored: 1" in result.output and "newly enrolled: 1" in result.output
    # Excel and Parquet with typed cells.
    frame = pd.DataFrame({
        "cpr": ["060696-1288", "070797-1299"],
        "registered_on": pd.to_datetime(["2026-02-27", "2026-02-28"]),
        "education_level": ["LVU", "LVU"],
        "benefit": ["dagpenge", "dagpenge"],
        "has_cv": [True, True],
        "education_field": ["naturvidenskab", "humaniora"],
        "postcode": [2500, 2600],
    })
    frame.to_excel(tmp_path / "week.xlsx", index=False)
    frame.assign(cpr=["080898-1300", "090999-1311"]).to_parquet(tmp_path / "week.parquet")
    for name in ("week.xlsx", "week.parquet"):
        result = enrol(ledger, tmp_path / name)
        assert result.exit_code == 0, result.output
        assert "newly enrolled: 2" in result.output
    assert _enrolled(ledger) == base + 1 + 1 + 2 + 2
    # A header-only file is valid: nothing to do, and its screening run is still recorded.
    empty = tmp_path / "header_only.csv"
    empty.write_text(HEADER + "\n", encoding="utf-8")
    result = enrol(ledger, empty)
    assert result.exit_code == 0 and "read 0 rows" in result.output


def test_sex_and_birth_date_come_from_the_cpr_number(ledger: Path) -> None:
    with Ledger.open(ledger) as led:
        alloc = led.allocations().sort_values("age")
    # 010190-1235: born 1 January 1990, odd last digit = man; 020291-1244: 2 February 1991, woman.
    as_of = date.fromisoformat(AS_OF)
    ages = sorted([as_of.year - 1990, as_of.year - 1991])
    assert alloc["age"].tolist() == ages
    assert alloc["sex"].tolist() == ["K", "M"]  # sorted by age: the younger woman first
