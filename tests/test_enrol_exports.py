"""Claimant exports as they come from the job centre's Excel, through the real CLI: they enrol as their clean twin."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.factory import claimant_rows, write_claimants
from trial.cli import app
from trial.ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "protocols" / "bc16-jobmatch.toml"
SECRET = "exports-secret-0123456789abcdef"
AS_OF = date(2026, 3, 2)
UNIT = "Nørrebro – Vest’s €-team"  # an en dash, a curly quote and a euro sign: 0x96, 0x92, 0x80 in Windows-1252
DANISH = ["CPR-nr", "Tilmeldt dato", "Uddannelsesniveau", "Ydelse", "CV i Min plan", "Uddannelsesområde",
          "Postnummer", "Jobcenterenhed"]
runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"TRIAL_SECRET": SECRET, "TRIAL_SECRET_FILE": None})


def new_ledger(path: Path) -> Path:
    assert run("init", "--protocol", PROTOCOL, "--db", path).exit_code == 0
    return path


def enrol(db: Path, file: Path):
    return run("enrol", file, "--db", db, "--as-of", AS_OF, "--lang", "en")


def danish_export(path: Path, rows: list[dict[str, str]], blank_rows: int) -> Path:
    """As Excel saves a Danish sheet: `sep=;`, Danish headers, dd-mm-yyyy, Windows-1252, CRLF, `;;;;` rows after."""
    lines = ["sep=;", ";".join(DANISH)]
    for r in rows:
        day = date.fromisoformat(r["registered_on"]).strftime("%d-%m-%Y")
        lines.append(";".join([r["cpr"], day, r["education_level"], r["benefit"], r["has_cv"], r["education_field"],
                               r["postcode"], UNIT]))
    lines += [";" * 11] * blank_rows  # wider than the header, as Excel pads its used range
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def test_a_danish_excel_export_enrols_as_the_same_people_as_its_clean_twin(tmp_path: Path) -> None:
    rows = claimant_rows(120, seed=31, as_of=AS_OF)
    clean = write_claimants(tmp_path / "clean.csv", [r | {"jobcenter_unit": UNIT} for r in rows])
    danish = danish_export(tmp_path / "eksport.csv", rows, blank_rows=9)
    twin, real = new_ledger(tmp_path / "twin.db"), new_ledger(tmp_path / "real.db")
    assert enrol(twin, clean).exit_code == 0
    result = enrol(real, danish)
    assert result.exit_code == 0, result.output
    assert f"{danish}: read 120 rows" in result.output and "blank rows skipped: 9" in result.output
    with Ledger.open(twin) as a, Ledger.open(real) as b:
        expected, got = a.allocations(), b.allocations()
    columns = ["person_id", "arm", "stratum", "jobcenter_unit", "education_field", "postcode"]
    assert got[columns].equals(expected[columns])
    assert set(got["jobcenter_unit"]) == {UNIT}
    assert "\u0096".encode() not in (tmp_path / "real.db").read_bytes()  # Latin-1 would have stored a control code


def test_missing_columns_are_listed_at_once_beside_the_columns_found(tmp_path: Path) -> None:
    db = new_ledger(tmp_path / "trial.db")
    file = tmp_path / "uge10.csv"
    file.write_text("CPR-nr;Tilmeldt dato;Uddannelsesniveau;Bemærkning\n010190-1235;20-02-2026;LVU;x\n",
                    encoding="utf-8")
    result = enrol(db, file)
    assert (result.exit_code, result.output.strip()) == (2, (
        f"error: {file}, row 1: missing columns benefit (or 'Ydelse' or 'Ydelsestype'), has_cv (or 'CV i Min plan' "
        "or 'CV i Jobnet'); columns found: cpr-nr, tilmeldt dato, uddannelsesniveau, bemærkning"
    ))


def test_an_extract_with_only_a_header_says_so(tmp_path: Path) -> None:
    db = new_ledger(tmp_path / "trial.db")
    file = danish_export(tmp_path / "tom.csv", [], blank_rows=3)
    result = enrol(db, file)
    assert result.exit_code == 0, result.output
    assert "the file has a header but no data rows: no one to assess" in result.output


def test_a_nine_digit_cpr_number_from_excel_gets_a_hint(tmp_path: Path) -> None:
    db = new_ledger(tmp_path / "trial.db")
    frame = pd.DataFrame({
        "CPR-nr": [101901235, 2029112440],  # 0101901235 typed into a number cell
        "Tilmeldt dato": pd.to_datetime(["2026-02-20", "2026-02-21"]), "Uddannelsesniveau": "LVU",
        "Ydelse": "dagpenge", "CV i Min plan": "ja",
    })
    file = tmp_path / "uge10.xlsx"
    frame.to_excel(file, index=False)
    result = enrol(db, file)
    assert (result.exit_code, result.output.strip()) == (2, (
        f"error: {file}, row 2, column 'cpr': not a CPR number (10 digits, optionally DDMMYY-SSSS); it has 9 digits: "
        "leading zero lost by Excel? Format the column as text and export again"
    ))
    assert "101901235" not in result.output


@pytest.mark.parametrize("first", [
    "010190-1235", "101901235", "010190 1235", '"Anders And, 0101901235"', 101901235,
], ids=["cpr", "leading-zero-lost", "with-a-space", "with-a-name", "excel-number"])
def test_a_file_without_a_header_is_refused_without_echoing_its_first_person(tmp_path: Path, first: object) -> None:
    """However the first person's CPR number is written, it is neither read as a column name nor echoed."""
    db = new_ledger(tmp_path / "trial.db")
    if isinstance(first, int):  # an Excel sheet without a header, the number in a numeric cell
        file = tmp_path / "uden-overskrift.xlsx"
        pd.DataFrame([[first, "20-02-2026", "LVU", "dagpenge", "ja"]]).to_excel(file, index=False, header=False)
    else:
        file = tmp_path / "uden-overskrift.csv"
        file.write_text(f"{first};20-02-2026;LVU;dagpenge;ja\n", encoding="utf-8")
    result = enrol(db, file)
    assert (result.exit_code, result.output.strip()) == (
        2, f"error: {file}, row 1: the first row holds a CPR number, not column names; the file needs a header row"
    )


@pytest.mark.parametrize("ragged", [False, True], ids=["read", "ragged-row-after-it"])
def test_a_five_megabyte_field_is_read_or_refused_in_one_line(tmp_path: Path, ragged: bool) -> None:
    """Arrow's 1 MB blocks once ended this in `csv.Error: field larger than field limit` from the slow path."""
    db = new_ledger(tmp_path / "trial.db")
    rows = [r | {"note": "x" * (5 << 20) if i == 0 else "kort"}
            for i, r in enumerate(claimant_rows(20, seed=32, as_of=AS_OF))]
    file = write_claimants(tmp_path / "big.csv", rows)
    if ragged:
        with file.open("a", encoding="utf-8") as handle:
            handle.write("010190-1235,2026-02-20,LVU,dagpenge,ja,humaniora,2200,x,surplus\n")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    result = enrol(db, file)
    if ragged:
        assert (result.exit_code, result.output.strip()) == (
            2, f"error: {file}, row 22: has 9 fields but the header has 8 (ragged row)"
        )
        assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    else:
        assert result.exit_code == 0, result.output
        assert "read 20 rows" in result.output
