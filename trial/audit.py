"""Audit a ledger: the hash chain, and (with the secret) every allocation regenerated from the sequence."""

from __future__ import annotations

import json
from dataclasses import dataclass

from trial.ledger import Ledger, VerifyResult
from trial.randomise import BlockRandomiser


@dataclass(frozen=True)
class AuditResult:
    chain: VerifyResult
    allocations_checked: int | None
    allocation_problem: str | None

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.allocation_problem is None


def regenerate_allocations(ledger: Ledger, secret: bytes) -> tuple[int, str | None]:
    """Replay every enrolment in ledger order against the secret's sequence; the first mismatch is named."""
    randomiser = BlockRandomiser.for_protocol(ledger.protocol(), secret)
    positions: dict[str, int] = {}
    checked = 0
    rows = ledger.db.execute(
        "SELECT seq, person_id, arm, stratum, body FROM log WHERE kind = 'enrolment' ORDER BY seq"
    )
    for seq, _person, arm, stratum, body in rows:
        position = positions.get(stratum, 0)
        positions[stratum] = position + 1
        expected = randomiser.assign(stratum, position)
        block = json.loads(body).get("block")
        if expected.arm != arm or expected.block != block:
            return checked, (
                f"row {seq}: arm '{arm}' is not the one the allocation sequence gives ('{expected.arm}') "
                "— wrong secret, or the allocation was altered"
            )
        checked += 1
    return checked, None


def audit(ledger: Ledger, secret: bytes | None) -> AuditResult:
    """Check the chain always, and the allocations when the secret is at hand."""
    chain = ledger.verify_chain()
    if not chain.ok or secret is None:
        return AuditResult(chain, None, None)
    checked, problem = regenerate_allocations(ledger, secret)
    return AuditResult(chain, checked, problem)
