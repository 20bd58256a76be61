"""The simulated job market: Danish CVs, postings on two portals and the historical cohort's hires.

Hires come from a hidden preference model in which a citizen's skills often fit another occupation than the
titles they search for, so a text model can beat Jobnet's title-and-distance automatch (issues 3 and 7).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from matcher.geo import haversine_km, postcode_table
from trial.simulate.claimants import FIELDS
from trial.simulate.vocabulary import Occupation, load_vocabulary

VOCABULARY = load_vocabulary()
OCCUPATIONS = list(VOCABULARY.occupations.values())


@dataclass
class JobsData:
    """The three files of the simulated job market (issue 3): CVs of both cohorts, postings, historical hires."""

    cvs: pd.DataFrame
    postings: pd.DataFrame
    hires: pd.DataFrame
    # Not written to files: the job behind each posting id (copies on two portals share one), for tests.
    posting_job: pd.Series | None = None
    # Not written either: the hidden utility hires were drawn from, so the simulator can value what was shown.
    utility: Utility | None = None


@dataclass(frozen=True)
class Utility:
    """The market's own value of a job to a person (the hire model's utility without its taste shock), with the
    people in the CVs' row order and the jobs numbered as `JobsData.posting_job` numbers them.
    """

    skills: np.ndarray  # (people, skills + 1) float32: 1 where the person has the skill; the last column stays 0
    skill_occ: np.ndarray  # per person: the occupation their skills fit
    desired: np.ndarray  # per person: the occupation they search for
    field: np.ndarray  # per person: index into FIELDS
    home_lat: np.ndarray
    home_lon: np.ndarray
    field_occ: np.ndarray  # (fields, occupations): how well a field leads to an occupation
    job_skills: np.ndarray  # (jobs, width): skill ids asked for, padded with the always-zero column
    job_occ: np.ndarray
    job_lat: np.ndarray
    job_lon: np.ndarray
    appeal: np.ndarray
    low: np.ndarray  # per job: an unskilled fill job

    def value(self, person: int | np.ndarray, job: np.ndarray) -> np.ndarray:
        """Utility of each job for the person (an int: one person and many jobs) or of each (person, job) pair."""
        if np.ndim(person) == 0:
            overlap = self.skills[person][self.job_skills[job]].sum(axis=1)
        else:
            overlap = np.take_along_axis(self.skills[person], self.job_skills[job], axis=1).sum(axis=1)
        occ = self.job_occ[job]
        dist = haversine_km(self.home_lat[person], self.home_lon[person], self.job_lat[job], self.job_lon[job])
        return (
            0.9 * overlap
            + 1.0 * (occ == self.skill_occ[person])
            + 0.7 * (occ == self.desired[person])
            + 0.3 * self.field_occ[self.field[person], occ]
            - 0.9 * np.log1p(dist / 10.0)
            + self.appeal[job]
            - 2.5 * self.low[job]
        )


def _inflect(word: str, rnd: random.Random) -> str:
    """A Danish inflected or compounded form of a single noun, so the text model must normalise."""
    if " " in word or not word.islower() or rnd.random() > 0.35:
        return word
    choice = rnd.random()
    if choice < 0.3:
        return word + ("n" if word.endswith("e") else "en")
    if choice < 0.55:
        return word + ("r" if word.endswith("e") else "er")
    if choice < 0.75:
        return word + ("rne" if word.endswith("e") else "erne")
    return word + rnd.choice(["arbejde", "opgaver", "erfaring", "kompetencer", "forløb"])


def _typo(text: str, rnd: random.Random) -> str:
    """Swap two neighbouring letters in one word now and then, as in real CVs."""
    if rnd.random() > 0.3 or len(text) < 10:
        return text
    i = rnd.randrange(1, len(text) - 2)
    if not (text[i].isalpha() and text[i + 1].isalpha()):
        return text
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _skill_text(skill: str, rnd: random.Random) -> str:
    return _inflect(rnd.choice(VOCABULARY.skills[skill]), rnd)


def _employers(rnd: random.Random, n: int) -> list[str]:
    words = VOCABULARY.employers
    names = [*words.public, *words.private]
    while len(names) < n:
        names.append(f"{rnd.choice(words.name_parts)}{rnd.choice(words.name_parts).lower()} "
                     f"{rnd.choice(words.name_suffixes)}")
    return names


class _Market:
    """Draws people's latent profiles and the postings; holds the indices the hire model needs."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.rnd = random.Random(int(rng.integers(2**63)))
        self.skill_index = {s: i for i, s in enumerate(sorted({s for o in OCCUPATIONS for s in o.skills}))}
        self.occ_skills = [np.array([self.skill_index[s] for s in o.skills]) for o in OCCUPATIONS]
        self.field_occ = np.array([[o.field_weights.get(f, 0.0) for o in OCCUPATIONS] for f in FIELDS])
        # Neighbouring occupations share skills: the alternatives a citizen's skills may fit.
        skill_sets = [set(o.skills) for o in OCCUPATIONS]
        self.neighbours = np.array([[len(a & b) for b in skill_sets] for a in skill_sets], dtype=float)
        np.fill_diagonal(self.neighbours, 0.0)

    def person_profiles(self, fields: list[str]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Desired occupation, skill occupation (often another one) and skill set of each person."""
        rng = self.rng
        n = len(fields)
        field_idx = np.array([FIELDS.index(f) if f in FIELDS else 0 for f in fields])
        weights = self.field_occ[field_idx].copy()
        low = np.array([o.low_skilled for o in OCCUPATIONS])
        weights[:, low] = 0.0
        weights = weights**2
        desired = _sample_rows(rng, weights)
        # About half of the citizens have skills (from jobs, projects, electives) that fit another occupation.
        moves = rng.random(n) < 0.55
        neighbour_w = self.neighbours[desired] + 0.3 * self.field_occ[field_idx]
        neighbour_w[:, low] = 0.0
        neighbour_w[np.arange(n), desired] = 0.0
        alternative = _sample_rows(rng, neighbour_w**2)
        skill_occ = np.where(moves, alternative, desired)
        skills = []
        all_skills = len(self.skill_index)
        for d, s in zip(desired, skill_occ, strict=True):
            own = self.occ_skills[s]
            chosen = set(rng.choice(own, size=min(len(own), 5), replace=False).tolist())
            want = self.occ_skills[d]
            chosen |= set(rng.choice(want, size=2, replace=False).tolist())
            chosen |= set(rng.integers(0, all_skills, size=1).tolist())
            skills.append(np.array(sorted(chosen)))
        return desired, skill_occ, skills


def _sample_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One category per row drawn with the row's weights (vectorised inverse-CDF)."""
    cum = np.cumsum(weights, axis=1)
    cum /= cum[:, -1:]
    u = rng.random((weights.shape[0], 1))
    return np.minimum((cum < u).sum(axis=1), weights.shape[1] - 1)


def _cv_text(occ_d: Occupation, occ_s: Occupation, field: str, skills: list[str], experience: float,
             rnd: random.Random) -> str:
    words = VOCABULARY.cv
    subject = rnd.choice(words.subjects.get(field, ["samfundsfag"]))
    parts = [
        f"Jeg er uddannet {words.degrees.get(field, 'cand.')} i {subject} fra {rnd.choice(words.universities)}.",
    ]
    if experience >= 1:
        past_title = rnd.choice(occ_s.titles)
        first, second = rnd.sample(occ_s.tasks, k=2)
        parts.append(f"Jeg har {int(experience)} års erfaring, senest som {past_title}, hvor jeg havde ansvar for at "
                     f"{first} og {second}.")
    else:
        parts.append(f"Som studentermedhjælper har jeg været med til at {rnd.choice(occ_s.tasks)}.")
    parts.append(f"I mit speciale arbejdede jeg med {_skill_text(rnd.choice(occ_d.skills), rnd)}.")
    shown = rnd.sample(skills, k=len(skills))
    parts.append("Kompetencer: " + ", ".join(_skill_text(s, rnd) for s in shown) + ".")
    if rnd.random() < 0.7:
        parts.append("Jeg har erfaring med " + " og ".join(_skill_text(s, rnd) for s in shown[:2]) + ".")
    parts.append("IT: " + ", ".join(rnd.sample(occ_s.tools, k=min(2, len(occ_s.tools)))) + ".")
    parts.extend(rnd.sample(words.filler, k=2))
    text = " ".join(_typo(p, rnd) for p in parts)
    return text.lower() if rnd.random() < 0.1 else text


def _posting_text(occ: Occupation, title: str, employer: str, skills: list[str], requires: bool,
                  rnd: random.Random) -> str:
    tasks = rnd.sample(occ.tasks, k=min(3, len(occ.tasks)))
    parts = [
        f"{employer} søger en {title.lower()}.",
        "Som " + title.lower() + " skal du blandt andet " + ", ".join(tasks[:-1]) + " og " + tasks[-1] + ".",
        "Vi forventer, at du har erfaring med " + ", ".join(_skill_text(s, rnd) for s in skills[:-1])
        + " og " + _skill_text(skills[-1], rnd) + ".",
        f"Kendskab til {rnd.choice(occ.tools)} er en fordel.",
    ]
    if requires:
        parts.append(rnd.choice(["Du har en relevant kandidatuddannelse.", "Du er uddannet cand. inden for området.",
                                 "Relevant videregående uddannelse er et krav."]))
    else:
        parts.append(rnd.choice(["Ingen krav om uddannelse – vi oplærer dig.", "Erfaring er ikke et krav.",
                                 "Du behøver ingen særlige kvalifikationer."]))
    parts.extend(rnd.sample(VOCABULARY.postings.filler, k=2))
    return " ".join(parts)


def _near_duplicate(text: str, title: str, employer: str, rnd: random.Random) -> tuple[str, str, str]:
    """The same job as another portal shows it: reordered sentences, extra boilerplate, retyped title."""
    sentences = text.split(". ")
    if len(sentences) > 4:
        i = rnd.randrange(2, len(sentences) - 1)
        sentences[i], sentences[i - 1] = sentences[i - 1], sentences[i]
    text2 = ". ".join(sentences) + rnd.choice([" Læs mere på vores hjemmeside.", " Søg via linket.", ""])
    title2 = rnd.choice([title, title.capitalize(), f"{title} til {employer.split()[0]}", title.upper()])
    employer2 = rnd.choice([employer, employer.replace(" A/S", ""), employer.upper(), employer + " "])
    return text2, title2, employer2


def simulate_jobs(
    rng: np.random.Generator,
    people: pd.DataFrame,
    history: pd.DataFrame,
    *,
    n_postings: int,
    start: date,
    end: date,
    duplicate_share: float = 0.2,
    hire_share: float = 0.8,
) -> JobsData:
    """Simulate CVs for both cohorts, `n_postings` jobs published in [start, end] and the history's hires.

    A posting is open 14-60 days (mean ~37), so about n_postings * 37 / (end - start).days are active at a time.
    """
    market = _Market(rng)
    rnd = market.rnd
    table = postcode_table()
    coords = table[table.index >= "1000"]  # codes below 1000 are parcel centres and "abroad", not places
    postcodes = coords.reset_index()
    cohorts = pd.concat([history.assign(_history=True), people.assign(_history=False)], ignore_index=True)
    n_people = len(cohorts)

    # People: latent profile, CV text, desired titles.
    fields = cohorts["education_field"].astype(str).str.lower().tolist()
    desired, skill_occ, skills = market.person_profiles(fields)
    registered = pd.to_datetime(cohorts["registered_on"]).dt.date
    birth = pd.to_datetime(cohorts["birth_date"]).dt.date
    age = np.array([(r - b).days / 365.25 for r, b in zip(registered, birth, strict=True)])
    experience = np.clip(np.round(age - 26.0 + rng.normal(0, 1.5, n_people), 1), 0, 40)
    skill_names = sorted(market.skill_index, key=market.skill_index.get)
    cv_texts, desired_titles = [], []
    for i in range(n_people):
        occ_d, occ_s = OCCUPATIONS[desired[i]], OCCUPATIONS[skill_occ[i]]
        cv_texts.append(_cv_text(occ_d, occ_s, fields[i], [skill_names[k] for k in skills[i]], experience[i], rnd))
        titles = rnd.sample(occ_d.titles, k=rnd.choice([1, 2, 2, 3]))
        if skill_occ[i] != desired[i] and rnd.random() < 0.15:
            titles.append(rnd.choice(occ_s.titles))
        desired_titles.append(";".join(titles))
    cvs = pd.DataFrame({
        "cpr": cohorts["cpr"].astype(str).to_numpy(),
        "cv_text": cv_texts,
        "desired_titles": desired_titles,
        "education_level": cohorts["education_level"].astype(str).to_numpy(),
        "education_field": cohorts["education_field"].astype(str).to_numpy(),
        "experience_years": experience,
        "postcode": cohorts["postcode"].astype(str).str.zfill(4).to_numpy(),
    })

    # Postings: occupation mix follows the academic labour market plus unskilled fill jobs.
    n_jobs = max(1, round(n_postings / (1 + duplicate_share)))
    occ_weight = np.array([0.6 if o.low_skilled else 1.0 for o in OCCUPATIONS])
    job_occ = rng.choice(len(OCCUPATIONS), size=n_jobs, p=occ_weight / occ_weight.sum())
    first = postcodes["postcode"].str[0]
    region_weight = {"1": 0.30, "2": 0.35, "3": 0.08, "4": 0.07}
    # Weights per region, spread over its postcodes (central Copenhagen has hundreds of street postcodes).
    pc_weight = np.array([region_weight.get(c, 0.2 / 5) for c in first]) / first.map(first.value_counts()).to_numpy()
    job_pc = rng.choice(len(postcodes), size=n_jobs, p=pc_weight / pc_weight.sum())
    span = max(1, (end - start).days)
    published = rng.integers(0, span + 1, size=n_jobs)
    open_days = rng.integers(14, 61, size=n_jobs)
    employers = _employers(rnd, 3000)
    # Popular employers post more and attract more applicants.
    employer_w = 1.0 / np.arange(1, len(employers) + 1) ** 0.7
    job_employer = rng.choice(len(employers), size=n_jobs, p=employer_w / employer_w.sum())
    appeal = rng.normal(0, 0.5, size=n_jobs) + 0.3 * (job_employer < 40)
    requires = np.array([rnd.random() < OCCUPATIONS[o].qualification_share for o in job_occ])
    # A posting asks for some of its occupation's skills and, half the time, one from a neighbouring occupation.
    extra_occ = _sample_rows(rng, market.neighbours[job_occ] + 1e-9)
    with_extra = rng.random(n_jobs) < 0.5
    pc_codes = postcodes["postcode"].to_numpy()[job_pc]
    job_skills: list[np.ndarray] = []
    rows = []
    for j in range(n_jobs):
        occ = OCCUPATIONS[job_occ[j]]
        own = rnd.sample(occ.skills, k=min(len(occ.skills), rnd.randint(3, 5)))
        if with_extra[j]:
            own.append(rnd.choice(OCCUPATIONS[extra_occ[j]].skills))
        job_skills.append(np.array(sorted({market.skill_index[s] for s in own})))
        title = rnd.choice(occ.titles)
        employer = employers[job_employer[j]]
        text = _posting_text(occ, title, employer, own, bool(requires[j]), rnd)
        pub = start + timedelta(days=int(published[j]))
        deadline = pub + timedelta(days=int(open_days[j]))
        pc = pc_codes[j]
        duplicated = rnd.random() < duplicate_share
        first_source = "jobnet" if (duplicated or rnd.random() < 0.6) else "jobindex"
        rows.append((j, first_source, title, text, employer, pc, occ.code, bool(requires[j]), pub, deadline))
        if duplicated:
            text2, title2, employer2 = _near_duplicate(text, title, employer, rnd)
            pub2 = min(pub + timedelta(days=rnd.randint(0, 3)), deadline)
            rows.append((j, "jobindex", title2, text2, employer2, pc, occ.code, bool(requires[j]), pub2, deadline))
    postings = pd.DataFrame(rows, columns=["job", "source", "title", "text", "employer", "postcode",
                                           "occupation_code", "requires_qualifications", "published_on", "deadline"])
    order = rng.permutation(len(postings))
    postings = postings.iloc[order].reset_index(drop=True)
    postings.insert(0, "posting_id", [f"P{k:07d}" for k in range(1, len(postings) + 1)])

    utility = _utility(market, cvs, coords, job_occ, job_skills, job_pc, postcodes, appeal, desired, skill_occ,
                       skills, fields)
    hires = _hires(rng, utility, cohorts, cvs, postings, published, open_days, registered_start=start, end=end,
                   hire_share=hire_share)
    posting_job = pd.Series(postings["job"].to_numpy(), index=postings["posting_id"].to_numpy(), name="job")
    return JobsData(cvs=cvs, postings=postings.drop(columns="job"), hires=hires, posting_job=posting_job,
                    utility=utility)


def _utility(market: _Market, cvs: pd.DataFrame, coords: pd.DataFrame, job_occ: np.ndarray,
             job_skills: list[np.ndarray], job_pc: np.ndarray, postcodes: pd.DataFrame, appeal: np.ndarray,
             desired: np.ndarray, skill_occ: np.ndarray, skills: list[np.ndarray], fields: list[str]) -> Utility:
    """The hidden utility's parts, gathered once for every person and job."""
    n_skills = len(market.skill_index)
    # Skill ids per job padded with a slot that is always zero, so overlaps are one gather and a sum.
    width = max(len(s) for s in job_skills)
    skill_pad = np.full((len(job_skills), width), n_skills)
    for j, s in enumerate(job_skills):
        skill_pad[j, : len(s)] = s
    person_skills = np.zeros((len(skills), n_skills + 1), dtype=np.float32)
    for i, s in enumerate(skills):
        person_skills[i, s] = 1.0
    centre = (55.6759, 12.5655)
    home = coords.reindex(cvs["postcode"])
    return Utility(
        skills=person_skills, skill_occ=skill_occ, desired=desired,
        field=np.array([FIELDS.index(f) if f in FIELDS else 0 for f in fields]),
        home_lat=home["latitude"].fillna(centre[0]).to_numpy(), home_lon=home["longitude"].fillna(centre[1]).to_numpy(),
        field_occ=market.field_occ, job_skills=skill_pad, job_occ=job_occ,
        job_lat=postcodes["latitude"].to_numpy()[job_pc], job_lon=postcodes["longitude"].to_numpy()[job_pc],
        appeal=appeal, low=np.array([o.low_skilled for o in OCCUPATIONS])[job_occ],
    )


def _hires(rng: np.random.Generator, utility: Utility, cohorts: pd.DataFrame, cvs: pd.DataFrame,
           postings: pd.DataFrame, published: np.ndarray, open_days: np.ndarray, *, registered_start: date,
           end: date, hire_share: float) -> pd.DataFrame:
    """Each hired citizen picks the best of the open jobs they see under the hidden utility plus a taste shock."""
    start = registered_start
    closes = published + open_days
    by_published = np.argsort(published, kind="stable")
    published_sorted = published[by_published]
    longest = int(open_days.max())
    # Which listing of a job the hire refers to: any of its portal copies.
    listing: dict[int, list[str]] = {}
    for job, posting_id in zip(postings["job"].to_numpy(), postings["posting_id"].to_numpy(), strict=True):
        listing.setdefault(int(job), []).append(posting_id)
    span = max(1, (end - start).days)
    cprs = cvs["cpr"].to_numpy()
    out = []
    history_rows = np.flatnonzero(cohorts["_history"].to_numpy())
    registered = pd.to_datetime(cohorts["registered_on"]).dt.date.to_numpy()
    for i in history_rows:
        if rng.random() > hire_share:
            continue
        decided = (registered[i] - start).days + int(rng.gamma(2.0, 30.0))
        if decided < 0 or decided > span:
            continue
        lo, hi = np.searchsorted(published_sorted, [decided - longest, decided], side="right")
        recent = by_published[lo:hi]
        open_now = recent[closes[recent] >= decided]
        if open_now.size == 0:
            continue
        seen = open_now if open_now.size <= 4000 else rng.choice(open_now, size=4000, replace=False)
        utility_seen = utility.value(int(i), seen) + rng.gumbel(0.0, 0.8, size=seen.size)
        job = int(seen[np.argmax(utility_seen)])
        # Interviews take time; a copy on the second portal is at most 3 days younger than the original.
        hired_on = start + timedelta(days=decided + int(rng.integers(3, 24)))
        ids = listing[job]
        out.append((cprs[i], ids[int(rng.integers(len(ids)))], hired_on))
    return pd.DataFrame(out, columns=["cpr", "posting_id", "hired_on"])
