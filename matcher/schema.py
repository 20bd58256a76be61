"""What the feature builder, the rankers and the automatch baseline share: the feature columns, the default number
of candidates per citizen and the automatch distance rule; a leaf that imports no other matcher module.

Importing it loads no third-party library, so the CLI can read its constants for `--help` and stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

FEATURES = [
    "text_similarity",  # CV text vs posting text (TF-IDF cosine of Danish stems and compound parts)
    "title_similarity",  # best desired title vs posting title (character n-grams)
    "occupation_fit",  # CV text vs the typical posting of the posting's occupation
    "field_affinity",  # how often the citizen's education field is hired into the occupation (from hires)
    "skill_overlap",  # number of occupation-specific terms the CV and the posting share
    "distance_km",  # home to workplace
    "posting_age_days",
    "days_to_deadline",
    "requires_qualifications",
    "source_jobnet",
    "outside_desired",  # the occupation is none of the citizen's desired titles' occupations
    "occupation_hire_rate",  # hires per posting of the occupation (from hires)
    "experience_years",
    "portal_count",  # on how many portals the job was posted
    # The market on the reference day, from what was known then (matcher/market.py):
    "crowding",  # other job seekers with the posting among their candidates, relative to the average open posting
    "tightness",  # open postings per job seeker in the posting's occupation, relative to the whole market (log)
    "transition_share",  # share of earlier hires of people seeking the citizen's titles that went to this occupation
]
FEATURE_COLUMN = {name: i for i, name in enumerate(FEATURES)}  # a feature's column in a feature row
DEFAULT_CANDIDATES = 300  # postings per citizen kept by retrieval for the ranker (training, evaluation, serving)
RADIUS_KM = 30.0  # automatch's "near": a workplace within this distance of home
SEARCH_DAYS = 28  # a job seeker's search counts in the market (crowding, tightness) this many days after it began
BASELINE_CANDIDATES = 50  # automatch's best postings added to the candidates when evaluating and serving
POOL_PER_SLOT = 3  # under a cap, a citizen's list is chosen from their best POOL_PER_SLOT x top postings
EXPOSURE_WINDOW_DAYS = 14  # default exposure window: a capped posting goes to at most N treated citizens within it


def distance_parts(distance_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether a workplace is within the radius, and the within-tier distance penalty (unknown counts as far)."""
    import numpy as np

    distance = np.nan_to_num(np.asarray(distance_km, dtype=np.float32), nan=10 * RADIUS_KM)
    return distance <= RADIUS_KM, (0.1 * np.minimum(distance / RADIUS_KM, 3.0)).astype(np.float32)
