"""Jobnet's automatch as the BC16 proposal describes it, behind the same ranker interface as the model.

Automatch ranks by (1) distance from home, (2) the job titles the citizen is interested in, and (3) fills with
jobs that require no prior qualifications when (1) and (2) find too few.
"""

from __future__ import annotations

import numpy as np

TITLE_MATCH = 0.5  # character n-gram cosine from which a posting title counts as one of the desired titles
RADIUS_KM = 30.0


def distance_parts(distance_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether a workplace is within the radius, and the within-tier distance penalty (unknown counts as far)."""
    distance = np.nan_to_num(np.asarray(distance_km, dtype=np.float32), nan=10 * RADIUS_KM)
    return distance <= RADIUS_KM, (0.1 * np.minimum(distance / RADIUS_KM, 3.0)).astype(np.float32)


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
        from matcher.features import FEATURES  # features.py uses this module's distance rules

        col = {name: i for i, name in enumerate(FEATURES)}
        return automatch_score(features[:, col["title_similarity"]], features[:, col["distance_km"]],
                               features[:, col["requires_qualifications"]])
