"""Stratified permuted blocks whose sizes and orders are derived from the trial secret.

Block b of stratum s is fully determined by HMAC-SHA256(allocation key, "s|b|…"): its size is picked from the
protocol's block sizes and its order by a Fisher-Yates shuffle driven by further HMAC values. Without the
secret the next arm cannot be predicted; with it an auditor regenerates every allocation (`trial verify`).

In a two-stage design a stratum lies within one cluster, and its blocks hold the cluster's saturation p/q instead of
the arms' ratio: block size b of the protocol becomes q·b/(sum of ratios) people, p/q of them treated. A cluster of
saturation 0 puts everyone in control, of saturation 1 everyone in treatment (blocks of one, nothing drawn).
"""

from __future__ import annotations

import hmac
from bisect import bisect_right
from dataclasses import dataclass, field
from fractions import Fraction

from trial.protocol import Protocol
from trial.secret import derive_key


@dataclass(frozen=True)
class Assignment:
    arm: str
    block: int
    block_size: int
    position: int


@dataclass
class BlockRandomiser:
    """The allocation sequence of every stratum, generated block by block on demand."""

    key: bytes
    arms: list[tuple[str, int]]
    block_sizes: list[int]
    _blocks: dict[str, list[list[str]]] = field(default_factory=dict)
    _starts: dict[str, list[int]] = field(default_factory=dict)
    # The arms by role (treatment, control), for the blocks of a cluster's saturation.
    roles: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_protocol(cls, protocol: Protocol, secret: bytes) -> BlockRandomiser:
        key = derive_key(secret, f"allocation/{protocol.id}")
        roles = {"treatment": protocol.treatment_arm, "control": protocol.control_arm}
        return cls(key, [(a.name, a.ratio) for a in protocol.arms], list(protocol.randomisation.block_sizes),
                   roles=roles)

    def _draw(self, stratum: str, index: int, what: str) -> int:
        message = f"{stratum}\x1f{index}\x1f{what}".encode()
        return int.from_bytes(hmac.digest(self.key, message, "sha256"), "big")

    def block(self, stratum: str, index: int, saturation: Fraction | None = None) -> list[str]:
        """The arms of block `index` in stratum `stratum`, in allocation order (in a cluster's `saturation`)."""
        if saturation is not None and saturation in (0, 1):
            return [self.roles["treatment" if saturation == 1 else "control"]]
        size = self.block_sizes[self._draw(stratum, index, "size") % len(self.block_sizes)]
        total = sum(ratio for _, ratio in self.arms)
        if saturation is None:
            order = [name for name, ratio in self.arms for _ in range(size * ratio // total)]
        else:
            size = size * saturation.denominator // total
            treated = size * saturation.numerator // saturation.denominator
            counts = {self.roles["treatment"]: treated, self.roles["control"]: size - treated}
            order = [name for name, _ in self.arms for _ in range(counts[name])]
        for i in range(len(order) - 1, 0, -1):
            j = self._draw(stratum, index, f"swap{i}") % (i + 1)
            order[i], order[j] = order[j], order[i]
        return order

    def assign(self, stratum: str, position: int, saturation: Fraction | None = None) -> Assignment:
        """The arm of the person at 0-based `position` of the stratum's sequence (in a cluster's `saturation`).

        A stratum of a two-stage design lies within one cluster, so its saturation never changes.
        """
        blocks = self._blocks.setdefault(stratum, [])
        starts = self._starts.setdefault(stratum, [])
        while not starts or position >= starts[-1] + len(blocks[-1]):
            starts.append(starts[-1] + len(blocks[-1]) if starts else 0)
            blocks.append(self.block(stratum, len(blocks), saturation))
        index = bisect_right(starts, position) - 1
        return Assignment(blocks[index][position - starts[index]], index, len(blocks[index]), position)
