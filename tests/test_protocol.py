"""Protocol files: validated on load with one line naming the key, and fingerprinted by content, not layout."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trial.cli import app
from trial.protocol import load_protocol

ROOT = Path(__file__).resolve().parents[1]
BC16 = ROOT / "protocols" / "bc16-jobmatch.toml"
runner = CliRunner()


def check(path: Path):
    return runner.invoke(app, ["protocol", "check", str(path)])


def test_bc16_protocol_states_the_trial_of_the_brief() -> None:
    p = load_protocol(BC16)
    assert p.eligibility.education_level == ["LVU"] and p.eligibility.benefit == ["dagpenge"]
    assert p.eligibility.has_cv is True and p.eligibility.max_days_registered == 28
    assert (p.treatment_arm, p.control_arm) == ("treatment", "control")
    assert [a.ratio for a in p.arms] == [1, 1]
    assert p.randomisation.block_sizes == [2, 4, 6]
    assert p.randomisation.strata == ["sex", "age_band", "education_field"]
    assert p.outcomes.event_exits == ["employment"] and p.outcomes.horizon_days == 182
    assert p.analysis.alpha == 0.05 and p.analysis.covariates == p.randomisation.strata
    assert (p.report.language, p.report.min_cell) == ("da", 5)
    groups = {g.id: g for g in p.finance.target_groups}
    assert sum(c.spells_per_year * c.daily_cost for c in groups["lvu_under_30"].components) == 2_484_000
    assert sum(c.spells_per_year * c.daily_cost for c in groups["all_dagpenge_kontanthjaelp"].components) == 14_560_000
    assert p.finance.investment == 1_900_000


def test_check_prints_summary_and_fingerprint() -> None:
    result = check(BC16)
    assert result.exit_code == 0
    fingerprint = load_protocol(BC16).fingerprint
    assert f"fingerprint: {fingerprint}" in result.output
    assert "permuted blocks of [2, 4, 6]" in result.output
    # The fingerprint is the SHA-256 of the canonical form.
    assert fingerprint == hashlib.sha256(load_protocol(BC16).canonical().encode()).hexdigest()


def test_fingerprint_ignores_layout_but_not_content(tmp_path: Path) -> None:
    text = BC16.read_text(encoding="utf-8")
    relaid = tmp_path / "relaid.toml"
    relaid.write_text("# a comment\n" + text.replace(" = ", "   =   "), encoding="utf-8")
    assert load_protocol(relaid).fingerprint == load_protocol(BC16).fingerprint
    changed = tmp_path / "changed.toml"
    changed.write_text(text.replace("max_days_registered = 28", "max_days_registered = 27"), encoding="utf-8")
    assert load_protocol(changed).fingerprint != load_protocol(BC16).fingerprint


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace('version = "1.1"', 'version = "1.1"\ncolour = "blue"'), "unknown key 'colour'"),
        (lambda t: t.replace("horizon_days = 182", "horizon_dayz = 182"), "unknown key 'outcomes.horizon_dayz'"),
        (lambda t: t.replace("horizon_days = 182", 'horizon_days = "182"'),
         "key 'outcomes.horizon_days': Input should be a valid integer (got '182')"),
        (lambda t: t.replace("alpha = 0.05", "alpha = 5"),
         "key 'analysis.alpha': Input should be less than 1 (got 5)"),
        (lambda t: t.replace('title = "Automatisk', 'titel = "Automatisk'), "unknown key 'titel'"),
        (lambda t: t.replace('role = "control"', 'role = "treatment"'),
         "arms: exactly one arm with role 'treatment' and one with role 'control'"),
        (lambda t: t.replace("block_sizes = [2, 4, 6]", "block_sizes = [3]"),
         "randomisation.block_sizes: [3] is not a multiple of the allocation ratio sum 2"),
        (lambda t: t.replace("[eligibility]", "[eligibility\n"), "not valid TOML: "),
        # Strata, covariates and subgroups go into the ledger and the reports: never a CPR number or a birth date.
        (lambda t: t.replace('covariates = ["sex"', 'covariates = ["cpr", "sex"'),
         "analysis.covariates: ['cpr'] identifies a person and may never be stored or reported"),
        (lambda t: t.replace('strata = ["sex"', 'strata = ["Birth_Date", "sex"'),
         "randomisation.strata: ['birth_date'] identifies a person and may never be stored or reported"),
        (lambda t: t.replace('subgroups = ["sex"', 'subgroups = ["person_id", "sex"'),
         "analysis.subgroups: ['person_id'] identifies a person and may never be stored or reported"),
    ],
)
def test_invalid_protocol_gives_one_line_naming_the_key(tmp_path: Path, edit, expected: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(edit(BC16.read_text(encoding="utf-8")), encoding="utf-8")
    result = check(bad)
    assert result.exit_code == 2
    if expected.endswith(": "):  # the TOML parser's own words follow
        assert result.output.startswith(f"error: {bad}: {expected}") and result.output.count("\n") == 1
    else:
        assert result.output == f"error: {bad}: {expected}\n"


def test_missing_field_is_named(tmp_path: Path) -> None:
    data = tomllib.loads(BC16.read_text(encoding="utf-8"))
    lines = [line for line in BC16.read_text(encoding="utf-8").splitlines() if not line.startswith("version")]
    assert "version" in data
    bad = tmp_path / "no-version.toml"
    bad.write_text("\n".join(lines), encoding="utf-8")
    result = check(bad)
    assert result.exit_code == 2 and result.output == f"error: {bad}: missing field 'version'\n"


def test_check_prints_each_planned_look_and_what_it_needs(tmp_path: Path) -> None:
    """Before enrolment a designer sees the boundaries and, with planned events or a planned final SE, the events
    and the SE each look needs and the smallest estimate that crosses it."""
    lines = check(BC16).output.splitlines()
    assert "  primary:       benefit_days_saved_adjusted; each look decides on it, information by calendar" in lines
    assert "  looks:         6 months: information 0.50, |z| ≥ 2.963 (two-sided p ≤ 0.0031)" in lines
    assert "                 12 months: information 1.00, |z| ≥ 1.969 (two-sided p ≤ 0.0490)" in lines
    assert "  registration:  not registered" in lines
    text = BC16.read_text(encoding="utf-8").replace(
        "adjust_for_strata = true", 'adjust_for_strata = true\ninformation = "events"\nplanned_events = 1500\n'
        "planned_final_se = 2.0"
    ).replace('owner = "', 'registration = "ISRCTN00000000"\nowner = "')
    planned = tmp_path / "planned.toml"
    planned.write_text(text, encoding="utf-8")
    lines = check(planned).output.splitlines()
    assert ("  looks:         6 months: information 0.50, |z| ≥ 2.963 (two-sided p ≤ 0.0031), needs 750 events, "
            "SE 2.83: crosses if the estimate exceeds 8.38") in lines
    assert "  registration:  ISRCTN00000000" in lines
