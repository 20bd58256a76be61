"""Same seed, same files; the arms the spells assume are the arms `trial enrol` gives; the effect is recoverable."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from trial.demo import analyse_trial, init_and_enrol
from trial.ledger import Ledger
from trial.simulate import default_protocol_path, simulate


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    base = tmp_path_factory.mktemp("twins")
    options = {"claimants": 1500, "postings": 600, "effect_days": 40.0, "uptake": 1.0, "seed": 11}
    truth = simulate(base / "a", **options)
    simulate(base / "b", **options)
    return base / "a", base / "b", truth


def test_same_seed_gives_byte_identical_files(twins: tuple[Path, Path, dict]) -> None:
    a, b, _ = twins
    files_a, files_b = _files(a), _files(b)
    assert len(files_a) >= 55  # 52 weekly extracts, spells, meetings, truth, secret (and the job market files)
    assert files_a.keys() == files_b.keys()
    different = [name for name in files_a if files_a[name] != files_b[name]]
    assert different == []


def test_another_seed_gives_other_people(twins: tuple[Path, Path, dict], tmp_path: Path) -> None:
    a, _, _ = twins
    truth = simulate(tmp_path / "c", claimants=1500, postings=0, seed=12, job_market=False)
    assert truth["postings"] == 0 and not (tmp_path / "c" / "postings.csv").exists()
    assert (a / "secret.key").read_bytes() != (tmp_path / "c" / "secret.key").read_bytes()
    name = sorted((a / "claimants").iterdir())[0].name
    assert (a / "claimants" / name).read_bytes() != (tmp_path / "c" / "claimants" / name).read_bytes()


def test_enrolling_the_files_reproduces_the_arms_and_the_effect_is_recovered(
    twins: tuple[Path, Path, dict], tmp_path: Path
) -> None:
    a, _, truth = twins
    db = tmp_path / "trial.db"
    last = max(truth["data_cut"], truth["last_extract"])
    totals = init_and_enrol(a, db, date.fromisoformat(truth["last_extract"]), default_protocol_path())
    assert totals["enrolled"] == truth["arms"]
    with Ledger.open(db) as ledger:
        assert ledger.verify_chain().ok
    result = analyse_trial(a, db, date.fromisoformat(last), bootstrap=0)
    days = result.effects.days_saved.model_dump()
    # A large effect on everyone who met (all of the treatment arm): the estimate must find it, near the truth.
    assert truth["itt_days_saved"] > 20
    assert abs(days["estimate"] - truth["itt_days_saved"]) < 4 * days["se"]
    assert days["ci"][0] > 0
