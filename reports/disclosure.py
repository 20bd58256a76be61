"""Statistical disclosure control for the report: hide small cells and the cells that would reveal them.

A count of 1 to min_cell - 1 people is never shown (the template prints "<min_cell"), nor any percentage or
estimate resting on a group smaller than min_cell; when a hidden cell could be recovered by subtraction from a
total shown beside it, a complementary cell is hidden as well. A count of zero names nobody, so it is shown
(as in Danmarks Statistik's tables) and never forces a complementary suppression.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Hidden:
    """A suppressed cell; templates never see the value.

    A primary cell (a small count) shows as "<min_cell"; a complementary cell, hidden only so that a small one
    cannot be worked out, shows as the hidden mark, since "<min_cell" would misstate it.
    """

    min_cell: int
    primary: bool = True


def is_hidden(value: object) -> bool:
    """True for a suppressed cell (used as a Jinja test)."""
    return isinstance(value, Hidden)


def small_count(count: float, min_cell: int) -> bool:
    """True for a count that could point at individuals: 1 to min_cell - 1."""
    return 0 < count < min_cell


def too_small(count: float | None, min_cell: int) -> bool:
    """True when a group of `count` people is too small to show anything about (missing counts are too small)."""
    return count is None or not np.isfinite(count) or count < min_cell


def protect_counts(
    cells: Mapping[str, int],
    relations: Iterable[tuple[str, Sequence[str]]],
    min_cell: int,
) -> dict[str, int | Hidden]:
    """Hide counts below `min_cell`, then hide complementary cells so no hidden count follows by subtraction.

    `relations` are additive identities `total = sum(parts)` between the named cells (a name missing from
    `cells` is ignored). Whenever exactly one member of an identity is hidden, it could be recovered, so the
    smallest other non-zero part (or, failing that, the total) is hidden too; this repeats until nothing changes.
    """
    primary = {name for name, value in cells.items() if small_count(value, min_cell)}
    hidden = set(primary)
    identities = [(total, [p for p in parts if p in cells]) for total, parts in relations if total in cells]
    changed = True
    while changed:
        changed = False
        for total, parts in identities:
            members = [total, *parts]
            if sum(m in hidden for m in members) != 1:
                continue
            # A hidden zero protects nothing: a complementary cell is known to be 0 or at least min_cell, so hiding
            # a 0 beside a small count gives the count away.
            visible_parts = sorted((cells[p], p) for p in parts if p not in hidden and cells[p] > 0)
            # Hide the smallest visible part: it loses the least information; only the total is left otherwise.
            extra = visible_parts[0][1] if visible_parts else total
            hidden.add(extra)
            changed = True
    return {
        name: (Hidden(min_cell, primary=name in primary) if name in hidden else int(value))
        for name, value in cells.items()
    }


def protect_table(
    counts: Mapping[str, Mapping[str, int]],
    min_cell: int,
    totals: Mapping[str, int] | None = None,
) -> dict[str, dict[str, int | Hidden]]:
    """Protect a table of counts by column (e.g. arm) and row (e.g. level), whose column totals are shown.

    Each column's levels add up to its total (given in `totals`, or the column sum); the protected table
    keeps the same shape. Totals are shown elsewhere, so they are part of the identity but not returned.
    """
    protected: dict[str, dict[str, int | Hidden]] = {}
    for column, levels in counts.items():
        total = int(totals[column]) if totals is not None and column in totals else int(sum(levels.values()))
        cells = {f"level:{k}": int(v) for k, v in levels.items()}
        # The total is shown elsewhere (and hidden there when small); it is a member of the identity all the same.
        cells["__total__"] = total
        result = protect_counts(cells, [("__total__", [f"level:{k}" for k in levels])], min_cell)
        protected[column] = {k: result[f"level:{k}"] for k in levels}
    return protected


def protect_share(value: Any, numerator: float | None, denominator: float | None, min_cell: int) -> Any:
    """A share is hidden when its group is small or it reveals a small count: of those with, or of those without."""
    if too_small(denominator, min_cell):
        return Hidden(min_cell)
    reveals = numerator is not None and denominator is not None
    if reveals and (small_count(numerator, min_cell) or small_count(denominator - numerator, min_cell)):
        return Hidden(min_cell)
    return value


def protect_at_risk(values: Sequence[float], min_cell: int) -> list[int | Hidden]:
    """Numbers at risk: each of 1 to min_cell - 1 is hidden (none at risk names nobody)."""
    return [Hidden(min_cell) if small_count(v, min_cell) else int(v) for v in values]


def shown_until(times: Sequence[float], at_risk: Sequence[float], min_cell: int) -> float | None:
    """The last time up to which a curve rests on at least `min_cell` people at risk (None if never)."""
    last: float | None = None
    for t, n in zip(times, at_risk, strict=False):
        if too_small(n, min_cell):
            break
        last = float(t)
    return last
