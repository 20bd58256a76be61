"""Results rendered for the terminal, in one language each: enrolment, status, analysis, savings, power, evaluation.

Every printer takes a finished result and the language; it computes nothing. Numbers go through the one formatter
(`reports.formatting.Numbers`), so the terminal and the report write a figure the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from reports.formatting import Numbers
from trial.results import AnalysisResult, SavingsResult


def console(stderr: bool = False) -> Any:
    """A rich console; captured or piped output is not squeezed to 80 columns ($COLUMNS still wins)."""
    from rich.console import Console

    made = Console(stderr=stderr, highlight=False)
    return made if made.is_terminal or "COLUMNS" in os.environ else Console(stderr=stderr, width=130,
                                                                            highlight=False)


def _table(title: str, headers: Sequence[str]) -> Any:
    """A rich table: the first column left-aligned, the others (numbers) right-aligned."""
    from rich.table import Table

    table = Table(title=title)
    for i, header in enumerate(headers):
        table.add_column(header, justify="right" if i else "left")
    return table


def _say(out: Any, line: str) -> None:
    # Lines are never wrapped: a path or a figure broken over two lines cannot be copied or searched.
    out.print(line, markup=False, highlight=False, soft_wrap=True)


# --- enrolment and status -----------------------------------------------------------------------------------------


def show_enrolment(summary: Mapping[str, Any], lang: str, out: Any = None) -> None:
    """What one `trial enrol` run did: rows read, exclusions by reason, people kept and newly enrolled by arm.

    `summary` holds file, as_of, read, duplicate_rows, excluded ({reason: (label, n)}), already_enrolled, enrolled
    ({arm: n}) and, when a list was written, roster_written ({path, n, treatment_only}).
    """
    out = out or console()
    f = Numbers(lang)
    da = lang == "da"
    _say(out, f"{summary['file']}: " + (f"{f.count(summary['read'])} rækker læst (lodtrækningsdato {summary['as_of']})"
                                       if da else f"read {f.count(summary['read'])} rows (enrolment date "
                                       f"{summary['as_of']})"))
    if summary.get("blank_rows"):
        _say(out, f"  {f.words('tomme rækker sprunget over', 'blank rows skipped')}: {f.count(summary['blank_rows'])}")
    if summary.get("duplicate_rows"):
        _say(out, f"  {f.words('ens dubletrækker ignoreret', 'identical duplicate rows ignored')}: "
                  f"{f.count(summary['duplicate_rows'])}")
    excluded = summary.get("excluded", {})
    _say(out, f"  {f.words('udelukket', 'excluded')}: {f.count(sum(n for _, n in excluded.values()))}")
    for code, (label, n) in excluded.items():
        _say(out, f"    {label} [{code}]: {f.count(n)}")
    _say(out, f"  {f.words('allerede tilmeldt (arm beholdt)', 'already enrolled (arm kept)')}: "
              f"{f.count(summary['already_enrolled'])}")
    enrolled = summary.get("enrolled", {})
    arms = ", ".join(f"{arm} {f.count(n)}" for arm, n in enrolled.items())
    _say(out, f"  {f.words('nye i forsøget', 'newly enrolled')}: {f.count(sum(enrolled.values()))} ({arms})")
    for written in summary.get("lists", []):
        _say(out, f"  {written}")


def show_status(report: Mapping[str, Any], arms: Sequence[str], lang: str, out: Any = None) -> None:
    """The analyst's overview of a ledger: enrolled by arm, week and stratum, the largest imbalance, SMDs."""
    out = out or console()
    f = Numbers(lang)
    protocol = report["protocol"]
    by_arm = ", ".join(f"{a} {f.count(n)}" for a, n in report["by_arm"].items())
    _say(out, f"{protocol['id']} {protocol['version']}: {f.count(report['enrolled'])} "
              f"{f.words('i forsøget', 'enrolled')} — {by_arm}")
    worst = report["largest_imbalance"]
    block = report["largest_block"]
    _say(out, f.words(
        f"største skævhed i et stratum: {worst['difference']} ({worst['stratum']}); største blok {block}, "
        f"så højst {block // 2} er forventet",
        f"largest imbalance within a stratum: {worst['difference']} ({worst['stratum']}); largest block {block}, "
        f"so at most {block // 2} is expected",
    ))
    for title, key, first in (
        (f.words("Tilmeldt pr. ISO-uge", "Enrolled by ISO week"), "by_week", f.words("uge", "week")),
        (f.words("Tilmeldt pr. stratum", "Enrolled by stratum"), "by_stratum", "stratum"),
    ):
        table = _table(title, [first, *arms])
        for label, counts in report[key].items():
            table.add_row(label, *(f.count(counts.get(a, 0)) for a in arms))
        out.print(table)
    withdrawn = report.get("withdrawn")
    if withdrawn is not None:
        _say(out, f"{f.words('udtrådt (bliver i analysen)', 'withdrawn (stay in the analysis)')}: "
                  + ", ".join(f"{a} {f.count(withdrawn.get(a, 0))}" for a in arms))
    balance = _table(
        f.words(f"Balance ved baseline (standardiseret middelforskel, {arms[0]} mod {arms[1]})",
                f"Baseline balance (standardised mean difference, {arms[0]} vs {arms[1]})"),
        [f.words("variabel", "variable"), f.words("niveau", "level"), *arms, "SMD"],
    )
    for row in report["balance"]:
        if row["kind"] == "numeric":
            cells = [f"{f.number(row['arms'][a]['mean'])} ({f.number(row['arms'][a]['sd'])})" for a in arms]
        else:
            cells = [f"{f.count(row['arms'][a]['n'])} ({f.percent(row['arms'][a]['share'], sign=True)})" for a in arms]
        smd = f.number(row["smd"], 3)
        balance.add_row(row["variable"], row["level"] or f.words("gns. (sd)", "mean (sd)"), *cells,
                        smd if smd.startswith("-") else "+" + smd)
    out.print(balance)
    _say(out, f"{f.words('ledgerens hoved', 'ledger head')} {report['ledger_head']}")


# --- analysis -----------------------------------------------------------------------------------------------------


def show_analysis(result: AnalysisResult, labels: Mapping[str, str], title: str, lang: str, out: Any = None) -> None:
    """The main estimates of an analysis: a table by arm, then the effects line by line."""
    out = out or console()
    f = Numbers(lang)
    meta = result.meta
    level = f.percent(meta.confidence_level, 0, sign=True)
    table = _table(
        f.words(f"{title} — dataudtræk {meta.as_of}, horisont {meta.horizon_days} dage",
                f"{title} — data cut {meta.as_of}, horizon {meta.horizon_days} days"),
        [
            "Arm",
            "n",
            f.words("I job", "Employed"),
            f.words("Median, dage", "Median days"),
            f.words("Dage ledig (RMST)", "Days unemployed (RMST)"),
            f.words(f"Beskæftigelsesfrekvens, {level} KI", f"Employment rate, {level} CI"),
            f.words("Andel af tiden ledig", "Share of time unemployed"),
        ],
    )
    for arm in (meta.arms.control, meta.arms.treatment):
        a = result.arms[arm]
        table.add_row(
            f"{labels.get(arm, arm)} ({arm})",
            f.count(a.n),
            f.count(a.events),
            f.number(a.median_days, 0),
            f"{f.number(a.rmst_days)} ± {f.number(a.rmst_se)}",
            f"{f.percent(a.employment_rate, sign=True)} [{f.interval(a.employment_rate_ci, scale=100)}]",
            f.percent(a.unemployed_share, sign=True),
        )
    out.print(table)
    e = result.effects
    ci = f.words("KI", "CI")
    ds, hr, hra = e.days_saved, e.hazard_ratio, e.hazard_ratio_adjusted
    lines = [
        f"{f.words('Dage sparet', 'Days saved')}: {f.number(ds.estimate)} ({level} {ci} {f.interval(ds.ci)}), "
        f"p {f.pvalue(ds.p)}; bootstrap {f.interval(ds.ci_bootstrap)} "
        + f.words(f"({meta.bootstrap.replicates} gentagelser, frø {meta.bootstrap.seed})",
                  f"({meta.bootstrap.replicates} replicates, seed {meta.bootstrap.seed})"),
        f"Hazard ratio: {f.number(hr.estimate, 3)} ({f.interval(hr.ci, 3)}), p {f.pvalue(hr.p)}; "
        f"{f.words('justeret', 'adjusted')} {f.number(hra.estimate, 3)} ({f.interval(hra.ci, 3)}), "
        f"p {f.pvalue(hra.p)}",
        f"Log-rank: chi² {f.number(e.logrank.statistic, 3)}, p {f.pvalue(e.logrank.p)}"
        + (f"; {f.words('stratificeret', 'stratified')} chi² {f.number(e.logrank_stratified.statistic, 3)}, "
           f"p {f.pvalue(e.logrank_stratified.p)}" if e.logrank_stratified else ""),
        f"{f.words('Beskæftigelsesfrekvens, forskel', 'Employment rate, difference')}: "
        f"{f.number(_times(e.employment_rate_difference.estimate, 100))} "
        f"{f.words('procentpoint', 'percentage points')} ({f.interval(e.employment_rate_difference.ci, scale=100)})",
        f"{f.words('Proportionale hazards (Schoenfeld)', 'Proportional hazards (Schoenfeld)')}: "
        f"p {f.pvalue(e.ph_test.p)}",
    ]
    if e.cace_days_saved is not None and e.cace_days_saved.estimate is not None:
        c = e.cace_days_saved
        lines.append(f"{f.words('Dage sparet blandt modtagere (CACE)', 'Days saved among compliers (CACE)')}: "
                     f"{f.number(c.estimate)} ({f.interval(c.ci)})")
    if e.binary is not None and e.binary.difference is not None:
        b = e.binary.difference
        lines.append(f"{e.binary.name}: {f.words('forskel', 'difference')} {f.number(_times(b.estimate, 100))} "
                     f"{f.words('procentpoint', 'percentage points')} ({f.interval(b.ci, scale=100)})")
    interim = result.interim
    if interim is not None and interim.look:
        lines.append(f.words(
            f"Planlagt analyse {interim.look} af {interim.of}: grænse |z| ≥ {f.number(interim.z_boundary, 3)} "
            f"(p < {f.number(interim.p_boundary_two_sided, 4)}, {interim.spending})",
            f"Planned look {interim.look} of {interim.of}: efficacy boundary |z| ≥ "
            f"{f.number(interim.z_boundary, 3)} (p < {f.number(interim.p_boundary_two_sided, 4)}, "
            f"{interim.spending} spending)",
        ))
    problems = {k: v for k, v in result.data_quality.items() if v}
    lines.append(f"{f.words('Datakvalitet', 'Data quality')}: "
                 + (", ".join(f"{k} {f.count(v)}" for k, v in problems.items()) if problems
                    else f.words("ingen problemer fundet", "no problems found")))
    lines += [f"{f.words('Note', 'Note')}: {note}" for note in result.notes]
    for line in lines:
        _say(out, line)


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


# --- savings ------------------------------------------------------------------------------------------------------


def show_savings(r: SavingsResult, title: str, lang: str, out: Any = None) -> None:
    """Kroner a year per target group with break-even, and the conversations model when the protocol has one."""
    out = out or console()
    f = Numbers(lang)

    def money(x: float | None) -> str:
        return f.money(x, r.currency)

    out.print(f"[bold]{title}[/bold]")
    ds = r.days_saved
    if ds is not None:
        span = "" if ds.ci is None else f" (95% {f.words('KI', 'CI')} {f.interval(ds.ci, 2)})"
        _say(out, f"{f.words('Sparede dage pr. forløb', 'Days saved per spell')}: {f.number(ds.estimate, 2)}{span}")
    haircut = f.number(r.haircut * 100, 0)
    _say(out, f"{f.words('Investering', 'Investment')}: {money(r.investment)}"
              + (f" ({r.investment_note})" if r.investment_note else "")
              + (f"; {f.words('konservativ faktor', 'haircut')} {haircut}%" if r.haircut != 1 else ""))
    if r.target_groups:
        unit = "kr." if lang == "da" and r.currency == "DKK" else r.currency
        table = _table(
            f"{f.words('Besparelse pr. år', 'Savings per year')} ({unit})",
            [
                f.words("Målgruppe", "Target group"),
                f.words("Forløb/år × dagspris", "Spells/year × daily cost"),
                f.words("Pr. sparet dag", "Per day saved"),
                f.words("Skøn", "Estimate"),
                f.words("Nedre 95%", "Lower 95%"),
                f.words("Øvre 95%", "Upper 95%"),
                f.words("Break-even (dage)", "Break-even (days)"),
            ],
        )
        for g in r.target_groups:
            parts = " + ".join(f"{f.count(c.spells_per_year)} × {f.count(c.daily_cost)}" for c in g.components)
            low, high = g.per_year.ci or (None, None)
            table.add_row(
                _label(g, lang),
                parts,
                f.number(g.per_day_saved, 0),
                f.number(g.per_year.estimate, 0),
                f.number(low, 0),
                f.number(high, 0),
                f.number(g.break_even_days, 3),
            )
        out.print(table)
        if ds is not None and ds.ci is not None:
            lower = f.number(ds.ci[0], 2)
            for g in r.target_groups:
                even = f.number(g.break_even_days, 3)
                if g.ci_above_break_even:
                    _say(out, f"{_label(g, lang)}: " + f.words(
                        f"nedre grænse {lower} dage ≥ break-even {even} dage: investeringen er tjent hjem på et år.",
                        f"lower bound {lower} days ≥ break-even {even} days: the investment pays back within a year.",
                    ))
                elif g.ci_above_break_even is False:
                    _say(out, f"{_label(g, lang)}: " + f.words(
                        f"nedre grænse {lower} dage < break-even {even} dage: tilbagebetaling på et år er ikke sikret.",
                        f"lower bound {lower} days < break-even {even} days: payback within a year is not yet "
                        "secured.",
                    ))
        if len(r.target_groups) > 1:
            _say(out, f.words("Målgrupperne er alternative afgrænsninger (de overlapper) og lægges ikke sammen.",
                              "Target groups are alternative scopes (they overlap) and are not added up."))
    conv = r.conversations
    if conv is not None:
        table = _table((conv.label_da if lang == "da" else conv.label_en) or "Conversations",
                       ["", f.words("Skøn", "Estimate"), "95% " + f.words("KI", "CI")])

        def pct(x: float | None) -> str:
            return f.percent(x, 1, sign=True)

        source = {"hypothesis": f.words("hypotese", "hypothesis"), "given": f.words("angivet", "given")}
        table.add_row(f"{f.words('Ekstra andel selvhjulpne', 'Extra share self-reliant')} "
                      f"({source[conv.share_source]})", pct(conv.share), _span(conv.share_ci, pct))
        table.add_row(f.words("Samtaler undgået pr. år", "Conversations avoided per year"),
                      f.count(conv.conversations_avoided.estimate),
                      _span(conv.conversations_avoided.ci, f.count))
        table.add_row(f.words("Besparelse pr. år", "Savings per year"), money(conv.per_year.estimate),
                      _span(conv.per_year.ci, money))
        table.add_row(f.words("Årsværk frigjort", "Full-time equivalents freed"), f.number(conv.fte_freed.estimate),
                      _span(conv.fte_freed.ci, f.number))
        table.add_row(f.words("Break-even-andel", "Break-even share"), pct(conv.break_even_share or 0), "")
        if conv.suppliers is not None:
            table.add_row(f.words("Leverandørernes skøn efter faktor", "Suppliers' estimate after haircut"),
                          f"{money(conv.suppliers.low_after_haircut)} – {money(conv.suppliers.high_after_haircut)}",
                          "")
        out.print(table)
        hours = f.words("timer", "h")
        _say(out, f"{f.count(conv.eligible_per_year)} × {f.number(conv.conversations_per_citizen, 2)} "
                  + f.words("samtaler × andel; ", "conversations × share; ")
                  + f"{money(conv.cost_per_conversation)} " + f.words("pr. samtale; ", "per conversation; ")
                  + f"{f.number(conv.hours_per_conversation, 1)} {hours} / {f.count(conv.hours_per_fte)} {hours} "
                  + f.words("pr. årsværk (antagelser i protokollen).", "per FTE (assumptions in the protocol)."))


def _label(group: Any, lang: str) -> str:
    return (group.label_da if lang == "da" else group.label_en) or group.id


def _span(pair: Any, fmt: Any) -> str:
    return "–" if pair is None or None in pair else f"{fmt(pair[0])} – {fmt(pair[1])}"


# --- power --------------------------------------------------------------------------------------------------------

_TEST_NAMES = {
    "rmst": ("Sparede dage (RMST)", "Days saved (RMST)"),
    "logrank": ("Log-rank (Schoenfeld)", "Log-rank (Schoenfeld)"),
    "employment_frequency": ("Beskæftigelsesfrekvens", "Employment frequency"),
}


def show_power(r: Mapping[str, Any], title: str, lang: str, out: Any = None) -> None:
    """Sizes needed, effects detectable, interim inflation and the plain statement of `trial power`."""
    out = out or console()
    f = Numbers(lang)
    c = r["control"]
    out.print(f"[bold]{title}[/bold]")
    sided = f.words("tosidet", "two-sided") if r["sided"] == 2 else f.words("ensidet", "one-sided")
    _say(out, f"alpha {f.number(r['alpha'], 3)} ({sided}), {f.words('styrke', 'power')} "
              f"{f.number(r['power'] * 100, 0)}%, {f.words('horisont', 'horizon')} {r['horizon_days']} "
              f"{f.words('dage', 'days')}")
    assumed = f.words(" — antaget standard", " — assumed default") if c.get("assumed_default") else ""
    _say(out, f"{f.words('Kontrolgruppe', 'Control arm')}: {c['source']}{assumed}; RMST {f.number(c['rmst_days'])} "
              f"{f.words('dage', 'days')}; {f.words('i job ved horisonten', 'employed by the horizon')} "
              f"{f.number(c['employment_frequency'] * 100)}%")

    def test_name(test: str) -> str:
        return _TEST_NAMES[test][0 if lang == "da" else 1]

    def effect_text(block: Mapping[str, Any]) -> str:
        return (f"{f.number(block['days_saved'], 2)} {f.words('sparede dage', 'days saved')} = hazard ratio "
                f"{f.number(block['hazard_ratio'], 3)}; {f.words('i job', 'employed')} "
                f"{f.number(block['employment_frequency_control'] * 100)}% → "
                f"{f.number(block['employment_frequency_treatment'] * 100)}%")

    def requirement_table(block: Mapping[str, Any], heading: str) -> None:
        table = _table(heading, ["Test", f.words("Pr. arm", "Per arm"), f.words("I alt", "Total"),
                                 f.words("Hændelser", "Events"), f.words("Måneders optag", "Months of enrolment")])
        for t in block["tests"]:
            table.add_row(test_name(t["test"]), f.count(t["n_per_arm"]), f.count(t["n_total"]),
                          f.count(t.get("events")), f.number(t["enrolment_months"]))
        out.print(table)

    req = r.get("required")
    if req is not None:
        requirement_table(req, f.words("Nødvendig størrelse for ", "Size needed for ") + effect_text(req))
    if req is None or abs(req["days_saved"] - 1.0) > 1e-6:
        requirement_table(r["one_day"], f.words("Til sammenligning, én dag: ", "For comparison, one day: ")
                          + effect_text(r["one_day"]))
    det = r.get("detectable")
    if det is not None:
        table = _table(
            f.words(f"Påviselig effekt med {f.count(det['n_per_arm'])} pr. arm",
                    f"Detectable effect with {f.count(det['n_per_arm'])} per arm"),
            ["Test", f.words("Sparede dage", "Days saved"), "Hazard ratio",
             f.words("I job, kontrol → indsats", "Employed, control → treatment")],
        )
        for t in det["tests"]:
            if t.get("hazard_ratio") is None:
                table.add_row(test_name(t["test"]), "–", "–", "–")
                continue
            table.add_row(test_name(t["test"]), f.number(t["days_saved"], 2), f.number(t["hazard_ratio"], 3),
                          f"{f.number(t['employment_frequency_control'] * 100)}% → "
                          f"{f.number(t['employment_frequency_treatment'] * 100)}%")
        out.print(table)
    b = r.get("binary")
    if b is not None:
        label = b["label_da"] if lang == "da" else b["label_en"]
        line = (f"{f.words('Primært udfald', 'Primary outcome')}: {label or b['name']}: "
                f"{f.number(b['control'] * 100, 0)}% → {f.number(b['treatment'] * 100, 0)}%: "
                f"{f.count(b['n_per_arm'])} {f.words('pr. arm', 'per arm')}")
        if b.get("detectable_treatment") is not None:
            line += (f"; {f.words('påviseligt', 'detectable')}: {f.number(b['control'] * 100, 0)}% → "
                     f"{f.number(b['detectable_treatment'] * 100)}%")
        _say(out, line)
    interim = r.get("interim")
    if interim is not None:
        zs = ", ".join(f.number(z, 3) for z in interim["z_boundaries"])
        looks = ", ".join(str(m) for m in interim["looks_months"])
        factor = f.number(interim["inflation_factor"], 3)
        _say(out, f.words(
            f"Mellemanalyser efter {looks} måneder ({interim['spending']}, Lan-DeMets): z-grænser {zs}; "
            f"størrelsen ganges med {factor}.",
            f"Interim looks at {looks} months ({interim['spending']}, Lan-DeMets): z boundaries {zs}; "
            f"multiply the sizes by {factor}.",
        ))
    _say(out, power_statement(r, lang))


def power_statement(r: Mapping[str, Any], lang: str) -> str:
    """What the expected inflow can and cannot detect, in plain words."""
    f = Numbers(lang)
    one = next(t for t in r["one_day"]["tests"] if t["test"] == "rmst")
    inflow = r["inflow_per_month"]
    power = f.percent(r["power"], 0, sign=True)
    flow = f.short(inflow)
    out = [f.words(
        f"At påvise én sparet dag (RMST til {r['horizon_days']} dage) med {power} styrke kræver "
        f"{f.count(one['n_per_arm'])} deltagere pr. arm ({f.count(one['n_total'])} i alt)",
        f"Detecting one day saved (RMST to {r['horizon_days']} days) with {power} power needs "
        f"{f.count(one['n_per_arm'])} participants per arm ({f.count(one['n_total'])} in all)",
    )]
    if inflow:
        years = f.number(one["n_total"] / inflow / 12)
        out[-1] += f.words(f": {years} års tilgang med {flow} egnede om måneden.",
                           f": {years} years of an inflow of {flow} eligible a month.")
    else:
        out[-1] += "."
    det = r.get("detectable")
    if det:
        rm = next(t for t in det["tests"] if t["test"] == "rmst")
        lr = next(t for t in det["tests"] if t["test"] == "logrank")
        months = f.short(det["enrolment_months"])
        how = (
            f.words(f"{months} måneders optag med {flow} om måneden", f"{months} months of enrolment at {flow} a month")
            if det["origin"] == "inflow"
            else f.words("den angivne størrelse", "the given size")
        )
        if rm.get("hazard_ratio"):
            out.append(f.words(
                f"Med {f.count(det['n_per_arm'])} pr. arm ({how}) kan forsøget påvise {f.number(rm['days_saved'])} "
                f"sparede dage (hazard ratio {f.number(rm['hazard_ratio'], 2)}); log-rank-testen en hazard ratio på "
                f"{f.number(lr['hazard_ratio'], 2)}; mindre effekter kan det ikke påvise sikkert.",
                f"With {f.count(det['n_per_arm'])} per arm ({how}) the trial can detect {f.number(rm['days_saved'])} "
                f"days saved (hazard ratio {f.number(rm['hazard_ratio'], 2)}); the log-rank test a hazard ratio of "
                f"{f.number(lr['hazard_ratio'], 2)}; smaller effects it cannot detect reliably.",
            ))
    req = r.get("required")
    if req and inflow and req is not r["one_day"] and req != r["one_day"]:
        rq = next(t for t in req["tests"] if t["test"] == "rmst")
        days = f.short(req["days_saved"], 2)
        follow = f.number(r["follow_up_months"], 0)
        out.append(f.words(
            f"{days} sparede dage kræver {f.count(rq['n_per_arm'])} pr. arm: {f.number(rq['enrolment_months'])} "
            f"måneders optag plus {follow} måneders opfølgning.",
            f"{days} days saved needs {f.count(rq['n_per_arm'])} per arm: {f.number(rq['enrolment_months'])} "
            f"months of enrolment plus {follow} months follow-up.",
        ))
    b = r.get("binary")
    if b:
        out.append(f.words(
            f"Primært udfald '{b['name']}' {f.percent(b['control'], 0, sign=True)} → "
            f"{f.percent(b['treatment'], 0, sign=True)}: {f.count(b['n_per_arm'])} pr. arm.",
            f"Primary outcome '{b['name']}' {f.percent(b['control'], 0, sign=True)} → "
            f"{f.percent(b['treatment'], 0, sign=True)}: {f.count(b['n_per_arm'])} per arm.",
        ))
    return " ".join(out)


# --- the matcher's evaluation -------------------------------------------------------------------------------------


def show_evaluation(result: Mapping[str, Any], lang: str, out: Any = None) -> None:
    """NDCG@10, Recall@10, MRR, alternatives and exposure of the model, the automatch and (when evaluated) the model
    under its cap, on held-out hires.
    """
    out = out or console()
    f = Numbers(lang)
    t = result["test"]
    _say(out, f.words(
        f"tilbageholdte ansættelser efter {t['since']}: {f.count(t['hires'])} (ansættelsen blandt kandidaterne: "
        f"{f.percent(t['hire_among_candidates'], 0, sign=True)})",
        f"held-out hires after {t['since']}: {f.count(t['hires'])} (hire among the candidates: "
        f"{f.percent(t['hire_among_candidates'], 0, sign=True)})",
    ))
    table = _table("", ["", "NDCG@10", "Recall@10", "MRR", f.words("alternativer", "alternatives"),
                        *_exposure_headers(f)])
    cap = result.get("cap")
    names = {"model": "model", "baseline": "automatch"}
    if cap:
        names["model_capped"] = f"model, {f.words('loft', 'cap')} {cap['max_per_posting']}"
    for name, label in names.items():
        r = result[name]
        table.add_row(label, f.number(r["ndcg_at_10"], 3), f.number(r["recall_at_10"], 3), f.number(r["mrr"], 3),
                      f.percent(r["alternative_share"], 0, sign=True), *_exposure_cells(r["exposure"], f))
    out.print(table)
    window = cap["window_days"] if cap else None
    _say(out, f.words(
        f"eksponering: borgere pr. vist opslag inden for {window or 14} dage; top 1 % = andel af pladserne til de mest "
        "viste 1 % af opslagene; dækning = andel af de åbne opslag, der blev vist",
        f"exposure: citizens per shown posting within {window or 14} days; top 1% = share of slots taken by the "
        "most-shown 1% of postings; coverage = share of open postings shown",
    ))
    if result.get("ndcg_ratio") is not None:
        _say(out, f"NDCG@10 model / automatch: {f.number(result['ndcg_ratio'], 2)}")
    if cap and cap.get("ndcg_kept") is not None:
        _say(out, f.words(
            f"NDCG@10 med loft / uden loft: {f.number(cap['ndcg_kept'], 2)}; med loft / automatch: "
            f"{f.number(cap['ndcg_ratio'], 2)}",
            f"NDCG@10 capped / uncapped: {f.number(cap['ndcg_kept'], 2)}; capped / automatch: "
            f"{f.number(cap['ndcg_ratio'], 2)}",
        ))


def _exposure_headers(f: Numbers) -> list[str]:
    return [f.words("maks. pr. opslag", "max per posting"), f.words("gns.", "mean"), "Gini", "top 1 %",
            f.words("dækning", "coverage")]


def _exposure_cells(e: Mapping[str, Any], f: Numbers) -> list[str]:
    return [f.count(e["max_per_posting"]), f.number(e["mean_per_posting"], 1), f.number(e["gini"], 2),
            f.percent(e["top1pct_share"], 1, sign=True), f.percent(e["coverage"], 1, sign=True)]


def show_recommendation_summary(summary: Mapping[str, Any], lang: str, out: Any = None) -> None:
    """Exposure of one `recommend` run: the lists served, the model's lists without the cap and Jobnet's automatch
    for the same citizens, and the most citizens any posting reached in the window with earlier runs counted.
    """
    out = out or console()
    f = Numbers(lang)
    cap = summary.get("cap")
    table = _table("", ["", f.words("alternativer", "alternatives"), *_exposure_headers(f)])
    rows = [(f.words("vist", "served") + (f" ({f.words('loft', 'cap')} {cap['max_per_posting']})" if cap else ""),
             summary["alternative_share"], summary["model"])]
    if summary.get("model_uncapped"):
        rows.append((f.words("model uden loft", "model without cap"), None, summary["model_uncapped"]))
    rows.append(("automatch", summary["automatch_alternative_share"], summary["automatch"]))
    for label, alternatives, exposure in rows:
        table.add_row(label, f.percent(alternatives, 0, sign=True), *_exposure_cells(exposure, f))
    out.print(table)
    if cap:
        _say(out, f.words(
            f"loft {cap['max_per_posting']} borgere pr. opslag inden for {cap['window_days']} dage: højst "
            f"{f.count(summary['window_max_per_posting'])} med tidligere kørsler; "
            f"{f.percent(summary['changed_slots'], 1, sign=True)} af pladserne flyttet af loftet",
            f"cap {cap['max_per_posting']} citizens per posting within {cap['window_days']} days: at most "
            f"{f.count(summary['window_max_per_posting'])} with earlier runs counted; "
            f"{f.percent(summary['changed_slots'], 1, sign=True)} of slots moved by the cap",
        ))
    if summary.get("short_lists"):
        _say(out, f.words(f"{f.count(summary['short_lists'])} borgere fik færre forslag end bedt om",
                          f"{f.count(summary['short_lists'])} citizens got fewer postings than asked for"))
