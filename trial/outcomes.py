"""Registry benefit spells → one analysis row per participant (days, status, exit), with every data problem counted.

Time origin is the randomisation date; the index spell is the spell containing it or starting within the protocol's
index window after it; follow-up ends at the spell's end, the data cut or the horizon, whichever comes first.
Beside the rows for time to employment (people with an index spell), the days-on-benefit analyses get everyone
randomised by the data cut (`OutcomeTable.benefit`) and the days each of them spent on any benefit spell
(`OutcomeTable.spans`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from trial.errors import InputError, ParameterError
from trial.protocol import EXIT_ALIASES, UNKNOWN_EXIT_CODES

CENSORED, EVENT, COMPETING = 0, 1, 2

# Data-quality reasons, in the order a reader meets them; every spell row or person lands in at most one of the
# row-level reasons (first match wins), and people without an index spell are counted once.
REASONS = (
    "spell_of_person_not_allocated",
    "spell_starts_after_data_cut",
    "spell_ends_before_it_starts",
    "spell_ends_after_data_cut",
    "exit_given_for_open_spell",
    "exit_missing_for_ended_spell",
    "unknown_exit",
    "overlapping_spells",
    "randomised_after_data_cut",
    "no_index_spell",
    "no_index_spell_counted_as_zero_benefit_days",
    "index_spell_ended_without_known_exit",
)


@dataclass(frozen=True)
class OutcomeRules:
    """What counts as an event and how long follow-up runs; taken from the protocol, overridable from the CLI."""

    event_exits: tuple[str, ...]
    competing_exits: tuple[str, ...]
    horizon_days: int
    index_window_days: int
    as_of: pd.Timestamp
    exit_names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_protocol(
        cls,
        protocol: object,
        as_of: object,
        *,
        horizon_days: int | None = None,
        event_exits: list[str] | None = None,
        competing_exits: list[str] | None = None,
    ) -> OutcomeRules:
        """Rules of a protocol's `outcomes` section. `event_exits` (`--event`) names the event; the other exits of
        the protocol compete unless `competing_exits` (`--competing`) names them. Names may be Danish aliases."""
        outcomes = protocol.outcomes  # type: ignore[attr-defined]
        known = [*outcomes.event_exits, *outcomes.competing_exits]
        canonical = outcomes.exit_names([*known, *EXIT_ALIASES])

        def resolve(names: list[str]) -> tuple[str, ...]:
            return tuple(dict.fromkeys(canonical.get(n.strip().lower(), n.strip().lower()) for n in names))

        events = resolve(event_exits) if event_exits else tuple(outcomes.event_exits)
        competing = resolve(competing_exits) if competing_exits else tuple(e for e in known if e not in events)
        both = sorted(set(events) & set(competing))
        if both:
            raise ParameterError("competing_exits", f"'{both[0]}' is also an event exit; an exit is one or the other")
        return cls(
            event_exits=events,
            competing_exits=competing,
            horizon_days=int(horizon_days or outcomes.horizon_days),
            index_window_days=int(outcomes.index_window_days),
            as_of=pd.Timestamp(as_of).normalize(),
            exit_names=outcomes.exit_names([*events, *competing]),
        )

    @property
    def exits(self) -> tuple[str, ...]:
        """Every exit the analysis knows: events first, then the competing ones."""
        return (*self.event_exits, *self.competing_exits)


@dataclass(frozen=True)
class BenefitSpans:
    """Days on any benefit spell, relative to each person's randomisation: disjoint [start, end) day intervals.

    `person` indexes the rows of `OutcomeTable.benefit`; overlapping spells are merged (a day counts once), and every
    interval is cut to the days observed by the data cut (day 0 to the cut, inclusive).
    """

    person: np.ndarray
    start: np.ndarray
    end: np.ndarray


@dataclass
class OutcomeTable:
    """One row per analysed participant plus the accounting of everyone and every spell row.

    `frame` holds the people with an index spell (time to employment); `benefit` everyone randomised by the data cut
    (days on benefit: no index spell counts as 0 days, an index spell that ended for any reason ended benefit).
    """

    frame: pd.DataFrame
    data_quality: dict[str, int]
    without_outcome: pd.DataFrame
    rules: OutcomeRules
    examples: dict[str, list[int]] = field(default_factory=dict)
    benefit: pd.DataFrame = field(default_factory=pd.DataFrame)
    spans: BenefitSpans = field(default_factory=lambda: BenefitSpans(*(np.zeros(0, np.int64),) * 3))
    unknown_exit_codes: dict[str, int] = field(default_factory=dict)
    exit_column: bool = True


def read_spells(path: str | Path, *, secret: bytes | None = None, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a spells file (person_id or cpr; start; end; exit) into typed columns; CPR numbers become pseudonyms.

    A cpr column needs the trial secret (from `secret`, else `$TRIAL_SECRET`); the CPR numbers are dropped at once.
    """
    from trial.secret import load_secret, pseudonymise
    from trial.tables import read_table, to_dates

    table = read_table(path, required=["start"], optional=["end", "exit", *extra], one_of=[("person_id", "cpr")])
    if "cpr" in table.columns and "person_id" not in table.columns:
        key = secret if secret is not None else load_secret()
        table["person_id"] = pseudonymise(table["cpr"], key, file=table.attrs.get("file"), rows=table["_row"])
        table = table.drop(columns=["cpr"])
    spells = pd.DataFrame(
        {
            "person_id": table["person_id"].astype(str),
            "start": to_dates(table, "start"),
            "end": to_dates(table, "end", allow_empty=True) if "end" in table.columns else pd.NaT,
            "exit": table["exit"].str.lower() if "exit" in table.columns else "",
            "_row": table["_row"],
        }
    )
    for column in extra:
        if column in table.columns:
            spells[column] = table[column]
    spells.attrs["file"] = table.attrs.get("file")
    return spells


def _as_datetimes(values: pd.Series) -> pd.Series:
    """Dates as datetime64; columns read by `trial.tables` already are, and re-parsing 100,000 of them costs time."""
    return values if pd.api.types.is_datetime64_any_dtype(values) else pd.to_datetime(values)


def _day_numbers(values: pd.Series) -> np.ndarray:
    """Calendar dates as whole days since 1970-01-01 (time of day dropped)."""
    return values.to_numpy(dtype="datetime64[D]").astype(np.int64)


def named_exits(spells: pd.DataFrame, rules: OutcomeRules) -> pd.Series:
    """The spells' exit codes as the analysis' exits: Danish aliases and the protocol's codes mapped, codes that say
    "unknown" emptied; a file with exit codes of which none is an exit of the analysis is refused, listing them."""
    codes = spells["exit"].fillna("").astype(str).str.strip().str.lower()
    if not rules.exit_names:
        return codes
    named = codes.map(rules.exit_names).fillna(codes)
    named[codes.isin(UNKNOWN_EXIT_CODES)] = ""
    given = named[named != ""]
    if len(given) and not given.isin(rules.exits).any():
        found = given.value_counts()
        listed = ", ".join(f"'{shorten(code)}' ({n:,})" for code, n in found.head(8).items())
        more = f" and {len(found) - 8} more" if len(found) > 8 else ""
        raise InputError(
            f"no exit code matches the analysis' exits ({', '.join(rules.exits)}); codes found: {listed}{more}; "
            "map them to exits in the protocol's outcomes.exit_codes",
            file=spells.attrs.get("file"), column="exit",
        )  # fmt: skip
    return named


def shorten(code: str, limit: int = 24) -> str:
    """A code as a message quotes it: at most `limit` characters (a cell can hold megabytes)."""
    return code if len(code) <= limit else code[: limit - 1] + "…"


def check_match(spells: pd.DataFrame, code: np.ndarray, people: pd.DataFrame, as_of: pd.Timestamp) -> None:
    """Refuse, in one line with the counts, spells that match no participant or almost none (a wrong secret, a
    wrong file) and a data cut before anyone was randomised."""
    file = spells.attrs.get("file")
    randomised = (people["randomised_on"] <= as_of).to_numpy()
    if not randomised.any():
        first = people["randomised_on"].min()
        raise InputError(
            f"nobody is randomised by the data cut {as_of.date().isoformat()}: the first randomisation is "
            f"{first.date().isoformat()}; is the data cut before the trial started?"
        )
    matched = code >= 0
    if not len(spells):
        raise InputError("holds no spells (a header without rows?): there is nothing to analyse", file=file)
    with_spell = int(randomised[np.unique(code[matched])].sum()) if matched.any() else 0
    # Fewer than one participant in twenty with any spell: the spells belong to other people.
    if with_spell * 20 < int(randomised.sum()):
        detail = "" if not matched.any() else (
            f" ({with_spell:,} of {int(randomised.sum()):,} participants randomised by the data cut have a spell)"
        )
        counted = f"{int(matched.sum()):,} of {len(spells):,} spells match a participant{detail}"
        raise InputError(f"{counted}: wrong secret or wrong file?", file=file)


def build_outcomes(allocations: pd.DataFrame, spells: pd.DataFrame, rules: OutcomeRules) -> OutcomeTable:
    """Pick each participant's index spell and turn it into (time in days, status, exit), counting every problem.

    Rows that cannot be used are counted by reason, never silently dropped: a spell ending after the data cut is
    treated as open at the cut, an ended spell with a missing or unknown exit is censored at its end.
    """
    required = {"person_id", "arm", "randomised_on"}
    missing = required - set(allocations.columns)
    if missing:
        raise InputError(f"allocations lack the column(s) {', '.join(sorted(missing))}")
    for column in ("person_id", "start"):
        if column not in spells.columns:
            raise InputError("required column is missing", file=spells.attrs.get("file"), column=column)
    quality = dict.fromkeys(REASONS, 0)
    examples: dict[str, list[int]] = {}
    spells = spells.copy()
    if "end" not in spells.columns:
        spells["end"] = pd.NaT
    if "exit" not in spells.columns:
        spells["exit"] = ""
    if "_row" not in spells.columns:
        spells["_row"] = np.arange(2, len(spells) + 2)
    spells["exit"] = named_exits(spells, rules)
    has_exit = bool((spells["exit"] != "").any())
    spells["start"] = _as_datetimes(spells["start"])
    spells["end"] = _as_datetimes(spells["end"])
    as_of = rules.as_of

    def count(reason: str, mask: pd.Series) -> None:
        quality[reason] += int(mask.sum())
        if mask.any():
            examples[reason] = [int(r) for r in spells.loc[mask, "_row"].head(5)]

    people = allocations.drop_duplicates("person_id").reset_index(drop=True)
    people["randomised_on"] = _as_datetimes(people["randomised_on"])
    # Work on integer person codes and day numbers: string keys and timestamps are slow at 100,000 people.
    code = pd.Index(people["person_id"]).get_indexer(spells["person_id"])
    check_match(spells, code, people, as_of)
    known_person = pd.Series(code >= 0, index=spells.index)
    count("spell_of_person_not_allocated", ~known_person)
    spells = spells[known_person].assign(_code=code[code >= 0])
    late_start = spells["start"] > as_of
    count("spell_starts_after_data_cut", late_start)
    spells = spells[~late_start]
    backwards = spells["end"].notna() & (spells["end"] < spells["start"])
    count("spell_ends_before_it_starts", backwards)
    spells = spells[~backwards].copy()

    # What was not known at the data cut is treated as not yet happened: the spell is open at the cut.
    late_end = spells["end"] > as_of
    count("spell_ends_after_data_cut", late_end)
    spells.loc[late_end, "end"] = pd.NaT
    spells.loc[late_end, "exit"] = ""
    open_with_exit = spells["end"].isna() & (spells["exit"] != "")
    count("exit_given_for_open_spell", open_with_exit)
    spells.loc[open_with_exit, "exit"] = ""
    ended = spells["end"].notna()
    count("exit_missing_for_ended_spell", ended & (spells["exit"] == ""))
    known_exits = set(rules.event_exits) | set(rules.competing_exits)
    unknown_exit = ended & (spells["exit"] != "") & ~spells["exit"].isin(known_exits)
    count("unknown_exit", unknown_exit)
    unknown_codes = {str(k): int(v) for k, v in spells.loc[unknown_exit, "exit"].value_counts().items()}

    cut = int(_day_numbers(pd.Series([as_of]))[0])
    person = spells["_code"].to_numpy()
    start = _day_numbers(spells["start"])
    # Open spells run on past the data cut; a day number far beyond any date stands for "open".
    is_open = spells["end"].isna().to_numpy()
    end = np.where(is_open, np.iinfo(np.int32).max, _day_numbers(spells["end"].fillna(as_of)))
    rows = spells["_row"].to_numpy()
    order = np.lexsort((rows, start, person))
    person, start, end, rows, is_open = person[order], start[order], end[order], rows[order], is_open[order]
    spells = spells.iloc[order]

    # Overlap: a spell starting on or before the latest end among the same person's earlier spells.
    shifted = end + person.astype(np.int64) * (1 << 33)
    running = np.maximum.accumulate(shifted) - person.astype(np.int64) * (1 << 33)
    same = np.r_[False, person[1:] == person[:-1]]
    previous = np.r_[0, running[:-1]]
    overlap = same & (start <= previous)
    quality["overlapping_spells"] += int(overlap.sum())
    if overlap.any():
        examples["overlapping_spells"] = [int(r) for r in rows[overlap][:5]]

    origin_all = _day_numbers(people["randomised_on"])
    origin = origin_all[person]
    contains = (start <= origin) & (end >= origin)
    soon = (start > origin) & (start <= origin + rules.index_window_days)
    pick = np.flatnonzero(contains | soon)
    # Prefer the spell containing the origin, then the earliest start, then the earliest row.
    ranked = pick[np.lexsort((rows[pick], start[pick], soon[pick], person[pick]))]
    first = ranked[np.r_[True, person[ranked][1:] != person[ranked][:-1]]] if len(ranked) else ranked
    index_of = np.full(len(people), -1)
    index_of[person[first]] = first

    after_cut = origin_all > cut
    quality["randomised_after_data_cut"] = int(after_cut.sum())
    has_index = (index_of >= 0) & ~after_cut
    quality["no_index_spell"] = int((~has_index & ~after_cut).sum())
    without = people.loc[~has_index, ["person_id", "arm"]].assign(
        reason=np.where(after_cut[~has_index], "randomised_after_data_cut", "no_index_spell")
    )

    analysed = people[has_index].reset_index(drop=True)
    chosen = index_of[has_index]
    exits = spells["exit"].to_numpy()[chosen]
    observed_end = np.where(is_open[chosen], cut, end[chosen])
    time = (observed_end - origin_all[has_index]).astype(float)
    status = np.full(len(analysed), CENSORED)
    status[~is_open[chosen] & np.isin(exits, rules.event_exits)] = EVENT
    status[~is_open[chosen] & np.isin(exits, rules.competing_exits)] = COMPETING
    status[time > rules.horizon_days] = CENSORED
    analysed["time"] = np.minimum(time, rules.horizon_days)
    analysed["status"] = status
    analysed["event"] = (status == EVENT).astype(int)
    analysed["exit"] = np.where(status != CENSORED, exits, "")
    analysed["index_row"] = rows[chosen]
    for column in spells.columns:
        if column not in {"person_id", "start", "end", "exit", "_row", "_code"} and column not in analysed.columns:
            analysed[column] = spells[column].to_numpy()[chosen]

    randomised = ~after_cut
    benefit, spans = _benefit_outcomes(
        people, randomised, index_of, origin_all, cut, rules.horizon_days, (person, start, end, is_open)
    )
    quality["no_index_spell_counted_as_zero_benefit_days"] = int((~benefit["has_index_spell"]).sum())
    ended_index = index_of[randomised][benefit["has_index_spell"].to_numpy()]
    unknown = ~is_open[ended_index] & ~np.isin(spells["exit"].to_numpy()[ended_index], list(known_exits))
    quality["index_spell_ended_without_known_exit"] = int(unknown.sum())
    return OutcomeTable(
        analysed, quality, without.reset_index(drop=True), rules, examples, benefit, spans, unknown_codes, has_exit
    )


def _benefit_outcomes(
    people: pd.DataFrame,
    randomised: np.ndarray,
    index_of: np.ndarray,
    origin: np.ndarray,
    cut: int,
    horizon: int,
    spells: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> tuple[pd.DataFrame, BenefitSpans]:
    """Everyone randomised by the cut with their time to any end of the index spell, and their days on any spell.

    Intention to treat, complete: without an index spell a person spent 0 days in it (benefit_time 0, ended), and an
    index spell that ended, whatever its exit (also a missing or unknown one), ended benefit.
    """
    person, start, end, is_open = spells
    keep = np.flatnonzero(randomised)
    chosen = index_of[keep]
    has_index = chosen >= 0
    pick = np.where(has_index, chosen, 0)
    observed = cut - origin[keep]  # the last observed day, counted from randomisation (the cut day is known)
    # Without any usable spell nobody has an index spell; a dummy row keeps the lookups below defined.
    spell_open, spell_end = (is_open, end) if len(end) else (np.zeros(1, dtype=bool), np.zeros(1, dtype=np.int64))
    index_open = has_index & spell_open[pick]
    to_end = np.where(index_open, observed, spell_end[pick] - origin[keep]).astype(float)
    ended = ~index_open & (to_end <= horizon)
    benefit = people.iloc[keep].reset_index(drop=True)
    benefit["benefit_time"] = np.where(has_index, np.minimum(to_end, horizon), 0.0)
    benefit["benefit_ended"] = np.where(has_index, ended, True).astype(int)
    benefit["has_index_spell"] = has_index
    # Days from randomisation to the end of the index spell: inf while open, 0 without one (for receipt).
    benefit["index_end_days"] = np.where(has_index, np.where(index_open, np.inf, to_end), 0.0)
    benefit["observed_days"] = observed + 1

    # Every spell of these people as days from their randomisation, cut to the observed days, merged where overlapping.
    row_of = np.full(len(people), -1)
    row_of[keep] = np.arange(len(keep))
    mine = row_of[person] >= 0
    who = row_of[person[mine]]
    offset = origin[keep][who]
    limit = observed[who] + 1
    a = np.clip(start[mine] - offset, 0, limit)
    b = np.where(is_open[mine], limit, np.clip(end[mine] - offset, 0, limit))
    # Spells come sorted by person and start; a running maximum of ends within a person merges overlaps.
    shift = who.astype(np.int64) * (1 << 33)
    reach = np.maximum.accumulate(b.astype(np.int64) + shift) - shift
    same = np.r_[False, who[1:] == who[:-1]]
    before = np.where(same, np.r_[0, reach[:-1]], 0)
    a = np.maximum(a, before)
    b = np.maximum(b, a)
    used = b > a
    return benefit, BenefitSpans(who[used], a[used].astype(np.int64), b[used].astype(np.int64))
