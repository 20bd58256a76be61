"""Reading CVs, postings and hires: typed frames, coordinates from postcodes, located one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from matcher.inputs import read_cvs, read_hires, read_postings
from trial.cli import app
from trial.errors import InputError

POSTING_HEADER = ("posting_id,source,title,text,employer,postcode,occupation_code,requires_qualifications,"
                  "published_on,deadline\n")
CV_HEADER = "cpr,cv_text,desired_titles,education_level,education_field,experience_years,postcode\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_postings_are_typed_and_located(tmp_path: Path) -> None:
    f = _write(tmp_path / "p.csv", POSTING_HEADER
               + "P1,Jobnet,Jurist,Tekst,Firma,1000,2611,ja,2025-01-02,\n"
               + "P2,jobindex,Økonom,Tekst,Firma,8000,2631,nej,02-01-2025,2025-02-01\n")
    frame = read_postings(f)
    # 1000 is not listed by GeoNames: it takes the nearest listed postcode of central Copenhagen.
    assert (frame["latitude"].iloc[0], frame["longitude"].iloc[0]) == (55.6759, 12.5655)
    assert frame["source"].tolist() == ["jobnet", "jobindex"]
    assert frame["requires_qualifications"].tolist() == [True, False]
    # No deadline: open for the usual 60 days.
    assert (frame["deadline"].iloc[0] - frame["published_on"].iloc[0]).days == 60
    # Copenhagen is about 150 km from Aarhus as the crow flies (GeoNames centroids).
    from matcher.geo import haversine_km

    km = haversine_km(frame["latitude"].iloc[0], frame["longitude"].iloc[0], frame["latitude"].iloc[1],
                      frame["longitude"].iloc[1])
    assert 140 < km < 165


@pytest.mark.parametrize(("row", "column", "cell"), [
    ("P1,jobnet,Jurist,Tekst,Firma,1000,26110,ja,2025-01-02,2025-02-01", "occupation_code", "26110"),
    ("P1,jobnet,Jurist,Tekst,Firma,1000,2611,måske,2025-01-02,2025-02-01", "requires_qualifications", "måske"),
    ("P1,jobnet,Jurist,Tekst,Firma,1000,2611,ja,2025-13-02,2025-02-01", "published_on", "2025-13-02"),
    ("P1,jobnet,Jurist,Tekst,Firma,1000,2611,ja,2025-03-02,2025-02-01", "deadline", "2025-02-01"),
    ("P1,jobnet,Jurist,Tekst,Firma,KBH,2611,ja,2025-01-02,2025-02-01", "postcode", "KBH"),
])
def test_bad_posting_cells_are_named_by_row_and_column(tmp_path: Path, row: str, column: str, cell: str) -> None:
    good = "P0,jobnet,Jurist,Tekst,Firma,1000,2611,ja,2025-01-02,2025-02-01\n"
    f = _write(tmp_path / "p.csv", POSTING_HEADER + good + row + "\n")
    with pytest.raises(InputError) as caught:
        read_postings(f)
    assert caught.value.row == 3 and caught.value.column == column


def test_explicit_coordinates_win_over_the_postcode(tmp_path: Path) -> None:
    f = _write(tmp_path / "cv.csv", "person_id,cv_text,desired_titles,education_level,education_field,"
               "experience_years,postcode,latitude,longitude\n"
               "a1,Tekst,jurist; advokat ,LVU,Samfundsvidenskab,\"3,5\",1000,56.1,10.2\n"
               "a2,Tekst,økonom,LVU,samfundsvidenskab,,0001,,\n")
    frame = read_cvs(f)
    assert frame["desired_titles"].iloc[0] == ["jurist", "advokat"]
    assert frame["education_field"].iloc[0] == "samfundsvidenskab"
    assert frame["experience_years"].iloc[0] == pytest.approx(3.5) and np.isnan(frame["experience_years"].iloc[1])
    assert (frame["latitude"].iloc[0], frame["longitude"].iloc[0]) == (56.1, 10.2)
    assert np.isnan(frame["latitude"].iloc[1])  # 0001 is no Danish postcode: distance unknown, not invented


def test_cpr_files_are_pseudonymised_and_cprs_never_in_errors(tmp_path: Path) -> None:
    f = _write(tmp_path / "cv.csv", CV_HEADER + "010190-1234,Tekst,jurist,LVU,jura,2,1000\n"
               + "020290-2345,,jurist,LVU,jura,2,1000\n")
    with pytest.raises(InputError) as caught:
        read_cvs(f, secret=b"0123456789abcdef0123")
    assert "row 3" in str(caught.value) and "cv_text" in str(caught.value)
    assert "020290" not in str(caught.value)
    hires = _write(tmp_path / "h.csv", "cpr,posting_id,hired_on\n010190-1234,P1,2025-01-01\n")
    frame = read_hires(hires, secret=b"0123456789abcdef0123")
    assert frame["person_id"].str.fullmatch(r"[0-9a-f]{32}").all()
    assert "0101901234" not in frame.to_csv()


def test_cli_without_secret_for_a_cpr_file_says_so_in_one_line(tmp_path: Path) -> None:
    cvs = _write(tmp_path / "cv.csv", CV_HEADER + "010190-1234,Tekst,jurist,LVU,jura,2,1000\n")
    hires = _write(tmp_path / "h.csv", "cpr,posting_id,hired_on\n010190-1234,P1,2025-01-01\n")
    postings = _write(tmp_path / "p.csv", POSTING_HEADER + "P1,jobnet,Jurist,Tekst,Firma,1000,2611,ja,2025-01-02,\n")
    result = CliRunner().invoke(app, ["match", "train", "--cvs", str(cvs), "--postings", str(postings), "--hires",
                                      str(hires), "--out", str(tmp_path / "m")], env={"TRIAL_SECRET": None})
    assert result.exit_code == 2
    assert result.output == ("error: no trial secret: give --secret-file, $TRIAL_SECRET_FILE (a path) or $TRIAL_SECRET "
                             "(the secret itself) (trial keygen FILE makes one for a new trial)\n")


def test_missing_column_is_named(tmp_path: Path) -> None:
    hires = _write(tmp_path / "h.csv", "person_id,posting_id\na,P1\n")
    result = CliRunner().invoke(app, ["match", "train", "--cvs", str(hires), "--postings", str(hires),
                                      "--hires", str(hires), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert result.output == (f"error: {hires}, row 1: missing columns cv_text, desired_titles, education_level, "
                             "education_field, experience_years, postcode; columns found: person_id, posting_id\n")


def test_a_consultant_pseudonym_is_carried_and_a_cpr_number_refused(tmp_path: Path) -> None:
    header = CV_HEADER.replace("cpr", "person_id").replace("\n", ",consultant_id\n")
    ok = _write(tmp_path / "ok.csv", header + "a1,Tekst,Jurist,LVU,jura,2,2100,JK-17\n"
                "a2,Tekst,Jurist,LVU,jura,2,2100,\n")
    assert read_cvs(ok)["consultant_id"].tolist() == ["JK-17", ""]
    bad = _write(tmp_path / "bad.csv", header + "a1,Tekst,Jurist,LVU,jura,2,2100,JK-17\n"
                 "a2,Tekst,Jurist,LVU,jura,2,2100,010190-1234\n")
    with pytest.raises(InputError, match="consultant pseudonym") as caught:
        read_cvs(bad)
    assert caught.value.row == 3 and caught.value.column == "consultant_id"
    assert "010190" not in str(caught.value)
