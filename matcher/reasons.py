"""Short reasons in Danish for the consultant, from the features that pushed a posting's score up the most."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.schema import FEATURES


@dataclass
class ReasonContext:
    """What a reason may quote besides the feature value: shared skills, the matching title, names."""

    shared_skills: list[str]
    best_title: str
    education_field: str
    occupation_label: str
    source: str


def _text(feature: str, value: float, ctx: ReasonContext) -> str | None:
    """The Danish sentence for one feature, or None when its value gives nothing a consultant could use."""
    if feature == "skill_overlap" or feature == "text_similarity":
        if ctx.shared_skills:
            return "matcher: " + ", ".join(ctx.shared_skills)
        return "CV'et ligner opslaget" if feature == "text_similarity" else None
    if feature == "title_similarity":
        return f"svarer til ønsket jobtitel »{ctx.best_title}«" if ctx.best_title else "ligner de ønskede jobtitler"
    if feature == "occupation_fit":
        return f"erfaringen passer til stillinger som {ctx.occupation_label}" if ctx.occupation_label else \
            "erfaringen passer til denne type stilling"
    if feature == "field_affinity":
        return f"mange med uddannelse inden for {ctx.education_field} ansættes i denne type stilling"
    if feature == "distance_km":
        if np.isnan(value):
            return None
        # Postcode centroids are coarse: below a couple of km, only "close" is honest.
        return "tæt på hjemmet" if value < 2 else f"{value:.0f} km fra hjemmet"
    if feature == "posting_age_days":
        return f"nyt opslag ({value:.0f} dage gammelt)"
    if feature == "days_to_deadline":
        return f"god tid til ansøgningsfristen ({value:.0f} dage)"
    if feature == "requires_qualifications":
        return "kræver ingen særlige kvalifikationer" if value < 0.5 else "efterspørger en relevant uddannelse"
    if feature == "source_jobnet":
        return f"slået op på {ctx.source}"
    if feature == "outside_desired":
        return "uden for den sædvanlige jobsøgning – et alternativ" if value >= 0.5 else \
            "inden for de ønskede jobtitler"
    if feature == "occupation_hire_rate":
        return "mange ledige akademikere er blevet ansat i denne type stilling"
    if feature == "experience_years":
        return f"passer til erfaringen ({value:.0f} år)"
    if feature == "portal_count":
        return "slået op på flere jobportaler"
    if feature == "crowding":
        # Crowding 1 is the average open posting; only a posting few others were offered is worth saying so.
        return "få andre ledige er foreslået dette job" if value < 0.8 else None
    if feature == "tightness":
        return "mange ledige stillinger i faget" if value > 0.2 else None
    if feature == "transition_share":
        return "ledige med samme jobønsker bliver ofte ansat i denne type stilling" if value >= 0.1 else None
    return None


def explain(values: np.ndarray, contributions: np.ndarray, ctx: ReasonContext, limit: int = 3) -> list[tuple[str, str]]:
    """Up to `limit` (feature, Danish reason) pairs from the largest positive contributions, one text each."""
    order = np.argsort(-contributions[: len(FEATURES)], kind="stable")
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i in order:
        if contributions[i] <= 0 or len(out) == limit:
            break
        text = _text(FEATURES[i], float(values[i]), ctx)
        if text and text not in seen:
            seen.add(text)
            out.append((FEATURES[i], text))
    return out
