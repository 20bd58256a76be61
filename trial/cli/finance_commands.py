"""`trial savings` (kroner from days saved) and `trial power` (sample size, detectable effect, enrolment months)."""

from __future__ import annotations

from pathlib import Path

import typer

from trial.cli._app import app, decimal_option, emit_json, json_option, lang_option, language

# Without a control curve from the user: the BC16 seed gives a mean spell (time to any exit) of 8.9-11.4 weeks for
# young academics; an exponential with a mean of about 70 days has a median of 70 × ln 2 ≈ 49 days on benefit.
DEFAULT_CONTROL_MEDIAN = 49.0
# ASSUMPTION: the seed does not split exits; about a fifth of spells end in education or other exits (the simulator's
# model gives about a quarter). Give --competing-share from registry data, or use --history.
DEFAULT_COMPETING_SHARE = 0.2


def parse_design(value: str) -> str:
    """individual or two-stage (also written two_stage)."""
    text = str(value).strip().lower().replace("_", "-")
    if text not in ("individual", "two-stage"):
        raise typer.BadParameter(f"'{value}' is not a design; use individual or two-stage")
    return text


@app.command("savings")
def savings_command(
    protocol: Path = typer.Option(..., "--protocol", help="Protocol TOML with a [finance] section."),
    days_saved: float | None = decimal_option("--days-saved", help="Days saved per spell (RMST difference)."),
    ci: tuple[float, float] | None = decimal_option("--ci", help="Confidence interval of the days saved: LO HI."),
    analysis: Path | None = typer.Option(
        None, "--analysis", help="JSON of `trial analyse`: the protocol's days estimand (BC16: days on benefit saved, "
        "adjusted for the strata) with its interval."
    ),
    db: Path | None = typer.Option(
        None, "--db", help="Trial ledger: eligible persons a year from its screening counts (default: the protocol's)."
    ),
    share: float | None = decimal_option(
        "--share", help="Extra share of citizens managing without conversations (default: the hypothesis)."
    ),
    share_ci: tuple[float, float] | None = decimal_option("--share-ci", help="Confidence interval of --share."),
    json_file: Path | None = json_option(),
    lang: str | None = lang_option(),
) -> None:
    """Kroner from days on benefit saved: the trial's population, the seed's scenarios, net present value, break-even.

    From a two-stage analysis the net effect (displacement included) is multiplied, the gross one shown beside it.

    Example: trial savings --protocol protocols/bc16-jobmatch.toml --days-saved 1 --ci 0.2 1.8
    """
    from trial.errors import TrialError

    # Typer gives (None, None) for an absent tuple option.
    ci = None if ci is None or ci[0] is None else ci
    share_ci = None if share_ci is None or share_ci[0] is None else share_ci
    if analysis is not None and (days_saved is not None or ci is not None):
        raise TrialError("give either --days-saved (with --ci) or --analysis, not both")
    if ci is not None and days_saved is None:
        raise TrialError("--ci needs --days-saved")

    from reports.terminal import show_savings
    from trial.protocol import load_protocol
    from trial.savings import effects_from_analysis, eligible_from_ledger, savings

    proto = load_protocol(protocol)
    lang = language(lang, proto)
    name, note, gross, design = "given", "", None, None
    if analysis is not None:
        effects = effects_from_analysis(analysis, proto)
        days_saved, ci, name, note = effects["days_saved"], effects["ci"], effects["name"], effects["note"]
        gross, design = effects["gross"], effects["design"]
        if share is None and effects["share"] is not None:
            share, share_ci = effects["share"], effects["share_ci"]
    eligible = None
    if db is not None:
        from trial.ledger import Ledger

        with Ledger.open(db, read_only=True) as ledger:  # it only reads the screening
            eligible = eligible_from_ledger(ledger.screening())
    if days_saved is None and proto.finance.conversations is None:
        raise TrialError("give --days-saved X (optionally --ci LO HI) or --analysis FILE")
    if not proto.finance.target_groups and proto.finance.conversations is None:
        raise TrialError(f"{protocol}: the protocol has no [finance] target groups or conversations model")
    result = savings(
        proto, days_saved, ci, share=share, share_ci=share_ci, effect_name=name, effect_note=note, eligible=eligible,
        gross=gross, design=design,
    )
    title = proto.title if lang == "da" else (proto.title_en or proto.title)
    emit_json(result, json_file, lambda: show_savings(result, title, lang))


@app.command("power")
def power_command(
    protocol: Path = typer.Option(..., "--protocol", help="Protocol TOML (alpha, sides, horizon, allocation)."),
    per_arm: int | None = typer.Option(
        None, "--per-arm", min=2, help="Participants per arm: which effect can they detect?"
    ),
    days_saved: float | None = decimal_option(
        "--days-saved", help="Days of the primary estimand (BC16: days on benefit) saved to detect (default 1)."
    ),
    control_median: float | None = decimal_option(
        "--control-median",
        help=f"Median days on benefit (to any exit) in control (default {DEFAULT_CONTROL_MEDIAN:g}).",
    ),
    competing_share: float | None = decimal_option(
        "--competing-share",
        help=f"Share of exits within the horizon to education or other (default {DEFAULT_COMPETING_SHARE:g}).",
    ),
    analysis_month: float | None = decimal_option(
        "--analysis-month",
        help="Data cut in months after the first enrolment (default: the protocol's last planned look).",
    ),
    weibull_shape: float = decimal_option("--weibull-shape", default=1.0,
                                          help="Weibull shape of the control curve (1 = exponential)."),
    history: Path | None = typer.Option(
        None, "--history", help="Historical spells (start, end, exit) for the control curve instead of a median."
    ),
    inflow_per_month: float | None = decimal_option(
        "--inflow-per-month", help="Eligible claimants a month: gives months of enrolment."
    ),
    enrolment_months: float = decimal_option("--enrolment-months", default=12.0,
                                             help="Months of enrolment for the inflow."),
    power: float = decimal_option("--power", default=0.8, help="Power to aim for, a share between 0 and 1 (0.8)."),
    json_file: Path | None = json_option(),
    lang: str | None = lang_option(),
    design: str = typer.Option(
        "individual", "--design", parser=parse_design, metavar="individual|two-stage",
        help="two-stage: detectable direct, spillover and net effects of a saturation design (Baird et al. 2018).",
    ),
    clusters: int | None = typer.Option(None, "--clusters", min=2, help="Two-stage: clusters (e.g. jobcentres)."),
    cluster_size: int | None = typer.Option(
        None, "--cluster-size", min=2, help="Two-stage: participants per cluster."
    ),
    icc: float | None = decimal_option("--icc", help="Two-stage: intra-cluster correlation of days on benefit."),
    saturations: str | None = typer.Option(
        None, "--saturations", metavar="LIST", help="Two-stage: treated shares, 0 first, e.g. 0,0.5,0.8 (or "
        "0;0,5;0,8); default the protocol's.",
    ),
) -> None:
    """Participants and months of enrolment to detect days on benefit saved, or the effect a size or inflow detects.

    With --design two-stage: the direct, spillover and net effects K clusters of M people can detect.

    Example: trial power --protocol protocols/bc16-jobmatch.toml --control-median 49 --inflow-per-month 150
    Example: trial power --protocol protocols/bc16-rollout.toml --design two-stage --clusters 45 --cluster-size 60
    --icc 0.02 --saturations 0,0.5,0.8
    """
    from trial.errors import TrialError

    if history is not None and (control_median is not None or competing_share is not None):
        raise TrialError("give either --control-median (and --competing-share) or --history, not both")
    _check_power_options(power, control_median, weibull_shape, inflow_per_month, enrolment_months, days_saved)
    if design == "two-stage":
        _two_stage_power(protocol, clusters, cluster_size, icc, saturations, power, control_median, competing_share,
                         weibull_shape, history, json_file, lang)
        return
    given = [flag for flag, value in (("--clusters", clusters), ("--cluster-size", cluster_size), ("--icc", icc),
                                      ("--saturations", saturations)) if value is not None]
    if given:
        raise TrialError(f"{given[0]} belongs to --design two-stage")

    from reports.terminal import show_power
    from trial.power import plan
    from trial.protocol import load_protocol

    proto = load_protocol(protocol)
    lang = language(lang, proto)
    curve = _control_curve(proto, history, control_median, competing_share, weibull_shape)
    result = plan(
        proto,
        curve,
        days=days_saved,
        per_arm=per_arm,
        inflow_per_month=inflow_per_month,
        enrolment_months=enrolment_months,
        power=power,
        analysis_month=analysis_month,
    )
    result["control"]["assumed_default"] = history is None and (control_median is None or competing_share is None)
    title = proto.title if lang == "da" else (proto.title_en or proto.title)
    emit_json(result, json_file, lambda: show_power(result, title, lang))


def _shares(text: str) -> list[float]:
    """Treated shares typed as 0,0.5,0.8 or, with Danish decimal commas, 0;0,5;0,8."""
    from trial.errors import TrialError

    parts = text.split(";") if ";" in text else text.split(",")
    try:
        return [float(part.strip().replace(",", ".")) for part in parts if part.strip()]
    except ValueError:
        raise TrialError(f"--saturations: '{text}' is not a list of shares; write e.g. 0,0.5,0.8 or 0;0,5;0,8"
                         ) from None


def _two_stage_power(
    protocol: Path, clusters: int | None, cluster_size: int | None, icc: float | None, saturations: str | None,
    power: float, control_median: float | None, competing_share: float | None, weibull_shape: float,
    history: Path | None, json_file: Path | None, lang: str | None,
) -> None:  # fmt: skip
    """`trial power --design two-stage`: one call to trial.saturation_power.plan, shown or written as JSON."""
    from trial.errors import TrialError

    missing = [flag for flag, value in (("--clusters", clusters), ("--cluster-size", cluster_size), ("--icc", icc))
               if value is None]
    if missing:
        raise TrialError(f"--design two-stage needs {', '.join(missing)}")
    if not 0 <= float(icc) < 1:
        raise TrialError(f"--icc: must lie in [0, 1); got {icc:g}")
    levels = _shares(saturations) if saturations is not None else None
    from reports.terminal import show_two_stage_power
    from trial.protocol import load_protocol
    from trial.saturation_power import TwoStageDesign, plan

    proto = load_protocol(protocol)
    curve = _control_curve(proto, history, control_median, competing_share, weibull_shape)
    result = plan(TwoStageDesign.of(proto, int(clusters), int(cluster_size), float(icc), levels, power), curve)
    result["control"]["assumed_default"] = history is None and (control_median is None or competing_share is None)
    title = proto.title if language(lang, proto) == "da" else (proto.title_en or proto.title)
    emit_json(result, json_file, lambda: show_two_stage_power(result, title, language(lang, proto)))


def _control_curve(proto: object, history: Path | None, control_median: float | None,
                   competing_share: float | None, weibull_shape: float) -> object:  # fmt: skip
    """The control arm: the history's Kaplan-Meier curves, or the parametric curve (defaults filled in)."""
    from trial.power import history_control, parametric_control

    if history is not None:
        return history_control(history, proto)
    median = DEFAULT_CONTROL_MEDIAN if control_median is None else control_median
    share = DEFAULT_COMPETING_SHARE if competing_share is None else competing_share
    return parametric_control(median, proto.outcomes.horizon_days, weibull_shape, share)  # type: ignore[attr-defined]


def _check_power_options(
    power: float,
    control_median: float | None,
    weibull_shape: float,
    inflow_per_month: float | None,
    enrolment_months: float,
    days_saved: float | None,
) -> None:
    """Refuse impossible values before anything heavy is imported (`--power 80` is a share typed as a percentage)."""
    from trial.errors import TrialError

    if not 0 < power < 1:
        hint = f" (did you mean {power / 100:g}?)" if 1 < power < 100 else ""
        raise TrialError(f"--power: must lie between 0 and 1; got {power:g}{hint}")
    for flag, value in (("--control-median", control_median), ("--weibull-shape", weibull_shape),
                        ("--inflow-per-month", inflow_per_month), ("--enrolment-months", enrolment_months),
                        ("--days-saved", days_saved)):
        if value is not None and not value > 0:
            raise TrialError(f"{flag}: must be a positive number; got {value:g}")
