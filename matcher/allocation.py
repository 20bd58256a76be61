"""Lists under a cap: each citizen's best `top` postings such that no posting goes to more citizens than it has room
for, maximising the total score shown.

The exact allocation is a linear program solved with HiGHS (scipy.optimize.linprog). Its constraint matrix is that
of a bipartite b-matching, which is totally unimodular, so the simplex vertex HiGHS returns is a 0/1 solution:
an exact integer optimum at the price of an LP, with no branch and bound. The greedy (best remaining pair first) is
kept as the reference the exact allocation is measured against (tests/test_match_allocation.py, benchmarks/match.py).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# HiGHS's dual simplex (a vertex, hence 0/1) with devex pricing: on the benchmark's serving day (210,000 pairs) it
# takes about a third of the time of HiGHS's default choice, with the same optimum.
_SIMPLEX = {"method": "highs-ds", "options": {"simplex_dual_edge_weight_strategy": "devex"}}


def best_per_citizen(citizen: np.ndarray, posting: np.ndarray, score: np.ndarray, top: int) -> np.ndarray:
    """Mask of each citizen's `top` highest-scored pairs (ties: the lower posting index first)."""
    order = np.lexsort((posting, -score, citizen))
    ranked = citizen[order]
    starts = np.searchsorted(ranked, ranked, side="left")
    keep = np.zeros(citizen.size, dtype=bool)
    keep[order[np.arange(order.size) - starts < top]] = True
    return keep


def allocate(citizen: np.ndarray, posting: np.ndarray, score: np.ndarray, *, top: int, room: np.ndarray,
             free: np.ndarray | None = None) -> np.ndarray:
    """Mask of the pairs shown: at most `top` per citizen, at most `room[p]` counted pairs per posting, the most
    slots the caps allow filled and, among such fillings, the largest total score. `free` marks pairs that use no
    room (the citizen already saw the posting within the window).
    """
    counted = np.ones(citizen.size, dtype=bool) if free is None else ~free
    demand = np.bincount(posting[counted], minlength=room.size)
    # Only postings asked for by more citizens than they have room for can bind; citizens who ask for none of
    # them simply get their best `top` (an exact reduction: dropping a constraint that cannot bind changes nothing).
    binding = demand > room
    contested = counted & binding[posting]
    involved = np.zeros(int(citizen.max()) + 1 if citizen.size else 0, dtype=bool)
    involved[citizen[contested]] = True
    chosen = best_per_citizen(citizen, posting, score, top) & ~involved[citizen]
    pairs = np.flatnonzero(involved[citizen])
    if pairs.size:
        chosen[pairs[_solve(citizen[pairs], posting[pairs], score[pairs], contested[pairs], top, room)]] = True
    return chosen


def _solve(citizen: np.ndarray, posting: np.ndarray, score: np.ndarray, limited: np.ndarray, top: int,
           room: np.ndarray) -> np.ndarray:
    """The LP over the involved citizens' pairs; `limited` pairs count against their posting's room."""
    from scipy.optimize import linprog

    n = citizen.size
    people, row_of = np.unique(citizen, return_inverse=True)
    wanted = np.minimum(np.bincount(row_of, minlength=people.size), top).astype(float)
    by_citizen = sp.csr_matrix((np.ones(n), (row_of, np.arange(n))), shape=(people.size, n))
    caps, cap_of = np.unique(posting[limited], return_inverse=True)
    by_posting = sp.csr_matrix((np.ones(int(limited.sum())), (cap_of, np.flatnonzero(limited))), shape=(caps.size, n))
    limit = room[caps].astype(float)
    # Scores centred for the solver's tolerances; with the slot count fixed this changes no choice.
    cost = -(score - score.mean()).astype(float)
    full = linprog(cost, A_ub=by_posting, b_ub=limit, A_eq=by_citizen, b_eq=wanted, bounds=(0, 1), **_SIMPLEX)
    if full.status == 2:
        # The caps leave some citizens short: first the most slots that can be filled, then the best such filling
        # (the optimal face of a 0/1 polytope has 0/1 vertices, so the second LP is exact too).
        both = sp.vstack([by_posting, by_citizen]).tocsr()
        bounds = np.r_[limit, wanted]
        most = linprog(-np.ones(n), A_ub=both, b_ub=bounds, bounds=(0, 1), **_SIMPLEX)
        _check(most)
        slots = float(np.round(-most.fun))
        full = linprog(cost, A_ub=both, b_ub=bounds, A_eq=np.ones((1, n)), b_eq=[slots], bounds=(0, 1), **_SIMPLEX)
    _check(full)
    x = full.x
    if np.abs(x - np.round(x)).max() > 1e-6:
        raise RuntimeError("the allocation LP returned a fractional solution; please report this data set")
    return x > 0.5


def _check(result: object) -> None:
    if getattr(result, "status", None) != 0:
        raise RuntimeError(f"the allocation LP failed: {getattr(result, 'message', '')}")


def allocate_greedy(citizen: np.ndarray, posting: np.ndarray, score: np.ndarray, *, top: int, room: np.ndarray,
                    free: np.ndarray | None = None) -> np.ndarray:
    """Mask of the pairs a greedy shows: pairs in descending score, each taken if its citizen's list and its
    posting's room allow. Same contract as `allocate`; faster, but not optimal.
    """
    left = room.astype(np.int64).copy()
    taken = np.zeros(int(citizen.max()) + 1 if citizen.size else 0, dtype=np.int64)
    uses_room = np.ones(citizen.size, dtype=bool) if free is None else ~free
    chosen = np.zeros(citizen.size, dtype=bool)
    for i in np.lexsort((posting, citizen, -score)).tolist():
        c, p = citizen[i], posting[i]
        if taken[c] >= top or (uses_room[i] and left[p] <= 0):
            continue
        chosen[i] = True
        taken[c] += 1
        if uses_room[i]:
            left[p] -= 1
    return chosen
