"""Candidate retrieval keeps each citizen's top K whatever else is in the batch: ties at the cut go by posting."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.candidates import smallest


@pytest.mark.parametrize("seed", range(5))
def test_smallest_is_the_stable_top_k_with_ties_going_to_the_lower_column(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 6, size=(40, 50)).astype(np.float32)  # many ties at any cut
    values[rng.random(values.shape) < 0.1] = np.inf
    for k in (1, 7, 50):
        expected = np.sort(np.argsort(values, axis=1, kind="stable")[:, :k], axis=1)
        np.testing.assert_array_equal(smallest(values, k), expected)


def test_a_row_keeps_its_candidates_when_the_batch_drops_columns_before_it() -> None:
    """The same row with other columns in front (as a batch's open postings differ) picks the same postings."""
    row = np.array([[3.0, 1.0, 1.0, 1.0, 2.0]], dtype=np.float32)
    wider = np.hstack([np.full((1, 3), 9.0, dtype=np.float32), row])
    assert smallest(row, 2).tolist() == [[1, 2]]
    assert (smallest(wider, 2) - 3).tolist() == [[1, 2]]
