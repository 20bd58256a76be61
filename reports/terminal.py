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

    `summary` holds file, as_of, read, blank_rows, duplicate_rows, excluded ({reason: (label, n)}), already_enrolled,
    enrolled ({arm: n}) and lists (one line per list written).
    """
    out = out or console()
    f = Numbers(lang)
    da = lang == "da"
    _say(out, f"{summary['file']}: " + (f"{f.count(summary['read'])} rækker læst (lodtrækningsdato {summary['as_of']})"
                                       if da else f"read {f.count(summary['read'])} rows (enrolment date "
                                       f"{summary['as_of']})"))
    if not summary["read"]:
        _say(out, "  " + f.words("filen har kun en overskrift og ingen datarækker: ingen at vurdere",
                                 "the file has a header but no data rows: no one to assess"))
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
    screened, handled = report.get("screening"), report.get("data_handling")
    if screened is not None and handled is not None:
        excluded = ", ".join(f"{code} {f.count(n)}" for code, n in screened["excluded"].items()) or "-"
        _say(out, f.words("Personer vurderet", "People assessed") + f" {f.count(screened['assessed'])}: "
                  + f.words("egnede", "eligible") + f" {f.count(screened['eligible'])}, "
                  + f.words("udelukket", "excluded") + f" ({excluded}), "
                  + f.words("i forsøget", "enrolled") + f" {f.count(screened['enrolled'])}")
        _say(out, "  " + f.words("databehandling, ikke personer", "data handling, not people") + ": "
                  + f"{f.count(handled['runs'])} " + f.words("kørsler", "runs")
                  + f" ({f.count(handled['reruns'])} " + f.words("gentaget", "repeated") + "), "
                  + f"{f.count(handled['rows_read'])} " + f.words("rækker læst", "rows read") + ", "
                  + f"{f.count(handled['already_enrolled'])} " + f.words("allerede tilmeldt", "already enrolled") + ", "
                  + f"{f.count(handled['duplicate_rows'])} " + f.words("dubletter", "duplicates") + ", "
                  + f"{f.count(handled['blank_rows'])} " + f.words("tomme", "blank"))
        if handled["runs_counted_as_rows"]:
            _say(out, "  " + f.words(
                f"{handled['runs_counted_as_rows']} kørsler fra før screeningsnøglerne tælles som rækker",
                f"{handled['runs_counted_as_rows']} runs recorded before screening tokens are counted as rows",
            ))
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
                        smd if row["smd"] is None or smd.startswith("-") else "+" + smd)
    out.print(balance)
    if report.get("clusters") is not None:
        show_clusters(report, arms, f, out)
    _say(out, f"{f.words('ledgerens hoved', 'ledger head')} {report['ledger_head']}")


def show_clusters(report: Mapping[str, Any], arms: Sequence[str], f: Numbers, out: Any) -> None:
    """A two-stage ledger's clusters by saturation: the drawn share beside the enrolled and treated share."""
    table = _table(f.words("Klynger efter mætning (planlagt andel i indsatsgruppen)",
                           "Clusters by saturation (planned treated share)"),
                   [f.words("klynge", "cluster"), f.words("mætning", "saturation"), f.words("tilmeldt", "enrolled"),
                    f.words("i indsatsgruppen", "treated"), f.words("andel", "share")])
    for row in report["clusters"]:
        table.add_row(row["cluster"], f.percent(row["saturation"], 0, sign=True), f.count(row["enrolled"]),
                      f.count(row["treated"]), f.percent(row["treated_share"], 1, sign=True))
    out.print(table)
    _say(out, f.words("Pr. mætning", "By saturation") + ": " + "; ".join(
        f"{f.percent(float(level), 0, sign=True)}: {f.count(b['clusters'])} "
        + f.words("klynger", "clusters") + f", {f.count(b['enrolled'])} " + f.words("tilmeldt", "enrolled")
        + f", {f.percent(b['treated_share'], 1, sign=True)} " + f.words("i indsatsgruppen", "treated")
        for level, b in report["by_saturation"].items()))


# --- analysis -----------------------------------------------------------------------------------------------------


def show_analysis(result: AnalysisResult, labels: Mapping[str, str], title: str, lang: str, out: Any = None) -> None:
    """The main estimates of an analysis: a table by arm, then the primary effect and the others line by line."""
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
            f.words("Median, dage til job", "Median days to a job"),
            f.words("Dage på ydelse (RMST)", "Days on benefit (RMST)"),
            f.words("Dage til job (RMST)", "Days to a job (RMST)"),
            f.words(f"Beskæftigelsesfrekvens, {level} KI", f"Employment rate, {level} CI"),
            f.words("Andel af horisonten i indeksforløbet", "Share of the horizon in the index spell"),
        ],
    )
    for arm in (meta.arms.control, meta.arms.treatment):
        a = result.arms[arm]
        on_benefit = a.benefit_days
        table.add_row(
            f"{labels.get(arm, arm)} ({arm})",
            f.count(a.n),
            f.count(a.events),
            f.number(a.median_days, 0),
            "–" if on_benefit is None else f"{f.number(on_benefit.estimate)} ± {f.number(on_benefit.se)}",
            f"{f.number(a.rmst_days)} ± {f.number(a.rmst_se)}",
            f"{f.percent(a.employment_rate, sign=True)} [{f.interval(a.employment_rate_ci, scale=100)}]",
            f.percent(a.unemployed_share, sign=True),
        )
    out.print(table)
    for line in _effect_lines(result, f, level):
        _say(out, line)


def _days_line(label: str, effect: Any, adjusted: Any, f: Numbers, level: str) -> str:
    """A days-saved effect with its interval, p, bootstrap interval and the strata-adjusted estimate."""
    ci = f.words("KI", "CI")
    if effect is None or effect.estimate is None:
        return f"{label}: {f.words('kan endnu ikke estimeres', 'not yet estimable')}"
    line = f"{label}: {f.number(effect.estimate)} ({level} {ci} {f.interval(effect.ci)}), p {f.pvalue(effect.p)}"
    if getattr(effect, "ci_bootstrap", (None, None))[0] is not None:
        line += f"; bootstrap {f.interval(effect.ci_bootstrap)}"
    if adjusted is not None and adjusted.estimate is not None:
        line += f"; {f.words('justeret for strata', 'adjusted for strata')} {f.number(adjusted.estimate)} " \
                f"({f.interval(adjusted.ci)})"
    return line


_DECISIONS = {
    "continue": ("grænsen er ikke krydset; forsøget fortsætter", "not crossed; the trial continues"),
    "stop_for_benefit": ("krydset for gavn; designet giver grundlag for at stoppe",
                         "crossed for benefit; the design supports stopping"),
    "stop_for_harm": ("krydset for skade; designet giver grundlag for at stoppe",
                      "crossed for harm; the design supports stopping"),
}


def _decision_line(interim: Any, f: Numbers) -> str:
    """What the look decided: its number, the primary test's z against the boundary, and the decision."""
    if interim.look == 0:
        return f.words("Før første planlagte analyse: ingen formel test; forsøget fortsætter",
                       "Before the first planned look: no formal test; the trial continues")
    where = f.words(f"Analyse {interim.look} af {interim.of}", f"Look {interim.look} of {interim.of}")
    if not interim.planned_months:
        where = f.words("Den ene planlagte analyse", "The single planned analysis")
    if interim.z is None or interim.decision is None:
        return f"{where}: {f.words('den primære test kan ikke beregnes', 'the primary test cannot be computed')}"
    if interim.decision == "final":
        crossed = bool(interim.crossed)
        verdict = f.words(f"endelig grænse {'krydset' if crossed else 'ikke krydset'}",
                          f"final boundary {'crossed' if crossed else 'not crossed'}")
    else:
        da, en = _DECISIONS[interim.decision]
        verdict = f.words(da, en)
    return (f"{where} [{interim.test}]: z = {f.number(interim.z, 3)}, {f.words('grænse', 'boundary')} |z| ≥ "
            f"{f.number(interim.z_boundary, 3)} ({f.words('tosidet', 'two-sided')} p ≤ "
            f"{f.number(interim.p_boundary_two_sided, 4)}, {interim.spending}): {verdict}")


def _effect_lines(result: AnalysisResult, f: Numbers, level: str) -> list[str]:
    """The effects of an analysis as lines: the primary one first, each days estimand labelled for what it is."""
    e, meta = result.effects, result.meta
    ci = f.words("KI", "CI")
    lines = []
    interim = result.interim
    repeated = interim is not None and bool(interim.planned_months) and interim.look > 0
    if result.primary is not None:
        p = result.primary
        record = (f"{f.words('gentaget', 'repeated')} {level} {ci} {f.interval(p.rci)}; "
                  f"{f.words('nominelt', 'nominal')} " if repeated else "")
        lines.append(f"{f.words('Primært effektmål', 'Primary effect')} [{p.name}]: {f.number(p.estimate)} "
                     f"({record}{level} {ci} {f.interval(p.ci)}), p {f.pvalue(p.p)}")
    if interim is not None:
        lines.append(_decision_line(interim, f))
    if e.spillover is not None:
        lines += _spillover_lines(e.spillover, f, level)
    if e.benefit_days_saved is not None:
        lines.append(_days_line(f.words("Sparede dage på ydelse (indeksforløbet, alle afgange)",
                                        "Days on benefit saved (index spell, any exit)"),
                                e.benefit_days_saved, e.benefit_days_saved_adjusted, f, level))
    for window, effect in (e.benefit_days_all_spells_saved or {}).items():
        lines.append(_days_line(f.words(f"Sparede dage på enhver ydelse de første {window} dage",
                                        f"Days on any benefit saved in the first {window} days"),
                                effect, None, f, level))
    hr, hra = e.hazard_ratio, e.hazard_ratio_adjusted
    lines += [
        _days_line(f.words("Dage sparet (tid til job, andre afgange censureret)",
                           "Days saved (time to a job, other exits censored)"), e.days_saved, e.days_saved_adjusted,
                   f, level)
        + " " + f.words(f"({meta.bootstrap.replicates} gentagelser, frø {meta.bootstrap.seed})",
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
    for cace, label in ((e.cace_benefit_days_saved, f.words("Sparede dage på ydelse", "Days on benefit saved")),
                        (e.cace_days_saved, f.words("Dage sparet", "Days saved"))):
        if cace is not None and cace.estimate is not None:
            lines.append(f"{label} {f.words('blandt modtagere (CACE)', 'among compliers (CACE)')}: "
                         f"{f.number(cace.estimate)} ({f.interval(cace.ci)})")
    if result.exposure is not None:
        lines += _exposure_lines(result.exposure, f)
    if e.binary is not None and e.binary.difference is not None:
        b = e.binary.difference
        lines.append(f"{e.binary.name}: {f.words('forskel', 'difference')} {f.number(_times(b.estimate, 100))} "
                     f"{f.words('procentpoint', 'percentage points')} ({f.interval(b.ci, scale=100)})")
    problems = {k: v for k, v in result.data_quality.items() if v}
    lines.append(f"{f.words('Datakvalitet', 'Data quality')}: "
                 + (", ".join(f"{k} {f.count(v)}" for k, v in problems.items()) if problems
                    else f.words("ingen problemer fundet", "no problems found")))
    lines += [f"{f.words('Note', 'Note')}: {note}" for note in result.notes]
    return lines


def _exposure_lines(x: Any, f: Numbers) -> list[str]:
    """Issue 16: what receipt counts, how concentrated the treatment arm's recommendations were, and the effects
    clustered by consultant."""
    basis = (f.words("bekræftet vist af konsulenten", "confirmed shown by the consultant") if x.receipt_basis == "shown"
             else f.words("genereret (ingen bekræftelser)", "generated (no confirmations)"))
    lines = [f"{f.words('Modtagelse', 'Receipt')}: {basis}"]
    for log in (x.generated, x.shown):
        if log is not None:
            lines.append(f"{f.words('Eksponering', 'Exposure')} ({log.basis}, {log.window_days} "
                         f"{f.words('dage', 'days')}): max {f.count(log.max_per_posting)}, "
                         f"{f.words('gns.', 'mean')} {f.number(log.mean_per_posting, 2)}, Gini "
                         f"{f.number(log.gini, 3)}, top 1% {f.percent(log.top1pct_share, 1, sign=True)}")
    if x.by_consultant is not None:
        for name, e in x.by_consultant.effects.items():
            lines.append(f"{name} {f.words('klyngerobust efter konsulent', 'clustered by consultant')}: "
                         f"{f.number(e.estimate)} ({f.interval(e.ci)}), SE {f.number(e.se, 2)} "
                         f"({f.words('uklynget', 'unclustered')} {f.number(e.se_unclustered, 2)})")
    return lines


def _spillover_lines(found: Any, f: Numbers, level: str) -> list[str]:
    """A two-stage analysis: the four estimands pooled and by saturation, with their cluster-bootstrap intervals."""
    ci = f.words("KI", "CI")
    names = {"direct": f.words("direkte", "direct"), "total_on_treated": f.words("samlet for indsatsgruppen",
             "total on the treated"), "spillover_on_untreated": f.words("spillover på ikke-indsats",
             "spillover on the untreated"), "net_per_person": f.words("netto pr. person", "net per person")}

    def parts(block: Any) -> str:
        return "; ".join(f"{label} {f.number(getattr(block, key).estimate)} ({f.interval(getattr(block, key).ci)})"
                         for key, label in names.items() if getattr(block, key) is not None)

    clusters = ", ".join(f"{f.percent(float(s), 0, sign=True)}: {n}" for s, n in found.clusters.items())
    lines = [f.words("To-trins-design, sparede dage på ydelse (klynge-bootstrap, ", "Two-stage design, days on benefit "
                     "saved (cluster bootstrap, ") + f"{level} {ci}; " + f.words("klynger", "clusters")
             + f" {clusters}): {parts(found)}"]
    for key, block in found.by_saturation.items():
        lines.append(f"  {f.words('mætning', 'saturation')} {f.percent(float(key), 0, sign=True)}: {parts(block)}")
    if found.icc is not None and found.icc.estimate is not None:
        lines.append(f"  ICC {f.number(found.icc.estimate, 3)}")
    return lines


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


# --- savings ------------------------------------------------------------------------------------------------------


def show_savings(r: SavingsResult, title: str, lang: str, out: Any = None) -> None:
    """The trial population's kroner first (a year, net present value, break-even), then the seed's scenarios, then
    the conversations model when the protocol has one."""
    out = out or console()
    f = Numbers(lang)

    def money(x: float | None) -> str:
        return f.money(x, r.currency)

    out.print(f"[bold]{title}[/bold]")
    effect = r.effect
    if effect is not None:
        span = "" if effect.ci is None else f" (95% {f.words('KI', 'CI')} {f.interval(effect.ci, 2)})"
        label = f.words("Sparede dage på ydelse pr. person i forsøget", "Days on benefit saved per person randomised")
        _say(out, f"{label} [{effect.name}]: {f.number(effect.estimate, 2)}{span}")
        if effect.note:
            _say(out, f"  {f.words('Note', 'Note')}: {effect.note}")
    haircut = f.number(r.haircut * 100, 0)
    _say(out, f"{f.words('Investering', 'Investment')}: {money(r.investment)}"
              + (f" ({r.investment_note})" if r.investment_note else "")
              + (f"; {f.words('konservativ faktor', 'haircut')} {haircut}%" if r.haircut != 1 else ""))
    plan = r.appraisal
    if plan is not None and plan.years > 1:
        _say(out, f.words(
            f"Nutidsværdi over {plan.years} år (år 0 = første investeringsår), diskonteringsrente "
            f"{f.percent(plan.discount_rate, 1, sign=True)}; driftsudgifter {money(plan.running_cost_per_year)} om "
            f"året og besparelser fra år {plan.savings_from_year}",
            f"Net present value over {plan.years} years (year 0 = the first year of investment), discount rate "
            f"{f.percent(plan.discount_rate, 1, sign=True)}; running costs {money(plan.running_cost_per_year)} a "
            f"year and savings from year {plan.savings_from_year}",
        ))
    _population_table(r, f, lang, out)
    if r.displacement is not None:
        show_gross_and_net(r, f, lang, out)
    if r.target_groups:
        _scenario_table(r, f, lang, out)
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


def _population_table(r: SavingsResult, f: Numbers, lang: str, out: Any) -> None:
    """The trial's own population: eligible persons a year × days saved × cost per calendar day."""
    pop = r.trial_population
    if pop is None or r.effect is None:
        return
    unit = "kr." if lang == "da" and r.currency == "DKK" else r.currency
    table = _table(
        f"{_label(pop, lang)} ({unit})",
        ["", f.words("Skøn", "Estimate"), "95% " + f.words("KI", "CI")],
    )
    source = {"protocol": f.words("protokollen", "the protocol"), "ledger": f.words("ledgeren", "the ledger")}
    table.add_row(f"{f.words('Egnede personer pr. år', 'Eligible persons a year')} ({source[pop.persons_source]})",
                  f.count(pop.persons_per_year), "")
    day = f.words("kalenderdag", "calendar day")
    cost = f.number(pop.cost_per_calendar_day, 0)
    if pop.daily_cost_unit == "paid_weekday":
        cost += f" (= {f.number(pop.daily_cost, 0)} × 5/7)"
    table.add_row(f"{f.words('Udgift pr.', 'Cost per')} {day}", cost, "")
    table.add_row(f.words("Pr. sparet dag pr. person", "Per day saved per person"), f.number(pop.per_day_saved, 0), "")
    table.add_row(f.words("Besparelse pr. år", "Savings per year"), f.number(pop.per_year.estimate, 0),
                  _span(pop.per_year.ci, lambda x: f.number(x, 0)))
    years = r.appraisal.years if r.appraisal is not None else 1
    if years > 1:
        table.add_row(f.words(f"Nutidsværdi over {years} år", f"Net present value over {years} years"),
                      f.number(pop.npv.estimate, 0), _span(pop.npv.ci, lambda x: f.number(x, 0)))
    table.add_row(f.words("Break-even (dage pr. person, nutidsværdi)", "Break-even (days per person, NPV)"),
                  f.number(pop.break_even_days, 2), "")
    out.print(table)
    if pop.rounded_to:
        _say(out, f.words(f"Kronebeløb afrundet til {f.count(pop.rounded_to)}, hvad intervallet bærer.",
                          f"Kroner rounded to {f.count(pop.rounded_to)}, what the interval supports."))
    if pop.persons_note:
        _say(out, f"{f.words('Egnede', 'Eligible')}: {pop.persons_note}")
    if r.effect.ci is not None and pop.ci_above_break_even is not None:
        lower, even = f.number(r.effect.ci[0], 2), f.number(pop.break_even_days, 2)
        _say(out, f.words(
            f"Nedre grænse {lower} dage {'≥' if pop.ci_above_break_even else '<'} break-even {even} dage: "
            + ("hele intervallet ligger over break-even." if pop.ci_above_break_even
               else "tilbagebetaling over perioden er ikke sikret."),
            f"Lower bound {lower} days {'≥' if pop.ci_above_break_even else '<'} break-even {even} days: "
            + ("the whole interval lies above break-even." if pop.ci_above_break_even
               else "payback over the period is not yet secured."),
        ))


def show_gross_and_net(r: SavingsResult, f: Numbers, lang: str, out: Any) -> None:
    """Gross (direct) and net (displacement included) savings side by side, or why the savings are gross."""
    d = r.displacement
    assert d is not None
    if d.design == "two_stage":
        table = _table(f.words("Brutto og netto: fortrængning", "Gross and net: displacement"),
                       ["", f.words("Dage pr. person", "Days per person"), f.words("Pr. år", "Per year"),
                        f.words("Nutidsværdi", "Net present value")])
        for label, effect, year, npv in (
            (f.words("Brutto (direkte effekt)", "Gross (direct effect)"), d.gross, d.gross_per_year, d.gross_npv),
            (f.words("Netto (med fortrængning)", "Net (displacement included)"), d.net, d.net_per_year, d.net_npv),
        ):
            days = "–" if effect is None else (f"{f.number(effect.estimate, 2)}"
                                               + ("" if effect.ci is None else f" ({f.interval(effect.ci, 2)})"))
            money = _money_span(year, r.currency, f)
            table.add_row(label, days, money, _money_span(npv, r.currency, f))
        out.print(table)
    _say(out, d.note_da if lang == "da" else d.note_en)


def _money_span(value: Any, currency: str, f: Numbers) -> str:
    if value is None or value.estimate is None:
        return "–"
    text = f.money(value.estimate, currency)
    return text if value.ci is None else f"{text} ({f.money(value.ci[0], currency)} – {f.money(value.ci[1], currency)})"


def _scenario_table(r: SavingsResult, f: Numbers, lang: str, out: Any) -> None:
    """The seed's target groups as scenarios: the trial's effect assumed for their spells, so no interval."""
    unit = "kr." if lang == "da" and r.currency == "DKK" else r.currency
    years = r.appraisal.years if r.appraisal is not None else 1
    headers = [
        f.words("Scenarie: forsøgets effekt antaget for …", "Scenario: assumes the trial's effect holds for …"),
        f.words("Forløb/år × dagspris", "Spells/year × daily cost"),
        f.words("Pr. sparet dag", "Per day saved"),
        f.words("Pr. år", "Per year"),
        f.words("Break-even, 1 år (dage)", "Break-even, 1 year (days)"),
    ]
    if years > 1:
        headers += [f.words(f"Nutidsværdi, {years} år", f"NPV, {years} years"),
                    f.words("Break-even, nutidsværdi", "Break-even, NPV")]
    table = _table(f"{f.words('Scenarier', 'Scenarios')} ({unit})", headers)
    for g in r.target_groups:
        parts = " + ".join(f"{f.count(c.spells_per_year)} × {f.count(c.daily_cost)}" for c in g.components)
        cells = [_label(g, lang), parts, f.number(g.per_day_saved, 0), f.number(g.per_year.estimate, 0),
                 f.number(g.break_even_days, 3)]
        if years > 1:
            cells += [f.number(g.npv.estimate if g.npv else None, 0), f.number(g.break_even_days_npv, 3)]
        table.add_row(*cells)
    out.print(table)
    _say(out, f.words(
        "Scenarierne antager, at forsøgets effekt pr. person gælder for hvert forløb i grupper, som forsøget ikke "
        "lodtrak som sådan; derfor intet konfidensinterval. De overlapper og lægges ikke sammen.",
        "Scenarios assume that the trial's effect per person holds for every spell of groups the trial did not "
        "randomise as such; hence no confidence interval. They overlap and are not added up.",
    ))


def _label(group: Any, lang: str) -> str:
    return (group.label_da if lang == "da" else group.label_en) or group.id


def _span(pair: Any, fmt: Any) -> str:
    return "–" if pair is None or None in pair else f"{fmt(pair[0])} – {fmt(pair[1])}"


# --- power --------------------------------------------------------------------------------------------------------

_TEST_NAMES = {
    "benefit_days": ("Sparede dage på ydelse (RMST, alle afgange)", "Days on benefit saved (RMST, any exit)"),
    "rmst": ("Dage sparet (RMST til job)", "Days saved (RMST to a job)"),
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
    _say(out, f"{f.words('Kontrolgruppe', 'Control arm')}: {c['source']}{assumed}; "
              f"{f.words('dage på ydelse', 'days on benefit')} (RMST) {f.number(c['benefit_days'])}, "
              f"{f.words('dage til job', 'days to a job')} (RMST) {f.number(c['rmst_days'])}; "
              f"{f.words('i job ved horisonten', 'employed by the horizon')} "
              f"{f.number(c['employment_frequency'] * 100)}%, {f.words('andre afgange', 'other exits')} "
              f"{f.number(c['other_exits_by_horizon'] * 100)}%")
    follow = r.get("follow_up")
    if follow is not None:
        _say(out, f.words(
            f"Dataudtræk {f.short(follow['analysis_month'])} måneder efter første lodtrækning, optag over "
            f"{f.short(follow['enrolment_months'])} måneder: {f.percent(follow['followed_to_horizon'], 0, sign=True)}"
            " følges til horisonten",
            f"Data cut {f.short(follow['analysis_month'])} months after the first randomisation, enrolment over "
            f"{f.short(follow['enrolment_months'])} months: {f.percent(follow['followed_to_horizon'], 0, sign=True)}"
            " are followed to the horizon",
        ))

    def test_name(test: str) -> str:
        return _TEST_NAMES[test][0 if lang == "da" else 1]

    def effect_text(block: Mapping[str, Any]) -> str:
        on_benefit = f.words("sparede dage på ydelse", "days on benefit saved")
        to_job = f.words("dage til job", "days to a job")
        return (f"{f.number(block['benefit_days_saved'], 2)} {on_benefit} = {f.number(block['days_saved'], 2)} "
                f"{to_job} = hazard ratio "
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

    key = _primary_key(r)
    req = r.get("required")
    if req is not None:
        requirement_table(req, f.words("Nødvendig størrelse for ", "Size needed for ") + effect_text(req))
    if req is None or abs(req[key] - 1.0) > 1e-6:
        requirement_table(r["one_day"], f.words("Til sammenligning, én dag: ", "For comparison, one day: ")
                          + effect_text(r["one_day"]))
    det = r.get("detectable")
    if det is not None:
        table = _table(
            f.words(f"Påviselig effekt med {f.count(det['n_per_arm'])} pr. arm",
                    f"Detectable effect with {f.count(det['n_per_arm'])} per arm"),
            ["Test", f.words("Sparede dage på ydelse", "Days on benefit saved"),
             f.words("Dage til job", "Days to a job"), "Hazard ratio",
             f.words("I job, kontrol → indsats", "Employed, control → treatment")],
        )
        for t in det["tests"]:
            if t.get("hazard_ratio") is None:
                table.add_row(test_name(t["test"]), "–", "–", "–", "–")
                continue
            table.add_row(test_name(t["test"]), f.number(t["benefit_days_saved"], 2), f.number(t["days_saved"], 2),
                          f.number(t["hazard_ratio"], 3),
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
        if interim.get("looks"):
            out.print(look_table(interim["looks"], r, f))
            first = (interim["looks"].get("given") or [None])[0]
            if first is not None:
                unit = f.words("dage på ydelse", "days on benefit") if _primary_key(r) == "benefit_days_saved" \
                    else f.words("dage", "days")
                crossing = f"{f.number(first['smallest_crossing'], 1)} {unit}"
                _say(out, f.words(
                    f"Ved første analyse ({first['month']} måneder) kan rapporten kun kalde grænsen krydset, hvis "
                    f"estimatet er over {crossing} (|z| ≥ {f.number(first['z_boundary'], 3)}); ellers siger den, at "
                    "forsøget fortsætter.",
                    f"At the first look ({first['month']} months) the report can call the boundary crossed only if the "
                    f"estimate exceeds {crossing} (|z| ≥ {f.number(first['z_boundary'], 3)}); otherwise it says the "
                    "trial continues.",
                ))
    _say(out, power_statement(r, lang))


def look_table(needs: Mapping[str, Any], r: Mapping[str, Any], f: Numbers) -> Any:
    """Each planned look: its information, boundary, what it needs for the required effect (SE of the primary
    estimate, log-rank events) and the smallest estimate that crosses it with the given size."""
    unit = f.words("dage på ydelse", "days on benefit") if _primary_key(r) == "benefit_days_saved" else \
        f.words("dage", "days")
    days = f.number(needs["days"], 2)
    columns = [f.words("Analyse", "Look"), f.words("Måned", "Month"), f.words("Information", "Information"),
               f.words("z-grænse", "z boundary"), f.words("Tosidet p", "Two-sided p"),
               f.words(f"SE nødvendig ({days} {unit})", f"SE needed ({days} {unit})"),
               f.words("Hændelser (log-rank)", "Events (log-rank)")]
    given = needs.get("given")
    if given:
        columns.append(f.words(f"Mindste estimat, der krydser ({f.count(needs['n_per_arm'])} pr. arm)",
                               f"Smallest estimate that crosses ({f.count(needs['n_per_arm'])} per arm)"))
    table = _table(f.words("Planlagte analyser: hvad hver kræver (information i kalendermåneder)",
                           "Planned looks: what each needs (information by calendar months)"), columns)
    for i, look in enumerate(needs["required"]):
        row = [str(look["look"]), str(look["month"]), f.number(look["information_fraction"], 2),
               f.number(look["z_boundary"], 3), f.number(look["p_boundary_two_sided"], 4), f.number(look["se"], 2),
               f.count(look["events"])]
        if given:
            row.append(f"{f.number(given[i]['smallest_crossing'], 1)} {unit}")
        table.add_row(*row)
    return table


_ESTIMAND_NAMES = {
    "direct": ("Direkte effekt (indsats mod ikke-indsats i samme klynger)",
               "Direct effect (treated vs untreated in the same clusters)"),
    "total_on_treated": ("Samlet effekt for indsatsgruppen (mod rene kontrolklynger)",
                         "Total effect on the treated (vs pure-control clusters)"),
    "spillover_on_untreated": ("Spillover på ikke-indsats (fortrængning, mod rene kontrolklynger)",
                               "Spillover on the untreated (displacement, vs pure-control clusters)"),
    "net_per_person": ("Nettoeffekt pr. person i klyngerne (mod rene kontrolklynger)",
                       "Net effect per person in treated clusters (vs pure-control clusters)"),
}


def show_two_stage_power(r: Mapping[str, Any], title: str, lang: str, out: Any = None) -> None:
    """What a two-stage design can detect: each estimand pooled and by saturation, days and employment points."""
    out = out or console()
    f = Numbers(lang)
    d, c = r["design"], r["control"]
    out.print(f"[bold]{title}[/bold]")
    sided = f.words("tosidet", "two-sided") if d["sided"] == 2 else f.words("ensidet", "one-sided")
    levels = ", ".join(f"{f.percent(s, 0, sign=True)}: {b['clusters']}" for s, b in
                       zip(d["saturations"], d["by_saturation"].values(), strict=True))
    _say(out, f.words(
        f"To-trins-design: {d['clusters']} klynger à {f.count(d['cluster_size'])} deltagere, ICC "
        f"{f.number(d['icc'], 3)} (designeffekt {f.number(d['design_effect'], 2)}); klynger pr. mætning: {levels}",
        f"Two-stage design: {d['clusters']} clusters of {f.count(d['cluster_size'])} participants, ICC "
        f"{f.number(d['icc'], 3)} (design effect {f.number(d['design_effect'], 2)}); clusters per saturation: {levels}",
    ))
    assumed = f.words(" — antaget standard", " — assumed default") if c.get("assumed_default") else ""
    _say(out, f"alpha {f.number(d['alpha'], 3)} ({sided}), {f.words('styrke', 'power')} "
              f"{f.number(d['power'] * 100, 0)}%; {f.words('kontrol', 'control')}: {c['source']}{assumed}, "
              f"{f.words('dage på ydelse', 'days on benefit')} {f.number(c['days_on_benefit'])} "
              f"(sd {f.number(c['sd_days_on_benefit'])}), {f.words('i job ved horisonten', 'employed by the horizon')} "
              f"{f.number(c['employed_by_horizon'] * 100)}%")
    table = _table(
        f.words("Påviselig effekt (sparede dage på ydelse; fortrængning som tabte dage)",
                "Detectable effect (days on benefit saved; displacement as days lost)"),
        [f.words("Effektmål", "Estimand"), f.words("Mætning", "Saturation"), f.words("Dage", "Days"),
         "Hazard ratio", f.words("Procentpoint i job", "Employment points"), "df"],
    )
    for name, block in r["detectable"].items():
        label = _ESTIMAND_NAMES[name][0 if lang == "da" else 1]
        rows = [(f.words("samlet", "pooled"), block["pooled"])] + [
            (f.percent(float(s), 0, sign=True), b) for s, b in block["by_saturation"].items()]
        for where, b in rows:
            table.add_row(label, where, f.number(b["days"], 1), f.number(b["hazard_ratio"], 3),
                          f.number(None if b["employment_points"] is None else b["employment_points"] * 100, 1),
                          str(b["df"]))
            label = ""
    out.print(table)
    _say(out, f.words(
        "Varianser efter Baird m.fl. (2018) med klyngeeffekt; t-test på klynger − niveauer frihedsgrader; fuld "
        "opfølgning til horisonten. Tjekket mod Monte Carlo-simulation (tests/test_saturation_power.py).",
        "Variances after Baird et al. (2018) with a cluster effect; t tests on clusters − levels degrees of freedom; "
        "complete follow-up to the horizon. Checked against Monte-Carlo simulation (tests/test_saturation_power.py).",
    ))


def _primary_key(r: Mapping[str, Any]) -> str:
    """The effect key of the plan's primary test: days on benefit saved, or days saved (to a job)."""
    return "days_saved" if r.get("primary_test") == "rmst" else "benefit_days_saved"


def power_statement(r: Mapping[str, Any], lang: str) -> str:
    """What the expected inflow can and cannot detect for the primary estimand, in plain words."""
    f = Numbers(lang)
    test = r.get("primary_test", "rmst")
    key = _primary_key(r)
    if test == "rmst":
        one_da, one_en, many_da, many_en = "sparet dag", "day saved", "sparede dage", "days saved"
    else:
        one_da, one_en = "sparet dag på ydelse", "day on benefit saved"
        many_da, many_en = "sparede dage på ydelse", "days on benefit saved"
    one = next(t for t in r["one_day"]["tests"] if t["test"] == test)
    inflow = r["inflow_per_month"]
    power = f.percent(r["power"], 0, sign=True)
    flow = f.short(inflow)
    out = [f.words(
        f"At påvise én {one_da} (RMST til {r['horizon_days']} dage) med {power} styrke kræver "
        f"{f.count(one['n_per_arm'])} deltagere pr. arm ({f.count(one['n_total'])} i alt)",
        f"Detecting one {one_en} (RMST to {r['horizon_days']} days) with {power} power needs "
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
        rm = next(t for t in det["tests"] if t["test"] == test)
        lr = next(t for t in det["tests"] if t["test"] == "logrank")
        months = f.short(det["enrolment_months"])
        how = (
            f.words(f"{months} måneders optag med {flow} om måneden", f"{months} months of enrolment at {flow} a month")
            if det["origin"] == "inflow"
            else f.words("den angivne størrelse", "the given size")
        )
        if rm.get("hazard_ratio"):
            out.append(f.words(
                f"Med {f.count(det['n_per_arm'])} pr. arm ({how}) kan forsøget påvise {f.number(rm[key])} {many_da} "
                f"(hazard ratio {f.number(rm['hazard_ratio'], 2)}); log-rank-testen en hazard ratio på "
                f"{f.number(lr['hazard_ratio'], 2)}; mindre effekter kan det ikke påvise sikkert.",
                f"With {f.count(det['n_per_arm'])} per arm ({how}) the trial can detect {f.number(rm[key])} "
                f"{many_en} (hazard ratio {f.number(rm['hazard_ratio'], 2)}); the log-rank test a hazard ratio of "
                f"{f.number(lr['hazard_ratio'], 2)}; smaller effects it cannot detect reliably.",
            ))
    req = r.get("required")
    if req and inflow and req is not r["one_day"] and req != r["one_day"]:
        rq = next(t for t in req["tests"] if t["test"] == test)
        days = f.short(req[key], 2)
        follow = f.number(r["follow_up_months"], 0)
        out.append(f.words(
            f"{days} {many_da} kræver "
            f"{f.count(rq['n_per_arm'])} pr. arm: {f.number(rq['enrolment_months'])} måneders optag plus {follow} "
            "måneders opfølgning.",
            f"{days} {many_en} needs {f.count(rq['n_per_arm'])} per arm: {f.number(rq['enrolment_months'])} months of "
            f"enrolment plus {follow} months follow-up.",
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
