"""Properties of the allocation sequence: block balance for any arrival order and batch split, 1:1 over secrets."""

from __future__ import annotations

import tempfile
from datetime import date
from itertools import pairwise
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from tests.factory import claimant_rows, write_claimants
from trial.enrol import enrol_file
from trial.ledger import Ledger
from trial.protocol import load_protocol
from trial.randomise import BlockRandomiser

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL_PATH = ROOT / "protocols" / "bc16-jobmatch.toml"
PROTOCOL = load_protocol(PROTOCOL_PATH)
AS_OF = date(2026, 3, 2)
POOL = claimant_rows(90, seed=21, as_of=AS_OF, eligible_share=1.0)
HALF_LARGEST_BLOCK = max(PROTOCOL.randomisation.block_sizes) // 2


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    order=st.permutations(range(len(POOL))),
    cuts=st.lists(st.integers(1, len(POOL) - 1), max_size=4, unique=True),
    secret=st.binary(min_size=16, max_size=32),
)
def test_arms_within_a_stratum_never_differ_by_more_than_half_the_largest_block(
    order: list[int], cuts: list[int], secret: bytes
) -> None:
    rows = [POOL[i] for i in order]
    bounds = [0, *sorted(cuts), len(rows)]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "t.db"
        ledger = Ledger.create(db, PROTOCOL, PROTOCOL_PATH.read_text())
        for k, (lo, hi) in enumerate(pairwise(bounds)):
            batch = write_claimants(Path(tmp) / f"b{k}.csv", rows[lo:hi])
            enrol_file(ledger, batch, secret=secret, as_of=AS_OF)
            # Balance holds after every batch, not just at the end.
            alloc = ledger.allocations()
            diff = alloc.groupby("stratum")["arm"].agg(lambda a: abs((a == "treatment").sum() - (a == "control").sum()))
            assert diff.max() <= HALF_LARGEST_BLOCK
        assert len(ledger.allocations()) == len(POOL)
        ledger.close()


def test_sequence_balance_at_every_position_for_many_secrets() -> None:
    for s in range(50):
        randomiser = BlockRandomiser.for_protocol(PROTOCOL, f"secret-number-{s:04d}".encode())
        gap = 0
        for position in range(200):
            gap += 1 if randomiser.assign("x", position).arm == "treatment" else -1
            assert abs(gap) <= HALF_LARGEST_BLOCK


def test_allocation_is_one_to_one_over_many_secrets() -> None:
    """The first allocation of a stratum (the least constrained one) is a fair coin across secrets."""
    firsts = [
        BlockRandomiser.for_protocol(PROTOCOL, f"another-secret-{s:05d}".encode()).assign("stratum", 0).arm
        for s in range(2000)
    ]
    treated = sum(arm == "treatment" for arm in firsts)
    assert binomtest(treated, len(firsts), 0.5).pvalue > 0.001
    # Block sizes are used in roughly equal proportion (chi-square-free check: each within 25-42%).
    sizes = np.array([
        BlockRandomiser.for_protocol(PROTOCOL, f"size-secret-{s:05d}".encode()).assign("s", 0).block_size
        for s in range(1500)
    ])
    for size in PROTOCOL.randomisation.block_sizes:
        assert 0.25 < (sizes == size).mean() < 0.42
