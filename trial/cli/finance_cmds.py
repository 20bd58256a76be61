"""`trial savings` (kroner from days saved) and `trial power` (sample size, detectable effect, enrolment months)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from trial.cli._app import app, emit_json

# Without a control curve from the user: the BC16 seed gives a mean spell of 8.9-11.4 weeks for young academics;
# an exponential with a mean of about 70 days has a median of 70 × ln 2 ≈ 49 days.
DEFAULT_CONTROL_MEDIAN = 49.0

_TEST_NAMES = {
    "rmst": ("Sparede dage (RMST)", "Days saved (RMST)"),
    "logrank": ("Log-rank (Schoenfeld)", "Log-rank (Schoenfeld)"),
    "employment_frequency": ("Beskæftigelsesfrekvens", "Employment frequency"),
}


def _number(x: float | None, lang: str, decimals: int = 0) -> str:
    """Thousands and decimal separators as the reader expects: 2.484.000,5 in Danish, 2,484,000.5 in English."""
    if x is None:
        return "–"
    text = f"{x:,.{decimals}f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "da" else text


def _money(x: float | None, lang: str, currency: str) -> str:
    if x is None:
        return "–"
    return f"{_number(x, lang)} {'kr.' if lang == 'da' and currency == 'DKK' else currency}"


def _interval(ci: list[float] | None, fmt: Any) -> str:
    return "–" if ci is None else f"{fmt(ci[0])} – {fmt(ci[1])}"


def _console() -> Any:
    from rich.console import Console

    console = Console()
    # Captured or piped output would otherwise be squeezed to 80 columns; $COLUMNS still wins.
    return console if console.is_terminal or "COLUMNS" in os.environ else Console(width=130)


def _table(title: str, headers: list[tuple[str, str]], da: bool) -> Any:
    """A rich table with Danish or English column headers: the first column left-aligned, numbers right."""
    from rich.table import Table

    table = Table(title=title)
    for i, (danish, english) in enumerate(headers):
        table.add_column(danish if da else english, justify="right" if i else "left")
    return table


def _language(lang: str | None, protocol: Any) -> str:
    from trial.errors import TrialError

    chosen = lang or protocol.report.language
    if chosen not in ("da", "en"):
        raise TrialError(f"--lang must be da or en; got '{chosen}'")
    return chosen


@app.command("savings")
def savings_command(
    protocol: Path = typer.Option(..., "--protocol", help="Protocol TOML with a [finance] section."),
    days_saved: float | None = typer.Option(None, "--days-saved", help="Days saved per spell (RMST difference)."),
    ci: tuple[float, float] | None = typer.Option(None, "--ci", help="Confidence interval of the days saved: LO HI."),
    analysis: Path | None = typer.Option(
        None, "--analysis", help="JSON of `trial analyse`: effects.days_saved estimate and ci are used."
    ),
    share: float | None = typer.Option(
        None, "--share", help="Extra share of citizens managing without conversations (default: the hypothesis)."
    ),
    share_ci: tuple[float, float] | None = typer.Option(None, "--share-ci", help="Confidence interval of --share."),
    json_file: Path | None = typer.Option(None, "--json", help="Write the result as JSON here ('-' = stdout)."),
    lang: str | None = typer.Option(None, "--lang", help="da or en (default: the protocol's report language)."),
) -> None:
    """Kroner per year from days saved for each target group, break-even against the investment.

    Example: trial savings --protocol protocols/bc16-jobmatch.toml --days-saved 1 --ci 0.2 1.8
    """
    from trial.errors import TrialError
    from trial.protocol import load_protocol
    from trial.savings import effects_from_analysis, savings

    proto = load_protocol(protocol)
    lang = _language(lang, proto)
    # Typer gives (None, None) for an absent tuple option.
    ci = None if ci is None or ci[0] is None else ci
    share_ci = None if share_ci is None or share_ci[0] is None else share_ci
    if analysis is not None:
        if days_saved is not None or ci is not None:
            raise TrialError("give either --days-saved (with --ci) or --analysis, not both")
        effects = effects_from_analysis(analysis, proto)
        days_saved, ci = effects["days_saved"], effects["ci"]
        if share is None and effects["share"] is not None:
            share, share_ci = effects["share"], effects["share_ci"]
    elif ci is not None and days_saved is None:
        raise TrialError("--ci needs --days-saved")
    if days_saved is None and proto.finance.conversations is None:
        raise TrialError("give --days-saved X (optionally --ci LO HI) or --analysis FILE")
    if share_ci is not None and share is None:
        raise TrialError("--share-ci needs --share")
    if not proto.finance.target_groups and proto.finance.conversations is None:
        raise TrialError(f"{protocol}: the protocol has no [finance] target groups or conversations model")
    result = savings(proto, days_saved, ci, share=share, share_ci=share_ci)
    title = proto.title if lang == "da" else (proto.title_en or proto.title)
    emit_json(result, json_file, lambda: _print_savings(result, lang, title))


def _print_savings(r: dict[str, Any], lang: str, title: str) -> None:

    da = lang == "da"
    cur = r["currency"]
    console = _console()

    def money(x: float | None) -> str:
        return _money(x, lang, cur)

    console.print(f"[bold]{title}[/bold]")
    ds = r["days_saved"]
    if ds is not None:
        ci = ds["ci"]
        days = _number(ds["estimate"], lang, 2)
        span = "" if ci is None else f" (95% CI {_number(ci[0], lang, 2)} – {_number(ci[1], lang, 2)})"
        console.print(f"{'Sparede dage pr. forløb' if da else 'Days saved per spell'}: {days}{span}")
    haircut = _number(r["haircut"] * 100, lang)
    console.print(
        f"{'Investering' if da else 'Investment'}: {money(r['investment'])}"
        + (f" ({r['investment_note']})" if r["investment_note"] else "")
        + (f"; {'konservativ faktor' if da else 'haircut'} {haircut}%" if r["haircut"] != 1 else "")
    )
    if r["target_groups"]:
        unit = "kr." if da and cur == "DKK" else cur
        table = _table(
            ("Besparelse pr. år" if da else "Savings per year") + f" ({unit})",
            [
                ("Målgruppe", "Target group"),
                ("Forløb/år × dagspris", "Spells/year × daily cost"),
                ("Pr. sparet dag", "Per day saved"),
                ("Skøn", "Estimate"),
                ("Nedre 95%", "Lower 95%"),
                ("Øvre 95%", "Upper 95%"),
                ("Break-even (dage)", "Break-even (days)"),
            ],
            da,
        )
        for g in r["target_groups"]:
            parts = " + ".join(
                f"{_number(c['spells_per_year'], lang)} × {_number(c['daily_cost'], lang)}" for c in g["components"]
            )
            ci = g["per_year"]["ci"] or [None, None]
            table.add_row(
                g["label_da"] if da else g["label_en"] or g["id"],
                parts,
                _number(g["per_day_saved"], lang),
                _number(g["per_year"]["estimate"], lang),
                _number(ci[0], lang),
                _number(ci[1], lang),
                _number(g["break_even_days"], lang, 3),
            )
        console.print(table)
        if ds is not None and ds["ci"] is not None:
            lower = _number(ds["ci"][0], lang, 2)
            for g in r["target_groups"]:
                name = g["label_da"] if da else g["label_en"] or g["id"]
                even = _number(g["break_even_days"], lang, 3)
                if g["ci_above_break_even"]:
                    console.print(
                        f"{name}: nedre grænse {lower} dage ≥ break-even {even} dage: investeringen er tjent hjem "
                        "på et år."
                        if da
                        else f"{name}: lower bound {lower} days ≥ break-even {even} days: the investment pays back "
                        "within a year."
                    )
                elif g["ci_above_break_even"] is False:
                    console.print(
                        f"{name}: nedre grænse {lower} dage < break-even {even} dage: tilbagebetaling på et år er ikke "
                        "sikret."
                        if da
                        else f"{name}: lower bound {lower} days < break-even {even} days: payback within a year is not "
                        "yet secured."
                    )
        if len(r["target_groups"]) > 1:
            console.print(
                "Målgrupperne er alternative afgrænsninger (de overlapper) og lægges ikke sammen."
                if da
                else "Target groups are alternative scopes (they overlap) and are not added up."
            )
    conv = r["conversations"]
    if conv is not None:
        table = _table(
            (conv["label_da"] if da else conv["label_en"]) or "Conversations",
            [("", ""), ("Skøn", "Estimate"), ("95% CI", "95% CI")],
            da,
        )
        source = {"hypothesis": "hypotese" if da else "hypothesis", "given": "angivet" if da else "given"}
        pct = lambda x: f"{_number(x * 100, lang, 1)}%"  # noqa: E731
        table.add_row(
            f"{'Ekstra andel selvhjulpne' if da else 'Extra share self-reliant'} ({source[conv['share_source']]})",
            pct(conv["share"]),
            _interval(conv["share_ci"], pct),
        )
        table.add_row(
            "Samtaler undgået pr. år" if da else "Conversations avoided per year",
            _number(conv["conversations_avoided"]["estimate"], lang),
            _interval(conv["conversations_avoided"]["ci"], lambda x: _number(x, lang)),
        )
        table.add_row(
            "Besparelse pr. år" if da else "Savings per year",
            money(conv["per_year"]["estimate"]),
            _interval(conv["per_year"]["ci"], money),
        )
        table.add_row(
            "Årsværk frigjort" if da else "Full-time equivalents freed",
            _number(conv["fte_freed"]["estimate"], lang, 1),
            _interval(conv["fte_freed"]["ci"], lambda x: _number(x, lang, 1)),
        )
        table.add_row("Break-even-andel" if da else "Break-even share", pct(conv["break_even_share"] or 0), "")
        sup = conv["suppliers"]
        if sup is not None:
            table.add_row(
                "Leverandørernes skøn efter faktor" if da else "Suppliers' estimate after haircut",
                f"{money(sup['low_after_haircut'])} – {money(sup['high_after_haircut'])}",
                "",
            )
        console.print(table)
        hours = "timer" if da else "h"
        console.print(
            f"{_number(conv['eligible_per_year'], lang)} × {_number(conv['conversations_per_citizen'], lang, 2)} "
            + ("samtaler × andel; " if da else "conversations × share; ")
            + f"{money(conv['cost_per_conversation'])} "
            + ("pr. samtale; " if da else "per conversation; ")
            + f"{_number(conv['hours_per_conversation'], lang, 1)} {hours} / "
            + f"{_number(conv['hours_per_fte'], lang)} {hours} "
            + ("pr. årsværk (antagelser i protokollen)." if da else "per FTE (assumptions in the protocol).")
        )


@app.command("power")
def power_command(
    protocol: Path = typer.Option(..., "--protocol", help="Protocol TOML (alpha, sides, horizon, allocation)."),
    per_arm: int | None = typer.Option(None, "--per-arm", help="Participants per arm: which effect can they detect?"),
    days_saved: float | None = typer.Option(
        None, "--days-saved", help="Days saved to detect: how many participants? (default 1)"
    ),
    control_median: float | None = typer.Option(
        None, "--control-median", help=f"Median days to employment in control (default {DEFAULT_CONTROL_MEDIAN:g})."
    ),
    weibull_shape: float = typer.Option(1.0, "--weibull-shape", help="Weibull shape of the control curve (1 = exp.)."),
    history: Path | None = typer.Option(
        None, "--history", help="Historical spells (start, end, exit) for the control curve instead of a median."
    ),
    inflow_per_month: float | None = typer.Option(
        None, "--inflow-per-month", help="Eligible claimants a month: gives months of enrolment."
    ),
    enrolment_months: float = typer.Option(12.0, "--enrolment-months", help="Months of enrolment for the inflow."),
    power: float = typer.Option(0.8, "--power", help="Power to aim for."),
    json_file: Path | None = typer.Option(None, "--json", help="Write the result as JSON here ('-' = stdout)."),
    lang: str | None = typer.Option(None, "--lang", help="da or en (default: the protocol's report language)."),
) -> None:
    """Participants and months of enrolment to detect days saved, or the effect a given size or inflow can detect.

    Example: trial power --protocol protocols/bc16-jobmatch.toml --control-median 49 --inflow-per-month 150
    """
    from trial.errors import TrialError
    from trial.power import history_control, parametric_control, plan
    from trial.protocol import load_protocol

    proto = load_protocol(protocol)
    lang = _language(lang, proto)
    if history is not None and control_median is not None:
        raise TrialError("give either --control-median or --history, not both")
    if history is not None:
        curve = history_control(history, proto)
    else:
        median = DEFAULT_CONTROL_MEDIAN if control_median is None else control_median
        curve = parametric_control(median, proto.outcomes.horizon_days, weibull_shape)
    result = plan(
        proto,
        curve,
        days=days_saved,
        per_arm=per_arm,
        inflow_per_month=inflow_per_month,
        enrolment_months=enrolment_months,
        power=power,
    )
    result["control"]["assumed_default"] = history is None and control_median is None
    title = proto.title if lang == "da" else (proto.title_en or proto.title)
    emit_json(result, json_file, lambda: _print_power(result, lang, title))


def _print_power(r: dict[str, Any], lang: str, title: str) -> None:

    da = lang == "da"
    console = _console()
    c = r["control"]
    console.print(f"[bold]{title}[/bold]")
    sided = ("tosidet" if da else "two-sided") if r["sided"] == 2 else ("ensidet" if da else "one-sided")
    console.print(
        f"alpha {_number(r['alpha'], lang, 3)} ({sided}), "
        + ("styrke" if da else "power")
        + f" {_number(r['power'] * 100, lang)}%, "
        + ("horisont" if da else "horizon")
        + f" {r['horizon_days']} "
        + ("dage" if da else "days")
    )
    assumed = (" — antaget standard" if da else " — assumed default") if c.get("assumed_default") else ""
    console.print(
        ("Kontrolgruppe: " if da else "Control arm: ")
        + f"{c['source']}{assumed}; RMST {_number(c['rmst_days'], lang, 1)} "
        + ("dage" if da else "days")
        + "; "
        + ("i job ved horisonten" if da else "employed by the horizon")
        + f" {_number(c['employment_frequency'] * 100, lang, 1)}%"
    )

    def months(x: float | None) -> str:
        return _number(x, lang, 1)

    def requirement_table(block: dict[str, Any], heading: str) -> None:
        table = _table(
            heading,
            [
                ("Test", "Test"),
                ("Pr. arm", "Per arm"),
                ("I alt", "Total"),
                ("Hændelser", "Events"),
                ("Måneders optag", "Months of enrolment"),
            ],
            da,
        )
        for t in block["tests"]:
            table.add_row(
                _TEST_NAMES[t["test"]][0 if da else 1],
                _number(t["n_per_arm"], lang),
                _number(t["n_total"], lang),
                _number(t.get("events"), lang),
                months(t["enrolment_months"]),
            )
        console.print(table)

    def effect_text(block: dict[str, Any]) -> str:
        return (
            f"{_number(block['days_saved'], lang, 2)} "
            + ("sparede dage" if da else "days saved")
            + f" = hazard ratio {_number(block['hazard_ratio'], lang, 3)}; "
            + ("i job" if da else "employed")
            + f" {_number(block['employment_frequency_control'] * 100, lang, 1)}% → "
            + f"{_number(block['employment_frequency_treatment'] * 100, lang, 1)}%"
        )

    req = r.get("required")
    if req is not None:
        requirement_table(req, ("Nødvendig størrelse for " if da else "Size needed for ") + effect_text(req))
    if req is None or abs(req["days_saved"] - 1.0) > 1e-6:
        requirement_table(
            r["one_day"],
            ("Til sammenligning, én dag: " if da else "For comparison, one day: ") + effect_text(r["one_day"]),
        )
    det = r.get("detectable")
    if det is not None:
        table = _table(
            f"Påviselig effekt med {_number(det['n_per_arm'], lang)} pr. arm"
            if da
            else f"Detectable effect with {_number(det['n_per_arm'], lang)} per arm",
            [
                ("Test", "Test"),
                ("Sparede dage", "Days saved"),
                ("Hazard ratio", "Hazard ratio"),
                ("I job, kontrol → indsats", "Employed, control → treatment"),
            ],
            da,
        )
        for t in det["tests"]:
            if t.get("hazard_ratio") is None:
                table.add_row(_TEST_NAMES[t["test"]][0 if da else 1], "–", "–", "–")
                continue
            table.add_row(
                _TEST_NAMES[t["test"]][0 if da else 1],
                _number(t["days_saved"], lang, 2),
                _number(t["hazard_ratio"], lang, 3),
                f"{_number(t['employment_frequency_control'] * 100, lang, 1)}% → "
                f"{_number(t['employment_frequency_treatment'] * 100, lang, 1)}%",
            )
        console.print(table)
    b = r.get("binary")
    if b is not None:
        label = b["label_da"] if da else b["label_en"]
        line = (
            f"{'Primært udfald' if da else 'Primary outcome'}: {label or b['name']}: "
            f"{_number(b['control'] * 100, lang)}% → {_number(b['treatment'] * 100, lang)}%: "
            f"{_number(b['n_per_arm'], lang)} {'pr. arm' if da else 'per arm'}"
        )
        if b.get("detectable_treatment") is not None:
            line += (
                f"; {'påviseligt' if da else 'detectable'}: {_number(b['control'] * 100, lang)}% → "
                f"{_number(b['detectable_treatment'] * 100, lang, 1)}%"
            )
        console.print(line)
    interim = r.get("interim")
    if interim is not None:
        zs = ", ".join(_number(z, lang, 3) for z in interim["z_boundaries"])
        looks = ", ".join(str(m) for m in interim["looks_months"])
        console.print(
            (
                f"Mellemanalyser efter {looks} måneder ({interim['spending']}, Lan-DeMets): z-grænser {zs}; "
                f"størrelsen ganges med {_number(interim['inflation_factor'], lang, 3)}."
            )
            if da
            else (
                f"Interim looks at {looks} months ({interim['spending']}, Lan-DeMets): z boundaries {zs}; "
                f"multiply the sizes by {_number(interim['inflation_factor'], lang, 3)}."
            )
        )
    console.print(r["statement_da"] if da else r["statement_en"])
