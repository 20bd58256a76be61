"""A corpus of broken spells files through the real `trial analyse`: each is analysed with its problems counted under
data_quality, or refused in one line naming the file (and row and column where there is one); never a traceback."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factory import sequential_trial
from trial.cli import app
from trial.results import AnalysisResult

ROOT = Path(__file__).resolve().parents[1]
BC16 = ROOT / "protocols" / "bc16-jobmatch.toml"
AS_OF = "2025-07-06"
NO_SECRET = {"TRIAL_SECRET": None, "TRIAL_SECRET_FILE": None}
BIG = "x" * 5_000_000  # a 5 MB field
runner = CliRunner()

Rows = list[list[str]]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """80 people randomised over six months, and their spells (one each)."""
    folder = tmp_path_factory.mktemp("corpus")
    paths = sequential_trial(folder, seed=3, n=80)
    with paths["spells"].open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return {"folder": folder, "allocations": paths["allocations"], "header": rows[0], "body": rows[1:]}


def _csv(path: Path, rows: Rows, *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def _analyse(base: dict, spells: Path, *extra: str, allocations: Path | None = None):  # type: ignore[no-untyped-def]
    out = spells.with_suffix(".json")
    args = ["analyse", "--protocol", str(BC16), "--allocations", str(allocations or base["allocations"]),
            "--outcomes", str(spells), "--as-of", AS_OF, "--bootstrap", "0", "--json", str(out), *extra]  # fmt: skip
    result = runner.invoke(app, args, env=NO_SECRET)
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result, out


def _danish(day: str) -> str:
    return f"{day[8:10]}-{day[5:7]}-{day[:4]}" if day else ""


DANISH_EXITS = {"employment": "Beskæftigelse", "education": "uddannelse", "other": "andet"}

# name → (the spells file from the base's header and rows, the one line it is refused with; {f} is the file)
REFUSED: dict[str, tuple[Callable[[list[str], Rows, Path], object], str]] = {
    "empty": (lambda h, b, f: f.write_bytes(b""), "error: {f}: file is empty"),
    "header_only": (lambda h, b, f: _csv(f, [h]),
                    "error: {f}: holds no spells (a header without rows?): there is nothing to analyse"),
    "binary": (lambda h, b, f: f.write_bytes(bytes(range(256)) * 20),
               "error: {f}, row 1: contains a NUL byte (binary file, or UTF-16 text; save as UTF-8 CSV)"),
    "nul_bytes": (lambda h, b, f: f.write_bytes(b"person_id,start,end,exit\np0001,2025-01-2\x001,,\n"),
                  "error: {f}, row 2: contains a NUL byte (binary file, or UTF-16 text; save as UTF-8 CSV)"),
    "ragged_rows": (lambda h, b, f: _csv(f, [h, *b[:3], [*b[3], "extra"], *b[4:]]),
                    "error: {f}, row 5: has 5 fields but the header has 4 (ragged row)"),
    "garbage_dates": (lambda h, b, f: _csv(f, [h, *b[:3], [b[3][0], "hello", *b[3][2:]], *b[4:]]),
                      "error: {f}, row 5, column 'start': not a date (use yyyy-mm-dd or dd-mm-yyyy)"),
    "impossible_dates": (lambda h, b, f: _csv(f, [h, *b[:6], [b[6][0], b[6][1], "2025-02-30", "other"], *b[7:]])
                        , "error: {f}, row 8, column 'end': not a valid calendar date"),
    "no_known_exit_code": (
        lambda h, b, f: _csv(f, [h, *([*r[:3], {"employment": "01", "education": "02", "other": "03"}[r[3]]]
                                      for r in b)]),
        "error: {f}, column 'exit': no exit code matches the analysis' exits (employment, education, other); codes "
        "found: '01' (59), '02' (11), '03' (10); map them to exits in the protocol's outcomes.exit_codes",
    ),
    "nobody_matches": (lambda h, b, f: _csv(f, [h, *(["x" + r[0], *r[1:]] for r in b)]),
                       "error: {f}: 0 of 80 spells match a participant: wrong secret or wrong file?"),
    "almost_nobody_matches": (
        lambda h, b, f: _csv(f, [h, b[0], *(["x" + r[0], *r[1:]] for r in b[1:])]),
        "error: {f}: 1 of 80 spells match a participant (1 of 80 participants randomised by the data cut have a "
        "spell): wrong secret or wrong file?",
    ),
    "cpr_without_secret": (
        lambda h, b, f: _csv(f, [["cpr", "start", "end", "exit"], ["0101901234", "2025-01-02", "", ""]]),
        "error: no trial secret: give --secret-file, $TRIAL_SECRET_FILE (a path) or $TRIAL_SECRET (the secret "
        "itself) (trial keygen FILE makes one for a new trial)",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_broken_spells_file_is_refused_in_one_line(base: dict, tmp_path: Path, name: str) -> None:
    write, line = REFUSED[name]
    spells = tmp_path / f"{name}.csv"
    write(base["header"], base["body"], spells)
    result, out = _analyse(base, spells)
    assert result.exit_code == 2
    assert result.output == line.format(f=spells) + "\n"
    assert not out.exists()


def test_a_data_cut_before_the_first_randomisation_is_refused_in_one_line(base: dict, tmp_path: Path) -> None:
    spells = _csv(tmp_path / "spells.csv", [base["header"], *base["body"]])
    args = ["analyse", "--protocol", str(BC16), "--allocations", str(base["allocations"]), "--outcomes", str(spells),
            "--as-of", "2024-12-01"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.output == ("error: nobody is randomised by the data cut 2024-12-01: the first randomisation is "
                             "2025-01-06; is the data cut before the trial started?\n")


def _with_exit(rows: Rows, exit_of: Callable[[int, list[str]], str]) -> Rows:
    return [[*r[:3], exit_of(i, r)] for i, r in enumerate(rows)]


# name → (the spells file, the data-quality counts it must show beside the clean file's, notes it must carry)
COUNTED: dict[str, tuple[Callable[[list[str], Rows, Path], object], dict[str, int], list[str]]] = {
    "latin1_semicolons_danish": (
        lambda h, b, f: _csv(f, [h, *([r[0], _danish(r[1]), _danish(r[2]), DANISH_EXITS[r[3]]] for r in b)],
                             encoding="latin-1", delimiter=";"),
        {}, [],
    ),
    "field_of_5_mb": (lambda h, b, f: _csv(f, [[*h, "note"], *([*r, BIG if i == 3 else ""] for i, r in enumerate(b))]),
                      {}, []),
    "exit_of_5_mb": (
        lambda h, b, f: _csv(f, [h, *_with_exit(b, lambda i, r: BIG if i == 3 else r[3])]),
        {"unknown_exit": 1, "index_spell_ended_without_known_exit": 1},
        ["counted as unknown (censored): 'xxxxxxxxxxxxxxxxxxxxxxx…' (1)"],
    ),
    "future_dates": (
        lambda h, b, f: _csv(f, [h, *b, [b[0][0], "2025-09-01", "", ""], [b[1][0], "2031-01-01", "2031-02-01", "job"]]),
        {"spell_starts_after_data_cut": 2}, [],
    ),
    "end_before_start": (lambda h, b, f: _csv(f, [h, *b, [b[2][0], "2025-03-01", "2025-02-01", "employment"]]),
                         {"spell_ends_before_it_starts": 1}, []),
    "some_unknown_exit_codes": (
        lambda h, b, f: _csv(f, [h, *_with_exit(b, lambda i, r: "sygdomsdagpenge" if i % 10 == 0 else r[3])]),
        {"unknown_exit": 6, "index_spell_ended_without_known_exit": 6},
        ["counted as unknown (censored): 'sygdomsdagpenge' (6)"],
    ),
    "duplicate_spells": (lambda h, b, f: _csv(f, [h, *b, *b[:5]]), {"overlapping_spells": 5}, []),
    "overlapping_spells": (lambda h, b, f: _csv(f, [h, *b, *([r[0], r[1], "", ""] for r in b[5:8])]),
                           {"overlapping_spells": 3}, []),
    "people_not_allocated": (
        lambda h, b, f: _csv(f, [h, *b, *([f"nobody{i}", "2025-02-01", "", ""] for i in range(6))]),
        {"spell_of_person_not_allocated": 6}, [],
    ),
    "no_exit_column": (
        lambda h, b, f: _csv(f, [r[:3] for r in [h, *b]]),
        {"exit_missing_for_ended_spell": 55, "index_spell_ended_without_known_exit": 55},
        ["the spells carry no known exit codes", "no exit to employment is observed in arm 'control'"],
    ),
    "every_exit_unknown": (
        lambda h, b, f: _csv(f, [h, *_with_exit(b, lambda i, r: "ukendt" if r[2] else "")]),
        {"exit_missing_for_ended_spell": 55, "index_spell_ended_without_known_exit": 55},
        ["the spells carry no known exit codes", "the hazard ratios and the proportional-hazards test cannot be "
                                                 "estimated"],
    ),
    "no_job_in_either_arm": (
        lambda h, b, f: _csv(f, [h, *_with_exit(b, lambda i, r: "uddannelse" if r[3] else "")]),
        {}, ["no exit to employment is observed in arm 'control'", "no events to compare: the log-rank tests"],
    ),
}


@pytest.fixture(scope="module")
def clean(base: dict) -> dict[str, int]:
    """The data-quality counts of the base file itself (spells ending after the data cut are open there)."""
    spells = _csv(Path(str(base["folder"])) / "clean.csv", [base["header"], *base["body"]])
    result, out = _analyse(base, spells)
    assert result.exit_code == 0, result.output
    return AnalysisResult.load(out).data_quality


@pytest.mark.parametrize("name", sorted(COUNTED))
def test_a_messy_spells_file_is_analysed_with_its_problems_counted(
    base: dict, clean: dict[str, int], tmp_path: Path, name: str
) -> None:
    write, counted, notes = COUNTED[name]
    spells = tmp_path / f"{name}.csv"
    write(base["header"], base["body"], spells)
    result, out = _analyse(base, spells)
    assert result.exit_code == 0, result.output
    analysis = AnalysisResult.load(out)
    expected = {reason: n + counted.get(reason, 0) for reason, n in clean.items()}
    assert {k: v for k, v in analysis.data_quality.items() if k in expected} == expected
    # What can be estimated is: days on benefit count every end of the index spell.
    assert analysis.primary is not None and analysis.primary.estimate is not None
    for note in notes:
        assert any(note in line for line in analysis.notes), (note, analysis.notes)
    assert len(json.dumps(analysis.notes)) < 5_000


@pytest.mark.parametrize("name", ["no_exit_column", "no_job_in_either_arm"])
def test_a_report_of_what_can_be_estimated_renders_in_both_languages_and_blind(
    base: dict, tmp_path: Path, name: str
) -> None:
    spells = tmp_path / f"{name}.csv"
    COUNTED[name][0](base["header"], base["body"], spells)
    protocol = tmp_path / "protocol.toml"
    protocol.write_text(BC16.read_text(encoding="utf-8").replace("min_cell = 5", 'min_cell = 5\nblind_seed = "x"'),
                        encoding="utf-8")
    source = ["--protocol", str(protocol), "--allocations", str(base["allocations"]), "--outcomes", str(spells),
              "--as-of", AS_OF, "--bootstrap", "0"]  # fmt: skip
    for extra in ([], ["--lang", "en"], ["--blind"]):
        page = tmp_path / "r.html"
        result = runner.invoke(app, ["report", *source, "--out", str(page), *extra])
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output and "warning" not in result.output
        assert 'id="quality"' in page.read_text(encoding="utf-8")


def test_a_tiny_trial_reports_what_it_can(base: dict, tmp_path: Path) -> None:
    """Three people an arm: estimates where they exist, hidden small cells, notes for the rest; no traceback."""
    with Path(str(base["allocations"])).open(encoding="utf-8") as handle:
        people = list(csv.reader(handle))
    kept, seen = [people[0]], {"control": 0, "treatment": 0}
    for row in people[1:]:
        if seen[row[1]] < 3:
            seen[row[1]] += 1
            kept.append(row)
    ids = {row[0] for row in kept[1:]}
    allocations = _csv(tmp_path / "allocations.csv", kept)
    spells = _csv(tmp_path / "spells.csv", [base["header"], *(r for r in base["body"] if r[0] in ids)])
    result, out = _analyse(base, spells, allocations=allocations)
    assert result.exit_code == 0, result.output
    assert AnalysisResult.load(out).counts.analysed_benefit == {"control": 3, "treatment": 3, "total": 6}
    page = tmp_path / "tiny.html"
    report = runner.invoke(app, ["report", "--protocol", str(BC16), "--allocations", str(allocations),
                                 "--outcomes", str(spells), "--as-of", AS_OF, "--out", str(page)])  # fmt: skip
    assert report.exit_code == 0, report.output
    assert "Traceback" not in report.output


def test_a_library_warning_is_one_line_without_its_source_line() -> None:
    """Python prints a warning with the source line that raised it; the CLI prints the message only."""
    from trial.cli._app import _warning_line

    line = _warning_line(UserWarning("rank-deficient\n design for 010190-1234"), UserWarning, "ols.py", 7, "x = 1")
    assert line == "warning: UserWarning: rank-deficient design for <number>\n"


def test_a_subgroup_without_jobs_in_an_arm_is_said_in_notes(base: dict, tmp_path: Path) -> None:
    """No treated woman leaves for a job: the women's hazard ratio cannot be estimated and the notes say why; the
    men's and the days saved by sex are still given."""
    with Path(str(base["allocations"])).open(encoding="utf-8") as handle:
        people = list(csv.DictReader(handle))
    women = {p["person_id"] for p in people if p["sex"] == "K" and p["arm"] == "treatment"}
    spells = _csv(tmp_path / "spells.csv", [base["header"], *_with_exit(
        base["body"], lambda i, r: "uddannelse" if r[0] in women and r[3] == "employment" else r[3])])
    result, out = _analyse(base, spells)
    assert result.exit_code == 0, result.output
    analysis = AnalysisResult.load(out)
    assert "subgroup 'sex' = 'K': no exit to a job in an arm; its hazard ratio cannot be estimated" in analysis.notes
    by_level = {s.level: s for s in analysis.subgroups if s.variable == "sex"}
    assert by_level["K"].hazard_ratio.estimate is None and by_level["M"].hazard_ratio.estimate is not None
    assert by_level["K"].days_saved.estimate is not None and analysis.subgroup_interactions_days["sex"].p is not None
