"""Jobnet's automatch as the BC16 proposal describes it, behind the same ranker interface as the model.

Automatch ranks by (1) distance from home, (2) the job titles the citizen is interested in, and (3) fills with
jobs that require no prior qualifications when (1) and (2) find too few.
"""

from __future__ import annotations

import numpy as np

from matcher.schema import FEATURE_COLUMN, distance_parts

TITLE_MATCH = 0.5  # character n-gram cosine from which a posting title counts as one of the desired titles


def combine(title_similarity: np.ndarray, near: np.ndarray, penalty: np.ndarray, requires: np.ndarray) -> np.ndarray:
    """Tiers: desired title nearby (3) > no-qualification job nearby (2) > desired title farther away (1) > rest;
    within a tier closer title matches and shorter distances come first.
    """
    title = title_similarity >= TITLE_MATCH
    tier = np.where(title, 1.0 + 2.0 * near, 2.0 * (near & (requires < 0.5))).astype(np.float32)
    return tier + 0.5 * title_similarity - penalty


def automatch_score(title_similarity: np.ndarray, distance_km: np.ndarray, requires: np.ndarray) -> np.ndarray:
    """The automatch score of pairs from their title similarity, distance and qualification requirement."""
    near, penalty = distance_parts(distance_km)
    return combine(title_similarity, near, penalty, requires)


class AutomatchRanker:
    """Scores candidate rows (columns in FEATURES order) with the automatch rules; nothing to learn."""

    name = "automatch"

    def score(self, features: np.ndarray) -> np.ndarray:
        title, distance, requires = (features[:, FEATURE_COLUMN[name]] for name in
                                     ("title_similarity", "distance_km", "requires_qualifications"))
        return automatch_score(title, distance, requires)
