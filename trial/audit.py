"""Audit a ledger: the hash chain, and (with the secret) every allocation regenerated from the sequence.

In a two-stage design both stages are regenerated: each cluster's saturation, then each person's arm within it.
"""

from __future__ import annotations

from dataclasses import dataclass

from trial.ledger import Ledger, VerifyResult


@dataclass(frozen=True)
class AuditResult:
    chain: VerifyResult
    allocations_checked: int | None
    allocation_problem: str | None
    clusters_checked: int | None = None

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.allocation_problem is None


def audit(ledger: Ledger, secret: bytes | None) -> AuditResult:
    """Check the chain always, and the allocations when the secret is at hand (after `Ledger.check_secret`)."""
    chain = ledger.verify_chain()
    if not chain.ok or secret is None:
        return AuditResult(chain, None, None)
    clusters, problem = ledger.replay_clusters(secret)
    if problem is not None:
        return AuditResult(chain, 0, problem + " — the cluster draw was altered", clusters)
    checked, problem = ledger.replay_allocations(secret)
    if problem is not None:
        problem += " — the allocation was altered"
    return AuditResult(chain, checked, problem, clusters if ledger.cluster_saturations() is not None else None)
