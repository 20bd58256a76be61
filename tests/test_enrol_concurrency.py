"""Several enrolling processes on one ledger, and a process killed mid-transaction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from tests.factory import claimant_rows, write_claimants
from trial.ledger import Ledger
from trial.protocol import load_protocol

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "protocols" / "bc16-jobmatch.toml"
TRIAL = Path(sys.executable).parent / "trial"
SECRET = "concurrency-secret-0123456789"
AS_OF = date(2026, 3, 2)


def _env() -> dict[str, str]:
    return {**os.environ, "TRIAL_SECRET": SECRET}


def _new_ledger(path: Path) -> Path:
    Ledger.create(path, load_protocol(PROTOCOL), PROTOCOL.read_text()).close()
    return path


def test_four_concurrent_processes_enrol_each_person_once_and_keep_balance(tmp_path: Path) -> None:
    db = _new_ledger(tmp_path / "t.db")
    everyone = claimant_rows(1600, seed=31, as_of=AS_OF, eligible_share=1.0)
    files = []
    for k in range(4):
        # Overlapping files: each shares a quarter of its people with the next.
        part = everyone[k * 300 : k * 300 + 400]
        files.append(write_claimants(tmp_path / f"part{k}.csv", part))
    procs = [
        subprocess.Popen(
            [str(TRIAL), "enrol", str(f), "--db", str(db), "--as-of", AS_OF.isoformat()],
            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for f in files
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    with Ledger.open(db) as led:
        alloc = led.allocations()
        assert led.verify_chain().ok
    expected = {r["cpr"] for r in everyone[: 3 * 300 + 400]}
    assert len(alloc) == len(expected) == alloc["person_id"].nunique()
    gaps = alloc.groupby("stratum")["arm"].agg(lambda a: abs((a == "treatment").sum() - (a == "control").sum()))
    assert gaps.max() <= 3
    verify = subprocess.run([str(TRIAL), "verify", "--db", str(db)], env=_env(), capture_output=True, text=True)
    assert verify.returncode == 0 and f"{len(alloc)} match" in verify.stdout


def test_kill_minus_nine_mid_transaction_leaves_the_ledger_as_before(tmp_path: Path) -> None:
    db = _new_ledger(tmp_path / "t.db")
    small = write_claimants(tmp_path / "first.csv", claimant_rows(50, seed=41, as_of=AS_OF))
    assert subprocess.run([str(TRIAL), "enrol", str(small), "--db", str(db), "--as-of", AS_OF.isoformat()],
                          env=_env(), capture_output=True).returncode == 0
    with Ledger.open(db) as led:
        rows_before, head_before = led.count(), led.head_hash()
    big = write_claimants(tmp_path / "big.csv", claimant_rows(40_000, seed=42, as_of=AS_OF, start=100_000))
    journal = Path(str(db) + "-journal")
    proc = subprocess.Popen(
        [str(TRIAL), "enrol", str(big), "--db", str(db), "--as-of", AS_OF.isoformat()],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    # The rollback journal exists only while a write transaction is open: kill exactly then.
    deadline = time.monotonic() + 120
    while not journal.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    assert proc.poll() is None, "enrolment finished before it could be killed mid-transaction"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert journal.exists()  # the interrupted transaction left its journal behind
    with Ledger.open(db) as led:  # opening rolls the hot journal back
        assert (led.count(), led.head_hash()) == (rows_before, head_before)
        assert led.verify_chain().ok
