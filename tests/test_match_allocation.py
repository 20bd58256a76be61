"""Lists under a cap: the exact allocation (HiGHS LP) against brute force and against the greedy on small cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from matcher.allocation import allocate, allocate_greedy, best_per_citizen


def _case(rng: np.random.Generator, citizens: int, postings: int, per_citizen: int) -> tuple[np.ndarray, ...]:
    """Each citizen's candidates drawn with a few popular postings, scores that favour them (as a ranker does)."""
    popularity = 1.0 / np.arange(1, postings + 1)
    popularity /= popularity.sum()
    cols = [rng.choice(postings, size=per_citizen, replace=False, p=popularity) for _ in range(citizens)]
    posting = np.concatenate(cols)
    citizen = np.repeat(np.arange(citizens), per_citizen)
    score = rng.normal(size=posting.size) + np.log(popularity[posting] * postings)
    return citizen, posting, score


def _brute_force(citizen: np.ndarray, posting: np.ndarray, score: np.ndarray, top: int,
                 room: np.ndarray) -> tuple[int, float]:
    """(most slots, best total score among those) over every choice of up to `top` pairs per citizen."""
    options = []
    for c in np.unique(citizen):
        pairs = np.flatnonzero(citizen == c)
        options.append([list(s) for n in range(min(top, pairs.size) + 1) for s in itertools.combinations(pairs, n)])
    best = (-1, -np.inf)
    for combo in itertools.product(*options):
        chosen = np.array([i for part in combo for i in part], dtype=np.int64)
        if (np.bincount(posting[chosen], minlength=room.size) > room).any():
            continue
        best = max(best, (chosen.size, float(score[chosen].sum())))
    return best


def _value(chosen: np.ndarray, score: np.ndarray) -> tuple[int, float]:
    return int(chosen.sum()), float(score[chosen].sum())


@pytest.mark.parametrize("seed", range(12))
def test_exact_allocation_is_the_brute_force_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    citizen, posting, score = _case(rng, citizens=4, postings=5, per_citizen=4)
    room = rng.integers(0, 3, size=5)
    chosen = allocate(citizen, posting, score, top=2, room=room)
    slots, total = _brute_force(citizen, posting, score, 2, room)
    assert chosen.sum() == slots
    assert score[chosen].sum() == pytest.approx(total, abs=1e-9)
    assert (np.bincount(posting[chosen], minlength=5) <= room).all()


def test_exact_is_never_worse_than_greedy_and_the_greedy_loss_is_measured() -> None:
    """On 200 small cases (30 citizens, 60 postings, 12 candidates each, lists of 5, cap 3, popular postings
    contested): the greedy's loss against the exact optimum is measured, in slots left empty and in score.
    """
    rng = np.random.default_rng(7)
    losses, short = [], 0
    for _ in range(200):
        citizen, posting, score = _case(rng, citizens=30, postings=60, per_citizen=12)
        shifted = score - score.min() + 1.0  # positive scores: a loss is a share of the total
        room = np.full(60, 3)
        exact = allocate(citizen, posting, shifted, top=5, room=room)
        greedy = allocate_greedy(citizen, posting, shifted, top=5, room=room)
        assert _value(exact, shifted) >= _value(greedy, shifted)
        for chosen in (exact, greedy):
            assert (np.bincount(posting[chosen], minlength=60) <= 3).all()
            assert (np.bincount(citizen[chosen], minlength=30) <= 5).all()
        short += int(greedy.sum() < exact.sum())
        losses.append(1 - shifted[greedy].sum() / shifted[exact].sum())
    losses = np.array(losses)
    print(f"greedy against exact: {short} of 200 cases with empty slots; score lost mean {losses.mean():.2%}, "
          f"max {losses.max():.2%}, worse in {np.mean(losses > 1e-9):.0%} of the cases")
    assert (losses > 1e-9).mean() > 0.5  # the comparison has teeth: the greedy is usually strictly worse


def test_greedy_can_leave_a_citizen_short_where_the_exact_fills_every_list() -> None:
    """Citizen 0 prefers posting 0 slightly; citizen 1 can only use posting 0. Greedy gives it to citizen 0."""
    citizen = np.array([0, 0, 1])
    posting = np.array([0, 1, 0])
    score = np.array([2.0, 1.9, 1.0])
    room = np.array([1, 1])
    greedy = allocate_greedy(citizen, posting, score, top=1, room=room)
    exact = allocate(citizen, posting, score, top=1, room=room)
    assert greedy.tolist() == [True, False, False]
    assert exact.tolist() == [False, True, True]


def test_without_a_binding_cap_each_citizen_gets_their_best_list() -> None:
    rng = np.random.default_rng(3)
    citizen, posting, score = _case(rng, citizens=50, postings=200, per_citizen=20)
    chosen = allocate(citizen, posting, score, top=5, room=np.full(200, 10_000))
    assert (chosen == best_per_citizen(citizen, posting, score, 5)).all()


def test_a_pair_already_shown_uses_no_room() -> None:
    """Posting 0 is full, but citizen 1 saw it before within the window: showing it again costs nothing."""
    citizen = np.array([0, 0, 1, 1])
    posting = np.array([0, 1, 0, 1])
    score = np.array([5.0, 1.0, 5.0, 1.0])
    free = np.array([False, False, True, False])
    chosen = allocate(citizen, posting, score, top=1, room=np.array([0, 5]), free=free)
    assert chosen.tolist() == [False, True, True, False]
    greedy = allocate_greedy(citizen, posting, score, top=1, room=np.array([0, 5]), free=free)
    assert greedy.tolist() == chosen.tolist()


def test_when_caps_leave_lists_short_the_most_slots_are_filled_first() -> None:
    """Room for 3 pairs in all: the 3 slots go where they fit, then by score (the infeasible-fill path)."""
    citizen = np.array([0, 0, 1, 1, 2])
    posting = np.array([0, 1, 0, 1, 0])
    score = np.array([1.0, 0.5, 3.0, 0.1, 2.0])
    chosen = allocate(citizen, posting, score, top=2, room=np.array([2, 1]))
    assert chosen.sum() == 3
    assert (np.bincount(posting[chosen], minlength=2) <= [2, 1]).all()
    assert _value(chosen, score) == _brute_force(citizen, posting, score, 2, np.array([2, 1]))
